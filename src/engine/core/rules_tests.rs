//! Trigger rules in the core: upstream_failed, rules that fire early, allow_failure,
//! and replay of what they decided.
use super::testkit::*;
use super::*;
use crate::workflow::Trigger;

#[test]
fn a_failure_handler_below_a_chain_runs_when_any_step_above_failed() {
    // build -> test -> deploy; `report` (one_failed) needs only deploy.
    let p = plan()
        .step("build")
        .step_needs("test", &["build"])
        .step_needs("deploy", &["test"])
        .step_needs("report", &["deploy"])
        .when(Trigger::OneFailed)
        .build();
    let mut sim = Sim::new(p.clone(), cfg());
    let fx = sim.exit("build", 1);
    assert_eq!(sim.state("test"), StepState::UpstreamFailed);
    assert_eq!(sim.state("deploy"), StepState::UpstreamFailed);
    assert_eq!(spawned(&fx), ["report"]);
    sim.exit("report", 0);
    assert_eq!(sim.core.run_state(), RunState::Failed);
    // The reason names the need and the rule; the record is on `test` only.
    let v = sim.core.view(Timestamp(sim.now));
    let deploy = &v.steps[v.step_index("deploy").unwrap()];
    assert_eq!(
        deploy.why.as_deref(),
        Some("needs `test`, which is upstream_failed (when = all_success)")
    );
    assert_eq!(sim.open_errors("test").len(), 1);
    assert!(sim.open_errors("deploy").is_empty());
    // Replay folds the same states.
    let again = Core::replay(p, cfg(), sim.core.events()).unwrap();
    for id in ["build", "test", "deploy", "report"] {
        let i = sim.idx(id);
        assert_eq!(again.steps[i].state, sim.core.steps[i].state, "{id}");
    }
}

#[test]
fn one_rules_fire_on_the_first_need_that_qualifies() {
    let p = plan()
        .step("slow")
        .step("fast")
        .step("bad")
        .step_needs("first", &["slow", "fast"])
        .when(Trigger::OneSuccess)
        .step_needs("alarm", &["slow", "bad"])
        .when(Trigger::OneFailed)
        .step_needs("any", &["slow", "bad"])
        .when(Trigger::OneDone)
        .step_needs("all", &["slow", "fast"])
        .when(Trigger::AllSuccess)
        .build();
    let mut sim = Sim::new(p, cfg());
    assert_eq!(spawned(&sim.exit("fast", 0)), ["first"]);
    let fx = sim.exit("bad", 1);
    assert_eq!(spawned(&fx), ["alarm", "any"]);
    assert_eq!(sim.state("slow"), StepState::Running);
    assert_eq!(sim.state("all"), StepState::Pending, "all_success waits");
}

#[test]
fn all_success_decides_upstream_failed_at_the_first_failure() {
    let p = plan()
        .step("slow")
        .step("bad")
        .step_needs("join", &["slow", "bad"])
        .build();
    let mut sim = Sim::new(p, cfg());
    sim.exit("bad", 1);
    assert_eq!(sim.state("join"), StepState::UpstreamFailed);
    assert_eq!(sim.state("slow"), StepState::Running);
}

#[test]
fn skips_propagate_as_skipped_and_none_failed_joins_branches() {
    // A branch that did not run (skipped) is no failure for none_failed_min_one_success.
    let p = plan()
        .step("pick")
        .step_needs("left", &["pick"])
        .when(Trigger::OneFailed)
        .step_needs("right", &["pick"])
        .step_needs("after_left", &["left"])
        .step_needs("join", &["after_left", "right"])
        .when(Trigger::NoneFailedMinOneSuccess)
        .build();
    let mut sim = Sim::new(p, cfg());
    sim.exit("pick", 0);
    assert_eq!(sim.state("left"), StepState::Skipped);
    assert_eq!(sim.state("after_left"), StepState::Skipped);
    let fx = sim.exit("right", 0);
    assert_eq!(spawned(&fx), ["join"]);
    sim.exit("join", 0);
    assert_eq!(sim.core.run_state(), RunState::Succeeded);
}

#[test]
fn an_allowed_failure_is_shown_but_fails_nothing() {
    let p = plan()
        .step("lint")
        .with(|s| s.allow_failure = true)
        .step_needs("build", &["lint"])
        .step_needs("report", &["lint"])
        .when(Trigger::OneFailed)
        .build();
    let mut sim = Sim::new(p, cfg());
    let fx = sim.exit("lint", 1);
    assert_eq!(sim.state("lint"), StepState::Failed);
    assert_eq!(spawned(&fx), ["build"], "a success for its dependants");
    assert_eq!(sim.state("report"), StepState::Skipped);
    sim.exit("build", 0);
    assert_eq!(sim.core.run_state(), RunState::Succeeded);
}

#[test]
fn a_rejected_need_is_a_failure_for_the_rules() {
    let p = plan()
        .step("ship")
        .gate(gate())
        .step_needs("after", &["ship"])
        .step_needs("cleanup", &["ship"])
        .when(Trigger::AllFailed)
        .build();
    let mut sim = Sim::new(p, cfg());
    sim.cmd(Command::Reject {
        step: "ship".into(),
        operator: "bob".into(),
        reason: "no".into(),
        signature: None,
    });
    assert_eq!(sim.state("after"), StepState::UpstreamFailed);
    assert_eq!(spawned(&sim.last), ["cleanup"]);
}

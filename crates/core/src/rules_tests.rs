//! Trigger rules in the core: upstream_failed, rules that fire early, allow_failure,
//! and replay of what they decided.
use super::testkit::*;
use super::*;
use baton_workflow::Trigger;

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
    // The handler below dealt with the failure: half a failure's cost in health.
    let term = |v: &baton_model::RunView, label: &str| {
        v.health
            .terms
            .iter()
            .find(|t| t.label == label)
            .map(|t| t.count)
    };
    assert_eq!(term(&v, "failed, allowed or handled"), Some(1));
    assert_eq!(term(&v, "never started (a need failed)"), Some(2));
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
    // Allowed: half a failure's cost (of three steps, 100 − 33.3 × ½ − 10 for the
    // open exit error), not a failed run's score.
    let h = sim.core.view(Timestamp(sim.now)).health;
    assert!(
        h.terms
            .iter()
            .any(|t| t.label == "failed, allowed or handled" && t.count == 1)
    );
    assert!(
        (h.score - (100.0 - 100.0 / 6.0 - 10.0)).abs() < 1e-6,
        "{}",
        h.score
    );
}

/// The run's summary (`runs`, the console's list, the metrics) scores a failure the
/// workflow dealt with as the view (`show`) does at every point, not only once the run
/// ends: an allowed failure as it fails, a failure as its handler succeeds, and no
/// longer while an operator marks the handler failed.
#[test]
fn the_summary_scores_a_failure_dealt_with_as_the_view_does_while_the_run_goes_on() {
    let p = plan()
        .step("a")
        .with(|s| s.allow_failure = true)
        .step_needs("b", &["a"])
        .step("x")
        .step_needs("fix", &["x"])
        .when(Trigger::OneFailed)
        .step_needs("c", &["b", "fix"])
        .build();
    let mut sim = Sim::new(p, cfg());
    let agree = |sim: &Sim, dealt: u64| {
        let summary = sim.core.state_summary();
        assert_eq!(summary.dealt_with, dealt);
        assert_eq!(summary.health(), sim.core.view(Timestamp(sim.now)).health);
    };
    sim.exit("a", 1);
    assert_eq!(sim.state("b"), StepState::Running);
    agree(&sim, 1);
    sim.exit("x", 1);
    agree(&sim, 1);
    sim.exit("fix", 0);
    agree(&sim, 2);
    let mark = |sim: &mut Sim, state| {
        let marked = sim.cmd(Command::Mark {
            step: "fix".into(),
            state,
            operator: "vera".into(),
            reason: "checked".into(),
            outputs: Default::default(),
            artifacts: Default::default(),
        });
        assert!(marked.is_accepted(), "{marked:?}");
    };
    mark(&mut sim, StepState::Failed);
    agree(&sim, 1);
    mark(&mut sim, StepState::Succeeded);
    agree(&sim, 2);
    sim.exit("b", 0);
    sim.exit("c", 0);
    assert!(sim.core.is_finished());
    agree(&sim, 2);
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

fn cond(text: &str) -> Option<Box<baton_workflow::condition::Condition>> {
    let mut c = baton_workflow::condition::parse(text).expect("a valid condition");
    // The testkit's steps are indexed in order: resolve ids by the plan built so far.
    c.resolve_steps(|id| match id {
        "build" => 0,
        _ => usize::MAX,
    });
    Some(Box::new(c))
}

#[test]
fn a_false_condition_skips_with_the_values_it_read_and_its_gate_never_opens() {
    let p = plan()
        .step("build")
        .output("tag", None)
        .step_needs("publish", &["build"])
        .gate(gate())
        .with(|s| {
            s.condition =
                cond("starts_with(steps.build.outputs.tag, 'v') && params.event == 'release'")
        })
        .step_needs("after", &["publish"])
        .build();
    let mut c = cfg();
    c.params.insert("event".into(), "push".into());
    let mut sim = Sim::new(p.clone(), c.clone());
    sim.finish(
        "build",
        StepOutcome::Exited { exit_code: 0 },
        vec![("tag", "v1.0")],
    );
    assert_eq!(sim.state("publish"), StepState::Skipped);
    assert!(
        sim.events_named("gate_opened").is_empty(),
        "nobody is asked"
    );
    assert_eq!(sim.state("after"), StepState::Skipped, "skips propagate");
    let v = sim.core.view(Timestamp(sim.now));
    let publish = &v.steps[v.step_index("publish").unwrap()];
    assert_eq!(
        publish.why.as_deref(),
        Some(
            "condition false: starts_with(steps.build.outputs.tag, 'v') && params.event == 'release' (steps.build.outputs.tag = \"v1.0\", params.event = \"push\")"
        )
    );
    assert_eq!(sim.core.run_state(), RunState::Succeeded);
    // A replay reads the decision; it does not decide again (another param value now
    // changes nothing).
    let mut other = c;
    other.params.insert("event".into(), "release".into());
    let again = Core::replay(p, other, sim.core.events()).unwrap();
    assert_eq!(again.steps[sim.idx("publish")].state, StepState::Skipped);
}

#[test]
fn a_true_condition_opens_the_gate() {
    let p = plan()
        .step("build")
        .step_needs("publish", &["build"])
        .gate(gate())
        .with(|s| s.condition = cond("${{ params.event == 'release' }}"))
        .build();
    let mut c = cfg();
    c.params.insert("event".into(), "release".into());
    let mut sim = Sim::new(p, c);
    sim.exit("build", 0);
    assert_eq!(sim.state("publish"), StepState::WaitingApproval);
}

#[test]
fn a_condition_reads_a_needs_state_after_a_rule_that_lets_failures_through() {
    let p = plan()
        .step("build")
        .step_needs("report", &["build"])
        .when(Trigger::AllDone)
        .with(|s| s.condition = cond("steps.build.state == 'failed'"))
        .build();
    let mut sim = Sim::new(p.clone(), cfg());
    let fx = sim.exit("build", 1);
    assert_eq!(spawned(&fx), ["report"]);
    let mut sim = Sim::new(p, cfg());
    sim.exit("build", 0);
    assert_eq!(sim.state("report"), StepState::Skipped);
}

/// GitHub's "required checks" job (re-actors/alls-green): `when = "all_done"` (GitHub's `always()`) and an
/// `if` over `needs.*.result`, which reads GitHub's values (`StepState::github_result`).
const ALLS_GREEN: &str = r#"
name = "checks"
[[step]]
id = "lint"
run = "l"
[[step]]
id = "test"
run = "t"
[[step]]
id = "docs"
run = "d"
needs = ["lint"]
if = "params.docs == 'yes'"
[[step]]
id = "flaky"
run = "f"
allow_failure = true
[[step]]
id = "check"
run = "c"
needs = ["lint", "test", "docs", "flaky"]
when = "all_done"
if = "!contains(needs.*.result, 'failure') && needs.docs.result != 'cancelled'"
[params.docs]
default = "no"
"#;

#[test]
fn a_required_checks_step_reads_its_needs_results_as_github_does() {
    let p = Arc::new(
        baton_workflow::load_str(ALLS_GREEN, std::path::Path::new("/w/wf.toml"))
            .unwrap_or_else(|d| panic!("{d}")),
    );
    let run = |test_exit: i32| {
        let mut sim = Sim::new(p.clone(), cfg());
        sim.exit("lint", 0);
        sim.exit("flaky", 1);
        sim.exit("test", test_exit);
        assert_eq!(sim.state("docs"), StepState::Skipped);
        sim
    };
    // All green but a skipped need and an allowed failure (GitHub: `success`).
    let sim = run(0);
    assert_eq!(sim.state("check"), StepState::Running);
    // A failed need: the condition reads `failure` and the step is skipped, the
    // record naming each result.
    let sim = run(1);
    let v = sim.core.view(Timestamp(sim.now));
    let why = v.steps[sim.idx("check")].why.clone().unwrap_or_default();
    assert_eq!(sim.state("check"), StepState::Skipped, "{why}");
    assert!(
        why.contains(r#"needs.*.result = "[\"success\",\"failure\",\"skipped\",\"success\"]""#),
        "{why}"
    );
    assert!(why.contains(r#"needs.docs.result = "skipped""#), "{why}");
}

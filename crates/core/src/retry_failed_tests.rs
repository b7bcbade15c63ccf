//! Issue 58 point 5: `baton retry RUN --failed` takes up every failed, timed-out and
//! fail-fast-cancelled step and instance in one decision, and leaves an interrupted
//! step to a person.
use super::testkit::*;
use super::*;
use std::path::Path;

const RUN: &str = r#"
name = "f"
max_parallel = 8
[[step]]
id = "t"
run = "t"
matrix = { n = [1, 2, 3] }
fail_fast = true

[[step]]
id = "after"
run = "a"
needs = ["t"]

[[step]]
id = "lint"
run = "l"

[[step]]
id = "deploy"
run = "d"
idempotent = false
"#;

fn retry_failed(sim: &mut Sim) -> CommandOutcome {
    sim.cmd(Command::RetryFailed {
        operator: "olivia".into(),
    })
}

#[test]
fn every_failed_step_and_instance_runs_again_in_one_decision() {
    let plan = match baton_workflow::load_str(RUN, Path::new("/w/wf.toml")) {
        Ok(p) => Arc::new(p),
        Err(d) => panic!("{d}"),
    };
    let mut sim = Sim::new(plan.clone(), cfg());
    sim.exit("t[2]", 1);
    sim.finish("t[1]", StepOutcome::Signalled { signal: 15 }, vec![]);
    sim.finish("t[3]", StepOutcome::Signalled { signal: 15 }, vec![]);
    sim.exit("lint", 1);
    let reason = "outcome unknown: its host is gone".to_string();
    sim.finish("deploy", StepOutcome::Lost { reason }, vec![]);
    assert_eq!(sim.state("deploy"), StepState::Interrupted);
    assert_eq!(sim.state("after"), StepState::UpstreamFailed);
    let preview = sim.core.failed_retry(Timestamp(sim.now)).expect("a plan");
    let out = retry_failed(&mut sim);
    let CommandOutcome::Accepted { message } = out else {
        panic!("{out:?}")
    };
    assert!(message.contains("`deploy` was interrupted"), "{message}");
    let mut again = spawned(&sim.last);
    again.sort();
    assert_eq!(again, ["lint", "t[1]", "t[2]", "t[3]"]);
    assert_eq!(
        sim.state("deploy"),
        StepState::Interrupted,
        "left to a person"
    );
    assert_eq!(sim.state("after"), StepState::Pending, "re-armed");
    // One decision lists them; each step's own retry is no decision of its own.
    let decisions: Vec<_> = sim
        .core
        .events()
        .iter()
        .filter_map(|e| baton_model::history::decision(&e.kind))
        .filter(|d| {
            matches!(
                d.action,
                baton_model::AuditAction::Retry | baton_model::AuditAction::RetryFailed
            )
        })
        .collect();
    assert_eq!(decisions.len(), 1, "{decisions:?}");
    assert_eq!(decisions[0].action, baton_model::AuditAction::RetryFailed);
    assert_eq!(
        decisions[0].details["steps"],
        serde_json::json!(["lint", "t[1]", "t[2]", "t[3]"])
    );
    assert_eq!(decisions[0].details["left"], serde_json::json!(["deploy"]));
    assert_eq!(preview.steps, ["lint", "t[1]", "t[2]", "t[3]"]);
    assert_eq!(preview.left, ["deploy"]);
    assert_eq!(sim.events_named("step_retried").len(), 4);
    // A replay rebuilds the same: the decision folds to nothing of its own.
    let replayed = Core::replay(plan, cfg(), sim.core.events()).expect("replay");
    assert_eq!(
        replayed.view(Timestamp(sim.now)).steps.len(),
        sim.core.view(Timestamp(sim.now)).steps.len()
    );
    for id in ["t[1]", "t[2]", "t[3]", "lint"] {
        sim.exit(id, 0);
    }
    sim.exit("after", 0);
    // Only the interrupted one is left: refused, naming it and what to do.
    let out = retry_failed(&mut sim);
    let CommandOutcome::Refused(r) = out else {
        panic!("{out:?}")
    };
    assert_eq!(r.code(), "nothing_to_retry");
    assert!(r.to_string().contains("baton retry"), "{r}");
}

/// Issue 58 point 4: after one instance of a fanned-out step is retried and its step
/// fails again, its dependant's record names the need that failed, never itself.
#[test]
fn a_dependant_names_the_need_that_failed_after_an_instance_is_retried() {
    for extra in ["", "fail_fast = true\n", "allow_failure = true\n"] {
        let src = format!(
            "name = \"m\"\nmax_parallel = 8\n[[step]]\nid = \"t\"\nrun = \"t\"\nmatrix = {{ n = [1, 2, 3] }}\n{extra}\n[[step]]\nid = \"after\"\nrun = \"a\"\nneeds = [\"t\"]\n"
        );
        let plan = match baton_workflow::load_str(&src, Path::new("/w/wf.toml")) {
            Ok(p) => Arc::new(p),
            Err(d) => panic!("{d}"),
        };
        let mut sim = Sim::new(plan, cfg());
        sim.exit("t[1]", 1);
        for id in ["t[2]", "t[3]"] {
            if sim.state(id) == StepState::Running {
                sim.exit(id, 1);
            }
        }
        let out = sim.cmd(Command::Retry {
            step: "t[1]".into(),
            operator: "olivia".into(),
        });
        assert!(matches!(out, CommandOutcome::Accepted { .. }), "{out:?}");
        sim.exit("t[1]", 0);
        let v = sim.core.view(Timestamp(sim.now));
        let after = &v.steps[v.step_index("after").unwrap()];
        let why = after.why.clone().unwrap_or_default();
        let st = |id: &str| v.steps[v.step_index(id).unwrap()].state;
        eprintln!(
            "{extra:?}: t {} t[2] {} t[3] {}; after {} — {why}",
            st("t"),
            st("t[2]"),
            st("t[3]"),
            after.state
        );
        assert!(!why.contains("`after`"), "{extra:?}: {why}");
    }
}

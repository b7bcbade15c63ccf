//! Forks (issue 43 point 4) on a fake clock: what the old run's core decides to reuse,
//! what the fork starts, and that a replay of the fork's history is the same run.
use super::testkit::*;
use super::*;
use baton_model::Refusal;
use std::path::Path;

fn load(src: &str) -> Arc<Plan> {
    match baton_workflow::load_str(src, Path::new("/w/wf.toml")) {
        Ok(p) => Arc::new(p),
        Err(d) => panic!("{d}"),
    }
}

/// `a` → `b` → `c`, `d` beside them, `test` a matrix `c` does not read.
const WF: &str = r#"
name = "f"
[[step]]
id = "a"
run = "a"
[[step]]
id = "b"
run = "b"
needs = ["a"]
[[step]]
id = "c"
run = "c"
needs = ["b"]
env = { V = "${{ steps.a.outputs.v }}" }
[[step]]
id = "d"
run = "d"
[[step]]
id = "test"
run = "t"
matrix = { py = ["3.11", "3.12"] }
"#;

/// A finished run of `src`: `a` succeeds with output `v=1`, every other step that
/// runs exits with 0.
fn finish_all(src: &str) -> Sim {
    let mut sim = Sim::new(load(src), cfg());
    sim.finish("a", StepOutcome::Exited { exit_code: 0 }, vec![("v", "1")]);
    while let Some(id) = sim
        .core
        .view(Timestamp(sim.now))
        .steps
        .iter()
        .find(|s| s.state == StepState::Running)
        .map(|s| s.id.clone())
    {
        sim.exit(&id, 0);
    }
    assert!(sim.core.run_state().is_final());
    sim
}

fn finished() -> Sim {
    let sim = finish_all(WF);
    assert_eq!(sim.core.run_state(), RunState::Succeeded);
    sim
}

fn fork_cfg() -> RunConfig {
    RunConfig {
        run_id: "fork".into(),
        ..cfg()
    }
}

#[test]
fn the_step_and_what_follows_run_again_and_the_rest_is_reused_with_its_instances() {
    let old = finished();
    let f = old.core.fork_plan("b").expect("forkable");
    assert_eq!(f.rerun, ["b", "c"]);
    let reused: Vec<&str> = f.reused.iter().map(|r| r.step.as_str()).collect();
    assert_eq!(reused, ["a", "d", "test[3.11]", "test[3.12]", "test"]);
    assert_eq!(f.fans.len(), 1, "the matrix's instances are copied");
    let mut core = Core::new(load(WF), fork_cfg());
    let fx = core.start_fork(&f, Timestamp(T0));
    assert_eq!(
        spawned(&fx),
        ["b"],
        "only b starts: a, d and test are reused"
    );
    let view = core.view(Timestamp(T0));
    let a = &view.steps[0];
    assert_eq!(a.state, StepState::Succeeded);
    assert_eq!(a.reused_from.as_deref(), Some(old.core.cfg.run_id.as_str()));
    assert_eq!(a.outputs.get("v").map(String::as_str), Some("1"));
    assert_eq!(
        view.forked_from.as_ref().map(|l| l.step.as_str()),
        Some("b")
    );
    // `c` reads the reused output.
    let b = core.ids["b"];
    let fx = core.handle(
        Input::StepExited(StepExit {
            step: b,
            attempt: 1,
            outcome: StepOutcome::Exited { exit_code: 0 },
            duration_ms: 1,
            outputs: vec![],
            usage: Usage::default(),
            stderr_tail: String::new(),
        }),
        Timestamp(T0 + 10),
    );
    let c = spawn_of(&fx, "c").expect("c starts");
    assert!(
        c.env.contains(&("V".to_string(), "1".to_string())),
        "{:?}",
        c.env
    );
    // The fork's history replays into the same run.
    let replayed = Core::replay(load(WF), fork_cfg(), core.events()).expect("replay");
    assert_eq!(
        replayed.view(Timestamp(T0 + 20)),
        core.view(Timestamp(T0 + 20))
    );
}

#[test]
fn only_a_finished_run_is_forked_and_only_from_a_step_that_could_run() {
    let mut sim = Sim::new(load(WF), cfg());
    assert!(matches!(
        sim.core.fork_plan("a"),
        Err(Refusal::ForkUnfinished { .. })
    ));
    sim.exit("a", 1);
    for id in ["d", "test[3.11]", "test[3.12]"] {
        sim.exit(id, 0);
    }
    assert!(
        sim.core.run_state().is_final(),
        "{:?}",
        sim.core.run_state()
    );
    assert!(matches!(
        sim.core.fork_plan("b"),
        Err(Refusal::ForkUpstreamNotSucceeded { ref upstream, state: StepState::Failed, .. }) if upstream == "a"
    ));
    assert!(matches!(
        sim.core.fork_plan("zz"),
        Err(Refusal::NoSuchStep { .. })
    ));
    assert!(matches!(
        sim.core.fork_plan("test[3.11]"),
        Err(Refusal::ForkFromInstance { ref parent, .. }) if parent == "test"
    ));
    // From the failed step itself: it and what follows run again.
    let f = sim.core.fork_plan("a").expect("forkable");
    assert_eq!(f.rerun, ["a", "b", "c"]);
}

#[test]
fn a_reused_step_is_not_compensated_by_the_fork() {
    let src = WF.replace("run = \"a\"", "run = \"a\"\ncompensate = \"undo-a\"");
    let old = finish_all(&src);
    let f = old.core.fork_plan("c").expect("forkable");
    let mut core = Core::new(load(&src), fork_cfg());
    core.start_fork(&f, Timestamp(T0));
    assert!(
        core.completion.is_empty(),
        "the old run's work is not the fork's to undo"
    );
}

/// A fork in a busy concurrency group: queued, with its reused steps on record first.
#[test]
fn a_queued_fork_records_what_it_reuses_and_waits_for_its_group() {
    let old = finished();
    let f = old.core.fork_plan("b").expect("forkable");
    let mut core = Core::new(load(WF), fork_cfg());
    core.fork_from(f);
    let fx = core.start_as(
        Opening::Queue {
            reason: "group busy".into(),
        },
        Timestamp(T0),
    );
    assert!(spawned(&fx).is_empty(), "nothing starts while queued");
    assert_eq!(core.run_state(), RunState::Queued);
    let kinds: Vec<&str> = persisted(&fx).iter().map(|k| k.name()).collect();
    assert_eq!(&kinds[..2], ["run_started", "run_forked"], "{kinds:?}");
    assert_eq!(
        core.view(Timestamp(T0)).steps[0].state,
        StepState::Succeeded
    );
    let fx = core.handle(
        Input::Admitted {
            reason: "free".into(),
        },
        Timestamp(T0 + 5),
    );
    assert_eq!(spawned(&fx), ["b"]);
}

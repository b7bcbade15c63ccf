//! Issue 55 point 2: a step whose fate is unknown (its host gone, its job lost) is run
//! again by its retry only if it is idempotent; and a step that exited 0 did its work,
//! whatever stop was asked while its host could not be reached.
use super::testkit::*;
use super::*;
use baton_model::ErrorKind;

fn lost(sim: &mut Sim, id: &str) -> Vec<Effect> {
    let reason = "outcome unknown: cannot follow the step on host h: no answer".to_string();
    sim.finish(id, StepOutcome::Lost { reason }, vec![])
}

#[test]
fn a_lost_idempotent_step_is_retried() {
    let p = plan().step("deploy").retry(3, 1).build();
    let mut sim = Sim::new(p, cfg());
    lost(&mut sim, "deploy");
    assert_eq!(sim.state("deploy"), StepState::RetryWait);
    let fx = sim.tick_at(1000);
    assert_eq!(spawn_of(&fx, "deploy").map(|s| s.attempt), Some(2));
}

#[test]
fn a_lost_non_idempotent_step_waits_for_a_person_not_its_retry() {
    let p = plan()
        .step("deploy")
        .retry(3, 1)
        .with(|s| s.idempotent = false)
        .step_needs("after", &["deploy"])
        .build();
    let mut sim = Sim::new(p, cfg());
    let fx = lost(&mut sim, "deploy");
    assert!(spawned(&fx).is_empty(), "nothing starts: {fx:?}");
    assert_eq!(sim.state("deploy"), StepState::Interrupted);
    assert!(spawned(&sim.tick_at(60_000)).is_empty(), "no retry is due");
    assert_eq!(sim.core.run_state(), RunState::Waiting);
    let rec = &sim.open_errors("deploy")[0];
    assert_eq!(rec.kind, ErrorKind::Interrupted);
    assert!(rec.message.contains("outcome unknown"), "{}", rec.message);
    assert!(rec.message.contains("baton mark"), "{}", rec.message);
    // A person's retry runs it again.
    let fx = sim.input(Input::Command {
        id: None,
        command: Command::Retry {
            step: "deploy".into(),
            operator: "vera".into(),
        },
    });
    assert_eq!(
        spawn_of(&fx, "deploy").map(|s| s.attempt),
        Some(2),
        "{fx:?}"
    );
}

#[test]
fn a_step_that_exited_0_after_a_cancel_that_never_reached_it_succeeded() {
    let p = plan().step("deploy").step("other").build();
    let mut sim = Sim::new(p, cfg());
    sim.cmd(Command::Cancel {
        operator: "vera".into(),
        reason: None,
    });
    sim.exit("deploy", 0);
    assert_eq!(sim.state("deploy"), StepState::Succeeded);
    sim.finish("other", StepOutcome::Killed, vec![]);
    assert_eq!(sim.state("other"), StepState::Cancelled);
}

/// Issue 55 point 7: a re-attached attempt's duration is its life from its recorded
/// start, not the part its new executor handle timed; one not re-attached keeps what
/// its executor measured.
#[test]
fn a_reattached_attempts_duration_runs_from_its_recorded_start() {
    let p = plan().step("a").step("b").build();
    let mut sim = Sim::new(p.clone(), cfg());
    for (id, job) in [("a", "4242"), ("b", "4343")] {
        sim.job_started(id, job);
    }
    let events = sim.core.events().to_vec();
    let mut again = Core::replay(p, cfg(), &events).expect("replay");
    let fx = again.resume("olivia", Timestamp(T0 + 5_000));
    assert!(fx.iter().any(|e| matches!(e, Effect::Reattach { .. })));
    let exit = |step| {
        Input::StepExited(StepExit {
            step,
            attempt: 1,
            outcome: StepOutcome::Exited { exit_code: 0 },
            // What the new handle timed: the moments since the re-attach.
            duration_ms: 9,
            outputs: vec![],
            usage: Usage::default(),
            stderr_tail: String::new(),
        })
    };
    again.handle(exit(0), Timestamp(T0 + 6_000));
    let v = again.view(Timestamp(T0 + 6_000));
    assert_eq!(v.steps[0].duration_ms, Some(6_000), "from its start at T0");
    // A step that ran its whole attempt under this engine keeps its executor's figure.
    let p = plan().step("c").build();
    let mut sim = Sim::new(p, cfg());
    sim.finish("c", StepOutcome::Exited { exit_code: 0 }, vec![]);
    let v = sim.core.view(Timestamp(sim.now));
    assert_eq!(v.steps[0].duration_ms, Some(10));
}

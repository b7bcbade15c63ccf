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

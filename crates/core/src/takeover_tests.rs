//! What a takeover decides on a replayed run (issue 24): a cancel starts nothing, and a
//! step whose compensation failed is recorded as undone by hand without reopening.
use super::testkit::*;
use super::*;
use baton_model::{ErrorKind, EventKind};

fn cancel() -> Command {
    Command::Cancel {
        operator: "olivia".into(),
        reason: Some("abandoned".into()),
    }
}

/// An idempotent step running and one queued behind it (`max_parallel = 1`) when the
/// engine died.
fn crashed() -> (Arc<Plan>, RunConfig, Vec<Event>) {
    let p = plan().step("deploy").step("next").max_parallel(1).build();
    let mut sim = Sim::new(p.clone(), cfg());
    sim.input(Input::ProcessStarted {
        step: 0,
        attempt: 1,
        pgid: 77,
        output: None,
    });
    assert_eq!(sim.state("deploy"), StepState::Running);
    assert_eq!(sim.state("next"), StepState::Queued);
    (p, cfg(), sim.core.events().to_vec())
}

#[test]
fn a_cancel_on_a_crashed_run_starts_nothing() {
    let (p, c, events) = crashed();
    let mut core = Core::replay(p, c, &events).expect("replay");
    let now = Timestamp(T0 + 10);
    let mut fx = core.resume_before("olivia", Some(&cancel()), now);
    assert!(fx.contains(&Effect::KillStale { pgid: 77 }));
    fx.extend(core.handle(
        Input::Command {
            id: None,
            command: cancel(),
        },
        now,
    ));
    assert!(
        spawned(&fx).is_empty(),
        "a cancel started {:?}",
        spawned(&fx)
    );
    assert_eq!(core.steps[0].state, StepState::Cancelled);
    assert_eq!(core.steps[1].state, StepState::Cancelled);
    assert_eq!(core.run_state(), RunState::Cancelled);
    assert!(
        persisted(&fx).iter().all(|k| !matches!(
            k,
            EventKind::StepStateChanged {
                state: StepState::Queued | StepState::Running,
                ..
            }
        )),
        "nothing queued or started on record"
    );
}

#[test]
fn any_other_command_resumes_as_before() {
    let (p, c, events) = crashed();
    let mut core = Core::replay(p, c, &events).expect("replay");
    let retry = Command::Retry {
        step: "deploy".into(),
        operator: "olivia".into(),
    };
    let fx = core.resume_before("olivia", Some(&retry), Timestamp(T0 + 10));
    // The queued step starts; the idempotent one is queued to run again after it.
    assert_eq!(spawned(&fx), ["next"]);
    assert_eq!(core.steps[0].state, StepState::Queued);
}

#[test]
fn a_failed_compensation_is_marked_failed_without_reopening_the_run() {
    let p = plan()
        .step("deploy")
        .with(|s| s.compensate = Some("undo".into()))
        .step_needs("after", &["deploy"])
        .build();
    let mut sim = Sim::new(p, cfg());
    sim.exit("deploy", 0);
    sim.exit("after", 1);
    sim.input(Input::CompensationExited {
        step: 0,
        outcome: StepOutcome::Exited { exit_code: 1 },
        duration_ms: 3,
        stderr_tail: String::new(),
    });
    assert_eq!(sim.state("deploy"), StepState::CompensationFailed);
    assert!(sim.core.is_finished());
    let view = sim.core.view(Timestamp(sim.now));
    assert_ne!(
        view.health.label,
        baton_model::HealthLabel::Healthy,
        "a compensation that failed is no success: {:?}",
        view.health
    );
    let e = sim.open_errors("deploy")[0].clone();
    assert_eq!(e.kind, ErrorKind::CompensationFailed);
    assert!(
        e.suggestion.contains("baton mark r1 deploy --state failed"),
        "{e:?}"
    );
    let mark = |state| Command::Mark {
        step: "deploy".into(),
        state,
        operator: "olivia".into(),
        reason: "rolled back by hand".into(),
        outputs: Default::default(),
        artifacts: Vec::new(),
    };
    let o = sim.cmd(mark(StepState::Succeeded));
    assert!(refused(&o).contains("--state failed"), "{o:?}");
    let o = sim.cmd(mark(StepState::Failed));
    assert!(o.is_accepted(), "{o:?}");
    assert_eq!(sim.state("deploy"), StepState::Failed);
    assert!(sim.open_errors("deploy").is_empty());
    assert_eq!(
        sim.core.run_state(),
        RunState::Failed,
        "the run is not reopened"
    );
    assert!(sim.core.is_finished());
    assert!(spawned(&sim.last).is_empty());
}

#[test]
fn adopting_a_dead_engines_job_schedules_nothing() {
    // The engine died after committing `next` queued, before committing it running.
    let p = plan().step("deploy").step("next").max_parallel(2).build();
    let sim = Sim::new(p.clone(), cfg());
    let events = sim.core.events();
    let cut = events
        .iter()
        .position(|e| {
            matches!(&e.kind, EventKind::StepStateChanged { step, state: StepState::Queued, .. } if step == "next")
        })
        .expect("next queued");
    let mut core = Core::replay(p, cfg(), &events[..=cut]).expect("replay");
    assert_eq!(core.steps[1].state, StepState::Queued);
    let fx = core.adopt_job(0, 1, "cluster".into(), "42".into(), Timestamp(T0 + 10));
    assert!(spawned(&fx).is_empty(), "{:?}", spawned(&fx));
    let mut fx = core.resume_before("olivia", Some(&cancel()), Timestamp(T0 + 10));
    fx.extend(core.handle(
        Input::Command {
            id: None,
            command: cancel(),
        },
        Timestamp(T0 + 10),
    ));
    assert!(spawned(&fx).is_empty(), "{:?}", spawned(&fx));
    assert_eq!(core.run_state(), RunState::Cancelled);
}

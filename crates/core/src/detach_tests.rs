//! Detach (issue 55 point 3) on a fake clock: the detaching engine freezes a running
//! local step under its own hold that lapses at once instead of killing it, leaves a
//! remote job running, and the next engine adopts the frozen group and lets it run on:
//! the same attempt, nothing interrupted, nothing asked.
use super::testkit::*;
use super::*;

fn detach(sim: &mut Sim, at: i64) -> Vec<Effect> {
    sim.at(at);
    sim.input(Input::Detach {
        reason: "detached: handed to a background engine".into(),
    })
}

/// A local step whose process is known is frozen, not killed; one whose process is not
/// known yet is stopped and interrupted, as a quit does; the run is interrupted.
#[test]
fn detach_freezes_a_running_local_step_and_interrupts_one_not_started_yet() {
    let p = plan().step("a").step("b").build();
    let mut sim = Sim::new(p, cfg());
    sim.started("a");
    let fx = detach(&mut sim, 2_000);
    assert_eq!(freezes(&fx), [(0, true)], "{fx:?}");
    assert_eq!(kills(&fx), [1], "{fx:?}");
    assert_eq!(sim.state("a"), StepState::Running);
    assert_eq!(sim.state("b"), StepState::Interrupted);
    assert_eq!(sim.core.run_state(), RunState::Interrupted);
    let h = sim.core.steps[0]
        .more
        .hold
        .as_ref()
        .expect("held for the hand-over");
    assert!(h.frozen && h.by == baton_model::history::ENGINE, "{h:?}");
    assert_eq!(h.until, Some(Timestamp(T0 + 2_000)));
    assert!(sim.open_errors("a").is_empty(), "nothing to resolve for a");
}

/// The next engine adopts the frozen group and, the hand-over's hold having lapsed,
/// releases it in the same resume: attempt 1 runs on, no interrupted record.
#[test]
fn the_next_engine_adopts_the_handed_over_step_and_lets_it_run_at_once() {
    let p = plan().step("a").build();
    let mut sim = Sim::new(p.clone(), cfg());
    sim.started("a");
    detach(&mut sim, 2_000);
    let events = sim.core.events().to_vec();
    let mut core = Core::replay(p, cfg(), &events).expect("replay");
    assert!(core.adopt_frozen(0, 1, 1000));
    let fx = core.resume("olivia", Timestamp(T0 + 2_050));
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Reattach { frozen: true, .. })),
        "{fx:?}"
    );
    assert_eq!(freezes(&fx), [(0, false)], "thawed at once: {fx:?}");
    let a = &core.steps[0];
    assert!(a.more.hold.is_none());
    assert_eq!((a.state, a.attempts), (StepState::Running, 1));
    assert!(spawned(&fx).is_empty(), "not started again");
}

/// A step already frozen by an operator's hold stays as it is: held by that operator,
/// no second hold.
#[test]
fn detach_leaves_an_operator_s_frozen_step_as_it_is() {
    let p = plan().step("a").build();
    let mut sim = Sim::new(p, cfg());
    sim.started("a");
    let hold = Command::Hold {
        steps: vec!["a".into()],
        operator: "alice".into(),
        reason: "look first".into(),
        until: None,
        freeze: true,
    };
    assert!(sim.cmd(hold).is_accepted());
    let fx = detach(&mut sim, 2_000);
    assert!(freezes(&fx).is_empty() && kills(&fx).is_empty(), "{fx:?}");
    let h = sim.core.steps[0].more.hold.as_ref().expect("still held");
    assert_eq!((h.by.as_str(), h.until), ("alice", None));
}

/// A remote step whose job is on record is left running where it is: nothing is
/// frozen or killed, and the next engine re-attaches to the job.
#[test]
fn detach_leaves_a_remote_job_running_for_the_next_engine() {
    let p = plan().step("a").build();
    let mut sim = Sim::new(p.clone(), cfg());
    sim.job_started("a", "4242");
    let fx = detach(&mut sim, 2_000);
    assert!(freezes(&fx).is_empty() && kills(&fx).is_empty(), "{fx:?}");
    assert_eq!(sim.state("a"), StepState::Running);
    assert!(sim.core.steps[0].more.hold.is_none());
    let events = sim.core.events().to_vec();
    let mut core = Core::replay(p, cfg(), &events).expect("replay");
    let fx = core.resume("olivia", Timestamp(T0 + 2_050));
    assert!(
        fx.iter().any(|e| matches!(
            e,
            Effect::Reattach { job_id, frozen: false, .. } if job_id == "4242"
        )),
        "{fx:?}"
    );
    assert_eq!(core.steps[0].attempts, 1);
}

/// A workflow whose `ship` runs on an SSH host and `build` here.
const REMOTE: &str = r#"
name = "remote"

[executors.box]
type = "ssh"
host = "box"

[[step]]
id = "build"
run = "make"

[[step]]
id = "ship"
run = "ship"
executor = "box"
"#;

fn remote_sim() -> (Arc<baton_workflow::Plan>, Sim) {
    let plan = baton_workflow::load_str(REMOTE, std::path::Path::new("/w/remote.toml"))
        .expect("the workflow loads");
    let plan = Arc::new(plan);
    (plan.clone(), Sim::new(plan, cfg()))
}

/// Found by the simulator (`--mix remote`, seed 4, `a_step_runs_once_at_a_time`): a
/// remote step still being launched at a detach (its job not on record yet) was
/// stopped and interrupted; the background engine found its job on the host, cancelled
/// it, and started the step again while the first job still ran. Now it is left as a
/// remote job on record is: the next engine asks the host and adopts it.
#[test]
fn detach_leaves_a_remote_step_whose_job_is_not_on_record_yet_for_the_next_engine() {
    let (plan, mut sim) = remote_sim();
    let fx = detach(&mut sim, 2_000);
    let ship = sim.idx("ship");
    assert_eq!(kills(&fx), [sim.idx("build")], "only the local one: {fx:?}");
    assert_eq!(sim.state("ship"), StepState::Running);
    // The local one, its process not known yet, is stopped as before.
    assert_eq!(sim.state("build"), StepState::Interrupted);
    let events = sim.core.events().to_vec();
    let mut core = Core::replay(plan, cfg(), &events).expect("replay");
    let adopted = core.adopt_job(ship, 1, "box".into(), "77".into(), Timestamp(T0 + 2_050));
    assert!(
        adopted
            .iter()
            .all(|e| !matches!(e, Effect::CancelJob { .. })),
        "adopted, not cancelled: {adopted:?}"
    );
    let fx = core.resume("olivia", Timestamp(T0 + 2_060));
    assert!(
        fx.iter().any(|e| matches!(
            e,
            Effect::Reattach { job_id, .. } if job_id == "77"
        )),
        "{fx:?}"
    );
    assert_eq!(core.steps[ship].attempts, 1, "not started again");
}

/// A step on another machine records its launch with its start (`step_launching`):
/// until its job is on record, the store counts it as what a dead engine may have
/// left running. A local step records none.
#[test]
fn a_remote_step_records_its_launch_with_its_start_and_a_local_one_does_not() {
    let (_, sim) = remote_sim();
    let launching: Vec<(String, u32, String)> = sim
        .core
        .events()
        .iter()
        .filter_map(|e| match &e.kind {
            baton_model::EventKind::StepLaunching {
                step,
                attempt,
                executor,
            } => Some((step.clone(), *attempt, executor.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(launching, [("ship".to_string(), 1, "box".to_string())]);
}

/// Which stops came from the engine's going (the simulator's
/// `a_detach_stops_no_remote_step_on_record` asks): a cancel's stop decided in the same
/// wake-up as the detach leaves its remote attempt running until its end comes in, and
/// the detach leaves it as it is; a quit stops it with the engine.
#[test]
fn a_cancel_s_stop_beside_a_detach_is_not_the_engine_s_and_a_quit_s_is() {
    let p = plan().step("a").build();
    for (stop, with_engine) in [
        (
            Input::Detach {
                reason: "detached".into(),
            },
            false,
        ),
        (
            Input::Shutdown {
                reason: "quit".into(),
            },
            true,
        ),
    ] {
        let mut sim = Sim::new(p.clone(), cfg());
        sim.job_started("a", "4242");
        let cancel = Command::Cancel {
            operator: "vera".into(),
            reason: None,
        };
        assert!(sim.cmd(cancel).is_accepted());
        assert_eq!(
            sim.state("a"),
            StepState::Running,
            "stopping, its end not in"
        );
        assert!(!sim.core.stopped_with_engine(0, 1), "the cancel's stop");
        sim.input(stop);
        assert_eq!(sim.core.stopped_with_engine(0, 1), with_engine);
        assert!(!sim.core.stopped_with_engine(0, 2), "another attempt");
    }
}

/// A local step whose process is not known yet cannot be handed over: the detach
/// stops it with the engine.
#[test]
fn a_detach_stops_with_the_engine_a_step_it_cannot_hand_over() {
    let p = plan().step("a").build();
    let mut sim = Sim::new(p, cfg());
    detach(&mut sim, 2_000);
    assert!(sim.core.stopped_with_engine(0, 1));
}

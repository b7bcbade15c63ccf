//! A run of a concurrency group (`Core::start_as`, `Input::Admitted`): queued, nothing
//! starts until admitted, and a replay or resume keeps it queued; skipped, it ends at
//! once with every step skipped.
use super::testkit::*;
use super::*;
use baton_model::EventKind;

fn queued() -> (Arc<Plan>, Core, Vec<Effect>) {
    let p = plan()
        .step("deploy")
        .step_needs("verify", &["deploy"])
        .build();
    let mut core = Core::new(p.clone(), cfg());
    let reason = "waiting for concurrency group `deploy-prod`, held by run R0".to_string();
    let fx = core.start_as(Opening::Queue { reason }, Timestamp(T0));
    (p, core, fx)
}

fn admit(core: &mut Core, at: i64) -> Vec<Effect> {
    let reason = "concurrency group `deploy-prod` is free".to_string();
    core.handle(Input::Admitted { reason }, Timestamp(T0 + at))
}

#[test]
fn a_queued_run_starts_nothing_until_admitted() {
    let (_, mut core, fx) = queued();
    assert!(spawned(&fx).is_empty(), "started {:?}", spawned(&fx));
    assert_eq!(core.run_state(), RunState::Queued);
    assert!(core.waits_for_group());
    // Time passing and other inputs do not start it either.
    let fx = core.handle(Input::Tick, Timestamp(T0 + 60_000));
    assert!(spawned(&fx).is_empty());
    assert_eq!(core.run_state(), RunState::Queued);
    let fx = admit(&mut core, 61_000);
    assert_eq!(spawned(&fx), vec!["deploy".to_string()]);
    assert_eq!(core.run_state(), RunState::Running);
    assert!(!core.waits_for_group());
    // A second admission changes nothing.
    assert!(persisted(&admit(&mut core, 62_000)).is_empty());
}

#[test]
fn a_queued_run_replays_and_resumes_queued() {
    let (p, core, _) = queued();
    let events = core.events().to_vec();
    let mut again = Core::replay(p.clone(), cfg(), &events).expect("replay");
    assert_eq!(again.run_state(), RunState::Queued);
    assert!(again.waits_for_group());
    // Its engine died while it waited: resumed, it waits again and starts nothing.
    let fx = again.resume("olivia", Timestamp(T0 + 1000));
    assert!(spawned(&fx).is_empty(), "started {:?}", spawned(&fx));
    assert_eq!(again.run_state(), RunState::Queued);
    // An engine stopped by a signal records `interrupted`: still queued underneath.
    let fx = again.handle(
        Input::Shutdown {
            reason: "signal".into(),
        },
        Timestamp(T0 + 2000),
    );
    assert!(spawned(&fx).is_empty());
    let events = again.events().to_vec();
    let mut third = Core::replay(p, cfg(), &events).expect("replay");
    third.resume("olivia", Timestamp(T0 + 3000));
    assert_eq!(third.run_state(), RunState::Queued);
    assert_eq!(
        spawned(&admit(&mut third, 4000)),
        vec!["deploy".to_string()]
    );
}

#[test]
fn a_queued_run_can_be_cancelled() {
    let (_, mut core, _) = queued();
    let fx = core.handle(
        Input::Command {
            id: None,
            command: Command::Cancel {
                operator: "olivia".into(),
                reason: Some("not today".into()),
            },
        },
        Timestamp(T0 + 10),
    );
    assert!(spawned(&fx).is_empty());
    assert_eq!(core.run_state(), RunState::Cancelled);
    assert!(!core.waits_for_group());
    assert!(core.is_finished());
}

/// Issue 61 (the chaos campaign's seed 105): a run a newer one replaced in line ends
/// itself, cancelled under `engine` with the reason, whether or not the replacing
/// run's cancel reached it; a replay keeps it ended, and a second notice changes
/// nothing.
#[test]
fn a_replaced_run_ends_itself_cancelled_on_record() {
    let (p, mut core, _) = queued();
    let replaced = |core: &mut Core, at: i64| {
        let group = "deploy-prod".to_string();
        core.handle(Input::Replaced { group }, Timestamp(T0 + at))
    };
    let fx = replaced(&mut core, 10);
    assert!(spawned(&fx).is_empty());
    assert_eq!(core.run_state(), RunState::Cancelled);
    assert!(core.is_finished());
    assert!(!core.waits_for_group());
    assert!(core.steps.iter().all(|s| s.state == StepState::Cancelled));
    let kinds = persisted(&fx);
    assert!(
        kinds.iter().any(|k| matches!(
            k,
            EventKind::CancelRequested { actor, reason: Some(r) }
                if actor == "engine" && r.contains("replaced in concurrency group `deploy-prod`")
        )),
        "{kinds:?}"
    );
    assert!(persisted(&replaced(&mut core, 20)).is_empty());
    let again = Core::replay(p, cfg(), core.events()).expect("replay");
    assert_eq!(again.run_state(), RunState::Cancelled);
    assert!(!again.waits_for_group());
}

/// Only a run that waits for its group ends so: a running one (it held the group,
/// so no newer run replaced it) is left alone.
#[test]
fn a_running_run_ignores_a_replaced_notice() {
    let (_, mut core, _) = queued();
    admit(&mut core, 10);
    let fx = core.handle(
        Input::Replaced {
            group: "deploy-prod".into(),
        },
        Timestamp(T0 + 20),
    );
    assert!(persisted(&fx).is_empty());
    assert_eq!(core.run_state(), RunState::Running);
}

#[test]
fn a_skipped_run_ends_at_once_with_every_step_skipped() {
    let p = plan()
        .step("deploy")
        .step_needs("verify", &["deploy"])
        .build();
    let mut core = Core::new(p, cfg());
    let reason = "concurrency group `deploy-prod` is held by run R0".to_string();
    let fx = core.start_as(
        Opening::Skip {
            reason: reason.clone(),
        },
        Timestamp(T0),
    );
    assert!(spawned(&fx).is_empty());
    assert_eq!(core.run_state(), RunState::Skipped);
    assert!(core.is_finished());
    assert_eq!(core.steps[0].state, StepState::Skipped);
    assert_eq!(core.steps[1].state, StepState::Skipped);
    let kinds = persisted(&fx);
    assert!(matches!(kinds.first(), Some(EventKind::RunStarted { .. })));
    assert!(kinds.iter().any(|k| matches!(
        k,
        EventKind::RunFinished {
            state: RunState::Skipped,
            ..
        }
    )));
    assert!(kinds.iter().any(|k| matches!(
        k,
        EventKind::RunStateChanged { state: RunState::Skipped, reason: Some(r) } if *r == reason
    )));
    assert_eq!(
        RunState::Skipped.exit_code(),
        baton_model::state::SKIPPED_EXIT
    );
}

#[test]
fn opening_to_run_is_the_plain_start() {
    let p = plan().step("deploy").build();
    let mut a = Core::new(p.clone(), cfg());
    let mut b = Core::new(p, cfg());
    let fa = a.start(Timestamp(T0));
    let fb = b.start_as(Opening::Run, Timestamp(T0));
    assert_eq!(fa, fb);
}

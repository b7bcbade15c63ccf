use super::*;
use crate::command::{HandedIn, Waited, await_taken, hand_in};
use crate::prepare::{NewRunSpec, load_new};
use baton_model::CommandOutcome;
use std::path::Path;
use std::time::Instant;

const WORKFLOW: &str = r#"
name = "deploy"
concurrency = { group = "deploy", on_conflict = "cancel_running" }
[[step]]
id = "work"
run = "true"
"#;

/// A store holding run `A` of a `cancel_running` group (its lease this process's, a
/// live engine), and a newer run of the group admitted: what it asks, not handed in.
fn holder_and_newcomer(dir: &Path) -> (Store, String, Admitting) {
    let wf = dir.join("deploy.toml");
    std::fs::write(&wf, WORKFLOW).unwrap();
    let mut store = Store::open(&dir.join("baton.db")).unwrap();
    let spec = || NewRunSpec {
        workflow: wf.clone(),
        operator: "alice".into(),
        ..Default::default()
    };
    let holder = crate::lease_holder();
    let first = admit(&mut store, load_new(spec()).unwrap(), &holder, None).unwrap();
    assert!(first.asks.is_empty(), "the group was free");
    let a = first.made.ready.run_id;
    let newcomer = admit(&mut store, load_new(spec()).unwrap(), &holder, None).unwrap();
    (store, a, newcomer)
}

/// The engine driving `run` (another connection): answers the first command handed
/// to it, once it is there. Its id and the command.
fn answer(db: &Path, run: &str, outcome: &CommandOutcome) -> (i64, Command) {
    let mut engine = Store::open(db).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(c) = engine.claim_commands(run).unwrap().pop() {
            engine.complete_command(c.id, outcome).unwrap();
            return (c.id, c.command);
        }
        assert!(Instant::now() < deadline, "no command came for {run}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// What `create` decides is `admit`'s, whoever waits: the holder's cancel answered
/// later (as the simulator's engines answer it, on their own schedule) gives the
/// newcomer the outcome `create`'s wait on the real clock gives it.
#[test]
fn a_cancel_answered_later_is_the_outcome_of_the_real_wait() {
    let accepted = CommandOutcome::Accepted {
        message: "cancelling".into(),
    };
    let wait = SUPERSEDE_WAIT;
    // Delivered later: the row handed in, nothing waits; the answer comes afterwards.
    let dir = tempfile::tempdir().unwrap();
    let (mut store, a, newcomer) = holder_and_newcomer(dir.path());
    let b = newcomer.made.ready.run_id.clone();
    let held = Admission::Superseding { holder: a.clone() };
    assert_eq!(newcomer.made.admitted.as_ref().map(|(_, s)| s), Some(&held));
    let [(to, cancel)] = &newcomer.asks[..] else {
        panic!("one cancel asked: {:?}", newcomer.asks);
    };
    assert_eq!(to, &a);
    let reason = format!("superseded by {b}");
    assert!(
        matches!(cancel, Command::Cancel { operator, reason: Some(r) } if operator == "alice" && *r == reason),
        "{cancel:?}"
    );
    let id = hand_in(&mut store, to, cancel, wait, None).unwrap();
    assert_eq!(store.command_outcome(id).unwrap(), None, "not answered yet");
    let (answered, taken) = answer(store.path(), &a, &accepted);
    assert_eq!((answered, &taken), (id, cancel));
    let later = await_taken(&mut store, to, id, wait).unwrap();
    assert_eq!(later, Waited::Verdict(accepted.clone()));

    // The real wait: `follow_through` waits while the engine answers on its thread.
    let dir2 = tempfile::tempdir().unwrap();
    let (mut store2, a2, newcomer2) = holder_and_newcomer(dir2.path());
    let db2 = store2.path().to_path_buf();
    let outcome = accepted.clone();
    let engine = std::thread::spawn(move || answer(&db2, &a2, &outcome));
    let Admitting { made, asks, .. } = newcomer2;
    let asked = asks.clone();
    follow_through(&mut store2, asks).unwrap();
    let (id2, taken2) = engine.join().unwrap();
    assert_eq!(store2.command_outcome(id2).unwrap(), Some(accepted));
    assert_eq!(asked[0].1, taken2, "the same cancel handed in");
    // Both newcomers wait queued, first in line, for the holder's end.
    for (s, run) in [(&store, &b), (&store2, &made.ready.run_id)] {
        assert_eq!(s.run(run).unwrap().state, RunState::Queued, "{run}");
    }
}

/// A cancel asked of a run no engine drives is recorded for its next engine by the one
/// decision `baton run` (`follow_through`) and the simulator (`hand_in_ask`) both make;
/// asked of a driven run, it is a row for that run's live engine.
#[test]
fn an_asked_cancel_goes_to_the_live_engine_or_is_recorded_for_the_next() {
    let accepted = CommandOutcome::Accepted {
        message: "cancelling".into(),
    };
    let dir = tempfile::tempdir().unwrap();
    let (mut store, a, newcomer) = holder_and_newcomer(dir.path());
    let [(to, cancel)] = &newcomer.asks[..] else {
        panic!("one cancel asked: {:?}", newcomer.asks);
    };
    let holder = crate::lease_holder();
    let driven = hand_in_ask(&mut store, to, cancel).unwrap();
    let Some(HandedIn::ForEngine { holder: h, id }) = driven else {
        panic!("a row for the live engine: {driven:?}");
    };
    assert_eq!(h, holder);
    assert_eq!(answer(store.path(), &a, &accepted), (id, cancel.clone()));

    // The holder's engine gone: recorded for the next, by both callers alike.
    store.release_lease(&a, &holder).unwrap();
    let undriven = hand_in_ask(&mut store, to, cancel).unwrap();
    let Some(HandedIn::Recorded { id }) = undriven else {
        panic!("recorded for the next engine: {undriven:?}");
    };
    assert_eq!(
        store.command_outcome(id).unwrap(),
        None,
        "nothing answered it"
    );
    assert_eq!(answer(store.path(), &a, &accepted), (id, cancel.clone()));

    let dir2 = tempfile::tempdir().unwrap();
    let (mut store2, a2, newcomer2) = holder_and_newcomer(dir2.path());
    store2.release_lease(&a2, &holder).unwrap();
    let started = Instant::now();
    follow_through(&mut store2, newcomer2.asks.clone()).unwrap();
    assert!(started.elapsed() < SUPERSEDE_WAIT, "no engine to wait for");
    let (id2, taken) = answer(store2.path(), &a2, &accepted);
    assert_eq!(store2.command_outcome(id2).unwrap(), Some(accepted));
    assert_eq!(taken, newcomer2.asks[0].1, "the same cancel recorded");
}

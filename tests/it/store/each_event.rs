//! Issue 29 point 5: a run's history is folded as the store reads it
//! (`Store::each_event`), never held whole; with a key configured each event is checked
//! before the reader sees it, and a broken history says so before anything the reader
//! made of it.

use crate::helpers::{Script, db, raw, store_with_run};
use baton::model::{RunState, StepState};
use baton::store::{AuditKeys, Store, StoreError};

fn keys() -> AuditKeys {
    AuditKeys::from_vars(|n| match n {
        "BATON_AUDIT_KEY" => Some("the-operators-audit-key".into()),
        "BATON_AUDIT_KEY_ID" => Some("k1".into()),
        _ => None,
    })
}

/// Run R1 of ten events (a step, a gate approved, the end), with the key or without.
fn store(keyed: bool) -> (crate::helpers::Db, Store) {
    let db = db();
    let mut s = store_with_run(&db, "R1");
    if keyed {
        s.set_audit_keys(keys());
    }
    let mut sc = Script::new("R1");
    sc.started()
        .ok_step("build")
        .gate_opened("deploy", "d1", &[])
        .state("deploy", StepState::WaitingApproval, 0);
    s.commit("R1", &sc.take()).unwrap();
    sc.approved("deploy", "bob", "looks right", "d1")
        .run_finished(RunState::Succeeded);
    s.commit("R1", &sc.take()).unwrap();
    (db, s)
}

#[test]
fn each_event_hands_the_history_in_order_as_events_after_reads_it() {
    for keyed in [false, true] {
        let (_db, s) = store(keyed);
        let all = s.events("R1").unwrap();
        assert!(all.len() > 5, "{all:?}");
        let mut seen = Vec::new();
        let folded = s
            .each_event("R1", 0, |ev| {
                seen.push(ev);
                Ok::<_, ()>(())
            })
            .unwrap();
        assert_eq!(folded, Ok(()));
        assert_eq!(seen, all, "keyed: {keyed}");
        // From a follower's place on.
        let mut later = Vec::new();
        s.each_event("R1", 3, |ev| {
            later.push(ev.seq);
            Ok::<_, ()>(())
        })
        .unwrap()
        .unwrap();
        let expected: Vec<u64> = (4..=all.len() as u64).collect();
        assert_eq!(later, expected, "keyed: {keyed}");
    }
}

#[test]
fn the_readers_first_error_stops_the_events_it_is_handed_and_comes_back() {
    for keyed in [false, true] {
        let (_db, s) = store(keyed);
        let mut handed = 0;
        let folded = s
            .each_event("R1", 0, |ev| {
                handed += 1;
                if ev.seq == 3 { Err(ev.seq) } else { Ok(()) }
            })
            .unwrap();
        assert_eq!(folded, Err(3), "keyed: {keyed}");
        assert_eq!(handed, 3, "keyed: {keyed}");
    }
}

#[test]
fn a_broken_history_is_named_before_what_the_reader_made_of_it() {
    let (db, s) = store(true);
    let c = raw(&db);
    for t in ["events_no_update", "events_no_delete"] {
        c.execute(&format!("DROP TRIGGER IF EXISTS {t}"), [])
            .unwrap();
    }
    c.execute(
        "UPDATE events SET json = replace(json, '\"bob\"', '\"mallory\"') WHERE run_id = 'R1' AND json LIKE '%\"bob\"%'",
        [],
    )
    .unwrap();
    let broken = match s.events("R1") {
        Err(StoreError::Tampered { seq, .. }) => seq,
        other => panic!("not refused: {other:?}"),
    };
    // Only events checked before the break reach the reader; its own error (at the
    // first event) does not hide the break.
    let mut handed = Vec::new();
    let r = s.each_event("R1", 0, |ev| {
        handed.push(ev.seq);
        Err::<(), _>("the reader's own error")
    });
    assert!(
        matches!(r, Err(StoreError::Tampered { seq, .. }) if seq == broken),
        "{r:?}"
    );
    assert_eq!(handed, vec![1]);
    let mut handed = Vec::new();
    let r = s.each_event("R1", 0, |ev| {
        handed.push(ev.seq);
        Ok::<_, ()>(())
    });
    assert!(matches!(r, Err(StoreError::Tampered { .. })), "{r:?}");
    assert!(handed.iter().all(|&seq| seq < broken), "{handed:?}");
    assert!(matches!(
        s.check_events("R1"),
        Err(StoreError::Tampered { .. })
    ));
}

//! Events held pending: on record before they fire, each fired once, a coalesced
//! burst's events all naming one run, the queue's overflow refused on record.
use super::*;
use crate::records::NewRun;

fn event(key: &str) -> TriggerEvent<'_> {
    TriggerEvent {
        file: "/w/ingest.toml",
        index: 1,
        key,
        kind: "file",
        detail: "file /in/x",
        source_run: None,
        depth: 1,
    }
}

const AT: (&str, u32) = ("/w/ingest.toml", 1);

fn over(keep: bool) -> Overflow<'static> {
    Overflow {
        workflow: "ingest",
        trigger: "1",
        delivery: None,
        keep,
    }
}

/// What a `map = { input = "file.path" }` took from event `k`.
fn picked(k: &str) -> std::collections::BTreeMap<String, String> {
    [("input".to_string(), format!("/in/{k}"))].into()
}

fn fire(s: &mut Store, keys: &[&str], run: &str) -> FiredPending {
    let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    s.fire_pending(AT, &keys, &NewRun::bare(run), ("pid 1 on h", None), |_| {
        (Vec::new(), StateSummary::default())
    })
    .unwrap()
}

#[test]
fn pending_events_survive_a_reopen_and_a_burst_makes_one_run_naming_each() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b.db");
    let mut s = Store::open(&db).unwrap();
    for k in ["file:a", "file:b", "file:c"] {
        assert!(matches!(
            s.pend_trigger_event((&event(k), &picked(k)), 10, over(true))
                .unwrap(),
            Pended::Pending
        ));
    }
    // Seen again while pending: the same event, nothing new.
    assert!(matches!(
        s.pend_trigger_event((&event("file:a"), &picked("x")), 10, over(true))
            .unwrap(),
        Pended::Already(_)
    ));
    // A serve killed here: the next one (a new connection) finds each of them.
    drop(s);
    let mut s = Store::open(&db).unwrap();
    let pending = s.pending_trigger_events(AT.0, AT.1).unwrap();
    let keys: Vec<&str> = pending.iter().map(|e| e.row.key.as_str()).collect();
    assert_eq!(keys, ["file:a", "file:b", "file:c"]);
    assert!(
        pending
            .iter()
            .all(|e| e.row.fate == PENDING && e.row.run_id.is_none())
    );
    // What each one's `map` took, kept for its run (the first seen's, not again's).
    assert_eq!(pending[0].picked, picked("file:a"));
    assert!(matches!(
        fire(&mut s, &keys, "R1"),
        FiredPending::Made { .. }
    ));
    let of_run = s.events_of_run("R1").unwrap();
    assert_eq!(of_run.len(), 3);
    assert!(of_run.iter().all(|e| e.fate == "started"));
    assert!(s.pending_trigger_events(AT.0, AT.1).unwrap().is_empty());
    // Fired again (a second serve read them before): nothing more is made.
    assert!(matches!(fire(&mut s, &keys, "R2"), FiredPending::Gone));
    assert!(s.run("R2").is_err(), "an event fired twice");
    // A pending event's key is taken: the direct path makes no run of it either.
    assert!(matches!(
        s.pend_trigger_event((&event("file:b"), &picked("x")), 10, over(true)).unwrap(),
        Pended::Already(row) if row.run_id.as_deref() == Some("R1")
    ));
}

#[test]
fn a_burst_fired_in_part_elsewhere_makes_nothing_here() {
    let (_d, mut s) = {
        let d = tempfile::tempdir().unwrap();
        let s = Store::open(&d.path().join("b.db")).unwrap();
        (d, s)
    };
    for k in ["file:a", "file:b"] {
        s.pend_trigger_event((&event(k), &picked(k)), 10, over(true))
            .unwrap();
    }
    assert!(matches!(
        fire(&mut s, &["file:a"], "R1"),
        FiredPending::Made { .. }
    ));
    // Read as [a, b] by another serve: a is gone, so nothing; b waits for its turn.
    assert!(matches!(
        fire(&mut s, &["file:a", "file:b"], "R2"),
        FiredPending::Gone
    ));
    assert!(s.run("R2").is_err());
    let left = s.pending_trigger_events(AT.0, AT.1).unwrap();
    assert_eq!(left.len(), 1);
    s.refuse_pending(AT, &["file:b".to_string()], "the trigger is paused")
        .unwrap();
    let row = s.trigger_event(AT.0, AT.1, "file:b").unwrap().unwrap();
    assert_eq!(
        (row.fate.as_str(), row.why.as_deref()),
        ("refused", Some("the trigger is paused"))
    );
}

#[test]
fn the_queue_bound_refuses_on_record_and_counts_each_refusal() {
    let d = tempfile::tempdir().unwrap();
    let mut s = Store::open(&d.path().join("b.db")).unwrap();
    for k in ["file:a", "file:b"] {
        assert!(matches!(
            s.pend_trigger_event((&event(k), &picked(k)), 2, over(true))
                .unwrap(),
            Pended::Pending
        ));
    }
    let Pended::Full { why } = s
        .pend_trigger_event((&event("file:c"), &picked("c")), 2, over(true))
        .unwrap()
    else {
        panic!("a third event was held past queue = 2");
    };
    assert!(why.contains("2 events are pending"), "{why}");
    // Kept: refused on record, never fired after.
    let row = s.trigger_event(AT.0, AT.1, "file:c").unwrap().unwrap();
    assert_eq!(row.fate, "refused");
    // Not kept (a webhook's: its sender may retry): counted, no row.
    assert!(matches!(
        s.pend_trigger_event((&event("delivery:d"), &picked("d")), 2, over(false))
            .unwrap(),
        Pended::Full { .. }
    ));
    assert!(s.trigger_event(AT.0, AT.1, "delivery:d").unwrap().is_none());
    let counts = s.delivery_refusals().unwrap();
    assert_eq!(counts.len(), 1);
    assert_eq!(
        (counts[0].reason.as_str(), counts[0].count),
        (QUEUE_FULL, 2)
    );
    assert_eq!(s.pending_trigger_events(AT.0, AT.1).unwrap().len(), 2);
}

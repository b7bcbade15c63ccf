//! Rows made stale on purpose (the run's events written, its steps' and attempts' rows
//! left where an earlier event left them, the watermark there) are read as of the last
//! event by every coordination reader, and caught up to the rows a commit of each
//! batch leaves.
use super::*;
use crate::read::project::tests::{RUN, Writer, dump, event_kind, events, open};
use proptest::prelude::*;
use rusqlite::types::Value;
use std::collections::BTreeMap;

/// The steps' and attempts' rows put back to what `evs[..k]` made of them, the
/// watermark at `k`: as a writer that projected no further leaves them.
fn make_stale(s: &Store, evs: &[Event], k: usize) {
    s.conn
        .execute_batch("DELETE FROM steps; DELETE FROM attempts")
        .unwrap();
    let p = project::fold(&[], &evs[..k]);
    project::write_steps(&s.conn, RUN, &p).unwrap();
    lag(&s.conn, RUN, k as u64).unwrap();
}

/// The steps' and attempts' rows alone.
fn rows(s: &Store) -> Vec<Vec<Value>> {
    let all = dump(s);
    [all["steps"].clone(), all["attempts"].clone()].concat()
}

/// Every step's (state, attempts) and every attempt's state, as the readers that
/// cannot write read them.
pub(crate) type Read = (
    BTreeMap<String, Option<(String, u32)>>,
    Vec<(String, u32)>,
    Vec<Option<String>>,
);

pub(crate) fn read_now(s: &Store) -> Read {
    let steps = ["a", "b", "c"]
        .iter()
        .map(|st| (st.to_string(), step_now(&s.conn, RUN, st).unwrap()))
        .collect();
    let live = steps_now_in(&s.conn, RUN, &["running", "ready"]).unwrap();
    let attempts = ["a", "b", "c"]
        .iter()
        .flat_map(|st| (0..4).map(move |a| (*st, a)))
        .map(|(st, a)| attempt_state_now(&s.conn, RUN, st, a).unwrap())
        .collect();
    (steps, live, attempts)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn stale_rows_are_read_and_caught_up_as_of_the_last_event(
        kinds in prop::collection::vec(event_kind(), 1..40),
        cut in 0..40usize,
        more in prop::collection::vec(event_kind(), 1..10),
    ) {
        let all = events(kinds.iter().cloned().chain(more.iter().cloned()).collect());
        let evs = &all[..kinds.len()];
        let k = cut.min(evs.len());
        let dir = tempfile::tempdir().unwrap();
        let mut want = open(&dir, "want.db", false);
        let mut writer = Writer::new(false);
        writer.commit(&mut want, evs, &[]);
        let mut got = open(&dir, "got.db", false);
        let mut writer_got = Writer::new(false);
        writer_got.commit(&mut got, evs, &[]);
        make_stale(&got, evs, k);
        prop_assert_eq!(watermark(&got.conn, RUN).unwrap(), Some(k as u64));
        // Read without writing, in a read snapshot, as of the last event.
        let read = crate::tx::in_read_snapshot(&got.conn, |_| Ok(read_now(&got))).unwrap();
        prop_assert_eq!(&read, &read_now(&want));
        prop_assert_eq!(
            got.step_state(RUN, "a").unwrap(),
            want.step_state(RUN, "a").unwrap()
        );
        prop_assert_eq!(
            got.attempt_state(RUN, "b", 1).unwrap(),
            want.attempt_state(RUN, "b", 1).unwrap()
        );
        // The next commit catches up first: its ended attempts are counted from the
        // rows as of the events before it, and every table ends as the reference's.
        let rest = &all[kinds.len()..];
        writer.commit(&mut want, rest, &[]);
        writer_got.commit(&mut got, rest, &[]);
        prop_assert_eq!(watermark(&got.conn, RUN).unwrap(), None);
        prop_assert_eq!(dump(&got), dump(&want));
    }
}

#[test]
fn a_lag_longer_than_a_chunk_is_caught_up_whole_and_the_watermark_goes() {
    use baton_model::{EventKind, StepState};
    let kinds: Vec<EventKind> = (1..=1_300u32)
        .map(|attempt| EventKind::StepStateChanged {
            step: ["a", "b", "c"][attempt as usize % 3].into(),
            state: [StepState::Running, StepState::Succeeded][attempt as usize % 2],
            attempt,
            reason: None,
        })
        .collect();
    let evs = events(kinds);
    let dir = tempfile::tempdir().unwrap();
    let mut want = open(&dir, "want.db", false);
    Writer::new(false).commit(&mut want, &evs, &[]);
    let got = open(&dir, "got.db", false);
    Writer::new(false).commit(&mut { got }, &evs, &[]);
    let got = Store::open(&dir.path().join("got.db")).unwrap();
    make_stale(&got, &evs, 7);
    assert_eq!(watermark(&got.conn, RUN).unwrap(), Some(7));
    assert_ne!(rows(&got), rows(&want));
    got.catch_up(RUN).unwrap();
    assert_eq!(watermark(&got.conn, RUN).unwrap(), None);
    assert_eq!(rows(&got), rows(&want));
    // Up to date: nothing to do, and no watermark made.
    let n = in_transaction(&got.conn, |tx| catch_up(tx, RUN)).unwrap();
    assert_eq!(n, 0);
    assert_eq!(watermark(&got.conn, RUN).unwrap(), None);
}

#[test]
fn the_watermark_never_passes_the_last_event() {
    use baton_model::{EventKind, StepState};
    let evs = events(vec![EventKind::StepStateChanged {
        step: "a".into(),
        state: StepState::Running,
        attempt: 1,
        reason: None,
    }]);
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(&dir, "s.db", false);
    Writer::new(false).commit(&mut s, &evs, &[]);
    // A watermark past the run's last event is refused, not taken as caught up.
    lag(&s.conn, RUN, 5).unwrap();
    let err = in_transaction(&s.conn, |tx| catch_up(tx, RUN)).unwrap_err();
    assert!(
        matches!(err, StoreError::Tampered { seq: 1, .. }),
        "{err:?}"
    );
}

/// A run of three events whose rows a member of the group store forged: the watermark
/// at `mark`, and an event row past the last one whose JSON says it is event `says`.
fn forged(dir: &tempfile::TempDir, mark: u64, says: u64) -> Store {
    use baton_model::{EventKind, StepState};
    let evs = events(
        (1..=3u32)
            .map(|attempt| EventKind::StepStateChanged {
                step: "a".into(),
                state: StepState::Running,
                attempt,
                reason: None,
            })
            .collect(),
    );
    let mut s = open(dir, "s.db", false);
    Writer::new(false).commit(&mut s, &evs, &[]);
    let json = serde_json::to_string(&Event {
        seq: says,
        ..evs[2].clone()
    })
    .unwrap();
    s.conn
        .execute(
            "INSERT INTO events (id, run_id, seq, at, type, step, json)
             SELECT id + 1, run_id, ?1, at, type, step, ?2 FROM events
             WHERE id = (SELECT max(id) FROM events)",
            params![says as i64, json],
        )
        .unwrap();
    lag(&s.conn, RUN, mark).unwrap();
    s
}

#[test]
fn a_forged_event_row_past_the_watermark_is_refused_not_looped_on() {
    // Its JSON says event 0, its row is event 4: a walk by the JSON's seq would read
    // the same row again forever, inside the write transaction.
    for mark in [0, 3] {
        let dir = tempfile::tempdir().unwrap();
        let s = forged(&dir, mark, 0);
        let err = in_transaction(&s.conn, |tx| catch_up(tx, RUN)).unwrap_err();
        assert!(
            matches!(&err, StoreError::Tampered { seq: 4, reason, .. } if reason.contains("says it is event 0")),
            "{err:?}"
        );
        // The readers that cannot write refuse it too, and so does the store's own.
        assert!(matches!(
            step_now(&s.conn, RUN, "a"),
            Err(StoreError::Tampered { seq: 4, .. })
        ));
        assert!(s.catch_up(RUN).is_err());
        // Nothing was written: the watermark stays.
        assert_eq!(watermark(&s.conn, RUN).unwrap(), Some(mark));
    }
}

#[test]
fn a_forged_negative_watermark_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = forged(&dir, 0, 4);
    s.conn
        .execute("UPDATE steps_projected SET seq = -1", [])
        .unwrap();
    let err = in_transaction(&s.conn, |tx| catch_up(tx, RUN)).unwrap_err();
    assert!(matches!(err, StoreError::Tampered { .. }), "{err:?}");
}

#[test]
fn a_forged_event_row_that_names_its_own_place_is_folded_and_the_walk_ends() {
    // The row's JSON and place agree (what `audit verify` checks is its chain): the
    // walk passes it and ends at the last row.
    let dir = tempfile::tempdir().unwrap();
    let s = forged(&dir, 1, 4);
    let n = in_transaction(&s.conn, |tx| catch_up(tx, RUN)).unwrap();
    assert_eq!(n, 3);
    assert_eq!(watermark(&s.conn, RUN).unwrap(), None);
    assert_eq!(
        step_now(&s.conn, RUN, "a").unwrap(),
        Some(("running".into(), 3))
    );
}

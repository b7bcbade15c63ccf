//! A batch's events go in by one `INSERT` for up to `EVENTS_A_STATEMENT` of them:
//! the rows are those the events make one commit each, in order.
use crate::Store;
use crate::records::NewRun;
use baton_model::{Event, EventKind, StepState, Timestamp};
use std::path::Path;

/// `n` events of R1 from seq 1, each moving a step of its own.
fn events(n: u64) -> Vec<Event> {
    (1..=n)
        .map(|seq| Event {
            seq,
            at: Timestamp(seq as i64 * 7),
            kind: EventKind::StepStateChanged {
                step: format!("s{seq}"),
                state: StepState::Queued,
                attempt: 1,
                reason: None,
            },
        })
        .collect()
}

/// A store at `db` with run R1.
fn with_run(db: &Path) -> Store {
    let mut s = Store::open(db).expect("store");
    s.create_run(&NewRun::bare("R1")).expect("a run");
    s
}

/// R1's event rows as stored, but for the head mark (only a batch's last event has one).
type Row = (
    i64,
    String,
    i64,
    i64,
    String,
    Option<String>,
    String,
    Vec<u8>,
);

fn rows(s: &Store) -> Vec<Row> {
    let mut st = s
        .conn
        .prepare("SELECT id, run_id, seq, at, type, step, json, hash FROM events WHERE run_id = 'R1' ORDER BY id")
        .expect("select");
    st.query_map([], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
            r.get(7)?,
        ))
    })
    .expect("query")
    .collect::<Result<_, _>>()
    .expect("rows")
}

#[test]
fn a_batch_s_rows_are_those_of_its_events_committed_one_by_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    // 19: two full statements and one of 3.
    let evs = events(19);
    let mut batched = with_run(&dir.path().join("a.db"));
    batched.commit("R1", &evs).expect("one batch");
    let mut single = with_run(&dir.path().join("b.db"));
    for ev in &evs {
        single
            .commit("R1", std::slice::from_ref(ev))
            .expect("one event");
    }
    let got = rows(&batched);
    assert_eq!(got.len(), 19);
    let key: i64 = batched
        .conn
        .query_row("SELECT key FROM runs WHERE id = 'R1'", [], |r| r.get(0))
        .expect("the run's key");
    for (row, ev) in got.iter().zip(&evs) {
        assert_eq!(
            row.0,
            (key << 32) + ev.seq as i64,
            "the id is the key and seq"
        );
        assert_eq!((row.2, row.3), (ev.seq as i64, ev.at.0));
    }
    assert_eq!(got, rows(&single));
    assert_eq!(batched.events("R1").expect("events"), evs);
    // The batch's last event carries the head mark, so the chain verifies and the
    // next commit links onto it.
    let marked: Vec<i64> = batched
        .conn
        .prepare("SELECT seq FROM events WHERE head_mac IS NOT NULL")
        .expect("select")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("marked");
    assert_eq!(marked, vec![19]);
    let next = Event {
        seq: 20,
        ..evs[0].clone()
    };
    batched.commit("R1", &[next]).expect("onto the batch");
    assert!(
        batched
            .verify_audit(Some("R1"))
            .expect("verify")
            .is_intact()
    );
}

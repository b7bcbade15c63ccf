//! The logs an event's row carries: written as the rows keep them, read as of the
//! run's last event, and a forged value refused saying what is wrong.
use super::super::{catch_up, lag, watermark};
use super::*;
use crate::read::project::tests::{RUN, Writer, events, open};
use crate::tx::in_transaction;
use baton_model::{Event, EventKind, StepState};

fn log(step: &str, attempt: u32, tail: &str) -> AttemptLog {
    AttemptLog {
        step_id: step.into(),
        attempt,
        path: format!("/logs/{step}.{attempt}.log").into(),
        tail: tail.into(),
    }
}

#[test]
fn a_batch_s_logs_come_back_as_its_rows_keep_them() {
    assert!(encode(&[]).unwrap().is_empty());
    let long = "x".repeat(LOG_TAIL_MAX + 10);
    let logs = [log("a", 1, "out\n"), log("b", 2, &long)];
    let [text] = &encode(&logs).unwrap()[..] else {
        panic!("two logs, one column")
    };
    let back = decode(RUN, 1, text).unwrap();
    assert_eq!(back[0], logs[0]);
    // The tail as the row keeps it: its last LOG_TAIL_MAX bytes.
    assert_eq!(back[1].tail, long[10..]);
    assert_eq!((back[1].step_id.as_str(), back[1].attempt), ("b", 2));
}

#[test]
fn a_batch_s_logs_split_over_columns_each_within_the_bound() {
    // Tails of control bytes, each escaped to six: the most a log takes.
    let worst = "\u{1}".repeat(LOG_TAIL_MAX);
    let logs: Vec<AttemptLog> = (1..=40).map(|n| log("s", n, &worst)).collect();
    let columns = encode(&logs).unwrap();
    assert!(
        columns.len() > 1 && columns.len() <= logs.len() / 2,
        "{}",
        columns.len()
    );
    let mut back = Vec::new();
    for (i, c) in columns.iter().enumerate() {
        assert!(c.len() <= COLUMN_MAX, "column {i}: {} bytes", c.len());
        back.extend(decode(RUN, i as u64 + 1, c).unwrap());
    }
    assert_eq!(back, logs);
}

#[test]
fn a_column_over_the_bound_is_refused_unparsed() {
    // Well-formed logs, more of them than any column a writer makes holds.
    let entry = "[\"a\",1,\"/l\",\"\"]";
    let many = format!("[{}]", vec![entry; COLUMN_MAX / entry.len() + 1].join(","));
    let err = decode(RUN, 3, &many).unwrap_err();
    let says = format!("are {} bytes, more than {COLUMN_MAX}", many.len());
    assert!(
        matches!(&err, StoreError::Tampered { seq: 3, reason, .. } if reason.contains(&says)),
        "{err}"
    );
    // Not JSON at all, as long: refused for its length, not parsed.
    let junk = "{".repeat(COLUMN_MAX + 1);
    let err = decode(RUN, 3, &junk).unwrap_err();
    assert!(err.to_string().contains("more than 262144"), "{err}");
    let step = format!("[[\"{}\",1,\"/l\",\"\"]]", "s".repeat(PATH_MAX + 1));
    let err = decode(RUN, 3, &step).unwrap_err();
    assert!(err.to_string().contains("a step id of 4097 bytes"), "{err}");
}

#[test]
fn a_forged_logs_value_is_refused_saying_what_is_wrong() {
    let too_long = format!("[[\"a\",1,\"/l\",\"{}\"]]", "x".repeat(LOG_TAIL_MAX + 1));
    let long_path = format!("[[\"a\",1,\"{}\",\"\"]]", "p".repeat(PATH_MAX + 1));
    let cases = [
        ("not json", "are not a list of [step, attempt, path, tail]"),
        (
            "[[\"a\",1,\"/l\"]]",
            "are not a list of [step, attempt, path, tail]",
        ),
        (
            "[[\"a\",-1,\"/l\",\"t\"]]",
            "are not a list of [step, attempt, path, tail]",
        ),
        (too_long.as_str(), "for step a attempt 1, more than"),
        (long_path.as_str(), "hold a path of 4097 bytes"),
    ];
    for (text, says) in cases {
        let err = decode(RUN, 7, text).unwrap_err();
        assert!(
            matches!(&err, StoreError::Tampered { seq: 7, reason, .. } if reason.contains(says)),
            "{text:.40}: {err}"
        );
    }
}

/// A run of one event (step `a` attempt 1 running), its rows written, then a row
/// appended past them carrying `logs`, the watermark before it: as an engine's commit
/// that deferred the rows leaves them.
fn pending(dir: &tempfile::TempDir, logs: &str) -> crate::Store {
    let evs = events(vec![EventKind::StepStateChanged {
        step: "a".into(),
        state: StepState::Running,
        attempt: 1,
        reason: None,
    }]);
    let mut s = open(dir, "s.db", false);
    Writer::new(false).commit(&mut s, &evs, &[]);
    let json = serde_json::to_string(&Event {
        seq: 2,
        ..evs[0].clone()
    })
    .unwrap();
    s.conn
        .execute(
            "INSERT INTO events (id, run_id, seq, at, type, step, json, logs)
             SELECT id + 1, run_id, 2, at, type, step, ?1, ?2 FROM events
             WHERE id = (SELECT max(id) FROM events)",
            params![json, logs],
        )
        .unwrap();
    lag(&s.conn, RUN, 1).unwrap();
    s
}

#[test]
fn logs_past_the_watermark_read_as_of_the_last_event_and_are_caught_up() {
    let dir = tempfile::tempdir().unwrap();
    let text = encode(&[log("a", 1, "done\n")]).unwrap().remove(0);
    let s = pending(&dir, &text);
    let row = |s: &crate::Store| -> Option<String> {
        s.conn
            .query_row(
                "SELECT log_tail FROM attempts WHERE run_id = ?1 AND step_id = 'a'",
                [RUN],
                |r| r.get(0),
            )
            .unwrap()
    };
    assert_eq!(row(&s), None, "the row does not hold it yet");
    let want = (
        Some("/logs/a.1.log".to_string()),
        Some("done\n".to_string()),
    );
    let now = logs_now(&s.conn, RUN, Some("a")).unwrap();
    assert_eq!(now.get(&("a".to_string(), 1)), Some(&want));
    assert_eq!(s.attempt_tails(RUN).unwrap()["a"], "done\n");
    assert_eq!(
        s.attempt_logs(RUN, "a").unwrap(),
        vec![(1, "/logs/a.1.log".into())]
    );
    assert_eq!(in_transaction(&s.conn, |tx| catch_up(tx, RUN)).unwrap(), 1);
    assert_eq!(row(&s).as_deref(), Some("done\n"));
    assert_eq!(logs_now(&s.conn, RUN, None).unwrap(), now);
}

#[test]
fn a_forged_logs_column_stops_the_readers_and_the_catch_up() {
    let dir = tempfile::tempdir().unwrap();
    let forged = format!("[[\"a\",1,\"/l\",\"{}\"]]", "x".repeat(LOG_TAIL_MAX + 1));
    let s = pending(&dir, &forged);
    let err = in_transaction(&s.conn, |tx| catch_up(tx, RUN)).unwrap_err();
    assert!(
        matches!(&err, StoreError::Tampered { seq: 2, reason, .. } if reason.contains("more than")),
        "{err}"
    );
    assert!(s.attempt_tails(RUN).is_err());
    assert!(logs_now(&s.conn, RUN, None).is_err());
    // Nothing was written: the watermark stays.
    assert_eq!(watermark(&s.conn, RUN).unwrap(), Some(1));
}

#[test]
fn a_log_for_an_attempt_the_run_never_started_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let logs = [
        log("a", 1, "real"),
        log("ghost", 3, "made up"),
        log("a", 9, "made up"),
    ];
    let s = pending(&dir, &encode(&logs).unwrap().remove(0));
    let now = logs_now(&s.conn, RUN, None).unwrap();
    let keys: Vec<_> = now.keys().cloned().collect();
    assert_eq!(keys, [("a".to_string(), 1)]);
    assert_eq!(now[&("a".to_string(), 1)].1.as_deref(), Some("real"));
    in_transaction(&s.conn, |tx| catch_up(tx, RUN)).unwrap();
    let rows: i64 = s
        .conn
        .query_row(
            "SELECT count(*) FROM attempts WHERE run_id = ?1",
            [RUN],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(rows, 1, "catch_up wrote no row for a made-up attempt");
}

#[test]
fn a_column_over_the_bound_stops_the_readers_unread() {
    let dir = tempfile::tempdir().unwrap();
    let s = pending(&dir, &"x".repeat(8 * COLUMN_MAX));
    let says = format!("are {} bytes, more than {COLUMN_MAX}", 8 * COLUMN_MAX);
    for err in [
        logs_now(&s.conn, RUN, None).unwrap_err(),
        in_transaction(&s.conn, |tx| catch_up(tx, RUN)).unwrap_err(),
    ] {
        assert!(
            matches!(&err, StoreError::Tampered { seq: 2, reason, .. } if reason.contains(&says)),
            "{err}"
        );
    }
}

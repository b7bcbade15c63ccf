//! The summary saved with each commit is the summary of a full replay of the run's
//! events, however the history was chunked into commits, whether each commit came
//! with its writer's summary (an engine's core's: the store writes it as given) or
//! from a writer without one (the store folds the run again), and whether the
//! connection was reopened between them; and it counts what the rows of the steps and
//! errors hold (the second fold it replaced).
use super::super::Store;
use super::super::project::tests::{RUN, Writer, event_kind, events, logs, open};
use super::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

/// The old fold in SQL of the steps' rows, as the summary groups them.
fn steps_in_sql(s: &Store) -> BTreeMap<(String, bool, bool), u64> {
    let mut st = s
        .conn
        .prepare(
            "SELECT state, attempts > 1, timed_out, count(*) FROM steps WHERE run_id = ?1
             GROUP BY state, attempts > 1, timed_out",
        )
        .unwrap();
    st.query_map([RUN], |r| {
        Ok((
            (r.get(0)?, r.get(1)?, r.get(2)?),
            r.get::<_, i64>(3)? as u64,
        ))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

/// The old fold in SQL of the open errors, by severity.
fn open_errors_in_sql(s: &Store) -> BTreeMap<String, u64> {
    let mut st = s
        .conn
        .prepare(
            "SELECT severity, count(*) FROM errors WHERE run_id = ?1 AND open = 1
             GROUP BY severity",
        )
        .unwrap();
    st.query_map([RUN], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn scalar(s: &Store, sql: &str) -> i64 {
    s.conn.query_row(sql, [RUN], |r| r.get(0)).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn the_saved_summary_is_a_full_replays(
        kinds in prop::collection::vec(event_kind(), 1..40),
        logs in logs(),
        chunks in prop::collection::vec((1..12usize, any::<bool>(), any::<bool>()), 1..40),
        listed in any::<bool>(),
    ) {
        let evs = events(kinds);
        let dir = tempfile::tempdir().unwrap();
        let mut s = open(&dir, "s.db", listed);
        // The writer's fold goes on across commits, as an engine's core does.
        let mut writer = Writer::new(listed);
        let mut rest = &evs[..];
        let mut first = true;
        for (n, reopen, core) in chunks.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            if *reopen {
                s = Store::open(&dir.path().join("s.db")).unwrap();
            }
            let (batch, tail) = rest.split_at((*n).min(rest.len()));
            let batch_logs: &[crate::AttemptLog] = if first { &logs } else { &[] };
            if *core {
                writer.commit(&mut s, batch, batch_logs);
            } else {
                // Without a core: the store folds the run again, from its rows.
                for l in batch_logs {
                    writer.0.log(&l.step_id, l.attempt);
                    s.set_attempt_log(RUN, &l.step_id, l.attempt, &l.path, &l.tail)
                        .unwrap();
                }
                for ev in batch {
                    writer.0.apply(ev);
                }
                s.commit(RUN, batch).unwrap();
            }
            first = false;
            rest = tail;
        }
        let saved = load(&s.conn, RUN).unwrap();
        let steps: &[&str] = if listed { &["b", "a"] } else { &[] };
        let mut replay = SummaryFold::new(steps.iter().copied());
        for l in &logs {
            replay.log(&l.step_id, l.attempt);
        }
        for ev in &evs {
            replay.apply(ev);
        }
        prop_assert_eq!(&saved, &replay.summary());
        // What the SQL folds counted from the rows, the summary counts.
        prop_assert_eq!(&saved.steps, &steps_in_sql(&s));
        prop_assert_eq!(&saved.open_errors, &open_errors_in_sql(&s));
        prop_assert_eq!(
            saved.tallies.attempts_started as i64,
            scalar(&s, "SELECT count(*) FROM attempts WHERE run_id = ?1")
        );
        prop_assert_eq!(
            saved.tallies.step_durations.sum_ms as i64,
            scalar(&s, "SELECT coalesce(sum(duration_ms), 0) FROM attempts WHERE run_id = ?1")
        );
        let waiting_in_sql = scalar(
            &s,
            "SELECT (SELECT count(*) FROM steps WHERE run_id = ?1 AND state IN
                        ('waiting_approval', 'held', 'interrupted', 'compensation_failed', 'running'))
                  + (SELECT count(*) FROM errors WHERE run_id = ?1 AND open = 1
                        AND kind = 'budget_exceeded')",
        );
        prop_assert_eq!(waiting_in_sql > 0, saved.waiting());
        let waiting = s.runs_waiting_on_someone().unwrap();
        prop_assert_eq!(waiting.contains(&RUN.to_string()), saved.waiting());
        // The migration that adds the summaries derives the same from the store.
        s.conn.execute_batch("DELETE FROM run_summaries").unwrap();
        crate::schema::backfills::summaries(&s.conn).unwrap();
        prop_assert_eq!(load(&s.conn, RUN).unwrap(), saved);
    }
}

/// A run made by `create_run` has its summary before any event: `runs` counts its
/// listed steps, pending.
#[test]
fn a_new_run_is_summarised_before_its_first_event() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir, "n.db", true);
    let saved = load(&s.conn, RUN).unwrap();
    assert_eq!(saved.count(|_| true), 2);
    assert_eq!(
        saved.tallies.steps.get("pending"),
        Some(&2),
        "{:?}",
        saved.tallies
    );
}

/// The pages the WAL at `db` holds frames of, in order (a frame: its page number, then
/// the page; the file's salts end the valid ones).
fn wal_pages(db: &std::path::Path) -> Vec<u32> {
    let wal = std::fs::read(db.with_extension("db-wal")).unwrap_or_default();
    let be = |at: usize| u32::from_be_bytes(wal[at..at + 4].try_into().unwrap());
    if wal.len() < 32 {
        return Vec::new();
    }
    let (page, salts) = (be(8) as usize, (be(16), be(20)));
    let mut pages = Vec::new();
    let mut at = 32;
    while at + 24 + page <= wal.len() && (be(at + 8), be(at + 12)) == salts {
        pages.push(be(at));
        at += 24 + page;
    }
    pages
}

/// What `pages` belong to: each table's or index's name (`dbstat`).
fn owners(s: &Store, pages: &[u32]) -> Vec<String> {
    let mut st = s
        .conn
        .prepare("SELECT name FROM dbstat WHERE pageno = ?1")
        .unwrap();
    pages
        .iter()
        .map(|p| st.query_row([p], |r| r.get(0)).unwrap_or_default())
        .collect()
}

/// A run waits while a step runs, so its flag stays the same commit after commit: a
/// commit that moves only the summary writes its row's page and no page of the flags'
/// partial indexes (the whole row written again rewrote their entries: one page more in
/// the WAL each commit); a flag that changes is written, and the row holds the summary.
#[test]
fn a_summary_whose_flags_stay_writes_no_page_of_their_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir, "w.db", true);
    let mut sum = StateSummary::default();
    sum.steps.insert(("running".into(), false, false), 1);
    assert!(sum.waiting());
    crate::tx::in_transaction(&s.conn, |tx| save(tx, RUN, &sum)).unwrap();
    let flag = |s: &Store| scalar(s, "SELECT waiting FROM run_summaries WHERE run_id = ?1");
    assert_eq!(flag(&s), 1);
    for p50 in 1..4 {
        let from = wal_pages(&s.path).len();
        sum.p50_ms = Some(p50);
        crate::tx::in_transaction(&s.conn, |tx| save(tx, RUN, &sum)).unwrap();
        let written = owners(&s, &wal_pages(&s.path)[from..]);
        assert!(written.iter().any(|n| n == "run_summaries"), "{written:?}");
        assert!(
            !written.iter().any(|n| n.starts_with("run_summaries_")),
            "a summary whose flags stay rewrote an index's page: {written:?}"
        );
        assert_eq!(load(&s.conn, RUN).unwrap(), sum);
    }
    sum.steps.clear();
    assert!(!sum.waiting());
    crate::tx::in_transaction(&s.conn, |tx| save(tx, RUN, &sum)).unwrap();
    assert_eq!(flag(&s), 0);
    assert_eq!(load(&s.conn, RUN).unwrap(), sum);
    assert!(s.runs_waiting_on_someone().unwrap().is_empty());
}

/// A step's end adds its attempt to the counts on its run's summary's row, which the
/// commit writes with the summary: a commit that only moves a run's steps writes no page of
/// `runs`, and the run's signals read the attempts it ended (the sum of the run's
/// row's counts and its summary's).
#[test]
fn a_commit_that_ends_attempts_writes_no_page_of_the_run_s_row() {
    use baton_model::{EventKind, StepState};
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(&dir, "c.db", true);
    let mut writer = Writer::new(true);
    let moved = |step: &str, state| EventKind::StepStateChanged {
        step: step.into(),
        state,
        attempt: 1,
        reason: None,
    };
    let evs = events(vec![
        moved("a", StepState::Queued),
        moved("a", StepState::Running),
        moved("b", StepState::Queued),
        moved("b", StepState::Running),
        moved("a", StepState::Succeeded),
        moved("b", StepState::Failed),
    ]);
    let counts = |s: &Store| -> (i64, i64) {
        s.conn
            .query_row(
                &format!(
                    "{} WHERE runs.id = ?1",
                    super::super::run_counts::SIGNALS_SELECT
                ),
                [RUN],
                |r| Ok((r.get(3)?, r.get(4)?)),
            )
            .unwrap()
    };
    writer.commit(&mut s, &evs[..4], &[]);
    assert_eq!(counts(&s), (0, 0));
    for (batch, want) in [(&evs[4..5], (1, 0)), (&evs[5..6], (2, 1))] {
        let from = wal_pages(&s.path).len();
        writer.commit(&mut s, batch, &[]);
        let written = owners(&s, &wal_pages(&s.path)[from..]);
        assert!(written.iter().any(|n| n == "run_summaries"), "{written:?}");
        assert!(
            !written.iter().any(|n| n == "runs"),
            "a commit that ended an attempt wrote the run's row: {written:?}"
        );
        assert_eq!(counts(&s), want);
    }
}

//! The pending patches fold as one batch of all their events and logs would.
use super::*;
use crate::read::project::fold;
use crate::read::project::tests::events;
use crate::records::AttemptLog;
use baton_model::{EventKind, StepOutcome, Usage};

fn moved(step: &str, state: StepState, attempt: u32) -> EventKind {
    EventKind::StepStateChanged {
        step: step.into(),
        state,
        attempt,
        reason: None,
    }
}

#[test]
fn patches_added_a_batch_at_a_time_are_the_fold_of_all_the_events() {
    let evs = events(vec![
        moved("a", StepState::Running, 1),
        moved("b", StepState::Running, 1),
        EventKind::StepFinished {
            step: "a".into(),
            attempt: 1,
            outcome: StepOutcome::Exited { exit_code: 0 },
            duration_ms: 7,
            outputs: Default::default(),
            usage: Usage::default(),
        },
        moved("a", StepState::Succeeded, 1),
        moved("b", StepState::Failed, 1),
        moved("b", StepState::Running, 2),
    ]);
    let log = AttemptLog {
        step_id: "a".into(),
        attempt: 1,
        path: "a.log".into(),
        tail: "out".into(),
    };
    let mut d = Deferred::default();
    assert!(d.is_empty());
    d.add(&fold(std::slice::from_ref(&log), &evs[..2]), 2);
    d.add(&fold(&[], &evs[2..5]), 3);
    assert_eq!(d.state("b"), Some(StepState::Failed));
    d.add(&fold(&[], &evs[5..]), 1);
    assert!(!d.is_empty());
    assert!(!d.due_with(0), "6 events, just now");
    let whole = fold(std::slice::from_ref(&log), &evs);
    let got = d.projection();
    assert_eq!(got.steps, whole.steps);
    assert_eq!(got.attempts, whole.attempts);
    assert_eq!(d.state("a"), Some(StepState::Succeeded));
    assert_eq!(d.state("b"), Some(StepState::Running));
    assert_eq!(d.state("c"), None);
    // A batch without events keeps no log pending: its commit writes it.
    let mut alone = Deferred::default();
    alone.add(&fold(std::slice::from_ref(&log), &[]), 0);
    assert!(alone.projection().attempts.is_empty());
}

#[test]
fn patches_are_due_at_the_most_events() {
    let evs = events(
        (1..=MOST_EVENTS as u32)
            .map(|a| moved("a", StepState::Running, a))
            .collect(),
    );
    let mut d = Deferred::default();
    d.add(&fold(&[], &evs[..MOST_EVENTS - 1]), MOST_EVENTS - 1);
    assert!(!d.due_with(0));
    d.add(&fold(&[], &evs[MOST_EVENTS - 1..]), 1);
    assert!(d.due_with(0));
}

#[test]
fn patches_are_due_after_the_longest_wait_on_the_world_s_clock() {
    use baton_model::Timestamp;
    let at = Timestamp(1_000_000);
    let longest = LONGEST.as_millis() as i64;
    assert!(!waited(at, at));
    assert!(!waited(at, Timestamp(at.0 + longest - 1)));
    assert!(waited(at, Timestamp(at.0 + longest)));
    // A clock gone back: written now rather than held for as long as it went back.
    assert!(waited(at, Timestamp(at.0 - 1)));
}

mod fenced {
    //! An engine's commits (fenced, its core's summary handed) defer the rows; every
    //! reader reads them as of the last event meanwhile, and once written they are the
    //! rows committing each batch inline leaves.
    use crate::Store;
    use crate::read::catch_up::tests::read_now as read;
    use crate::read::catch_up::watermark;
    use crate::read::project::tests::{RUN, Writer, batches, dump, event_kind, events, logs, open};
    use baton_model::state_summary::StateSummary;
    use baton_model::{LEASE_STALE, Timestamp};
    use proptest::prelude::*;

    const ME: &str = "pid 1 on engine-a";

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(150))]
        #[test]
        fn deferred_rows_read_and_end_as_the_inline_ones(
            kinds in prop::collection::vec(event_kind(), 1..60),
            chunks in prop::collection::vec(1..6usize, 1..20),
            logs in logs(),
        ) {
            let evs = events(kinds);
            let dir = tempfile::tempdir().unwrap();
            let mut want = open(&dir, "inline.db", false);
            let mut got = open(&dir, "deferred.db", false);
            got.acquire_lease(RUN, ME, Timestamp::now(), LEASE_STALE).unwrap();
            got.fence(RUN, ME, &[]);
            let (mut w_want, mut w_got) = (Writer::new(false), Writer::new(false));
            let mut so_far = 0;
            for (i, batch) in batches(&evs, &chunks).into_iter().enumerate() {
                so_far += batch.len();
                // A log a batch, on as many batches as there are logs, each of an
                // attempt the events so far start or end (a log comes with its end;
                // a reader drops one of an attempt never started: `catch_up::logs`).
                let ran = crate::read::project::fold(&[], &evs[..so_far]);
                let batch_logs: Vec<crate::records::AttemptLog> = logs
                    .get(i)
                    .filter(|l| {
                        ran.attempts.iter().any(|((s, a), ops)| {
                            (*s, *a) == (l.step_id.as_str(), l.attempt)
                                && (ops.state.is_some() || ops.finish.is_some())
                        })
                    })
                    .cloned()
                    .into_iter()
                    .collect();
                w_want.commit(&mut want, batch, &batch_logs);
                w_got.commit(&mut got, batch, &batch_logs);
                prop_assert_eq!(read(&got), read(&want));
                // An attempt's log reads as of the commit that records it.
                let logs_of = |s: &Store| {
                    let mut logs = crate::read::catch_up::logs::logs_now(&s.conn, RUN, None).unwrap();
                    logs.retain(|_, (path, _)| path.is_some());
                    logs
                };
                prop_assert_eq!(logs_of(&got), logs_of(&want));
                prop_assert_eq!(got.attempt_tails(RUN).unwrap(), want.attempt_tails(RUN).unwrap());
                // The run's summary and its attempts that ended read as of the last
                // event, whether its row waits or not.
                let runs = got.list_runs().unwrap();
                prop_assert_eq!(across(&got, &runs), across(&want, &runs));
                // Tails stay on event rows only past the watermark, never once written.
                prop_assert_eq!(carried(&want, None), 0);
                let mark = watermark(&got.conn, RUN).unwrap();
                prop_assert_eq!(carried(&got, mark), carried(&got, None));
            }
            got.release_lease(RUN, ME).unwrap();
            prop_assert_eq!(watermark(&got.conn, RUN).unwrap(), None);
            prop_assert_eq!(carried(&got, None), 0);
            prop_assert_eq!(dump(&got), dump(&want));
        }
    }

    /// What the readers across runs read of the run (`runs`, the console's list, the
    /// metrics, the inbox): its summary, its golden signals (as of a fixed time, for
    /// `runs` as listed), its fan-outs, whether something in it waits on someone.
    type Across = (
        StateSummary,
        Vec<Option<baton_model::view::GoldenSignals>>,
        Vec<(String, baton_model::fan::FanCounts)>,
        bool,
    );

    fn across(s: &Store, runs: &[baton_model::RunSummary]) -> Across {
        (
            s.run_summary(RUN).unwrap(),
            s.run_signals(runs, Timestamp(1_000_000)).unwrap(),
            s.fan_counts(RUN).unwrap(),
            s.runs_waiting_on_someone()
                .unwrap()
                .contains(&RUN.to_string()),
        )
    }

    /// The summary's row as it lies: its JSON read as a summary, and its counts.
    fn summary_row(s: &Store) -> (StateSummary, (i64, i64)) {
        s.conn
            .query_row(
                "SELECT json, attempts_finished, attempts_failed FROM run_summaries
                 WHERE run_id = ?1",
                [RUN],
                |r| {
                    let json: String = r.get(0)?;
                    Ok((serde_json::from_str(&json).unwrap(), (r.get(1)?, r.get(2)?)))
                },
            )
            .unwrap()
    }

    /// While the quick steps' rows wait on `long`, so does the run's summary's row
    /// (its last event carries the summary): every reader across runs reads what the
    /// inline store's reads, before a kill -9 (the engine's store dropped mid-run,
    /// nothing let go), after it from another connection, once that one brings the
    /// rows up, and as a next holder's commits go on to the run's end.
    #[test]
    fn a_waiting_summary_reads_as_of_the_last_event_across_a_kill() {
        const STEPS: usize = 60;
        let dir = tempfile::tempdir().unwrap();
        let (mut got, evs) = beside_a_long_step(&dir, STEPS);
        let mut want = open(&dir, "inline.db", false);
        let (mut w_got, mut w_want) = (Writer::new(false), Writer::new(false));
        let batches: Vec<&[baton_model::Event]> = std::iter::once(&evs[..1])
            .chain(evs[1..evs.len() - 1].chunks(2))
            .chain(std::iter::once(&evs[evs.len() - 1..]))
            .collect();
        let (first, rest) = batches.split_at(STEPS / 2);
        let mut lagged = 0;
        for batch in first {
            w_got.commit(&mut got, batch, &[]);
            w_want.commit(&mut want, batch, &[]);
            let runs = got.list_runs().unwrap();
            assert_eq!(across(&got, &runs), across(&want, &runs));
            if summary_row(&got).0 != got.run_summary(RUN).unwrap() {
                lagged += 1;
                assert!(watermark(&got.conn, RUN).unwrap().is_some());
            }
        }
        assert!(lagged > 0, "the summary's row was written by every commit");
        let before = across(&got, &got.list_runs().unwrap());
        drop(got); // kill -9: nothing let go, nothing caught up
        let reader = Store::open(&dir.path().join("s.db")).unwrap();
        let runs = reader.list_runs().unwrap();
        assert!(watermark(&reader.conn, RUN).unwrap().is_some());
        assert_ne!(summary_row(&reader).0, reader.run_summary(RUN).unwrap());
        assert_eq!(across(&reader, &runs), before);
        assert_eq!(across(&reader, &runs), across(&want, &runs));
        // Brought up by another connection: the row holds the summary and the counts.
        reader.catch_up(RUN).unwrap();
        assert_eq!(watermark(&reader.conn, RUN).unwrap(), None);
        assert_eq!(summary_row(&reader), summary_row(&want));
        assert_eq!(across(&reader, &runs), across(&want, &runs));
        // The next holder goes on to the end.
        let mut next = Store::open(&dir.path().join("s.db")).unwrap();
        next.fence(RUN, ME, &[]);
        for batch in rest {
            w_got.commit(&mut next, batch, &[]);
            w_want.commit(&mut want, batch, &[]);
            let runs = next.list_runs().unwrap();
            assert_eq!(across(&next, &runs), across(&want, &runs));
        }
        next.release_lease(RUN, ME).unwrap();
        assert_eq!(dump(&next), dump(&want));
    }

    /// A leased, fenced run in `dir`'s `s.db` and its events: `long` runs from the first
    /// to the last while `steps` quick steps `q0`, `q1`, … each run and succeed, so the
    /// quick steps' rows wait on `long`'s process.
    fn beside_a_long_step(
        dir: &tempfile::TempDir,
        steps: usize,
    ) -> (Store, Vec<baton_model::Event>) {
        use super::moved;
        use baton_model::StepState;
        let mut s = open(dir, "s.db", false);
        s.acquire_lease(RUN, ME, Timestamp::now(), LEASE_STALE)
            .unwrap();
        s.fence(RUN, ME, &[]);
        let mut kinds = vec![moved("long", StepState::Running, 1)];
        for i in 0..steps {
            kinds.push(moved(&format!("q{i}"), StepState::Running, 1));
            kinds.push(moved(&format!("q{i}"), StepState::Succeeded, 1));
        }
        kinds.push(moved("long", StepState::Succeeded, 1));
        (s, events(kinds))
    }

    /// How many of the run's event rows carry a log with a tail (past position
    /// `after`, if given): a carrier's entries are `[step, attempt, path, tail]`.
    fn carried(s: &Store, after: Option<u64>) -> i64 {
        carriers(
            s,
            after,
            "AND EXISTS (SELECT 1 FROM json_each(logs) WHERE value ->> 3 <> '')",
        )
    }

    /// How many of the run's event rows carry logs, with or without a tail, past
    /// `after` (if given) and matching `and`.
    fn carriers(s: &Store, after: Option<u64>, and: &str) -> i64 {
        s.conn
            .query_row(
                &format!(
                    "SELECT count(*) FROM events WHERE run_id = ?1 AND seq > ?2
                     AND logs IS NOT NULL {and}"
                ),
                rusqlite::params![RUN, after.map_or(-1, |m| m as i64)],
                |r| r.get(0),
            )
            .unwrap()
    }

    #[test]
    fn logs_without_a_tail_stay_on_their_events_and_their_rows_read_the_same() {
        use crate::records::AttemptLog;
        const STEPS: usize = 300;
        let dir = tempfile::tempdir().unwrap();
        let (mut s, evs) = beside_a_long_step(&dir, STEPS);
        let q = |i: usize| format!("q{i}");
        let mut w = Writer::new(false);
        // `long` has a process until the last batch: the quick steps' rows wait, and
        // are written at `MOST_EVENTS`.
        w.commit(&mut s, &evs[..1], &[]);
        let path = |i: usize| format!("/logs/q{i}.1.log");
        // Every write of an event's `logs` after its insert, counted.
        s.conn
            .execute_batch(
                "CREATE TEMP TABLE emptied (n INTEGER NOT NULL); INSERT INTO emptied VALUES (0);
                 CREATE TEMP TRIGGER logs_written AFTER UPDATE OF logs ON events
                 BEGIN UPDATE emptied SET n = n + 1; END;",
            )
            .unwrap();
        for i in 0..STEPS {
            let log = AttemptLog {
                step_id: q(i),
                attempt: 1,
                path: path(i).into(),
                tail: String::new(),
            };
            w.commit(&mut s, &evs[1 + 2 * i..3 + 2 * i], &[log]);
            assert_eq!(carried(&s, None), 0, "no tail is carried");
        }
        let emptied: i64 = s
            .conn
            .query_row("SELECT n FROM temp.emptied", [], |r| r.get(0))
            .unwrap();
        assert_eq!(emptied, 0, "no event row was rewritten for its logs");
        assert!(
            carriers(&s, watermark(&s.conn, RUN).unwrap(), "") < STEPS as i64,
            "the rows were never written"
        );
        w.commit(&mut s, &evs[evs.len() - 1..], &[]);
        s.release_lease(RUN, ME).unwrap();
        assert_eq!(watermark(&s.conn, RUN).unwrap(), None);
        // Every carrier stays, each its attempt's path, which its row holds too.
        assert_eq!(carriers(&s, None, ""), STEPS as i64);
        let logs = crate::read::catch_up::logs::logs_now(&s.conn, RUN, None).unwrap();
        for i in 0..STEPS {
            let (p, tail) = s
                .conn
                .query_row(
                    "SELECT log_path, log_tail FROM attempts
                     WHERE run_id = ?1 AND step_id = ?2 AND attempt = 1",
                    [RUN, q(i).as_str()],
                    |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
                )
                .unwrap();
            assert_eq!((p.as_str(), tail.as_str()), (path(i).as_str(), ""));
            assert_eq!(
                logs.get(&(q(i), 1)).and_then(|(p, _)| p.clone()),
                Some(path(i)),
                "step {i}"
            );
        }
    }

    #[test]
    fn a_run_s_tails_are_kept_once_on_the_attempts_rows() {
        use crate::records::AttemptLog;
        const STEPS: usize = 400;
        let dir = tempfile::tempdir().unwrap();
        let (mut s, evs) = beside_a_long_step(&dir, STEPS);
        // A reader that can write, bringing the rows up mid-run (`Store::catch_up`).
        let other = Store::open(&dir.path().join("s.db")).unwrap();
        let q = |i: usize| format!("q{i}");
        let tail = |i: usize| {
            (0..40)
                .map(|n| format!("{i} line {n}\n"))
                .collect::<String>()
        };
        let mut w = Writer::new(false);
        // `long` has a process until the last batch: the quick steps' rows wait.
        w.commit(&mut s, &evs[..1], &[]);
        let (mut most, mut caught) = (0, false);
        for i in 0..STEPS {
            let log = AttemptLog {
                step_id: q(i),
                attempt: 1,
                path: format!("/logs/q{i}.1.log").into(),
                tail: tail(i),
            };
            w.commit(&mut s, &evs[1 + 2 * i..3 + 2 * i], &[log]);
            let mark = watermark(&s.conn, RUN).unwrap();
            assert_eq!(carried(&s, mark), carried(&s, None), "after step {i}");
            most = most.max(carried(&s, None));
            if !caught && i >= STEPS / 4 && mark.is_some() {
                other.catch_up(RUN).unwrap();
                assert_eq!(
                    (watermark(&s.conn, RUN).unwrap(), carried(&s, None)),
                    (None, 0)
                );
                caught = true;
            }
        }
        assert!(caught, "the rows never lagged past a quarter of the run");
        assert!(most > 1, "the tails never waited on their events ({most})");
        w.commit(&mut s, &evs[evs.len() - 1..], &[]);
        s.release_lease(RUN, ME).unwrap();
        assert_eq!(watermark(&s.conn, RUN).unwrap(), None);
        assert_eq!(carried(&s, None), 0);
        let rows: std::collections::HashMap<String, String> = s
            .conn
            .prepare(
                "SELECT step_id, log_tail FROM attempts WHERE run_id = ?1 AND log_tail IS NOT NULL",
            )
            .unwrap()
            .query_map([RUN], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let want: std::collections::HashMap<String, String> =
            (0..STEPS).map(|i| (q(i), tail(i))).collect();
        assert_eq!(rows, want);
        assert_eq!(s.attempt_tails(RUN).unwrap(), want);
    }

    #[test]
    fn a_running_step_s_rows_wait_and_its_end_writes_them() {
        use super::moved;
        use baton_model::StepState;
        let evs = events(vec![
            moved("a", StepState::Running, 1),
            moved("b", StepState::Running, 1),
            moved("b", StepState::Succeeded, 1),
            moved("a", StepState::Succeeded, 1),
        ]);
        let dir = tempfile::tempdir().unwrap();
        let mut want = open(&dir, "inline.db", false);
        let mut got = open(&dir, "deferred.db", false);
        got.acquire_lease(RUN, ME, Timestamp::now(), LEASE_STALE)
            .unwrap();
        got.fence(RUN, ME, &[]);
        let (mut w_want, mut w_got) = (Writer::new(false), Writer::new(false));
        for (i, ev) in evs.iter().enumerate() {
            if i == 2 {
                // A write outside the commits (a row rewritten as it was): what the
                // engine knew of the run is read again, its patches kept, checked
                // against the watermark (still 1 below, not caught up and set again).
                got.conn
                    .execute("UPDATE runs SET rev = rev WHERE id = ?1", [RUN])
                    .unwrap();
            }
            w_want.commit(&mut want, std::slice::from_ref(ev), &[]);
            w_got.commit(&mut got, std::slice::from_ref(ev), &[]);
            assert_eq!(read(&got), read(&want), "after event {}", i + 1);
            // A step has a process until the last: the rows wait, from event 1 (the
            // first moves the summary's flags: a step runs, the run waits, and the
            // flags' partial indexes are read as the row holds them).
            let mark = watermark(&got.conn, RUN).unwrap();
            assert_eq!(
                mark,
                (i > 0 && i + 1 < evs.len()).then_some(1),
                "after event {}",
                i + 1
            );
        }
        assert_eq!(dump(&got), dump(&want));
    }
}

//! The folded projection does not depend on how events are batched: random event
//! sequences committed in random chunks (`Store::commit_with_logs`) leave every
//! projected table as committing them one event per transaction does. A one-event
//! batch is the projection's plain meaning (each event's own upserts); this is the
//! guarantee a second, per-event copy of the projection used to give, without the copy.
use crate::{AttemptLog, NewRun, Store};
use baton_model::state_summary::SummaryFold;
use baton_model::{
    Command, ErrorKind, ErrorRecord, Event, EventKind, RunState, StepOutcome, StepState, Timestamp,
    Usage,
};
use proptest::prelude::*;
use rusqlite::types::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

pub(crate) const RUN: &str = "01jzq8k3m5n7p9r1s3t5v7x9z1";
const STEPS: [&str; 3] = ["a", "b", "c"];

fn step() -> impl Strategy<Value = String> {
    prop::sample::select(&STEPS[..]).prop_map(String::from)
}

/// Mostly the states of a plain run, so that batches often repeat a transition.
fn step_state() -> impl Strategy<Value = StepState> {
    use StepState::*;
    prop_oneof![
        3 => prop::sample::select(&[Queued, Running, Succeeded, Failed, RetryWait][..]),
        1 => prop::sample::select(StepState::ALL),
    ]
}

fn attempt() -> impl Strategy<Value = u32> {
    prop_oneof![3 => Just(1u32), 1 => 0..3u32]
}

fn run_state() -> impl Strategy<Value = RunState> {
    prop::sample::select(RunState::ALL)
}

fn outcome() -> impl Strategy<Value = StepOutcome> {
    prop_oneof![
        (0..3i32).prop_map(|exit_code| StepOutcome::Exited { exit_code }),
        (1..16i32).prop_map(|signal| StepOutcome::Signalled { signal }),
        Just(StepOutcome::TimedOut),
        Just(StepOutcome::Killed),
        Just(StepOutcome::SpawnFailed {
            message: "no such file".into()
        }),
    ]
}

fn error() -> impl Strategy<Value = ErrorRecord> {
    (
        0..4usize,
        prop::option::of(step()),
        0..3u32,
        prop::sample::select(ErrorKind::ALL),
        any::<bool>(),
    )
        .prop_map(|(id, step, attempt, kind, open)| {
            let mut b = ErrorRecord::builder(kind, format!("failure {id}")).run(RUN);
            if let Some(s) = step {
                b = b.step(s, attempt);
            }
            let mut e = b.context("exit_code", 2).build(Timestamp(7));
            e.id = format!("e{id}");
            e.open = open;
            e
        })
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        step().prop_map(|step| Command::Approve {
            step,
            operator: "bob".into(),
            reason: Some("ok".into()),
            signature: None,
            inputs: Default::default(),
        }),
        step().prop_map(|step| Command::Reject {
            step,
            operator: "bob".into(),
            reason: "no".into(),
            signature: None,
        }),
        Just(Command::RaiseBudget {
            operator: "bob".into(),
            reason: "more".into(),
            cost: Some(1.5),
            calls: None,
            tokens: None
        }),
        Just(Command::Cancel {
            operator: "bob".into(),
            reason: None
        }),
    ]
}

/// Any event the projection folds, weighted as a run writes them.
pub(crate) fn event_kind() -> impl Strategy<Value = EventKind> {
    prop_oneof![20 => step_event(), 11 => gate_or_run_event()]
}

/// A step's own events (transitions, processes, ends, errors, retries, marks).
fn step_event() -> impl Strategy<Value = EventKind> {
    prop_oneof![
        8 => (step(), step_state(), attempt(), prop::option::of(Just("why".to_string())))
            .prop_map(|(step, state, attempt, reason)| EventKind::StepStateChanged {
                step,
                state,
                attempt,
                reason
            }),
        3 => (step(), attempt(), 100..200i32)
            .prop_map(|(step, attempt, pgid)| EventKind::StepProcess { step, attempt, pgid, output: None }),
        4 => (
            step(),
            attempt(),
            outcome(),
            0..5000u64,
            prop::collection::btree_map(
                prop::sample::select(&["k1", "k2"][..]).prop_map(String::from),
                "[a-z]{0,3}",
                0..3
            ),
            (0..3u64, prop::sample::select(&[0.0, 0.25][..]))
        )
            .prop_map(|(step, attempt, outcome, duration_ms, outputs, (tokens, cost))| {
                EventKind::StepFinished {
                    step,
                    attempt,
                    outcome,
                    duration_ms,
                    outputs,
                    usage: Usage {
                        cost,
                        tokens,
                        calls: 1,
                    },
                }
            }),
        2 => error().prop_map(|error| EventKind::ErrorRecorded { error }),
        1 => (step(), prop::collection::vec((0..5usize).prop_map(|i| format!("e{i}")), 0..3))
            .prop_map(|(step, ids)| EventKind::ErrorsClosed { step, ids }),
        1 => step().prop_map(|step| EventKind::StepRetried {
            step,
            actor: "bob".into(),
            rearmed: vec![],
            batch: false,
        }),
        1 => (step(), step_state()).prop_map(|(step, state)| EventKind::StepMarked {
            step,
            state,
            actor: "bob".into(),
            reason: "by hand".into(),
            outputs: Default::default()
        }),
    ]
}

/// A gate's, a retry's, a compensation's or the run's events.
fn gate_or_run_event() -> impl Strategy<Value = EventKind> {
    prop_oneof![
        1 => step().prop_map(|step| EventKind::GateOpened {
            step,
            prompt: "ship?".into(),
            deadline: Some(Timestamp(9)),
            digest: "d1".into(),
            approvers: vec!["bob".into()],
            quorum: 1,
            signed: false,
            inputs: Default::default(),
            round: None,
        }),
        1 => step().prop_map(|step| EventKind::ApprovalGiven {
            step,
            actor: "bob".into(),
            reason: None,
            digest: "d1".into(),
            signature: None,
            inputs: Default::default(),
            proposed: Default::default(),
        }),
        1 => step().prop_map(|step| EventKind::GateApproved {
            step,
            actor: "bob".into(),
            approvers: vec!["bob".into()]
        }),
        1 => (step(), any::<bool>()).prop_map(|(step, timed_out)| EventKind::GateRejected {
            step,
            actor: "bob".into(),
            reason: "no".into(),
            timed_out,
            signature: None,
        }),
        1 => step().prop_map(|step| EventKind::GateVoided {
            step,
            reason: "changed".into()
        }),
        1 => command().prop_map(|command| EventKind::CommandRefused {
            command,
            reason: "not an approver".into(),
            code: Some("not_an_approver".into())
        }),
        1 => (step(), 2..5u32).prop_map(|(step, next_attempt)| EventKind::RetryScheduled {
            step,
            next_attempt,
            due: Timestamp(1_700_000_000_000),
            repetition: None,
        }),
        // No NaN cost: JSON has no NaN (it is written as null).
        1 => (step(), any::<bool>()).prop_map(|(step, ok)| EventKind::CompensationFinished {
            step,
            ok,
            exit_code: Some(0)
        }),
        1 => Just(EventKind::RunResumed {
            operator: "bob".into(),
            auto_approve: false,
        }),
        1 => run_state().prop_map(|state| EventKind::RunStateChanged {
            state,
            reason: None
        }),
        1 => run_state().prop_map(|state| EventKind::RunFinished {
            state,
            summary: format!("run {state}"),
            dealt_with: Vec::new(),
        }),
    ]
}

pub(crate) fn logs() -> impl Strategy<Value = Vec<AttemptLog>> {
    prop::collection::vec(
        (step(), attempt(), "[a-z]{0,4}").prop_map(|(step_id, attempt, tail)| AttemptLog {
            path: PathBuf::from(format!("/logs/{step_id}.{attempt}.log")),
            step_id,
            attempt,
            tail,
        }),
        0..3,
    )
}

pub(crate) fn events(kinds: Vec<EventKind>) -> Vec<Event> {
    kinds
        .into_iter()
        .enumerate()
        .map(|(i, kind)| Event {
            seq: i as u64 + 1,
            at: Timestamp(1_700_000_000_000 + 10 * i as i64),
            kind,
        })
        .collect()
}

pub(crate) fn open(dir: &tempfile::TempDir, name: &str, listed: bool) -> Store {
    let mut s = Store::open(&dir.path().join(name)).unwrap();
    s.create_run(&NewRun {
        id: RUN.into(),
        workflow: "w".into(),
        source_path: PathBuf::from("w.toml"),
        source_text: "name = \"w\"\n".into(),
        params_json: "{}".into(),
        operator: "alice".into(),
        started_at: Timestamp(1),
        parent: None,
        steps: if listed {
            vec!["b".into(), "a".into()]
        } else {
            vec![]
        },
    })
    .unwrap();
    s
}

/// A writer as an engine is one: it folds the run's summary as its core does (the
/// same fold, fed each batch's logs and events) and hands it with each commit.
pub(crate) struct Writer(pub SummaryFold);

impl Writer {
    /// The writer of a run made by [`open`] (`listed`: its steps listed).
    pub(crate) fn new(listed: bool) -> Writer {
        let steps: &[&str] = if listed { &["b", "a"] } else { &[] };
        Writer(SummaryFold::new(steps.iter().copied()))
    }

    pub(crate) fn commit(&mut self, s: &mut Store, batch: &[Event], logs: &[AttemptLog]) {
        for l in logs {
            self.0.log(&l.step_id, l.attempt);
        }
        for ev in batch {
            self.0.apply(ev);
        }
        s.commit_with_logs(RUN, batch, logs, &self.0.summary())
            .unwrap();
    }
}

/// Every projected table, every column, in key order; but `runs.rev`, a change
/// counter that moves once per commit that changes the row, whatever the chunking.
pub(crate) fn dump(s: &Store) -> BTreeMap<&'static str, Vec<Vec<Value>>> {
    let tables = [
        ("runs", "id"),
        ("steps", "run_id, step_id"),
        ("attempts", "run_id, step_id, attempt"),
        ("errors", "run_id, id"),
        ("approvals", "id"),
        ("run_summaries", "run_id"),
    ];
    tables
        .into_iter()
        .map(|(t, key)| {
            let mut st = s
                .conn
                .prepare(&format!("SELECT * FROM {t} ORDER BY {key}"))
                .unwrap();
            let n = st.column_count();
            let cols: Vec<usize> = (0..n)
                .filter(|&i| !(t == "runs" && st.column_name(i).is_ok_and(|c| c == "rev")))
                .collect();
            let rows = st
                .query_map([], |r| cols.iter().map(|&i| r.get::<_, Value>(i)).collect())
                .unwrap()
                .collect::<Result<Vec<Vec<Value>>, _>>()
                .unwrap();
            (t, rows)
        })
        .collect()
}

/// The reference: the logs first, then each event in its own transaction.
fn reference(s: &mut Store, logs: &[AttemptLog], evs: &[Event]) {
    for log in logs {
        s.set_attempt_log(RUN, &log.step_id, log.attempt, &log.path, &log.tail)
            .unwrap();
    }
    for ev in evs {
        s.commit(RUN, std::slice::from_ref(ev)).unwrap();
    }
}

/// `evs` cut into batches of the sizes `chunks` gives, in turn, until none is left.
pub(crate) fn batches<'e>(evs: &'e [Event], chunks: &[usize]) -> Vec<&'e [Event]> {
    let mut out = Vec::new();
    let mut rest = evs;
    for n in chunks.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (batch, tail) = rest.split_at((*n).min(rest.len()));
        out.push(batch);
        rest = tail;
    }
    out
}

/// The attempts' logs batch `i` commits: all of them with the first, none after.
pub(crate) fn first_logs(i: usize, logs: &[AttemptLog]) -> &[AttemptLog] {
    if i == 0 { logs } else { &[] }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn folded_batches_project_like_one_event_at_a_time(
        kinds in prop::collection::vec(event_kind(), 1..40),
        logs in logs(),
        chunks in prop::collection::vec(1..12usize, 1..40),
        listed in any::<bool>(),
    ) {
        let evs = events(kinds);
        let dir = tempfile::tempdir().unwrap();
        let mut want = open(&dir, "reference.db", listed);
        reference(&mut want, &logs, &evs);
        let mut got = open(&dir, "folded.db", listed);
        let mut writer = Writer::new(listed);
        for (i, batch) in batches(&evs, &chunks).into_iter().enumerate() {
            writer.commit(&mut got, batch, first_logs(i, &logs));
        }
        prop_assert_eq!(dump(&got), dump(&want));
        prop_assert_eq!(got.events(RUN).unwrap(), evs.clone());
        prop_assert_eq!(got.run(RUN).unwrap().last_seq, evs.len() as u64);
        // What the projection kept of the signals as the run went on is what the
        // migration that adds them backfills from the run's events (the attempts'
        // counts, which commits keep on the summary's row, summed onto the run's).
        got.conn
            .execute_batch(
                "UPDATE runs SET
                    attempts_finished = attempts_finished + (SELECT s.attempts_finished
                        FROM run_summaries s WHERE s.run_id = runs.id),
                    attempts_failed = attempts_failed + (SELECT s.attempts_failed
                        FROM run_summaries s WHERE s.run_id = runs.id);
                 UPDATE run_summaries SET attempts_finished = 0, attempts_failed = 0",
            )
            .unwrap();
        let kept = dump(&got);
        got.conn
            .execute_batch(
                "UPDATE runs SET began_at = NULL, ended_at = NULL, attempts_finished = 0,
                    attempts_failed = 0, p50_ms = NULL, p95_ms = NULL, queue_depth = NULL,
                    running = NULL",
            )
            .unwrap();
        crate::schema::backfills::signals(&got.conn).unwrap();
        prop_assert_eq!(dump(&got), kept.clone());
        // The metric totals kept as the run ended and went on again are those counted
        // afresh from the run's rows by the migration that adds them.
        let totals = super::super::metric_totals::totals(&got.conn).unwrap();
        got.conn
            .execute_batch("UPDATE runs SET metrics_json = NULL; DELETE FROM metric_totals")
            .unwrap();
        crate::schema::backfills::totals(&got.conn).unwrap();
        prop_assert_eq!(super::super::metric_totals::totals(&got.conn).unwrap(), totals);
        prop_assert_eq!(dump(&got), kept);
    }
}

//! The projection does not depend on how events are batched: realistic runs (retries,
//! failures and their error records, errors closed, retried and marked steps, gates,
//! outputs, skipped steps, compensation, the run's end) committed one event per
//! transaction, all in one transaction and in random chunks leave the same tables.

use crate::helpers::*;
use baton::model::{ErrorKind, EventKind, RunState, StepOutcome, StepState, Timestamp, Usage};
use proptest::prelude::*;
use rusqlite::types::Value;
use std::collections::BTreeMap;

const RUN: &str = "01jzq8k3m5n7p9r1s3t5v7x9z1";

/// One piece of a run, about one step.
#[derive(Debug, Clone, Copy)]
enum Piece {
    Ok,
    RetriedThenOk,
    FailedThenRetriedByHand,
    FailedThenMarked,
    Gate { approved: bool },
    Skipped,
    Compensated,
    Resumed,
}

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        3 => Just(Piece::Ok),
        2 => Just(Piece::RetriedThenOk),
        1 => Just(Piece::FailedThenRetriedByHand),
        1 => Just(Piece::FailedThenMarked),
        1 => any::<bool>().prop_map(|approved| Piece::Gate { approved }),
        1 => Just(Piece::Skipped),
        1 => Just(Piece::Compensated),
        1 => Just(Piece::Resumed),
    ]
}

fn process(sc: &mut Script, step: &str, attempt: u32) {
    sc.state(step, StepState::Queued, attempt)
        .state(step, StepState::Running, attempt)
        .push(EventKind::StepProcess {
            step: step.into(),
            attempt,
            pgid: 4000 + attempt as i32,
            output: None,
        });
}

fn fail(sc: &mut Script, step: &str, attempt: u32) {
    process(sc, step, attempt);
    sc.finished(step, attempt, 2, &[("partial", "yes")]).error(
        step,
        attempt,
        ErrorKind::ExitNonzero,
        "exit status 2",
    );
}

fn succeed(sc: &mut Script, step: &str, attempt: u32) {
    process(sc, step, attempt);
    sc.finished(
        step,
        attempt,
        0,
        &[("version", "1.2.3"), ("attempt", "last")],
    )
    .state(step, StepState::Succeeded, attempt);
}

fn script(pieces: &[Piece]) -> Script {
    let mut sc = Script::new(RUN);
    sc.started();
    for (i, piece) in pieces.iter().enumerate() {
        // A few steps come back in later pieces: the same rows are patched again.
        let step = format!("s{}", i % 4);
        add_piece(&mut sc, step.as_str(), piece);
    }
    sc.run_finished(RunState::Succeeded);
    sc
}

/// The events of one piece of a run, for `step`.
fn add_piece(sc: &mut Script, step: &str, piece: &Piece) {
    match *piece {
        Piece::Ok => succeed(sc, step, 1),
        Piece::RetriedThenOk => {
            fail(sc, step, 1);
            let due = Timestamp(sc.now + 100);
            sc.state(step, StepState::RetryWait, 1)
                .push(EventKind::RetryScheduled {
                    step: step.into(),
                    next_attempt: 2,
                    due,
                    repetition: None,
                });
            succeed(sc, step, 2);
            let id = format!("{step}#1:exit_nonzero");
            sc.push(EventKind::ErrorsClosed {
                step: step.into(),
                ids: vec![id],
            });
        }
        Piece::FailedThenRetriedByHand => {
            fail(sc, step, 1);
            sc.state(step, StepState::Failed, 1)
                .push(EventKind::StepRetried {
                    step: step.into(),
                    actor: "bob".into(),
                    rearmed: vec![],
                    batch: false,
                });
            succeed(sc, step, 2);
        }
        Piece::FailedThenMarked => {
            fail(sc, step, 1);
            sc.state(step, StepState::Failed, 1)
                .push(EventKind::StepMarked {
                    step: step.into(),
                    state: StepState::Succeeded,
                    actor: "bob".into(),
                    reason: "fixed by hand".into(),
                    outputs: Default::default(),
                });
        }
        Piece::Gate { approved } => gate(sc, step, approved),
        Piece::Skipped => {
            sc.push(EventKind::StepStateChanged {
                step: step.into(),
                state: StepState::Skipped,
                attempt: 0,
                reason: Some("dependency failed".into()),
            });
        }
        Piece::Compensated => {
            succeed(sc, step, 1);
            sc.state(step, StepState::Compensating, 1)
                .push(EventKind::CompensationStarted { step: step.into() })
                .push(EventKind::CompensationFinished {
                    step: step.into(),
                    ok: true,
                    exit_code: Some(0),
                })
                .state(step, StepState::Compensated, 1);
        }
        Piece::Resumed => resumed(sc, step),
    }
}

/// A gate opened, a vote refused, then approved (and the step run) or rejected.
fn gate(sc: &mut Script, step: &str, approved: bool) {
    sc.state(step, StepState::WaitingApproval, 0)
        .gate_opened(step, "abc", &["bob"])
        .vote_refused(step, "eve", "eve is not an approver");
    if approved {
        sc.approved(step, "bob", "ok", "abc");
        succeed(sc, step, 1);
    } else {
        sc.push(EventKind::GateRejected {
            step: step.into(),
            actor: "bob".into(),
            reason: "not today".into(),
            timed_out: false,
            signature: None,
        })
        .state(step, StepState::Rejected, 0)
        .error(step, 0, ErrorKind::GateRejected, "rejected by bob");
    }
}

/// The run interrupted and resumed: the step's attempt ended killed.
fn resumed(sc: &mut Script, step: &str) {
    sc.push(EventKind::RunStateChanged {
        state: RunState::Interrupted,
        reason: Some("engine stopped".into()),
    })
    .push(EventKind::RunResumed {
        operator: "alice".into(),
        auto_approve: false,
    })
    .push(EventKind::StepFinished {
        step: step.into(),
        attempt: 1,
        outcome: StepOutcome::Killed,
        duration_ms: 5,
        outputs: BTreeMap::new(),
        usage: Usage {
            cost: 0.5,
            tokens: 12,
            calls: 1,
        },
    })
    .state(step, StepState::Interrupted, 1);
}

/// Commit `events` in batches of the given sizes (cycled), into a fresh database, and
/// dump every projected table.
fn commit_in_chunks(
    events: &[baton::model::Event],
    sizes: &[usize],
) -> BTreeMap<&'static str, Vec<Vec<Value>>> {
    let db = db();
    let mut s = store_with_run(&db, RUN);
    let mut rest = events;
    for n in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (batch, tail) = rest.split_at((*n).max(1).min(rest.len()));
        s.commit(RUN, batch).unwrap();
        rest = tail;
    }
    assert_eq!(s.run(RUN).unwrap().last_seq, events.len() as u64);
    dump(&raw(&db))
}

fn dump(c: &rusqlite::Connection) -> BTreeMap<&'static str, Vec<Vec<Value>>> {
    [
        ("runs", "id"),
        ("steps", "run_id, step_id"),
        ("attempts", "run_id, step_id, attempt"),
        ("errors", "run_id, id"),
        ("approvals", "id"),
        ("events", "id"),
        // Rows' hashes cover what they record, so equal hashes mean equal decisions.
        ("audit", "id"),
    ]
    .into_iter()
    .map(|(t, key)| {
        let mut st = c
            .prepare(&format!("SELECT * FROM {t} ORDER BY {key}"))
            .unwrap();
        // `runs.rev` is the store's change number: it moves once per commit, so it
        // depends on how the events were batched, not on what they decided.
        let cols: Vec<usize> = (0..st.column_count())
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

#[test]
fn a_realistic_run_projects_the_same_per_event_and_in_one_batch() {
    use Piece::*;
    let events = script(&[
        Ok,
        RetriedThenOk,
        FailedThenRetriedByHand,
        FailedThenMarked,
        Gate { approved: true },
        Gate { approved: false },
        Skipped,
        Compensated,
        Resumed,
        RetriedThenOk,
    ])
    .take();
    let per_event = commit_in_chunks(&events, &[1]);
    assert_eq!(commit_in_chunks(&events, &[events.len()]), per_event);
    assert_eq!(commit_in_chunks(&events, &[5]), per_event);
    // The projection did something: every table has rows.
    for (table, rows) in &per_event {
        assert!(!rows.is_empty(), "{table} is empty");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn any_chunking_of_a_run_projects_the_same(
        pieces in prop::collection::vec(piece(), 1..12),
        sizes in prop::collection::vec(1..20usize, 1..10),
    ) {
        let events = script(&pieces).take();
        let per_event = commit_in_chunks(&events, &[1]);
        prop_assert_eq!(&commit_in_chunks(&events, &[events.len()]), &per_event);
        prop_assert_eq!(&commit_in_chunks(&events, &sizes), &per_event);
    }
}

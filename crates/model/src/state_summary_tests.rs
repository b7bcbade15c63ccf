use super::*;
use crate::{StepOutcome, Usage};

fn ev(seq: u64, kind: EventKind) -> Event {
    Event {
        seq,
        at: Timestamp(1_000 * seq as i64),
        kind,
    }
}

fn moved(seq: u64, step: &str, state: StepState, attempt: u32) -> Event {
    ev(
        seq,
        EventKind::StepStateChanged {
            step: step.into(),
            state,
            attempt,
            reason: None,
        },
    )
}

fn finished(seq: u64, step: &str, attempt: u32, ms: u64, outcome: StepOutcome) -> Event {
    ev(
        seq,
        EventKind::StepFinished {
            step: step.into(),
            attempt,
            outcome,
            duration_ms: ms,
            outputs: Default::default(),
            usage: Usage::default(),
        },
    )
}

fn error(seq: u64, id: &str, step: &str, kind: ErrorKind) -> Event {
    let mut e = ErrorRecord::builder(kind, "boom")
        .step(step, 1)
        .severity(Severity::High)
        .build(Timestamp(0));
    e.id = id.into();
    ev(seq, EventKind::ErrorRecorded { error: e })
}

/// A run of three steps and a fan-out of two instances: one succeeds, one fails after
/// a retry with an error, one waits at a gate that was decided once before.
fn history() -> Vec<Event> {
    use StepState::*;
    vec![
        moved(1, "build", Running, 1),
        finished(2, "build", 1, 40, StepOutcome::Exited { exit_code: 0 }),
        moved(3, "build", Succeeded, 1),
        moved(4, "test[a]", Running, 1),
        finished(5, "test[a]", 1, 100, StepOutcome::Exited { exit_code: 1 }),
        moved(6, "test[a]", RetryWait, 1),
        error(7, "e1", "test[a]", ErrorKind::ExitNonzero),
        moved(8, "test[a]", Running, 2),
        finished(9, "test[a]", 2, 300, StepOutcome::TimedOut),
        moved(10, "test[a]", Failed, 2),
        ev(
            11,
            EventKind::GateOpened {
                step: "ship".into(),
                prompt: "ship?".into(),
                deadline: None,
                digest: "d".into(),
                approvers: vec![],
                quorum: 1,
                signed: false,
                inputs: Default::default(),
                round: None,
            },
        ),
        ev(
            13,
            EventKind::GateApproved {
                step: "ship".into(),
                actor: "bob".into(),
                approvers: vec![],
            },
        ),
        moved(14, "ship", WaitingApproval, 0),
    ]
}

#[test]
fn a_history_is_counted_as_runs_and_the_metrics_read_it() {
    let f = SummaryFold::replay(["build", "ship", "test[b]"], &history());
    let s = f.summary();
    assert_eq!(s.count(|_| true), 4);
    assert_eq!(s.count(StepState::is_final), 2);
    assert!(s.waiting(), "the gate waits on someone");
    assert_eq!(s.open_errors.get("high"), Some(&1));
    assert_eq!((s.p50_ms, s.p95_ms), (Some(100), Some(300)));
    let fans = s.fan_counts();
    assert_eq!(fans.len(), 1);
    assert_eq!(fans[0].0, "test");
    assert_eq!((fans[0].1.total, fans[0].1.failed), (2, 1));
    assert_eq!(s.tallies.attempts_started, 3);
    assert_eq!(s.tallies.steps.get("failed"), Some(&1));
    assert_eq!(s.tallies.gate_waits["approved"].sum_ms, 2_000);
    assert!(s.counts().health < 100.0);
    // The failed step retried and timed out scores as such.
    assert!(s.steps.contains_key(&("failed".to_string(), true, true)));
}

#[test]
fn a_success_closes_its_steps_errors_and_a_budget_waits_until_closed() {
    let mut evs = history();
    evs.push(error(15, "b1", "build", ErrorKind::BudgetExceeded));
    let mut f = SummaryFold::replay(["build"], &evs);
    assert_eq!(f.summary().budget_open, 1);
    f.apply(&moved(16, "test[a]", StepState::Succeeded, 3));
    f.apply(&moved(17, "build", StepState::Succeeded, 1));
    let s = f.summary();
    assert_eq!(s.budget_open, 0);
    assert!(s.open_errors.is_empty(), "{:?}", s.open_errors);
    assert_eq!(s.tallies.errors.values().map(|e| e.total).sum::<u64>(), 2);
}

#[test]
fn the_summary_reads_back_as_saved() {
    let s = SummaryFold::replay(["build"], &history()).summary();
    let json = serde_json::to_string(&s).unwrap();
    assert_eq!(serde_json::from_str::<StateSummary>(&json).unwrap(), s);
}

/// Counts moved back leave no zero entries: a step that came and went equals one
/// that never moved.
#[test]
fn moving_back_leaves_the_summary_of_never_moving() {
    let mut f = SummaryFold::new(["a"]);
    let before = f.summary();
    f.apply(&moved(1, "a", StepState::Queued, 0));
    f.apply(&moved(2, "a", StepState::Pending, 0));
    assert_eq!(f.summary(), before);
}

fn mark(seq: u64, step: &str, state: StepState) -> Event {
    ev(
        seq,
        EventKind::StepMarked {
            step: step.into(),
            state,
            actor: "root".into(),
            reason: "checked".into(),
            outputs: Default::default(),
        },
    )
}

/// A failed instance marked succeeded shows the hand in the run's health and its
/// fan-out's counts, as the core's view does; a retry takes the mark away.
#[test]
fn a_mark_is_counted_while_the_step_stays_succeeded() {
    use StepState::*;
    let mut f = SummaryFold::new(["t", "t[1]", "t[2]"]);
    for e in [
        moved(1, "t[1]", Running, 1),
        moved(2, "t[1]", Succeeded, 1),
        moved(3, "t[2]", Running, 1),
        moved(4, "t[2]", Running, 2),
        moved(5, "t[2]", Failed, 2),
        mark(6, "t[2]", Succeeded),
        moved(7, "t[2]", Succeeded, 2),
        moved(8, "t", Succeeded, 0),
    ] {
        f.apply(&e);
    }
    let s = f.summary();
    assert_eq!(s.marked, 1);
    let h = s.health();
    assert_eq!((h.marked, h.score), (1, 100.0 - 100.0 / 3.0 / 2.0));
    let fans = s.fan_counts();
    assert_eq!((fans[0].1.succeeded, fans[0].1.marked), (2, 1));
    assert_eq!(fans[0].1.text(), "2/2 ✔2 (1 marked)");
    // As saved and read back.
    let json = serde_json::to_string(&s).unwrap();
    assert_eq!(serde_json::from_str::<StateSummary>(&json).unwrap(), s);
    // Retried: no longer marked; a mark that it failed is no hand on a success.
    f.apply(&moved(9, "t[2]", Queued, 3));
    assert_eq!(f.summary().marked, 0);
    f.apply(&mark(10, "t[2]", Failed));
    assert_eq!(f.summary().marked, 0);
    assert!(f.summary().fans_marked.is_empty());
}

fn dealt(seq: u64, step: &str, dealt_with: bool) -> Event {
    ev(
        seq,
        EventKind::StepDealtWith {
            step: step.into(),
            dealt_with,
        },
    )
}

/// `show`'s score of the steps `(state, dealt with)`, no error open.
fn shown(steps: &[(StepState, bool)]) -> Health {
    let scores = steps.iter().map(|&(state, dealt_with)| StepScore {
        state,
        attempts: u32::from(state != StepState::Pending),
        timed_out: false,
        dealt_with,
        marked: false,
    });
    health::compute(scores, &[])
}

/// An allowed failure (`a`, `allow_failure`) while `b` after it still runs: the
/// summary scores it dealt with as `show` does, from its `step_dealt_with`, not only
/// from the run's end; a failure no longer dealt with, or retried, counts as a failure.
#[test]
fn a_failure_dealt_with_is_scored_so_while_the_run_goes_on() {
    use StepState::*;
    let mut f = SummaryFold::new(["a", "b", "c"]);
    for e in [
        moved(1, "a", Running, 1),
        moved(2, "a", Failed, 1),
        dealt(3, "a", true),
        moved(4, "b", Running, 1),
    ] {
        f.apply(&e);
    }
    let mid = shown(&[(Failed, true), (Running, false), (Pending, false)]);
    assert_eq!(f.summary().dealt_with, 1);
    assert_eq!(f.summary().health(), mid);
    assert_ne!(
        mid,
        shown(&[(Failed, false), (Running, false), (Pending, false)])
    );
    // As saved and read back.
    let json = serde_json::to_string(&f.summary()).unwrap();
    assert_eq!(
        serde_json::from_str::<StateSummary>(&json)
            .unwrap()
            .health(),
        mid
    );
    // A handler's success undone: no longer dealt with.
    f.apply(&dealt(5, "a", false));
    assert_eq!(
        f.summary().health(),
        shown(&[(Failed, false), (Running, false), (Pending, false)])
    );
    // Dealt with again, then retried: only a failed step counts as dealt with.
    f.apply(&dealt(6, "a", true));
    f.apply(&moved(7, "a", Running, 2));
    assert_eq!(f.summary().dealt_with, 0);
    f.apply(&moved(8, "a", Failed, 2));
    assert_eq!(f.summary().dealt_with, 1);
}

/// A history written before `step_dealt_with`: its `run_finished` lists what the
/// workflow dealt with, and the summary counts those (and only those) from there until
/// the run is reopened, as the summaries it saved did.
#[test]
fn a_run_finished_lists_what_an_older_history_dealt_with() {
    use StepState::*;
    let finished = |seq, dealt_with: &[&str]| {
        ev(
            seq,
            EventKind::RunFinished {
                state: crate::RunState::Succeeded,
                summary: String::new(),
                dealt_with: dealt_with.iter().map(|s| s.to_string()).collect(),
            },
        )
    };
    let mut f = SummaryFold::new(["a", "b"]);
    for e in [
        moved(1, "a", Running, 1),
        moved(2, "a", Failed, 1),
        moved(3, "b", Running, 1),
        moved(4, "b", Failed, 1),
        finished(5, &["a", "b"]),
    ] {
        f.apply(&e);
    }
    assert_eq!(f.summary().dealt_with, 2);
    // Reopened: nothing dealt with until its next end, as its summaries were saved.
    let reopened = |seq| {
        ev(
            seq,
            EventKind::RunStateChanged {
                state: crate::RunState::Running,
                reason: None,
            },
        )
    };
    f.apply(&reopened(6));
    assert_eq!(f.summary().dealt_with, 0);
    f.apply(&finished(7, &["b"]));
    assert_eq!(f.summary().dealt_with, 1);
    assert!(!f.dealt_with("a") && f.dealt_with("b"));
    // A history that tells `step_dealt_with` keeps it while reopened, as `show` does.
    f.apply(&dealt(8, "b", true));
    f.apply(&reopened(9));
    assert_eq!(f.summary().dealt_with, 1);
}

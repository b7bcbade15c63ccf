//! architecture.md: the `steps` and `attempts` rows lag a run's events while its engine
//! defers them, and "the readers […] read them as of the run's last event, folding the
//! events after the watermark over the rows in one read snapshot, so no decision reads
//! rows behind the events". The simulator folds each run's events itself, as the
//! projection (`store::read::project`) writes them, and compares. An attempt's log
//! (`log_path`, `log_tail`) is committed with its end ([`logs_of`]), so its columns are
//! the fold of the run's ends too.
use crate::SimError;
use crate::world::World;
use baton_model::{Event, EventKind};
use baton_store::AttemptLog;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Step id to (state, attempts), as a `steps` row holds them.
type Steps = BTreeMap<String, (String, u32)>;

/// (step, attempt) to (state, run time in ms), as an `attempts` row holds them.
type Attempts = BTreeMap<(String, u32), (Option<String>, Option<i64>)>;

/// What the projection makes of a run's events: every event about a step makes its
/// row (`pending`, no attempts) if missing; a transition or a mark sets its state, a
/// transition or an end raises its attempts to the attempt's number.
fn steps_folded(events: &[Event]) -> Steps {
    let mut steps = Steps::new();
    for ev in events {
        let (step, state, attempt) = match &ev.kind {
            EventKind::StepStateChanged {
                step,
                state,
                attempt,
                ..
            } => (step, Some(state), *attempt),
            EventKind::StepFinished { step, attempt, .. } => (step, None, *attempt),
            EventKind::StepMarked { step, state, .. } => (step, Some(state), 0),
            _ => continue,
        };
        let row = (steps.entry(step.clone())).or_insert_with(|| ("pending".to_string(), 0));
        if let Some(state) = state {
            row.0 = state.as_str().to_string();
        }
        row.1 = row.1.max(attempt);
    }
    steps
}

/// The attempts' rows the projection makes of a run's events: an attempt's row from
/// its first transition once it runs (the queued and gate states precede it), its
/// state the last of them, its run time its `step_finished`'s.
fn attempts_folded(events: &[Event]) -> Attempts {
    let mut attempts = Attempts::new();
    for ev in events {
        match &ev.kind {
            EventKind::StepStateChanged {
                step,
                state,
                attempt,
                ..
            } if *attempt > 0 && !state.precedes_attempt() => {
                let row = attempts.entry((step.clone(), *attempt)).or_default();
                row.0 = Some(state.as_str().to_string());
            }
            EventKind::StepFinished {
                step,
                attempt,
                duration_ms,
                ..
            } => {
                let row = attempts.entry((step.clone(), *attempt)).or_default();
                row.1 = Some(*duration_ms as i64);
            }
            _ => {}
        }
    }
    attempts
}

/// The log a simulated attempt's end (`step_finished` event `ev`) is committed with:
/// its path and tail named after the event, so the run's events say what its attempts'
/// log columns hold.
fn log_of(ev: &Event) -> Option<AttemptLog> {
    let EventKind::StepFinished { step, attempt, .. } = &ev.kind else {
        return None;
    };
    Some(AttemptLog {
        step_id: step.clone(),
        attempt: *attempt,
        path: PathBuf::from(format!("/sim/logs/{step}.{attempt}.log")),
        tail: format!("{step} ended at event {}", ev.seq),
    })
}

/// The logs a simulated engine commits with a batch of `events`: one an attempt's end.
pub(crate) fn logs_of(events: &[Event]) -> Vec<AttemptLog> {
    events.iter().filter_map(log_of).collect()
}

/// (step, attempt) to (log path, tail), as the `attempts` rows' log columns hold them.
type Logs = BTreeMap<(String, u32), (String, String)>;

/// The log columns the run's events fold to in `w`'s store: each attempt's last end's
/// log, without its tail in a group store (which keeps none: `Store::is_shared`).
fn logs_folded(w: &World, events: &[Event]) -> Logs {
    let shared = w.ops.is_shared();
    events
        .iter()
        .filter_map(log_of)
        .map(|l| {
            let path = l.path.to_string_lossy().into_owned();
            let tail = if shared { String::new() } else { l.tail };
            ((l.step_id, l.attempt), (path, tail))
        })
        .collect()
}

/// The log columns as the readers read them (`Store::attempt_logs` and
/// `Store::attempt_tails`: `baton logs`, the console); with
/// [`crate::Bug::StepsRowsAsTheyAre`], the rows as they are.
fn logs_read(w: &World, run: &str, steps: &Steps) -> Result<Logs, SimError> {
    if w.config.bug == Some(crate::Bug::StepsRowsAsTheyAre) {
        return Ok(as_read(log_rows(&w.raw, run)?));
    }
    let tails = w.ops.attempt_tails(run)?;
    let mut out = Logs::new();
    for step in steps.keys() {
        for (attempt, path) in w.ops.attempt_logs(run, step)? {
            let path = path.to_string_lossy().into_owned();
            out.insert((step.clone(), attempt), (path, String::new()));
        }
        // The tail of the step's last attempt that has one.
        if let Some(last) = out
            .range_mut((step.clone(), 0)..=(step.clone(), u32::MAX))
            .last()
        {
            last.1.1 = tails.get(step).cloned().unwrap_or_default();
        }
    }
    Ok(out)
}

/// The run's `attempts` rows' log columns as they are.
fn log_rows(raw: &rusqlite::Connection, run: &str) -> Result<Logs, SimError> {
    let rows = raw
        .prepare_cached(
            "SELECT step_id, attempt, log_path, log_tail FROM attempts
             WHERE run_id = ?1 AND log_path IS NOT NULL",
        )?
        .query_map([run], |r| {
            Ok(((r.get(0)?, r.get(1)?), (r.get(2)?, r.get(3)?)))
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The logs as the readers see them: every attempt's path, and only each step's last
/// attempt's tail.
fn as_read(mut logs: Logs) -> Logs {
    let mut last: BTreeMap<String, u32> = BTreeMap::new();
    for (step, attempt) in logs.keys() {
        last.insert(step.clone(), *attempt);
    }
    for ((step, attempt), (_, tail)) in &mut logs {
        if last.get(step) != Some(attempt) {
            tail.clear();
        }
    }
    logs
}

/// The difference between the logs `read` and those the events fold to.
fn logs_differ(run: &str, read: &Logs, folded: &Logs) -> Option<String> {
    folded.keys().chain(read.keys()).find_map(|key| {
        let (got, want) = (read.get(key), folded.get(key));
        (got != want).then(|| {
            format!(
                "run {run} step {} attempt {} reads its log {got:?} (path, tail), its events fold to {want:?}",
                key.0, key.1
            )
        })
    })
}

/// The difference between the steps `read` and those the events fold to: a step
/// the events never touched reads as its row was made (`pending`, no attempts).
fn steps_differ(run: &str, read: &Steps, folded: &Steps) -> Option<String> {
    let made = ("pending".to_string(), 0);
    folded.keys().chain(read.keys()).find_map(|step| {
        let want = folded.get(step).unwrap_or(&made);
        let got = read.get(step);
        (got != Some(want)).then(|| {
            format!(
                "run {run} step {step} reads {got:?} (state, attempts), its events fold to {want:?}"
            )
        })
    })
}

/// The steps as the readers that decide read them: [`baton_store::Store::steps_now`], which folds
/// the events past the run's watermark over its rows; with
/// [`crate::Bug::StepsRowsAsTheyAre`], the rows as they are.
fn steps_read(w: &World, run: &str) -> Result<Steps, SimError> {
    if w.config.bug == Some(crate::Bug::StepsRowsAsTheyAre) {
        return steps_rows(&w.raw, run);
    }
    Ok(w.ops.steps_now(run)?)
}

/// The run's `steps` rows as they are.
fn steps_rows(raw: &rusqlite::Connection, run: &str) -> Result<Steps, SimError> {
    let rows = raw
        .prepare_cached("SELECT step_id, state, attempts FROM steps WHERE run_id = ?1")?
        .query_map([run], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The promise, after every action, for a run whose events `events` are: what the
/// readers read of its steps is the fold of its events, whether its engine holds its
/// rows' patches or not.
pub(crate) fn steps_read_as_their_events_folded(
    w: &World,
    run: &str,
    events: &[Event],
) -> Result<Option<String>, SimError> {
    let read = steps_read(w, run)?;
    let folded = steps_folded(events);
    if let Some(d) = steps_differ(run, &read, &folded) {
        return Ok(Some(d));
    }
    let read = logs_read(w, run, &folded)?;
    Ok(logs_differ(run, &read, &as_read(logs_folded(w, events))))
}

/// The same promise at the end, of the rows themselves: once brought up to the run's
/// events (`Store::catch_up`, a write, so only once the scenario ran), its `steps` and
/// `attempts` rows are the fold of its events.
pub(crate) fn rows_caught_up_are_the_events_folded(
    w: &World,
    run: &str,
) -> Result<Option<String>, SimError> {
    w.ops.catch_up(run)?;
    let events = w.ops.events(run)?;
    let steps = steps_rows(&w.raw, run)?;
    if let Some(d) = steps_differ(run, &steps, &steps_folded(&events)) {
        return Ok(Some(format!("caught up, {d}")));
    }
    let rows: Attempts = w
        .raw
        .prepare_cached(
            "SELECT step_id, attempt, state, duration_ms FROM attempts WHERE run_id = ?1",
        )?
        .query_map([run], |r| {
            Ok(((r.get(0)?, r.get(1)?), (r.get(2)?, r.get(3)?)))
        })?
        .collect::<Result<_, _>>()?;
    if let Some(d) = logs_differ(run, &log_rows(&w.raw, run)?, &logs_folded(w, &events)) {
        return Ok(Some(format!("caught up, {d}")));
    }
    let folded = attempts_folded(&events);
    // A row no event made is an attempt's log alone (written with the commit that
    // records it): no state, no run time.
    let none = (None, None);
    Ok(folded.keys().chain(rows.keys()).find_map(|key| {
        let want = folded.get(key).unwrap_or(&none);
        let got = rows.get(key);
        (got != Some(want)).then(|| {
            format!(
                "caught up, run {run} step {} attempt {} reads {got:?} (state, ms), its events fold to {want:?}",
                key.0, key.1
            )
        })
    }))
}

//! architecture.md: the `steps` and `attempts` rows lag a run's events while its engine
//! defers them, and "the readers […] read them as of the run's last event, folding the
//! events after the watermark over the rows in one read snapshot, so no decision reads
//! rows behind the events". The simulator folds each run's events itself, as the
//! projection (`store::read::project`) writes them, and compares.
use crate::SimError;
use crate::world::World;
use baton_model::{Event, EventKind};
use std::collections::BTreeMap;

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
    Ok(steps_differ(run, &read, &steps_folded(events)))
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

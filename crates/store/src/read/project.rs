//! Projection of events into the tables that queries across runs read (runs, steps,
//! attempts, errors, approvals): `baton runs`, metrics, `runs gc`, `audit verify`. One
//! run is read by replaying its events through the core (`session::inspect`), so only
//! what those queries need is projected. Runs inside `Store::commit`'s transaction, so
//! the tables never disagree with the event log; but an engine's commit may leave the
//! `steps` and `attempts` rows to a later one of its commits (`commit::deferred`), and
//! their readers read them as of the run's last event (`read::catch_up`).
//!
//! A batch is projected in two parts:
//! - [`fold`] (pure) folds the batch's events, and the attempts' logs recorded with it,
//!   into at most one patch per touched row of `runs`, `steps` and `attempts`; error
//!   and approval records keep their order;
//! - [`write`] writes each patch with one statement.
//!
//! The result is the same as committing the events one by one, whatever the batch:
//! the tests (`project/tests.rs`) check it on random event sequences and random
//! chunkings.
use super::AttemptLog;
use super::error::StoreError;
use crate::ledger::approvals::{self, Approval};
use baton_model::history::{self, Closes};
use baton_model::signals;
use baton_model::state_summary::StateSummary;
use baton_model::{ErrorRecord, Event, EventKind, RunState, StepOutcome, StepState, Usage};
use rusqlite::{Connection, OptionalExtension, params};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

/// What one batch does to the query tables.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Projection<'a> {
    pub run: RunPatch,
    /// In the order the batch first touched them. Every event that touches a step
    /// creates its row if missing, so the same changes apply to a new row (`pending`,
    /// no attempts, not timed out) and to an existing one.
    pub steps: Vec<(&'a str, StepOps)>,
    /// Keyed by (step, attempt), in the order the batch first touched them.
    pub attempts: Vec<((&'a str, u32), AttemptOps<'a>)>,
    /// In event order (closing and recording do not commute).
    pub errors: Vec<ErrorOp<'a>>,
    /// In event order (rows get increasing ids).
    pub approvals: Vec<Approval<'a>>,
    /// The batch records or closes errors, which the health a run's row keeps once it
    /// has ended counts (as it does the steps): see [`super::run_counts`].
    pub recount: bool,
    /// The batch's `run_labelled` changes, in order: (set, removed).
    pub labels: Vec<(&'a BTreeMap<String, String>, &'a [String])>,
}

/// Changes to the run's row.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct RunPatch {
    pub state: Option<&'static str>,
    pub finished_at: Option<i64>,
    /// What the golden signals are computed from (`model::signals::SignalFacts`): when
    /// the run started, when it finished (`Some(None)`: reopened), and the attempts
    /// that ended within the batch, (finished, failed), beside those whose step's
    /// state before the batch decides ([`StepOps::first`]).
    pub began_at: Option<i64>,
    pub ended_at: Option<Option<i64>>,
    pub attempts: (u64, u64),
    /// How many failed steps the workflow dealt with, as the run's `run_finished`
    /// says (0 again when it is reopened): the scores' `dealt_with`.
    pub dealt_with: Option<i64>,
}

/// Changes to a `steps` row, as a batch leaves them: `None` leaves the column as it was.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct StepOps {
    pub state: Option<&'static str>,
    /// `attempts` becomes at least this.
    pub attempts: u32,
    /// The latest attempt's: set when it finishes, cleared when the next one runs.
    pub timed_out: Option<bool>,
    /// The state the batch first moves the step to: whether an attempt ended there
    /// (`model::signals::attempt_end`) depends on the state the row held before.
    pub first: Option<StepState>,
}

/// Changes to an `attempts` row. Every event about an attempt creates its row, so the
/// same changes apply to an empty row and to an existing one.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct AttemptOps<'a> {
    pub state: Option<&'static str>,
    /// What `StepFinished` sets: its run time and usage.
    pub finish: Option<(i64, Usage)>,
    /// `log_path` and `log_tail`.
    pub log: Option<(Cow<'a, str>, Cow<'a, str>)>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ErrorOp<'a> {
    Record {
        seq: i64,
        error: &'a ErrorRecord,
    },
    CloseIds(&'a [String]),
    /// Close the step's open records.
    CloseStep(&'a str),
}

impl StepOps {
    /// These changes followed by `next`'s.
    pub(crate) fn then(&mut self, next: StepOps) {
        let StepOps {
            state,
            attempts,
            timed_out,
            first,
        } = next;
        self.state = state.or(self.state);
        self.attempts = self.attempts.max(attempts);
        self.timed_out = timed_out.or(self.timed_out);
        self.first = self.first.or(first);
    }
}

impl<'a> AttemptOps<'a> {
    /// These changes without the log's, borrowing nothing.
    pub(crate) fn without_log(&self) -> AttemptOps<'static> {
        AttemptOps {
            state: self.state,
            finish: self.finish,
            log: None,
        }
    }

    /// These changes, borrowing nothing.
    pub(crate) fn owned(&self) -> AttemptOps<'static> {
        let log = self.log.as_ref().map(|(path, tail)| {
            let own = |c: &Cow<'_, str>| Cow::Owned(c.to_string());
            (own(path), own(tail))
        });
        AttemptOps {
            log,
            ..self.without_log()
        }
    }

    /// These changes followed by `next`'s.
    pub(crate) fn then(&mut self, next: AttemptOps<'a>) {
        let AttemptOps { state, finish, log } = next;
        self.state = state.or(self.state);
        self.finish = finish.or(self.finish.take());
        self.log = log.or(self.log.take());
    }
}

/// What one event does to its step's row (creating it if missing), if anything.
fn step_ops(ev: &Event) -> Option<(&str, StepOps)> {
    match &ev.kind {
        EventKind::StepStateChanged {
            step,
            state,
            attempt,
            ..
        } => Some((
            step,
            StepOps {
                state: Some(state.as_str()),
                attempts: *attempt,
                timed_out: (*state == StepState::Running).then_some(false),
                first: None,
            },
        )),
        EventKind::StepFinished {
            step,
            attempt,
            outcome,
            ..
        } => Some((
            step,
            StepOps {
                state: None,
                attempts: *attempt,
                timed_out: Some(matches!(outcome, StepOutcome::TimedOut)),
                first: None,
            },
        )),
        EventKind::StepMarked { step, state, .. } => Some((
            step,
            StepOps {
                state: Some(state.as_str()),
                ..StepOps::default()
            },
        )),
        _ => None,
    }
}

/// What one event does to an attempt's row, if anything.
fn attempt_ops(ev: &Event) -> Option<((&str, u32), AttemptOps<'_>)> {
    match &ev.kind {
        // An attempt exists once it runs (queued and gate states precede it).
        EventKind::StepStateChanged {
            step,
            state,
            attempt,
            ..
        } if *attempt > 0 && !state.precedes_attempt() => Some((
            (step, *attempt),
            AttemptOps {
                state: Some(state.as_str()),
                ..AttemptOps::default()
            },
        )),
        EventKind::StepFinished {
            step,
            attempt,
            duration_ms,
            usage,
            ..
        } => Some((
            (step, *attempt),
            AttemptOps {
                finish: Some((*duration_ms as i64, *usage)),
                ..AttemptOps::default()
            },
        )),
        _ => None,
    }
}

/// The errors rows one event writes, in order, then its approvals rows
/// (`ledger::approvals`).
fn records<'a>(ev: &'a Event, errors: &mut Vec<ErrorOp<'a>>, approvals: &mut Vec<Approval<'a>>) {
    let seq = ev.seq as i64;
    if let EventKind::ErrorRecorded { error } = &ev.kind {
        errors.push(ErrorOp::Record { seq, error });
    }
    match history::errors_closed(&ev.kind) {
        Some(Closes::Ids { ids, .. }) => errors.push(ErrorOp::CloseIds(ids)),
        Some(Closes::Step(step)) => errors.push(ErrorOp::CloseStep(step)),
        None => {}
    }
    approvals::push(ev, approvals);
}

/// Fold a batch (its attempts' logs first, then its events in order) into one patch
/// per touched row. Pure.
pub(crate) fn fold<'a>(logs: &'a [AttemptLog], events: &'a [Event]) -> Projection<'a> {
    let mut p = Projection::default();
    let mut step_at: HashMap<&'a str, usize> = HashMap::new();
    // Each step's state as its row holds it after the batch's events so far.
    let mut now_in: HashMap<&'a str, StepState> = HashMap::new();
    let mut attempt_at: HashMap<(&'a str, u32), usize> = HashMap::new();
    let mut add_attempt =
        |p: &mut Projection<'a>, key: (&'a str, u32), ops: AttemptOps<'a>| match attempt_at
            .get(&key)
        {
            Some(&i) => p.attempts[i].1.then(ops),
            None => {
                attempt_at.insert(key, p.attempts.len());
                p.attempts.push((key, ops));
            }
        };
    for log in logs {
        let ops = AttemptOps {
            log: Some((
                log.path.to_string_lossy(),
                Cow::Borrowed(super::bounded_tail(&log.tail, super::LOG_TAIL_MAX)),
            )),
            ..AttemptOps::default()
        };
        add_attempt(&mut p, (log.step_id.as_str(), log.attempt), ops);
    }
    for ev in events {
        match &ev.kind {
            EventKind::RunStarted { .. } => {
                p.run.state = Some("running");
                p.run.began_at = Some(ev.at.0);
            }
            EventKind::RunResumed { .. } => p.run.state = Some("running"),
            EventKind::RunLabelled { set, removed, .. } => p.labels.push((set, removed)),
            EventKind::RunStateChanged { state, .. } => {
                p.run.state = Some(state.as_str());
                // Reopened (a retry or a mark after the run had finished).
                if matches!(state, RunState::Running | RunState::Waiting) {
                    p.run.ended_at = Some(None);
                    p.run.dealt_with = Some(0);
                }
            }
            EventKind::RunFinished {
                state, dealt_with, ..
            } => {
                p.run.dealt_with = Some(dealt_with.len() as i64);
                p.run.state = Some(state.as_str());
                p.run.finished_at = Some(ev.at.0);
                p.run.ended_at = Some(Some(ev.at.0));
            }
            _ => {}
        }
        p.recount |= matches!(ev.kind, EventKind::ErrorRecorded { .. })
            || history::errors_closed(&ev.kind).is_some();
        if let Some((step, ops)) = step_ops(ev) {
            let i = *step_at.entry(step).or_insert_with(|| {
                p.steps.push((step, StepOps::default()));
                p.steps.len() - 1
            });
            p.steps[i].1.then(ops);
            if let EventKind::StepStateChanged { state: new, .. }
            | EventKind::StepMarked { state: new, .. } = &ev.kind
            {
                match now_in.insert(step, *new) {
                    Some(old) => count_end(&mut p.run.attempts, old, *new),
                    None => p.steps[i].1.first = Some(*new),
                }
            }
        }
        if let Some((key, ops)) = attempt_ops(ev) {
            add_attempt(&mut p, key, ops);
        }
        records(ev, &mut p.errors, &mut p.approvals);
    }
    p
}

/// Count an attempt that ended in the transition `old` → `new` into (finished, failed).
pub(crate) fn count_end(into: &mut (u64, u64), old: StepState, new: StepState) {
    if let Some(failed) = signals::attempt_end(old, new) {
        into.0 += 1;
        into.1 += u64::from(failed);
    }
}

/// The attempts that ended in the batch: those within it and, for each step it
/// moves, the first move from the state `before` says the row held (`None`: no row).
pub(crate) fn ended_attempts<'a>(
    p: &Projection<'a>,
    mut before: impl FnMut(&'a str) -> Result<Option<StepState>, StoreError>,
) -> Result<(u64, u64), StoreError> {
    let mut n = p.run.attempts;
    for (step, ops) in &p.steps {
        // Only a move to an end state can end an attempt: no need to read the others.
        if let Some(new) = ops
            .first
            .filter(|&s| signals::attempt_end(StepState::Running, s).is_some())
        {
            let old = before(step)?.unwrap_or(StepState::Pending);
            count_end(&mut n, old, new);
        }
    }
    Ok(n)
}

/// The rows every step's transitions write (checked by `query_plans_tests`).
#[cfg(test)]
pub(crate) const PER_STEP_WRITES: [&str; 2] = [STEP_UPSERT, ATTEMPT_UPSERT];

/// A step's changes applied to its row, or to a new one (`pending`, no attempts, not
/// timed out). Parameters: ?1 run, ?2 step, ?3 state, ?4 attempts, ?5 timed out.
const STEP_UPSERT: &str = "INSERT INTO steps (run_id, step_id, state, attempts, timed_out)
     VALUES (?1, ?2, coalesce(?3, 'pending'), ?4, coalesce(?5, 0))
     ON CONFLICT (run_id, step_id) DO UPDATE SET
        state     = coalesce(?3, state),
        attempts  = max(attempts, ?4),
        timed_out = coalesce(?5, timed_out)";

/// Every event about an attempt creates its row: the inserted row is the changes
/// applied to an empty row, and `excluded` tells which changes there are.
const ATTEMPT_UPSERT: &str = "INSERT INTO attempts (run_id, step_id, attempt, state,
        duration_ms, cost, tokens, log_path, log_tail)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
     ON CONFLICT (run_id, step_id, attempt) DO UPDATE SET
        state        = coalesce(excluded.state, state),
        duration_ms  = CASE WHEN ?10 THEN excluded.duration_ms ELSE duration_ms END,
        cost         = CASE WHEN ?10 THEN excluded.cost ELSE cost END,
        tokens       = CASE WHEN ?10 THEN excluded.tokens ELSE tokens END,
        log_path     = CASE WHEN ?11 THEN excluded.log_path ELSE log_path END,
        log_tail     = CASE WHEN ?11 THEN excluded.log_tail ELSE log_tail END";

/// Write a folded batch but its steps' and attempts' rows ([`write_steps`], which the
/// caller writes or defers: `commit::deferred`): one statement per patched row.
/// `open`: the caller knows the run's row holds a state that is not final and no kept
/// counts (`commit::known`). Returns what it knows of that after the batch.
pub(crate) fn write(
    conn: &Connection,
    run_id: &str,
    p: &Projection<'_>,
    summary: &StateSummary,
    open: bool,
) -> Result<bool, StoreError> {
    use super::run_counts::{self, Row};
    write_run(conn, run_id, p)?;
    write_errors(conn, run_id, p)?;
    write_approvals(conn, run_id, p)?;
    write_labels(conn, run_id, p)?;
    // The run's row changed, or what it keeps of an ended run may have: its counts,
    // its share of the metric totals (attempts, gate waits too) and its place in the
    // change cursor follow.
    let (state, finished_at) = (&p.run.state, &p.run.finished_at);
    if state.is_some() || finished_at.is_some() {
        return run_counts::write(conn, run_id, Row::Moved, summary);
    }
    if p.recount || !p.steps.is_empty() || !p.attempts.is_empty() || !p.approvals.is_empty() {
        let row = if open { Row::StaysOpen } else { Row::Stays };
        return run_counts::write(conn, run_id, row, summary);
    }
    Ok(open)
}

/// The attempts of run `run_id` that `p` ends, (finished, failed), reading the steps'
/// rows as they were before the batch: called before [`write`] moves them. They are
/// counted on the run's summary row, written with the summary
/// (`summaries::save_counting`; while it waits, on the run's last event), so a commit
/// that only moves steps leaves the run's row, and its page, alone.
pub(crate) fn attempts_ended(
    conn: &Connection,
    run_id: &str,
    p: &Projection<'_>,
    (known, deferred): (
        &HashMap<String, StepState>,
        &crate::commit::deferred::Deferred,
    ),
) -> Result<(u64, u64), StoreError> {
    ended_attempts(p, |step| {
        // The state the caller's own commits left the row in, or leave it in once their
        // deferred patches are written, while nothing else wrote.
        if let Some(s) = known.get(step).copied().or_else(|| deferred.state(step)) {
            return Ok(Some(s));
        }
        Ok(conn
            .prepare_cached("SELECT state FROM steps WHERE run_id = ?1 AND step_id = ?2")?
            .query_row(params![run_id, step], |r| r.get::<_, String>(0))
            .optional()?
            .map(|s| StepState::parse(&s).unwrap_or(StepState::Interrupted)))
    })
}

/// The run's row: its state, times and dealt-with steps (its attempts' counts are on
/// its summary's row: [`attempts_ended`]).
fn write_run(conn: &Connection, run_id: &str, p: &Projection<'_>) -> Result<(), StoreError> {
    let RunPatch {
        state,
        finished_at,
        began_at,
        ended_at,
        attempts: _,
        dealt_with,
    } = &p.run;
    if state.is_some()
        || finished_at.is_some()
        || began_at.is_some()
        || ended_at.is_some()
        || dealt_with.is_some()
    {
        conn.prepare_cached(
            "UPDATE runs SET state = coalesce(?2, state),
                finished_at = coalesce(?3, finished_at),
                began_at = coalesce(?4, began_at),
                ended_at = CASE WHEN ?5 THEN ?6 ELSE ended_at END,
                dealt_with = coalesce(?7, dealt_with)
             WHERE id = ?1",
        )?
        .execute(params![
            run_id,
            state,
            finished_at,
            began_at,
            ended_at.is_some(),
            ended_at.flatten(),
            dealt_with
        ])?;
    }
    Ok(())
}

/// The run's labels on its row, after the batch's changes; its place in the change
/// cursor moves, so a reader of the run list's changes reads them.
fn write_labels(conn: &Connection, run_id: &str, p: &Projection<'_>) -> Result<(), StoreError> {
    if p.labels.is_empty() {
        return Ok(());
    }
    let old: Option<String> = conn
        .prepare_cached("SELECT labels FROM runs WHERE id = ?1")?
        .query_row([run_id], |r| r.get(0))
        .optional()?
        .flatten();
    let mut labels: BTreeMap<String, String> = old
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    for (set, removed) in &p.labels {
        for k in removed.iter() {
            labels.remove(k);
        }
        labels.extend(set.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    let text = (!labels.is_empty()).then(|| serde_json::to_string(&labels).unwrap_or_default());
    conn.prepare_cached(&format!(
        "UPDATE runs SET labels = ?2, rev = {} WHERE id = ?1",
        super::run_counts::NEXT_REV
    ))?
    .execute(params![run_id, text])?;
    Ok(())
}

/// The steps' and their attempts' rows.
pub(crate) fn write_steps(
    conn: &Connection,
    run_id: &str,
    p: &Projection<'_>,
) -> Result<(), StoreError> {
    if !p.steps.is_empty() {
        let mut upsert = conn.prepare_cached(STEP_UPSERT)?;
        for (step, ops) in &p.steps {
            upsert.execute(params![
                run_id,
                step,
                ops.state,
                ops.attempts,
                ops.timed_out
            ])?;
        }
    }
    if !p.attempts.is_empty() {
        let mut upsert = conn.prepare_cached(ATTEMPT_UPSERT)?;
        for ((step, attempt), a) in &p.attempts {
            let f = a.finish.as_ref();
            upsert.execute(params![
                run_id,
                step,
                attempt,
                a.state,
                f.map(|f| f.0),
                f.map(|f| f.1.cost),
                f.map(|f| f.1.tokens as i64),
                a.log.as_ref().map(|l| &l.0),
                a.log.as_ref().map(|l| &l.1),
                f.is_some(),
                a.log.is_some(),
            ])?;
        }
    }
    Ok(())
}

/// The errors' rows: recorded, or closed by id or by step.
fn write_errors(conn: &Connection, run_id: &str, p: &Projection<'_>) -> Result<(), StoreError> {
    for op in &p.errors {
        match op {
            ErrorOp::Record { seq, error } => {
                conn.prepare_cached(
                    "INSERT OR REPLACE INTO errors
                        (run_id, id, seq, step, attempt, kind, severity, message, open, at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )?
                .execute(params![
                    run_id,
                    error.id,
                    seq,
                    error.step,
                    error.attempt,
                    error.kind.as_str(),
                    error.severity.as_str(),
                    error.message,
                    error.open,
                    error.at.0,
                ])?;
            }
            ErrorOp::CloseIds(ids) => {
                let mut stmt = conn
                    .prepare_cached("UPDATE errors SET open = 0 WHERE run_id = ?1 AND id = ?2")?;
                for id in *ids {
                    stmt.execute(params![run_id, id])?;
                }
            }
            ErrorOp::CloseStep(step) => {
                conn.prepare_cached(
                    "UPDATE errors SET open = 0 WHERE run_id = ?1 AND step = ?2 AND open = 1",
                )?
                .execute(params![run_id, step])?;
            }
        }
    }
    Ok(())
}

/// The approvals' rows (every decision at a gate).
fn write_approvals(conn: &Connection, run_id: &str, p: &Projection<'_>) -> Result<(), StoreError> {
    if !p.approvals.is_empty() {
        let mut insert = conn.prepare_cached(
            "INSERT INTO approvals (run_id, seq, step, kind, actor, reason, digest, at, details)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        for a in &p.approvals {
            insert.execute(params![
                run_id,
                a.seq,
                a.step,
                a.kind,
                a.actor,
                a.reason,
                a.digest,
                a.at,
                a.details.to_string()
            ])?;
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests;

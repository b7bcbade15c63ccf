//! Projection of events into the queryable tables (runs, steps, attempts, outputs,
//! errors, approvals). Runs inside `Store::commit`'s transaction, so the tables never
//! disagree with the event log.
//!
//! A batch is projected in two parts:
//! - [`fold`] (pure) folds the batch's events, and the attempts' logs recorded with it,
//!   into at most one patch per touched row of `runs`, `steps`, `attempts` and
//!   `outputs`; error and approval records keep their order;
//! - [`write`] writes each patch with one statement.
//!
//! The result is the same as committing the events one by one, whatever the batch:
//! the tests (`project/tests.rs`) check it on random event sequences and random
//! chunkings.
use super::AttemptLog;
use super::error::StoreError;
use crate::model::history::{self, Closes};
use crate::model::{Command, ErrorRecord, Event, EventKind, StepOutcome, StepState, Usage};
use rusqlite::{Connection, params};
use std::borrow::Cow;
use std::collections::HashMap;

/// What one batch does to the query tables.
#[derive(Debug, Default, PartialEq)]
pub struct Projection<'a> {
    pub run: RunPatch<'a>,
    /// In the order the batch first touched them.
    pub steps: Vec<(&'a str, StepPatch<'a>)>,
    /// Keyed by (step, attempt), in the order the batch first touched them.
    pub attempts: Vec<((&'a str, u32), AttemptOps<'a>)>,
    /// The last value the batch gave each output.
    pub outputs: Vec<(OutputKey<'a>, Output<'a>)>,
    /// In event order (closing and recording do not commute).
    pub errors: Vec<ErrorOp<'a>>,
    /// In event order (rows get increasing ids).
    pub approvals: Vec<Approval<'a>>,
}

/// (step, key) of an output.
pub type OutputKey<'a> = (&'a str, &'a str);
/// (value, attempt) of an output.
pub type Output<'a> = (&'a str, u32);

/// Changes to the run's row.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct RunPatch<'a> {
    pub state: Option<&'static str>,
    /// `finished_at` and `summary`.
    pub finished: Option<(i64, &'a str)>,
}

/// Changes to one column group of a `steps` row, as a batch leaves them: `None` leaves
/// the column as it was.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct StepOps<'a> {
    pub state: Option<&'static str>,
    /// `attempts` becomes at least this.
    pub attempts: u32,
    pub reason: Option<Option<&'a str>>,
    pub queued_at: Option<i64>,
    pub started_at: Option<i64>,
    pub finished_at: Option<Option<i64>>,
    pub finish: Option<StepFinish>,
    pub pgid: Option<i32>,
}

/// The columns `StepFinished` sets on the step (and a new attempt clears: they are the
/// latest attempt's, as in the core's view).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepFinish {
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub duration_ms: Option<i64>,
    pub timed_out: bool,
}

impl StepFinish {
    /// An attempt that has not finished yet.
    const RUNNING: StepFinish = StepFinish {
        exit_code: None,
        signal: None,
        duration_ms: None,
        timed_out: false,
    };
}

/// A step's row after a batch. Whether the row existed before the batch is not known
/// when folding, so the patch covers both cases.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct StepPatch<'a> {
    /// Applied to the row if it existed before the batch (every event of the batch).
    pub update: StepOps<'a>,
    /// If it did not: the `ord` the first event to create the row gives it, and what
    /// the events from that one on did to it. `None` when no event of the batch creates
    /// the row (`StepProcess` alone only updates an existing step).
    pub insert: Option<(i64, StepOps<'a>)>,
}

/// Changes to an `attempts` row. Every event about an attempt creates its row, so the
/// same changes apply to an empty row and to an existing one.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct AttemptOps<'a> {
    pub state: Option<&'static str>,
    /// Set only if the row has none yet: the first time the attempt ran.
    pub started_at: Option<i64>,
    pub finish: Option<AttemptFinish<'a>>,
    pub pgid: Option<i32>,
    /// `log_path` and `log_tail`.
    pub log: Option<(Cow<'a, str>, &'a str)>,
}

/// The columns `StepFinished` sets on the attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptFinish<'a> {
    pub at: i64,
    pub duration_ms: i64,
    pub outcome: &'a StepOutcome,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub usage: Usage,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ErrorOp<'a> {
    Record {
        seq: i64,
        error: &'a ErrorRecord,
    },
    CloseIds(&'a [String]),
    /// Close the step's open records.
    CloseStep(&'a str),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Approval<'a> {
    pub seq: i64,
    pub at: i64,
    pub step: Cow<'a, str>,
    pub kind: &'static str,
    pub actor: &'a str,
    pub reason: Option<&'a str>,
    pub digest: Option<&'a str>,
    pub details: serde_json::Value,
}

impl<'a> StepOps<'a> {
    /// These changes followed by `next`'s.
    fn then(&mut self, next: StepOps<'a>) {
        let StepOps {
            state,
            attempts,
            reason,
            queued_at,
            started_at,
            finished_at,
            finish,
            pgid,
        } = next;
        self.state = state.or(self.state);
        self.attempts = self.attempts.max(attempts);
        self.reason = reason.or(self.reason);
        self.queued_at = queued_at.or(self.queued_at);
        self.started_at = started_at.or(self.started_at);
        self.finished_at = finished_at.or(self.finished_at);
        self.finish = finish.or(self.finish);
        self.pgid = pgid.or(self.pgid);
    }
}

impl<'a> AttemptOps<'a> {
    /// These changes followed by `next`'s.
    fn then(&mut self, next: AttemptOps<'a>) {
        let AttemptOps {
            state,
            started_at,
            finish,
            pgid,
            log,
        } = next;
        self.state = state.or(self.state);
        // The first start wins (`coalesce(started_at, new)`).
        self.started_at = self.started_at.or(started_at);
        self.finish = finish.or(self.finish.take());
        self.pgid = pgid.or(self.pgid);
        self.log = log.or(self.log.take());
    }
}

/// What one event does to its step's row: whether it creates the row if missing, and
/// the changes. `None` if it does not touch `steps`.
fn step_ops(ev: &Event) -> Option<(&str, bool, StepOps<'_>)> {
    let at = ev.at.0;
    match &ev.kind {
        EventKind::StepStateChanged {
            step,
            state,
            attempt,
            reason,
        } => {
            let finished_at = if state.is_final() {
                Some(Some(at))
            } else if matches!(
                state,
                StepState::Running
                    | StepState::Queued
                    | StepState::RetryWait
                    | StepState::Pending
                    | StepState::WaitingApproval
            ) {
                Some(None)
            } else {
                None
            };
            let ops = StepOps {
                state: Some(state.as_str()),
                attempts: *attempt,
                reason: Some(reason.as_deref()),
                queued_at: (*state == StepState::Queued).then_some(at),
                started_at: (*state == StepState::Running).then_some(at),
                finished_at,
                finish: (*state == StepState::Running).then_some(StepFinish::RUNNING),
                ..StepOps::default()
            };
            Some((step, true, ops))
        }
        EventKind::StepProcess { step, pgid, .. } => Some((
            step,
            false,
            StepOps {
                pgid: Some(*pgid),
                ..StepOps::default()
            },
        )),
        EventKind::StepFinished {
            step,
            attempt,
            outcome,
            duration_ms,
            ..
        } => {
            let (exit_code, signal) = exit_and_signal(outcome);
            let ops = StepOps {
                attempts: *attempt,
                finish: Some(StepFinish {
                    exit_code,
                    signal,
                    duration_ms: Some(*duration_ms as i64),
                    timed_out: matches!(outcome, StepOutcome::TimedOut),
                }),
                ..StepOps::default()
            };
            Some((step, true, ops))
        }
        EventKind::StepMarked { step, state, .. } => Some((
            step,
            true,
            StepOps {
                state: Some(state.as_str()),
                finished_at: Some(Some(at)),
                ..StepOps::default()
            },
        )),
        _ => None,
    }
}

/// What one event does to an attempt's row, if anything.
fn attempt_ops(ev: &Event) -> Option<((&str, u32), AttemptOps<'_>)> {
    let at = ev.at.0;
    match &ev.kind {
        // An attempt exists once it runs (queued and gate states precede it).
        EventKind::StepStateChanged {
            step,
            state,
            attempt,
            ..
        } if *attempt > 0
            && !matches!(
                state,
                StepState::Pending | StepState::Queued | StepState::WaitingApproval
            ) =>
        {
            Some((
                (step, *attempt),
                AttemptOps {
                    state: Some(state.as_str()),
                    started_at: (*state == StepState::Running).then_some(at),
                    ..AttemptOps::default()
                },
            ))
        }
        EventKind::StepProcess {
            step,
            attempt,
            pgid,
        } => Some((
            (step, *attempt),
            AttemptOps {
                pgid: Some(*pgid),
                ..AttemptOps::default()
            },
        )),
        EventKind::StepFinished {
            step,
            attempt,
            outcome,
            duration_ms,
            usage,
            ..
        } => {
            let (exit_code, signal) = exit_and_signal(outcome);
            Some((
                (step, *attempt),
                AttemptOps {
                    finish: Some(AttemptFinish {
                        at,
                        duration_ms: *duration_ms as i64,
                        outcome,
                        exit_code,
                        signal,
                        usage: *usage,
                    }),
                    ..AttemptOps::default()
                },
            ))
        }
        _ => None,
    }
}

fn exit_and_signal(outcome: &StepOutcome) -> (Option<i32>, Option<i32>) {
    match outcome {
        StepOutcome::Exited { exit_code } => (Some(*exit_code), None),
        StepOutcome::Signalled { signal } => (None, Some(*signal)),
        _ => (None, None),
    }
}

/// The approvals rows one event writes, in order: what `audit verify` compares the
/// stored rows with.
pub fn approvals_of(ev: &Event) -> Vec<Approval<'_>> {
    let mut approvals = Vec::new();
    records(ev, &mut Vec::new(), &mut approvals);
    approvals
}

/// The errors and approvals rows one event writes, in order.
fn records<'a>(ev: &'a Event, errors: &mut Vec<ErrorOp<'a>>, approvals: &mut Vec<Approval<'a>>) {
    let seq = ev.seq as i64;
    let at = ev.at.0;
    let mut approval = |step: Cow<'a, str>,
                        kind: &'static str,
                        actor: &'a str,
                        reason: Option<&'a str>,
                        digest: Option<&'a str>,
                        details: serde_json::Value| {
        approvals.push(Approval {
            seq,
            at,
            step,
            kind,
            actor,
            reason,
            digest,
            details,
        })
    };
    if let EventKind::ErrorRecorded { error } = &ev.kind {
        errors.push(ErrorOp::Record { seq, error });
    }
    match history::errors_closed(&ev.kind) {
        Some(Closes::Ids { ids, .. }) => errors.push(ErrorOp::CloseIds(ids)),
        Some(Closes::Step(step)) => errors.push(ErrorOp::CloseStep(step)),
        None => {}
    }
    match &ev.kind {
        EventKind::GateOpened {
            step,
            digest,
            prompt,
            deadline,
            approvers,
            quorum,
            signed,
        } => {
            let mut details = serde_json::json!({"prompt": prompt, "deadline": deadline, "approvers": approvers, "quorum": quorum});
            if *signed {
                details["signed"] = serde_json::json!(true);
            }
            approval(
                Cow::Borrowed(step),
                "opened",
                "engine",
                None,
                Some(digest),
                details,
            )
        }
        EventKind::ApprovalGiven {
            step,
            actor,
            reason,
            digest,
            signature,
        } => approval(
            Cow::Borrowed(step),
            "vote",
            actor,
            reason.as_deref(),
            Some(digest),
            history::with_signature(serde_json::json!({}), signature.as_ref()),
        ),
        EventKind::GateApproved {
            step,
            actor,
            approvers,
        } => approval(
            Cow::Borrowed(step),
            "approved",
            actor,
            None,
            None,
            serde_json::json!({"approvers": approvers}),
        ),
        EventKind::GateRejected {
            step,
            actor,
            reason,
            timed_out,
            signature,
        } => approval(
            Cow::Borrowed(step),
            if *timed_out { "timed_out" } else { "rejected" },
            actor,
            Some(reason),
            None,
            history::with_signature(serde_json::json!({}), signature.as_ref()),
        ),
        EventKind::GateVoided { step, reason } => approval(
            Cow::Borrowed(step),
            "voided",
            "engine",
            Some(reason),
            None,
            serde_json::json!({}),
        ),
        EventKind::CommandRefused { command, reason } => {
            // Refused attempts to decide a gate (or raise the budget) are approval records.
            if matches!(
                command,
                Command::Approve { .. } | Command::Reject { .. } | Command::RaiseBudget { .. }
            ) && let Some(step) = crate::model::history::command_step(command)
            {
                approval(
                    Cow::Owned(step),
                    "refused",
                    command.operator(),
                    Some(reason),
                    None,
                    serde_json::json!({"command": command}),
                )
            }
        }
        _ => {}
    }
}

/// Fold a batch (its attempts' logs first, then its events in order) into one patch
/// per touched row. Pure.
pub fn fold<'a>(logs: &'a [AttemptLog], events: &'a [Event]) -> Projection<'a> {
    let mut p = Projection::default();
    let mut step_at: HashMap<&'a str, usize> = HashMap::new();
    let mut attempt_at: HashMap<(&'a str, u32), usize> = HashMap::new();
    let mut output_at: HashMap<OutputKey<'a>, usize> = HashMap::new();
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
                super::bounded_tail(&log.tail, super::LOG_TAIL_MAX),
            )),
            ..AttemptOps::default()
        };
        add_attempt(&mut p, (log.step_id.as_str(), log.attempt), ops);
    }
    for ev in events {
        match &ev.kind {
            EventKind::RunStarted { .. } | EventKind::RunResumed { .. } => {
                p.run.state = Some("running")
            }
            EventKind::RunStateChanged { state, .. } => p.run.state = Some(state.as_str()),
            EventKind::RunFinished { state, summary } => {
                p.run.state = Some(state.as_str());
                p.run.finished = Some((ev.at.0, summary));
            }
            _ => {}
        }
        if let Some((step, creates, ops)) = step_ops(ev) {
            let i = *step_at.entry(step).or_insert_with(|| {
                p.steps.push((step, StepPatch::default()));
                p.steps.len() - 1
            });
            let patch = &mut p.steps[i].1;
            match &mut patch.insert {
                Some((_, after)) => after.then(ops.clone()),
                // Before the first event that creates the row, a missing row stays missing.
                None if creates => patch.insert = Some((ev.seq as i64, ops.clone())),
                None => {}
            }
            patch.update.then(ops);
        }
        if let Some((key, ops)) = attempt_ops(ev) {
            add_attempt(&mut p, key, ops);
        }
        if let EventKind::StepFinished {
            step,
            attempt,
            outputs,
            ..
        } = &ev.kind
        {
            for (k, v) in outputs {
                let key = (step.as_str(), k.as_str());
                match output_at.get(&key) {
                    Some(&i) => p.outputs[i].1 = (v, *attempt),
                    None => {
                        output_at.insert(key, p.outputs.len());
                        p.outputs.push((key, (v, *attempt)));
                    }
                }
            }
        }
        records(ev, &mut p.errors, &mut p.approvals);
    }
    p
}

/// The SET list shared by the step upsert and update. Parameters: ?1 run, ?2 step,
/// ?3‥?14 the inserted row, ?15‥ the changes to an existing row.
macro_rules! step_changes {
    () => {
        "state       = coalesce(?15, state),
         attempts    = max(attempts, ?16),
         reason      = CASE WHEN ?17 THEN ?18 ELSE reason END,
         queued_at   = coalesce(?19, queued_at),
         started_at  = coalesce(?20, started_at),
         finished_at = CASE WHEN ?21 THEN ?22 ELSE finished_at END,
         exit_code   = CASE WHEN ?23 THEN ?24 ELSE exit_code END,
         signal      = CASE WHEN ?23 THEN ?25 ELSE signal END,
         duration_ms = CASE WHEN ?23 THEN ?26 ELSE duration_ms END,
         timed_out   = CASE WHEN ?23 THEN ?27 ELSE timed_out END,
         pgid        = coalesce(?28, pgid)"
    };
}

const STEP_UPSERT: &str = concat!(
    "INSERT INTO steps (run_id, step_id, ord, state, attempts, exit_code, signal, timed_out,
        queued_at, started_at, finished_at, duration_ms, pgid, reason)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
     ON CONFLICT (run_id, step_id) DO UPDATE SET ",
    step_changes!()
);

const STEP_UPDATE: &str = concat!(
    "UPDATE steps SET ",
    step_changes!(),
    " WHERE run_id = ?1 AND step_id = ?2"
);

/// Every event about an attempt creates its row: the inserted row is the changes
/// applied to an empty row, and `excluded` tells which changes there are.
const ATTEMPT_UPSERT: &str = "INSERT INTO attempts (run_id, step_id, attempt, state, started_at,
        finished_at, duration_ms, outcome_json, exit_code, signal, pgid, cost, tokens,
        log_path, log_tail)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
     ON CONFLICT (run_id, step_id, attempt) DO UPDATE SET
        state        = coalesce(excluded.state, state),
        started_at   = coalesce(started_at, excluded.started_at),
        finished_at  = CASE WHEN ?16 THEN excluded.finished_at ELSE finished_at END,
        duration_ms  = CASE WHEN ?16 THEN excluded.duration_ms ELSE duration_ms END,
        outcome_json = CASE WHEN ?16 THEN excluded.outcome_json ELSE outcome_json END,
        exit_code    = CASE WHEN ?16 THEN excluded.exit_code ELSE exit_code END,
        signal       = CASE WHEN ?16 THEN excluded.signal ELSE signal END,
        cost         = CASE WHEN ?16 THEN excluded.cost ELSE cost END,
        tokens       = CASE WHEN ?16 THEN excluded.tokens ELSE tokens END,
        pgid         = coalesce(excluded.pgid, pgid),
        log_path     = CASE WHEN ?17 THEN excluded.log_path ELSE log_path END,
        log_tail     = CASE WHEN ?17 THEN excluded.log_tail ELSE log_tail END";

/// Write a folded batch: one statement per patched row.
pub fn write(conn: &Connection, run_id: &str, p: &Projection<'_>) -> Result<(), StoreError> {
    let RunPatch { state, finished } = &p.run;
    if state.is_some() || finished.is_some() {
        conn.prepare_cached(
            "UPDATE runs SET state = coalesce(?2, state),
                finished_at = CASE WHEN ?3 THEN ?4 ELSE finished_at END,
                summary     = CASE WHEN ?3 THEN ?5 ELSE summary END
             WHERE id = ?1",
        )?
        .execute(params![
            run_id,
            state,
            finished.is_some(),
            finished.map(|f| f.0),
            finished.map(|f| f.1),
        ])?;
    }
    for (step, patch) in &p.steps {
        let u = &patch.update;
        // The new row: `pending`, no attempts, not timed out, the rest NULL, then the
        // changes. Its parameters are NULL (and unused) when the batch does not create it.
        let (sql, new) = match &patch.insert {
            Some((ord, ops)) => (STEP_UPSERT, Some((*ord, ops))),
            None => (STEP_UPDATE, None),
        };
        let ops = new.map(|(_, ops)| ops);
        let f = ops.and_then(|o| o.finish);
        conn.prepare_cached(sql)?.execute(params![
            run_id,
            step,
            new.map(|(ord, _)| ord),
            ops.map(|o| o.state.unwrap_or("pending")),
            ops.map(|o| o.attempts),
            f.and_then(|f| f.exit_code),
            f.and_then(|f| f.signal),
            ops.map(|_| f.is_some_and(|f| f.timed_out)),
            ops.and_then(|o| o.queued_at),
            ops.and_then(|o| o.started_at),
            ops.and_then(|o| o.finished_at.flatten()),
            f.and_then(|f| f.duration_ms),
            ops.and_then(|o| o.pgid),
            ops.and_then(|o| o.reason.flatten()),
            u.state,
            u.attempts,
            u.reason.is_some(),
            u.reason.flatten(),
            u.queued_at,
            u.started_at,
            u.finished_at.is_some(),
            u.finished_at.flatten(),
            u.finish.is_some(),
            u.finish.and_then(|f| f.exit_code),
            u.finish.and_then(|f| f.signal),
            u.finish.and_then(|f| f.duration_ms),
            u.finish.map(|f| f.timed_out),
            u.pgid,
        ])?;
    }
    if !p.attempts.is_empty() {
        let mut upsert = conn.prepare_cached(ATTEMPT_UPSERT)?;
        for ((step, attempt), a) in &p.attempts {
            let f = a.finish.as_ref();
            let outcome = f.map(|f| serde_json::to_string(f.outcome)).transpose()?;
            upsert.execute(params![
                run_id,
                step,
                attempt,
                a.state,
                a.started_at,
                f.map(|f| f.at),
                f.map(|f| f.duration_ms),
                outcome,
                f.and_then(|f| f.exit_code),
                f.and_then(|f| f.signal),
                a.pgid,
                f.map(|f| f.usage.cost),
                f.map(|f| f.usage.tokens as i64),
                a.log.as_ref().map(|l| &l.0),
                a.log.as_ref().map(|l| l.1),
                f.is_some(),
                a.log.is_some(),
            ])?;
        }
    }
    if !p.outputs.is_empty() {
        let mut put = conn.prepare_cached(
            "INSERT INTO outputs (run_id, step_id, key, value, attempt) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (run_id, step_id, key) DO UPDATE SET value = excluded.value, attempt = excluded.attempt",
        )?;
        for ((step, key), (value, attempt)) in &p.outputs {
            put.execute(params![run_id, step, key, value, attempt])?;
        }
    }
    for op in &p.errors {
        match op {
            ErrorOp::Record { seq, error } => {
                conn.prepare_cached(
                    "INSERT OR REPLACE INTO errors
                        (run_id, id, seq, step, attempt, kind, severity, message, open, at, json)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
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
                    serde_json::to_string(error)?,
                ])?;
            }
            ErrorOp::CloseIds(ids) => {
                let mut stmt = conn.prepare_cached(
                    "UPDATE errors SET open = 0, json = json_set(json, '$.open', json('false'))
                     WHERE run_id = ?1 AND id = ?2",
                )?;
                for id in *ids {
                    stmt.execute(params![run_id, id])?;
                }
            }
            ErrorOp::CloseStep(step) => {
                conn.prepare_cached(
                    "UPDATE errors SET open = 0,
                        json = json_set(json, '$.open', json('false'))
                     WHERE run_id = ?1 AND step = ?2 AND open = 1",
                )?
                .execute(params![run_id, step])?;
            }
        }
    }
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
mod tests;

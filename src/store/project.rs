//! Projection of events into the queryable tables (runs, steps, attempts, outputs,
//! errors, approvals). Runs inside `Store::commit`'s transaction, so the tables never
//! disagree with the event log.
use super::error::StoreError;
use crate::model::{Event, EventKind, StepOutcome, StepState};
use rusqlite::{Connection, params};

pub fn apply(conn: &Connection, run_id: &str, ev: &Event) -> Result<(), StoreError> {
    let at = ev.at.0;
    let seq = ev.seq as i64;
    match &ev.kind {
        EventKind::RunStarted { .. } | EventKind::RunResumed { .. } => {
            conn.prepare_cached("UPDATE runs SET state = 'running' WHERE id = ?1")?
                .execute([run_id])?;
        }
        EventKind::RunStateChanged { state, .. } => {
            conn.prepare_cached("UPDATE runs SET state = ?2 WHERE id = ?1")?
                .execute(params![run_id, state.as_str()])?;
        }
        EventKind::RunFinished { state, summary } => {
            conn.prepare_cached(
                "UPDATE runs SET state = ?2, finished_at = ?3, summary = ?4 WHERE id = ?1",
            )?
            .execute(params![run_id, state.as_str(), at, summary])?;
        }
        EventKind::StepStateChanged {
            step,
            state,
            attempt,
            reason,
        } => step_state(
            conn,
            run_id,
            seq,
            step,
            *state,
            *attempt,
            reason.as_deref(),
            at,
        )?,
        EventKind::StepProcess {
            step,
            attempt,
            pgid,
        } => {
            ensure_attempt(conn, run_id, step, *attempt)?;
            conn.prepare_cached(
                "UPDATE attempts SET pgid = ?4 WHERE run_id = ?1 AND step_id = ?2 AND attempt = ?3",
            )?
            .execute(params![run_id, step, attempt, pgid])?;
            conn.prepare_cached("UPDATE steps SET pgid = ?3 WHERE run_id = ?1 AND step_id = ?2")?
                .execute(params![run_id, step, pgid])?;
        }
        EventKind::StepFinished {
            step,
            attempt,
            outcome,
            duration_ms,
            outputs,
            usage,
        } => {
            let (exit_code, signal) = match outcome {
                StepOutcome::Exited { exit_code } => (Some(*exit_code), None),
                StepOutcome::Signalled { signal } => (None, Some(*signal)),
                _ => (None, None),
            };
            let timed_out = matches!(outcome, StepOutcome::TimedOut);
            conn.prepare_cached(
                "INSERT INTO attempts (run_id, step_id, attempt, finished_at, duration_ms, outcome_json,
                    exit_code, signal, cost, tokens)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (run_id, step_id, attempt) DO UPDATE SET
                    finished_at = excluded.finished_at, duration_ms = excluded.duration_ms,
                    outcome_json = excluded.outcome_json, exit_code = excluded.exit_code,
                    signal = excluded.signal, cost = excluded.cost, tokens = excluded.tokens",
            )?
            .execute(params![
                run_id,
                step,
                attempt,
                at,
                *duration_ms as i64,
                serde_json::to_string(outcome)?,
                exit_code,
                signal,
                usage.cost,
                usage.tokens as i64,
            ])?;
            let mut update = conn.prepare_cached(
                "UPDATE steps SET exit_code = ?3, signal = ?4, duration_ms = ?5, timed_out = ?6,
                    attempts = max(attempts, ?7)
                 WHERE run_id = ?1 AND step_id = ?2",
            )?;
            let p = params![
                run_id,
                step,
                exit_code,
                signal,
                *duration_ms as i64,
                timed_out,
                attempt
            ];
            // The step exists unless the run never reported it running.
            if update.execute(p)? == 0 {
                ensure_step(conn, run_id, seq, step)?;
                update.execute(p)?;
            }
            let mut put = conn.prepare_cached(
                "INSERT INTO outputs (run_id, step_id, key, value, attempt) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (run_id, step_id, key) DO UPDATE SET value = excluded.value, attempt = excluded.attempt",
            )?;
            for (k, v) in outputs {
                put.execute(params![run_id, step, k, v, attempt])?;
            }
        }
        EventKind::ErrorRecorded { error } => {
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
        EventKind::ErrorsClosed { ids, .. } => {
            let mut stmt = conn.prepare_cached(
                "UPDATE errors SET open = 0, json = json_set(json, '$.open', json('false'))
                 WHERE run_id = ?1 AND id = ?2",
            )?;
            for id in ids {
                stmt.execute(params![run_id, id])?;
            }
        }
        EventKind::GateOpened {
            step,
            digest,
            prompt,
            deadline,
            approvers,
            quorum,
        } => approval(
            conn,
            run_id,
            seq,
            at,
            step,
            "opened",
            "engine",
            None,
            Some(digest),
            serde_json::json!({"prompt": prompt, "deadline": deadline, "approvers": approvers, "quorum": quorum}),
        )?,
        EventKind::ApprovalGiven {
            step,
            actor,
            reason,
            digest,
        } => approval(
            conn,
            run_id,
            seq,
            at,
            step,
            "vote",
            actor,
            reason.as_deref(),
            Some(digest),
            serde_json::json!({}),
        )?,
        EventKind::GateApproved {
            step,
            actor,
            approvers,
        } => approval(
            conn,
            run_id,
            seq,
            at,
            step,
            "approved",
            actor,
            None,
            None,
            serde_json::json!({"approvers": approvers}),
        )?,
        EventKind::GateRejected {
            step,
            actor,
            reason,
            timed_out,
        } => approval(
            conn,
            run_id,
            seq,
            at,
            step,
            if *timed_out { "timed_out" } else { "rejected" },
            actor,
            Some(reason),
            None,
            serde_json::json!({}),
        )?,
        EventKind::GateVoided { step, reason } => approval(
            conn,
            run_id,
            seq,
            at,
            step,
            "voided",
            "engine",
            Some(reason),
            None,
            serde_json::json!({}),
        )?,
        EventKind::CommandRefused { command, reason } => {
            use crate::model::Command;
            // Refused attempts to decide a gate (or raise the budget) are approval records.
            if matches!(
                command,
                Command::Approve { .. } | Command::Reject { .. } | Command::RaiseBudget { .. }
            ) && let Some(step) = super::audit::command_step(command)
            {
                approval(
                    conn,
                    run_id,
                    seq,
                    at,
                    &step,
                    "refused",
                    command.operator(),
                    Some(reason),
                    None,
                    serde_json::json!({"command": command}),
                )?
            }
        }
        EventKind::StepRetried { step, .. } => {
            // A retried step's errors stay on record but no longer count as open.
            close_errors(conn, run_id, step)?;
        }
        EventKind::StepMarked { step, state, .. } => {
            ensure_step(conn, run_id, seq, step)?;
            conn.prepare_cached(
                "UPDATE steps SET state = ?3, finished_at = ?4 WHERE run_id = ?1 AND step_id = ?2",
            )?
            .execute(params![run_id, step, state.as_str(), at])?;
            if state.is_success() {
                close_errors(conn, run_id, step)?;
            }
        }
        EventKind::RetryScheduled { .. }
        | EventKind::GateWarning { .. }
        | EventKind::BudgetExceeded { .. }
        | EventKind::BudgetRaised { .. }
        | EventKind::CancelRequested { .. }
        | EventKind::CompensationStarted { .. }
        | EventKind::CompensationFinished { .. } => {}
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn step_state(
    conn: &Connection,
    run_id: &str,
    seq: i64,
    step: &str,
    state: StepState,
    attempt: u32,
    reason: Option<&str>,
    at: i64,
) -> Result<(), StoreError> {
    // One upsert per table: this is the hottest path of a run (every transition).
    conn.prepare_cached(
        "INSERT INTO steps (run_id, step_id, ord, state, attempts, reason, queued_at, started_at, finished_at)
         VALUES (?1, ?2, ?8, ?3, ?4, ?5,
                 CASE WHEN ?3 = 'queued' THEN ?6 END,
                 CASE WHEN ?3 = 'running' THEN ?6 END,
                 CASE WHEN ?7 THEN ?6 END)
         ON CONFLICT (run_id, step_id) DO UPDATE SET
            state = excluded.state,
            attempts = max(attempts, excluded.attempts),
            reason = excluded.reason,
            queued_at   = coalesce(excluded.queued_at, queued_at),
            started_at  = coalesce(excluded.started_at, started_at),
            finished_at = CASE WHEN ?7 THEN ?6
                               WHEN ?3 IN ('running', 'queued', 'retry_wait', 'pending', 'waiting_approval') THEN NULL
                               ELSE finished_at END",
    )?
    .execute(params![
        run_id,
        step,
        state.as_str(),
        attempt,
        reason,
        at,
        state.is_final(),
        seq
    ])?;
    // An attempt exists once it runs (queued and gate states precede it).
    if attempt > 0
        && !matches!(
            state,
            StepState::Pending | StepState::Queued | StepState::WaitingApproval
        )
    {
        conn.prepare_cached(
            "INSERT INTO attempts (run_id, step_id, attempt, state, started_at)
             VALUES (?1, ?2, ?3, ?4, CASE WHEN ?4 = 'running' THEN ?5 END)
             ON CONFLICT (run_id, step_id, attempt) DO UPDATE SET
                state = excluded.state,
                started_at = coalesce(started_at, excluded.started_at)",
        )?
        .execute(params![run_id, step, attempt, state.as_str(), at])?;
    }
    if state == StepState::Succeeded {
        close_errors(conn, run_id, step)?;
    }
    Ok(())
}

/// Steps are listed in the order the run first mentioned them: `ord` is the `seq` of
/// the first event about the step.
fn ensure_step(conn: &Connection, run_id: &str, seq: i64, step: &str) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO steps (run_id, step_id, ord, state) VALUES (?1, ?2, ?3, 'pending')
         ON CONFLICT (run_id, step_id) DO NOTHING",
    )?
    .execute(params![run_id, step, seq])?;
    Ok(())
}

fn ensure_attempt(
    conn: &Connection,
    run_id: &str,
    step: &str,
    attempt: u32,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO attempts (run_id, step_id, attempt) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![run_id, step, attempt])?;
    Ok(())
}

fn close_errors(conn: &Connection, run_id: &str, step: &str) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE errors SET open = 0,
            json = json_set(json, '$.open', json('false'))
         WHERE run_id = ?1 AND step = ?2 AND open = 1",
    )?
    .execute(params![run_id, step])?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn approval(
    conn: &Connection,
    run_id: &str,
    seq: i64,
    at: i64,
    step: &str,
    kind: &str,
    actor: &str,
    reason: Option<&str>,
    digest: Option<&str>,
    details: serde_json::Value,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO approvals (run_id, seq, step, kind, actor, reason, digest, at, details)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        run_id,
        seq,
        step,
        kind,
        actor,
        reason,
        digest,
        at,
        details.to_string()
    ])?;
    Ok(())
}

//! The projection as it was before batches were folded: one or more upserts per event.
//! Kept (tests only) as the oracle the folded projection of `project.rs` is checked
//! against: committing a batch must leave the same tables as applying its events one
//! by one with these statements.
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
            signed,
        } => {
            let mut details = serde_json::json!({"prompt": prompt, "deadline": deadline, "approvers": approvers, "quorum": quorum});
            if *signed {
                details["signed"] = serde_json::json!(true);
            }
            approval(
                conn,
                run_id,
                seq,
                at,
                step,
                "opened",
                "engine",
                None,
                Some(digest),
                details,
            )?
        }
        EventKind::ApprovalGiven {
            step,
            actor,
            reason,
            digest,
            signature,
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
            crate::model::history::with_signature(serde_json::json!({}), signature.as_ref()),
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
            signature,
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
            crate::model::history::with_signature(serde_json::json!({}), signature.as_ref()),
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
            ) && let Some(step) = crate::model::history::command_step(command)
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
        | EventKind::StepJob { .. }
        | EventKind::StepJobState { .. }
        | EventKind::StepCached { .. }
        | EventKind::StepProbed { .. }
        | EventKind::ServiceStopping { .. }
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
                               ELSE finished_at END,
            exit_code   = CASE WHEN ?3 = 'running' THEN NULL ELSE exit_code END,
            signal      = CASE WHEN ?3 = 'running' THEN NULL ELSE signal END,
            duration_ms = CASE WHEN ?3 = 'running' THEN NULL ELSE duration_ms END,
            timed_out   = CASE WHEN ?3 = 'running' THEN 0 ELSE timed_out END",
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

#[cfg(test)]
mod tests {
    //! The folded projection (`Store::commit_with_logs`, in random chunks) against this
    //! reference (one event at a time), on random event sequences: every projected
    //! table must end up the same.
    use super::super::{AttemptLog, NewRun, Store, put_attempt_log};
    use crate::model::{
        Command, ErrorKind, ErrorRecord, Event, EventKind, RunState, StepOutcome, StepState,
        Timestamp, Usage,
    };
    use proptest::prelude::*;
    use rusqlite::types::Value;
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    const RUN: &str = "01jzq8k3m5n7p9r1s3t5v7x9z1";
    const STEPS: [&str; 3] = ["a", "b", "c"];

    fn step() -> impl Strategy<Value = String> {
        prop::sample::select(&STEPS[..]).prop_map(String::from)
    }

    /// Mostly the states of a plain run, so that batches often repeat a transition.
    fn step_state() -> impl Strategy<Value = StepState> {
        use StepState::*;
        prop_oneof![
            3 => prop::sample::select(&[Queued, Running, Succeeded, Failed, RetryWait][..]),
            1 => prop::sample::select(&StepState::ALL[..]),
        ]
    }

    fn attempt() -> impl Strategy<Value = u32> {
        prop_oneof![3 => Just(1u32), 1 => 0..3u32]
    }

    fn run_state() -> impl Strategy<Value = RunState> {
        prop::sample::select(&RunState::ALL[..])
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
            prop::sample::select(&ErrorKind::ALL[..]),
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

    fn event_kind() -> impl Strategy<Value = EventKind> {
        prop_oneof![
            8 => (step(), step_state(), attempt(), prop::option::of(Just("why".to_string())))
                .prop_map(|(step, state, attempt, reason)| EventKind::StepStateChanged {
                    step,
                    state,
                    attempt,
                    reason
                }),
            3 => (step(), attempt(), 100..200i32)
                .prop_map(|(step, attempt, pgid)| EventKind::StepProcess { step, attempt, pgid }),
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
                rearmed: vec![]
            }),
            1 => (step(), step_state()).prop_map(|(step, state)| EventKind::StepMarked {
                step,
                state,
                actor: "bob".into(),
                reason: "by hand".into()
            }),
            1 => step().prop_map(|step| EventKind::GateOpened {
                step,
                prompt: "ship?".into(),
                deadline: Some(Timestamp(9)),
                digest: "d1".into(),
                approvers: vec!["bob".into()],
                quorum: 1,
                signed: false,
            }),
            1 => step().prop_map(|step| EventKind::ApprovalGiven {
                step,
                actor: "bob".into(),
                reason: None,
                digest: "d1".into(),
                signature: None,
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
                reason: "not an approver".into()
            }),
            1 => (step(), 2..5u32).prop_map(|(step, next_attempt)| EventKind::RetryScheduled {
                step,
                next_attempt,
                due: Timestamp(1_700_000_000_000)
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
                summary: format!("run {state}")
            }),
        ]
    }

    fn logs() -> impl Strategy<Value = Vec<AttemptLog>> {
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

    fn events(kinds: Vec<EventKind>) -> Vec<Event> {
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

    fn open(dir: &tempfile::TempDir, name: &str, listed: bool) -> Store {
        let mut s = Store::open(&dir.path().join(name)).unwrap();
        s.create_run(&NewRun {
            id: RUN.into(),
            workflow: "w".into(),
            source_path: PathBuf::from("w.toml"),
            source_text: "name = \"w\"\n".into(),
            params_json: "{}".into(),
            operator: "alice".into(),
            started_at: Timestamp(1),
            steps: if listed {
                vec!["b".into(), "a".into()]
            } else {
                vec![]
            },
        })
        .unwrap();
        s
    }

    /// Every projected table, every column, in key order.
    fn dump(s: &Store) -> BTreeMap<&'static str, Vec<Vec<Value>>> {
        let tables = [
            ("runs", "id"),
            ("steps", "run_id, step_id"),
            ("attempts", "run_id, step_id, attempt"),
            ("outputs", "run_id, step_id, key"),
            ("errors", "run_id, id"),
            ("approvals", "id"),
        ];
        tables
            .into_iter()
            .map(|(t, key)| {
                let mut st = s
                    .conn
                    .prepare(&format!("SELECT * FROM {t} ORDER BY {key}"))
                    .unwrap();
                let n = st.column_count();
                let rows = st
                    .query_map([], |r| (0..n).map(|i| r.get::<_, Value>(i)).collect())
                    .unwrap()
                    .collect::<Result<Vec<Vec<Value>>, _>>()
                    .unwrap();
                (t, rows)
            })
            .collect()
    }

    /// The reference: each event in its own transaction, the logs first.
    fn reference(s: &mut Store, logs: &[AttemptLog], evs: &[Event]) {
        let tx = s.conn.transaction().unwrap();
        for log in logs {
            put_attempt_log(&tx, RUN, log).unwrap();
        }
        tx.commit().unwrap();
        for ev in evs {
            let tx = s.conn.transaction().unwrap();
            super::apply(&tx, RUN, ev).unwrap();
            tx.commit().unwrap();
        }
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
            let mut rest = &evs[..];
            let mut first = true;
            for n in chunks.iter().cycle() {
                if rest.is_empty() {
                    break;
                }
                let (batch, tail) = rest.split_at((*n).min(rest.len()));
                let batch_logs: &[AttemptLog] = if first { &logs } else { &[] };
                got.commit_with_logs(RUN, batch, batch_logs).unwrap();
                first = false;
                rest = tail;
            }
            prop_assert_eq!(dump(&got), dump(&want));
            prop_assert_eq!(got.events(RUN).unwrap(), evs.clone());
            prop_assert_eq!(got.run(RUN).unwrap().last_seq, evs.len() as u64);
        }
    }
}

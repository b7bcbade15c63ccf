//! What a run whose engine is gone left running (issue 41 point 1): a concurrency
//! group or a store-wide pool slot is handed over only once none of it is left, so a
//! `kill -9` of the holder's engine never lets a second deploy start beside the first
//! one's process.
//!
//! On this host the run's processes are found by the run id in their environment
//! (`baton_procs`, as resume finds the leftovers it stops), for a run recorded
//! unfinished only (an idempotent step may start before its start is committed, so
//! the steps' projected states are no guide to what runs).
//! A step's batch or SSH job counts while its attempt is unfinished (the cluster or
//! host may run it; a takeover re-attaches to it), wherever its engine was. The
//! processes of a holder on another host cannot be looked at: its lease's heartbeat is
//! all there is of them (`model::liveness`).
use super::StoreError;
use crate::holder::hostname;
use baton_model::liveness::{LeftRunning, parse_holder};
use baton_model::{Event, EventKind, RunState};
use baton_procs as procs;
use rusqlite::{Connection, OptionalExtension, params};

/// What `run_id` (whose engine is gone) left running now; empty once nothing is.
pub(crate) fn left_running(tx: &Connection, run_id: &str) -> Result<Vec<LeftRunning>, StoreError> {
    let lease: Option<String> = tx
        .prepare_cached("SELECT holder FROM leases WHERE run_id = ?1")?
        .query_row([run_id], |r| r.get(0))
        .optional()?;
    // A holder on another host: its processes cannot be looked at from here, but its
    // batch and SSH jobs are on record (found by the simulator, `--mix remote`: an
    // engine on another host killed, its SSH step's job running on, and the group and
    // pool slot handed to the next run beside it).
    let elsewhere = lease
        .as_deref()
        .and_then(parse_holder)
        .is_some_and(|(_, host)| host != hostname());
    let recorded: Option<String> = tx
        .prepare_cached("SELECT state FROM runs WHERE id = ?1")?
        .query_row([run_id], |r| r.get(0))
        .optional()?;
    if recorded
        .as_deref()
        .and_then(RunState::parse)
        .is_none_or(|s| s.is_final())
    {
        return Ok(Vec::new());
    }
    // As of the run's last event: the rows may lag it (`catch_up`).
    let unfinished = crate::read::catch_up::steps_now_in(tx, run_id, &["running", "ready"])?;
    let mut left: Vec<LeftRunning> = Vec::new();
    let here = if elsewhere {
        Vec::new()
    } else {
        procs::run_processes(run_id)
    };
    for p in here {
        if !p.slurm_job && !left.iter().any(|l| l.step() == p.step) {
            left.push(LeftRunning::Process {
                step: p.step,
                pid: p.pid,
            });
        }
    }
    left.extend(jobs(tx, run_id, &unfinished)?);
    Ok(left)
}

/// The batch and SSH jobs of the unfinished attempts (`step_job` events of those
/// attempts), and their launches whose job never reached the record (`step_launching`).
fn jobs(
    tx: &Connection,
    run_id: &str,
    unfinished: &[(String, u32)],
) -> Result<Vec<LeftRunning>, StoreError> {
    let Some(key) = tx
        .prepare_cached("SELECT key FROM runs WHERE id = ?1")?
        .query_row([run_id], |r| r.get::<_, i64>(0))
        .optional()?
    else {
        return Ok(Vec::new());
    };
    let rows: Vec<String> = tx
        .prepare_cached(
            "SELECT json FROM events WHERE id BETWEEN (?1 << 32) AND (?1 << 32) + 4294967295
             AND type IN ('step_job', 'step_launching')",
        )?
        .query_map(params![key], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    let mut launching = Vec::new();
    for json in rows {
        let Ok(ev) = serde_json::from_str::<Event>(&json) else {
            continue;
        };
        let unfinished_attempt =
            |step: &str, attempt: u32| unfinished.iter().any(|(s, a)| s == step && *a == attempt);
        match ev.kind {
            EventKind::StepJob {
                step,
                attempt,
                executor,
                job_id,
            } if unfinished_attempt(&step, attempt) => {
                out.push(LeftRunning::Job {
                    step,
                    executor,
                    job_id,
                });
            }
            EventKind::StepLaunching {
                step,
                attempt,
                executor,
            } if unfinished_attempt(&step, attempt) => launching.push((step, attempt, executor)),
            _ => {}
        }
    }
    // A launch whose job reached the record is that job.
    for (step, attempt, executor) in launching {
        if !out.iter().any(|l| l.step() == step) && !is_process(tx, key, &step, attempt)? {
            out.push(LeftRunning::Launching { step, executor });
        }
    }
    Ok(out)
}

/// Whether `attempt` of `step` turned out a process of this machine (a `requires`
/// that picked a local executor): `/proc` tells whether it runs, not its launch.
fn is_process(tx: &Connection, key: i64, step: &str, attempt: u32) -> Result<bool, StoreError> {
    let rows: Vec<String> = tx
        .prepare_cached(
            "SELECT json FROM events WHERE id BETWEEN (?1 << 32) AND (?1 << 32) + 4294967295
             AND type = 'step_process' AND step = ?2",
        )?
        .query_map(params![key, step], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(rows.iter().any(|json| {
        serde_json::from_str::<Event>(json).is_ok_and(
            |ev| matches!(ev.kind, EventKind::StepProcess { attempt: a, .. } if a == attempt),
        )
    }))
}

impl super::Store {
    /// What run `run_id` left running while its engine is gone (readers ask it of an
    /// interrupted run: its steps read interrupted, with their process or job).
    pub fn left_running(&self, run_id: &str) -> Result<Vec<LeftRunning>, StoreError> {
        let r = left_running(&self.conn, run_id);
        self.ctx(r)
    }
}

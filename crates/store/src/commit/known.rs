//! What a fenced commit read of its run and left behind — the chain's tail, the
//! lease's heartbeat, whether the run is in a concurrency group, its steps with a
//! process, whether the run's row holds an end — kept for the next commit while nothing
//! else has written the store: that one then reads none of it.
//!
//! Another process (or another connection of this one) can move each of them: take the
//! lease over, append to the chain, put the run in a group. So they are kept only
//! while two counters say that nothing wrote the store since: `PRAGMA data_version`,
//! which moves whenever another connection commits, read inside the commit's own
//! `BEGIN IMMEDIATE` transaction (no one else can commit until it ends), and this
//! connection's `total_changes()`, which moves with any row it writes itself (a
//! heartbeat, a command, a commit to another run). When either has moved, or the
//! last commit failed, the next one reads everything as before.
use super::deferred::Deferred;
use crate::error::StoreError;
use crate::ledger::event_chain::Tail;
use crate::read::project::Projection;
use baton_model::StepState;
use rusqlite::Connection;
use std::collections::HashMap;

/// The run's steps whose rows hold a state with a process (`running`, `ready`), as
/// this connection's commits wrote them: whether an attempt ends when a step moves to
/// an end depends on the state its row held (`project::attempts_ended`). Only steps
/// with a process are kept (at most the run's parallelism); any other step is read.
pub(crate) type InProcess = HashMap<String, StepState>;

/// `in_process` after the batch `p` was written: the steps it moved to a state with a
/// process are in it, those it moved to any other state are not.
pub(crate) fn moved(in_process: &mut InProcess, p: &Projection<'_>) {
    for (step, ops) in &p.steps {
        match ops.state.and_then(StepState::parse) {
            Some(s) if s.has_process() => {
                in_process.insert((*step).to_string(), s);
            }
            Some(_) => {
                in_process.remove(*step);
            }
            None => {}
        }
    }
}

/// What the last fenced commit of a run left, and the counters it left them at.
#[derive(Debug, Clone)]
pub(crate) struct Known {
    run_id: String,
    holder: String,
    /// `PRAGMA data_version` inside that commit's transaction.
    data_version: i64,
    /// This connection's `total_changes()` after that commit.
    changes: u64,
    /// The run's last event.
    pub(crate) tail: Tail,
    /// The lease's heartbeat (the holder's, not taking over).
    pub(crate) heartbeat_at: i64,
    /// The run is in no concurrency group.
    pub(crate) alone: bool,
    /// The run's steps with a process.
    pub(crate) in_process: InProcess,
    /// The run's row holds a state that is not final and no kept counts
    /// (`run_counts::Row::StaysOpen`).
    pub(crate) open: bool,
    /// The steps' and attempts' patches its commits left pending
    /// (`commit::deferred`): the events past the run's watermark.
    pub(crate) deferred: Deferred,
}

/// The counters a commit reads inside its transaction, before it writes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Counters {
    data_version: i64,
    changes: u64,
}

impl Counters {
    /// Read inside the commit's transaction, before anything is written.
    pub(crate) fn read(tx: &Connection) -> Result<Counters, StoreError> {
        let data_version = tx
            .prepare_cached("PRAGMA data_version")?
            .query_row([], |r| r.get(0))?;
        Ok(Counters {
            data_version,
            changes: tx.total_changes(),
        })
    }
}

/// What a fenced commit found and left: what [`Known`] keeps.
pub(crate) struct Left {
    pub(crate) tail: Option<Tail>,
    pub(crate) heartbeat_at: Option<i64>,
    pub(crate) alone: bool,
    pub(crate) in_process: InProcess,
    pub(crate) open: bool,
    pub(crate) deferred: Deferred,
}

impl Known {
    /// The patches `known`'s commits deferred (taken out of it), if it is `run_id`'s
    /// under `holder`, whatever was written since: the next commit keeps them only
    /// if the run's watermark is still where they start (`commit_onto`).
    pub(crate) fn deferred_of(
        known: Option<&mut Known>,
        run_id: &str,
        holder: &str,
    ) -> Option<Deferred> {
        known
            .filter(|k| k.run_id == run_id && k.holder == holder)
            .map(|k| std::mem::take(&mut k.deferred))
    }

    /// `known` if it is still what the store holds for `run_id` fenced by `holder`:
    /// nothing has been written since by anyone.
    pub(crate) fn still(
        known: Option<Known>,
        run_id: &str,
        holder: &str,
        now: Counters,
    ) -> Option<Known> {
        known.filter(|k| {
            k.run_id == run_id
                && k.holder == holder
                && k.data_version == now.data_version
                && k.changes == now.changes
        })
    }

    /// What the next commit may take as read, after a commit that left `left` (read
    /// when it began at `at`) and ended with this connection's `changes_after`.
    /// `None` unless the commit found the run's tail and held its lease.
    pub(crate) fn after(
        run_id: &str,
        holder: &str,
        at: Counters,
        changes_after: u64,
        left: Left,
    ) -> Option<Known> {
        Some(Known {
            run_id: run_id.to_string(),
            holder: holder.to_string(),
            data_version: at.data_version,
            changes: changes_after,
            tail: left.tail?,
            heartbeat_at: left.heartbeat_at?,
            alone: left.alone,
            in_process: left.in_process,
            open: left.open,
            deferred: left.deferred,
        })
    }
}

#[cfg(test)]
#[path = "known_tests.rs"]
mod tests;

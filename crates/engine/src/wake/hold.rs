//! An engine's hold on a run, the same in every world: it takes the run (its writes
//! fenced from then on), renews the lease once a [`HEARTBEAT`] of its clock has passed,
//! stops driving a run the store says it lost, and lets go of a run it drove to its
//! end or stops driving. The driver (`driver.rs`) and each simulated engine
//! (`crates/sim`) call these; which engine holds what, and when it beats or dies, is
//! the world's.
use super::Run;
use baton_core::Core;
use baton_model::Timestamp;
use baton_store::{Store, StoreError};
use std::path::Path;
use std::time::Duration;

/// How often an engine renews the leases of the runs it drives.
pub const HEARTBEAT: Duration = Duration::from_secs(2);

/// An engine takes run `run_id` of `plan` to drive it as `holder`: from now on each
/// write of its store connection to the run checks that the run still holds its lease
/// and its group (and the plan's store-wide pools' slots), `Store::fence`.
pub fn take(store: &mut Store, run_id: &str, holder: &str, plan: &baton_workflow::Plan) {
    store.fence(run_id, holder, &crate::store_pools(plan));
}

/// Whether the lease is due to be renewed, `since` its last renewal.
pub fn beat_due(since: Duration) -> bool {
    since >= HEARTBEAT
}

/// What a heartbeat found.
#[derive(Debug)]
pub enum Beat {
    /// The lease renewed (and the store checked to be the same file).
    Renewed,
    /// The run went to another (its lease, its group): the engine stops driving it,
    /// and what it started there is stopped.
    Lost(StoreError),
}

/// The lease renewed, or the run found lost (`super::heartbeat`); an error: the store
/// failed.
pub fn beat(run: Run<'_>, holder: &str, now: Timestamp) -> Result<Beat, StoreError> {
    match super::heartbeat(run, holder, now) {
        Ok(()) => Ok(Beat::Renewed),
        Err(err) if err.run_lost() => Ok(Beat::Lost(err)),
        Err(err) => Err(err),
    }
}

/// Whether an engine's drive of a run is over: its core finished, and nothing it
/// started still runs or still tells it something (`idle`: no attempt alive, no
/// notifier running).
pub fn done(core: &Core, idle: bool) -> bool {
    idle && core.is_finished()
}

/// How an engine leaves a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leaving {
    /// Only if its drive is over ([`done`]).
    IfDone,
    /// Whatever the run's state: the engine stops driving it (a signal, a hand-over
    /// to a background engine, its console gone, its stop overdue).
    Stopping,
}

/// The engine lets go of the run once its drive is over, or as it stops driving it
/// (`leaving`), its decisions committed before: an ended run's log times folded onto
/// its attempts' rows, then its lease released (`super::let_go`). `false`: it drives
/// on.
pub fn finish_if_done(
    run: Run<'_>,
    (holder, log_dir): (&str, &Path),
    idle: bool,
    leaving: Leaving,
) -> Result<bool, StoreError> {
    if leaving == Leaving::IfDone && !done(run.core, idle) {
        return Ok(false);
    }
    super::let_go(run, holder, log_dir)?;
    Ok(true)
}

//! The engine's side of fencing (`store::fence`): every commit and heartbeat checks
//! that the run still holds its lease and its concurrency group, and renews the lease.
//! What an engine does after a pause in those — a start decided before it was stopped,
//! a process that came up while it was — is checked again before it goes on, so an
//! engine continued after its group went to another run starts nothing more: it
//! stops driving (`GroupLost`, `LeaseLost`), stopping what it started (`abandon`).
use super::{Driver, DriverError};
use std::time::{Duration, Instant};

/// How long a fence check stands for acting: well inside the lease's life
/// (`LEASE_STALE`, 15 s), so that no other engine can have judged this one gone since.
const FENCE_FRESH: Duration = Duration::from_secs(5);

impl Driver {
    /// The store checked the fence (a commit, a heartbeat) just now.
    pub(super) fn fenced(&mut self) {
        self.fenced_at = Instant::now();
    }

    /// Before acting on a decision (a start) or on a process that came up: the fence
    /// is checked again unless it was moments ago. Fails once the run lost its lease
    /// or its group.
    pub(super) fn fresh_fence(&mut self) -> Result<(), DriverError> {
        if self.fenced_at.elapsed() > FENCE_FRESH {
            self.store.check_fence(&self.run_id)?;
            self.fenced();
        }
        Ok(())
    }
}

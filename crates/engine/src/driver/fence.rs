//! The engine's side of fencing (`store::fence`): every commit and heartbeat checks
//! that the run still holds its lease and its concurrency group, and renews the lease.
//! What an engine does after a pause in those — a start decided before it was stopped,
//! a process that came up while it was — is checked again before it goes on, so an
//! engine continued after its group went to another run starts nothing more: it
//! stops driving (`GroupLost`, `LeaseLost`), stopping what it started (`abandon`).
use super::{Driver, DriverError};
use std::time::Instant;

impl Driver {
    /// The store checked the fence (a commit, a heartbeat) just now.
    pub(super) fn fenced(&mut self) {
        self.fenced_at = Instant::now();
    }

    /// Before acting on a decision (a start) or on a process that came up: the fence
    /// is checked again unless it was moments ago (`crate::wake::fresh_fence`). Fails
    /// once the run lost its lease or its group.
    pub(super) fn fresh_fence(&mut self) -> Result<(), DriverError> {
        crate::wake::fresh_fence(self)
    }
}

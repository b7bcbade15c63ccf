//! The engine's side of fencing (`store::fence`): every commit and heartbeat checks
//! that the run still holds its lease and its concurrency group, and renews the lease.
//! What an engine does after a pause in those — a start decided before it was stopped,
//! a process that came up while it was — is checked again before it goes on, so an
//! engine continued after its group went to another run starts nothing more: it
//! stops driving (`GroupLost`, `LeaseLost`), stopping what it started (`abandon`).
use super::{Driver, DriverError};
use crate::wake::{Run, hold};
use baton_model::Timestamp;
use baton_store::StoreError;
use std::time::{Duration, Instant};

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

/// The driver as its heartbeat meets it (`wake::hold::renew`): its one run, its last
/// heartbeat's instant.
pub(super) struct Beating<'a> {
    pub driver: &'a mut Driver,
    pub last: &'a mut Instant,
}

impl hold::Holds for Beating<'_> {
    type Error = DriverError;

    fn holder(&self) -> String {
        self.driver.lease_holder.clone()
    }

    fn since_beat(&self) -> Duration {
        self.last.elapsed()
    }

    fn beating(&mut self) -> Timestamp {
        *self.last = Instant::now();
        Timestamp::now()
    }

    fn held(&self) -> Vec<String> {
        vec![self.driver.run_id.clone()]
    }

    fn run<'a>(&'a mut self, _run_id: &'a str) -> Option<Run<'a>> {
        let d = &mut *self.driver;
        Some(Run {
            store: &mut d.store,
            run_id: &d.run_id,
            core: &mut d.core,
        })
    }

    fn fenced(&mut self, _run_id: &str) {
        self.driver.fenced();
    }

    /// The run lost stops this engine: its loop ends with the error, and what it
    /// started is stopped (`Driver::abandon`).
    fn lost(&mut self, _run_id: &str, err: StoreError) -> Result<(), DriverError> {
        Err(err.into())
    }
}

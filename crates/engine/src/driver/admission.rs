//! A queued run's turn in its concurrency group (`store::slots`): the driver asks the
//! store on every poll; the run starts once it holds the group, and ends, cancelled,
//! once a newer run replaced it in line (`max_pending`), whether or not the replacing
//! run's own cancel reached this engine (it was stopped while that cancel waited, or
//! its sender was killed before sending it).
use super::{Driver, DriverError};
use baton_core::Input;
use baton_store::slots::Turn;

impl Driver {
    pub(super) fn admit_if_free(&mut self, inputs: &mut Vec<Input>) -> Result<(), DriverError> {
        if !self.core.waits_for_group() {
            return Ok(());
        }
        match self.store.admit_queued(&self.run_id)? {
            Turn::Waits => {}
            Turn::Holds(group) => inputs.push(Input::Admitted {
                reason: format!("concurrency group `{group}` is free: this run holds it"),
            }),
            Turn::Replaced(group) => inputs.push(Input::Replaced { group }),
        }
        Ok(())
    }
}

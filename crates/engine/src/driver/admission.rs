//! A queued run's turn in its concurrency group (`store::slots`): the driver asks the
//! store on every poll; the run starts once it holds the group, and ends, cancelled,
//! once a newer run replaced it in line (`max_pending`), whether or not the replacing
//! run's own cancel reached this engine (it was stopped while that cancel waited, or
//! its sender was killed before sending it).
use super::{Driver, DriverError};
use crate::wake;
use baton_core::Input;

impl Driver {
    pub(super) fn admit_if_free(&mut self, inputs: &mut Vec<Input>) -> Result<(), DriverError> {
        let run = wake::Run {
            store: &mut self.store,
            run_id: &self.run_id,
            core: &mut self.core,
        };
        inputs.extend(wake::admission(run)?);
        Ok(())
    }
}

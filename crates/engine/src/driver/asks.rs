//! The steps' asks (`baton ask` run by a step of this run) as notifications: the asker
//! writes its row and waits on the store, not on this engine; the engine looks at the
//! run's asks whenever the store changed (woken by the asker and by the answer) and
//! tells its `[[notify]]` of each opening and decision as of a gate's
//! (`notify::ask_notices`). An engine that takes a run over (resume) tells again of
//! the asks still open, and of none already decided. The run's asks are read only when
//! the store's asks counter moved since the last read (`Store::asks_rev`, moved by
//! every write of an ask): a step's exit costs one row read, not every ask of the run.
use super::{Driver, DriverError};
use baton_model::ask::AskState;
use std::collections::HashMap;

impl Driver {
    pub(super) fn notice_asks(&mut self) -> Result<(), DriverError> {
        if self.core.plan().notify.is_empty() {
            return Ok(());
        }
        if !self.store.asks_moved(&mut self.asks_rev) && self.asks_seen.is_some() {
            return Ok(());
        }
        let asks = self.store.asks_of_run(&self.run_id).inspect_err(|_| {
            // Read again at the next look.
            self.asks_rev = None;
        })?;
        let first_look = self.asks_seen.is_none();
        let seen = self.asks_seen.get_or_insert_with(HashMap::new);
        let mut notices = Vec::new();
        for a in asks {
            let before = seen.insert(a.id.clone(), a.state);
            if first_look && a.state != AskState::Open {
                // Decided before this engine: its notices were another's to give.
                continue;
            }
            notices.extend(super::super::notify::ask_notices(&a, before));
        }
        self.fire(notices);
        Ok(())
    }
}

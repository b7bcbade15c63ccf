//! Slots of pools shared by every run in the store: the core asks (`Effect::AskSlot`),
//! the driver asks the store (`store::pool_slots`) on every poll until it gets one,
//! and answers the core (`Input::SlotGranted`, `Input::SlotBusy`).
use super::*;
use baton_core::SlotRequest;
use baton_store::pool_slots::{SlotAsk, SlotVerdict};

impl Driver {
    /// Ask the store for every slot the core waits for; an ask the core no longer
    /// needs (the step was cancelled, skipped, or runs) is dropped.
    pub(super) fn ask_for_slots(&mut self, inputs: &mut Vec<Input>) -> Result<(), DriverError> {
        let asks = std::mem::take(&mut self.slot_asks);
        for r in asks {
            if !self.core.wants_slot(r.step, r.attempt) {
                continue;
            }
            let pool = &self.core.plan().pools[r.pool];
            let ask = SlotAsk {
                pool: pool.name.clone(),
                capacity: pool.capacity,
                rate: pool.rate,
                burst: pool.burst,
                run_id: self.run_id.clone(),
                step: self.core.plan().steps[r.step].id.clone(),
                attempt: r.attempt,
            };
            let (step, attempt) = (r.step, r.attempt);
            match self.store.take_pool_slot(&ask)? {
                SlotVerdict::Granted => inputs.push(Input::SlotGranted { step, attempt }),
                SlotVerdict::Full { holders } => {
                    inputs.push(Input::SlotBusy {
                        step,
                        attempt,
                        holders,
                    });
                    self.slot_asks.push(r);
                }
                SlotVerdict::RateLimited => {
                    inputs.push(Input::SlotBusy {
                        step,
                        attempt,
                        holders: Vec::new(),
                    });
                    self.slot_asks.push(r);
                }
            }
        }
        Ok(())
    }

    pub(super) fn want_slot(&mut self, r: SlotRequest) {
        if !self.slot_asks.contains(&r) {
            self.slot_asks.push(r);
        }
    }
}

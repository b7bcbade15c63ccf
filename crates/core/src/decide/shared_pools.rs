//! Steps of pools shared by every run in the store (`scope = "store"`): before such a
//! step starts, the driver asks the store for a slot (`Effect::AskSlot`) and answers
//! with `Input::SlotGranted` or `Input::SlotBusy`. The core stays pure: it starts the
//! step once granted (its `running` event is the decision on record), and shows who
//! holds the pool while it waits.
use super::*;

impl Core {
    /// Whether queued step `i` may start as far as a store-wide pool goes; asks for a
    /// slot (once per attempt) when it has none.
    pub(super) fn slot_ready(&mut self, i: usize) -> bool {
        let shared = self
            .pool_of(i)
            .is_some_and(|p| self.plan.pools[p].scope == baton_workflow::PoolScope::Store);
        if !shared {
            return true;
        }
        match self.steps[i].slot {
            SlotRt::Granted => true,
            SlotRt::Asked => false,
            SlotRt::Idle => {
                self.steps[i].slot = SlotRt::Asked;
                self.slot_asks.push(i);
                false
            }
        }
    }

    /// The asks `pick` gathered, as effects for the driver.
    pub(super) fn ask_slots(&mut self, fx: &mut Fx) {
        for i in std::mem::take(&mut self.slot_asks) {
            if let Some(pool) = self.pool_of(i) {
                fx.push(Effect::AskSlot(SlotRequest {
                    step: i,
                    attempt: self.steps[i].attempts + 1,
                    pool,
                }));
            }
        }
    }

    /// Still waiting for this slot (the driver drops an ask the core no longer needs).
    pub fn wants_slot(&self, step: usize, attempt: u32) -> bool {
        self.steps.get(step).is_some_and(|s| {
            s.state == StepState::Queued && s.slot == SlotRt::Asked && s.attempts + 1 == attempt
        })
    }

    pub(super) fn slot_granted(&mut self, step: usize, attempt: u32) {
        if self.wants_slot(step, attempt) {
            self.steps[step].slot = SlotRt::Granted;
            if let Some(m) = self.steps[step].more.written() {
                m.slot_wait = None;
            }
        }
    }

    /// The pool is full (held by steps of `holders`) or out of tokens (`holders`
    /// empty): the step waits, and its view says for whom.
    pub(super) fn slot_busy(&mut self, step: usize, attempt: u32, holders: Vec<String>) {
        if !self.wants_slot(step, attempt) {
            return;
        }
        let Some(p) = self.plan.steps[step].pool else {
            return;
        };
        let pool = &self.plan.pools[p];
        let why = if holders.is_empty() {
            format!(
                "waiting for pool `{}`: its store-wide rate has no token now",
                pool.name
            )
        } else {
            baton_model::pool_wait(&pool.name, pool.capacity, &holders)
        };
        self.steps[step].more.slot_wait = Some(why);
    }
}

//! Slots of pools shared by every run in the store: the core asks (`Effect::AskSlot`),
//! the engine asks the store (`store::pool_slots`) at each gathering until it gets one
//! (`crate::wake::wake_up` gathers them), and answers the core (`Input::SlotGranted`, `Input::SlotBusy`).
use super::*;
use baton_core::SlotRequest;
use baton_store::pool_slots::{SlotAsk, SlotVerdict};

/// What the store is asked for the slot `r` the core wants, of run `run_id`.
pub fn slot_ask(plan: &baton_workflow::Plan, run_id: &str, r: &SlotRequest) -> SlotAsk {
    let pool = &plan.pools[r.pool];
    SlotAsk {
        pool: pool.name.clone(),
        capacity: pool.capacity,
        rate: pool.rate,
        burst: pool.burst,
        run_id: run_id.to_string(),
        step: plan.steps[r.step].id.clone(),
        attempt: r.attempt,
    }
}

/// The store-wide pools of `plan` with their capacities: what an engine's fence
/// checks its run's slots against (`Store::fence`).
pub fn store_pools(plan: &baton_workflow::Plan) -> Vec<(String, usize)> {
    plan.pools
        .iter()
        .filter(|p| p.scope == baton_workflow::PoolScope::Store)
        .map(|p| (p.name.clone(), p.capacity))
        .collect()
}

/// The core's input for the store's answer to `r`, and whether to ask again at the
/// next poll (the pool was full, or its rate had no token).
pub fn slot_answer(r: &SlotRequest, verdict: SlotVerdict) -> (Input, bool) {
    let (step, attempt) = (r.step, r.attempt);
    let busy = |holders| Input::SlotBusy {
        step,
        attempt,
        holders,
    };
    match verdict {
        SlotVerdict::Granted => (Input::SlotGranted { step, attempt }, false),
        SlotVerdict::Full { holders } => (busy(holders), true),
        SlotVerdict::RateLimited => (busy(Vec::new()), true),
    }
}

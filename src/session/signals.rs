//! A run's golden signals as the console shows them (steps finished per second, error
//! rate, step duration p50/p95, queue depth, running now), for `show --json` and
//! `runs --json`: the core's own figures, from its events replayed.
use super::SessionError;
use super::prepare::{PlanSource, rebuild};
use crate::model::metrics::Metrics;
use crate::model::view::GoldenSignals;
use crate::model::{RunView, Timestamp};
use crate::store::Store;

/// The signals of `run_id` at `now` (a live run's rate counts up to now, a finished
/// one's up to its end).
pub fn golden(store: &Store, run_id: &str, now: Timestamp) -> Result<GoldenSignals, SessionError> {
    Ok(replayed(store, run_id, now)?.signals)
}

/// The view of `run_id` at `now` from its events replayed: the figures only the core
/// computes (the signals, the budget's use).
pub fn replayed(store: &Store, run_id: &str, now: Timestamp) -> Result<RunView, SessionError> {
    Ok(rebuild(store, run_id, PlanSource::Recorded, &[], false)?.view(now))
}

/// Each gauge run's budget use (`Metrics::run_gauges`), which the store's tables do
/// not hold: the replayed core's. A run that cannot be replayed keeps none.
pub fn add_budgets(store: &Store, m: &mut Metrics, now: Timestamp) {
    for g in &mut m.run_gauges {
        if let Ok(Some(b)) = replayed(store, &g.run, now).map(|v| v.budget) {
            g.budget = b.dimensions();
        }
    }
}

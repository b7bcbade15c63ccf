//! A run's golden signals as the console shows them (steps finished per second, error
//! rate, step duration p50/p95, queue depth, running now), for `show --json` and
//! `runs --json`: the core's own figures, from its events replayed.
use super::SessionError;
use super::prepare::{PlanSource, rebuild};
use crate::model::Timestamp;
use crate::model::view::GoldenSignals;
use crate::store::Store;

/// The signals of `run_id` at `now` (a live run's rate counts up to now, a finished
/// one's up to its end).
pub fn golden(store: &Store, run_id: &str, now: Timestamp) -> Result<GoldenSignals, SessionError> {
    Ok(rebuild(store, run_id, PlanSource::Recorded, &[], false)?
        .view(now)
        .signals)
}

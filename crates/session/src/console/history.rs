//! A step's history for the console (issue 76 point 6): `baton history`'s read
//! (`Store::step_runs`, the newest runs only) and fold (`StepTrend`), done off the
//! service's thread on the console's ask, never per frame.
use super::Service;
use baton_model::Refusal;
use baton_model::step_trend::{DEFAULT_RUNS, StepTrend};
use tokio::sync::oneshot;

impl Service {
    /// Step `step` across the newest [`DEFAULT_RUNS`] runs of `workflow`: a read bounded
    /// by that number, whatever the store holds.
    pub(super) fn step_history(
        &self,
        workflow: String,
        step: String,
        reply: oneshot::Sender<Result<StepTrend, Refusal>>,
    ) {
        self.read_off_thread(reply, move |store| {
            let runs = store.step_runs(&workflow, &step, DEFAULT_RUNS)?;
            Ok(StepTrend::of(runs))
        });
    }
}

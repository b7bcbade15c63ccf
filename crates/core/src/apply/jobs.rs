//! Folds of a step's jobs with a scheduler (Slurm, a batch system): submitted, observed.
use super::*;
use baton_model::EventKind;

impl Core {
    /// Fold `StepJob`: the attempt's job, submitted.
    pub(super) fn fold_job(&mut self, ev: &Event) {
        let EventKind::StepJob {
            step,
            attempt,
            executor,
            job_id,
        } = &ev.kind
        else {
            return;
        };
        if let Some(i) = self.step_index(step) {
            self.steps[i].more.job = Some((executor.clone(), job_id.clone()));
            self.steps[i].more.jobs.push(AttemptJob {
                attempt: *attempt,
                job: JobView::submitted(executor, job_id),
            });
        }
    }

    /// Fold `StepJobState`: what the scheduler said of the attempt's job.
    pub(super) fn fold_job_state(&mut self, ev: &Event) {
        let EventKind::StepJobState {
            step,
            attempt,
            state,
            reason,
        } = &ev.kind
        else {
            return;
        };
        if let Some(i) = self.step_index(step)
            && let Some(m) = self.steps[i].more.written()
            && let Some(j) = m.jobs.iter_mut().rev().find(|j| j.attempt == *attempt)
        {
            j.job.observe(state, reason.as_deref(), ev.at);
        }
    }
}

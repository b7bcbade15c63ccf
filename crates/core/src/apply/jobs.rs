//! Folds of a step's jobs with a scheduler (Slurm, a batch system): submitted, observed.
use super::*;

impl Core {
    pub(super) fn fold_job(&mut self, step: &str, attempt: u32, executor: &str, job_id: &str) {
        if let Some(i) = self.step_index(step) {
            self.steps[i].job = Some((executor.to_string(), job_id.to_string()));
            self.steps[i].jobs.push(AttemptJob {
                attempt,
                job: JobView::submitted(executor, job_id),
            });
        }
    }

    pub(super) fn fold_job_state(
        &mut self,
        at: Timestamp,
        step: &str,
        attempt: u32,
        state: &str,
        reason: Option<&str>,
    ) {
        if let Some(i) = self.step_index(step)
            && let Some(j) = self.steps[i]
                .jobs
                .iter_mut()
                .rev()
                .find(|j| j.attempt == attempt)
        {
            j.job.observe(state, reason, at);
        }
    }
}

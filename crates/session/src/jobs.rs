//! Resume's look at the batch jobs of a run: a job the dead engine submitted but did
//! not get to record (the window between `sbatch` and the commit) is found by its name
//! (`baton-<run id>`) and comment (`<step>.<attempt>`), then adopted when its attempt
//! still runs, or cancelled: never run twice.
use baton_core::{Core, Effect};
use baton_exec::slurm::{SlurmExecutor, state};
use baton_model::Timestamp;
use baton_workflow::ExecutorKind;

/// Adopt the run's unrecorded live jobs into `core` (`Core::adopt_job`), before resume;
/// their effects (events, cancellations) go first among the driver's initial effects.
pub fn adopt(core: &mut Core, run_id: &str, now: Timestamp) -> Vec<Effect> {
    let plan = std::sync::Arc::clone(core.plan());
    let mut fx = Vec::new();
    for e in &plan.executors {
        let ExecutorKind::Slurm(opts) = &e.kind else {
            continue;
        };
        let Ok(jobs) = SlurmExecutor::new(&e.name, (**opts).clone(), run_id).run_jobs_blocking()
        else {
            continue;
        };
        for job in jobs {
            if matches!(state::phase(&job.state), state::Phase::Ended(_)) {
                continue;
            }
            let Some((step, attempt)) = state::parse_comment(&job.comment) else {
                continue;
            };
            let Some(step) = plan.step_index(step) else {
                continue;
            };
            fx.extend(core.adopt_job(step, attempt, e.name.clone(), job.job_id, now));
        }
    }
    fx
}

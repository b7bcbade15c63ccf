//! The Slurm kind as a [`Backend`]: a job per attempt (`mod.rs`), frozen with
//! `scontrol suspend`, found again after its engine died by its name and comment.
use super::state::{self, Phase};
use super::{CancelHandle, JobAttempt, SlurmExecutor};
use crate::backend::{
    Attempt, Backend, BoxFuture, Freezing, JobStates, KillHandle, LeftBehind, NotAnswered,
    Placement, Stop, boxed,
};
use crate::kinds::Setup;
use crate::stream::TailHandle;
use crate::{ExecError, Finished, KillReason, ShellJob};
use baton_workflow::{ExecutorSpec, SlurmOptions, format_duration};
use std::sync::Arc;
use std::time::Duration;

impl SlurmExecutor {
    /// The back end of a `type = "slurm"` executor (`kinds.rs`).
    pub(crate) fn from_spec(spec: &ExecutorSpec, opts: &SlurmOptions, setup: &Setup<'_>) -> Self {
        SlurmExecutor::new(&spec.name, opts.clone(), setup.run_id)
    }
}

impl Backend for SlurmExecutor {
    fn name(&self) -> &str {
        SlurmExecutor::name(self)
    }

    /// Written out and submitted; `timeout` becomes the job's `--time`.
    fn start(
        self: Arc<Self>,
        job: ShellJob,
        timeout: Option<Duration>,
    ) -> BoxFuture<Result<Box<dyn Attempt>, ExecError>> {
        Box::pin(async move { self.submit(job, timeout).await.map(boxed) })
    }

    /// A job outlives its engine; one held frozen is suspended again by the driver.
    fn reattach(
        self: Arc<Self>,
        job: ShellJob,
        job_id: &str,
        _frozen: bool,
    ) -> Result<Box<dyn Attempt>, ExecError> {
        Ok(boxed(SlurmExecutor::reattach(&self, job, job_id)))
    }

    fn cancel_job(self: Arc<Self>, job_id: &str) -> BoxFuture<()> {
        let job_id = job_id.to_string();
        Box::pin(async move { super::cancel(&job_id).await })
    }

    /// The run's jobs `squeue` lists that have not ended, by their name
    /// (`baton-<run id>`) and comment (`<step>.<attempt>`).
    fn left_behind(&self) -> Result<Vec<LeftBehind>, NotAnswered> {
        let jobs = self.run_jobs_blocking().map_err(NotAnswered::said)?;
        Ok(jobs
            .into_iter()
            .filter(|job| !matches!(state::phase(&job.state), Phase::Ended(_)))
            .filter_map(|job| {
                let (step, attempt) = state::parse_comment(&job.comment)?;
                Some(LeftBehind {
                    step: step.to_string(),
                    attempt,
                    job_id: job.job_id.clone(),
                })
            })
            .collect())
    }

    fn describe(&self) -> Vec<String> {
        let o = self.options();
        let mut opts = Vec::new();
        for (k, v) in [
            ("partition", &o.partition),
            ("account", &o.account),
            ("qos", &o.qos),
            ("mem", &o.mem),
            ("gres", &o.gres),
        ] {
            if let Some(v) = v {
                opts.push(format!("{k} {v}"));
            }
        }
        if let Some(c) = o.cpus {
            opts.push(format!("cpus {c}"));
        }
        if let Some(t) = o.time_limit {
            opts.push(format!("time_limit {}", format_duration(t)));
        }
        if !o.extra_args.is_empty() {
            opts.push(format!("extra_args {}", o.extra_args.join(" ")));
        }
        opts.push(format!("poll {}", format_duration(o.poll)));
        vec![
            format!("options: {}", opts.join(", ")),
            format!("workdir: {}", o.workdir.display()),
        ]
    }
}

impl Attempt for JobAttempt {
    fn placement(&self) -> Placement {
        Placement::Job {
            executor: self.executor_name().to_string(),
            job_id: self.job_id().to_string(),
        }
    }

    fn kill_handle(&self) -> KillHandle {
        KillHandle::new(Arc::new(SlurmStop {
            cancel: self.cancel_handle(),
            job_id: self.job_id().to_string(),
        }))
    }

    fn tail(&self) -> TailHandle {
        JobAttempt::tail(self)
    }

    fn job_states(&self) -> Option<JobStates> {
        Some(JobStates::new(self.status()))
    }

    fn wait(self: Box<Self>) -> BoxFuture<Finished> {
        Box::pin(JobAttempt::wait(*self))
    }
}

/// A Slurm job: its waiter stops it (`scancel`); `scontrol suspend` names it to freeze.
#[derive(Debug)]
struct SlurmStop {
    cancel: CancelHandle,
    job_id: String,
}

impl Stop for SlurmStop {
    fn terminate(&self, grace: Duration, reason: KillReason) {
        self.cancel.terminate(grace, reason)
    }

    /// `scontrol suspend`/`resume`, in a task of its own.
    fn freeze(&self, stop: bool) -> Freezing {
        let job_id = self.job_id.clone();
        Freezing::Later(Box::pin(async move {
            super::suspend(&job_id, stop)
                .await
                .map_err(|e| ExecError::Freeze { why: e.to_string() })
        }))
    }
}

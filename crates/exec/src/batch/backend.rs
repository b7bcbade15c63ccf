//! The batch kind as a [`Backend`]: a job of any scheduler through its own commands
//! (`mod.rs`), found again after its engine died by its attempt's directory. Its jobs
//! are not frozen (a scheduler's suspend is not one baton knows).
use super::{BatchAttempt, BatchExecutor};
use crate::backend::{
    Attempt, Backend, BoxFuture, JobStates, KillHandle, LeftBehind, NotAnswered, Placement, boxed,
};
use crate::kinds::Setup;
use crate::stream::TailHandle;
use crate::{ExecError, Finished, ShellJob};
use baton_workflow::batch::{BatchArg, BatchOptions};
use baton_workflow::{ExecutorSpec, format_duration};
use std::sync::Arc;
use std::time::Duration;

impl BatchExecutor {
    /// The back end of a `type = "batch"` executor (`kinds.rs`).
    pub(crate) fn from_spec(spec: &ExecutorSpec, opts: &BatchOptions, setup: &Setup<'_>) -> Self {
        BatchExecutor::new(&spec.name, opts.clone(), setup.run_id).with_secrets(setup.secrets)
    }
}

impl Backend for BatchExecutor {
    fn name(&self) -> &str {
        BatchExecutor::name(self)
    }

    /// Written out and submitted; `timeout` fills `{timeout_s}`.
    fn start(
        self: Arc<Self>,
        job: ShellJob,
        timeout: Option<Duration>,
    ) -> BoxFuture<Result<Box<dyn Attempt>, ExecError>> {
        Box::pin(async move { self.submit(job, timeout).await.map(boxed) })
    }

    fn reattach(
        self: Arc<Self>,
        job: ShellJob,
        job_id: &str,
        _frozen: bool,
    ) -> Result<Box<dyn Attempt>, ExecError> {
        Ok(boxed(BatchExecutor::reattach(&self, job, job_id)))
    }

    fn cancel_job(self: Arc<Self>, job_id: &str) -> BoxFuture<()> {
        let job_id = job_id.to_string();
        Box::pin(async move { BatchExecutor::cancel_job(&self, &job_id).await })
    }

    /// The run's attempts that were submitted, read from their directories.
    fn left_behind(&self) -> Result<Vec<LeftBehind>, NotAnswered> {
        Ok(self
            .run_attempts_blocking()
            .into_iter()
            .map(LeftBehind::from)
            .collect())
    }

    /// Its commands as written, its options and its directory.
    fn describe(&self) -> Vec<String> {
        let o = self.options();
        let mut lines: Vec<String> = [
            ("submit", &o.submit),
            ("status", &o.status),
            ("cancel", &o.cancel),
        ]
        .iter()
        .map(|(name, args)| format!("{name}: {}", command_as_written(args)))
        .collect();
        let mut opts: Vec<String> = o
            .resources
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        if let Some(t) = o.time_limit {
            opts.push(format!("time_limit {}", format_duration(t)));
        }
        opts.push(format!("poll {}", format_duration(o.poll)));
        lines.push(format!("options: {}", opts.join(", ")));
        lines.push(format!("workdir: {}", o.workdir.display()));
        lines
    }
}

/// A batch command as written: each argument quoted when it holds a space, a group in
/// brackets (it is left out when one of its values is missing).
fn command_as_written(args: &[BatchArg]) -> String {
    let word = |a: &str| {
        if a.is_empty() || a.contains(char::is_whitespace) {
            format!("{a:?}")
        } else {
            a.to_string()
        }
    };
    args.iter()
        .map(|a| match a {
            BatchArg::One(a) => word(a),
            BatchArg::Group(g) => {
                format!(
                    "[{}]",
                    g.iter().map(|a| word(a)).collect::<Vec<_>>().join(" ")
                )
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

impl Attempt for BatchAttempt {
    fn placement(&self) -> Placement {
        Placement::Job {
            executor: self.executor_name().to_string(),
            job_id: self.job_id().to_string(),
        }
    }

    /// Its waiter does the stopping (the scheduler's `cancel`).
    fn kill_handle(&self) -> KillHandle {
        KillHandle::new(Arc::new(self.cancel_handle()))
    }

    fn tail(&self) -> TailHandle {
        BatchAttempt::tail(self)
    }

    fn job_states(&self) -> Option<JobStates> {
        Some(JobStates::new(self.status()))
    }

    fn wait(self: Box<Self>) -> BoxFuture<Finished> {
        Box::pin(BatchAttempt::wait(*self))
    }
}

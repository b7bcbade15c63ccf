//! The SSH kind as a [`Backend`]: a process group on a host (`mod.rs`), frozen with
//! `kill -STOP` over ssh by its waiter, found again by its attempt's directory there.
use super::{SshAttempt, SshExecutor};
use crate::backend::{
    Attempt, Backend, BoxFuture, KillHandle, LeftBehind, NotAnswered, Placement, boxed,
};
use crate::kinds::Setup;
use crate::stream::TailHandle;
use crate::{ExecError, Finished, ShellJob};
use baton_workflow::{ExecutorSpec, SshOptions};
use std::sync::Arc;
use std::time::Duration;

impl SshExecutor {
    /// The back end of a `type = "ssh"` executor (`kinds.rs`).
    pub fn from_spec(spec: &ExecutorSpec, opts: &SshOptions, setup: &Setup<'_>) -> Self {
        SshExecutor::new(&spec.name, opts.clone(), setup.run_id).with_secrets(setup.secrets)
    }
}

impl Backend for SshExecutor {
    fn name(&self) -> &str {
        SshExecutor::name(self)
    }

    fn start(
        self: Arc<Self>,
        job: ShellJob,
        _timeout: Option<Duration>,
    ) -> BoxFuture<Result<Box<dyn Attempt>, ExecError>> {
        Box::pin(async move { SshExecutor::start(&self, job).await.map(boxed) })
    }

    /// A step on a host outlives its engine; one held frozen on record is stopped or
    /// continued to match at once (what the dead engine last did to its group is not
    /// known).
    fn reattach(
        self: Arc<Self>,
        job: ShellJob,
        job_id: &str,
        frozen: bool,
    ) -> Result<Box<dyn Attempt>, ExecError> {
        Ok(boxed(SshExecutor::reattach(&self, job, job_id, frozen)))
    }

    fn cancel_job(self: Arc<Self>, job_id: &str) -> BoxFuture<()> {
        let job_id = job_id.to_string();
        Box::pin(async move { self.cancel_group(&job_id).await })
    }

    /// The run's attempts on the host, by their directories there; an unreachable host
    /// is said (`Err`), never taken for one with nothing left.
    fn left_behind(&self) -> Result<Vec<LeftBehind>, NotAnswered> {
        let found = self.run_attempts_blocking().map_err(NotAnswered::said)?;
        Ok(found.into_iter().map(LeftBehind::from).collect())
    }

    /// Artifacts move over the host's shared connection (`files.rs`).
    fn files(self: Arc<Self>) -> Option<Arc<dyn crate::artifact_channel::FileChannel>> {
        Some(self)
    }

    fn describe(&self) -> Vec<String> {
        vec![format!("workdir: {} (on the host)", self.opts.workdir)]
    }
}

impl Attempt for SshAttempt {
    fn placement(&self) -> Placement {
        Placement::Job {
            executor: self.executor_name().to_string(),
            job_id: self.pgid().to_string(),
        }
    }

    /// Its waiter does the stopping (a signal to the remote group).
    fn kill_handle(&self) -> KillHandle {
        KillHandle::new(Arc::new(self.cancel_handle()))
    }

    fn tail(&self) -> TailHandle {
        SshAttempt::tail(self)
    }

    fn wait(self: Box<Self>) -> BoxFuture<Finished> {
        Box::pin(SshAttempt::wait(*self))
    }
}

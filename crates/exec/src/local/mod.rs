//! The local back end: a shell attempt as a process group of this machine
//! (`shell.rs`, started by `spawn.rs`), adopted again after its engine died when it was
//! held frozen (`adopt.rs`, `anchor.rs`); `group.rs` signals and finds groups.
pub mod adopt;
pub mod anchor;
mod attempt_log;
pub(crate) mod child_leftovers;
pub mod group;
pub(crate) mod launcher;
pub(crate) mod lookup;
pub mod shell;
pub mod spawn;
pub mod vfork;

use super::backend::{Attempt, Backend, BoxFuture, Freezing, KillHandle, Placement, Stop, boxed};
use super::stream::TailHandle;
use super::usage_follow::UsageFollower;
use super::{ExecError, Finished, KillReason, ShellJob};
use shell::Running;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

/// Steps without an executor, and `type = "local"` ones.
#[derive(Debug)]
pub struct LocalBackend;

static LOCAL: LazyLock<Arc<LocalBackend>> = LazyLock::new(|| Arc::new(LocalBackend));

impl LocalBackend {
    /// The one local back end (a clone of it costs no allocation).
    pub fn shared() -> Arc<dyn Backend> {
        LOCAL.clone()
    }
}

impl Backend for LocalBackend {
    fn name(&self) -> &str {
        "local"
    }

    fn is_local(&self) -> bool {
        true
    }

    /// The process is ordered before this returns, not when the returned future is
    /// first polled: the caller decides when (after the commit recording the start).
    /// On a runtime with worker threads it starts on the launching thread
    /// (`launcher.rs`), not the engine's: a start (`vfork.rs`) holds its caller until the
    /// child has exec'd, about 0.2 ms, and an `exec` that hangs (a program on a stalled
    /// network mount) holds that thread, not the workers. On a runtime of one thread
    /// it starts here, on the engine's thread, when the job allows it
    /// (`ShellJob::start_here`), else on the launching thread too.
    fn start(
        self: Arc<Self>,
        job: ShellJob,
        _timeout: Option<Duration>,
    ) -> BoxFuture<Result<Box<dyn Attempt>, ExecError>> {
        let started = shell::spawn(job);
        Box::pin(async move { started.await.map(boxed) })
    }

    /// A local process group outlives its engine only when it was frozen (a hold): it
    /// is adopted by its group id (`adopt.rs`).
    fn reattach(
        self: Arc<Self>,
        job: ShellJob,
        job_id: &str,
        _frozen: bool,
    ) -> Result<Box<dyn Attempt>, ExecError> {
        match job_id.parse::<i32>() {
            Ok(pgid) => adopt::adopt(job, pgid).map(boxed),
            Err(_) => Err(ExecError::Spawn {
                message: format!("job {job_id} is not a local process; nothing to follow"),
                log_path: None,
            }),
        }
    }
}

impl Attempt for Running {
    fn placement(&self) -> Placement {
        Placement::Process {
            pgid: self.pgid(),
            // The same text as `display()` gives, without the formatter (1.8 k a step).
            output: self.output_path().map(|p| p.to_string_lossy().into_owned()),
        }
    }

    fn kill_handle(&self) -> KillHandle {
        KillHandle::new(Arc::new(Running::kill_handle(self)))
    }

    fn tail(&self) -> TailHandle {
        Running::tail(self)
    }

    fn usage_follower(&self) -> Option<UsageFollower> {
        self.usage_path()
            .map(|p| UsageFollower::new(p.to_path_buf()))
    }

    fn wait(self: Box<Self>) -> BoxFuture<Finished> {
        Box::pin(Running::wait(*self))
    }
}

impl Stop for shell::KillHandle {
    fn terminate(&self, grace: Duration, reason: KillReason) {
        shell::KillHandle::terminate(self, grace, reason)
    }

    /// The whole process group (SIGSTOP/SIGCONT, the group a timeout kills), at once.
    fn freeze(&self, stop: bool) -> Freezing {
        Freezing::Done(self.pause(stop).map(|_| ()))
    }

    fn trace_ahead(&self) -> Result<(), ExecError> {
        shell::KillHandle::trace_ahead(self)
    }

    fn hand_over(&self) -> bool {
        shell::KillHandle::hand_over(self)
    }

    fn handed_over(&self) -> bool {
        shell::KillHandle::handed_over(self)
    }

    fn let_go(&self) -> bool {
        shell::KillHandle::let_go(self)
    }
}

//! The back-end interface: where a shell attempt runs. Each executor kind is a folder
//! of this crate (`local/`, `ssh/`, `slurm/`, `batch/`) whose type implements
//! [`Backend`]; `kinds.rs` registers them. The driver starts an attempt with
//! [`Backend::start`] and gets an [`Attempt`] it can stop ([`KillHandle`]), tail and
//! wait on, without knowing which back end runs it.
use super::slurm::Seen;
use super::stream::TailHandle;
use super::usage_follow::UsageFollower;
use super::{ExecError, Finished, KillReason, ShellJob};
use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// A future a back end hands back, boxed: trait objects cannot return `impl Future`.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// One executor of a workflow (`[executors.NAME]`, or the implicit local one): an
/// executor kind's behaviour, for one run. Held as `Arc<dyn Backend>`; the methods that
/// hand work to a task of their own take the `Arc`.
pub trait Backend: Debug + Send + Sync {
    /// The executor's name (`[executors.NAME]`; `local` for the implicit one).
    fn name(&self) -> &str;

    /// Its attempts are processes of this machine, started before `start` returns
    /// (a plan whose executors are all local runs as one naming none: `Backends::for_plan`).
    fn is_local(&self) -> bool {
        false
    }

    /// Start one attempt. `timeout` is the step's: a job's time limit (a local step's
    /// timer is baton's own). A local process is started before this returns, not when
    /// the future is first polled (`local/mod.rs` says why).
    fn start(
        self: Arc<Self>,
        job: ShellJob,
        timeout: Option<Duration>,
    ) -> BoxFuture<Result<Box<dyn Attempt>, ExecError>>;

    /// Attach to an attempt a previous engine started (resume), by the job id it
    /// recorded. `frozen`: held frozen on record.
    fn reattach(
        self: Arc<Self>,
        job: ShellJob,
        job_id: &str,
        frozen: bool,
    ) -> Result<Box<dyn Attempt>, ExecError>;

    /// Cancel a job no attempt waits for (resume: one no longer wanted), best effort.
    fn cancel_job(self: Arc<Self>, _job_id: &str) -> BoxFuture<()> {
        Box::pin(std::future::ready(()))
    }

    /// What a dead engine left running here that it may not have recorded (the window
    /// between a submit and its commit), for resume to adopt or cancel; blocking.
    /// `Err` when the host or scheduler could not be asked: resume must not take
    /// "nothing found" from a question nobody answered.
    fn left_behind(&self) -> Result<Vec<LeftBehind>, NotAnswered> {
        Ok(Vec::new())
    }

    /// How artifacts' files reach its steps' working directories when they are not on
    /// this machine's filesystem (an SSH host); `None`: they are (a local process, a
    /// batch or Slurm job in a directory of the filesystem its nodes share).
    fn files(self: Arc<Self>) -> Option<Arc<dyn crate::artifact_channel::FileChannel>> {
        None
    }

    /// Its options as `baton executors` lists them, a line each (no checks: those ask
    /// a cluster or a host, `src/cli/executors.rs`).
    fn describe(&self) -> Vec<String> {
        Vec::new()
    }
}

/// An attempt found running that a dead engine started ([`Backend::left_behind`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftBehind {
    pub step: String,
    pub attempt: u32,
    pub job_id: String,
}

/// Why [`Backend::left_behind`] has no answer: what the host, the scheduler or the
/// command that asks them said. The resume that asked refuses on it and says what to
/// do (`baton_session::SessionError::Unanswered`: resume again once the executor
/// answers).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{why}")]
pub struct NotAnswered {
    pub why: String,
}

impl NotAnswered {
    /// The error of a question that failed, in its own words.
    pub(crate) fn said(error: impl std::fmt::Display) -> NotAnswered {
        NotAnswered {
            why: error.to_string(),
        }
    }
}

impl From<(String, u32, String)> for LeftBehind {
    fn from((step, attempt, job_id): (String, u32, String)) -> Self {
        LeftBehind {
            step,
            attempt,
            job_id,
        }
    }
}

/// A started attempt.
pub trait Attempt: Debug + Send {
    /// Where it lives, for the core to record (and resume to find again).
    fn placement(&self) -> Placement;
    fn kill_handle(&self) -> KillHandle;
    fn tail(&self) -> TailHandle;
    /// The scheduler's states of the attempt's job; `None` for a process.
    fn job_states(&self) -> Option<JobStates> {
        None
    }
    /// A follower of the attempt's `$BATON_USAGE` while it runs (issue 43): a local
    /// process's only. A job's or a remote host's file is read when it ends.
    fn usage_follower(&self) -> Option<UsageFollower> {
        None
    }
    /// Waits for the attempt to end and collects its outputs, usage and log.
    fn wait(self: Box<Self>) -> BoxFuture<Finished>;
}

/// A back end's attempt, as the driver holds it.
pub(crate) fn boxed(attempt: impl Attempt + 'static) -> Box<dyn Attempt> {
    Box::new(attempt)
}

/// Where a started attempt lives, for the core to record (and resume to find again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// A local process group, and where its `$BATON_OUTPUT` is.
    Process { pgid: i32, output: Option<String> },
    /// A job of a batch scheduler, by executor name and job id.
    Job { executor: String, job_id: String },
}

/// How a running attempt is stopped, frozen and let go: what a back end's
/// [`KillHandle`] does.
pub trait Stop: Debug + Send + Sync {
    /// Stop the attempt now, hard after `grace`. The first request wins; `reason`
    /// decides the outcome.
    fn terminate(&self, grace: Duration, reason: KillReason);

    /// Freeze (`stop`) or continue a held attempt (issue 43).
    fn freeze(&self, stop: bool) -> Freezing;

    /// An adopted attempt (`local/adopt.rs`) is traced now, ahead of a release; `Err`:
    /// tracing it was refused, and it stays frozen.
    fn trace_ahead(&self) -> Result<(), ExecError> {
        Ok(())
    }

    /// Detach (issue 55 point 3): let a frozen attempt go to the next engine alive;
    /// false for one that needs nothing (it runs on where it is, and the next engine
    /// re-attaches).
    fn hand_over(&self) -> bool {
        false
    }

    /// A hand-over asked by [`Stop::hand_over`] is complete.
    fn handed_over(&self) -> bool {
        false
    }

    /// The attempt was let go to the next engine: its end is not this engine's.
    fn let_go(&self) -> bool {
        false
    }
}

/// A freeze or continue: done at once (a local group, signalled on the caller's thread,
/// issue 43 point 5), or a command to run in a task of its own.
pub enum Freezing {
    Done(Result<(), ExecError>),
    Later(BoxFuture<Result<(), ExecError>>),
}

/// Stops a running attempt, whatever runs it; cheap to clone.
#[derive(Debug, Clone)]
pub struct KillHandle(Arc<dyn Stop>);

impl KillHandle {
    pub fn new(stop: Arc<dyn Stop>) -> KillHandle {
        KillHandle(stop)
    }

    /// Stop the attempt now (SIGTERM / `scancel --signal=TERM`), hard after `grace`.
    /// The first request wins; `reason` decides the outcome.
    pub fn terminate(&self, grace: Duration, reason: KillReason) {
        self.0.terminate(grace, reason)
    }

    /// See [`Stop::trace_ahead`].
    pub fn trace_ahead(&self) -> Result<(), ExecError> {
        self.0.trace_ahead()
    }

    /// See [`Stop::hand_over`].
    pub fn hand_over(&self) -> bool {
        self.0.hand_over()
    }

    /// See [`Stop::handed_over`].
    pub fn handed_over(&self) -> bool {
        self.0.handed_over()
    }

    /// See [`Stop::let_go`].
    pub fn let_go(&self) -> bool {
        self.0.let_go()
    }

    /// Freeze (`stop`) or continue a held attempt, at once where its back end can.
    pub fn start_freeze(&self, stop: bool) -> Freezing {
        self.0.freeze(stop)
    }

    /// Freeze (`stop`) or continue a held attempt, and wait until it is done.
    pub async fn freeze(&self, stop: bool) -> Result<(), ExecError> {
        match self.0.freeze(stop) {
            Freezing::Done(done) => done,
            Freezing::Later(later) => later.await,
        }
    }
}

/// What the cluster says of a job, as it changes (a local process has nothing to say).
#[derive(Debug)]
pub struct JobStates {
    rx: tokio::sync::watch::Receiver<Seen>,
    last: Option<(String, Option<String>)>,
}

impl JobStates {
    /// Follows what a scheduler's poll says of one job.
    pub fn new(rx: tokio::sync::watch::Receiver<Seen>) -> JobStates {
        JobStates { rx, last: None }
    }

    /// The job's next (state, reason) that differs from the last one given: waits
    /// for the next poll that says something new; never ends once the job is gone.
    pub async fn next(&mut self) -> (String, Option<String>) {
        loop {
            let now = match &*self.rx.borrow_and_update() {
                Seen::Listed(j) => Some((j.state.clone(), j.reason().map(str::to_string))),
                Seen::Unknown | Seen::Gone => None,
            };
            if let Some(now) = now
                && self.last.as_ref() != Some(&now)
            {
                self.last = Some(now.clone());
                return now;
            }
            if self.rx.changed().await.is_err() {
                return std::future::pending().await;
            }
        }
    }
}

//! The executor interface: where a shell attempt runs. The driver starts an attempt with
//! [`Executor::start`] and gets an [`Attempt`] it can stop ([`KillHandle`]), tail and
//! wait on, without knowing which back end runs it. Local processes, Slurm jobs, SSH
//! hosts and any batch scheduler (`batch`) are the back ends; an enum, not a trait
//! object, so the local path costs one match.
use super::batch::{self, BatchExecutor};
use super::remote_cancel::CancelHandle;
use super::shell::{self, Running, ShellJob};
use super::slurm::{self, SlurmExecutor};
use super::ssh::{self, SshExecutor};
use super::stream::TailHandle;
use super::{ExecError, Finished, KillReason};
use baton_workflow::ExecutorKind;
use std::sync::Arc;
use std::time::Duration;

/// One executor of a workflow (`[executors.NAME]`, or the implicit local one).
#[derive(Debug, Clone)]
pub enum Executor {
    Local,
    Slurm(Arc<SlurmExecutor>),
    Ssh(Arc<SshExecutor>),
    /// Any batch scheduler through its own commands (`type = "batch"`).
    Batch(Arc<BatchExecutor>),
    /// Round-robin over the executors offering a step's labels.
    Spread(Arc<super::spread::Spread>),
}

/// Where a started attempt lives, for the core to record (and resume to find again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// A local process group, and where its `$BATON_OUTPUT` is.
    Process { pgid: i32, output: Option<String> },
    /// A job of a batch scheduler, by executor name and job id.
    Job { executor: String, job_id: String },
}

/// A started attempt.
#[derive(Debug)]
pub enum Attempt {
    Local(Running),
    Slurm(slurm::JobAttempt),
    Ssh(ssh::SshAttempt),
    /// Boxed: its options and values would make every local attempt's move bigger.
    Batch(Box<batch::BatchAttempt>),
}

/// Stops a running attempt, whatever runs it; cheap to clone.
#[derive(Debug, Clone)]
pub enum KillHandle {
    Local(shell::KillHandle),
    /// A job or a remote process group: its waiter does the stopping.
    Remote(CancelHandle),
    /// A Slurm job: its cancel handle and its id (`scontrol suspend` names it).
    Slurm(CancelHandle, String),
}

/// The executors of a plan, by index, for one run; empty when every step is local
/// (the common case costs nothing).
pub fn for_plan(plan: &baton_workflow::Plan, run_id: &str) -> Vec<Executor> {
    if plan.executors.iter().all(|e| e.kind == ExecutorKind::Local) {
        return Vec::new();
    }
    plan.executors
        .iter()
        .map(|e| match &e.kind {
            ExecutorKind::Local => Executor::Local,
            ExecutorKind::Slurm(opts) => Executor::Slurm(Arc::new(SlurmExecutor::new(
                &e.name,
                (**opts).clone(),
                run_id,
            ))),
            ExecutorKind::Ssh(opts) => Executor::Ssh(Arc::new(
                SshExecutor::new(&e.name, (**opts).clone(), run_id).with_secrets(&plan.secrets),
            )),
            ExecutorKind::Batch(opts) => Executor::Batch(Arc::new(
                BatchExecutor::new(&e.name, (**opts).clone(), run_id).with_secrets(&plan.secrets),
            )),
        })
        .collect()
}

impl Executor {
    /// Start one attempt. Local: started at once on the caller's thread (see
    /// [`Executor::begin`]). Slurm: written out and submitted.
    /// `timeout` is the step's: a job's `--time` (a local step's timer is baton's own).
    pub async fn start(
        &self,
        job: ShellJob,
        timeout: Option<Duration>,
    ) -> Result<Attempt, ExecError> {
        self.begin(job, timeout).await
    }

    /// As [`Executor::start`], but a local process is started before this returns, not
    /// when the returned future is first polled. It starts on the caller's thread (the
    /// engine's one thread): `posix_spawn` returns once the child has exec'd, about
    /// 0.2 ms. Handing each start to a blocking thread instead cost a DAG of short steps
    /// about a tenth of its time in wake-ups (issue 14, docs/performance/commit-path.md); the price
    /// is that an `exec` that hangs (a program on a stalled network mount) holds the
    /// engine with it, as it holds make.
    pub fn begin(
        &self,
        job: ShellJob,
        timeout: Option<Duration>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Attempt, ExecError>> + Send>>
    {
        match self {
            Executor::Local => Box::pin(std::future::ready(shell::spawn(job).map(Attempt::Local))),
            Executor::Slurm(s) => {
                let s = s.clone();
                Box::pin(async move { s.submit(job, timeout).await.map(Attempt::Slurm) })
            }
            Executor::Ssh(s) => {
                let s = s.clone();
                Box::pin(async move { s.start(job).await.map(Attempt::Ssh) })
            }
            Executor::Batch(s) => {
                let s = s.clone();
                Box::pin(async move {
                    s.submit(job, timeout)
                        .await
                        .map(|a| Attempt::Batch(Box::new(a)))
                })
            }
            Executor::Spread(s) => {
                let s = s.clone();
                Box::pin(async move { s.start(job, timeout).await })
            }
        }
    }

    /// Attach to an attempt a previous engine started (resume): jobs and SSH steps
    /// outlive their engine; a local process group only when it was frozen (a hold),
    /// adopted by its group id (`adopt.rs`). `frozen`: held frozen on record; a step on
    /// an SSH host is stopped or continued to match at once (what the dead engine last
    /// did to its group is not known), a Slurm job is suspended again by the driver.
    pub fn reattach(
        &self,
        job: ShellJob,
        job_id: &str,
        frozen: bool,
    ) -> Result<Attempt, ExecError> {
        match self {
            Executor::Local => match job_id.parse::<i32>() {
                Ok(pgid) => super::adopt::adopt(job, pgid).map(Attempt::Local),
                Err(_) => Err(ExecError::Spawn {
                    message: format!("job {job_id} is not a local process; nothing to follow"),
                    log_path: None,
                }),
            },
            Executor::Slurm(s) => Ok(Attempt::Slurm(s.reattach(job, job_id))),
            Executor::Ssh(s) => Ok(Attempt::Ssh(s.reattach(job, job_id, frozen))),
            Executor::Batch(s) => Ok(Attempt::Batch(Box::new(s.reattach(job, job_id)))),
            // The driver re-attaches on the member named in the record.
            Executor::Spread(_) => Err(ExecError::Spawn {
                message: format!("job {job_id} names no executor to follow it on"),
                log_path: None,
            }),
        }
    }

    /// Cancel a job no attempt waits for (best effort).
    pub async fn cancel_job(&self, job_id: &str) {
        match self {
            Executor::Slurm(_) => slurm::cancel(job_id).await,
            Executor::Ssh(s) => s.cancel_group(job_id).await,
            Executor::Batch(s) => s.cancel_job(job_id).await,
            Executor::Local | Executor::Spread(_) => {}
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Executor::Local => "local",
            Executor::Slurm(s) => s.name(),
            Executor::Ssh(s) => s.name(),
            Executor::Batch(s) => s.name(),
            Executor::Spread(_) => "spread",
        }
    }
}

impl Attempt {
    pub fn placement(&self) -> Placement {
        match self {
            Attempt::Local(r) => Placement::Process {
                pgid: r.pgid(),
                output: r.output_path().map(|p| p.display().to_string()),
            },
            Attempt::Slurm(j) => Placement::Job {
                executor: j.executor_name().to_string(),
                job_id: j.job_id().to_string(),
            },
            Attempt::Ssh(a) => Placement::Job {
                executor: a.executor_name().to_string(),
                job_id: a.pgid().to_string(),
            },
            Attempt::Batch(j) => Placement::Job {
                executor: j.executor_name().to_string(),
                job_id: j.job_id().to_string(),
            },
        }
    }

    pub fn kill_handle(&self) -> KillHandle {
        match self {
            Attempt::Local(r) => KillHandle::Local(r.kill_handle()),
            Attempt::Slurm(j) => KillHandle::Slurm(j.cancel_handle(), j.job_id().to_string()),
            Attempt::Ssh(a) => KillHandle::Remote(a.cancel_handle()),
            Attempt::Batch(j) => KillHandle::Remote(j.cancel_handle()),
        }
    }

    /// The cluster's states of the attempt's job; `None` for a local process.
    pub fn job_states(&self) -> Option<JobStates> {
        match self {
            Attempt::Local(_) | Attempt::Ssh(_) => None,
            Attempt::Slurm(j) => Some(JobStates {
                rx: j.status(),
                last: None,
            }),
            Attempt::Batch(j) => Some(JobStates {
                rx: j.status(),
                last: None,
            }),
        }
    }

    pub fn tail(&self) -> TailHandle {
        match self {
            Attempt::Local(r) => r.tail(),
            Attempt::Slurm(j) => j.tail(),
            Attempt::Ssh(a) => a.tail(),
            Attempt::Batch(j) => j.tail(),
        }
    }

    /// A follower of the attempt's `$BATON_USAGE` while it runs (issue 43): a local
    /// process's only. A job's or a remote host's file is read when it ends, as before.
    pub fn usage_follower(&self) -> Option<super::usage_follow::UsageFollower> {
        match self {
            Attempt::Local(r) => r
                .usage_path()
                .map(|p| super::usage_follow::UsageFollower::new(p.to_path_buf())),
            Attempt::Slurm(_) | Attempt::Ssh(_) | Attempt::Batch(_) => None,
        }
    }

    /// Waits for the attempt to end and collects its outputs, usage and log.
    pub async fn wait(self) -> Finished {
        match self {
            Attempt::Local(r) => r.wait().await,
            Attempt::Slurm(j) => j.wait().await,
            Attempt::Ssh(a) => a.wait().await,
            Attempt::Batch(j) => j.wait().await,
        }
    }
}

/// What the cluster says of a job, as it changes (a local process has nothing to say).
#[derive(Debug)]
pub struct JobStates {
    rx: tokio::sync::watch::Receiver<slurm::Seen>,
    last: Option<(String, Option<String>)>,
}

impl JobStates {
    /// The job's next (state, reason) that differs from the last one given: waits
    /// for the next `squeue` that says something new; never ends once the job is gone.
    pub async fn next(&mut self) -> (String, Option<String>) {
        loop {
            let now = match &*self.rx.borrow_and_update() {
                slurm::Seen::Listed(j) => Some((j.state.clone(), j.reason().map(str::to_string))),
                slurm::Seen::Unknown | slurm::Seen::Gone => None,
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

impl KillHandle {
    /// Stop the attempt now (SIGTERM / `scancel --signal=TERM`), hard after `grace`.
    /// The first request wins; `reason` decides the outcome.
    pub fn terminate(&self, grace: Duration, reason: KillReason) {
        match self {
            KillHandle::Local(k) => k.terminate(grace, reason),
            KillHandle::Remote(c) | KillHandle::Slurm(c, _) => c.terminate(grace, reason),
        }
    }

    /// An adopted local attempt (`adopt.rs`) is traced now, ahead of a release;
    /// `Err`: tracing it was refused, and it stays frozen. Nothing to do for others.
    pub fn trace_ahead(&self) -> Result<(), ExecError> {
        match self {
            KillHandle::Local(k) => k.trace_ahead(),
            KillHandle::Remote(_) | KillHandle::Slurm(..) => Ok(()),
        }
    }

    /// Detach (issue 55 point 3): a frozen local attempt is let go to the next engine
    /// alive (`shell::KillHandle::hand_over`); false for any other, which needs
    /// nothing (a remote one runs on where it is, and the next engine re-attaches).
    pub fn hand_over(&self) -> bool {
        matches!(self, KillHandle::Local(k) if k.hand_over())
    }

    /// A hand-over asked by [`KillHandle::hand_over`] is complete.
    pub fn handed_over(&self) -> bool {
        matches!(self, KillHandle::Local(k) if k.handed_over())
    }

    /// The attempt was let go to the next engine: its end is not this engine's.
    pub fn let_go(&self) -> bool {
        matches!(self, KillHandle::Local(k) if k.let_go())
    }

    /// Freeze (`stop`) or continue a held attempt (issue 43): its whole process group
    /// (SIGSTOP/SIGCONT, the group a timeout kills), or its Slurm job (`scontrol
    /// suspend`/`resume`), or its process group on an SSH host (`kill -STOP`/`-CONT`
    /// over ssh, by the attempt's waiter). Another batch system's job is not frozen.
    pub async fn freeze(&self, stop: bool) -> Result<(), ExecError> {
        match self {
            KillHandle::Local(k) => k.pause(stop).map(|_| ()),
            KillHandle::Slurm(_, job_id) => slurm::suspend(job_id, stop)
                .await
                .map_err(|e| ExecError::Freeze { why: e.to_string() }),
            KillHandle::Remote(c) if c.set_frozen(stop) => Ok(()),
            KillHandle::Remote(_) => Err(ExecError::Freeze {
                why: "a step on another batch system cannot be frozen (its scheduler has no suspend baton knows)".into(),
            }),
        }
    }
}

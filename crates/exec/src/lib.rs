//! Step executors (docs/architecture.md, "The layers"): a shell step runs where its
//! executor's back end puts it (a [`Backend`]: a process group here, a job on a host or
//! a cluster; each kind a folder, registered in `kinds.rs`); a builtin runs inside the
//! engine. Both end in a [`Finished`], which the driver turns into `Input::StepExited`.
mod backend;
mod batch;
mod builtin;
mod command;
mod env_files;
// `pub` means API: the modules are private and what other crates use is re-exported
// below. Kept public as namespaces, because their items read well only behind their
// module's name (`probe::check`, `own_files::append`, `failpoint::die_at`,
// `leftovers::read_outputs`, `usage_follow::POLL`); their items no other crate uses
// are `pub(crate)`.
pub mod artifact_channel;
pub mod failpoint;
mod files_dir;
mod job;
mod kinds;
pub mod leftovers;
mod local;
mod log_copy;
mod log_index;
mod outputs;
pub mod own_files;
pub mod probe;
mod remote_cancel;
pub mod scheduler;
mod scrub;
pub mod secrets;
mod signals;
mod slurm;
mod spread;
mod ssh;
mod stream;
pub mod summary;
pub mod usage_follow;

use baton_model::{StepOutcome, Usage};
use std::path::PathBuf;

pub use backend::{
    Attempt, Backend, BoxFuture, Freezing, KillHandle, LeftBehind, NotAnswered, Placement, Stop,
};
pub use builtin::{parse_duration, run_builtin};
pub use command::Invocation;
pub use files_dir::{FilesDir, files_root};
pub use job::ShellJob;
pub use kinds::{Backends, Setup};
pub use scrub::baton_own_in_env;
pub use spread::Spread;
pub use ssh::{HostError, SshExecutor, control_dir as ssh_control_dir};
// The local back end's modules, under the paths they always had.
pub use local::group::{group_belongs_to, kill_stale_group, run_process_groups, stop_run_groups};
pub use local::shell::{Running, spawn};
// `vfork`: also the benches' minimal executors' start, so that the floor baton is
// measured against takes any faster start baton makes.
pub use local::{LocalBackend, adopt, anchor, group, shell, spawn, vfork};
pub use signals::{ShutdownSignal, ShutdownSignals, reap_own_children};
pub use stream::TailHandle;

/// Why baton stops an attempt; decides the outcome it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KillReason {
    /// The step's timeout passed: `StepOutcome::TimedOut`.
    Timeout,
    /// The run was cancelled: `StepOutcome::Killed`.
    Cancel,
    /// The engine is stopping (signal): `StepOutcome::Killed`.
    Shutdown,
}

impl KillReason {
    pub fn outcome(self) -> StepOutcome {
        match self {
            KillReason::Timeout => StepOutcome::TimedOut,
            KillReason::Cancel | KillReason::Shutdown => StepOutcome::Killed,
        }
    }
}

/// What a log that could not be written is reported as ([`Finished::log_errors`]).
pub fn log_write_failed(path: &std::path::Path, why: impl std::fmt::Display) -> String {
    format!("cannot write the log {}: {why}", path.display())
}

/// How an attempt ended, with everything the driver records about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    pub outcome: StepOutcome,
    pub duration_ms: u64,
    /// Parsed `$BATON_OUTPUT`, in first-seen key order, last value wins, secrets masked.
    pub outputs: Vec<(String, String)>,
    /// Summed `$BATON_USAGE` lines (`calls` stays 0 unless the step reports `calls=`).
    pub usage: Usage,
    /// The last lines the step wrote to stderr (masked, bounded).
    pub stderr_tail: String,
    /// The attempt's log file; `None` for builtins and when it could not be created.
    pub log_path: Option<PathBuf>,
    /// Malformed `$BATON_OUTPUT`/`$BATON_USAGE` lines: reported, never fatal.
    pub output_errors: Vec<String>,
    /// The output whose value the file's bound cut (not in `outputs`): see
    /// [`outputs::parse_read_outputs`].
    pub cut_output: Option<String>,
    /// Why the log could not be written (output after that point was not kept).
    pub log_errors: Vec<String>,
}

impl Finished {
    /// An attempt that never started.
    pub fn spawn_failed(message: impl Into<String>, log_path: Option<PathBuf>) -> Finished {
        let message = message.into();
        Finished {
            outcome: StepOutcome::SpawnFailed {
                message: message.clone(),
            },
            duration_ms: 0,
            outputs: Vec::new(),
            usage: Usage::default(),
            stderr_tail: message,
            log_path,
            output_errors: Vec::new(),
            cut_output: None,
            log_errors: Vec::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// baton could not prepare the attempt (log directory, private files).
    #[error("cannot prepare the step: {what}: {source}")]
    Setup {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// The process could not be started (missing program, bad working directory).
    #[error("{message}")]
    Spawn {
        message: String,
        log_path: Option<PathBuf>,
    },
    #[error("cannot signal process group {pgid}: {source}")]
    Signal {
        pgid: i32,
        #[source]
        source: nix::Error,
    },
    #[error("refusing to signal process group {0} (not a step's group)")]
    RefusedPgid(i32),
    /// A host did not answer (another executor of the step's labels may).
    #[error("{message}")]
    HostDown { message: String },
    /// A hold's freeze or release did not reach the attempt.
    #[error("cannot freeze or continue the step: {why}")]
    Freeze { why: String },
    /// An adopted attempt's leader (`adopt.rs`) may not be traced: it is not let run.
    #[error("tracing its process was refused: {why}")]
    TraceRefused { why: String },
    /// Whether the attempt started is not known (its host stopped answering while it
    /// was launched): recorded lost, never as a start that failed.
    #[error("{message}")]
    Lost { message: String },
    /// A `[secrets]` entry the step uses could not be read: it does not start.
    #[error(transparent)]
    Secret(#[from] secrets::SecretError),
}

impl ExecError {
    /// The `SpawnFailed` result the driver reports when `spawn` fails.
    pub fn into_finished(self) -> Finished {
        let log_path = match &self {
            ExecError::Spawn { log_path, .. } => log_path.clone(),
            ExecError::Lost { message } => {
                let mut f = Finished::spawn_failed(message.clone(), None);
                f.outcome = StepOutcome::Lost {
                    reason: message.clone(),
                };
                return f;
            }
            // The host never took the attempt: it did not start there.
            ExecError::HostDown { message } => {
                let mut f = Finished::spawn_failed(message.clone(), None);
                f.outcome = StepOutcome::Unreached {
                    message: message.clone(),
                };
                return f;
            }
            _ => None,
        };
        Finished::spawn_failed(self.to_string(), log_path)
    }
}

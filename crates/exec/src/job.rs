//! The job every back end is handed: one attempt of a shell step, resolved by the
//! driver. What a kind makes of it is the kind's own (`local/`, `ssh/`, `slurm/`,
//! `batch/`).
use super::files_dir::FilesDir;
use baton_model::mask::Masker;
use std::path::PathBuf;

/// One attempt of a shell step, fully resolved by the driver.
#[derive(Debug, Clone)]
pub struct ShellJob {
    pub run_id: String,
    pub step_id: String,
    pub attempt: u32,
    /// The workflow's `run` string: fixed by the workflow, never built from values.
    pub command: String,
    pub dir: PathBuf,
    /// Added to baton's own environment (the caller includes `BATON_RUN_ID`,
    /// `BATON_STEP_ID`, `BATON_ATTEMPT`); `BATON_OUTPUT` and `BATON_USAGE` are set here.
    /// Sent wherever the attempt runs.
    pub env: Vec<(String, String)>,
    /// Added to `env` by a local attempt only (the core's `SpawnSpec::local_env`: the
    /// run's store as `BATON_DB`); an SSH, Slurm or batch job never reads it.
    pub local_env: Vec<(String, String)>,
    /// Baton's own variables the attempt must not inherit (`Plan::withheld_of`: the
    /// sources of secrets the step does not name): left out of a local process's
    /// environment and of what a submitted job takes from baton's.
    pub withheld: Vec<String>,
    /// `<log_dir>/<step_id>.<attempt>.log` receives stdout and stderr.
    pub log_dir: PathBuf,
    pub masker: Masker,
    /// The run's private directory (see [`FilesDir`]), in which this attempt gets a
    /// directory of its own for its `$BATON_OUTPUT` and `$BATON_USAGE`; `None`: a fresh
    /// private directory under the temp dir for this attempt alone.
    pub files_dir: Option<FilesDir>,
    /// A local start may run on the caller's own thread when that is a runtime of one
    /// thread (`local::launcher::run`); `false` sends it to the launching thread (an
    /// engine's starts past the first few of one wake-up: a burst of them does not
    /// hold the runtime its console and its other tasks share).
    pub start_here: bool,
}

pub(crate) fn clean(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(40)
        .collect()
}

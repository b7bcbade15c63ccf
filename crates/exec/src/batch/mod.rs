//! The generic batch back end (`type = "batch"`): one job per attempt through the
//! scheduler's own commands, as the workflow gives them (`workflow::batch`): `submit`
//! prints the job id, `status` says whether the scheduler still has the job, `cancel`
//! stops it. Every command is an argument vector started by tokio, never a shell
//! string; values (paths, the job id, resources) stay inside their argument.
//!
//! An attempt's files are the Slurm executor's (`slurm::script::JobFiles` under the
//! executor's `workdir`, on a filesystem the nodes share): the 0600 environment file,
//! the job script that writes the exit code, the job's output, `$BATON_OUTPUT` and
//! `$BATON_USAGE`. Two more make the attempt findable after a crash: `attempt` (its step
//! and number, written before submitting) and `submit.out`, the submit command's own
//! standard output (a file, not a pipe: the id is on disk even if baton dies while the
//! command runs, and the command does not die with it). Resume reads them
//! ([`BatchExecutor::run_attempts_blocking`]) and follows the job: never submits twice.
//!
//! The end of a job is its exit-code file (checked every `EXIT_EVERY`); `status` runs at
//! an interval that starts at 0.5 s and backs off to `poll`, for the state shown and for
//! a job that left the scheduler without an exit code (cancelled by someone, killed at a
//! limit, its node lost): `status` exits 0 and prints nothing, or a word that says the
//! job ended (`success`, `failed`: Snakemake's cluster-generic status scripts). A
//! `status` that fails (non-zero exit, no answer in time, cannot be run) is no answer:
//! the job is followed on, however long (`scheduler::BatchFollow`).
mod backend;
pub(crate) mod values;

use super::ShellJob;
use super::remote_cancel::CancelHandle;
use super::slurm::script::{self as files_of, JobFiles};
use super::slurm::state::JobStatus;
use super::slurm::{self, POLL_MIN, Seen};
use super::stream::TailHandle;
use super::{ExecError, Finished};
use crate::scheduler::{BatchFollow, BatchSaid, batch_said};
use baton_model::Timestamp;
use baton_workflow::BatchOptions;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;
use values::Values;

/// How long `submit`, `status` or `cancel` may take.
const CLI_DEADLINE: Duration = Duration::from_secs(30);
/// How often a waiting attempt looks for its exit-code file.
const EXIT_EVERY: Duration = Duration::from_millis(50);
/// How many `submit` run at once per executor.
const SUBMIT_AT_ONCE: usize = 4;
/// The most of a command's error output a record keeps.
const ERR_MAX: usize = 2000;

/// One `[executors.NAME]` of `type = "batch"`, for one run.
#[derive(Debug)]
pub(crate) struct BatchExecutor {
    name: String,
    opts: BatchOptions,
    run_id: String,
    /// The workflow's `secrets`: a local step inherits them from baton's environment;
    /// a job gets them in its 0600 environment file (schedulers differ in what they
    /// pass on).
    secrets: Vec<String>,
    submitting: tokio::sync::Semaphore,
}

impl BatchExecutor {
    pub(crate) fn new(name: &str, opts: BatchOptions, run_id: &str) -> BatchExecutor {
        BatchExecutor {
            name: name.to_string(),
            opts,
            run_id: run_id.to_string(),
            secrets: Vec::new(),
            submitting: tokio::sync::Semaphore::new(SUBMIT_AT_ONCE),
        }
    }

    /// The secrets' names its steps get from baton's environment.
    pub(crate) fn with_secrets(mut self, names: &[String]) -> BatchExecutor {
        self.secrets = names.to_vec();
        self
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn options(&self) -> &BatchOptions {
        &self.opts
    }

    fn files(&self, step_id: &str, attempt: u32) -> JobFiles {
        JobFiles::new(&self.opts.workdir, &self.run_id, step_id, attempt)
    }

    /// Write the attempt's files and submit it.
    pub(crate) async fn submit(
        &self,
        job: ShellJob,
        timeout: Option<Duration>,
    ) -> Result<BatchAttempt, ExecError> {
        let files = self.files(&job.step_id, job.attempt);
        let setup = |what: &str| {
            let what = format!("{what} under {}", files.dir.display());
            move |source| ExecError::Setup { what, source }
        };
        slurm::prepare_dir(&files.dir).map_err(setup("the job's directory"))?;
        let mut env = crate::secrets::inherited(&self.secrets, &job.withheld);
        env.extend(job.env.iter().cloned());
        let env =
            super::env_files::place(&env, &files.dir).map_err(setup("the job's value files"))?;
        slurm::write_private(&files.env(), &files_of::render_env(&env, &files))
            .map_err(setup("the job's environment file"))?;
        slurm::write_private(
            &files.script(),
            &files_of::render_script(&job.command, &job.dir, &files),
        )
        .map_err(setup("the job script"))?;
        slurm::write_private(
            &values::attempt_file(&files),
            &format!("{}\n{}\n", job.step_id, job.attempt),
        )
        .map_err(setup("the attempt's record"))?;
        let vals = Values::new(&self.opts, &self.run_id, &job.step_id, job.attempt, &files)
            .with_timeout(timeout);
        let args = baton_workflow::batch::render(&self.opts.submit, &|v| vals.get(v))
            .map_err(|e| self.spawn_failed(&files, format!("`submit`: {e}")))?;
        let permit = self.submitting.acquire().await;
        let ran = submit(&args, &files, &job.withheld).await;
        drop(permit);
        let out = ran.map_err(|e| self.spawn_failed(&files, e.to_string()))?;
        let Some(job_id) = baton_workflow::batch::parse_job_id(&out) else {
            return Err(self.spawn_failed(
                &files,
                format!(
                    "`submit` printed no job id: {:?} (it must print the id first, as `qsub -terse` or `sbatch --parsable` do)",
                    bounded(out.trim())
                ),
            ));
        };
        Ok(self.attach(job, job_id, files, false))
    }

    fn spawn_failed(&self, files: &JobFiles, why: String) -> ExecError {
        // Nothing was submitted: the files (the environment holds secrets) go.
        let _ = std::fs::remove_dir_all(&files.dir);
        ExecError::Spawn {
            message: format!(
                "the job was not submitted to executor `{}`: {why}",
                self.name
            ),
            log_path: None,
        }
    }

    /// Follow a job an earlier engine submitted; its log goes on where that engine left
    /// it.
    pub(crate) fn reattach(&self, job: ShellJob, job_id: &str) -> BatchAttempt {
        let files = self.files(&job.step_id, job.attempt);
        self.attach(job, job_id.to_string(), files, true)
    }

    fn attach(&self, job: ShellJob, job_id: String, files: JobFiles, again: bool) -> BatchAttempt {
        let log_path = job
            .log_dir
            .join(baton_model::log_file_name(&job.step_id, job.attempt));
        let copied = if again {
            std::fs::metadata(&log_path).map_or(0, |m| m.len())
        } else {
            0
        };
        let vals = Values::new(&self.opts, &self.run_id, &job.step_id, job.attempt, &files)
            .with_job_id(&job_id);
        let (seen, _) = watch::channel(Seen::Unknown);
        BatchAttempt {
            executor: self.name.clone(),
            opts: self.opts.clone(),
            job_id,
            vals,
            files,
            copied,
            log_path,
            log_dir: job.log_dir,
            masker: job.masker,
            cancel: CancelHandle::default(),
            tail: TailHandle::default(),
            seen,
            started: Instant::now(),
        }
    }

    /// Cancel a job no attempt follows (resume: one no longer wanted), best effort.
    pub(crate) async fn cancel_job(&self, job_id: &str) {
        let vals = Values::bare(&self.opts, &self.run_id).with_job_id(job_id);
        if let Ok(args) = baton_workflow::batch::render(&self.opts.cancel, &|v| vals.get(v)) {
            let _ = run(&args).await;
        }
    }

    /// The run's attempts that were submitted: `(step, attempt, job id)`, read from
    /// their directories. A submit still running (the engine died meanwhile) is waited
    /// for, up to its deadline. Resume uses it to find a job submitted but not recorded.
    pub(crate) fn run_attempts_blocking(&self) -> Vec<(String, u32, String)> {
        let Ok(dirs) = std::fs::read_dir(self.opts.workdir.join(&self.run_id)) else {
            return Vec::new();
        };
        let mut found = Vec::new();
        for d in dirs.flatten() {
            let dir = d.path();
            let Some((step, attempt)) = std::fs::read_to_string(dir.join(values::ATTEMPT))
                .ok()
                .and_then(|t| values::parse_attempt(&t))
            else {
                continue;
            };
            let files = JobFiles { dir };
            values::wait_for_submit(&files, CLI_DEADLINE);
            let out = std::fs::read_to_string(values::submit_out(&files)).unwrap_or_default();
            if let Some(id) = baton_workflow::batch::parse_job_id(&out) {
                found.push((step, attempt, id));
            }
        }
        found.sort();
        found
    }
}

/// Why `submit` did not give a job id back.
#[derive(Debug, thiserror::Error)]
enum SubmitError {
    #[error("cannot create {}: {source}", path.display())]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`submit` is empty")]
    Empty,
    #[error("cannot run {program}: {source}")]
    Run {
        program: String,
        source: std::io::Error,
    },
    #[error("{program} did not answer within {CLI_DEADLINE:?}")]
    NoAnswer { program: String },
    #[error("{program} exited with {status}: {stderr}")]
    Failed {
        program: String,
        status: std::process::ExitStatus,
        stderr: String,
    },
}

/// Run `submit` with its output to `submit.out` (in its own process group: a Ctrl-C
/// meant for baton does not cut it short); its pid in `submit.pid` meanwhile.
async fn submit(
    args: &[String],
    files: &JobFiles,
    withheld: &[String],
) -> Result<String, SubmitError> {
    let open = |path: PathBuf| {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(|source| SubmitError::Create { path, source })
    };
    let out = open(values::submit_out(files))?;
    let err = open(files.dir.join("submit.err"))?;
    let (program, rest) = args.split_first().ok_or(SubmitError::Empty)?;
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(rest)
        .stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .process_group(0);
    without_baton_vars(&mut cmd);
    // A job that takes the submitter's environment: not the secrets the step does
    // not name.
    for k in withheld {
        cmd.env_remove(k);
    }
    let mut child = cmd.spawn().map_err(|source| SubmitError::Run {
        program: program.clone(),
        source,
    })?;
    if let Some(pid) = child.id() {
        let _ = std::fs::write(files.dir.join(values::SUBMIT_PID), pid.to_string());
    }
    let status = match tokio::time::timeout(CLI_DEADLINE, child.wait()).await {
        Ok(s) => s.map_err(|source| SubmitError::Run {
            program: program.clone(),
            source,
        })?,
        Err(_) => {
            let _ = child.start_kill();
            return Err(SubmitError::NoAnswer {
                program: program.clone(),
            });
        }
    };
    let _ = std::fs::remove_file(files.dir.join(values::SUBMIT_PID));
    let stdout = std::fs::read_to_string(values::submit_out(files)).unwrap_or_default();
    if status.success() {
        Ok(stdout)
    } else {
        let stderr = std::fs::read(files.dir.join("submit.err")).unwrap_or_default();
        Err(SubmitError::Failed {
            program: program.clone(),
            status,
            stderr: bounded(&String::from_utf8_lossy(&stderr)),
        })
    }
}

/// baton's own `BATON_*` variables stay out of the scheduler's commands (and so out of
/// jobs that take the submitter's environment).
fn without_baton_vars(cmd: &mut tokio::process::Command) {
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("BATON_") {
            cmd.env_remove(k);
        }
    }
}

/// A command's output, plain and bounded, for a record.
fn bounded(s: &str) -> String {
    let plain = baton_model::sanitize::strip_to_plain(s.trim().as_bytes());
    match plain.char_indices().nth(ERR_MAX) {
        Some((i, _)) => format!("{}…", &plain[..i]),
        None => plain,
    }
}

async fn run(args: &[String]) -> BatchSaid {
    let Some((program, rest)) = args.split_first() else {
        return BatchSaid::NoAnswer;
    };
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(rest)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    without_baton_vars(&mut cmd);
    let Ok(Ok(out)) = tokio::time::timeout(CLI_DEADLINE, cmd.output()).await else {
        return BatchSaid::NoAnswer;
    };
    batch_said(out.status.success(), &String::from_utf8_lossy(&out.stdout))
}

/// A submitted job. Call [`BatchAttempt::wait`].
#[derive(Debug)]
pub(crate) struct BatchAttempt {
    executor: String,
    opts: BatchOptions,
    job_id: String,
    vals: Values,
    files: JobFiles,
    log_dir: PathBuf,
    log_path: PathBuf,
    copied: u64,
    masker: baton_model::mask::Masker,
    cancel: CancelHandle,
    tail: TailHandle,
    seen: watch::Sender<Seen>,
    started: Instant,
}

impl BatchAttempt {
    pub(crate) fn executor_name(&self) -> &str {
        &self.executor
    }
    pub(crate) fn job_id(&self) -> &str {
        &self.job_id
    }
    pub(crate) fn cancel_handle(&self) -> CancelHandle {
        self.cancel.clone()
    }
    pub(crate) fn tail(&self) -> TailHandle {
        self.tail.clone()
    }
    /// The first line `status` printed last (the scheduler's word for the job's state).
    pub(crate) fn status(&self) -> watch::Receiver<Seen> {
        self.seen.subscribe()
    }

    async fn command(&self, args: &[baton_workflow::BatchArg]) -> BatchSaid {
        match baton_workflow::batch::render(args, &|v| self.vals.get(v)) {
            Ok(argv) => run(&argv).await,
            Err(_) => BatchSaid::NoAnswer,
        }
    }

    /// Waits for the job's exit-code file (or for the scheduler to drop the job), tails
    /// its output into the step's log meanwhile, cancels it when asked, and collects
    /// its outputs and usage.
    pub(crate) async fn wait(self) -> Finished {
        let (stop_tx, stop_rx) = watch::channel(false);
        let tailer = tokio::spawn(slurm::tail_log(
            self.files.log(),
            self.log_dir.clone(),
            self.log_path.clone(),
            self.copied,
            self.masker.clone(),
            self.tail.clone(),
            stop_rx,
        ));
        let mut interval = POLL_MIN;
        let mut next_status = Instant::now();
        let mut follow = BatchFollow::default();
        let mut hard_at: Option<Instant> = None;
        let mut asked = false;
        // Whether the scheduler took one of baton's `cancel`s (it exited 0): only then
        // is a `status` that fails the job gone (`qstat -j` of a deleted job).
        let mut taken = false;
        let code: Option<i32> = loop {
            if let Some(code) = exit_code(&self.files.exit_code()) {
                break Some(code);
            }
            let now = Instant::now();
            if hard_at.is_some_and(|t| now >= t) {
                hard_at = None;
                taken |= self.command(&self.opts.cancel).await != BatchSaid::NoAnswer;
            }
            if now >= next_status {
                // A `status` that fails is no answer: the job is followed on (its
                // exit-code file still ends it), the state shown says since when.
                let said = self.command(&self.opts.status).await;
                let at = (now - self.started, Timestamp::now());
                let heard = follow.heard(said, at, taken);
                if heard.end {
                    // A last look (the file may trail the job on a shared disk).
                    break exit_code(&self.files.exit_code());
                }
                let changed = heard
                    .shown
                    .is_some_and(|(state, reason)| self.show(&state, reason));
                interval = files_of::next_interval(interval, changed, POLL_MIN, self.opts.poll);
                if follow.gone() {
                    interval = POLL_MIN;
                }
                next_status = Instant::now() + interval;
            }
            let notified = self.cancel.notified();
            tokio::select! {
                _ = tokio::time::sleep(EXIT_EVERY) => {}
                _ = notified, if !asked => {
                    if let Some((_, grace)) = self.cancel.requested() {
                        asked = true;
                        taken |= self.command(&self.opts.cancel).await != BatchSaid::NoAnswer;
                        hard_at = Some(Instant::now() + grace);
                        next_status = Instant::now();
                    }
                }
            }
        };
        let killed = self.cancel.requested().map(|(r, _)| r.outcome());
        let outcome = crate::scheduler::batch_end(&self.job_id, code, killed);
        let _ = stop_tx.send(true);
        let log_errors = match tailer.await {
            Ok(Some(e)) => vec![e],
            _ => Vec::new(),
        };
        let mut output_errors = Vec::new();
        let (outputs, usage, cut_output) = slurm::read_results(
            &self.files,
            (&self.masker, &self.log_path),
            &mut output_errors,
        );
        // The environment file holds secrets: nothing of the attempt stays behind.
        let _ = std::fs::remove_dir_all(&self.files.dir);
        let _ = std::fs::remove_dir(self.files.dir.parent().unwrap_or(Path::new("")));
        let stderr_tail = self.tail.stderr_tail(&outcome);
        Finished {
            outcome,
            duration_ms: crate::stream::duration_ms(self.started.elapsed()),
            outputs,
            usage,
            stderr_tail,
            log_path: Some(self.log_path.clone()),
            output_errors,
            cut_output,
            log_errors,
        }
    }

    /// Pass the scheduler's word on (the console and `show`), with why when `status`
    /// does not answer; whether it changed.
    fn show(&self, state: &str, reason: Option<String>) -> bool {
        let seen = Seen::Listed(JobStatus {
            job_id: self.job_id.clone(),
            state: state.to_string(),
            reason: reason.unwrap_or_default(),
            submitted: String::new(),
            started: String::new(),
            comment: String::new(),
        });
        self.seen.send_if_modified(|old| {
            let differs = *old != seen;
            if differs {
                *old = seen;
            }
            differs
        })
    }
}

/// The exit code, once the job script has renamed its file into place.
fn exit_code(path: &Path) -> Option<i32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

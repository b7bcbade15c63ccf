//! The Slurm back end: one job per attempt through the Slurm CLI (`sbatch`, `squeue`,
//! `scancel`, `sacct`), started with tokio and never through a shell string. The
//! step's environment goes to a 0600 file under the executor's `workdir` (a filesystem
//! the nodes share); the job writes `$BATON_OUTPUT`, `$BATON_USAGE` and its exit code
//! there (Nextflow's `.exitcode`). One batched `squeue` per executor and run per
//! interval tells every waiting attempt its job's state.
mod backend;
pub(crate) mod script;
pub(crate) mod state;

use super::ShellJob;
use super::outputs::{MAX_FILE_BYTES, parse_read_outputs, parse_usage};
use super::stream::{MaskingSplitter, TailHandle};
use super::{ExecError, Finished};
use baton_workflow::SlurmOptions;
use script::JobFiles;
use state::{End, JobStatus, Phase};
use std::collections::HashMap;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

/// Fastest `squeue` interval (the scheduler itself runs about once a second).
pub(crate) const POLL_MIN: Duration = Duration::from_millis(500);
/// How long an ended job's exit-code file may take to appear (shared-filesystem latency).
const EXIT_FILE_WAIT: Duration = Duration::from_secs(10);
/// How long any one Slurm command may take.
const CLI_DEADLINE: Duration = Duration::from_secs(30);

/// A Slurm command that did not do what was asked: what it said, or why it could not
/// be asked.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SlurmCliError {
    #[error("{program} did not answer within {wait:?}", wait = CLI_DEADLINE)]
    NoAnswer { program: String },
    #[error("cannot run {program}: {error}")]
    CannotRun {
        program: String,
        error: std::io::Error,
    },
    #[error("{program} exited with {status}")]
    Exited {
        program: String,
        status: std::process::ExitStatus,
    },
    /// Its stderr, trimmed.
    #[error("{said}")]
    Said { said: String },
}
/// How often a running job's output file is read for the live tail.
const TAIL_EVERY: Duration = Duration::from_millis(250);

/// What the last `squeue` said about one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// Not asked yet.
    Unknown,
    Listed(JobStatus),
    /// No longer listed: ended longer ago than MinJobAge, or never existed.
    Gone,
}

/// One `[executors.NAME]` of `type = "slurm"`, for one run.
#[derive(Debug)]
pub(crate) struct SlurmExecutor {
    name: String,
    opts: SlurmOptions,
    run_id: String,
    monitor: Arc<Monitor>,
    /// `sbatch` calls in flight at once: a wide layer of steps becomes a steady stream
    /// of submissions rather than a burst of processes that slows `slurmctld` (and the
    /// first jobs) down.
    submitting: tokio::sync::Semaphore,
}

/// How many `sbatch` run at once per executor.
const SUBMIT_AT_ONCE: usize = 4;

#[derive(Debug, Default)]
struct Watched {
    jobs: HashMap<String, watch::Sender<Seen>>,
    polling: bool,
}

/// The run's jobs on this executor and the task that polls `squeue` for them.
#[derive(Debug)]
struct Monitor {
    name_filter: String,
    watched: Mutex<Watched>,
    wake: Notify,
    max: Duration,
}

impl Monitor {
    fn lock(&self) -> MutexGuard<'_, Watched> {
        self.watched.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn watch(self: &Arc<Self>, job_id: &str) -> watch::Receiver<Seen> {
        let mut w = self.lock();
        let rx = match w.jobs.get(job_id) {
            Some(tx) => tx.subscribe(),
            None => {
                let (tx, rx) = watch::channel(Seen::Unknown);
                w.jobs.insert(job_id.to_string(), tx);
                rx
            }
        };
        if w.polling {
            drop(w);
            // A new job: ask soon, not after the backed-off interval.
            self.wake.notify_one();
        } else {
            // A new poller asks at once. No wake for it: a stored permit would make it
            // ask twice in a row, see no change the second time and back off, so the
            // first job's end would be seen a whole `poll` late.
            w.polling = true;
            tokio::spawn(Arc::clone(self).poll());
        }
        rx
    }

    fn forget(&self, job_id: &str) {
        self.lock().jobs.remove(job_id);
    }

    /// One `squeue` per interval for all of the run's jobs; ends when none is watched.
    async fn poll(self: Arc<Self>) {
        let mut interval = POLL_MIN;
        loop {
            if self.lock().jobs.is_empty() {
                let mut w = self.lock();
                if w.jobs.is_empty() {
                    w.polling = false;
                    return;
                }
            }
            let mut changed = false;
            if let Ok(jobs) = squeue(&self.name_filter).await {
                let by_id: HashMap<&str, &JobStatus> =
                    jobs.iter().map(|j| (j.job_id.as_str(), j)).collect();
                let w = self.lock();
                for (id, tx) in &w.jobs {
                    let seen = match by_id.get(id.as_str()) {
                        Some(j) => Seen::Listed((*j).clone()),
                        None => Seen::Gone,
                    };
                    changed |= tx.send_if_modified(|old| {
                        let differs = *old != seen;
                        if differs {
                            *old = seen;
                        }
                        differs
                    });
                }
            }
            // An unanswered `squeue` (slurmctld restarting) changes nothing: ask again.
            interval = script::next_interval(interval, changed, POLL_MIN, self.max);
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = self.wake.notified() => interval = POLL_MIN,
            }
        }
    }
}

impl SlurmExecutor {
    pub(crate) fn new(name: &str, opts: SlurmOptions, run_id: &str) -> SlurmExecutor {
        let max = opts.poll;
        SlurmExecutor {
            name: name.to_string(),
            opts,
            run_id: run_id.to_string(),
            monitor: Arc::new(Monitor {
                name_filter: script::job_name(run_id),
                watched: Mutex::new(Watched::default()),
                wake: Notify::new(),
                max,
            }),
            submitting: tokio::sync::Semaphore::new(SUBMIT_AT_ONCE),
        }
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn options(&self) -> &SlurmOptions {
        &self.opts
    }

    /// Write the attempt's files and `sbatch` it.
    pub(crate) async fn submit(
        &self,
        job: ShellJob,
        timeout: Option<Duration>,
    ) -> Result<JobAttempt, ExecError> {
        let files = JobFiles::new(&self.opts.workdir, &self.run_id, &job.step_id, job.attempt);
        let setup = |what: &str| {
            let what = format!("{what} under {}", files.dir.display());
            move |source| ExecError::Setup { what, source }
        };
        prepare_dir(&files.dir).map_err(setup("the job's directory"))?;
        // The job's shell execs the step as a local one would: a value too big for an
        // environment goes through a file (`env_files`) on the shared directory too.
        let env = super::env_files::place(&job.env, &files.dir)
            .map_err(setup("the job's value files"))?;
        write_private(&files.env(), &script::render_env(&env, &files))
            .map_err(setup("the job's environment file"))?;
        write_private(
            &files.script(),
            &script::render_script(&job.command, &job.dir, &files),
        )
        .map_err(setup("the job script"))?;
        let args = script::sbatch_args(
            &self.opts,
            &self.run_id,
            &job.step_id,
            job.attempt,
            timeout,
            &files,
        );
        let permit = self.submitting.acquire().await;
        // A job takes sbatch's environment: not the secrets the step does not name.
        let out = slurm_cli_without("sbatch", &args, &job.withheld).await;
        drop(permit);
        let out = out.map_err(|message| {
            let _ = std::fs::remove_dir_all(&files.dir);
            ExecError::Spawn {
                message: format!("sbatch failed: {message}"),
                log_path: None,
            }
        })?;
        // `--parsable`: `ID` or `ID;CLUSTER`.
        let job_id = out
            .trim()
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_string();
        if job_id.is_empty() || !job_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ExecError::Spawn {
                message: format!("sbatch gave no job id: {:?}", out.trim()),
                log_path: None,
            });
        }
        Ok(self.attach(job, job_id, files, false))
    }

    /// Follow a job an earlier engine submitted. Its log continues where that engine
    /// left it: what it already copied is not copied again.
    pub(crate) fn reattach(&self, job: ShellJob, job_id: &str) -> JobAttempt {
        let files = JobFiles::new(&self.opts.workdir, &self.run_id, &job.step_id, job.attempt);
        self.attach(job, job_id.to_string(), files, true)
    }

    fn attach(&self, job: ShellJob, job_id: String, files: JobFiles, again: bool) -> JobAttempt {
        let status = self.monitor.watch(&job_id);
        let log_path = job
            .log_dir
            .join(baton_model::log_file_name(&job.step_id, job.attempt));
        let copied = if again {
            std::fs::metadata(&log_path).map_or(0, |m| m.len())
        } else {
            0
        };
        JobAttempt {
            copied,
            executor: self.name.clone(),
            job_id,
            files,
            log_path,
            log_dir: job.log_dir,
            masker: job.masker,
            cancel: CancelHandle::default(),
            tail: TailHandle::default(),
            monitor: Arc::clone(&self.monitor),
            status,
            started: Instant::now(),
        }
    }

    /// The run's jobs on this executor still known to Slurm: `(job id, step, attempt,
    /// state)`. Resume uses it to find a job submitted but not recorded.
    pub(crate) fn run_jobs_blocking(&self) -> Result<Vec<JobStatus>, SlurmCliError> {
        let out = std::process::Command::new("squeue")
            .args(squeue_args(&self.monitor.name_filter))
            .output()
            .map_err(|error| SlurmCliError::CannotRun {
                program: "squeue".into(),
                error,
            })?;
        if !out.status.success() {
            return Err(SlurmCliError::Said {
                said: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        Ok(state::parse_squeue(&String::from_utf8_lossy(&out.stdout)))
    }
}

/// Neither `scontrol suspend|resume` nor the signal to the job's processes was taken.
#[derive(Debug, thiserror::Error)]
#[error("scontrol {verb}: {first}; scancel {signal}: {second}")]
pub(crate) struct SuspendError {
    verb: &'static str,
    first: SlurmCliError,
    signal: &'static str,
    second: SlurmCliError,
}

/// Suspend (`stop`) or resume a job for a hold: `scontrol suspend|resume` (the
/// cluster stops and continues every process of the job, and keeps its node); where
/// this account may not (`scontrol suspend` is an operator's), the job's processes
/// are sent SIGSTOP/SIGCONT (`scancel --signal --full`), which any owner may.
pub(crate) async fn suspend(job_id: &str, stop: bool) -> Result<(), SuspendError> {
    let verb = if stop { "suspend" } else { "resume" };
    let Err(first) = slurm_cli("scontrol", &[verb.to_string(), job_id.to_string()]).await else {
        return Ok(());
    };
    let signal = if stop {
        "--signal=STOP"
    } else {
        "--signal=CONT"
    };
    let args = [signal.to_string(), "--full".to_string(), job_id.to_string()];
    slurm_cli("scancel", &args)
        .await
        .map(|_| ())
        .map_err(|second| SuspendError {
            verb,
            first,
            signal,
            second,
        })
}

/// Cancel a job, best effort.
pub(crate) async fn cancel(job_id: &str) {
    let _ = slurm_cli("scancel", &[job_id.to_string()]).await;
}

fn squeue_args(name: &str) -> Vec<String> {
    vec![
        "--noheader".into(),
        format!("--name={name}"),
        "--states=all".into(),
        format!("--format={}", state::SQUEUE_FORMAT),
    ]
}

async fn squeue(name: &str) -> Result<Vec<JobStatus>, SlurmCliError> {
    let out = slurm_cli("squeue", &squeue_args(name)).await?;
    Ok(state::parse_squeue(&out))
}

/// Run a Slurm command (arguments, never a shell string) with a deadline. baton's own
/// `BATON_*` variables stay out of the job's environment (`sbatch` exports its own).
async fn slurm_cli(program: &str, args: &[String]) -> Result<String, SlurmCliError> {
    slurm_cli_without(program, args, &[]).await
}

/// [`slurm_cli`] without baton's variables `withheld` either (`ShellJob::withheld`).
async fn slurm_cli_without(
    program: &str,
    args: &[String],
    withheld: &[String],
) -> Result<String, SlurmCliError> {
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("BATON_") {
            cmd.env_remove(k);
        }
    }
    for k in withheld {
        cmd.env_remove(k);
    }
    let out = tokio::time::timeout(CLI_DEADLINE, cmd.output())
        .await
        .map_err(|_| SlurmCliError::NoAnswer {
            program: program.into(),
        })?
        .map_err(|error| SlurmCliError::CannotRun {
            program: program.into(),
            error,
        })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        let said = String::from_utf8_lossy(&out.stderr).trim().to_string();
        Err(if said.is_empty() {
            SlurmCliError::Exited {
                program: program.into(),
                status: out.status,
            }
        } else {
            SlurmCliError::Said { said }
        })
    }
}

pub(crate) fn prepare_dir(dir: &Path) -> std::io::Result<()> {
    // A directory an earlier engine left for this attempt holds nothing to keep.
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

pub(crate) fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())
}

pub(crate) use super::remote_cancel::CancelHandle;

/// A submitted job. Call [`JobAttempt::wait`].
#[derive(Debug)]
pub(crate) struct JobAttempt {
    executor: String,
    job_id: String,
    files: JobFiles,
    log_dir: PathBuf,
    log_path: PathBuf,
    /// How much of the log an earlier engine wrote (re-attached), not to be written again.
    copied: u64,
    masker: baton_model::mask::Masker,
    cancel: CancelHandle,
    tail: TailHandle,
    monitor: Arc<Monitor>,
    status: watch::Receiver<Seen>,
    started: Instant,
}

impl JobAttempt {
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
    /// The last state `squeue` gave, e.g. `PENDING (Resources)`.
    pub(crate) fn status(&self) -> watch::Receiver<Seen> {
        self.status.clone()
    }

    /// Waits for the job to end (its state from `squeue`, then its exit-code file, then
    /// `sacct`), tails its output into the step's log meanwhile, and collects outputs.
    pub(crate) async fn wait(mut self) -> Finished {
        let (stop_tx, stop_rx) = watch::channel(false);
        let tailer = tokio::spawn(tail_log(
            self.files.log(),
            self.log_dir.clone(),
            self.log_path.clone(),
            self.copied,
            self.masker.clone(),
            self.tail.clone(),
            stop_rx,
        ));
        let mut last_phase = Phase::Queued;
        let mut hard_at: Option<Instant> = None;
        let mut asked = false;
        // The state `squeue` last listed the job in, once it says the job ended.
        let ended: Option<(String, End)> = loop {
            let seen = self.status.borrow_and_update().clone();
            match seen {
                Seen::Listed(s) => match state::phase(&s.state) {
                    Phase::Ended(end) => break Some((s.state, end)),
                    p => last_phase = p,
                },
                Seen::Gone => break None,
                Seen::Unknown => {}
            }
            let notified = self.cancel.notified();
            tokio::select! {
                changed = self.status.changed() => if changed.is_err() { break None },
                _ = notified, if !asked => {
                    if let Some((_, grace)) = self.cancel.requested() {
                        asked = true;
                        self.scancel(last_phase == Phase::Running).await;
                        hard_at = Some(Instant::now() + grace);
                        self.monitor.wake.notify_one();
                    }
                }
                _ = tokio::time::sleep_until(hard_at.unwrap_or_else(Instant::now)), if hard_at.is_some() => {
                    hard_at = None;
                    self.scancel(false).await;
                }
            }
        };
        self.monitor.forget(&self.job_id);
        let killed = self.cancel.requested().map(|(r, _)| r.outcome());
        let mut output_errors = Vec::new();
        let outcome = match ended {
            Some((listed, end)) => {
                // A job baton stopped may never have written its exit code.
                let wait = killed.is_none() && matches!(end, End::Completed | End::Failed);
                let code = read_exit_code(&self.files.exit_code(), wait).await;
                // As the simulator reads a listed job (`scheduler::slurm_listed`); the
                // state ended, so it always says how.
                match crate::scheduler::slurm_listed(&listed, code, killed.clone()) {
                    Some(outcome) => outcome,
                    None => state::outcome(&end, code, killed),
                }
            }
            // Gone from `squeue`: the exit-code file, else accounting, else lost.
            None => {
                let code = read_exit_code(&self.files.exit_code(), true).await;
                let accounted = match code {
                    Some(_) => None,
                    None => sacct(&self.job_id).await,
                };
                crate::scheduler::gone(&self.job_id, code, accounted, killed)
            }
        };
        let _ = stop_tx.send(true);
        let log_errors = match tailer.await {
            Ok(Some(e)) => vec![e],
            _ => Vec::new(),
        };
        let (outputs, usage, cut_output) = read_results(
            &self.files,
            (&self.masker, &self.log_path),
            &mut output_errors,
        );
        // The environment file holds secrets: nothing of the attempt stays behind.
        let _ = std::fs::remove_dir_all(&self.files.dir);
        Finished {
            outcome,
            duration_ms: crate::stream::duration_ms(self.started.elapsed()),
            outputs,
            usage,
            stderr_tail: self.tail.last_lines(20),
            log_path: Some(self.log_path.clone()),
            output_errors,
            cut_output,
            log_errors,
        }
    }

    /// `scancel`: SIGTERM to a running job's processes first, or the job outright.
    async fn scancel(&self, soft: bool) {
        let mut args = Vec::new();
        if soft {
            args.push("--signal=TERM".to_string());
            args.push("--full".to_string());
        }
        args.push(self.job_id.clone());
        let _ = slurm_cli("scancel", &args).await;
    }
}

impl Drop for JobAttempt {
    fn drop(&mut self) {
        self.monitor.forget(&self.job_id);
    }
}

pub(crate) async fn read_exit_code(path: &Path, wait: bool) -> Option<i32> {
    let deadline = Instant::now() + if wait { EXIT_FILE_WAIT } else { Duration::ZERO };
    loop {
        if let Ok(text) = tokio::fs::read_to_string(path).await
            && let Ok(code) = text.trim().parse()
        {
            return Some(code);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A job's `$BATON_OUTPUT`, `$BATON_USAGE` and `$BATON_LABELS` files, read (bounded)
/// and parsed as a local step's are, and its `$BATON_SUMMARY` kept beside its log
/// `log` as a local step's is (`summary::keep`: bounded, sanitised, masked); problems
/// go to `errors`.
pub(crate) fn read_results(
    files: &JobFiles,
    (masker, log): (&baton_model::mask::Masker, &Path),
    errors: &mut Vec<String>,
) -> (Vec<(String, String)>, baton_model::Usage, Option<String>) {
    let mask = |t: &str| masker.mask(t).into_owned();
    if let Err(why) = crate::summary::keep(&files.summary(), log, &mask) {
        errors.push(format!("$BATON_SUMMARY: {why}"));
    }
    let mut read = |path: &Path, name: &str| match std::fs::read(path) {
        Ok(b) => {
            let n = b.len().min(MAX_FILE_BYTES as usize);
            let text = String::from_utf8_lossy(&b[..n]).into_owned();
            (text, b.len() > n)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (String::new(), false),
        Err(e) => {
            errors.push(format!("{name}: cannot read: {e}"));
            (String::new(), false)
        }
    };
    let (out_text, more) = read(&files.output(), "$BATON_OUTPUT");
    let (usage_text, _) = read(&files.usage(), "$BATON_USAGE");
    let (mut outputs, mut e1, cut_output) = parse_read_outputs(&out_text, more, masker);
    // `$BATON_LABELS` rides in the outputs, as a local step's does.
    let labels = crate::local::shell::read_bounded(&files.labels(), "$BATON_LABELS", errors);
    outputs.extend(crate::outputs::labelled(labels, masker, errors));
    let (usage, mut e2) = parse_usage(&usage_text, masker);
    errors.append(&mut e1);
    errors.append(&mut e2);
    (outputs, usage, cut_output)
}

async fn sacct(job_id: &str) -> Option<(End, Option<i32>)> {
    let args = [
        "--noheader".to_string(),
        "--parsable2".to_string(),
        "--allocations".to_string(),
        format!("--jobs={job_id}"),
        "--format=State,ExitCode".to_string(),
    ];
    state::parse_sacct(&slurm_cli("sacct", &args).await.ok()?)
}

/// Copies the job's output file, masked, into the step's log and its live tail, until
/// `stop` (then one last read) ([`crate::log_copy::LogCopy`]). Returns a write error,
/// if any.
pub(crate) async fn tail_log(
    source: PathBuf,
    log_dir: PathBuf,
    log_path: PathBuf,
    copied: u64,
    masker: baton_model::mask::Masker,
    tail: TailHandle,
    mut stop: watch::Receiver<bool>,
) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    let mut splitter = MaskingSplitter::new(masker);
    let mut offset = 0u64;
    let mut copy = crate::log_copy::LogCopy::new(log_dir, log_path, copied, tail);
    loop {
        let last = *stop.borrow();
        if let Ok(mut f) = tokio::fs::File::open(&source).await
            && f.seek(std::io::SeekFrom::Start(offset)).await.is_ok()
        {
            let mut buf = Vec::new();
            if let Ok(n) = f.read_to_end(&mut buf).await {
                offset += n as u64;
                if let Some(out) = splitter.push(&buf) {
                    copy.write(&out);
                }
            }
        }
        if last {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(TAIL_EVERY) => {}
            _ = stop.changed() => {}
        }
    }
    if let Some(out) = splitter.finish() {
        copy.write(&out);
    }
    copy.error
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Re-attached: the log an earlier engine wrote is the start of the masked copy, so
    /// the copy goes on after it; the live tail still has every line.
    #[tokio::test]
    async fn a_reattached_tail_continues_the_log_it_finds() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("job.out");
        std::fs::write(&source, "token s3cret\nline-2\nline-3\n").unwrap();
        let log = dir.path().join("logs").join("job.1.log");
        std::fs::create_dir_all(log.parent().unwrap()).unwrap();
        let before = "token ***\n";
        std::fs::write(&log, before).unwrap();
        let (_stop_tx, stop) = watch::channel(true);
        let tail = TailHandle::default();
        let masker = baton_model::mask::Masker::new(["s3cret".to_string()]);
        let error = tail_log(
            source,
            dir.path().join("logs"),
            log.clone(),
            before.len() as u64,
            masker,
            tail.clone(),
            stop,
        )
        .await;
        assert_eq!(error, None);
        assert_eq!(
            std::fs::read_to_string(&log).unwrap(),
            "token ***\nline-2\nline-3\n"
        );
        assert_eq!(tail.lines(), ["token ***", "line-2", "line-3"]);
    }

    /// The copies' times go to the run's time index, as a local step's writes do.
    #[tokio::test]
    async fn the_copy_keeps_its_times_in_the_runs_index() {
        use baton_model::logtimes::{INDEX, parse_index};
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("job.out");
        std::fs::write(&source, "one\ntwo\n").unwrap();
        let logs = dir.path().join("logs");
        let (_stop_tx, stop) = watch::channel(true);
        let masker = baton_model::mask::Masker::default();
        let log = logs.join("job.1.log");
        let error = tail_log(
            source,
            logs.clone(),
            log.clone(),
            0,
            masker,
            TailHandle::default(),
            stop,
        )
        .await;
        assert_eq!(error, None);
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "one\ntwo\n");
        let index = std::fs::read(logs.join(INDEX)).unwrap();
        let (records, _) = parse_index(&index, "job.1.log");
        assert_eq!(records.iter().map(|r| r.0).collect::<Vec<_>>(), [0]);
    }
}

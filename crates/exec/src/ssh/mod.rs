//! The SSH back end: a step runs on another host through the system's `ssh` (the
//! user's own configuration, agent and known hosts; `BatchMode=yes`; one connection per
//! host reused through `ControlMaster` sockets in a private directory). A step costs
//! one `ssh` when nothing goes wrong (`live`: start, output, results; the step's env
//! and secrets on its stdin, never on a command line or the host's disk). Each attempt
//! has a directory on the host (`script::attempt_dir`, private: umask 077) holding its
//! output, `$BATON_OUTPUT`, `$BATON_USAGE`, its process group id and its exit code,
//! so that an engine killed meanwhile re-attaches to it or collects it (`FOLLOW`,
//! `COLLECT`): never starts it twice.
mod ahead;
mod backend;
mod files;
pub(crate) mod frame;
mod live;
pub(crate) mod script;
mod stall;

use super::ShellJob;
use super::log_copy::LogCopy;
use super::outputs::{parse_read_outputs, parse_usage};
use super::stream::{MaskingSplitter, TailHandle};
use super::{ExecError, Finished};
use baton_model::StepOutcome;
use baton_workflow::SshOptions;
use script::{HostProblem, Signalled};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

/// How long a command that should answer at once (launch, collect, signal) may take.
pub(super) const CLI_DEADLINE: Duration = Duration::from_secs(60);
/// How long a host may stay unreachable while an attempt runs there before it is lost.
const UNREACHABLE_FOR: Duration = Duration::from_secs(300);
/// How long a stop may wait on the shared connection before it is sent again over a
/// connection of its own: a stalled shared connection must not carry a timeout or a
/// cancel late (issue 55 point 2).
const SHARED_STOP_DEADLINE: Duration = Duration::from_secs(3);
/// How long that connection of its own may take to connect and answer.
const FRESH_STOP_DEADLINE: Duration = Duration::from_secs(20);
/// How soon a stop that reached no one is sent again.
const STOP_AGAIN: Duration = Duration::from_secs(2);
/// How long the attempt's stream may stay silent after a stop reached the step before
/// the host is asked, over a connection of its own, whether the attempt ended: a stalled
/// stream must not hold the attempt's end (issue 75 point 7).
const ENDED_CHECK: Duration = Duration::from_secs(2);
/// How long an idle shared connection stays open.
const PERSIST: &str = "ControlPersist=120";

/// Which connection a remote command takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    /// The host's shared connection (`ControlMaster`), made if there is none.
    Shared,
    /// A connection of its own, for a stop the shared one did not carry in time.
    Fresh,
}

/// Where a stop of an attempt stands: asked (TERM sent or tried), when the hard stop is
/// due (or the next try of one that reached no one), and whether a signal reached the
/// step's group before it ended: only then is the attempt recorded as stopped.
#[derive(Debug, Default)]
pub(super) struct Stopping {
    asked: bool,
    hard_at: Option<Instant>,
    reached: bool,
    /// When a connection of its own found the attempt ended on the host while its
    /// stream said nothing: the attempt's end, and the rest goes over such connections.
    ended_seen: Option<Instant>,
}

impl Stopping {
    /// The connection the attempt's files are read over: one of their own once the
    /// stream was left as stalled (the shared one is likely the one that stalled).
    fn via(&self) -> Via {
        if self.ended_seen.is_some() {
            Via::Fresh
        } else {
            Via::Shared
        }
    }

    /// Takes in what a signal did: one that reached no one (no answer, or no group to
    /// signal yet) is tried again hard after `STOP_AGAIN`, unless the attempt ended.
    fn note(&mut self, sent: &Result<Signalled, HostProblem>, hard: bool) {
        match sent {
            Ok(Signalled::Sent) => self.reached = true,
            Ok(Signalled::Ended) => self.hard_at = None,
            Ok(Signalled::Neither) | Err(_) if hard => {
                self.hard_at = Some(Instant::now() + STOP_AGAIN);
            }
            Ok(Signalled::Neither) | Err(_) => {}
        }
    }
}

/// What an attempt is recorded as: the host's own exit when there is one and no stop
/// reached the step first, the stop's outcome when one did, and "outcome unknown"
/// (`Lost`) when neither can be had: never `cancelled` or `timeout` for a step that
/// ran to its end on a host the stop did not reach (issue 55 point 2).
fn fate(
    stopped: Option<StepOutcome>,
    exit: Result<Option<i32>, HostProblem>,
    (host, workdir): (&str, &str),
    dir: &str,
) -> StepOutcome {
    match (stopped, exit) {
        (Some(k), _) => k,
        (None, Ok(Some(code))) => StepOutcome::Exited { exit_code: code },
        (None, Ok(None)) => StepOutcome::Lost {
            reason: format!(
                "outcome unknown: the step on host {host} ended without an exit code (its wrapper was killed, or the host restarted); its files are in {dir} there"
            ),
        },
        (None, Err(problem)) => StepOutcome::Lost {
            reason: format!(
                "outcome unknown: cannot follow the step on host {host}: {}",
                problem.describe(host, workdir)
            ),
        },
    }
}

/// One `[executors.NAME]` of `type = "ssh"`, for one run.
#[derive(Debug)]
pub struct SshExecutor {
    name: String,
    opts: SshOptions,
    run_id: String,
    /// The workflow's `secrets`: a local step inherits them from baton's environment;
    /// a remote one gets them in its job file.
    secrets: Vec<String>,
}

/// Where the shared connections' sockets live: a 0700 directory of this user's, or
/// none (each `ssh` then connects on its own).
pub fn control_dir() -> Option<PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    let uid = nix::unistd::getuid().as_raw();
    let dir = std::env::temp_dir().join(format!("baton-ssh-{uid}"));
    let _ = std::fs::DirBuilder::new().mode(0o700).create(&dir);
    let meta = std::fs::symlink_metadata(&dir).ok()?;
    // Another user's directory (or a symlink) would hand them our connections.
    (meta.is_dir() && meta.uid() == uid && meta.permissions().mode() & 0o077 == 0).then_some(dir)
}

impl SshExecutor {
    pub fn new(name: &str, opts: SshOptions, run_id: &str) -> SshExecutor {
        SshExecutor {
            name: name.to_string(),
            opts,
            run_id: run_id.to_string(),
            secrets: Vec::new(),
        }
    }

    /// The secrets' names its steps get from baton's environment.
    pub fn with_secrets(mut self, names: &[String]) -> SshExecutor {
        self.secrets = names.to_vec();
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn host(&self) -> &str {
        &self.opts.host
    }

    /// `ssh`'s arguments before the remote command: options, then `--` and the host.
    fn ssh_args(&self) -> Vec<String> {
        self.ssh_args_via(Via::Shared)
    }

    /// [`Self::ssh_args`] over the shared connection, or over a connection of its own
    /// (no control socket: a stalled shared connection cannot hold it up).
    fn ssh_args_via(&self, via: Via) -> Vec<String> {
        let mut a = Vec::new();
        if let Some(f) = &self.opts.ssh_config {
            a.push("-F".to_string());
            a.push(f.to_string_lossy().into_owned());
        }
        for o in [
            "BatchMode=yes",
            "ServerAliveInterval=15",
            "ServerAliveCountMax=4",
        ] {
            a.push("-o".into());
            a.push(o.into());
        }
        if via == Via::Fresh {
            for o in ["ControlMaster=no", "ControlPath=none", "ConnectTimeout=10"] {
                a.push("-o".into());
                a.push(o.into());
            }
        } else if let Some(dir) = control_dir() {
            for o in [
                "ControlMaster=auto".to_string(),
                format!("ControlPath={}/%C", dir.display()),
                PERSIST.to_string(),
            ] {
                a.push("-o".into());
                a.push(o);
            }
        }
        a.push("-T".into());
        a.push("--".into());
        a.push(self.opts.host.clone());
        a
    }

    fn command(&self, script: &str, args: &[&str]) -> tokio::process::Command {
        self.command_via(script, args, Via::Shared)
    }

    fn command_via(&self, script: &str, args: &[&str], via: Via) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new("ssh");
        cmd.args(self.ssh_args_via(via))
            .arg(script::remote(script, args))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        cmd
    }

    /// Run a remote script to its end: its stdout, or what went wrong.
    async fn call(
        &self,
        script: &str,
        args: &[&str],
        stdin: Option<&[u8]>,
    ) -> Result<Vec<u8>, HostProblem> {
        self.call_via(script, args, stdin, (Via::Shared, CLI_DEADLINE))
            .await
    }

    /// [`Self::call`] over the shared connection or one of its own, within `deadline`.
    async fn call_via(
        &self,
        script: &str,
        args: &[&str],
        stdin: Option<&[u8]>,
        (via, deadline): (Via, Duration),
    ) -> Result<Vec<u8>, HostProblem> {
        let mut cmd = self.command_via(script, args, via);
        if stdin.is_some() {
            cmd.stdin(Stdio::piped());
        }
        let run = async {
            let mut child = cmd
                .spawn()
                .map_err(|e| HostProblem::Other(format!("cannot run ssh: {e}")))?;
            if let (Some(bytes), Some(mut w)) = (stdin, child.stdin.take()) {
                // A failed write shows as the remote side's error below.
                let _ = w.write_all(bytes).await;
                drop(w);
            }
            let out = child
                .wait_with_output()
                .await
                .map_err(|e| HostProblem::Other(format!("ssh: {e}")))?;
            if out.status.success() {
                Ok(out.stdout)
            } else {
                Err(HostProblem::classify(
                    out.status.code(),
                    &String::from_utf8_lossy(&out.stderr),
                ))
            }
        };
        tokio::time::timeout(deadline, run)
            .await
            .unwrap_or_else(|_| {
                Err(HostProblem::Unreachable(format!(
                    "no answer within {deadline:?}"
                )))
            })
    }

    fn dir_of(&self, job: &ShellJob) -> String {
        script::attempt_dir(&self.opts.workdir, &self.run_id, &job.step_id, job.attempt)
    }

    fn problem(&self, p: &HostProblem) -> String {
        p.describe(&self.opts.host, &self.opts.workdir)
    }

    /// Send the attempt's job file and start it on the host.
    pub async fn start(&self, job: ShellJob) -> Result<SshAttempt, ExecError> {
        let dir = self.dir_of(&job);
        // The secrets first: the step's own env (set later in the file) wins, as locally.
        let mut env = crate::secrets::inherited(&self.secrets, &job.withheld);
        env.extend(job.env.iter().cloned());
        let body = script::render_job(&job.command, &job.dir.to_string_lossy(), &env);
        let (pgid, live) = match self.launch(&dir, &body).await {
            Ok(launched) => launched,
            // The connection failed: the job may still have reached the host.
            Err(p) if p.may_have_delivered() => return self.after_cut_launch(job, dir, &p).await,
            Err(p) => return Err(self.start_error(&p)),
        };
        let mut attempt = self.attach(job, dir, pgid, false);
        attempt.live = Some(Box::new(live));
        Ok(attempt)
    }

    /// A step that did not start here, and why.
    fn start_error(&self, p: &HostProblem) -> ExecError {
        let message = format!(
            "the step did not start on executor `{}`: {}",
            self.name,
            self.problem(p)
        );
        // Another executor of the step's labels may take it (`spread`).
        if p.transient() {
            ExecError::HostDown { message }
        } else {
            ExecError::Spawn {
                message,
                log_path: None,
            }
        }
    }

    /// A launch whose connection failed may have delivered the job all the same (an
    /// sshd session killed mid-launch: the step started half a second after its spawn
    /// failure was recorded, beside the group's next run — found by the chaos
    /// campaign). The attempt's directory on the host says which (`script::CLAIMED`):
    /// started, it is followed from its files as a resume follows it; never started,
    /// the launch failed. While the host cannot say, it is asked again, up to
    /// `UNREACHABLE_FOR`; then the attempt is lost, its outcome unknown, as for a
    /// running step whose host went away — never a spawn failure that would let the
    /// step start again elsewhere beside itself.
    async fn after_cut_launch(
        &self,
        job: ShellJob,
        dir: String,
        cut: &HostProblem,
    ) -> Result<SshAttempt, ExecError> {
        let since = Instant::now();
        loop {
            let asked = (Via::Fresh, FRESH_STOP_DEADLINE);
            let unknown = match self.call_via(script::CLAIMED, &[&dir], None, asked).await {
                Ok(out) => match script::parse_claimed(&out) {
                    script::Claimed::Started(pgid) => return Ok(self.attach(job, dir, pgid, true)),
                    script::Claimed::Never => return Err(self.start_error(cut)),
                    // A claimer alive with no group yet: the same deadline as silence.
                    script::Claimed::Starting => "its launch is still under way".to_string(),
                },
                Err(p) => self.problem(&p),
            };
            if since.elapsed() > UNREACHABLE_FOR {
                return Err(ExecError::Lost {
                    message: format!(
                        "the step's launch on executor `{}` was cut ({}) and the host has not said since whether it started: {unknown}",
                        self.name,
                        self.problem(cut),
                    ),
                });
            }
            tokio::time::sleep(STOP_AGAIN).await;
        }
    }

    /// Follow an attempt an earlier engine started there (its log goes on where that
    /// engine left it). `frozen`: held frozen on record; its group is stopped or
    /// continued to match at once (`freeze_on_host`).
    pub fn reattach(self: &Arc<Self>, job: ShellJob, pgid: &str, frozen: bool) -> SshAttempt {
        let dir = self.dir_of(&job);
        let attempt = self.attach(job, dir, pgid.to_string(), true);
        attempt.cancel.set_frozen(frozen);
        attempt
    }

    fn attach(&self, job: ShellJob, dir: String, pgid: String, again: bool) -> SshAttempt {
        let log_path = job
            .log_dir
            .join(baton_model::log_file_name(&job.step_id, job.attempt));
        let copied = if again {
            std::fs::metadata(&log_path).map_or(0, |m| m.len())
        } else {
            0
        };
        SshAttempt {
            exec: self.twin(),
            dir,
            pgid,
            copied,
            log_path,
            log_dir: job.log_dir,
            masker: job.masker,
            cancel: CancelHandle::freezable(),
            tail: TailHandle::default(),
            started: Instant::now(),
            live: None,
        }
    }

    /// Signal an attempt's process group with each of `signals`, in order (nothing
    /// once it has ended). The names are baton's own (`TERM`, `STOP`…), passed as
    /// arguments, never as shell code. Over the shared connection first; one that does
    /// not answer within `SHARED_STOP_DEADLINE` (stalled: its sshd stopped, a network
    /// gone silent) is passed over for a connection of its own. `Err`: neither
    /// reached the host.
    async fn signal(&self, dir: &str, signals: &[&str]) -> Result<Signalled, HostProblem> {
        let mut args = vec![dir];
        args.extend_from_slice(signals);
        let shared = (Via::Shared, SHARED_STOP_DEADLINE);
        match self.call_via(script::SIGNAL, &args, None, shared).await {
            Ok(out) => Ok(script::parse_signalled(&out)),
            Err(_) => {
                let fresh = (Via::Fresh, FRESH_STOP_DEADLINE);
                let out = self.call_via(script::SIGNAL, &args, None, fresh).await?;
                Ok(script::parse_signalled(&out))
            }
        }
    }

    /// When the attempt ended on the host, if it has, asked over a connection of its
    /// own (the shared one may be the one that stalled): the answer's arrival less the
    /// age the host gives its exit code, never before `started`.
    async fn ended_fresh(&self, dir: &str, started: Instant) -> Option<Instant> {
        let fresh = (Via::Fresh, FRESH_STOP_DEADLINE);
        let out = self
            .call_via(script::ENDED, &[dir], None, fresh)
            .await
            .ok()?;
        let age = script::parse_ended(&out)?;
        let now = Instant::now();
        let end = age.and_then(|a| now.checked_sub(a)).unwrap_or(now);
        Some(end.max(started))
    }

    /// The same executor, for a task of the attempt's own (its freezer).
    fn twin(&self) -> SshExecutor {
        SshExecutor::new(&self.name, self.opts.clone(), &self.run_id)
    }

    /// Stop a started attempt no one follows (resume: one no longer wanted), by its
    /// process group.
    pub async fn cancel_group(&self, pgid: &str) {
        let _ = self.call(script::SIGNAL_GROUP, &[pgid], None).await;
    }

    /// Whether the host answers (`baton executors`): `Err` says which problem and what
    /// to do.
    pub fn probe_blocking(&self) -> Result<(), HostError> {
        let out = std::process::Command::new("ssh")
            .args(["-o", "ConnectTimeout=5"])
            .args(self.ssh_args())
            .arg("true")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .map_err(HostError::NoSsh)?;
        if out.status.success() {
            return Ok(());
        }
        let p = HostProblem::classify(out.status.code(), &String::from_utf8_lossy(&out.stderr));
        Err(HostError::Host(self.problem(&p)))
    }

    /// The run's attempts that were started on the host: `(step, attempt, process
    /// group)`. Resume uses it to find one started but not recorded.
    pub fn run_attempts_blocking(&self) -> Result<Vec<(String, u32, String)>, HostError> {
        let dir = format!(
            "{}/{}",
            self.opts.workdir.trim_end_matches('/'),
            self.run_id
        );
        let out = std::process::Command::new("ssh")
            .args(self.ssh_args())
            .arg(script::remote(script::LIST, &[&dir]))
            .stdin(Stdio::null())
            .output()
            .map_err(HostError::NoSsh)?;
        if !out.status.success() {
            let p = HostProblem::classify(out.status.code(), &String::from_utf8_lossy(&out.stderr));
            return Err(HostError::Host(self.problem(&p)));
        }
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                let (name, pgid) = l.trim().split_once(' ')?;
                let (step, attempt) = name.rsplit_once('.')?;
                Some((step.to_string(), attempt.parse().ok()?, pgid.to_string()))
            })
            .collect())
    }
}

/// Applies a hold's wishes to an attempt's process group on its host: `kill -STOP` to
/// freeze it, `kill -CONT` to continue it, each time the wish differs from what was
/// last done (the latest wins). `applied` `None`: not known (a re-attached attempt:
/// the dead engine may have recorded a hold or a release and died before it signalled
/// the group), so the wish it was re-attached with (`SshExecutor::reattach`) or any
/// later one is sent once whatever it is. A stop asked meanwhile sends its own CONT
/// with its TERM.
async fn freeze_on_host(
    exec: SshExecutor,
    dir: String,
    cancel: CancelHandle,
    mut applied: Option<bool>,
) {
    loop {
        let changed = cancel.freeze_notified();
        if cancel.requested().is_some() {
            return;
        }
        let want = cancel.wants_frozen();
        if applied != Some(want) {
            let _ = exec
                .signal(&dir, &[if want { "STOP" } else { "CONT" }])
                .await;
            applied = Some(want);
            continue;
        }
        changed.await;
    }
}

/// Why a host could not be asked (`baton executors`, resume).
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("cannot run ssh: {0}")]
    NoSsh(std::io::Error),
    /// What `ssh` or the host said, classified, and what to do about it.
    #[error("{0}")]
    Host(String),
}

pub(crate) use super::remote_cancel::CancelHandle;

/// A started attempt on a host. Call [`SshAttempt::wait`].
#[derive(Debug)]
pub struct SshAttempt {
    exec: SshExecutor,
    dir: String,
    pgid: String,
    copied: u64,
    log_dir: PathBuf,
    log_path: PathBuf,
    masker: baton_model::mask::Masker,
    cancel: CancelHandle,
    tail: TailHandle,
    started: Instant,
    /// The `ssh` that started the attempt, still streaming (none once re-attached).
    live: Option<Box<live::Live>>,
}

impl SshAttempt {
    pub fn executor_name(&self) -> &str {
        &self.exec.name
    }
    /// The step's process group on the host (its job id in the record).
    pub fn pgid(&self) -> &str {
        &self.pgid
    }
    pub fn cancel_handle(&self) -> CancelHandle {
        self.cancel.clone()
    }
    pub fn tail(&self) -> TailHandle {
        self.tail.clone()
    }

    /// What the host handed back besides the exit code: the outputs (the labels the
    /// step set among them), the usage and the summary (kept beside the log as a local
    /// step's is), each problem said.
    fn read_back(&self, c: &script::Collected) -> ReadBack {
        let (outputs, mut errors, cut_output) =
            parse_read_outputs(&c.output, c.output_more, &self.masker);
        let (usage, mut e2) = parse_usage(&c.usage, &self.masker);
        errors.append(&mut e2);
        let mask = |t: &str| self.masker.mask(t).into_owned();
        if let Err(why) =
            crate::summary::keep_read(&c.summary, c.summary_more, &self.log_path, &mask)
        {
            errors.push(format!("$BATON_SUMMARY: {why}"));
        }
        // `$BATON_LABELS` rides in the outputs, as a local step's does.
        let read = (!c.labels.is_empty()).then(|| (c.labels.clone(), c.labels_more));
        let mut outputs = outputs;
        outputs.extend(crate::outputs::labelled(read, &self.masker, &mut errors));
        ReadBack {
            outputs,
            usage,
            errors,
            cut_output,
        }
    }

    /// Streams the attempt's output into the step's log until it ends (reconnecting
    /// while the host is unreachable, up to `UNREACHABLE_FOR`), then collects its exit
    /// code, `$BATON_OUTPUT` and `$BATON_USAGE`.
    pub async fn wait(mut self) -> Finished {
        let mut copy = LogCopy::new(
            self.log_dir.clone(),
            self.log_path.clone(),
            self.copied,
            self.tail.clone(),
        );
        let mut stopping = Stopping::default();
        let mut unreachable_since: Option<Instant> = None;
        let mut lost: Option<HostProblem> = None;
        let mut live = self.live.take();
        let mut in_band = None;
        // A hold freezes the step's group on the host and releases it (issue 46 point 1);
        // a re-attached one's state is not known (`freeze_on_host`).
        let freezer = tokio::spawn(freeze_on_host(
            self.exec.twin(),
            self.dir.clone(),
            self.cancel.clone(),
            live.is_some().then_some(false),
        ));
        loop {
            let followed = match live.take() {
                Some(l) => match self.stream(*l, &mut copy, &mut stopping).await {
                    Ok(Some(c)) => {
                        in_band = Some(c);
                        break;
                    }
                    // Read the files again from their start, skipping what was copied.
                    Ok(None) => {
                        copy.restart();
                        continue;
                    }
                    Err(p) => Err(p),
                },
                None => self.follow(&mut copy, &mut stopping).await,
            };
            match followed {
                Ok(()) => break,
                Err(p) if p.transient() => {
                    let since = *unreachable_since.get_or_insert_with(Instant::now);
                    if since.elapsed() > UNREACHABLE_FOR {
                        lost = Some(p);
                        break;
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    copy.restart();
                }
                Err(p) => {
                    lost = Some(p);
                    break;
                }
            }
        }
        freezer.abort();
        // Stopped only if a stop reached the step's group before it ended.
        let stopped = self
            .cancel
            .requested()
            .filter(|_| stopping.reached)
            .map(|(r, _)| r.outcome());
        let collected = match (&lost, in_band) {
            (None, Some(c)) => Ok(c),
            (None, None) => self.collect(stopping.via()).await,
            (Some(why), _) => Err(why.clone()),
        };
        let on = (
            self.exec.opts.host.as_str(),
            self.exec.opts.workdir.as_str(),
        );
        let (outcome, c) = match collected {
            Ok(c) => (fate(stopped, Ok(c.exit_code), on, &self.dir), c),
            Err(why) => (
                fate(stopped, Err(why), on, &self.dir),
                script::Collected::default(),
            ),
        };
        let ReadBack {
            outputs,
            usage,
            errors: output_errors,
            cut_output,
        } = self.read_back(&c);
        let stderr_tail = self.tail.stderr_tail(&outcome);
        Finished {
            outcome,
            // The host's end as seen, when a stalled stream was left for it.
            duration_ms: crate::stream::duration_ms(
                stopping
                    .ended_seen
                    .unwrap_or_else(Instant::now)
                    .duration_since(self.started),
            ),
            outputs,
            usage,
            stderr_tail,
            log_path: Some(self.log_path.clone()),
            output_errors,
            log_errors: copy.error.into_iter().collect(),
            cut_output,
        }
    }

    /// The attempt's results from its files on the host, over `via`.
    async fn collect(&self, via: Via) -> Result<script::Collected, HostProblem> {
        let max = script::OUTPUT_MAX.to_string();
        self.exec
            .call_via(
                script::COLLECT,
                &[&self.dir, &max],
                None,
                (via, CLI_DEADLINE),
            )
            .await
            .map(|b| script::parse_collected(&b))
    }

    /// The next step of a stop: asked (`false`: a request to look at), or its grace
    /// over (`true`). Never, once asked and killed hard.
    async fn stop_due(&self, st: &Stopping) -> bool {
        let notified = self.cancel.notified();
        let hard_at = st.hard_at;
        tokio::select! {
            _ = notified, if !st.asked => false,
            _ = tokio::time::sleep_until(hard_at.unwrap_or_else(Instant::now)), if hard_at.is_some() => true,
            else => std::future::pending().await,
        }
    }

    /// Acts on [`Self::stop_due`]: TERM (and CONT: a frozen group acts on its TERM
    /// once it runs again) to the step's group when a stop is asked, KILL after its
    /// grace.
    async fn stop(&self, hard: bool, st: &mut Stopping) {
        if hard {
            st.hard_at = None;
            let sent = self.exec.signal(&self.dir, &["KILL"]).await;
            st.note(&sent, true);
        } else if let Some((_, grace)) = self.cancel.requested() {
            st.asked = true;
            let sent = self.exec.signal(&self.dir, &["TERM", "CONT"]).await;
            st.hard_at = Some(Instant::now() + grace);
            st.note(&sent, false);
        }
    }

    /// One `ssh … tail` of the output, to its end, acting on kill requests meanwhile.
    async fn follow(&self, copy: &mut LogCopy, st: &mut Stopping) -> Result<(), HostProblem> {
        let mut cmd = self
            .exec
            .command_via(script::FOLLOW, &[&self.dir], st.via());
        let mut child = cmd
            .spawn()
            .map_err(|e| HostProblem::Other(format!("cannot run ssh: {e}")))?;
        let Some(mut out) = child.stdout.take() else {
            return Err(HostProblem::Other("ssh gave no output pipe".into()));
        };
        let mut err = child.stderr.take();
        let errors = tokio::spawn(async move {
            let mut s = Vec::new();
            if let Some(e) = err.as_mut() {
                let _ = e.take(64 * 1024).read_to_end(&mut s).await;
            }
            s
        });
        let mut splitter = MaskingSplitter::new(self.masker.clone());
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            tokio::select! {
                n = out.read(&mut buf) => match n {
                    Ok(0) | Err(_) => break,
                    Ok(n) => if let Some(bytes) = splitter.push(&buf[..n]) {
                        copy.write(&bytes);
                    },
                },
                due = self.stop_due(st) => self.stop(due, st).await,
            }
        }
        if let Some(bytes) = splitter.finish() {
            copy.write(&bytes);
        }
        let status = child
            .wait()
            .await
            .map_err(|e| HostProblem::Other(format!("ssh: {e}")))?;
        let stderr = errors.await.unwrap_or_default();
        if status.success() {
            Ok(())
        } else {
            Err(HostProblem::classify(
                status.code(),
                &String::from_utf8_lossy(&stderr),
            ))
        }
    }
}

/// What an attempt's files said ([`SshAttempt::read_back`]).
struct ReadBack {
    outputs: Vec<(String, String)>,
    usage: baton_model::Usage,
    errors: Vec<String>,
    cut_output: Option<String>,
}

#[cfg(test)]
mod stop_tests {
    use super::*;

    #[test]
    fn an_attempt_is_recorded_stopped_only_when_a_stop_reached_it() {
        let (h, d) = (("h", "w"), "w/r/s.1");
        let timed_out = Some(StepOutcome::TimedOut);
        assert_eq!(
            fate(timed_out.clone(), Ok(Some(0)), h, d),
            StepOutcome::TimedOut
        );
        assert_eq!(
            fate(None, Ok(Some(0)), h, d),
            StepOutcome::Exited { exit_code: 0 },
            "a stop that reached no one leaves the host's exit"
        );
        for unknown in [
            fate(None, Ok(None), h, d),
            fate(None, Err(HostProblem::Unreachable("gone".into())), h, d),
        ] {
            let StepOutcome::Lost { reason } = unknown else {
                panic!("{unknown:?}")
            };
            assert!(reason.starts_with("outcome unknown"), "{reason}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_that_reached_no_one_is_sent_again_until_it_does_or_the_step_ended() {
        let mut st = Stopping::default();
        st.note(&Err(HostProblem::Unreachable("stalled".into())), true);
        assert!(!st.reached && st.hard_at.is_some(), "tried again: {st:?}");
        st.note(&Ok(Signalled::Neither), true);
        assert!(!st.reached && st.hard_at.is_some(), "{st:?}");
        st.note(&Ok(Signalled::Ended), true);
        assert!(!st.reached && st.hard_at.is_none(), "ended: {st:?}");
        let mut st = Stopping::default();
        st.note(&Ok(Signalled::Sent), true);
        assert!(st.reached && st.hard_at.is_none(), "{st:?}");
    }

    #[test]
    fn the_signal_scripts_answer_is_read() {
        assert_eq!(script::parse_signalled(b"sent\n"), Signalled::Sent);
        assert_eq!(script::parse_signalled(b"ended\n"), Signalled::Ended);
        assert_eq!(script::parse_signalled(b""), Signalled::Neither);
    }
}

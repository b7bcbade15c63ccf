//! The shell executor: one attempt of a `run` step as a process in its own group, its
//! output masked into a per-attempt log file and a bounded tail, its `$BATON_OUTPUT`
//! and `$BATON_USAGE` files read and removed at the end.
use super::adopt::{Heard, Leader};
pub(super) use super::attempt_log::LazyLog;
use super::attempt_log::{Pump, Pumps, Sink};
use super::group::{KILL_SETTLE, POLL, group_alive, signal_group};
use super::launcher::{Reap, Watch};
use super::spawn::{Launched, SpawnRequest};
use crate::command::Invocation;
use crate::files_dir::{AttemptDir, FilesDir, Spent, private_attempt_dir};
use crate::job::clean;
use crate::outputs::{MAX_FILE_BYTES, parse_read_outputs, parse_usage};
use crate::stream::{Stream, TailHandle};
use crate::{ExecError, Finished, KillReason, ShellJob};
use baton_model::mask::Masker;
use baton_model::{StepOutcome, Usage};
use nix::sys::signal::Signal;
use std::ffi::{OsStr, OsString};
use std::fs::OpenOptions;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{Notify, oneshot};
use tokio::time::Instant;

/// After the step's main process exits, what is left of its group gets SIGTERM and this
/// long before SIGKILL: a step's processes do not outlive it.
pub const ORPHAN_GRACE: Duration = Duration::from_secs(2);
/// After the group is gone, how long to keep reading pipes that an escaped process
/// (one that left the group) may hold open.
pub const DRAIN: Duration = Duration::from_millis(250);
const STDERR_TAIL_LINES: usize = 20;
const STDERR_TAIL_LINE_BYTES: usize = 512;

/// Where `$BATON_OUTPUT` and `$BATON_USAGE` go: a private (0700) directory of this
/// attempt's own, at a random name inside the run's unlistable directory (or, without
/// one, under the temp dir). Never files in a directory its siblings share: a sibling
/// that made a shared directory listable again wrote another step's outputs (issue
/// 24). The files are not created: a step that writes one creates it (`>>` does).
/// Removed on drop.
#[derive(Debug)]
pub(super) struct AttemptFiles {
    dir: AttemptDir,
    output: PathBuf,
    usage: PathBuf,
    /// `$BATON_LABELS`: `k=v` lines of labels for the run (`model::labels`).
    labels: PathBuf,
    /// Cleared for a file known to be absent (read found nothing): no unlink then.
    exists: [bool; 3],
    /// The run's directory, whose worker removes this one; `None`: removed here.
    run: Option<FilesDir>,
}

impl AttemptFiles {
    /// An adopted attempt's files, where its environment says they are (`adopt.rs`):
    /// removed with their directory once read.
    pub(super) fn adopted(output: PathBuf, usage: PathBuf) -> Option<AttemptFiles> {
        let dir = output.parent()?.to_path_buf();
        let ours = usage.parent() == Some(dir.as_path()) && crate::files_dir::is_ours(&dir);
        ours.then(|| AttemptFiles {
            labels: dir.join("labels"),
            dir: AttemptDir::at(dir),
            output,
            usage,
            exists: [true; 3],
            run: None,
        })
    }

    fn create(job: &ShellJob) -> std::io::Result<AttemptFiles> {
        let dir = match &job.files_dir {
            Some(run) => run.attempt_dir()?,
            None => private_attempt_dir(&format!(
                "{}-{}-{}",
                clean(&job.run_id),
                clean(&job.step_id),
                job.attempt
            ))?,
        };
        Ok(AttemptFiles {
            output: dir.path.join("output"),
            usage: dir.path.join("usage"),
            labels: dir.path.join("labels"),
            dir,
            exists: [true; 3],
            run: job.files_dir.clone(),
        })
    }

    /// Which of the attempt's files its directory holds (`output`, `usage`, `labels`,
    /// `summary`), from one listing; all of them when it cannot be listed.
    fn held(&self) -> [bool; 4] {
        self.dir
            .holds(["output", "usage", "labels", crate::summary::FILE])
            .unwrap_or([true; 4])
    }

    /// Reads the files (bounded) and removes them. Only a file the directory's listing
    /// (`held`, [`AttemptFiles::held`]) shows is looked up (most steps write none).
    fn take(mut self, masker: &Masker, held: [bool; 4]) -> Taken {
        let mut errors = Vec::new();
        let output = held[0]
            .then(|| read_bounded(&self.output, "$BATON_OUTPUT", &mut errors))
            .flatten();
        let usage = held[1]
            .then(|| read_bounded(&self.usage, "$BATON_USAGE", &mut errors))
            .flatten();
        let labels = held[2]
            .then(|| read_bounded(&self.labels, "$BATON_LABELS", &mut errors))
            .flatten();
        self.exists = [output.is_some(), usage.is_some(), labels.is_some()];
        let (output, more) = output.unwrap_or_default();
        let (usage, usage_more) = usage.unwrap_or_default();
        drop(self);
        if usage_more {
            errors.push(format!(
                "$BATON_USAGE: larger than {MAX_FILE_BYTES} bytes; the rest was ignored"
            ));
        }
        let (mut outputs, mut e1, cut) = parse_read_outputs(&output, more, masker);
        outputs.extend(crate::outputs::labelled(labels, masker, &mut errors));
        let (usage, mut e2) = parse_usage(&usage, masker);
        errors.append(&mut e1);
        errors.append(&mut e2);
        Taken {
            outputs,
            usage,
            errors,
            cut,
        }
    }
}

impl Drop for AttemptFiles {
    fn drop(&mut self) {
        // What the step wrote goes at once, here: outputs may hold values no one
        // should find later. An empty directory (most steps write neither file) goes
        // off the engine's thread when the run has a worker for it (`files_dir`).
        let done = Spent {
            dir: std::mem::take(&mut self.dir),
            files: [
                (std::mem::take(&mut self.output), self.exists[0]),
                (std::mem::take(&mut self.usage), self.exists[1]),
                (std::mem::take(&mut self.labels), self.exists[2]),
            ],
        };
        match &self.run {
            Some(run) if self.exists == [false; 3] => run.finished(done),
            _ => done.remove(),
        }
    }
}

/// What an attempt's files gave.
#[derive(Debug, Default)]
struct Taken {
    outputs: Vec<(String, String)>,
    usage: Usage,
    errors: Vec<String>,
    /// The output the file's bound cut.
    cut: Option<String>,
}

/// The file's text (bounded) and whether it went on past the bound, or `None` when
/// there is no such file.
pub(crate) fn read_bounded(
    path: &Path,
    name: &str,
    errors: &mut Vec<String>,
) -> Option<(String, bool)> {
    let mut bytes = Vec::new();
    // Non-blocking: a FIFO a step put there must not hang the engine.
    match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
    {
        Ok(f) => {
            if let Err(e) = f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes) {
                errors.push(format!("{name}: cannot read: {e}"));
            }
        }
        // The step wrote nothing (or removed the file): nothing to read, nothing wrong.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => errors.push(format!("{name}: cannot read: {e}")),
    }
    let more = bytes.len() as u64 > MAX_FILE_BYTES;
    bytes.truncate(MAX_FILE_BYTES as usize);
    Some((String::from_utf8_lossy(&bytes).into_owned(), more))
}

#[derive(Debug, Default)]
struct KillState {
    requested: Option<(KillReason, Duration)>,
    /// The main process was reaped: its pid may be reused once the group is empty.
    reaped: bool,
    /// An adopted attempt's tracer, not yet told to go (`adopt.rs`): the first signal
    /// that lets its frozen leader run goes through it, so that its exit is seen.
    tracer: Option<super::adopt::Tracer>,
    /// The group has its anchor (`anchor.rs`): frozen, it outlives the engine frozen.
    anchored: bool,
    /// The anchor's pid, when this engine started one.
    anchor: Option<u32>,
    /// Asked to let the attempt go to the next engine alive (`KillHandle::hand_over`).
    handover: bool,
    /// Let go: what its pipes held is in its log; nothing here follows it any more.
    handed: bool,
}

#[derive(Debug)]
struct KillShared {
    pgid: i32,
    state: Mutex<KillState>,
    notify: Notify,
    /// The lock the leader is reaped under: none for an adopted one (not a child of
    /// this process; `adopt.rs` follows it).
    reap: Option<Arc<Reap>>,
}

impl KillShared {
    fn lock(&self) -> MutexGuard<'_, KillState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends `sig` to the group while its leader is not reaped: under its reap lock,
    /// so the group's id is still the attempt's (`launcher.rs`). `Ok(false)` once the
    /// leader is reaped (its end is on its way; what is left of the group is cleared
    /// after it, `clear_group`) or the group is gone.
    fn signal_unreaped(&self, sig: Signal) -> Result<bool, ExecError> {
        let Some(reap) = &self.reap else {
            return signal_group(self.pgid, sig);
        };
        let held = reap.hold();
        if held.is_some() {
            return Ok(false);
        }
        let sent = signal_group(self.pgid, sig);
        drop(held);
        sent
    }
}

/// Stops a running attempt; cheap to clone and usable from any task.
#[derive(Debug, Clone)]
pub struct KillHandle {
    shared: Arc<KillShared>,
}

impl KillHandle {
    /// SIGTERM to the whole group now, SIGKILL to whatever is left after `grace`. The
    /// first request wins; `reason` decides the outcome (`Timeout` → `TimedOut`,
    /// otherwise `Killed`). The escalation happens inside [`Running::wait`].
    pub fn terminate(&self, grace: Duration, reason: KillReason) {
        let mut state = self.shared.lock();
        if state.requested.is_some() || state.reaped {
            return;
        }
        state.requested = Some((reason, grace));
        // A frozen (held) group takes its SIGTERM only once it runs again.
        let signals = vec![Signal::SIGTERM, Signal::SIGCONT];
        // An adopted leader is traced before it runs (`adopt.rs`; refused, its tracer
        // sends a kill untraced). A tracer gone already cannot be: the group is
        // signalled here.
        let told = super::adopt::Told {
            signals,
            answer: None,
        };
        let untold = match state.tracer.take() {
            Some(tracer) => tracer.send(told).err().map(|e| e.0.signals),
            None => Some(told.signals),
        };
        // Under the lock, so the group is still the step's (the leader is not reaped).
        for sig in untold.unwrap_or_default() {
            let _ = self.shared.signal_unreaped(sig);
        }
        drop(state);
        self.shared.notify.notify_one();
    }

    /// Freeze (`stop`: SIGSTOP) or continue (SIGCONT) the whole group: a hold
    /// (issue 43). `Ok(false)` when the group is gone (its end is on its way).
    pub fn pause(&self, stop: bool) -> Result<bool, ExecError> {
        let mut state = self.shared.lock();
        if state.reaped {
            return Ok(false);
        }
        if !stop && let Some(mut tracer) = state.tracer.take() {
            // An adopted leader is traced before it runs again (`adopt.rs`); refused,
            // it is sent nothing and stays frozen, its tracer kept for another try. Not
            // answered in time, the release is on its way (queued): it is not sent again.
            return match tracer.tell(vec![Signal::SIGCONT]) {
                Heard::Sent | Heard::Unknown => Ok(true),
                Heard::Gone => Ok(false),
                Heard::Refused(e) => {
                    state.tracer = Some(tracer);
                    Err(ExecError::TraceRefused { why: e.to_string() })
                }
            };
        }
        let sig = if stop {
            Signal::SIGSTOP
        } else {
            Signal::SIGCONT
        };
        // Under the lock, as `terminate`: the group is still the step's.
        let there = self.shared.signal_unreaped(sig)?;
        if stop && there && !state.anchored {
            // After the stop, so the freeze does not wait for a process to start.
            if let Ok(anchor) = super::anchor::start(self.shared.pgid) {
                state.anchored = true;
                state.anchor = anchor;
            }
        }
        Ok(there)
    }

    /// Detach (issue 55 point 3): let this frozen, anchored attempt go to the next
    /// engine alive. Its waiter stops following it: what its pipes held goes into its
    /// log, its `$BATON_OUTPUT` and `$BATON_USAGE` stay, nothing is signalled and no
    /// exit is reported ([`KillHandle::let_go`]). False when it cannot be: it ended
    /// already, or it was not frozen by this engine or an earlier one.
    pub fn hand_over(&self) -> bool {
        let mut state = self.shared.lock();
        if state.reaped || !state.anchored {
            return false;
        }
        state.handover = true;
        drop(state);
        self.shared.notify.notify_one();
        true
    }

    /// The hand-over is complete: let go, its leader stopped, and its anchor's member
    /// in its group (the engine's exit then leaves the group stopped: `anchor.rs`).
    pub fn handed_over(&self) -> bool {
        let state = self.shared.lock();
        let pgid = self.shared.pgid;
        let stopped = baton_procs::read_stat(pgid).is_some_and(|s| matches!(s.0, 'T' | 't' | 'D'));
        let anchored = state.anchor.is_none_or(|anchor| {
            baton_procs::group_members(pgid)
                .into_iter()
                .any(|m| baton_procs::read_stat(m).is_some_and(|s| s.1 == anchor as i32))
        });
        state.handed && stopped && anchored
    }

    /// Whether its waiter let it go to the next engine (its end is not this one's).
    pub fn let_go(&self) -> bool {
        self.shared.lock().handed
    }
}

impl KillHandle {
    /// An adopted attempt not yet let run (`adopt.rs`): trace its leader now, ahead of
    /// a release, so that a release the system would not let baton follow is refused
    /// before it is recorded. `Err` says why tracing was refused (nothing was sent: it
    /// stays frozen); any other attempt has nothing to trace.
    pub fn trace_ahead(&self) -> Result<(), ExecError> {
        let mut state = self.shared.lock();
        match state.tracer.as_mut().map(|t| t.tell(Vec::new())) {
            Some(Heard::Refused(e)) => Err(ExecError::TraceRefused { why: e.to_string() }),
            // Not answered in time: the attach is on its way; only a refusal refuses.
            _ => Ok(()),
        }
    }
}

/// A started attempt. Call [`Running::wait`] at once: its output is read (into its log
/// and tails) while it is waited for; dropping it unwaited kills the group.
#[derive(Debug)]
pub struct Running {
    pgid: i32,
    leader: Leader,
    started: Instant,
    kill: KillHandle,
    tail: TailHandle,
    stderr_tail: TailHandle,
    /// Its pipes, read while it is waited for (`Running::wait`).
    pumps: Pumps,
    files: Option<AttemptFiles>,
    masker: Masker,
    log: Arc<LazyLog>,
    /// A child-run step: its child's leftovers are stopped when it ends (`child_leftovers`).
    child_run: bool,
}

/// The attempt's log file. The step id names it: it must not reach outside the log
/// directory (`log_file_name` encodes what an instance id adds).
fn log_path_of(job: &ShellJob) -> Result<PathBuf, ExecError> {
    let name = baton_model::log_file_name(&job.step_id, job.attempt);
    let id_ok = !job.step_id.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-%".contains(c));
    if !id_ok {
        return Err(ExecError::Setup {
            what: format!("step id {:?}", job.step_id),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a valid step id"),
        });
    }
    Ok(job.log_dir.join(name))
}

/// Why a step's program did not start: said in its log, the attempt failed to spawn.
#[derive(Debug, thiserror::Error)]
enum LaunchError {
    #[error("working directory {} does not exist or is not a directory", dir.display())]
    NoDir { dir: PathBuf },
    #[error(
        "cannot start `{program}`: not found in the step's PATH; add its directory to the step's PATH or name it by its path"
    )]
    NotInPath { program: String },
    #[error("cannot start `{program}`: {error}")]
    Start {
        program: String,
        #[source]
        error: std::io::Error,
    },
}

/// Start the step's program, found in the step's own `PATH` (looked up again when it
/// went since; through `sh` when it is a script without a `#!` line), on the launching
/// thread (`watch` is its). `Err`: why it could not be started, for its log.
fn launch(job: &ShellJob, files: &AttemptFiles, watch: Watch<'_>) -> Result<Launched, LaunchError> {
    let started = launch_in_dir(job, files, watch);
    // A missing working directory fails the start (the child's `chdir`): only then is
    // it looked at, so that a start that works costs no `statx` of it.
    if started.is_err() && !job.dir.is_dir() {
        return Err(LaunchError::NoDir {
            dir: job.dir.clone(),
        });
    }
    started
}

/// [`launch`]'s start, in the step's working directory as it is.
fn launch_in_dir(
    job: &ShellJob,
    files: &AttemptFiles,
    watch: Watch<'_>,
) -> Result<Launched, LaunchError> {
    let mut invocation = Invocation::of(&job.command);
    let path_var: Option<&OsStr> = (job.env.iter().rev())
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| OsStr::new(v))
        .or_else(|| super::spawn::own_path());
    let find = |program: &str| {
        let path_var = path_var?;
        super::lookup::resolve(program, Some(path_var))
            .or_else(|| super::lookup::search_from(program, path_var, &job.dir).map(Arc::from))
    };
    let resolved = find(invocation.program());
    let step_sets_path = job.env.iter().any(|(k, _)| k == "PATH");
    if resolved.is_none() && step_sets_path && !invocation.program().contains('/') {
        // The start's own search (`vfork.rs`) would use baton's PATH, not the step's.
        return Err(LaunchError::NotInPath {
            program: invocation.program().to_string(),
        });
    }
    let mut spawned = start(&invocation, resolved.as_deref(), job, files, watch);
    if resolved.is_some() && matches!(&spawned, Err(e) if e.kind() == std::io::ErrorKind::NotFound)
    {
        // Gone since it was looked up: search again.
        super::lookup::forget(invocation.program(), path_var);
        spawned = match find(invocation.program()) {
            Some(again) => start(&invocation, Some(&again), job, files, watch),
            None if step_sets_path => Err(std::io::ErrorKind::NotFound.into()),
            None => start(&invocation, None, job, files, watch),
        };
    }
    if matches!(&spawned, Err(e) if e.raw_os_error() == Some(libc::ENOEXEC)) {
        // A script without a `#!` line: `sh` runs it, so direct exec must too.
        invocation = Invocation::Shell {
            script: job.command.clone(),
        };
        let sh = find("sh");
        spawned = start(&invocation, sh.as_deref(), job, files, watch);
    }
    spawned.map_err(|error| LaunchError::Start {
        program: invocation.program().to_string(),
        error,
    })
}

/// Starts one attempt: its process is ordered (`launcher::run`) before this
/// returns (so it starts when the caller decides, not when the future is first polled);
/// the future gives the attempt once it has started. Must be awaited within a tokio
/// runtime.
pub fn spawn(job: ShellJob) -> impl Future<Output = Result<Running, ExecError>> + Send + 'static {
    let child_run = (job.env.iter()).any(|(k, _)| k == super::child_leftovers::CHILD_WORKFLOW_ENV);
    let ordered = order(job);
    async move {
        let Ordered {
            answer,
            masker,
            log,
            log_path,
        } = ordered?;
        let fail = |message: String| {
            let _ = log.write_all(format!("baton: {message}\n").as_bytes());
            ExecError::Spawn {
                message,
                log_path: Some(log_path.clone()),
            }
        };
        let (files, launched) = answer
            .await
            .map_err(|_| fail("the process launcher stopped before it answered".into()))?;
        let Launched {
            child,
            stdout,
            stderr,
        } = launched.map_err(|e| fail(e.to_string()))?;
        let pgid = child.id();
        let mut running = assemble(
            pgid,
            Leader::Child(child),
            None,
            [stdout.into(), stderr.into()],
            masker,
            files,
            log,
        );
        running.child_run = child_run;
        Ok(running)
    }
}

/// An attempt ordered (`launcher::run`): its answer (its files back, and its
/// process or why it could not start), and what following it needs.
struct Ordered {
    answer: oneshot::Receiver<(AttemptFiles, Result<Launched, LaunchError>)>,
    masker: Masker,
    log: Arc<LazyLog>,
    log_path: PathBuf,
}

/// Everything a start needs that is the engine's (its log, its files), then the order
/// (whoever runs the order checks the working directory).
fn order(mut job: ShellJob) -> Result<Ordered, ExecError> {
    // Running here: what only a local attempt gets.
    let here = std::mem::take(&mut job.local_env);
    job.env.extend(here);
    let setup = |what: String| move |source| ExecError::Setup { what, source };
    let log_path = log_path_of(&job)?;
    let log = Arc::new(LazyLog::new(&job.log_dir, &log_path, job.masker.clone()));
    let files =
        AttemptFiles::create(&job).map_err(setup("$BATON_OUTPUT/$BATON_USAGE files".into()))?;
    let masker = job.masker.clone();
    let (tell, answer) = oneshot::channel();
    super::launcher::run(job.start_here, move |watch| {
        let launched = launch(&job, &files, watch);
        if let Err((_, Ok(orphan))) = tell.send((files, launched)) {
            // Nobody follows it any more (its start was dropped): it does not run on.
            let _ = signal_group(orphan.child.id(), Signal::SIGKILL);
        }
    });
    Ok(Ordered {
        answer,
        masker,
        log,
        log_path,
    })
}

/// A started (or adopted) attempt: its output pumped into its log and tails.
pub(super) fn assemble(
    pgid: i32,
    leader: Leader,
    tracer: Option<super::adopt::Tracer>,
    [stdout, stderr]: [std::fs::File; 2],
    masker: Masker,
    files: AttemptFiles,
    log: Arc<LazyLog>,
) -> Running {
    let started = Instant::now();
    let reap = match &leader {
        Leader::Child(child) => Some(child.reap_lock()),
        Leader::Adopted(_) => None,
    };
    let tail = TailHandle::default();
    let stderr_tail = TailHandle::new(STDERR_TAIL_LINES, STDERR_TAIL_LINE_BYTES);
    let sink = |stream, errs: Option<&TailHandle>| Sink {
        stream,
        log: log.clone(),
        tail: tail.clone(),
        stderr_tail: errs.cloned(),
        error: None,
    };
    let pumps = Pumps::new(
        Pump::new(stdout, sink(Stream::Stdout, None), masker.clone()),
        Pump::new(
            stderr,
            sink(Stream::Stderr, Some(&stderr_tail)),
            masker.clone(),
        ),
    );
    Running {
        pgid,
        leader,
        started,
        kill: KillHandle {
            shared: Arc::new(KillShared {
                pgid,
                state: Mutex::new(KillState {
                    // An adopted group was anchored by the engine that froze it.
                    anchored: tracer.is_some(),
                    tracer,
                    ..KillState::default()
                }),
                notify: Notify::new(),
                reap,
            }),
        },
        tail,
        stderr_tail,
        pumps,
        files: Some(files),
        masker,
        log,
        child_run: false,
    }
}

/// Start one invocation. `resolved`: where the program was found in `PATH` (see
/// `lookup`); argv[0] stays the name the workflow wrote.
fn start(
    invocation: &Invocation,
    resolved: Option<&Path>,
    job: &ShellJob,
    files: &AttemptFiles,
    watch: Watch<'_>,
) -> std::io::Result<Launched> {
    let name = invocation.program();
    let mut argv: Vec<OsString> = vec![name.into()];
    match invocation {
        Invocation::Direct { args, .. } => argv.extend(args.iter().map(OsString::from)),
        Invocation::Shell { script } => {
            argv.push("-c".into());
            argv.push(script.into());
        }
    }
    // A value too big for the environment goes through a file (`env_files`).
    let placed = crate::env_files::place(&job.env, &files.dir.path)?;
    let summary = files.dir.path.join(crate::summary::FILE);
    let own = [
        ("BATON_OUTPUT", &files.output),
        ("BATON_USAGE", &files.usage),
        ("BATON_LABELS", &files.labels),
        ("BATON_SUMMARY", &summary),
    ];
    // Borrowed: the spawn makes each `KEY=value` string once (`spawn::env_entry`).
    let mut env = Vec::with_capacity(placed.len() + own.len());
    env.extend(placed.iter().map(|(k, v)| (OsStr::new(k), OsStr::new(v))));
    env.extend(own.map(|(k, v)| (OsStr::new(k), v.as_os_str())));
    let req = SpawnRequest {
        program: resolved.map_or_else(|| std::ffi::OsStr::new(name), Path::as_os_str),
        argv,
        env,
        withheld: &job.withheld,
        dir: &job.dir,
    };
    super::spawn::spawn(&req, watch)
}

/// Why the log could not be written: kept once opening failed (every later write
/// says the same), so shared.
impl Running {
    pub fn pgid(&self) -> i32 {
        self.pgid
    }

    pub fn kill_handle(&self) -> KillHandle {
        self.kill.clone()
    }

    pub fn tail(&self) -> TailHandle {
        self.tail.clone()
    }

    pub fn log_path(&self) -> &Path {
        &self.log.path
    }

    /// Where the step writes `$BATON_OUTPUT` (recorded: a takeover after a crash reads
    /// it, `leftovers::read_outputs`).
    pub fn output_path(&self) -> Option<&Path> {
        self.files.as_ref().map(|f| f.output.as_path())
    }

    /// Where the step writes `$BATON_USAGE` (followed while it runs: `usage_follow`).
    pub fn usage_path(&self) -> Option<&Path> {
        self.files.as_ref().map(|f| f.usage.as_path())
    }

    /// Waits for the attempt to end, reading its output meanwhile: the main process
    /// exits, what is left of the group is stopped, the output is drained,
    /// `$BATON_OUTPUT`/`$BATON_USAGE` are read and removed.
    pub async fn wait(mut self) -> Finished {
        let leader = wait_leader(&mut self.leader, &self.kill.shared);
        let Some((status, kill_at)) = self.pumps.beside(leader).await else {
            return self.hand_over();
        };
        let duration_ms = crate::stream::duration_ms(self.started.elapsed());
        let requested = {
            let mut state = self.kill.shared.lock();
            state.reaped = true;
            state.requested
        };
        self.pumps.beside(clear_group(self.pgid, kill_at)).await;
        let child_run = (self.files.as_ref())
            .filter(|_| self.child_run)
            .map(|f| f.output.clone());
        if let Some(output) = child_run {
            let stopping = stop_child_leftovers(output, &self.log);
            self.pumps.beside(stopping).await;
        }
        // Past the drain, what an escaped process's pipes hold now is read, no more.
        let _ = tokio::time::timeout(DRAIN, self.pumps.run(false)).await;
        let results = self.pumps.finish();
        // One listing of the attempt's directory: a file it does not show is not looked
        // up (most steps write none of them).
        let held = self.files.as_ref().map_or([false; 4], AttemptFiles::held);
        if let Some(from) = (self.files.as_ref())
            .filter(|_| held[3])
            .and_then(|f| crate::summary::beside_output(&f.output))
            && let Err(why) =
                crate::summary::keep(&from, &self.log.path, &|t| self.masker.mask(t).into_owned())
        {
            let _ = self
                .log
                .write_all(format!("baton: $BATON_SUMMARY: {why}\n").as_bytes());
        }
        let unfinished = self.log.finish().err();
        let log_errors = results
            .into_iter()
            .chain(unfinished)
            .map(|e| crate::log_write_failed(&self.log.path, e))
            .collect();
        let outcome = match (requested, status) {
            (Some((reason, _)), _) => reason.outcome(),
            (None, Ok(status)) => outcome_of(status),
            (None, Err(e)) => StepOutcome::SpawnFailed {
                message: format!("waiting for the process failed: {e}"),
            },
        };
        let taken = match self.files.take() {
            Some(files) => files.take(&self.masker, held),
            None => Taken::default(),
        };
        Finished {
            outcome,
            duration_ms,
            outputs: taken.outputs,
            usage: taken.usage,
            stderr_tail: self.stderr_tail.lines().join("\n"),
            log_path: Some(self.log.path.clone()),
            output_errors: taken.errors,
            cut_output: taken.cut,
            log_errors,
        }
    }

    /// Detach: the attempt goes on under the next engine. What its pipes hold now is
    /// read into its log (it is frozen: nothing more comes), its files are left to the
    /// next engine, and nothing is sent to it.
    fn hand_over(mut self) -> Finished {
        self.pumps.finish();
        let _ = self.log.finish();
        // The next engine reads them (`adopt.rs`): they stay where they are.
        std::mem::forget(self.files.take());
        self.kill.shared.lock().handed = true;
        Finished::spawn_failed("handed to the next engine", Some(self.log.path.clone()))
    }
}

/// A child-run step whose process (the child's engine) ended: what the child's steps
/// left running (found from its `$BATON_OUTPUT`, `output`) is stopped before its end
/// is known, and said in its log.
async fn stop_child_leftovers(output: PathBuf, log: &LazyLog) {
    let stopped = tokio::task::spawn_blocking(move || super::child_leftovers::stop(&output));
    if let Ok(Some((kid, n))) = stopped.await {
        let line = format!(
            "baton: stopped {n} process group(s) child run {kid} left running (its engine ended first)\n"
        );
        let _ = log.write_all(line.as_bytes());
    }
}

/// Waits for the main process, escalating a kill request to SIGKILL after its grace.
/// Returns the status and when SIGKILL is (or was) due, if a kill was asked; none when
/// the attempt is handed over instead (`KillHandle::hand_over`).
async fn wait_leader(
    leader: &mut Leader,
    kill: &KillShared,
) -> Option<(std::io::Result<ExitStatus>, Option<Instant>)> {
    let mut kill_at: Option<Instant> = None;
    let mut killed = false;
    loop {
        tokio::select! {
            status = leader.wait() => return Some((status, kill_at)),
            _ = kill.notify.notified(), if kill_at.is_none() => {
                let state = kill.lock();
                if state.handover {
                    return None;
                }
                if let Some((_, grace)) = state.requested {
                    kill_at = Some(Instant::now() + grace);
                }
            }
            _ = tokio::time::sleep_until(kill_at.unwrap_or_else(Instant::now)),
                if kill_at.is_some() && !killed => {
                let _ = kill.signal_unreaped(Signal::SIGKILL);
                killed = true;
            }
        }
    }
}

/// After the main process exits: SIGTERM what is left of the group (unless a kill is
/// already under way), SIGKILL it when its time is up, and wait until it is gone.
async fn clear_group(pgid: i32, kill_at: Option<Instant>) {
    if !group_alive(pgid) {
        return;
    }
    let deadline = match kill_at {
        Some(at) => at,
        None => {
            let _ = signal_group(pgid, Signal::SIGTERM);
            Instant::now() + ORPHAN_GRACE
        }
    };
    while group_alive(pgid) && Instant::now() < deadline {
        tokio::time::sleep(POLL).await;
    }
    if group_alive(pgid) {
        let _ = signal_group(pgid, Signal::SIGKILL);
        let settle = Instant::now() + KILL_SETTLE;
        while group_alive(pgid) && Instant::now() < settle {
            tokio::time::sleep(POLL).await;
        }
    }
}

fn outcome_of(status: ExitStatus) -> StepOutcome {
    match (status.code(), status.signal()) {
        (Some(exit_code), _) => StepOutcome::Exited { exit_code },
        (None, Some(signal)) => StepOutcome::Signalled { signal },
        // Neither an exit code nor a signal: not reachable on Unix for a reaped child.
        (None, None) => StepOutcome::Exited { exit_code: -1 },
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let state = self.kill.shared.lock();
        if !state.reaped && !state.handed {
            // Dropped unwaited (an aborted task): its processes must not outlive it. Its
            // leader unreaped, under its reap lock; reaped (by whichever thread reaps it),
            // what is left of its group, as `clear_group` stops it (the same look-then-signal
            // on a group whose leader is reaped: its id cannot be reused while any of its
            // members lives, which `group_alive` just saw; the window between is
            // `clear_group`'s own).
            let sent = self.kill.shared.signal_unreaped(Signal::SIGKILL);
            if !matches!(sent, Ok(true)) && group_alive(self.pgid) {
                let _ = signal_group(self.pgid, Signal::SIGKILL);
            }
        }
    }
}

#[cfg(test)]
mod races;

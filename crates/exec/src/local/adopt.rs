//! A frozen local attempt outlives its engine, and the next engine adopts it (issue 43
//! point 1: "a hold survives the engine").
//!
//! What makes it survive: its anchor (`anchor.rs`) keeps its group from becoming
//! orphaned when the engine dies, so the kernel does not send it SIGHUP+SIGCONT;
//! stopped, it writes nothing, so nothing meets the dead engine's pipes; and a pipe
//! keeps what was written into it while its writer holds it, whoever reads it.
//!
//! What the next engine does (`adopt`): it checks that the recorded group is still
//! that attempt's and still stopped ([`frozen_attempt`]: the leader's pid is the
//! group's, its environment names the run, the step and the attempt, it is stopped, its
//! stdout and stderr are pipes), then opens those pipes again through
//! `/proc/PID/fd/{1,2}` (a pipe opened by path is the same pipe: what the step wrote
//! before the crash that the dead engine had not read is read now) and follows them
//! into the attempt's log, appended, as the first engine did. Its `$BATON_OUTPUT` and
//! `$BATON_USAGE` are where its environment says.
//!
//! Its exit status: the process is no longer baton's child, so `waitpid` cannot give
//! it. A tracer thread attaches to the leader (`PTRACE_SEIZE`) before the leader runs
//! again (a release, a cancel), and a tracer sees its tracee's exit (`waitpid` on a
//! tracee, as `strace -p` does); until then the leader stays as it was, stopped
//! (`T`). Chosen over a wrapper process around every step (a `sh` that records `$?` in
//! a file): that costs an extra exec per step, several times a short step's cost
//! (docs/architecture.md), for the few steps ever frozen across a crash; the tracer
//! costs nothing until an adoption. The tracer relays every signal the leader gets
//! (it stops at each one, as a tracee does) and keeps a group-stop a stop
//! (`PTRACE_LISTEN`), so a hold, a release and a kill of an adopted step act as on any
//! other. Where tracing is not allowed (Yama's `ptrace_scope` above 0 for a process
//! without `CAP_SYS_PTRACE`), [`may_trace`] is false and nothing is adopted: resume
//! stops the group and holds the step again, as before.
//!
//! Tracing one adopted leader can still be refused (another tracer is attached to it,
//! a security module): its release is then sent nothing, so it stays frozen rather
//! than run with nobody to see its exit. A release command has it traced first
//! ([`crate::KillHandle::trace_ahead`]) and is refused when that fails
//! (`Refusal::TraceRefused`); a release the engine decides itself fails its thaw
//! (`ExecError::TraceRefused`) and the step is held again. A kill is sent untraced (a
//! signal needs no trace), and its end watched in `/proc`.
use super::group::signal_group;
use super::shell::{AttemptFiles, LazyLog, Running};
use super::spawn::ChildProcess;
use crate::ExecError;
use crate::ShellJob;
use nix::sys::signal::Signal;
use std::ffi::OsStr;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::sync::Arc;
use std::sync::mpsc;
use tokio::sync::oneshot;

/// An attempt's main process: baton's child, or an adopted one followed by a tracer.
#[derive(Debug)]
pub(crate) enum Leader {
    Child(ChildProcess),
    Adopted(oneshot::Receiver<io::Result<ExitStatus>>),
}

impl Leader {
    /// Waits for the main process to exit (reaped, or seen by its tracer).
    pub(crate) async fn wait(&mut self) -> io::Result<ExitStatus> {
        match self {
            Leader::Child(c) => c.wait().await,
            Leader::Adopted(rx) => match rx.await {
                Ok(status) => status,
                Err(_) => Err(io::Error::other("its tracer ended without its status")),
            },
        }
    }
}

/// What `/proc` says of a recorded attempt's process: the paths of its `$BATON_OUTPUT`
/// and `$BATON_USAGE`, when `pgid` is still the stopped leader of that attempt
/// (`run`, `step`, `attempt` in its environment; a pid reused by any other process
/// does not carry them) with pipes for stdout and stderr.
pub fn frozen_attempt(pgid: i32, run: &str, step: &str, attempt: u32) -> Option<[PathBuf; 2]> {
    if pgid <= 1 {
        return None;
    }
    let (state, _, pgrp) = baton_procs::read_stat(pgid)?;
    // Stopped (`T`), or `D` in a `vfork` whose child is stopped before its exec (as
    // `sh` starts a command): it stops as soon as that child runs again.
    if pgrp != pgid || !matches!(state, 'T' | 't' | 'D') {
        return None;
    }
    let env = baton_procs::environ(pgid)?;
    let var = |name: &str| {
        env.split(|b| *b == 0).find_map(|kv| {
            kv.strip_prefix(name.as_bytes())
                .and_then(|rest| rest.strip_prefix(b"="))
        })
    };
    let ours = var("BATON_RUN_ID") == Some(run.as_bytes())
        && var("BATON_STEP_ID") == Some(step.as_bytes())
        && var("BATON_ATTEMPT") == Some(attempt.to_string().as_bytes());
    let pipes = [1, 2].iter().all(|fd| {
        std::fs::metadata(format!("/proc/{pgid}/fd/{fd}")).is_ok_and(|m| m.file_type().is_fifo())
    });
    let path = |name| var(name).map(|v| PathBuf::from(OsStr::from_bytes(v)));
    (ours && pipes).then_some([path("BATON_OUTPUT")?, path("BATON_USAGE")?])
}

/// The directory of the `$BATON_OUTPUT` of the process `pid` (an adopted attempt's
/// own): resume's clean-up of a dead engine's files leaves it.
pub fn attempt_dir(pid: i32) -> Option<PathBuf> {
    let env = baton_procs::environ(pid)?;
    let output = env
        .split(|b| *b == 0)
        .find_map(|kv| kv.strip_prefix(b"BATON_OUTPUT="))?;
    let dir = PathBuf::from(OsStr::from_bytes(output))
        .parent()?
        .to_path_buf();
    crate::files_dir::is_ours(&dir).then_some(dir)
}

/// The process that traces `pid` already (`TracerPid` in its status), if any: a
/// process has one tracer, so baton's would be refused. Read only: nothing changes.
pub fn tracer_of(pid: i32) -> Option<i32> {
    baton_procs::status_field(pid, "TracerPid")?
        .parse()
        .ok()
        .filter(|&t: &i32| t != 0)
}

/// Whether this process may trace its own user's processes that are not its
/// descendants (an adopted leader's exit is seen only so): Yama's `ptrace_scope` is
/// absent or 0, or 1 with `CAP_SYS_PTRACE` in effect (root in a container often lacks
/// it: being root is not the test).
pub fn may_trace() -> bool {
    match std::fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope") {
        Err(_) => true,
        Ok(scope) => match scope.trim() {
            "0" => true,
            "1" => has_cap_sys_ptrace(),
            _ => false,
        },
    }
}

/// Whether `CAP_SYS_PTRACE` (capability 19) is in this process's effective set.
fn has_cap_sys_ptrace() -> bool {
    const CAP_SYS_PTRACE: u32 = 19;
    baton_procs::status_field(std::process::id() as i32, "CapEff")
        .and_then(|hex| u64::from_str_radix(&hex, 16).ok())
        .is_some_and(|caps| caps & (1 << CAP_SYS_PTRACE) != 0)
}

/// Adopt `job`'s attempt whose process group `pgid` a dead engine left frozen (resume,
/// `Executor::reattach`). It stays frozen until released; its output goes on into the
/// attempt's log from where the first engine left it.
pub fn adopt(job: ShellJob, pgid: i32) -> Result<Running, ExecError> {
    let lost = |why: String| ExecError::Spawn {
        message: format!("cannot adopt the frozen process group {pgid}: {why}"),
        log_path: None,
    };
    let [output, usage] = frozen_attempt(pgid, &job.run_id, &job.step_id, job.attempt)
        .ok_or_else(|| lost("it is gone, or no longer this attempt's".into()))?;
    let files = AttemptFiles::adopted(output, usage).ok_or_else(|| {
        lost("its $BATON_OUTPUT and $BATON_USAGE are not one directory baton made".into())
    })?;
    let open = |fd: i32| -> io::Result<std::fs::File> {
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(format!("/proc/{pgid}/fd/{fd}"))
    };
    let pipes = [open(1), open(2)];
    let [Ok(stdout), Ok(stderr)] = pipes else {
        return Err(lost("its output pipes cannot be opened".into()));
    };
    let log_path = job
        .log_dir
        .join(baton_model::log_file_name(&job.step_id, job.attempt));
    let log = Arc::new(LazyLog::new(&job.log_dir, &log_path, job.masker.clone()));
    let (go, told) = mpsc::channel::<Told>();
    let (done, status) = oneshot::channel();
    std::thread::Builder::new()
        .name("baton-adopted".into())
        .spawn(move || trace(pgid, told, done))
        .map_err(|e| lost(format!("no thread to follow it: {e}")))?;
    Ok(super::shell::assemble(
        pgid,
        Leader::Adopted(status),
        Some(Tracer::new(go)),
        [stdout, stderr],
        job.masker,
        files,
        log,
    ))
}

/// A `ptrace` argument that is none (passed as a whole word: the call is variadic).
const NONE: libc::c_long = 0;

fn is_stop(sig: i32) -> bool {
    matches!(
        sig,
        libc::SIGSTOP | libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU
    )
}

/// What an adopted leader's tracer is told (`KillHandle`): attach, then send
/// `signals` (none: attach only, ahead of a release the core has yet to decide);
/// `answer`, if any, hears whether it was sent (traced, or a kill sent untraced).
#[derive(Debug)]
pub(crate) struct Told {
    pub signals: Vec<Signal>,
    pub answer: Option<mpsc::SyncSender<io::Result<()>>>,
}

/// How long a tracer's answer may take: one `ptrace` call on its own thread.
const ANSWER: std::time::Duration = std::time::Duration::from_secs(5);

/// What telling an adopted leader's tracer came to ([`Tracer::tell`]).
#[derive(Debug)]
pub(crate) enum Heard {
    /// Traced, and the signals sent.
    Sent,
    /// The tracer is gone: the attempt ended.
    Gone,
    /// The tracer answered that tracing was refused: nothing was sent, the leader stays
    /// as it was, frozen; the tracer waits to be told again.
    Refused(io::Error),
    /// Sent, its outcome unknown: the tracer has not answered in time (`ANSWER`). The
    /// message stays queued and is carried out when the tracer gets to it; it is not
    /// told again, nor waited for again.
    Unknown,
}

/// The sending end of an adopted leader's tracer ([`trace`]), kept by its `KillHandle`.
#[derive(Debug)]
pub(crate) struct Tracer {
    go: mpsc::Sender<Told>,
    /// A message went unanswered in time: later ones are sent without waiting, so a
    /// tracer stuck in a `ptrace` call never blocks its caller twice.
    unanswered: bool,
}

impl Tracer {
    pub(crate) fn new(go: mpsc::Sender<Told>) -> Self {
        Tracer {
            go,
            unanswered: false,
        }
    }

    /// Send `told` without waiting for an answer (a kill): back if the tracer is gone.
    pub(crate) fn send(&self, told: Told) -> Result<(), mpsc::SendError<Told>> {
        self.go.send(told)
    }

    /// Tell the tracer `signals` (none: attach only) and wait, at most `ANSWER` once,
    /// for its answer.
    pub(crate) fn tell(&mut self, signals: Vec<Signal>) -> Heard {
        self.tell_within(signals, ANSWER)
    }

    fn tell_within(&mut self, signals: Vec<Signal>, within: std::time::Duration) -> Heard {
        let (answer, heard) = mpsc::sync_channel(1);
        let answer = (!self.unanswered).then_some(answer);
        if self.go.send(Told { signals, answer }).is_err() {
            return Heard::Gone;
        }
        if self.unanswered {
            return Heard::Unknown;
        }
        match heard.recv_timeout(within) {
            Ok(Ok(())) => Heard::Sent,
            Ok(Err(e)) => Heard::Refused(e),
            Err(mpsc::RecvTimeoutError::Disconnected) => Heard::Gone,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                self.unanswered = true;
                Heard::Unknown
            }
        }
    }
}

/// What the tracer does when the kernel refuses to let it trace the leader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WhenRefused {
    /// A release (SIGCONT alone) or an attach ahead of one: nothing is sent, the
    /// leader stays frozen (let run untraced, nobody would see its exit).
    StayFrozen,
    /// A kill (SIGTERM, SIGKILL): signals need no trace; they are sent and the leader's
    /// end is watched in `/proc` (its status cannot be seen: the kill's outcome is the
    /// attempt's, `KillReason::outcome`).
    SignalUntraced,
}

fn when_refused(signals: &[Signal]) -> WhenRefused {
    if signals
        .iter()
        .any(|s| matches!(s, Signal::SIGTERM | Signal::SIGKILL))
    {
        WhenRefused::SignalUntraced
    } else {
        WhenRefused::StayFrozen
    }
}

/// Waits until the process `pid` is gone or a zombie (not ours to reap).
fn watch_gone(pid: i32) {
    while baton_procs::read_stat(pid).is_some_and(|(state, _, _)| state != 'Z') {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The tracer of an adopted leader (its own thread: a tracee is its tracer thread's).
/// Waits to be told the signals that let the leader run (a release's SIGCONT, a
/// kill's SIGTERM and SIGCONT), or to attach ahead of a release; attaches, sends them
/// to the group, then relays what the leader gets until it exits, and sends its
/// status. Refused the attach, it sends a release nothing (answering the refusal, and
/// waits to be told again) and a kill its signals.
fn trace(pid: i32, told: mpsc::Receiver<Told>, done: oneshot::Sender<io::Result<ExitStatus>>) {
    let mut seized = false;
    let signals = loop {
        // The attempt was dropped before it was let run: its group is killed with it.
        let Ok(Told { signals, answer }) = told.recv() else {
            return;
        };
        let answer = |result: io::Result<()>| {
            if let Some(a) = answer {
                let _ = a.send(result);
            }
        };
        // SAFETY: PTRACE_SEIZE takes a pid and no pointers (addr and data are 0: no
        // options).
        seized = seized || unsafe { libc::ptrace(libc::PTRACE_SEIZE, pid, NONE, NONE) } == 0;
        if seized {
            answer(Ok(()));
            if signals.is_empty() {
                continue;
            }
            break signals;
        }
        // Read at once: nothing since the refused call set it.
        let refused = io::Error::last_os_error();
        match when_refused(&signals) {
            WhenRefused::StayFrozen => answer(Err(refused)),
            WhenRefused::SignalUntraced => {
                for sig in signals {
                    let _ = signal_group(pid, sig);
                }
                answer(Ok(()));
                watch_gone(pid);
                let _ = done.send(Err(io::Error::other(format!(
                    "its exit status cannot be seen: tracing it was refused ({refused})"
                ))));
                return;
            }
        }
    };
    for sig in signals {
        let _ = signal_group(pid, sig);
    }
    // SAFETY (each `ptrace` below): a request on our tracee with integer arguments.
    let cont =
        |sig: i32| unsafe { libc::ptrace(libc::PTRACE_CONT, pid, NONE, sig as libc::c_long) };
    let mut first = true;
    loop {
        let mut status: libc::c_int = 0;
        // SAFETY: waits on our tracee; `status` is a valid place to write.
        if unsafe { libc::waitpid(pid, &mut status, libc::__WALL) } < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            let _ = done.send(Err(e));
            return;
        }
        if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
            let _ = done.send(Ok(ExitStatus::from_raw(status)));
            return;
        }
        if !libc::WIFSTOPPED(status) {
            continue;
        }
        let sig = libc::WSTOPSIG(status);
        let group_stop = status >> 16 == libc::PTRACE_EVENT_STOP;
        if group_stop && (first || !is_stop(sig)) {
            // The stop it was in when seized (it is let run: told so), or the end of
            // a stop (SIGCONT).
            cont(0);
        } else if group_stop {
            // Frozen again (a hold): stopped as an untraced process is, until SIGCONT.
            // SAFETY: as above.
            unsafe { libc::ptrace(libc::PTRACE_LISTEN, pid, NONE, NONE) };
        } else {
            // A signal on its way to the leader: deliver it.
            cont(sig);
        }
        first = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};

    /// A stopped process group is the attempt's only when its leader's environment
    /// names that run, step and attempt, it is stopped, and its output goes to pipes:
    /// a reused pid (another process, another attempt) is never adopted.
    #[test]
    fn only_the_attempts_own_stopped_leader_is_found() {
        let dir = std::env::temp_dir().join(format!("baton-adopt-test-{}", std::process::id()));
        let Ok(mut child) = Command::new("sleep")
            .arg("30")
            .env("BATON_RUN_ID", "run1")
            .env("BATON_STEP_ID", "count")
            .env("BATON_ATTEMPT", "2")
            .env("BATON_OUTPUT", dir.join("output"))
            .env("BATON_USAGE", dir.join("usage"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
        else {
            return; // no `sleep` here: nothing to adopt
        };
        let pid = child.id() as i32;
        // Its environment is readable once its exec is through.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let ready = || {
            baton_procs::environ(pid)
                .is_some_and(|e| e.split(|b| *b == 0).any(|kv| kv == b"BATON_RUN_ID=run1"))
        };
        while !ready() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(
            frozen_attempt(pid, "run1", "count", 2),
            None,
            "running, not frozen"
        );
        let _ = signal_group(pid, Signal::SIGSTOP);
        while baton_procs::read_stat(pid).is_some_and(|s| s.0 != 'T')
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let found = frozen_attempt(pid, "run1", "count", 2);
        let other_attempt = frozen_attempt(pid, "run1", "count", 1);
        let other_step = frozen_attempt(pid, "run1", "counts", 2);
        let other_run = frozen_attempt(pid, "run2", "count", 2);
        let _ = child.kill();
        let _ = signal_group(pid, Signal::SIGCONT);
        let _ = child.wait();
        assert_eq!(found, Some([dir.join("output"), dir.join("usage")]));
        assert_eq!(other_attempt, None);
        assert_eq!(other_step, None);
        assert_eq!(other_run, None);
        assert_eq!(attempt_dir(pid), None, "gone");
    }

    /// Refused the attach, a release (SIGCONT alone) or an attach ahead of one sends
    /// nothing; a kill (SIGTERM, SIGKILL) sends its signals untraced.
    #[test]
    fn refused_a_trace_only_a_kill_is_sent() {
        assert_eq!(when_refused(&[]), WhenRefused::StayFrozen);
        assert_eq!(when_refused(&[Signal::SIGCONT]), WhenRefused::StayFrozen);
        assert_eq!(
            when_refused(&[Signal::SIGTERM, Signal::SIGCONT]),
            WhenRefused::SignalUntraced
        );
        assert_eq!(
            when_refused(&[Signal::SIGKILL]),
            WhenRefused::SignalUntraced
        );
    }

    /// A stopped leader that another tracer holds (this test's thread: a process has
    /// one tracer, the kernel refuses a second with EPERM): told to release it, the
    /// tracer answers the refusal and sends nothing (it stays stopped, no SIGCONT),
    /// and keeps waiting; told again, it answers again.
    #[test]
    fn a_release_the_kernel_will_not_let_be_traced_sends_nothing() {
        let Ok(mut child) = Command::new("sleep").arg("30").process_group(0).spawn() else {
            return; // no `sleep` here: nothing to trace
        };
        let pid = child.id() as i32;
        let _ = signal_group(pid, Signal::SIGSTOP);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while baton_procs::read_stat(pid).is_some_and(|s| s.0 != 'T')
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        // SAFETY: a request on our child with integer arguments.
        let first = unsafe { libc::ptrace(libc::PTRACE_SEIZE, pid, NONE, NONE) };
        let (go, told) = mpsc::channel::<Told>();
        let mut go = Tracer::new(go);
        let (done, mut status) = oneshot::channel();
        let tracer = std::thread::spawn(move || trace(pid, told, done));
        let answers = [
            go.tell(vec![Signal::SIGCONT]),
            go.tell(Vec::new()),
            go.tell(vec![Signal::SIGCONT]),
        ];
        let state = baton_procs::read_stat(pid).map(|s| s.0);
        let still_waiting = status.try_recv().is_err();
        let _ = child.kill();
        let _ = child.wait();
        drop(go);
        let _ = tracer.join();
        assert_eq!(first, 0, "this thread traces it first");
        for a in answers {
            let Heard::Refused(e) = a else {
                panic!("refused: {a:?}");
            };
            assert_eq!(e.raw_os_error(), Some(libc::EPERM), "{e}");
        }
        assert!(matches!(state, Some('T' | 't')), "sent nothing: {state:?}");
        assert!(still_waiting, "no status while it was never let run");
    }

    /// A tracer that does not answer in time (stuck in a `ptrace` call): what it was
    /// told is sent, its outcome unknown (not a refusal), and later messages are sent
    /// without waiting for an answer, so its caller is not blocked again; a real
    /// refusal is heard as one; a tracer gone is `Gone`.
    #[test]
    fn a_tracer_that_does_not_answer_in_time_is_sent_to_and_not_waited_for_again() {
        let (go, told) = mpsc::channel::<Told>();
        let mut tracer = Tracer::new(go);
        let short = std::time::Duration::from_millis(1);
        let first = tracer.tell_within(vec![Signal::SIGCONT], short);
        assert!(matches!(first, Heard::Unknown), "{first:?}");
        let queued = told.try_recv().expect("the release is still queued");
        assert_eq!(queued.signals, [Signal::SIGCONT]);
        assert!(queued.answer.is_some(), "it was waited for, once");
        let again = tracer.tell_within(Vec::new(), std::time::Duration::from_secs(3600));
        assert!(matches!(again, Heard::Unknown), "{again:?}");
        let queued = told.try_recv().expect("sent");
        assert!(queued.answer.is_none(), "not waited for again");

        let (go, told) = mpsc::channel::<Told>();
        let mut tracer = Tracer::new(go);
        let answering = std::thread::spawn(move || {
            let Ok(Told {
                answer: Some(a), ..
            }) = told.recv()
            else {
                return;
            };
            let _ = a.send(Err(io::Error::from_raw_os_error(libc::EPERM)));
        });
        let heard = tracer.tell_within(vec![Signal::SIGCONT], std::time::Duration::from_secs(3600));
        let _ = answering.join();
        assert!(
            matches!(&heard, Heard::Refused(e) if e.raw_os_error() == Some(libc::EPERM)),
            "{heard:?}"
        );
        let gone = tracer.tell_within(Vec::new(), short);
        assert!(matches!(gone, Heard::Gone), "{gone:?}");
    }
}

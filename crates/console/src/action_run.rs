//! The shell side of an `[[action]]` (`app::user_actions`): its argument vector run as a
//! child of the console, under the operator's own account, without a shell unless the
//! action asked for one (then the script is `sh -c`'s and the values its positional
//! parameters). It runs in a task of its own, so the console never waits on it: stdin
//! is /dev/null (the terminal's keys stay the console's), stdout and stderr are read as
//! they come into a bounded tail (passed on to the console every quarter second while
//! it runs), and at its timeout its whole process group is stopped (SIGTERM, then
//! SIGKILL). Leaving the console stops what is still running.
use crate::app::{Action, Ended, Finished, Prepared};
use futures::future::BoxFuture;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;

/// Bytes of output kept: the last ones (a runbook's end says how it went).
const KEEP_BYTES: usize = 64 * 1024;
/// Lines of output kept, and the columns kept of each.
const KEEP_LINES: usize = 1000;
const LINE_CAP: usize = 1000;
/// After the command exits, how long output still written by what it left behind
/// (a background child holding its pipes) is read.
const DRAIN: Duration = Duration::from_millis(500);
/// Between SIGTERM and SIGKILL at the timeout.
const GRACE: Duration = Duration::from_secs(2);

/// How often output read so far is passed on while the command runs.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// Where output read so far goes while the command runs: the console's loop, as
/// `Action::UserOutput` (at most every [`PROGRESS_EVERY`], only when there is more).
pub(crate) struct Progress {
    id: u64,
    tx: tokio::sync::mpsc::UnboundedSender<Action>,
    /// Output read since it was last passed on.
    pending: bool,
}

impl Progress {
    fn send(&mut self, tail: &Tail) {
        if std::mem::take(&mut self.pending) {
            let (lines, cut) = tail.lines();
            // The console gone: its end drops this task too.
            let _ = self.tx.send(Action::UserOutput {
                id: self.id,
                lines,
                cut,
            });
        }
    }
}

/// Run `p` in a task of its own, its output so far sent on `progress`; the future is
/// its end, as an action for `update`.
pub(crate) fn run(
    p: Prepared,
    progress: tokio::sync::mpsc::UnboundedSender<Action>,
) -> BoxFuture<'static, Action> {
    let id = p.id;
    let mut progress = Progress {
        id,
        tx: progress,
        pending: false,
    };
    let task = tokio::spawn(async move { execute(&p.argv, p.timeout, Some(&mut progress)).await });
    Box::pin(async move {
        let (ended, took, tail) = task.await.unwrap_or_else(|e| {
            (
                Ended::NotStarted(format!("its task ended: {e}")),
                Duration::ZERO,
                Tail::default(),
            )
        });
        let (lines, cut) = tail.lines();
        Action::UserDone(Box::new(Finished {
            id,
            ended,
            took,
            lines,
            cut,
        }))
    })
}

/// The process group of a child not yet reaped: dropped (the console leaving, the task
/// cancelled) it is killed, so nothing the action started outlives it unasked.
struct Group(Option<Pid>);

impl Group {
    fn signal(&self, s: Signal) {
        if let Some(pid) = self.0 {
            let _ = killpg(pid, s);
        }
    }
    /// Reaped: its group id may be another's from now on.
    fn reaped(&mut self) {
        self.0 = None;
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.signal(Signal::SIGKILL);
    }
}

/// Run `argv` to its end or its timeout: how it ended, how long it took, its output.
pub(crate) async fn execute(
    argv: &[String],
    timeout: Duration,
    mut progress: Option<&mut Progress>,
) -> (Ended, Duration, Tail) {
    let started = Instant::now();
    let mut tail = Tail::default();
    let Some((program, args)) = argv.split_first() else {
        return (Ended::NotStarted("no program".into()), Duration::ZERO, tail);
    };
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            let why = format!("cannot run `{program}`: {e}");
            return (Ended::NotStarted(why), started.elapsed(), tail);
        }
    };
    let mut group = Group(child.id().map(|p| Pid::from_raw(p as i32)));
    let (mut out, mut err) = (child.stdout.take(), child.stderr.take());
    let waited = tokio::time::timeout(timeout, async {
        let pipes = (&mut out, &mut err);
        let status = read_until_exit(&mut child, pipes, &mut tail, progress.as_deref_mut()).await;
        // What it left behind may still write; read that a little, not for ever.
        let _ = tokio::time::timeout(DRAIN, drain(&mut out, &mut err, &mut tail)).await;
        status
    })
    .await;
    let ended = match waited {
        Ok(Ok(status)) => {
            group.reaped();
            ended_of(status)
        }
        Ok(Err(e)) => Ended::NotStarted(format!("cannot wait for `{program}`: {e}")),
        Err(_) => {
            group.signal(Signal::SIGTERM);
            if tokio::time::timeout(GRACE, child.wait()).await.is_err() {
                group.signal(Signal::SIGKILL);
                let _ = child.wait().await;
            }
            group.reaped();
            Ended::TimedOut(timeout)
        }
    };
    if out.is_some() || err.is_some() {
        // What it left behind (a browser it opened) still holds its output: read on,
        // unseen, so that it never writes into a closed pipe.
        tokio::spawn(async move { drain(&mut out, &mut err, &mut Tail::default()).await });
    }
    (ended, started.elapsed(), tail)
}

type Pipe<T> = Option<T>;

type Pipes<'a> = (
    &'a mut Pipe<tokio::process::ChildStdout>,
    &'a mut Pipe<tokio::process::ChildStderr>,
);

/// Read stdout and stderr as they come until the child exits, passing what was read
/// on to `progress` every so often.
async fn read_until_exit(
    child: &mut tokio::process::Child,
    (out, err): Pipes<'_>,
    tail: &mut Tail,
    mut progress: Option<&mut Progress>,
) -> std::io::Result<std::process::ExitStatus> {
    let (mut ob, mut eb) = (vec![0u8; 8192], vec![0u8; 8192]);
    let mut every = tokio::time::interval(PROGRESS_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        let read = tokio::select! {
            status = child.wait() => return status,
            r = read_some(out, &mut ob), if out.is_some() => take(r, out, &ob, tail),
            r = read_some(err, &mut eb), if err.is_some() => take(r, err, &eb, tail),
            _ = every.tick() => {
                if let Some(p) = progress.as_deref_mut() {
                    p.send(tail);
                }
                false
            }
        };
        if let Some(p) = progress.as_deref_mut() {
            p.pending |= read;
        }
    }
}

/// Read what is left in both pipes until both are closed.
async fn drain(
    out: &mut Pipe<tokio::process::ChildStdout>,
    err: &mut Pipe<tokio::process::ChildStderr>,
    tail: &mut Tail,
) {
    let (mut ob, mut eb) = (vec![0u8; 8192], vec![0u8; 8192]);
    while out.is_some() || err.is_some() {
        tokio::select! {
            r = read_some(out, &mut ob), if out.is_some() => { take(r, out, &ob, tail); }
            r = read_some(err, &mut eb), if err.is_some() => { take(r, err, &eb, tail); }
        }
    }
}

async fn read_some<R: tokio::io::AsyncRead + Unpin>(
    pipe: &mut Pipe<R>,
    buf: &mut [u8],
) -> std::io::Result<usize> {
    match pipe {
        Some(p) => p.read(buf).await,
        None => Ok(0),
    }
}

/// A read's bytes into the tail; at its end (or an error) the pipe is closed. Whether
/// anything was read.
fn take<R>(r: std::io::Result<usize>, pipe: &mut Pipe<R>, buf: &[u8], tail: &mut Tail) -> bool {
    match r {
        Ok(n) if n > 0 => {
            tail.push(&buf[..n]);
            true
        }
        _ => {
            *pipe = None;
            false
        }
    }
}

fn ended_of(status: std::process::ExitStatus) -> Ended {
    use std::os::unix::process::ExitStatusExt as _;
    match (status.code(), status.signal()) {
        (Some(c), _) => Ended::Exited(c),
        (None, Some(s)) => Ended::Signal(s),
        (None, None) => Ended::Exited(-1),
    }
}

/// The last [`KEEP_BYTES`] of a stream, and how many before them were dropped.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Tail {
    bytes: Vec<u8>,
    dropped: u64,
}

impl Tail {
    pub(crate) fn push(&mut self, chunk: &[u8]) {
        self.bytes.extend_from_slice(chunk);
        let over = self.bytes.len().saturating_sub(KEEP_BYTES);
        if over > 0 {
            self.bytes.drain(..over);
            self.dropped += over as u64;
        }
    }

    /// Its lines, each sanitised (no escape or control character reaches the screen)
    /// and cut at [`LINE_CAP`] columns; at most the last [`KEEP_LINES`]. With them, the
    /// bytes not kept before the first (a line cut by the bound is dropped whole).
    pub(crate) fn lines(&self) -> (Vec<String>, u64) {
        let mut bytes = &self.bytes[..];
        let mut cut = self.dropped;
        if cut > 0
            && let Some(nl) = bytes.iter().position(|b| *b == b'\n')
        {
            cut += nl as u64 + 1;
            bytes = &bytes[nl + 1..];
        }
        let mut raw: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
        if raw.last().is_some_and(|l| l.is_empty()) {
            raw.pop();
        }
        let over = raw.len().saturating_sub(KEEP_LINES);
        cut += raw[..over].iter().map(|l| l.len() as u64 + 1).sum::<u64>();
        let lines = raw[over..]
            .iter()
            .map(|l| {
                let plain = baton_model::sanitize::strip_to_plain(l);
                match plain.char_indices().nth(LINE_CAP) {
                    Some((i, _)) => format!("{}…", &plain[..i]),
                    None => plain,
                }
            })
            .collect();
        (lines, cut)
    }
}

#[cfg(test)]
mod tests;

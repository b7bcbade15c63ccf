//! Pure: what baton sends to an SSH host. Every remote command is one fixed script run
//! by `sh -c`, its values passed as positional arguments (quoted words, never code); the
//! step's environment and command travel on stdin into a 0600 file, so no value of
//! theirs is ever on a command line (`ps` on the host shows paths only).
use std::fmt::Write;

/// Marks an SSH step's processes on the host (the attempt's directory).
pub(crate) const ATTEMPT_MARK: &str = "BATON_SSH_ATTEMPT";
/// The most of `$BATON_OUTPUT`/`$BATON_USAGE` read back, as for a local step.
pub(crate) const OUTPUT_MAX: u64 = 1 << 20;
/// The most of `$BATON_SUMMARY` read back: one byte past what is kept, so that a cut
/// is known (`RUN` and `COLLECT` write the number; a test keeps them equal).
#[cfg(test)]
pub(crate) const SUMMARY_MAX: usize = baton_model::note::MAX_SUMMARY + 1;

/// Exit codes of the launch script, each a reason a step did not start (those the
/// code does not read are named for the test that checks the script has them).
#[cfg(test)]
pub(crate) const EXISTS: i32 = 91;
pub(crate) const NO_SPACE: i32 = 92;
pub(crate) const NOT_STARTED: i32 = 93;
/// The host could not make the FIFO the step's output goes through (`RUN`).
#[cfg(test)]
pub(crate) const NO_FIFO: i32 = 95;
#[cfg(test)]
pub(crate) const NO_DIR: i32 = 90;

/// A value as one single-quoted shell word.
pub(crate) fn quote(s: &str) -> String {
    shlex::try_quote(s).map_or_else(
        // A NUL cannot be in a word: the value cannot be passed at all.
        |_| "''".to_string(),
        |q| q.into_owned(),
    )
}

/// An attempt's directory on the host: `WORKDIR/RUN/STEP.ATTEMPT` (relative: to the
/// remote home, where `ssh` starts).
pub(crate) fn attempt_dir(workdir: &str, run_id: &str, step_id: &str, attempt: u32) -> String {
    format!(
        "{}/{run_id}/{}.{attempt}",
        workdir.trim_end_matches('/'),
        baton_model::file_safe(step_id)
    )
}

/// The command `ssh` runs: `sh -c SCRIPT sh ARGS…`, every part one quoted word (the
/// login shell of the host may be any shell; this line is all it reads).
pub(crate) fn remote(script: &str, args: &[&str]) -> String {
    let mut line = format!("sh -c {} sh", quote(script));
    for a in args {
        line.push(' ');
        line.push_str(&quote(a));
    }
    line
}

/// A step's whole happy path on one connection (`ssh HOST sh -c RUN sh DIR MAX GRACE
/// DRAIN`), in one shell on the host that starts the step, streams its output and waits
/// for it. Reads `BOUNDARY\n` from stdin, then the job (`render_job`) is read from the
/// same stdin by the step's own shell: the step's environment and secrets never touch a
/// command line or the disk. Claims the attempt's directory (`mkdir`: an attempt starts
/// once; the run's directory is made by the first attempt and stays for the next ones;
/// an ended attempt's cleaner may remove it just then, so the claim tries again); starts
/// the step's shell in a session of its own (`setsid`: its process group, the one a kill
/// reaches; its pid is the group's id, written and printed first, as soon as it exists).
/// The step writes into a FIFO that `tee` copies to the connection and to the log (for a
/// resume to follow): its output arrives as it is written and ends when the step's last
/// writer closes it, with no polling (a `tail -f` noticed the end only at its next poll,
/// ~10 ms a step). Once the step's shell has exited, what is left of its group is
/// stopped as for a local step (TERM, up to GRACE tenths of a second, KILL). A process
/// that left the group may still hold the FIFO: after DRAIN seconds `tee` is stopped,
/// but only once it waits on the FIFO with nothing left to copy (its wait channel, a
/// pipe read; a `tee` still writing to a slow connection is let finish), so no byte the
/// step wrote is lost. Then the exit code is written (after the log is whole: a resume
/// that finds it reads the log as final), and BOUNDARY `\n` is printed (right after the
/// output: the frame holds back no newline), the result files as `COLLECT` prints them,
/// then `end 0`. The directory goes only once the engine answers `ok` on stdin (it has
/// the results): an engine gone meanwhile leaves it for resume to re-attach or collect.
/// This shell and `tee` outlive a lost connection (`tee -p` goes on writing the log when
/// the connection is gone), so the log and the exit code are written whatever happens to
/// the engine; a connection that stalls without failing makes the step wait once the
/// FIFO and the connection's buffers are full, as a local step waits on its pipe. No
/// open of the FIFO can block: this shell holds it open for reading and writing (fd 5)
/// until the step has exited, and hands `tee` a read end it opened itself (fd 6), so
/// neither side waits for the other to open it (one that died first would leave the
/// other waiting for good), and `tee` sees the end only once the step and what is left
/// of its group have closed it. The pid is printed before `tee` exists, so it comes
/// before any output. Kernels before 5.5 name a pipe's wait `pipe_wait`, reading or
/// writing alike: there `tee` is stopped after 10 s of that wait (a stalled connection
/// then loses what was left to copy; a step that never ends never hangs the attempt).
/// SIGPIPE is ignored by this shell only after the step started: the step gets it as a
/// local step does. Forks are few (`mkdir`, `mkfifo`, the step, `tee`): each costs the
/// host.
pub(crate) const RUN: &str = r#"umask 077
d=$1
case $d in /*) ;; *) d=$PWD/$d ;; esac
read -r b || exit 96
n=0
until mkdir "$d" 2>/dev/null; do
  [ -d "$d" ] && { echo "baton: $d exists: this attempt was started before" >&2; exit 91; }
  n=$((n+1))
  [ "$n" -gt 3 ] && { mkdir "$d" || exit 90; break; }
  mkdir -p "${d%/*}" 2>/dev/null
done
{ echo $$ > "$d/wpid" && : >> "$d/log"; } 2>/dev/null || { rm -rf "$d"; echo "baton: cannot write in $d: No space left on device?" >&2; exit 92; }
mkfifo "$d/out" || { rm -rf "$d"; echo "baton: cannot make a FIFO in $d for the step's output" >&2; exit 95; }
exec 3<&0 5<>"$d/out" 6<"$d/out"
BATON_SSH_ATTEMPT=$d setsid sh -s "$d" <&3 3<&- 5>&- 6<&- >"$d/out" 2>"$d/wrapper.err" &
pg=$!
exec 3<&-
trap '' PIPE
echo "$pg" > "$d/pgid"
echo "$pg"
tee -p -a "$d/log" <&6 5>&- 6<&- &
t=$!
exec 6<&-
wait "$pg"
rc=$?
exec 5>&-
if kill -s TERM -- "-$pg" 2>/dev/null; then
  n=0
  while [ "$n" -lt "$3" ] && kill -s 0 -- "-$pg" 2>/dev/null; do sleep 0.1; n=$((n+1)); done
  kill -s KILL -- "-$pg" 2>/dev/null
fi
{
  sleep "$4"
  n=0
  while :; do
    w=
    read -r w <"/proc/$t/wchan" 2>/dev/null || [ -n "$w" ] || exit 0
    case $w in
      *pipe_read) break ;;
      0|pipe_wait) n=$((n+1)); [ "$n" -ge 100 ] && break ;;
      *) n=0 ;;
    esac
    sleep 0.1
  done
  kill "$t"
} </dev/null >/dev/null 2>&1 &
k=$!
wait "$t"
kill "$k" 2>/dev/null
[ -e "$d/started" ] || { cat "$d/wrapper.err" >&2; exit 93; }
echo "$rc" > "$d/exitcode"
printf '%s\n' "$b"
echo "exitcode ${#rc} ${#rc}"; printf %s "$rc"
for f in output usage summary labels; do
  if [ -s "$d/$f" ]; then
    t=$(wc -c < "$d/$f"); m=$t; [ "$m" -gt "$2" ] && m=$2
    [ "$f" = summary ] && [ "$m" -gt 65537 ] && m=65537
    echo "$f $m $t"; head -c "$m" "$d/$f"
  fi
done
echo "end 0"
# Removed once the engine has the results (it does not wait for this); the run's
# directory once no attempt has used it for a while.
if read -r a && [ "$a" = ok ]; then
  { rm -rf "$d"; sleep 5; rmdir "${d%/*}"; } </dev/null >/dev/null 2>&1 &
fi
exit 0"#;

/// Streams the attempt's output from its start: while the wrapper runs, until it ends
/// (`tail --pid`); once it has ended, what is there.
pub(crate) const FOLLOW: &str = r#"d=$1
[ -d "$d" ] || { echo "baton: no attempt directory $d on this host" >&2; exit 94; }
w=$(cat "$d/wpid" 2>/dev/null)
if [ -s "$d/exitcode" ] || [ -z "$w" ] || ! kill -0 "$w" 2>/dev/null; then
  cat "$d/log" 2>/dev/null
else
  exec tail -c +1 -s 0.2 --pid="$w" -f "$d/log"
fi"#;

/// Prints `NAME LENGTH SIZE\n` (SIZE: the file's whole size) then the bytes of each of the attempt's result files there
/// is, then whether its wrapper still runs; removes the directory of an ended attempt.
pub(crate) const COLLECT: &str = r#"d=$1
[ -d "$d" ] || { echo "baton: no attempt directory $d on this host" >&2; exit 94; }
for f in exitcode output usage summary labels; do
  if [ -f "$d/$f" ]; then
    t=$(wc -c < "$d/$f"); n=$t; [ "$n" -gt $2 ] && n=$2
    [ "$f" = summary ] && [ "$n" -gt 65537 ] && n=65537
    echo "$f $n $t"; head -c "$n" "$d/$f"
  fi
done
w=$(cat "$d/wpid" 2>/dev/null)
if [ -n "$w" ] && kill -0 "$w" 2>/dev/null && [ ! -s "$d/exitcode" ]; then echo "running 0"; fi
if [ -s "$d/exitcode" ]; then rm -rf "$d"; rmdir "${d%/*}" 2>/dev/null; fi
exit 0"#;

/// Sends each signal named after the directory, in order, to the step's process
/// group (`SIGNAL DIR TERM CONT`: a frozen group takes its TERM), unless the attempt
/// has ended (its group id may belong to someone else by now). The group id is the
/// step's pid, recorded as the process starts, used only if it is a number: until the
/// step has made its session (a moment), the group is the process, signalled alone.
/// Prints `sent` when a signal reached it, `ended` when the attempt had ended
/// ([`Signalled`]): a stop is on record only as what reached the host.
pub(crate) const SIGNAL: &str = r#"d=$1
shift
[ -s "$d/exitcode" ] && { echo ended; exit 0; }
pg=$(cat "$d/pgid" 2>/dev/null) || exit 0
case $pg in ''|*[!0-9]*) exit 0 ;; esac
r=
for s do kill -s "$s" -- "-$pg" 2>/dev/null || kill -s "$s" "$pg" 2>/dev/null && r=sent; done
[ -n "$r" ] && echo sent
exit 0"#;

/// Prints `ended NOW MTIME` once the attempt has its exit code on the host (its wrapper
/// wrote it as the step's group ended), nothing before: the host's clock now (`%s%N`)
/// and the exit code's time (`%.9Y`), both from one clock, so their difference is how
/// long ago the attempt ended whatever the host's clock says (where `date` or `stat`
/// cannot say, the words do not parse and the end is when the answer came).
pub(crate) const ENDED: &str = r#"[ -s "$1/exitcode" ] || exit 0
n=$(date +%s%N 2>/dev/null); m=$(stat -c %.9Y "$1/exitcode" 2>/dev/null)
echo "ended $n $m""#;

/// Reads `ENDED`'s answer: `None` while the attempt runs; once ended, how long ago by
/// the host's clock, when it said.
pub(crate) fn parse_ended(out: &[u8]) -> Option<Option<std::time::Duration>> {
    let line = String::from_utf8_lossy(out);
    let mut words = line.lines().next()?.split_whitespace();
    if words.next()? != "ended" {
        return None;
    }
    let (now, mtime) = (words.next(), words.next());
    let age = mtime.and_then(|m| {
        let now = u128::from(now?.parse::<u64>().ok()?);
        let (secs, frac) = m.split_once('.')?;
        if frac.len() != 9 {
            return None;
        }
        let at = u128::from(secs.parse::<u64>().ok()?) * 1_000_000_000
            + u128::from(frac.parse::<u32>().ok()?);
        let ns = u64::try_from(now.checked_sub(at)?).ok()?;
        Some(std::time::Duration::from_nanos(ns))
    });
    Some(age)
}

/// What `SIGNAL` said it did: the group was signalled, the attempt had already ended
/// (its exit code is written), or neither (no group yet, or it was gone before its
/// exit code was written: ask again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signalled {
    Sent,
    Ended,
    Neither,
}

/// Reads `SIGNAL`'s answer.
pub(crate) fn parse_signalled(out: &[u8]) -> Signalled {
    match String::from_utf8_lossy(out).lines().next().map(str::trim) {
        Some("sent") => Signalled::Sent,
        Some("ended") => Signalled::Ended,
        _ => Signalled::Neither,
    }
}

/// Signals a process group by its id alone (an attempt adopted on resume and no
/// longer wanted), only if its leader is a baton step's (its environment says so).
pub(crate) const SIGNAL_GROUP: &str = r#"grep -qz '^BATON_SSH_ATTEMPT=' "/proc/$1/environ" 2>/dev/null && kill -s TERM -- "-$1" 2>/dev/null
exit 0"#;

/// Whether a launch cut short reached the host, from the attempt's directory (`RUN`
/// claims it with `mkdir`, writes its own pid to `wpid`, then the step's group to
/// `pgid`): `started PGID`; `none` (never claimed: this script claims it now, marked
/// `fenced`, so that a launch still on its way — its connection stopped, continued
/// later — finds the attempt taken and never starts it, as `RUN` refuses a directory
/// that exists); `abandoned` (the claimer died before the step's group existed: it
/// never starts, and the claim keeps this attempt from ever starting); `starting` (the
/// claimer lives with no group yet, for 5 s: ask again).
pub(crate) const CLAIMED: &str = r#"umask 077
d=$1
case $d in /*) ;; *) d=$PWD/$d ;; esac
n=0
while :; do
  if [ ! -d "$d" ]; then
    mkdir -p "${d%/*}" 2>/dev/null
    mkdir "$d" 2>/dev/null && { : > "$d/fenced"; echo none; exit 0; }
  fi
  [ -e "$d/fenced" ] && { echo none; exit 0; }
  [ -s "$d/pgid" ] && { echo "started $(cat "$d/pgid")"; exit 0; }
  w=$(cat "$d/wpid" 2>/dev/null)
  if [ -n "$w" ] && ! kill -0 "$w" 2>/dev/null; then
    [ -s "$d/pgid" ] && { echo "started $(cat "$d/pgid")"; exit 0; }
    echo abandoned; exit 0
  fi
  n=$((n+1)); [ "$n" -ge 50 ] && { echo starting; exit 0; }
  sleep 0.1
done"#;

/// `CLAIMED`'s answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Claimed {
    /// The step started in this process group.
    Started(String),
    /// It never starts.
    Never,
    /// Not known yet (ask again).
    Starting,
}

/// Reads `CLAIMED`'s answer; anything else is asked again.
pub(crate) fn parse_claimed(out: &[u8]) -> Claimed {
    let answer = String::from_utf8_lossy(out);
    let line = answer.lines().next().map(str::trim).unwrap_or("");
    match line.split_once(' ') {
        Some(("started", pgid)) if !pgid.is_empty() && pgid.bytes().all(|b| b.is_ascii_digit()) => {
            Claimed::Started(pgid.to_string())
        }
        _ if line == "none" || line == "abandoned" => Claimed::Never,
        _ => Claimed::Starting,
    }
}

/// The attempts of a run on this host: `STEP.ATTEMPT PGID` a line.
pub(crate) const LIST: &str = r#"for d in "$1"/*/; do [ -s "$d/pgid" ] && { d=${d%/}; echo "${d##*/} $(cat "$d/pgid")"; }; done; exit 0"#;

/// The step's shell (`sh -s`, in the session `RUN` made for it) reads this from the
/// connection's stdin, never a file: the step's environment, its directory, then its
/// command, run by this same shell (`eval` of one quoted word, as `sh -c` would: no
/// second shell to start). `started` says it got this far (a job cut short, or a `cd`
/// that failed, ran nothing); `RUN` writes the exit code.
pub(crate) fn render_job(command: &str, dir: &str, env: &[(String, String)]) -> String {
    // In braces: a script cut short (its sender gone mid-way) is a syntax error, so none
    // of it runs; `exit` ends it, so that nothing after it is read from the connection.
    let mut s = String::from("# written by baton: one attempt of a step\n{\nd=$1\n");
    for (k, v) in env {
        // Names are checked by the loader; anything else is not exported.
        if !k.is_empty()
            && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !k.as_bytes()[0].is_ascii_digit()
        {
            let _ = writeln!(s, "export {k}={}", quote(v));
        }
    }
    let _ = write!(
        s,
        "export BATON_OUTPUT=\"$d/output\" BATON_USAGE=\"$d/usage\" BATON_SUMMARY=\"$d/summary\" BATON_LABELS=\"$d/labels\" {ATTEMPT_MARK}=\"$d\"\n\
         cd {dir} 2>/dev/null || cd || exit 127\n\
         : > \"$d/started\" || exit 127\n\
         exec </dev/null 2>&1\n\
         unset d\n\
         set --\n\
         eval {cmd}\n\
         exit\n\
         }}\n",
        dir = quote(dir),
        cmd = quote(command),
    );
    s
}

/// What `COLLECT` printed.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Collected {
    pub exit_code: Option<i32>,
    pub output: String,
    pub usage: String,
    /// `$BATON_OUTPUT` was larger than what was read (`OUTPUT_MAX`): its last line read
    /// may be cut, and is never handed on as whole.
    pub output_more: bool,
    /// What the step wrote to `$BATON_SUMMARY`: its first [`SUMMARY_MAX`] bytes, and
    /// whether the file held more (`summary_more`).
    pub summary: Vec<u8>,
    pub summary_more: bool,
    /// `$BATON_LABELS` (`k=v` lines of labels for the run), as `output` is read, and
    /// whether the file held more.
    pub labels: String,
    pub labels_more: bool,
    /// The wrapper still runs (the attempt has not ended).
    pub running: bool,
    /// The `end` record came: nothing of the results is missing.
    pub complete: bool,
}

pub(crate) fn parse_collected(mut bytes: &[u8]) -> Collected {
    let mut c = Collected::default();
    while let Some(nl) = bytes.iter().position(|b| *b == b'\n') {
        let head = String::from_utf8_lossy(&bytes[..nl]).into_owned();
        bytes = &bytes[nl + 1..];
        let mut words = head.split(' ');
        let (Some(name), Some(n)) = (words.next(), words.next()) else {
            break;
        };
        let size = words.next().and_then(|t| t.trim().parse::<usize>().ok());
        let n = n.trim().parse::<usize>().unwrap_or(0).min(bytes.len());
        if name == "output" {
            c.output_more = size.is_some_and(|s| s > n);
        }
        if name == "summary" {
            c.summary = bytes[..n].to_vec();
            c.summary_more = size.is_some_and(|s| s > n);
        }
        if name == "labels" {
            c.labels_more = size.is_some_and(|s| s > n);
        }
        let body = String::from_utf8_lossy(&bytes[..n]).into_owned();
        bytes = &bytes[n..];
        match name {
            "exitcode" => c.exit_code = body.trim().parse().ok(),
            "output" => c.output = body,
            "usage" => c.usage = body,
            "labels" => c.labels = body,
            "running" => c.running = true,
            "end" => {
                c.complete = true;
                break;
            }
            _ => {}
        }
    }
    c
}

/// Why an `ssh` failed, from its exit code and stderr: which it is and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HostProblem {
    /// No connection (refused, no route, timed out, unknown name).
    Unreachable(String),
    /// The host answers but does not take the key.
    KeyRefused(String),
    /// The host's key is unknown or changed.
    HostKey(String),
    /// The host's disk under the executor's workdir is full.
    DiskFull(String),
    /// Anything else the host or `ssh` said.
    Other(String),
}

impl HostProblem {
    /// `ssh`'s exit 255 is its own failure; any other code is the remote script's.
    pub(crate) fn classify(code: Option<i32>, stderr: &str) -> HostProblem {
        let said = stderr
            .lines()
            .map(|l| {
                l.trim()
                    .chars()
                    .filter(|c| !c.is_control())
                    .collect::<String>()
            })
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        // ssh's own failure that says nothing: its connection ended under it (the
        // session on the host killed, the shared connection gone), as a reset would.
        let silent = said.is_empty() && code == Some(255);
        let said = if said.is_empty() {
            format!("ssh exited with {code:?}")
        } else {
            said
        };
        let lower = said.to_ascii_lowercase();
        if code == Some(NO_SPACE)
            || lower.contains("no space left on device")
            || lower.contains("disk quota exceeded")
        {
            HostProblem::DiskFull(said)
        } else if lower.contains("permission denied (")
            || lower.contains("too many authentication failures")
        {
            HostProblem::KeyRefused(said)
        } else if lower.contains("host key verification failed")
            || lower.contains("remote host identification has changed")
            || lower.contains("no ed25519 host key is known")
            || lower.contains("host key is known")
        {
            HostProblem::HostKey(said)
        } else if silent {
            HostProblem::Unreachable(format!("{said}, saying nothing: its connection ended"))
        } else if code == Some(255)
            && [
                "connection refused",
                "no route to host",
                "timed out",
                "could not resolve hostname",
                "network is unreachable",
                "connection closed",
                "connection reset",
                "broken pipe",
                "name or service not known",
            ]
            .iter()
            .any(|p| lower.contains(p))
        {
            HostProblem::Unreachable(said)
        } else {
            HostProblem::Other(said)
        }
    }

    /// Whether a launch that failed this way may still have delivered its job: the
    /// connection ended or went silent once made. One refused, unrouted or unresolved
    /// never reached the host (another executor of the step's labels may take it).
    pub(crate) fn may_have_delivered(&self) -> bool {
        let HostProblem::Unreachable(said) = self else {
            return false;
        };
        let said = said.to_ascii_lowercase();
        said.starts_with("no answer within")
            || [
                "its connection ended",
                "connection closed",
                "connection reset",
                "broken pipe",
            ]
            .iter()
            .any(|p| said.contains(p))
    }

    /// Whether trying again later may help (the connection, not the host's answer).
    pub(crate) fn transient(&self) -> bool {
        matches!(self, HostProblem::Unreachable(_))
    }

    /// One line: which problem, what the host said, what to do.
    pub(crate) fn describe(&self, host: &str, workdir: &str) -> String {
        match self {
            HostProblem::Unreachable(s) => format!(
                "host {host} does not answer ({s}): check that it is up and that `ssh {host} true` works from here"
            ),
            HostProblem::KeyRefused(s) => format!(
                "host {host} refused the key ({s}): add your public key to its ~/.ssh/authorized_keys or load the right one into your agent; baton runs ssh with BatchMode=yes (no passwords)"
            ),
            HostProblem::HostKey(s) => format!(
                "host {host}'s key is not the one known here ({s}): check it, then add it to known_hosts (`ssh {host} true` once by hand)"
            ),
            HostProblem::DiskFull(s) => format!(
                "the disk of host {host} is full under {workdir} ({s}): free space there, or set the executor's workdir to a filesystem with room"
            ),
            HostProblem::Other(s) => format!("host {host}: {s}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ended_attempts_age_is_read_from_the_hosts_clock_alone() {
        use std::time::Duration;
        assert_eq!(parse_ended(b""), None);
        assert_eq!(parse_ended(b"running\n"), None);
        assert_eq!(
            parse_ended(b"ended 1795831400230240111 1795831400.222938253\n"),
            Some(Some(Duration::from_nanos(7_301_858)))
        );
        // `date` or `stat` that cannot say: ended, its age unknown.
        assert_eq!(parse_ended(b"ended %s%N ?\n"), Some(None));
        assert_eq!(parse_ended(b"ended 1795831400230240111 \n"), Some(None));
        assert_eq!(parse_ended(b"ended 17 1795831400.222938253\n"), Some(None));
    }

    /// The chaos campaign's seed 61 (the full run of 2026-11-26): a launch whose sshd
    /// session was stopped before it claimed its attempt was answered `none`, the
    /// step started again as its next attempt, and the first launch, continued,
    /// started too: two attempts of one step, and the group handed over beside it.
    /// `CLAIMED` now claims what nobody claimed, and a late `RUN` refuses it.
    #[test]
    fn a_launch_that_arrives_after_the_host_said_none_never_starts() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let d = dir.path().join("run").join("push.1");
        let d = d.to_string_lossy().into_owned();
        let claimed = std::process::Command::new("sh")
            .args(["-c", CLAIMED, "sh", &d])
            .output()
            .expect("sh runs CLAIMED");
        assert_eq!(parse_claimed(&claimed.stdout), Claimed::Never);
        // Asked again, the same answer, at once.
        let again = std::process::Command::new("sh")
            .args(["-c", CLAIMED, "sh", &d])
            .output()
            .expect("sh runs CLAIMED");
        assert_eq!(String::from_utf8_lossy(&again.stdout).trim(), "none");
        // The launch that comes late: `RUN` finds the attempt taken and starts nothing.
        let mut late = std::process::Command::new("sh")
            .args(["-c", RUN, "sh", &d, "1", "1"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("sh runs RUN");
        if let Some(mut stdin) = late.stdin.take() {
            use std::io::Write;
            let _ = stdin.write_all(b"b\necho started > ran\n");
        }
        let out = late.wait_with_output().expect("RUN ends");
        assert_eq!(
            out.status.code(),
            Some(91),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!std::path::Path::new(&d).join("pgid").exists());
    }

    #[test]
    fn a_cut_launch_is_started_only_with_a_group_and_never_only_when_the_host_says_so() {
        assert_eq!(
            parse_claimed(b"started 4242\n"),
            Claimed::Started("4242".into())
        );
        assert_eq!(parse_claimed(b"none\n"), Claimed::Never);
        assert_eq!(parse_claimed(b"abandoned\n"), Claimed::Never);
        // Anything else (a group that is not a number, a cut answer) is asked again.
        for unclear in [
            &b"starting\n"[..],
            b"started \n",
            b"started 12;x\n",
            b"",
            b"non",
        ] {
            assert_eq!(parse_claimed(unclear), Claimed::Starting, "{unclear:?}");
        }
        // Only a connection that ended once made may have delivered the launch.
        let silent = HostProblem::classify(Some(255), "");
        assert!(silent.may_have_delivered(), "{silent:?}");
        let refused = HostProblem::classify(
            Some(255),
            "ssh: connect to host 127.0.0.4 port 42622: Connection refused",
        );
        assert!(
            refused.transient() && !refused.may_have_delivered(),
            "{refused:?}"
        );
        let unresolved = HostProblem::classify(Some(255), "ssh: Could not resolve hostname x");
        assert!(!unresolved.may_have_delivered(), "{unresolved:?}");
    }

    #[test]
    fn values_are_words_never_code() {
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's; rm -rf /"), r#""it's; rm -rf /""#);
        let line = remote("echo \"$1\"", &["$(reboot)", "x y"]);
        assert_eq!(line, r#"sh -c 'echo "$1"' sh '$(reboot)' 'x y'"#);
    }

    #[test]
    fn the_job_holds_env_and_command_as_quoted_words() {
        let j = render_job(
            "echo 'hi'",
            "/src dir",
            &[
                ("TOKEN".into(), "$(reboot)'x".into()),
                ("bad name".into(), "x".into()),
            ],
        );
        let line = j.lines().find(|l| l.starts_with("export TOKEN=")).unwrap();
        // The shell reads the word back as the value: nothing in it runs.
        let word = line.trim_start_matches("export TOKEN=");
        assert_eq!(shlex::split(word), Some(vec!["$(reboot)'x".to_string()]));
        assert!(!j.contains("bad name"));
        assert!(j.contains("cd '/src dir' 2>/dev/null || cd || exit 127"));
        // The command is one word, run by the job's own shell.
        assert!(
            j.contains(&format!("\neval {}\nexit\n", quote("echo 'hi'"))),
            "{j}"
        );
        // One brace group that ends in `exit`: read whole before any of it runs, and
        // nothing after it is read from the connection.
        assert!(j.contains("\n{\n") && j.ends_with("\nexit\n}\n"), "{j}");
    }

    #[test]
    fn the_launch_scripts_exit_codes_are_the_ones_named_here() {
        // The script is a fixed text: its codes are these constants' values.
        for code in [NO_DIR, EXISTS, NO_SPACE, NOT_STARTED, NO_FIFO] {
            assert!(RUN.contains(&format!("exit {code}")), "{code} not in RUN");
        }
    }

    /// `$BATON_SUMMARY` comes back bounded by both scripts, as many bytes as are kept
    /// and one more (a cut is then known), framed as the other files are.
    #[test]
    fn a_summary_is_read_back_bounded_and_framed() {
        for script in [RUN, COLLECT] {
            assert!(
                script.contains(&format!(
                    "[ \"$f\" = summary ] && [ \"$m\" -gt {SUMMARY_MAX} ]"
                )) || script.contains(&format!(
                    "[ \"$f\" = summary ] && [ \"$n\" -gt {SUMMARY_MAX} ]"
                )),
                "{script}"
            );
        }
        assert!(render_job("true", ".", &[]).contains("BATON_SUMMARY=\"$d/summary\""));
        let c = parse_collected(b"summary 3 90000\n# hend 0\n");
        assert_eq!((c.summary.as_slice(), c.summary_more), (&b"# h"[..], true));
        assert!(c.complete);
    }

    #[test]
    fn an_attempts_directory_is_per_run_step_and_attempt() {
        assert_eq!(
            attempt_dir(".baton/ssh/", "01run", "build", 2),
            ".baton/ssh/01run/build.2"
        );
    }

    #[test]
    fn collected_files_are_framed_by_length() {
        let c = parse_collected(b"exitcode 2\n3\noutput 9\nanswer=4\nusage 0\nrunning 0\n");
        assert_eq!(
            c,
            Collected {
                exit_code: Some(3),
                output: "answer=4\n".into(),
                usage: String::new(),
                output_more: false,
                summary: Vec::new(),
                summary_more: false,
                labels: String::new(),
                labels_more: false,
                running: true,
                complete: false,
            }
        );
        assert_eq!(parse_collected(b""), Collected::default());
        // A file larger than what was read says so: its last line is not handed on.
        let cut = parse_collected(
            b"output 4 10
k=ab",
        );
        assert!(cut.output_more);
        assert_eq!(cut.output, "k=ab");
    }

    #[test]
    fn host_problems_say_which_and_what_to_do() {
        let p = HostProblem::classify(
            Some(255),
            "ssh: connect to host 127.0.0.4 port 22: Connection refused\n",
        );
        assert!(matches!(p, HostProblem::Unreachable(_)));
        assert!(p.describe("h", "w").contains("does not answer"));
        let p = HostProblem::classify(Some(255), "root@127.0.0.2: Permission denied (publickey).");
        assert!(matches!(p, HostProblem::KeyRefused(_)));
        assert!(p.describe("h", "w").contains("authorized_keys"));
        let p = HostProblem::classify(Some(92), "cat: write error: No space left on device");
        assert!(matches!(p, HostProblem::DiskFull(_)));
        assert!(p.describe("h", "/scratch").contains("full under /scratch"));
        let p = HostProblem::classify(Some(255), "Host key verification failed.");
        assert!(matches!(p, HostProblem::HostKey(_)));
        assert!(!p.transient());
    }

    /// ssh's 255 with nothing on stderr is its connection ending (found by the chaos
    /// campaign, tests/it/chaos: an sshd session killed under a followed step): tried
    /// again, not taken for the host's answer, which recorded a step that ran on to its
    /// end as lost and handed its run's concurrency group over while it ran.
    #[test]
    fn a_silent_exit_255_is_a_connection_ended_and_tried_again() {
        let p = HostProblem::classify(Some(255), "");
        assert!(p.transient(), "{p:?}");
        assert!(
            p.describe("h", "w").contains("does not answer"),
            "{}",
            p.describe("h", "w")
        );
        let p = HostProblem::classify(Some(1), "");
        assert!(!p.transient(), "the remote script's own exit: {p:?}");
    }
}

//! A step's happy path on ONE `ssh` (`script::RUN`): the job goes on stdin, the step's
//! process group comes back first, then its output as it is written, then (after the
//! attempt's random boundary, `frame`) its exit code, `$BATON_OUTPUT` and
//! `$BATON_USAGE`; the engine's `ok` on stdin lets the host remove the attempt's files.
//! A connection lost on the way falls back to following the files (`FOLLOW`, then
//! `COLLECT`), as after a restart of the engine.
use super::frame::{self, Frame};
use super::script::{self, Collected, HostProblem};
use super::{CLI_DEADLINE, ENDED_CHECK, SshAttempt, SshExecutor, Stopping};
use crate::log_copy::LogCopy;
use crate::stream::MaskingSplitter;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout};

/// The most of the results (after the boundary) kept: two files of `OUTPUT_MAX` and
/// their headers.
const RESULTS_MAX: usize = 2 * script::OUTPUT_MAX as usize + 4096;
/// The most of `ssh`'s stderr kept (what the host or `ssh` said went wrong).
const STDERR_MAX: u64 = 64 * 1024;

/// The one `ssh` of a started attempt. Dropped, it is killed, unless the host has had
/// its `ok` (`release`).
#[derive(Debug)]
pub(super) struct Live {
    child: Child,
    out: BufReader<ChildStdout>,
    stdin: Option<ChildStdin>,
    errors: tokio::task::JoinHandle<Vec<u8>>,
    frame: Frame,
    released: bool,
}

impl Drop for Live {
    fn drop(&mut self) {
        if !self.released {
            let _ = self.child.start_kill();
        }
    }
}

impl Live {
    /// `ssh`'s exit and what it said on stderr.
    async fn end(mut self) -> (Option<std::process::ExitStatus>, String) {
        drop(self.stdin.take());
        let status = tokio::time::timeout(CLI_DEADLINE, self.child.wait())
            .await
            .ok()
            .and_then(Result::ok);
        if status.is_none() {
            let _ = self.child.start_kill();
        }
        let said = (&mut self.errors).await.unwrap_or_default();
        (status, String::from_utf8_lossy(&said).into_owned())
    }

    /// Answers `ok` (the engine has the results: the host may remove the attempt's
    /// files) and lets `ssh` end on its own: it has nothing more to say, and its end
    /// (the host's shell exiting, the channel closing) would only delay the next step.
    /// The `ssh` outlives this engine if need be, so the `ok` still reaches the host.
    async fn release(mut self) {
        if let Some(mut w) = self.stdin.take() {
            let _ = w.write_all(b"ok\n").await;
            let _ = w.flush().await;
        }
        self.released = true;
    }
}

impl SshExecutor {
    /// Sends the job to the host and starts it there: the step's process group, and
    /// the connection that goes on with its output and results.
    pub(super) async fn launch(
        &self,
        dir: &str,
        body: &str,
    ) -> Result<(String, Live), HostProblem> {
        let boundary = frame::new_boundary();
        // The local step's grace for its group's leftovers, and its drain, as RUN's
        // tenths of a second and seconds.
        let grace = (crate::local::shell::ORPHAN_GRACE.as_millis() / 100).to_string();
        let drain = format!("{:.3}", crate::local::shell::DRAIN.as_secs_f64());
        let max = script::OUTPUT_MAX.to_string();
        let mut cmd = self.command(script::RUN, &[dir, &max, &grace, &drain]);
        // `Live` kills it when dropped, except after `release`.
        cmd.stdin(Stdio::piped()).kill_on_drop(false);
        let mut child = cmd
            .spawn()
            .map_err(|e| HostProblem::Other(format!("cannot run ssh: {e}")))?;
        let (Some(out), Some(err)) = (child.stdout.take(), child.stderr.take()) else {
            return Err(HostProblem::Other("ssh gave no output pipes".into()));
        };
        let errors = tokio::spawn(async move {
            let mut s = Vec::new();
            let _ = err.take(STDERR_MAX).read_to_end(&mut s).await;
            s
        });
        let mut stdin = child.stdin.take();
        let mut out = BufReader::new(out);
        let first = async {
            if let Some(w) = stdin.as_mut() {
                // The boundary and the job (secrets in it) only ever travel here. A
                // failed write shows as the host's answer below.
                let head = format!("{boundary}\n");
                let _ = w.write_all(head.as_bytes()).await;
                let _ = w.write_all(body.as_bytes()).await;
                let _ = w.flush().await;
            }
            let mut line = Vec::new();
            let _ = (&mut out).take(64).read_until(b'\n', &mut line).await;
            line
        };
        let first = tokio::time::timeout(CLI_DEADLINE, first).await;
        let mut live = Live {
            child,
            out,
            stdin,
            errors,
            frame: Frame::new(&boundary),
            released: false,
        };
        let Ok(line) = first else {
            let _ = live.child.start_kill();
            let _ = live.end().await;
            return Err(HostProblem::Unreachable(format!(
                "no answer within {CLI_DEADLINE:?}"
            )));
        };
        let pgid = String::from_utf8_lossy(&line).trim().to_string();
        if !pgid.is_empty() && pgid.bytes().all(|b| b.is_ascii_digit()) {
            return Ok((pgid, live));
        }
        let (status, said) = live.end().await;
        let code = status.and_then(|s| s.code());
        Err(match (code, said.trim().is_empty()) {
            (Some(0), true) => HostProblem::Other(format!(
                "the host gave no process group for the step: {pgid:?}"
            )),
            _ => HostProblem::classify(code, &said),
        })
    }
}

impl SshAttempt {
    /// Copies the step's output from the attempt's one `ssh` into the log until the
    /// boundary, then reads the results after it, acting on kill requests meanwhile.
    /// `Ok(None)`: follow the attempt's files instead (the stream ended early).
    pub(super) async fn stream(
        &self,
        mut live: Live,
        copy: &mut LogCopy,
        st: &mut Stopping,
    ) -> Result<Option<Collected>, HostProblem> {
        let mut splitter = MaskingSplitter::new(self.masker.clone());
        let mut results = Vec::new();
        let mut collected = None;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            tokio::select! {
                n = live.out.read(&mut buf) => match n {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let (log, after) = live.frame.push(&buf[..n]);
                        if let Some(bytes) = splitter.push(&log) {
                            copy.write(&bytes);
                        }
                        if let Some(after) = after {
                            let room = RESULTS_MAX.saturating_sub(results.len());
                            results.extend_from_slice(&after[..after.len().min(room)]);
                            let c = script::parse_collected(&results);
                            if c.complete {
                                collected = Some(c);
                                break;
                            }
                        }
                    }
                },
                due = self.stop_due(st) => self.stop(due, st).await,
                // Silent since a stop reached the step: a stalled connection holds
                // back what the host has (issue 75 point 7).
                () = tokio::time::sleep(ENDED_CHECK), if st.reached => {
                    if let Some(end) = self.exec.ended_fresh(&self.dir, self.started).await {
                        st.ended_seen = Some(end);
                        break;
                    }
                }
            }
        }
        if !live.frame.found() {
            // No boundary: all that came was output.
            let rest = live.frame.finish();
            if let Some(bytes) = splitter.push(&rest) {
                copy.write(&bytes);
            }
        }
        if let Some(bytes) = splitter.finish() {
            copy.write(&bytes);
        }
        if collected.is_none() && st.ended_seen.is_some() {
            // Dropped, its `ssh` is killed, never waited for: the files are followed
            // and collected over connections of their own.
            drop(live);
            return Ok(None);
        }
        match collected {
            Some(c) => {
                live.release().await;
                Ok(Some(c))
            }
            None => match live.end().await {
                // `ssh`'s own failure (the connection): which one, and whether to retry;
                // or the step's shell ran nothing (what it said is why).
                (Some(s), said) if matches!(s.code(), Some(255 | script::NOT_STARTED)) => {
                    Err(HostProblem::classify(s.code(), &said))
                }
                _ => Ok(None),
            },
        }
    }
}

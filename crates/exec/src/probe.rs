//! One check of a service's probe: an HTTP GET, a TCP connect or a command, each
//! bounded by the check's time. When to check and what a result means is the core's
//! (`engine::core`, `decide/services.rs`); this only asks and says what it got.
//!
//! The HTTP check is a hand-written HTTP/1.1 GET over a tokio `TcpStream`: no HTTP
//! client is in the tree, and one is not worth its weight for reading a status line
//! from a loopback address (the loader allows only plain `http://` to loopback). It
//! reads at most `MAX_STATUS_LINE` bytes and only the status line.
use super::command::Invocation;
use baton_model::mask::Masker;
use baton_model::time::human_duration;
use baton_workflow::ProbeCheck;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The most of an HTTP answer read: its status line is all a check needs.
const MAX_STATUS_LINE: usize = 512;
/// The most of a `run` check's output kept (its last line is what it got).
const MAX_OUTPUT: usize = 4096;
/// Longest `detail` text (a reason phrase or an output line).
const MAX_DETAIL: usize = 200;

/// What one check got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub ok: bool,
    /// `HTTP 200 OK`, `connected`, `exit 0`, `connection refused`, `exit 1: …`:
    /// one line, masked, without control characters.
    pub detail: String,
}

/// What a failed check got, as the operator reads it (masked and cut to one line
/// before it is shown).
#[derive(Debug, thiserror::Error)]
enum Failed {
    #[error("no answer within {}", human_duration(*.0))]
    NoAnswer(Duration),
    /// Connecting, sending or reading: `connection refused`.
    #[error("{}", io_text(.0))]
    Io(std::io::Error),
    #[error("the connection closed without an answer")]
    Closed,
    #[error("not an HTTP answer: {0}")]
    NotHttp(String),
    /// An answer outside 2xx: `HTTP 503 Service Unavailable`.
    #[error("{0}")]
    Status(String),
    #[error("could not start: {}", io_text(.0))]
    NotStarted(std::io::Error),
    #[error("waiting for it failed: {}", io_text(.0))]
    Wait(std::io::Error),
    /// `exit 1`, `killed by signal 9`, `ended`, with the last line it wrote.
    #[error("{how}{}", .said.as_deref().map(|l| format!(": {l}")).unwrap_or_default())]
    Ended { how: String, said: Option<String> },
}

/// Check once. A `run` check runs in `dir` with baton's environment plus `env` (the
/// service's), less baton's own secrets, in its own process group; it is killed with
/// its group when `timeout` passes.
pub async fn check(
    probe: &ProbeCheck,
    timeout: Duration,
    dir: &Path,
    env: &[(String, String)],
    masker: &Masker,
) -> Checked {
    let result = match probe {
        ProbeCheck::Http {
            addr, host, path, ..
        } => bounded(timeout, http(*addr, host, path)).await,
        ProbeCheck::Tcp { addr, .. } => {
            bounded(timeout, async {
                TcpStream::connect(addr)
                    .await
                    .map(|_| "connected".to_string())
                    .map_err(Failed::Io)
            })
            .await
        }
        ProbeCheck::Run { command } => run(command, timeout, dir, env).await,
    };
    let (ok, detail) = match result {
        Ok(d) => (true, d),
        Err(d) => (false, d.to_string()),
    };
    let detail = baton_model::sanitize::strip_to_plain(masker.mask(&detail).as_bytes());
    Checked {
        ok,
        detail: baton_model::sanitize::one_line(&clip(&detail)),
    }
}

async fn bounded(
    timeout: Duration,
    f: impl std::future::Future<Output = Result<String, Failed>>,
) -> Result<String, Failed> {
    tokio::time::timeout(timeout, f)
        .await
        .unwrap_or(Err(Failed::NoAnswer(timeout)))
}

async fn http(addr: SocketAddr, host: &str, path: &str) -> Result<String, Failed> {
    let mut s = TcpStream::connect(addr).await.map_err(Failed::Io)?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: baton-probe\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    );
    s.write_all(request.as_bytes()).await.map_err(Failed::Io)?;
    let mut head = Vec::with_capacity(128);
    let mut chunk = [0u8; 128];
    while !head.contains(&b'\n') && head.len() < MAX_STATUS_LINE {
        let n = s.read(&mut chunk).await.map_err(Failed::Io)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&chunk[..n]);
    }
    head.truncate(MAX_STATUS_LINE);
    let (code, text) = status(&head)?;
    if (200..300).contains(&code) {
        Ok(text)
    } else {
        Err(Failed::Status(text))
    }
}

/// The status code of an HTTP/1.x answer's first line and `HTTP 503 Service
/// Unavailable` to say what it got.
fn status(head: &[u8]) -> Result<(u16, String), Failed> {
    if head.is_empty() {
        return Err(Failed::Closed);
    }
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.trim_end().splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    let code = parts.next().and_then(|c| {
        (c.len() == 3 && c.bytes().all(|b| b.is_ascii_digit()))
            .then(|| c.parse::<u16>().ok())
            .flatten()
    });
    match (version.starts_with("HTTP/1."), code) {
        (true, Some(code)) => {
            let reason = parts.next().unwrap_or_default().trim();
            Ok((
                code,
                if reason.is_empty() {
                    format!("HTTP {code}")
                } else {
                    format!("HTTP {code} {reason}")
                },
            ))
        }
        _ => Err(Failed::NotHttp(clip(line.trim_end()))),
    }
}

async fn run(
    command: &str,
    timeout: Duration,
    dir: &Path,
    env: &[(String, String)],
) -> Result<String, Failed> {
    let mut cmd = match Invocation::of(command) {
        Invocation::Direct { program, args } => {
            let mut c = tokio::process::Command::new(program);
            c.args(args);
            c
        }
        Invocation::Shell { script } => {
            let mut c = tokio::process::Command::new("sh");
            c.arg("-c").arg(script);
            c
        }
    };
    confined(cmd.current_dir(dir).envs(env.iter().map(|(k, v)| (k, v))));
    let mut child = cmd.spawn().map_err(Failed::NotStarted)?;
    let pgid = child.id().map(|p| p as i32);
    let (out, err) = (child.stdout.take(), child.stderr.take());
    let finished = tokio::time::timeout(timeout, async {
        let (out, err, status) = tokio::join!(tail(out), tail(err), child.wait());
        (out, err, status)
    })
    .await;
    let Some((out, err, status)) = settle(pgid, finished, &mut child).await else {
        return Err(Failed::NoAnswer(timeout));
    };
    let status = status.map_err(Failed::Wait)?;
    let said = last_line(&err).or_else(|| last_line(&out));
    let with = |how: String| Failed::Ended {
        how,
        said: said.clone(),
    };
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(0), _) => Ok("exit 0".into()),
        (Some(c), _) => Err(with(format!("exit {c}"))),
        (None, Some(s)) => Err(with(format!("killed by signal {s}"))),
        (None, None) => Err(with("ended".into())),
    }
}

/// A child of a check (or of a secret's command, `secrets.rs`): nothing on stdin, its
/// output piped, a process group of its own, none of the store's keys (baton's,
/// never a child's).
pub(crate) fn confined(cmd: &mut tokio::process::Command) -> &mut tokio::process::Command {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    for k in super::scrub::baton_own_in_env() {
        cmd.env_remove(k);
    }
    cmd
}

/// A confined child's end: its group goes, whatever it started; one that ran out of
/// time is reaped (for at most 2 s) and gives `None`.
pub(crate) async fn settle<T>(
    pgid: Option<i32>,
    finished: Result<T, tokio::time::error::Elapsed>,
    child: &mut tokio::process::Child,
) -> Option<T> {
    if let Some(pgid) = pgid {
        let _ = crate::local::group::signal_group(pgid, nix::sys::signal::Signal::SIGKILL);
    }
    if finished.is_err() {
        let _ = tokio::time::timeout(Duration::from_secs(2), child.wait()).await;
    }
    finished.ok()
}

/// The last `MAX_OUTPUT` bytes a pipe gives until it closes.
async fn tail(pipe: Option<impl AsyncRead + Unpin>) -> Vec<u8> {
    super::secrets::bounded(pipe, MAX_OUTPUT, true).await
}

pub(crate) fn last_line(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    text.lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .map(str::to_string)
}

/// At most `MAX_DETAIL` characters, `…` when cut.
fn clip(s: &str) -> String {
    if s.chars().count() <= MAX_DETAIL {
        return s.to_string();
    }
    let mut out: String = s.chars().take(MAX_DETAIL - 1).collect();
    out.push('…');
    out
}

/// `connection refused` rather than `Connection refused (os error 111)`.
fn io_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text);
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_read_as_code_and_text() {
        assert_eq!(
            status(b"HTTP/1.0 200 OK\r\nServer: x\r\n").unwrap(),
            (200, "HTTP 200 OK".into())
        );
        assert_eq!(
            status(b"HTTP/1.1 503 Service Unavailable\r\n").unwrap(),
            (503, "HTTP 503 Service Unavailable".into())
        );
        assert_eq!(
            status(b"HTTP/1.1 204\r\n").unwrap(),
            (204, "HTTP 204".into())
        );
        assert!(
            status(b"SSH-2.0-OpenSSH\r\n")
                .unwrap_err()
                .to_string()
                .contains("not an HTTP answer")
        );
        assert!(status(b"HTTP/1.1 2000 x").is_err());
        assert!(status(b"").unwrap_err().to_string().contains("closed"));
    }

    #[test]
    fn details_are_short_lines() {
        assert_eq!(clip(&"x".repeat(500)).chars().count(), MAX_DETAIL);
        assert_eq!(last_line(b"a\nb\n\n").as_deref(), Some("b"));
        let e = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(!io_text(&e).starts_with(char::is_uppercase));
    }
}

//! Reading a step's `[secrets]` entries as it starts (`workflow::secrets`): a file, a
//! systemd credential, baton's environment, or a command run without a shell, with a
//! deadline and a bound on what it prints. The values go to the step's environment
//! and its masker only: nothing here writes them anywhere, and an error names the
//! secret and where it was read, never what was read.
use baton_model::mask::Masker;
use baton_workflow::{MAX_SECRET_BYTES, Secret, SecretSource};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};

/// A secret that could not be read: the step does not start.
#[derive(Debug, thiserror::Error)]
#[error("secret `{name}` (from {from}) could not be read: {problem}")]
pub struct SecretError {
    pub name: String,
    /// Where it is read (`SecretSource::describe`).
    pub from: String,
    pub problem: Problem,
}

#[derive(Debug, thiserror::Error)]
pub enum Problem {
    #[error("baton's environment has no `{0}` (or it is empty): export it before baton starts")]
    NotSet(String),
    #[error(
        "$CREDENTIALS_DIRECTORY is not set: baton was not started by systemd with LoadCredential= (or SetCredential=) for it"
    )]
    NoCredentialsDirectory,
    #[error("cannot read {path}: {source}")]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0} is not a regular file")]
    NotAFile(PathBuf),
    #[error("it holds more than {MAX_SECRET_BYTES} bytes")]
    TooBig,
    #[error("it is not text (not UTF-8, or a NUL byte): a step gets it in its environment")]
    NotText,
    #[error("it is empty")]
    Empty,
    #[error("cannot start `{program}`: {source}")]
    NotStarted {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the command {how}{}", said.as_ref().map(|s| format!(": {s}")).unwrap_or_default())]
    Failed { how: String, said: Option<String> },
    #[error("the command did not finish within {0:?}: it was stopped")]
    TimedOut(Duration),
}

/// How much of a failed command's standard error is kept to say why it failed.
const MAX_STDERR: usize = 4096;

/// Read each of `secrets` in order (relative paths and commands against `dir`, the
/// workflow's directory): `(NAME, value)` pairs, or the first that could not be read.
pub async fn read_all(
    secrets: &[Secret],
    dir: &Path,
) -> Result<Vec<(String, String)>, SecretError> {
    let mut out = Vec::with_capacity(secrets.len());
    for s in secrets {
        let value = read(&s.source, dir).await.map_err(|problem| SecretError {
            name: s.name.clone(),
            from: s.source.describe(),
            problem,
        })?;
        out.push((s.name.clone(), value));
    }
    Ok(out)
}

async fn read(source: &SecretSource, dir: &Path) -> Result<String, Problem> {
    match source {
        SecretSource::Env(var) => match std::env::var(var) {
            Ok(v) if !v.is_empty() => Ok(v),
            _ => Err(Problem::NotSet(var.clone())),
        },
        SecretSource::File(path) => value_of(read_file(path).await?, false),
        SecretSource::Credential(id) => {
            let dir = std::env::var_os("CREDENTIALS_DIRECTORY")
                .filter(|d| !d.is_empty())
                .ok_or(Problem::NoCredentialsDirectory)?;
            value_of(read_file(&Path::new(&dir).join(id)).await?, false)
        }
        SecretSource::Command {
            argv,
            timeout,
            first_line,
        } => value_of(run(argv, *timeout, dir).await?, *first_line),
    }
}

/// What a step that runs elsewhere (SSH, a batch job) takes from baton's environment:
/// the older list's `secrets` (every step's), less what the step withholds
/// (`ShellJob::withheld`), which a local step's process never inherits either.
pub(crate) fn inherited(names: &[String], withheld: &[String]) -> Vec<(String, String)> {
    names
        .iter()
        .filter(|k| !withheld.contains(k))
        .filter_map(|k| Some((k.clone(), std::env::var(k).ok()?)))
        .collect()
}

/// The value of what was read: text, not empty, one trailing newline (`\n` or
/// `\r\n`) removed, as a file written by `echo` or `printf '%s\n'` ends; with
/// `first_line`, only what comes before the first newline (`pass show`'s password).
pub fn value_of(bytes: Vec<u8>, first_line: bool) -> Result<String, Problem> {
    if bytes.len() > MAX_SECRET_BYTES {
        return Err(Problem::TooBig);
    }
    let text = String::from_utf8(bytes).map_err(|_| Problem::NotText)?;
    if text.contains('\0') {
        return Err(Problem::NotText);
    }
    let value = if first_line {
        text.split('\n').next().unwrap_or_default()
    } else {
        text.strip_suffix('\n').unwrap_or(&text)
    };
    let value = value.strip_suffix('\r').unwrap_or(value);
    if value.is_empty() {
        return Err(Problem::Empty);
    }
    Ok(value.to_string())
}

async fn read_file(path: &Path) -> Result<Vec<u8>, Problem> {
    let unreadable = |source| Problem::Unreadable {
        path: path.to_path_buf(),
        source,
    };
    // Not a FIFO or a device, whose read could wait forever or never end.
    let meta = tokio::fs::metadata(path).await.map_err(unreadable)?;
    if !meta.is_file() {
        return Err(Problem::NotAFile(path.to_path_buf()));
    }
    let file = tokio::fs::File::open(path).await.map_err(unreadable)?;
    let mut bytes = Vec::new();
    file.take(MAX_SECRET_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .await
        .map_err(unreadable)?;
    Ok(bytes)
}

/// Run `argv` (no shell) in `dir` with baton's environment (less the store's keys) and
/// nothing on stdin: its standard output, if it exits 0 within `timeout`. Whatever
/// it started is killed once it ended or timed out (its process group).
async fn run(argv: &[String], timeout: Duration, dir: &Path) -> Result<Vec<u8>, Problem> {
    let program = argv.first().cloned().unwrap_or_default();
    let mut cmd = tokio::process::Command::new(&program);
    super::probe::confined(cmd.args(&argv[1..]).current_dir(dir));
    let mut child = cmd
        .spawn()
        .map_err(|source| Problem::NotStarted { program, source })?;
    let pgid = child.id().map(|p| p as i32);
    let (out, err) = (child.stdout.take(), child.stderr.take());
    let finished = tokio::time::timeout(timeout, async {
        tokio::join!(
            bounded(out, MAX_SECRET_BYTES + 1, false),
            bounded(err, MAX_STDERR, true),
            child.wait()
        )
    })
    .await;
    let Some((out, err, status)) = super::probe::settle(pgid, finished, &mut child).await else {
        return Err(Problem::TimedOut(timeout));
    };
    let failed = |how: String| {
        // What it printed before failing may hold the secret itself: masked with it.
        let masker = Masker::new(String::from_utf8_lossy(&out).lines().map(str::to_string));
        let said = super::probe::last_line(&err).map(|l| masker.mask(&l).into_owned());
        Problem::Failed { how, said }
    };
    use std::os::unix::process::ExitStatusExt;
    match status {
        Ok(s) if s.success() => Ok(out),
        Ok(s) => Err(match (s.code(), s.signal()) {
            (Some(c), _) => failed(format!("exited with status {c}")),
            (None, Some(sig)) => failed(format!("was killed by signal {sig}")),
            (None, None) => failed("ended".into()),
        }),
        Err(e) => Err(failed(format!("could not be waited for ({e})"))),
    }
}

/// What a pipe gives until it closes, at most `limit` bytes (its first, or with
/// `tail` its last); the rest is read and dropped so the writer never blocks.
pub(crate) async fn bounded(
    pipe: Option<impl AsyncRead + Unpin>,
    limit: usize,
    tail: bool,
) -> Vec<u8> {
    let Some(mut pipe) = pipe else {
        return Vec::new();
    };
    let mut kept = Vec::new();
    let mut chunk = [0u8; 4096];
    while let Ok(n) = pipe.read(&mut chunk).await {
        if n == 0 {
            break;
        }
        kept.extend_from_slice(&chunk[..n]);
        if kept.len() > limit {
            if tail {
                kept.drain(..kept.len() - limit);
            } else {
                kept.truncate(limit);
            }
        }
    }
    kept
}

#[cfg(test)]
mod tests;

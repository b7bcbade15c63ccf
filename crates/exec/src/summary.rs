//! A step's `$BATON_SUMMARY`: Markdown it writes of itself (GitHub's job summary), read
//! once its attempt ends (bounded, never blocking on a pipe, a plain file only),
//! sanitised and cut by `model::note::keep_summary`, masked, and kept beside the
//! attempt's log as `STEP.ATTEMPT.summary.md` (written as the log is: `own_files`).
use baton_model::note::{MAX_SUMMARY, keep_summary};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The file's name in the attempt's private directory (`$BATON_SUMMARY`).
pub(crate) const FILE: &str = "summary";

/// Why an attempt's `$BATON_SUMMARY` was not kept: said in its log; the attempt's
/// outcome stands.
#[derive(Debug, thiserror::Error)]
pub enum SummaryError {
    #[error("cannot read it: {0}; let the step write it as a file its account can read")]
    Read(#[source] std::io::Error),
    #[error("it is not a plain file: let the step write its Markdown into `$BATON_SUMMARY` itself")]
    NotAFile,
    #[error("no place for it beside {}: the log is not named STEP.ATTEMPT.log", log.display())]
    NoPlace { log: PathBuf },
    #[error("cannot keep it in {}: {error}; check that the run's log directory is writable", path.display())]
    Write {
        path: PathBuf,
        #[source]
        error: std::io::Error,
    },
}

/// The kept summary's name of the attempt whose log is named `log` (`STEP.ATTEMPT.log`).
pub fn name_beside(log: &str) -> Option<String> {
    Some(format!("{}.summary.md", log.strip_suffix(".log")?))
}

/// Keep what the attempt wrote at `from` beside its log `log` (a path in the run's log
/// directory), and remove `from`. `Ok(false)`: it wrote none (or nothing visible);
/// `Err`: why it was not kept, for the attempt's log.
/// `mask`: the run's secrets masked in a text.
pub fn keep(from: &Path, log: &Path, mask: &dyn Fn(&str) -> String) -> Result<bool, SummaryError> {
    let read = read(from);
    let _ = std::fs::remove_file(from);
    let Some((bytes, more)) = read? else {
        return Ok(false);
    };
    keep_read(&bytes, more, log, mask)
}

/// What an attempt wrote to its summary, as read (`bytes`, its first bytes; `more`: the
/// file held more), kept beside its log `log` as [`keep`] keeps a local one: an SSH
/// step's, handed back by its host (`ssh::script::Collected`).
pub(crate) fn keep_read(
    bytes: &[u8],
    more: bool,
    log: &Path,
    mask: &dyn Fn(&str) -> String,
) -> Result<bool, SummaryError> {
    let Some(text) = keep_summary(bytes, more) else {
        return Ok(false);
    };
    let text = mask(&text);
    let (Some(dir), Some(name)) = (
        log.parent(),
        log.file_name()
            .and_then(|n| n.to_str())
            .and_then(name_beside),
    ) else {
        return Err(SummaryError::NoPlace {
            log: log.to_path_buf(),
        });
    };
    let write = || -> std::io::Result<()> {
        let mut f = crate::own_files::append(dir, &name)?;
        f.set_len(0)?;
        f.write_all(text.as_bytes())?;
        f.write_all(b"\n")
    };
    write().map_err(|error| SummaryError::Write {
        path: dir.join(&name),
        error,
    })?;
    Ok(true)
}

/// The first [`MAX_SUMMARY`] bytes of `path` and whether it held more; `None` when it
/// is missing.
fn read(path: &Path) -> Result<Option<(Vec<u8>, bool)>, SummaryError> {
    let f = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(SummaryError::Read(e)),
    };
    if !f.metadata().is_ok_and(|m| m.is_file()) {
        return Err(SummaryError::NotAFile);
    }
    let mut bytes = Vec::new();
    f.take(MAX_SUMMARY as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(SummaryError::Read)?;
    let more = bytes.len() > MAX_SUMMARY;
    bytes.truncate(MAX_SUMMARY);
    Ok(Some((bytes, more)))
}

/// Where the attempt whose `$BATON_OUTPUT` is `output` writes its summary.
pub(crate) fn beside_output(output: &Path) -> Option<PathBuf> {
    Some(output.parent()?.join(FILE))
}

//! Reading a workflow file, bounded: only a regular file is read (a FIFO, a device or a
//! socket is refused before anything blocks on it), and never more than the size limit
//! plus one byte, so `/dev/zero` or a 200 MB file cost no more than the limit.
use super::diag::{Diagnostic, Diagnostics, SourceMap};
use std::io::Read;
use std::path::Path;

/// The largest workflow file read by default (16 MiB: a 100,000-step workflow is ~8 MB).
pub const DEFAULT_MAX_WORKFLOW_BYTES: u64 = 16 << 20;
/// The environment variable that overrides [`DEFAULT_MAX_WORKFLOW_BYTES`] (a byte count).
pub const MAX_WORKFLOW_BYTES_ENV: &str = "BATON_MAX_WORKFLOW_BYTES";

/// `$BATON_MAX_WORKFLOW_BYTES` set to what is not a size (the reader says what to set).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum LimitError {
    #[error("{env}=\"{0}\" is not a positive whole number of bytes", env = MAX_WORKFLOW_BYTES_ENV)]
    NotACount(String),
    #[error("{env} is not a positive whole number of bytes", env = MAX_WORKFLOW_BYTES_ENV)]
    NotUnicode,
}

/// The size limit in force: `$BATON_MAX_WORKFLOW_BYTES` when set, else the default.
pub(crate) fn max_workflow_bytes() -> Result<u64, LimitError> {
    match std::env::var(MAX_WORKFLOW_BYTES_ENV) {
        Err(std::env::VarError::NotPresent) => Ok(DEFAULT_MAX_WORKFLOW_BYTES),
        Ok(v) => v
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|&n| n > 0)
            .ok_or(LimitError::NotACount(v)),
        Err(std::env::VarError::NotUnicode(_)) => Err(LimitError::NotUnicode),
    }
}

/// The text of the workflow file at `path`, with the limit in force. Every failure is a
/// whole-file diagnostic (or, for bad UTF-8, one at the offending byte).
pub fn read_source(path: &Path) -> Result<String, Diagnostics> {
    let whole_file = |message: String, hint: String| {
        Diagnostics(vec![Diagnostic {
            file: path.to_path_buf(),
            line: 0,
            col: 0,
            message,
            hint: Some(hint),
        }])
    };
    let limit = max_workflow_bytes().map_err(|m| {
        whole_file(
            m.to_string(),
            format!("unset it, or set it to a size in bytes such as {DEFAULT_MAX_WORKFLOW_BYTES}"),
        )
    })?;
    let bytes = read_bounded(path, limit).map_err(|e| match e {
        ReadError::Io(e) => match e.kind() {
            std::io::ErrorKind::NotFound => whole_file(
                "no such file".into(),
                "check the path; a workflow is a TOML file such as examples/hello.toml".into(),
            ),
            _ => whole_file(
                format!("cannot read the file: {e}"),
                "check that the file exists and that you may read it".into(),
            ),
        },
        ReadError::NotRegular("a directory") => whole_file(
            "is a directory, not a workflow file".into(),
            "pass the workflow's .toml file, not its directory".into(),
        ),
        ReadError::NotRegular(kind) => whole_file(
            format!("is {kind}, not a regular file"),
            "a workflow is read from a regular file; save it to one (e.g. w.toml) and pass that"
                .into(),
        ),
        ReadError::TooLarge => whole_file(
            format!("the file is larger than the limit of {}", human_bytes(limit)),
            format!(
                "a workflow file is at most {limit} bytes; set {MAX_WORKFLOW_BYTES_ENV} to a larger byte count to raise the limit"
            ),
        ),
    })?;
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let src = String::from_utf8_lossy(e.as_bytes());
        let (line, col) = SourceMap::new(&src).line_col(offset);
        Diagnostics(vec![Diagnostic {
            file: path.to_path_buf(),
            line,
            col,
            message: format!("the file is not valid UTF-8 (invalid byte at offset {offset})"),
            hint: Some("save the workflow as UTF-8 text".into()),
        }])
    })
}

#[derive(Debug)]
enum ReadError {
    Io(std::io::Error),
    /// What it is instead ("a FIFO", "a character device", …).
    NotRegular(&'static str),
    TooLarge,
}

/// At most `limit` bytes of the regular file at `path`. The type is checked before
/// opening (nothing is opened that is not a regular file) and again on the open file
/// (it may have been swapped in between); `O_NONBLOCK` keeps even that open from waiting
/// for a FIFO's writer.
fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    use std::os::unix::fs::OpenOptionsExt;
    let kind = |m: &std::fs::Metadata| {
        use std::os::unix::fs::FileTypeExt;
        let t = m.file_type();
        match () {
            _ if t.is_file() => None,
            _ if t.is_dir() => Some("a directory"),
            _ if t.is_fifo() => Some("a FIFO (named pipe)"),
            _ if t.is_char_device() => Some("a character device"),
            _ if t.is_block_device() => Some("a block device"),
            _ if t.is_socket() => Some("a socket"),
            _ => Some("not a regular file"),
        }
    };
    let before = std::fs::metadata(path).map_err(ReadError::Io)?;
    if let Some(k) = kind(&before) {
        return Err(ReadError::NotRegular(k));
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        // rustix's constants, not libc's: the pure core builds on this crate, and its
        // build holds no libc (`.ci/closures`).
        .custom_flags((rustix::fs::OFlags::NONBLOCK | rustix::fs::OFlags::NOCTTY).bits() as i32)
        .open(path)
        .map_err(ReadError::Io)?;
    let meta = file.metadata().map_err(ReadError::Io)?;
    if let Some(k) = kind(&meta) {
        return Err(ReadError::NotRegular(k));
    }
    if meta.len() > limit {
        return Err(ReadError::TooLarge);
    }
    // The file may grow while it is read: `take` bounds the read whatever its size says.
    let mut bytes = Vec::with_capacity(meta.len() as usize + 1);
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge);
    }
    Ok(bytes)
}

/// `16 MiB (16777216 bytes)`, `100 bytes`: the limit as people say it, and exactly.
fn human_bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB ({n} bytes)", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB ({n} bytes)", n >> 10),
        n => format!("{n} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_regular_file_up_to_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("w.toml");
        std::fs::write(&p, "0123456789").unwrap();
        assert_eq!(read_bounded(&p, 10).unwrap(), b"0123456789");
        assert!(matches!(read_bounded(&p, 9), Err(ReadError::TooLarge)));
    }

    #[test]
    fn refuses_what_is_not_a_regular_file_without_reading_it() {
        assert!(matches!(
            read_bounded(Path::new("/dev/zero"), 100),
            Err(ReadError::NotRegular("a character device"))
        ));
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            read_bounded(dir.path(), 100),
            Err(ReadError::NotRegular("a directory"))
        ));
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        assert!(matches!(
            read_bounded(&fifo, 100),
            Err(ReadError::NotRegular("a FIFO (named pipe)"))
        ));
    }

    #[test]
    fn sizes_read_as_people_say_them() {
        assert_eq!(
            human_bytes(DEFAULT_MAX_WORKFLOW_BYTES),
            "16 MiB (16777216 bytes)"
        );
        assert_eq!(human_bytes(2048), "2 KiB (2048 bytes)");
        assert_eq!(human_bytes(100), "100 bytes");
    }
}

//! Artifacts over an executor's own channel (issue 60): how the engine reads the files
//! a step made where it ran, and writes the files a step is handed where it will run,
//! when that is not this machine's filesystem (an SSH host: `ssh/files.rs`). Batch and
//! Slurm jobs run in a directory of a filesystem this machine shares with their
//! nodes (their `workdir`), so their files are read and written here directly (no
//! channel). Blocking: the engine calls these off its thread. A file is streamed,
//! never held whole: memory does not grow with its size.
use std::fmt::Debug;
use std::io::{Read, Write};
use std::path::Path;

/// Files in a step's working directory on another machine. Paths are relative to that
/// directory (`dir`, as the step's `cd` takes it: the host's home when it is missing
/// there); none leaves it.
pub trait FileChannel: Debug + Send + Sync {
    /// Where the files are, for messages (`host baton-h2`).
    fn place(&self) -> String;

    /// The regular files under `prefix` (a directory, `""`: the working directory
    /// itself), relative to `dir`, symbolic links not followed.
    fn list(&self, dir: &Path, prefix: &str) -> Result<Vec<String>, ChannelError>;

    /// Stream file `rel` of `dir`: read it to its end, then [`Download::finish`] says
    /// whether it was whole and unchanged.
    fn fetch(&self, dir: &Path, rel: &str) -> Result<Box<dyn Download>, ChannelError>;

    /// Whether `rel` of `dir` is there already with SHA-256 `sha256`; if so, it is
    /// held for `holder` (see [`FileChannel::release`]).
    fn has(&self, dir: &Path, rel: &Path, sha256: &str, holder: &str)
    -> Result<bool, ChannelError>;

    /// Write `rel` of `dir`: the bytes go to a temporary file beside it, which
    /// [`Upload::finish`] renames to `rel` only once its SHA-256 on arrival is
    /// `sha256` (and holds for `holder`): a step never sees part of a file.
    fn upload(
        &self,
        dir: &Path,
        rel: &Path,
        to: (&str, &str),
    ) -> Result<Box<dyn Upload>, ChannelError>;

    /// `holder` no longer needs `rel` of `dir`: its hold is dropped, and the file too
    /// once no other holder has it (a hard link `.held-HOLDER` beside it is a hold).
    fn release(&self, dir: &Path, rel: &Path, holder: &str) -> Result<(), ChannelError>;

    /// Whether a reader's copies may be sent here ahead, while its maker's file is kept
    /// ([`FileChannel::send_ahead`]); `false` where the channel cannot.
    fn sends_ahead(&self) -> bool {
        false
    }

    /// Send a file ahead into `dir` while its content is still arriving (its digest not
    /// known yet): the bytes go to a temporary file under `.baton-artifacts/`, and
    /// [`Ahead::end`] gives their SHA-256, which the far side checks (hashing what it
    /// received) before it renames the file to `.baton-artifacts/SHA/name`, held for
    /// `holder`. Anything else (a stream cut short, a wrong digest) removes it.
    fn send_ahead(
        &self,
        dir: &Path,
        name: &str,
        holder: &str,
    ) -> Result<Box<dyn Ahead>, ChannelError> {
        let _ = (dir, name, holder);
        Err(ChannelError::Failed(format!(
            "{} takes no copy ahead",
            self.place()
        )))
    }

    /// Hold `rel` of `dir` for `holder` if it is the copy sent ahead and held for
    /// `ahead.0`, unchanged since it was checked (`ahead.1`: what [`Ahead::finish`]
    /// said of it); with `last`, the hold `ahead.0` is dropped too. `false`: not so
    /// (nothing held), and the copy is checked or written as any other.
    fn adopt(
        &self,
        dir: &Path,
        rel: &Path,
        ahead: (&str, &str),
        (holder, last): (&str, bool),
    ) -> Result<bool, ChannelError> {
        let _ = (dir, rel, ahead, holder, last);
        Ok(false)
    }
}

/// A copy sent ahead ([`FileChannel::send_ahead`]).
pub trait Ahead: Write + Send {
    /// Every byte written, their SHA-256 `sha256`: said to the far side, which then
    /// checks them; [`Ahead::finish`] waits for its answer.
    fn end(&mut self, sha256: &str) -> std::io::Result<()>;

    /// The far side's answer: the copy checked and in place, and what it is (a
    /// fingerprint [`FileChannel::adopt`] compares: any change to the file changes it);
    /// `Err`: not kept (also when [`Ahead::end`] was not called: the stream was cut).
    fn finish(self: Box<Self>) -> Result<String, ChannelError>;
}

/// A file being read over a channel ([`FileChannel::fetch`]).
pub trait Download: Read + Send {
    /// The transfer's end: `Err` if the file was missing, not a regular file, led
    /// out of the working directory, or changed while it was read.
    fn finish(self: Box<Self>) -> Result<(), ChannelError>;
}

/// A file being written over a channel ([`FileChannel::upload`]).
pub trait Upload: Write + Send {
    /// Every byte written: checked on arrival and put in place, or `Err`.
    fn finish(self: Box<Self>) -> Result<(), ChannelError>;
}

/// Why a file could not be moved over a channel, said so that the record tells what
/// to do.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error("`{path}` is missing: the step made no such file in its directory on {place}")]
    Missing { path: String, place: String },
    #[error("`{path}` on {place} is not a regular file")]
    NotAFile { path: String, place: String },
    #[error(
        "`{path}` on {place} leads out of the step's directory (a symbolic link): copy the file into the directory"
    )]
    Escapes { path: String, place: String },
    #[error(
        "`{path}` on {place} changed while it was copied (a process of the step still writes it?)"
    )]
    Changed { path: String, place: String },
    #[error(
        "the copy of `{path}` on {place} arrived as sha256 {got}, not {want}: the connection or the host's disk changed it; run the step again"
    )]
    Mismatch {
        path: String,
        place: String,
        want: String,
        got: String,
    },
    #[error(
        "`{path}`: nothing moved for {secs} s while {way} {place}: the host or the connection stalled and the copy was stopped; `baton resume` or a retry copies it again (a host slower than that: raise the executor's `copy_stall`)"
    )]
    Stalled {
        path: String,
        place: String,
        way: &'static str,
        secs: u64,
    },
    /// The host, the connection or this machine failed, as said (what to do included).
    #[error("{0}")]
    Failed(String),
}

impl ChannelError {
    /// The connection failed or stalled (not the file): copying again may work.
    pub fn is_transport(&self) -> bool {
        matches!(self, ChannelError::Stalled { .. } | ChannelError::Failed(_))
    }
}

//! Artifacts, the file side (issue 60): keeping the files a step declared in the
//! store's content-addressed directory (`model::artifact_paths`), and handing a copy
//! to a step that reads one. Every write goes to a temporary file beside its
//! destination, is hashed as it is written and renamed only once complete and
//! checked, so a reader never sees part of a file, and an engine killed half-way
//! leaves at most a temporary file (`.tmp-…`), which the next collection does not read.
//! Files are streamed through fixed buffers: memory does not grow with their size.
//! A step on an SSH host has its files read and written over the executor's channel
//! (`exec::artifact_channel`); a batch or Slurm job's directory is on a filesystem this
//! machine shares, read and written here.
use crate::artifact_dirs::{self, DirError};
use crate::artifact_shared;
use crate::send_ahead::{Aheads, Claim, Tee};
use crate::store_write;
use baton_core::{CollectRequest, Handed};
use baton_exec::artifact_channel::{ChannelError, FileChannel};
use baton_model::ArtifactRecord;
use baton_model::artifact_paths::{artifacts_dir, object_path};
use globset::Glob;
use sha2::{Digest, Sha256};
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The copy buffer of a handed copy: what it costs in memory, whatever its size.
const CHUNK: usize = store_write::CHUNK;

/// Why an artifact was not kept or handed, naming it (`STEP.NAME` or its name).
#[derive(Debug, thiserror::Error)]
#[error("artifact `{label}`: {error}")]
pub(crate) struct ArtifactError {
    label: String,
    error: FileError,
}

/// What went wrong with one artifact's file, and what to do.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FileError {
    #[error("`{glob}` is missing: the step made no such file in {dir}")]
    Missing { glob: String, dir: String },
    #[error("`{glob}` in {dir} is not a regular file")]
    NotAFile { glob: String, dir: String },
    #[error(
        "`{glob}` in {dir} leads out of the step's directory (a symbolic link): copy the file into the directory"
    )]
    Escapes { glob: String, dir: String },
    #[error("`{glob}` is not a valid glob: {why}")]
    BadGlob { glob: String, why: String },
    #[error("`{glob}` matched no file in {dir}: the step made none")]
    NoMatch { glob: String, dir: String },
    #[error("`{glob}` matched {n} files ({list}): an artifact is one file; narrow the glob")]
    Ambiguous {
        glob: String,
        n: usize,
        list: String,
    },
    #[error("`{rel}` changed while it was copied (a process of the step still writes it?)")]
    Changed { rel: String },
    #[error("cannot read {path}: {err}")]
    Read { path: String, err: io::Error },
    #[error("cannot write {path}: {err}")]
    Write { path: String, err: io::Error },
    #[error(
        "its content (sha256 {sha}) is not in the store ({err}); run the step that makes it again"
    )]
    NotStored { sha: String, err: io::Error },
    #[error(
        "changed in the store: its record says sha256 {want} ({want_size} bytes), the copy is sha256 {got} ({got_size} bytes)"
    )]
    StoreChanged {
        want: String,
        want_size: u64,
        got: String,
        got_size: u64,
    },
    #[error(
        "cannot hold the copy {path} for the step (a hard link `.held-…` beside it): {err}; check that its directory is writable"
    )]
    Hold { path: String, err: io::Error },
    #[error(transparent)]
    Channel(#[from] ChannelError),
    #[error(transparent)]
    Dir(#[from] DirError),
}

impl ArtifactError {
    /// The channel failed or stalled, not the file: copying again may work.
    fn is_transport(&self) -> bool {
        matches!(&self.error, FileError::Channel(c) if c.is_transport())
    }
}

/// How often a file is copied when the channel fails or stalls: a step's files read
/// back (they are still where it made them), a reader's copy written out (it has not
/// started); neither step runs again for it.
const TRIES: u32 = 3;

/// `copy`, tried again (up to `TRIES` in all) while the channel fails or stalls.
fn retrying<T>(mut copy: impl FnMut() -> Result<T, ArtifactError>) -> Result<T, ArtifactError> {
    let mut tries = 1;
    loop {
        match copy() {
            Err(e) if e.is_transport() && tries < TRIES => tries += 1,
            done => return done,
        }
    }
}

/// [`collect`], tried again while the channel fails or stalls; each file sent ahead
/// to its readers' hosts as it comes (`send_ahead`).
pub(crate) fn collect_retrying(
    db: &Path,
    req: &CollectRequest,
    channel: Option<&dyn FileChannel>,
    aheads: &Aheads,
) -> Result<Vec<ArtifactRecord>, ArtifactError> {
    retrying(|| collect_sending(db, req, channel, aheads))
}

fn read_err(path: &Path) -> impl FnOnce(io::Error) -> FileError + '_ {
    move |err| FileError::Read {
        path: path.display().to_string(),
        err,
    }
}

fn write_err(path: &Path) -> impl FnOnce(io::Error) -> FileError + '_ {
    move |err| FileError::Write {
        path: path.display().to_string(),
        err,
    }
}

/// Keep each file `req` declares, read here or over `channel` (a step on another
/// host); `Err`: the first that is missing, ambiguous, outside the step's directory,
/// changed while it was copied, or could not be read or written.
#[cfg(test)]
pub(crate) fn collect(
    db: &Path,
    req: &CollectRequest,
    channel: Option<&dyn FileChannel>,
) -> Result<Vec<ArtifactRecord>, ArtifactError> {
    collect_sending(db, req, channel, &Aheads::default())
}

/// [`collect`], each file also sent ahead to `aheads`' targets of its artifact.
fn collect_sending(
    db: &Path,
    req: &CollectRequest,
    channel: Option<&dyn FileChannel>,
    aheads: &Aheads,
) -> Result<Vec<ArtifactRecord>, ArtifactError> {
    let mut out = Vec::with_capacity(req.artifacts.len());
    for (name, glob) in &req.artifacts {
        let tee = |rel: &str| aheads.start(name, rel.rsplit('/').next().unwrap_or(rel));
        let kept = match channel {
            None => {
                match_one(&req.dir, glob).and_then(|rel| keep(db, (&req.dir, &rel), req, tee(&rel)))
            }
            Some(c) => match_remote(c, &req.dir, glob)
                .and_then(|rel| keep_remote(db, c, &rel, req, tee(&rel))),
        };
        let (path, sha256, size) = kept.map_err(|error| ArtifactError {
            label: name.clone(),
            error,
        })?;
        out.push(ArtifactRecord {
            name: name.clone(),
            path,
            sha256,
            size,
        });
    }
    Ok(out)
}

fn has_meta(glob: &str) -> bool {
    glob.contains(['*', '?', '[', '{'])
}

/// The directory a glob's files lie under: its parts before the first with a wildcard.
fn glob_prefix(glob: &str) -> String {
    let prefix: PathBuf = Path::new(glob)
        .components()
        .take_while(|c| !has_meta(&c.as_os_str().to_string_lossy()))
        .collect();
    prefix.to_string_lossy().into_owned()
}

/// Pure: the one of `found` (paths relative to `dir`, sorted) that `glob` matches.
fn pick(glob: &str, found: Vec<String>, dir: &str) -> Result<String, FileError> {
    let matcher = Glob::new(glob)
        .map_err(|e| FileError::BadGlob {
            glob: glob.to_string(),
            why: e.to_string(),
        })?
        .compile_matcher();
    // A reader's handed copies lie in its own directory on a host or a cluster's shared
    // one: never its own files.
    let handed = format!("{}/", baton_model::artifact_paths::REMOTE_DIR);
    let mut hits: Vec<String> = found
        .into_iter()
        .filter(|f| !f.starts_with(&handed) && matcher.is_match(f))
        .collect();
    hits.sort();
    match hits.len() {
        1 => Ok(hits.remove(0)),
        0 => Err(FileError::NoMatch {
            glob: glob.to_string(),
            dir: dir.to_string(),
        }),
        n => Err(FileError::Ambiguous {
            glob: glob.to_string(),
            n,
            list: hits.join(", "),
        }),
    }
}

/// The one file `glob` matches under `dir`, relative to it. A file reached through a
/// symbolic link that leads out of `dir` is refused (a glob follows no link).
fn match_one(dir: &Path, glob: &str) -> Result<String, FileError> {
    let shown = || dir.display().to_string();
    if !has_meta(glob) {
        let path = dir.join(glob);
        return match fs::metadata(&path) {
            Ok(m) if m.is_file() => {
                inside(dir, &path, glob)?;
                Ok(glob.to_string())
            }
            Ok(_) => Err(FileError::NotAFile {
                glob: glob.to_string(),
                dir: shown(),
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(FileError::Missing {
                glob: glob.to_string(),
                dir: shown(),
            }),
            Err(e) => Err(read_err(&path)(e)),
        };
    }
    let root = dir.join(glob_prefix(glob));
    let mut found = Vec::new();
    // A root reached through a link is not walked (`follow_root_links`).
    if fs::symlink_metadata(&root).is_ok_and(|m| m.is_dir()) {
        for entry in walkdir::WalkDir::new(&root).follow_root_links(false) {
            let entry = entry.map_err(|e| read_err(&root)(e.into()))?;
            if entry.file_type().is_file()
                && let Ok(rel) = entry.path().strip_prefix(dir)
            {
                found.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    pick(glob, found, &shown())
}

/// `Err` if `path` (a file under `dir`) resolves to a place outside `dir`.
fn inside(dir: &Path, path: &Path, glob: &str) -> Result<(), FileError> {
    let real = fs::canonicalize(path).map_err(read_err(path))?;
    let base = fs::canonicalize(dir).map_err(read_err(dir))?;
    if real.starts_with(&base) {
        Ok(())
    } else {
        Err(FileError::Escapes {
            glob: glob.to_string(),
            dir: dir.display().to_string(),
        })
    }
}

/// [`match_one`] on another host: its files listed over `c`, matched here; a literal
/// path is checked by the host as it is read.
fn match_remote(c: &dyn FileChannel, dir: &Path, glob: &str) -> Result<String, FileError> {
    if !has_meta(glob) {
        return Ok(glob.to_string());
    }
    let found = c.list(dir, &glob_prefix(glob))?;
    pick(glob, found, &format!("{} on {}", dir.display(), c.place()))
}

/// Copy `dir/rel` into the store under its SHA-256, hashing it as it is copied; `Err`
/// if it changed meanwhile (its size or modification time moved).
fn keep(
    db: &Path,
    (dir, rel): (&Path, &str),
    req: &CollectRequest,
    mut tee: Tee,
) -> Result<(String, String, u64), FileError> {
    let src = dir.join(rel);
    let mut file = fs::File::open(&src).map_err(read_err(&src))?;
    let before = file.metadata().map_err(read_err(&src))?;
    let tmp_dir = artifact_dirs::ready_objects(&artifacts_dir(db), None)?;
    // Its digest goes ahead once it is known to be the file's whole (unchanged).
    let unchanged = |size: u64| {
        fs::metadata(&src).is_ok_and(|a| {
            a.len() == before.len()
                && a.mtime_nsec() == before.mtime_nsec()
                && a.mtime() == before.mtime()
                && size == before.len()
        })
    };
    let (tmp, sha, size) = write_hashed(
        &mut file,
        &tmp_dir,
        ("collecting", &req.step_id),
        (true, Some((&mut tee, &unchanged))),
    )?;
    let changed = match fs::metadata(&src) {
        Ok(a) => {
            a.len() != before.len()
                || a.mtime_nsec() != before.mtime_nsec()
                || a.mtime() != before.mtime()
                || size != before.len()
        }
        Err(_) => true,
    };
    if changed {
        let _ = fs::remove_file(&tmp);
        return Err(FileError::Changed {
            rel: rel.to_string(),
        });
    }
    place(&tmp, db, &sha)?;
    tee.finish();
    Ok((rel.to_string(), sha, size))
}

/// A download whose end ([`Download::finish`]: the host says the file was whole and
/// unchanged) is waited for at its last byte, before its digest goes ahead.
struct Finishing {
    download: Option<Box<dyn baton_exec::artifact_channel::Download>>,
    failed: Option<ChannelError>,
}

impl Read for Finishing {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(d) = self.download.as_mut() else {
            return Ok(0);
        };
        let n = d.read(buf)?;
        if n == 0
            && let Some(d) = self.download.take()
            && let Err(e) = d.finish()
        {
            let said = e.to_string();
            self.failed = Some(e);
            return Err(io::Error::other(said));
        }
        Ok(n)
    }
}

/// [`keep`] of a file on another host, streamed over `c` (the host says whether it
/// changed while it was read).
fn keep_remote(
    db: &Path,
    c: &dyn FileChannel,
    rel: &str,
    req: &CollectRequest,
    mut tee: Tee,
) -> Result<(String, String, u64), FileError> {
    let tmp_dir = artifact_dirs::ready_objects(&artifacts_dir(db), None)?;
    let mut download = Finishing {
        download: Some(c.fetch(&req.dir, rel)?),
        failed: None,
    };
    let written = write_hashed(
        &mut download,
        &tmp_dir,
        ("collecting", &req.step_id),
        (true, Some((&mut tee, &|_| true))),
    );
    // Read to its end: the host's word on it (a reader that stopped early still lets
    // `ssh` go).
    if let Some(d) = download.download.take()
        && let Err(e) = d.finish()
    {
        download.failed = Some(e);
    }
    let (tmp, sha, size) = match (written, download.failed) {
        (Ok(w), None) => w,
        (Ok((tmp, ..)), Some(e)) => {
            let _ = fs::remove_file(&tmp);
            return Err(e.into());
        }
        // What the host said is the cause of a copy cut short.
        (Err(_), Some(e)) => return Err(e.into()),
        (Err(e), None) => return Err(e),
    };
    place(&tmp, db, &sha)?;
    tee.finish();
    Ok((rel.to_string(), sha, size))
}

/// Where a step's handed copies go: this machine (a local step: `dest` is absolute),
/// a job's working directory on a shared filesystem, or a host's over its channel.
pub(crate) enum Target<'a> {
    Here,
    SharedDir(&'a Path),
    Channel(&'a dyn FileChannel, &'a Path),
}

/// Copy `h`'s content from the store to where its reader finds it, checked against
/// its record; a copy already there with the right content is kept; one the channel
/// failed or stalled on is written again (up to `TRIES` in all). On another
/// executor the copy is held for `holder` (`artifact_paths::holder`) until
/// [`release`].
#[cfg(test)]
pub(crate) fn stage(
    db: &Path,
    h: &Handed,
    who: (&str, &str),
    to: &Target<'_>,
) -> Result<(), ArtifactError> {
    stage_claimed(db, h, who, to, None)
}

/// [`stage`], on a host where the copy may have been sent ahead (`claim`): that copy is
/// held as it is if it is the one checked, unchanged ([`FileChannel::adopt`]).
pub(crate) fn stage_claimed(
    db: &Path,
    h: &Handed,
    (step, holder): (&str, &str),
    to: &Target<'_>,
    claim: Option<&Claim>,
) -> Result<(), ArtifactError> {
    retrying(|| {
        let staged = match to {
            Target::Here => stage_here(db, h, &h.dest, step),
            Target::SharedDir(dir) => artifact_shared::stage(db, h, dir, (step, holder)),
            Target::Channel(c, dir) => push(db, h, (*c, dir), (step, holder), claim),
        };
        staged.map_err(|error| ArtifactError {
            label: h.label.clone(),
            error,
        })
    })
}

fn open_object(db: &Path, h: &Handed) -> Result<fs::File, FileError> {
    fs::File::open(object_path(db, &h.sha256)).map_err(|err| FileError::NotStored {
        sha: h.sha256.clone(),
        err,
    })
}

fn stage_here(db: &Path, h: &Handed, dest: &Path, step: &str) -> Result<(), FileError> {
    // Its directories first: only this account can write the one the copy lies in, or
    // rename any on its way (in a group store the copy is in this account's own stage),
    // so the copy checked is the one the step opens.
    match baton_store::account_stage(db).filter(|own| dest.starts_with(own)) {
        Some(own) => artifact_dirs::ready_own_stage(&own, dest)?,
        None => artifact_dirs::ready_stage(&artifacts_dir(db), dest)?,
    }
    if is_copy(dest, h) {
        return Ok(());
    }
    copy_here(db, h, dest, step)
}

/// Whether the file at `path` has `h`'s content.
pub(crate) fn is_copy(path: &Path, h: &Handed) -> bool {
    fs::File::open(path)
        .and_then(|mut f| hash(&mut f))
        .is_ok_and(|(sha, _)| sha == h.sha256)
}

/// `h`'s content copied from the store to `dest` (through a checked temporary file
/// renamed over it).
pub(crate) fn copy_here(db: &Path, h: &Handed, dest: &Path, step: &str) -> Result<(), FileError> {
    let mut file = open_object(db, h)?;
    let parent = dest.parent().unwrap_or(Path::new("."));
    make_private_dir(parent)?;
    // Not synced: a copy lost to a power cut is checked again (and made again) before
    // the next start that is handed it, as any copy found there is.
    let (tmp, sha, size) = write_hashed(&mut file, parent, ("handing", step), (false, None))?;
    if sha != h.sha256 || size != h.size {
        let _ = fs::remove_file(&tmp);
        return Err(FileError::StoreChanged {
            want: h.sha256.clone(),
            want_size: h.size,
            got: sha,
            got_size: size,
        });
    }
    let _ = fs::set_permissions(&tmp, fs::Permissions::from_mode(0o444));
    fs::rename(&tmp, dest).map_err(write_err(dest))
}

/// The attempt `holder` ended: its hold on the copy `h` it was handed on another
/// executor is dropped, and the copy removed unless another attempt (of this run or
/// another) still holds it. Nothing to do on this machine: a local step's copies are
/// its run's, removed with it (`runs rm`).
pub(crate) fn release(h: &Handed, holder: &str, to: &Target<'_>) -> Result<(), ArtifactError> {
    let released = match to {
        Target::Here => Ok(()),
        Target::SharedDir(dir) => {
            artifact_shared::release(dir, &h.dest, holder);
            Ok(())
        }
        Target::Channel(c, dir) => c.release(dir, &h.dest, holder).map_err(FileError::from),
    };
    released.map_err(|error| ArtifactError {
        label: h.label.clone(),
        error,
    })
}

/// Write `h` into a host's working directory `dir` over `c`, unless it is there with
/// the right content; the host checks its digest before it renames it into place.
fn push(
    db: &Path,
    h: &Handed,
    (c, dir): (&dyn FileChannel, &Path),
    (step, holder): (&str, &str),
    claim: Option<&Claim>,
) -> Result<(), FileError> {
    if let Some(Claim {
        holder: ahead,
        print: Some(print),
        last,
    }) = claim
        && c.adopt(dir, &h.dest, (ahead, print), (holder, *last))
            .unwrap_or(false)
    {
        return Ok(());
    }
    let pushed = push_checked(db, h, (c, dir), (step, holder));
    // The copy sent ahead not taken as it was: its own hold goes with the last reader
    // (this one's, if it has its copy now, keeps the file).
    if let Some(cl) = claim.filter(|cl| cl.last) {
        let _ = c.release(dir, &h.dest, &cl.holder);
    }
    pushed
}

fn push_checked(
    db: &Path,
    h: &Handed,
    (c, dir): (&dyn FileChannel, &Path),
    (step, holder): (&str, &str),
) -> Result<(), FileError> {
    if c.has(dir, &h.dest, &h.sha256, holder)? {
        return Ok(());
    }
    let mut file = open_object(db, h)?;
    let mut upload = c.upload(dir, &h.dest, (&h.sha256, holder))?;
    let sent = copy_chunks(&mut file, &mut upload, ("handing", step), |_| {});
    let finished = upload.finish();
    match (sent, finished) {
        (_, Err(e)) => Err(e.into()),
        (Err(e), Ok(())) => Err(FileError::Read {
            path: object_path(db, &h.sha256).display().to_string(),
            err: e,
        }),
        (Ok(_), Ok(())) => Ok(()),
    }
}

/// Copy `src` to `out` through a fixed buffer, `seen` given each chunk; the bytes
/// copied. `failpoint`: where a crash test may kill the engine, half-way
/// (`exec::failpoint`). A read error is `Err`; a write error is `Err` too, told apart
/// by the caller from what it wrote to.
fn copy_chunks(
    src: &mut dyn Read,
    out: &mut dyn Write,
    failpoint: (&str, &str),
    mut seen: impl FnMut(&[u8]),
) -> io::Result<u64> {
    let mut buf = vec![0u8; CHUNK];
    let mut size = 0u64;
    loop {
        let n = match src.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        seen(&buf[..n]);
        out.write_all(&buf[..n])?;
        size += n as u64;
        if size == n as u64 {
            baton_exec::failpoint::die_at(failpoint.0, failpoint.1);
        }
    }
    out.flush()?;
    Ok(size)
}

/// Stream `src` into a new temporary file in `dir` (with `sync`, the store's own copy,
/// which a record names: written and synced on a thread of its own, `store_write`);
/// its path, SHA-256 and size. `failpoint`: where a
/// crash test may kill the engine, half-way (`exec::failpoint`).
/// `ahead`: the copies sent ahead of it, each chunk sent as it is read, and the digest
/// after the last, if the check given says the file was whole (its size); before the
/// store's copy is synced, so the hosts check theirs meanwhile.
type SentAhead<'a> = Option<(&'a mut Tee, &'a dyn Fn(u64) -> bool)>;

fn write_hashed(
    src: &mut dyn Read,
    dir: &Path,
    failpoint: (&str, &str),
    (sync, mut ahead): (bool, SentAhead<'_>),
) -> Result<(PathBuf, String, u64), FileError> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let tmp = dir.join(format!(
        ".tmp-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let out = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(write_err(&tmp))?;
    let mut h = Sha256::new();
    let mut sha = String::new();
    let mut seen = |b: &[u8]| {
        h.update(b);
        if let Some((tee, _)) = ahead.as_mut() {
            tee.send(b);
        }
    };
    let copied = if sync {
        // Written, handed to the disk and synced on a thread of its own: reading,
        // hashing and sending ahead never wait for the disk.
        match store_write::StoreWrite::start(out, failpoint) {
            Ok(mut out) => store_write::copy_into(src, &mut out, &mut seen).and_then(|size| {
                sha = hex::encode(std::mem::take(&mut h).finalize());
                if let Some((tee, whole)) = ahead.as_mut()
                    && whole(size)
                {
                    tee.end(&sha);
                }
                out.finish().map(|()| size)
            }),
            Err(e) => Err(e),
        }
    } else {
        let mut out = out;
        copy_chunks(src, &mut out, failpoint, &mut seen)
    };
    match copied {
        Ok(size) if sync => Ok((tmp, sha, size)),
        Ok(size) => Ok((tmp, hex::encode(h.finalize()), size)),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(FileError::Write {
                path: tmp.display().to_string(),
                err: e,
            })
        }
    }
}

/// A file's SHA-256 and size.
fn hash(f: &mut fs::File) -> io::Result<(String, u64)> {
    let mut h = Sha256::new();
    let size = io::copy(f, &mut h)?;
    Ok((hex::encode(h.finalize()), size))
}

/// Rename a complete (synced) temporary file to its content's name, and sync the
/// directory: the name is on disk before a record names it, as the bytes are. A
/// content kept already is replaced by the same bytes: the file is new, so `gc` (which
/// leaves contents younger than an hour) does not take it before its record commits.
/// In a group store another member's copy cannot be replaced (its fan-out directory is
/// sticky): it is kept if it holds the same bytes.
fn place(tmp: &Path, db: &Path, sha: &str) -> Result<(), FileError> {
    let dest = &object_path(db, sha);
    let parent = dest.parent().unwrap_or(Path::new("."));
    // A fan-out directory made now is a name in its own parent, synced too.
    let fresh = !parent.is_dir();
    artifact_dirs::ready_objects(&artifacts_dir(db), Some(dest))?;
    let _ = fs::set_permissions(tmp, fs::Permissions::from_mode(0o444));
    if let Err(e) = fs::rename(tmp, dest) {
        let same = e.kind() == io::ErrorKind::PermissionDenied
            && fs::File::open(dest)
                .and_then(|mut f| hash(&mut f))
                .is_ok_and(|(got, _)| got == sha);
        let _ = fs::remove_file(tmp);
        if !same {
            return Err(write_err(dest)(e));
        }
    }
    let above = parent.parent().filter(|_| fresh);
    for dir in std::iter::once(parent).chain(above) {
        match fs::File::open(dir).and_then(|d| d.sync_all()) {
            Ok(()) => {}
            // Some file systems (FUSE, network mounts) sync no directory: their own
            // rules then say when a name is on disk.
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {}
            Err(e) => return Err(write_err(dir)(e)),
        }
    }
    Ok(())
}

fn make_private_dir(dir: &Path) -> Result<(), FileError> {
    fs::DirBuilder::new()
        .recursive(true)
        .create(dir)
        .map_err(write_err(dir))?;
    let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o700));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(dir: &Path, glob: &str) -> CollectRequest {
        CollectRequest {
            step: 0,
            step_id: "train".into(),
            attempt: 1,
            dir: dir.to_path_buf(),
            artifacts: vec![("model".into(), glob.into())],
        }
    }

    /// `s/baton.db` under `t`, its directory made (private), as a store's is.
    fn store_db(t: &Path) -> PathBuf {
        fs::create_dir(t.join("s")).unwrap();
        fs::set_permissions(t.join("s"), fs::Permissions::from_mode(0o700)).unwrap();
        t.join("s/baton.db")
    }

    /// A step's `m.ckpt` (`weights`) kept in a store under a temporary directory, and
    /// the copy of it a reader is handed at `dest` (given the digest).
    fn kept_checkpoint(dest: impl Fn(&str) -> String) -> (tempfile::TempDir, PathBuf, Handed) {
        let t = tempfile::tempdir().unwrap();
        let (work, db) = (t.path().join("w"), store_db(t.path()));
        fs::create_dir_all(&work).unwrap();
        fs::write(work.join("m.ckpt"), b"weights").unwrap();
        let recs = collect(&db, &req(&work, "m.ckpt"), None).unwrap();
        let h = Handed {
            label: "train.model".into(),
            sha256: recs[0].sha256.clone(),
            size: 7,
            dest: PathBuf::from(dest(&recs[0].sha256)),
        };
        (t, db, h)
    }

    /// A step that reads `m.ckpt` on a host (its handed copy under `.baton-artifacts/`)
    /// and declares `*.ckpt` collects its own file, never the copy it was handed.
    #[test]
    fn a_handed_copy_in_the_step_s_directory_is_never_its_own_artifact() {
        let found = vec![
            ".baton-artifacts/ab12/m.ckpt".to_string(),
            "out.ckpt".to_string(),
        ];
        assert_eq!(pick("*.ckpt", found, "w").unwrap(), "out.ckpt");
        let only_handed = vec![".baton-artifacts/ab12/m.ckpt".to_string()];
        assert!(matches!(
            pick("*.ckpt", only_handed, "w"),
            Err(FileError::NoMatch { .. })
        ));
    }

    #[test]
    fn a_file_is_kept_once_and_handed_back_checked() {
        let t = tempfile::tempdir().unwrap();
        let (work, db) = (t.path().join("w"), store_db(t.path()));
        fs::create_dir_all(work.join("out")).unwrap();
        fs::write(work.join("out/m.ckpt"), b"weights").unwrap();
        let recs = collect(&db, &req(&work, "out/*.ckpt"), None).unwrap();
        assert_eq!(recs[0].path, "out/m.ckpt");
        assert_eq!(recs[0].size, 7);
        assert_eq!(recs[0].sha256, hex::encode(Sha256::digest(b"weights")));
        assert_eq!(
            fs::read(object_path(&db, &recs[0].sha256)).unwrap(),
            b"weights"
        );
        let h = Handed {
            label: "train.model".into(),
            sha256: recs[0].sha256.clone(),
            size: 7,
            dest: t.path().join("stage/m.ckpt"),
        };
        stage(&db, &h, ("eval", "r.eval.1"), &Target::Here).unwrap();
        assert_eq!(fs::read(&h.dest).unwrap(), b"weights");
        // The store's copy changed: the reader is not handed it.
        let obj = object_path(&db, &recs[0].sha256);
        fs::set_permissions(&obj, fs::Permissions::from_mode(0o644)).unwrap();
        fs::write(&obj, b"tampered").unwrap();
        fs::remove_file(&h.dest).unwrap();
        let e = stage(&db, &h, ("eval", "r.eval.1"), &Target::Here)
            .unwrap_err()
            .to_string();
        assert!(e.contains("changed in the store"), "{e}");
        assert!(!h.dest.exists());
    }

    /// Two readers of one shared directory handed the same copy: it stays while
    /// either holds it, and goes (with its directories) with the last release.
    #[test]
    fn a_handed_copy_in_a_shared_directory_goes_with_its_last_holder() {
        let (t, db, h) = kept_checkpoint(|sha| format!(".baton-artifacts/{sha}/m.ckpt"));
        let shared = t.path().join("job");
        let to = Target::SharedDir(&shared);
        stage(&db, &h, ("a", "r.a.1"), &to).unwrap();
        stage(&db, &h, ("b", "r.b.1"), &to).unwrap();
        release(&h, "r.a.1", &to).unwrap();
        assert_eq!(fs::read(shared.join(&h.dest)).unwrap(), b"weights");
        release(&h, "r.b.1", &to).unwrap();
        assert!(!shared.join(".baton-artifacts").exists());
    }

    /// A copy a reader cannot hold in a shared directory (here: its link would go
    /// into a missing directory) is an error, never a start without its hold.
    #[test]
    fn a_copy_that_cannot_be_held_is_not_handed() {
        let (t, db, h) = kept_checkpoint(|sha| format!(".baton-artifacts/{sha}/m.ckpt"));
        let shared = t.path().join("job");
        let to = Target::SharedDir(&shared);
        stage(&db, &h, ("a", "r.a.1"), &to).unwrap();
        let e = stage(&db, &h, ("b", "no/such"), &to)
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot hold the copy"), "{e}");
        // The copy there is held through the check: it is kept, not written again.
        let dest = shared.join(&h.dest);
        let before = fs::metadata(&dest).unwrap().ino();
        stage(&db, &h, ("c", "r.c.1"), &to).unwrap();
        let held = fs::metadata(dest.with_file_name(".held-r.c.1")).unwrap();
        assert_eq!(
            (held.ino(), fs::metadata(&dest).unwrap().ino()),
            (before, before)
        );
    }

    /// A host whose copies stall `stalls` times, then go through.
    #[derive(Debug)]
    struct Stalling {
        stalls: u32,
        uploads: std::sync::Arc<AtomicU64>,
    }

    struct Sink(bool);

    impl Write for Sink {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl baton_exec::artifact_channel::Upload for Sink {
        fn finish(self: Box<Self>) -> Result<(), ChannelError> {
            if self.0 {
                return Err(ChannelError::Stalled {
                    path: "m.ckpt".into(),
                    place: "host h3".into(),
                    way: "copying it to",
                    secs: 60,
                });
            }
            Ok(())
        }
    }

    impl FileChannel for Stalling {
        fn place(&self) -> String {
            "host h3".into()
        }
        fn list(&self, _: &Path, _: &str) -> Result<Vec<String>, ChannelError> {
            Ok(Vec::new())
        }
        fn fetch(
            &self,
            _: &Path,
            _: &str,
        ) -> Result<Box<dyn baton_exec::artifact_channel::Download>, ChannelError> {
            Err(ChannelError::Failed("not here".into()))
        }
        fn has(&self, _: &Path, _: &Path, _: &str, _: &str) -> Result<bool, ChannelError> {
            Ok(false)
        }
        fn upload(
            &self,
            _: &Path,
            _: &Path,
            _: (&str, &str),
        ) -> Result<Box<dyn baton_exec::artifact_channel::Upload>, ChannelError> {
            let n = self.uploads.fetch_add(1, Ordering::Relaxed);
            Ok(Box::new(Sink(n < u64::from(self.stalls))))
        }
        fn release(&self, _: &Path, _: &Path, _: &str) -> Result<(), ChannelError> {
            Ok(())
        }
    }

    /// A copy out that stalls is written again (the reader has not started), and one
    /// that stalls every time fails naming the artifact and the host.
    #[test]
    fn a_stalled_copy_out_is_written_again_then_said() {
        let (t, db, h) = kept_checkpoint(|_| "m.ckpt".into());
        let work = t.path().join("w");
        let twice = Stalling {
            stalls: 2,
            uploads: Default::default(),
        };
        stage(
            &db,
            &h,
            ("eval", "r.eval.1"),
            &Target::Channel(&twice, &work),
        )
        .unwrap();
        assert_eq!(twice.uploads.load(Ordering::Relaxed), 3);
        let always = Stalling {
            stalls: u32::MAX,
            uploads: Default::default(),
        };
        let e = stage(
            &db,
            &h,
            ("eval", "r.eval.1"),
            &Target::Channel(&always, &work),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(always.uploads.load(Ordering::Relaxed), u64::from(TRIES));
        assert!(
            e.starts_with("artifact `train.model`: `m.ckpt`: nothing moved for 60 s while copying it to host h3"),
            "{e}"
        );
    }

    #[test]
    fn missing_and_ambiguous_files_are_said() {
        let t = tempfile::tempdir().unwrap();
        let db = t.path().join("baton.db");
        let e = collect(&db, &req(t.path(), "out/*.ckpt"), None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("artifact `model`: `out/*.ckpt` matched no file"),
            "{e}"
        );
        let e = collect(&db, &req(t.path(), "m.bin"), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("`m.bin` is missing"), "{e}");
        fs::create_dir_all(t.path().join("out")).unwrap();
        fs::write(t.path().join("out/a.ckpt"), b"a").unwrap();
        fs::write(t.path().join("out/b.ckpt"), b"b").unwrap();
        let e = collect(&db, &req(t.path(), "out/*.ckpt"), None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("matched 2 files (out/a.ckpt, out/b.ckpt)"),
            "{e}"
        );
    }

    #[test]
    fn a_link_out_of_the_step_directory_is_refused() {
        let t = tempfile::tempdir().unwrap();
        let (work, db) = (t.path().join("w"), store_db(t.path()));
        fs::create_dir_all(work.join("out")).unwrap();
        fs::write(t.path().join("secret"), b"outside").unwrap();
        std::os::unix::fs::symlink(t.path().join("secret"), work.join("m.bin")).unwrap();
        let e = collect(&db, &req(&work, "m.bin"), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("leads out of the step's directory"), "{e}");
        // A glob follows no link: the linked file is not among its matches.
        std::os::unix::fs::symlink(t.path().join("secret"), work.join("out/m.ckpt")).unwrap();
        let e = collect(&db, &req(&work, "out/*.ckpt"), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("matched no file"), "{e}");
        // A link inside the directory is followed.
        fs::write(work.join("real.bin"), b"inside").unwrap();
        std::os::unix::fs::symlink(work.join("real.bin"), work.join("l.bin")).unwrap();
        let recs = collect(&db, &req(&work, "l.bin"), None).unwrap();
        assert_eq!(recs[0].size, 6);
    }
}

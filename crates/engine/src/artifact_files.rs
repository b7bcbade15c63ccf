//! Artifacts, the file side (issue 60): keeping the files a step declared in the
//! store's content-addressed directory (`model::artifact_paths`), and handing a copy
//! to a step that reads one. Every write goes to a temporary file beside its
//! destination, is hashed as it is written and renamed only once complete and
//! checked, so a reader never sees part of a file, and an engine killed half-way
//! leaves at most a temporary file (`.tmp-…`), which the next collection does not read.
//! Files are streamed through a fixed buffer: memory does not grow with their size.
use baton_core::{CollectRequest, Handed};
use baton_model::ArtifactRecord;
use baton_model::artifact_paths::{artifacts_dir, object_path};
use globset::Glob;
use sha2::{Digest, Sha256};
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The copy buffer: what an artifact costs in memory, whatever its size.
const CHUNK: usize = 1 << 20;

/// Keep each file `req` declares; `Err`: the first that is missing, ambiguous,
/// changed while it was copied, or could not be read or written, said in a sentence.
pub(crate) fn collect(db: &Path, req: &CollectRequest) -> Result<Vec<ArtifactRecord>, String> {
    let mut out = Vec::with_capacity(req.artifacts.len());
    for (name, glob) in &req.artifacts {
        let rel = match_one(&req.dir, glob).map_err(|why| format!("artifact `{name}`: {why}"))?;
        let rec = keep(db, (&req.dir, &rel), name, &req.step_id)
            .map_err(|why| format!("artifact `{name}`: {why}"))?;
        out.push(rec);
    }
    Ok(out)
}

/// The one file `glob` matches under `dir`, relative to it.
fn match_one(dir: &Path, glob: &str) -> Result<String, String> {
    let has_meta = glob.contains(['*', '?', '[', '{']);
    if !has_meta {
        let path = dir.join(glob);
        return match fs::metadata(&path) {
            Ok(m) if m.is_file() => Ok(glob.to_string()),
            Ok(_) => Err(format!(
                "`{glob}` in {} is not a regular file",
                dir.display()
            )),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(format!(
                "`{glob}` is missing: the step made no such file in {}",
                dir.display()
            )),
            Err(e) => Err(format!("cannot read `{glob}` in {}: {e}", dir.display())),
        };
    }
    let matcher = Glob::new(glob)
        .map_err(|e| format!("`{glob}` is not a valid glob: {e}"))?
        .compile_matcher();
    let prefix: PathBuf = Path::new(glob)
        .components()
        .take_while(|c| {
            !c.as_os_str()
                .to_string_lossy()
                .contains(['*', '?', '[', '{'])
        })
        .collect();
    let root = dir.join(&prefix);
    let mut found = Vec::new();
    if root.is_dir() {
        for entry in walkdir::WalkDir::new(&root).sort_by_file_name() {
            let entry = entry.map_err(|e| format!("cannot read {}: {e}", root.display()))?;
            if !entry.file_type().is_file() {
                continue;
            }
            if let Ok(rel) = entry.path().strip_prefix(dir)
                && matcher.is_match(rel)
            {
                found.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(format!(
            "`{glob}` matched no file in {}: the step made none",
            dir.display()
        )),
        n => Err(format!(
            "`{glob}` matched {n} files ({}): an artifact is one file; narrow the glob",
            found.join(", ")
        )),
    }
}

/// Copy `dir/rel` into the store under its SHA-256, hashing it as it is copied; `Err`
/// if it changed meanwhile (its size or modification time moved).
fn keep(
    db: &Path,
    (dir, rel): (&Path, &str),
    name: &str,
    step: &str,
) -> Result<ArtifactRecord, String> {
    let src = dir.join(rel);
    let mut file =
        fs::File::open(&src).map_err(|e| format!("cannot read {}: {e}", src.display()))?;
    let before = file
        .metadata()
        .map_err(|e| format!("cannot read {}: {e}", src.display()))?;
    let tmp_dir = artifacts_dir(db).join("objects");
    make_private_dir(&tmp_dir)?;
    let (tmp, sha, size) = write_hashed(&mut file, &tmp_dir, ("collecting", step), true)?;
    let after = fs::metadata(&src).map_err(|e| format!("cannot read {}: {e}", src.display()));
    let changed = match after {
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
        return Err(format!(
            "`{rel}` changed while it was copied (a process of the step still writes it?)"
        ));
    }
    let dest = object_path(db, &sha);
    place(&tmp, &dest)?;
    Ok(ArtifactRecord {
        name: name.to_string(),
        path: rel.to_string(),
        sha256: sha,
        size,
    })
}

/// Copy `h`'s content from the store to where its reader finds it, checked against
/// its record; a copy already there with the right content is kept.
pub(crate) fn stage(db: &Path, h: &Handed, step: &str) -> Result<(), String> {
    if let Ok(mut f) = fs::File::open(&h.dest)
        && let Ok((sha, _)) = hash(&mut f)
        && sha == h.sha256
    {
        return Ok(());
    }
    let src = object_path(db, &h.sha256);
    let mut file = fs::File::open(&src).map_err(|e| {
        format!(
            "artifact `{}`: its content (sha256 {}) is not in the store ({e}); run the step that makes it again",
            h.label, h.sha256
        )
    })?;
    let parent = h.dest.parent().unwrap_or(Path::new("."));
    make_private_dir(parent)?;
    // Not synced: a copy lost to a power cut is checked again (and made again) before
    // the next start that is handed it, as any copy found there is.
    let (tmp, sha, size) = write_hashed(&mut file, parent, ("handing", step), false)?;
    if sha != h.sha256 || size != h.size {
        let _ = fs::remove_file(&tmp);
        return Err(format!(
            "artifact `{}` changed in the store: its record says sha256 {} ({} bytes), the copy is sha256 {sha} ({size} bytes)",
            h.label, h.sha256, h.size
        ));
    }
    let _ = fs::set_permissions(&tmp, fs::Permissions::from_mode(0o444));
    fs::rename(&tmp, &h.dest).map_err(|e| format!("cannot write {}: {e}", h.dest.display()))
}

/// Stream `src` into a new temporary file in `dir` (synced with `sync`: the store's
/// own copy, which a record names); its path, SHA-256 and size. `failpoint`: where a
/// crash test may kill the engine, half-way (`exec::failpoint`).
fn write_hashed(
    src: &mut fs::File,
    dir: &Path,
    failpoint: (&str, &str),
    sync: bool,
) -> Result<(PathBuf, String, u64), String> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let tmp = dir.join(format!(
        ".tmp-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let mut out = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    let copied = (|| {
        let mut h = Sha256::new();
        let mut buf = vec![0u8; CHUNK];
        let mut size = 0u64;
        loop {
            let n = match src.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(format!("cannot read: {e}")),
            };
            h.update(&buf[..n]);
            out.write_all(&buf[..n])
                .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
            size += n as u64;
            if size == n as u64 {
                baton_exec::failpoint::die_at(failpoint.0, failpoint.1);
            }
        }
        if sync {
            out.sync_all()
                .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        }
        Ok((hex::encode(h.finalize()), size))
    })();
    match copied {
        Ok((sha, size)) => Ok((tmp, sha, size)),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// A file's SHA-256 and size.
fn hash(f: &mut fs::File) -> io::Result<(String, u64)> {
    let mut h = Sha256::new();
    let size = io::copy(f, &mut h)?;
    Ok((hex::encode(h.finalize()), size))
}

/// Rename a complete temporary file to its content's name. A content kept already
/// is replaced by the same bytes: the file is new, so `gc` (which leaves contents
/// younger than an hour) does not take it before its record commits.
fn place(tmp: &Path, dest: &Path) -> Result<(), String> {
    let parent = dest.parent().unwrap_or(Path::new("."));
    make_private_dir(parent)?;
    let _ = fs::set_permissions(tmp, fs::Permissions::from_mode(0o444));
    fs::rename(tmp, dest).map_err(|e| format!("cannot write {}: {e}", dest.display()))
}

fn make_private_dir(dir: &Path) -> Result<(), String> {
    fs::DirBuilder::new()
        .recursive(true)
        .create(dir)
        .map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
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

    #[test]
    fn a_file_is_kept_once_and_handed_back_checked() {
        let t = tempfile::tempdir().unwrap();
        let (work, db) = (t.path().join("w"), t.path().join("s/baton.db"));
        fs::create_dir_all(work.join("out")).unwrap();
        fs::write(work.join("out/m.ckpt"), b"weights").unwrap();
        let recs = collect(&db, &req(&work, "out/*.ckpt")).unwrap();
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
        stage(&db, &h, "eval").unwrap();
        assert_eq!(fs::read(&h.dest).unwrap(), b"weights");
        // The store's copy changed: the reader is not handed it.
        let obj = object_path(&db, &recs[0].sha256);
        fs::set_permissions(&obj, fs::Permissions::from_mode(0o644)).unwrap();
        fs::write(&obj, b"tampered").unwrap();
        fs::remove_file(&h.dest).unwrap();
        let e = stage(&db, &h, "eval").unwrap_err();
        assert!(e.contains("changed in the store"), "{e}");
        assert!(!h.dest.exists());
    }

    #[test]
    fn missing_and_ambiguous_files_are_said() {
        let t = tempfile::tempdir().unwrap();
        let db = t.path().join("baton.db");
        let e = collect(&db, &req(t.path(), "out/*.ckpt")).unwrap_err();
        assert!(
            e.contains("artifact `model`: `out/*.ckpt` matched no file"),
            "{e}"
        );
        let e = collect(&db, &req(t.path(), "m.bin")).unwrap_err();
        assert!(e.contains("`m.bin` is missing"), "{e}");
        fs::create_dir_all(t.path().join("out")).unwrap();
        fs::write(t.path().join("out/a.ckpt"), b"a").unwrap();
        fs::write(t.path().join("out/b.ckpt"), b"b").unwrap();
        let e = collect(&db, &req(t.path(), "out/*.ckpt")).unwrap_err();
        assert!(
            e.contains("matched 2 files (out/a.ckpt, out/b.ckpt)"),
            "{e}"
        );
    }
}

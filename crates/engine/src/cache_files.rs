//! Cached steps, the file side: hashing input and product files, and the
//! content-addressed store of products (`<store dir>/cache/objects/ab/abcdef…`), where a
//! file is kept once whatever runs and steps made it.
use globset::{Glob, GlobSetBuilder};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

/// Entered into the key for a named input that does not exist (creating it changes the key).
pub(crate) const MISSING: &str = "missing";

#[derive(Debug, thiserror::Error)]
pub(crate) enum CacheFileError {
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
}

fn read_err(path: &Path) -> impl FnOnce(io::Error) -> CacheFileError + '_ {
    move |source| CacheFileError::Read {
        path: path.to_path_buf(),
        source,
    }
}

fn write_err(path: &Path) -> impl FnOnce(io::Error) -> CacheFileError + '_ {
    move |source| CacheFileError::Write {
        path: path.to_path_buf(),
        source,
    }
}

/// The SHA-256 of a file's content; `None` if there is no such file. Anything but a
/// regular file is an error: a pipe or a device would be read for ever.
pub(crate) fn hash_file(path: &Path) -> Result<Option<String>, CacheFileError> {
    use std::os::unix::fs::OpenOptionsExt;
    // Non-blocking: opening a pipe nobody writes returns at once, to be refused.
    let opened = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path);
    let mut f = match opened {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(read_err(path)(e)),
    };
    if !f.metadata().map_err(read_err(path))?.is_file() {
        return Err(read_err(path)(not_a_file()));
    }
    let mut h = Sha256::new();
    io::copy(&mut f, &mut h).map_err(read_err(path))?;
    Ok(Some(hex::encode(h.finalize())))
}

fn not_a_file() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "is not a regular file (a pipe, a device or a directory): the cache is not used for it",
    )
}

fn has_meta(s: &str) -> bool {
    s.contains(['*', '?', '[', '{'])
}

/// Every file the `inputs` globs match under `dir`, as (path relative to `dir`, SHA-256),
/// sorted. A glob without wildcards names one file (it may lie outside `dir`); if it is
/// missing it enters as [`MISSING`]. A wildcard glob is matched by walking only the
/// directory before its first wildcard.
pub(crate) fn input_hashes(
    dir: &Path,
    globs: &[String],
) -> Result<Vec<(String, String)>, CacheFileError> {
    let mut out: Vec<(String, String)> = Vec::new();
    for g in globs {
        if !has_meta(g) {
            let sha = hash_file(&dir.join(g))?.unwrap_or_else(|| MISSING.into());
            out.push((g.clone(), sha));
            continue;
        }
        // An invalid glob was refused by `validate`; nothing to match here if it got by.
        let Ok(glob) = Glob::new(g) else { continue };
        let Ok(set) = GlobSetBuilder::new().add(glob).build() else {
            continue;
        };
        let prefix: PathBuf = Path::new(g)
            .components()
            .take_while(|c| !has_meta(&c.as_os_str().to_string_lossy()))
            .collect();
        let root = dir.join(&prefix);
        if !root.is_dir() {
            continue;
        }
        for entry in walkdir::WalkDir::new(&root).sort_by_file_name() {
            let entry = entry.map_err(|e| {
                let path = e.path().unwrap_or(&root).to_path_buf();
                read_err(&path)(io::Error::other(e.to_string()))
            })?;
            if !entry.file_type().is_file() {
                continue;
            }
            let Ok(rel) = entry.path().strip_prefix(dir) else {
                continue;
            };
            if set.is_match(rel) {
                let sha = hash_file(entry.path())?.unwrap_or_else(|| MISSING.into());
                out.push((rel.to_string_lossy().into_owned(), sha));
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// A product's path under the step's directory (validated: relative, never above it).
pub(crate) fn product_path(dir: &Path, rel: &Path) -> PathBuf {
    let clean: PathBuf = rel
        .components()
        .filter(|c| matches!(c, Component::Normal(_) | Component::ParentDir))
        .collect();
    dir.join(clean)
}

fn object_path(cache_dir: &Path, sha: &str) -> PathBuf {
    let fan = sha.get(..2).unwrap_or("00");
    cache_dir.join("objects").join(fan).join(sha)
}

/// Whether the content with this SHA-256 is kept.
pub(crate) fn object_exists(cache_dir: &Path, sha: &str) -> bool {
    object_path(cache_dir, sha).is_file()
}

/// Keep a file's content (once per content); returns its SHA-256, `None` if the file
/// does not exist. The copy keeps the file's permission bits (an executable stays one).
pub(crate) fn store_object(
    cache_dir: &Path,
    file: &Path,
) -> Result<Option<String>, CacheFileError> {
    let Some(sha) = hash_file(file)? else {
        return Ok(None);
    };
    let dest = object_path(cache_dir, &sha);
    if dest.is_file() {
        return Ok(Some(sha));
    }
    let parent = dest.parent().unwrap_or(cache_dir);
    fs::DirBuilder::new()
        .recursive(true)
        .create(parent)
        .map_err(write_err(parent))?;
    let _ = fs::set_permissions(cache_dir, fs::Permissions::from_mode(0o700));
    let tmp = parent.join(format!(".{sha}.{}", std::process::id()));
    fs::copy(file, &tmp).map_err(write_err(&tmp))?;
    fs::rename(&tmp, &dest).map_err(write_err(&dest))?;
    Ok(Some(sha))
}

/// Write a kept content back to `dest` (through a file beside it and a rename, so a
/// reader never sees half of it), making its directory if needed.
pub(crate) fn restore_object(
    cache_dir: &Path,
    sha: &str,
    dest: &Path,
) -> Result<(), CacheFileError> {
    let src = object_path(cache_dir, sha);
    // The rename replaces only a regular file, a link or a missing name: never a
    // device or a pipe the step's directory holds where its product was.
    if let Ok(m) = fs::symlink_metadata(dest)
        && !m.is_file()
        && !m.file_type().is_symlink()
    {
        return Err(write_err(dest)(not_a_file()));
    }
    if let Some(parent) = dest.parent() {
        fs::create_dir_all(parent).map_err(write_err(parent))?;
    }
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dest.with_file_name(format!(".{name}.baton-restore"));
    fs::copy(&src, &tmp).map_err(read_err(&src))?;
    fs::rename(&tmp, dest).map_err(write_err(dest))?;
    Ok(())
}

/// Remove kept contents no entry refers to any more; returns how many.
pub fn collect_garbage(cache_dir: &Path, keep: &HashSet<String>) -> usize {
    let mut removed = 0;
    let objects = cache_dir.join("objects");
    for entry in walkdir::WalkDir::new(&objects)
        .min_depth(2)
        .max_depth(2)
        .into_iter()
        .flatten()
    {
        let name = entry.file_name().to_string_lossy();
        if entry.file_type().is_file()
            && !keep.contains(name.as_ref())
            && fs::remove_file(entry.path()).is_ok()
        {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_files_under_the_directory_sorted() {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir_all(d.path().join("src/sub")).unwrap();
        fs::write(d.path().join("src/a.c"), "a").unwrap();
        fs::write(d.path().join("src/sub/b.c"), "b").unwrap();
        fs::write(d.path().join("src/c.h"), "c").unwrap();
        fs::write(d.path().join("Makefile"), "m").unwrap();
        let got = input_hashes(
            d.path(),
            &["src/**/*.c".into(), "Makefile".into(), "gone.txt".into()],
        )
        .unwrap();
        let names: Vec<&str> = got.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(names, ["Makefile", "gone.txt", "src/a.c", "src/sub/b.c"]);
        assert_eq!(got[1].1, MISSING);
        assert_eq!(got[2].1, hex::encode(Sha256::digest(b"a")));
    }

    #[test]
    fn objects_round_trip_and_unreferenced_ones_go() {
        let d = tempfile::tempdir().unwrap();
        let cache = d.path().join("cache");
        let f = d.path().join("app");
        fs::write(&f, "binary").unwrap();
        fs::set_permissions(&f, fs::Permissions::from_mode(0o755)).unwrap();
        let sha = store_object(&cache, &f).unwrap().unwrap();
        assert!(object_exists(&cache, &sha));
        let back = d.path().join("out/app");
        restore_object(&cache, &sha, &back).unwrap();
        assert_eq!(fs::read_to_string(&back).unwrap(), "binary");
        assert_eq!(
            fs::metadata(&back).unwrap().permissions().mode() & 0o111,
            0o111
        );
        assert_eq!(store_object(&cache, &d.path().join("none")).unwrap(), None);
        assert_eq!(collect_garbage(&cache, &HashSet::from([sha.clone()])), 0);
        assert_eq!(collect_garbage(&cache, &HashSet::new()), 1);
        assert!(!object_exists(&cache, &sha));
    }

    #[test]
    fn a_product_path_that_is_a_pipe_is_not_replaced() {
        use std::os::unix::fs::FileTypeExt;
        let d = tempfile::tempdir().unwrap();
        let cache = d.path().join("cache");
        let f = d.path().join("app");
        fs::write(&f, "binary").unwrap();
        let sha = store_object(&cache, &f).unwrap().unwrap();
        let fifo = d.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        // Hashed as the cache is consulted: refused at once, not waited on.
        let e = hash_file(&fifo).unwrap_err();
        assert!(e.to_string().contains("is not a regular file"), "{e}");
        let e = restore_object(&cache, &sha, &fifo).unwrap_err();
        assert!(e.to_string().contains("is not a regular file"), "{e}");
        assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    }
}

//! Handed copies in a job's working directory on a filesystem this machine shares
//! (issue 60), kept as a host's `HAVE`, `PUT` and `DROP` keep them
//! (`exec::ssh::files`): each reader's attempt holds the copy by a hard link
//! `.held-HOLDER` beside it, and the last one to let go removes it. A hold is taken
//! before the copy is checked, and the check is made through it, so a release in
//! between cannot remove the file the reader is then told is there.
use crate::artifact_files::{FileError, copy_here, is_copy};
use baton_core::Handed;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// How often a copy is written again when it went between its write and its hold.
const TRIES: u32 = 3;

fn held(dest: &Path, holder: &str) -> PathBuf {
    dest.with_file_name(format!(".held-{holder}"))
}

/// `h` at `dest`, held for `holder`: a copy there with the right content is kept.
pub(crate) fn stage(
    db: &Path,
    h: &Handed,
    dest: &Path,
    (step, holder): (&str, &str),
) -> Result<(), FileError> {
    let held = held(dest, holder);
    let mut tries = 1;
    loop {
        let _ = fs::remove_file(&held);
        if fs::hard_link(dest, &held).is_ok() {
            if is_copy(&held, h) {
                return Ok(());
            }
            let _ = fs::remove_file(&held);
        }
        copy_here(db, h, dest, step)?;
        match fs::hard_link(dest, &held) {
            Ok(()) => return Ok(()),
            // Released (and removed) between its rename and this link: written again.
            Err(e) if e.kind() == io::ErrorKind::NotFound && tries < TRIES => tries += 1,
            Err(err) => {
                return Err(FileError::Hold {
                    path: dest.display().to_string(),
                    err,
                });
            }
        }
    }
}

/// `holder`'s hold dropped, as the host's `DROP` does it: the copy moved aside (an
/// atomic rename) and put back while another hold remains.
pub(crate) fn release(dest: &Path, holder: &str) {
    let _ = fs::remove_file(held(dest, holder));
    let gone = dest.with_file_name(format!(".gone-{}", std::process::id()));
    if fs::rename(dest, &gone).is_ok() {
        if fs::metadata(&gone).is_ok_and(|m| m.nlink() > 1) {
            let _ = fs::hard_link(&gone, dest);
        }
        let _ = fs::remove_file(&gone);
    }
    if let Some(sha_dir) = dest.parent() {
        let _ = fs::remove_dir(sha_dir);
        if let Some(handed) = sha_dir.parent() {
            let _ = fs::remove_dir(handed);
        }
    }
}

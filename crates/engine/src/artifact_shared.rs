//! Handed copies in a job's working directory on a filesystem this machine shares
//! (issue 60), kept as a host's `HAVE`, `PUT` and `DROP` keep them
//! (`exec::ssh::files`): each reader's attempt holds the copy by a hard link
//! `.held-HOLDER` beside it, and the last one to let go removes it. A hold is taken
//! before the copy is checked, and the check is made through it. Every step that looks
//! at, writes or removes a copy and its holds in a directory takes that directory's
//! lock first (`flock` on the directory, the one the host's scripts take), so a
//! release never runs between a check and its hold, nor between a copy moved aside and
//! put back. A directory whose filesystem refuses the lock (some network filesystems
//! refuse `flock` on a directory) is worked on without it.
use crate::artifact_files::{FileError, copy_here, is_copy};
use baton_core::Handed;
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// How often a copy is written again when it went between its write and its hold.
const TRIES: u32 = 3;

fn held(dest: &Path, holder: &str) -> PathBuf {
    dest.with_file_name(format!(".held-{holder}"))
}

/// The directory's lock, held while the value lives; `None` where it cannot be had
/// (the work goes on without it, as before the lock).
fn lock(dir: &Path) -> Option<File> {
    let f = File::open(dir).ok()?;
    loop {
        match rustix::fs::flock(&f, rustix::fs::FlockOperation::LockExclusive) {
            Ok(()) => return Some(f),
            Err(rustix::io::Errno::INTR) => {}
            Err(_) => return None,
        }
    }
}

/// `h` at `dir`/`h.dest`, held for `holder`: a copy there with the right content is
/// kept, else one is written (under the lock: a release never removes its directory
/// before it is in place).
pub(crate) fn stage(
    db: &Path,
    h: &Handed,
    dir: &Path,
    (step, holder): (&str, &str),
) -> Result<(), FileError> {
    let dest = dir.join(&h.dest);
    let held = held(&dest, holder);
    let mut tries = 1;
    loop {
        let linked = {
            let _lock = lock(dir);
            let _ = fs::remove_file(&held);
            fs::hard_link(&dest, &held).is_ok()
        };
        if linked {
            if is_copy(&held, h) {
                return Ok(());
            }
            let _ = fs::remove_file(&held);
        }
        let _lock = lock(dir);
        copy_here(db, h, &dest, step)?;
        match fs::hard_link(&dest, &held) {
            Ok(()) => return Ok(()),
            // Released (and removed) between its rename and this link, where the
            // directory has no lock: written again.
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

/// `holder`'s hold on `dir`/`dest` dropped, as the host's `DROP` does it, under the
/// directory's lock: the copy moved aside (an atomic rename) and put back while
/// another hold remains.
pub(crate) fn release(dir: &Path, dest: &Path, holder: &str) {
    let _lock = lock(dir);
    let dest = &dir.join(dest);
    let _ = fs::remove_file(held(dest, holder));
    let gone = dest.with_file_name(format!(".gone-{}", std::process::id()));
    if fs::rename(dest, &gone).is_ok() {
        if fs::metadata(&gone).is_ok_and(|m| m.nlink() > 1) {
            let _ = fs::hard_link(&gone, dest);
        }
        let _ = fs::remove_file(&gone);
    }
    // Its directories once empty, however deep its name, up to `.baton-artifacts`.
    for d in dest.ancestors().skip(1) {
        if d == dir || !d.starts_with(dir) || fs::remove_dir(d).is_err() {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    /// A nested artifact name: the last release removes every directory of it, up to
    /// and with `.baton-artifacts`, never the job's directory.
    #[test]
    fn a_nested_copy_leaves_no_directory_behind() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("job");
        let dest = Path::new(".baton-artifacts/ab/out/deep/m.ckpt");
        fs::create_dir_all(dir.join(dest).parent().unwrap()).unwrap();
        fs::write(dir.join(dest), b"weights").unwrap();
        fs::hard_link(dir.join(dest), held(&dir.join(dest), "r.a.1")).unwrap();
        release(&dir, dest, "r.a.1");
        assert!(!dir.join(".baton-artifacts").exists());
        assert!(dir.is_dir());
    }

    /// A release waits for the directory's lock, the one the host's scripts take
    /// (`flock` on the directory): while another process holds it, nothing changes.
    #[test]
    fn a_release_waits_for_the_directory_lock() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("job");
        let dest = Path::new(".baton-artifacts/ab/m.ckpt");
        fs::create_dir_all(dir.join(".baton-artifacts/ab")).unwrap();
        fs::write(dir.join(dest), b"weights").unwrap();
        fs::hard_link(dir.join(dest), held(&dir.join(dest), "r.a.1")).unwrap();
        let mut holder = Command::new("flock")
            .arg(&dir)
            .args(["-c", "echo locked; read _"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = [0u8; 7];
        holder
            .stdout
            .as_mut()
            .unwrap()
            .read_exact(&mut line)
            .unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let d = dir.clone();
        let releasing = std::thread::spawn(move || {
            // SAFETY: gettid reads no memory and cannot fail.
            tx.send(unsafe { libc::gettid() }).unwrap();
            release(&d, dest, "r.a.1");
        });
        let tid = rx.recv().unwrap();
        // The thread is in `flock(2)`, waiting.
        let syscall = format!("/proc/self/task/{tid}/syscall");
        let deadline = Instant::now() + Duration::from_secs(30);
        let waiting = loop {
            let now = fs::read_to_string(&syscall).unwrap_or_default();
            let at = now.split_whitespace().next() == Some(&libc::SYS_flock.to_string());
            if at || Instant::now() > deadline {
                break at;
            }
            std::thread::yield_now();
        };
        assert!(waiting, "the release waits for the lock");
        assert!(held(&dir.join(dest), "r.a.1").exists());
        drop(holder.stdin.take());
        holder.wait().unwrap();
        releasing.join().unwrap();
        assert!(!dir.join(".baton-artifacts").exists());
    }
}

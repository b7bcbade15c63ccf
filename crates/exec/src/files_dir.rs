//! The run's private directory for its attempts' `$BATON_OUTPUT` and `$BATON_USAGE`
//! files (issue 24, finding 12): each attempt gets a 0700 directory of its own, at a
//! random name, inside the run's unlistable (0300) directory.
//!
//! Making and removing a directory is a journalled metadata change: on an ext4 mounted
//! with `discard` and shared with other writers it takes from ~50 µs to over a
//! millisecond, far more than the rest of a short step's bookkeeping. So a worker
//! thread of the run's own makes attempt directories ahead in batches and removes the
//! finished ones; the engine's thread only takes a ready one (or, when none is ready,
//! makes one itself) and hands back a finished one that the step left empty (one that
//! held files is removed at once, by the engine). What an attempt gets is the same
//! either way: a fresh directory (a new inode, never one an earlier attempt had), 0700,
//! at a random name nobody has seen, handed to one attempt only.
use std::fs::DirBuilder;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// How many attempt directories the worker keeps made ahead. It is woken once half
/// are taken or half as many finished ones wait: every wake-up costs a futex call on
/// the waking thread (the engine's, or its attempts' follower) and a context switch on
/// the worker, so the bigger the batch, the fewer a step pays for (at 8, about one
/// wake-up every two steps of a DAG of short steps).
const AHEAD: usize = 32;

/// Where the runs' files directories are made: the temp dir when `TMPDIR` names one,
/// else a RAM-backed file system when there is one (the user's `XDG_RUNTIME_DIR`, else
/// `/dev/shm`), else the temp dir. An attempt's directory is made and removed around
/// every step: on a disk file system that is a journalled change (and a synchronous
/// discard of the freed block where `/tmp` is mounted with `discard`), on a tmpfs a few
/// microseconds. Nothing there needs to outlive the engine: a resumed run redoes the
/// attempts it never recorded.
pub fn files_root() -> PathBuf {
    let runtime = std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from);
    choose_root(
        std::env::var_os("TMPDIR").is_some_and(|t| !t.is_empty()),
        runtime.as_deref().filter(|d| is_private_dir(d)),
        is_shared_tmp(Path::new(SHM)).then_some(Path::new(SHM)),
    )
}

const SHM: &str = "/dev/shm";

/// Every root an engine of this account may have made a run's directories in: this
/// process's [`files_root`], and the others another environment would choose (the
/// temp dir, a private `XDG_RUNTIME_DIR`, `/dev/shm`): a console started with a
/// `TMPDIR` takes over from an engine started without one.
pub(crate) fn every_root() -> Vec<PathBuf> {
    let runtime = std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from);
    let mut roots = vec![files_root(), std::env::temp_dir()];
    roots.extend(runtime.filter(|d| is_private_dir(d)));
    roots.extend(is_shared_tmp(Path::new(SHM)).then(|| PathBuf::from(SHM)));
    let mut seen = std::collections::BTreeSet::new();
    roots.retain(|r| seen.insert(r.clone()));
    roots
}

/// The decision, apart from the probes.
fn choose_root(tmpdir_set: bool, runtime: Option<&Path>, shm: Option<&Path>) -> PathBuf {
    if tmpdir_set {
        return std::env::temp_dir();
    }
    runtime
        .or(shm)
        .map(Path::to_path_buf)
        .unwrap_or_else(std::env::temp_dir)
}

/// An absolute directory of this user's that nobody else may enter (what
/// `XDG_RUNTIME_DIR` must be; an inherited one of another account is not used).
fn is_private_dir(dir: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    dir.is_absolute()
        && std::fs::symlink_metadata(dir).is_ok_and(|m| {
            m.is_dir() && m.uid() == nix::unistd::geteuid().as_raw() && m.mode() & 0o077 == 0
        })
}

/// A sticky, world-writable directory like `/tmp` (so a private directory made in it
/// at a random name is as safe as one in `/tmp`) that this process may write.
fn is_shared_tmp(dir: &Path) -> bool {
    std::fs::symlink_metadata(dir)
        .is_ok_and(|m| m.is_dir() && m.permissions().mode() & 0o1777 == 0o1777)
        && nix::unistd::access(
            dir,
            nix::unistd::AccessFlags::W_OK | nix::unistd::AccessFlags::X_OK,
        )
        .is_ok()
}

/// A fresh private (0700) directory under [`files_root`] for one attempt, named from
/// `label`, opened.
pub(super) fn private_attempt_dir(label: &str) -> std::io::Result<AttemptDir> {
    private_dir(label).map(AttemptDir::at)
}

/// Whether `dir` can be a directory baton made for an attempt's files: absolute, no
/// `..`, under [`files_root`] in a `baton-…` directory. An adopted attempt's directory
/// is read from its process's environment, which the step can change: only one of
/// these is ever taken (and removed at its end).
pub(super) fn is_ours(dir: &Path) -> bool {
    use std::path::Component;
    dir.is_absolute()
        && dir
            .components()
            .all(|c| matches!(c, Component::RootDir | Component::Normal(_)))
        && dir
            .strip_prefix(files_root())
            .ok()
            .and_then(|rest| rest.components().next())
            .is_some_and(|c| c.as_os_str().to_string_lossy().starts_with("baton-"))
}

/// A fresh private (0700) directory under [`files_root`], named from `label`.
pub(super) fn private_dir(label: &str) -> std::io::Result<PathBuf> {
    let base = files_root();
    let mut tries = 0;
    loop {
        let dir = base.join(format!("baton-{label}-{:08x}", rand::random::<u32>()));
        match DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && tries < 8 => tries += 1,
            Err(e) => return Err(e),
        }
    }
}

/// An attempt's directory, with a descriptor of it when one could be opened: after the
/// step, one listing through it says which files the step wrote ([`AttemptDir::holds`]),
/// where looking each file up by its path cost a failed `open` (a path walk) each: in a
/// loop on this machine, two failed opens take 4.2 µs, a listing of an empty directory
/// about 0.8 µs (issue 29 point 4). The run's worker opens it when it makes the
/// directory, off the engine's thread.
#[derive(Debug, Default)]
pub(super) struct AttemptDir {
    pub path: PathBuf,
    pub fd: Option<OwnedFd>,
}

impl AttemptDir {
    pub(super) fn at(path: PathBuf) -> AttemptDir {
        let fd = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
            .open(&path)
            .ok()
            .map(OwnedFd::from);
        AttemptDir { path, fd }
    }

    /// Which of `names` the directory holds, read through its descriptor (not yet read
    /// from: one pass from the start); `None` without one, or when the listing fails.
    pub(super) fn holds<const N: usize>(&self, names: [&str; N]) -> Option<[bool; N]> {
        let fd = self.fd.as_ref()?;
        // Two entries of an empty directory, or a few more: one call's worth.
        let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 1024];
        let mut dir = rustix::fs::RawDir::new(fd.as_fd(), &mut buf);
        let mut found = [false; N];
        while let Some(entry) = dir.next() {
            let entry = entry.ok()?;
            let name = entry.file_name().to_bytes();
            for (seen, wanted) in found.iter_mut().zip(names) {
                *seen |= name == wanted.as_bytes();
            }
        }
        Some(found)
    }
}

/// A finished attempt's directory, and which of its files may exist (a file known
/// to be absent is not unlinked). Its descriptor, if any, closes with it.
#[derive(Debug)]
pub(super) struct Spent {
    pub dir: AttemptDir,
    pub files: [(PathBuf, bool); 3],
}

impl Spent {
    /// The usual case in three syscalls; `remove_dir_all` (open, scan, unlink each)
    /// only when the step left something else behind.
    pub(crate) fn remove(&self) {
        for (path, exists) in &self.files {
            if *exists {
                let _ = std::fs::remove_file(path);
            }
        }
        if std::fs::remove_dir(&self.dir.path).is_err() {
            let _ = std::fs::remove_dir_all(&self.dir.path);
        }
    }
}

#[derive(Debug, Default)]
struct State {
    /// Made ahead, not yet handed to any attempt.
    ready: Vec<AttemptDir>,
    finished: Vec<Spent>,
    /// The worker sleeps on the condvar: only then is a wake-up worth a syscall.
    asleep: bool,
    closing: bool,
    /// Making one failed: the engine makes its own from then on.
    broken: bool,
}

#[derive(Debug)]
struct Shared {
    path: PathBuf,
    state: Mutex<State>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new attempt directory at a random 128-bit name, opened.
    fn make(&self) -> std::io::Result<AttemptDir> {
        let dir = self.path.join(format!("{:032x}", rand::random::<u128>()));
        DirBuilder::new().mode(0o700).create(&dir)?;
        Ok(AttemptDir::at(dir))
    }

    /// The worker: keep `AHEAD` directories ready, remove finished ones, and on closing
    /// remove what is left to remove.
    fn work(&self) {
        let mut state = self.lock();
        loop {
            // Making ahead first while few are ready (a start may be about to need one),
            // then removing, then making up to `AHEAD`.
            let few = state.ready.len() < AHEAD / 2;
            let short = state.ready.len() < AHEAD;
            let idle = state.finished.is_empty();
            if !state.closing && !state.broken && (few || idle && short) {
                drop(state);
                let made = self.make();
                state = self.lock();
                match made {
                    Ok(dir) => state.ready.push(dir),
                    // The engine makes its own (and reports what fails); no retrying here.
                    Err(_) => state.broken = true,
                }
                continue;
            }
            if let Some(done) = state.finished.pop() {
                drop(state);
                done.remove();
                state = self.lock();
                continue;
            }
            if state.closing {
                return;
            }
            state.asleep = true;
            state = self.wake.wait(state).unwrap_or_else(|e| e.into_inner());
            state.asleep = false;
        }
    }

    /// Wake the worker if it sleeps. Callers nudge it only once there is a batch to
    /// do: a wake-up per attempt would cost a syscall and a context switch each.
    fn nudge(&self, state: &State) {
        if state.asleep {
            self.wake.notify_one();
        }
    }
}

#[derive(Debug)]
struct Owner {
    shared: Arc<Shared>,
    worker: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Owner {
    fn drop(&mut self) {
        {
            let mut state = self.shared.lock();
            state.closing = true;
            self.shared.nudge(&state);
        }
        match self.worker.take().map(std::thread::JoinHandle::join) {
            Some(Ok(())) => {}
            // No worker, or it panicked: remove what it had not.
            _ => self
                .shared
                .lock()
                .finished
                .drain(..)
                .for_each(|f| f.remove()),
        }
        // Listable again, so that whatever a step left there can be removed.
        let path = &self.shared.path;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700));
        let _ = std::fs::remove_dir_all(path);
    }
}

/// A run's private directory under which each attempt gets a 0700 directory of its
/// own. Cheap to clone (each running attempt holds one); removed, with whatever is
/// left in it, when the last clone goes.
#[derive(Debug, Clone)]
pub struct FilesDir {
    owner: Arc<Owner>,
}

impl FilesDir {
    /// The run's directory is made unlistable (0300: enter and create, not read), so a
    /// step knows its own attempt's directory and cannot find its siblings'. A sibling
    /// that makes it listable again (it is its account's) still finds only 0700
    /// directories of random names; any process of the account can enter those, so
    /// only separate accounts truly separate steps. (Root reads any directory.)
    pub fn create(run_id: &str) -> std::io::Result<FilesDir> {
        let path = private_dir(&crate::job::clean(run_id))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o300))?;
        let shared = Arc::new(Shared {
            path,
            state: Mutex::default(),
            wake: Condvar::new(),
        });
        let worker = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("baton-files".into())
                .spawn(move || shared.work())
                .ok()
        };
        Ok(FilesDir {
            owner: Arc::new(Owner { shared, worker }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.owner.shared.path
    }

    /// A fresh 0700 directory for one attempt: a ready one, or one made now.
    pub(super) fn attempt_dir(&self) -> std::io::Result<AttemptDir> {
        let shared = &self.owner.shared;
        let taken = {
            let mut state = shared.lock();
            let taken = state.ready.pop();
            if state.ready.len() < AHEAD / 2 {
                shared.nudge(&state);
            }
            taken
        };
        match taken {
            Some(dir) => Ok(dir),
            None => shared.make(),
        }
    }

    /// A finished attempt's directory, found empty, to be removed by the worker.
    pub(super) fn finished(&self, done: Spent) {
        let shared = &self.owner.shared;
        let mut state = shared.lock();
        if self.owner.worker.is_none() {
            drop(state);
            return done.remove();
        }
        state.finished.push(done);
        if state.finished.len() >= AHEAD / 2 {
            shared.nudge(&state);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn only_a_baton_directory_under_the_files_root_is_ours() {
        let root = files_root();
        assert!(is_ours(&root.join("baton-run-1a2b/0f0f")));
        assert!(is_ours(&root.join("baton-r-s-1-00ff")));
        assert!(!is_ours(&root.join("baton-x/../../etc")));
        assert!(!is_ours(&root.join("other/0f0f")));
        assert!(!is_ours(&root));
        assert!(!is_ours(Path::new("/home/someone/project")));
        assert!(!is_ours(Path::new("relative/baton-x")));
    }

    #[test]
    fn the_root_is_tmpdir_when_set_else_a_ram_file_system_else_the_temp_dir() {
        let (run, shm) = (Path::new("/run/user/1000"), Path::new("/dev/shm"));
        assert_eq!(
            choose_root(true, Some(run), Some(shm)),
            std::env::temp_dir()
        );
        assert_eq!(choose_root(false, Some(run), Some(shm)), run);
        assert_eq!(choose_root(false, None, Some(shm)), shm);
        assert_eq!(choose_root(false, None, None), std::env::temp_dir());
    }

    #[test]
    fn only_a_private_runtime_dir_and_a_sticky_shared_one_qualify() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x");
        std::fs::create_dir(&p).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o700)).unwrap();
        assert!(is_private_dir(&p));
        assert!(!is_shared_tmp(&p));
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(!is_private_dir(&p), "others may enter");
        assert!(!is_private_dir(Path::new("relative")));
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o1777)).unwrap();
        assert!(is_shared_tmp(&p));
        assert!(!is_private_dir(&d.path().join("missing")));
    }

    /// The listing through the descriptor sees what a step wrote, and only that.
    #[test]
    fn an_attempt_directory_says_which_files_it_holds() {
        let files = FilesDir::create("01TESTHOLDS").unwrap();
        for (write, held) in [
            (vec![], [false, false]),
            (vec!["usage", "other"], [false, true]),
            (vec!["output", "usage"], [true, true]),
        ] {
            let attempt = files.attempt_dir().unwrap();
            for name in write {
                std::fs::write(attempt.path.join(name), "x=1\n").unwrap();
            }
            assert_eq!(attempt.holds(["output", "usage"]), Some(held));
        }
        let no_fd = AttemptDir {
            path: files.path().to_path_buf(),
            fd: None,
        };
        assert_eq!(
            no_fd.holds(["output", "usage"]),
            None,
            "unknown: look both up"
        );
    }

    #[test]
    fn each_attempt_gets_a_fresh_private_directory_and_everything_goes_with_the_run() {
        let files = FilesDir::create("01TESTRUN").unwrap();
        let run = files.path().to_path_buf();
        assert_eq!(std::fs::metadata(&run).unwrap().mode() & 0o777, 0o300);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..3 * AHEAD {
            let attempt = files.attempt_dir().unwrap();
            assert_eq!(attempt.holds(["output", "usage"]), Some([false; 2]));
            let dir = attempt.path.clone();
            let meta = std::fs::metadata(&dir).unwrap();
            assert_eq!(meta.mode() & 0o777, 0o700);
            assert_eq!(dir.parent(), Some(run.as_path()));
            assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "empty");
            assert!(seen.insert(dir.clone()), "never handed out twice");
            let output = dir.join("output");
            std::fs::write(&output, "x=1\n").unwrap();
            std::fs::write(dir.join("left"), "behind").unwrap();
            files.finished(Spent {
                dir: attempt,
                files: [
                    (output, true),
                    (dir.join("usage"), false),
                    (dir.join("labels"), false),
                ],
            });
        }
        let clone = files.clone();
        drop(files);
        assert!(
            run.exists(),
            "a running attempt still holds the run's directory"
        );
        drop(clone);
        assert!(!run.exists(), "removed with everything in it");
    }
}

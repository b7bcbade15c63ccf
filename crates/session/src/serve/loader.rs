//! Loading a served directory's files off the serve's thread (issue 41 point 3): the
//! thread that fires slots, renews the serve's lease, drives runs and answers HTTP only
//! looks at each file's `stat`; reading and loading happen on the loader's thread, one
//! file at a time, each within [`LOAD_BUDGET`]. A file that takes longer is reported
//! once, as a load error, and not read again until it changes (its load is left to
//! finish on a thread of its own and its result dropped).
//!
//! A new or changed file is loaded only once it is whole (`settle`): one the watcher
//! saw renamed into place (an editor's safe write, `mv`, `rsync` without `--inplace`)
//! once its `stat` held across a scan; any other (written here, new or in place, or
//! arrived while nothing watched) once it has not changed for [`QUIET`], so a writer
//! that pauses for less than that between its parts never has its first part served.
//! "Not changed" is by the file's time, or by its `stat` held across the scans of
//! [`QUIET`] on the serve's own clock: a file whose time is in the serve's future (a
//! clock behind the file server's, a copy that kept its times) loads too.
use baton_workflow::{self as workflow, Plan};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

/// How long one file may take to load before it is reported and given up on.
pub(super) const LOAD_BUDGET: Duration = Duration::from_secs(5);
/// `BATON_SERVE_LOAD_BUDGET_MS`: another budget, in milliseconds.
pub(super) const LOAD_BUDGET_ENV: &str = "BATON_SERVE_LOAD_BUDGET_MS";
/// A file changed in place is loaded once it has not changed for this long.
pub(crate) const QUIET: Duration = Duration::from_secs(5);
/// A file renamed into place is loaded once its `stat` held this long (one scan).
pub(super) const STABLE: Duration = Duration::from_millis(900);

/// A file's identity and version as `stat` says (no byte of it read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sig {
    pub dev: u64,
    pub ino: u64,
    pub len: u64,
    pub mtime: SystemTime,
}

/// The `stat` of a regular file; `None` for anything else (a FIFO, a device, a socket,
/// a directory: never opened) or a file gone.
pub(super) fn sig_of(path: &Path) -> Option<Sig> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    m.is_file().then(|| Sig {
        dev: m.dev(),
        ino: m.ino(),
        len: m.len(),
        mtime: m.modified().unwrap_or(SystemTime::UNIX_EPOCH),
    })
}

/// The `stat` of a regular file that is no symbolic link (`lstat`); `None` for a
/// symlink, anything else or a file gone. A file trigger's event: a link planted in
/// its directory would make a file elsewhere (another account's, one the serve can
/// read and its writer cannot) the run's input.
pub(super) fn own_sig_of(path: &Path) -> Option<Sig> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::symlink_metadata(path).ok()?;
    m.file_type().is_file().then(|| Sig {
        dev: m.dev(),
        ino: m.ino(),
        len: m.len(),
        mtime: m.modified().unwrap_or(SystemTime::UNIX_EPOCH),
    })
}

/// What to do with a file at a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Settle {
    /// The version last loaded (or refused): nothing to do.
    Unchanged,
    /// Changed, maybe still being written: look again at the next scan.
    Settling,
    /// Whole: load it.
    Load,
}

/// Whether a file is whole enough to load (pure). `done`: the version last loaded or
/// refused; `first_seen`: this version and when a scan first saw it; `renamed_in`: the
/// watcher saw it renamed into place and nothing written to it since (`arrivals`);
/// `now` and `wall_now` the clocks.
pub(super) fn settle(
    done: Option<Sig>,
    first_seen: Option<(Sig, Instant)>,
    sig: Sig,
    renamed_in: bool,
    now: Instant,
    wall_now: SystemTime,
) -> Settle {
    if done == Some(sig) {
        return Settle::Unchanged;
    }
    let quiet_for = wall_now.duration_since(sig.mtime).unwrap_or_default();
    let held_for = first_seen
        .filter(|(s, _)| *s == sig)
        .map(|(_, at)| now.duration_since(at));
    // Quiet by the file's time, or by this serve's own clock: its size, time and inode
    // unchanged across scans for QUIET. The second is what loads a file whose time is
    // in the future (a clock behind the file server's, a copy that kept its times),
    // whose quiet the wall clock would never reach.
    if quiet_for >= QUIET || held_for.is_some_and(|h| h >= QUIET) {
        return Settle::Load;
    }
    let in_place = done.is_some_and(|d| d.dev == sig.dev && d.ino == sig.ino);
    let held = held_for.is_some_and(|h| h >= STABLE);
    if held && renamed_in && !in_place {
        Settle::Load
    } else {
        Settle::Settling
    }
}

/// A file to load.
pub(crate) struct Job {
    pub key: String,
    pub path: PathBuf,
    pub sig: Sig,
}

/// What loading a file gave.
pub(crate) enum Outcome {
    Loaded {
        text: String,
        plan: Arc<Plan>,
    },
    /// It does not load: why (`FILE:LINE:COL: error: …`).
    Failed(String),
}

pub(crate) struct Done {
    pub key: String,
    pub sig: Sig,
    pub outcome: Outcome,
}

/// The loader's thread: jobs in; results out to the serve's loop (the receiver
/// [`Loader::spawn`] gives).
pub(crate) struct Loader {
    jobs: mpsc::Sender<Job>,
}

/// The budget in force: [`LOAD_BUDGET`] unless `BATON_SERVE_LOAD_BUDGET_MS` says.
pub(super) fn budget() -> Duration {
    std::env::var(LOAD_BUDGET_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(LOAD_BUDGET, Duration::from_millis)
}

impl Loader {
    pub(crate) fn spawn() -> std::io::Result<(Loader, tokio::sync::mpsc::UnboundedReceiver<Done>)> {
        let (jobs, rx) = mpsc::channel::<Job>();
        let (tx, done) = tokio::sync::mpsc::unbounded_channel();
        let budget = budget();
        std::thread::Builder::new()
            .name("serve-loader".into())
            .spawn(move || {
                for job in rx {
                    if tx.send(load_within(job, budget)).is_err() {
                        return;
                    }
                }
            })?;
        Ok((Loader { jobs }, done))
    }

    /// Queue a file; `false` once the loader's thread is gone.
    pub(crate) fn load(&self, job: Job) -> bool {
        self.jobs.send(job).is_ok()
    }
}

/// Read and load one file on a thread of its own, waiting for it at most `budget`.
fn load_within(job: Job, budget: Duration) -> Done {
    let _started = Instant::now();
    let (tx, rx) = mpsc::channel();
    let path = job.path.clone();
    let key = job.key.clone();
    let spawned = std::thread::Builder::new()
        .name("serve-load".into())
        .spawn(move || {
            let _ = tx.send(load_file(&path, &key));
        });
    let outcome = match spawned {
        Err(e) => Outcome::Failed(format!("{}: cannot start loading it: {e}", job.key)),
        Ok(_) => match rx.recv_timeout(budget) {
            Ok(outcome) => outcome,
            Err(_) => Outcome::Failed(format!(
                "{}: error: loading it took longer than the serve's budget of {} ms; it is not read again until it changes\n  = help: make it smaller (fewer steps, a smaller matrix), or raise {LOAD_BUDGET_ENV}",
                job.key,
                budget.as_millis()
            )),
        },
    };
    Done {
        key: job.key,
        sig: job.sig,
        outcome,
    }
}

fn load_file(path: &Path, key: &str) -> Outcome {
    let text = match workflow::read_source(path) {
        Ok(t) => t,
        Err(d) => return Outcome::Failed(d.to_string()),
    };
    match workflow::load_str(&text, Path::new(key)) {
        Ok(plan) => Outcome::Loaded {
            text,
            plan: Arc::new(plan),
        },
        Err(d) => Outcome::Failed(d.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(ino: u64, len: u64, mtime: SystemTime) -> Sig {
        Sig {
            dev: 1,
            ino,
            len,
            mtime,
        }
    }

    #[test]
    fn a_file_is_loaded_once_whole() {
        let t0 = Instant::now();
        let w0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let old = sig(7, 100, w0);
        // An old file (written long ago) loads at once; the same version never again.
        assert_eq!(settle(None, None, old, false, t0, w0 + QUIET), Settle::Load);
        assert_eq!(
            settle(Some(old), None, old, false, t0, w0 + QUIET),
            Settle::Unchanged
        );
        // Written in place (same inode) a second ago: it waits until quiet for QUIET,
        // even if a scan saw it unchanged.
        let half = sig(7, 40, w0 + Duration::from_secs(10));
        let at = w0 + Duration::from_secs(11);
        assert_eq!(
            settle(Some(old), None, half, false, t0, at),
            Settle::Settling
        );
        let later = t0 + Duration::from_secs(3);
        let in_place_at = |wall| settle(Some(old), Some((half, t0)), half, false, later, wall);
        assert_eq!(in_place_at(at + Duration::from_secs(2)), Settle::Settling);
        assert_eq!(in_place_at(w0 + Duration::from_secs(15)), Settle::Load);
        // Replaced by a rename (a new inode): loaded once a scan saw it unchanged.
        let renamed = sig(8, 120, w0 + Duration::from_secs(10));
        assert_eq!(
            settle(Some(old), None, renamed, true, t0, at),
            Settle::Settling
        );
        let seen = Some((renamed, t0));
        assert_eq!(
            settle(Some(old), seen, renamed, true, t0 + STABLE, at),
            Settle::Load
        );
        // Changed again between two scans: it settles again.
        let grown = sig(8, 130, w0 + Duration::from_secs(10));
        assert_eq!(
            settle(Some(old), seen, grown, true, t0 + STABLE, at),
            Settle::Settling
        );
    }

    /// Issue 78 point 6: a file whose time is an hour ahead of the serve's clock loads
    /// once its `stat` held for QUIET on the serve's own clock; changed meanwhile, it
    /// waits QUIET again from the change.
    #[test]
    fn a_file_from_the_future_loads_once_unchanged_across_scans() {
        let t0 = Instant::now();
        let w0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let ahead = sig(9, 40, w0 + Duration::from_secs(3600));
        assert_eq!(settle(None, None, ahead, false, t0, w0), Settle::Settling);
        let seen = Some((ahead, t0));
        let at = |d: Duration| settle(None, seen, ahead, false, t0 + d, w0 + d);
        assert_eq!(at(STABLE), Settle::Settling);
        assert_eq!(at(QUIET - Duration::from_millis(1)), Settle::Settling);
        assert_eq!(at(QUIET), Settle::Load);
        let grown = sig(9, 80, w0 + Duration::from_secs(3600));
        assert_eq!(
            settle(None, seen, grown, false, t0 + QUIET, w0 + QUIET),
            Settle::Settling,
            "a change starts the wait again"
        );
        let done = Some(sig(9, 10, w0));
        let in_place = settle(done, seen, ahead, false, t0 + QUIET, w0 + QUIET);
        assert_eq!(in_place, Settle::Load, "changed in place, then quiet");
    }

    /// Issue 55 point 4: a new file (or a new inode at a served name) that was not seen
    /// renamed into place loads only once quiet for QUIET, however long its `stat`
    /// held across scans: its writer may only have paused between its parts.
    #[test]
    fn a_new_file_written_here_loads_only_once_quiet() {
        let t0 = Instant::now();
        let w0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let half = sig(9, 40, w0);
        let seen = Some((half, t0));
        let after = |d: Duration| (t0 + d, w0 + d);
        for done in [None, Some(sig(7, 100, w0 - QUIET))] {
            let (now, wall) = after(STABLE * 3);
            assert_eq!(settle(done, seen, half, false, now, wall), Settle::Settling);
            let (now, wall) = after(QUIET);
            assert_eq!(settle(done, seen, half, false, now, wall), Settle::Load);
            // Seen renamed into place: whole at the next scan.
            let (now, wall) = after(STABLE);
            assert_eq!(settle(done, seen, half, true, now, wall), Settle::Load);
            assert_eq!(settle(done, None, half, true, now, wall), Settle::Settling);
        }
    }
}

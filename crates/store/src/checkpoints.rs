//! An engine's checkpoints, run on a thread and a connection of their own.
//!
//! With `synchronous = NORMAL` SQLite syncs at checkpoints only, and by default the
//! committing connection runs them itself (every 1,000 WAL pages): the engine's thread,
//! which every step's start and end waits for, then waits on the checkpoint's two
//! `fsync`s (11–17 ms each on this project's test disk, some 0.4 ms a step of a long
//! run: docs/performance/throughput.md). Here the engine's connection never
//! checkpoints; a hook on it notes how long the WAL is after each commit, and once it
//! reaches the same 1,000 pages a second connection on a thread of its own copies it
//! back with `PASSIVE` checkpoints, which never hold a commit. What they cannot catch
//! (the frames of the commits made during the last one) the engine's connection
//! copies itself once the WAL is four times that length, so it still restarts
//! (`BOUND`). Each of those checkpoints syncs the WAL first: while the thread keeps
//! up, the commits a power loss could take (those since the last sync) are no more
//! than with SQLite's own cadence; while its checkpoints fail (another process's in
//! the way), up to four times that, until the engine's own copy syncs. What a commit
//! promises is unchanged: plain transitions survive a crash of the process at once,
//! and a decision still commits with `synchronous = FULL` on the engine's
//! connection, which syncs the WAL itself.
use crate::error::StoreError;
use rusqlite::{Connection, OpenFlags};
use std::cell::Cell;
use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;

/// WAL pages after which a checkpoint is started: SQLite's own default cadence.
const CHECKPOINT_PAGES: i32 = 1000;
/// `PASSIVE` checkpoints in a row for one start: beside a steady writer each copies
/// what the commits made during the last one added.
const ROUNDS: usize = 8;

thread_local! {
    /// The WAL's length in pages after the last commit on this thread, set by the hook
    /// (SQLite calls it on the committing thread, inside the commit).
    static WAL_PAGES: Cell<i32> = const { Cell::new(0) };
}

/// `sqlite3_wal_hook`'s callback: a plain function, so it keeps its figure where the
/// committing [`crate::Store`] reads it right after (`Checkpointer::after_commit`).
fn note_pages(_: &rusqlite::hooks::Wal, pages: std::ffi::c_int) -> rusqlite::Result<()> {
    WAL_PAGES.with(|p| p.set(pages));
    Ok(())
}

/// The thread that checkpoints for one engine's connection; it ends (and closes its
/// connection, which checkpoints what is left when it is the database's last) when
/// dropped.
pub(crate) struct Checkpointer {
    wake: Option<mpsc::SyncSender<()>>,
    /// WAL pages after which a checkpoint starts.
    every: i32,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Take `conn`'s checkpoints over: `conn` stops checkpointing (the hook replaces
    /// SQLite's automatic one) and a thread opens `path` again to run them.
    pub(crate) fn start(conn: &Connection, path: &Path) -> Result<Checkpointer, StoreError> {
        Checkpointer::start_every(conn, path, CHECKPOINT_PAGES)
    }

    /// [`Checkpointer::start`] at a cadence of `every` WAL pages.
    fn start_every(conn: &Connection, path: &Path, every: i32) -> Result<Checkpointer, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let aside = Connection::open_with_flags(path, flags)?;
        // A checkpoint syncs as its own connection says: as the engine's does.
        aside.pragma_update(None, "synchronous", "NORMAL")?;
        // Another process's checkpoint in the way: this one is tried at the next start.
        aside.busy_timeout(std::time::Duration::from_millis(50))?;
        // One start waits while a checkpoint runs: a commit never blocks on it.
        let (wake, woken) = mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("baton-checkpoints".to_string())
            .spawn(move || run(&aside, &woken, every))
            .map_err(|e| StoreError::io(path, e))?;
        conn.wal_hook(Some(note_pages));
        Ok(Checkpointer {
            wake: Some(wake),
            every,
            thread: Some(thread),
        })
    }

    /// After a commit on the engine's connection `conn`: start the thread once the
    /// WAL has reached its length (a start already waiting is enough), or copy the
    /// tail here once it has reached [`BOUND`] times that. Whether this copied the
    /// whole WAL back (it restarts with the next commit).
    pub(crate) fn after_commit(&self, conn: &Connection) -> bool {
        let pages = WAL_PAGES.with(|p| p.replace(0));
        match after(pages, self.every) {
            After::Nothing => false,
            After::Start => {
                if let Some(wake) = &self.wake {
                    let _ = wake.try_send(());
                }
                false
            }
            // Refused while the thread's checkpoint runs: tried after the next commit.
            After::CopyTail => {
                matches!(checkpoint(conn), Ok((false, log, copied)) if copied == log)
            }
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        // Closing the channel ends the thread's loop.
        self.wake = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// How many times its cadence the WAL may grow before the engine's connection copies
/// what the thread left behind. `PASSIVE` checkpoints beside a steady writer copy all
/// but the frames of the commits made meanwhile, and the WAL restarts only once every
/// frame is copied with no commit between: during a busy run, only in a pause, or
/// when the writer copies that tail itself (a few hundred pages, where an inline
/// checkpoint copies a thousand every thousand).
const BOUND: i32 = 4;

#[derive(Debug, PartialEq)]
enum After {
    Nothing,
    /// Start the thread's checkpoints.
    Start,
    /// Copy what they left, on the writer's connection.
    CopyTail,
}

/// What follows a commit that left the WAL `pages` long, at a cadence of `every`.
fn after(pages: i32, every: i32) -> After {
    if pages >= every.saturating_mul(BOUND) {
        After::CopyTail
    } else if pages >= every {
        After::Start
    } else {
        After::Nothing
    }
}

/// The thread's loop: `PASSIVE` checkpoints for each start, until the engine's store
/// is dropped.
fn run(aside: &Connection, woken: &mpsc::Receiver<()>, every: i32) {
    let bound = i64::from(every.saturating_mul(BOUND));
    while woken.recv().is_ok() {
        for _ in 0..ROUNDS {
            match checkpoint(aside) {
                // Another round copies what the commits made during this one added,
                // unless the writer is to copy it (one checkpoint at a time).
                Ok((false, log, copied)) if copied < log && log < bound => continue,
                // All copied, or another checkpoint in the way (another process's, the
                // engine's tail): the next start tries again. A checkpoint that fails
                // (a full disk) leaves the WAL as it is: commits still go on.
                _ => break,
            }
        }
    }
}

/// One `PASSIVE` checkpoint: (whether it was kept from finishing, the WAL's frames,
/// the frames copied into the database).
fn checkpoint(conn: &Connection) -> rusqlite::Result<(bool, i64, i64)> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok((r.get::<_, i64>(0)? != 0, r.get(1)?, r.get(2)?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_thread_starts_at_sqlites_own_cadence_and_the_writer_copies_past_the_bound() {
        let every = CHECKPOINT_PAGES;
        assert_eq!(after(0, every), After::Nothing);
        assert_eq!(after(every - 1, every), After::Nothing);
        assert_eq!(after(every, every), After::Start);
        assert_eq!(after(every * BOUND - 1, every), After::Start);
        assert_eq!(after(every * BOUND, every), After::CopyTail);
        assert_eq!(after(i32::MAX, i32::MAX), After::CopyTail);
    }

    /// A writer committing back to back, as an engine does: whenever the thread's
    /// checkpoint is not in the way, the writer's own copy of the tail past the bound
    /// empties the WAL and the next commit restarts it; the WAL restarts again and
    /// again, and every row is in the database once the store is closed. How far past
    /// the bound the WAL grows is how many commits one of the thread's checkpoints
    /// lasts (its `fsync`s on a busy disk: thousands of this writer's), which no bound
    /// of this test could tell.
    #[test]
    fn beside_a_steady_writer_the_wal_restarts_and_nothing_is_lost() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let conn = Connection::open(&path).unwrap();
        conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
            .unwrap();
        conn.pragma_update(None, "synchronous", "NORMAL").unwrap();
        conn.execute_batch("CREATE TABLE t (n INTEGER PRIMARY KEY, b BLOB)")
            .unwrap();
        let every = 50;
        let aside = Checkpointer::start_every(&conn, &path, every).unwrap();
        let (mut restarts, mut last, mut copied_tail) = (0, 0, false);
        let (mut n, mut tail_copies) = (0i64, 0);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        // At least 6,000 commits of about two pages (240 times the cadence), and on
        // until the WAL restarted ten times.
        while n < 6_000 || (restarts < 10 && std::time::Instant::now() < deadline) {
            conn.execute("INSERT INTO t (n, b) VALUES (?1, zeroblob(4000))", [n])
                .unwrap();
            n += 1;
            let pages = WAL_PAGES.with(Cell::get);
            assert!(
                !copied_tail || pages < last,
                "commit {n}: the writer copied the whole WAL of {last} pages back, and the \
                 next commit left it {pages} pages long"
            );
            restarts += usize::from(pages < last);
            last = pages;
            copied_tail = aside.after_commit(&conn);
            tail_copies += usize::from(copied_tail);
        }
        assert!(
            restarts >= 10,
            "the WAL restarted {restarts} times in {n} commits, {tail_copies} after the \
             writer's own copy"
        );
        drop(aside);
        drop(conn);
        assert!(
            !dir.path().join("c.db-wal").exists(),
            "the last connection closed copied the WAL back and removed it"
        );
        let again = Connection::open(&path).unwrap();
        let rows: i64 = again
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, n);
    }
}

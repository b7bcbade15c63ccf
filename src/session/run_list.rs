//! The console's run list, kept by reading only what changed: the rows the store marks
//! changed since the last read ([`Store::run_changes`]), and the runs still going
//! (their counts and liveness move without their row changing). What it costs does
//! not grow with the store's history; only the first read and a read after a deletion
//! read every run.
use crate::model::{RunState, RunSummary};
use crate::store::{RunChanges, RunsCursor, Store, StoreError};
use std::cmp::Reverse;
use std::path::Path;
use std::sync::mpsc;

/// How many of the newest runs the console's first frame is drawn from, while the
/// rest of a large store is read on a thread of its own ([`RunList::first_page`]).
pub const FIRST_PAGE: usize = 500;

#[derive(Debug, Default)]
pub struct RunList {
    /// Newest first (`started_at`, then id, descending), as `Store::list_runs`.
    runs: Vec<RunSummary>,
    cursor: Option<RunsCursor>,
    /// The whole list, being read on another thread; until it comes, `runs` is the
    /// first page and reads of changes wait for it.
    rest: Option<mpsc::Receiver<Result<RunChanges, StoreError>>>,
}

impl RunList {
    pub fn runs(&self) -> &[RunSummary] {
        &self.runs
    }

    /// Whether `runs` is every run of the store, not yet only the newest page.
    pub fn complete(&self) -> bool {
        self.rest.is_none()
    }

    /// The newest [`FIRST_PAGE`] runs (one index range), and, if the store holds more,
    /// every run read from `db` on a thread of its own: a year of history (50,000
    /// runs) took most of the console's first frame to read, on the thread that draws
    /// and drives. [`RunList::read_changes`] takes the whole list when it has come.
    pub fn first_page(store: &Store, db: &Path) -> Result<RunList, StoreError> {
        let runs = store.newest_runs(FIRST_PAGE + 1)?;
        let mut list = RunList::default();
        if runs.len() <= FIRST_PAGE {
            list.read_changes(store)?;
            return Ok(list);
        }
        let (tx, rx) = mpsc::channel();
        let db = db.to_path_buf();
        std::thread::spawn(move || {
            // Behind the run this console may drive and its steps: on Linux a thread's
            // nice value is its own. Failing to lower it changes nothing read.
            // SAFETY: setpriority reads no memory; `0` names the calling thread.
            let _ = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 10) };
            let all = Store::open_read_only(&db).and_then(|s| s.run_changes(None));
            let _ = tx.send(all);
        });
        list.runs = runs;
        list.runs.truncate(FIRST_PAGE);
        list.rest = Some(rx);
        Ok(list)
    }

    /// Read what changed since the last read; `true` if the list changed.
    pub fn read_changes(&mut self, store: &Store) -> Result<bool, StoreError> {
        if let Some(rx) = &self.rest {
            match rx.try_recv() {
                // Still reading: the first page stands; a run started meanwhile is
                // read with the rest.
                Err(mpsc::TryRecvError::Empty) => return Ok(false),
                Ok(Ok(all)) => {
                    self.rest = None;
                    self.runs = all.runs;
                    self.cursor = Some(all.cursor);
                    // What changed since that read, and never `false`: the list grew.
                    self.read_changes(store)?;
                    return Ok(true);
                }
                // The thread could not read: read here, as without a first page.
                Ok(Err(_)) | Err(mpsc::TryRecvError::Disconnected) => {
                    self.rest = None;
                    self.cursor = None;
                }
            }
        }
        let ch = store.run_changes(self.cursor)?;
        self.cursor = Some(ch.cursor);
        Ok(if ch.full {
            let moved = self.runs != ch.runs;
            self.runs = ch.runs;
            moved
        } else {
            self.merge(ch.runs)
        })
    }

    /// Read the runs still going again; `true` if the list changed.
    pub fn read_live(&mut self, store: &Store) -> Result<bool, StoreError> {
        let ids: Vec<&str> = self
            .runs
            .iter()
            .filter(|r| going(r))
            .map(|r| r.id.as_str())
            .collect();
        if ids.is_empty() {
            return Ok(false);
        }
        let fresh = store.runs_by_id(&ids)?;
        Ok(self.merge(fresh))
    }

    /// Put each of `changed` in its place: replacing the listed run with its id, or
    /// inserted where its start puts it. `true` if anything differs.
    pub fn merge(&mut self, changed: Vec<RunSummary>) -> bool {
        let mut moved = false;
        for r in changed {
            let key = order(&r);
            match self.runs.binary_search_by_key(&key, |x| order(x)) {
                Ok(i) if self.runs[i] == r => {}
                Ok(i) => {
                    self.runs[i] = r;
                    moved = true;
                }
                Err(i) => {
                    self.runs.insert(i, r);
                    moved = true;
                }
            }
        }
        moved
    }
}

/// The list's order: newest start first, then id descending.
fn order(r: &RunSummary) -> (Reverse<crate::model::Timestamp>, Reverse<&str>) {
    (Reverse(r.started_at), Reverse(r.id.as_str()))
}

/// A run whose counts or liveness may move without its row changing.
fn going(r: &RunSummary) -> bool {
    !r.state.is_final() && r.state != RunState::Interrupted
}

#[cfg(test)]
mod tests;

//! The console's run list, kept by reading only what changed: the rows the store marks
//! changed since the last read ([`Store::run_changes`]), and the runs still going
//! (their counts and liveness move without their row changing). What it costs does
//! not grow with the store's history; only the first read and a read after a deletion
//! read every run.
use baton_model::{RunState, RunSummary};
use baton_store::{RunChanges, RunsCursor, Store, StoreError};
use std::cmp::Reverse;
use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};

/// How many of the newest runs the console's first frame is drawn from; the rest of a
/// large store is read on a thread of its own once it is wanted ([`RunList::read_rest`]).
pub const FIRST_PAGE: usize = 500;

#[derive(Debug, Default)]
pub(crate) struct RunList {
    /// Newest first (`started_at`, then id, descending), as `Store::list_runs`. Each
    /// run shared: the list the console is sent on every change is a copy of pointers
    /// (a year of runs is 50,000 of them), not of every run's strings.
    runs: Vec<Arc<RunSummary>>,
    cursor: Option<RunsCursor>,
    rest: Rest,
}

/// The runs of a large store past its newest page.
#[derive(Debug, Default)]
enum Rest {
    /// `runs` is every run.
    #[default]
    Read,
    /// Not read yet: the store at this path holds more than `runs`.
    Wanted(PathBuf),
    /// Being read on another thread.
    Reading(mpsc::Receiver<Result<RunChanges, StoreError>>),
}

impl RunList {
    pub(crate) fn runs(&self) -> &[Arc<RunSummary>] {
        &self.runs
    }

    /// Whether `runs` is every run of the store, not yet only the newest page (and what
    /// changed since it was read).
    pub(crate) fn complete(&self) -> bool {
        matches!(self.rest, Rest::Read)
    }

    /// The newest [`FIRST_PAGE`] runs (one index range), kept current as the store
    /// changes; a store that holds more is read whole only when [`RunList::read_rest`]
    /// is called. A year of history (50,000 runs) took most of the console's first
    /// frame to read, and reading it beside a run this console drives took a tenth of
    /// that run's time on two cores.
    pub(crate) fn first_page(store: &Store, db: &Path) -> Result<RunList, StoreError> {
        // The cursor before the page: what changes in between is read again, the same.
        let cursor = store.runs_cursor()?;
        let runs = store.newest_runs(FIRST_PAGE + 1)?;
        let mut list = RunList::default();
        if runs.len() <= FIRST_PAGE {
            list.read_changes(store)?;
            return Ok(list);
        }
        list.runs = runs.into_iter().take(FIRST_PAGE).map(Arc::new).collect();
        list.cursor = Some(cursor);
        list.rest = Rest::Wanted(db.to_path_buf());
        Ok(list)
    }

    /// Start reading every run, on a thread of its own at a lower priority, if that is
    /// still to do; [`RunList::read_changes`] takes the whole list when it has come.
    pub(crate) fn read_rest(&mut self) {
        let Rest::Wanted(db) = &self.rest else {
            return;
        };
        let (tx, rx) = mpsc::channel();
        let db = db.clone();
        std::thread::spawn(move || {
            // Behind the run this console may drive and its steps: on Linux a thread's
            // nice value is its own. Failing to lower it changes nothing read.
            // SAFETY: setpriority reads no memory; `0` names the calling thread.
            let _ = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 10) };
            let all = Store::open_read_only(&db).and_then(|s| s.run_changes(None));
            let _ = tx.send(all);
        });
        self.rest = Rest::Reading(rx);
    }

    /// Read what changed since the last read; `true` if the list changed.
    pub(crate) fn read_changes(&mut self, store: &Store) -> Result<bool, StoreError> {
        if let Rest::Reading(rx) = &self.rest {
            match rx.try_recv() {
                // Still reading: the page is kept current meanwhile.
                Err(mpsc::TryRecvError::Empty) => {}
                Ok(Ok(all)) => {
                    self.rest = Rest::Read;
                    self.runs = shared(all.runs);
                    self.cursor = Some(all.cursor);
                    // What changed since that read, and never `false`: the list grew.
                    self.read_changes(store)?;
                    return Ok(true);
                }
                // The thread could not read: read here, as without a first page.
                Ok(Err(_)) | Err(mpsc::TryRecvError::Disconnected) => {
                    self.rest = Rest::Read;
                    self.cursor = None;
                }
            }
        }
        let ch = store.run_changes(self.cursor)?;
        self.cursor = Some(ch.cursor);
        Ok(if ch.full {
            // Every run was read (first read, or one was deleted): nothing is left.
            self.rest = Rest::Read;
            let moved = !self.runs.iter().map(|r| &**r).eq(ch.runs.iter());
            self.runs = shared(ch.runs);
            moved
        } else {
            self.merge(ch.runs)
        })
    }

    /// Read the runs still going again; `true` if the list changed.
    pub(crate) fn read_live(&mut self, store: &Store) -> Result<bool, StoreError> {
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
    pub(crate) fn merge(&mut self, changed: Vec<RunSummary>) -> bool {
        let mut moved = false;
        for r in changed {
            let key = order(&r);
            match self.runs.binary_search_by_key(&key, |x| order(x)) {
                Ok(i) if *self.runs[i] == r => {}
                Ok(i) => {
                    self.runs[i] = Arc::new(r);
                    moved = true;
                }
                Err(i) => {
                    self.runs.insert(i, Arc::new(r));
                    moved = true;
                }
            }
        }
        moved
    }
}

fn shared(runs: Vec<RunSummary>) -> Vec<Arc<RunSummary>> {
    runs.into_iter().map(Arc::new).collect()
}

/// The list's order: newest start first, then id descending.
fn order(r: &RunSummary) -> (Reverse<baton_model::Timestamp>, Reverse<&str>) {
    (Reverse(r.started_at), Reverse(r.id.as_str()))
}

/// A run whose counts or liveness may move without its row changing.
fn going(r: &RunSummary) -> bool {
    !r.state.is_final() && r.state != RunState::Interrupted
}

#[cfg(test)]
mod tests;

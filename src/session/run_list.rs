//! The console's run list, kept by reading only what changed: the rows the store marks
//! changed since the last read ([`Store::run_changes`]), and the runs still going
//! (their counts and liveness move without their row changing). What it costs does
//! not grow with the store's history; only the first read and a read after a deletion
//! read every run.
use crate::model::{RunState, RunSummary};
use crate::store::{RunsCursor, Store, StoreError};
use std::cmp::Reverse;

#[derive(Debug, Default)]
pub struct RunList {
    /// Newest first (`started_at`, then id, descending), as `Store::list_runs`.
    runs: Vec<RunSummary>,
    cursor: Option<RunsCursor>,
}

impl RunList {
    pub fn runs(&self) -> &[RunSummary] {
        &self.runs
    }

    /// Read what changed since the last read; `true` if the list changed.
    pub fn read_changes(&mut self, store: &Store) -> Result<bool, StoreError> {
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

//! What shell completion offers from the store: run ids and a run's step ids, each one
//! index range with a limit, so a tab press costs the same on 50,000 runs as on 50.
use super::{Store, StoreError};
use rusqlite::params;

/// At most this many candidates: a shell shows no more usefully.
pub(crate) const COMPLETION_LIMIT: usize = 200;

impl Store {
    /// Run ids starting with `prefix`: the newest first when nothing is typed yet, else
    /// in id order (ids are time-ordered ULIDs).
    pub fn completion_runs(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let limit = COMPLETION_LIMIT as i64;
        let r = (|| {
            let ids: Vec<String> = if prefix.is_empty() {
                self.conn
                    .prepare_cached(
                        "SELECT id FROM runs ORDER BY started_at DESC, id DESC LIMIT ?1",
                    )?
                    .query_map([limit], |r| r.get(0))?
                    .collect::<Result<_, _>>()?
            } else {
                // A range on the primary key, as `resolve_run`: LIKE would read `_` as a
                // wildcard.
                let mut upper = prefix.to_string();
                upper.push(char::MAX);
                self.conn
                    .prepare_cached(
                        "SELECT id FROM runs WHERE id >= ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3",
                    )?
                    .query_map(params![prefix, upper, limit], |r| r.get(0))?
                    .collect::<Result<_, _>>()?
            };
            Ok(ids)
        })();
        self.ctx(r)
    }

    /// The step ids of the run `run` names (an id or a unique prefix), by name (the order
    /// a shell lists them in),
    /// fanned-out instances included.
    pub fn completion_steps(&self, run: &str) -> Result<Vec<String>, StoreError> {
        let run = self.resolve_run(run)?;
        // As of the run's last event (a fanned-out instance's row may lag it).
        let r = super::catch_up::steps_now(&self.conn, &run).map(|s| s.into_keys().collect());
        self.ctx(r)
    }
}

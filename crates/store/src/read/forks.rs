//! Forks' links (`baton fork`, issue 43 point 4): a fork's `run_forked` event names the
//! run it came from; the projection keeps each such link in `run_forks` (schema
//! `RUN_FORKS`), so that the old run finds the runs forked from it without a scan of
//! every run's events.
use crate::{Store, StoreError};
use baton_model::view::ForkLink;
use baton_model::{Event, EventKind};
use rusqlite::{Connection, params};

/// In a commit's transaction: the link a `run_forked` event records.
pub(crate) fn project(tx: &Connection, run_id: &str, ev: &Event) -> Result<(), StoreError> {
    if let EventKind::RunForked {
        from_run,
        from_step,
    } = &ev.kind
    {
        tx.prepare_cached(
            "INSERT OR IGNORE INTO run_forks (run_id, from_run, from_step) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![run_id, from_run, from_step])?;
    }
    Ok(())
}

impl Store {
    /// The runs forked from `run_id`, oldest first, each with the step it reran from.
    pub fn forks_of(&self, run_id: &str) -> Result<Vec<ForkLink>, StoreError> {
        let r = (|| {
            let mut stmt = self.conn.prepare_cached(
                "SELECT f.run_id, f.from_step FROM run_forks f JOIN runs r ON r.id = f.run_id
                 WHERE f.from_run = ?1 ORDER BY r.started_at, r.id",
            )?;
            let rows = stmt.query_map([run_id], |r| {
                Ok(ForkLink {
                    run: r.get(0)?,
                    step: r.get(1)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })();
        self.ctx(r)
    }

    /// The run `run_id` was forked from, and the step, if it is a fork.
    pub fn fork_origin(&self, run_id: &str) -> Result<Option<ForkLink>, StoreError> {
        use rusqlite::OptionalExtension;
        let r = (|| {
            Ok(self
                .conn
                .prepare_cached("SELECT from_run, from_step FROM run_forks WHERE run_id = ?1")?
                .query_row([run_id], |r| {
                    Ok(ForkLink {
                        run: r.get(0)?,
                        step: r.get(1)?,
                    })
                })
                .optional()?)
        })();
        self.ctx(r)
    }
}

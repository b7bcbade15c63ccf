//! A step's runs across its workflow's history (`baton history`, the console's history
//! view; `model::step_trend` folds them). Only the newest runs of the workflow are read,
//! from the end of the `runs_by_workflow` index, then the step's row and its last
//! attempt's by their keys: the rows read are bounded by the number asked for, however
//! many runs a year left in the store.
use crate::error::StoreError;
use crate::ledger::Store;
use crate::read::catch_up;
use crate::tx::in_read_snapshot;
use baton_model::step_trend::{MAX_RUNS, StepRun};
use baton_model::{StepState, Timestamp};
use rusqlite::params;

/// The newest `?3` runs of workflow `?1` and step `?2` in each (a run without the step
/// has no row).
pub(crate) const STEP_RUNS: &str = "WITH recent AS (
        SELECT id, started_at FROM runs WHERE workflow = ?1
        ORDER BY started_at DESC, id DESC LIMIT ?3)
     SELECT r.id, r.started_at, s.state, s.attempts, a.duration_ms
     FROM recent r
     JOIN steps s ON s.run_id = r.id AND s.step_id = ?2
     LEFT JOIN attempts a ON a.run_id = r.id AND a.step_id = ?2 AND a.attempt = s.attempts
     ORDER BY r.started_at DESC, r.id DESC";

impl Store {
    /// Step `step` in the newest `last` runs of `workflow` (at most
    /// [`MAX_RUNS`]), newest first.
    pub fn step_runs(
        &self,
        workflow: &str,
        step: &str,
        last: u32,
    ) -> Result<Vec<StepRun>, StoreError> {
        let r = in_read_snapshot(&self.conn, |conn| {
            let mut st = conn.prepare_cached(STEP_RUNS)?;
            let rows = st.query_map(params![workflow, step, last.min(MAX_RUNS)], |r| {
                Ok(StepRun {
                    run_id: r.get(0)?,
                    started_at: Timestamp(r.get(1)?),
                    state: StepState::parse(&r.get::<_, String>(2)?)
                        .unwrap_or(StepState::Interrupted),
                    attempts: r.get(3)?,
                    duration_ms: r
                        .get::<_, Option<i64>>(4)?
                        .and_then(|d| u64::try_from(d).ok()),
                })
            })?;
            let mut runs = rows.collect::<Result<Vec<_>, _>>()?;
            // A run whose rows lag its events reads as of its last event.
            let lagging = catch_up::lagging(conn)?;
            for run in runs.iter_mut().filter(|r| lagging.contains(&r.run_id)) {
                if let Some((state, attempts)) = catch_up::step_now(conn, &run.run_id, step)? {
                    run.state = StepState::parse(&state).unwrap_or(StepState::Interrupted);
                    run.attempts = attempts;
                    let (_, ms) = catch_up::attempt_now(conn, &run.run_id, step, attempts)?;
                    run.duration_ms = ms.and_then(|d| u64::try_from(d).ok());
                }
            }
            Ok(runs)
        });
        self.ctx(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::StatementStatus;

    /// A store of `n` runs of `w` (one step `build` each, its duration the run's number,
    /// every seventh failed) and as many of another workflow, written row by row.
    fn store_of(n: i64) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("h.db")).unwrap();
        s.conn.execute_batch("BEGIN").unwrap();
        for i in 0..n {
            for w in ["w", "other"] {
                let id = format!("{w}-{i:07}");
                let state = if i % 7 == 0 { "failed" } else { "succeeded" };
                s.conn
                    .execute(
                        "INSERT INTO runs (id, workflow, source_path, operator, state, started_at)
                         VALUES (?1, ?2, 'w.toml', 'op', ?3, ?4)",
                        params![id, w, state, i * 60_000],
                    )
                    .unwrap();
                s.conn
                    .execute(
                        "INSERT INTO steps (run_id, step_id, state, attempts) VALUES (?1, 'build', ?2, 1)",
                        params![id, state],
                    )
                    .unwrap();
                s.conn
                    .execute(
                        "INSERT INTO attempts (run_id, step_id, attempt, state, duration_ms)
                         VALUES (?1, 'build', 1, ?2, ?3)",
                        params![id, state, i],
                    )
                    .unwrap();
            }
        }
        s.conn.execute_batch("COMMIT").unwrap();
        (dir, s)
    }

    /// The virtual machine steps SQLite took to read the newest `last` runs: the work
    /// done, counted, not timed.
    fn vm_steps(s: &Store, last: u32) -> (usize, i32) {
        let mut st = s.conn.prepare(STEP_RUNS).unwrap();
        let n = st
            .query_map(params!["w", "build", last], |_| Ok(()))
            .unwrap()
            .count();
        (n, st.get_status(StatementStatus::VmStep))
    }

    #[test]
    fn the_newest_runs_are_read_and_the_work_does_not_grow_with_the_store() {
        let (_d, small) = store_of(1_000);
        let (_d2, big) = store_of(100_000);
        let rows = big.step_runs("w", "build", 200).unwrap();
        assert_eq!(rows.len(), 200);
        assert_eq!(rows[0].run_id, "w-0099999");
        assert_eq!(rows[0].duration_ms, Some(99_999));
        assert_eq!(rows[199].run_id, "w-0099800");
        assert!(rows.iter().all(|r| r.attempts == 1));
        assert_eq!(
            rows.iter().filter(|r| r.state == StepState::Failed).count(),
            rows.iter()
                .filter(|r| r.duration_ms.unwrap() % 7 == 0)
                .count()
        );
        // The same work on 1,000 runs as on 100,000 (200 runs of 200,000 rows read).
        let (n_small, steps_small) = vm_steps(&small, 200);
        let (n_big, steps_big) = vm_steps(&big, 200);
        assert_eq!((n_small, n_big), (200, 200));
        assert_eq!(steps_small, steps_big, "work grew with the store");
        // And it grows with the runs asked for, not the store: 50 runs, about a quarter.
        let (_, steps_50) = vm_steps(&big, 50);
        assert!(steps_50 * 3 < steps_big, "{steps_50} vs {steps_big}");
        // Asking for more than the cap reads the cap.
        assert_eq!(
            big.step_runs("w", "build", u32::MAX).unwrap().len(),
            MAX_RUNS as usize
        );
    }

    #[test]
    fn the_query_walks_the_workflows_index_and_looks_up_the_rest_by_key() {
        let (_d, s) = store_of(10);
        let mut st = s
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {STEP_RUNS}"))
            .unwrap();
        let plan: Vec<String> = st
            .query_map(params!["w", "build", 5], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            plan.iter().any(|d| d.contains("INDEX runs_by_workflow")),
            "{plan:?}"
        );
        assert!(
            !plan
                .iter()
                .any(|d| d.starts_with("SCAN") && !d.starts_with("SCAN r")),
            "{plan:?}"
        );
    }
}

//! When a run's output was written, once the run has ended (issue 29 point 2: a file per
//! attempt at most). While a run goes on its attempts append their records to the run's
//! time index beside their logs (`model::logtimes::INDEX`), where a console in any
//! process reads them as they come; when the run ends, the engine that drove it moves
//! each log's records onto its attempt's row ([`Store::fold_log_times`]) and removes
//! the file, in that order. Readers take the rows when the files hold no record of a
//! log, so there is no moment when neither holds them.
use super::{Store, StoreError, in_transaction};
use baton_model::Timestamp;
use baton_model::logtimes::{self, INDEX};
use rusqlite::{OptionalExtension, params};
use std::path::Path;

impl Store {
    /// Move the time index in `dir` (the ended run `run_id`'s log directory) onto the
    /// run's attempts' rows, then remove it: how many logs' records were kept. Records
    /// of a log no attempt row names (an attempt lost with a killed engine) are dropped
    /// with the file; the log itself stays. No index (nothing was written, or already
    /// moved): nothing to do.
    pub fn fold_log_times(&self, run_id: &str, dir: &Path) -> Result<usize, StoreError> {
        let path = dir.join(INDEX);
        let text = match std::fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(source) => return Err(StoreError::Io { path, source }),
        };
        let mut by_log = logtimes::parse_index_all(&text);
        let r = in_transaction(&self.conn, |conn| {
            // The rows name every log recorded (`read::catch_up::logs`).
            crate::read::catch_up::catch_up(conn, run_id)?;
            let mut paths = conn.prepare_cached(
                "SELECT step_id, attempt, log_path FROM attempts WHERE run_id = ?1",
            )?;
            let rows: Vec<(String, u32, Option<String>)> = paths
                .query_map([run_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<Result<_, _>>()?;
            let mut set = conn.prepare_cached(
                "UPDATE attempts SET log_times = ?4 WHERE run_id = ?1 AND step_id = ?2 AND attempt = ?3",
            )?;
            let mut kept = 0;
            for (step, attempt, log_path) in rows {
                let name = log_path
                    .as_deref()
                    .and_then(|p| Path::new(p).file_name())
                    .map(|n| n.to_string_lossy().into_owned());
                let Some(records) = name.and_then(|n| by_log.remove(&n)) else {
                    continue;
                };
                let text: String = records
                    .iter()
                    .map(|&(o, t)| logtimes::record(o, t))
                    .collect();
                set.execute(params![run_id, step, attempt, text])?;
                kept += 1;
            }
            Ok(kept)
        });
        let kept = self.ctx_run(run_id, r)?;
        // Only once the rows hold them: a reader that finds no file finds the rows.
        std::fs::remove_file(&path).map_err(|source| StoreError::Io { path, source })?;
        Ok(kept)
    }

    /// The time records of `step_id`'s attempt `attempt` in `run_id` kept on its row
    /// (none while the run goes on: they are in the run's index then).
    pub fn log_times(
        &self,
        run_id: &str,
        step_id: &str,
        attempt: u32,
    ) -> Result<Vec<(u64, Timestamp)>, StoreError> {
        let text: Option<String> = self
            .conn
            .prepare_cached(
                "SELECT log_times FROM attempts WHERE run_id = ?1 AND step_id = ?2 AND attempt = ?3",
            )?
            .query_row(params![run_id, step_id, attempt], |r| r.get(0))
            .optional()?
            .flatten();
        Ok(text.map_or_else(Vec::new, |t| logtimes::parse(t.as_bytes()).0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_model::logtimes::index_record;

    #[test]
    fn an_ended_runs_index_moves_onto_its_attempts_rows_and_the_file_goes() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("b.db")).unwrap();
        let run = "R1";
        store
            .create_run(&crate::records::NewRun {
                id: run.into(),
                workflow: "w".into(),
                source_path: "w.toml".into(),
                source_text: "name = \"w\"\n".into(),
                params_json: "{}".into(),
                operator: "alice".into(),
                started_at: Timestamp(0),
                parent: None,
                steps: vec!["a".into(), "b".into()],
            })
            .unwrap();
        let logs = store.log_dir(run);
        std::fs::create_dir_all(&logs).unwrap();
        for (step, n) in [("a", 1), ("b", 1), ("b", 2)] {
            let path = logs.join(baton_model::log_file_name(step, n));
            store.set_attempt_log(run, step, n, &path, "").unwrap();
        }
        let t = Timestamp::from_millis(1_700_000_000_000);
        let u = Timestamp::from_millis(1_700_000_001_000);
        let index = [
            index_record("a.1.log", 0, t),
            index_record("b.2.log", 0, t),
            index_record("a.1.log", 12, u),
            index_record("lost.1.log", 0, u),
            "b.2.log 7".into(), // torn by a crash, never ended
        ]
        .concat();
        std::fs::write(logs.join(INDEX), index).unwrap();
        assert_eq!(store.fold_log_times(run, &logs).unwrap(), 2);
        assert!(!logs.join(INDEX).exists());
        assert_eq!(store.log_times(run, "a", 1).unwrap(), [(0, t), (12, u)]);
        assert_eq!(store.log_times(run, "b", 2).unwrap(), [(0, t)]);
        assert_eq!(store.log_times(run, "b", 1).unwrap(), []);
        assert_eq!(store.log_times(run, "nope", 1).unwrap(), []);
        // Moved once: a second fold finds nothing and keeps what the rows hold.
        assert_eq!(store.fold_log_times(run, &logs).unwrap(), 0);
        assert_eq!(store.log_times(run, "a", 1).unwrap(), [(0, t), (12, u)]);
    }
}

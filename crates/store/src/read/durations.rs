//! How long a workflow's steps took before (issue 45 point 6): the console's estimate
//! of the time a run has left goes by them, never by counts of steps.
use crate::error::StoreError;
use crate::ledger::Store;
use std::collections::BTreeMap;

/// How many of the workflow's newest runs the estimate reads: enough that one failed
/// or odd run does not decide it, few enough to read at once when a run opens.
pub(crate) const DURATION_RUNS: u32 = 20;

/// A step's time is its last attempt's (the one that succeeded), from `attempts`.
const STEP_DURATIONS: &str = "WITH recent AS (
        SELECT id FROM runs WHERE workflow = ?1 AND id <> ?2
        ORDER BY started_at DESC, id DESC LIMIT ?3)
     SELECT s.step_id, a.duration_ms
     FROM recent r
     JOIN steps s ON s.run_id = r.id AND s.state = 'succeeded'
     JOIN attempts a ON a.run_id = r.id AND a.step_id = s.step_id AND a.attempt = s.attempts
     WHERE a.duration_ms IS NOT NULL";

impl Store {
    /// Each step's usual run time (ms): the median of its successes in the newest
    /// [`DURATION_RUNS`] runs of `workflow` other than `except`, whatever those runs'
    /// outcomes (a run that failed late still timed its early steps); a step that
    /// never succeeded there has none. Read once when a run is opened.
    pub fn step_durations(
        &self,
        workflow: &str,
        except: &str,
    ) -> Result<BTreeMap<String, u64>, StoreError> {
        let r = (|| {
            let mut st = self.conn.prepare_cached(STEP_DURATIONS)?;
            let rows = st.query_map(rusqlite::params![workflow, except, DURATION_RUNS], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })?;
            let mut all: BTreeMap<String, Vec<u64>> = BTreeMap::new();
            for row in rows {
                let (step, ms) = row?;
                all.entry(step)
                    .or_default()
                    .push(u64::try_from(ms).unwrap_or(0));
            }
            Ok(all
                .into_iter()
                .map(|(step, mut ms)| {
                    ms.sort_unstable();
                    (step, ms[ms.len() / 2])
                })
                .collect())
        })();
        self.ctx(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::params;

    /// `build` took 10, 30, 20 ms in three runs, the newest of which failed after it;
    /// `deploy` succeeded once; the run being opened is left out. (Issue 76: the query
    /// read a column `steps` does not have, so every estimate read `ETA unknown`.)
    #[test]
    fn each_step_s_median_over_the_newest_runs_whatever_their_outcome() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("d.db")).unwrap();
        let rows = [
            ("r1", "succeeded", 1, &[("build", 10), ("deploy", 500)][..]),
            ("r2", "succeeded", 2, &[("build", 30)][..]),
            ("r3", "failed", 3, &[("build", 20)][..]),
            ("now", "running", 4, &[("build", 99_000)][..]),
        ];
        for (id, state, at, steps) in rows {
            s.conn
                .execute(
                    "INSERT INTO runs (id, workflow, source_path, operator, state, started_at)
                     VALUES (?1, 'w', 'w.toml', 'op', ?2, ?3)",
                    params![id, state, at],
                )
                .unwrap();
            for (step, ms) in steps {
                s.conn
                    .execute(
                        "INSERT INTO steps (run_id, step_id, state, attempts) VALUES (?1, ?2, 'succeeded', 1)",
                        params![id, step],
                    )
                    .unwrap();
                s.conn
                    .execute(
                        "INSERT INTO attempts (run_id, step_id, attempt, state, duration_ms)
                         VALUES (?1, ?2, 1, 'succeeded', ?3)",
                        params![id, step, ms],
                    )
                    .unwrap();
            }
        }
        let d = s.step_durations("w", "now").unwrap();
        assert_eq!(
            d.get("build"),
            Some(&20),
            "the median, the failed run's too"
        );
        assert_eq!(d.get("deploy"), Some(&500));
        assert_eq!(d.len(), 2);
    }
}

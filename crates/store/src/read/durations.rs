//! How long a workflow's steps took before (issue 45 point 6): the console's estimate
//! of the time a run has left goes by them, never by counts of steps.
use crate::error::StoreError;
use crate::ledger::Store;
use std::collections::BTreeMap;

impl Store {
    /// Each step's run time (ms) in the newest successful run of `workflow` other
    /// than `except`; empty when it never succeeded. Read once when a run is opened.
    pub fn step_durations(
        &self,
        workflow: &str,
        except: &str,
    ) -> Result<BTreeMap<String, u64>, StoreError> {
        let r = (|| {
            let mut st = self.conn.prepare_cached(
                "SELECT step_id, duration_ms FROM steps
                 WHERE run_id = (SELECT id FROM runs WHERE workflow = ?1 AND id <> ?2
                                 AND state = 'succeeded' ORDER BY started_at DESC LIMIT 1)
                   AND state = 'succeeded' AND duration_ms IS NOT NULL",
            )?;
            let rows = st.query_map([workflow, except], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })?;
            let mut out = BTreeMap::new();
            for row in rows {
                let (step, ms) = row?;
                out.insert(step, u64::try_from(ms).unwrap_or(0));
            }
            Ok(out)
        })();
        self.ctx(r)
    }
}

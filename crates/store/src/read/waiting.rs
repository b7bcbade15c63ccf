//! Which runs have something waiting on a person (issue 28 point 1): an open gate, a
//! step to retry or mark, an exhausted budget. One cheap question across runs, read
//! from the runs' summaries (`store::summaries`: `waiting`, in a partial index of its
//! own); what exactly waits in each run is its read model's (`session::inbox`).
use super::{Store, StoreError};

/// The runs whose summary says something waits: the partial index alone.
const WAITING: &str = "SELECT run_id FROM run_summaries WHERE waiting = 1";

impl Store {
    /// The ids of the runs that may have something waiting on someone.
    pub fn runs_waiting_on_someone(&self) -> Result<Vec<String>, StoreError> {
        let r = (|| {
            let mut st = self.conn.prepare_cached(WAITING)?;
            let rows = st.query_map([], |r| r.get::<_, String>(0))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })();
        self.ctx(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The question reads the partial index, never a scan of every run.
    #[test]
    fn the_question_uses_the_partial_index() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("b.db")).unwrap();
        let mut st = store
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {WAITING}"))
            .unwrap();
        let plan: Vec<String> = st
            .query_map([], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let plan = plan.join("\n");
        assert!(
            plan.contains("COVERING INDEX run_summaries_waiting"),
            "{plan}"
        );
    }
}

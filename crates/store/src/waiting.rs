//! Which runs have something waiting on a person (issue 28 point 1): an open gate, a
//! step to retry or mark, an exhausted budget. One cheap question across runs, read
//! from two partial indexes (schema: `WAITING_ON_SOMEONE`, the steps' one rewritten by
//! migration 21); what exactly waits in each run is its read model's (`session::inbox`).
use super::{Store, StoreError};

/// The same states as the index's, written the same way (`schema::WAITING_WHERE`).
static WAITING: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT run_id FROM steps WHERE {}
         UNION
         SELECT run_id FROM errors WHERE open = 1 AND kind = 'budget_exceeded'",
        super::schema::WAITING_WHERE
    )
});

impl Store {
    /// The ids of the runs that may have something waiting on someone.
    pub fn runs_waiting_on_someone(&self) -> Result<Vec<String>, StoreError> {
        let r = (|| {
            let mut st = self.conn.prepare_cached(&WAITING)?;
            let rows = st.query_map([], |r| r.get::<_, String>(0))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })();
        self.ctx(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The question reads the partial indexes, never a scan of every step.
    #[test]
    fn the_question_uses_the_partial_indexes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("b.db")).unwrap();
        let mut st = store
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {}", *WAITING))
            .unwrap();
        let plan: Vec<String> = st
            .query_map([], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let plan = plan.join("\n");
        assert!(plan.contains("steps_waiting_on_someone"), "{plan}");
        assert!(plan.contains("errors_budget_open"), "{plan}");
        assert!(
            !plan.contains("SCAN steps\n") && !plan.ends_with("SCAN steps"),
            "{plan}"
        );
    }
}

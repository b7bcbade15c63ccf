//! Each fanned-out step's instance counts in one run, from its summary
//! (`store::summaries`; an instance's id is `STEP[…]`, and a workflow step's id never
//! holds `[`): what `runs` reports under a run, each state classified by
//! `model::fan::FanCounts` as the core counts them for every view of a run. Only the
//! runs with a fan-out are read (the partial index `run_summaries_fanned`).
use super::{Store, StoreError};
use baton_model::fan::FanCounts;
use baton_model::state_summary::StateSummary;
use std::collections::HashMap;

/// Above this many runs, [`Store::fan_counts_of`] reads the summaries of the runs with a
/// fan-out once for all of them instead of once per run.
const ONE_PASS_FROM: usize = 64;

/// One run's summary's row if it has a fan-out.
pub(crate) const FANNED_ONE: &str = "SELECT 1 FROM run_summaries WHERE run_id = ?1 AND fanned = 1";

/// Every run's summary that has a fan-out: the partial index `run_summaries_fanned`.
pub(crate) const FANNED_ALL: &str = "SELECT run_id, json FROM run_summaries WHERE fanned = 1";

impl Store {
    /// (step, its instances' counts) for each fanned-out step of `run_id`, by step id
    /// (the summary keeps no plan order).
    pub fn fan_counts(&self, run_id: &str) -> Result<Vec<(String, FanCounts)>, StoreError> {
        let r = super::in_read_snapshot(&self.conn, |c| fans_of(c, run_id));
        self.ctx(r)
    }

    /// [`Store::fan_counts`] of each of `run_ids`, in their order: for a long list, one
    /// pass over the summaries of the runs with a fan-out (in a snapshot), not a query
    /// per run.
    pub fn fan_counts_of(
        &self,
        run_ids: &[&str],
    ) -> Result<Vec<Vec<(String, FanCounts)>>, StoreError> {
        if run_ids.len() < ONE_PASS_FROM {
            return run_ids.iter().map(|id| self.fan_counts(id)).collect();
        }
        let r = super::in_read_snapshot(&self.conn, |c| {
            let lagging = super::catch_up::lagging(c)?;
            let mut st = c.prepare_cached(FANNED_ALL)?;
            let mut rows = st.query([])?;
            let mut by_run: HashMap<String, Vec<(String, FanCounts)>> = HashMap::new();
            while let Some(row) = rows.next()? {
                let id: String = row.get(0)?;
                let s: StateSummary = match lagging.contains(&id) {
                    true => super::summaries::load(c, &id)?,
                    false => serde_json::from_str(row.get_ref(1)?.as_str()?)?,
                };
                by_run.insert(id, s.fan_counts());
            }
            Ok(run_ids
                .iter()
                .map(|id| by_run.remove(*id).unwrap_or_default())
                .collect())
        });
        self.ctx(r)
    }
}

/// Run `run_id`'s fan counts, if its summary's row says it fans out (the flag is
/// written as it moves): its summary as of its last event (`summaries::load`).
fn fans_of(c: &rusqlite::Connection, run_id: &str) -> Result<Vec<(String, FanCounts)>, StoreError> {
    let mut st = c.prepare_cached(FANNED_ONE)?;
    if st.query([run_id])?.next()?.is_none() {
        return Ok(Vec::new());
    }
    Ok(super::summaries::load(c, run_id)?.fan_counts())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::NewRun;
    use baton_model::Timestamp;

    /// Read for many runs at once, the counts are each run's own, in the order asked.
    #[test]
    fn one_pass_over_many_runs_counts_what_each_run_counts() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("f.db")).unwrap();
        let mut ids = Vec::new();
        for i in 0..ONE_PASS_FROM + 6 {
            let id = format!("01r{i:04}");
            let mut steps = vec!["build".to_string()];
            if i % 3 == 0 {
                steps.extend((0..i % 5 + 1).map(|k| format!("test[{k}]")));
                steps.push("lint[a]".into());
            }
            s.create_run(&NewRun {
                id: id.clone(),
                workflow: "w".into(),
                source_path: "w.toml".into(),
                source_text: "name = \"w\"\n".into(),
                params_json: "{}".into(),
                operator: "alice".into(),
                started_at: Timestamp(i as i64),
                parent: None,
                steps,
            })
            .unwrap();
            ids.push(id);
        }
        ids.reverse();
        let asked: Vec<&str> = ids.iter().map(String::as_str).collect();
        let each: Vec<_> = asked.iter().map(|id| s.fan_counts(id).unwrap()).collect();
        assert!(each.iter().any(|f| f.len() == 2), "some runs fan out");
        assert_eq!(s.fan_counts_of(&asked).unwrap(), each);
        assert_eq!(s.fan_counts_of(&asked[..3]).unwrap(), each[..3]);
    }
}

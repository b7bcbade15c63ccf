//! Each fanned-out step's instance counts in one run, from its projected `steps` rows
//! (an instance's id is `STEP[…]`, and a workflow step's id never holds `[`): what
//! `runs` reports under a run, each state classified by `model::fan::FanCounts` as the
//! core counts them for every view of a run. One range of the index of instances
//! (`steps_fanned`).
use super::{Store, StoreError};
use baton_model::StepState;
use baton_model::fan::FanCounts;
use std::collections::HashMap;

/// Above this many runs, [`Store::fan_counts_of`] reads the index of instances once for
/// all of them instead of once per run (a query's own cost, times 50,000, was a fifth
/// of `runs --json`).
const ONE_PASS_FROM: usize = 64;

impl Store {
    /// (step, its instances' counts) for each fanned-out step of `run_id`, by step id (the
    /// projection keeps no plan order).
    pub fn fan_counts(&self, run_id: &str) -> Result<Vec<(String, FanCounts)>, StoreError> {
        let r = (|| {
            let mut st = self.conn.prepare_cached(&fan_counts_sql())?;
            let mut rows = st.query([run_id])?;
            let mut out: Vec<(String, FanCounts)> = Vec::new();
            while let Some(row) = rows.next()? {
                add(
                    &mut out,
                    row.get(0)?,
                    &row.get::<_, String>(1)?,
                    row.get(2)?,
                );
            }
            Ok(out)
        })();
        self.ctx(r)
    }

    /// [`Store::fan_counts`] of each of `run_ids`, in their order: for a long list, one
    /// pass over the index of instances (in a snapshot), not a query per run.
    pub fn fan_counts_of(
        &self,
        run_ids: &[&str],
    ) -> Result<Vec<Vec<(String, FanCounts)>>, StoreError> {
        if run_ids.len() < ONE_PASS_FROM {
            return run_ids.iter().map(|id| self.fan_counts(id)).collect();
        }
        let r = super::in_read_snapshot(&self.conn, |c| {
            let mut st = c.prepare_cached(&every_runs_fan_counts_sql())?;
            let mut rows = st.query([])?;
            let mut by_run: HashMap<String, Vec<(String, FanCounts)>> = HashMap::new();
            while let Some(row) = rows.next()? {
                let fans = by_run.entry(row.get(0)?).or_default();
                add(fans, row.get(1)?, &row.get::<_, String>(2)?, row.get(3)?);
            }
            Ok(run_ids
                .iter()
                .map(|id| by_run.remove(*id).unwrap_or_default())
                .collect())
        });
        self.ctx(r)
    }
}

/// `n` instances of `parent` in `state`, counted into `out` (kept in `parent` order).
fn add(out: &mut Vec<(String, FanCounts)>, parent: String, state: &str, n: i64) {
    let state = StepState::parse(state).unwrap_or(StepState::Interrupted);
    let n = n as usize;
    match out.iter_mut().find(|(p, _)| *p == parent) {
        Some((_, c)) => c.add(state, n),
        None => {
            let mut c = FanCounts::default();
            c.add(state, n);
            out.push((parent, c));
        }
    }
}

/// Each fanned-out step's instances by state: read from the index of instances alone
/// (`schema::FANNED_WHERE`), so a run without a fan-out costs one probe.
pub(super) fn fan_counts_sql() -> String {
    format!(
        "SELECT substr(step_id, 1, instr(step_id, '[') - 1) AS parent, state, count(*)
         FROM steps WHERE run_id = ?1 AND {}
         GROUP BY parent, state ORDER BY parent",
        super::schema::FANNED_WHERE
    )
}

/// [`fan_counts_sql`] of every run at once: one pass over the index of instances.
pub(super) fn every_runs_fan_counts_sql() -> String {
    format!(
        "SELECT run_id, substr(step_id, 1, instr(step_id, '[') - 1) AS parent, state, count(*)
         FROM steps WHERE {}
         GROUP BY run_id, parent, state ORDER BY run_id, parent",
        super::schema::FANNED_WHERE
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NewRun;
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

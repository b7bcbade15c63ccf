//! Each fanned-out step's instance counts in one run, from its projected `steps` rows
//! (an instance's id is `STEP[…]`, and a workflow step's id never holds `[`): what
//! `runs` reports under a run, each state classified by `model::fan::FanCounts` as the
//! core counts them for every view of a run. One index range of that run's rows.
use super::{Store, StoreError};
use crate::model::StepState;
use crate::model::fan::FanCounts;

impl Store {
    /// (step, its instances' counts) for each fanned-out step of `run_id`, by step id (the
    /// projection keeps no plan order).
    pub fn fan_counts(&self, run_id: &str) -> Result<Vec<(String, FanCounts)>, StoreError> {
        let r = (|| {
            let mut st = self.conn.prepare_cached(
                "SELECT substr(step_id, 1, instr(step_id, '[') - 1) AS parent, state, count(*)
                 FROM steps WHERE run_id = ?1 AND instr(step_id, '[') > 0
                 GROUP BY parent, state ORDER BY parent",
            )?;
            let mut rows = st.query([run_id])?;
            let mut out: Vec<(String, FanCounts)> = Vec::new();
            while let Some(row) = rows.next()? {
                let parent: String = row.get(0)?;
                let state =
                    StepState::parse(&row.get::<_, String>(1)?).unwrap_or(StepState::Interrupted);
                let n = row.get::<_, i64>(2)? as usize;
                match out.iter_mut().find(|(p, _)| *p == parent) {
                    Some((_, c)) => c.add(state, n),
                    None => {
                        let mut c = FanCounts::default();
                        c.add(state, n);
                        out.push((parent, c));
                    }
                }
            }
            Ok(out)
        })();
        self.ctx(r)
    }
}

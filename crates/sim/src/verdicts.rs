//! commands.md: a command no engine took in time is refused, and "a command claimed
//! under another holder, whose engine stopped before its verdict … is taken again, so
//! it is decided on record": nothing asked of a person is lost across crashes. Every
//! command handed to the store gets a verdict once its run's engine is alive again or
//! the run ends. And [`crate::Bug::DropReclaimed`], the bug put back that breaks it.
use crate::world::World;
use crate::{Bug, SimError};
use baton_store::Store;
use std::collections::BTreeSet;

/// Once the world settled: every command row of a run that ended, or that a live
/// engine drives (and woke since), has its verdict (`accepted`, `refused`). Left out:
/// a row whose submitter set a deadline and that no engine took (pending) on a run
/// that ended: its submitter withdraws it, and should it have died, the run's next
/// engine refuses it as expired (it waits for that engine). A row recorded for the
/// run's next engine (no deadline) and no engine took waits for that engine, which a
/// run that ended has only when reopened (a forged row's, or `--no-drive`'s). A row
/// an engine claimed has no such way out: it is taken again by the run's next engine,
/// and a takeover whose command ends the run decides the rows it claims in the commit
/// that ends it (`wake::start`; `--mix cli` seed 79, fixed), so none stays
/// claimed on a run that ended.
pub(crate) fn every_command_gets_a_verdict(
    store: &Store,
    raw: &rusqlite::Connection,
) -> Result<Option<String>, SimError> {
    type Row = (i64, String, String, Option<String>);
    let rows: Vec<Row> = raw
        .prepare(
            "SELECT id, run_id, status, claimed_by FROM commands
             WHERE outcome IS NULL ORDER BY id",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<Result<_, _>>()?;
    for (id, run, status, claimed_by) in rows {
        let live = store.run_liveness(&run)?;
        let ended = live.state.is_final();
        let whose = match (&live.driven_by, ended) {
            (Some(holder), _) => format!("driven by {holder}"),
            (None, true) => format!("ended {:?}", live.state),
            (None, false) => continue,
        };
        let lost = match status.as_str() {
            "claimed" => true,
            "pending" => live.driven_by.is_some(),
            _ => false,
        };
        if lost {
            let by = claimed_by.map_or(String::new(), |h| format!(" by {h}"));
            return Ok(Some(format!(
                "command #{id} on {run} is {status}{by} with no verdict, its run {whose}"
            )));
        }
    }
    Ok(None)
}

impl World {
    /// With [`Bug::DropReclaimed`]: the rows of `run` claimed under another holder,
    /// which the claim about to be made takes again and the buggy engine drops.
    pub(crate) fn reclaimable(&self, run: &str) -> Result<BTreeSet<i64>, SimError> {
        if self.config.bug != Some(Bug::DropReclaimed) {
            return Ok(BTreeSet::new());
        }
        Ok(self
            .raw
            .prepare("SELECT id FROM commands WHERE run_id = ?1 AND status = 'claimed'")?
            .query_map([run], |r| r.get(0))?
            .collect::<Result<_, _>>()?)
    }
}

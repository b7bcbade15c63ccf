//! The promises about takeovers cut short (`--mix cli`: a takeover's process killed
//! between its lease and its settle) and about serves resuming runs (`--mix serves`):
//! checked after every action.
use crate::SimError;
use crate::world::World;
use baton_model::{LEASE_STALE, RunState};
use rusqlite::OptionalExtension;
use std::time::Duration;

impl World {
    /// `Store::take_over_lease` (the session's takeover marks its lease as its own
    /// until it settles): "until the takeover settles […] the run reads `interrupted`
    /// and holds nothing by it"; and commands.md: a run whose engine died is
    /// "undriven: interrupted", for `baton resume` to take over. A run whose takeover's
    /// process died between its lease and its settle reads interrupted (or as it
    /// ended, a finished run) while that lease is its own, and once that lease lapsed
    /// no one drives it: a resume takes it.
    pub(crate) fn a_dead_takeover_leaves_the_run_interrupted(
        &mut self,
    ) -> Result<Option<String>, SimError> {
        let mut gone = Vec::new();
        let mut broke = None;
        for (run, (holder, died)) in &self.dead_takers {
            let lease: Option<String> = self
                .raw
                .query_row("SELECT holder FROM leases WHERE run_id = ?1", [run], |r| {
                    r.get(0)
                })
                .optional()?;
            // Taken over since (or its lease given up): the new taker's now.
            if lease.as_deref() != Some(holder.as_str()) {
                gone.push(run.clone());
                continue;
            }
            let read = self.ops.run_liveness(run)?;
            let at = died - crate::world::T0;
            if read.state != RunState::Interrupted && !read.state.is_final() {
                broke = Some(format!(
                    "{run} reads {} under the lease of a takeover killed before its settle ({holder}, at t+{at})",
                    read.state.as_str()
                ));
                break;
            }
            let lapsed = Duration::from_millis(u64::try_from(self.now - died).unwrap_or(0));
            if lapsed > LEASE_STALE
                && let Some(by) = read.driven_by
            {
                broke = Some(format!(
                    "{run} still reads driven by {by} {} ms after its takeover was killed before its settle: no resume takes it",
                    self.now - died
                ));
                break;
            }
        }
        for run in gone {
            self.dead_takers.remove(&run);
        }
        Ok(broke)
    }
}

//! A simulated engine's command rows claimed (`wake::claim`, the engine's own): what
//! is this world's is which attempts its host still has (a release traced ahead), and
//! the `--bug` switches that filter what was claimed (`Bug::ObeyUnproven`,
//! `Bug::DropReclaimed`).
use crate::world::World;
use crate::{Bug, SimError};
use baton_core::Input;
use baton_engine::wake;

impl World {
    /// The run's command rows, claimed with each one's proof checked (one store call).
    pub(crate) fn gather_commands(&mut self, e: usize, run: &str) -> Result<Vec<Input>, SimError> {
        let obey_all = self.config.bug == Some(Bug::ObeyUnproven);
        let dropped = self.reclaimable(run)?;
        let World {
            engines, executors, ..
        } = self;
        let engine = &mut engines[e];
        let Some(driven) = engine.runs.get_mut(run) else {
            return Ok(Vec::new());
        };
        // An adopted attempt is traced ahead of its release when its host still has it.
        let mut trace = |step, attempt| {
            let key = (run.to_string(), step, attempt);
            executors.attempts.contains_key(&key).then_some(Ok(()))
        };
        let run_ = wake::Run {
            store: &mut engine.store,
            run_id: run,
            core: &mut driven.core,
        };
        let claimed = wake::claim(run_, &mut engine.wal_unscrubbed, &mut trace)?;
        Ok(claimed
            .into_iter()
            .filter(|i| !matches!(i, Input::Command { id: Some(id), .. } | Input::UnprovenCommand { id, .. } if dropped.contains(id)))
            .map(|i| match i {
                // The bug put back: a row whose proof failed is obeyed.
                Input::UnprovenCommand { id, command, .. } if obey_all => Input::Command {
                    id: Some(id),
                    command,
                },
                i => i,
            })
            .collect())
    }
}

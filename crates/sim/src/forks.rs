//! `baton fork RUN --from STEP` by the operator: the source checked and the plan made by
//! the session's own functions (`session::fork_source`, `session::fork_plan`, what the
//! CLI and the console call), the new run made by an engine as `baton run` makes one,
//! its start recording the fork's link and the steps it reuses.
use crate::SimError;
use crate::world::World;
use baton_session::SessionError;
use rand::Rng;

impl World {
    /// A fork of a run and a step chosen from the seed's fourth stream; a run that has
    /// not ended, or a step whose upstream did not succeed, is refused by the core.
    pub(crate) fn fork(&mut self) -> Result<(), SimError> {
        // A run that ended with a step succeeded, when there is one (an unfinished
        // one is refused; one with nothing succeeded has nothing to reuse).
        let mut ended = Vec::new();
        for (run, w) in &self.runs {
            if self.ops.run_liveness(run)?.state.is_final() && self.checker.succeeded_any(run) {
                ended.push((run.clone(), *w));
            }
        }
        // A rewritten record one time in two, when there is one (`--mix rewrites`).
        let rewritten: Vec<(String, usize)> = self
            .runs
            .iter()
            .filter(|(r, _)| self.is_rewritten(r))
            .cloned()
            .collect();
        let from = match (ended.is_empty(), rewritten.is_empty()) {
            (_, false) if self.more.random_bool(0.5) => &rewritten,
            (true, _) => &self.runs,
            (false, _) => &ended,
        };
        let (run, w) = from[self.more.random_range(0..from.len())].clone();
        let plan = self.workflows[w].plan.clone();
        // From the latest step the core accepts (the most reused), as an operator who
        // reruns what failed would; from a step drawn when it accepts none.
        let drawn = plan.steps[self.more.random_range(0..plan.steps.len())]
            .id
            .clone();
        let step = plan
            .steps
            .iter()
            .rev()
            .map(|s| s.id.clone())
            .find(|s| baton_session::fork_plan(&self.ops, &run, s).is_ok())
            .unwrap_or(drawn);
        let mut e = self.more.random_range(0..crate::world::ENGINES);
        if self.config.bug == Some(crate::Bug::UncheckedFork) {
            return self.fork_unchecked(e, (&run, w), &plan);
        }
        // `--mix accounts`: forked by the account its row names, in its engine's
        // process (which holds its secret), its seal checked (`fork::check_source`).
        let starter = self.ops.run(&run)?.operator;
        let by = self.engine_as(&starter);
        e = by.unwrap_or(e);
        let user = by.map_or_else(|| self.user.clone(), |e| self.engine_user(e));
        let store = match by {
            Some(e) => &mut self.engines[e].store,
            None => &mut self.ops,
        };
        let checked = baton_session::fork_source(store, &run, &step, &user, None)
            .and_then(|_| baton_session::fork_plan(store, &run, &step));
        match checked {
            Ok(fork) => {
                self.history.push(format!(
                    "  fork of {run} from {step}: reuses {:?}, runs again {:?}",
                    fork.reused.iter().map(|r| &r.step).collect::<Vec<_>>(),
                    fork.rerun
                ));
                let before = self.next_run;
                self.start_run(e, w, None, Some(&fork))?;
                // Started (a fork is a new process, none when every engine is stopped).
                if self.next_run != before {
                    let next = crate::world::runs::run_id(self.next_run);
                    if let Some(r) = self.rewritten.iter_mut().find(|r| r.run == run) {
                        r.forked = Some(format!("{next} by {user}"));
                    }
                }
                Ok(())
            }
            Err(SessionError::Refused { refusal, .. }) => {
                self.history.push(format!(
                    "  fork of {run} from {step}: refused ({})",
                    refusal.code()
                ));
                Ok(())
            }
            Err(e) if self.refused_as_rewritten(&run, &e) => {
                self.history.push(format!(
                    "  fork of {run} from {step}: refused (its history is not what was committed)"
                ));
                Ok(())
            }
            Err(other) => Err(other.into()),
        }
    }

    /// [`crate::Bug::UncheckedFork`]: the fork planned from the rows as they read,
    /// from the latest step that plan accepts.
    fn fork_unchecked(
        &mut self,
        e: usize,
        (run, w): (&str, usize),
        plan: &baton_workflow::Plan,
    ) -> Result<(), SimError> {
        for s in plan.steps.iter().rev() {
            if let Some(fork) = self.unchecked_fork_plan(run, w, &s.id)? {
                self.history.push(format!(
                    "  fork of {run} from {} (unchecked): reuses {:?}",
                    s.id,
                    fork.reused.iter().map(|r| &r.step).collect::<Vec<_>>()
                ));
                return self.start_run(e, w, None, Some(&fork));
            }
        }
        Ok(())
    }
}

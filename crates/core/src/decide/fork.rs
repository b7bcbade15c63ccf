//! Forking a finished run from a step (`baton fork RUN --from STEP`, issue 43 point 4),
//! as Airflow's "clear downstream" or Argo's resubmit from a node. The old run's core
//! decides what its fork reuses ([`Core::fork_plan`]: pure, from its folded state); the
//! new run's core starts with it ([`Core::start_fork`]), writing each reused step's
//! outcome into its own history (`step_reused`, then the `step_state_changed` to it),
//! so that a replay of the fork rebuilds the same state and says where each came from.
//!
//! What runs again: STEP, every step downstream of it, every service (what the steps
//! that run again need must be up) and every step the old run left unsettled. Every
//! other step keeps its recorded state (succeeded, skipped, failed…) and outputs. A
//! fanned-out step is reused whole (its recorded instances, each with its outcome) or
//! runs again whole (it fans out anew, from the fork's params); an instance is not a
//! step to fork from. A reused step keeps the outcome of the alternative that gave it
//! (`fallback`); one that runs again starts from the step itself.
use super::*;
use baton_model::view::ForkLink;

/// One step the fork keeps from the old run.
#[derive(Debug, Clone, PartialEq)]
pub struct Reuse {
    pub step: String,
    /// The old run's attempt that gave the outcome (0: none ran, e.g. skipped).
    pub attempt: u32,
    pub state: StepState,
    pub outputs: BTreeMap<String, String>,
    /// The artifacts it kept (issue 60): the fork's readers get the same contents.
    pub artifacts: Vec<baton_model::ArtifactRecord>,
}

/// What a fork of a run from a step does: decided by [`Core::fork_plan`] on the old run.
#[derive(Debug, Clone, PartialEq)]
pub struct ForkPlan {
    pub from_run: String,
    pub from_step: String,
    /// The reused fanned-out steps' recorded instances (`StepFannedOut`), copied.
    pub fans: Vec<(String, Vec<(String, serde_json::Value)>)>,
    /// In the order they are recorded: a fanned-out step's instances before it.
    pub reused: Vec<Reuse>,
    /// The steps that run again, in plan order (the fork's new work).
    pub rerun: Vec<String>,
}

impl Core {
    /// What a fork of this (finished) run from `from` reuses and runs again. Refused:
    /// a run that has not finished (as GitHub's re-run: only a finished run is forked;
    /// an unfinished one is resumed or retried), an unknown step or an instance, and a
    /// step whose upstream did not succeed in this run, so that it would not run.
    pub fn fork_plan(&self, from: &str) -> Result<ForkPlan, Refusal> {
        if !self.run_state.is_final() {
            return Err(Refusal::ForkUnfinished {
                run: self.cfg.run_id.clone(),
                state: self.run_state,
            });
        }
        let Some(&f) = self.ids.get(from) else {
            return Err(Refusal::NoSuchStep {
                step: from.to_string(),
            });
        };
        if let Some(parent) = self.plan.steps[f].instance.as_ref().map(|x| x.parent) {
            return Err(Refusal::ForkFromInstance {
                step: from.to_string(),
                parent: self.id(parent),
            });
        }
        let verdict = self.plan.steps[f].when.verdict(self.upstream(f));
        if matches!(verdict, Verdict::UpstreamFailed | Verdict::Skip)
            && let Some(&d) = self.plan.steps[f]
                .needs
                .iter()
                .find(|&&d| !self.steps[d].state.satisfies_needs())
        {
            return Err(Refusal::ForkUpstreamNotSucceeded {
                run: self.cfg.run_id.clone(),
                step: from.to_string(),
                upstream: self.id(d),
                state: self.steps[d].state,
            });
        }
        let again = self.downstream_of(f);
        let mut plan = ForkPlan {
            from_run: self.cfg.run_id.clone(),
            from_step: from.to_string(),
            fans: Vec::new(),
            reused: Vec::new(),
            rerun: Vec::new(),
        };
        for (i, step) in self.plan.steps.iter().enumerate() {
            if step.instance.is_some() {
                continue;
            }
            let s = &self.steps[i];
            let reuse = !again[i] && step.service.is_none() && s.state.is_final();
            if !reuse {
                plan.rerun.push(step.id.clone());
                continue;
            }
            if let Some(fan) = self.fans.get(&i) {
                let instances = fan
                    .instances
                    .clone()
                    .map(|k| {
                        let value = self.plan.steps[k]
                            .instance
                            .as_ref()
                            .map(|x| x.value.clone())
                            .unwrap_or_default();
                        (self.plan.steps[k].id.clone(), value)
                    })
                    .collect();
                plan.fans.push((step.id.clone(), instances));
                plan.reused
                    .extend(fan.instances.clone().map(|k| self.reuse_of(k)));
            }
            plan.reused.push(self.reuse_of(i));
        }
        Ok(plan)
    }

    fn reuse_of(&self, i: usize) -> Reuse {
        let s = &self.steps[i];
        Reuse {
            step: self.id(i),
            attempt: s.attempts,
            state: s.state,
            outputs: s.outputs.clone(),
            artifacts: self.artifacts_of(i),
        }
    }

    /// `f` and every plan step downstream of it (instances are their step's).
    fn downstream_of(&self, f: usize) -> Vec<bool> {
        let mut again = vec![false; self.steps.len()];
        let mut todo = vec![f];
        again[f] = true;
        while let Some(i) = todo.pop() {
            for &d in &self.dependants[i] {
                if !again[d] && self.plan.steps[d].instance.is_none() {
                    again[d] = true;
                    todo.push(d);
                }
            }
        }
        again
    }

    /// Start a fork: `RunStarted`, `RunForked`, each reused step's recorded outcome
    /// (`StepReused` and its transition), then the run running as [`Core::start`]'s.
    pub fn start_fork(&mut self, fork: &ForkPlan, now: Timestamp) -> Vec<Effect> {
        self.fork_from(fork.clone());
        self.start(now)
    }

    /// Make the run a fork of `fork`'s run: its start ([`Core::start`], or
    /// [`Core::start_as`] in a concurrency group) records it right after `run_started`.
    pub fn fork_from(&mut self, fork: ForkPlan) {
        if self.events.is_empty() {
            self.fork_pending = Some(Box::new(fork));
        }
    }

    /// In a start, after `run_started`: the fork's link and its reused steps.
    pub(super) fn record_fork(&mut self, now: Timestamp, fx: &mut Fx) {
        let Some(fork) = self.fork_pending.take() else {
            return;
        };
        self.emit(
            EventKind::RunForked {
                from_run: fork.from_run.clone(),
                from_step: fork.from_step.clone(),
            },
            now,
            fx,
        );
        for (step, instances) in &fork.fans {
            if self.ids.contains_key(step) {
                let kind = EventKind::StepFannedOut {
                    step: step.clone(),
                    instances: instances.clone(),
                };
                self.emit(kind, now, fx);
            }
        }
        for r in &fork.reused {
            if !self.ids.contains_key(&r.step) {
                continue;
            }
            let kind = EventKind::StepReused {
                step: r.step.clone(),
                from_run: fork.from_run.clone(),
                from_attempt: r.attempt,
                state: r.state,
                outputs: r.outputs.clone(),
                artifacts: r.artifacts.clone(),
            };
            self.emit(kind, now, fx);
            let kind = EventKind::StepStateChanged {
                step: r.step.clone(),
                state: r.state,
                attempt: 0,
                reason: Some(format!("reused from run {}", fork.from_run)),
            };
            self.emit(kind, now, fx);
        }
    }

    /// The run this one was forked from, if it is a fork.
    pub fn forked_from(&self) -> Option<&ForkLink> {
        self.forked_from.as_ref()
    }
}

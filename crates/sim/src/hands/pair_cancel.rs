//! A parent's cancel across its child in `--mix hands`: a `pair-parent` run's `deploy`
//! made its `pair-child` run, whose step runs, when the parent is cancelled. The
//! parent's core decides the cancel (its step killed); the child's engine, the step's
//! process, is stopped by that kill and asks the store whether the parent's cancel is
//! on record since the child started (`session::child::parent_cancelling`), then tells
//! its core what `Driver::run` tells it (`engine::stop_input`): a cancel, not an
//! interrupt. The killed steps' ends follow, then the parent's step's. Draws come from
//! a stream of their own.
use super::Hands;
use super::children::{STEP, exit};
use crate::{Bug, SimError};
use baton_core::{Input, SpawnSpec};
use baton_model::{Command, RunState, StepOutcome};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;

/// This hand's own stream of the seed.
const STREAM: u64 = 0x3c5e_77a1_0000_0000;
/// It plays at one action in this many (no process: cheap).
const EVERY: u32 = 12;

pub(crate) struct PairCancels {
    rng: SmallRng,
    made: u32,
    /// Each child that did not end cancelled, or started a step after its parent's
    /// cancel.
    pub(crate) broken: Vec<String>,
}

impl PairCancels {
    pub(crate) fn new(seed: u64) -> PairCancels {
        PairCancels {
            rng: SmallRng::seed_from_u64(seed ^ STREAM),
            made: 0,
            broken: Vec::new(),
        }
    }

    pub(crate) fn plays(&mut self) -> bool {
        self.rng.random_range(0..EVERY) == 0
    }
}

impl Hands {
    /// A parent cancelled while its child's step runs; the child's engine stopped by
    /// the kill of the parent's step.
    pub(super) fn pair_cancel_hand(&mut self) -> Result<(), SimError> {
        let n = self.pair_cancels.made;
        self.pair_cancels.made += 1;
        let (pid, kid) = (format!("cp{n:03}"), format!("cc{n:03}"));
        let plan = self.pairs.parent_plan();
        let (mut parent, deploy, link, params) =
            self.start_parent(&pid, &plan, STEP, BTreeMap::new(), vec![])?;
        let child_plan = self.pairs.child_plan();
        let since = self.now;
        let (mut child, mut running) =
            self.start(&kid, &child_plan, params, vec![], Some(link.clone()))?;
        if self.pair_cancels.rng.random_bool(0.5) {
            for s in std::mem::take(&mut running) {
                let ok = exit(&s, vec![], String::new());
                running.extend(self.feed_spawning(&kid, &mut child, Input::StepExited(ok))?);
            }
        }
        let cancel = Input::Command {
            id: None,
            command: Command::Cancel {
                operator: "sim".into(),
                reason: Some("the simulator's operator cancels the parent".into()),
            },
        };
        self.feed(&pid, &mut parent, cancel)?;
        // The parent's kill of its step stops the child's engine, which asks the store.
        let cancelled = self.config.bug != Some(Bug::ChildIgnoresParentCancel)
            && baton_session::child::parent_cancelling(&self.store, &link, since);
        let stop = baton_engine::Stop {
            signal: Some(143),
            detach: false,
            cancel: cancelled,
        };
        let heard = baton_engine::stop_input(&stop, child.operator());
        // Each step of the pair started after the cancel: (its run, the attempt).
        let mut started: Vec<(String, SpawnSpec)> = Vec::new();
        let of = |run: &str, fx: Vec<SpawnSpec>| -> Vec<(String, SpawnSpec)> {
            fx.into_iter().map(|s| (run.to_string(), s)).collect()
        };
        started.extend(of(&kid, self.feed_spawning(&kid, &mut child, heard)?));
        for s in &running {
            let killed = baton_core::StepExit {
                outcome: StepOutcome::Signalled { signal: 15 },
                ..exit(s, vec![], String::new())
            };
            started.extend(of(
                &kid,
                self.feed_spawning(&kid, &mut child, Input::StepExited(killed))?,
            ));
        }
        let killed = baton_core::StepExit {
            outcome: StepOutcome::Signalled { signal: 15 },
            ..exit(
                &deploy,
                vec![("child_run".into(), kid.clone())],
                String::new(),
            )
        };
        started.extend(of(
            &pid,
            self.feed_spawning(&pid, &mut parent, Input::StepExited(killed))?,
        ));
        let state = child.run_state();
        for (run, s) in &started {
            self.pair_cancels.broken.push(format!(
                "{run}/{} attempt {} started after the parent {pid} was cancelled",
                s.step_id, s.attempt
            ));
        }
        if state != RunState::Cancelled {
            self.pair_cancels.broken.push(format!(
                "{kid} ended {state:?} after its parent {pid} was cancelled (its engine told to cancel: {cancelled})"
            ));
        }
        self.history.push(format!(
            "  {pid} cancelled with its child {kid}'s {:?} running: the child ended {state:?}, the parent {:?}, {} step(s) started after",
            running.iter().map(|s| &s.step_id).collect::<Vec<_>>(),
            parent.run_state(),
            started.len()
        ));
        Ok(())
    }
}

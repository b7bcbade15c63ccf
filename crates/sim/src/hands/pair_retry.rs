//! A child-run step's `retry` across the pair in `--mix hands`: a `retry-parent` run's
//! `deploy` (`workflow = "pair-child.toml"`, `retry = { attempts = 1 to 3 }`) makes its
//! child, whose steps succeed, fail (exit 1: the child fails, so does the attempt) or
//! die with the child's engine (`kill -9`: the attempt is signalled, the child left
//! interrupted, its lease to go stale). The parent's core decides the retry; each new
//! attempt's child engine does what `baton run --parent` does (src/cli/run_child.rs),
//! with the session's own code: `session::child::find`, `child::decide` (the core's),
//! then `child::retry_failed` (a failed child's failed steps run again),
//! `child::take_over` (an interrupted child driven on) or a new child. The lease checks
//! read the simulator's clock, moved past `LEASE_STALE` each time a child's engine is
//! killed and put back when the hand ends. Draws come from a stream of their own.
use super::Hands;
use super::children::{STEP, exit};
use super::retries::{Played as Ruled, Rule};
use crate::{Bug, SimError};
use baton_core::{Core, Input, SpawnSpec, StepExit};
use baton_model::view::ParentLink;
use baton_model::{EventKind, StepOutcome, StepState, Timestamp};
use baton_session::child::{ChildStart, Started};
use baton_workflow::Plan;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// This hand's own stream of the seed.
const STREAM: u64 = 0x5d0b_2e93_0000_0000;
/// It plays at one action in this many (no process; a takeover or two).
const EVERY: u32 = 8;

/// How often every child of the hand is read for a step started after its parent's.
const SCAN_EVERY: usize = 10;

/// The invariants this hand's ground truth checks at once (the rest read the store).
pub(crate) const ONE_CHILD: &str = "a_child_run_step_has_one_live_child";
pub(crate) const NO_RERUN: &str = "a_retried_child_run_step_runs_no_succeeded_child_step_again";
pub(crate) const AFTER_END: &str = "no_child_step_starts_after_its_parent_step_ended";

/// One parent of the hand: its run and its step's rule, and each child with the
/// number of its events on record when the parent's step ended for good.
pub(crate) struct Played {
    ruled: Ruled,
    ended: Vec<(String, usize)>,
}

pub(crate) struct PairRetries {
    rng: SmallRng,
    /// The parent's workflow by its step's attempts, loaded when first played.
    plans: BTreeMap<u32, (Arc<Plan>, PathBuf)>,
    pub(crate) played: Vec<Played>,
    /// Each promise the hand saw broken as it played: (invariant, what).
    pub(crate) broken: Vec<(&'static str, String)>,
}

impl PairRetries {
    pub(crate) fn new(seed: u64) -> PairRetries {
        PairRetries {
            rng: SmallRng::seed_from_u64(seed ^ STREAM),
            plans: BTreeMap::new(),
            played: Vec::new(),
            broken: Vec::new(),
        }
    }

    pub(crate) fn plays(&mut self) -> bool {
        self.rng.random_range(0..EVERY) == 0
    }
}

/// The parent's workflow: its child-run step retried up to `attempts` attempts on any
/// failure, a millisecond after it.
fn parent_text(attempts: u32) -> String {
    format!(
        "name = \"retry-parent\"\n\n[[step]]\nid = \"{STEP}\"\nworkflow = \"pair-child.toml\"\nretry = {{ attempts = {attempts}, delay = \"1ms\" }}\n"
    )
}

/// A child an attempt drives: its id, its core and first steps, its lease's holder.
type Child = (String, (Core, Vec<SpawnSpec>), String);

/// What one parent's play knows as it goes: the ground truth of its children.
struct Play {
    pid: String,
    /// Each child made, in order.
    kids: Vec<String>,
    /// Each child step that succeeded, in any child of the step.
    succeeded: Vec<String>,
    /// Set once a child's engine is killed: the clock moved past `LEASE_STALE`.
    saved: Option<Timestamp>,
}

impl Hands {
    /// A parent whose child-run step is retried by its rule while its child fails or
    /// its child's engine dies; each attempt's child engine decides as the CLI's does.
    pub(super) fn pair_retry_hand(&mut self) -> Result<(), SimError> {
        let n = self.pair_retries.played.len();
        let attempts = self.pair_retries.rng.random_range(1..=3);
        let plan = match self.pair_retries.plans.get(&attempts) {
            Some(p) => p.clone(),
            None => {
                let name = format!("retry-parent-{attempts}.toml");
                let p = super::children::load(&self.dir, &name, &parent_text(attempts))?;
                self.pair_retries.plans.insert(attempts, p.clone());
                p
            }
        };
        let pid = format!("rp{n:03}");
        let (mut parent, mut deploy, mut link, params) =
            self.start_parent(&pid, &plan, STEP, BTreeMap::new(), vec![])?;
        let mut play = Play {
            pid: pid.clone(),
            kids: Vec::new(),
            succeeded: Vec::new(),
            saved: None,
        };
        let result = loop {
            let (outcome, kid) = match self.child_attempt(&mut play, &link, &params) {
                Ok(o) => o,
                Err(e) => break Err(e),
            };
            match self.parent_step_ends((&pid, &mut parent), &deploy, outcome, &kid) {
                Ok(Some(next)) => {
                    link.attempt = next.attempt;
                    deploy = next;
                }
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        if let Some(saved) = play.saved {
            self.now = saved;
            crate::faults::clock(Some(saved));
        }
        result?;
        let mut ended = Vec::new();
        for kid in &play.kids {
            ended.push((kid.clone(), self.store.events(kid)?.len()));
        }
        self.history.push(format!(
            "  {pid}/{STEP} (attempts {attempts}) ended {:?} after {} attempt(s), {} child run(s)",
            parent.run_state(),
            link.attempt,
            play.kids.len()
        ));
        let rule = vec![(STEP.to_string(), Rule::every_failure(attempts))];
        self.pair_retries.played.push(Played {
            ruled: Ruled::new(pid, rule),
            ended,
        });
        Ok(())
    }

    /// The end of an attempt of the parent's step given to its core; a retry's tick at
    /// its due time. The step's next attempt, if its core starts one.
    fn parent_step_ends(
        &mut self,
        (pid, parent): (&str, &mut Core),
        deploy: &SpawnSpec,
        outcome: StepOutcome,
        kid: &str,
    ) -> Result<Option<SpawnSpec>, SimError> {
        let tail = baton_session::child::ending_line(&self.store, kid).unwrap_or_default();
        let end = StepExit {
            outcome,
            ..exit(deploy, vec![("child_run".into(), kid.to_string())], tail)
        };
        let mut next = self.feed_spawning(pid, parent, Input::StepExited(end))?;
        if next.is_empty()
            && let Some(due) = parent.next_wakeup().filter(|d| d.0 >= self.now.0)
        {
            self.now = due;
            crate::faults::clock(Some(due));
            next = self.feed_spawning(pid, parent, Input::Tick)?;
        }
        Ok(next.into_iter().find(|s| s.step_id == STEP))
    }

    /// What an attempt's child engine does (`baton run --parent`): the child found,
    /// decided, driven on, retried or made; its steps played to the child's end or its
    /// engine's death. The attempt's outcome, and the child it named.
    fn child_attempt(
        &mut self,
        play: &mut Play,
        link: &ParentLink,
        params: &BTreeMap<String, String>,
    ) -> Result<(StepOutcome, String), SimError> {
        let attempt = baton_session::child::Attempt {
            link,
            params: &[],
            operator: "sim",
            auto_approve: false,
        };
        let started = match self.config.bug {
            Some(Bug::ChildRetryMakesNewChild) => {
                baton_session::child::start_decided(&mut self.store, attempt, ChildStart::Create)
            }
            _ => baton_session::child::start(&mut self.store, attempt),
        }?;
        let said = match &started {
            Started::Retry(ready) => format!("RetryFailed({:?})", ready.run_id),
            Started::Resume(ready) => format!("Resume({:?})", ready.run_id),
            Started::Create => "Create".to_string(),
            Started::Ended { run, state } => format!("Ended {run} {state:?}"),
        };
        let holder = baton_session::lease_holder();
        // (the child, its core and first steps) or the child that had ended.
        let taken = match started {
            Started::Retry(ready) | Started::Resume(ready) => {
                let run = ready.run_id.clone();
                Ok((run, self.commit_takeover(*ready)?, holder))
            }
            Started::Create => Ok(self.new_child(play, link, params)?),
            Started::Ended { run, .. } => Err(run),
        };
        let (kid, (mut core, todo), holder) = match taken {
            Ok(t) => t,
            Err(run) => {
                let state = self.store.run_liveness(&run)?.state;
                self.history.push(format!(
                    "  {}/{STEP} attempt {}: {said}, nothing run",
                    play.pid, link.attempt
                ));
                return Ok((exited(state.exit_code()), run));
            }
        };
        if !play.kids.contains(&kid) {
            play.kids.push(kid.clone());
        }
        self.one_live_child(play, link)?;
        let (outcome, ran) = self.drive_child(play, &kid, &mut core, todo)?;
        // An engine lets go of the child it drove to its end (a killed one cannot).
        if core.run_state().is_final() {
            self.store.release_lease(&kid, &holder)?;
        }
        self.history.push(format!(
            "  {}/{STEP} attempt {}: {said}, child {kid} ran {ran:?}: {outcome:?}",
            play.pid, link.attempt
        ));
        Ok((outcome, kid))
    }

    /// A new child of `link`, made as an engine makes one.
    fn new_child(
        &mut self,
        play: &Play,
        link: &ParentLink,
        params: &BTreeMap<String, String>,
    ) -> Result<Child, SimError> {
        let kid = format!("{}c{}", play.pid, play.kids.len());
        let plan = self.pairs.child_plan();
        let started = self.start(&kid, &plan, params.clone(), vec![], Some(link.clone()))?;
        Ok((kid, started, super::children::HOLDER.to_string()))
    }

    /// The child's steps played from `todo`: each succeeds, fails, or its engine dies
    /// (the step left running on record, the clock moved past `LEASE_STALE`). The
    /// attempt's outcome and the steps started.
    fn drive_child(
        &mut self,
        play: &mut Play,
        kid: &str,
        core: &mut Core,
        mut todo: Vec<SpawnSpec>,
    ) -> Result<(StepOutcome, Vec<String>), SimError> {
        let mut ran = Vec::new();
        while let Some(s) = todo.pop() {
            if play.succeeded.contains(&s.step_id) {
                self.pair_retries.broken.push((
                    NO_RERUN,
                    format!(
                        "{kid}/{} attempt {} started for {}/{STEP}, which a child of its step ran to success before",
                        s.step_id, s.attempt, play.pid
                    ),
                ));
            }
            ran.push(s.step_id.clone());
            let code = match self.pair_retries.rng.random_range(0..10) {
                0..6 => 0,
                6..8 => 1,
                _ => {
                    // The child's engine (the parent's step process) is killed.
                    play.saved.get_or_insert(self.now);
                    let stale = baton_model::LEASE_STALE.as_millis() as i64 + 1_000;
                    self.now = Timestamp(self.now.0 + stale);
                    crate::faults::clock(Some(self.now));
                    return Ok((StepOutcome::Signalled { signal: 9 }, ran));
                }
            };
            let end = StepExit {
                outcome: exited(code),
                ..exit(&s, vec![], String::new())
            };
            todo.extend(self.feed_spawning(kid, core, Input::StepExited(end))?);
            if code == 0 {
                play.succeeded.push(s.step_id);
            }
        }
        let state = core.run_state();
        if !state.is_final() {
            return Err(SimError::Workflow(format!(
                "{kid} started nothing more and is {state:?}"
            )));
        }
        Ok((exited(state.exit_code()), ran))
    }

    /// No two children of the parent's step are unended at once (the ground truth:
    /// every child the hand made for it).
    fn one_live_child(&mut self, play: &Play, link: &ParentLink) -> Result<(), SimError> {
        let mut live = Vec::new();
        for kid in &play.kids {
            let state = self.store.run_liveness(kid)?.state;
            if !state.is_final() {
                live.push(format!("{kid} {state:?}"));
            }
        }
        if live.len() > 1 {
            self.pair_retries.broken.push((
                ONE_CHILD,
                format!(
                    "{}/{STEP} attempt {} left {} child runs unended at once: {}",
                    play.pid,
                    link.attempt,
                    live.len(),
                    live.join(", ")
                ),
            ));
        }
        Ok(())
    }
}

fn exited(exit_code: i32) -> StepOutcome {
    StepOutcome::Exited { exit_code }
}

/// The first promise of a retried child-run step that broke: those the hand saw as it
/// played (docs/workflow/child-workflows.md, "Crash safety": "A child is made at most
/// once per attempt of its step […] each time the step's process starts, it first
/// looks for the child the step already has"; a retry "runs the child's failed steps
/// again […] its succeeded steps are kept"), then from the store: the parent's step
/// retried only as its rule says (`a_step_retries_only_as_its_rule_says`), and no
/// child's step started after the parent's step ended for good ("Until then the parent
/// keeps its group": a child's steps run within its parent's step), read every
/// [`SCAN_EVERY`] actions and after the last: the children of this hand's retried
/// steps, and those whose parent's step a takeover cancelled while the child's engine
/// lived (`pair_end.rs`).
pub(crate) fn broken(h: &Hands, action: usize) -> Result<Option<(&'static str, String)>, SimError> {
    if let Some((invariant, what)) = h.pair_retries.broken.first() {
        return Ok(Some((invariant, what.clone())));
    }
    if let Some(last) = h.pair_retries.played.last()
        && let Some(d) = super::retries::retried_as_ruled(&h.store, &last.ruled)?
    {
        return Ok(Some(("a_step_retries_only_as_its_rule_says", d)));
    }
    if !action.is_multiple_of(SCAN_EVERY) && action != h.config.actions {
        return Ok(None);
    }
    let retried = h.pair_retries.played.iter().flat_map(|p| &p.ended);
    for (kid, count) in retried.chain(&h.pair_ends.ended) {
        let events = h.store.events(kid)?;
        let started = events.iter().skip(*count).find_map(|e| match &e.kind {
            EventKind::StepStateChanged {
                step,
                state,
                attempt,
                ..
            } if *state == StepState::Running => Some(format!("{step} attempt {attempt}")),
            _ => None,
        });
        if let Some(s) = started {
            return Ok(Some((
                AFTER_END,
                format!(
                    "{}/{s} started after its parent's step ended",
                    h.shown_id(kid)
                ),
            )));
        }
    }
    Ok(None)
}

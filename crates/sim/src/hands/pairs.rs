//! A parent's engine and its child's killed together in `--mix hands`: the parent's
//! `deploy` (a child-run step) made its child, whose step was running in process
//! groups of its own (`BATON_RUN_ID` the child's, real processes) when both engines
//! died. Then the real code's order: the parent taken over by the session's own
//! takeover (`session::command::take_over`), what its dead engine left cleared
//! (`session::clear_leftovers`), its `deploy` started again; that step's engine finds
//! its child (`session::child::find`) and takes it over (`session::child::take_over`),
//! clearing what the child's dead engine left; the child then runs to its end and the
//! parent's step ends. The lease checks read the simulator's clock (`faults`), moved
//! past `LEASE_STALE` for the takeovers only. Draws come from a stream of their own.
use super::Hands;
use super::children::{STEP, exit, spawns};
use crate::{Bug, SimError};
use baton_core::{Input, SpawnSpec};
use baton_model::Timestamp;
use baton_workflow::Plan;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// This hand's own stream of the seed.
const STREAM: u64 = 0x9a1c_0d2e_0000_0000;
/// It plays at one action in this many (real processes, two takeovers).
const EVERY: u32 = 48;

const PARENT: &str = r#"name = "pair-parent"

[[step]]
id = "deploy"
workflow = "pair-child.toml"
"#;

const CHILD: &str = r#"name = "pair-child"

[[step]]
id = "build"
run = "build"

[[step]]
id = "ship"
run = "ship"
needs = ["build"]
"#;

pub(crate) struct Pairs {
    rng: SmallRng,
    parent: (Arc<Plan>, PathBuf),
    child: (Arc<Plan>, PathBuf),
    made: u32,
    /// Each step of a pair started again after it succeeded, or while the dead
    /// engine's attempt of it still ran.
    pub(crate) broken: Vec<String>,
}

impl Pairs {
    pub(crate) fn new(dir: &std::path::Path, seed: u64) -> Result<Pairs, SimError> {
        // The child's file first: the parent's loader reads it.
        let child = super::children::load(dir, "pair-child.toml", CHILD)?;
        Ok(Pairs {
            rng: SmallRng::seed_from_u64(seed ^ STREAM),
            parent: super::children::load(dir, "pair-parent.toml", PARENT)?,
            child,
            made: 0,
            broken: Vec::new(),
        })
    }

    pub(crate) fn plays(&mut self) -> bool {
        self.rng.random_range(0..EVERY) == 0
    }

    /// The parent's plan and file.
    pub(crate) fn parent_plan(&self) -> (Arc<Plan>, PathBuf) {
        self.parent.clone()
    }

    /// The child's plan and file.
    pub(crate) fn child_plan(&self) -> (Arc<Plan>, PathBuf) {
        self.child.clone()
    }
}

impl Hands {
    /// A parent and its child engine killed with the child's step running; both taken
    /// over as the real code takes them over, then run to their end.
    pub(super) fn killed_pair_hand(&mut self) -> Result<(), SimError> {
        let n = self.pairs.made;
        self.pairs.made += 1;
        // Ids the takeovers seek in `/proc`: the scenario's own (the history says q000…).
        let tag = super::orphans::scenario_tag(&self.dir);
        let (pid, kid) = (format!("q{n:03}-{tag}"), format!("r{n:03}-{tag}"));
        let (ps, ks) = (format!("q{n:03}"), format!("r{n:03}"));
        let dir = self.dir.join("pairs").join(&ps);
        std::fs::create_dir_all(&dir).map_err(|e| super::orphans::io(&dir, e))?;
        let engine = dir.join("engine.sh");
        std::fs::write(&engine, super::orphans::ENGINE)
            .map_err(|e| super::orphans::io(&engine, e))?;
        let plan = self.pairs.parent.clone();
        let (parent, _, link, params) =
            self.start_parent(&pid, &plan, STEP, BTreeMap::new(), vec![])?;
        let child_plan = self.pairs.child.clone();
        let (mut child, mut running) = self.start(&kid, &child_plan, params, vec![], Some(link))?;
        let mut succeeded: Vec<String> = Vec::new();
        if self.pairs.rng.random_bool(0.5) {
            for s in std::mem::take(&mut running) {
                let ok = Input::StepExited(exit(&s, vec![], String::new()));
                running.extend(match self.config.bug {
                    // What the end lets start is started; the end, held for a commit
                    // after the spawns, is lost with the engine.
                    Some(Bug::EndCommittedAfterSpawn) => {
                        spawns(crate::world::runs::split(child.handle(ok, self.now)).1)
                    }
                    _ => self.feed_spawning(&kid, &mut child, ok)?,
                });
                succeeded.push(s.step_id);
            }
        }
        let groups = self.pairs.rng.random_range(1..4);
        // The child's engine (the parent's step process) starts the running step's
        // processes; then both engines die: the child's by `kill -9`, the parent's here
        // (its core and the child's dropped, their leases left to go stale).
        let status = std::process::Command::new("sh")
            .arg(&engine)
            .env("BATON_RUN_ID", &pid)
            .env("BATON_STEP_ID", STEP)
            .env("BATON_OUTPUT", dir.join("output"))
            .env("SIM_KID", &kid)
            .env("SIM_STEPS", groups.to_string())
            .env("SIM_DIR", &dir)
            .status()
            .map_err(|e| super::orphans::io(&engine, e))?;
        drop((parent, child));
        let was = running
            .iter()
            .map(|s| s.step_id.clone())
            .collect::<Vec<_>>();
        self.history.push(format!(
            "  {ps} and its child {ks} killed ({status:?} of the child's engine), {groups} group(s) of {was:?} running, {succeeded:?} succeeded"
        ).replace(&format!("-{tag}"), ""));
        let saved = self.now;
        self.now = Timestamp(saved.0 + baton_model::LEASE_STALE.as_millis() as i64 + 1_000);
        crate::faults::clock(Some(self.now));
        let result = self.take_both_over((&pid, &kid), (&dir, groups), succeeded);
        self.now = saved;
        crate::faults::clock(Some(saved));
        result
    }

    /// The parent taken over, its `deploy` started again, which takes its child over;
    /// the child run to its end, then the parent's step.
    fn take_both_over(
        &mut self,
        (pid, kid): (&str, &str),
        (dir, groups): (&std::path::Path, u32),
        mut succeeded: Vec<String>,
    ) -> Result<(), SimError> {
        let (mut parent, again) = self.taken_over(pid)?;
        let Some((deploy, link)) = super::children::spawn_and_link(pid, again, STEP) else {
            return Err(SimError::Workflow(format!(
                "{pid}'s takeover did not start {STEP} again"
            )));
        };
        let found = baton_session::child::find(&self.store, &link)?;
        let Some(found) = found.filter(|f| f.child.run == kid) else {
            return Err(SimError::Workflow(format!(
                "{pid}/{STEP} did not find its child"
            )));
        };
        let Some(ready) =
            baton_session::child::take_over(&mut self.store, &found.child.run, &[], "sim", false)?
        else {
            return Err(SimError::Workflow(format!(
                "{kid} ended before its takeover"
            )));
        };
        let (mut child, mut todo) = self.commit_takeover(ready)?;
        let alive = super::orphans::running_steps(dir, groups);
        for s in &todo {
            if !alive.is_empty() {
                self.pairs.broken.push(format!(
                    "the child's takeover started {}/{} attempt {} while {} process group(s) of its dead engine's attempt still ran",
                    self.shown_id(kid), s.step_id, s.attempt, alive.len()
                ));
            }
        }
        let mut started = Vec::new();
        while let Some(s) = todo.pop() {
            started.push(format!("{} attempt {}", s.step_id, s.attempt));
            if succeeded.contains(&s.step_id) {
                self.pairs.broken.push(format!(
                    "{}/{} attempt {} started again after it succeeded",
                    self.shown_id(kid),
                    s.step_id,
                    s.attempt
                ));
            }
            let ok = exit(&s, vec![], String::new());
            todo.extend(self.feed_spawning(kid, &mut child, Input::StepExited(ok))?);
            succeeded.push(s.step_id);
        }
        // The parent's step ends (its group, pool slots and lease let go): what of the
        // dead child engine's steps still runs.
        let running = super::orphans::running_steps(dir, groups);
        (self.orphans.ends).push((self.shown_id(pid), self.shown_id(kid), running.clone()));
        super::orphans::kill_groups(&running);
        let end = exit(
            &deploy,
            vec![("child_run".into(), kid.to_string())],
            String::new(),
        );
        self.feed(pid, &mut parent, Input::StepExited(end))?;
        self.history.push(format!(
            "  {} taken over, its child {} taken over by its {STEP} attempt {} (which started {started:?}): both ended {:?}, {:?}",
            self.shown_id(pid),
            self.shown_id(kid),
            deploy.attempt,
            parent.run_state(),
            child.run_state()
        ));
        let holder = baton_session::lease_holder();
        self.store.release_lease(pid, &holder)?;
        self.store.release_lease(kid, &holder)?;
        Ok(())
    }

    /// Run `run` taken over by the session's takeover: its core and what it starts.
    fn taken_over(&mut self, run: &str) -> Result<(baton_core::Core, Vec<SpawnSpec>), SimError> {
        let (ready, _) =
            baton_session::command::take_over(&mut self.store, run, &[], "sim", None, false)?;
        self.commit_takeover(ready)
    }

    /// A takeover's `ready` driven: what its dead engine left cleared (unless
    /// [`Bug::TakeoverKeepsLeftovers`]), its events committed.
    pub(super) fn commit_takeover(
        &mut self,
        ready: baton_session::Ready,
    ) -> Result<(baton_core::Core, Vec<SpawnSpec>), SimError> {
        let clear = self.config.bug != Some(Bug::TakeoverKeepsLeftovers);
        self.commit_taken(ready, clear)
    }

    /// [`Hands::commit_takeover`], what the dead engine left cleared only if `clear`
    /// (a hand that clears it itself, at its own moment).
    pub(super) fn commit_taken(
        &mut self,
        ready: baton_session::Ready,
        clear: bool,
    ) -> Result<(baton_core::Core, Vec<SpawnSpec>), SimError> {
        if clear {
            baton_session::clear_leftovers(&ready);
        }
        let (events, rest) = crate::world::runs::split(ready.initial);
        self.store.commit(&ready.run_id, &events)?;
        self.children.events += events.len() as u64;
        Ok((ready.core, spawns(rest)))
    }

    /// A pair's run id as the history writes it (without the scenario's tag).
    pub(super) fn shown_id(&self, id: &str) -> String {
        id.split('-').next().unwrap_or(id).to_string()
    }
}

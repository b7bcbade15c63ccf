//! A parent's step ended while its child's engine lives, in `--mix hands`: a
//! `pair-parent` run's `deploy` made its `pair-child` run, whose `build` runs, and the
//! child's engine (the step's process: a real one here, `BATON_RUN_ID` the parent's, in
//! a group of its own, as the parent's executor starts it) is alive when the parent's
//! engine dies (`kill -9`). An operator then cancels the parent: the session's own
//! takeover (`session::command::take_over` with the cancel), which stops what the dead
//! engine's steps left running (`session::clear_leftovers`, found in `/proc` by the run
//! id: the child's engine among them) before the step's end is committed. The child's
//! engine, stopped, tells its core the stop (`engine::stop_input`, as `Driver::run`)
//! and its killed step's end, leaving it interrupted; the takeover then cancels each
//! child `session::child::cancel::to_cancel` names, taken over by the operator
//! (`session::child::cancel::Waiting::look`, the one decision `cancel::attempt`
//! inside; held a while by another engine one time in two) and played to its end,
//! before the parent's step's end is committed: the child ends cancelled
//! (`a_parent_cancelled_after_its_engine_died_leaves_its_child_cancelled`), and the
//! parent's lease stays the takeover's at every look
//! (`a_parent_cancelling_its_children_keeps_its_lease`). Alive after the parent's end
//! is on record, the child's engine goes on: `build` ends and what its core starts is
//! started. Draws come from a stream of their own; the lease checks read the
//! simulator's clock, moved past `LEASE_STALE` for the takeover only.
use super::Hands;
use super::children::{STEP, exit};
use crate::{Bug, SimError};
use baton_core::{Input, StepExit};
use baton_model::view::ParentLink;
use baton_model::{Command, EventKind, RunState, StepOutcome, StepState, Timestamp};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;

/// The children a takeover cancelled, each with the state it ended in.
type Cancelled = Vec<(String, RunState)>;

/// This hand's own stream of the seed.
const STREAM: u64 = 0x71e4_a03b_0000_0000;
/// It plays at one action in this many (a real process, a takeover).
const EVERY: u32 = 16;
/// How long another engine holds a stopped child (ms of the simulator's clock): past
/// `LEASE_STALE` at times, within the cancel's wait (`child::HANDOVER_WAIT`) or past
/// it, up to half that wait more: a child still held when the wait ends is left.
const HOLD_MS: std::ops::Range<i64> =
    1_000..baton_session::child::HANDOVER_WAIT.as_millis() as i64 * 3 / 2;
/// The lease holder of the engine that holds a child (a host of its own).
const OTHER_ENGINE: &str = "pid 301 on sim-hands";

pub(crate) struct PairEnds {
    rng: SmallRng,
    made: u32,
    /// Each child with the number of its events on record when its parent's step
    /// ended (`pair_retry::AFTER_END` reads what came after).
    pub(crate) ended: Vec<(String, usize)>,
    /// Each child whose engine the takeover stopped that did not end cancelled.
    pub(crate) broken: Vec<String>,
    /// Each look of a parent's cancel at its child at which the parent's lease could
    /// have been taken over (stale, or not the takeover's).
    pub(crate) lapsed: Vec<String>,
    /// The child another live engine holds while its parent's cancel waits, and until
    /// when it holds it (an operator's engine that took it over as its own stopped).
    held: Option<(String, Timestamp)>,
    /// What broke of a child its parent's cancel took from, or left to, a live engine
    /// (`a_child_held_past_the_cancel_s_wait_is_left_to_its_engine`).
    pub(crate) left_broken: Vec<String>,
}

impl PairEnds {
    pub(crate) fn new(seed: u64) -> PairEnds {
        PairEnds {
            rng: SmallRng::seed_from_u64(seed ^ STREAM),
            made: 0,
            ended: Vec::new(),
            broken: Vec::new(),
            lapsed: Vec::new(),
            held: None,
            left_broken: Vec::new(),
        }
    }

    pub(crate) fn plays(&mut self) -> bool {
        self.rng.random_range(0..EVERY) == 0
    }
}

/// What a parent's cancel came to with one child.
enum Took {
    /// Taken over with the cancel.
    Taken(Box<baton_session::Ready>),
    /// Left to the live engine that held it past the wait.
    Held,
    /// Ended meanwhile, or left for another reason (named in the history).
    Not,
}

/// The child's engine as a process: killed and reaped however the hand ends.
struct Engine(Option<std::process::Child>);

impl Engine {
    /// Whether it still runs (a process that ended is reaped here).
    fn alive(&mut self) -> bool {
        (self.0.as_mut()).is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Waits up to `deadline` for its exec to be done: `spawn` returns once the exec has
    /// begun, and until the kernel has laid out the new program its `/proc/PID/environ`
    /// is empty, so a takeover's look for the run's processes cannot find it (on a
    /// loaded machine, for longer than the takeover's two looks in a row).
    fn execed_within(&mut self, run_id: &str, deadline: std::time::Duration) {
        let Some(pid) = self.0.as_ref().map(std::process::Child::id) else {
            return;
        };
        let until = std::time::Instant::now() + deadline;
        let carries = || {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| baton_model::procs::carries_run(&env, run_id))
        };
        while !carries() && self.alive() && std::time::Instant::now() < until {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Hands {
    /// A parent whose engine dies with its child's engine alive, then cancelled by an
    /// operator's takeover; the child's engine plays on as long as it lives.
    pub(super) fn pair_end_hand(&mut self) -> Result<(), SimError> {
        let n = self.pair_ends.made;
        self.pair_ends.made += 1;
        // Ids the takeover seeks in `/proc`: the scenario's own (the history says ep000…).
        let tag = super::orphans::scenario_tag(&self.dir);
        let (pid, kid) = (format!("ep{n:03}-{tag}"), format!("ec{n:03}-{tag}"));
        let plan = self.pairs.parent_plan();
        let (parent, _, link, params) =
            self.start_parent(&pid, &plan, STEP, BTreeMap::new(), vec![])?;
        let child_plan = self.pairs.child_plan();
        let since = self.now;
        let (mut child, mut running) =
            self.start(&kid, &child_plan, params, vec![], Some(link.clone()))?;
        let spawned = std::process::Command::new("sleep")
            .arg("600")
            .env("BATON_RUN_ID", &pid)
            .env("BATON_STEP_ID", STEP)
            .process_group(0)
            .spawn();
        let mut engine = Engine(Some(spawned.map_err(|e| super::orphans::io(&self.dir, e))?));
        // The child's engine has been running (its child waits at a gate): its exec done.
        engine.execed_within(&pid, std::time::Duration::from_secs(10));
        // When `build` ends: 0, before the parent's engine dies (`ship` starts in time);
        // 1 or 2, once the parent's step ended (succeeded: its core starts `ship`).
        let when = self.pair_ends.rng.random_range(0..3);
        // One time in two, another engine holds the stopped child for a while.
        let hold = (self.pair_ends.rng.random_range(0..2) == 1)
            .then(|| self.pair_ends.rng.random_range(HOLD_MS));
        if when == 0 {
            for s in std::mem::take(&mut running) {
                let ok = Input::StepExited(exit(&s, vec![], String::new()));
                running.extend(self.feed_spawning(&kid, &mut child, ok)?);
            }
        }
        // The parent's engine dies; its lease goes stale.
        drop(parent);
        let saved = self.now;
        self.now = Timestamp(saved.0 + baton_model::LEASE_STALE.as_millis() as i64 + 1_000);
        crate::faults::clock(Some(self.now));
        let result = self.cancel_undriven(
            (&pid, &link, since),
            (&kid, &mut child),
            &mut engine,
            running,
            (when, hold),
        );
        self.now = saved;
        crate::faults::clock(Some(saved));
        let (stopped, after, cancelled, left) = result?;
        // How the child ended: as its takeover's cancel left it, else as its engine did.
        let child_state = cancelled
            .iter()
            .find(|(k, _)| *k == kid)
            .map_or(child.run_state(), |(_, state)| *state);
        if stopped && child_state != RunState::Cancelled && !left.contains(&kid) {
            self.pair_ends.broken.push(format!(
                "{} left {child_state:?}, not cancelled, by its parent {}'s cancel after the parent's engine died (its engine stopped with the leftovers)",
                self.shown_id(&kid),
                self.shown_id(&pid)
            ));
        }
        // The parent's cancel on record, as the child's engine reads it when stopped.
        let cancelled = baton_session::child::parent_cancelling(&self.store, &link, since);
        self.history.push(format!(
            "  {} cancelled with its engine dead, its child {}'s engine {}: the child {:?}{} ({} step(s) started after; the parent's cancel on record: {cancelled})",
            self.shown_id(&pid),
            self.shown_id(&kid),
            if stopped { "stopped first" } else { "alive after" },
            child_state,
            if left.is_empty() { "" } else { ", left to the engine holding it" },
            after
        ));
        self.store
            .release_lease(&pid, &baton_session::lease_holder())?;
        // The engine still holding a child left to it lets go later (its operator
        // stops it): the child stays as it was left, interrupted.
        if let Some((held, _)) = self.pair_ends.held.take() {
            self.store.release_lease(&held, OTHER_ENGINE)?;
        }
        Ok(())
    }

    /// The operator's cancel of the undriven parent `pid`, taken over: what its dead
    /// engine left is stopped (unless [`Bug::ParentEndsBeforeChildStops`]), then the
    /// step's end committed; the child's engine plays what it does, stopped or alive.
    /// Whether it was stopped before the end, how many steps it started after, the
    /// children the takeover cancelled with how each ended, and those it left to the
    /// engine that held them past its wait.
    fn cancel_undriven(
        &mut self,
        (pid, link, since): (&str, &ParentLink, Timestamp),
        (kid, child): (&str, &mut baton_core::Core),
        engine: &mut Engine,
        running: Vec<baton_core::SpawnSpec>,
        (when, hold): (u32, Option<i64>),
    ) -> Result<(bool, usize, Cancelled, Vec<String>), SimError> {
        let cancel = Command::Cancel {
            operator: "sim".into(),
            reason: Some("the simulator's operator cancels a parent whose engine died".into()),
        };
        let (ready, _) = baton_session::command::take_over(
            &mut self.store,
            pid,
            &[],
            "sim",
            Some(cancel),
            false,
        )?;
        let stops_first = self.config.bug != Some(Bug::ParentEndsBeforeChildStops);
        if stops_first {
            baton_session::clear_leftovers(&ready);
        }
        let stopped = !engine.alive();
        if stopped {
            // Stopped by its SIGTERM: it asks whether its parent's cancel is on
            // record (not yet: the takeover commits it once the leftovers are gone),
            // its core told the stop, its step killed, all before the parent's step
            // ends (the takeover waits for it to go): the child is left interrupted.
            let stop = baton_engine::Stop {
                signal: Some(143),
                detach: false,
                cancel: baton_session::child::parent_cancelling(&self.store, link, since),
            };
            let heard = baton_engine::stop_input(&stop, child.operator());
            self.feed(kid, child, heard)?;
            for s in &running {
                let killed = StepExit {
                    outcome: StepOutcome::Signalled { signal: 15 },
                    ..exit(s, vec![], String::new())
                };
                self.feed(kid, child, Input::StepExited(killed))?;
            }
        }
        // The children go before the parent's end, as the CLI's `drive_headless`; with
        // the leftovers not stopped (the bug above) the child's engine would drive on.
        let waited_from = self.store.events(kid)?.len();
        let (cancelled, left) =
            if stops_first && self.config.bug != Some(Bug::ParentCancelSkipsChild) {
                if let (true, Some(ms)) = (stopped, hold) {
                    self.another_engine_takes(kid, ms)?;
                }
                self.cancel_children(&ready)?
            } else {
                (Vec::new(), Vec::new())
            };
        self.commit_taken(ready, false)?;
        for held in &left {
            self.left_to_its_engine(pid, held, waited_from)?;
        }
        let count = self.store.events(kid)?.len();
        self.pair_ends.ended.push((kid.to_string(), count));
        if stopped {
            return Ok((true, 0, cancelled, left));
        }
        // Alive: its running steps end (`build` as drawn) and what they let start starts.
        let mut after = 0;
        let mut todo = running;
        while let Some(s) = todo.pop() {
            let code = if when == 2 { 1 } else { 0 };
            let end = StepExit {
                outcome: StepOutcome::Exited { exit_code: code },
                ..exit(&s, vec![], String::new())
            };
            let next = self.feed_spawning(kid, child, Input::StepExited(end))?;
            after += next.len();
            todo.extend(next);
        }
        // What the dead engine left, stopped after the step's end (the bug's order).
        engine.stop();
        Ok((false, after, cancelled, left))
    }

    /// Once the cancel of `parent` ended, child `kid` it left to the engine holding it
    /// past its wait: the parent's cancel ended (`cancelled` on record), the child's
    /// lease is still that engine's (nothing takes a child from a live holder), and no
    /// step of the child started since the cancel began (`from`: its events then) nor
    /// twice in its record.
    fn left_to_its_engine(&mut self, parent: &str, kid: &str, from: usize) -> Result<(), SimError> {
        let (p, k) = (self.shown_id(parent), self.shown_id(kid));
        let state = self.store.run_liveness(parent)?.state;
        if state != RunState::Cancelled {
            (self.pair_ends.left_broken).push(format!(
                "{p}'s cancel left its child {k} to the engine holding it and ended {state:?}, not cancelled"
            ));
        }
        let holder = self.store.lease(kid)?.map(|l| l.holder);
        if holder.as_deref() != Some(OTHER_ENGINE) {
            (self.pair_ends.left_broken).push(format!(
                "{k}, left by its parent {p}'s cancel to the engine holding it, is held by {holder:?} after the cancel"
            ));
        }
        let mut starts: BTreeMap<String, usize> = BTreeMap::new();
        for (i, e) in self.store.events(kid)?.iter().enumerate() {
            if let EventKind::StepStateChanged { step, state, .. } = &e.kind
                && *state == StepState::Running
            {
                let n = starts.entry(step.clone()).or_default();
                *n += 1;
                if i >= from || *n > 1 {
                    (self.pair_ends.left_broken).push(format!(
                        "{k}/{step} started (start {n}) after its parent {p}'s cancel began, or again, while another engine held it"
                    ));
                }
            }
        }
        Ok(())
    }

    /// What a takeover that cancels `ready`'s run after its engine died does before
    /// that run's events are committed: each child `session::child::cancel::to_cancel`
    /// names is taken over by the operator ([`Hands::take_for_cancel`]), what its dead
    /// engine left stopped, its own children cancelled first, then its takeover
    /// committed and what its core starts (its `on_cancel` handlers, compensations)
    /// played to the run's end. Each child with the state it ended in, and those left
    /// to the engine that held them past the wait.
    fn cancel_children(
        &mut self,
        ready: &baton_session::Ready,
    ) -> Result<(Cancelled, Vec<String>), SimError> {
        let (mut ended, mut left) = (Vec::new(), Vec::new());
        for kid in baton_session::child::cancel::to_cancel(&self.store, ready)? {
            let taken = match self.take_for_cancel((&kid, &ready.run_id))? {
                Took::Taken(taken) => taken,
                Took::Held => {
                    left.push(kid);
                    continue;
                }
                Took::Not => continue,
            };
            let taken = *taken;
            baton_session::clear_leftovers(&taken);
            let (more, more_left) = self.cancel_children(&taken)?;
            ended.extend(more);
            left.extend(more_left);
            let (mut core, mut todo) = self.commit_taken(taken, false)?;
            while let Some(s) = todo.pop() {
                let ok = Input::StepExited(exit(&s, vec![], String::new()));
                todo.extend(self.feed_spawning(&kid, &mut core, ok)?);
            }
            self.store
                .release_lease(&kid, &baton_session::lease_holder())?;
            ended.push((kid, core.run_state()));
        }
        Ok((ended, left))
    }

    /// Child `kid` of `parent` taken over for the parent's cancel, its looks scheduled
    /// as the CLI's `host::cancel_children` schedules them, on the simulator's clock
    /// (a look again a drawn 0.5 to 3 s later while another engine holds it): each
    /// look is `session::child::cancel::Waiting::look` (the parent's lease renewed
    /// when due, then `cancel::attempt`, the one decision), or with
    /// [`Bug::CancelWaitSkipsRenewal`] `cancel::attempt` alone. Before each look the
    /// parent's lease is read as another takeover would ([`Hands::parent_lease_at`]).
    /// A child taken while another engine's hold lasts, or left for another reason than
    /// that hold, is noted (`a_child_held_past_the_cancel_s_wait_is_left_to_its_engine`;
    /// the latter, not cancelled, is `pair_ends.broken`'s too).
    fn take_for_cancel(&mut self, (kid, parent): (&str, &str)) -> Result<Took, SimError> {
        use baton_session::child::cancel::{Attempted, Waiting, attempt};
        let mut waiting = Waiting::new((kid, parent), "sim");
        let started = self.now;
        let mut looks = 0u32;
        loop {
            self.another_engine_beats(kid)?;
            self.parent_lease_at(parent, kid)?;
            looks += 1;
            let looked = match self.config.bug {
                Some(Bug::CancelWaitSkipsRenewal) => attempt(
                    &mut self.store,
                    (kid, parent),
                    "sim",
                    self.now.since(started),
                ),
                _ => waiting.look(&mut self.store)?,
            };
            let waited = self.now.since(started).as_millis();
            let held = (self.pair_ends.held.as_ref())
                .is_some_and(|(h, until)| h == kid && self.now < *until);
            match looked {
                Attempted::Taken(ready) => {
                    if held {
                        (self.pair_ends.left_broken).push(format!(
                            "{}'s cancel took its child {} from the live engine holding it (look {looks}, after {waited} ms)",
                            self.shown_id(parent),
                            self.shown_id(kid)
                        ));
                    }
                    if looks > 1 {
                        self.history.push(format!(
                            "  {} held by another engine: taken at look {looks}, after {waited} ms",
                            self.shown_id(kid)
                        ));
                    }
                    return Ok(Took::Taken(ready));
                }
                Attempted::Ended => return Ok(Took::Not),
                Attempted::Left(why) => {
                    // Named as the CLI names it, the scenario's tag left out.
                    let tag = format!("-{}", super::orphans::scenario_tag(&self.dir));
                    let line = baton_session::child::cancel::left_line(kid, parent, &why);
                    self.history.push(format!(
                        "  {} (look {looks}, after {waited} ms)",
                        line.replace(&tag, "")
                    ));
                    let by_hold = matches!(*why, baton_session::SessionError::Driven { .. });
                    return Ok(if by_hold && held {
                        Took::Held
                    } else {
                        Took::Not
                    });
                }
                Attempted::Driven { .. } => {
                    self.now = Timestamp(self.now.0 + self.pair_ends.rng.random_range(500..3_000));
                    crate::faults::clock(Some(self.now));
                }
            }
        }
    }

    /// An operator's engine takes the stopped child `kid` over (its lease, live on a
    /// host of its own) for `ms` of the simulator's clock.
    fn another_engine_takes(&mut self, kid: &str, ms: i64) -> Result<(), SimError> {
        let stale = baton_model::LEASE_STALE;
        match (self.store).acquire_lease(kid, OTHER_ENGINE, self.now, stale)? {
            baton_store::LeaseOutcome::Acquired => {}
            baton_store::LeaseOutcome::HeldBy { holder, .. } => {
                let run_id = kid.to_string();
                return Err(baton_session::SessionError::Driven { run_id, holder }.into());
            }
        }
        self.pair_ends.held = Some((kid.to_string(), Timestamp(self.now.0 + ms)));
        Ok(())
    }

    /// The engine holding `kid` beats while its hold lasts, and lets go after.
    fn another_engine_beats(&mut self, kid: &str) -> Result<(), SimError> {
        let Some((held, until)) = self.pair_ends.held.clone() else {
            return Ok(());
        };
        if held != kid {
            return Ok(());
        }
        if self.now < until {
            self.store.heartbeat(kid, OTHER_ENGINE, self.now)?;
        } else {
            self.store.release_lease(kid, OTHER_ENGINE)?;
            self.pair_ends.held = None;
        }
        Ok(())
    }

    /// The parent's lease as another takeover reads it at a look of its cancel at
    /// `kid`: one it could take (`liveness::may_take_over`), or not the cancelling
    /// takeover's, is noted (`a_parent_cancelling_its_children_keeps_its_lease`).
    fn parent_lease_at(&mut self, parent: &str, kid: &str) -> Result<(), SimError> {
        let lease = self.store.lease(parent)?;
        let ours = (lease.as_ref()).is_some_and(|l| l.holder == baton_session::lease_holder());
        let takeable = baton_model::liveness::may_take_over(
            lease.as_ref(),
            self.now,
            baton_model::LEASE_STALE,
            baton_store::holder_alive,
        );
        if !ours || takeable {
            let age = lease.map_or("gone".into(), |l| {
                format!(
                    "renewed {} ms before",
                    self.now.since(l.heartbeat_at).as_millis()
                )
            });
            self.pair_ends.lapsed.push(format!(
                "{}'s lease ({age}) could be taken over while its cancel waited for its child {}",
                self.shown_id(parent),
                self.shown_id(kid)
            ));
        }
        Ok(())
    }
}

//! What drives the simulated engines: scheduling. Which engine wakes for which of its
//! runs, and when: a whole wake-up at a time (`wake::wake_up`), a run's first
//! (`wake::start`), each engine's heartbeat (`wake::hold::renew`), and with
//! `--mix interleave` a wake-up stepped one store call at a time (`wake::Stepper`).
//! Every wake-up is the engine's own code (`baton_engine::wake`) through the world's
//! doors (`world::doors`); which process holds which run, and what a death or a lost
//! run leaves, is the world's (`world::processes`).
//!
//! `--mix interleave` (issue 61 point 1: engines "interleaved at every store call, any
//! of which can die at any point (a dropped transaction …)"): its run's admission, its
//! command rows claimed, each pool slot asked for, each input decided, the commit, each
//! effect acted on, one step at a time. Between any two steps the other engines, the
//! operators and the serve act, and the engine may die between any two of its steps,
//! inside its commit's transaction (nothing of it kept) or between its commit and the
//! witness (the store keyed, as `--mix rewrites` has it). What it draws comes from a
//! sixth stream of the seed, so the other mixes draw what they drew.
use crate::SimError;
use crate::world::World;
use crate::world::doors::{Crash, Doors, Holding};
use baton_core::{Effect, Input};
use baton_engine::wake::{self, Next};
use baton_store::CommitCut;
use rand::Rng;

/// Engine `e`'s wake-up in progress, for `run`.
pub(crate) struct Wake {
    pub run: String,
    stepper: wake::Stepper,
}

impl World {
    /// One wake-up of engine `e` for one of its runs (chosen by the seed).
    pub(crate) fn wake(&mut self, e: usize, crash: Option<Crash>) -> Result<(), SimError> {
        let runs: Vec<String> = self.engines[e].runs.keys().cloned().collect();
        if runs.is_empty() || self.engines[e].stalled(self.now) {
            return Ok(());
        }
        let run = runs[self.rng.random_range(0..runs.len())].clone();
        self.wake_run(e, &run, crash)
    }

    /// One wake-up of engine `e` for `run`: the engine's own (`wake::wake_up`), through
    /// this world's doors (`world::doors`), the seed's crash armed in the fault door.
    pub(crate) fn wake_run(
        &mut self,
        e: usize,
        run: &str,
        crash: Option<Crash>,
    ) -> Result<(), SimError> {
        // One wake-up at a time: the one in progress ends first.
        self.finish_wake(e)?;
        if !self.engines[e].runs.contains_key(run) {
            return Ok(());
        }
        let woken = self.woken(e, run, crash, |d| wake::wake_up(d));
        if !matches!(woken, Ok(false)) {
            self.steps += 1;
        }
        self.stopped(e, run, woken.map(drop)).map(drop)
    }

    /// Engine `e`'s whole wake-up of `run` (`wake::wake_up`) with `stop` handed in
    /// beside what it brought: which of `watched` its core then stopped with the
    /// engine; `None` when it stopped before its end (the engine died or lost the run).
    pub(crate) fn wake_with(
        &mut self,
        (e, run): (usize, &str),
        stop: Input,
        watched: &[(usize, u32)],
    ) -> Result<Option<Vec<bool>>, SimError> {
        let mut with_engine = None;
        let woken = self.woken(e, run, None, |d| {
            d.hand_in(stop, watched);
            let woken = wake::wake_up(d).map(drop);
            with_engine = d.stopped_with_engine();
            woken
        });
        Ok(self
            .stopped(e, run, woken)?
            .then_some(with_engine)
            .flatten())
    }

    /// Engine `e`'s first wake-up of `run`, which it just took (a takeover's `ready`
    /// initial effects, a `baton run`'s): the engine's own start (`wake::start`), its
    /// first commit cut at `cut` (a crash in it told as in `said`); `false` when it
    /// stopped before its end.
    pub(crate) fn start_driving(
        &mut self,
        e: usize,
        run: &str,
        initial: Vec<Effect>,
        (cut, said): (Option<CommitCut>, &str),
    ) -> Result<bool, SimError> {
        let mut doors = Doors::new(self, e, run);
        doors.cut = cut;
        doors.commit_said = said.to_string();
        let started = wake::start(&mut doors, initial);
        self.stopped(e, run, started)
    }

    /// Every engine not stopped renews its leases as every engine does
    /// (`wake::hold::renew`, through `Holding`): a run the store says it
    /// lost is dropped.
    pub(crate) fn beat(&mut self) -> Result<(), SimError> {
        for e in 0..self.engines.len() {
            if !self.engines[e].stalled(self.now) {
                wake::hold::renew(&mut Holding { world: self, e })?;
            }
        }
        Ok(())
    }
}

impl World {
    /// Engine `e`'s wake-up action (`--mix interleave`): it goes on with its wake-up in
    /// progress, or begins one for a run chosen by the seed, for one to three store
    /// calls; it may die before any of them.
    pub(crate) fn wake_interleaved(&mut self, e: usize) -> Result<(), SimError> {
        if self.engines[e].stalled(self.now) {
            return Ok(());
        }
        if self.engines[e].wake.is_none() {
            let runs: Vec<String> = self.engines[e].runs.keys().cloned().collect();
            if runs.is_empty() {
                return Ok(());
            }
            let run = runs[self.cuts.random_range(0..runs.len())].clone();
            let stepper = wake::Stepper::new();
            self.engines[e].wake = Some(Wake { run, stepper });
        }
        for _ in 0..self.cuts.random_range(1..=3) {
            let next = (self.engines[e].wake.as_ref()).map(|w| w.stepper.next());
            if let Some(when) = self.dies_between_calls(next) {
                return self.crash(e, &when);
            }
            if !self.advance(e)? {
                break;
            }
        }
        Ok(())
    }

    /// Engine `e`'s wake-up in progress, to its end (settling; a wake-up the plain way).
    pub(crate) fn finish_wake(&mut self, e: usize) -> Result<(), SimError> {
        while self.advance(e)? {}
        Ok(())
    }

    /// One step of engine `e`'s wake-up in progress (`wake::Stepper::step`), its
    /// commit cut where the seed says; `false` once it is over.
    fn advance(&mut self, e: usize) -> Result<bool, SimError> {
        let Some(Wake { run, mut stepper }) = self.engines[e].wake.take() else {
            return Ok(false);
        };
        if !self.engines[e].runs.contains_key(&run) {
            return Ok(false);
        }
        let before = stepper.next();
        let cut = self.interleaved_cut(before);
        let stepped = self.woken(e, &run, None, |d| {
            d.cut = cut;
            stepper.step(d).map(drop)
        });
        if !self.stopped(e, &run, stepped)? {
            return Ok(false);
        }
        match stepper.next() {
            Next::Decide if before != Next::Decide => self.steps += 1,
            // Nothing came in: a run whose core finished is let go.
            Next::Idle => {
                self.finish_if_done(e, &run)?;
                return Ok(false);
            }
            Next::Done => return Ok(false),
            _ => {}
        }
        self.engines[e].wake = Some(Wake { run, stepper });
        Ok(true)
    }
}

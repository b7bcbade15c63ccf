//! `--mix interleave` (issue 61 point 1: engines "interleaved at every store call, any
//! of which can die at any point (a dropped transaction …)"): an engine's wake-up is
//! the engine's own, stepped one store call at a time (`wake::Stepper`, which
//! `wake::wake_up` steps to its end): its run's admission, its command rows claimed,
//! each pool slot asked for, each input decided, the commit, each effect acted on.
//! What is here is scheduling: between any two steps the other engines, the operators
//! and the serve act, and the engine may die between any two of its steps, inside its
//! commit's transaction (nothing of it kept) or between its commit and the witness
//! (the store keyed, as `--mix rewrites` has it). What it draws comes from a sixth
//! stream of the seed, so the other mixes draw what they drew.
use crate::SimError;
use crate::world::World;
use baton_engine::wake::{self, Next, Source};
use baton_store::CommitCut;
use rand::Rng;

/// Engine `e`'s wake-up in progress, for `run`.
pub(crate) struct Wake {
    pub run: String,
    stepper: wake::Stepper,
}

/// What the next step of a wake-up does, as a death before it is told.
fn said(next: Next) -> &'static str {
    match next {
        Next::Gather(Source::Admission) => "asking for its group",
        Next::Gather(Source::Commands) => "claiming its commands",
        Next::Gather(Source::Slots) => "asking for a pool slot",
        Next::Gather(Source::World) => "gathering its attempts' news",
        Next::Decide => "deciding an input",
        Next::Commit => "its commit",
        Next::Act | Next::Idle | Next::Done => "acting on an effect",
    }
}

impl World {
    /// Engine `e`'s wake-up action: it goes on with its wake-up in progress, or begins
    /// one for a run chosen by the seed, for one to three store calls; it may die
    /// before any of them.
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
            if self.cuts.random_range(0..100) < 3 {
                let before = (self.engines[e].wake.as_ref()).map_or("", |w| said(w.stepper.next()));
                let when = format!("between two store calls of its wake-up, before {before}");
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
        let cut = match before {
            Next::Commit => match self.cuts.random_range(0..100) {
                0..2 => Some(CommitCut::InTransaction),
                2..4 => Some(CommitCut::BeforeWitness),
                _ => None,
            },
            _ => None,
        };
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

//! `--mix interleave` (issue 61 point 1: engines "interleaved at every store call, any
//! of which can die at any point (a dropped transaction …)"): a wake-up is made one
//! store call at a time — its run's admission, its command rows claimed, each pool
//! slot asked for, each input decided (a reopening holds its group first), the commit,
//! each effect acted on — and between any two of them the other engines, the operators
//! and the serve act. An engine may die between any two of its calls, inside its
//! commit's transaction (nothing of it kept) or between its commit and the witness
//! (the store keyed, as `--mix rewrites` has it). What it draws comes from a sixth
//! stream of the seed, so the other mixes draw what they drew.
use crate::SimError;
use crate::world::World;
use baton_core::{Effect, Input, SlotRequest};
use baton_engine::wake::{self, Source};
use baton_model::Timestamp;
use baton_store::CommitCut;
use rand::Rng;
use std::collections::VecDeque;

/// A wake-up in progress: what is done of it, and what is left.
pub(crate) struct Wake {
    pub run: String,
    next: Phase,
    /// Gathered, not yet decided.
    inputs: VecDeque<Input>,
    /// The pool slots still to ask for (`None`: not yet taken from the run).
    slot_asks: Option<VecDeque<SlotRequest>>,
    /// What the core decided so far (before the commit), then what is left to act on.
    effects: VecDeque<Effect>,
    /// The instant its inputs are decided at: the driver reads its clock once per
    /// wake-up, so every event of one wake-up has one time, however long deciding
    /// the inputs one store call at a time takes here.
    at: Option<Timestamp>,
}

/// The next store call of a wake-up: gathering from the `n`th source of the engine's
/// one order (`wake::GATHERED`), deciding, committing, acting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Gather(usize),
    Decide,
    Commit,
    Perform,
}

impl Phase {
    fn said(self) -> &'static str {
        match self {
            Phase::Gather(n) => match wake::GATHERED[n] {
                Source::Admission => "asking for its group",
                Source::Commands => "claiming its commands",
                Source::Slots => "asking for a pool slot",
                Source::World => "gathering its attempts' news",
            },
            Phase::Decide => "deciding an input",
            Phase::Commit => "its commit",
            Phase::Perform => "acting on an effect",
        }
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
            self.engines[e].wake = Some(Wake {
                run,
                next: Phase::Gather(0),
                inputs: VecDeque::new(),
                slot_asks: None,
                effects: VecDeque::new(),
                at: None,
            });
        }
        for _ in 0..self.cuts.random_range(1..=3) {
            if self.cuts.random_range(0..100) < 3 {
                let before = self.engines[e].wake.as_ref().map_or("", |w| w.next.said());
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

    /// One store call of engine `e`'s wake-up in progress; `false` once it is over.
    fn advance(&mut self, e: usize) -> Result<bool, SimError> {
        let Some(mut w) = self.engines[e].wake.take() else {
            return Ok(false);
        };
        let run = w.run.clone();
        if !self.engines[e].runs.contains_key(&run) {
            return Ok(false);
        }
        match w.next {
            Phase::Gather(n) => {
                if !self.gather_one(e, &mut w, n)? {
                    return Ok(false);
                }
            }
            Phase::Decide => {
                if let Some(input) = w.inputs.pop_front() {
                    let now = *w.at.get_or_insert(Timestamp(self.now));
                    let engine = &mut self.engines[e];
                    let Some(driven) = engine.runs.get_mut(&run) else {
                        return Ok(false);
                    };
                    let run = wake::Run {
                        store: &mut engine.store,
                        run_id: &run,
                        core: &mut driven.core,
                    };
                    w.effects.extend(wake::decide(run, input, now)?);
                }
                if w.inputs.is_empty() {
                    w.next = Phase::Commit;
                }
            }
            Phase::Commit => return self.commit_wake(e, w),
            Phase::Perform => match w.effects.pop_front() {
                Some(effect) => {
                    if !self.acted(e, &run, effect)? {
                        return Ok(false);
                    }
                }
                None => {
                    self.finish_if_done(e, &run)?;
                    return Ok(false);
                }
            },
        }
        self.engines[e].wake = Some(w);
        Ok(true)
    }

    /// One store call of the wake-up's gathering from the `n`th source, through the
    /// engine's own (`wake::gather_from`, one pool slot a call: `wake::ask_waiting`);
    /// `false` once the wake-up is over (nothing came in).
    fn gather_one(&mut self, e: usize, w: &mut Wake, n: usize) -> Result<bool, SimError> {
        let run = w.run.clone();
        let source = wake::GATHERED[n];
        let mut next = Some(n + 1).filter(|&n| n < wake::GATHERED.len());
        let taken = |d: &mut crate::doors::Doors<'_>| -> VecDeque<SlotRequest> {
            let waiting = wake::Gather::waiting_slots(d);
            waiting.map(std::mem::take).unwrap_or_default().into()
        };
        let gathered = self.woken(e, &run, None, |d| match source {
            Source::Commands => {
                // The slots are taken before the commands are claimed.
                w.slot_asks = Some(taken(d));
                wake::gather_from(d, source)
            }
            Source::Slots => {
                let asks = w.slot_asks.get_or_insert_with(|| taken(d));
                match asks.pop_front() {
                    Some(r) => {
                        // More may wait: this source again.
                        next = Some(n);
                        Ok(wake::ask_waiting(d, r)?.into_iter().collect())
                    }
                    None => Ok(Vec::new()),
                }
            }
            source => wake::gather_from(d, source),
        });
        let gathered = match gathered {
            Ok(gathered) => gathered,
            Err(stop) => return self.stopped(e, &run, Err(stop)).map(|_| false),
        };
        w.inputs.extend(gathered);
        w.next = match next {
            Some(n) => Phase::Gather(n),
            None if w.inputs.is_empty() => {
                self.finish_if_done(e, &run)?;
                return Ok(false);
            }
            None => {
                self.steps += 1;
                Phase::Decide
            }
        };
        Ok(true)
    }

    /// The wake-up's events committed in one transaction by the engine's own code
    /// (`wake::execute`), its effects kept to be acted on one a store call; the engine
    /// may die inside the commit or just after it.
    fn commit_wake(&mut self, e: usize, mut w: Wake) -> Result<bool, SimError> {
        let cut = match self.cuts.random_range(0..100) {
            0..2 => Some(CommitCut::InTransaction),
            2..4 => Some(CommitCut::BeforeWitness),
            _ => None,
        };
        let run = w.run.clone();
        let (woken, kept) = self.commit_kept(
            e,
            &run,
            w.effects.drain(..).collect(),
            (cut, "wake-up's commit"),
        );
        if !self.stopped(e, &run, woken)? {
            return Ok(false);
        }
        w.effects = kept.into();
        w.next = Phase::Perform;
        self.engines[e].wake = Some(w);
        Ok(true)
    }
}

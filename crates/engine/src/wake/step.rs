//! A wake-up in progress, made one store call at a time: the one wake-up
//! ([`super::wake_up`]) is a [`Stepper`] stepped to its end, in every world. The driver
//! steps it straight through at each poll; the simulator's `--mix interleave` steps it
//! one store call at a time, with other engines, operators and deaths between any two
//! (what it chooses is when to step, never what a step does).
use super::path::{Piece, traced};
use super::{
    COMMIT_MAX_EVENTS, Engine, Gather, Moment, Source, WAKE_UPS, WOKEN_UP, admission, ask_waiting,
    decide, fault, is_noop, noop_exit,
};
use baton_core::{Effect, Input, SlotRequest};
use baton_model::{Event, Timestamp};
use std::collections::VecDeque;

/// What a wake-up in progress does at its next step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Gather from a source of the one order ([`super::GATHERED`]): one store call,
    /// and for the pool slots one a step (the slot asks taken at the first).
    Gather(Source),
    /// Decide one input, at the instant the first was decided at.
    Decide,
    /// Commit what was decided (the no-ops that end inline with it), in one
    /// transaction, the fault door asked before and after it.
    Commit,
    /// Act on one effect the commit decided ([`Engine::act`]); with none left, the
    /// group's acting ends ([`Engine::acted`]).
    Act,
    /// Over: nothing came in.
    Idle,
    /// Over: committed (or left to join the next commit) and acted on.
    Done,
}

/// A wake-up in progress: what it gathered and decided so far, what is left to act
/// on, and its next step. After a step's error it is over: its engine died, or no
/// longer drives the run.
pub struct Stepper {
    next: Next,
    /// Gathered, not yet decided.
    inputs: VecDeque<Input>,
    /// The pool slots still to ask for (`None`: not yet taken from the world).
    slots: Option<std::vec::IntoIter<SlotRequest>>,
    /// The instant its inputs are decided at: the clock is read once per wake-up, so
    /// every event of one wake-up has one time, however long its steps take.
    at: Option<Timestamp>,
    /// What the core decided, to commit.
    effects: Vec<Effect>,
    /// What the commit decided, to act on.
    actions: std::vec::IntoIter<Effect>,
}

impl Default for Stepper {
    fn default() -> Stepper {
        Stepper::new()
    }
}

impl Stepper {
    /// A whole wake-up, from its first gathering (counted in `woken_up_here`).
    pub fn new() -> Stepper {
        WOKEN_UP.with(|n| n.set(n.get() + 1));
        Stepper::at(Next::Gather(Source::Admission), Vec::new())
    }

    /// The commit and acts of `effects`, decided already ([`super::execute`]).
    fn committing(effects: Vec<Effect>) -> Stepper {
        Stepper::at(Next::Commit, effects)
    }

    fn at(next: Next, effects: Vec<Effect>) -> Stepper {
        Stepper {
            next,
            inputs: VecDeque::new(),
            slots: None,
            at: None,
            effects,
            actions: Vec::new().into_iter(),
        }
    }

    /// What its next step does.
    pub fn next(&self) -> Next {
        self.next
    }

    /// Whether it is over ([`Next::Idle`], [`Next::Done`]).
    pub fn over(&self) -> bool {
        matches!(self.next, Next::Idle | Next::Done)
    }

    /// One step: at most one store call of the wake-up through `g`'s doors; `false`
    /// once it is over.
    pub fn step<G: Gather>(&mut self, g: &mut G) -> Result<bool, G::Error> {
        match self.next {
            Next::Gather(source) => self.gather(g, source)?,
            Next::Decide => {
                let now = *self.at.get_or_insert_with(|| g.now());
                if let Some(input) = self.inputs.pop_front() {
                    self.effects.extend(decide(g.run()?, input, now)?);
                }
                if self.inputs.is_empty() {
                    self.next = Next::Commit;
                }
            }
            Next::Commit | Next::Act | Next::Idle | Next::Done => self.execute_step(g)?,
        }
        Ok(!self.over())
    }

    /// One step of gathering from `source`, in the one order ([`super::GATHERED`]).
    fn gather<G: Gather>(&mut self, g: &mut G, source: Source) -> Result<(), G::Error> {
        if source != Source::Slots {
            traced(Piece::Gather(source));
        }
        let looks = g.looks();
        self.next = match source {
            Source::Admission => {
                if looks {
                    let turn = admission(g.run()?)?;
                    self.inputs.extend(g.turn(turn));
                }
                Next::Gather(Source::Commands)
            }
            Source::Commands => {
                if looks {
                    let claimed = g.claim()?;
                    self.take(claimed);
                }
                Next::Gather(Source::Slots)
            }
            Source::Slots => {
                let slots = self.slots.get_or_insert_with(|| {
                    let waiting = g.waiting_slots().filter(|_| looks);
                    waiting.map(std::mem::take).unwrap_or_default().into_iter()
                });
                match slots.next() {
                    // More may wait: this source again.
                    Some(r) => {
                        self.inputs.extend(ask_waiting(g, r)?);
                        Next::Gather(Source::Slots)
                    }
                    None => Next::Gather(Source::World),
                }
            }
            Source::World => {
                let brought = g.brought();
                self.take(brought);
                if self.inputs.is_empty() {
                    Next::Idle
                } else {
                    Next::Decide
                }
            }
        };
        Ok(())
    }

    /// Inputs gathered: kept in the order they came.
    fn take(&mut self, got: Vec<Input>) {
        if self.inputs.is_empty() {
            self.inputs = got.into();
        } else {
            self.inputs.extend(got);
        }
    }

    /// One step of the commit and its acts (all an engine's world needs to run them:
    /// no gathering).
    fn execute_step<E: Engine>(&mut self, w: &mut E) -> Result<(), E::Error> {
        match self.next {
            Next::Commit => self.commit(w),
            Next::Act => {
                match self.actions.next() {
                    Some(action) => w.act(action)?,
                    None => {
                        self.next = Next::Done;
                        w.acted()?;
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Commit the events among the effects decided, the group's no-ops ended inline
    /// (their events join the same commit, in bounded transactions); a commit that
    /// nothing waits for may join the next (`Engine::defer`); the group (every start,
    /// kill and decision) is committed in one transaction before any of it acts.
    fn commit<E: Engine>(&mut self, w: &mut E) -> Result<(), E::Error> {
        WAKE_UPS.with(|n| n.set(n.get() + 1));
        traced(Piece::Execute);
        let mut effects = std::mem::take(&mut self.effects);
        // Most effects are events: sized once, not grown.
        let mut events: Vec<Event> = Vec::with_capacity(effects.len());
        let mut actions: Vec<Effect> = Vec::new();
        loop {
            let mut inline = Vec::new();
            for effect in effects {
                match effect {
                    Effect::Persist(e) => events.push(e),
                    Effect::CommandDone {
                        id: Some(id),
                        outcome,
                    } if id > 0 => w.verdict(id, outcome),
                    Effect::Spawn(spec) if is_noop(&spec) => inline.push(noop_exit(&spec)),
                    other => actions.push(other),
                }
            }
            if inline.is_empty() {
                break;
            }
            // A wave of no-ops can decide tens of thousands of events at once: they
            // are committed in bounded transactions, so other writers on the store
            // (other runs, the console, `approve`) never wait long for the write lock.
            if events.len() >= COMMIT_MAX_EVENTS {
                w.commit(&mut events)?;
            }
            let now = w.now();
            let run = w.run()?;
            effects = inline
                .into_iter()
                .flat_map(|i| run.core.handle(i, now))
                .collect();
        }
        // Nothing waits for this commit, and a crash could lose only what resume
        // redoes: it may join the next one.
        if actions.is_empty()
            && !w.has_verdicts()
            && !w.run()?.core.is_finished()
            && w.defer(&mut events)
        {
            self.next = Next::Done;
            return Ok(());
        }
        fault(w, Moment::Decided)?;
        let verdicts = w.has_verdicts();
        w.commit(&mut events)?;
        fault(w, Moment::Committed { verdicts })?;
        for action in &actions {
            if let Effect::Spawn(spec) = action {
                fault(
                    w,
                    Moment::Starting {
                        step_id: &spec.step_id,
                    },
                )?;
            }
        }
        let stale: Vec<i32> = actions
            .iter()
            .filter_map(|a| match a {
                Effect::KillStale { pgid } => Some(*pgid),
                _ => None,
            })
            .collect();
        if !stale.is_empty() {
            w.kill_stale(&stale);
        }
        w.acting(&actions)?;
        self.actions = actions.into_iter();
        self.next = Next::Act;
        Ok(())
    }
}

/// Commit the events among `effects`, then act on the rest, one effect at a time:
/// the steps of a wake-up from its commit on ([`Next::Commit`]), to their end.
pub fn execute<E: Engine>(w: &mut E, effects: Vec<Effect>) -> Result<(), E::Error> {
    let mut s = Stepper::committing(effects);
    while !s.over() {
        s.execute_step(w)?;
    }
    Ok(())
}

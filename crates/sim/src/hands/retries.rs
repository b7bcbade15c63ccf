//! Retry rules in `--mix hands` (issue 78 point 5): a run of two steps, each with a
//! `retry` the seed draws (its attempts, the codes it retries on, those it never
//! retries on, an `if` over the failed attempt's exit code and its `kind` output),
//! loaded by the real loader and decided by the real core; the simulated executor ends
//! each attempt as the seed says (exit 0, 1, 2, 3 or 75 with or without a `kind`, a
//! signal, a timeout). The run's events are checked against the rule as written
//! ([`a_step_retries_only_as_its_rule_says`]). The draws come from a stream of their
//! own, so the other hands draw what they drew.
use super::Hands;
use crate::{Bug, SimError};
use baton_core::{Input, SpawnSpec, StepExit};
use baton_model::{EventKind, StepOutcome, Usage};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::sync::Arc;

/// This hand's own stream of the seed.
const STREAM: u64 = 0x7e77_3a11_0000_0000;
/// The run's steps, each with a rule of its own.
const STEPS: [&str; 2] = ["deploy", "migrate"];
/// The failing codes an attempt exits with, and a rule lists.
const CODES: [i32; 4] = [1, 2, 3, 75];

/// A retry's `if`, as the seed draws it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cond {
    /// A network blip the step says was transient.
    BlipAndTransient,
    /// Anything the step did not call fatal.
    NotFatal,
    /// Not a 2, unless the step says it was transient.
    NotTwoOrTransient,
}

impl Cond {
    fn text(self, step: &str) -> String {
        let kind = format!("steps.{step}.outputs.kind");
        match self {
            Cond::BlipAndTransient => format!("attempt.exit_code == 75 && {kind} == 'transient'"),
            Cond::NotFatal => format!("{kind} != 'fatal'"),
            Cond::NotTwoOrTransient => format!("attempt.exit_code != 2 || {kind} == 'transient'"),
        }
    }

    /// docs/workflow/conditions.md: text compares ignoring case, and a name with no
    /// value (no exit code, an output not written) is the empty text.
    fn holds(self, code: Option<i32>, kind: &str) -> bool {
        let is = |v: &str| kind.eq_ignore_ascii_case(v);
        match self {
            Cond::BlipAndTransient => code == Some(75) && is("transient"),
            Cond::NotFatal => !is("fatal"),
            Cond::NotTwoOrTransient => code != Some(2) || is("transient"),
        }
    }
}

/// A step's retry as the seed drew it: the ground truth its events are checked against.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    attempts: u32,
    only: Vec<i32>,
    never: Vec<i32>,
    cond: Option<Cond>,
}

impl Rule {
    fn draw(rng: &mut SmallRng) -> Rule {
        let (mut only, mut never) = (vec![], vec![]);
        for c in CODES {
            match rng.random_range(0..4) {
                0 => only.push(c),
                1 => never.push(c),
                _ => {}
            }
        }
        let cond = match rng.random_range(0..5) {
            0 => Some(Cond::BlipAndTransient),
            1 => Some(Cond::NotFatal),
            2 => Some(Cond::NotTwoOrTransient),
            _ => None,
        };
        Rule {
            attempts: rng.random_range(1..=4),
            only,
            never,
            cond,
        }
    }

    /// `attempts` attempts, every failure retried (no codes listed, no `if`).
    pub(crate) fn every_failure(attempts: u32) -> Rule {
        Rule {
            attempts,
            only: Vec::new(),
            never: Vec::new(),
            cond: None,
        }
    }

    /// The step's `retry = { … }`, a retry due a millisecond after the failure.
    fn toml(&self, step: &str) -> String {
        let list = |l: &[i32]| {
            let v: Vec<String> = l.iter().map(i32::to_string).collect();
            format!("[{}]", v.join(", "))
        };
        let mut t = format!("attempts = {}, delay = \"1ms\"", self.attempts);
        if !self.only.is_empty() {
            t += &format!(", exit_code = {}", list(&self.only));
        }
        if !self.never.is_empty() {
            t += &format!(", never_exit_code = {}", list(&self.never));
        }
        if let Some(c) = self.cond {
            t += &format!(", if = \"{}\"", c.text(step));
        }
        format!("retry = {{ {t} }}")
    }

    /// docs/workflow/fallbacks-and-retry.md: `never_exit_code` first, then `exit_code`
    /// (an attempt that did not exit has no code among them), then the `if`. `Err`: why
    /// the rule of `step` refuses the failed attempt.
    fn allows(&self, step: &str, code: Option<i32>, kind: &str) -> Result<(), Refused> {
        if let Some(c) = code.filter(|c| self.never.contains(c)) {
            return Err(Refused::Never(c, self.never.clone()));
        }
        if !self.only.is_empty() && !code.is_some_and(|c| self.only.contains(&c)) {
            return Err(match code {
                Some(c) => Refused::NotListed(c, self.only.clone()),
                None => Refused::NoCode(self.only.clone()),
            });
        }
        match self.cond {
            Some(c) if !c.holds(code, kind) => Err(Refused::IfFalse(c.text(step))),
            _ => Ok(()),
        }
    }
}

/// Why a rule lets a failed attempt end its step (the words the invariant reports).
#[derive(Debug, thiserror::Error)]
enum Refused {
    #[error("exit code {0} is one of its never_exit_code {1:?}")]
    Never(i32, Vec<i32>),
    #[error("exit code {0} is not one of its exit_code {1:?}")]
    NotListed(i32, Vec<i32>),
    #[error("it did not exit with a code, and its exit_code lists {0:?}")]
    NoCode(Vec<i32>),
    #[error("its if `{0}` is false")]
    IfFalse(String),
    #[error("its attempts are used")]
    AttemptsUsed,
}

/// One run of the hand: its id and each step's rule.
#[derive(Debug, Clone)]
pub(crate) struct Played {
    run: String,
    rules: Vec<(String, Rule)>,
}

impl Played {
    /// Run `run`, its steps' rules as written (another hand's run checked so).
    pub(crate) fn new(run: String, rules: Vec<(String, Rule)>) -> Played {
        Played { run, rules }
    }
}

#[derive(Default)]
pub(crate) struct Retries {
    rng: Option<SmallRng>,
    pub(crate) played: Vec<Played>,
}

impl Retries {
    /// This hand's stream of `seed`.
    fn rng(&mut self, seed: u64) -> &mut SmallRng {
        (self.rng).get_or_insert_with(|| SmallRng::seed_from_u64(seed ^ STREAM))
    }

    /// Whether an action plays the hand too (one in three, from its own stream).
    pub(super) fn plays(&mut self, seed: u64) -> bool {
        self.rng(seed).random_range(0..3) == 0
    }
}

/// How an attempt ends: (outcome, its `kind` output).
fn draw_end(rng: &mut SmallRng) -> (StepOutcome, Option<&'static str>) {
    let outcome = match rng.random_range(0..16) {
        0..3 => StepOutcome::Exited { exit_code: 0 },
        3..6 => StepOutcome::Exited { exit_code: 75 },
        6..8 => StepOutcome::Exited { exit_code: 1 },
        8..10 => StepOutcome::Exited { exit_code: 2 },
        10..12 => StepOutcome::Exited { exit_code: 3 },
        12..14 => StepOutcome::Signalled { signal: 9 },
        _ => StepOutcome::TimedOut,
    };
    let kind = match (&outcome, rng.random_range(0..4)) {
        // Only a process that exited wrote its outputs.
        (StepOutcome::Exited { .. }, 0) => Some("transient"),
        (StepOutcome::Exited { .. }, 1) => Some("Transient"),
        (StepOutcome::Exited { .. }, 2) => Some("fatal"),
        _ => None,
    };
    (outcome, kind)
}

fn workflow(rules: &[Rule]) -> String {
    let mut t = "name = \"retries\"\n".to_string();
    for (step, rule) in STEPS.iter().zip(rules) {
        t += &format!(
            "\n[[step]]\nid = \"{step}\"\nrun = \"{step}\"\ntimeout = \"30s\"\n{}\n",
            rule.toml(step)
        );
    }
    t
}

impl Hands {
    /// A run whose two steps retry by the rules the seed drew, each attempt ended as
    /// the seed says, until the core starts no more.
    pub(super) fn retry_hand(&mut self) -> Result<(), SimError> {
        let rng = self.retries.rng(self.config.seed);
        let rules: Vec<Rule> = STEPS.iter().map(|_| Rule::draw(rng)).collect();
        let n = self.retries.played.len();
        let (plan, path) = self.load_plan(&format!("retries-{n:03}.toml"), &workflow(&rules))?;
        let plan = match self.config.bug {
            Some(Bug::RetryIgnoresRules) => {
                let mut p = (*plan).clone();
                for s in &mut p.steps {
                    s.retry_rules = None;
                }
                Arc::new(p)
            }
            _ => plan,
        };
        let run = format!("rt{n:03}");
        let (mut core, mut queue) =
            self.start(&run, &(plan, path), BTreeMap::new(), vec![], None)?;
        self.retries.played.push(Played {
            run: run.clone(),
            rules: STEPS.iter().map(|s| s.to_string()).zip(rules).collect(),
        });
        // The run's own clock: its retries are due within milliseconds. Each pass
        // ends the attempts started, or ticks at the next timer (two steps of four
        // attempts at most: far fewer passes than the bound).
        let mut now = self.now;
        let mut events = Vec::new();
        for _ in 0..64 {
            if queue.is_empty() {
                // Any input fires the timers due: one not past `now` is none of ours.
                let Some(due) = core.next_wakeup().filter(|d| d.0 > now.0) else {
                    break;
                };
                now = due;
                let fx = core.handle(Input::Tick, now);
                queue.extend(self.decided(&run, fx, &mut events));
                continue;
            }
            for s in std::mem::take(&mut queue) {
                let (outcome, kind) = draw_end(self.retries.rng(self.config.seed));
                self.history.push(format!(
                    "  {run}/{} attempt {} ends {outcome:?}, kind {kind:?}",
                    s.step_id, s.attempt
                ));
                let fx = core.handle(Input::StepExited(exit(&s, outcome, kind)), now);
                queue.extend(self.decided(&run, fx, &mut events));
            }
        }
        // One commit of the whole run: the check reads its events, and a commit each
        // wake-up would cost the budget a write each.
        self.store.commit(&run, &events)?;
        self.children.events += events.len() as u64;
        Ok(())
    }

    /// `fx`'s events kept in `events` (said in the history: retries and failures); the
    /// attempts it spawns.
    fn decided(
        &mut self,
        run: &str,
        fx: Vec<baton_core::Effect>,
        events: &mut Vec<baton_model::Event>,
    ) -> Vec<SpawnSpec> {
        let (new, rest) = crate::world::runs::split(fx);
        for e in &new {
            match &e.kind {
                EventKind::RetryScheduled {
                    step, next_attempt, ..
                } => (self.history).push(format!("  {run}/{step} retried: attempt {next_attempt}")),
                EventKind::StepStateChanged {
                    step,
                    state: baton_model::StepState::Failed,
                    reason,
                    ..
                } => (self.history).push(format!(
                    "  {run}/{step} failed: {}",
                    reason.as_deref().unwrap_or_default()
                )),
                _ => {}
            }
        }
        events.extend(new);
        super::children::spawns(rest)
    }
}

fn exit(s: &SpawnSpec, outcome: StepOutcome, kind: Option<&str>) -> StepExit {
    StepExit {
        step: s.step,
        attempt: s.attempt,
        outcome,
        duration_ms: 200,
        outputs: kind
            .map(|k| vec![("kind".to_string(), k.to_string())])
            .unwrap_or_default(),
        usage: Usage::default(),
        stderr_tail: String::new(),
    }
}

/// docs/workflow/fallbacks-and-retry.md ("`exit_code`, `never_exit_code` and `if` …
/// choose which failures are retried"): in the newest run of the hand, every retry
/// on record follows a failed attempt its rule lets through with attempts left, and
/// every failed attempt not retried was refused by its rule or was its last, its step
/// then `failed`; an attempt that exited 0 is never retried.
pub(crate) fn a_step_retries_only_as_its_rule_says(h: &Hands) -> Result<Option<String>, SimError> {
    match h.retries.played.last() {
        Some(p) => retried_as_ruled(&h.store, p),
        None => Ok(None),
    }
}

/// [`a_step_retries_only_as_its_rule_says`] of run `p`.
pub(crate) fn retried_as_ruled(
    store: &baton_store::Store,
    p: &Played,
) -> Result<Option<String>, SimError> {
    let events = store.events(&p.run)?;
    for (step, rule) in &p.rules {
        let mut finished = BTreeMap::new();
        let mut retried = std::collections::BTreeSet::new();
        let mut last_state = None;
        for e in &events {
            match &e.kind {
                EventKind::StepFinished {
                    step: s,
                    attempt,
                    outcome,
                    outputs,
                    ..
                } if s == step => {
                    let kind = outputs.get("kind").cloned().unwrap_or_default();
                    finished.insert(*attempt, (outcome.clone(), kind));
                }
                EventKind::RetryScheduled {
                    step: s,
                    next_attempt,
                    ..
                } if s == step => {
                    retried.insert(next_attempt - 1);
                }
                EventKind::StepStateChanged { step: s, state, .. } if s == step => {
                    last_state = Some(*state);
                }
                _ => {}
            }
        }
        for (attempt, (outcome, kind)) in &finished {
            let code = match outcome {
                StepOutcome::Exited { exit_code } => Some(*exit_code),
                _ => None,
            };
            let said = format!(
                "{}/{step} attempt {attempt} ({outcome:?}, kind {kind:?}, rule {rule:?})",
                p.run
            );
            let was_retried = retried.contains(attempt);
            if code == Some(0) {
                if was_retried {
                    return Ok(Some(format!("{said} succeeded and was retried")));
                }
                continue;
            }
            let verdict = match rule.allows(step, code, kind) {
                Ok(()) if *attempt < rule.attempts => Ok(()),
                Ok(()) => Err(Refused::AttemptsUsed),
                Err(why) => Err(why),
            };
            match (was_retried, verdict) {
                (true, Err(why)) => {
                    return Ok(Some(format!("{said} was retried, though {why}")));
                }
                (false, Ok(())) => {
                    return Ok(Some(format!(
                        "{said} was not retried, though its rule lets it through with attempts left"
                    )));
                }
                (false, Err(_)) if last_state != Some(baton_model::StepState::Failed) => {
                    return Ok(Some(format!(
                        "{said} was not retried, and its step is {last_state:?}, not failed"
                    )));
                }
                _ => {}
            }
        }
    }
    Ok(None)
}

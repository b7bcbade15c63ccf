//! The budget's promises (docs/workflow/budget.md), checked on each run's events: a
//! frozen step writes nothing, and a ceiling is passed by no more than the documented
//! overshoot. What the checks keep of a run's spending is [`Spend`].
use crate::executor::LINE_MAX;
use baton_model::Timestamp;
use baton_model::{Event, EventKind};
use std::collections::{BTreeMap, BTreeSet};

/// A run's spending as its events record it.
#[derive(Default)]
pub struct Spend {
    /// Tokens by (step, attempt): the latest `step_usage` (a running total), replaced
    /// by the attempt's `step_finished`.
    used: BTreeMap<(String, u32), u64>,
    /// What operators added to the ceiling (`budget_raised`).
    raised: u64,
    /// Releases on record: each lets a step that reached the ceiling write one more
    /// line before it is frozen again.
    releases: u64,
    /// Resumes on record: a remote step re-attached to by a takeover may report at
    /// once a line the dead engine read and never committed.
    resumes: u64,
    /// Steps frozen now (`step_held` with `frozen`), until released or ended, with
    /// when the freeze was recorded.
    frozen: BTreeMap<String, Timestamp>,
}

impl Spend {
    /// What an event changes.
    pub fn learn(&mut self, ev: &Event) {
        match &ev.kind {
            EventKind::StepUsage {
                step,
                attempt,
                usage,
            }
            | EventKind::StepFinished {
                step,
                attempt,
                usage,
                ..
            } => {
                self.used.insert((step.clone(), *attempt), usage.tokens);
                if matches!(ev.kind, EventKind::StepFinished { .. }) {
                    self.frozen.remove(step);
                }
            }
            EventKind::StepHeld {
                step, frozen: true, ..
            } => {
                self.frozen.insert(step.clone(), ev.at);
            }
            EventKind::StepReleased { step, .. } => {
                self.releases += 1;
                self.frozen.remove(step);
            }
            // A frozen step "stays `running`, frozen" (`StepState::Held`): once it
            // leaves `running` (interrupted by a takeover that stopped its process,
            // ended, marked), its freeze is over; a later attempt starts unfrozen.
            EventKind::StepStateChanged { step, state, .. }
                if *state != baton_model::StepState::Running =>
            {
                self.frozen.remove(step);
            }
            EventKind::BudgetRaised { tokens, .. } => self.raised += tokens.unwrap_or(0),
            EventKind::RunResumed { .. } => self.resumes += 1,
            _ => {}
        }
    }

    /// What the run's steps but `unbounded` spent.
    fn total_but(&self, unbounded: &BTreeSet<String>) -> u64 {
        (self.used.iter())
            .filter(|((step, _), _)| !unbounded.contains(step))
            .map(|(_, t)| t)
            .sum()
    }
}

/// budget.md: "that step is frozen at once, as a hold of the engine's (… its whole
/// process group stopped as `baton hold` stops it …)", and of a frozen step "stopped,
/// the step writes nothing": no usage is recorded of a step while it is frozen. Lines
/// its engine gathers in the wake-up that froze it were written before the freeze
/// (the engine stops the group once the hold is committed), so the freeze counts from
/// the next instant of the simulated clock.
pub(crate) fn a_frozen_step_uses_nothing(s: &Spend, ev: &Event) -> Option<String> {
    match &ev.kind {
        EventKind::StepUsage { step, usage, .. }
            if s.frozen.get(step).is_some_and(|&at| ev.at > at) =>
        {
            Some(format!(
                "event {}: step {step} reports {} tokens while it is frozen",
                ev.seq, usage.tokens
            ))
        }
        _ => None,
    }
}

/// budget.md: "What a step spends past the ceiling is bounded by the lines it writes
/// between the line that reached it and the freeze […]; a step that reports a lot in
/// one line overshoots by that line", and a `release` lets a frozen step write its
/// next line. With the simulator's steps (one line per wake-up, at most
/// [`LINE_MAX`] tokens, one step of a run running at a time): the run's tokens stay
/// within the ceiling (with its raises) plus one line, and one more per release and per
/// resume ("what it writes until the next engine re-attaches to it […] counts past the
/// ceiling too": one line in the simulator, the one a crashed wake-up read).
///
/// budget.md: "a job of a generic batch system (`type = "batch"` […]) cannot be
/// frozen: the gate opens and it runs on", nor a step being stopped ("A step being
/// stopped […] is not frozen either: one that ignores its TERM writes on until the KILL
/// after the grace"): the steps `unbounded` (on such a
/// scheduler, or stopped while they ignore it) spend what they spend; the bound holds for what the run's other steps spent (their
/// spending is part of the run's, which reached the ceiling no later than theirs did,
/// so each is frozen no later than it would be alone).
pub(crate) fn a_ceiling_holds(
    s: &Spend,
    ceiling: Option<u64>,
    unbounded: &BTreeSet<String>,
) -> Option<String> {
    let limit = ceiling? + s.raised;
    let bound = limit + LINE_MAX * (1 + s.releases + s.resumes);
    let used = s.total_but(unbounded);
    let but = match unbounded.is_empty() {
        true => String::new(),
        false => {
            format!(" (steps on a batch scheduler, which run on past it, left out: {unbounded:?})")
        }
    };
    (used > bound).then(|| {
        format!(
            "the run used {used} tokens{but}: ceiling {limit} (raises included), at most {bound} with one line per freeze ({} release(s), {} resume(s))",
            s.releases, s.resumes
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_model::{Timestamp, Usage};

    fn ev(seq: u64, kind: EventKind) -> Event {
        Event {
            seq,
            at: Timestamp(0),
            kind,
        }
    }

    fn usage(step: &str, tokens: u64) -> EventKind {
        EventKind::StepUsage {
            step: step.into(),
            attempt: 1,
            usage: Usage {
                tokens,
                ..Usage::default()
            },
        }
    }

    #[test]
    fn a_line_past_the_freeze_is_reported_and_a_release_allows_one() {
        let mut s = Spend::default();
        let none = BTreeSet::new();
        s.learn(&ev(1, usage("load", 1_400)));
        assert_eq!(a_ceiling_holds(&s, Some(1_500), &none), None);
        s.learn(&ev(2, usage("load", 1_700)));
        let held = EventKind::StepHeld {
            step: "load".into(),
            actor: "engine".into(),
            reason: "budget".into(),
            until: None,
            frozen: true,
            exhausted: false,
            budget: true,
        };
        let same_wake = ev(3, usage("load", 1_750));
        s.learn(&ev(3, held));
        assert_eq!(a_frozen_step_uses_nothing(&s, &same_wake), None);
        let mut late = ev(4, usage("load", 2_000));
        late.at = Timestamp(1);
        assert!(a_frozen_step_uses_nothing(&s, &late).is_some());
        s.learn(&late);
        s.learn(&ev(5, usage("load", 2_400)));
        assert!(
            a_ceiling_holds(&s, Some(1_500), &none).is_some(),
            "2400 > 1500 + 399"
        );
    }

    /// The freeze of a detach's local step ends when the takeover records it
    /// interrupted (`--mix executors` seed 486): its next attempt's lines are no
    /// frozen step's.
    #[test]
    fn a_freeze_ends_when_its_step_leaves_running() {
        let mut s = Spend::default();
        s.learn(&ev(
            1,
            EventKind::StepHeld {
                step: "extract".into(),
                actor: "engine".into(),
                reason: "detach".into(),
                until: None,
                frozen: true,
                exhausted: false,
                budget: false,
            },
        ));
        let mut late = ev(3, usage("extract", 122));
        late.at = Timestamp(5);
        assert!(a_frozen_step_uses_nothing(&s, &late).is_some());
        s.learn(&ev(
            2,
            EventKind::StepStateChanged {
                step: "extract".into(),
                state: baton_model::StepState::Interrupted,
                attempt: 1,
                reason: None,
            },
        ));
        assert_eq!(a_frozen_step_uses_nothing(&s, &late), None);
    }

    /// A step on a batch scheduler runs on past the ceiling: left out of the bound,
    /// which still holds the run's other steps.
    #[test]
    fn a_batch_step_past_the_ceiling_is_left_out_and_the_others_are_bounded() {
        let batch = BTreeSet::from(["extract".to_string()]);
        let mut s = Spend::default();
        s.learn(&ev(1, usage("extract", 3_000)));
        assert!(a_ceiling_holds(&s, Some(1_500), &BTreeSet::new()).is_some());
        assert_eq!(a_ceiling_holds(&s, Some(1_500), &batch), None);
        s.learn(&ev(2, usage("publish", 1_800)));
        assert_eq!(
            a_ceiling_holds(&s, Some(1_500), &batch),
            None,
            "1800 <= 1899"
        );
        s.learn(&ev(3, usage("publish", 2_000)));
        let d = a_ceiling_holds(&s, Some(1_500), &batch).expect("2000 > 1899");
        assert!(d.contains("left out") && d.contains("2000"), "{d}");
    }
}

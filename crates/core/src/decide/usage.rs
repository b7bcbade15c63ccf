//! Live usage (issue 43 points 2 and 3): the engine follows each running attempt's
//! `$BATON_USAGE` and hands its sum so far in (`Input::Usage`); it is recorded
//! (`StepUsage`) and counts in the run's totals at once. When it brings the run to a
//! budget's ceiling, the step that reported it is frozen as a hold of the engine's
//! (`StepHeld` with `budget`) and the budget gate opens; a raise that clears every
//! ceiling continues the steps it froze.
use super::hold::{Hold, HoldFor};
use super::*;
use baton_model::history::ENGINE;

impl Core {
    /// The run's use: cost, calls, tokens (`model::burn::Totals`).
    pub(crate) fn totals(&self) -> baton_model::burn::Totals {
        [
            self.used_cost,
            self.used_calls as f64,
            self.used_tokens as f64,
        ]
    }

    /// The budget's ceilings, in the order of [`Core::totals`] (`None`: none set).
    pub(crate) fn limits(&self) -> [Option<f64>; 3] {
        [
            self.ceilings.cost,
            self.ceilings.calls.map(|c| c as f64),
            self.ceilings.tokens.map(|c| c as f64),
        ]
    }

    /// Every ceiling the run's use has reached, as (dimension, used, limit).
    pub(super) fn ceilings_reached(&self) -> Vec<(&'static str, f64, f64)> {
        let used = self.totals();
        let limits = self.limits();
        (0..3)
            .filter_map(|d| {
                let limit = limits[d]?;
                (used[d] + 1e-9 >= limit).then_some((
                    baton_model::burn::DIMENSIONS[d],
                    used[d],
                    limit,
                ))
            })
            .collect()
    }

    /// Attempt `attempt` of step `i` has written `usage` (summed) so far.
    pub(super) fn on_usage(
        &mut self,
        i: usize,
        attempt: u32,
        usage: Usage,
        now: Timestamp,
        fx: &mut Fx,
    ) {
        let Some(s) = self.steps.get(i) else {
            return;
        };
        if s.attempts != attempt || s.state != StepState::Running {
            return;
        }
        let seen = match s.more.usage.as_deref() {
            Some((u, true)) => *u,
            _ => Usage::default(),
        };
        if seen == usage {
            return;
        }
        let before = self.totals();
        let kind = EventKind::StepUsage {
            step: self.id(i),
            attempt,
            usage,
        };
        self.emit(kind, now, fx);
        let after = self.totals();
        // Only a dimension this step's lines moved stops it: a ceiling reached
        // before it started is the budget gate's, at the next start.
        let reached: Vec<_> = self
            .ceilings_reached()
            .into_iter()
            .filter(|(d, _, _)| {
                let k = baton_model::burn::DIMENSIONS.iter().position(|x| x == d);
                k.is_some_and(|k| after[k] > before[k])
            })
            .collect();
        if !reached.is_empty() {
            self.stop_running_for_budget(i, reached, now, fx);
        }
    }

    /// The run reached a ceiling while step `i` ran: it is frozen at once (when baton
    /// can freeze it: see `can_freeze`; otherwise it runs on and only the gate opens)
    /// and the budget gate opens, unless it is already open.
    fn stop_running_for_budget(
        &mut self,
        i: usize,
        reached: Vec<(&'static str, f64, f64)>,
        now: Timestamp,
        fx: &mut Fx,
    ) {
        let s = &self.steps[i];
        if s.more.hold.is_none() && !s.kill_sent && self.can_freeze(i).is_ok() {
            let what: Vec<String> = reached
                .iter()
                .map(|(d, used, limit)| format!("`{d}` {used} used of {limit}"))
                .collect();
            let why = format!(
                "the budget's ceiling is reached while it runs: {}",
                what.join(", ")
            );
            let hold = Hold {
                actor: ENGINE,
                reason: &why,
                until: None,
                what: HoldFor::Budget,
            };
            self.hold_one(i, hold, now, fx);
        }
        if self.budget_gate.is_none() {
            self.stop_for_budget(i, reached, now, fx);
        }
    }

    /// The budget was raised: the steps its ceiling froze run on once no ceiling is
    /// reached any more (one a resume held again, its process gone, is evaluated
    /// again); otherwise they stay as they are and the gate opens again.
    pub(super) fn after_raise(&mut self, actor: &str, reason: &str, now: Timestamp, fx: &mut Fx) {
        let held: Vec<usize> = (0..self.steps.len())
            .filter(|&i| self.steps[i].more.hold.as_ref().is_some_and(|h| h.budget))
            .collect();
        let Some(&first) = held.first() else {
            return;
        };
        let still = self.ceilings_reached();
        if still.is_empty() {
            for i in held {
                self.release_one(i, actor, reason, now, fx);
            }
        } else {
            self.stop_for_budget(first, still, now, fx);
        }
    }
}

//! Deciding the budget gate against the run (issue 43 point 3): a rejection by an
//! operator (`baton reject RUN --budget`), or its `timeout` passing with
//! `on_timeout = "reject"` or `"fail"`. Either way the run fails: the steps the
//! ceiling froze are killed (as a cancel kills them: SIGTERM with SIGCONT, SIGKILL
//! after the grace), the step the gate stopped does not start, and nothing else does.
use super::*;
use baton_model::{ReasonFor, Refusal};

/// The budget gate's rejection, folded from `BudgetRejected` (`show --json`'s
/// `budget.rejected`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BudgetRejection {
    pub actor: String,
    pub reason: String,
    pub timed_out: bool,
    pub at: Timestamp,
}

/// Who rejects the budget gate when its `timeout` passes.
pub(crate) const TIMEOUT_ACTOR: &str = "timeout";

impl Core {
    /// `baton reject RUN --budget`: refused unless the gate is open and a reason given.
    pub(super) fn on_reject_budget(
        &mut self,
        operator: &str,
        reason: &str,
        now: Timestamp,
        fx: &mut Fx,
    ) -> Result<String, Refusal> {
        self.can_raise_budget()?;
        if self.budget_gate.is_none() {
            return Err(Refusal::NoBudgetGate {
                run: self.cfg.run_id.clone(),
            });
        }
        if reason.trim().is_empty() {
            return Err(Refusal::ReasonRequired {
                to: ReasonFor::Reject,
            });
        }
        let reason = self.mask(reason);
        let killed = self.reject_budget(operator, reason, false, now, fx);
        Ok(format!(
            "rejected the budget gate: the run fails; {killed} running attempt(s) killed"
        ))
    }

    /// `Timer::BudgetDeadline`: the gate opened at `t - timeout` is still open.
    pub(super) fn budget_deadline(&mut self, t: Timestamp, now: Timestamp, fx: &mut Fx) {
        let open = self.budget_gate.as_ref().and_then(|g| g.deadline) == Some(t);
        if !open || self.stopping() || self.finished {
            return;
        }
        let b = self.plan.budget.unwrap_or_default();
        let after = b.timeout.map(human_duration).unwrap_or_default();
        let reason = format!(
            "no raise within {after} (on_timeout = {})",
            b.on_timeout.as_str()
        );
        self.reject_budget(TIMEOUT_ACTOR, reason, true, now, fx);
    }

    /// Reject the open budget gate as `actor`: on record, the run failed, every
    /// running attempt killed. How many attempts it kills.
    fn reject_budget(
        &mut self,
        actor: &str,
        reason: String,
        timed_out: bool,
        now: Timestamp,
        fx: &mut Fx,
    ) -> usize {
        let Some(g) = self.budget_gate.clone() else {
            return 0;
        };
        let gated = g.step.as_ref().and_then(|s| self.ids.get(s).copied());
        // The stops it recorded are decided: the rejection's record says what stands.
        self.close_budget_records(now, fx);
        let kind = EventKind::BudgetRejected {
            actor: actor.to_string(),
            reason: reason.clone(),
            timed_out,
            step: g.step.clone(),
        };
        self.emit(kind, now, fx);
        let fail = timed_out
            && self
                .plan
                .budget
                .is_some_and(|b| b.on_timeout == OnTimeout::Fail);
        let what = if timed_out {
            format!("the budget gate timed out: {reason}")
        } else {
            format!("the budget gate was rejected by {actor}: {reason}")
        };
        let (kind, state) = match (timed_out, fail) {
            (true, true) => (ErrorKind::GateTimeout, StepState::Failed),
            (true, false) => (ErrorKind::GateTimeout, StepState::Rejected),
            (false, _) => (ErrorKind::GateRejected, StepState::Rejected),
        };
        let message = format!(
            "{what} (`{}` {} used of {}); the run fails",
            g.dimension, g.used, g.limit
        );
        let b = match gated {
            Some(i) => self.step_error(i, kind, message),
            None => ErrorRecord::builder(kind, message),
        }
        .id("budget:rejected")
        .context("actor", actor)
        .context("reason", &reason)
        .context("dimension", &g.dimension)
        .context("used", g.used)
        .context("limit", g.limit)
        .retryable(false);
        self.record(b, Cause::Attempt, false, now, fx);
        // The step the gate stopped before it started is rejected (failed, with
        // `on_timeout = "fail"`); one that runs (frozen) is killed with the others.
        if let Some(i) = gated
            && !settled(self.steps[i].state)
            && !self.steps[i].state.has_process()
        {
            self.set(i, state, Some(what.clone()), now, fx);
        }
        let killed = self.processes();
        self.emit(
            EventKind::RunStateChanged {
                state: RunState::Failed,
                reason: Some(what.clone()),
            },
            now,
            fx,
        );
        self.stop_all(StepState::Skipped, &what, now, fx);
        killed
    }

    /// Why a running attempt ended killed after the budget gate was rejected.
    pub(super) fn killed_by_budget(&self) -> Option<String> {
        let r = self.budget_rejected.as_ref()?;
        Some(if r.timed_out {
            "the budget gate timed out".to_string()
        } else {
            format!("the budget gate was rejected by {}", r.actor)
        })
    }

    /// `baton approve RUN --raise`: the ceilings raised, the budget gate closed.
    pub(super) fn on_raise_budget(
        &mut self,
        operator: &str,
        reason: &str,
        raise: baton_model::raise::Raise,
        now: Timestamp,
        fx: &mut Fx,
    ) -> Result<String, Refusal> {
        self.can_raise_budget()?;
        if raise.cost.is_none() && raise.calls.is_none() && raise.tokens.is_none() {
            return Err(Refusal::NothingToRaise);
        }
        if raise.is_bad() {
            return Err(Refusal::BadRaise);
        }
        if reason.trim().is_empty() {
            return Err(Refusal::ReasonRequired {
                to: ReasonFor::RaiseBudget,
            });
        }
        self.close_budget_records(now, fx);
        let kind = EventKind::BudgetRaised {
            actor: operator.to_string(),
            reason: self.mask(reason),
            cost: raise.cost,
            calls: raise.calls,
            tokens: raise.tokens,
        };
        self.emit(kind, now, fx);
        self.after_raise(operator, &self.mask(reason), now, fx);
        Ok("budget raised".into())
    }
}

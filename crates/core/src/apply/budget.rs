//! Folds of the budget: usage read from running steps, the budget gate's opening,
//! raise and rejection.
use super::*;
use baton_model::EventKind;

impl Core {
    pub(super) fn fold_step_usage(&mut self, step: &str, attempt: u32, usage: Usage) {
        if let Some(i) = self.step_index(step)
            && self.steps[i].attempts == attempt
            && self.steps[i].state == StepState::Running
        {
            self.fold_usage(i, usage, true);
        }
    }

    /// Step `i`'s latest attempt used `usage` so far (`live`: it still runs; else it
    /// ended and this is its whole file): what the run's totals counted of it before
    /// gives way to this. The attempt counted one call when it started; `calls=N`
    /// makes it N (`calls=0` or none: the one call stays).
    pub(super) fn fold_usage(&mut self, i: usize, usage: Usage, live: bool) {
        let before = match self.steps[i].more.usage.as_deref() {
            Some((u, true)) => *u,
            _ => Usage::default(),
        };
        self.used_cost = (self.used_cost - before.cost).max(0.0) + usage.cost;
        self.used_tokens = self
            .used_tokens
            .saturating_sub(before.tokens)
            .saturating_add(usage.tokens);
        self.used_calls = self
            .used_calls
            .saturating_sub(before.calls.saturating_sub(1))
            .saturating_add(usage.calls.saturating_sub(1));
        let keep = live || usage != Usage::default() || self.steps[i].more.usage.is_some();
        if keep {
            self.steps[i].more.usage = Some(Box::new((usage, live)));
        }
    }

    /// Step `i` (`step`) ended: a budget gate its running usage opened is over with it
    /// (the next start is checked against the ceilings as any start is), unless
    /// another step is still frozen at the ceiling: the gate is then that step's, open
    /// until a raise, a rejection or its timeout.
    pub(super) fn budget_gate_passes_on(&mut self, i: usize, step: &str) {
        if self
            .budget_gate
            .as_ref()
            .is_none_or(|g| g.step.as_deref() != Some(step))
        {
            return;
        }
        let frozen = (0..self.steps.len())
            .find(|&k| k != i && self.steps[k].more.hold.as_ref().is_some_and(|h| h.budget));
        match (frozen, self.budget_gate.as_mut()) {
            (Some(k), Some(g)) => g.step = Some(self.plan.steps[k].id.clone()),
            _ => self.budget_gate = None,
        }
    }

    /// Fold `BudgetExceeded`: the budget gate open (or still open) on this ceiling.
    pub(super) fn fold_budget_exceeded(&mut self, ev: &Event) {
        let EventKind::BudgetExceeded {
            dimension,
            used,
            limit,
            step,
        } = &ev.kind
        else {
            return;
        };
        let at = ev.at;
        // Open already (another ceiling, or another step): its opening and
        // deadline stand. Newly open: its timeout's clock starts.
        let (opened_at, deadline) = match &self.budget_gate {
            Some(g) => (g.opened_at, g.deadline),
            None => {
                let d = self.plan.budget.and_then(|b| b.timeout).map(|t| at.add(t));
                if let Some(d) = d {
                    self.timers.insert((d, Timer::BudgetDeadline));
                }
                (at, d)
            }
        };
        self.budget_gate = Some(BudgetGate {
            opened_at,
            deadline,
            dimension: dimension.clone(),
            used: *used,
            limit: *limit,
            step: step.clone(),
        });
    }

    pub(super) fn fold_budget_raised(
        &mut self,
        cost: Option<f64>,
        calls: Option<u64>,
        tokens: Option<u64>,
    ) {
        let b = &mut self.ceilings;
        if let (Some(c), Some(d)) = (b.cost.as_mut(), cost) {
            *c += d;
        }
        if let (Some(c), Some(d)) = (b.calls.as_mut(), calls) {
            *c = c.saturating_add(d);
        }
        if let (Some(c), Some(d)) = (b.tokens.as_mut(), tokens) {
            *c = c.saturating_add(d);
        }
        self.budget_gate = None;
    }

    pub(super) fn fold_budget_rejected(
        &mut self,
        at: Timestamp,
        actor: &str,
        reason: &str,
        timed_out: bool,
    ) {
        self.budget_rejected = Some(crate::decide::BudgetRejection {
            actor: actor.to_string(),
            reason: reason.to_string(),
            timed_out,
            at,
        });
        self.budget_gate = None;
    }
}

//! The run budget: which ceiling, if any, blocks the next spawn.
use super::*;

impl Core {
    pub(super) fn budget_block(&self, i: usize) -> Option<(&'static str, f64, f64)> {
        let b = &self.ceilings;
        if let Some(c) = b.calls
            && self.used_calls + 1 > c
        {
            return Some(("calls", self.used_calls as f64, c as f64));
        }
        if let Some(c) = b.cost
            && self.used_cost + self.plan.steps[i].cost > c + 1e-9
        {
            return Some(("cost", self.used_cost, c));
        }
        if let Some(c) = b.tokens
            && self.used_tokens >= c
        {
            return Some(("tokens", self.used_tokens as f64, c as f64));
        }
        None
    }
}

//! The run budget: which ceiling, if any, blocks the next spawn.
use super::*;

impl Core {
    /// Every ceiling that blocks step `i`'s start, as (dimension, used, limit): all of
    /// them at once, so that an operator raises what is needed in one go instead of
    /// meeting the next ceiling after each raise.
    pub(super) fn budget_blocks(&self, i: usize) -> Vec<(&'static str, f64, f64)> {
        let b = &self.ceilings;
        let mut out = Vec::new();
        if let Some(c) = b.calls
            && self.used_calls + 1 > c
        {
            out.push(("calls", self.used_calls as f64, c as f64));
        }
        if let Some(c) = b.cost
            && self.used_cost + self.plan.steps[i].cost > c + 1e-9
        {
            out.push(("cost", self.used_cost, c));
        }
        if let Some(c) = b.tokens
            && self.used_tokens >= c
        {
            out.push(("tokens", self.used_tokens as f64, c as f64));
        }
        out
    }
}

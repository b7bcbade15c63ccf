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

impl Core {
    /// The budget stops step `i`: the budget gate opens (one `budget_exceeded` event per
    /// ceiling in its way) and each stop is an error record on the step, open until the
    /// budget is raised.
    pub(super) fn stop_for_budget(
        &mut self,
        i: usize,
        blocks: Vec<(&'static str, f64, f64)>,
        now: Timestamp,
        fx: &mut Fx,
    ) {
        for (dimension, used, limit) in blocks {
            let kind = EventKind::BudgetExceeded {
                dimension: dimension.into(),
                used,
                limit,
                step: Some(self.id(i)),
            };
            self.emit(kind, now, fx);
            let b = self
                .step_error(
                    i,
                    ErrorKind::BudgetExceeded,
                    format!(
                        "the budget's `{dimension}` ceiling stops `{}`: {used} used of {limit}",
                        self.id(i)
                    ),
                )
                .id(format!("budget:{dimension}"))
                .context("dimension", dimension)
                .context("used", used)
                .context("limit", limit)
                .retryable(false);
            let cause = Cause::Budget {
                dimension: dimension.into(),
                by: baton_model::inbox::raise_by(limit),
            };
            self.record(b, cause, false, now, fx);
        }
    }

    /// The budget was raised: the stops the gate recorded are over.
    pub(super) fn close_budget_records(&mut self, now: Timestamp, fx: &mut Fx) {
        let step = self.budget_gate.as_ref().and_then(|g| g.step.clone());
        if let Some(i) = step.and_then(|s| self.ids.get(&s).copied()) {
            self.close_of_kind(i, ErrorKind::BudgetExceeded, now, fx);
        }
    }

    /// Each pool whose next step could start but for a rate token: that step gets a
    /// low `rate_limited` record (once; closed when it starts).
    pub(super) fn note_rate_limited(&mut self, now: Timestamp, fx: &mut Fx) {
        if self.counts[si(StepState::Running)] >= self.max_parallel {
            return;
        }
        for l in 1..self.lanes.len() {
            let lane = &self.lanes[l];
            let Some(b) = lane.bucket.as_ref() else {
                continue;
            };
            if lane.running >= lane.capacity || b.available(now) {
                continue;
            }
            let Some(s) = lane
                .queue
                .iter()
                .find(|&&(t, s)| {
                    self.steps[s].state == StepState::Queued && self.steps[s].queue_ticket == t
                })
                .map(|&(_, s)| s)
            else {
                continue;
            };
            let held = self.steps[s]
                .more
                .open_errors
                .iter()
                .any(|&n| self.errors[n].kind == ErrorKind::RateLimited);
            if held {
                continue;
            }
            let pool = &self.plan.pools[l - 1];
            let rate = pool
                .rate
                .map(|r| format!("{}/{}", r.count, human_duration(r.per)))
                .unwrap_or_default();
            let b = self
                .step_error(
                    s,
                    ErrorKind::RateLimited,
                    format!("waits for a token of pool `{}` ({rate})", pool.name),
                )
                .severity(Severity::Low)
                .context("pool", &pool.name)
                .context("rate", &rate)
                .retryable(true);
            let cause = Cause::Rate {
                pool: pool.name.clone(),
                rate,
            };
            self.record(b, cause, false, now, fx);
        }
    }
}

//! `budget` and `[pools]`: what a run may spend, and how many steps may hold a pool at
//! once and how fast they may start.
use super::*;

pub(super) const BUDGET_FIELDS: &[&str] = &["cost", "calls", "tokens", "timeout", "on_timeout"];
pub(super) const POOL_FIELDS: &[&str] = &["capacity", "rate", "burst", "executor", "scope"];

impl Loader<'_, '_> {
    pub(super) fn budget(&mut self, n: &Node) -> Option<Budget> {
        let entries = self.table(
            n,
            "`budget`",
            "budget = { cost = 25.0, calls = 500, tokens = 200000 }",
        )?;
        self.unknown_fields(entries, BUDGET_FIELDS, "in `budget`");
        let mut b = Budget::default();
        if let Some(c) = get(entries, "cost") {
            b.cost = self.non_negative_number(c, "`budget.cost`");
        }
        if let Some(c) = get(entries, "calls") {
            b.calls = self.int_at_least(c, "`budget.calls`", 0).map(|v| v as u64);
        }
        if let Some(t) = get(entries, "tokens") {
            b.tokens = self.int_at_least(t, "`budget.tokens`", 0).map(|v| v as u64);
        }
        if let Some(t) = get(entries, "timeout") {
            b.timeout = self.duration(t, "`budget.timeout`");
        }
        if let Some(o) = get(entries, "on_timeout") {
            b.on_timeout = self.budget_on_timeout(o);
        }
        Some(b)
    }

    /// `budget.on_timeout`: `reject` or `fail`. `approve` is refused: approving the
    /// budget gate is raising a ceiling, and a timeout cannot say by how much.
    fn budget_on_timeout(&mut self, o: &Node) -> OnTimeout {
        match self.string(o, "`budget.on_timeout`") {
            Some("reject") | None => OnTimeout::Reject,
            Some("fail") => OnTimeout::Fail,
            Some("approve") => {
                self.err(
                    &o.span,
                    "`budget.on_timeout` cannot be \"approve\": approving the budget gate is raising a ceiling, and a timeout cannot say by how much",
                    "use on_timeout = \"reject\" (the default) or \"fail\", or set a higher ceiling in `budget`",
                );
                OnTimeout::Reject
            }
            Some(other) => {
                let hint = did_you_mean(other, &["reject", "fail"], "choices");
                self.err(
                    &o.span,
                    format!("unknown `budget.on_timeout` \"{other}\""),
                    format!("{hint} (`budget.on_timeout` is \"reject\" (the default) or \"fail\")"),
                );
                OnTimeout::Reject
            }
        }
    }

    pub(super) fn pools(&mut self, n: &Node) -> Vec<Pool> {
        let Some(entries) = self.table(n, "`pools`", "[pools.deploy] with capacity = 1") else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for e in entries {
            if !is_step_id(&e.key) {
                self.err(
                    &e.key_span,
                    format!("pool name `{}` is invalid", e.key),
                    "use 1 to 64 lowercase letters, digits, '_' or '-'",
                );
            }
            let what = format!("pool `{}`", e.key);
            let Some(fields) = self.table(&e.node, &what, "[pools.deploy] with capacity = 1")
            else {
                continue;
            };
            self.unknown_fields(fields, POOL_FIELDS, &format!("in {what}"));
            let capacity = get(fields, "capacity")
                .and_then(|c| self.int_at_least(c, &format!("`capacity` of {what}"), 1))
                .unwrap_or(1) as usize;
            let rate = get(fields, "rate").and_then(|r| {
                let s = self.string(r, &format!("`rate` of {what}"))?;
                parse_rate(s)
                    .map_err(|e| {
                        self.err(
                            &r.span,
                            format!("`rate` of {what}: {}", short(&e.to_string())),
                            "write N/s, N/min or N/h with N of at least 1, e.g. rate = \"10/min\"",
                        )
                    })
                    .ok()
            });
            let burst = get(fields, "burst")
                .and_then(|b| self.int_at_least(b, &format!("`burst` of {what}"), 1))
                .map_or(capacity as u32, |b| b.min(u32::MAX as i64) as u32);
            let scope = get(fields, "scope")
                .and_then(|n| self.pool_scope(n, &what))
                .unwrap_or_default();
            out.push(Pool {
                name: e.key.to_string(),
                capacity,
                rate,
                burst,
                scope,
            });
        }
        out
    }
}

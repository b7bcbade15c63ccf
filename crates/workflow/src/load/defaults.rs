//! `[defaults]` and `retry`: the timeout and retry policy a step has unless it says
//! otherwise.
use super::*;

pub(super) const DEFAULTS_FIELDS: &[&str] = &["timeout", "retry", "executor", "cache"];
pub(super) const RETRY_FIELDS: &[&str] = &[
    "attempts",
    "backoff",
    "delay",
    "max_delay",
    "jitter",
    "exhausted",
];
pub(super) const MAX_ATTEMPTS: i64 = 100;

impl Loader<'_, '_> {
    pub(super) fn defaults(&mut self, n: &Node) -> (Option<Duration>, RetryPolicy) {
        let Some(entries) = self.table(n, "`defaults`", "[defaults] with timeout and retry") else {
            return (None, RetryPolicy::default());
        };
        self.unknown_fields(entries, DEFAULTS_FIELDS, "in `defaults`");
        let timeout = get(entries, "timeout").and_then(|t| self.duration(t, "`defaults.timeout`"));
        let retry = match get(entries, "retry") {
            Some(r) => self.retry(r, "`defaults.retry`", RetryPolicy::default()),
            None => RetryPolicy::default(),
        };
        (timeout, retry)
    }

    pub(super) fn retry(&mut self, n: &Node, what: &str, base: RetryPolicy) -> RetryPolicy {
        let Some(entries) = self.table(
            n,
            what,
            "retry = { attempts = 3, backoff = \"exponential\", delay = \"1s\" }",
        ) else {
            return base;
        };
        self.unknown_fields(entries, RETRY_FIELDS, &format!("in {what}"));
        let mut p = base;
        if let Some(a) = get(entries, "attempts") {
            match self.int_at_least(a, &sub(what, "attempts"), 1) {
                Some(v) if v > MAX_ATTEMPTS => self.err(
                    &a.span,
                    format!(
                        "{} is {v}, more than the limit of {MAX_ATTEMPTS}",
                        sub(what, "attempts")
                    ),
                    format!("use at most {MAX_ATTEMPTS} attempts (1 means no retry)"),
                ),
                Some(v) => p.attempts = v as u32,
                None => {}
            }
        }
        if let Some(b) = get(entries, "backoff")
            && let Some(s) = self.string(b, &sub(what, "backoff"))
        {
            match s {
                "fixed" => p.backoff = Backoff::Fixed,
                "linear" => p.backoff = Backoff::Linear,
                "exponential" => p.backoff = Backoff::Exponential,
                other => {
                    let hint =
                        did_you_mean(other, &["fixed", "linear", "exponential"], "backoff kinds");
                    self.err(
                        &b.span,
                        format!("unknown backoff \"{other}\" in {what}"),
                        format!("{hint} (backoff is \"fixed\", \"linear\" or \"exponential\")"),
                    );
                }
            }
        }
        let delay = get(entries, "delay");
        if let Some(d) = delay.and_then(|d| self.duration(d, &sub(what, "delay"))) {
            p.delay = d;
        }
        let max_delay = get(entries, "max_delay");
        if let Some(d) = max_delay.and_then(|d| self.duration(d, &sub(what, "max_delay"))) {
            p.max_delay = d;
        }
        if p.max_delay < p.delay {
            let span = max_delay
                .or(delay)
                .map_or(n.span.clone(), |x| x.span.clone());
            self.err(
                &span,
                format!(
                    "{what}: max_delay ({:?}) is shorter than delay ({:?})",
                    p.max_delay, p.delay
                ),
                "make max_delay at least as long as delay",
            );
        }
        if let Some(j) = get(entries, "jitter")
            && let Some(b) = self.boolean(j, &sub(what, "jitter"))
        {
            p.jitter = b;
        }
        if let Some(e) = get(entries, "exhausted")
            && let Some(s) = self.string(e, &sub(what, "exhausted"))
        {
            match s {
                "fail" => p.hold_when_exhausted = false,
                "hold" => p.hold_when_exhausted = true,
                other => {
                    let hint = did_you_mean(other, &["fail", "hold"], "values of exhausted");
                    self.err(
                        &e.span,
                        format!("unknown exhausted \"{other}\" in {what}"),
                        format!("{hint} (exhausted is \"fail\" or \"hold\")"),
                    );
                }
            }
        }
        p
    }
}

//! `[defaults]` and `retry`: the timeout and retry policy a step has unless it says
//! otherwise.
use super::*;
use crate::condition;
use crate::retry::{ExitSet, RetryExits, RetryRules};

pub(super) const DEFAULTS_FIELDS: &[&str] = &["timeout", "retry", "executor", "cache"];
pub(super) const RETRY_FIELDS: &[&str] = &[
    "attempts",
    "backoff",
    "delay",
    "max_delay",
    "jitter",
    "exhausted",
    "exit_code",
    "never_exit_code",
    "if",
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
            Some(r) => {
                self.no_retry_rules(r, "`defaults.retry`");
                self.retry(r, "`defaults.retry`", RetryPolicy::default())
            }
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

    /// `exit_code` and `never_exit_code` of a step's `retry` table: codes 0..=255,
    /// none in both.
    pub(super) fn retry_exits(&mut self, entries: &[Entry], what: &str) -> RetryExits {
        let read = |l: &mut Self, key: &str| -> ExitSet {
            get(entries, key).map_or_else(ExitSet::default, |n| l.retry_codes(n, &sub(what, key)))
        };
        let exits = RetryExits {
            only: read(self, "exit_code"),
            never: read(self, "never_exit_code"),
        };
        if let Some(c) = exits.only.codes().find(|c| exits.never.contains(*c))
            && let Some(n) = get(entries, "never_exit_code")
        {
            self.err(
                &n.span,
                format!("{what} lists exit code {c} in both `exit_code` and `never_exit_code`"),
                "keep it in one: `exit_code` lists the codes it retries on, `never_exit_code` those it never retries on",
            );
        }
        exits
    }

    /// A list of exit codes (`what` names it): each a whole number from 0 to 255.
    fn retry_codes(&mut self, n: &Node, what: &str) -> ExitSet {
        let Val::Array(items) = &n.val else {
            self.type_error(n, what, "a list of exit codes", "exit_code = [75]");
            return ExitSet::default();
        };
        let mut codes = ExitSet::default();
        for item in items {
            match item.val {
                Val::Int(c) if (0..=255).contains(&c) => codes = codes.with(c as i32),
                _ => self.err(
                    &item.span,
                    format!(
                        "{what} lists {}",
                        self.r.map.text(&item.span).unwrap_or("?")
                    ),
                    "an exit code is a whole number from 0 to 255 (a process's exit status)",
                ),
            }
        }
        codes
    }

    /// A retry rule (`exit_code`, `never_exit_code`, `if`) where only a step's own
    /// `retry` may have one (`defaults`, a `fallback` entry): an error naming where it
    /// goes.
    pub(super) fn no_retry_rules(&mut self, n: &Node, what: &str) {
        let Some(t) = n.entries() else { return };
        for key in ["exit_code", "never_exit_code", "if"] {
            if let Some(e) = get_entry(t, key) {
                self.err(
                    &e.key_span,
                    format!("{what} has `{key}`"),
                    format!("a retry's `{key}` is the step's own (it holds for each of its alternatives): write it in the step's own `retry`"),
                );
            }
        }
    }

    /// Step `site.i`'s retry rules, its `if` parsed; none when it has none.
    pub(super) fn resolve_retry_rules(
        &mut self,
        site: &super::resolve::Site<'_, '_, '_>,
        label: &str,
    ) -> Option<Box<RetryRules>> {
        let raw = &site.raw[site.i];
        let exits = raw.retry_exits;
        let condition = match raw.retry_if.clone() {
            Some(written) => Some(self.retry_if(site, label, written)?),
            None => None,
        };
        (!exits.is_blank() || condition.is_some())
            .then(|| Box::new(RetryRules { exits, condition }))
    }

    /// Step `site.i`'s `retry.if`, parsed: it reads `attempt.exit_code`, the step's
    /// own outputs (the failed attempt's), declared params and `run.id`.
    fn retry_if(
        &mut self,
        site: &super::resolve::Site<'_, '_, '_>,
        label: &str,
        (text, span): (&str, Span),
    ) -> Option<condition::Condition> {
        let own = site.raw[site.i].id.as_ref().map_or("", |(id, _)| *id);
        let what = format!("`retry.if` of {label}");
        let at = self.placer((text, &span));
        let mut c = match condition::parse(text) {
            Ok(c) => c,
            Err(e) => {
                self.err(&at(&e.at), format!("{what}: {}", e.message), e.hint);
                return None;
            }
        };
        let mut ok = true;
        for (name, place) in c.names() {
            let fine = match name {
                condition::Name::Param(p) => site.param_names.contains(&p.as_str()),
                condition::Name::RunId | condition::Name::AttemptExitCode => true,
                condition::Name::StepOutput { step_id, .. } => step_id == own,
                _ => false,
            };
            if !fine {
                ok = false;
                self.err(
                    &at(&place),
                    format!("{what} reads `{name}`"),
                    format!("a retry's `if` reads the failed attempt: `attempt.exit_code`, the step's own outputs (`steps.{own}.outputs.KEY`), declared params and `run.id`"),
                );
            }
        }
        let i = site.i;
        c.resolve_steps(|_| i);
        ok.then_some(c)
    }
}

//! `[[step]]` tables as written (`RawStep`), and their `outputs`; names are resolved
//! later (`resolve`).
use super::*;

pub(super) const STEP_FIELDS: &[&str] = &[
    "id",
    "run",
    "uses",
    "with",
    "needs",
    "when",
    "allow_failure",
    "if",
    "fallback",
    "env",
    "timeout",
    "deadline",
    "retry",
    "pool",
    "dir",
    "cost",
    "outputs",
    "compensate",
    "gate",
    "idempotent",
    "on_cancel",
    "repeat",
    "executor",
    "requires",
    "cache",
    "inputs",
    "produces",
    "secrets",
    "service",
    "ready",
    "live",
    "restart",
    "artifacts",
    "uses_artifacts",
    // fan-out (`fanout.rs`)
    "matrix",
    "for_each",
    "max_parallel",
    "fail_fast",
    "max_instances",
    // a child run (`child.rs`)
    "workflow",
    "params",
];
pub(super) const OUTPUT_FIELDS: &[&str] = &["pattern"];

/// Whether the step's table writes any of `keys` (even malformed).
fn writes_any(f: &[Entry], keys: &[&str]) -> bool {
    keys.iter().any(|k| get(f, k).is_some())
}

impl Loader<'_, '_> {
    pub(super) fn steps<'n>(
        &mut self,
        e: &'n Entry,
        default_timeout: Option<Duration>,
        default_retry: &RetryPolicy,
    ) -> Vec<RawStep<'n>> {
        let items = match &e.node.val {
            Val::Array(items) => items,
            _ => {
                self.err(
                    &e.key_span,
                    format!("`step` must be an array of tables, found {}", e.node.kind()),
                    "write each step as its own [[step]] block (double brackets)",
                );
                return Vec::new();
            }
        };
        if items.is_empty() {
            self.err(
                &e.key_span,
                "the workflow has no steps",
                "add at least one [[step]] block",
            );
        }
        // Sized once: a RawStep is large and 100,000 of them doubling cost tens of MB.
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let Some(fields) = self.table(item, "each `step`", "a [[step]] block with id = \"…\"")
            else {
                continue;
            };
            out.push(self.step(item.span.clone(), fields, default_timeout, default_retry));
        }
        out
    }

    /// A step's `retry`: its policy (the workflow's default where it has none), the
    /// exit codes it retries on or never, and its `if` as written.
    fn step_retry<'n>(
        &mut self,
        f: &'n [Entry],
        label: &str,
        default_retry: &RetryPolicy,
    ) -> (
        RetryPolicy,
        crate::retry::RetryExits,
        Option<(&'n str, Span)>,
    ) {
        let retry = match get(f, "retry") {
            Some(n) => self.retry(n, &format!("`retry` of {label}"), *default_retry),
            None => *default_retry,
        };
        let table = get(f, "retry").and_then(Node::entries);
        let exits = table
            .map(|t| self.retry_exits(t, &format!("`retry` of {label}")))
            .unwrap_or_default();
        let condition = table.and_then(|t| get(t, "if")).and_then(|c| {
            self.string(c, &format!("`retry.if` of {label}"))
                .map(|s| (s, c.span.clone()))
        });
        (retry, exits, condition)
    }

    pub(super) fn step<'n>(
        &mut self,
        span: Span,
        f: &'n [Entry],
        default_timeout: Option<Duration>,
        default_retry: &RetryPolicy,
    ) -> RawStep<'n> {
        let id = self.step_id(f, &span);
        let label = match &id {
            Some((s, _)) => format!("step `{s}`"),
            None => "this step".to_string(),
        };
        self.unknown_fields(f, STEP_FIELDS, &format!("in {label}"));
        let text = |l: &mut Self, key: &str| -> Option<(&'n str, Span)> {
            let n = get(f, key)?;
            l.string(n, &format!("`{key}` of {label}"))
                .map(|s| (s, n.span.clone()))
        };
        let run = text(self, "run");
        let uses = text(self, "uses");
        let child = self.child_keys(f, &label);
        let compensate = text(self, "compensate");
        let pool = text(self, "pool");
        let executor = text(self, "executor");
        let requires = get(f, "requires")
            .map(|n| self.string_list(n, &format!("`requires` of {label}"), "requires = [\"gpu\"]"))
            .unwrap_or_default();
        let dir = text(self, "dir");
        self.check_texts(&label, run.as_ref(), compensate.as_ref(), dir.as_ref());
        let needs = get(f, "needs").map_or(&[][..], |n| {
            self.string_items(
                n,
                &format!("`needs` of {label}"),
                "needs = [\"build\", \"test\"]",
            )
        });
        let with = get(f, "with").map(|n| {
            let entries = self.text_table(n, &format!("`with` of {label}"), false);
            (entries, n.span.clone())
        });
        let env = get(f, "env")
            .map(|n| self.text_table(n, &format!("`env` of {label}"), true))
            .unwrap_or_default();
        let rules = self.rules(f, &label, values::strings(needs).next().is_some());
        let timeout = match get(f, "timeout") {
            Some(n) => self.duration(n, &format!("`timeout` of {label}")),
            None => default_timeout,
        };
        let (retry, retry_exits, retry_if) = self.step_retry(f, &label, default_retry);
        let cost = get(f, "cost")
            .and_then(|n| self.non_negative_number(n, &format!("`cost` of {label}")))
            .unwrap_or(0.0);
        let idempotent = get(f, "idempotent")
            .and_then(|n| self.boolean(n, &format!("`idempotent` of {label}")))
            .unwrap_or(true);
        let outputs = get(f, "outputs")
            .map(|n| self.outputs(n, &label))
            .unwrap_or_default();
        let gate = get(f, "gate")
            .and_then(|n| self.gate(n, &label))
            .map(Box::new);
        let fanout = self.fanout(f, &label).map(Box::new);
        let on_cancel = self.on_cancel(f, &label);
        let repeat = get(f, "repeat").and_then(|n| self.repeat(n, &label));
        if repeat.is_some() {
            self.repeat_alone(f, &label);
        }
        let fallback = get(f, "fallback")
            .map(|n| self.fallback(n, &label, retry))
            .unwrap_or_default();
        let artifacts = self.raw_artifacts(f, &label);
        // Made for every step (its checks report as they parse), kept only when the
        // step writes one of its keys: otherwise it is all defaults (`NO_MORE`).
        let more = RawMore {
            child,
            with,
            rules,
            pool,
            executor,
            requires,
            dir: dir.map(|(d, _)| d),
            outputs,
            compensate,
            on_cancel,
            repeat,
            fallback,
            retry_exits,
            retry_if,
        };
        RawStep {
            span,
            id,
            needs,
            run,
            uses,
            env,
            timeout,
            retry,
            cost,
            gate,
            idempotent,
            has_action_key: writes_any(f, &["run", "uses", "gate", "workflow"]),
            fanout,
            artifacts,
            more: writes_any(f, RawMore::KEYS).then(|| Box::new(more)),
        }
    }

    /// A repeated step is one step: no fan-out, no service.
    fn repeat_alone(&mut self, f: &[Entry], label: &str) {
        for key in ["matrix", "for_each", "service"] {
            if let Some(e) = get_entry(f, key) {
                self.err(
                    &e.key_span,
                    format!("{label} has `repeat` and `{key}`"),
                    "a repeated step runs as one step, its condition reading its own outputs: remove one of them",
                );
            }
        }
    }

    /// `on_cancel = true`, where it is written: a handler run only once the run is
    /// cancelled (Dagu's `handlerOn.abort`), on its own: no step may need it and it
    /// needs none, and it is a plain command (no gate, service or fan-out).
    fn on_cancel(&mut self, f: &[Entry], label: &str) -> Option<Span> {
        let n = get(f, "on_cancel")?;
        if !self.boolean(n, &format!("`on_cancel` of {label}"))? {
            return None;
        }
        for key in ["needs", "gate", "service", "matrix", "for_each", "repeat"] {
            if let Some(e) = get_entry(f, key) {
                self.err(
                    &e.key_span,
                    format!("{label} has `on_cancel = true` and `{key}`"),
                    "an on_cancel step runs on its own once the run is cancelled and its steps stopped: remove `{key}`, or make it a step of the run",
                );
            }
        }
        Some(n.span.clone())
    }

    /// A step's `id`, and where it is written.
    fn step_id<'n>(&mut self, f: &'n [Entry], span: &Span) -> Option<(&'n str, Span)> {
        match get(f, "id") {
            Some(n) => self.string(n, "step `id`").map(|s| (s, n.span.clone())),
            None => {
                self.err(
                    span,
                    "step has no `id`",
                    "add id = \"…\" (1 to 64 lowercase letters, digits, '_' or '-')",
                );
                None
            }
        }
    }

    /// A step's shell texts and directory: no template in a shell text, no NUL, a
    /// fixed directory.
    fn check_texts(
        &mut self,
        label: &str,
        run: Option<&(&str, Span)>,
        compensate: Option<&(&str, Span)>,
        dir: Option<&(&str, Span)>,
    ) {
        if let Some((s, sp)) = run {
            let what = format!("`run` of {label}");
            self.no_template_in_shell(s, sp, &what, true);
            self.no_nul(s, sp, &what);
        }
        if let Some((s, sp)) = compensate {
            let what = format!("`compensate` of {label}");
            self.no_template_in_shell(s, sp, &what, false);
            self.no_nul(s, sp, &what);
        }
        if let Some((s, sp)) = dir {
            self.no_nul(s, sp, &format!("`dir` of {label}"));
        }
        if let Some((s, sp)) = dir
            && s.contains("${{")
        {
            self.err(
                sp,
                format!("`dir` of {label} contains a template"),
                "write a fixed directory, relative to the workflow file",
            );
        }
    }

    pub(super) fn outputs(&mut self, n: &Node, label: &str) -> BTreeMap<String, OutputSpec> {
        let what = format!("`outputs` of {label}");
        let mut out = BTreeMap::new();
        let Some(entries) = self.table(n, &what, "outputs = { version = { pattern = '^\\d+' } }")
        else {
            return out;
        };
        for e in entries {
            if !is_name(&e.key, true) {
                self.err(
                    &e.key_span,
                    format!("output name `{}` in {label} is invalid", e.key),
                    "use letters, digits, '_' and '-', starting with a letter or '_'",
                );
            }
            let owhat = format!("output `{}` of {label}", e.key);
            let Some(fields) = self.table(&e.node, &owhat, "{ pattern = '^\\d+' } or {}") else {
                continue;
            };
            self.unknown_fields(fields, OUTPUT_FIELDS, &format!("in {owhat}"));
            let pattern = get(fields, "pattern").and_then(|p| {
                let s = self.string(p, &format!("`pattern` of {owhat}"))?;
                regex::Regex::new(s)
                    .map_err(|e| {
                        let first = e
                            .to_string()
                            .lines()
                            .last()
                            .unwrap_or("")
                            .trim()
                            .to_string();
                        self.err(
                            &p.span,
                            format!(
                                "`pattern` of {owhat} is not a valid regular expression: {first}"
                            ),
                            "write a Rust regex in a literal string, e.g. pattern = '^\\d+$'",
                        )
                    })
                    .ok()
            });
            out.insert(e.key.to_string(), OutputSpec { pattern });
        }
        out
    }
}

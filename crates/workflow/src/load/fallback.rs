//! A step's `fallback`: the alternatives tried, in order, once the step (after its
//! retries) failed. Read as written here; resolved against the step's own action,
//! `with`, `env`, `timeout`, `retry` and executor, which fill in what each leaves out.
use super::resolve::Site;
use super::*;

pub(super) const ALTERNATIVE_FIELDS: &[&str] =
    &["run", "uses", "with", "env", "timeout", "retry", "executor"];

const EXAMPLE: &str = "fallback = [ { env = { MODEL = \"flash\" } }, { run = \"./other.sh\" } ]";

/// One alternative as written.
pub(super) struct RawAlternative<'n> {
    /// Its place in the list, from 1 (an entry that is not a table has none).
    pub(super) number: usize,
    span: Span,
    run: Option<(&'n str, Span)>,
    uses: Option<(&'n str, Span)>,
    with: Option<(Vec<TextEntry<'n>>, Span)>,
    env: Vec<TextEntry<'n>>,
    timeout: Option<Duration>,
    retry: Option<RetryPolicy>,
    pub(super) executor: Option<(&'n str, Span)>,
}

impl Loader<'_, '_> {
    /// `fallback` of a step, as written (`retry`: the step's own, which a partial
    /// `retry` table of an alternative starts from).
    pub(super) fn fallback<'n>(
        &mut self,
        n: &'n Node,
        label: &str,
        retry: RetryPolicy,
    ) -> Vec<RawAlternative<'n>> {
        let what = format!("`fallback` of {label}");
        let Val::Array(items) = &n.val else {
            self.type_error(n, &what, "an array of tables", EXAMPLE);
            return Vec::new();
        };
        if items.is_empty() {
            self.err(
                &n.span,
                format!("{what} is empty"),
                format!("list at least one alternative, e.g. {EXAMPLE}; or remove `fallback`"),
            );
        }
        let mut out = Vec::with_capacity(items.len());
        for (k, item) in items.iter().enumerate() {
            let alt = format!("alternative {} of {label}", k + 1);
            let Some(f) = self.table(item, &format!("{alt} (in `fallback`)"), EXAMPLE) else {
                continue;
            };
            self.unknown_fields(f, ALTERNATIVE_FIELDS, &format!("in {alt}"));
            if f.is_empty() {
                self.err(
                    &item.span,
                    format!("{alt} changes nothing: it would run the step again"),
                    format!(
                        "give it at least one of {}; to run the step again, raise its retry.attempts",
                        ALTERNATIVE_FIELDS.join(", ")
                    ),
                );
            }
            let text = |l: &mut Self, key: &str| -> Option<(&'n str, Span)> {
                let n = get(f, key)?;
                l.string(n, &format!("`{key}` of {alt}"))
                    .map(|s| (s, n.span.clone()))
            };
            let run = text(self, "run");
            if let Some((s, sp)) = &run {
                self.no_template_in_shell(s, sp, &format!("`run` of {alt}"), true);
                self.no_nul(s, sp, &format!("`run` of {alt}"));
            }
            let uses = text(self, "uses");
            let executor = text(self, "executor");
            let with = get(f, "with").map(|n| {
                (
                    self.text_table(n, &format!("`with` of {alt}"), false),
                    n.span.clone(),
                )
            });
            let env = get(f, "env")
                .map(|n| self.text_table(n, &format!("`env` of {alt}"), true))
                .unwrap_or_default();
            let timeout =
                get(f, "timeout").and_then(|n| self.duration(n, &format!("`timeout` of {alt}")));
            let retry = get(f, "retry").map(|n| {
                self.no_retry_rules(n, &format!("`retry` of {alt}"));
                self.retry(n, &format!("`retry` of {alt}"), retry)
            });
            out.push(RawAlternative {
                number: k + 1,
                span: item.span.clone(),
                run,
                uses,
                with,
                env,
                timeout,
                retry,
                executor,
            });
        }
        out
    }

    /// Step `i`'s alternatives, complete: each takes from the step (`step`, resolved
    /// but for its executor, which `route` sets on both) what it leaves out. A new
    /// `run` or `uses` replaces the action, and a tool's `with` then starts afresh;
    /// `env` and, for the same tool, `with` are merged over the step's.
    pub(super) fn alternatives(
        &mut self,
        step: &Step,
        label: &str,
        tools: &BTreeMap<String, Tool>,
        tool_names: &[&str],
        site: &Site<'_, '_, '_>,
        refs: &mut Vec<StepRef>,
    ) -> Vec<Alternative> {
        let s = &site.raw[site.i];
        if step.action == Action::None && !s.fallback.is_empty() {
            self.err(
                &s.fallback[0].span,
                format!("{label} has a `fallback` but runs nothing"),
                "a fallback replaces a failed command: give the step `run` or `uses`, or remove `fallback`",
            );
            return Vec::new();
        }
        let step_tool = match &step.action {
            Action::Tool { tool, .. } => tools.get(tool).cloned(),
            Action::Builtin(b) => Some(b.tool()),
            Action::Shell { .. } | Action::Workflow { .. } | Action::None => None,
        };
        let mut out = Vec::with_capacity(s.fallback.len());
        for a in &s.fallback {
            let alt = format!("alternative {} of {label}", a.number);
            let own = a.run.is_some() || a.uses.is_some();
            let (action, tool) = if own {
                self.action(&a.run, &a.uses, &alt, tools, tool_names)
            } else {
                (step.action.clone(), step_tool.clone())
            };
            let given = a.with.as_ref().map_or(&[][..], |(w, _)| w.as_slice());
            let same_tool = !own || action == step.action;
            let with = match &tool {
                Some(t) => {
                    let at = a
                        .uses
                        .as_ref()
                        .or(s.uses.as_ref())
                        .map_or(a.span.clone(), |(_, sp)| sp.clone());
                    let base = same_tool.then_some(&step.with);
                    self.with_values(given, (t, &at), &alt, base, site, refs)
                }
                None => {
                    if let Some((_, span)) = &a.with {
                        self.err(
                            span,
                            format!("{alt} has `with` but runs no tool"),
                            "`with` sets a tool's parameters: add uses = \"<tool>\", or use `env` for a command",
                        );
                    }
                    BTreeMap::new()
                }
            };
            let mut env = step.env.clone();
            for e in &a.env {
                if let Some(t) = self.step_template(e, TemplateSite::StepEnv, site, refs) {
                    env.insert(e.key.to_string(), t);
                }
            }
            out.push(Alternative {
                action,
                with,
                env,
                timeout: a.timeout.or(step.timeout),
                retry: a.retry.unwrap_or(step.retry),
                executor: None,
                line: self.r.map.line(a.span.start),
            });
        }
        out
    }
}

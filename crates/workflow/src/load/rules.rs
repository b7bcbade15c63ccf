//! A step's trigger rule (`when`) and `allow_failure`, as written.
use super::resolve::Site;
use super::*;
use crate::condition::{self, Condition, Name};
use crate::trigger::{Trigger, suggest_rule};

/// The keys of `allow_failure = { … }`.
pub(super) const ALLOW_FAILURE_FIELDS: &[&str] = &["state", "if"];

/// What decides whether a step runs once its needs settle.
#[derive(Debug, Clone, Default)]
pub(super) struct RawRules<'n> {
    pub when: Trigger,
    pub allow_failure: bool,
    /// `allow_failure = "${{ … }}"`: the text and the span of its string.
    pub allow_failure_when: Option<(&'n str, Span)>,
    /// `allow_failure = { state = "succeeded", … }`: its failure allowed, the step
    /// reads `succeeded` (Dagu's `continueOn.markSuccess`).
    pub mark_success: bool,
    /// `if`: the text and the span of its string.
    pub cond: Option<(&'n str, Span)>,
}

impl Loader<'_, '_> {
    /// `when` and `allow_failure` of a step with `needs` (a rule over no needs could
    /// never be anything but `all_success`'s "run at once").
    pub(super) fn rules<'n>(
        &mut self,
        f: &'n [Entry],
        label: &str,
        has_needs: bool,
    ) -> RawRules<'n> {
        let when = match get(f, "when") {
            Some(n) => match self.string(n, &format!("`when` of {label}")) {
                Some(s) => match Trigger::parse(s) {
                    Some(t) => {
                        if t != Trigger::AllSuccess && !has_needs {
                            self.err(
                                &n.span,
                                format!("{label} has `when = \"{s}\"` but no `needs`"),
                                "a trigger rule decides over the step's needs: add needs = [\"…\"], or remove `when`",
                            );
                        }
                        t
                    }
                    None => {
                        let hint = match suggest_rule(s) {
                            Some(c) => format!("did you mean `{c}`?"),
                            None => "no rule of that meaning is known".to_string(),
                        };
                        let all = Trigger::ALL.map(Trigger::as_str).join(", ");
                        self.err(
                            &n.span,
                            format!("unknown `when` \"{s}\" in {label}"),
                            format!("{hint} (`when` is one of Airflow's trigger rules: {all}; `any_failed` is `one_failed`)"),
                        );
                        Trigger::AllSuccess
                    }
                },
                None => Trigger::AllSuccess,
            },
            None => Trigger::AllSuccess,
        };
        let (mut allow_failure, mut allow_failure_when) = (false, None);
        let mut mark_success = false;
        let mut node = get(f, "allow_failure");
        if let Some(t) = node.and_then(Node::entries) {
            // `{ state = "succeeded", if = … }`: `if` takes what a bare `allow_failure`
            // takes, and is `true` when left out.
            mark_success = self.allow_failure_state(t, label);
            node = get(t, "if");
            allow_failure = node.is_none();
        }
        match node.map(|n| (n, &n.val)) {
            Some((_, Val::Bool(b))) => allow_failure = *b,
            Some((n, Val::Str(s))) => allow_failure_when = Some((s.as_str(), n.span.clone())),
            Some((n, _)) => self.type_error(
                n,
                &format!("`allow_failure` of {label}"),
                "a boolean, a template, a condition or a table",
                "true, false, \"${{ matrix.KEY }}\" / \"${{ params.NAME }}\", a condition over them: \"${{ matrix.python == '3.14' }}\", or { state = \"succeeded\", if = … }",
            ),
            None => {}
        }
        let cond = get(f, "if").and_then(|n| {
            self.string(n, &format!("`if` of {label}"))
                .map(|s| (s, n.span.clone()))
        });
        RawRules {
            when,
            allow_failure,
            allow_failure_when,
            mark_success,
            cond,
        }
    }

    /// `allow_failure = { state = "…" }`'s `state`: whether the failed step reads
    /// `succeeded` (else `failed`, as a bare `allow_failure`).
    fn allow_failure_state(&mut self, t: &[Entry], label: &str) -> bool {
        let what = format!("`allow_failure` of {label}");
        self.unknown_fields(t, ALLOW_FAILURE_FIELDS, &format!("in {what}"));
        let Some(n) = get(t, "state") else {
            return false;
        };
        match self.string(n, &format!("`state` of {what}")) {
            Some("succeeded") => true,
            Some("failed") | None => false,
            Some(other) => {
                self.err(
                    &n.span,
                    format!("`state` of {what} is \"{other}\""),
                    "write \"succeeded\" (the failed step reads succeeded, its failure kept on record) or \"failed\" (it reads failed, allowed to)",
                );
                false
            }
        }
    }

    /// Step `i`'s `if`, parsed and its names checked ([`Self::check_condition`]).
    pub(super) fn condition(
        &mut self,
        site: &Site<'_, '_, '_>,
        label: &str,
        refs: &mut Vec<StepRef>,
    ) -> Option<Condition> {
        let (text, span) = site.raw[site.i].rules.cond.as_ref()?;
        let what = format!("`if` of {label}");
        self.check_condition(site, &what, (text, span), None, refs)
    }

    /// Where a place in a condition's `text`, written at `span`, is in the file:
    /// inside a plain one-line string, exactly; else the string's start.
    pub(super) fn placer(
        &self,
        (text, span): (&str, &Span),
    ) -> impl Fn(&std::ops::Range<usize>) -> Span + use<> {
        let exact = self.r.map.text(span).unwrap_or("").len() == text.len() + 2;
        let span = span.clone();
        move |r| {
            if exact {
                span.start + 1 + r.start..span.start + 1 + r.end.max(r.start + 1)
            } else {
                span.clone()
            }
        }
    }

    /// A condition's read of another step (`name`: its state, an output, a gate's
    /// input) at `place`: a step among the others, an output it declares, an input
    /// its gate declares; recorded in `refs` for the graph check. `false`: refused.
    fn check_step_read(
        &mut self,
        site: &Site<'_, '_, '_>,
        what: &str,
        name: &Name,
        place: Span,
        refs: &mut Vec<StepRef>,
    ) -> bool {
        let &Site { i, index, raw, .. } = site;
        let (Name::StepOutput { step_id, .. }
        | Name::StepState { step_id, .. }
        | Name::NeedResult { step_id, .. }
        | Name::StepInput { step_id, .. }) = name
        else {
            return true;
        };
        let Some(&target) = index.get(step_id.as_str()) else {
            let ids: Vec<&str> = index.keys().copied().collect();
            let hint = did_you_mean(step_id, &ids, "step ids");
            self.err(
                &place,
                format!("{what} reads step \"{step_id}\", which is not a step"),
                hint,
            );
            return false;
        };
        if target == i {
            self.err(
                &place,
                format!("{what} reads the step itself ({name})"),
                "a condition is decided before the step runs: read a step it needs",
            );
            return false;
        }
        if let Name::StepOutput { key, .. } = name {
            let declared = &raw[target].outputs;
            if !declared.is_empty() && !declared.contains_key(key.as_str()) {
                let names: Vec<&str> = declared.keys().map(String::as_str).collect();
                let hint = did_you_mean(key, &names, &format!("outputs declared by `{step_id}`"));
                self.err(
                    &place,
                    format!("step `{step_id}` declares no output `{key}`"),
                    hint,
                );
                return false;
            }
        }
        if let Name::StepInput { key, .. } = name {
            let declared = raw[target].gate.as_ref().map(|g| &g.inputs);
            if !declared.is_some_and(|d| d.iter().any(|p| p.name == *key)) {
                let names: Vec<&str> = declared
                    .map(|d| d.iter().map(|p| p.name.as_str()).collect())
                    .unwrap_or_default();
                let hint = did_you_mean(key, &names, &format!("inputs of `{step_id}`'s gate"));
                self.err(
                    &place,
                    format!(
                        "{what} reads `{name}`, but `{step_id}`'s gate declares no input `{key}`"
                    ),
                    hint,
                );
                return false;
            }
        }
        let (read, key) = match name {
            Name::StepOutput { key, .. } => (Read::Output, key.clone()),
            Name::StepInput { key, .. } => (Read::Input, key.clone()),
            Name::NeedResult { .. } => (Read::Result, String::new()),
            _ => (Read::State, String::new()),
        };
        refs.push(StepRef {
            from: i,
            target,
            key,
            read,
            span: place,
        });
        true
    }

    /// A condition of step `i` (its `if`, or a rule of its gate's `auto`: `what` names
    /// it), parsed and its names checked: params and env that exist, steps among its
    /// transitive needs (recorded in `refs` for the graph check), and `with.NAME` only
    /// where `with` lists the step's tool parameters (a gate's `auto`).
    pub(super) fn check_condition(
        &mut self,
        site: &Site<'_, '_, '_>,
        what: &str,
        (text, span): (&str, &Span),
        with: Option<&[&str]>,
        refs: &mut Vec<StepRef>,
    ) -> Option<Condition> {
        let &Site {
            i,
            index,
            raw,
            param_names,
        } = site;
        let at = self.placer((text, span));
        let mut c = match condition::parse(text) {
            Ok(c) => c,
            Err(e) => {
                self.err(&at(&e.at), format!("{what}: {}", e.message), e.hint);
                return None;
            }
        };
        let mut ok = true;
        for (name, place) in c.names() {
            let place = at(&place);
            match name {
                Name::Param(p) if !param_names.contains(&p.as_str()) => {
                    let hint = match did_you_mean(p, param_names, "parameters") {
                        h if h.starts_with("did you mean") => h,
                        h => format!("{h}; declare it with [params.{p}]"),
                    };
                    self.err(
                        &place,
                        format!("{what} reads unknown parameter `{p}`"),
                        hint,
                    );
                    ok = false;
                }
                Name::Env(e) if !self.env_names.contains(e) => {
                    let names: Vec<&str> = self.env_names.iter().map(String::as_str).collect();
                    let hint = match did_you_mean(e, &names, "run-wide `env` entries") {
                        h if h.starts_with("did you mean") => h,
                        h => format!(
                            "{h}; `env.{e}` reads the run-wide [env] table: add {e} = \"…\" there"
                        ),
                    };
                    self.err(
                        &place,
                        format!("{what} reads `env.{e}`, which the run-wide `env` does not set"),
                        hint,
                    );
                    ok = false;
                }
                Name::StepOutput { .. }
                | Name::StepState { .. }
                | Name::NeedResult { .. }
                | Name::StepInput { .. } => {
                    ok &= self.check_step_read(site, what, name, place, refs);
                }
                Name::With(k) => match with {
                    None => {
                        self.err(
                            &place,
                            format!("{what} reads `{name}`"),
                            "`with.NAME` is read only by a gate's `auto` rules (the step's tool parameters as they would run)",
                        );
                        ok = false;
                    }
                    Some(keys) if !keys.contains(&k.as_str()) => {
                        let hint = if keys.is_empty() && raw[i].uses.is_some() {
                            format!(
                                "set it in the step's `with` (with = {{ {k} = \"…\" }}), or read a param or an earlier step's output instead"
                            )
                        } else if keys.is_empty() {
                            "the step sets no `with` (it does not `uses` a tool): read a param or an earlier step's output instead".to_string()
                        } else {
                            did_you_mean(k, keys, "the step's `with` parameters")
                        };
                        self.err(
                            &place,
                            format!("{what} reads `{name}`, which the step's `with` does not set"),
                            hint,
                        );
                        ok = false;
                    }
                    Some(_) => {}
                },
                Name::Matrix(_) => {
                    self.err(
                        &place,
                        format!("{what} reads `{name}`"),
                        "`matrix.KEY` is read by `allow_failure` (decided per instance) and by templates (`${{ matrix.KEY }}` in `run`, `env`, `with`)",
                    );
                    ok = false;
                }
                Name::AttemptExitCode => {
                    self.err(
                        &place,
                        format!("{what} reads `{name}`"),
                        "`attempt.exit_code` is read by a step's `retry = { if = \"…\" }` (decided after a failed attempt); a later step reads `steps.ID.state`",
                    );
                    ok = false;
                }
                _ => {}
            }
        }
        c.resolve_steps(|id| index.get(id).copied().unwrap_or(usize::MAX));
        ok.then_some(c)
    }
}

impl Loader<'_, '_> {
    /// Step `i`'s `allow_failure = "${{ … }}"`: a template of one name, or a condition
    /// of the `if` language (`${{ matrix.python == '3.14' }}`, GitHub's
    /// `continue-on-error` expression), over params and matrix values only (what is
    /// known when the run starts and when an instance is made).
    pub(super) fn allow_failure_when(
        &mut self,
        site: &Site<'_, '_, '_>,
        refs: &mut Vec<StepRef>,
    ) -> (Option<Template>, Option<Box<Condition>>) {
        let Some((text, span)) = site.raw[site.i].rules.allow_failure_when.clone() else {
            return (None, None);
        };
        let label = format!(
            "step `{}`",
            site.raw[site.i].id.as_ref().map_or("?", |(id, _)| *id)
        );
        let whole = text
            .trim()
            .strip_prefix("${{")
            .and_then(|t| t.strip_suffix("}}"))
            .filter(|inner| !inner.contains("${{") && !inner.contains("}}"));
        match whole {
            Some(inner) if holds_an_expression(text) => (
                None,
                self.allow_failure_condition(site, inner, &span, &label, refs)
                    .map(Box::new),
            ),
            _ => (
                self.allow_failure_template(site, text, span, &label, refs),
                None,
            ),
        }
    }

    /// `allow_failure = "${{ EXPR }}"`: the expression parsed, each name a param or a
    /// matrix key the step has (checked as the template of those names would be).
    fn allow_failure_condition(
        &mut self,
        site: &Site<'_, '_, '_>,
        expr: &str,
        span: &Span,
        label: &str,
        refs: &mut Vec<StepRef>,
    ) -> Option<Condition> {
        let c = match condition::parse(expr.trim()) {
            Ok(c) => c,
            Err(e) => {
                self.err(
                    span,
                    format!("`allow_failure` of {label}: {}", e.message),
                    e.hint,
                );
                return None;
            }
        };
        let mut names = String::new();
        let mut ok = true;
        for (name, _) in c.names() {
            match name {
                Name::Param(_) | Name::Matrix(_) => names.push_str(&format!("${{{{ {name} }}}}")),
                _ => {
                    self.err(
                        span,
                        format!("`allow_failure` of {label} reads `{name}`"),
                        ALLOW_FAILURE_READS,
                    );
                    ok = false;
                }
            }
        }
        if !names.is_empty() {
            let e = TextEntry {
                key: "allow_failure",
                key_span: span.clone(),
                value: names,
                span: span.clone(),
            };
            ok &= self
                .step_template(&e, TemplateSite::AllowFailure, site, refs)
                .is_some();
        }
        ok.then_some(c)
    }

    /// `allow_failure = "${{ NAME }}"`, a template of params and matrix values.
    fn allow_failure_template(
        &mut self,
        site: &Site<'_, '_, '_>,
        text: &str,
        span: Span,
        label: &str,
        refs: &mut Vec<StepRef>,
    ) -> Option<Template> {
        let e = TextEntry {
            key: "allow_failure",
            key_span: span.clone(),
            value: text.to_string(),
            span,
        };
        let t = self.step_template(&e, TemplateSite::AllowFailure, site, refs)?;
        if t.refs().next().is_none() {
            self.err(
                &e.span,
                format!("`allow_failure` of {label} must be a boolean, found a string without a template"),
                "write it as true or false (without quotes), or as \"${{ matrix.KEY }}\", \"${{ params.NAME }}\" or a condition over them (\"${{ matrix.python == '3.14' }}\")",
            );
            return None;
        }
        let mut ok = true;
        for r in t.refs() {
            if !matches!(r, TemplateRef::Param(_) | TemplateRef::Matrix(_)) {
                self.err(
                    &e.span,
                    format!("`allow_failure` of {label} reads `{r}`"),
                    ALLOW_FAILURE_READS,
                );
                ok = false;
            }
        }
        ok.then_some(t)
    }
}

/// What `allow_failure` may read, and why.
const ALLOW_FAILURE_READS: &str = "allow_failure is decided when the run starts and when a matrix instance is made: it reads ${{ params.NAME }} and ${{ matrix.KEY }} only";

/// Whether `text` is not a template of names alone (so `${{ … }}` holds an expression).
fn holds_an_expression(text: &str) -> bool {
    crate::template::parse_template(text).is_err()
}

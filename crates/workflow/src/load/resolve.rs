//! From steps as written to `Step`s: ids, `needs`, actions and `with` values resolved
//! to indices and checked, and each step routed to its executor.
use super::gates::GateOf;
use super::*;
use crate::Rare;
use std::borrow::Cow;

impl Loader<'_, '_> {
    /// Each step's executor (`Step::executor`): capability routing, then its own
    /// `executor`, its pool's, the `[defaults]` one.
    pub(super) fn route(
        &mut self,
        top: &[Entry],
        raw: &[RawStep<'_>],
        steps: &mut [Step],
        executors: &[ExecutorSpec],
    ) {
        let named = |l: &mut Self, n: Option<&Node>, who: &str| {
            let n = n?;
            let name = l.string(n, &format!("`executor` of {who}"))?;
            l.executors().find(name, &n.span, who, executors)
        };
        let defaults = get(top, "defaults").and_then(Node::entries);
        let default = named(
            self,
            defaults.and_then(|d| get(d, "executor")),
            "`defaults`",
        );
        let pools = get(top, "pools").and_then(Node::entries).unwrap_or(&[]);
        let pool_executors: Vec<Option<usize>> = pools
            .iter()
            .map(|p| {
                let fields = p.node.entries()?;
                named(self, get(fields, "executor"), &format!("pool `{}`", p.key))
            })
            .collect();
        for (s, step) in raw.iter().zip(steps.iter_mut()) {
            let placement = crate::executors::StepPlacement {
                label: format!("step `{}`", step.id),
                executor: s.executor.clone(),
                requires: s.requires.clone(),
                pool: step.pool,
            };
            step.executor = self
                .executors()
                .route(&placement, executors, &pool_executors, default);
            if !s.requires.is_empty() {
                step.requires = s.requires.iter().map(|(l, _)| l.to_string()).collect();
            }
            if s.fallback.is_empty() {
                continue;
            }
            // An alternative runs where it says, else where the step runs.
            let (executor, id) = (step.executor, step.id.clone());
            for (a, alt) in s.fallback.iter().zip(step.fallback.iter_mut()) {
                let who = format!("alternative {} of step `{id}`", a.number);
                alt.executor = match &a.executor {
                    Some((name, span)) => self.executors().find(name, span, &who, executors),
                    None => executor,
                };
            }
        }
    }

    #[allow(clippy::type_complexity)]
    pub(super) fn resolve_steps(
        &mut self,
        raw: &[RawStep<'_>],
        tools: &BTreeMap<String, Tool>,
        pools: &[Pool],
        param_names: &[&str],
        base_dir: &Path,
    ) -> Option<(Vec<Step>, Vec<StepRef>)> {
        let index = self.step_ids(raw);
        let pool_names: Vec<&str> = pools.iter().map(|p| p.name.as_str()).collect();
        let mut tool_names: Vec<&str> = Builtin::ALL.iter().map(|b| b.name()).collect();
        tool_names.extend(tools.keys().map(String::as_str));
        let names = StepNames {
            tools,
            tool_names: &tool_names,
            pools,
            pool_names: &pool_names,
            base_dir,
        };

        let mut steps = Vec::with_capacity(raw.len());
        let mut refs = Vec::new();
        // Each step's `needs` is read in the tree, and where each is written is not kept:
        // a cycle's message reads it there again (`whole::need_span`).
        for i in 0..raw.len() {
            let site = Site {
                i,
                index: &index,
                raw,
                param_names,
            };
            steps.push(self.resolve_step(&site, &names, &mut refs));
        }
        Some((steps, refs))
    }

    /// The index of the steps' valid ids; an invalid or duplicate id is an error.
    fn step_ids<'n>(&mut self, raw: &[RawStep<'n>]) -> HashMap<&'n str, usize> {
        let mut index: HashMap<&str, usize> = HashMap::with_capacity(raw.len());
        for (i, s) in raw.iter().enumerate() {
            let Some((id, span)) = &s.id else {
                continue;
            };
            if !is_step_id(id) {
                self.err(
                    span,
                    format!("step id \"{id}\" is invalid"),
                    format!(
                        "use 1 to 64 lowercase letters, digits, '_' or '-'{}",
                        suggest_id(id)
                            .map(|s| format!(", e.g. \"{s}\""))
                            .unwrap_or_default()
                    ),
                );
            }
            if let Some(&first) = index.get(id) {
                let line = self.r.map.line(raw[first].span.start);
                self.err(
                    span,
                    format!("duplicate step id \"{id}\""),
                    format!("step ids must be unique; \"{id}\" is already used by the step at line {line}"),
                );
            } else {
                index.insert(id, i);
            }
        }
        index
    }

    /// No step waits for an on_cancel step (`spans`: its needs, each where written).
    fn no_on_cancel_needs(
        &mut self,
        spans: &[(usize, Span)],
        site: &Site<'_, '_, '_>,
        label: &str,
    ) {
        for (j, span) in spans {
            if site.raw[*j].on_cancel.is_some() {
                self.err(
                    span,
                    format!("{label} needs `{}`, an on_cancel step", id_of(site.raw, *j)),
                    "an on_cancel step runs only once the run is cancelled: no step can wait for it; remove it from `needs`",
                );
            }
        }
    }

    /// One step resolved (step `site.i`).
    fn resolve_step(
        &mut self,
        site: &Site<'_, '_, '_>,
        names: &StepNames<'_>,
        refs: &mut Vec<StepRef>,
    ) -> Step {
        let (i, s) = (site.i, &site.raw[site.i]);
        let id = id_of(site.raw, i);
        let label = format!("step `{id}`");
        let (needs, spans) = self.step_needs(s.needs, site.index, site.raw, &label);
        self.no_on_cancel_needs(&spans, site, &label);
        let pool = self.step_pool(s, names, &label);
        let (action, tool) = match self.child_action(s, &label, names.base_dir) {
            Some(child) => (child, None),
            None => self.action(&s.run, &s.uses, &label, names.tools, names.tool_names),
        };
        let (with, env) = self.step_values(tool.as_ref(), &label, site, refs);
        let gate = s.gate.as_ref().map(|g| {
            let of = GateOf {
                label: &label,
                id: &id,
                action: &action,
                env: &env,
                with: &with,
                tool_declared: tool.is_some(),
            };
            self.step_gate(g, &of, site, refs)
        });
        let condition = self.condition(site, &label, refs);
        let (allow_failure_when, allow_failure_if) = self.allow_failure_when(site, refs);
        if !s.has_action_key {
            self.err(
                &s.span,
                format!("{label} has nothing to do"),
                "give it `run = \"…\"`, `uses = \"<tool>\"`, or a `gate` (a pure approval step)",
            );
        }
        let fanout = s
            .fanout
            .as_ref()
            .and_then(|f| self.resolve_fanout(f, &label, site, refs));
        let mut step = Step {
            id: id.into_owned(),
            index: i,
            needs,
            action,
            with,
            env,
            when: s.rules.when,
            allow_failure: s.rules.allow_failure,
            mark_success: s.rules.mark_success,
            idempotent: s.idempotent,
            on_cancel: s.on_cancel.is_some(),
            timeout: s.timeout,
            retry: s.retry,
            executor: None,
            cost: s.cost,
            line: self.r.map.line(s.span.start),
            rare: Rare::default(),
        };
        // Only what the step has is written: a write makes its rare part.
        if allow_failure_when.is_some() {
            step.allow_failure_when = allow_failure_when;
        }
        if allow_failure_if.is_some() {
            step.allow_failure_if = allow_failure_if;
        }
        if let Some(c) = condition {
            step.condition = Some(Box::new(c));
        }
        if pool.is_some() {
            step.pool = pool;
        }
        if let Some(d) = s.dir {
            step.dir = Some(names.base_dir.join(d));
        }
        if !s.outputs.is_empty() {
            step.outputs = s.outputs.clone();
        }
        if let Some((c, _)) = &s.compensate {
            step.compensate = Some(c.to_string());
        }
        if let Some(g) = gate {
            step.gate = Some(Box::new(g));
        }
        if let Some(r) = self.resolve_repeat(site, &label) {
            step.repeat = Some(r);
        }
        if let Some(r) = self.resolve_retry_rules(site, &label) {
            step.retry_rules = Some(r);
        }
        if fanout.is_some() {
            step.fanout = fanout;
        }
        let fallback = self.alternatives(&step, &label, names.tools, names.tool_names, site, refs);
        if !fallback.is_empty() {
            step.fallback = fallback;
        }
        if let Some(a) = self.step_artifacts(&step, site, &label, refs) {
            step.artifacts = Some(a);
        }
        step
    }

    /// What `step` makes and is handed (`Step::artifacts`): its `artifacts`, its
    /// `uses_artifacts` and the artifacts its templates and its alternatives' read.
    fn step_artifacts(
        &mut self,
        step: &Step,
        site: &Site<'_, '_, '_>,
        label: &str,
        refs: &mut Vec<StepRef>,
    ) -> Option<Box<Artifacts>> {
        let mut uses = self.artifact_uses(site, label, refs);
        let alternatives = step
            .fallback
            .iter()
            .flat_map(|a| a.env.values().chain(a.with.values()));
        artifacts::template_uses(
            step.env
                .values()
                .chain(step.with.values())
                .chain(alternatives),
            &mut uses,
        );
        let produces: BTreeMap<String, String> = site.raw[site.i]
            .artifacts
            .as_deref()
            .map(|a| {
                a.declared
                    .iter()
                    .map(|(n, g, _)| (n.to_string(), g.clone()))
                    .collect()
            })
            .unwrap_or_default();
        (!produces.is_empty() || !uses.is_empty()).then(|| Box::new(Artifacts { produces, uses }))
    }

    /// A step's `needs` as indices (each once), with where each is written; a name
    /// that is not a step is an error.
    fn step_needs(
        &mut self,
        written: &[Node],
        index: &HashMap<&str, usize>,
        raw: &[RawStep<'_>],
        label: &str,
    ) -> (Vec<usize>, Vec<(usize, Span)>) {
        // Sized as written: the plan keeps `needs` for the whole run.
        let mut needs = Vec::with_capacity(written.len());
        let mut spans = Vec::with_capacity(written.len());
        for (n, span) in values::strings(written) {
            match index.get(n) {
                Some(&j) => {
                    if !needs.contains(&j) {
                        needs.push(j);
                        spans.push((j, span.clone()));
                    }
                }
                None => {
                    let hint = did_you_mean(n, &written_ids(raw), "step ids");
                    self.err(
                        span,
                        format!("{label} needs \"{n}\", which is not a step"),
                        hint,
                    );
                }
            }
        }
        (needs, spans)
    }

    /// A step's `pool` as an index; one not declared is an error.
    fn step_pool(&mut self, s: &RawStep<'_>, names: &StepNames<'_>, label: &str) -> Option<usize> {
        let (pools, pool_names) = (names.pools, names.pool_names);
        s.pool.as_ref().and_then(|(p, span)| {
            let found = pools.iter().position(|x| x.name == *p);
            if found.is_none() {
                let hint = match did_you_mean(p, pool_names, "pools") {
                    h if pool_names.is_empty() => {
                        format!("{h}; declare it with [pools.{p}] and capacity = 1")
                    }
                    h => h,
                };
                self.err(
                    span,
                    format!("{label} uses pool \"{p}\", which is not declared"),
                    hint,
                );
            }
            found
        })
    }

    /// A step's `with` (its tool's parameters) and `env`, their templates checked.
    fn step_values(
        &mut self,
        tool: Option<&Tool>,
        label: &str,
        site: &Site<'_, '_, '_>,
        refs: &mut Vec<StepRef>,
    ) -> (BTreeMap<String, Template>, BTreeMap<String, Template>) {
        let s = &site.raw[site.i];
        let mut with = BTreeMap::new();
        if let Some(tool) = tool {
            let given = s.with.as_ref().map_or(&[][..], |(w, _)| w.as_slice());
            let at = s.uses.as_ref().map_or(s.span.clone(), |(_, sp)| sp.clone());
            with = self.with_values(given, (tool, &at), label, None, site, refs);
        } else if let Some((_, span)) = &s.with
            && s.uses.is_none()
        {
            self.err(span, format!("{label} has `with` but does not `uses` a tool"), "`with` sets a tool's parameters: add uses = \"<tool>\", or use `env` for a `run` step");
        }
        // A child run's `params` are rendered as a tool's `with` is, when it starts.
        if let Some((given, _)) = &s.child.params {
            for e in given {
                if let Some(t) = self.step_template(e, TemplateSite::With, site, refs) {
                    with.insert(e.key.to_string(), t);
                }
            }
        }
        let mut env = BTreeMap::new();
        for e in &s.env {
            if let Some(t) = self.step_template(e, TemplateSite::StepEnv, site, refs) {
                env.insert(e.key.to_string(), t);
            }
        }
        (with, env)
    }

    /// A gate's inputs with their `default`/`values` templates parsed and checked as the
    /// prompt's are (params, ancestors' outputs; FILE:LINE:COL of the value).
    pub(super) fn input_templates(
        &mut self,
        g: &RawGate<'_>,
        site: &Site<'_, '_, '_>,
        refs: &mut Vec<StepRef>,
    ) -> Vec<ParamSpec> {
        let mut inputs = g.inputs.clone();
        for (spec, raw) in inputs.iter_mut().zip(&g.input_templates) {
            let mut parse = |l: &mut Self, key: &'static str, written: &Option<(String, Span)>| {
                let (value, span) = written.as_ref()?;
                let te = TextEntry {
                    key,
                    key_span: span.clone(),
                    value: value.clone(),
                    span: span.clone(),
                };
                l.step_template(&te, TemplateSite::InputChoice, site, refs)
            };
            let default = parse(self, "default", &raw.default);
            let values = parse(self, "values", &raw.values);
            if default.is_some() || values.is_some() {
                spec.from_run = Some(Box::new(InputTemplates { default, values }));
            }
        }
        inputs
    }

    /// The action `run` or `uses` names (`label`: whose, for messages).
    pub(super) fn action(
        &mut self,
        run: &Option<(&str, Span)>,
        uses: &Option<(&str, Span)>,
        label: &str,
        tools: &BTreeMap<String, Tool>,
        tool_names: &[&str],
    ) -> (Action, Option<Tool>) {
        match (run, uses) {
            (Some(_), Some((_, span))) => {
                self.err(
                    span,
                    format!("{label} has both `run` and `uses`"),
                    "a step either runs a command (`run`) or calls a tool (`uses`): keep one of them",
                );
                (Action::None, None)
            }
            (Some((run, _)), None) => (
                Action::Shell {
                    run: run.to_string(),
                },
                None,
            ),
            (None, Some((name, span))) => {
                if let Some(b) = Builtin::from_name(name) {
                    (Action::Builtin(b), Some(b.tool()))
                } else if let Some(t) = tools.get(*name) {
                    (
                        Action::Tool {
                            tool: t.name.clone(),
                            run: t.run.clone().unwrap_or_default(),
                        },
                        Some(t.clone()),
                    )
                } else {
                    let hint = match did_you_mean(name, tool_names, "tools") {
                        h if h.starts_with("did you mean") => h,
                        h => format!("{h}; declare it with [tools.{name}] and run = \"…\""),
                    };
                    self.err(
                        span,
                        format!("{label} uses tool \"{name}\", which is not declared"),
                        hint,
                    );
                    (Action::None, None)
                }
            }
            (None, None) => (Action::None, None),
        }
    }

    /// A tool's parameters from `given`; what it leaves out comes from `base` (an
    /// alternative's step), then the tool's defaults. `(tool, at)`: the tool and where it
    /// is named.
    pub(super) fn with_values(
        &mut self,
        given: &[TextEntry<'_>],
        (tool, at): (&Tool, &Span),
        label: &str,
        base: Option<&BTreeMap<String, Template>>,
        site: &Site<'_, '_, '_>,
        refs: &mut Vec<StepRef>,
    ) -> BTreeMap<String, Template> {
        let mut out = BTreeMap::new();
        let known: Vec<&str> = tool.params.iter().map(|p| p.name.as_str()).collect();
        for e in given {
            let Some(p) = tool.params.iter().find(|p| p.name == e.key) else {
                let hint = if known.is_empty() {
                    format!(
                        "tool `{}` takes no parameters: remove this entry",
                        tool.name
                    )
                } else {
                    did_you_mean(e.key, &known, &format!("parameters of `{}`", tool.name))
                };
                self.err(
                    &e.key_span,
                    format!("tool `{}` has no parameter `{}`", tool.name, e.key),
                    hint,
                );
                continue;
            };
            let Some(t) = self.step_template(e, TemplateSite::With, site, refs) else {
                continue;
            };
            let literal = t.refs().next().is_none();
            if literal {
                if let Err(msg) = p.ty.check(&e.value) {
                    self.err(
                        &e.span,
                        format!("parameter `{}` of tool `{}`: {msg}", p.name, tool.name),
                        format!("`{}` is of type {}", p.name, p.ty.describe()),
                    );
                } else if tool.name == Builtin::Sleep.name()
                    && p.name == "DURATION"
                    && let Err(msg) = parse_duration(&e.value)
                {
                    let hint = if d_too_long(&msg) {
                        "durations are at most 30 days (\"30d\")"
                    } else {
                        "write a duration such as with = { DURATION = \"2s\" } (units: ms, s, m, h, d)"
                    };
                    self.err(
                        &e.span,
                        format!("`DURATION` of builtin.sleep: {}", short(&msg.to_string())),
                        hint,
                    );
                }
            }
            out.insert(p.name.clone(), t);
        }
        for p in &tool.params {
            if out.contains_key(&p.name) || given.iter().any(|e| e.key == p.name) {
                continue;
            }
            if let Some(t) = base.and_then(|b| b.get(&p.name)) {
                out.insert(p.name.clone(), t.clone());
                continue;
            }
            match &p.default {
                Some(d) => {
                    out.insert(p.name.clone(), Template::literal(d.clone()));
                }
                None if p.required => {
                    self.err(
                        at,
                        format!(
                            "{label} uses tool `{}` without its required parameter `{}`",
                            tool.name, p.name
                        ),
                        format!(
                            "add with = {{ {} = \"…\" }} (type {})",
                            p.name,
                            p.ty.describe()
                        ),
                    );
                }
                None => {}
            }
        }
        out
    }
}

/// What a template of step `i` is checked against.
pub(super) struct Site<'a, 'b, 'n> {
    pub i: usize,
    pub index: &'a HashMap<&'b str, usize>,
    pub raw: &'a [RawStep<'n>],
    pub param_names: &'a [&'a str],
}

/// A valid id close to `id` (lowercased, other characters replaced by '-').
pub(super) fn suggest_id(id: &str) -> Option<String> {
    let s: String = id
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    is_step_id(&s).then_some(s).filter(|s| s != id)
}

/// Step `i`'s id: `#N` (1-based) for one written without.
fn id_of<'n>(raw: &[RawStep<'n>], i: usize) -> Cow<'n, str> {
    match &raw[i].id {
        Some((id, _)) => Cow::Borrowed(id),
        None => Cow::Owned(format!("#{}", i + 1)),
    }
}

/// The steps' ids as written, for a hint: made only for a name that is not one.
pub(super) fn written_ids<'n>(raw: &[RawStep<'n>]) -> Vec<&'n str> {
    raw.iter()
        .filter_map(|s| s.id.as_ref().map(|(id, _)| *id))
        .collect()
}

/// The names a step's fields are resolved against, and where its `dir` is relative to.
struct StepNames<'a> {
    tools: &'a BTreeMap<String, Tool>,
    tool_names: &'a [&'a str],
    pools: &'a [Pool],
    pool_names: &'a [&'a str],
    base_dir: &'a Path,
}

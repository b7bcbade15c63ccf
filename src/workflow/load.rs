//! The loader: walks the spanned TOML tree itself (so it can report every problem, not
//! only the first), then resolves names to indices and checks the graph and templates.
//! The result is a `Plan` only when the file has no diagnostics at all.
use super::diag::{Diagnostics, Reporter, did_you_mean};
use super::graph;
use super::plan::*;
use super::template::{
    Template, TemplateRef, TemplateSegment, is_name, is_step_id, parse_template,
};
use super::tree::{self, Entry, Node, Span, Val};
use super::units::{parse_duration, parse_rate};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

const TOP_FIELDS: &[&str] = &[
    "name",
    "description",
    "max_parallel",
    "timeout",
    "budget",
    "params",
    "env",
    "secrets",
    "defaults",
    "pools",
    "executors",
    "notify",
    "tools",
    "approvals",
    "step",
];
const PARAM_FIELDS: &[&str] = &[
    "type",
    "required",
    "default",
    "pattern",
    "secret",
    "description",
    "values",
];
const TOOL_FIELDS: &[&str] = &["run", "params", "description"];
const TOOL_PARAM_FIELDS: &[&str] = &["type", "required", "default", "description", "values"];
const STEP_FIELDS: &[&str] = &[
    "id",
    "run",
    "uses",
    "with",
    "needs",
    "when",
    "env",
    "timeout",
    "retry",
    "pool",
    "dir",
    "cost",
    "outputs",
    "compensate",
    "gate",
    "idempotent",
    "executor",
    "requires",
    "cache",
    "inputs",
    "produces",
    "service",
    "ready",
    "live",
    "restart",
];
const RETRY_FIELDS: &[&str] = &["attempts", "backoff", "delay", "max_delay", "jitter"];
const GATE_FIELDS: &[&str] = &[
    "prompt",
    "approvers",
    "quorum",
    "timeout",
    "on_timeout",
    "allow_self_approval",
    "signed",
];
const APPROVALS_FIELDS: &[&str] = &["allowed_signers"];
/// An allowed-signers file is a list of public keys: a larger one is a mistake.
const MAX_SIGNERS_BYTES: u64 = 1 << 20;
const POOL_FIELDS: &[&str] = &["capacity", "rate", "burst", "executor"];
const BUDGET_FIELDS: &[&str] = &["cost", "calls", "tokens"];
const DEFAULTS_FIELDS: &[&str] = &["timeout", "retry", "executor", "cache"];
const OUTPUT_FIELDS: &[&str] = &["pattern"];
const MAX_ATTEMPTS: i64 = 100;

/// Load and validate the workflow at `path`. A missing, unreadable, non-regular,
/// too large or non-UTF-8 file is a diagnostic too (see `source::read_source`).
pub fn load_file(path: &Path) -> Result<Plan, Diagnostics> {
    load_str(&super::source::read_source(path)?, path)
}

/// Where the allowed signers of `[approvals]` come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignersFrom<'a> {
    /// The file `allowed_signers` names (a new run, `baton validate`).
    File,
    /// The text recorded when the run started (`None`: it had no `[approvals]`), so
    /// that a run keeps the signers it started with whatever the file says now.
    Recorded(Option<&'a str>),
}

/// Load and validate `source`; `path` names it in diagnostics and its parent directory
/// becomes the plan's `base_dir`.
pub fn load_str(source: &str, path: &Path) -> Result<Plan, Diagnostics> {
    load_str_with(source, path, SignersFrom::File)
}

/// [`load_str`], taking the allowed signers from `signers`.
pub fn load_str_with(
    source: &str,
    path: &Path,
    signers: SignersFrom<'_>,
) -> Result<Plan, Diagnostics> {
    let mut r = Reporter::new(path.to_path_buf(), source);
    let root = match tree::parse(source) {
        Ok(root) => root,
        Err((message, span)) => {
            r.error(
                &span,
                format!("invalid TOML: {message}"),
                "fix the TOML syntax here (strings need quotes, tables need [brackets], keys may appear once)",
            );
            return Err(r.finish());
        }
    };
    // Absolute, so steps run in the file's directory whatever the engine's cwd
    // (`dag.toml` has an empty parent, which is the current directory).
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let base_dir = std::path::absolute(parent).unwrap_or_else(|_| parent.to_path_buf());
    let plan = Loader {
        r: &mut r,
        env_names: Vec::new(),
        recorded_signers: match signers {
            SignersFrom::File => None,
            SignersFrom::Recorded(t) => Some(t.map(str::to_string)),
        },
    }
    .load(&root, path, base_dir);
    match plan {
        Some(plan) if r.diags.is_empty() => Ok(plan),
        _ => Err(r.finish()),
    }
}

struct Loader<'r, 's> {
    r: &'r mut Reporter<'s>,
    /// The run-wide `env` names, which `${{ env.NAME }}` may read.
    env_names: Vec<String>,
    /// `None`: read the allowed signers from their file; else the run's record.
    recorded_signers: Option<Option<String>>,
}

/// A step as written, before names are resolved.
struct RawStep<'n> {
    span: Span,
    id: Option<(&'n str, Span)>,
    needs: Vec<(&'n str, Span)>,
    run: Option<(&'n str, Span)>,
    uses: Option<(&'n str, Span)>,
    with: Option<(Vec<TextEntry<'n>>, Span)>,
    env: Vec<TextEntry<'n>>,
    when: Trigger,
    timeout: Option<Duration>,
    retry: RetryPolicy,
    pool: Option<(&'n str, Span)>,
    executor: Option<(&'n str, Span)>,
    requires: Vec<(&'n str, Span)>,
    dir: Option<&'n str>,
    cost: f64,
    outputs: BTreeMap<String, OutputSpec>,
    compensate: Option<(&'n str, Span)>,
    gate: Option<RawGate<'n>>,
    idempotent: bool,
    /// `run`, `uses` or `gate` is present (even if malformed).
    has_action_key: bool,
}

/// `KEY = "value"` where the value may be a template.
struct TextEntry<'n> {
    key: &'n str,
    key_span: Span,
    value: String,
    span: Span,
}

struct RawGate<'n> {
    span: Span,
    prompt: Option<(&'n str, Span)>,
    /// Each with where it is written.
    approvers: Vec<(String, Span)>,
    quorum: Option<(u32, Span)>,
    timeout: Option<Duration>,
    on_timeout: OnTimeout,
    on_timeout_span: Option<Span>,
    allow_self_approval: bool,
    /// `signed = true` and where.
    signed: Option<Span>,
}

/// A template use, to be checked once all steps are known.
#[derive(Clone, Copy, PartialEq)]
enum TemplateSite {
    RunEnv,
    StepEnv,
    With,
    Prompt,
}

impl<'r, 's> Loader<'r, 's> {
    fn err(&mut self, span: &Span, message: impl Into<String>, hint: impl Into<super::diag::Hint>) {
        self.r.error(span, message, hint);
    }

    fn load(&mut self, root: &Node, path: &Path, base_dir: PathBuf) -> Option<Plan> {
        let top = root.entries().unwrap_or(&[]);
        self.unknown_fields(top, TOP_FIELDS, "at the top level of the workflow");

        let name = match get(top, "name") {
            Some(n) => self.string(n, "`name`").unwrap_or_default().to_string(),
            None => {
                self.err(
                    &(0..0),
                    "the workflow has no `name`",
                    "add a line such as name = \"release\" at the top of the file",
                );
                String::new()
            }
        };
        if get(top, "name").is_some() && name.trim().is_empty() && self.r.diags.is_empty() {
            let span = get(top, "name").map(|n| n.span.clone()).unwrap_or(0..0);
            self.err(
                &span,
                "`name` is empty",
                "give the workflow a name such as \"release\"",
            );
        }
        let description = get(top, "description")
            .and_then(|n| self.string(n, "`description`"))
            .map(str::to_string);
        let max_parallel = match get(top, "max_parallel") {
            Some(n) => self.int_at_least(n, "`max_parallel`", 1).unwrap_or(1) as usize,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        let timeout = get(top, "timeout").and_then(|n| self.duration(n, "`timeout`"));
        let budget = get(top, "budget").and_then(|n| self.budget(n));
        let params = get(top, "params")
            .map(|n| self.params(n))
            .unwrap_or_default();
        let env = get(top, "env")
            .map(|n| self.text_table(n, "`env`", true))
            .unwrap_or_default();
        self.env_names = env.iter().map(|e| e.key.to_string()).collect();
        let secrets = get(top, "secrets")
            .map(|n| self.secrets(n))
            .unwrap_or_default();
        let (default_timeout, default_retry) = get(top, "defaults")
            .map(|n| self.defaults(n))
            .unwrap_or((None, RetryPolicy::default()));
        let notify = get_entry(top, "notify")
            .map(|e| super::notify::NotifyReader { r: self.r }.notifiers(e))
            .unwrap_or_default();
        let pools = get(top, "pools").map(|n| self.pools(n)).unwrap_or_default();
        let tools = get(top, "tools").map(|n| self.tools(n)).unwrap_or_default();
        let approvals = get(top, "approvals").and_then(|n| self.approvals(n, &base_dir));

        let raw_steps = match get_entry(top, "step") {
            None => {
                let hint = if get(top, "steps").is_some() {
                    "steps are written [[step]] (singular), one block per step"
                } else {
                    "add at least one step:\n    [[step]]\n    id = \"hello\"\n    run = \"echo hello\""
                };
                self.err(&(0..0), "the workflow has no steps", hint);
                Vec::new()
            }
            Some(e) => self.steps(e, default_timeout, &default_retry),
        };

        self.check_signed_gates(&raw_steps, approvals.as_ref(), get(top, "approvals"));
        let param_names: Vec<&str> = params.iter().map(|p: &ParamSpec| p.name.as_str()).collect();
        let mut plan_env = BTreeMap::new();
        for e in &env {
            if let Some(t) = self.template(e, TemplateSite::RunEnv, &param_names) {
                plan_env.insert(e.key.to_string(), t);
            }
        }
        for cycle in super::envrefs::env_cycles(&plan_env) {
            let span = env
                .iter()
                .find(|e| e.key == cycle[0])
                .map_or(0..0, |e| e.span.clone());
            self.err(
                &span,
                format!("the run-wide `env` entries read each other in a cycle: {}", cycle.join(" -> ")),
                format!(
                    "`{0} -> {1}` means the value of {0} reads ${{{{ env.{1} }}}}; give one of these entries a value that does not read the others",
                    cycle[0], cycle[1]
                ),
            );
        }

        let steps =
            self.resolve_steps(&raw_steps, &tools, &pools, &param_names, base_dir.as_path());
        let graph = steps.map(|(steps, needs_spans, refs)| {
            let g = graph::analyse(&steps.iter().map(|s| s.needs.clone()).collect::<Vec<_>>());
            for cycle in &g.cycles {
                let first = cycle[0];
                let next = cycle[1 % cycle.len()];
                let span = needs_spans[first]
                    .iter()
                    .find(|(n, _)| *n == next)
                    .map(|(_, s)| s.clone())
                    .unwrap_or_else(|| raw_steps[first].span.clone());
                let mut names: Vec<&str> = cycle.iter().map(|&i| steps[i].id.as_str()).collect();
                names.push(&steps[first].id);
                self.err(
                    &span,
                    format!("dependency cycle: {}", names.join(" -> ")),
                    "each arrow reads \"needs\"; remove one of these `needs` entries so the steps can be ordered",
                );
            }
            if g.cycles.is_empty() {
                let pairs: Vec<(usize, usize)> = refs.iter().map(|r| (r.from, r.target)).collect();
                let ok = graph::ancestors_hold(&steps, &g.layers, &pairs);
                for (r, ok) in refs.iter().zip(ok) {
                    if !ok {
                        self.err(
                            &r.span,
                            format!(
                                "step `{}` reads `steps.{}.outputs.{}`, but `{}` is not among its ancestors",
                                steps[r.from].id, steps[r.target].id, r.key, steps[r.target].id
                            ),
                            format!(
                                "a step can only read outputs of steps that finish before it starts; add \"{}\" to the `needs` of `{}` (directly or through a step it needs)",
                                steps[r.target].id, steps[r.from].id
                            ),
                        );
                    }
                }
            }
            (steps, g)
        });

        let executors = get(top, "executors")
            .map(|n| self.executors().executors(n, &base_dir))
            .unwrap_or_default();
        let steps = graph.map(|(mut steps, g)| {
            self.route(top, &raw_steps, &mut steps, &executors);
            super::caching::CacheReader { r: self.r }.apply(top, &mut steps, &base_dir);
            super::services::ServiceReader { r: self.r }.apply(top, &mut steps, &executors);
            (steps, g)
        });
        let (steps, g) = steps?;
        if !self.r.diags.is_empty() {
            return None;
        }
        let dependants = graph::dependants(&steps);
        Some(Plan {
            name,
            description,
            source: path.to_path_buf(),
            base_dir,
            max_parallel,
            timeout,
            budget,
            params,
            env: plan_env,
            secrets,
            pools,
            executors,
            notify,
            tools,
            approvals,
            steps,
            layers: g.layers,
            dependants,
        })
    }

    fn executors(&mut self) -> super::executors::ExecutorReader<'_, 's> {
        super::executors::ExecutorReader { r: self.r }
    }

    /// Each step's executor (`Step::executor`): capability routing, then its own
    /// `executor`, its pool's, the `[defaults]` one.
    fn route(
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
            let placement = super::executors::StepPlacement {
                label: format!("step `{}`", step.id),
                executor: s.executor.clone(),
                requires: s.requires.clone(),
                pool: step.pool,
            };
            step.executor = self
                .executors()
                .route(&placement, executors, &pool_executors, default);
            step.requires = s.requires.iter().map(|(l, _)| l.to_string()).collect();
        }
    }

    // ---- generic value readers -------------------------------------------------------

    fn unknown_fields(&mut self, entries: &[Entry], allowed: &[&str], place: &str) {
        for e in entries {
            if !allowed.contains(&e.key.as_str()) {
                let hint = did_you_mean(&e.key, allowed, "allowed fields");
                self.err(
                    &e.key_span,
                    format!("unknown field `{}` {place}", e.key),
                    hint,
                );
            }
        }
    }

    fn type_error(&mut self, n: &Node, what: &str, expected: &str, example: &str) {
        self.err(
            &n.span,
            format!("{what} must be {expected}, found {}", n.kind()),
            format!("write it as {example}"),
        );
    }

    fn table<'n>(&mut self, n: &'n Node, what: &str, example: &str) -> Option<&'n [Entry]> {
        let t = n.entries();
        if t.is_none() {
            self.type_error(n, what, "a table", example);
        }
        t
    }

    fn string<'n>(&mut self, n: &'n Node, what: &str) -> Option<&'n str> {
        match &n.val {
            Val::Str(s) => Some(s),
            _ => {
                self.type_error(n, what, "a string", "a quoted string, e.g. \"text\"");
                None
            }
        }
    }

    fn boolean(&mut self, n: &Node, what: &str) -> Option<bool> {
        match n.val {
            Val::Bool(b) => Some(b),
            _ => {
                self.type_error(n, what, "a boolean", "true or false (without quotes)");
                None
            }
        }
    }

    fn int_at_least(&mut self, n: &Node, what: &str, min: i64) -> Option<i64> {
        match n.val {
            Val::Int(i) if i >= min => Some(i),
            Val::Int(i) => {
                self.err(
                    &n.span,
                    format!("{what} must be at least {min}, found {i}"),
                    format!("use a whole number of {min} or more"),
                );
                None
            }
            _ => {
                self.type_error(
                    n,
                    what,
                    "an integer",
                    "a whole number without quotes, e.g. 4",
                );
                None
            }
        }
    }

    fn non_negative_number(&mut self, n: &Node, what: &str) -> Option<f64> {
        let v = match n.val {
            Val::Int(i) => i as f64,
            Val::Float(f) => f,
            _ => {
                self.type_error(n, what, "a number", "a number without quotes, e.g. 2.5");
                return None;
            }
        };
        if v.is_finite() && v >= 0.0 {
            Some(v)
        } else {
            self.err(
                &n.span,
                format!("{what} must be a finite number of 0 or more, found {v}"),
                "use a number such as 0.5",
            );
            None
        }
    }

    fn duration(&mut self, n: &Node, what: &str) -> Option<Duration> {
        let s = self.duration_text(n, what)?;
        match parse_duration(s) {
            Ok(d) if d.is_zero() => {
                self.err(
                    &n.span,
                    format!("{what} must be longer than zero, found \"{s}\""),
                    "use a positive duration such as \"30s\"",
                );
                None
            }
            Ok(d) => Some(d),
            Err(e) if d_too_long(&e) => {
                self.err(
                    &n.span,
                    format!("{what}: {}", short(&e)),
                    "durations are at most 30 days (\"30d\"); for a longer wait, use a gate without a timeout",
                );
                None
            }
            Err(e) => {
                self.err(
                    &n.span,
                    format!("{what}: {}", short(&e)),
                    Some(duration_hint(what)),
                );
                None
            }
        }
    }

    fn duration_text<'n>(&mut self, n: &'n Node, what: &str) -> Option<&'n str> {
        match &n.val {
            Val::Str(s) => Some(s),
            _ => {
                self.type_error(
                    n,
                    what,
                    "a duration string",
                    &duration_hint(what).replace("write ", ""),
                );
                None
            }
        }
    }

    fn string_list<'n>(&mut self, n: &'n Node, what: &str, example: &str) -> Vec<(&'n str, Span)> {
        let Val::Array(items) = &n.val else {
            self.type_error(n, what, "an array of strings", example);
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items {
            match &item.val {
                Val::Str(s) => out.push((s.as_str(), item.span.clone())),
                _ => self.type_error(item, &format!("each entry of {what}"), "a string", example),
            }
        }
        out
    }

    /// A table whose values are text (strings; numbers and booleans are taken as text).
    fn text_table<'n>(&mut self, n: &'n Node, what: &str, env_names: bool) -> Vec<TextEntry<'n>> {
        let Some(entries) = self.table(n, what, "{ NAME = \"value\" }") else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for e in entries {
            if env_names && !is_name(&e.key, false) {
                self.err(
                    &e.key_span,
                    format!(
                        "`{}` in {what} is not a valid environment variable name",
                        e.key
                    ),
                    "use letters, digits and underscores, not starting with a digit (e.g. API_URL)",
                );
                continue;
            }
            let value = match &e.node.val {
                Val::Str(s) => s.clone(),
                Val::Int(i) => i.to_string(),
                Val::Float(f) => f.to_string(),
                Val::Bool(b) => b.to_string(),
                _ => {
                    self.type_error(
                        &e.node,
                        &format!("`{}` in {what}", e.key),
                        "a string",
                        "a quoted string, e.g. \"text\"",
                    );
                    continue;
                }
            };
            self.no_nul(&value, &e.node.span, &format!("`{}` in {what}", e.key));
            out.push(TextEntry {
                key: &e.key,
                key_span: e.key_span.clone(),
                value,
                span: e.node.span.clone(),
            });
        }
        out
    }

    // ---- top-level sections ----------------------------------------------------------

    fn budget(&mut self, n: &Node) -> Option<Budget> {
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
        Some(b)
    }

    fn secrets(&mut self, n: &Node) -> Vec<String> {
        let list = self.string_list(n, "`secrets`", "secrets = [\"API_TOKEN\"]");
        let mut out = Vec::new();
        for (s, span) in list {
            if is_name(s, false) {
                out.push(s.to_string());
            } else {
                self.err(
                    &span,
                    format!("secret `{s}` is not a valid environment variable name"),
                    "name the environment variable that holds the secret, e.g. \"API_TOKEN\"",
                );
            }
        }
        out
    }

    fn defaults(&mut self, n: &Node) -> (Option<Duration>, RetryPolicy) {
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

    fn retry(&mut self, n: &Node, what: &str, base: RetryPolicy) -> RetryPolicy {
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
        p
    }

    fn pools(&mut self, n: &Node) -> Vec<Pool> {
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
                            format!("`rate` of {what}: {}", short(&e)),
                            "write N/s, N/min or N/h with N of at least 1, e.g. rate = \"10/min\"",
                        )
                    })
                    .ok()
            });
            let burst = get(fields, "burst")
                .and_then(|b| self.int_at_least(b, &format!("`burst` of {what}"), 1))
                .map_or(capacity as u32, |b| b.min(u32::MAX as i64) as u32);
            out.push(Pool {
                name: e.key.clone(),
                capacity,
                rate,
                burst,
            });
        }
        out
    }

    fn params(&mut self, n: &Node) -> Vec<ParamSpec> {
        let Some(entries) = self.table(n, "`params`", "[params.version] with type = \"string\"")
        else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for e in entries {
            if !is_name(&e.key, true) {
                self.err(
                    &e.key_span,
                    format!("parameter name `{}` is invalid", e.key),
                    "use letters, digits, '_' and '-', starting with a letter or '_'",
                );
            }
            let what = format!("parameter `{}`", e.key);
            if let Some(p) = self.param_spec(&e.node, &what, PARAM_FIELDS) {
                out.push(ParamSpec {
                    name: e.key.clone(),
                    ty: p.ty,
                    required: p.required,
                    default: p.default,
                    pattern: p.pattern,
                    secret: p.secret,
                    description: p.description,
                });
            }
        }
        out
    }

    /// A typed parameter (run param or tool param: `fields` says which keys apply).
    fn param_spec(&mut self, n: &Node, what: &str, fields: &[&str]) -> Option<RawParam> {
        let entries = self.table(n, what, "{ type = \"string\", required = true }")?;
        self.unknown_fields(entries, fields, &format!("in {what}"));
        let mut ty = ParamType::String;
        let values = get(entries, "values");
        if let Some(t) = get(entries, "type") {
            match self.string(t, &format!("`type` of {what}")) {
                Some("string") => {}
                Some("int") => ty = ParamType::Int,
                Some("bool") => ty = ParamType::Bool,
                Some("enum") => {
                    let list = match values {
                        Some(v) => self.string_list(
                            v,
                            &format!("`values` of {what}"),
                            "values = [\"staging\", \"production\"]",
                        ),
                        None => Vec::new(),
                    };
                    if list.is_empty() {
                        self.err(
                            &t.span,
                            format!("{what} is an enum but lists no `values`"),
                            "add the allowed values, e.g. values = [\"staging\", \"production\"]",
                        );
                    }
                    ty = ParamType::Enum(list.into_iter().map(|(s, _)| s.to_string()).collect());
                }
                Some(other) => {
                    let hint =
                        did_you_mean(other, &["string", "int", "bool", "enum"], "parameter types");
                    self.err(
                        &t.span,
                        format!("unknown type \"{other}\" for {what}"),
                        format!("{hint} (a type is \"string\", \"int\", \"bool\" or \"enum\")"),
                    );
                }
                None => {}
            }
        }
        if let Some(v) = values
            && !matches!(ty, ParamType::Enum(_))
        {
            self.err(
                &v.span,
                format!("{what} has `values` but is not an enum"),
                "add type = \"enum\", or remove `values`",
            );
        }
        let required = get(entries, "required")
            .and_then(|r| self.boolean(r, &format!("`required` of {what}")))
            .unwrap_or(false);
        let secret = get(entries, "secret")
            .and_then(|r| self.boolean(r, &format!("`secret` of {what}")))
            .unwrap_or(false);
        let description = get(entries, "description")
            .and_then(|d| self.string(d, &format!("`description` of {what}")))
            .map(str::to_string);
        let pattern = get(entries, "pattern").and_then(|p| {
            let s = self.string(p, &format!("`pattern` of {what}"))?;
            regex::Regex::new(s)
                .map_err(|e| {
                    let first = regex_error(&e);
                    self.err(
                        &p.span,
                        format!("`pattern` of {what} is not a valid regular expression: {first}"),
                        "write a Rust regex in a literal string, e.g. pattern = '^\\d+\\.\\d+\\.\\d+$'",
                    )
                })
                .ok()
        });
        let default = get(entries, "default").and_then(|d| {
            let text = match &d.val {
                Val::Str(s) => s.clone(),
                Val::Int(i) => i.to_string(),
                Val::Bool(b) => b.to_string(),
                _ => {
                    self.type_error(
                        d,
                        &format!("`default` of {what}"),
                        "a string, integer or boolean",
                        "default = \"value\"",
                    );
                    return None;
                }
            };
            self.no_nul(&text, &d.span, &format!("`default` of {what}"));
            if let Err(e) = ty.check(&text) {
                self.err(
                    &d.span,
                    format!("`default` of {what}: {e}"),
                    format!("give a default of type {}", ty.describe()),
                );
            } else if let Some(re) = &pattern
                && !re.is_match(&text)
            {
                self.err(
                    &d.span,
                    format!(
                        "`default` of {what} (\"{text}\") does not match its pattern {}",
                        re.as_str()
                    ),
                    "change the default so that it matches the pattern",
                );
            }
            Some((text, d.span.clone()))
        });
        if required && let Some((_, span)) = &default {
            self.err(
                span,
                format!("{what} is required and also has a default"),
                "a default makes a parameter optional: remove `required = true` or the default",
            );
        }
        Some(RawParam {
            ty,
            required,
            default: default.map(|(t, _)| t),
            pattern,
            secret,
            description,
        })
    }

    fn tools(&mut self, n: &Node) -> BTreeMap<String, Tool> {
        let Some(entries) = self.table(n, "`tools`", "[tools.notify] with run = \"…\"") else {
            return BTreeMap::new();
        };
        let mut out = BTreeMap::new();
        for e in entries {
            if !is_step_id(&e.key) {
                self.err(
                    &e.key_span,
                    format!("tool name `{}` is invalid", e.key),
                    "use 1 to 64 lowercase letters, digits, '_' or '-' (names starting with \"builtin.\" are reserved)",
                );
            }
            let what = format!("tool `{}`", e.key);
            let Some(fields) = self.table(&e.node, &what, "[tools.notify] with run = \"…\"")
            else {
                continue;
            };
            self.unknown_fields(fields, TOOL_FIELDS, &format!("in {what}"));
            let run = match get(fields, "run") {
                Some(r) => self.string(r, &format!("`run` of {what}")).map(|s| {
                    self.no_template_in_shell(s, &r.span, &format!("`run` of {what}"), true);
                    self.no_nul(s, &r.span, &format!("`run` of {what}"));
                    s.to_string()
                }),
                None => {
                    self.err(
                        &e.key_span,
                        format!("{what} has no `run` command"),
                        "add run = \"…\": the command, which reads its parameters from the environment",
                    );
                    None
                }
            };
            let description = get(fields, "description")
                .and_then(|d| self.string(d, &format!("`description` of {what}")))
                .map(str::to_string);
            let mut params = Vec::new();
            if let Some(p) = get(fields, "params")
                && let Some(list) = self.table(
                    p,
                    &format!("`params` of {what}"),
                    "params = { MESSAGE = { type = \"string\", required = true } }",
                )
            {
                for pe in list {
                    if !is_name(&pe.key, false) {
                        self.err(
                                &pe.key_span,
                                format!("parameter `{}` of {what} is not a valid environment variable name", pe.key),
                                "tool parameters reach the command as environment variables: use letters, digits and '_' (e.g. MESSAGE)",
                            );
                    }
                    let pwhat = format!("parameter `{}` of {what}", pe.key);
                    if let Some(rp) = self.param_spec(&pe.node, &pwhat, TOOL_PARAM_FIELDS) {
                        params.push(ToolParam {
                            name: pe.key.clone(),
                            ty: rp.ty,
                            required: rp.required,
                            default: rp.default,
                            description: rp.description,
                        });
                    }
                }
            }
            out.insert(
                e.key.clone(),
                Tool {
                    name: e.key.clone(),
                    description,
                    run: Some(run.unwrap_or_default()),
                    params,
                },
            );
        }
        out
    }

    /// `${{` in shell code is refused: values never become shell code.
    fn no_template_in_shell(&mut self, s: &str, span: &Span, what: &str, is_run: bool) {
        if s.contains("${{") {
            let var = "VALUE";
            self.err(
                span,
                format!("{what} contains a template (\"${{{{ … }}}}\"); templates are not expanded in shell code"),
                format!(
                    "pass the value through `env` and use the variable instead: env = {{ {var} = \"${{{{ … }}}}\" }} and \"${var}\" in {}; values never become shell code",
                    if is_run { "`run`" } else { "`compensate`" }
                ),
            );
        }
    }

    /// A NUL byte cannot pass through `execve` (arguments and environment are C strings):
    /// refused here rather than when the step starts.
    fn no_nul(&mut self, s: &str, span: &Span, what: &str) {
        if let Some(at) = s.find('\0') {
            self.err(
                span,
                format!("{what} contains a NUL byte (\\u0000) at character {}", s[..at].chars().count() + 1),
                "remove the \\u0000 escape: commands, directories and environment values cannot hold NUL bytes",
            );
        }
    }

    // ---- steps -----------------------------------------------------------------------

    fn steps<'n>(
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

    fn step<'n>(
        &mut self,
        span: Span,
        f: &'n [Entry],
        default_timeout: Option<Duration>,
        default_retry: &RetryPolicy,
    ) -> RawStep<'n> {
        let id = match get(f, "id") {
            Some(n) => self.string(n, "step `id`").map(|s| (s, n.span.clone())),
            None => {
                self.err(
                    &span,
                    "step has no `id`",
                    "add id = \"…\" (1 to 64 lowercase letters, digits, '_' or '-')",
                );
                None
            }
        };
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
        let compensate = text(self, "compensate");
        let pool = text(self, "pool");
        let executor = text(self, "executor");
        let requires = get(f, "requires")
            .map(|n| self.string_list(n, &format!("`requires` of {label}"), "requires = [\"gpu\"]"))
            .unwrap_or_default();
        let dir = text(self, "dir");
        if let Some((s, sp)) = &run {
            self.no_template_in_shell(s, sp, &format!("`run` of {label}"), true);
            self.no_nul(s, sp, &format!("`run` of {label}"));
        }
        if let Some((s, sp)) = &compensate {
            self.no_template_in_shell(s, sp, &format!("`compensate` of {label}"), false);
            self.no_nul(s, sp, &format!("`compensate` of {label}"));
        }
        if let Some((s, sp)) = &dir {
            self.no_nul(s, sp, &format!("`dir` of {label}"));
        }
        if let Some((s, sp)) = &dir
            && s.contains("${{")
        {
            self.err(
                sp,
                format!("`dir` of {label} contains a template"),
                "write a fixed directory, relative to the workflow file",
            );
        }
        let needs = get(f, "needs")
            .map(|n| {
                self.string_list(
                    n,
                    &format!("`needs` of {label}"),
                    "needs = [\"build\", \"test\"]",
                )
            })
            .unwrap_or_default();
        let with = get(f, "with").map(|n| {
            let entries = self.text_table(n, &format!("`with` of {label}"), false);
            (entries, n.span.clone())
        });
        let env = get(f, "env")
            .map(|n| self.text_table(n, &format!("`env` of {label}"), true))
            .unwrap_or_default();
        let when = match get(f, "when") {
            Some(n) => match self.string(n, &format!("`when` of {label}")) {
                Some("all_success") => Trigger::AllSuccess,
                Some("all_done") => Trigger::AllDone,
                Some("any_failed") => Trigger::AnyFailed,
                Some(other) => {
                    let hint = did_you_mean(
                        other,
                        &["all_success", "all_done", "any_failed"],
                        "trigger rules",
                    );
                    self.err(
                        &n.span,
                        format!("unknown `when` \"{other}\" in {label}"),
                        format!("{hint} (`when` is \"all_success\" (the default), \"all_done\" or \"any_failed\")"),
                    );
                    Trigger::AllSuccess
                }
                None => Trigger::AllSuccess,
            },
            None => Trigger::AllSuccess,
        };
        let timeout = match get(f, "timeout") {
            Some(n) => self.duration(n, &format!("`timeout` of {label}")),
            None => default_timeout,
        };
        let retry = match get(f, "retry") {
            Some(n) => self.retry(n, &format!("`retry` of {label}"), *default_retry),
            None => *default_retry,
        };
        let cost = get(f, "cost")
            .and_then(|n| self.non_negative_number(n, &format!("`cost` of {label}")))
            .unwrap_or(0.0);
        let idempotent = get(f, "idempotent")
            .and_then(|n| self.boolean(n, &format!("`idempotent` of {label}")))
            .unwrap_or(true);
        let outputs = get(f, "outputs")
            .map(|n| self.outputs(n, &label))
            .unwrap_or_default();
        let gate = get(f, "gate").and_then(|n| self.gate(n, &label));
        RawStep {
            span,
            id,
            needs,
            run,
            uses,
            with,
            env,
            when,
            timeout,
            retry,
            pool,
            executor,
            requires,
            dir: dir.map(|(d, _)| d),
            cost,
            outputs,
            compensate,
            gate,
            idempotent,
            has_action_key: ["run", "uses", "gate"].iter().any(|k| get(f, k).is_some()),
        }
    }

    fn outputs(&mut self, n: &Node, label: &str) -> BTreeMap<String, OutputSpec> {
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
            out.insert(e.key.clone(), OutputSpec { pattern });
        }
        out
    }

    fn gate<'n>(&mut self, n: &'n Node, label: &str) -> Option<RawGate<'n>> {
        let what = format!("`gate` of {label}");
        let entries = self.table(
            n,
            &what,
            "gate = { prompt = \"Ship it?\", approvers = [\"alice\"] }",
        )?;
        self.unknown_fields(entries, GATE_FIELDS, &format!("in the gate of {label}"));
        let prompt = get(entries, "prompt").and_then(|p| {
            self.string(p, &format!("`prompt` of {what}"))
                .map(|s| (s, p.span.clone()))
        });
        let listed = get(entries, "approvers")
            .map(|a| {
                self.string_list(
                    a,
                    &format!("`approvers` of {what}"),
                    "approvers = [\"alice\", \"bob\"]",
                )
            })
            .unwrap_or_default();
        // Account names: kept trimmed; an empty one is nobody, a repeated one (in any
        // case) one person, and either would make the quorum mean less than it says.
        let mut approvers: Vec<(String, Span)> = Vec::new();
        for (name, span) in listed {
            match crate::model::clean_name(name) {
                None => self.err(
                    &span,
                    format!("an empty name in the `approvers` of {label}"),
                    "list OS account names, e.g. approvers = [\"alice\", \"bob\"]".to_string(),
                ),
                Some(n) if approvers.iter().any(|(a, _)| crate::model::same_actor(a, n)) => self.err(
                    &span,
                    format!("`{n}` is listed twice in the `approvers` of {label} (names are compared case-insensitively)"),
                    "list each account once".to_string(),
                ),
                Some(n) => approvers.push((n.to_string(), span)),
            }
        }
        let quorum = get(entries, "quorum").and_then(|q| {
            self.int_at_least(q, &format!("`quorum` of {what}"), 1)
                .map(|v| (v.min(u32::MAX as i64) as u32, q.span.clone()))
        });
        let timeout =
            get(entries, "timeout").and_then(|t| self.duration(t, &format!("`timeout` of {what}")));
        let on_timeout = match get(entries, "on_timeout") {
            Some(o) => match self.string(o, &format!("`on_timeout` of {what}")) {
                Some("approve") => OnTimeout::Approve,
                Some("reject") => OnTimeout::Reject,
                Some("fail") => OnTimeout::Fail,
                Some(other) => {
                    let hint = did_you_mean(other, &["approve", "reject", "fail"], "choices");
                    self.err(
                        &o.span,
                        format!("unknown `on_timeout` \"{other}\" in {what}"),
                        format!("{hint} (`on_timeout` is \"reject\" (the default), \"approve\" or \"fail\")"),
                    );
                    OnTimeout::Reject
                }
                None => OnTimeout::Reject,
            },
            None => OnTimeout::Reject,
        };
        let allow_self_approval = get(entries, "allow_self_approval")
            .and_then(|b| self.boolean(b, &format!("`allow_self_approval` of {what}")))
            .unwrap_or(true);
        let signed = get(entries, "signed").and_then(|b| {
            self.boolean(b, &format!("`signed` of {what}"))
                .filter(|s| *s)
                .map(|_| b.span.clone())
        });
        if let Some((q, span)) = &quorum
            && !approvers.is_empty()
            && *q as usize > approvers.len()
        {
            self.err(
                span,
                format!(
                    "the gate of {label} needs a quorum of {q} but lists only {} approver(s)",
                    approvers.len()
                ),
                format!(
                    "lower `quorum` to at most {} or add approvers",
                    approvers.len()
                ),
            );
        }
        Some(RawGate {
            span: n.span.clone(),
            prompt,
            approvers,
            quorum,
            timeout,
            on_timeout,
            on_timeout_span: get(entries, "on_timeout").map(|o| o.span.clone()),
            allow_self_approval,
            signed,
        })
    }

    // ---- signed approvals ------------------------------------------------------------

    /// `[approvals]`: the allowed-signers file, read now (or taken from the run's record).
    fn approvals(&mut self, n: &Node, base_dir: &Path) -> Option<Approvals> {
        let entries = self.table(
            n,
            "`approvals`",
            "[approvals] with allowed_signers = \"allowed_signers\"",
        )?;
        self.unknown_fields(entries, APPROVALS_FIELDS, "in `approvals`");
        let Some(p) = get(entries, "allowed_signers") else {
            self.err(
                &n.span,
                "`approvals` has no `allowed_signers`",
                "add allowed_signers = \"allowed_signers\": the OpenSSH allowed-signers file (as git uses for signed commits), relative to the workflow file",
            );
            return None;
        };
        let rel = self.string(p, "`approvals.allowed_signers`")?;
        if rel.trim().is_empty() {
            self.err(
                &p.span,
                "`approvals.allowed_signers` is empty",
                "name the allowed-signers file, e.g. allowed_signers = \"allowed_signers\"",
            );
            return None;
        }
        let path = base_dir.join(rel);
        let text = match self.recorded_signers.clone() {
            None => match read_signers(&path) {
                Ok(t) => t,
                Err(why) => {
                    self.err(
                        &p.span,
                        format!("cannot read the allowed signers `{rel}`: {why}"),
                        "give the path of an OpenSSH allowed-signers file (lines of `principal ssh-ed25519 AAAA…`), relative to the workflow file",
                    );
                    return None;
                }
            },
            Some(Some(t)) => t,
            Some(None) => {
                self.err(
                    &n.span,
                    "this run was started without `[approvals]`: allowed signers cannot be added to a run under way",
                    "start a new run with the workflow as it is now (the allowed signers are recorded when a run starts)",
                );
                return None;
            }
        };
        match crate::signing::AllowedSigners::parse(&text) {
            Ok(signers) => Some(Approvals {
                path,
                written: rel.to_string(),
                signers: std::sync::Arc::new(signers),
            }),
            Err(e) => {
                self.err(
                    &p.span,
                    format!("the allowed signers `{rel}`, {e}"),
                    "each line is `principal[,principal…] [namespaces=\"…\"] keytype base64 [comment]`, the key as in a .pub file",
                );
                None
            }
        }
    }

    /// A signed gate needs the allowed signers, approvers that are principals in it,
    /// and no way to pass it unsigned.
    fn check_signed_gates(
        &mut self,
        raw: &[RawStep<'_>],
        approvals: Option<&Approvals>,
        approvals_node: Option<&Node>,
    ) {
        for s in raw {
            let Some(g) = &s.gate else { continue };
            let Some(signed) = &g.signed else { continue };
            let label = match &s.id {
                Some((id, _)) => format!("step `{id}`"),
                None => "this step".to_string(),
            };
            if g.approvers.is_empty() {
                self.err(
                    &g.span,
                    format!("the gate of {label} is signed but lists no `approvers`"),
                    "a signed gate is decided by the principals it names: add approvers = [\"alice@example.com\"], as listed in the allowed-signers file",
                );
            }
            if g.on_timeout == OnTimeout::Approve {
                let span = g.on_timeout_span.clone().unwrap_or_else(|| g.span.clone());
                self.err(
                    &span,
                    format!("the gate of {label} is signed, so it cannot approve itself on timeout"),
                    "use on_timeout = \"reject\" or \"fail\": only approvers' signatures pass a signed gate",
                );
            }
            let Some(a) = approvals else {
                // Reported once per file below when the section is missing altogether.
                if approvals_node.is_none() {
                    self.err(
                        signed,
                        format!("the gate of {label} is signed, but the workflow has no `[approvals]` with `allowed_signers`"),
                        "add [approvals] allowed_signers = \"allowed_signers\" (the OpenSSH allowed-signers file listing each approver's public key), or remove `signed = true`",
                    );
                }
                continue;
            };
            for (name, span) in &g.approvers {
                if !a.signers.has_principal(name) {
                    self.err(
                        span,
                        format!(
                            "approver `{name}` of the signed gate of {label} is not a principal in the allowed signers `{}`",
                            a.written
                        ),
                        format!("add a line `{name} ssh-ed25519 AAAA…` (their public key) to that file, or list an approver it names"),
                    );
                }
            }
        }
    }

    // ---- resolution ------------------------------------------------------------------

    #[allow(clippy::type_complexity)]
    fn resolve_steps(
        &mut self,
        raw: &[RawStep<'_>],
        tools: &BTreeMap<String, Tool>,
        pools: &[Pool],
        param_names: &[&str],
        base_dir: &Path,
    ) -> Option<(Vec<Step>, Vec<Vec<(usize, Span)>>, Vec<StepRef>)> {
        let mut index: HashMap<&str, usize> = HashMap::with_capacity(raw.len());
        let mut ids = Vec::with_capacity(raw.len());
        for (i, s) in raw.iter().enumerate() {
            let Some((id, span)) = &s.id else {
                ids.push(format!("#{}", i + 1));
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
                let line = self.r.map.line_col(raw[first].span.start).0;
                self.err(
                    span,
                    format!("duplicate step id \"{id}\""),
                    format!("step ids must be unique; \"{id}\" is already used by the step at line {line}"),
                );
            } else {
                index.insert(id, i);
            }
            ids.push(id.to_string());
        }
        let id_list: Vec<&str> = raw
            .iter()
            .filter_map(|s| s.id.as_ref().map(|(id, _)| *id))
            .collect();
        let pool_names: Vec<&str> = pools.iter().map(|p| p.name.as_str()).collect();
        let mut tool_names: Vec<&str> = Builtin::ALL.iter().map(|b| b.name()).collect();
        tool_names.extend(tools.keys().map(String::as_str));

        let mut steps = Vec::with_capacity(raw.len());
        let mut needs_spans = Vec::with_capacity(raw.len());
        let mut refs = Vec::new();
        for (i, s) in raw.iter().enumerate() {
            let label = format!("step `{}`", ids[i]);
            let mut needs = Vec::new();
            let mut spans = Vec::new();
            for (n, span) in &s.needs {
                match index.get(n) {
                    Some(&j) => {
                        if !needs.contains(&j) {
                            needs.push(j);
                            spans.push((j, span.clone()));
                        }
                    }
                    None => {
                        let hint = did_you_mean(n, &id_list, "step ids");
                        self.err(
                            span,
                            format!("{label} needs \"{n}\", which is not a step"),
                            hint,
                        );
                    }
                }
            }
            let pool = s.pool.as_ref().and_then(|(p, span)| {
                let found = pools.iter().position(|x| x.name == *p);
                if found.is_none() {
                    let hint = match did_you_mean(p, &pool_names, "pools") {
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
            });
            let (action, tool) = self.action(s, &label, tools, &tool_names);
            let mut with = BTreeMap::new();
            if let Some(tool) = &tool {
                with = self.with_values(s, &label, tool, param_names, i, &index, raw, &mut refs);
            } else if let Some((_, span)) = &s.with
                && s.uses.is_none()
            {
                self.err(span, format!("{label} has `with` but does not `uses` a tool"), "`with` sets a tool's parameters: add uses = \"<tool>\", or use `env` for a `run` step");
            }
            let mut env = BTreeMap::new();
            for e in &s.env {
                if let Some(t) = self.step_template(
                    e,
                    TemplateSite::StepEnv,
                    param_names,
                    i,
                    &index,
                    raw,
                    &mut refs,
                ) {
                    env.insert(e.key.to_string(), t);
                }
            }
            let gate = s.gate.as_ref().map(|g| {
                let prompt = match &g.prompt {
                    Some((p, span)) => {
                        let te = TextEntry {
                            key: "prompt",
                            key_span: span.clone(),
                            value: p.to_string(),
                            span: span.clone(),
                        };
                        self.step_template(
                            &te,
                            TemplateSite::Prompt,
                            param_names,
                            i,
                            &index,
                            raw,
                            &mut refs,
                        )
                        .unwrap_or_default()
                    }
                    None => Template::literal(format!("Approve step {}?", ids[i])),
                };
                Gate {
                    prompt,
                    approvers: g.approvers.iter().map(|(a, _)| a.clone()).collect(),
                    quorum: g.quorum.as_ref().map_or(1, |(q, _)| *q),
                    timeout: g.timeout,
                    on_timeout: g.on_timeout,
                    allow_self_approval: g.allow_self_approval,
                    signed: g.signed.is_some(),
                }
            });
            if !s.has_action_key {
                self.err(
                    &s.span,
                    format!("{label} has nothing to do"),
                    "give it `run = \"…\"`, `uses = \"<tool>\"`, or a `gate` (a pure approval step)",
                );
            }
            steps.push(Step {
                id: ids[i].clone(),
                index: i,
                needs,
                action,
                with,
                env,
                when: s.when,
                timeout: s.timeout,
                retry: s.retry,
                pool,
                executor: None,
                requires: Vec::new(),
                dir: s.dir.map(|d| base_dir.join(d)),
                cost: s.cost,
                outputs: s.outputs.clone(),
                compensate: s.compensate.as_ref().map(|(c, _)| c.to_string()),
                gate,
                idempotent: s.idempotent,
                cache: None,
                service: None,
                line: self.r.map.line_col(s.span.start).0,
            });
            needs_spans.push(spans);
        }
        Some((steps, needs_spans, refs))
    }

    fn action(
        &mut self,
        s: &RawStep<'_>,
        label: &str,
        tools: &BTreeMap<String, Tool>,
        tool_names: &[&str],
    ) -> (Action, Option<Tool>) {
        match (&s.run, &s.uses) {
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

    #[allow(clippy::too_many_arguments)]
    fn with_values(
        &mut self,
        s: &RawStep<'_>,
        label: &str,
        tool: &Tool,
        param_names: &[&str],
        i: usize,
        index: &HashMap<&str, usize>,
        raw: &[RawStep<'_>],
        refs: &mut Vec<StepRef>,
    ) -> BTreeMap<String, Template> {
        let mut out = BTreeMap::new();
        let given: &[TextEntry<'_>] = s.with.as_ref().map_or(&[], |(w, _)| w.as_slice());
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
            let Some(t) =
                self.step_template(e, TemplateSite::With, param_names, i, index, raw, refs)
            else {
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
                        format!("`DURATION` of builtin.sleep: {}", short(&msg)),
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
            match &p.default {
                Some(d) => {
                    out.insert(p.name.clone(), Template::literal(d.clone()));
                }
                None if p.required => {
                    let span = s.uses.as_ref().map_or(s.span.clone(), |(_, sp)| sp.clone());
                    self.err(
                        &span,
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

    /// Parse a run-wide env template: no step references allowed there.
    fn template(
        &mut self,
        e: &TextEntry<'_>,
        site: TemplateSite,
        param_names: &[&str],
    ) -> Option<Template> {
        let t = self.parse_checked(e, param_names)?;
        for r in t.refs() {
            if let TemplateRef::StepOutput { .. } = r {
                debug_assert!(site == TemplateSite::RunEnv);
                self.err(
                    &e.span,
                    format!("the run-wide `env` value `{}` reads a step output ({r})", e.key),
                    "step outputs exist only after the step ran: move this entry into the `env` of the step that needs it",
                );
            }
        }
        Some(t)
    }

    fn parse_checked(&mut self, e: &TextEntry<'_>, param_names: &[&str]) -> Option<Template> {
        let t = match parse_template(&e.value) {
            Ok(t) => t,
            Err(msg) => {
                self.err(
                    &e.span,
                    msg,
                    "a template is ${{ steps.<id>.outputs.<key> }}, ${{ params.<name> }}, ${{ env.<NAME> }} or ${{ run.id }}",
                );
                return None;
            }
        };
        let mut ok = true;
        for r in t.refs() {
            if let TemplateRef::Env(name) = r
                && !self.env_names.contains(name)
            {
                let names: Vec<&str> = self.env_names.iter().map(String::as_str).collect();
                let hint = match did_you_mean(name, &names, "run-wide `env` entries") {
                    h if h.starts_with("did you mean") => h,
                    h => format!(
                        "{h}; `env.{name}` reads the run-wide [env] table (not baton's own environment): add {name} = \"…\" there"
                    ),
                };
                self.err(
                    &e.span,
                    format!(
                        "template refers to `env.{name}`, which the run-wide `env` does not set"
                    ),
                    hint,
                );
                ok = false;
            }
            if let TemplateRef::Param(p) = r
                && !param_names.contains(&p.as_str())
            {
                let hint = match did_you_mean(p, param_names, "parameters") {
                    h if h.starts_with("did you mean") => h,
                    h => format!("{h}; declare it with [params.{p}]"),
                };
                self.err(
                    &e.span,
                    format!("template refers to unknown parameter `{p}`"),
                    hint,
                );
                ok = false;
            }
        }
        ok.then_some(t)
    }

    /// Parse a template used by step `i`, resolving step references to indices and
    /// recording them for the ancestor check.
    #[allow(clippy::too_many_arguments)]
    fn step_template(
        &mut self,
        e: &TextEntry<'_>,
        _site: TemplateSite,
        param_names: &[&str],
        i: usize,
        index: &HashMap<&str, usize>,
        raw: &[RawStep<'_>],
        refs: &mut Vec<StepRef>,
    ) -> Option<Template> {
        let mut t = self.parse_checked(e, param_names)?;
        let mut ok = true;
        for seg in &mut t.segments {
            let TemplateSegment::Ref(TemplateRef::StepOutput { step, step_id, key }) = seg else {
                continue;
            };
            let Some(&target) = index.get(step_id.as_str()) else {
                let ids: Vec<&str> = raw
                    .iter()
                    .filter_map(|s| s.id.as_ref().map(|(id, _)| *id))
                    .collect();
                let hint = did_you_mean(step_id, &ids, "step ids");
                self.err(
                    &e.span,
                    format!("template refers to step \"{step_id}\", which is not a step"),
                    hint,
                );
                ok = false;
                continue;
            };
            if target == i {
                self.err(
                    &e.span,
                    format!("step `{step_id}` refers to its own output `{key}`"),
                    "a step's outputs exist only after it ran; read the value inside the step's own command instead",
                );
                ok = false;
                continue;
            }
            let declared = &raw[target].outputs;
            if !declared.is_empty() && !declared.contains_key(key.as_str()) {
                let names: Vec<&str> = declared.keys().map(String::as_str).collect();
                let hint = did_you_mean(key, &names, &format!("outputs declared by `{step_id}`"));
                self.err(
                    &e.span,
                    format!("step `{step_id}` declares no output `{key}`"),
                    hint,
                );
                ok = false;
                continue;
            }
            *step = target;
            refs.push(StepRef {
                from: i,
                target,
                key: key.clone(),
                span: e.span.clone(),
            });
        }
        ok.then_some(t)
    }
}

/// A step-output reference, checked against the graph once it is known to be acyclic.
struct StepRef {
    from: usize,
    target: usize,
    key: String,
    span: Span,
}

struct RawParam {
    ty: ParamType,
    required: bool,
    default: Option<String>,
    pattern: Option<regex::Regex>,
    secret: bool,
    description: Option<String>,
}

/// The allowed-signers file, bounded (it is a list of public keys).
fn read_signers(path: &Path) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        _ => e.to_string(),
    })?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if meta.len() > MAX_SIGNERS_BYTES {
        return Err(format!(
            "{} bytes, more than the {MAX_SIGNERS_BYTES} an allowed-signers file may have",
            meta.len()
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())
}

fn get<'n>(entries: &'n [Entry], key: &str) -> Option<&'n Node> {
    get_entry(entries, key).map(|e| &e.node)
}

fn get_entry<'n>(entries: &'n [Entry], key: &str) -> Option<&'n Entry> {
    entries.iter().find(|e| e.key == key)
}

/// A units error saying the duration is over the ceiling.
fn d_too_long(e: &str) -> bool {
    e.contains("longer than the limit")
}

fn duration_hint(what: &str) -> String {
    let key = what
        .trim_start_matches('`')
        .split('`')
        .next()
        .unwrap_or("timeout")
        .rsplit('.')
        .next()
        .unwrap_or("timeout")
        .to_string();
    format!("write a duration such as {key} = \"30s\" (units: ms, s, m, h, d)")
}

/// A valid id close to `id` (lowercased, other characters replaced by '-').
fn suggest_id(id: &str) -> Option<String> {
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

/// The last line of a regex error ("unclosed group"), without its "error: " prefix.
fn regex_error(e: &regex::Error) -> String {
    let text = e.to_string();
    let last = text.lines().last().unwrap_or("").trim();
    last.strip_prefix("error: ").unwrap_or(last).to_string()
}

/// A units error without its generic "write …" tail (the hint says that).
fn short(e: &str) -> &str {
    e.split("; write").next().unwrap_or(e)
}

/// "`retry` of step `a`" + "delay" → "`retry.delay` of step `a`".
fn sub(what: &str, field: &str) -> String {
    match what.strip_prefix('`').and_then(|w| w.split_once('`')) {
        Some((key, rest)) => format!("`{key}.{field}`{rest}"),
        None => format!("{what}.{field}"),
    }
}

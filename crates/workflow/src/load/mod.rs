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
use super::units::{DurationError, parse_duration, parse_rate};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

mod artifacts;
mod child;
mod concurrency;
mod deadline;
mod defaults;
mod events;
mod fallback;
mod fanout;
mod gates;
mod keys;
mod limits;
mod params;
mod repeat;
mod resolve;
mod rules;
mod schedule;
mod steps;
mod templates;
mod values;
mod whole;

pub use keys::{KEY_TABLES, KeyTable};
use values::{d_too_long, regex_error, short, sub};

const TOP_FIELDS: &[&str] = &[
    "name",
    "description",
    "max_parallel",
    "timeout",
    "budget",
    "deadline",
    "params",
    "env",
    "secrets",
    "defaults",
    "pools",
    "executors",
    "notify",
    "tools",
    "approvals",
    "concurrency",
    "step",
    "schedule",
    "trigger",
];

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
    load_in_chain(source, path, signers, Vec::new())
}

/// [`load_str_with`] of a file loaded as a child of the files in `chain` (outermost
/// first; empty for a file loaded on its own).
fn load_in_chain(
    source: &str,
    path: &Path,
    signers: SignersFrom<'_>,
    mut chain: Vec<PathBuf>,
) -> Result<Plan, Diagnostics> {
    chain.push(child::identity(path));
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
        secret_params: Vec::new(),
        recorded_signers: match signers {
            SignersFrom::File => None,
            SignersFrom::Recorded(t) => Some(t.map(str::to_string)),
        },
        chain,
    }
    .load(&root, path, base_dir);
    match plan {
        Some(mut plan) if r.diags.is_empty() => {
            plan.warnings = Diagnostics::in_source_order(r.warnings).0;
            Ok(plan)
        }
        _ => Err(r.finish()),
    }
}

struct Loader<'r, 's> {
    r: &'r mut Reporter<'s>,
    /// The run-wide `env` names, which `${{ env.NAME }}` may read.
    env_names: Vec<String>,
    /// The params declared `secret` (a child's param given one is said, `child.rs`).
    secret_params: Vec<String>,
    /// `None`: read the allowed signers from their file; else the run's record.
    recorded_signers: Option<Option<String>>,
    /// The files being loaded, outermost first, this one last: a child workflow
    /// among them is a cycle (`child.rs`).
    chain: Vec<PathBuf>,
}

/// A step as written, before names are resolved. What most steps leave out is in
/// [`RawMore`], boxed and made only for a step that writes one of its keys, and read
/// through `Deref` (`s.pool`): 100,000 raw steps held it inline (736 bytes each, 74 MB)
/// at the load's peak, beside the parse tree and the plan (issue 62 point 5).
struct RawStep<'n> {
    span: Span,
    id: Option<(&'n str, Span)>,
    /// `needs` as written: the tree's list, its strings read by `values::strings`.
    needs: &'n [Node],
    run: Option<(&'n str, Span)>,
    uses: Option<(&'n str, Span)>,
    env: Vec<TextEntry<'n>>,
    timeout: Option<Duration>,
    retry: RetryPolicy,
    cost: f64,
    /// Boxed, as `fanout`: most steps have neither, and 100,000 raw steps held
    /// them inline (824 bytes each) at the load's peak.
    gate: Option<Box<RawGate<'n>>>,
    idempotent: bool,
    /// `run`, `uses` or `gate` is present (even if malformed).
    has_action_key: bool,
    /// `matrix` or `for_each`, with its instance keys.
    fanout: Option<Box<fanout::RawFanout<'n>>>,
    /// `artifacts` and `uses_artifacts`, as written (boxed: few steps have them).
    artifacts: Option<Box<artifacts::RawArtifacts<'n>>>,
    /// `None`: the step writes none of [`RawMore::KEYS`] (each is its default).
    more: Option<Box<RawMore<'n>>>,
}

/// The parts of a step as written that most steps leave out.
struct RawMore<'n> {
    /// `workflow = "child.toml"` and its `params`: a child run (`child.rs`).
    child: child::RawChild<'n>,
    with: Option<(Vec<TextEntry<'n>>, Span)>,
    rules: rules::RawRules<'n>,
    pool: Option<(&'n str, Span)>,
    executor: Option<(&'n str, Span)>,
    requires: Vec<(&'n str, Span)>,
    dir: Option<&'n str>,
    outputs: BTreeMap<String, OutputSpec>,
    compensate: Option<(&'n str, Span)>,
    /// `on_cancel = true`, where it is written.
    on_cancel: Option<Span>,
    /// `repeat`, as written.
    repeat: Option<repeat::RawRepeat<'n>>,
    /// `fallback`, as written.
    fallback: Vec<fallback::RawAlternative<'n>>,
    /// `retry.exit_code` and `retry.never_exit_code`.
    retry_exits: crate::retry::RetryExits,
    /// `retry.if`, as written: parsed once every step is known.
    retry_if: Option<(&'n str, Span)>,
}

impl RawMore<'_> {
    /// The step keys whose values are here: a step with none of them has no `RawMore`.
    const KEYS: &'static [&'static str] = &[
        "workflow",
        "params",
        "with",
        "when",
        "allow_failure",
        "if",
        "pool",
        "executor",
        "requires",
        "dir",
        "outputs",
        "compensate",
        "on_cancel",
        "repeat",
        "fallback",
        "retry",
    ];
}

/// What a step that writes none of [`RawMore::KEYS`] reads: each one's default.
static NO_MORE: RawMore<'static> = RawMore {
    child: child::RawChild {
        workflow: None,
        params: None,
    },
    with: None,
    rules: rules::RawRules {
        when: crate::Trigger::AllSuccess,
        allow_failure: false,
        allow_failure_when: None,
        mark_success: false,
        cond: None,
    },
    pool: None,
    executor: None,
    requires: Vec::new(),
    dir: None,
    outputs: BTreeMap::new(),
    compensate: None,
    on_cancel: None,
    repeat: None,
    fallback: Vec::new(),
    retry_exits: crate::retry::RetryExits {
        only: crate::retry::ExitSet::EMPTY,
        never: crate::retry::ExitSet::EMPTY,
    },
    retry_if: None,
};

impl<'n> std::ops::Deref for RawStep<'n> {
    type Target = RawMore<'n>;

    fn deref(&self) -> &RawMore<'n> {
        self.more.as_deref().unwrap_or(&NO_MORE)
    }
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
    /// `inputs`: what an approver supplies.
    inputs: Vec<ParamSpec>,
    /// Each input's `default` and `values` templates, in the order of `inputs`.
    input_templates: Vec<params::RawInputTemplates>,
    /// `auto`: the rules as written, checked once the steps are known.
    auto: Vec<gates::RawAuto<'n>>,
    /// `revise`: the steps a push-back runs again, as written (issue 44 point 3).
    revise: Vec<(&'n str, Span)>,
    /// `rounds` and where.
    rounds: Option<(u32, Span)>,
}

/// A template use, to be checked once all steps are known.
#[derive(Clone, Copy, PartialEq)]
enum TemplateSite {
    RunEnv,
    StepEnv,
    With,
    Prompt,
    /// A gate input's `default` or `values`: rendered when the gate opens, like the prompt.
    InputChoice,
    AllowFailure,
}

impl<'r, 's> Loader<'r, 's> {
    fn err(&mut self, span: &Span, message: impl Into<String>, hint: impl Into<super::diag::Hint>) {
        self.r.error(span, message, hint);
    }

    fn load(&mut self, root: &Node, path: &Path, base_dir: PathBuf) -> Option<Plan> {
        let top = root.entries().unwrap_or(&[]);
        self.unknown_fields(top, TOP_FIELDS, "at the top level of the workflow");

        let name = self.workflow_name(top);
        let description = get(top, "description")
            .and_then(|n| self.string(n, "`description`"))
            .map(str::to_string);
        let max_parallel = self.max_parallel(top);
        let timeout = get(top, "timeout").and_then(|n| self.duration(n, "`timeout`"));
        let budget = get(top, "budget").and_then(|n| self.budget(n));
        let params = get(top, "params")
            .map(|n| self.params(n))
            .unwrap_or_default();
        let env = get(top, "env")
            .map(|n| self.text_table(n, "`env`", true))
            .unwrap_or_default();
        self.env_names = env.iter().map(|e| e.key.to_string()).collect();
        let secrets = self.secret_decls(top, &base_dir);
        let (default_timeout, default_retry) = get(top, "defaults")
            .map(|n| self.defaults(n))
            .unwrap_or((None, RetryPolicy::default()));
        let notify = get_entry(top, "notify")
            .map(|e| super::notify::NotifyReader::new(self.r, &base_dir).notifiers(e))
            .unwrap_or_default();
        let pools = get(top, "pools").map(|n| self.pools(n)).unwrap_or_default();
        let tools = get(top, "tools").map(|n| self.tools(n)).unwrap_or_default();
        let approvals = get(top, "approvals").and_then(|n| self.approvals(n, &base_dir));
        let schedules = get_entry(top, "schedule")
            .map(|e| self.schedules(e))
            .unwrap_or_default();
        let triggers = self.read_triggers(top, &base_dir);
        let concurrency = get(top, "concurrency").and_then(|n| self.concurrency(n, &params));

        let raw_steps = self.raw_steps(top, default_timeout, &default_retry);

        self.check_signed_gates(&raw_steps, approvals.as_ref(), get(top, "approvals"));
        let param_names: Vec<&str> = params.iter().map(|p: &ParamSpec| p.name.as_str()).collect();
        self.refuse_secret_fanouts(&raw_steps, &params);
        let plan_env = self.run_env(&env, &param_names);

        let steps =
            self.resolve_steps(&raw_steps, &tools, &pools, &param_names, base_dir.as_path());
        let graph = steps.map(|(steps, refs)| {
            let g = self.check_graph(top, &steps, &refs, &raw_steps);
            (steps, g)
        });

        let mut executors = get(top, "executors")
            .map(|n| self.executors().executors(n, &base_dir))
            .unwrap_or_default();
        let steps = graph.map(|(mut steps, g)| {
            self.route(top, &raw_steps, &mut steps, &executors);
            self.artifacts_placed(&raw_steps, &steps);
            pin(&raw_steps, &steps, &mut executors);
            super::caching::CacheReader { r: self.r }.apply(top, &mut steps, &base_dir);
            super::services::ServiceReader { r: self.r }.apply(top, &mut steps, &executors);
            super::secrets::SecretReader { r: self.r }.apply(top, &mut steps, &secrets);
            (steps, g)
        });
        let (mut steps, g) = steps?;
        let deadline = self.deadlines(top, &mut steps, &notify);
        if !self.r.diags.is_empty() {
            return None;
        }
        let dependants = graph::dependants(&steps);
        let plan = Plan {
            name,
            description,
            source: path.to_path_buf(),
            base_dir,
            max_parallel,
            timeout,
            budget,
            deadline,
            params,
            env: plan_env,
            secrets: secrets.0,
            secret_sources: secrets.1,
            pools,
            executors,
            notify,
            tools,
            approvals,
            concurrency,
            steps,
            layers: g.layers,
            dependants,
            schedules: schedules.iter().map(|r| r.schedule.clone()).collect(),
            triggers: triggers.iter().map(|r| r.trigger.clone()).collect(),
            warnings: Vec::new(),
        };
        self.check_schedule_params(&plan, &schedules);
        self.check_triggers(&plan, &triggers);
        self.r.diags.is_empty().then_some(plan)
    }

    fn executors(&mut self) -> super::executors::ExecutorReader<'_, 's> {
        super::executors::ExecutorReader { r: self.r }
    }
}

/// A step naming its executor stays there; one routed by labels alone spreads over
/// every executor offering them.
fn pin(raw_steps: &[RawStep<'_>], steps: &[Step], executors: &mut [ExecutorSpec]) {
    for (i, (raw, step)) in raw_steps.iter().zip(steps.iter()).enumerate() {
        if raw.executor.is_some()
            && !raw.requires.is_empty()
            && let Some(e) = step.executor.and_then(|e| executors.get_mut(e))
        {
            e.pinned.push(i);
        }
    }
}

/// A step-output reference, checked against the graph once it is known to be acyclic.
struct StepRef {
    from: usize,
    target: usize,
    key: String,
    read: Read,
    span: Span,
}

/// What a `StepRef` reads of its step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Read {
    /// `steps.ID.outputs.KEY`
    Output,
    /// `steps.ID.inputs.KEY`
    Input,
    /// `steps.ID.state` (in an `if`; `key` is empty)
    State,
    /// `needs.ID.result` (`key` is empty): `ID` must be a direct need.
    Result,
    /// A gate's `revise = ["ID"]` (`key` is empty): a push-back runs it again.
    Revise,
    /// `uses_artifacts = ["ID.KEY"]` or `steps.ID.artifacts.KEY`.
    Artifact,
}

impl Read {
    fn noun(self) -> &'static str {
        match self {
            Read::Output => "outputs",
            Read::Input => "the approval inputs",
            Read::State => "the state",
            Read::Result => "the result",
            Read::Revise => "a push-back's revision",
            Read::Artifact => "artifacts",
        }
    }
}

impl StepRef {
    /// `outputs.KEY`, `inputs.KEY` or `state`.
    fn path(&self) -> String {
        match self.read {
            Read::Output => format!("outputs.{}", self.key),
            Read::Input => format!("inputs.{}", self.key),
            Read::State | Read::Result => "state".to_string(),
            Read::Revise => "revise".to_string(),
            Read::Artifact => format!("artifacts.{}", self.key),
        }
    }
}

fn get<'n>(entries: &'n [Entry], key: &str) -> Option<&'n Node> {
    get_entry(entries, key).map(|e| &e.node)
}

fn get_entry<'n>(entries: &'n [Entry], key: &str) -> Option<&'n Entry> {
    entries.iter().find(|e| e.key == key)
}

#[cfg(test)]
mod events_tests;
#[cfg(test)]
mod policy_tests;

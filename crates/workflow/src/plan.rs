//! The validated, immutable plan the engine runs: ids resolved to indices, durations
//! parsed, templates parsed, tools resolved. Produced only by the loader
//! (`workflow::load`); everything here has already been checked.
use super::rare::Rare;
use super::template::{Template, TemplateRef};
use super::trigger::Trigger;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Plan {
    pub name: String,
    pub description: Option<String>,
    /// The workflow file, and the directory steps run in unless they set `dir`.
    pub source: PathBuf,
    pub base_dir: PathBuf,
    pub max_parallel: usize,
    pub timeout: Option<Duration>,
    pub budget: Option<Budget>,
    /// `deadline`: when the run should be done by (reported, never enforced).
    pub deadline: Option<Deadline>,
    pub params: Vec<ParamSpec>,
    /// Run-wide environment (values may reference params, env and run.id).
    pub env: BTreeMap<String, Template>,
    /// `secrets = ["NAME"]`: names read from baton's environment (every step inherits
    /// them), their values masked everywhere.
    pub secrets: Vec<String>,
    /// `[secrets]` as a table: read when a step that names them starts
    /// (`Step::secrets`), each from its source.
    pub secret_sources: Vec<super::secrets::Secret>,
    pub pools: Vec<Pool>,
    /// `[executors.NAME]` in file order (capability routing takes the first match).
    pub executors: Vec<ExecutorSpec>,
    /// `[[notify]]`: commands run when chosen events happen.
    pub notify: Vec<Notifier>,
    /// Tools the workflow declares (`[tools.x]`); built-ins are not listed here.
    pub tools: BTreeMap<String, Tool>,
    /// `[approvals]`: whose SSH signatures decide `signed = true` gates.
    pub approvals: Option<Approvals>,
    /// `concurrency`: the group its runs share in a store, and what a new run does
    /// when the group is busy.
    pub concurrency: Option<Concurrency>,
    /// Steps in file order; `needs` and template step references index into this.
    pub steps: Vec<Step>,
    /// Longest-path layers: `layers[0]` has the steps with no needs.
    pub layers: Vec<Vec<usize>>,
    /// `dependants[i]`: the steps that need step `i`.
    pub dependants: Vec<Vec<usize>>,
    /// `[[schedule]]`: when `baton serve` starts it, in file order.
    pub schedules: Vec<Schedule>,
    /// `[[trigger]]`: the events that make `baton serve` start it, in file order.
    pub triggers: Vec<crate::events::EventTrigger>,
    /// What the load warns of (`baton validate` prints them), in source order: the
    /// file loads, but a part may not mean what it says.
    pub warnings: Vec<crate::diag::Diagnostic>,
}

/// `[[schedule]]`: a cron expression in a zone, the run's params, and what to do with
/// missed slots and with a slot that comes while the schedule's last run still goes.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// From 1, in file order: `WORKFLOW#N`.
    pub index: u32,
    pub cadence: baton_model::schedule::Cadence,
    pub params: Vec<(String, String)>,
    /// The labels each run of the schedule starts with (`model::labels`), checked.
    pub labels: BTreeMap<String, String>,
    pub catch_up: baton_model::schedule::CatchUp,
    pub max_catch_up: u32,
    pub overlap: baton_model::schedule::Overlap,
    /// Where the block starts in the file.
    pub line: usize,
}

/// `deadline = { at = "06:00", within = "2h", notify = ["oncall"] }` (Airflow's
/// Deadline Alerts): a run or step not done by then is reported once (`deadline_missed`),
/// never stopped. Either clause or both; the earlier wins.
#[derive(Debug, Clone, PartialEq)]
pub struct Deadline {
    /// A time of day: the first such time after the run started, in its time zone.
    pub at: Option<baton_model::deadline::TimeOfDay>,
    /// From the run's start; for a step, from when it became ready.
    pub within: Option<Duration>,
    /// The `[[notify]]` blocks (indices into `Plan::notify`) told of it by name, besides
    /// those whose `on` lists `deadline_missed`.
    pub notify: Vec<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Budget {
    pub cost: Option<f64>,
    pub calls: Option<u64>,
    pub tokens: Option<u64>,
    /// `timeout`: how long the budget gate may stay open (from its opening) before
    /// `on_timeout` decides it.
    pub timeout: Option<Duration>,
    /// `on_timeout`: `reject` (the default) or `fail`; never `approve` (the loader
    /// refuses it: approving the budget is raising it, and a timeout cannot say by how
    /// much).
    pub on_timeout: OnTimeout,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ParamType {
    String,
    Int,
    Bool,
    Enum(Vec<String>),
    /// `type = "list"`: a JSON array or values separated by commas (a matrix axis).
    List,
}

#[derive(Debug, Clone)]
pub struct ParamSpec {
    pub name: String,
    pub ty: ParamType,
    pub required: bool,
    pub default: Option<String>,
    pub pattern: Option<regex::Regex>,
    pub secret: bool,
    pub description: Option<String>,
    /// A gate input's `default` or `values` written as a template over params and the
    /// gate's ancestors' outputs: rendered when the gate opens
    /// ([`crate::input_choices::render`]); until then `default` is `None` and an enum's
    /// values are empty, so that no template is ever taken for a value.
    pub from_run: Option<Box<InputTemplates>>,
}

/// An approval input's templates (issue 44 point 1).
#[derive(Debug, Clone, Default)]
pub struct InputTemplates {
    pub default: Option<Template>,
    /// A JSON list of the enum's choices (`values = "${{ steps.ls.outputs.dbs }}"`).
    pub values: Option<Template>,
}

#[derive(Debug, Clone)]
pub struct Pool {
    pub name: String,
    pub capacity: usize,
    pub rate: Option<Rate>,
    /// Token bucket size; defaults to `capacity`.
    pub burst: u32,
    /// Whose steps `capacity` and `rate` count: this run's, or every run's in the store.
    pub scope: PoolScope,
}

/// `scope` of a pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PoolScope {
    /// Counted within the run (each run has its own pool).
    #[default]
    Run,
    /// Counted over every run in the store (`store::pool_slots`).
    Store,
}

/// `N/s`, `N/min`, `N/h`: `count` tokens per `per`.
/// `[executors.NAME]`: where a step's command runs.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutorSpec {
    pub name: String,
    pub kind: ExecutorKind,
    /// Capabilities offered, matched against a step's `requires`.
    pub labels: Vec<String>,
    /// 1-based line of its table header.
    pub line: usize,
    /// Steps with `requires` that name this executor in `executor`: they stay on it
    /// (others with `requires` spread over every executor offering the labels).
    pub pinned: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExecutorKind {
    /// A process on this machine (the default).
    Local,
    Slurm(Box<SlurmOptions>),
    /// A process group on another host, through the system's `ssh`.
    Ssh(Box<SshOptions>),
    /// A job of any batch scheduler, through its own submit/status/cancel commands.
    Batch(Box<crate::batch::BatchOptions>),
}

impl ExecutorKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            ExecutorKind::Local => "local",
            ExecutorKind::Slurm(_) => "slurm",
            ExecutorKind::Ssh(_) => "ssh",
            ExecutorKind::Batch(_) => "batch",
        }
    }
}

/// The options of a `type = "ssh"` executor.
#[derive(Debug, Clone, PartialEq)]
pub struct SshOptions {
    /// What `ssh` connects to: a `Host` of the user's ssh configuration, or a name.
    pub host: String,
    /// An ssh configuration file (`ssh -F`); `None`: the user's own `~/.ssh/config`.
    pub ssh_config: Option<PathBuf>,
    /// The directory on the host for attempts' files (relative: to the remote home).
    pub workdir: String,
    /// How long an artifact's copy to or from the host may move no byte before it is
    /// stopped (`copy_stall`, 60 s unless it says otherwise).
    pub copy_stall: Duration,
    /// Whether a reader's artifacts are sent to the host while their maker's are kept
    /// (`send_ahead`, on unless it says `false`), before the reader starts.
    pub send_ahead: bool,
}

/// The options of a `type = "slurm"` executor, passed to `sbatch`.
#[derive(Debug, Clone, PartialEq)]
pub struct SlurmOptions {
    pub partition: Option<String>,
    pub account: Option<String>,
    pub qos: Option<String>,
    pub cpus: Option<u32>,
    /// Slurm's `--mem` syntax (`4G`, `500M`).
    pub mem: Option<String>,
    pub gres: Option<String>,
    /// Upper bound of a job's `--time`; a step's `timeout` sets it when shorter.
    pub time_limit: Option<Duration>,
    /// Further `sbatch` arguments, each one argument (never split by a shell).
    pub extra_args: Vec<String>,
    /// A directory on a filesystem the nodes share (job scripts, outputs, exit codes).
    pub workdir: PathBuf,
    /// Slowest `squeue` interval (it starts at 0.5 s and backs off to this).
    pub poll: Duration,
}

impl Plan {
    /// The gated steps `--auto-approve` leaves open (see [`Gate::auto_approvable`]).
    pub fn gates_kept_from_auto_approve(&self) -> Vec<&str> {
        self.steps
            .iter()
            .filter(|s| s.gate.as_ref().is_some_and(|g| !g.auto_approvable()))
            .map(|s| s.id.as_str())
            .collect()
    }

    /// The executors a step's attempts take turns on (round-robin): every executor
    /// offering all its `requires`, in file order, when there are several and the step
    /// does not name its own; else none (it runs on [`Plan::executor_of`]).
    pub fn spread_of(&self, step: usize) -> Vec<usize> {
        let Some(s) = self.steps.get(step) else {
            return Vec::new();
        };
        if s.requires.is_empty() || self.executors.iter().any(|e| e.pinned.contains(&step)) {
            return Vec::new();
        }
        let offering: Vec<usize> = self
            .executors
            .iter()
            .enumerate()
            .filter(|(_, e)| s.requires.iter().all(|l| e.labels.contains(l)))
            .map(|(i, _)| i)
            .collect();
        if offering.len() < 2 {
            return Vec::new();
        }
        offering
    }

    /// The executor a step runs on (`None`: local).
    pub fn executor_of(&self, step: usize) -> Option<&ExecutorSpec> {
        self.executors.get(self.steps.get(step)?.executor?)
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub count: u32,
    pub per: Duration,
}

/// A reusable tool: a command with typed parameters, passed to it as environment variables.
#[derive(Debug, Clone)]
pub struct Tool {
    pub name: String,
    pub description: Option<String>,
    /// `None` for built-ins, which run inside the engine.
    pub run: Option<String>,
    pub params: Vec<ToolParam>,
}

#[derive(Debug, Clone)]
pub struct ToolParam {
    pub name: String,
    pub ty: ParamType,
    pub required: bool,
    pub default: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    Noop,
    /// `with = { DURATION = "2s" }`
    Sleep,
    /// `with = { MESSAGE = "…" }`
    Fail,
}

impl Builtin {
    pub fn name(self) -> &'static str {
        match self {
            Builtin::Noop => "builtin.noop",
            Builtin::Sleep => "builtin.sleep",
            Builtin::Fail => "builtin.fail",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// `run = "…"`: a shell command (no templates inside; values come through env).
    Shell {
        run: String,
    },
    /// `uses = "<tool>"`: the tool's command, its parameters in the environment.
    Tool {
        tool: String,
        run: String,
    },
    Builtin(Builtin),
    /// `workflow = "deploy.toml"`: the step runs that workflow file as a child run of
    /// this one (its `params` are the step's `with`); see docs/workflow/child-workflows.md.
    Workflow {
        /// The child's file, absolute (written relative to this workflow's file).
        path: PathBuf,
        /// As written, for messages and views.
        written: String,
    },
    /// Neither: a pure approval step (it has a gate).
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backoff {
    Fixed,
    Linear,
    #[default]
    Exponential,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Total attempts, at least 1 (1 = no retry).
    pub attempts: u32,
    pub backoff: Backoff,
    pub delay: Duration,
    pub max_delay: Duration,
    pub jitter: bool,
    /// `exhausted = "hold"`: once its attempts are used (and its fallbacks), the step
    /// is held for an operator (retry, mark or release) instead of failing.
    pub hold_when_exhausted: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 1,
            backoff: Backoff::Exponential,
            delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            jitter: false,
            hold_when_exhausted: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnTimeout {
    Approve,
    #[default]
    Reject,
    Fail,
}

impl OnTimeout {
    pub fn as_str(self) -> &'static str {
        match self {
            OnTimeout::Approve => "approve",
            OnTimeout::Reject => "reject",
            OnTimeout::Fail => "fail",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Gate {
    pub prompt: Template,
    /// Empty: anyone may approve.
    pub approvers: Vec<String>,
    pub quorum: u32,
    pub timeout: Option<Duration>,
    pub on_timeout: OnTimeout,
    pub allow_self_approval: bool,
    /// `signed = true`: only SSH signatures by approvers' keys (`[approvals]`) decide it.
    pub signed: bool,
    /// `inputs`: typed values an approver supplies with the approval (the types of
    /// `params`); later steps read them as `steps.ID.inputs.NAME`.
    pub inputs: Vec<ParamSpec>,
    /// `auto`: rules decided when the gate opens; the first that holds decides, and
    /// when none does a person is asked (issue 44 point 4).
    pub auto: Vec<AutoRule>,
    /// `revise`: the steps (indices, each an ancestor of the gated step) a push-back
    /// runs again, with every step between them and the gate (issue 44 point 3).
    pub revise: Vec<usize>,
    /// `rounds`: how many times the gate may open in all (the first opening is round
    /// 1); 1 when nothing is revised.
    pub rounds: u32,
}

/// One rule of a gate's `auto = [{ if, decide, reason }]`.
#[derive(Debug, Clone)]
pub struct AutoRule {
    /// `if`: over params, the gate's ancestors' outputs and the step's `with`.
    pub condition: crate::condition::Condition,
    pub decide: AutoDecide,
    /// `reason`: on record with the decision (`""` when not given).
    pub reason: String,
}

/// What an `auto` rule decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoDecide {
    Approve,
    Reject,
}

impl AutoDecide {
    pub fn as_str(self) -> &'static str {
        match self {
            AutoDecide::Approve => "approve",
            AutoDecide::Reject => "reject",
        }
    }
}

impl AutoRule {
    /// `rule 2: if with.cmd == 'ls' then approve (read-only)`: as `plan`, `validate`
    /// and the console list it (`n` counts from 1).
    pub fn describe(&self, n: usize) -> String {
        let reason = if self.reason.is_empty() {
            String::new()
        } else {
            format!(" ({})", self.reason)
        };
        format!(
            "rule {n}: if {} then {}{reason}",
            self.condition.text,
            self.decide.as_str()
        )
    }
}

impl Gate {
    /// Whether `--auto-approve` may pass this gate: one that names no approvers, allows
    /// self-approval, needs no signatures and requires no input (its inputs' defaults
    /// stand). A gate that says who decides is decided by them.
    pub fn auto_approvable(&self) -> bool {
        self.approvers.is_empty()
            && self.allow_self_approval
            && !self.signed
            && !self.inputs.iter().any(|p| p.required)
    }
}

/// `[approvals]`: the allowed-signers file (its path, and its parsed content, which is
/// recorded with each run).
#[derive(Debug, Clone)]
pub struct Approvals {
    pub path: PathBuf,
    /// The path as the workflow writes it (relative to it), for messages.
    pub written: String,
    pub signers: std::sync::Arc<baton_signing::AllowedSigners>,
}

#[derive(Debug, Clone)]
pub struct OutputSpec {
    pub pattern: Option<regex::Regex>,
}

/// A step of the plan. What most steps leave out (a condition, a gate, a fan-out,
/// fallbacks, outputs, …) is in [`StepRare`], made only for a step that has one and
/// read through `Deref` (`step.gate`) as blank until then: a 100,000-step plan held it
/// inline, 520 bytes a step, at the run's peak (issue 62 point 5).
#[derive(Debug, Clone)]
pub struct Step {
    pub id: String,
    pub index: usize,
    pub needs: Vec<usize>,
    pub action: Action,
    /// Tool parameters (for `uses`), defaults already filled in; values may be templates.
    pub with: BTreeMap<String, Template>,
    pub env: BTreeMap<String, Template>,
    pub when: Trigger,
    /// `allow_failure = true`: its failure is recorded and shown, but counts as a
    /// success for its dependants and does not fail the run (GitHub's
    /// `continue-on-error`). With `allow_failure_when`, the core sets it per run and
    /// per instance.
    pub allow_failure: bool,
    /// `allow_failure = { state = "succeeded" }` (Dagu's `continueOn.markSuccess`):
    /// once it failed for good, allowed to, the step reads `succeeded`; its error
    /// record and its attempt's exit code stay on record.
    pub mark_success: bool,
    pub idempotent: bool,
    /// `on_cancel = true` (Dagu's `handlerOn.abort`): it runs only once the run is
    /// cancelled and its steps stopped, handlers in file order; else it is skipped
    /// when the run ends. No step needs it, it needs none.
    pub on_cancel: bool,
    pub timeout: Option<Duration>,
    pub retry: RetryPolicy,
    /// Index into `Plan::executors`; `None`: a local process.
    pub executor: Option<usize>,
    pub cost: f64,
    /// 1-based line of the step's `[[step]]` header in the source, for messages.
    pub line: usize,
    /// The rest, read through `Deref`: see [`StepRare`].
    pub rare: Rare,
}

/// One entry of a step's `fallback`, with what it left out taken from the step.
#[derive(Debug, Clone)]
pub struct Alternative {
    pub action: Action,
    pub with: BTreeMap<String, Template>,
    pub env: BTreeMap<String, Template>,
    pub timeout: Option<Duration>,
    pub retry: RetryPolicy,
    /// Index into `Plan::executors`; `None`: a local process.
    pub executor: Option<usize>,
    /// 1-based line where it is written, for messages.
    pub line: usize,
}

/// What one alternative of a step runs: alternative 0 is the step itself, `k` its
/// `fallback[k - 1]` (`$BATON_ALTERNATIVE`).
#[derive(Debug, Clone, Copy)]
pub struct Runs<'a> {
    pub action: &'a Action,
    pub with: &'a BTreeMap<String, Template>,
    pub env: &'a BTreeMap<String, Template>,
    pub timeout: Option<Duration>,
    pub retry: RetryPolicy,
    pub executor: Option<usize>,
}

impl Step {
    /// Whether `allow_failure` lets this step (or instance) fail, its template's or
    /// condition's names read by `lookup`: read as `if` reads a value (`''`, `false`
    /// and `0` do not).
    pub fn allows_failure(&self, lookup: impl Fn(&TemplateRef) -> Option<String>) -> bool {
        use super::condition::Name;
        self.allow_failure
            || self.allow_failure_when.as_ref().is_some_and(|t| {
                t.render(&lookup)
                    .is_ok_and(|v| super::condition::text_is_true(&v))
            })
            || self.allow_failure_if.as_ref().is_some_and(|c| {
                c.eval(|n| match n {
                    Name::Param(p) => lookup(&TemplateRef::Param(p.clone())),
                    Name::Matrix(k) => lookup(&TemplateRef::Matrix(k.clone())),
                    _ => None,
                })
                .result
            })
    }

    /// Whether `allow_failure` is decided per run or per instance (a template or a
    /// condition), not written as true or false.
    pub fn allow_failure_decided(&self) -> bool {
        self.allow_failure_when.is_some() || self.allow_failure_if.is_some()
    }

    /// Alternative `k` (0: the step itself; past the last one: the step itself).
    pub fn alternative(&self, k: u32) -> Runs<'_> {
        match (k as usize)
            .checked_sub(1)
            .and_then(|n| self.fallback.get(n))
        {
            Some(a) => Runs {
                action: &a.action,
                with: &a.with,
                env: &a.env,
                timeout: a.timeout,
                retry: a.retry,
                executor: a.executor,
            },
            None => Runs {
                action: &self.action,
                with: &self.with,
                env: &self.env,
                timeout: self.timeout,
                retry: self.retry,
                executor: self.executor,
            },
        }
    }

    /// What alternative `k` changes of the step, for a person (`plan`, the console,
    /// `show`): its command's first line or its tool, `with` and `env` values, `timeout`,
    /// attempts and executor (`executors`: the plan's). Unmasked: a view masks it.
    pub fn alternative_changes(&self, k: u32, executors: &[ExecutorSpec]) -> String {
        let a = self.alternative(k);
        let mut parts = Vec::new();
        if a.action != &self.action {
            parts.push(match a.action {
                Action::Shell { run } => {
                    let mut lines = run.lines().map(str::trim).filter(|l| !l.is_empty());
                    let first = lines.next().unwrap_or("").to_string();
                    match lines.next() {
                        Some(_) => format!("run {first} …"),
                        None => format!("run {first}"),
                    }
                }
                Action::Tool { tool, .. } => format!("uses {tool}"),
                Action::Builtin(b) => format!("uses {}", b.name()),
                Action::Workflow { written, .. } => format!("workflow {written}"),
                Action::None => "gate".to_string(),
            });
        }
        let changed = |mine: &BTreeMap<String, Template>, step: &BTreeMap<String, Template>| {
            mine.iter()
                .filter(|(name, t)| step.get(*name) != Some(*t))
                .map(|(name, t)| format!("{name}={t}"))
                .collect::<Vec<_>>()
        };
        let with = changed(a.with, &self.with);
        if !with.is_empty() {
            parts.push(format!("with {}", with.join(" ")));
        }
        parts.extend(changed(a.env, &self.env));
        if a.timeout != self.timeout
            && let Some(t) = a.timeout
        {
            parts.push(format!("timeout {}", super::format_duration(t)));
        }
        if a.retry.attempts > 1 {
            parts.push(format!("{} attempts", a.retry.attempts));
        }
        if a.executor != self.executor {
            let on = a.executor.and_then(|e| executors.get(e));
            parts.push(format!("on {}", on.map_or("local", |e| e.name.as_str())));
        }
        if parts.is_empty() {
            "the step's command again".to_string()
        } else {
            parts.join(", ")
        }
    }

    /// How many alternatives it has: itself and its `fallback`.
    pub fn alternatives(&self) -> u32 {
        self.fallback.len() as u32 + 1
    }
}

impl Plan {
    pub fn step_index(&self, id: &str) -> Option<usize> {
        self.steps.iter().position(|s| s.id == id)
    }

    pub fn gate_count(&self) -> usize {
        self.steps.iter().filter(|s| s.gate.is_some()).count()
    }

    /// The steps a push-back of step `gated`'s gate runs again, in plan order: those
    /// its `revise` names, and every step between them and the gate (a descendant of a
    /// revised step that is an ancestor of the gated step), which read what the
    /// revision changes (issue 44 point 3). Empty without a gate or `revise`.
    pub fn revised_by(&self, gated: usize) -> Vec<usize> {
        let Some(g) = self.steps.get(gated).and_then(|s| s.gate.as_ref()) else {
            return Vec::new();
        };
        if g.revise.is_empty() {
            return Vec::new();
        }
        // The gated step's ancestors, then the revised steps' descendants among them:
        // two walks over the graph, whatever its size.
        let n = self.steps.len();
        let mut ancestor = vec![false; n];
        let mut stack = self.steps[gated].needs.clone();
        while let Some(s) = stack.pop() {
            if s < n && !std::mem::replace(&mut ancestor[s], true) {
                stack.extend(self.steps[s].needs.iter().copied());
            }
        }
        let mut rerun = vec![false; n];
        let mut stack: Vec<usize> = g.revise.iter().copied().filter(|&r| r < n).collect();
        while let Some(s) = stack.pop() {
            if ancestor[s]
                && !std::mem::replace(&mut rerun[s], true)
                && let Some(d) = self.dependants.get(s)
            {
                stack.extend(d.iter().copied().filter(|&d| d < n));
            }
        }
        (0..n).filter(|&s| rerun[s]).collect()
    }

    /// Whether a step (transitively) needs `ancestor`.
    pub fn is_ancestor(&self, ancestor: usize, step: usize) -> bool {
        let mut stack = self.steps[step].needs.clone();
        let mut seen = vec![false; self.steps.len()];
        while let Some(s) = stack.pop() {
            if s == ancestor {
                return true;
            }
            if !std::mem::replace(&mut seen[s], true) {
                stack.extend(self.steps[s].needs.iter().copied());
            }
        }
        false
    }
}

/// What a cached step declares beyond its command (`workflow::caching` reads it).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CacheSpec {
    /// `inputs`: globs relative to the step's directory; their files' contents enter the key.
    pub inputs: Vec<String>,
    /// `produces`: files the step makes, relative to the step's directory (checked to
    /// stay inside the workflow's directory), restored from the cache on a hit.
    pub produces: Vec<PathBuf>,
}

/// Files a step makes that baton keeps and moves (`artifacts`), and those of earlier
/// steps it is handed (`uses_artifacts`, `${{ steps.ID.artifacts.NAME }}`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Artifacts {
    /// `artifacts = { NAME = "path or glob" }`: relative to the step's directory, each
    /// matching exactly one file once the step succeeded.
    pub produces: BTreeMap<String, String>,
    /// What the step is handed, each once, in the order first named.
    pub uses: Vec<ArtifactUse>,
}

/// One artifact a step is handed: artifact `name` of step `step` (an index into
/// `Plan::steps`, always an ancestor).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ArtifactUse {
    pub step: usize,
    pub step_id: String,
    pub name: String,
}

impl ArtifactUse {
    /// `BATON_ARTIFACT_<STEP>_<NAME>`: the variable that holds its path.
    pub fn env_name(&self) -> String {
        format!("BATON_ARTIFACT_{}_{}", self.step_id, self.name)
            .to_uppercase()
            .replace('-', "_")
    }
}

/// What a service declares: how baton knows it is ready, and that it stays up
/// (`workflow::services` reads it).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServiceSpec {
    /// `ready`: none means ready as soon as its process has started.
    pub ready: Option<ReadyProbe>,
    /// `live`: none means only its exit tells that it went down.
    pub live: Option<LiveProbe>,
}

/// `ready = { http = "…", interval = "1s", timeout = "60s" }`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadyProbe {
    pub check: ProbeCheck,
    pub interval: Duration,
    /// How long the service has, from its start, to pass the check.
    pub timeout: Duration,
}

/// `live = { tcp = "…", interval = "10s", failures = 3 }`.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveProbe {
    pub check: ProbeCheck,
    pub interval: Duration,
    /// Failed checks in a row that make the service failed.
    pub failures: u32,
}

/// Time given to one check: its probe's interval, at least a second (a check that
/// takes longer fails with "no answer").
pub fn check_timeout(interval: Duration) -> Duration {
    interval.max(Duration::from_secs(1))
}

/// What one probe checks. Addresses are loopback and resolved at load time (a service
/// runs on this machine; a check never waits on a name lookup).
#[derive(Debug, Clone, PartialEq)]
pub enum ProbeCheck {
    /// `http = "http://127.0.0.1:8080/health"`: a GET answered with a 2xx status.
    Http {
        url: String,
        addr: std::net::SocketAddr,
        /// The `Host` header (`127.0.0.1:8080`, `localhost:8080`).
        host: String,
        /// Path and query, starting with `/`.
        path: String,
    },
    /// `tcp = "127.0.0.1:5432"`: a connection is accepted.
    Tcp {
        text: String,
        addr: std::net::SocketAddr,
    },
    /// `run = "pg_isready"`: the command exits 0. Run as a step's `run` is (a plain
    /// word list directly, anything else by `sh -c`), in the step's directory and
    /// environment; no templates.
    Run { command: String },
}

impl ProbeCheck {
    /// `http http://…`, `tcp 127.0.0.1:5432`, `run pg_isready`: what a record names.
    pub fn describe(&self) -> String {
        match self {
            ProbeCheck::Http { url, .. } => format!("http {url}"),
            ProbeCheck::Tcp { text, .. } => format!("tcp {text}"),
            ProbeCheck::Run { command } => format!("run {command}"),
        }
    }
}

/// The events a `[[notify]]` command can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyEvent {
    GateOpened,
    /// 80% of a gate's time has passed.
    GateWarning,
    GateDecided,
    RunFinished,
    StepFailed,
    /// A run's or step's `deadline` fell before it was done.
    DeadlineMissed,
}

impl NotifyEvent {
    pub const ALL: [NotifyEvent; 6] = [
        NotifyEvent::GateOpened,
        NotifyEvent::GateWarning,
        NotifyEvent::GateDecided,
        NotifyEvent::RunFinished,
        NotifyEvent::StepFailed,
        NotifyEvent::DeadlineMissed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NotifyEvent::GateOpened => "gate_opened",
            NotifyEvent::GateWarning => "gate_warning",
            NotifyEvent::GateDecided => "gate_decided",
            NotifyEvent::RunFinished => "run_finished",
            NotifyEvent::StepFailed => "step_failed",
            NotifyEvent::DeadlineMissed => "deadline_missed",
        }
    }

    pub fn parse(s: &str) -> Option<NotifyEvent> {
        NotifyEvent::ALL.iter().copied().find(|e| e.as_str() == s)
    }

    pub fn names() -> Vec<&'static str> {
        NotifyEvent::ALL.iter().map(|e| e.as_str()).collect()
    }
}

pub use super::notify::{Escalation, SLACK_API, SlackApi, Target, TargetKind, UrlSource};

/// One `[[notify]]` block.
#[derive(Debug, Clone, PartialEq)]
pub struct Notifier {
    /// `name`: what a `deadline`'s `notify` calls it by.
    pub name: Option<String>,
    pub on: Vec<NotifyEvent>,
    /// Run by `sh -c` in the workflow's directory; the facts are in its environment.
    /// Empty for a block with a `target`.
    pub run: String,
    pub timeout: Duration,
    /// Where it posts instead (`webhook`, `slack`, `ntfy`).
    pub target: Option<Target>,
    /// `escalate`: whom to tell, one after another, while a gate it heard open waits.
    pub escalate: Vec<Escalation>,
}

/// `concurrency = { group = "…", on_conflict = "…" }`: at most one run of a group is
/// active in a store (see `session::concurrency`).
#[derive(Debug, Clone, PartialEq)]
pub struct Concurrency {
    /// The group's name; may read `${{ params.NAME }}` (resolved when a run is made).
    pub group: Template,
    pub on_conflict: OnConflict,
    /// `max_pending`: how many runs of the group may wait (`queued`) at once; a newer
    /// one cancels the oldest past it, on record (GitHub keeps one pending run).
    pub max_pending: usize,
}

/// Runs of a group that may wait at once unless `max_pending` says (GitHub's one).
pub const DEFAULT_MAX_PENDING: usize = 1;

/// What a new run does when its group already has an active run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnConflict {
    /// Wait in the run state `queued`; started when the group is free, oldest first.
    #[default]
    Queue,
    /// End at once as `skipped`.
    Skip,
    /// Cancel the active run (its compensations run) and start once it has ended.
    CancelRunning,
}

impl OnConflict {
    pub const ALL: [OnConflict; 3] = [
        OnConflict::Queue,
        OnConflict::Skip,
        OnConflict::CancelRunning,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OnConflict::Queue => "queue",
            OnConflict::Skip => "skip",
            OnConflict::CancelRunning => "cancel_running",
        }
    }
}

impl Concurrency {
    /// The group's name for a run with these `params` (every reference was checked at
    /// load time to be a declared parameter, and `resolve_params` gives each a value).
    pub fn group_for(
        &self,
        params: &BTreeMap<String, String>,
    ) -> Result<String, super::template::Unresolved> {
        self.group.render(|r| match r {
            super::template::TemplateRef::Param(p) => params.get(p).cloned(),
            _ => None,
        })
    }
}

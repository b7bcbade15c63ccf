//! `RunView`: a plain-data snapshot of one run, produced by the engine (or by replaying
//! a run's events from the store) and read by the console and the headless printer.
//! Rendering is a pure function of this and the console's own UI state.
use super::StepIdx;
use super::error::ErrorRecord;
use super::health::Health;
use super::history::{self, AuditAction};
use super::state::{RunState, StepState};
use super::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

mod links;
pub use links::{ForkLink, ParentLink, TriggerLink, TriggerLinks};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunView {
    pub run_id: String,
    pub workflow: String,
    pub description: Option<String>,
    pub state: RunState,
    /// The live engine driving the run (its lease holder), if any: set by the session
    /// from the store's lease (`model::liveness`), with `state`.
    #[serde(default)]
    pub driven_by: Option<String>,
    /// Why a queued run waits for its concurrency group now (its holder, what a dead
    /// holder left running, the runs first in line): set by the session from the
    /// store (`Store::group_wait`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_for: Option<String>,
    pub operator: String,
    /// The run's labels (`model::labels`), as its `run_labelled` events left them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// The workflow file the run was started from.
    #[serde(default)]
    pub source_path: PathBuf,
    /// Which workflow text the run used: the short hash of its recorded text (`baton
    /// diff` compares two runs' texts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_hash: Option<String>,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    /// The run's closing line (`run_finished`), once it ended.
    #[serde(default)]
    pub summary: Option<String>,
    /// The run this one was forked from, and the step it runs again from (`baton fork`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forked_from: Option<ForkLink>,
    /// The runs forked from this one, oldest first: set by the session from the store.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forked_into: Vec<ForkLink>,
    /// The run and step this run is a child of (`workflow = "…"` on that step): set by
    /// the session from the store (`Store::parent_of`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<ParentLink>,
    /// The event whose trigger started this run, and what this run's end started
    /// (`[[trigger]]`): set by the session from the store.
    #[serde(default, skip_serializing_if = "TriggerLinks::is_empty")]
    pub triggers: TriggerLinks,
    /// The clock the view was taken at (elapsed times and countdowns use it).
    pub now: Timestamp,
    /// The engine's last sign of life (its last heartbeat or event), once the run is
    /// known interrupted: its clocks stop here (see [`RunView::clock_at`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine_gone_at: Option<Timestamp>,
    pub health: Health,
    pub budget: Option<BudgetView>,
    /// The run's `deadline` and its steps' (issue 58 point 9), the run's first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deadlines: Vec<crate::deadline::DeadlineView>,
    /// Steps in plan order; `needs` index into this vector.
    pub steps: Vec<StepView>,
    /// Open gates (the budget gate too), oldest first.
    pub gates: Vec<GateView>,
    /// Every error record of the run, oldest first.
    pub errors: Vec<ErrorRecord>,
    /// The run's decisions, oldest first.
    pub audit: Vec<AuditView>,
    /// The notes written on the run and its steps (`baton note`), oldest first: set by
    /// the session from the store's audit rows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<crate::note::NoteView>,
    pub signals: GoldenSignals,
    /// What the engine would accept for the run as a whole (cancel, raise the budget).
    #[serde(default)]
    pub actions: Actions,
    /// Bumped on every change; the console redraws only when it moves.
    pub version: u64,
}

/// When a running attempt's timeout fires ([`StepView::timeout_due`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutDue {
    At(Timestamp),
    /// Frozen: its clock stopped with this much left.
    Stopped(Duration),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepView {
    pub id: String,
    /// Why a queued step waits for a pool shared by every run in the store, naming
    /// the runs that hold it (`scope = "store"`).
    #[serde(default)]
    pub waiting_for: Option<String>,
    /// A step of a run whose engine is gone that still runs here (its process) or on
    /// a cluster (its job): set by the session from the store (`Store::left_running`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub left_running: Option<super::liveness::LeftRunning>,
    /// The child run of a step with `workflow = "…"` (its newest attempt's): set by the
    /// session from the store (`Store::children_of`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child_run: Option<String>,
    pub needs: Vec<StepIdx>,
    pub state: StepState,
    /// Attempts started so far.
    pub attempts: u32,
    pub max_attempts: u32,
    /// What the step does, for display: the command (secrets masked), `builtin.sleep 2s`, or `gate`.
    pub action: String,
    pub pool: Option<String>,
    pub has_gate: bool,
    pub queued_at: Option<Timestamp>,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    /// The latest attempt's run time, once it finished (see [`StepView::duration`]).
    pub duration_ms: Option<u64>,
    pub retry_at: Option<Timestamp>,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    /// The latest attempt was stopped by its `timeout`.
    #[serde(default)]
    pub timed_out: bool,
    /// The step's `timeout` in ms, if it has one: a running step says when it fires
    /// (issue 45 point 6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    pub outputs: BTreeMap<String, String>,
    /// The latest error record of this step, if any (boxed, as `probe`: most steps
    /// have none, and a 100,000-step view holds 100,000 of these).
    pub error: Option<Box<ErrorRecord>>,
    /// Path of the current attempt's log file, if it ran.
    pub log_path: Option<PathBuf>,
    /// Last lines of output, raw (the console sanitises before drawing).
    pub log_tail: Vec<String>,
    /// What the engine would accept for this step now (approve, reject, retry, mark).
    #[serde(default)]
    pub actions: Actions,
    /// Every attempt's batch job, oldest first, for the attempts that ran on a cluster
    /// executor (see [`StepView::job`] for the latest attempt's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jobs: Vec<AttemptJob>,
    /// The run the latest attempt's result came from, when the cache answered it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_from: Option<String>,
    /// The run whose recorded outcome and outputs this step keeps, in a fork that did
    /// not run it again (`step_reused`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reused_from: Option<String>,
    /// The artifacts it kept (issue 60), by name, with the run and attempt that made
    /// them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub artifacts: Vec<ArtifactView>,
    /// A service's latest probe check of its latest attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<Box<ProbeView>>,
    /// Why a skipped or upstream_failed step did not run (its trigger rule or its
    /// condition, with the values the condition read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// The step's `if`, as written (the console shows it in the step's detail).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// What its latest attempt used (`$BATON_USAGE`, summed): while it runs, as far
    /// as the engine has read the file; `None` before it wrote any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<crate::Usage>,
    /// A gate with `revise`: the round it is in, of how many (issue 44 point 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round: Option<crate::GateRound>,
    /// A `for_each` instance's item as its templates read it (one line, bounded): its
    /// id numbers it by position (`shard[137]` may be item `138`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    /// Its hold, while it is held (a `held` step, or a `running` one frozen).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<Box<HoldView>>,
    /// The inputs its gate was approved with (`steps.ID.inputs.NAME`), once approved.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub inputs: BTreeMap<String, String>,
    /// The inputs the approver changed from the gate's proposal, with what was
    /// proposed (issue 44 point 2).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub changed_inputs: BTreeMap<String, String>,
    /// Its open `baton ask` (issue 44 point 5): not of the run's history but of the
    /// store, set by the reader that shows it (the console's service).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ask: Option<Box<AskNote>>,
    /// Its `fallback`: what each alternative runs, in order (alternative 1 first).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fallback: Vec<String>,
    /// The alternative its latest attempt ran (0: the step itself); once it
    /// succeeded, the one that served.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub alternative: u32,
    /// A fanned-out step, once it fanned out: its instances and their counts
    /// (`model::fan`, kept by the core, read by every view).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fan: Option<super::fan::FanView>,
    /// An instance of a fanned-out step: that step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<StepIdx>,
    /// Set by `baton mark` (its `step_marked` event), while the step is in the state it
    /// was marked. Boxed: few steps have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marked: Option<Box<MarkView>>,
    /// Every transition of the step, oldest first, with its attempt and time: the
    /// console's Timeline tab reads it (`model::timeline::segments`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<super::timeline::Transition>,
    /// Every span an attempt of it was frozen, oldest first (the console stops its
    /// clocks and draws these apart on the Timeline).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub freezes: Vec<super::timeline::Freeze>,
    /// What its latest attempt that wrote one wrote to `$BATON_SUMMARY` (Markdown, kept
    /// by `note::keep_summary`): set by the session from the run's log directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<Box<str>>,
}

/// A step's state as an operator set it by hand (`baton mark`): who, why and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarkView {
    pub state: StepState,
    pub by: String,
    pub reason: String,
    pub at: Timestamp,
}

impl MarkView {
    /// `marked succeeded by ACCOUNT: REASON`, as every reader shows it (raw: a
    /// terminal's reader sanitises it).
    pub fn line(&self) -> String {
        format!("marked {}", self.said())
    }

    /// `succeeded by ACCOUNT: REASON`: the line after its `marked` label.
    pub fn said(&self) -> String {
        format!("{} by {}: {}", self.state, self.by, self.reason)
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// One of a gate's `inputs` as the approve dialog asks for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputView {
    pub name: String,
    /// `string`, `int`, `bool`, `enum` or `list`.
    #[serde(rename = "type")]
    pub ty: String,
    /// An enum's choices, in the workflow's order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    pub required: bool,
    pub default: Option<String>,
    pub pattern: Option<String>,
    pub description: Option<String>,
}

/// One check of a service's probe: which, what it checked, when, and what it got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeView {
    pub probe: super::event::ProbeKind,
    /// `http http://127.0.0.1:8080/health`, `tcp 127.0.0.1:5432`, `run pg_isready`.
    pub check: String,
    pub ok: bool,
    /// What it got (`HTTP 200`, `connection refused`, `exit 1: …`).
    pub detail: String,
    /// Failed liveness checks in a row (0 for readiness checks and passes).
    pub failures: u32,
    pub at: Timestamp,
}

/// Slurm's state of a job that has left the queue and runs.
pub const JOB_RUNNING: &str = "RUNNING";

/// An attempt's batch job as the console shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobView {
    pub executor: String,
    pub job_id: String,
    /// What the cluster last said while the attempt ran (`PENDING`, `RUNNING`), if asked.
    pub state: Option<String>,
    /// Why it waits (`Resources`, `Priority`), when the cluster gives a reason.
    pub reason: Option<String>,
    /// When the job was first seen running (it left the queue).
    pub running_at: Option<Timestamp>,
}

/// The batch job one attempt ran as.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptJob {
    pub attempt: u32,
    #[serde(flatten)]
    pub job: JobView,
}

/// The job of `attempt` among a step's `jobs` (the latest submitted for it), if it ran as one.
pub fn job_of(jobs: &[AttemptJob], attempt: u32) -> Option<&JobView> {
    jobs.iter()
        .rev()
        .find(|j| j.attempt == attempt)
        .map(|j| &j.job)
}

impl JobView {
    /// A job just submitted, not yet asked about.
    pub fn submitted(executor: &str, job_id: &str) -> JobView {
        JobView {
            executor: executor.to_string(),
            job_id: job_id.to_string(),
            state: None,
            reason: None,
            running_at: None,
        }
    }

    /// What the cluster said of the job at `at` (a `step_job_state` event).
    pub fn observe(&mut self, state: &str, reason: Option<&str>, at: Timestamp) {
        if state == JOB_RUNNING && self.running_at.is_none() {
            self.running_at = Some(at);
        }
        self.state = Some(state.to_string());
        self.reason = reason.map(str::to_string);
    }
}

/// `RUNNING`, or `PENDING (Resources)` when the cluster gives a reason.
pub fn describe_job(state: &str, reason: Option<&str>) -> String {
    match reason {
        Some(r) => format!("{state} ({r})"),
        None => state.to_string(),
    }
}

/// How long a job waited in the cluster's queue and how long it has run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobTimes {
    /// From submission to first seen running; `None` if it was never seen running
    /// (it ended between two queries).
    pub queued: Option<Duration>,
    pub ran: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateView {
    /// `None` for the budget gate.
    pub step: Option<StepIdx>,
    pub step_id: String,
    /// The templated prompt, resolved.
    pub prompt: String,
    pub opened_at: Timestamp,
    pub deadline: Option<Timestamp>,
    /// 80% of the time has passed.
    pub warned: bool,
    pub on_timeout: String,
    pub approvers: Vec<String>,
    pub quorum: u32,
    /// Votes so far: (operator, reason).
    pub approvals: Vec<(String, Option<String>)>,
    pub allow_self_approval: bool,
    /// The resolved command the approval binds to (secrets masked), and its `fallback`
    /// alternatives, which the approval covers too.
    pub command: String,
    /// Outputs of the step's needs: (step, key, value).
    pub needs_outputs: Vec<(String, String, String)>,
    /// The step's environment (and a tool's `with`) as it will run: templates resolved,
    /// secrets as `***`.
    #[serde(default)]
    pub env: Vec<(String, String)>,
    /// What the engine would accept at this gate now (approve and reject, or raise the budget).
    #[serde(default)]
    pub actions: Actions,
    /// What an approval gives (`gate.inputs`), in the workflow's order.
    #[serde(default)]
    pub inputs: Vec<InputView>,
    /// The gate's `auto` rules as `plan` lists them (`rule 1: if … then approve (…)`):
    /// none held when it opened, so a person decides.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub auto: Vec<String>,
    /// Decided only by signatures: the vote is the key's principal's, whoever hands it
    /// in, so the account at the keyboard is not what decides who may.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub signed: bool,
    /// On a gate with `revise`: which round this opening is, of how many (issue 44
    /// point 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round: Option<crate::GateRound>,
    /// The steps a push-back runs again (its `revise` and the steps between them and
    /// the gate), in the order they run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revise: Vec<String>,
    /// From round 2 on: the revised steps' outputs against the round before, as a
    /// unified diff (masked, sanitised).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub revision_diff: String,
}

/// The commands the engine would accept now, from the same checks it refuses them by.
/// Who may decide a gate (approver lists, self-approval, one vote each) is not here:
/// that depends on the operator and is checked when the command arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Actions {
    pub approve: bool,
    pub reject: bool,
    pub retry: bool,
    pub mark_succeeded: bool,
    pub mark_failed: bool,
    pub cancel: bool,
    pub raise_budget: bool,
    /// `baton hold` (a step: it has not ended and is not held; the run: something is).
    #[serde(default)]
    pub hold: bool,
    /// `baton release` (a step: it is held; the run: some step is).
    #[serde(default)]
    pub release: bool,
    /// `baton push-back` (a gate with `revise`, open, with rounds left).
    #[serde(default)]
    pub push_back: bool,
    /// `baton resume` runs it again: an interrupted step that is idempotent, in a run
    /// no engine drives (issue 55 point 5).
    #[serde(default)]
    pub resume: bool,
}

/// A step's hold (`baton hold`, `retry = { exhausted = "hold" }`): who, why, until when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HoldView {
    pub by: String,
    pub reason: String,
    pub at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Timestamp>,
    /// It was running: its process group is stopped and its timeout's clock with it.
    #[serde(default)]
    pub frozen: bool,
    /// Its retries ran out (`exhausted = "hold"`): released, it fails.
    #[serde(default)]
    pub exhausted: bool,
    /// Frozen by the engine at a budget's ceiling: a raise continues it.
    #[serde(default)]
    pub budget: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetView {
    pub cost: Option<(f64, f64)>,
    pub calls: Option<(u64, u64)>,
    pub tokens: Option<(u64, u64)>,
    /// Used so far even where no ceiling is set.
    pub used_cost: f64,
    pub used_calls: u64,
    pub used_tokens: u64,
    /// The ceilings that stop the next step (`cost`, `calls`, `tokens`), in that order.
    #[serde(default)]
    pub exhausted: Vec<String>,
    /// The pace of each dimension over the last minute and the time left to its
    /// ceiling at that pace (`model::burn`); running steps' usage counts as it is
    /// written (issue 43 point 2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub burn: Vec<crate::burn::Burn>,
    /// The budget gate was rejected (by an operator, or by its `timeout`: `by` is
    /// `timeout`): the run failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<BudgetRejectedView>,
}

/// Who rejected the budget gate, why and when (`show --json`'s `budget.rejected`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetRejectedView {
    pub by: String,
    pub reason: String,
    pub at: Timestamp,
    pub timed_out: bool,
}

impl BudgetView {
    /// Each dimension's use and ceiling (`None`: the budget sets none), in the order
    /// `show`, `show --json` and the metrics give them.
    pub fn dimensions(&self) -> Vec<(&'static str, f64, Option<f64>)> {
        vec![
            ("cost", self.used_cost, self.cost.map(|(_, l)| l)),
            (
                "calls",
                self.used_calls as f64,
                self.calls.map(|(_, l)| l as f64),
            ),
            (
                "tokens",
                self.used_tokens as f64,
                self.tokens.map(|(_, l)| l as f64),
            ),
        ]
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditView {
    pub at: Timestamp,
    pub actor: String,
    pub action: AuditAction,
    pub step: Option<String>,
    pub reason: Option<String>,
    pub details: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct GoldenSignals {
    pub finished_per_sec: f64,
    /// Failed attempts / finished attempts, 0..1.
    pub error_rate: f64,
    pub p50_ms: Option<u64>,
    pub p95_ms: Option<u64>,
    /// Steps queued, waiting for a slot, a pool or a rate token.
    pub queue_depth: usize,
    pub running: usize,
}

impl RunView {
    /// The gates a policy rule decided, from the audit (actor `policy`), oldest first:
    /// `deploy approved by policy rule 2: read-only; condition true: …`.
    pub fn policy_decisions(&self) -> Vec<String> {
        self.audit
            .iter()
            .filter(|a| a.actor == history::POLICY)
            .filter_map(|a| {
                let verb = match a.action {
                    AuditAction::ApprovalVote => "approved",
                    AuditAction::Rejected => "rejected",
                    _ => return None,
                };
                let step = a.step.as_deref().unwrap_or("?");
                let reason = a.reason.as_deref().unwrap_or_default();
                Some(format!("{step} {verb} by policy {reason}"))
            })
            .collect()
    }

    /// Finished attempts per second as of `now`: the rate the view was computed with
    /// (at `self.now`) spread over the longer time since, while the run goes on. A run
    /// waiting at a gate finishes nothing, and its rate falls as it waits.
    pub fn finished_per_sec_at(&self, now: Timestamp) -> f64 {
        let rate = self.signals.finished_per_sec;
        match (self.started_at, self.finished_at) {
            (Some(start), None) if now > self.now => {
                let then = self.now.since(start).as_secs_f64();
                let later = now.since(start).as_secs_f64();
                if later > 0.0 {
                    rate * then / later
                } else {
                    rate
                }
            }
            _ => rate,
        }
    }
}

/// A step's open ask as the console shows it under the step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AskNote {
    pub id: String,
    pub prompt: String,
}

impl StepView {
    /// `2/3`: attempts so far of those the retry policy allows. An attempt interrupted
    /// by an engine's end is run again on resume whatever the policy, so attempts beyond
    /// it show apart (`2/1` would read as a broken limit): `1/1+1`.
    pub fn attempts_text(&self) -> String {
        match self.resumed_attempts() {
            0 => format!("{}/{}", self.attempts, self.max_attempts),
            n => format!("{}/{}+{n}", self.max_attempts, self.max_attempts),
        }
    }

    /// Where a step with a `fallback` is among its alternatives, for a person (the
    /// console, `show`): which one served, runs, or failed last. `None` without one.
    pub fn alternative_text(&self) -> Option<String> {
        let n = self.fallback.len();
        if n == 0 {
            return None;
        }
        let k = self.alternative;
        let which = match k {
            0 => "the step itself (alternative 0)".to_string(),
            k => format!(
                "alternative {k} of {n}: {}",
                self.fallback.get(k as usize - 1).map_or("", String::as_str)
            ),
        };
        Some(match self.state {
            _ if self.attempts == 0 => format!("{n} alternative(s) if it fails"),
            StepState::Succeeded => format!("served by {which}"),
            StepState::Failed if k as usize == n => {
                format!("every alternative failed (the last: {which})")
            }
            StepState::Running | StepState::Ready => format!("runs {which}"),
            _ => format!("latest attempt ran {which}"),
        })
    }

    /// Where the latest attempt ran: its cluster executor, else `local`.
    pub fn executor(&self) -> &str {
        self.job().map_or("local", |j| j.executor.as_str())
    }

    /// The latest attempt's batch job, when it ran on a cluster executor.
    pub fn job(&self) -> Option<&JobView> {
        job_of(&self.jobs, self.attempts)
    }

    /// Attempts beyond the retry policy: re-runs after an engine restart.
    pub fn resumed_attempts(&self) -> u32 {
        self.attempts.saturating_sub(self.max_attempts)
    }

    /// How long the step ran ([`history::step_duration`], as `show` says it).
    pub fn duration(&self, now: Timestamp) -> Option<Duration> {
        history::step_duration(self.state, self.started_at, self.duration_ms, now)
    }

    /// A running attempt frozen now (`baton hold`, `P`, a budget's ceiling): its
    /// process group is stopped, and with it its clocks.
    pub fn is_frozen(&self) -> bool {
        self.state == StepState::Running && self.hold.as_ref().is_some_and(|h| h.frozen)
    }

    /// How long the latest attempt has been frozen so far, every freeze of it summed.
    pub fn frozen_for(&self, now: Timestamp) -> Duration {
        self.freezes
            .iter()
            .filter(|f| f.attempt == self.attempts)
            .map(|f| f.length(now))
            .sum()
    }

    /// A running attempt's timeout as the engine keeps it: it fires at its start plus
    /// its `timeout` plus every span it was frozen (the engine stops the timer at a
    /// freeze and sets it again, with what was left, at the release:
    /// `core::decide::hold`). While frozen, what is left of it, not a time.
    pub fn timeout_due(&self, now: Timestamp) -> Option<TimeoutDue> {
        let limit = Duration::from_millis(self.timeout_ms?);
        let start = self.started_at?;
        if self.state != StepState::Running || self.finished_at.is_some() {
            return None;
        }
        let frozen = self.frozen_for(now);
        Some(if self.is_frozen() {
            let ran = now.since(start).saturating_sub(frozen);
            TimeoutDue::Stopped(limit.saturating_sub(ran))
        } else {
            TimeoutDue::At(start.add(limit + frozen))
        })
    }

    /// Queue time and run time of the latest attempt's job, apart. The attempt starts
    /// when the job is submitted; it runs from when the cluster first says `RUNNING`
    /// until the attempt ends.
    pub fn job_times(&self, now: Timestamp) -> Option<JobTimes> {
        let job = self.job()?;
        let submitted = self.started_at?;
        let end = match self.state {
            StepState::Running => now,
            _ => self.finished_at.unwrap_or(now),
        };
        Some(match job.running_at {
            Some(r) => JobTimes {
                queued: Some(r.since(submitted)),
                ran: Some(end.since(r)),
            },
            None if self.state == StepState::Running => JobTimes {
                queued: Some(end.since(submitted)),
                ran: None,
            },
            None => JobTimes {
                queued: None,
                ran: None,
            },
        })
    }
}

impl RunView {
    /// The run's clock at `now`: `now`, or the engine's last sign of life once it is
    /// gone (durations, elapsed times and countdowns stop there).
    pub fn clock_at(&self, now: Timestamp) -> Timestamp {
        self.engine_gone_at.map_or(now, |gone| gone.min(now))
    }

    pub fn step_index(&self, id: &str) -> Option<StepIdx> {
        self.steps.iter().position(|s| s.id == id)
    }
    pub fn open_errors(&self) -> usize {
        self.errors.iter().filter(|e| e.open).count()
    }

    /// How far the run is at `now`: steps in a final state of all steps, and the time
    /// left from each step's `expected` duration along the longest chain still to run
    /// (`eta::eta`: unknown where a duration is not known, a person decides, or the
    /// engine is gone; none once it has ended).
    pub fn progress(
        &self,
        now: Timestamp,
        expected: &dyn Fn(&str) -> Option<Duration>,
    ) -> Progress {
        let total = self.steps.len();
        let finished = self.steps.iter().filter(|s| s.state.is_final()).count();
        let eta = super::eta::eta(self, now, expected);
        Progress {
            finished,
            total,
            eta,
        }
    }
}

/// A run's progress (`RunView::progress`): the header's `1200/2000`, bar and estimate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    pub finished: usize,
    pub total: usize,
    /// Estimated time to the end, while the run goes on.
    pub eta: Eta,
}

/// The time a run has left, as far as it can be known.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Eta {
    /// The run has ended (or has nothing left).
    None,
    /// The run goes on but nothing tells when it ends: a step never timed before, a
    /// held step, an engine that is gone.
    Unknown,
    /// From the durations its steps took before (`eta::eta`).
    About(Duration),
    /// As `About`, plus the time people take to decide its gates (open now or ahead),
    /// which nobody knows.
    AfterDecisions(Duration),
}

impl Progress {
    /// The finished fraction, 0..=1 (an empty run is complete).
    pub fn fraction(&self) -> f64 {
        if self.total == 0 {
            1.0
        } else {
            self.finished as f64 / self.total as f64
        }
    }
}

/// One line of the store's run list (`baton runs`, the console's Runs tab).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub id: String,
    pub workflow: String,
    /// Recorded, or `Interrupted` when the engine is gone (`model::liveness`).
    pub state: RunState,
    /// The live engine driving the run (its lease holder), if any.
    #[serde(default)]
    pub driven_by: Option<String>,
    pub operator: String,
    pub started_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    /// An interrupted run's engine's last sign of life (its last event or heartbeat):
    /// where its clocks stop, as [`RunView::clock_at`]'s do (issue 45 point 6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<Timestamp>,
    pub steps_total: usize,
    pub steps_done: usize,
    pub health: Option<f64>,
    /// It failed only because a gate was rejected: it reads `rejected`
    /// (`health::outcome`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rejected: bool,
    /// A fork (`baton fork`): the run it was forked from, and the step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forked_from: Option<ForkLink>,
    /// The trigger event that started it (`[[trigger]]`): the lists mark it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_by: Option<TriggerLink>,
    /// The run's labels (`model::labels`), from its row.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// The params it was started with, a secret param's left out (never shown): what
    /// tells runs of one workflow apart when they have no labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, String>,
    /// How many notes are on the run and its steps (`baton note`): the lists mark a run
    /// someone looked at.
    #[serde(default, skip_serializing_if = "no_notes")]
    pub notes: usize,
}

fn no_notes(n: &usize) -> bool {
    *n == 0
}

impl RunSummary {
    /// Where the run's clock stands at `now`: its end, or where its engine stopped.
    pub fn clock_end(&self, now: Timestamp) -> Timestamp {
        self.finished_at
            .or(self.stopped_at.map(|s| s.min(now)))
            .unwrap_or(now)
    }
}

/// The store's runs as the console holds them, newest first: each run shared, so a new
/// list after one run changed copies pointers, not every run's strings.
pub type SharedRuns = std::sync::Arc<Vec<std::sync::Arc<RunSummary>>>;

/// Why a queued step waits for a pool shared by every run in the store: the one
/// wording of the driver's view and of every reader's (`session::inspect`).
pub fn pool_wait(pool: &str, capacity: usize, holders: &[String]) -> String {
    let mut runs = holders.to_vec();
    runs.dedup();
    format!(
        "waiting for pool `{pool}` (capacity {capacity} across the store): held by run {}",
        runs.join(", run ")
    )
}

/// Why queued step `step` of run `run_id` waits for a full store-wide pool, as a
/// reader sees it from the slots' holders (run, step), oldest first: `None` when the
/// pool has room, or when one of the slots is the step's own. The store gave it the
/// slot and its start is on its way, but the run's history does not say so yet: a
/// reader in between must not show a run waiting for itself.
pub fn queued_pool_wait(
    pool: &str,
    capacity: usize,
    holders: &[(String, String)],
    run_id: &str,
    step: &str,
) -> Option<String> {
    if holders.len() < capacity || holders.iter().any(|(r, s)| r == run_id && s == step) {
        return None;
    }
    let runs: Vec<String> = holders.iter().map(|(r, _)| r.clone()).collect();
    Some(pool_wait(pool, capacity, &runs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_holding_its_own_slot_does_not_wait_for_its_run() {
        let held = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(r, s)| (r.to_string(), s.to_string()))
                .collect()
        };
        // Full, by another run: the step waits, and says for whom.
        let other = held(&[("R1", "work")]);
        assert_eq!(
            queued_pool_wait("deploy", 1, &other, "R2", "work").as_deref(),
            Some("waiting for pool `deploy` (capacity 1 across the store): held by run R1")
        );
        // Its own slot, granted before its start was recorded: no wait.
        let own = held(&[("R2", "work")]);
        assert_eq!(queued_pool_wait("deploy", 1, &own, "R2", "work"), None);
        // Another step of the same run holds it: the run does wait for itself.
        let sibling = held(&[("R2", "other")]);
        assert_eq!(
            queued_pool_wait("deploy", 1, &sibling, "R2", "work").as_deref(),
            Some("waiting for pool `deploy` (capacity 1 across the store): held by run R2")
        );
        // Room left: no wait.
        assert_eq!(queued_pool_wait("deploy", 2, &other, "R2", "work"), None);
    }

    /// New-user review: a run waiting at a gate kept showing the rate it had when it
    /// last changed (1.96/s after seven idle minutes).
    #[test]
    fn the_finish_rate_falls_while_a_run_waits_and_stays_once_it_ended() {
        let mut v = RunView {
            run_id: "r".into(),
            workflow: "w".into(),
            description: None,
            state: RunState::Waiting,
            driven_by: None,
            waiting_for: None,
            operator: "o".into(),
            labels: BTreeMap::new(),
            source_path: PathBuf::new(),
            workflow_hash: None,
            summary: None,
            forked_from: None,
            forked_into: Vec::new(),
            triggers: Default::default(),
            parent: None,
            started_at: Some(Timestamp(0)),
            finished_at: None,
            now: Timestamp(10_000),
            engine_gone_at: None,
            health: crate::health::compute([], &[]),
            budget: None,
            deadlines: Vec::new(),
            steps: Vec::new(),
            gates: Vec::new(),
            errors: Vec::new(),
            audit: Vec::new(),
            notes: Vec::new(),
            signals: GoldenSignals {
                finished_per_sec: 1.0,
                ..GoldenSignals::default()
            },
            actions: Actions::default(),
            version: 0,
        };
        assert_eq!(v.finished_per_sec_at(Timestamp(10_000)), 1.0);
        assert_eq!(v.finished_per_sec_at(Timestamp(40_000)), 0.25);
        // A clock behind the view's changes nothing.
        assert_eq!(v.finished_per_sec_at(Timestamp(5_000)), 1.0);
        v.finished_at = Some(Timestamp(10_000));
        assert_eq!(v.finished_per_sec_at(Timestamp(40_000)), 1.0);
    }
}

/// One artifact a step kept ([`StepView::artifacts`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactView {
    #[serde(flatten)]
    pub record: crate::ArtifactRecord,
    /// The run that made it: this one, or in a fork the run it was reused from.
    pub run: String,
    /// The attempt of `run` that made it.
    pub attempt: u32,
}

impl ArtifactView {
    /// `model = out/m.ckpt, 3000000 bytes, sha256 53d0…, made by run R attempt 1`:
    /// what `show` prints and the console's detail pane lists (the caller sanitises
    /// the path a step chose).
    pub fn describe(&self, run_id: &str) -> String {
        let r = &self.record;
        let by = if self.run == run_id {
            format!("attempt {}", self.attempt)
        } else {
            format!("reused from run {} attempt {}", self.run, self.attempt)
        };
        format!(
            "{} = {}, {} bytes, sha256 {}, {by}",
            r.name, r.path, r.size, r.sha256
        )
    }
}

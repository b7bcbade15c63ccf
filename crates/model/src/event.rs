//! The run's history. Events are the source of truth: the store appends them, the
//! core's state is a fold over them (replay = recovery), and the headless printer and
//! the console describe them. Decisions among them also go to the audit chain.
//!
//! Owned by the engine core; other modules read these types.
use super::error::ErrorRecord;
use super::refusal::Refusal;
use super::state::{RunState, StepState};
use super::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An approval input's `default` and enum `values` as rendered from the run when its
/// gate opened (`None`: as the workflow writes it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenderedInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
}

/// One entry of a run's event log. `seq` is 1-based and contiguous per run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub seq: u64,
    pub at: Timestamp,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// An event's head, read without its body (`serde(flatten)` buffers the whole event
/// first, and a year of history is 1.5 million events): what `audit verify` compares
/// with the event's columns, and all it reads of a plain transition
/// ([`crate::history::PLAIN_KINDS`]).
#[derive(Debug, Deserialize)]
pub struct EventHead<'a> {
    pub seq: u64,
    pub at: Timestamp,
    #[serde(rename = "type", borrow)]
    pub kind: std::borrow::Cow<'a, str>,
    #[serde(default, borrow)]
    pub step: Option<std::borrow::Cow<'a, str>>,
}

/// Who decided: an OS account's name (also for `--auto-approve`), or `engine` (timeouts, policies).
pub type Actor = String;

/// Resource use reported by a step (declared `cost` plus `$BATON_USAGE` lines).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Usage {
    pub cost: f64,
    pub tokens: u64,
    pub calls: u64,
}

/// How an attempt ended, as the executor saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum StepOutcome {
    /// The process (or builtin) finished; `exit_code` 0 is success.
    Exited { exit_code: i32 },
    /// Killed by a signal (not one baton sent).
    Signalled { signal: i32 },
    /// baton killed it because the step's timeout passed.
    TimedOut,
    /// baton killed it because the run was cancelled or the engine is stopping.
    Killed,
    /// The process could not be started at all.
    SpawnFailed { message: String },
    /// The attempt never reached its host (the connection refused, or never made): it
    /// never started, so its retry applies, even to a step that is not idempotent.
    Unreached { message: String },
    /// The attempt's infrastructure failed (a Slurm job's node failed, it was
    /// preempted, …): not the step's fault, retryable by its policy.
    Lost { reason: String },
}

/// A service's two probes: `ready` (may its dependants start?) and `live` (is it
/// still up while they run?).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ProbeKind {
    Ready,
    Live,
}

impl ProbeKind {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl std::fmt::Display for ProbeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `VARIANTS`: every kind's name, as serde tags it (what a test that must see every
/// kind enumerates).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, strum::VariantNames)]
#[serde(tag = "type", rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum EventKind {
    RunStarted {
        workflow: String,
        operator: Actor,
        /// Param values, secrets already masked as `***`.
        params: BTreeMap<String, String>,
        /// Seed of the jitter generator, so replay gives the same delays.
        seed: u64,
        /// Started with `--auto-approve`: a resume keeps approving (recorded, audited).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        auto_approve: bool,
        /// The allowed-signers file of `[approvals]` as it was when the run started:
        /// every signed decision of the run, and every later `audit verify`, is
        /// checked against it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        allowed_signers: Option<String>,
        /// The schedule's slot a `baton serve` started the run for (a trigger's time for
        /// a triggered run): `${{ run.slot }}` and `$BATON_SLOT`. Recorded on the chain,
        /// so a resumed run knows it too.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        slot: Option<Timestamp>,
        /// The time zone its deadlines' `at` times are read in (an IANA name: the
        /// schedule's that started it, else the engine's local zone), recorded when the
        /// workflow has one, so that every reader and a resumed engine fix the same
        /// instants.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        zone: Option<String>,
        /// A child run's parent: the run, step and attempt whose engine made it. On the
        /// sealed chain, so the parent's step accepts a child only if it names it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parent: Option<crate::view::ParentLink>,
    },
    RunResumed {
        operator: Actor,
        /// Auto-approval in force from here on (restored from the run, or turned on
        /// by `resume --auto-approve`).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        auto_approve: bool,
    },
    RunStateChanged {
        state: RunState,
        reason: Option<String>,
    },
    /// The run is a fork of `from_run` (`baton fork RUN --from STEP`), right after its
    /// `run_started`: `from_step` and every step after it run again; the others are
    /// reused (`step_reused`) from `from_run`.
    RunForked {
        from_run: String,
        from_step: String,
    },
    /// A fork's step that did not run: it keeps the outcome (`state`) and `outputs`
    /// that run `from_run` recorded for it in its attempt `from_attempt`
    /// (issue 43 point 4). Its `step_state_changed` to `state` follows.
    StepReused {
        step: String,
        from_run: String,
        from_attempt: u32,
        state: StepState,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        outputs: BTreeMap<String, String>,
        /// The artifacts `from_run` kept for it (issue 60): the fork's readers are
        /// handed the same contents, by digest.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        artifacts: Vec<ArtifactRecord>,
    },
    /// Every step transition; the headless printer prints one line per such event.
    StepStateChanged {
        step: String,
        state: StepState,
        attempt: u32,
        reason: Option<String>,
    },
    /// Whether the workflow deals with the step's failure (`allow_failure`, or a step
    /// below it with a failure trigger that succeeded), each time that changes: the
    /// summary scores such a failure as `show` does while the run goes on.
    StepDealtWith {
        step: String,
        dealt_with: bool,
    },
    /// The process group of a running attempt (killed on resume if it outlived the engine).
    StepProcess {
        step: String,
        attempt: u32,
        pgid: i32,
        /// Where its `$BATON_OUTPUT` is: a takeover after a crash reads what the
        /// attempt wrote there (`StepOutputsKept`) before the file goes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        output: Option<String>,
    },
    /// What an attempt the engine lost in a crash had written to its `$BATON_OUTPUT`,
    /// read by the engine that took the run over (issue 55 point 5): its outputs, so
    /// that a `mark … --state succeeded` keeps what the step made. Secrets withheld,
    /// as from a finished attempt.
    StepOutputsKept {
        step: String,
        attempt: u32,
        outputs: BTreeMap<String, String>,
    },
    /// The files an attempt that exited 0 declared as `artifacts`, kept in the store
    /// (content-addressed) once each was copied and its digest checked; the step
    /// succeeds right after. A step whose `step_finished` has no such record yet when
    /// the engine stops has its files collected again on resume, never run again.
    ArtifactsStored {
        step: String,
        attempt: u32,
        artifacts: Vec<ArtifactRecord>,
    },
    /// An attempt on another machine (an SSH, Slurm or batch executor) is being
    /// launched: recorded with its start, before its job exists, so that until its job
    /// is on record (`StepJob`) a dead engine's run still holds its group and pool
    /// slots (`store::coord::left_running`): only a takeover, asking the executor, can
    /// say whether the launch made a job.
    StepLaunching {
        step: String,
        attempt: u32,
        /// The executor's name, or what its `requires` asks (`requires gpu`).
        executor: String,
    },
    /// The batch job of a running attempt (re-attached on resume, not killed).
    StepJob {
        step: String,
        attempt: u32,
        executor: String,
        job_id: String,
    },
    /// What the cluster says of a running attempt's job (`PENDING` and why, `RUNNING`),
    /// recorded when it changes: the console's queue time and run time come from it.
    StepJobState {
        step: String,
        attempt: u32,
        state: String,
        reason: Option<String>,
    },
    /// A `matrix` or `for_each` step's instances, decided once when it would start
    /// (from the params, or from the output it reads): `(id, value)` each, in order.
    /// Replay makes the same instances from this record.
    StepFannedOut {
        step: String,
        instances: Vec<(String, serde_json::Value)>,
    },
    /// The attempt was answered from the cache (`baton cache`): no process started; its
    /// outputs come from `from_run`, and `restored` names the products written back.
    StepCached {
        step: String,
        attempt: u32,
        from_run: String,
        key: String,
        restored: Vec<String>,
    },
    /// A check of a service's probe. Recorded when its result differs from the last
    /// one recorded for the attempt and probe (what it got changed), and for every
    /// failed liveness check (each counts towards the probe's `failures`).
    StepProbed {
        step: String,
        attempt: u32,
        probe: ProbeKind,
        /// What was checked: `http http://127.0.0.1:8080/health`, `tcp …`, `run …`.
        check: String,
        ok: bool,
        /// What it got: `HTTP 200`, `connection refused`, `exit 1: …` (masked, one line).
        detail: String,
        /// Failed liveness checks in a row, this one included (0 otherwise).
        failures: u32,
    },
    /// baton stops a service (its whole process group: TERM, then KILL after the
    /// grace): no dependant needs it any more, or the run ended. Its exit then ends it
    /// `succeeded`.
    ServiceStopping {
        step: String,
        attempt: u32,
        reason: String,
    },
    StepFinished {
        step: String,
        attempt: u32,
        outcome: StepOutcome,
        duration_ms: u64,
        /// Parsed `$BATON_OUTPUT` (secrets masked).
        outputs: BTreeMap<String, String>,
        usage: Usage,
    },
    /// The step's alternative failed for good (its retries used): the next attempt,
    /// `attempt + 1`, runs its `fallback` alternative `alternative` (1 = the first
    /// entry; 0 is the step itself). A decision of the engine's, on the audit chain.
    StepFellBack {
        step: String,
        /// The attempt that failed.
        attempt: u32,
        alternative: u32,
        /// Why the attempt failed (`exited with code 1`).
        reason: String,
    },
    RetryScheduled {
        step: String,
        next_attempt: u32,
        /// When the next attempt is due (not `at`: that is the event's own time, and
        /// the two share one JSON object).
        due: Timestamp,
        /// A step's `repeat`: the execution the next attempt is (2 for the first
        /// repetition); none for a retry.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        repetition: Option<u32>,
    },
    ErrorRecorded {
        error: ErrorRecord,
    },
    /// The step succeeded (or was marked succeeded): its open error records close
    /// (`open = false`) and stop counting against health.
    ErrorsClosed {
        step: String,
        ids: Vec<String>,
    },
    GateOpened {
        step: String,
        prompt: String,
        deadline: Option<Timestamp>,
        /// SHA-256 of the resolved command, environment and params the approval binds to.
        digest: String,
        approvers: Vec<String>,
        quorum: u32,
        /// `signed = true`: only approvers' SSH signatures decide it.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        signed: bool,
        /// The inputs whose `default` or `values` are templates, as rendered when the
        /// gate opened (issue 44 point 1): what this opening asks, kept so that a
        /// replay, another process's `approve` and the console see the same.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        inputs: BTreeMap<String, RenderedInput>,
        /// On a gate with `revise`: which round this opening is, of how many (issue 44
        /// point 3). None on a gate that cannot be pushed back.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        round: Option<GateRound>,
    },
    /// A person pushed the gate back (`baton push-back`): the gated step does not run
    /// now; the steps in `rerun` (its `revise` and the steps between them and the
    /// gate) run again as round `round.n`, with the reason as `$BATON_FEEDBACK`, and
    /// the gate opens again once they succeeded.
    GatePushedBack {
        step: String,
        actor: Actor,
        reason: String,
        /// The round that begins.
        round: GateRound,
        rerun: Vec<String>,
        /// On a signed gate: the signature that counted (its principal is `actor`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signature: Option<DecisionSignature>,
    },
    /// 80% of the gate's time has passed.
    GateWarning {
        step: String,
        deadline: Timestamp,
    },
    /// One approver's vote; the gate opens when `quorum` distinct votes are in.
    ApprovalGiven {
        step: String,
        /// The OS account, or on a signed gate the principal whose key signed.
        actor: Actor,
        reason: Option<String>,
        /// The approval's digest: the gate's (what would run), and with `inputs` a
        /// digest over both (`engine::digest::with_inputs`).
        digest: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signature: Option<DecisionSignature>,
        /// The gate's `inputs` as the approver gave them, checked, defaults filled in.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        inputs: BTreeMap<String, String>,
        /// What the gate proposed for each input the approver changed (its default as
        /// this opening had it): with `inputs`, the proposal and the approved values
        /// (issue 44 point 2). Empty when every proposed value stands.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        proposed: BTreeMap<String, String>,
    },
    GateApproved {
        step: String,
        actor: Actor,
        approvers: Vec<String>,
    },
    GateRejected {
        step: String,
        actor: Actor,
        reason: String,
        timed_out: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signature: Option<DecisionSignature>,
    },
    /// The approval no longer matches what would run (the workflow changed): the gate opens again.
    GateVoided {
        step: String,
        reason: String,
    },
    /// A command that was not applied, and why (recorded for the audit).
    CommandRefused {
        command: Command,
        /// The refusal's message (its `Display`), masked.
        reason: String,
        /// The refusal's stable code ([`crate::Refusal::code`]); none in events
        /// recorded before refusals had codes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<String>,
    },
    StepRetried {
        step: String,
        actor: Actor,
        /// Downstream steps re-armed with it.
        rearmed: Vec<String>,
        /// One of the steps `baton retry RUN --failed` took up: the decision on record
        /// is the `failed_retried` event before it, which lists them all.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        batch: bool,
    },
    /// `baton retry RUN --failed`: every failed step and instance taken up again in
    /// one decision (each then has its `step_retried`, `batch`), and the interrupted
    /// ones left for a person to decide one by one.
    FailedRetried {
        actor: Actor,
        steps: Vec<String>,
        /// Interrupted steps not taken up (their attempt may have done its work).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        left: Vec<String>,
    },
    /// The run's labels changed (`model::labels`): given at its start, written by a
    /// step to `$BATON_LABELS` (`step`, `actor` `engine`), or by hand (`baton label`,
    /// `actor` the OS account).
    RunLabelled {
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        set: BTreeMap<String, String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        removed: Vec<String>,
        actor: Actor,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<String>,
    },
    StepMarked {
        step: String,
        state: StepState,
        actor: Actor,
        reason: String,
        /// Outputs the operator gave (`--output`, `--output-file`), over those the
        /// step recorded.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        outputs: BTreeMap<String, String>,
    },
    /// The step is held (`baton hold`, or its retries ran out under `retry = {
    /// exhausted = "hold" }`, `actor` then `engine`). A step that had not started goes
    /// `held` with it; a running one (`frozen`) keeps running, its process group
    /// stopped (SIGSTOP, `scontrol suspend`) and its timeout's clock with it.
    StepHeld {
        step: String,
        actor: Actor,
        reason: String,
        /// `--until`: when the engine releases it by itself.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<Timestamp>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        frozen: bool,
        /// Held because its retries ran out: released, it fails as it would have.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        exhausted: bool,
        /// Frozen because the run's usage reached a budget ceiling while it ran: a
        /// raise continues it, a cancel kills it (issue 43 point 3).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        budget: bool,
    },
    /// What a running attempt has written to `$BATON_USAGE` so far (summed), as the
    /// engine follows the file (issue 43 point 2); its `step_finished` usage replaces it.
    StepUsage {
        step: String,
        attempt: u32,
        usage: Usage,
    },
    /// The hold is over (`baton release`, or `--until` passed: `actor` `engine`): a
    /// frozen step runs on (SIGCONT, `scontrol resume`), a held one is evaluated again.
    StepReleased {
        step: String,
        actor: Actor,
        reason: String,
    },
    BudgetExceeded {
        /// `cost`, `calls` or `tokens`.
        dimension: String,
        used: f64,
        limit: f64,
        /// The step that would have started.
        step: Option<String>,
    },
    BudgetRaised {
        actor: Actor,
        reason: String,
        cost: Option<f64>,
        calls: Option<u64>,
        tokens: Option<u64>,
    },
    /// The budget gate was rejected: by an operator (`baton reject RUN --budget`) or,
    /// `timed_out`, by its `timeout` (actor `timeout`). The run fails: its frozen
    /// steps are killed and nothing else starts.
    BudgetRejected {
        actor: Actor,
        reason: String,
        timed_out: bool,
        /// The step the gate stopped (as `BudgetExceeded` names it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<String>,
    },
    /// A run's or a step's `deadline` fell before it was done (issue 58 point 9):
    /// recorded once, so an engine that resumes after it reports it then and never
    /// twice; nothing is stopped. `step` none: the run's own deadline.
    DeadlineMissed {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<String>,
        /// When it fell.
        due: Timestamp,
        /// The clause that fell first, as written: `within 2s`, `at 06:00 (Europe/Paris)`.
        rule: String,
    },
    CancelRequested {
        actor: Actor,
        reason: Option<String>,
    },
    CompensationStarted {
        step: String,
    },
    CompensationFinished {
        step: String,
        ok: bool,
        exit_code: Option<i32>,
    },
    RunFinished {
        state: RunState,
        /// One line: what ran, what failed, what was undone and what was not.
        summary: String,
        /// The failed steps whose failure the workflow dealt with (`allow_failure`, or
        /// a failure handler that succeeded): what the scores count as dealt with, kept
        /// on the run's row by the projection, which has no plan to tell.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        dealt_with: Vec<String>,
    },
}

/// One artifact as kept: which it is, the file the step's glob matched, and its
/// content's SHA-256 (the name of its copy in the store) and size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactRecord {
    pub name: String,
    /// The file, relative to the step's directory.
    pub path: String,
    pub sha256: String,
    pub size: u64,
}

impl ArtifactRecord {
    /// The file's name (its path's last part): what a consumer's copy is called.
    pub fn file_name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }
}

impl EventKind {
    /// The step this event concerns, if any.
    pub fn step(&self) -> Option<&str> {
        use EventKind::*;
        match self {
            StepStateChanged { step, .. }
            | StepDealtWith { step, .. }
            | StepProcess { step, .. }
            | StepOutputsKept { step, .. }
            | ArtifactsStored { step, .. }
            | StepLaunching { step, .. }
            | StepJob { step, .. }
            | StepJobState { step, .. }
            | StepCached { step, .. }
            | StepReused { step, .. }
            | StepFannedOut { step, .. }
            | StepProbed { step, .. }
            | ServiceStopping { step, .. }
            | StepFinished { step, .. }
            | RetryScheduled { step, .. }
            | StepFellBack { step, .. }
            | GateOpened { step, .. }
            | GateWarning { step, .. }
            | ApprovalGiven { step, .. }
            | GateApproved { step, .. }
            | GateRejected { step, .. }
            | GateVoided { step, .. }
            | GatePushedBack { step, .. }
            | StepRetried { step, .. }
            | StepMarked { step, .. }
            | StepHeld { step, .. }
            | StepReleased { step, .. }
            | StepUsage { step, .. }
            | CompensationStarted { step }
            | CompensationFinished { step, .. }
            | ErrorsClosed { step, .. } => Some(step),
            ErrorRecorded { error } => error.step.as_deref(),
            BudgetExceeded { step, .. }
            | BudgetRejected { step, .. }
            | RunLabelled { step, .. }
            | DeadlineMissed { step, .. } => step.as_deref(),
            RunStarted { .. }
            | RunResumed { .. }
            | RunStateChanged { .. }
            | RunForked { .. }
            | CommandRefused { .. }
            | FailedRetried { .. }
            | BudgetRaised { .. }
            | CancelRequested { .. }
            | RunFinished { .. } => None,
        }
    }

    /// The snake_case name of the variant (the `type` field in JSON).
    pub fn name(&self) -> &'static str {
        use EventKind::*;
        match self {
            RunStarted { .. } => "run_started",
            RunResumed { .. } => "run_resumed",
            RunStateChanged { .. } => "run_state_changed",
            StepStateChanged { .. } => "step_state_changed",
            StepDealtWith { .. } => "step_dealt_with",
            StepProcess { .. } => "step_process",
            StepOutputsKept { .. } => "step_outputs_kept",
            ArtifactsStored { .. } => "artifacts_stored",
            StepLaunching { .. } => "step_launching",
            StepJob { .. } => "step_job",
            StepJobState { .. } => "step_job_state",
            StepCached { .. } => "step_cached",
            RunForked { .. } => "run_forked",
            StepReused { .. } => "step_reused",
            StepFannedOut { .. } => "step_fanned_out",
            StepProbed { .. } => "step_probed",
            ServiceStopping { .. } => "service_stopping",
            StepFinished { .. } => "step_finished",
            RetryScheduled { .. } => "retry_scheduled",
            StepFellBack { .. } => "step_fell_back",
            ErrorRecorded { .. } => "error_recorded",
            ErrorsClosed { .. } => "errors_closed",
            GateOpened { .. } => "gate_opened",
            GateWarning { .. } => "gate_warning",
            ApprovalGiven { .. } => "approval_given",
            GateApproved { .. } => "gate_approved",
            GateRejected { .. } => "gate_rejected",
            GateVoided { .. } => "gate_voided",
            GatePushedBack { .. } => "gate_pushed_back",
            CommandRefused { .. } => "command_refused",
            StepRetried { .. } => "step_retried",
            FailedRetried { .. } => "failed_retried",
            RunLabelled { .. } => "run_labelled",
            StepMarked { .. } => "step_marked",
            StepHeld { .. } => "step_held",
            StepReleased { .. } => "step_released",
            StepUsage { .. } => "step_usage",
            BudgetExceeded { .. } => "budget_exceeded",
            BudgetRaised { .. } => "budget_raised",
            BudgetRejected { .. } => "budget_rejected",
            DeadlineMissed { .. } => "deadline_missed",
            CancelRequested { .. } => "cancel_requested",
            CompensationStarted { .. } => "compensation_started",
            CompensationFinished { .. } => "compensation_finished",
            RunFinished { .. } => "run_finished",
        }
    }
}

/// Which round a gate's opening is (`n`, from 1) of the `of` its `rounds` allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateRound {
    pub n: u32,
    pub of: u32,
}

impl std::fmt::Display for GateRound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "round {} of {}", self.n, self.of)
    }
}

/// A decision on a signed gate as it was signed (see `baton_signing`): enough to
/// verify it again, anywhere, with `ssh-keygen -Y verify` or `baton audit verify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionSignature {
    /// The principal of the allowed signers the decision counts for (the vote's actor).
    pub principal: String,
    /// The signing key's `SHA256:…` fingerprint.
    pub key: String,
    /// The exact bytes signed (`signing::message`).
    pub message: String,
    /// The armored SSHSIG (`-----BEGIN SSH SIGNATURE-----`).
    pub signature: String,
    /// The OS account that handed the signature in.
    pub account: String,
}

/// A request from an operator: from the console, or from another process through the
/// store's `commands` table. The same type serves both.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Command {
    Approve {
        step: String,
        operator: Actor,
        reason: Option<String>,
        /// On a signed gate: the armored SSHSIG over the decision's message.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signature: Option<String>,
        /// `--input NAME=VALUE`: the gate's typed inputs.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        inputs: BTreeMap<String, String>,
    },
    Reject {
        step: String,
        operator: Actor,
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signature: Option<String>,
    },
    Retry {
        step: String,
        operator: Actor,
    },
    /// `baton retry RUN --failed`: every failed, timed-out and fail-fast-cancelled
    /// step and instance, in one decision.
    RetryFailed {
        operator: Actor,
    },
    /// Push a gate back with feedback (`baton push-back RUN GATE --reason T`): its
    /// `revise` steps run again with the reason as `$BATON_FEEDBACK`.
    PushBack {
        step: String,
        operator: Actor,
        reason: String,
        /// On a signed gate: the armored SSHSIG over the push-back's message.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signature: Option<String>,
    },
    Cancel {
        operator: Actor,
        reason: Option<String>,
    },
    Mark {
        step: String,
        state: StepState,
        operator: Actor,
        reason: String,
        /// The step's outputs the operator gives (`--output K=V`, `--output-file
        /// K=PATH`), over those it recorded: a step marked succeeded again with them
        /// supplies what its dependants miss.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        outputs: BTreeMap<String, String>,
        /// The step's artifacts the operator gives (`--artifact NAME=PATH`, each kept
        /// in the store by the marking process first), over those its attempt left.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        artifacts: Vec<ArtifactRecord>,
    },
    /// Hold `steps` (none: the run, every step that has not started; `freeze` also the
    /// running ones) until released, or until `until` (`baton hold`).
    Hold {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        steps: Vec<String>,
        operator: Actor,
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<Timestamp>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        freeze: bool,
    },
    /// Release held `steps` (none: every held step of the run) (`baton release`).
    Release {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        steps: Vec<String>,
        operator: Actor,
        reason: String,
    },
    /// Raise the run's budget ceilings by the amounts given (`baton approve RUN --raise cost=5`).
    RaiseBudget {
        operator: Actor,
        reason: String,
        cost: Option<f64>,
        calls: Option<u64>,
        tokens: Option<u64>,
    },
    /// Reject the run's open budget gate (`baton reject RUN --budget --reason …`): the
    /// run fails, its frozen steps are killed.
    RejectBudget {
        operator: Actor,
        reason: String,
    },
    /// Set and remove the run's labels (`baton label RUN k=v k-`).
    Label {
        operator: Actor,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        set: BTreeMap<String, String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        removed: Vec<String>,
    },
}

impl Command {
    /// The command as `who`'s: a command that came over a link is made by the account
    /// the link's `baton` runs as, whatever name it was sent with.
    pub fn by(mut self, who: &str) -> Command {
        match &mut self {
            Command::Approve { operator, .. }
            | Command::Reject { operator, .. }
            | Command::Retry { operator, .. }
            | Command::RetryFailed { operator }
            | Command::PushBack { operator, .. }
            | Command::Cancel { operator, .. }
            | Command::Mark { operator, .. }
            | Command::Hold { operator, .. }
            | Command::Release { operator, .. }
            | Command::RaiseBudget { operator, .. }
            | Command::RejectBudget { operator, .. }
            | Command::Label { operator, .. } => *operator = who.to_string(),
        }
        self
    }

    pub fn operator(&self) -> &str {
        match self {
            Command::Approve { operator, .. }
            | Command::Reject { operator, .. }
            | Command::Retry { operator, .. }
            | Command::RetryFailed { operator }
            | Command::PushBack { operator, .. }
            | Command::Cancel { operator, .. }
            | Command::Mark { operator, .. }
            | Command::Hold { operator, .. }
            | Command::Release { operator, .. }
            | Command::RaiseBudget { operator, .. }
            | Command::RejectBudget { operator, .. }
            | Command::Label { operator, .. } => operator,
        }
    }

    /// The command with every secret `masker` knows masked in its reason and an
    /// approval's inputs (the only text an operator types into a command).
    pub fn masked(&self, masker: &super::mask::Masker) -> Command {
        let mut c = self.clone();
        match &mut c {
            Command::Approve { reason, inputs, .. } => {
                if let Some(r) = reason {
                    *r = masker.mask(r).into_owned();
                }
                for v in inputs.values_mut() {
                    *v = masker.mask(v).into_owned();
                }
            }
            Command::Cancel { reason, .. } => {
                if let Some(r) = reason {
                    *r = masker.mask(r).into_owned();
                }
            }
            Command::Reject { reason, .. }
            | Command::PushBack { reason, .. }
            | Command::Mark { reason, .. }
            | Command::Hold { reason, .. }
            | Command::Release { reason, .. }
            | Command::RaiseBudget { reason, .. }
            | Command::RejectBudget { reason, .. } => *reason = masker.mask(reason).into_owned(),
            Command::Label { set, .. } => {
                for v in set.values_mut() {
                    *v = masker.mask(v).into_owned();
                }
            }
            Command::Retry { .. } | Command::RetryFailed { .. } => {}
        }
        c
    }

    /// Whether the command carries a signature (a decision on a signed gate).
    pub fn is_signed(&self) -> bool {
        matches!(
            self,
            Command::Approve {
                signature: Some(_),
                ..
            } | Command::Reject {
                signature: Some(_),
                ..
            }
        )
    }
}

/// What became of a command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "OutcomeWire", from = "OutcomeWire")]
pub enum CommandOutcome {
    Accepted { message: String },
    Refused(Refusal),
}

/// A verdict as the store's `commands` table keeps it: `{"outcome": "refused",
/// "reason": MESSAGE, "refusal": {"code": …}}`. A verdict written before refusals had
/// codes (`reason` alone), or with a code this baton does not know, reads back as
/// [`Refusal::Recorded`] with its message.
#[derive(Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
enum OutcomeWire {
    Accepted {
        message: String,
    },
    Refused {
        #[serde(default)]
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        refusal: Option<serde_json::Value>,
    },
}

impl From<CommandOutcome> for OutcomeWire {
    fn from(o: CommandOutcome) -> Self {
        match o {
            CommandOutcome::Accepted { message } => OutcomeWire::Accepted { message },
            CommandOutcome::Refused(r) => OutcomeWire::Refused {
                reason: r.to_string(),
                refusal: serde_json::to_value(&r).ok(),
            },
        }
    }
}

impl From<OutcomeWire> for CommandOutcome {
    fn from(w: OutcomeWire) -> Self {
        match w {
            OutcomeWire::Accepted { message } => CommandOutcome::Accepted { message },
            OutcomeWire::Refused { reason, refusal } => CommandOutcome::Refused(
                refusal
                    .and_then(|v| serde_json::from_value(v).ok())
                    .unwrap_or(Refusal::Recorded { reason }),
            ),
        }
    }
}

impl CommandOutcome {
    pub fn is_accepted(&self) -> bool {
        matches!(self, CommandOutcome::Accepted { .. })
    }

    /// The refusal, if the command was refused.
    pub fn refusal(&self) -> Option<&Refusal> {
        match self {
            CommandOutcome::Refused(r) => Some(r),
            CommandOutcome::Accepted { .. } => None,
        }
    }
}

#[cfg(test)]
#[path = "event_tests.rs"]
mod tests;

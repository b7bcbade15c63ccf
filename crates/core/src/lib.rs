//! The run's state machine: pure, synchronous, deterministic. Inputs and a clock come
//! in, effects go out. Every decision is first written as events (`Effect::Persist`),
//! folded into the state by `apply`, and only then turned into side effects, so a
//! replay of the stored events rebuilds exactly the same state (recovery = replay).
//!
//! Bookkeeping is O(1) amortised per transition: counters of unsettled needs, per-lane
//! ready queues (one lane per pool, lane 0 = no pool) and a timer set.
// `pub` means API: the modules are private and what other crates use is re-exported
// below. `cache` stays public as a namespace: the engine's cached steps call
// `cache::cache_key` and `cache::decide`, which read well only behind its name; so does
// `child` (`child::COMMAND`, `child::params_in`: a child-run step's process).
mod bucket;
pub mod cache;
pub mod child;
mod digest;
mod repeat;
mod retry;

pub use decide::{FailedRetry, ForkPlan, Reuse};
pub use digest::workflow_hash;

mod apply;
mod decide;
mod eventlog;
mod fanout;
mod io;
mod sparse;
mod view;

#[cfg(test)]
mod admission_tests;
#[cfg(test)]
mod allowed_tests;
#[cfg(test)]
mod artifacts_tests;
#[cfg(test)]
mod budget_gate_tests;
#[cfg(test)]
mod cut_tests;
#[cfg(test)]
mod deadline_tests;
#[cfg(test)]
mod detach_tests;
#[cfg(test)]
mod fallback_tests;
#[cfg(test)]
mod fanout_proptests;
#[cfg(test)]
mod fanout_tests;
#[cfg(test)]
mod fork_tests;
#[cfg(test)]
mod gate_tests;
#[cfg(test)]
mod hold_tests;
#[cfg(test)]
mod input_choices_tests;
#[cfg(test)]
mod inputs_tests;
#[cfg(test)]
mod local_env_tests;
#[cfg(test)]
mod lost_tests;
#[cfg(test)]
mod marked_outputs_tests;
#[cfg(test)]
mod matrix_rules_tests;
#[cfg(test)]
mod policy_tests;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod push_back_tests;
#[cfg(test)]
mod repeat_tests;
#[cfg(test)]
mod replay_tests;
#[cfg(test)]
mod retry_failed_tests;
#[cfg(test)]
mod rules_tests;
#[cfg(test)]
mod service_tests;
#[cfg(test)]
mod shared_pool_tests;
#[cfg(test)]
mod takeover_tests;
#[cfg(test)]
pub(crate) mod testkit;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod trigger_mix_tests;
#[cfg(test)]
mod trust_tests;
#[cfg(test)]
mod usage_tests;

use baton_model::mask::Masker;
use baton_model::state_summary::{StateSummary, SummaryFold};
use baton_model::view::{AttemptJob, AuditView, JobView};
use baton_model::{
    Command, CommandOutcome, ErrorRecord, Event, FastMap, OutputProblem, ProbeKind, ProbeView,
    RunState, StepOutcome, StepState, Timestamp, Usage,
};
use baton_workflow::{Budget, Builtin, Plan, TemplateRef};
use bucket::Bucket;
use sparse::{Blank, Sparse, blank};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use io::{
    ArtifactsNotKept, CacheHit, CacheRequest, CollectRequest, Effect, Handed, Input, ProbeRequest,
    ProbeResult, SpawnAction, SpawnSpec, StepExit,
};

/// What a run is started (or resumed) with.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunConfig {
    pub run_id: String,
    pub operator: String,
    /// Resolved and validated params, unmasked.
    pub params: BTreeMap<String, String>,
    /// Values masked as `***` in everything the core writes.
    pub secret_values: Vec<String>,
    /// Seed of the jitter generator (a replay uses the seed stored in `RunStarted`).
    pub seed: u64,
    pub auto_approve: bool,
    /// `--max-parallel` override of the plan's `max_parallel`.
    pub max_parallel: Option<usize>,
    /// `--no-cache`: cached steps run (and refresh their cache entries) all the same.
    pub no_cache: bool,
    /// The schedule's slot `baton serve` started the run for (a trigger's time):
    /// `${{ run.slot }}`, `$BATON_SLOT`. A replay takes it from `RunStarted`.
    pub slot: Option<Timestamp>,
    /// The store the run is recorded in ([`Core::locate_store`]): a local step's
    /// `BATON_DB` ([`SpawnSpec::local_env`]).
    pub store: Option<std::path::PathBuf>,
    /// The short hash of the run's recorded workflow text ([`digest::workflow_hash`]):
    /// what its view names as the text it used.
    pub workflow_hash: Option<String>,
    /// The IANA time zone a deadline's `at` is read in (the schedule's that started
    /// the run, else the engine's local one). A replay takes it from `RunStarted`.
    pub zone: Option<String>,
    /// A child run's parent (`baton run --parent`): named in its `RunStarted`.
    pub parent: Option<baton_model::view::ParentLink>,
}

impl RunConfig {
    /// `${{ run.slot }}`: the slot as RFC 3339 UTC, empty for a run no schedule started.
    pub fn slot_text(&self) -> String {
        self.slot.map(Timestamp::slot_text).unwrap_or_default()
    }
}

/// Where a queued step of a store-wide pool is with its slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum SlotRt {
    #[default]
    Idle,
    Asked,
    Granted,
}

/// A step asking for a slot of its store-wide pool (`plan.pools[pool]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotRequest {
    pub step: usize,
    pub attempt: u32,
    pub pool: usize,
}

/// How a new run opens (`Core::start_as`), as its concurrency group decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opening {
    /// Nothing stands in its way: it runs.
    Run,
    /// Its group is busy: it waits, `queued`, recorded with `reason`.
    Queue { reason: String },
    /// Its group is busy and it skips: it ends `skipped`, recorded with `reason`.
    Skip { reason: String },
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReplayError {
    #[error("the run has no events")]
    Empty,
    #[error("the first event is `{0}`, expected `run_started`")]
    NotStarted(String),
    #[error("event sequence broken: expected seq {expected}, found {found}")]
    SeqGap { expected: u64, found: u64 },
    #[error("event {seq} names step `{step}`, which the workflow no longer has")]
    UnknownStep { seq: u64, step: String },
    #[error(
        "event {seq} moves step `{step}` past its signed gate, which no quorum of valid approvers' signatures approved: the history was edited (`baton audit verify` checks the record)"
    )]
    UnsignedPassage { seq: u64, step: String },
}

/// Timers, each valid only while its step is in the matching state (checked on fire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Timer {
    RunDeadline,
    Retry(usize),
    StepTimeout(usize),
    GateWarn(usize),
    GateDeadline(usize),
    /// A service's next probe check is due.
    Probe(usize),
    /// A service that is not ready by now has failed.
    ReadyDeadline(usize),
    /// A hold's `--until` passed.
    HoldUntil(usize),
    /// The budget gate's `timeout` passed (from its opening).
    BudgetDeadline,
    /// The run's `deadline` falls (`decide/deadlines.rs`).
    RunWatch,
    /// A step's `deadline` falls.
    StepWatch(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    Approved,
    Rejected,
}

#[derive(Debug, Clone, Default)]
struct GateRt {
    /// Seq of the `GateOpened` event of the current opening.
    opened_seq: u64,
    opened_at: Timestamp,
    deadline: Option<Timestamp>,
    warn_at: Option<Timestamp>,
    warned: bool,
    prompt: String,
    digest: String,
    /// The votes that count: (actor, reason). On a signed gate, only votes whose
    /// signature verifies (see `decide::signed`).
    votes: Vec<(String, Option<String>)>,
    /// The keys (`SHA256:…`) of the counted signed votes: one key is one vote.
    keys: Vec<String>,
    /// This opening needs signatures (`signed = true` when it opened).
    signed: bool,
    /// A `gate_approved` that no quorum of valid signatures backs: not an approval.
    unbacked: bool,
    /// The digest the gate was approved with; the approval holds while it matches.
    approved: Option<String>,
    decided: Option<Decision>,
    /// The `inputs` of this opening's first counted vote (every later vote carries the
    /// same); once approved, what `steps.ID.inputs.NAME` reads.
    inputs: Option<BTreeMap<String, String>>,
    /// The inputs' `default`/`values` templates as this opening rendered them.
    rendered: BTreeMap<String, baton_model::RenderedInput>,
    /// What the first counted vote changed from the proposal (input → proposed value).
    proposed: Option<BTreeMap<String, String>>,
}

blank!(GateRt);
blank!(ServiceRt);

#[derive(Debug, Clone)]
struct StepRt {
    state: StepState,
    attempts: u32,
    /// Attempts before the current alternative began (or the last operator retry):
    /// automatic retries count from here.
    attempt_base: u32,
    /// The alternative its attempts run: 0 the step itself, `k` its `fallback[k - 1]`
    /// (`StepFellBack`; an operator's retry starts again from 0).
    alternative: u32,
    /// Which execution of its `repeat` its attempts run (0 and 1: the first).
    execution: u32,
    unsettled_needs: usize,
    queue_ticket: u64,
    queued_at: Option<Timestamp>,
    started_at: Option<Timestamp>,
    finished_at: Option<Timestamp>,
    retry_at: Option<Timestamp>,
    timeout_at: Option<Timestamp>,
    exit_code: Option<i32>,
    signal: Option<i32>,
    timed_out: bool,
    /// The latest attempt's run time, once it finished.
    duration_ms: Option<u64>,
    outputs: BTreeMap<String, String>,
    pgid: Option<i32>,
    /// Where its running local attempt's `$BATON_OUTPUT` is (`StepProcess`): read on a
    /// takeover after a crash (`Core::left_outputs`).
    output_file: Option<String>,
    /// Decision-side only (not in events): a Kill was sent, and why.
    kill_sent: bool,
    /// Decision-side only: this engine re-attached to the attempt (resume, adoption),
    /// so its executor timed only the part since then (`on_exit` reads its life from
    /// the record instead).
    reattached: bool,
    /// A store-wide pool's slot for the next attempt (decision-side, not in events:
    /// the attempt's `running` event is the decision on record).
    slot: SlotRt,
    timeout_kill: bool,
    /// A service's probing: see `ServiceRt`.
    service: Sparse<ServiceRt>,
    gate: Sparse<GateRt>,
    last_error: Option<usize>,
    /// Every transition, oldest first (the view's `history`: the Timeline tab).
    history: Vec<baton_model::timeline::Transition>,
    /// What most steps never have (a batch job, a hold, a skip's reason, errors still
    /// open, usage, …): made on the first write (issue 62 point 5: inline, these were
    /// half of every step's 512 bytes).
    more: Sparse<StepMore>,
}

/// The parts of a step's state most steps never write (see [`StepRt::more`]).
#[derive(Debug, Clone, Default)]
struct StepMore {
    /// The attempt's batch job (executor, job id), if it runs on one.
    job: Option<(String, String)>,
    /// Every attempt's batch job as the console and `show` tell it; kept after it ends.
    jobs: Vec<AttemptJob>,
    /// The run the latest attempt's result came from (`StepCached`).
    cached_from: Option<String>,
    /// In a fork, the run (and its attempt) whose outcome it keeps (`StepReused`).
    reused: Option<Box<(String, u32)>>,
    /// Why it waits for a store-wide pool, and for whom (the view shows it).
    slot_wait: Option<String>,
    open_errors: Vec<usize>,
    /// Why it is skipped or upstream_failed (the reason recorded with that state).
    why: Option<String>,
    /// Its `step_marked`, while it is in the state it was marked.
    marked: Option<Box<baton_model::view::MarkView>>,
    /// Its hold, while it is held or frozen (`decide/hold.rs`).
    hold: Option<Box<decide::HoldRt>>,
    /// Every span an attempt was frozen (the view's `freezes`): its clocks stop.
    freezes: Vec<baton_model::timeline::Freeze>,
    /// Its latest attempt's `$BATON_USAGE` (boxed: most steps write none), and
    /// whether that attempt still runs: a running attempt's usage is in the run's
    /// totals as far as the engine has read it, replaced by its end's (issue 43).
    usage: Option<Box<(Usage, bool)>>,
    /// Push-backs (issue 44 point 3): boxed, as few steps are ever pushed back or
    /// revised.
    revision: Option<Box<decide::RevisionRt>>,
    /// Its `deadline` (boxed: few steps have one).
    watch: Option<Box<baton_model::deadline::Watch>>,
    /// Its artifacts (issue 60): those on record, and whether its attempt that exited
    /// 0 waits for them to be kept (boxed: few steps have any).
    artifacts: Option<Box<decide::ArtifactsRt>>,
}

blank!(StepMore);

/// A service's probing in its current attempt. Its timers and counts are the core's
/// decisions between records: a resumed run starts its services again, so they need
/// not survive a replay. What a check got is recorded when it changes (`StepProbed`),
/// and every failed liveness check.
#[derive(Debug, Clone, Default)]
struct ServiceRt {
    /// When the next check is due (`Timer::Probe`).
    probe_at: Option<Timestamp>,
    /// The end of the time to become ready (`Timer::ReadyDeadline`).
    ready_deadline: Option<Timestamp>,
    /// A check was asked for and has not answered.
    in_flight: bool,
    /// Failed liveness checks in a row.
    live_failures: u32,
    /// The latest check, shown in the console.
    last: Option<ProbeView>,
    /// The latest recorded check (probe, ok, detail): a check is recorded when it differs.
    recorded: Option<(ProbeKind, bool, String)>,
    /// Why baton kills it: a probe's verdict, for its error record.
    failure: Option<ProbeFailure>,
    /// baton stops it (`ServiceStopping`), and why: its exit ends it succeeded.
    stopping: Option<String>,
}

#[derive(Debug, Clone)]
struct ProbeFailure {
    message: String,
    probe: ProbeKind,
    check: String,
    got: String,
    failures: u32,
}

#[derive(Debug, Clone)]
struct Lane {
    queue: VecDeque<(u64, usize)>,
    running: usize,
    capacity: usize,
    bucket: Option<Bucket>,
}

#[derive(Debug, Clone)]
struct BudgetGate {
    /// Its opening (a ceiling it met while open does not move it).
    opened_at: Timestamp,
    /// `opened_at` plus the budget's `timeout`: `on_timeout` decides it then.
    deadline: Option<Timestamp>,
    dimension: String,
    used: f64,
    limit: f64,
    step: Option<String>,
}

/// Cloned only to ask what a resumed copy would accept (`session::inspect`).
#[derive(Clone)]
pub struct Core {
    plan: Arc<Plan>,
    cfg: RunConfig,
    masker: Masker,
    ids: FastMap<String, usize>,
    dependants: Vec<Vec<usize>>,
    /// The steps that are services (`service = true`), in plan order.
    services: Vec<usize>,
    /// The `on_cancel` steps, in plan order: run once the run is cancelled.
    handlers: Vec<usize>,
    max_parallel: usize,
    /// `env.X` references resolve against this: the workflow's own `env` table.
    run_env: BTreeMap<String, Result<String, baton_workflow::Unresolved>>,

    steps: Vec<StepRt>,
    events: eventlog::EventLog,
    counts: [usize; StepState::ALL.len()],
    /// Running steps that are frozen (held while they ran): they keep their slots.
    frozen: usize,
    /// On a takeover: frozen local steps whose process group outlived the dead engine,
    /// still stopped (`adopt_frozen`); resume follows them instead of stopping them.
    adopted: Vec<usize>,
    /// Adopted attempts (step, attempt) whose tracing the system refused when the
    /// driver tried it ahead of a release (`Core::trace_refused`), and why: they stay
    /// frozen on a release, while that attempt runs frozen (`Core::untraced_why`).
    untraced: Vec<(usize, u32, String)>,
    unsettled: usize,
    lanes: Vec<Lane>,
    next_ticket: u64,
    to_eval: VecDeque<usize>,
    timers: BTreeSet<(Timestamp, Timer)>,

    run_state: RunState,
    /// The outcome once decided (failed/cancelled/succeeded), kept across an interrupt.
    decided: Option<RunState>,
    operator: String,
    /// Who `--auto-approve` decides as: the account that passed the flag.
    auto_actor: String,
    /// Whether the history so far has auto-approve on (`cfg` may be ahead of it).
    auto_recorded: bool,
    /// Set by `apply` when an event moves a step past a signed gate nobody approved
    /// with valid signatures (`follow` refuses the history).
    passage_unsigned: Option<(u64, String)>,
    seed: u64,
    started_at: Option<Timestamp>,
    finished_at: Option<Timestamp>,
    /// The run's `deadline` (`decide/deadlines.rs`).
    run_watch: Option<baton_model::deadline::Watch>,
    /// The zone its deadlines' `at` are read in, as `run_started` recorded it.
    zone: Option<String>,
    /// Where this engine hands a local step its artifacts' copies, when not in the
    /// store's own `artifacts/stage/` ([`Core::locate_stage`]).
    stage: Option<std::path::PathBuf>,
    /// The run's closing line (`run_finished`).
    summary: Option<String>,
    /// The run it is a fork of, and the step it runs again from (`RunForked`).
    forked_from: Option<baton_model::view::ForkLink>,
    /// The run's labels (`run_labelled`), and those its start records (`label_at_start`).
    labels: decide::LabelsRt,
    /// A fork's plan, recorded by its start right after `run_started` (`decide::fork`).
    fork_pending: Option<Box<ForkPlan>>,
    deadline: Option<Timestamp>,
    finished: bool,
    cancel_requested: bool,
    /// Waiting for its concurrency group (`RunState::Queued`, kept across an
    /// interruption): nothing is scheduled until `Input::Admitted`.
    queued: bool,
    /// Steps `pick` found waiting for a store-wide pool's slot, to ask for.
    slot_asks: Vec<usize>,
    compensation_ran: bool,
    /// Some step has a `compensate` command (a saga): what a failure suggests depends
    /// on it, and most runs need not look further.
    saga: bool,

    ceilings: Budget,
    used_cost: f64,
    used_calls: u64,
    used_tokens: u64,
    budget_gate: Option<BudgetGate>,
    /// The budget gate was rejected (by an operator or its timeout): the run fails.
    budget_rejected: Option<decide::BudgetRejection>,
    /// The run's use as it changed, for its pace (`model::burn`); only with a budget.
    burn: baton_model::burn::Samples,

    errors: Vec<ErrorRecord>,
    error_ids: FastMap<String, usize>,
    audit: Vec<AuditView>,
    /// Steps in the order they succeeded (compensation runs in reverse).
    completion: Vec<usize>,
    durations: Vec<u64>,
    attempts_finished: u64,
    attempts_failed: u64,
    /// Fanned-out steps by plan index: their instances (`fanout.rs`).
    fans: BTreeMap<usize, fanout::FanRt>,
    /// The run's summary for readers across runs (`model::state_summary`), moved by
    /// `apply` with every event the core emits or folds: handed to the store with each
    /// commit (`Core::state_summary`), which saves it as given.
    run_summary: SummaryFold,
    /// Keep each step's transitions (`StepView::history`); a headless engine, which
    /// shows no timeline, does not ([`Core::forget_history`]).
    keep_history: bool,
}

impl StepRt {
    /// A step before anything happened to it, waiting for `unsettled_needs` needs.
    fn fresh(unsettled_needs: usize) -> StepRt {
        StepRt {
            state: StepState::Pending,
            attempts: 0,
            attempt_base: 0,
            alternative: 0,
            execution: 0,
            unsettled_needs,
            queue_ticket: 0,
            queued_at: None,
            started_at: None,
            finished_at: None,
            retry_at: None,
            timeout_at: None,
            exit_code: None,
            signal: None,
            timed_out: false,
            duration_ms: None,
            outputs: BTreeMap::new(),
            pgid: None,
            output_file: None,
            kill_sent: false,
            reattached: false,
            slot: SlotRt::Idle,
            timeout_kill: false,
            service: Sparse::default(),
            gate: Sparse::default(),
            last_error: None,
            history: Vec::new(),
            more: Sparse::default(),
        }
    }
}

fn si(s: StepState) -> usize {
    s as usize
}

/// Settled for the run: the step will not run again by itself.
fn settled(s: StepState) -> bool {
    s.is_final() || s == StepState::Compensating
}

/// Settled for its dependants: settled, or a service that is ready (it keeps running
/// while they run).
fn available(s: StepState) -> bool {
    settled(s) || s == StepState::Ready
}

/// Each step's dependants: the steps that need it.
fn dependants(plan: &Plan) -> Vec<Vec<usize>> {
    let n = plan.steps.len();
    let mut dependants = vec![Vec::new(); n];
    for (i, s) in plan.steps.iter().enumerate() {
        for &d in &s.needs {
            if d < n {
                dependants[d].push(i);
            }
        }
    }
    dependants
}

/// The ready lanes: lane 0 for steps in no pool, then one per pool.
fn lanes(plan: &Plan) -> Vec<Lane> {
    let mut lanes = vec![Lane {
        queue: VecDeque::new(),
        running: 0,
        capacity: usize::MAX,
        bucket: None,
    }];
    for p in &plan.pools {
        lanes.push(Lane {
            queue: VecDeque::new(),
            running: 0,
            capacity: p.capacity.max(1),
            bucket: p.rate.map(|r| Bucket::new(r, p.burst)),
        });
    }
    lanes
}

impl Core {
    pub fn new(mut plan: Arc<Plan>, cfg: RunConfig) -> Core {
        let all = 0..plan.steps.len();
        fanout::decide_allow_failure(&mut plan, all, |_, r| match r {
            TemplateRef::Param(p) => cfg.params.get(p).cloned(),
            _ => None,
        });
        let n = plan.steps.len();
        let dependants = dependants(&plan);
        let steps = plan
            .steps
            .iter()
            .map(|s| StepRt::fresh(s.needs.iter().filter(|&&d| d < n).count()))
            .collect();
        let lanes = lanes(&plan);
        let mut counts = [0; StepState::ALL.len()];
        counts[si(StepState::Pending)] = n;
        let masker = Masker::new(cfg.secret_values.iter().cloned());
        let run_env = resolve_run_env(&plan, &cfg);
        Core {
            ids: plan
                .steps
                .iter()
                .enumerate()
                .map(|(i, s)| (s.id.clone(), i))
                .collect(),
            dependants,
            services: plan
                .steps
                .iter()
                .filter(|s| s.service.is_some())
                .map(|s| s.index)
                .collect(),
            handlers: plan
                .steps
                .iter()
                .filter(|s| s.on_cancel)
                .map(|s| s.index)
                .collect(),
            max_parallel: cfg.max_parallel.unwrap_or(plan.max_parallel).max(1),
            run_env,
            steps,
            events: eventlog::EventLog::default(),
            counts,
            frozen: 0,
            adopted: Vec::new(),
            untraced: Vec::new(),
            unsettled: n,
            lanes,
            next_ticket: 0,
            to_eval: VecDeque::new(),
            timers: BTreeSet::new(),
            run_state: RunState::Pending,
            decided: None,
            operator: cfg.operator.clone(),
            auto_actor: cfg.operator.clone(),
            auto_recorded: false,
            passage_unsigned: None,
            seed: cfg.seed,
            started_at: None,
            finished_at: None,
            run_watch: None,
            zone: None,
            stage: None,
            summary: None,
            forked_from: None,
            labels: decide::LabelsRt::default(),
            fork_pending: None,
            deadline: None,
            finished: false,
            cancel_requested: false,
            queued: false,
            slot_asks: Vec::new(),
            compensation_ran: false,
            saga: plan.steps.iter().any(|s| s.compensate.is_some()),
            ceilings: plan.budget.unwrap_or_default(),
            used_cost: 0.0,
            used_calls: 0,
            used_tokens: 0,
            budget_gate: None,
            budget_rejected: None,
            burn: Default::default(),
            errors: Vec::new(),
            error_ids: FastMap::default(),
            audit: Vec::new(),
            completion: Vec::new(),
            durations: Vec::new(),
            attempts_finished: 0,
            attempts_failed: 0,
            fans: BTreeMap::new(),
            run_summary: SummaryFold::new(plan.steps.iter().map(|s| s.id.as_str())),
            keep_history: true,
            masker,
            plan,
            cfg,
        }
    }

    /// Keep no step's transitions from here on, and drop those kept: an engine no
    /// console reads (`baton run --headless`) saves their memory (a 100,000-step run
    /// holds ~10 MB of them). Readers rebuild them from the events.
    pub fn forget_history(&mut self) {
        self.keep_history = false;
        for s in &mut self.steps {
            s.history = Vec::new();
        }
    }

    /// Fold stored events into a fresh core; emits nothing. Call `resume` to continue.
    pub fn replay(plan: Arc<Plan>, cfg: RunConfig, events: &[Event]) -> Result<Core, ReplayError> {
        let mut core = Core::new(plan, cfg);
        for ev in events {
            core.replay_one(Cow::Borrowed(ev))?;
        }
        core.replayed()
    }

    /// The next stored event of a replay into a fresh core, from the run's first
    /// (`run_started`) on: [`Core::replay`] one event at a time, for a reader that folds
    /// the events as the store reads them and never holds the history
    /// (`Store::each_event`). [`Core::replayed`] ends it.
    pub fn replay_one(&mut self, ev: Cow<'_, Event>) -> Result<(), ReplayError> {
        if self.events.is_empty() && !matches!(ev.kind, baton_model::EventKind::RunStarted { .. }) {
            return Err(ReplayError::NotStarted(ev.kind.name().to_string()));
        }
        self.fold(ev)
    }

    /// The core once a replay folded every stored event: a run has at least its start.
    pub fn replayed(self) -> Result<Core, ReplayError> {
        if self.events.is_empty() {
            return Err(ReplayError::Empty);
        }
        Ok(self)
    }

    /// Apply one more stored event (a console following a run another engine drives).
    pub fn follow(&mut self, ev: &Event) -> Result<(), ReplayError> {
        self.fold(Cow::Borrowed(ev))
    }

    fn fold(&mut self, ev: Cow<'_, Event>) -> Result<(), ReplayError> {
        let expected = self.events.len() as u64 + 1;
        if ev.seq != expected {
            return Err(ReplayError::SeqGap {
                expected,
                found: ev.seq,
            });
        }
        if let Some(step) = ev.kind.step()
            && !self.ids.contains_key(step)
        {
            return Err(ReplayError::UnknownStep {
                seq: ev.seq,
                step: step.to_string(),
            });
        }
        self.apply(&ev);
        self.events.push(&ev);
        if let Some((seq, step)) = self.passage_unsigned.take() {
            return Err(ReplayError::UnsignedPassage { seq, step });
        }
        Ok(())
    }

    pub fn run_state(&self) -> RunState {
        self.run_state
    }

    /// The run is final and nothing is left to do (compensations done), or it was
    /// interrupted (the driver waits for its kills, then exits; `resume` continues).
    pub fn is_finished(&self) -> bool {
        self.finished || self.run_state == RunState::Interrupted
    }

    /// The run's summary as of the latest event applied: what `runs`, the metrics and
    /// the inbox read of it across runs, saved with each commit (issue 40 point 4).
    pub fn state_summary(&self) -> StateSummary {
        self.run_summary.summary()
    }

    /// The sequence number of the latest event applied (0 before the first).
    pub fn last_seq(&self) -> u64 {
        self.events.last().map_or(0, |(seq, _)| seq)
    }

    /// When the latest event applied was recorded (`None` before the first).
    pub fn last_event_at(&self) -> Option<Timestamp> {
        self.events.last().map(|(_, at)| at)
    }

    /// Every event so far (unit tests only: elsewhere the store holds the history).
    #[cfg(test)]
    pub(crate) fn events(&self) -> &[Event] {
        self.events.history()
    }

    pub fn plan(&self) -> &Arc<Plan> {
        &self.plan
    }

    /// Who started the run.
    pub fn operator(&self) -> &str {
        &self.cfg.operator
    }

    /// Where the run's store is (the session tells a new run's core; a driver tells
    /// again the one it drives): a step that runs on this machine gets it as
    /// `BATON_DB` ([`SpawnSpec::local_env`]).
    pub fn locate_store(&mut self, db: std::path::PathBuf) {
        self.cfg.store = Some(db);
    }

    /// Hand this run's local steps their artifacts' copies under `stage` (`RUN/SHA/FILE`
    /// in it), a directory of the engine's account alone, not under the store's own
    /// `artifacts/stage/` (`store::account_stage`: a group store's directory, which any
    /// member can write).
    pub fn locate_stage(&mut self, stage: std::path::PathBuf) {
        self.stage = Some(stage);
    }

    /// Values the driver read for a step as it started (its `[secrets]` entries):
    /// masked from now on in all the core writes. Kept in memory only, never in an
    /// event: a replay, or an engine that resumes the run, learns them again as steps
    /// start. `RunConfig::secret_values` (and so a cache key) do not change.
    pub fn learn_secrets(&mut self, values: impl IntoIterator<Item = String>) {
        let all = self.masker.secrets().iter().cloned().chain(values);
        self.masker = Masker::new(all.collect::<Vec<_>>());
    }

    /// Every value the core masks: the run's own and those learned since it started.
    pub fn masked_values(&self) -> &[String] {
        self.masker.secrets()
    }

    /// The executor (`Plan::executors` index) step `step`'s attempts run on now: its
    /// current alternative's (`None`: local).
    pub fn executor_of(&self, step: usize) -> Option<usize> {
        let k = self.steps.get(step)?.alternative;
        self.plan.steps.get(step)?.alternative(k).executor
    }

    /// Whether step `step`'s attempt `attempt` was stopped with its engine: a quit, or a
    /// detach that could not hand it over, interrupted it (or a resume found it left by
    /// a dead engine). A stop for a timeout or a cancel leaves the attempt running until
    /// its end comes in, so it is not one.
    pub fn stopped_with_engine(&self, step: usize, attempt: u32) -> bool {
        self.steps
            .get(step)
            .is_some_and(|s| s.state == StepState::Interrupted && s.attempts == attempt)
    }

    /// Earliest instant at which something becomes due: a retry, a step, gate or run
    /// timeout, a gate's 80% warning, or a rate token a queued step waits for.
    pub fn next_wakeup(&self) -> Option<Timestamp> {
        if self.finished || self.run_state == RunState::Interrupted {
            return None;
        }
        let mut best = self.timers.first().map(|(t, _)| *t);
        if self.budget_gate.is_none() && !self.stopping() {
            let global_free = self.counts[si(StepState::Running)] < self.max_parallel;
            for lane in &self.lanes {
                let (Some(b), Some(last)) = (&lane.bucket, self.last_touch()) else {
                    continue;
                };
                let waiting = lane.queue.iter().any(|&(t, s)| {
                    self.steps[s].state == StepState::Queued && self.steps[s].queue_ticket == t
                });
                if waiting && global_free && lane.running < lane.capacity && !b.available(last) {
                    let t = b.next_token(last);
                    best = Some(best.map_or(t, |b| b.min(t)));
                }
            }
        }
        best
    }

    /// The time of the latest event (the core's notion of "now" between inputs).
    fn last_touch(&self) -> Option<Timestamp> {
        self.events.last().map(|(_, at)| at)
    }

    /// Steps a process runs for now (`StepState::has_process`): attempts and ready services.
    fn processes(&self) -> usize {
        StepState::ALL
            .iter()
            .copied()
            .filter(|s| s.has_process())
            .map(|s| self.counts[si(s)])
            .sum()
    }

    fn stopping(&self) -> bool {
        self.cancel_requested || self.decided.is_some()
    }

    fn lane_of(&self, i: usize) -> usize {
        self.pool_of(i).map_or(0, |p| p + 1)
    }

    /// The pool step `i` takes a place of. A step that fans out takes none: each of
    /// its instances takes one (a step holding one too would starve them: issue 42).
    fn pool_of(&self, i: usize) -> Option<usize> {
        let step = &self.plan.steps[i];
        step.pool.filter(|_| step.fanout.is_none())
    }
}

/// The run `env` table, each value rendered against params, run id and the entries it
/// reads (rendered first: `env_order`).
fn resolve_run_env(
    plan: &Plan,
    cfg: &RunConfig,
) -> BTreeMap<String, Result<String, baton_workflow::Unresolved>> {
    use baton_workflow::TemplateRef;
    let mut out: BTreeMap<String, Result<String, baton_workflow::Unresolved>> = BTreeMap::new();
    for (k, t) in baton_workflow::env_order(&plan.env) {
        let v = t.render(|r| match r {
            TemplateRef::Param(p) => cfg.params.get(p).cloned(),
            TemplateRef::RunId => Some(cfg.run_id.clone()),
            TemplateRef::RunSlot => Some(cfg.slot_text()),
            TemplateRef::Env(e) => out.get(e).and_then(|v| v.as_ref().ok().cloned()),
            TemplateRef::StepOutput { .. }
            | TemplateRef::StepInput { .. }
            | TemplateRef::StepArtifact { .. }
            | TemplateRef::NeedResult { .. }
            | TemplateRef::NeedsResults
            | TemplateRef::Matrix(_)
            | TemplateRef::Item(_) => None,
        });
        out.insert(k.clone(), v);
    }
    out
}

//! A deterministic simulator of baton (issue 61): one seed drives a simulated clock,
//! several engines over one real store (SQLite, a temporary file per scenario), the
//! real core of every run, simulated executors, and operators who issue commands
//! through the session's and the store's own functions, some of them forged. After
//! every simulated step the promises the documents make are checked
//! ([`invariants`]); the same seed gives the same history, byte for byte
//! ([`Outcome::digest`]). What it runs and what it does not simulate yet:
//! docs/simulator.md.
mod accounts;
mod asked;
mod asks;
mod budget;
mod clis;
mod cron;
mod drive;
mod executor;
mod faults;
mod forks;
mod hands;
mod history;
mod jobs;
// A namespace: the chaos campaign (tests/it/chaos) checks real stores with the same
// named invariants.
pub mod invariants;
mod operator;
mod readers;
mod remote;
mod rewrites;
mod sched;
mod sealed;
mod serve;
mod serving;
mod signed;
mod steps_rows;
mod takeovers;
mod verdicts;
mod workflows;
mod world;

use std::path::PathBuf;

/// A bug put back on purpose, to show the simulator finds it (issue 61 point 3). The
/// real code is never changed: the simulator's own engine or operator takes the
/// buggy path instead of the real one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bug {
    /// A burst of runs into a concurrency group admitted from one read of the group's
    /// holder made before the runs are created (check, then act), instead of the
    /// store's one-transaction admission (`Store::create_run_in_group`).
    RacyAdmission,
    /// An engine that obeys a command row whatever its proof says (`Claimed::unproven`
    /// ignored), as baton did before command proofs.
    ObeyUnproven,
    /// A serve that starts a run for every requested trigger row, its decision and
    /// proof not checked (`Store::prove_trigger` skipped).
    ObeyForgedTrigger,
    /// An asker that takes its ask's row as the answer, its votes not settled by
    /// their proofs (`Store::settle_ask` skipped: the row read as it is).
    ObeyForgedAnswer,
    /// An engine that writes to its runs and renews their leases without the store's
    /// fence (`Store::fence` not called): continued after it was stopped past its
    /// lease, it goes on driving a run whose group went to another run meanwhile.
    Unfenced,
    /// An engine that ignores the store's word that a newer run replaced its queued
    /// run in line (`Turn::Replaced`), as baton did before the chaos campaign's seed
    /// 105: a replaced run whose cancel never reached its engine waits `queued` for a
    /// group it can never hold.
    IgnoreReplaced,
    /// A fork planned from its source's rows as they read, its history not checked
    /// against the event chain (`--mix rewrites`): a record someone rewrote is reused
    /// as the rewrite says, as baton did before fork checked its source.
    UncheckedFork,
    /// An executor that goes on running a step the engine froze (its `Freeze` effect
    /// not acted on): a step frozen at a budget's ceiling goes on spending.
    IgnoreFreeze,
    /// An SSH executor that tells a stop it sent as the step's end at once
    /// (`--mix remote`), whatever the host did: a step that ran to its end while the
    /// stop was on its way (a stalled connection) is recorded cancelled.
    StopIsTheEnd,
    /// An SSH executor that never tells its job (no `JobStarted`) and finds nothing a
    /// dead engine left (`left_behind` empty), as if its jobs were its engine's
    /// processes (`--mix remote`): the store hands the run's group over, and a
    /// takeover starts the step again, while the job still runs on its host.
    ForgetJob,
    /// A console's detach taken for a quit (`Input::Shutdown` for `Input::Detach`,
    /// `--mix remote`): the run's running steps are stopped and started again by the
    /// background engine instead of handed over alive.
    DetachStops,
    /// A serve that goes by the schedule's row as it reads (`--mix schedules`), its
    /// pauses and resumes not proved against the audit chain: a resume written into
    /// the row with SQL makes a paused schedule fire.
    ObeyPauseRow,
    /// A serve that starts every slot it decided to start, whether its record of the
    /// slot was the first or not (`Store::record_slots`'s answer ignored, `--mix
    /// serves`): a slot another serve decided while this one was stopped between its
    /// decision and its record is started again.
    StartRecordedSlot,
    /// An engine that records a stop as the attempt's end once its SIGTERM is sent
    /// (`--mix executors`), not when its process exits: a step that ignores its TERM
    /// is recorded killed, and its run's group or pool slot handed over, while it runs
    /// on until the KILL after the grace.
    TermIsTheEnd,
    /// An executor that reads an attempt's outputs from one `$BATON_OUTPUT` per step,
    /// not per attempt (`--mix executors`): what an earlier attempt wrote is recorded
    /// as the later attempt's, and read downstream.
    StaleOutputs,
    /// A starter's engine that takes a group store's `runs` row as it reads (`--mix
    /// accounts`), its seal made afresh over the row instead of checked against the one
    /// it made when it started the run: a member's rewrite of another's run is obeyed.
    TrustRunsRow,
    /// An engine that drops the commands it takes again from an engine that stopped
    /// before its verdict (claimed under another holder), as if that engine still
    /// decided them: they are never decided (`verdicts`).
    DropReclaimed,
    /// A Slurm or batch executor that reads a job its scheduler requeued (preempted,
    /// or held while it ran) as ended, `REQUEUED` taken for an infrastructure end as
    /// `PREEMPTED` is (`--mix executors`): the attempt is recorded lost, and retried,
    /// while the scheduler runs its job again from the start.
    RequeueIsTheEnd,
    /// A Slurm or batch executor that takes a job that left the queue without an exit
    /// code for a success (`--mix executors`), as a `status` that prints nothing read
    /// as `success`: a job its scheduler forgot is recorded exited 0.
    ForgottenIsDone,
    /// A batch executor that reads a `status` that fails as "the job left" (`--mix
    /// executors`), as baton did before issue 61 point 6: a scheduler that does not
    /// answer for 10 s has the jobs it runs recorded lost while they run on, an
    /// idempotent step retried beside its job.
    OutageIsGone,
    /// A serve that, as it starts, takes over every unfinished run of a slot it lists
    /// whatever its lease says (`--mix serves`), as if a slot's run were only ever a
    /// dead serve's: a run a live engine resumed meanwhile is taken from it.
    ResumeDriven,
    /// A takeover whose lease is not marked as a takeover's (`Store::acquire_lease`
    /// for `Store::take_over_lease`, `--mix cli`): killed between its lease and its
    /// settle, it leaves the run reading as it was recorded, not interrupted.
    UnmarkedTakeover,
    /// A parent's step that takes the newest row of `run_parents` as its child
    /// (`--mix hands`), as baton did before issue 75: a member's forged row names a run
    /// of their own, and the step takes it, its child never run.
    ForgedChildLink,
    /// A child's engine that does not read `BATON_CHILD_SECRET_PARAMS` (`--mix hands`),
    /// as baton did before issue 75: a parent's secret handed to a child is recorded in
    /// clear in the child's params, events and log.
    ChildSecretsClear,
    /// An engine of a group store that hands its readers their copies under the store's
    /// own `artifacts/stage/` (`--mix hands`, `Core::locate_stage` not called), as baton
    /// did before issue 75: a member renames `artifacts/` and plants other bytes where
    /// the reader opens its path.
    SharedStage,
    /// An engine that does not collect what a `mark --state succeeded` asks of a step's
    /// artifacts (`--mix hands`), as baton did before issue 75: the file the lost
    /// attempt left is not kept, and the reader never gets it.
    MarkLosesArtifacts,
    /// An imported workflow whose carry pastes a `$GITHUB_ENV` entry's value into the
    /// code that sets it (`eval "export $1=$2"`, `--mix hands`), as an importer that
    /// builds shell from values would: a value with `$(…)`, a backtick or `;` runs.
    ValueRunAsCode,
    /// An executor that does not know a child-run step for one (`--mix hands`,
    /// `BATON_CHILD_WORKFLOW` left out of its job), as baton did before issue 75: its
    /// child engine killed, the step's end is given while the child's steps run on,
    /// and the parent lets go of its group.
    KilledChildFreesGroup,
    /// A takeover that drives a dead engine's run without stopping what its steps left
    /// (`session::clear_leftovers` skipped, `--mix hands`): a parent and its child
    /// engine killed together, the child's takeover starts its step again while the
    /// dead engine's attempt of it still runs.
    TakeoverKeepsLeftovers,
    /// A child's engine stopped by its parent's kill that does not ask whether the
    /// parent was cancelled (`session::child::parent_cancelling` skipped, `--mix
    /// hands`): the child is left interrupted, not cancelled.
    ChildIgnoresParentCancel,
    /// A child-run step's retried attempt whose engine makes a new child without
    /// looking for the one an earlier attempt made (`session::child::find` skipped,
    /// `--mix hands`): the earlier child, failed or left interrupted by its killed
    /// engine, is not gone on with, and its succeeded steps run again in the new one.
    ChildRetryMakesNewChild,
    /// A child's engine that starts what a step's end lets start before that end is on
    /// record (the wake-up's events committed after its spawns, `--mix hands`): killed
    /// between, its takeover finds the succeeded step still running and starts it again.
    EndCommittedAfterSpawn,
    /// A takeover of a parent whose engine died that commits its step's end before it
    /// stops what that engine left running (`session::clear_leftovers` after the
    /// commit, `--mix hands`): the child's engine, the step's process, still lives and
    /// starts the child's next step after its parent's step ended.
    ParentEndsBeforeChildStops,
    /// A takeover that cancels a parent whose engine died and commits its step's end
    /// without cancelling the children that engine's steps left
    /// (`session::child::cancel::to_cancel` skipped, `--mix hands`): the child, its
    /// engine stopped with the leftovers before the cancel was on record, is left
    /// interrupted, not cancelled.
    ParentCancelSkipsChild,
    /// A takeover that cancels a parent whose engine died and waits for a child another
    /// engine holds without renewing the parent's lease (`session::child::cancel::
    /// attempt` called alone, not through `Waiting::look`, `--mix hands`): held past
    /// `LEASE_STALE`, the parent could be taken over mid-cancel by another takeover.
    CancelWaitSkipsRenewal,
    /// A serve that records an event's key in a transaction of its own after its run's
    /// (`--mix hands`): dying between, it leaves a run no row names, and the event,
    /// seen again, makes a second run.
    TriggerKeyAfterRun,
    /// A serve that fires the pending events it read whether or not another serve
    /// fired them since (`Store::fire_pending`'s check that each is still pending
    /// skipped, `--mix hands`): a serve stopped between its read and its firing makes
    /// a second run of a burst, its events pointed at it.
    FirePendingUnchecked,
    /// An engine that retries every failed attempt its attempts allow, its step's
    /// `retry.exit_code`, `never_exit_code` and `if` unread (`--mix hands`), as baton
    /// did before retry rules: a failed migration its rule never retries (exit 1) is
    /// run again.
    RetryIgnoresRules,
    /// A `baton link` server that takes who decides from the console's frame (the
    /// name in its `operator` field) instead of its own OS account (`--mix hands`):
    /// a decision over the link is on record as whoever the other side named.
    LinkTrustsOperator,
    /// An approval page that hands a passkey's decision to the run without checking
    /// its signature counter against the last recorded for its key (`--mix hands`,
    /// `approval_page::counter_rises` skipped): an assertion held back and sent after
    /// a later decision counts.
    PasskeyCounterUnchecked,
    /// An approval page that refuses a decision without putting the refusal on record
    /// (`--mix hands`, `approval_page::on_record` skipped): a refused request leaves
    /// no trace on the run's chain.
    PageRefusalUnrecorded,
    /// A reader of a run's steps that takes their `steps` rows as they are, the events
    /// past the run's watermark not folded over them (`Store::steps_now` not used):
    /// while an engine holds the rows' patches (`store::commit::deferred`) a step reads
    /// as it was before its last transitions.
    StepsRowsAsTheyAre,
}

impl Bug {
    pub fn name(self) -> &'static str {
        match self {
            Bug::RacyAdmission => "racy-admission",
            Bug::ObeyUnproven => "obey-unproven",
            Bug::ObeyForgedTrigger => "obey-forged-trigger",
            Bug::ObeyForgedAnswer => "obey-forged-answer",
            Bug::Unfenced => "unfenced",
            Bug::IgnoreReplaced => "ignore-replaced",
            Bug::UncheckedFork => "unchecked-fork",
            Bug::IgnoreFreeze => "ignore-freeze",
            Bug::StopIsTheEnd => "stop-is-the-end",
            Bug::ForgetJob => "forget-job",
            Bug::DetachStops => "detach-stops",
            Bug::ObeyPauseRow => "obey-pause-row",
            Bug::StartRecordedSlot => "start-recorded-slot",
            Bug::TermIsTheEnd => "term-is-the-end",
            Bug::StaleOutputs => "stale-outputs",
            Bug::TrustRunsRow => "trust-runs-row",
            Bug::DropReclaimed => "drop-reclaimed",
            Bug::RequeueIsTheEnd => "requeue-is-the-end",
            Bug::ForgottenIsDone => "forgotten-is-done",
            Bug::OutageIsGone => "outage-is-gone",
            Bug::ResumeDriven => "resume-driven",
            Bug::UnmarkedTakeover => "unmarked-takeover",
            Bug::ForgedChildLink => "forged-child-link",
            Bug::ChildSecretsClear => "child-secrets-clear",
            Bug::SharedStage => "shared-stage",
            Bug::MarkLosesArtifacts => "mark-loses-artifacts",
            Bug::ValueRunAsCode => "value-run-as-code",
            Bug::KilledChildFreesGroup => "killed-child-frees-group",
            Bug::TakeoverKeepsLeftovers => "takeover-keeps-leftovers",
            Bug::ChildIgnoresParentCancel => "child-ignores-parent-cancel",
            Bug::ChildRetryMakesNewChild => "child-retry-makes-new-child",
            Bug::EndCommittedAfterSpawn => "end-committed-after-spawn",
            Bug::ParentEndsBeforeChildStops => "parent-ends-before-child-stops",
            Bug::ParentCancelSkipsChild => "parent-cancel-skips-child",
            Bug::CancelWaitSkipsRenewal => "cancel-wait-skips-renewal",
            Bug::TriggerKeyAfterRun => "trigger-key-after-run",
            Bug::FirePendingUnchecked => "fire-pending-unchecked",
            Bug::RetryIgnoresRules => "retry-ignores-rules",
            Bug::LinkTrustsOperator => "link-trusts-operator",
            Bug::PasskeyCounterUnchecked => "passkey-counter-unchecked",
            Bug::PageRefusalUnrecorded => "page-refusal-unrecorded",
            Bug::StepsRowsAsTheyAre => "steps-rows-as-they-are",
        }
    }

    pub const ALL: [Bug; 42] = [
        Bug::RacyAdmission,
        Bug::ObeyUnproven,
        Bug::ObeyForgedTrigger,
        Bug::ObeyForgedAnswer,
        Bug::Unfenced,
        Bug::IgnoreReplaced,
        Bug::UncheckedFork,
        Bug::IgnoreFreeze,
        Bug::StopIsTheEnd,
        Bug::ForgetJob,
        Bug::DetachStops,
        Bug::ObeyPauseRow,
        Bug::StartRecordedSlot,
        Bug::TermIsTheEnd,
        Bug::StaleOutputs,
        Bug::TrustRunsRow,
        Bug::DropReclaimed,
        Bug::RequeueIsTheEnd,
        Bug::ForgottenIsDone,
        Bug::OutageIsGone,
        Bug::ResumeDriven,
        Bug::UnmarkedTakeover,
        Bug::ForgedChildLink,
        Bug::ChildSecretsClear,
        Bug::SharedStage,
        Bug::MarkLosesArtifacts,
        Bug::ValueRunAsCode,
        Bug::KilledChildFreesGroup,
        Bug::TakeoverKeepsLeftovers,
        Bug::ChildIgnoresParentCancel,
        Bug::ChildRetryMakesNewChild,
        Bug::EndCommittedAfterSpawn,
        Bug::ParentEndsBeforeChildStops,
        Bug::ParentCancelSkipsChild,
        Bug::CancelWaitSkipsRenewal,
        Bug::TriggerKeyAfterRun,
        Bug::FirePendingUnchecked,
        Bug::RetryIgnoresRules,
        Bug::LinkTrustsOperator,
        Bug::PasskeyCounterUnchecked,
        Bug::PageRefusalUnrecorded,
        Bug::StepsRowsAsTheyAre,
    ];

    pub fn parse(s: &str) -> Option<Bug> {
        Bug::ALL.into_iter().find(|b| b.name() == s)
    }
}

/// What a scenario's operators do besides runs and their commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mix {
    /// Everything: runs and their commands, schedule triggers and the serve that
    /// starts them, asks and their answers, some of each forged.
    All,
    /// Runs and their commands only: the scenarios as they were when the regression
    /// seeds 1, 19, 21 and 99 failed, which replay them unchanged.
    RunsOnly,
    /// Everything, and engines stopped past their lease (SIGSTOP, a stalled VM) for
    /// 16 to 30 s and then continued, from a stream of the seed's own: the scenarios
    /// of [`Mix::All`] are not changed by it.
    Stalls,
    /// Everything of [`Mix::All`], the store keyed with an audit key, and now and then
    /// a finished run's record rewritten with SQL by someone who can write the file
    /// (a step that did not succeed made to read succeeded), put back at the end.
    Rewrites,
    /// Everything, and a crash after a wake-up's commit cuts amid the group's spawns
    /// (none, some or all but the last made, as the seed says; issue 62), where the
    /// other mixes make none of them.
    Spawns,
    /// Everything, with every step but the batch's `publish` on an SSH executor:
    /// jobs on a host of their own that outlive their engine, re-attached to by a
    /// takeover, stopped over a connection that may stall, and runs detached to a
    /// background engine now and then (a fifth stream of the seed).
    Remote,
    /// Everything of [`Mix::All`], the store keyed, and wake-ups made one store call
    /// at a time with the other processes acting between any two of them; an engine
    /// dies between any two calls, inside its commit's transaction or before its
    /// witness (a sixth stream of the seed).
    Interleave,
    /// Everything of [`Mix::All`] on a group store, each operator's call made by one
    /// of its members or by this process's account, members forging rows in each
    /// other's names with proofs of their own, each engine a process of one of the
    /// three accounts (its runs that account's, sealed with its secret), and members
    /// rewriting each other's `runs` rows (a seventh stream of the seed; needs root
    /// and the accounts of tests/accounts.sh).
    Accounts,
    /// Everything of [`Mix::All`], and the deploy on a schedule (a slot every ten
    /// seconds) the serve fires after every action, paused, resumed and backfilled by
    /// operators, some of it forged (an eighth stream of the seed).
    Schedules,
    /// Everything of [`Mix::Remote`], the remote steps' executor a Slurm cluster
    /// (`type = "slurm"`, even seeds) or a batch scheduler (`type = "batch"`, odd
    /// seeds) instead of SSH hosts, answered by the same simulated back end: the
    /// core, store and session treat a job of each kind alike.
    Queues,
    /// Everything of [`Mix::Schedules`], with the serve a process that dies at any
    /// point of its tick and starts again (its missed slots following `catch_up`,
    /// drawn by the seed), and a second serve that is refused while the first holds
    /// the store and races it once the first is stopped past its lease (a ninth stream
    /// of the seed); each serve drives the runs it starts, and resumes as it starts
    /// the runs of slots a dead serve left.
    Serves,
    /// Everything of [`Mix::All`], the deploy's gate signed (`signed = true`): its
    /// approvals and rejections signed as the CLI signs them, some with signatures
    /// that must not count (a tenth stream of the seed).
    Signed,
    /// Everything of [`Mix::Remote`], the remote steps local, on SSH hosts, on Slurm or
    /// on a batch scheduler by the seed (one in four each), and from an eleventh stream of
    /// the seed: attempts that ignore their stop signal, outputs each attempt writes
    /// and the next step reads, jobs that wait in the scheduler's queue, launches that
    /// never reached their host, and a host that stops answering for a while; and from
    /// a thirteenth, jobs their scheduler forgets or requeues while they run
    /// (`crates/sim/src/sched.rs`), with `ship` and `extract` not idempotent.
    Executors,
    /// Everything of [`Mix::Interleave`], and the CLI's processes cut the same way:
    /// a command's look and its hand-in, a takeover's lease, its settle and its
    /// commit, a `baton
    /// run`'s run and its cancels each a store call of their own, with the others
    /// acting between and the process dying before any of them (a twelfth stream of
    /// the seed; `clis`).
    Cli,
    /// The newest hands on a run, on a group store of this process's group, from a
    /// stream of the seed's own (`crates/sim/src/hands/`): child runs handed secrets,
    /// links forged by a member, artifacts handed to readers while a member races the
    /// store's directory (docs/simulator-hands.md).
    Hands,
}

impl Mix {
    /// Whether the remote steps' mixes' rules apply ([`Mix::Remote`], [`Mix::Queues`],
    /// [`Mix::Executors`]).
    pub(crate) fn remote(self) -> bool {
        matches!(self, Mix::Remote | Mix::Queues | Mix::Executors)
    }
}

impl Mix {
    pub fn name(self) -> &'static str {
        match self {
            Mix::All => "all",
            Mix::RunsOnly => "runs-only",
            Mix::Stalls => "stalls",
            Mix::Rewrites => "rewrites",
            Mix::Spawns => "spawns",
            Mix::Remote => "remote",
            Mix::Interleave => "interleave",
            Mix::Accounts => "accounts",
            Mix::Schedules => "schedules",
            Mix::Queues => "queues",
            Mix::Serves => "serves",
            Mix::Signed => "signed",
            Mix::Executors => "executors",
            Mix::Cli => "cli",
            Mix::Hands => "hands",
        }
    }

    pub fn parse(s: &str) -> Option<Mix> {
        [
            Mix::All,
            Mix::RunsOnly,
            Mix::Stalls,
            Mix::Rewrites,
            Mix::Spawns,
            Mix::Remote,
            Mix::Interleave,
            Mix::Accounts,
            Mix::Schedules,
            Mix::Queues,
            Mix::Serves,
            Mix::Signed,
            Mix::Executors,
            Mix::Cli,
            Mix::Hands,
        ]
        .into_iter()
        .find(|m| m.name() == s)
    }
}

/// One scenario to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    pub seed: u64,
    /// How many simulated actions (each followed by the checks).
    pub actions: usize,
    pub bug: Option<Bug>,
    pub mix: Mix,
}

impl Config {
    pub fn new(seed: u64) -> Config {
        Config {
            seed,
            actions: DEFAULT_ACTIONS,
            bug: None,
            mix: Mix::All,
        }
    }

    /// The one line that runs this scenario again.
    pub fn replay_command(&self) -> String {
        let bug = self
            .bug
            .map(|b| format!(" --bug {}", b.name()))
            .unwrap_or_default();
        let mix = match self.mix {
            Mix::All => String::new(),
            other => format!(" --mix {}", other.name()),
        };
        format!(
            "cargo run -p baton-sim --release -- --seed {} --actions {}{bug}{mix}",
            self.seed, self.actions
        )
    }
}

/// Actions per scenario unless told otherwise.
pub const DEFAULT_ACTIONS: usize = 150;

/// A promise broken: which one, at which step, and what was seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The invariant's name (a function of [`invariants`]).
    pub invariant: &'static str,
    /// The action after which it was seen (1-based): replaying this many actions
    /// reproduces it.
    pub action: usize,
    pub detail: String,
}

/// What a scenario came to.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub config: Config,
    /// SHA-256 of the history's lines: equal for equal seeds.
    pub digest: String,
    /// Actions run (fewer than asked when a promise broke).
    pub actions: usize,
    /// Simulated steps: every engine wake-up, operator command, crash, resume,
    /// executor exit and run started.
    pub steps: u64,
    /// Events the runs recorded.
    pub events: u64,
    pub history: Vec<String>,
    pub violation: Option<Violation>,
    /// The text of every workflow the scenario's runs were made from (its files at
    /// its end), outside the digest: what `chaos::world_coverage` reads the keys of.
    pub workflows: Vec<String>,
}

impl Outcome {
    /// The report of a broken promise, with the line that replays it (shrunk to the
    /// actions up to the one after which it broke).
    pub fn report(&self) -> Option<String> {
        let v = self.violation.as_ref()?;
        let shrunk = Config {
            actions: v.action,
            ..self.config
        };
        Some(format!(
            "seed {} broke `{}` after action {}: {}\n  replay: {}",
            self.config.seed,
            v.invariant,
            v.action,
            v.detail,
            shrunk.replay_command()
        ))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("{}: {error}", .path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("a scenario's workflow does not load: {0}")]
    Workflow(String),
    #[error("the store failed: {0}")]
    Store(#[from] baton_store::StoreError),
    #[error("the session failed: {0}")]
    Session(#[from] baton_session::SessionError),
    #[error("reading the store to check it: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("a run's events do not replay: {0}")]
    Replay(#[from] baton_core::ReplayError),
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    /// `--mix accounts` cannot act as other accounts here: what is missing.
    #[error("{0}")]
    Accounts(String),
    /// A throwaway signing key of `--mix signed` could not be encoded.
    #[error("the simulator's signing key: {0}")]
    Key(String),
    /// A scenario failed: the error and the history's last lines before it.
    #[error("{error}\n  the scenario's last lines before it:\n{tail}")]
    InScenario { error: Box<SimError>, tail: String },
}

/// Why `--mix accounts` cannot run here (not root, an account of tests/accounts.sh
/// missing), or `None` when it can.
pub fn accounts_missing() -> Option<String> {
    let me = baton_session::os_account().ok()?;
    accounts::members(&me).err().map(|e| e.to_string())
}

/// How many of a failed scenario's history lines its error shows.
const FAILED_TAIL: usize = 40;

/// Run one scenario. The simulated clock is this thread's for its length.
pub fn run(config: Config) -> Result<Outcome, SimError> {
    if config.mix == Mix::Hands {
        return hands::run(config);
    }
    let mut world = world::World::new(config)?;
    let result = world.play();
    faults::clock(None);
    if let Err(error) = result {
        let lines = world.outcome().history;
        let from = lines.len().saturating_sub(FAILED_TAIL);
        return Err(SimError::InScenario {
            error: Box::new(error),
            tail: lines[from..].join("\n"),
        });
    }
    let mut outcome = world.outcome();
    outcome.workflows = workflows::written(world.dir())?;
    Ok(outcome)
}

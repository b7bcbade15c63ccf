//! What comes into the core (`Input`: a command, a step's exit, a tick…) and what goes
//! out of it (`Effect`: persist these events, spawn this step, freeze that group…).
use super::*;

/// Why an attempt's artifacts were not kept, in the words of the check that failed
/// (the file missing, matching several, changed while copied, unreadable) and what to
/// do: the driver's check says it, the core records it as the attempt's failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ArtifactsNotKept(pub String);

#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// The driver calls this at `next_wakeup()` (any input also fires due timers).
    Tick,
    /// A queued run's concurrency group is free and the store gave it to this run
    /// (`store::slots`): the run starts. `reason` is recorded with the transition.
    Admitted {
        reason: String,
    },
    /// A newer run replaced this queued one in `group`'s line (`max_pending`,
    /// `store::slots`): it can never hold the group, so it ends, cancelled.
    Replaced {
        group: String,
    },
    /// The store gave the step a slot of its store-wide pool for `attempt`.
    SlotGranted {
        step: usize,
        attempt: u32,
    },
    /// The store-wide pool is full, held by steps of `holders` (runs), or (`holders`
    /// empty) its store-wide rate has no token now.
    SlotBusy {
        step: usize,
        attempt: u32,
        holders: Vec<String>,
    },
    ProcessStarted {
        step: usize,
        attempt: u32,
        pgid: i32,
        /// Where its `$BATON_OUTPUT` is (recorded: `EventKind::StepProcess`).
        output: Option<String>,
    },
    /// A batch job was submitted for the attempt (its job id, on `executor`).
    JobStarted {
        step: usize,
        attempt: u32,
        executor: String,
        job_id: String,
    },
    /// The cluster's state of a running attempt's job (`PENDING` and why, `RUNNING`).
    JobState {
        step: usize,
        attempt: u32,
        state: String,
        reason: Option<String>,
    },
    StepExited(StepExit),
    /// What a running attempt has written to `$BATON_USAGE` so far, summed (the
    /// engine follows the file): counted at once, and frozen at a budget's ceiling.
    Usage {
        step: usize,
        attempt: u32,
        usage: Usage,
    },
    /// The driver found the attempt's cache key in the cache (`SpawnSpec::cache`): no
    /// process started.
    CacheHit(CacheHit),
    /// What one check of a service's probe got (`Effect::Probe`).
    ProbeResult(ProbeResult),
    /// The files of an attempt's `artifacts`, kept in the store (`Effect::Collect`),
    /// or why one could not be (missing, matching several files, changed, unreadable).
    ArtifactsCollected {
        step: usize,
        attempt: u32,
        result: Result<Vec<baton_model::ArtifactRecord>, ArtifactsNotKept>,
    },
    /// A `[[notify]]` command failed (`step`: the step its event was about; `None` for
    /// run events). Recorded, never fatal.
    NotifierFailed {
        step: Option<usize>,
        kind: baton_model::ErrorKind,
        event: String,
        message: String,
    },
    /// What went wrong around an attempt's output without failing it: malformed
    /// `$BATON_OUTPUT`/`$BATON_USAGE` lines, a log that could not be written. Each
    /// becomes an error record on the step (nothing is lost silently).
    OutputProblems {
        step: usize,
        attempt: u32,
        problems: Vec<OutputProblem>,
    },
    CompensationExited {
        step: usize,
        outcome: StepOutcome,
        duration_ms: u64,
        stderr_tail: String,
    },
    Command {
        id: Option<i64>,
        command: Command,
    },
    /// A command from the store whose row is not proved to come from the account it
    /// names (`store::proof`), or that the store refused (a finished run's reopening
    /// while another run holds its group: `engine::driver::reopen`): refused, on
    /// record, whatever it asks.
    UnprovenCommand {
        id: i64,
        command: Command,
        reason: Box<baton_model::Refusal>,
    },
    /// A thaw (`Effect::Thaw`) of an adopted attempt the driver could not carry out:
    /// tracing its process was refused (`exec::adopt`), so nothing was sent to it and
    /// it is still frozen. The core holds it again on record.
    ThawRefused {
        step: usize,
        attempt: u32,
        why: String,
    },
    /// SIGINT/SIGTERM/quit: kill running groups; the run becomes interrupted (resumable).
    Shutdown {
        reason: String,
    },
    /// The console detached (or lost its terminal): the run goes to another engine
    /// with its running steps alive (`decide/detach.rs`); the run becomes interrupted.
    Detach {
        reason: String,
    },
}

/// An attempt's process ended ([`Input::StepExited`]).
#[derive(Debug, Clone, PartialEq)]
pub struct StepExit {
    pub step: usize,
    pub attempt: u32,
    pub outcome: StepOutcome,
    pub duration_ms: u64,
    /// Raw `key=value` pairs from `$BATON_OUTPUT`.
    pub outputs: Vec<(String, String)>,
    /// From `$BATON_USAGE` (an attempt counts one call, or `calls` if it reports more).
    pub usage: Usage,
    pub stderr_tail: String,
}

/// An attempt answered from the cache ([`Input::CacheHit`]): `outputs` are the cached
/// ones, `restored` the products written back, `artifacts` those restored from the store.
#[derive(Debug, Clone, PartialEq)]
pub struct CacheHit {
    pub step: usize,
    pub attempt: u32,
    pub from_run: String,
    pub key: String,
    pub outputs: Vec<(String, String)>,
    pub restored: Vec<String>,
    /// The artifacts the cached run's step kept, their contents in the store (checked
    /// by the driver): put on record for this attempt, never collected from files.
    pub artifacts: Vec<baton_model::ArtifactRecord>,
}

/// One check of a service's probe ([`Input::ProbeResult`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeResult {
    pub step: usize,
    pub attempt: u32,
    pub probe: ProbeKind,
    pub ok: bool,
    /// What it got: `HTTP 200`, `connection refused`, `exit 1: …` (one line).
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Commit all `Persist` of one wake-up in one transaction before the other effects.
    Persist(Event),
    Spawn(SpawnSpec),
    /// SIGTERM the attempt's process group, SIGKILL after a grace period.
    Kill {
        step: usize,
        attempt: u32,
    },
    /// On resume: a process group the dead engine left behind.
    KillStale {
        pgid: i32,
    },
    /// A held running step: stop its whole process group (SIGSTOP) or suspend its
    /// Slurm job (`scontrol suspend`).
    Freeze {
        step: usize,
        attempt: u32,
    },
    /// Its hold released: continue the group (SIGCONT) or job (`scontrol resume`).
    Thaw {
        step: usize,
        attempt: u32,
    },
    /// A batch job for an attempt no longer running: cancel it.
    CancelJob {
        executor: String,
        job_id: String,
    },
    /// On resume: follow the attempt's job, which outlived the engine that submitted it.
    Reattach {
        spec: SpawnSpec,
        executor: String,
        job_id: String,
        /// Held frozen on record: the new handle starts wanting it frozen, so that a
        /// release decided before the handle exists (in the same wake-up as the
        /// resume: `baton release` taking the run over) still continues it.
        frozen: bool,
    },
    /// Run the step's `compensate` command (action is `Shell`).
    Compensate(SpawnSpec),
    /// Check a service's probe once; the answer comes back as `Input::ProbeResult`.
    Probe(ProbeRequest),
    /// Keep the files of the attempt's `artifacts` in the store; the answer comes
    /// back as `Input::ArtifactsCollected`. Asked again on resume until it is on record.
    Collect(CollectRequest),
    /// Ask the store for a slot of a store-wide pool; the answer comes back as
    /// `Input::SlotGranted` or `Input::SlotBusy`.
    AskSlot(SlotRequest),
    CommandDone {
        id: Option<i64>,
        outcome: CommandOutcome,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct SpawnSpec {
    pub step: usize,
    pub step_id: String,
    pub attempt: u32,
    pub action: SpawnAction,
    pub dir: PathBuf,
    /// Fully resolved and unmasked, sorted by name: `BATON_PARAM_<NAME>` for each param,
    /// the run `env`, the step `env`, the tool's `with` values, then `BATON_RUN_ID`,
    /// `BATON_STEP_ID`, `BATON_ATTEMPT` (later entries win; the driver adds
    /// `BATON_OUTPUT`/`BATON_USAGE`). Sent wherever the attempt runs.
    pub env: Vec<(String, String)>,
    /// Added to `env` only for an attempt that runs on this machine (a local executor,
    /// or the local member of a spread; `exec` applies it, an SSH, Slurm or batch job
    /// never gets it): `BATON_DB`, the run's store, for the step's `baton ask`, unless
    /// `env` names one. A path on another host means nothing there. Empty for a step
    /// that cannot run here, or when the core was told no store (`Core::locate_store`).
    pub local_env: Vec<(String, String)>,
    pub timeout: Option<Duration>,
    pub secret_values: Vec<String>,
    /// Set for a cached step (`cache = true`): the driver consults the cache before it
    /// starts anything (unless `--no-cache`) and records the result of a success.
    pub cache: Option<CacheRequest>,
    /// The artifacts the attempt is handed: each copied from the store to its `dest`
    /// (the path its templates and `BATON_ARTIFACT_*` name) and checked before it starts.
    pub artifacts: Vec<Handed>,
}

/// One artifact an attempt is handed ([`SpawnSpec::artifacts`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Handed {
    /// `STEP.NAME`, for messages.
    pub label: String,
    pub sha256: String,
    pub size: u64,
    /// Where the attempt finds it: `<store dir>/artifacts/stage/<run>/<sha256>/<file>`
    /// on this machine (for a group store, `<run>/<sha256>/<file>` under the engine
    /// account's own stage, `Core::locate_stage`); relative (`.baton-artifacts/<sha256>/<file>`, in the step's
    /// working directory) for a step on another executor, copied over its channel.
    pub dest: PathBuf,
}

/// The files an attempt that exited 0 declared as `artifacts` ([`Effect::Collect`]).
#[derive(Debug, Clone, PartialEq)]
pub struct CollectRequest {
    pub step: usize,
    pub step_id: String,
    pub attempt: u32,
    /// Its working directory, which the paths and globs are relative to.
    pub dir: PathBuf,
    /// `(name, path or glob)`, by name.
    pub artifacts: Vec<(String, String)>,
}

/// One check of a service's probe.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeRequest {
    pub step: usize,
    pub attempt: u32,
    pub probe: ProbeKind,
    pub check: baton_workflow::ProbeCheck,
    /// How long the check may take before it counts as failed.
    pub timeout: Duration,
    /// Where a `run` check runs and with what environment: the service's own.
    pub dir: PathBuf,
    pub env: Vec<(String, String)>,
    pub secret_values: Vec<String>,
}

/// What the driver needs, beyond the spec, to compute a cached step's key.
#[derive(Debug, Clone, PartialEq)]
pub struct CacheRequest {
    pub workflow: String,
    /// The resolved action as the key sees it (command, tool command, or built-in and `with`).
    pub action: String,
    pub spec: baton_workflow::CacheSpec,
    /// `false` under `--no-cache`: the step runs, and its result still refreshes the entry.
    pub consult: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SpawnAction {
    Shell {
        command: String,
    },
    Builtin {
        builtin: Builtin,
        with: BTreeMap<String, String>,
    },
}

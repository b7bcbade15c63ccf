//! Step and run states (docs/architecture.md, "States and exit codes").
use serde::{Deserialize, Serialize};
use std::fmt;

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
    strum::VariantArray,
    strum::EnumCount,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum StepState {
    Pending,
    WaitingApproval,
    Queued,
    Running,
    /// A service (`service = true`) that passed its readiness probe: its process keeps
    /// running and its dependants may start.
    Ready,
    RetryWait,
    Succeeded,
    Failed,
    Skipped,
    /// It could not run because a need failed, was rejected or is itself
    /// upstream_failed (Airflow's state of the name); a failure for trigger rules.
    UpstreamFailed,
    Rejected,
    Cancelled,
    Interrupted,
    Compensating,
    Compensated,
    CompensationFailed,
    /// An operator held it before it started (`baton hold`), or its retries ran out
    /// under `retry = { exhausted = "hold" }`: it takes no slot and does not start
    /// until it is released (`baton release`), retried or marked. A held step that was
    /// already running stays `running`, frozen (see `StepView::hold`).
    Held,
}

impl StepState {
    pub const ALL: &'static [StepState] = <StepState as strum::VariantArray>::VARIANTS;

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<StepState> {
        s.parse().ok()
    }

    /// The state's row of [`Traits`]: what it looks like and what it counts as. The
    /// one place a new state must be described (the match has no `_` arm, so the
    /// compiler names it); every question below reads its row.
    const fn row(self) -> (&'static str, Traits) {
        use StepState::*;
        match self {
            Pending => ("·", Traits(UNSTARTED | BEFORE_ATTEMPT)),
            WaitingApproval => (
                "⏸",
                Traits(UNSTARTED | BEFORE_ATTEMPT | WAITS | ACTIVE | UNDER_WAY),
            ),
            Queued => (
                "○",
                Traits(UNSTARTED | BEFORE_ATTEMPT | ON_THE_WAY | ACTIVE | UNDER_WAY),
            ),
            Running => (
                "▶",
                Traits(PROCESS | ON_THE_WAY | WAITS | BUSY | ACTIVE | UNDER_WAY),
            ),
            Ready => ("◉", Traits(PROCESS | NEEDS_MET | BUSY | ACTIVE)),
            RetryWait => ("↻", Traits(UNSTARTED | ACTIVE)),
            Succeeded => (
                "✔",
                Traits(FINAL | SUCCESS | NEEDS_MET | ON_THE_WAY | MARK_TARGET),
            ),
            Failed => (
                "✘",
                Traits(FINAL | FAILURE | FAILED | RETRYABLE | BAD_END | MARK_TARGET),
            ),
            Skipped => ("⤼", Traits(FINAL | NOT_RUN | STOPPED)),
            UpstreamFailed => ("⇣", Traits(FINAL | NOT_RUN | FAILED | STOPPED)),
            Rejected => ("⊘", Traits(FINAL | FAILURE | FAILED | RETRYABLE | BAD_END)),
            Cancelled => ("■", Traits(FINAL | FAILED | RETRYABLE | STOPPED)),
            Interrupted => ("↯", Traits(WAITS | RETRYABLE | AWAITS_MARK | BAD_END)),
            Compensating => ("↶", Traits(SUCCESS | NEEDS_MET | BUSY | ACTIVE)),
            Compensated => ("↺", Traits(FINAL | SUCCESS | NEEDS_MET | BUSY)),
            CompensationFailed => (
                "‼",
                Traits(FINAL | SUCCESS | NEEDS_MET | WAITS | AWAITS_MARK | BAD_END),
            ),
            Held => ("⏯", Traits(WAITS | ACTIVE)),
        }
    }

    fn is(self, t: u32) -> bool {
        self.row().1.0 & t != 0
    }

    /// A glyph that tells the state without colour.
    pub fn glyph(self) -> &'static str {
        self.row().0
    }

    /// A state the step will not leave without an operator (retry, mark) or a saga.
    pub fn is_final(self) -> bool {
        self.is(FINAL)
    }

    /// Counts as "succeeded" for trigger rules (a compensated step did succeed first).
    pub fn is_success(self) -> bool {
        self.is(SUCCESS)
    }

    /// A process runs for it now: an attempt, or a service that is ready (the
    /// golden signals' and the metrics' "running").
    pub fn has_process(self) -> bool {
        self.is(PROCESS)
    }

    /// Lets a dependant start: a success, or a service that is up and ready.
    pub fn satisfies_needs(self) -> bool {
        self.is(NEEDS_MET)
    }

    /// The step itself failed or was rejected: a failure for trigger rules (as is
    /// `upstream_failed`) and for the run's outcome.
    pub fn is_failure(self) -> bool {
        self.is(FAILURE)
    }

    /// Ended without success: failed, rejected, cancelled or upstream_failed (a
    /// failure for trigger rules and a fan-out's failed instances).
    pub fn counts_as_failed(self) -> bool {
        self.is(FAILED)
    }

    /// It did not run and says why: skipped, or upstream_failed.
    pub fn is_not_run(self) -> bool {
        self.is(NOT_RUN)
    }

    /// It has not started and may be held: pending, queued, waiting to retry, at a gate.
    pub fn is_unstarted(self) -> bool {
        self.is(UNSTARTED)
    }

    /// Comes before an attempt exists: pending, queued, at a gate.
    pub fn precedes_attempt(self) -> bool {
        self.is(BEFORE_ATTEMPT)
    }

    /// On a plain step's way to success: queued, running, succeeded (what passes a
    /// gate; what may be committed late).
    pub fn on_the_way(self) -> bool {
        self.is(ON_THE_WAY)
    }

    /// A person may be needed: an open gate, a step to retry or mark, a held step to
    /// release; a running step too (its engine may be gone).
    pub fn waits_on_someone(self) -> bool {
        self.is(WAITS)
    }

    /// Its needs met and first on its way to an attempt or in one: at its gate,
    /// queued, running (when a step's `deadline.within` starts counting).
    pub fn is_under_way(self) -> bool {
        self.is(UNDER_WAY)
    }

    /// `baton retry` takes it: failed, rejected, interrupted, cancelled.
    pub fn is_retryable(self) -> bool {
        self.is(RETRYABLE)
    }

    /// Its process or its saga is at work (or done undoing): not to be marked.
    pub fn is_busy(self) -> bool {
        self.is(BUSY)
    }

    /// A state `baton mark` may set: succeeded or failed.
    pub fn is_mark_target(self) -> bool {
        self.is(MARK_TARGET)
    }

    /// Stopped without running by another's fate: skipped, upstream_failed, cancelled.
    pub fn is_stopped(self) -> bool {
        self.is(STOPPED)
    }

    /// At work or about to be: queued, running, retrying, at a gate, held,
    /// compensating, a ready service.
    pub fn is_active(self) -> bool {
        self.is(ACTIVE)
    }

    /// Stopped where only an operator's mark (or resume) moves it on: interrupted,
    /// or its compensation failed.
    pub fn awaits_mark(self) -> bool {
        self.is(AWAITS_MARK)
    }

    /// Ended badly for the run's failure count: failed, rejected, interrupted, or its
    /// compensation failed.
    pub fn ended_badly(self) -> bool {
        self.is(BAD_END)
    }

    /// GitHub's `needs.<job_id>.result` for a need in this state (`needs.X.result`,
    /// `needs.*.result`); `failure_allowed`: its `allow_failure` holds. `None` while
    /// it has not settled. The one table (docs/workflow-format.md):
    ///
    /// | baton | GitHub |
    /// |---|---|
    /// | succeeded, ready (a service up), compensating/compensated/compensation_failed (it did succeed) | `success` |
    /// | failed with `allow_failure` (GitHub's `continue-on-error` job reports success) | `success` |
    /// | failed (a timeout too), rejected (a refused gate: GitHub's refused environment fails the job) | `failure` |
    /// | skipped, upstream_failed (GitHub skips a job whose need failed) | `skipped` |
    /// | cancelled, interrupted | `cancelled` |
    pub fn github_result(self, failure_allowed: bool) -> Option<&'static str> {
        use StepState as S;
        Some(match self {
            S::Succeeded | S::Ready | S::Compensating | S::Compensated | S::CompensationFailed => {
                "success"
            }
            S::Failed if failure_allowed => "success",
            S::Failed | S::Rejected => "failure",
            S::Skipped | S::UpstreamFailed => "skipped",
            S::Cancelled | S::Interrupted => "cancelled",
            S::Pending | S::WaitingApproval | S::Queued | S::Running | S::RetryWait | S::Held => {
                return None;
            }
        })
    }
}

/// What a state counts as: one bit per question `StepState` answers.
#[derive(Clone, Copy)]
struct Traits(u32);

const FINAL: u32 = 1;
const SUCCESS: u32 = 1 << 1;
const PROCESS: u32 = 1 << 2;
const NEEDS_MET: u32 = 1 << 3;
const FAILURE: u32 = 1 << 4;
const FAILED: u32 = 1 << 5;
const NOT_RUN: u32 = 1 << 6;
const UNSTARTED: u32 = 1 << 7;
const BEFORE_ATTEMPT: u32 = 1 << 8;
const ON_THE_WAY: u32 = 1 << 9;
const WAITS: u32 = 1 << 10;
const RETRYABLE: u32 = 1 << 11;
const BUSY: u32 = 1 << 12;
const MARK_TARGET: u32 = 1 << 13;
const STOPPED: u32 = 1 << 14;
const ACTIVE: u32 = 1 << 15;
const AWAITS_MARK: u32 = 1 << 16;
const BAD_END: u32 = 1 << 17;
const UNDER_WAY: u32 = 1 << 18;

impl fmt::Display for StepState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The exit code of a run that ended `skipped` (docs/commands.md, "Exit codes").
pub const SKIPPED_EXIT: i32 = 4;

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
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum RunState {
    Pending,
    /// Its concurrency group has another active run: it waits, with nothing started,
    /// until the group is free (`on_conflict = "queue"` or `"cancel_running"`).
    Queued,
    Running,
    /// Only gates (or the budget gate) are open: the run waits for a person.
    Waiting,
    Succeeded,
    Failed,
    Cancelled,
    /// Its concurrency group had another active run and `on_conflict = "skip"`: it
    /// ended at once, with nothing run.
    Skipped,
    /// The engine went away; `baton resume` continues the run.
    Interrupted,
}

impl RunState {
    pub const ALL: &'static [RunState] = <RunState as strum::VariantArray>::VARIANTS;

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<RunState> {
        s.parse().ok()
    }

    pub fn is_final(self) -> bool {
        matches!(
            self,
            RunState::Succeeded | RunState::Failed | RunState::Cancelled | RunState::Skipped
        )
    }

    /// Process exit code for a finished run (docs/architecture.md, "States and exit codes").
    pub fn exit_code(self) -> i32 {
        match self {
            RunState::Succeeded => 0,
            // Nothing ran and nothing failed, but the caller must be able to tell.
            RunState::Skipped => SKIPPED_EXIT,
            RunState::Interrupted => 130,
            _ => 1,
        }
    }
}

impl fmt::Display for RunState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;

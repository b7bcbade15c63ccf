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

    /// A state the step will not leave without an operator (retry, mark) or a saga.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            StepState::Succeeded
                | StepState::Failed
                | StepState::Skipped
                | StepState::UpstreamFailed
                | StepState::Rejected
                | StepState::Cancelled
                | StepState::Compensated
                | StepState::CompensationFailed
        )
    }

    /// Counts as "succeeded" for trigger rules (a compensated step did succeed first).
    pub fn is_success(self) -> bool {
        matches!(
            self,
            StepState::Succeeded
                | StepState::Compensating
                | StepState::Compensated
                | StepState::CompensationFailed
        )
    }

    /// A process runs for it now: an attempt, or a service that is ready (the
    /// golden signals' and the metrics' "running").
    pub fn has_process(self) -> bool {
        matches!(self, StepState::Running | StepState::Ready)
    }

    /// Lets a dependant start: a success, or a service that is up and ready.
    pub fn satisfies_needs(self) -> bool {
        self.is_success() || self == StepState::Ready
    }

    /// The step itself failed or was rejected: a failure for trigger rules (as is
    /// `upstream_failed`) and for the run's outcome.
    pub fn is_failure(self) -> bool {
        matches!(self, StepState::Failed | StepState::Rejected)
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

    /// A glyph that tells the state without colour.
    pub fn glyph(self) -> &'static str {
        match self {
            StepState::Pending => "·",
            StepState::WaitingApproval => "⏸",
            StepState::Queued => "○",
            StepState::Running => "▶",
            StepState::Ready => "◉",
            StepState::RetryWait => "↻",
            StepState::Succeeded => "✔",
            StepState::Failed => "✘",
            StepState::Skipped => "⤼",
            StepState::UpstreamFailed => "⇣",
            StepState::Rejected => "⊘",
            StepState::Cancelled => "■",
            StepState::Interrupted => "↯",
            StepState::Compensating => "↶",
            StepState::Compensated => "↺",
            StepState::CompensationFailed => "‼",
            StepState::Held => "⏯",
        }
    }
}

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

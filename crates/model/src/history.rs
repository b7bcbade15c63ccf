//! One reading of the history. Every reader of a run's events (the core's view, the
//! store's projection and audit chain, `show`, `baton audit`, the console, the headless
//! printer) names each decision and computes each figure through the functions here.
//!
//! The functions that read an [`EventKind`] match it without a wildcard arm: a new kind
//! of event does not compile until it is read here, once, for every reader.
use super::event::{Command, DecisionSignature, Event, EventKind};
use super::state::StepState;
use super::time::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

mod decisions;

/// The name of a decision in the audit trail (`baton audit`, the console's Audit tab).
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
#[strum(serialize_all = "snake_case", const_into_str)]
pub enum AuditAction {
    RunStarted,
    RunResumed,
    RunFinished,
    GateOpened,
    ApprovalVote,
    Approved,
    Rejected,
    TimedOut,
    Voided,
    /// `baton push-back`: the gate's `revise` steps run again (issue 44 point 3).
    PushedBack,
    CommandRefused,
    Retry,
    /// `baton retry RUN --failed`: every failed step and instance, one decision.
    RetryFailed,
    Mark,
    BudgetExceeded,
    BudgetRaised,
    /// The budget gate rejected: by an operator, or by its `timeout`.
    BudgetRejected,
    Cancel,
    CompensationStarted,
    CompensationFinished,
    /// A step's next attempt runs its next `fallback` alternative.
    Fallback,
    /// `baton hold`, or a step's retries ran out under `exhausted = "hold"`.
    Hold,
    /// `baton release`, or a hold's `--until` passed.
    Release,
    /// The run's labels set or removed: given at its start, by a step's
    /// `$BATON_LABELS`, or by hand (`baton label`).
    Labelled,
    /// A run was deleted (`runs rm`, `gc`): a row of the store, not of an event.
    RunDeleted,
    /// What a deleted run's rows become: content blanked, links kept.
    Redacted,
    /// `baton schedule pause|resume|trigger`: a row of the store, not of an event.
    SchedulePaused,
    ScheduleResumed,
    ScheduleTriggered,
    /// `baton schedule backfill`: slots of a past range asked for.
    ScheduleBackfilled,
    /// `baton audit rotate`: the store re-keyed with a new audit key, old ones retired.
    KeyRotated,
    /// `baton store init`: the store made, private or shared by a group.
    StoreInitialized,
    /// `baton note`: an operator's note on a run or a step, a row of no event.
    Note,
    /// `baton trigger pause|resume`: a `[[trigger]]`'s events make no run, or do
    /// again; a row of the store, not of an event.
    TriggerPaused,
    TriggerResumed,
    /// `baton serve` is about to tell the next block of a waiting gate's `escalate`
    /// list; `escalation_sent` once the target took it; `escalation_found` when a send
    /// due again was not made because the target, read back, already had its key (rows
    /// of no event).
    EscalationDue,
    EscalationSent,
    EscalationFound,
}

impl AuditAction {
    pub const ALL: &'static [AuditAction] = <AuditAction as strum::VariantArray>::VARIANTS;

    pub const fn as_str(self) -> &'static str {
        self.into_str()
    }

    pub fn parse(s: &str) -> Option<AuditAction> {
        s.parse().ok()
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`, so that `{:18}` aligns columns.
        f.pad(self.as_str())
    }
}

/// The actor of decisions the engine takes itself (timeouts, policies, compensation).
pub const ENGINE: &str = "engine";
/// The actor of a decision made by a gate's `auto` rule (issue 44 point 4).
pub const POLICY: &str = "policy";

/// The kinds of event that record no decision and write no approval row whatever
/// their fields: the bulk of every history (a step's states, its process, its end, the
/// run's states). A check of decisions reads only their head (`EventHead`); the chain's
/// hash covers their whole text.
pub const PLAIN_KINDS: [&str; 4] = [
    "step_state_changed",
    "step_process",
    "step_finished",
    "run_state_changed",
];

/// The audit action an event records, `None` for plain transitions. Cheap (no
/// allocation): the store asks it of every event it commits.
pub fn audit_action(kind: &EventKind) -> Option<AuditAction> {
    use EventKind as K;
    Some(match kind {
        K::RunStarted { .. } => AuditAction::RunStarted,
        K::RunResumed { .. } => AuditAction::RunResumed,
        K::RunFinished { .. } => AuditAction::RunFinished,
        K::GateOpened { .. } => AuditAction::GateOpened,
        K::ApprovalGiven { .. } => AuditAction::ApprovalVote,
        K::GateApproved { .. } => AuditAction::Approved,
        K::GateRejected {
            timed_out: true, ..
        } => AuditAction::TimedOut,
        K::GateRejected {
            timed_out: false, ..
        } => AuditAction::Rejected,
        K::GateVoided { .. } => AuditAction::Voided,
        K::GatePushedBack { .. } => AuditAction::PushedBack,
        K::CommandRefused { .. } => AuditAction::CommandRefused,
        // A step `retry --failed` took up: its decision is the `failed_retried` before it.
        K::StepRetried { batch: true, .. } => return None,
        K::StepRetried { batch: false, .. } => AuditAction::Retry,
        K::FailedRetried { .. } => AuditAction::RetryFailed,
        K::StepMarked { .. } => AuditAction::Mark,
        K::BudgetExceeded { .. } => AuditAction::BudgetExceeded,
        K::BudgetRaised { .. } => AuditAction::BudgetRaised,
        K::BudgetRejected { .. } => AuditAction::BudgetRejected,
        K::CancelRequested { .. } => AuditAction::Cancel,
        K::CompensationStarted { .. } => AuditAction::CompensationStarted,
        K::CompensationFinished { .. } => AuditAction::CompensationFinished,
        K::StepFellBack { .. } => AuditAction::Fallback,
        K::StepHeld { .. } => AuditAction::Hold,
        K::StepReleased { .. } => AuditAction::Release,
        K::RunLabelled { .. } => AuditAction::Labelled,
        K::RunStateChanged { .. }
        | K::StepStateChanged { .. }
        | K::StepDealtWith { .. }
        | K::StepProcess { .. }
        | K::StepOutputsKept { .. }
        | K::ArtifactsStored { .. }
        | K::StepLaunching { .. }
        | K::StepJob { .. }
        | K::StepJobState { .. }
        | K::StepCached { .. }
        | K::StepReused { .. }
        | K::RunForked { .. }
        | K::StepFannedOut { .. }
        | K::StepProbed { .. }
        | K::ServiceStopping { .. }
        | K::StepFinished { .. }
        | K::RetryScheduled { .. }
        | K::ErrorRecorded { .. }
        | K::ErrorsClosed { .. }
        | K::StepUsage { .. }
        | K::GateWarning { .. }
        | K::DeadlineMissed { .. } => return None,
    })
}

/// Whether any of `events` records a decision: the store commits such a batch with
/// `synchronous = FULL`, and nothing it decides starts before that commit.
pub fn holds_decision(events: &[Event]) -> bool {
    events.iter().any(|e| audit_action(&e.kind).is_some())
}

/// What a decision event records: the audit chain's row content (`details` as JSON)
/// and the console's one-line account of it (`summary`).
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub actor: String,
    pub action: AuditAction,
    pub step: Option<String>,
    pub reason: Option<String>,
    /// Stored in the audit chain (hashed): keep its shape stable.
    pub details: serde_json::Value,
    /// The details for a person to read.
    pub summary: String,
}

/// `details` with the decision's signature under `signature` (its principal, key,
/// message and armored SSHSIG), when it was signed: the audit row and the approvals
/// row carry the same.
pub fn with_signature(
    mut details: serde_json::Value,
    sig: Option<&DecisionSignature>,
) -> serde_json::Value {
    if let (Some(sig), Some(map)) = (sig, details.as_object_mut()) {
        map.insert("signature".into(), json!(sig));
    }
    details
}

/// A signed decision's one-line account (`signed by SHA256:…`), empty when unsigned.
fn signed_summary(sig: Option<&DecisionSignature>) -> String {
    sig.map(|s| format!("signed by {} ({})", s.principal, s.key))
        .unwrap_or_default()
}

/// An approval vote's summary: its inputs (`inputs: env=prod, tag=v1`) and signer.
fn approval_summary(sig: Option<&DecisionSignature>, inputs: &BTreeMap<String, String>) -> String {
    let inputs = inputs_line(inputs);
    match (inputs.is_empty(), signed_summary(sig)) {
        (_, s) if s.is_empty() => inputs,
        (true, s) => s,
        (false, s) => format!("{inputs}; {s}"),
    }
}

/// An approval's inputs as one line, `inputs: env=prod, tag=v1` (empty without any):
/// the audit, `show` and the console write them so.
pub fn inputs_line(inputs: &BTreeMap<String, String>) -> String {
    if inputs.is_empty() {
        return String::new();
    }
    let pairs: Vec<String> = inputs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("inputs: {}", pairs.join(", "))
}

/// `changed from the proposal: sql (was "SELECT 1")`: the inputs an approver edited,
/// with what the gate proposed (each cut to a line).
pub fn changed_line(proposed: &BTreeMap<String, String>) -> String {
    let each: Vec<String> = proposed
        .iter()
        .map(|(k, v)| {
            let short: String = v.chars().take(40).collect();
            let cut = if short.len() < v.len() { "…" } else { "" };
            format!("{k} (was {:?}{cut})", short)
        })
        .collect();
    format!("changed from the proposal: {}", each.join(", "))
}

/// The decision an event records, `None` for plain transitions (exactly when
/// [`audit_action`] is `None`). One arm per concern, each kind named once: a new kind
/// does not compile until it is placed.
pub fn decision(kind: &EventKind) -> Option<Decision> {
    let action = audit_action(kind)?;
    use EventKind as K;
    let said = match kind {
        K::RunStarted { .. }
        | K::RunResumed { .. }
        | K::RunFinished { .. }
        | K::CancelRequested { .. }
        | K::FailedRetried { .. }
        | K::CommandRefused { .. } => decisions::run(kind),
        K::GateOpened { .. } => decisions::gate_opened(kind),
        K::ApprovalGiven { .. }
        | K::GateApproved { .. }
        | K::GateRejected { .. }
        | K::GateVoided { .. }
        | K::GatePushedBack { .. } => decisions::gate(kind),
        K::StepRetried { .. }
        | K::StepMarked { .. }
        | K::StepFellBack { .. }
        | K::CompensationStarted { .. }
        | K::CompensationFinished { .. }
        | K::StepHeld { .. }
        | K::StepReleased { .. } => decisions::step(kind),
        K::BudgetExceeded { .. } | K::BudgetRejected { .. } | K::BudgetRaised { .. } => {
            decisions::budget(kind)
        }
        K::RunLabelled { .. } => decisions::labelled(kind),
        K::RunStateChanged { .. }
        | K::StepStateChanged { .. }
        | K::StepDealtWith { .. }
        | K::StepProcess { .. }
        | K::StepOutputsKept { .. }
        | K::ArtifactsStored { .. }
        | K::StepLaunching { .. }
        | K::StepJob { .. }
        | K::StepJobState { .. }
        | K::StepCached { .. }
        | K::StepReused { .. }
        | K::RunForked { .. }
        | K::StepFannedOut { .. }
        | K::StepProbed { .. }
        | K::ServiceStopping { .. }
        | K::StepFinished { .. }
        | K::RetryScheduled { .. }
        | K::ErrorRecorded { .. }
        | K::ErrorsClosed { .. }
        | K::StepUsage { .. }
        | K::GateWarning { .. }
        | K::DeadlineMissed { .. } => return None,
    }?;
    Some(Decision {
        actor: said.actor,
        action,
        step: said.step,
        reason: said.reason,
        details: said.details,
        summary: said.summary,
    })
}

/// A hold's one-line account: frozen or not, until when, and why the engine held it.
pub fn hold_summary(until: Option<Timestamp>, frozen: bool, exhausted: bool) -> String {
    let mut parts = Vec::new();
    if frozen {
        parts.push("frozen (its process group stopped)".to_string());
    }
    if exhausted {
        parts.push("its retries ran out".to_string());
    }
    if let Some(t) = until {
        parts.push(format!("until {}", t.to_rfc3339()));
    }
    parts.join("; ")
}

/// A fallback's one-line account: which attempt failed and which alternative runs next.
pub fn fallback_summary(attempt: u32, alternative: u32) -> String {
    format!(
        "attempt {attempt} failed; attempt {} runs alternative {alternative}",
        attempt + 1
    )
}

/// The step a command concerns (`budget` for a budget raise, none for a cancel).
pub fn command_step(cmd: &Command) -> Option<String> {
    match cmd {
        Command::Approve { step, .. }
        | Command::Reject { step, .. }
        | Command::Retry { step, .. }
        | Command::PushBack { step, .. }
        | Command::Mark { step, .. } => Some(step.clone()),
        Command::RaiseBudget { .. } | Command::RejectBudget { .. } => Some("budget".into()),
        Command::Hold { steps, .. } | Command::Release { steps, .. } => {
            (!steps.is_empty()).then(|| steps.join(","))
        }
        Command::Cancel { .. } | Command::RetryFailed { .. } | Command::Label { .. } => None,
    }
}

/// Which error records an event closes (they stay on record but no longer count
/// against health).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Closes<'a> {
    /// These records (of this step), by id.
    Ids { step: &'a str, ids: &'a [String] },
    /// Every open record of this step.
    Step(&'a str),
}

/// The error records an event closes: the ids it names; every record of a step that
/// succeeds (or is marked succeeded); every record of a step an operator retries.
pub fn errors_closed(kind: &EventKind) -> Option<Closes<'_>> {
    use EventKind as K;
    match kind {
        K::ErrorsClosed { step, ids } => Some(Closes::Ids { step, ids }),
        K::StepStateChanged { step, state, .. } if *state == StepState::Succeeded => {
            Some(Closes::Step(step))
        }
        K::StepMarked { step, state, .. } if state.is_success() => Some(Closes::Step(step)),
        K::StepRetried { step, .. } => Some(Closes::Step(step)),
        K::StepStateChanged { .. }
        | K::StepDealtWith { .. }
        | K::StepMarked { .. }
        | K::RunStarted { .. }
        | K::RunResumed { .. }
        | K::RunStateChanged { .. }
        | K::StepProcess { .. }
        | K::StepOutputsKept { .. }
        | K::ArtifactsStored { .. }
        | K::StepLaunching { .. }
        | K::StepJob { .. }
        | K::StepJobState { .. }
        | K::StepCached { .. }
        | K::StepReused { .. }
        | K::RunForked { .. }
        | K::StepFannedOut { .. }
        | K::StepProbed { .. }
        | K::ServiceStopping { .. }
        | K::StepFinished { .. }
        | K::RetryScheduled { .. }
        | K::StepFellBack { .. }
        | K::ErrorRecorded { .. }
        | K::GateOpened { .. }
        | K::GateWarning { .. }
        | K::DeadlineMissed { .. }
        | K::ApprovalGiven { .. }
        | K::GateApproved { .. }
        | K::GateRejected { .. }
        | K::GateVoided { .. }
        | K::GatePushedBack { .. }
        | K::CommandRefused { .. }
        | K::BudgetExceeded { .. }
        | K::BudgetRaised { .. }
        | K::BudgetRejected { .. }
        | K::CancelRequested { .. }
        | K::CompensationStarted { .. }
        | K::CompensationFinished { .. }
        | K::StepHeld { .. }
        | K::StepReleased { .. }
        | K::StepUsage { .. }
        | K::FailedRetried { .. }
        | K::RunLabelled { .. }
        | K::RunFinished { .. } => None,
    }
}

/// How long a step ran: while it runs, from its latest attempt's start to `now`;
/// otherwise its latest attempt's measured run time (`StepFinished::duration_ms`),
/// `None` if that attempt never finished (the engine died) or no attempt ran.
/// Time spent queued, waiting for a gate, between retries or compensating is not
/// the step's duration.
pub fn step_duration(
    state: StepState,
    started_at: Option<Timestamp>,
    last_attempt_ms: Option<u64>,
    now: Timestamp,
) -> Option<Duration> {
    use StepState as S;
    match state {
        // A ready service's process still runs.
        S::Running | S::Ready => started_at.map(|s| now.since(s)),
        S::Pending
        | S::WaitingApproval
        | S::Queued
        | S::RetryWait
        | S::Succeeded
        | S::Failed
        | S::Skipped
        | S::UpstreamFailed
        | S::Rejected
        | S::Cancelled
        | S::Interrupted
        | S::Compensating
        | S::Compensated
        | S::Held
        | S::CompensationFailed => last_attempt_ms.map(Duration::from_millis),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RunState;

    #[test]
    fn actions_read_back_and_match_the_decision() {
        for &a in AuditAction::ALL {
            assert_eq!(AuditAction::parse(a.as_str()), Some(a));
            assert_eq!(
                serde_json::to_value(a).unwrap(),
                serde_json::Value::String(a.as_str().into())
            );
        }
        assert_eq!(format!("{:>10}|", AuditAction::Retry), "     retry|");
        let k = EventKind::GateApproved {
            step: "deploy".into(),
            actor: "alice".into(),
            approvers: vec!["alice".into()],
        };
        assert_eq!(audit_action(&k), Some(AuditAction::Approved));
        assert_eq!(decision(&k).unwrap().action, AuditAction::Approved);
        let k = EventKind::RunStateChanged {
            state: RunState::Running,
            reason: None,
        };
        assert_eq!((audit_action(&k), decision(&k)), (None, None));
    }

    #[test]
    fn a_running_step_counts_to_now_and_a_finished_one_its_last_attempt() {
        let t = Timestamp(10_000);
        let now = Timestamp(13_500);
        assert_eq!(
            step_duration(StepState::Running, Some(t), Some(900), now),
            Some(Duration::from_millis(3_500))
        );
        assert_eq!(
            step_duration(StepState::Compensated, Some(t), Some(900), now),
            Some(Duration::from_millis(900))
        );
        assert_eq!(
            step_duration(StepState::Interrupted, Some(t), None, now),
            None
        );
        assert_eq!(step_duration(StepState::Skipped, None, None, now), None);
    }

    #[test]
    fn a_retry_closes_the_steps_errors_and_a_failure_does_not() {
        let retried = EventKind::StepRetried {
            step: "a".into(),
            actor: "bob".into(),
            rearmed: vec![],
            batch: false,
        };
        assert_eq!(errors_closed(&retried), Some(Closes::Step("a")));
        let failed = EventKind::StepStateChanged {
            step: "a".into(),
            state: StepState::Failed,
            attempt: 1,
            reason: None,
        };
        assert_eq!(errors_closed(&failed), None);
    }
}

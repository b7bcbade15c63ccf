//! The approvals rows an event writes (a gate opened, a vote, a decision, a voided
//! gate, a refused attempt to decide): what the projection writes into `approvals` and
//! what `audit verify` compares the stored rows with, derived in this one place.
use baton_model::history;
use baton_model::{Command, Event, EventKind};
use std::borrow::Cow;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Approval<'a> {
    pub seq: i64,
    pub at: i64,
    pub step: Cow<'a, str>,
    pub kind: &'static str,
    pub actor: &'a str,
    pub reason: Option<&'a str>,
    pub digest: Option<&'a str>,
    pub details: serde_json::Value,
}

/// The approvals rows one event writes, in order: what `audit verify` compares the
/// stored rows with.
pub(crate) fn approvals_of(ev: &Event) -> Vec<Approval<'_>> {
    let mut approvals = Vec::new();
    push(ev, &mut approvals);
    approvals
}

/// The approvals rows one event writes, in order, added to `approvals`.
pub(crate) fn push<'a>(ev: &'a Event, approvals: &mut Vec<Approval<'a>>) {
    approvals.extend(row(ev));
}

/// The approvals row an event writes, if any (an event writes one at most).
fn row(ev: &Event) -> Option<Approval<'_>> {
    match &ev.kind {
        EventKind::GateOpened { .. } | EventKind::ApprovalGiven { .. } => opened_or_vote(ev),
        _ => decided(ev),
    }
}

/// The row of a gate's opening or of a vote.
fn opened_or_vote(ev: &Event) -> Option<Approval<'_>> {
    match &ev.kind {
        EventKind::GateOpened {
            step,
            digest,
            prompt,
            deadline,
            approvers,
            quorum,
            signed,
            round,
            ..
        } => {
            let mut details = serde_json::json!({"prompt": prompt, "deadline": deadline, "approvers": approvers, "quorum": quorum});
            if *signed {
                details["signed"] = serde_json::json!(true);
            }
            if let Some(r) = round {
                details["round"] = serde_json::json!(r);
            }
            approval(
                ev,
                Cow::Borrowed(step),
                "opened",
                "engine",
                None,
                Some(digest),
                details,
            )
        }
        EventKind::ApprovalGiven {
            step,
            actor,
            reason,
            digest,
            signature,
            inputs,
            ..
        } => {
            let mut details = serde_json::json!({});
            if !inputs.is_empty() {
                details["inputs"] = serde_json::json!(inputs);
            }
            approval(
                ev,
                Cow::Borrowed(step),
                "vote",
                actor,
                reason.as_deref(),
                Some(digest),
                history::with_signature(details, signature.as_ref()),
            )
        }
        _ => None,
    }
}

/// The row of a decision at a gate: approved, rejected, voided, pushed back, or an
/// attempt to decide one refused.
fn decided(ev: &Event) -> Option<Approval<'_>> {
    match &ev.kind {
        EventKind::GateApproved {
            step,
            actor,
            approvers,
        } => approval(
            ev,
            Cow::Borrowed(step),
            "approved",
            actor,
            None,
            None,
            serde_json::json!({"approvers": approvers}),
        ),
        EventKind::GateRejected {
            step,
            actor,
            reason,
            timed_out,
            signature,
        } => approval(
            ev,
            Cow::Borrowed(step),
            if *timed_out { "timed_out" } else { "rejected" },
            actor,
            Some(reason),
            None,
            history::with_signature(serde_json::json!({}), signature.as_ref()),
        ),
        EventKind::GateVoided { step, reason } => approval(
            ev,
            Cow::Borrowed(step),
            "voided",
            "engine",
            Some(reason),
            None,
            serde_json::json!({}),
        ),
        EventKind::GatePushedBack {
            step,
            actor,
            reason,
            round,
            rerun,
            signature,
        } => approval(
            ev,
            Cow::Borrowed(step),
            "pushed_back",
            actor,
            Some(reason),
            None,
            history::with_signature(
                serde_json::json!({"round": round, "rerun": rerun}),
                signature.as_ref(),
            ),
        ),
        EventKind::CommandRefused {
            command, reason, ..
        } => {
            // Refused attempts to decide a gate (or raise the budget) are approval records.
            let step = refused_decision(command)?;
            approval(
                ev,
                Cow::Owned(step),
                "refused",
                command.operator(),
                Some(reason),
                None,
                serde_json::json!({"command": command}),
            )
        }
        _ => None,
    }
}

/// An approvals row of event `ev`.
fn approval<'a>(
    ev: &Event,
    step: Cow<'a, str>,
    kind: &'static str,
    actor: &'a str,
    reason: Option<&'a str>,
    digest: Option<&'a str>,
    details: serde_json::Value,
) -> Option<Approval<'a>> {
    Some(Approval {
        seq: ev.seq as i64,
        at: ev.at.0,
        step,
        kind,
        actor,
        reason,
        digest,
        details,
    })
}

/// The step a refused command would have decided the gate of (or `budget`), for a
/// refused approval, rejection, push-back or raise.
fn refused_decision(command: &Command) -> Option<String> {
    let decides = matches!(
        command,
        Command::Approve { .. }
            | Command::Reject { .. }
            | Command::PushBack { .. }
            | Command::RaiseBudget { .. }
    );
    decides.then(|| history::command_step(command)).flatten()
}

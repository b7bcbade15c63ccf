//! The approvals rows an event writes (a gate opened, a vote, a decision, a voided
//! gate, a refused attempt to decide): what the projection writes into `approvals` and
//! what `audit verify` compares the stored rows with, derived in this one place.
use baton_model::history;
use baton_model::{Command, Event, EventKind};
use std::borrow::Cow;

#[derive(Debug, Clone, PartialEq)]
pub struct Approval<'a> {
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
pub fn approvals_of(ev: &Event) -> Vec<Approval<'_>> {
    let mut approvals = Vec::new();
    push(ev, &mut approvals);
    approvals
}

/// The approvals rows one event writes, in order, added to `approvals`.
pub(crate) fn push<'a>(ev: &'a Event, approvals: &mut Vec<Approval<'a>>) {
    let seq = ev.seq as i64;
    let at = ev.at.0;
    let mut approval = |step: Cow<'a, str>,
                        kind: &'static str,
                        actor: &'a str,
                        reason: Option<&'a str>,
                        digest: Option<&'a str>,
                        details: serde_json::Value| {
        approvals.push(Approval {
            seq,
            at,
            step,
            kind,
            actor,
            reason,
            digest,
            details,
        })
    };
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
                Cow::Borrowed(step),
                "vote",
                actor,
                reason.as_deref(),
                Some(digest),
                history::with_signature(details, signature.as_ref()),
            )
        }
        EventKind::GateApproved {
            step,
            actor,
            approvers,
        } => approval(
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
            Cow::Borrowed(step),
            if *timed_out { "timed_out" } else { "rejected" },
            actor,
            Some(reason),
            None,
            history::with_signature(serde_json::json!({}), signature.as_ref()),
        ),
        EventKind::GateVoided { step, reason } => approval(
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
        } => approval(
            Cow::Borrowed(step),
            "pushed_back",
            actor,
            Some(reason),
            None,
            serde_json::json!({"round": round, "rerun": rerun}),
        ),
        EventKind::CommandRefused {
            command, reason, ..
        } => {
            // Refused attempts to decide a gate (or raise the budget) are approval records.
            if matches!(
                command,
                Command::Approve { .. }
                    | Command::Reject { .. }
                    | Command::PushBack { .. }
                    | Command::RaiseBudget { .. }
            ) && let Some(step) = baton_model::history::command_step(command)
            {
                approval(
                    Cow::Owned(step),
                    "refused",
                    command.operator(),
                    Some(reason),
                    None,
                    serde_json::json!({"command": command}),
                )
            }
        }
        _ => {}
    }
}

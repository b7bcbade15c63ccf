//! What a command names, checked before it is queued for an engine that is not this
//! process's (the starter's, or the next one's): a gate decision naming a step the run
//! does not have, or one without a gate, can never apply, so it is refused here, on
//! record, instead of sitting in the `commands` table as if it were on its way. Whether
//! it applies otherwise (the gate open, who may decide it) stays the core's to say.
use crate::SessionError;
use baton_model::history::{AuditAction, Decision};
use baton_model::{Command, Refusal};
use baton_store::Store;

/// `Err(Refused)`, with the refusal on the audit chain under `run_id` as `command`'s
/// operator's, when `command` names a step run `run_id`'s recorded workflow does not
/// have, or decides a gate that step does not have.
pub(super) fn check(
    store: &mut Store,
    run_id: &str,
    command: &Command,
) -> Result<(), SessionError> {
    let Some(refusal) = named_refusal(store, run_id, command)? else {
        return Ok(());
    };
    let d = Decision {
        actor: command.operator().to_string(),
        action: AuditAction::CommandRefused,
        step: baton_model::history::command_step(command),
        reason: Some(refusal.to_string()),
        summary: format!("refused before it was queued: {refusal}"),
        // As the core's `command_refused` row names it (`baton audit`:
        // `command_refused approve (no_gate)`).
        details: serde_json::json!({ "command": command, "code": refusal.code() }),
    };
    store.record_refusal(run_id, &d)?;
    Err(SessionError::Refused {
        run_id: run_id.to_string(),
        state: store.run(run_id)?.state,
        refusal: Box::new(refusal),
    })
}

/// The refusal the core would give `command` whatever the run's state: its step not
/// in the run's workflow as recorded (a fan-out instance: not made yet), or, for an
/// approval, a rejection or a push-back, that step without a gate. `None` for a
/// command naming no step, for the budget's gate (the core's), and when the record
/// does not load (the starter's engine refuses such a record before anything applies).
fn named_refusal(
    store: &Store,
    run_id: &str,
    command: &Command,
) -> Result<Option<Refusal>, SessionError> {
    let (step, gate) = match command {
        Command::Approve { step, .. }
        | Command::Reject { step, .. }
        | Command::PushBack { step, .. } => (step, true),
        Command::Retry { step, .. } | Command::Mark { step, .. } => (step, false),
        Command::RetryFailed { .. }
        | Command::Cancel { .. }
        | Command::Hold { .. }
        | Command::Release { .. }
        | Command::Label { .. }
        | Command::RaiseBudget { .. }
        | Command::RejectBudget { .. } => return Ok(None),
    };
    if step == "budget" {
        return Ok(None);
    }
    let record = store.run(run_id)?;
    let signers = store.first_event(run_id)?.and_then(|e| match e.kind {
        baton_model::EventKind::RunStarted {
            allowed_signers, ..
        } => allowed_signers,
        _ => None,
    });
    let from = baton_workflow::SignersFrom::Recorded(signers.as_deref());
    let Ok(plan) = baton_workflow::load_str_with(&record.source_text, &record.source_path, from)
    else {
        return Ok(None);
    };
    // An instance is its fanned-out step's, once the run made it.
    let declared = match baton_workflow::fanout::parent_id(step) {
        Some(parent) if store.step_state(run_id, step)?.is_some() => parent,
        Some(_) => "",
        None => step.as_str(),
    };
    Ok(match plan.steps.iter().find(|s| s.id == declared) {
        None => Some(Refusal::NoSuchStep { step: step.clone() }),
        Some(s) if gate && s.gate.is_none() => Some(Refusal::NoGate { step: step.clone() }),
        Some(_) => None,
    })
}

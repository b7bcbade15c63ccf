//! The decision each kind of event records (`history::decision`), by concern. Each
//! function here is called only for the kinds `decision` sends it (its match there
//! has no wildcard arm); any other kind gets `None`.
use super::*;

/// What a decision says, before its action is named.
pub(super) struct Said {
    pub actor: String,
    pub step: Option<String>,
    pub reason: Option<String>,
    pub details: serde_json::Value,
    pub summary: String,
}

fn said(
    actor: &str,
    step: Option<&String>,
    reason: Option<&String>,
    details: serde_json::Value,
    summary: String,
) -> Said {
    Said {
        actor: actor.to_string(),
        step: step.cloned(),
        reason: reason.cloned(),
        details,
        summary,
    }
}

/// A gate opened: who may approve, how many, what it binds to.
pub(super) fn gate_opened(kind: &EventKind) -> Option<Said> {
    let EventKind::GateOpened {
        step,
        prompt,
        deadline,
        digest,
        approvers,
        quorum,
        signed,
        inputs,
        round,
    } = kind
    else {
        return None;
    };
    let who = if approvers.is_empty() {
        "anyone".to_string()
    } else {
        approvers.join(", ")
    };
    let mut details = json!({ "prompt": prompt, "deadline": deadline, "digest": digest,
        "approvers": approvers, "quorum": quorum });
    if *signed {
        details["signed"] = json!(true);
    }
    // What the inputs' templates rendered to: the choices this opening offered.
    if !inputs.is_empty() {
        details["inputs"] = json!(inputs);
    }
    // Only on a gate that can be pushed back: an older row keeps its hash.
    if let Some(r) = round {
        details["round"] = json!(r);
    }
    let mut how = if *signed {
        "; signed approvals only".to_string()
    } else {
        String::new()
    };
    if let Some(r) = round {
        how.push_str(&format!("; {r}"));
    }
    Some(said(
        ENGINE,
        Some(step),
        None,
        details,
        format!("prompt: {prompt}; approvers: {who}; quorum {quorum}; digest {digest}{how}"),
    ))
}

/// `run_started`'s audit row: how the run was started (params masked, as recorded).
fn run_started(kind: &EventKind) -> Option<Said> {
    let EventKind::RunStarted {
        workflow,
        operator,
        params,
        auto_approve,
        allowed_signers,
        slot,
        parent,
        ..
    } = kind
    else {
        return None;
    };
    let list: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let (mut details, auto) = if *auto_approve {
        (
            json!({ "workflow": workflow, "params": params, "auto_approve": true }),
            "; gates auto-approved",
        )
    } else {
        (json!({ "workflow": workflow, "params": params }), "")
    };
    // The signers every signed decision of the run is verified against.
    if let Some(text) = allowed_signers {
        details["allowed_signers"] = json!(text);
    }
    // The schedule's slot (or trigger's time) the run was started for.
    if let Some(at) = slot {
        details["slot"] = json!(at.slot_text());
    }
    // A child run: the parent step's attempt whose engine made it.
    if let Some(p) = parent {
        details["parent"] = json!(p);
    }
    Some(said(
        operator,
        None,
        None,
        details,
        format!("workflow {workflow}; params: {}{auto}", list.join(", ")),
    ))
}

/// The run's own decisions: started, resumed, finished, cancelled, a command refused.
pub(super) fn run(kind: &EventKind) -> Option<Said> {
    use EventKind as K;
    Some(match kind {
        K::RunStarted { .. } => return run_started(kind),
        K::RunResumed {
            operator,
            auto_approve,
        } => {
            if *auto_approve {
                said(
                    operator,
                    None,
                    None,
                    json!({ "auto_approve": true }),
                    "gates auto-approved".into(),
                )
            } else {
                said(operator, None, None, json!({}), String::new())
            }
        }
        K::RunFinished { state, summary, .. } => said(
            ENGINE,
            None,
            Some(summary),
            json!({ "state": state }),
            state.to_string(),
        ),
        K::CancelRequested { actor, reason } => {
            said(actor, None, reason.as_ref(), json!({}), String::new())
        }
        K::FailedRetried { actor, steps, left } => {
            let mut summary = format!("retried: {}", steps.join(", "));
            if !left.is_empty() {
                summary.push_str(&format!(
                    "; interrupted, left to retry or mark one by one: {}",
                    left.join(", ")
                ));
            }
            said(
                actor,
                None,
                None,
                json!({ "steps": steps, "left": left }),
                summary,
            )
        }
        K::CommandRefused {
            command,
            reason,
            code,
        } => {
            // The code only where the event has one: an older row keeps its hash.
            let details = match code {
                Some(code) => json!({ "command": command, "code": code }),
                None => json!({ "command": command }),
            };
            let summary = serde_json::to_string(command).unwrap_or_default();
            let summary = match code {
                Some(code) => format!("[{code}] {summary}"),
                None => summary,
            };
            said(
                command.operator(),
                command_step(command).as_ref(),
                Some(reason),
                details,
                summary,
            )
        }
        _ => return None,
    })
}

/// A gate's decisions after its opening: votes, approval, rejection, voiding, push-back.
pub(super) fn gate(kind: &EventKind) -> Option<Said> {
    use EventKind as K;
    Some(match kind {
        K::ApprovalGiven {
            step,
            actor,
            reason,
            digest,
            signature,
            inputs,
            proposed,
        } => {
            let mut details = json!({ "digest": digest });
            if !inputs.is_empty() {
                details["inputs"] = json!(inputs);
            }
            // Edited before approving: what was proposed for each changed input.
            if !proposed.is_empty() {
                details["proposed"] = json!(proposed);
            }
            let mut summary = approval_summary(signature.as_ref(), inputs);
            if !proposed.is_empty() {
                summary.push_str(&format!("; {}", changed_line(proposed)));
            }
            said(
                actor,
                Some(step),
                reason.as_ref(),
                with_signature(details, signature.as_ref()),
                summary,
            )
        }
        K::GateApproved {
            step,
            actor,
            approvers,
        } => said(
            actor,
            Some(step),
            None,
            json!({ "approvers": approvers }),
            format!("approved by {}", approvers.join(", ")),
        ),
        K::GateRejected {
            step,
            actor,
            reason,
            signature,
            ..
        } => said(
            actor,
            Some(step),
            Some(reason),
            with_signature(json!({}), signature.as_ref()),
            signed_summary(signature.as_ref()),
        ),
        K::GateVoided { step, reason } => {
            said(ENGINE, Some(step), Some(reason), json!({}), String::new())
        }
        K::GatePushedBack {
            step,
            actor,
            reason,
            round,
            rerun,
            signature,
        } => {
            let signed = signed_summary(signature.as_ref());
            let signed = match signed.is_empty() {
                true => signed,
                false => format!("; {signed}"),
            };
            said(
                actor,
                Some(step),
                Some(reason),
                with_signature(
                    json!({ "round": round, "rerun": rerun }),
                    signature.as_ref(),
                ),
                format!("pushed back: {round} runs {}{signed}", rerun.join(", ")),
            )
        }
        _ => return None,
    })
}

/// A step's decisions: retried, marked, fallen back, compensated, held, released.
pub(super) fn step(kind: &EventKind) -> Option<Said> {
    use EventKind as K;
    Some(match kind {
        K::StepRetried {
            step,
            actor,
            rearmed,
            ..
        } => said(
            actor,
            Some(step),
            None,
            json!({ "rearmed": rearmed }),
            if rearmed.is_empty() {
                String::new()
            } else {
                format!("re-armed: {}", rearmed.join(", "))
            },
        ),
        K::StepMarked {
            step,
            state,
            actor,
            reason,
            outputs,
        } => said(
            actor,
            Some(step),
            Some(reason),
            if outputs.is_empty() {
                json!({ "state": state })
            } else {
                json!({ "state": state, "outputs": outputs })
            },
            if outputs.is_empty() {
                format!("marked {state}")
            } else {
                let names: Vec<&str> = outputs.keys().map(String::as_str).collect();
                format!("marked {state} with outputs {}", names.join(", "))
            },
        ),
        K::StepFellBack {
            step,
            attempt,
            alternative,
            reason,
        } => said(
            ENGINE,
            Some(step),
            Some(reason),
            json!({ "attempt": attempt, "alternative": alternative }),
            fallback_summary(*attempt, *alternative),
        ),
        K::CompensationStarted { step } => said(ENGINE, Some(step), None, json!({}), String::new()),
        K::CompensationFinished {
            step,
            ok,
            exit_code,
        } => said(
            ENGINE,
            Some(step),
            None,
            json!({ "ok": ok, "exit_code": exit_code }),
            format!(
                "{}{}",
                if *ok { "undone" } else { "failed" },
                exit_code
                    .map(|c| format!(", exit code {c}"))
                    .unwrap_or_default()
            ),
        ),
        K::StepHeld {
            step,
            actor,
            reason,
            until,
            frozen,
            exhausted,
            budget,
        } => said(
            actor,
            Some(step),
            Some(reason),
            json!({ "until": until, "frozen": frozen, "exhausted": exhausted, "budget": budget }),
            hold_summary(*until, *frozen, *exhausted),
        ),
        K::StepReleased {
            step,
            actor,
            reason,
        } => said(actor, Some(step), Some(reason), json!({}), String::new()),
        _ => return None,
    })
}

/// The budget gate's decisions: exceeded, rejected, raised.
pub(super) fn budget(kind: &EventKind) -> Option<Said> {
    use EventKind as K;
    Some(match kind {
        K::BudgetExceeded {
            dimension,
            used,
            limit,
            step,
        } => said(
            ENGINE,
            step.as_ref(),
            None,
            json!({ "dimension": dimension, "used": used, "limit": limit }),
            format!("{dimension}: {used} used of {limit}"),
        ),
        K::BudgetRejected {
            actor,
            reason,
            timed_out,
            step,
        } => said(
            actor,
            None,
            Some(reason),
            json!({ "timed_out": timed_out, "step": step }),
            if *timed_out {
                "budget gate timed out: the run fails".to_string()
            } else {
                "budget gate rejected: the run fails".to_string()
            },
        ),
        K::BudgetRaised {
            actor,
            reason,
            cost,
            calls,
            tokens,
        } => {
            let mut parts = Vec::new();
            if let Some(c) = cost {
                parts.push(format!("cost +{c}"));
            }
            if let Some(c) = calls {
                parts.push(format!("calls +{c}"));
            }
            if let Some(c) = tokens {
                parts.push(format!("tokens +{c}"));
            }
            said(
                actor,
                None,
                Some(reason),
                json!({ "cost": cost, "calls": calls, "tokens": tokens }),
                parts.join(", "),
            )
        }
        _ => return None,
    })
}

/// The run's labels changed: what was set and removed, by whom (a step's own, by its id).
pub(super) fn labelled(kind: &EventKind) -> Option<Said> {
    let EventKind::RunLabelled {
        set,
        removed,
        actor,
        step,
    } = kind
    else {
        return None;
    };
    let mut parts = Vec::new();
    if !set.is_empty() {
        parts.push(format!("set {}", crate::labels::text(set)));
    }
    if !removed.is_empty() {
        parts.push(format!("removed {}", removed.join(" ")));
    }
    let details = json!({ "set": set, "removed": removed });
    Some(said(actor, step.as_ref(), None, details, parts.join("; ")))
}

//! Headless output: one human line per transition, and JSON lines for `--events`.
use baton_model::inbox::approve_inputs;
use baton_model::time::Clock;
use baton_model::{Event, EventKind};
use baton_workflow::Plan;

/// The human line for an event, or `None` for events that are not worth a line
/// (process ids, output records). One arm per concern, each a call.
pub(crate) fn describe(event: &Event) -> Option<String> {
    let t = event.at.clock_text();
    let kind = &event.kind;
    match kind {
        EventKind::RunStarted { .. }
        | EventKind::RunResumed { .. }
        | EventKind::RunForked { .. }
        | EventKind::RunLabelled { .. }
        | EventKind::RunStateChanged { .. }
        | EventKind::CommandRefused { .. }
        | EventKind::ErrorRecorded { .. }
        | EventKind::CancelRequested { .. }
        | EventKind::FailedRetried { .. }
        | EventKind::RunFinished { .. } => run_line(&t, kind),
        EventKind::StepFannedOut { .. }
        | EventKind::StepLaunching { .. }
        | EventKind::StepJob { .. }
        | EventKind::StepJobState { .. }
        | EventKind::StepCached { .. }
        | EventKind::StepReused { .. }
        | EventKind::ArtifactsStored { .. }
        | EventKind::StepProbed { .. }
        | EventKind::ServiceStopping { .. }
        | EventKind::StepStateChanged { .. }
        | EventKind::StepFellBack { .. } => step_line(&t, kind),
        EventKind::StepRetried { .. }
        | EventKind::StepMarked { .. }
        | EventKind::StepOutputsKept { .. }
        | EventKind::StepHeld { .. }
        | EventKind::StepReleased { .. } => operator_step_line(&t, kind),
        EventKind::GateOpened { .. }
        | EventKind::GatePushedBack { .. }
        | EventKind::GateWarning { .. }
        | EventKind::ApprovalGiven { .. }
        | EventKind::GateRejected { .. }
        | EventKind::GateVoided { .. } => gate_line(&t, kind),
        EventKind::BudgetExceeded { .. }
        | EventKind::BudgetRaised { .. }
        | EventKind::BudgetRejected { .. } => budget_line(&t, kind),
        EventKind::DeadlineMissed { step, due, rule } => Some(format!(
            "{t} {} (due {})",
            baton_model::deadline::missed_text(step.as_deref(), rule),
            due.clock_text()
        )),
        // Many a second while a step spends: `show` and the console give the sums.
        // Not worth a line: process ids, measurements, timers, bookkeeping (a failure
        // dealt with is told by its step's line and the run's end); a gate's
        // approval is told by its votes' lines, and a saga by its steps' transitions.
        EventKind::StepUsage { .. }
        | EventKind::StepProcess { .. }
        | EventKind::StepFinished { .. }
        | EventKind::StepDealtWith { .. }
        | EventKind::RetryScheduled { .. }
        | EventKind::ErrorsClosed { .. }
        | EventKind::GateApproved { .. }
        | EventKind::CompensationStarted { .. }
        | EventKind::CompensationFinished { .. } => None,
    }
}

/// A run's own line: its start, state, refusals, errors and end.
fn run_line(t: &Clock, kind: &EventKind) -> Option<String> {
    let line = match kind {
        EventKind::RunStarted {
            workflow, operator, ..
        } => format!("{t} run started: {workflow} by {operator}"),
        EventKind::RunResumed {
            operator,
            auto_approve,
        } => format!(
            "{t} run resumed by {operator}{}",
            if *auto_approve {
                " (gates auto-approved)"
            } else {
                ""
            }
        ),
        EventKind::RunForked {
            from_run,
            from_step,
        } => format!("{t} run forked from run {from_run} at {from_step}"),
        EventKind::RunLabelled { .. } => format!(
            "{t} run labelled: {}",
            baton_model::history::decision(kind).map_or_else(String::new, |d| {
                let by = d.step.map_or(d.actor, |s| format!("step {s}"));
                baton_model::sanitize::one_line(&format!("{} (by {by})", d.summary))
            })
        ),
        EventKind::RunStateChanged { state, reason } => {
            format!("{t} run {state}{}", suffix(reason.as_deref()))
        }
        EventKind::CommandRefused {
            command, reason, ..
        } => {
            format!(
                "{t} refused {} from {}: {reason}",
                command_name(command),
                command.operator()
            )
        }
        EventKind::ErrorRecorded { error } => format!(
            "{t} {} error {} [{}]: {}",
            error.step.as_deref().unwrap_or("run"),
            error.kind,
            error.severity,
            error.message
        ),
        EventKind::CancelRequested { actor, reason } => format!(
            "{t} cancel requested by {actor}{}",
            suffix(reason.as_deref())
        ),
        EventKind::RunFinished { state, summary, .. } => {
            format!("{t} run finished: {state} — {summary}")
        }
        EventKind::FailedRetried { actor, steps, left } => {
            let left = match left.is_empty() {
                true => String::new(),
                false => format!(" (interrupted, left to decide: {})", left.join(", ")),
            };
            format!(
                "{t} failed steps retried by {actor}: {}{left}",
                steps.join(", ")
            )
        }
        _ => return None,
    };
    Some(line)
}

/// A step's line as it runs: jobs, caches, probes, states, fallbacks.
/// `train kept artifacts: model = out/m.ckpt (3145728 bytes, sha256 53d0b49c9736)`.
fn kept_line(t: &Clock, kind: &EventKind) -> String {
    let EventKind::ArtifactsStored {
        step, artifacts, ..
    } = kind
    else {
        return String::new();
    };
    let kept: Vec<String> = artifacts
        .iter()
        .map(|a| {
            let path = baton_model::sanitize::one_line(&a.path);
            let sha = a.sha256.get(..12).unwrap_or(&a.sha256);
            format!("{} = {path} ({} bytes, sha256 {sha})", a.name, a.size)
        })
        .collect();
    format!("{t} {step} kept artifacts: {}", kept.join(", "))
}

fn step_line(t: &Clock, kind: &EventKind) -> Option<String> {
    let line = match kind {
        EventKind::StepFannedOut { step, instances } => {
            format!("{t} {step} fanned out into {} instances", instances.len())
        }
        EventKind::StepLaunching { step, executor, .. } => {
            format!("{t} {step} launching on {executor}")
        }
        // A cluster job's id is what an operator looks up in `squeue`.
        EventKind::StepJob {
            step,
            executor,
            job_id,
            ..
        } => format!("{t} {step} job {job_id} on {executor}"),
        EventKind::StepJobState {
            step,
            state,
            reason,
            ..
        } => format!(
            "{t} {step} job {}",
            baton_model::view::describe_job(state, reason.as_deref())
        ),
        EventKind::StepCached {
            step,
            from_run,
            restored,
            ..
        } => format!(
            "{t} {step} cached: outputs from run {from_run}{}",
            if restored.is_empty() {
                String::new()
            } else {
                format!(", restored {}", restored.join(", "))
            }
        ),
        EventKind::StepReused {
            step,
            from_run,
            state,
            ..
        } => format!("{t} {step} reused from run {from_run} ({state})"),
        EventKind::ArtifactsStored { .. } => kept_line(t, kind),
        // The `ready` line that follows says it.
        EventKind::StepProbed {
            probe: baton_model::ProbeKind::Ready,
            ok: true,
            ..
        } => return None,
        EventKind::StepProbed {
            step,
            probe,
            check,
            ok,
            detail,
            failures,
            ..
        } => {
            let verdict = if *ok { "passed" } else { "failed" };
            let count = if *failures > 0 {
                format!(" ({failures} in a row)")
            } else {
                String::new()
            };
            let detail = baton_model::sanitize::one_line(detail);
            format!("{t} {step} {probe} probe {verdict}{count}: {check} got {detail}")
        }
        EventKind::ServiceStopping { step, reason, .. } => {
            format!("{t} {step} stopping{}", suffix(Some(reason)))
        }
        EventKind::StepStateChanged {
            step,
            state,
            attempt,
            reason,
        } => {
            let att = if *attempt > 1 {
                format!(" (attempt {attempt})")
            } else {
                String::new()
            };
            format!("{t} {step} {state}{att}{}", suffix(reason.as_deref()))
        }
        EventKind::StepFellBack {
            step,
            attempt,
            alternative,
            reason,
        } => format!(
            "{t} {step} fallback: {} ({reason})",
            baton_model::history::fallback_summary(*attempt, *alternative)
        ),
        _ => return None,
    };
    Some(line)
}

/// A step's line for what an operator did to it: retry, mark, hold, release.
fn operator_step_line(t: &Clock, kind: &EventKind) -> Option<String> {
    let line = match kind {
        EventKind::StepRetried {
            step,
            actor,
            rearmed,
            ..
        } if rearmed.is_empty() => format!("{t} {step} retry by {actor}"),
        EventKind::StepRetried {
            step,
            actor,
            rearmed,
            ..
        } => {
            format!(
                "{t} {step} retry by {actor} (re-armed: {})",
                rearmed.join(", ")
            )
        }
        EventKind::StepMarked {
            step,
            state,
            actor,
            reason,
            outputs,
        } => {
            let given = match outputs.len() {
                0 => String::new(),
                _ => {
                    let names: Vec<&str> = outputs.keys().map(String::as_str).collect();
                    format!(" with outputs {}", names.join(", "))
                }
            };
            format!("{t} {step} marked {state}{given} by {actor}: {reason}")
        }
        EventKind::StepOutputsKept { step, outputs, .. } => {
            let names: Vec<&str> = outputs.keys().map(String::as_str).collect();
            format!(
                "{t} {step} kept the outputs its lost attempt wrote: {}",
                names.join(", ")
            )
        }
        EventKind::StepHeld {
            step,
            actor,
            reason,
            until,
            frozen,
            exhausted,
            ..
        } => {
            let how = baton_model::history::hold_summary(*until, *frozen, *exhausted);
            let how = if how.is_empty() {
                how
            } else {
                format!(" ({how})")
            };
            format!("{t} {step} held by {actor}: {reason}{how}")
        }
        EventKind::StepReleased {
            step,
            actor,
            reason,
        } => format!("{t} {step} released by {actor}: {reason}"),
        _ => return None,
    };
    Some(line)
}

/// A gate's line: opened, pushed back, warned, voted, voided.
fn gate_line(t: &Clock, kind: &EventKind) -> Option<String> {
    let line = match kind {
        EventKind::GateOpened {
            step,
            prompt,
            approvers,
            quorum,
            round,
            ..
        } => {
            let who = if approvers.is_empty() {
                "anyone".to_string()
            } else {
                approvers.join(", ")
            };
            let round = round.map(|r| format!("; {r}")).unwrap_or_default();
            format!("{t} {step} gate: {prompt} (approvers: {who}; quorum {quorum}{round})")
        }
        EventKind::GatePushedBack {
            step,
            actor,
            reason,
            round,
            rerun,
            ..
        } => format!(
            "{t} {step} pushed back by {actor}{}; {round} runs {} again",
            suffix(Some(reason)),
            rerun.join(", ")
        ),
        EventKind::GateWarning { step, .. } => {
            format!("{t} {step} gate: 80% of the approval time has passed")
        }
        EventKind::ApprovalGiven {
            step,
            actor,
            reason,
            ..
        } => {
            format!(
                "{t} {step} approved by {actor}{}",
                suffix(reason.as_deref())
            )
        }
        EventKind::GateRejected {
            step,
            actor,
            reason,
            timed_out,
            ..
        } => {
            let how = if *timed_out { "timed out" } else { "rejected" };
            let reason = baton_model::sanitize::one_line(reason);
            format!("{t} {step} {how} by {actor}: {reason}")
        }
        EventKind::GateVoided { step, reason } => format!("{t} {step} approval void: {reason}"),
        _ => return None,
    };
    Some(line)
}

/// A budget gate's line.
fn budget_line(t: &Clock, kind: &EventKind) -> Option<String> {
    let line = match kind {
        EventKind::BudgetExceeded {
            dimension,
            used,
            limit,
            step,
        } => format!(
            "{t} budget exceeded: {dimension} {used} of {limit}{}; waiting for an operator (raise or cancel)",
            step.as_deref()
                .map(|s| format!(" before {s}"))
                .unwrap_or_default()
        ),
        EventKind::BudgetRaised { actor, reason, .. } => {
            format!("{t} budget raised by {actor}: {reason}")
        }
        EventKind::BudgetRejected {
            actor,
            reason,
            timed_out: false,
            ..
        } => format!("{t} budget gate rejected by {actor}: {reason}; the run fails"),
        EventKind::BudgetRejected { reason, .. } => {
            format!("{t} budget gate timed out: {reason}; the run fails")
        }
        _ => return None,
    };
    Some(line)
}

/// The headless lines of one committed batch: each event's line, and after an event
/// that waits for a person, what to type ([`hint`]), unless the same batch already
/// decided it (a gate passed at once by `--auto-approve` waits for nobody).
/// `plan`: the run's, when the printer has it: a gate's hint then names the inputs an
/// approval must give (its `gate_opened` event does not list them).
pub fn lines(run_id: &str, events: &[Event], plan: Option<&Plan>) -> Vec<String> {
    let decided: Vec<&str> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::GateApproved { step, .. } | EventKind::GateRejected { step, .. } => {
                Some(step.as_str())
            }
            _ => None,
        })
        .collect();
    let mut out = Vec::new();
    for e in events {
        out.extend(describe(e));
        let waits = match &e.kind {
            EventKind::GateOpened { step, .. } => !decided.contains(&step.as_str()),
            _ => true,
        };
        if waits {
            out.extend(hint(run_id, e, plan));
        }
    }
    out
}

/// What to type, after the line of an event that waits for a person: headless, the run
/// just stops, and whoever reads its output may not know the commands.
pub(crate) fn hint(run_id: &str, event: &Event, plan: Option<&Plan>) -> Option<String> {
    let t = event.at.clock_text();
    // The inputs an approval of `step`'s gate must give, as `baton inbox` writes them.
    let inputs = |step: &str| {
        let gate = plan.and_then(|p| p.steps.get(p.step_index(step)?)?.gate.as_deref());
        gate.map_or_else(String::new, |g| {
            approve_inputs(
                g.inputs
                    .iter()
                    .map(|i| (i.name.as_str(), i.required, i.default.as_deref())),
            )
        })
    };
    match &event.kind {
        EventKind::GateOpened {
            step,
            signed: false,
            round,
            ..
        } => {
            // A gate with rounds left may also be pushed back (issue 44 point 3).
            let push = match round {
                Some(r) if r.n < r.of => {
                    format!(" or `baton push-back {run_id} {step} --reason …`")
                }
                _ => String::new(),
            };
            Some(format!(
                "{t} {step} waiting: `baton approve {run_id} {step}{} --reason …` or `baton reject {run_id} {step} --reason …`{push}",
                inputs(step)
            ))
        }
        EventKind::GateOpened {
            step, signed: true, ..
        } => Some(format!(
            "{t} {step} waiting for a signed decision: `baton approve {run_id} {step}{} --sign-key KEY` (or through ssh-agent without it) or `baton reject {run_id} {step} --reason … --sign-key KEY`",
            inputs(step)
        )),
        EventKind::BudgetExceeded {
            dimension, limit, ..
        } => {
            let by = baton_model::inbox::raise_by(*limit);
            Some(format!(
                "{t} waiting: `baton approve {run_id} --raise {dimension}={by} --reason …` (adds {by} to the ceiling) or `baton cancel {run_id}`"
            ))
        }
        _ => None,
    }
}

fn suffix(reason: Option<&str>) -> String {
    match reason {
        Some(r) if !r.is_empty() => format!(": {}", baton_model::sanitize::one_line(r)),
        _ => String::new(),
    }
}

fn command_name(c: &baton_model::Command) -> &'static str {
    use baton_model::Command::*;
    match c {
        Approve { .. } => "approve",
        Reject { .. } => "reject",
        PushBack { .. } => "push-back",
        Retry { .. } => "retry",
        RetryFailed { .. } => "retry --failed",
        Cancel { .. } => "cancel",
        Mark { .. } => "mark",
        Hold { .. } => "hold",
        Release { .. } => "release",
        RaiseBudget { .. } => "budget raise",
        RejectBudget { .. } => "budget rejection",
        Label { .. } => "label",
    }
}

/// One JSON line per event (`--events`), with the run id added.
pub fn json_line(run_id: &str, event: &Event) -> String {
    let mut v = serde_json::to_value(event).unwrap_or(serde_json::Value::Null);
    if let serde_json::Value::Object(m) = &mut v {
        m.insert("run".into(), serde_json::Value::String(run_id.to_string()));
    }
    // Data for programs, in a file a person may `cat`: nothing a terminal acts on.
    baton_model::sanitize::json(&v).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_model::Timestamp;

    fn at(kind: EventKind) -> Event {
        Event {
            seq: 1,
            at: Timestamp(0),
            kind,
        }
    }

    /// `deploy`'s gate opened (`signed` or not).
    fn gate(signed: bool) -> Event {
        at(EventKind::GateOpened {
            step: "deploy".into(),
            prompt: "Ship?".into(),
            deadline: None,
            digest: String::new(),
            approvers: vec![],
            quorum: 1,
            signed,
            inputs: Default::default(),
            round: None,
        })
    }

    #[test]
    fn what_to_type_follows_what_waits_for_a_person_and_nothing_else() {
        let plain = hint("R1", &gate(false), None).unwrap();
        assert!(
            plain.contains("`baton approve R1 deploy --reason …`")
                && plain.contains("`baton reject R1 deploy --reason …`"),
            "{plain}"
        );
        assert!(
            hint("R1", &gate(true), None)
                .unwrap()
                .contains("--sign-key")
        );
        let mut revising = gate(false);
        if let EventKind::GateOpened { round, .. } = &mut revising.kind {
            *round = Some(baton_model::GateRound { n: 1, of: 2 });
        }
        let h = hint("R1", &revising, None).unwrap();
        assert!(
            h.contains("or `baton push-back R1 deploy --reason …`"),
            "{h}"
        );
        assert!(describe(&revising).unwrap().contains("round 1 of 2"));
        if let EventKind::GateOpened { round, .. } = &mut revising.kind {
            *round = Some(baton_model::GateRound { n: 2, of: 2 });
        }
        let h = hint("R1", &revising, None).unwrap();
        assert!(!h.contains("push-back"), "the last round: {h}");
        let budget = at(EventKind::BudgetExceeded {
            dimension: "tokens".into(),
            used: 5300.0,
            limit: 5000.0,
            step: None,
        });
        let b = hint("R1", &budget, None).unwrap();
        assert!(
            b.contains("`baton approve R1 --raise tokens=5000 --reason …`"),
            "{b}"
        );
        assert!(b.contains("`baton cancel R1`"), "{b}");
        let other = at(EventKind::RunStateChanged {
            state: baton_model::RunState::Waiting,
            reason: None,
        });
        assert_eq!(hint("R1", &other, None), None);
        // A gate decided in the same batch waits for nobody: no hint.
        let approved = at(EventKind::GateApproved {
            step: "deploy".into(),
            actor: "root".into(),
            approvers: vec!["root".into()],
        });
        let open = lines("R1", &[gate(false)], None);
        assert!(open.iter().any(|l| l.contains("waiting:")), "{open:?}");
        let passed = lines("R1", &[gate(false), approved], None);
        assert!(!passed.iter().any(|l| l.contains("waiting:")), "{passed:?}");
    }

    #[test]
    fn the_waiting_line_names_the_inputs_an_approval_must_give() {
        let plan = baton_workflow::load_str(
            r#"
name = "w"
[[step]]
id = "deploy"
run = "true"
[step.gate]
inputs = { tag = { type = "string", required = true }, env = { type = "enum", values = ["a", "b"], default = "a" }, note = { type = "string" }, region = { type = "string", required = true } }
"#,
            std::path::Path::new("w.toml"),
        )
        .expect("loads");
        // Required without a default: tag and region (in the gate's order), not env
        // (it has a default) nor note (optional).
        let plain = hint("R1", &gate(false), Some(&plan)).unwrap();
        assert!(
            plain.contains("`baton approve R1 deploy --input tag=… --input region=… --reason …`"),
            "{plain}"
        );
        let signed = hint("R1", &gate(true), Some(&plan)).unwrap();
        assert!(
            signed.contains(
                "`baton approve R1 deploy --input tag=… --input region=… --sign-key KEY`"
            ),
            "{signed}"
        );
    }
}

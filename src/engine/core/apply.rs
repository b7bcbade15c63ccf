//! The fold: how each event changes the state. Nothing here decides; `decide` emits
//! events and calls `apply` for each, and `replay` calls it for stored events.
use super::*;
use crate::model::EventKind;

impl Core {
    pub(super) fn apply(&mut self, ev: &Event) {
        let at = ev.at;
        let idx = |core: &Core, s: &str| core.ids.get(s).copied();
        match &ev.kind {
            EventKind::RunStarted {
                operator,
                seed,
                params,
                workflow,
            } => {
                self.operator = operator.clone();
                self.seed = *seed;
                self.started_at = Some(at);
                self.deadline = self.plan.timeout.map(|d| at.add(d));
                if let Some(d) = self.deadline {
                    self.timers.insert((d, Timer::RunDeadline));
                }
                for i in 0..self.steps.len() {
                    if self.steps[i].unsettled_needs == 0 {
                        self.to_eval.push_back(i);
                    }
                }
                let params: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
                self.audit(
                    at,
                    operator,
                    "run_started",
                    None,
                    None,
                    format!("workflow {workflow}; params: {}", params.join(", ")),
                );
            }
            EventKind::RunResumed { operator } => {
                self.audit(at, operator, "run_resumed", None, None, String::new());
            }
            EventKind::RunStateChanged { state, .. } => {
                if state.is_final() {
                    self.decided = Some(*state);
                    self.budget_gate = None;
                } else if matches!(state, RunState::Running | RunState::Waiting) {
                    if self.run_state.is_final() {
                        // Reopened by an operator (retry/mark after the run had finished).
                        self.finished = false;
                        self.finished_at = None;
                    }
                    if self.run_state != RunState::Interrupted {
                        self.decided = None;
                    }
                }
                self.run_state = *state;
            }
            EventKind::StepStateChanged {
                step,
                state,
                attempt,
                ..
            } => {
                if let Some(i) = idx(self, step) {
                    self.set_state(i, *state, *attempt, at);
                }
            }
            EventKind::StepProcess { step, pgid, .. } => {
                if let Some(i) = idx(self, step) {
                    self.steps[i].pgid = Some(*pgid);
                }
            }
            EventKind::StepJob {
                step,
                executor,
                job_id,
                ..
            } => {
                if let Some(i) = idx(self, step) {
                    self.steps[i].job = Some((executor.clone(), job_id.clone()));
                }
            }
            EventKind::StepFinished {
                step,
                outcome,
                duration_ms,
                outputs,
                usage,
                ..
            } => {
                if let Some(i) = idx(self, step) {
                    let s = &mut self.steps[i];
                    s.exit_code = None;
                    s.signal = None;
                    s.timed_out = false;
                    match outcome {
                        StepOutcome::Exited { exit_code } => s.exit_code = Some(*exit_code),
                        StepOutcome::Signalled { signal } => s.signal = Some(*signal),
                        StepOutcome::TimedOut => s.timed_out = true,
                        StepOutcome::Killed
                        | StepOutcome::SpawnFailed { .. }
                        | StepOutcome::Lost { .. } => {}
                    }
                    s.outputs = outputs.clone();
                    s.pgid = None;
                    s.job = None;
                    self.durations.push(*duration_ms);
                    self.used_cost += usage.cost;
                    self.used_tokens = self.used_tokens.saturating_add(usage.tokens);
                }
            }
            EventKind::RetryScheduled { step, due, .. } => {
                if let Some(i) = idx(self, step) {
                    if let Some(old) = self.steps[i].retry_at.take() {
                        self.timers.remove(&(old, Timer::Retry(i)));
                    }
                    self.steps[i].retry_at = Some(*due);
                    self.timers.insert((*due, Timer::Retry(i)));
                }
            }
            EventKind::ErrorRecorded { error } => {
                let n = self.errors.len();
                self.error_ids.insert(error.id.clone(), n);
                if let Some(i) = error.step.as_deref().and_then(|s| idx(self, s)) {
                    if error.open {
                        self.steps[i].open_errors.push(n);
                    }
                    self.steps[i].last_error = Some(n);
                }
                self.errors.push(error.clone());
            }
            EventKind::ErrorsClosed { step, ids } => {
                for id in ids {
                    if let Some(&n) = self.error_ids.get(id) {
                        self.errors[n].open = false;
                    }
                }
                if let Some(i) = idx(self, step) {
                    let errors = &self.errors;
                    self.steps[i].open_errors.retain(|&n| errors[n].open);
                }
            }
            EventKind::GateOpened {
                step,
                prompt,
                deadline,
                digest,
                approvers,
                quorum,
            } => {
                if let Some(i) = idx(self, step) {
                    self.remove_gate_timers(i);
                    let timeout = self.plan.steps[i].gate.as_ref().and_then(|g| g.timeout);
                    let g = &mut self.steps[i].gate;
                    *g = GateRt {
                        opened_seq: ev.seq,
                        opened_at: at,
                        deadline: *deadline,
                        warn_at: None,
                        warned: false,
                        prompt: prompt.clone(),
                        digest: digest.clone(),
                        votes: Vec::new(),
                        approved: None,
                        decided: None,
                    };
                    if let (Some(d), Some(t)) = (*deadline, timeout) {
                        let warn = at.add(t.mul_f64(0.8));
                        g.warn_at = Some(warn);
                        self.timers.insert((warn, Timer::GateWarn(i)));
                        self.timers.insert((d, Timer::GateDeadline(i)));
                    }
                    let details = format!(
                        "prompt: {prompt}; approvers: {}; quorum {quorum}; digest {digest}",
                        if approvers.is_empty() {
                            "anyone".to_string()
                        } else {
                            approvers.join(", ")
                        }
                    );
                    self.audit(at, "engine", "gate_opened", Some(step), None, details);
                }
            }
            EventKind::GateWarning { step, .. } => {
                if let Some(i) = idx(self, step) {
                    self.steps[i].gate.warned = true;
                    if let Some(w) = self.steps[i].gate.warn_at.take() {
                        self.timers.remove(&(w, Timer::GateWarn(i)));
                    }
                }
            }
            EventKind::ApprovalGiven {
                step,
                actor,
                reason,
                ..
            } => {
                if let Some(i) = idx(self, step) {
                    self.steps[i]
                        .gate
                        .votes
                        .push((actor.clone(), reason.clone()));
                }
                self.audit(
                    at,
                    actor,
                    "approval_vote",
                    Some(step),
                    reason.clone(),
                    String::new(),
                );
            }
            EventKind::GateApproved {
                step,
                actor,
                approvers,
            } => {
                if let Some(i) = idx(self, step) {
                    let g = &mut self.steps[i].gate;
                    g.approved = Some(g.digest.clone());
                    g.decided = Some(Decision::Approved);
                }
                self.audit(
                    at,
                    actor,
                    "gate_approved",
                    Some(step),
                    None,
                    format!("approved by {}", approvers.join(", ")),
                );
            }
            EventKind::GateRejected {
                step,
                actor,
                reason,
                timed_out,
            } => {
                if let Some(i) = idx(self, step) {
                    let g = &mut self.steps[i].gate;
                    g.approved = None;
                    g.decided = Some(Decision::Rejected);
                }
                let action = if *timed_out {
                    "gate_timed_out"
                } else {
                    "gate_rejected"
                };
                self.audit(
                    at,
                    actor,
                    action,
                    Some(step),
                    Some(reason.clone()),
                    String::new(),
                );
            }
            EventKind::GateVoided { step, reason } => {
                if let Some(i) = idx(self, step) {
                    let g = &mut self.steps[i].gate;
                    g.approved = None;
                    g.decided = None;
                }
                self.audit(
                    at,
                    "engine",
                    "gate_voided",
                    Some(step),
                    Some(reason.clone()),
                    String::new(),
                );
            }
            EventKind::CommandRefused { command, reason } => {
                let step = match command {
                    Command::Approve { step, .. }
                    | Command::Reject { step, .. }
                    | Command::Retry { step, .. }
                    | Command::Mark { step, .. } => Some(step.as_str()),
                    _ => None,
                };
                let details = serde_json::to_string(command).unwrap_or_default();
                self.audit(
                    at,
                    command.operator(),
                    "command_refused",
                    step,
                    Some(reason.clone()),
                    details,
                );
            }
            EventKind::StepRetried {
                step,
                actor,
                rearmed,
            } => {
                if let Some(i) = idx(self, step) {
                    let s = &mut self.steps[i];
                    s.attempt_base = s.attempts;
                    if s.gate.decided == Some(Decision::Rejected) {
                        s.gate.decided = None;
                    }
                }
                let details = if rearmed.is_empty() {
                    String::new()
                } else {
                    format!("re-armed: {}", rearmed.join(", "))
                };
                self.audit(at, actor, "retry", Some(step), None, details);
            }
            EventKind::StepMarked {
                step,
                state,
                actor,
                reason,
            } => {
                self.audit(
                    at,
                    actor,
                    "mark",
                    Some(step),
                    Some(reason.clone()),
                    format!("marked {state}"),
                );
            }
            EventKind::BudgetExceeded {
                dimension,
                used,
                limit,
                step,
            } => {
                self.budget_gate = Some(BudgetGate {
                    opened_at: at,
                    dimension: dimension.clone(),
                    used: *used,
                    limit: *limit,
                    step: step.clone(),
                });
                self.audit(
                    at,
                    "engine",
                    "budget_exceeded",
                    step.as_deref(),
                    None,
                    format!("{dimension}: {used} used of {limit}"),
                );
            }
            EventKind::BudgetRaised {
                actor,
                reason,
                cost,
                calls,
                tokens,
            } => {
                let b = &mut self.ceilings;
                if let (Some(c), Some(d)) = (b.cost.as_mut(), cost) {
                    *c += d;
                }
                if let (Some(c), Some(d)) = (b.calls.as_mut(), calls) {
                    *c = c.saturating_add(*d);
                }
                if let (Some(c), Some(d)) = (b.tokens.as_mut(), tokens) {
                    *c = c.saturating_add(*d);
                }
                self.budget_gate = None;
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
                self.audit(
                    at,
                    actor,
                    "budget_raised",
                    None,
                    Some(reason.clone()),
                    parts.join(", "),
                );
            }
            EventKind::CancelRequested { actor, reason } => {
                self.cancel_requested = true;
                self.budget_gate = None;
                self.audit(at, actor, "cancel", None, reason.clone(), String::new());
            }
            EventKind::CompensationStarted { step } => {
                self.compensation_ran = true;
                self.audit(
                    at,
                    "engine",
                    "compensation_started",
                    Some(step),
                    None,
                    String::new(),
                );
            }
            EventKind::CompensationFinished {
                step,
                ok,
                exit_code,
            } => {
                let details = match exit_code {
                    Some(c) => format!("exit code {c}"),
                    None => String::new(),
                };
                let action = if *ok {
                    "compensated"
                } else {
                    "compensation_failed"
                };
                self.audit(at, "engine", action, Some(step), None, details);
            }
            EventKind::RunFinished { state, summary } => {
                self.finished = true;
                self.finished_at = Some(at);
                self.run_state = *state;
                self.decided = Some(*state);
                self.audit(
                    at,
                    "engine",
                    "run_finished",
                    None,
                    Some(state.to_string()),
                    summary.clone(),
                );
            }
        }
    }

    fn audit(
        &mut self,
        at: Timestamp,
        actor: &str,
        action: &str,
        step: Option<&str>,
        reason: Option<String>,
        details: String,
    ) {
        self.audit.push(AuditView {
            at,
            actor: actor.to_string(),
            action: action.to_string(),
            step: step.map(str::to_string),
            reason,
            details,
        });
    }

    fn remove_gate_timers(&mut self, i: usize) {
        let g = &mut self.steps[i].gate;
        if let Some(w) = g.warn_at.take() {
            self.timers.remove(&(w, Timer::GateWarn(i)));
        }
        if let Some(d) = g.deadline {
            self.timers.remove(&(d, Timer::GateDeadline(i)));
        }
    }

    /// A step transition and all the counters, queues and timers that follow from it.
    fn set_state(&mut self, i: usize, new: StepState, attempt: u32, at: Timestamp) {
        let old = self.steps[i].state;
        self.counts[si(old)] -= 1;
        self.counts[si(new)] += 1;
        self.steps[i].state = new;
        let lane = self.lane_of(i);
        match old {
            StepState::Running => {
                self.lanes[lane].running -= 1;
                if let Some(t) = self.steps[i].timeout_at.take() {
                    self.timers.remove(&(t, Timer::StepTimeout(i)));
                }
                self.steps[i].kill_sent = false;
            }
            StepState::RetryWait => {
                if let Some(t) = self.steps[i].retry_at.take() {
                    self.timers.remove(&(t, Timer::Retry(i)));
                }
            }
            StepState::WaitingApproval => self.remove_gate_timers(i),
            _ => {}
        }
        match new {
            StepState::Queued => {
                self.next_ticket += 1;
                let t = self.next_ticket;
                self.steps[i].queue_ticket = t;
                self.steps[i].queued_at = Some(at);
                self.lanes[lane].queue.push_back((t, i));
            }
            StepState::Running => {
                self.lanes[lane].running += 1;
                if let Some(b) = self.lanes[lane].bucket.as_mut() {
                    b.take(at);
                }
                let step = &self.plan.steps[i];
                self.used_calls += 1;
                self.used_cost += step.cost;
                let s = &mut self.steps[i];
                s.attempts = attempt;
                s.started_at = Some(at);
                s.finished_at = None;
                s.exit_code = None;
                s.signal = None;
                s.timed_out = false;
                s.kill_sent = false;
                s.timeout_kill = false;
                s.pgid = None;
                s.job = None;
                if let Some(t) = step.timeout {
                    let d = at.add(t);
                    s.timeout_at = Some(d);
                    self.timers.insert((d, Timer::StepTimeout(i)));
                }
            }
            StepState::Pending => {
                self.steps[i].finished_at = None;
                if self.steps[i].unsettled_needs == 0 {
                    self.to_eval.push_back(i);
                }
            }
            _ => {}
        }
        if old == StepState::Running {
            match new {
                StepState::Succeeded => self.attempts_finished += 1,
                StepState::Failed | StepState::RetryWait => {
                    self.attempts_finished += 1;
                    self.attempts_failed += 1;
                }
                _ => {}
            }
        }
        if new.is_final() {
            self.steps[i].finished_at = Some(at);
        }
        if new == StepState::Succeeded && old != StepState::Succeeded {
            self.completion.push(i);
        }
        let (was, is) = (settled(old), settled(new));
        if was != is {
            if is {
                self.unsettled -= 1;
                for k in 0..self.dependants[i].len() {
                    let d = self.dependants[i][k];
                    self.steps[d].unsettled_needs -= 1;
                    if self.steps[d].unsettled_needs == 0
                        && self.steps[d].state == StepState::Pending
                    {
                        self.to_eval.push_back(d);
                    }
                }
            } else {
                self.unsettled += 1;
                for k in 0..self.dependants[i].len() {
                    let d = self.dependants[i][k];
                    self.steps[d].unsettled_needs += 1;
                }
            }
        }
    }
}

//! The fold: how each event changes the state. Nothing here decides; `decide` emits
//! events and calls `apply` for each, and `replay` calls it for stored events.
use super::*;
use baton_model::EventKind;
use baton_model::history::{self, Closes};
use baton_workflow::{Values, resolve_values};
use decide::Vote;

impl Core {
    pub(super) fn apply(&mut self, ev: &Event) {
        let at = ev.at;
        self.run_summary.apply(ev);
        let idx = |core: &Core, s: &str| core.ids.get(s).copied();
        if let Some(d) = history::decision(&ev.kind) {
            self.audit.push(AuditView {
                at,
                actor: d.actor,
                action: d.action,
                step: d.step,
                reason: d.reason,
                details: d.summary,
            });
        }
        match history::errors_closed(&ev.kind) {
            Some(Closes::Ids { step, ids }) => {
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
            Some(Closes::Step(step)) => {
                if let Some(i) = idx(self, step) {
                    for n in std::mem::take(&mut self.steps[i].open_errors) {
                        self.errors[n].open = false;
                    }
                }
            }
            None => {}
        }
        match &ev.kind {
            EventKind::RunStarted {
                operator,
                seed,
                auto_approve,
                slot,
                ..
            } => {
                if self.cfg.slot != *slot {
                    // A replay learns the slot here: the run `env` may read it.
                    self.cfg.slot = *slot;
                    self.run_env = resolve_run_env(&self.plan, &self.cfg);
                }
                self.operator = operator.clone();
                self.auto_actor = operator.clone();
                self.auto_recorded = *auto_approve;
                self.seed = *seed;
                self.cfg.auto_approve = *auto_approve;
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
            }
            EventKind::RunResumed {
                auto_approve,
                operator,
            } => {
                // Turned on by this resume: the resumer passed the flag.
                if *auto_approve && !self.auto_recorded {
                    self.auto_actor = operator.clone();
                }
                self.auto_recorded = *auto_approve;
                self.cfg.auto_approve = *auto_approve;
            }
            EventKind::RunStateChanged { state, .. } => {
                // Queued for its concurrency group until it runs or ends; an engine
                // stopping meanwhile leaves it queued.
                self.queued = match state {
                    RunState::Queued => true,
                    RunState::Interrupted => self.queued,
                    _ => false,
                };
                if state.is_final() {
                    self.decided = Some(*state);
                    self.budget_gate = None;
                } else if matches!(state, RunState::Running | RunState::Waiting) {
                    if self.run_state.is_final() {
                        // Reopened by an operator (retry/mark after the run had finished);
                        // a cancelled run's cancel is over.
                        self.finished = false;
                        self.finished_at = None;
                        self.cancel_requested = false;
                        self.budget_rejected = None;
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
                reason,
            } => {
                if let Some(i) = idx(self, step) {
                    let not_run = matches!(state, StepState::Skipped | StepState::UpstreamFailed);
                    self.steps[i].why = reason.clone().filter(|_| not_run);
                    // A mark describes the state it set, and no later one.
                    if self.steps[i]
                        .marked
                        .as_ref()
                        .is_some_and(|m| m.state != *state)
                    {
                        self.steps[i].marked = None;
                    }
                    if self.passes_signed_gate_unapproved(i, *state) {
                        self.passage_unsigned = Some((ev.seq, step.clone()));
                    }
                    self.set_state(i, *state, *attempt, at);
                }
            }
            EventKind::StepProcess {
                step, pgid, output, ..
            } => {
                if let Some(i) = idx(self, step) {
                    self.steps[i].pgid = Some(*pgid);
                    self.steps[i].output_file = output.clone();
                    // A service is checked from the moment its process exists.
                    if self.steps[i].state == StepState::Running
                        && self.plan.steps[i].service.is_some()
                    {
                        self.probe_timer(i, Some(at));
                    }
                }
            }
            EventKind::StepProbed {
                step,
                probe,
                check,
                ok,
                detail,
                failures,
                ..
            } => {
                if let Some(i) = idx(self, step) {
                    let sv = &mut self.steps[i].service;
                    sv.live_failures = *failures;
                    sv.recorded = Some((*probe, *ok, detail.clone()));
                    sv.last = Some(ProbeView {
                        probe: *probe,
                        check: check.clone(),
                        ok: *ok,
                        detail: detail.clone(),
                        failures: *failures,
                        at,
                    });
                }
            }
            EventKind::ServiceStopping { step, reason, .. } => {
                if let Some(i) = idx(self, step) {
                    self.steps[i].service.stopping = Some(reason.clone());
                }
            }
            EventKind::StepJob {
                step,
                attempt,
                executor,
                job_id,
            } => {
                if let Some(i) = idx(self, step) {
                    self.steps[i].job = Some((executor.clone(), job_id.clone()));
                    self.steps[i].jobs.push(AttemptJob {
                        attempt: *attempt,
                        job: JobView::submitted(executor, job_id),
                    });
                }
            }
            EventKind::StepJobState {
                step,
                attempt,
                state,
                reason,
            } => {
                if let Some(i) = idx(self, step)
                    && let Some(j) = self.steps[i]
                        .jobs
                        .iter_mut()
                        .rev()
                        .find(|j| j.attempt == *attempt)
                {
                    j.job.observe(state, reason.as_deref(), at);
                }
            }
            EventKind::StepFannedOut { step, instances } => {
                if let Some(i) = idx(self, step) {
                    self.grow(i, instances);
                }
            }
            EventKind::StepCached { step, from_run, .. } => {
                if let Some(i) = idx(self, step) {
                    self.steps[i].cached_from = Some(from_run.clone());
                    // Nothing ran: the call and declared cost counted at its start are given back.
                    self.used_calls = self.used_calls.saturating_sub(1);
                    self.used_cost = (self.used_cost - self.plan.steps[i].cost).max(0.0);
                }
            }
            EventKind::RunForked {
                from_run,
                from_step,
            } => {
                self.forked_from = Some(baton_model::view::ForkLink {
                    run: from_run.clone(),
                    step: from_step.clone(),
                });
            }
            EventKind::StepOutputsKept { step, outputs, .. } => {
                if let Some(i) = idx(self, step) {
                    self.steps[i].outputs = outputs.clone();
                }
            }
            EventKind::StepReused {
                step,
                from_run,
                from_attempt,
                state,
                outputs,
            } => {
                if let Some(i) = idx(self, step) {
                    let s = &mut self.steps[i];
                    s.reused = Some(Box::new((from_run.clone(), *from_attempt)));
                    s.outputs = outputs.clone();
                    s.exit_code = (*state == StepState::Succeeded).then_some(0);
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
                    s.duration_ms = Some(*duration_ms);
                    s.outputs = outputs.clone();
                    s.pgid = None;
                    s.output_file = None;
                    s.job = None;
                    self.durations.push(*duration_ms);
                    // What was read while it ran gives way to the whole file's sum.
                    self.fold_usage(i, *usage, false);
                    // A budget gate its running usage opened is over with it (the next
                    // start is checked against the ceilings as any start is), unless
                    // another step is still frozen at the ceiling: the gate is then
                    // that step's, open until a raise, a rejection or its timeout.
                    if self
                        .budget_gate
                        .as_ref()
                        .is_some_and(|g| g.step.as_deref() == Some(step.as_str()))
                    {
                        let frozen = (0..self.steps.len()).find(|&k| {
                            k != i && self.steps[k].hold.as_ref().is_some_and(|h| h.budget)
                        });
                        match (frozen, self.budget_gate.as_mut()) {
                            (Some(k), Some(g)) => g.step = Some(self.plan.steps[k].id.clone()),
                            _ => self.budget_gate = None,
                        }
                    }
                }
            }
            EventKind::StepFellBack {
                step,
                attempt,
                alternative,
                ..
            } => {
                if let Some(i) = idx(self, step) {
                    let s = &mut self.steps[i];
                    s.alternative = *alternative;
                    s.attempt_base = *attempt;
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
            // Closed above, with every other event that closes records.
            EventKind::ErrorsClosed { .. } => {}
            EventKind::GateOpened {
                step,
                prompt,
                deadline,
                digest,
                signed,
                inputs,
                ..
            } => {
                if let Some(i) = idx(self, step) {
                    self.remove_gate_timers(i);
                    let timeout = self.plan.steps[i].gate.as_ref().and_then(|g| g.timeout);
                    let g = &mut self.steps[i].gate;
                    **g = GateRt {
                        opened_seq: ev.seq,
                        opened_at: at,
                        deadline: *deadline,
                        warn_at: None,
                        warned: false,
                        prompt: prompt.clone(),
                        digest: digest.clone(),
                        votes: Vec::new(),
                        keys: Vec::new(),
                        signed: *signed,
                        unbacked: false,
                        approved: None,
                        decided: None,
                        inputs: None,
                        rendered: inputs.clone(),
                        proposed: None,
                    };
                    if let (Some(d), Some(t)) = (*deadline, timeout) {
                        let warn = at.add(t.mul_f64(0.8));
                        g.warn_at = Some(warn);
                        self.timers.insert((warn, Timer::GateWarn(i)));
                        self.timers.insert((d, Timer::GateDeadline(i)));
                    }
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
                digest,
                signature,
                inputs,
                proposed,
            } => {
                if let Some(i) = idx(self, step) {
                    // On a signed gate a vote counts only if its signature holds, whoever
                    // wrote it into the history.
                    let counted = if self.steps[i].gate.signed {
                        let vote = Vote {
                            actor,
                            reason: reason.as_deref(),
                            digest,
                            inputs,
                        };
                        self.vote_holds(i, &vote, signature.as_ref()).map(Some)
                    } else {
                        Some(None)
                    };
                    if let Some(key) = counted {
                        let g = &mut self.steps[i].gate;
                        g.votes.push((actor.clone(), reason.clone()));
                        g.keys.extend(key);
                        g.inputs.get_or_insert_with(|| inputs.clone());
                        g.proposed.get_or_insert_with(|| proposed.clone());
                    }
                }
            }
            EventKind::GateApproved { step, .. } => {
                if let Some(i) = idx(self, step) {
                    let quorum = self.plan.steps[i]
                        .gate
                        .as_ref()
                        .map_or(1, |g| g.quorum.max(1));
                    let g = &mut self.steps[i].gate;
                    if g.signed && (g.votes.len() as u32) < quorum {
                        g.unbacked = true;
                    } else {
                        g.approved = Some(g.digest.clone());
                        g.decided = Some(Decision::Approved);
                        if g.inputs.is_none() {
                            // Approved with no vote (on timeout): the inputs' defaults.
                            let defaults =
                                resolve_values(&self.input_specs(i), &[], Values::Inputs).ok();
                            self.steps[i].gate.inputs = Some(defaults.unwrap_or_default());
                        }
                    }
                }
            }
            EventKind::GateRejected { step, .. } => {
                if let Some(i) = idx(self, step) {
                    let g = &mut self.steps[i].gate;
                    g.approved = None;
                    g.decided = Some(Decision::Rejected);
                }
            }
            EventKind::GateVoided { step, .. } => {
                if let Some(i) = idx(self, step) {
                    let g = &mut self.steps[i].gate;
                    g.approved = None;
                    g.decided = None;
                }
            }
            EventKind::GatePushedBack {
                step,
                reason,
                round,
                rerun,
                ..
            } => {
                if let Some(i) = idx(self, step) {
                    let rerun: Vec<usize> = rerun.iter().filter_map(|s| idx(self, s)).collect();
                    self.fold_pushed_back(i, round.n, reason, &rerun);
                }
            }
            EventKind::CommandRefused { .. } => {}
            EventKind::StepRetried { step, .. } => {
                if let Some(i) = idx(self, step) {
                    let s = &mut self.steps[i];
                    s.attempt_base = s.attempts;
                    s.alternative = 0;
                    if s.gate.decided == Some(Decision::Rejected) {
                        s.gate.decided = None;
                    }
                }
            }
            EventKind::StepMarked {
                step,
                state,
                actor,
                reason,
                outputs,
            } => {
                if let Some(i) = idx(self, step) {
                    // Given outputs go over those the step recorded (kept from a crash).
                    for (k, v) in outputs {
                        self.steps[i].outputs.insert(k.clone(), v.clone());
                    }
                    self.steps[i].marked = Some(Box::new(baton_model::view::MarkView {
                        state: *state,
                        by: actor.clone(),
                        reason: reason.clone(),
                        at,
                    }));
                }
            }
            EventKind::StepHeld {
                step,
                actor,
                reason,
                until,
                frozen,
                exhausted,
                budget,
            } => {
                if let Some(i) = idx(self, step) {
                    let hold = decide::HoldRt {
                        by: actor.clone(),
                        reason: reason.clone(),
                        at,
                        until: *until,
                        frozen: *frozen,
                        exhausted: *exhausted,
                        budget: *budget,
                        timeout_left: None,
                    };
                    self.fold_held(i, hold);
                }
            }
            EventKind::StepUsage {
                step,
                attempt,
                usage,
            } => {
                if let Some(i) = idx(self, step)
                    && self.steps[i].attempts == *attempt
                    && self.steps[i].state == StepState::Running
                {
                    self.fold_usage(i, *usage, true);
                }
            }
            EventKind::StepReleased { step, .. } => {
                if let Some(i) = idx(self, step) {
                    self.fold_released(i, at);
                }
            }
            EventKind::BudgetExceeded {
                dimension,
                used,
                limit,
                step,
            } => {
                // Open already (another ceiling, or another step): its opening and
                // deadline stand. Newly open: its timeout's clock starts.
                let (opened_at, deadline) = match &self.budget_gate {
                    Some(g) => (g.opened_at, g.deadline),
                    None => {
                        let d = self.plan.budget.and_then(|b| b.timeout).map(|t| at.add(t));
                        if let Some(d) = d {
                            self.timers.insert((d, Timer::BudgetDeadline));
                        }
                        (at, d)
                    }
                };
                self.budget_gate = Some(BudgetGate {
                    opened_at,
                    deadline,
                    dimension: dimension.clone(),
                    used: *used,
                    limit: *limit,
                    step: step.clone(),
                });
            }
            EventKind::BudgetRaised {
                cost,
                calls,
                tokens,
                ..
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
            }
            EventKind::BudgetRejected {
                actor,
                reason,
                timed_out,
                ..
            } => {
                self.budget_rejected = Some(crate::decide::BudgetRejection {
                    actor: actor.clone(),
                    reason: reason.clone(),
                    timed_out: *timed_out,
                    at,
                });
                self.budget_gate = None;
            }
            EventKind::CancelRequested { .. } => {
                self.cancel_requested = true;
                self.budget_gate = None;
            }
            EventKind::CompensationStarted { .. } => {
                self.compensation_ran = true;
            }
            EventKind::CompensationFinished { .. } => {}
            EventKind::RunFinished { state, summary, .. } => {
                self.finished = true;
                self.finished_at = Some(at);
                self.summary = Some(summary.clone());
                self.run_state = *state;
                self.decided = Some(*state);
            }
        }
        if self.plan.budget.is_some() {
            let totals = self.totals();
            self.burn.push(at, totals);
        }
    }

    /// Step `i`'s latest attempt used `usage` so far (`live`: it still runs; else it
    /// ended and this is its whole file): what the run's totals counted of it before
    /// gives way to this. The attempt counted one call when it started; `calls=N`
    /// makes it N (`calls=0` or none: the one call stays).
    pub(super) fn fold_usage(&mut self, i: usize, usage: Usage, live: bool) {
        let before = match self.steps[i].usage.as_deref() {
            Some((u, true)) => *u,
            _ => Usage::default(),
        };
        self.used_cost = (self.used_cost - before.cost).max(0.0) + usage.cost;
        self.used_tokens = self
            .used_tokens
            .saturating_sub(before.tokens)
            .saturating_add(usage.tokens);
        self.used_calls = self
            .used_calls
            .saturating_sub(before.calls.saturating_sub(1))
            .saturating_add(usage.calls.saturating_sub(1));
        let keep = live || usage != Usage::default() || self.steps[i].usage.is_some();
        self.steps[i].usage = keep.then(|| Box::new((usage, live)));
    }

    /// Set (or clear) when a service's next probe check is due.
    pub(super) fn probe_timer(&mut self, i: usize, at: Option<Timestamp>) {
        if let Some(t) = std::mem::replace(&mut self.steps[i].service.probe_at, at) {
            self.timers.remove(&(t, Timer::Probe(i)));
        }
        if let Some(t) = at {
            self.timers.insert((t, Timer::Probe(i)));
        }
    }

    /// Set (or clear) the end of a service's time to become ready.
    fn ready_deadline(&mut self, i: usize, at: Option<Timestamp>) {
        if let Some(t) = std::mem::replace(&mut self.steps[i].service.ready_deadline, at) {
            self.timers.remove(&(t, Timer::ReadyDeadline(i)));
        }
        if let Some(t) = at {
            self.timers.insert((t, Timer::ReadyDeadline(i)));
        }
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
        self.fan_moved(i, old, new);
        self.counts[si(old)] -= 1;
        self.counts[si(new)] += 1;
        self.steps[i].state = new;
        if self.keep_history {
            let t = baton_model::timeline::Transition {
                state: new,
                attempt,
                at,
            };
            self.steps[i].history.push(t);
        }
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
            StepState::Ready => self.steps[i].kill_sent = false,
            // A slot is for the attempt it was asked for.
            StepState::Queued => {
                self.steps[i].slot = SlotRt::Idle;
                self.steps[i].slot_wait = None;
            }
            _ => {}
        }
        // What a hold was on is over: a frozen attempt ended, a held step moved on
        // (released, retried, marked, cancelled).
        let frozen = self.steps[i].hold.as_ref().is_some_and(|h| h.frozen);
        if (old == StepState::Running && frozen) || old == StepState::Held {
            self.fold_released(i, at);
        }
        if old.has_process() && !new.has_process() {
            self.probe_timer(i, None);
        }
        if old.has_process() && new != StepState::Running {
            self.ready_deadline(i, None);
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
                s.duration_ms = None;
                s.kill_sent = false;
                s.reattached = false;
                s.timeout_kill = false;
                s.pgid = None;
                s.job = None;
                s.cached_from = None;
                s.reused = None;
                s.usage = None;
                if let Some(t) = step.alternative(s.alternative).timeout {
                    let d = at.add(t);
                    s.timeout_at = Some(d);
                    self.timers.insert((d, Timer::StepTimeout(i)));
                }
                let service = step
                    .service
                    .as_ref()
                    .map(|sv| sv.ready.as_ref().map(|r| at.add(r.timeout)));
                if let Some(deadline) = service {
                    self.steps[i].service = Sparse::default();
                    self.ready_deadline(i, deadline);
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
        if let Some(failed) = baton_model::signals::attempt_end(old, new) {
            self.attempts_finished += 1;
            self.attempts_failed += u64::from(failed);
        }
        if new.is_final() {
            self.steps[i].finished_at = Some(at);
        }
        // A reused step's work was its old run's: a fork does not undo it.
        if new == StepState::Succeeded
            && old != StepState::Succeeded
            && self.steps[i].reused.is_none()
        {
            self.completion.push(i);
        }
        let (was, is) = (settled(old), settled(new));
        if was != is {
            if is {
                self.unsettled -= 1;
            } else {
                self.unsettled += 1;
            }
        }
        // A ready service lets its dependants start while it still runs.
        let (was, is) = (available(old), available(new));
        if was != is {
            if is {
                for k in 0..self.dependants[i].len() {
                    let d = self.dependants[i][k];
                    self.steps[d].unsettled_needs -= 1;
                    // A rule that one need can decide looks at once (`one_failed`
                    // fires on the first failure); others when every need settled.
                    let look = self.steps[d].unsettled_needs == 0
                        || self.plan.steps[d].when.decides_early(new.satisfies_needs());
                    if look && self.steps[d].state == StepState::Pending {
                        self.to_eval.push_back(d);
                    }
                }
            } else {
                for k in 0..self.dependants[i].len() {
                    let d = self.dependants[i][k];
                    self.steps[d].unsettled_needs += 1;
                }
            }
        }
    }
}

//! The decision loop: timers, readiness, and picking queued steps to spawn (pools, rates, gates, budget).
use super::*;

impl Core {
    pub(super) fn settle(&mut self, now: Timestamp, fx: &mut Fx) {
        if self.finished
            || matches!(self.run_state, RunState::Interrupted | RunState::Pending)
            || self.held_by_group()
        {
            return;
        }
        loop {
            let before = self.events.len();
            self.fire_timers(now, fx);
            if self.stopping() {
                self.to_eval.clear();
            } else {
                self.fail_fast(now, fx);
                self.eval_ready(now, fx);
                self.schedule(now, fx);
                self.stop_unneeded_services(now, fx);
            }
            self.advance_run(now, fx);
            if self.events.len() == before || self.finished {
                break;
            }
        }
    }

    pub(super) fn fire_timers(&mut self, now: Timestamp, fx: &mut Fx) {
        while let Some(&(t, timer)) = self.timers.first() {
            if t > now {
                break;
            }
            self.timers.remove(&(t, timer));
            match timer {
                Timer::RunDeadline => {
                    if !self.finished && self.decided.is_none() && !self.cancel_requested {
                        self.run_timeout(now, fx);
                    }
                }
                Timer::Retry(i) => {
                    self.steps[i].retry_at = None;
                    if self.steps[i].state == StepState::RetryWait && !self.stopping() {
                        let next = self.steps[i].attempts + 1;
                        match self.waits_on_service(i) {
                            Some(d) => {
                                let why = format!(
                                    "retry: attempt {next} waits for `{}` to be ready",
                                    self.id(d)
                                );
                                self.set(i, StepState::Pending, Some(why), now, fx)
                            }
                            None => self.set(
                                i,
                                StepState::Queued,
                                Some(format!("retry: attempt {next} due")),
                                now,
                                fx,
                            ),
                        }
                    }
                }
                Timer::StepTimeout(i) => {
                    self.steps[i].timeout_at = None;
                    let s = &mut self.steps[i];
                    if s.state == StepState::Running && !s.kill_sent {
                        s.kill_sent = true;
                        s.timeout_kill = true;
                        fx.push(Effect::Kill {
                            step: i,
                            attempt: s.attempts,
                        });
                    }
                }
                Timer::GateWarn(i) => {
                    self.steps[i].gate.warn_at = None;
                    let g = &self.steps[i].gate;
                    if self.steps[i].state == StepState::WaitingApproval
                        && !g.warned
                        && let Some(deadline) = g.deadline
                    {
                        self.emit(
                            EventKind::GateWarning {
                                step: self.id(i),
                                deadline,
                            },
                            now,
                            fx,
                        );
                    }
                }
                Timer::GateDeadline(i) => {
                    if self.steps[i].state == StepState::WaitingApproval {
                        self.gate_timeout(i, now, fx);
                    }
                }
                Timer::Probe(i) => {
                    if self.steps[i].service.probe_at == Some(t) {
                        self.steps[i].service.probe_at = None;
                        self.probe_due(i, now, fx);
                    }
                }
                Timer::ReadyDeadline(i) => {
                    if self.steps[i].service.ready_deadline == Some(t) {
                        self.steps[i].service.ready_deadline = None;
                        self.ready_timeout(i, fx);
                    }
                }
                Timer::HoldUntil(i) => self.hold_expired(i, t, now, fx),
                Timer::BudgetDeadline => self.budget_deadline(t, now, fx),
                Timer::RunWatch => self.deadline_due(None, now, fx),
                Timer::StepWatch(i) => self.deadline_due(Some(i), now, fx),
            }
        }
    }

    pub(super) fn eval_ready(&mut self, now: Timestamp, fx: &mut Fx) {
        while let Some(i) = self.to_eval.pop_front() {
            // An on_cancel step starts only once the run is cancelled (`run_handler`).
            if self.steps[i].state != StepState::Pending || self.is_handler(i) {
                continue;
            }
            if self.fan_ready(i, now, fx) {
                continue;
            }
            let plan = Arc::clone(&self.plan);
            let step = &plan.steps[i];
            match step.when.verdict(self.upstream(i)) {
                Verdict::Wait => {}
                Verdict::UpstreamFailed => {
                    // The need the rule counted as failed; a settled fanned-out need
                    // counts as its instances (`upstream`), so where the step itself
                    // does not read failed, the instance that does is named.
                    let Some(d) = step
                        .needs
                        .iter()
                        .copied()
                        .find(|&d| self.need_failed(d))
                        .or_else(|| {
                            step.needs
                                .iter()
                                .flat_map(|&d| self.as_needs(d))
                                .find(|&d| self.need_failed(d))
                        })
                    else {
                        let why = format!("a need failed (when = {})", step.when.as_str());
                        self.set(i, StepState::UpstreamFailed, Some(why), now, fx);
                        continue;
                    };
                    let (need, st) = (&plan.steps[d].id, self.steps[d].state);
                    let reason = format!(
                        "needs `{need}`, which is {st} (when = {})",
                        step.when.as_str()
                    );
                    // An error for the first step below a failure only: the chain
                    // below it says so by its state.
                    if st != StepState::UpstreamFailed {
                        let b = self
                            .step_error(
                                i,
                                ErrorKind::DependencyFailed,
                                format!("upstream failed: `{need}` {st}"),
                            )
                            .context("need", need)
                            .retryable(false);
                        self.record(b, Cause::Need(need.clone()), false, now, fx);
                    }
                    self.set(i, StepState::UpstreamFailed, Some(reason), now, fx);
                }
                Verdict::Skip => {
                    let reason = self.skip_reason(i);
                    self.set(i, StepState::Skipped, Some(reason), now, fx);
                }
                Verdict::Run => {
                    if self.condition_holds(i, now, fx) {
                        self.trigger_holds(i, now, fx);
                    }
                }
            }
        }
    }

    /// The step's trigger rule holds: its gate opens, or it runs.
    fn trigger_holds(&mut self, i: usize, now: Timestamp, fx: &mut Fx) {
        let step = &self.plan.steps[i];
        if step.gate.is_some() && self.steps[i].gate.approved.is_none() {
            self.open_gate(i, now, fx);
        } else if step.action == Action::None {
            self.succeed(i, None, now, fx);
        } else {
            self.set(i, StepState::Queued, None, now, fx);
        }
    }

    /// A need that counts as a failure for trigger rules: failed (unless it may fail),
    /// rejected, cancelled, or upstream_failed.
    fn need_failed(&self, d: usize) -> bool {
        let st = self.steps[d].state;
        st.counts_as_failed() && !(st == StepState::Failed && self.failure_allowed(d))
    }

    /// Step `i`'s needs counted as its trigger rule reads them. A failed need with
    /// `allow_failure` counts as a success (GitHub's `continue-on-error`).
    pub(super) fn upstream(&self, i: usize) -> Upstream {
        let needs = &self.plan.steps[i].needs;
        let mut u = Upstream::default();
        // A settled fanned-out need counts as its instances, one need each.
        for d in needs.iter().flat_map(|&d| self.as_needs(d)) {
            u.total += 1;
            let st = self.steps[d].state;
            if available(st) {
                u.done += 1;
            }
            if st.satisfies_needs() || (st == StepState::Failed && self.failure_allowed(d)) {
                u.success += 1;
            } else if st.is_failure() || st == StepState::Cancelled {
                // A cancelled need (an instance `fail_fast` stopped, a step of a
                // cancelled run that a retry reopened) failed to do its work, as its
                // fanned-out step counts it: a rule that waited for it would wait forever.
                u.failed += 1;
            } else if st == StepState::UpstreamFailed {
                u.upstream_failed += 1;
            } else if st == StepState::Skipped {
                u.skipped += 1;
            }
        }
        u
    }

    /// Why the rule skips step `i`: the first need that made it so.
    fn skip_reason(&self, i: usize) -> String {
        let step = &self.plan.steps[i];
        let rule = step.when.as_str();
        let shown = |d: usize| format!("`{}` is {}", self.plan.steps[d].id, self.steps[d].state);
        let first = |pred: &dyn Fn(StepState) -> bool| {
            step.needs
                .iter()
                .copied()
                .find(|&d| pred(self.steps[d].state))
        };
        let which = match step.when {
            Trigger::AllSuccess | Trigger::NoneSkipped => first(&|s| s == StepState::Skipped),
            Trigger::AllFailed => first(&|s| s.satisfies_needs() || s == StepState::Skipped),
            Trigger::AllSkipped => first(&|s| s != StepState::Skipped && available(s)),
            _ => None,
        };
        match which {
            Some(d) => format!("{} (when = {rule})", shown(d)),
            None => format!("no need qualifies (when = {rule})"),
        }
    }
    /// The oldest queued step that may start now: its pool has room and a rate token.
    pub(super) fn pick(&mut self, now: Timestamp) -> Option<usize> {
        let mut best: Option<(u64, usize)> = None;
        for l in 0..self.lanes.len() {
            while let Some(&(t, s)) = self.lanes[l].queue.front() {
                if self.steps[s].state == StepState::Queued && self.steps[s].queue_ticket == t {
                    break;
                }
                self.lanes[l].queue.pop_front();
            }
            let lane = &self.lanes[l];
            let Some(&(t, s)) = lane.queue.front() else {
                continue;
            };
            if lane.running >= lane.capacity
                || lane.bucket.as_ref().is_some_and(|b| !b.available(now))
                || !self.slot_ready(s)
            {
                continue;
            }
            if best.is_none_or(|(bt, _)| t < bt) {
                best = Some((t, l));
            }
        }
        best.and_then(|(_, l)| self.lanes[l].queue.front().map(|&(_, s)| s))
    }

    pub(super) fn schedule(&mut self, now: Timestamp, fx: &mut Fx) {
        if self.budget_gate.is_some() || self.stopping() {
            return;
        }
        while self.counts[si(StepState::Running)] < self.max_parallel {
            let Some(i) = self.pick(now) else {
                self.note_rate_limited(now, fx);
                break;
            };
            self.ask_slots(fx);
            let blocks = self.budget_blocks(i);
            if !blocks.is_empty() {
                self.stop_for_budget(i, blocks, now, fx);
                break;
            }
            let resolved = match self.resolve(i) {
                Ok(r) => r,
                Err(m) => {
                    if !self.hold_for_marked_output(i, now, fx) {
                        self.fail_template(i, m, now, fx);
                    }
                    continue;
                }
            };
            if self.plan.steps[i].gate.is_some() {
                let d = match self.gate_digest(i) {
                    Ok(d) => d,
                    Err(m) => {
                        if !self.hold_for_marked_output(i, now, fx) {
                            self.fail_template(i, m, now, fx);
                        }
                        continue;
                    }
                };
                let rt = &self.steps[i].gate;
                let approved = rt.approved.clone();
                let now_signed = self.plan.steps[i].gate.as_ref().is_some_and(|g| g.signed);
                let why = if rt.unbacked {
                    Some("the approval is not backed by a quorum of valid approvers' signatures")
                } else if approved.is_some() && now_signed && !rt.signed {
                    Some("the gate now takes only signed approvals (signed = true)")
                } else if approved.is_some() && approved.as_deref() != Some(d.as_str()) {
                    Some("what would run changed since the approval (digest mismatch)")
                } else {
                    None
                };
                if approved.as_deref() != Some(d.as_str()) || why.is_some() {
                    if let Some(reason) = why {
                        let kind = EventKind::GateVoided {
                            step: self.id(i),
                            reason: reason.into(),
                        };
                        self.emit(kind, now, fx);
                    }
                    self.open_gate(i, now, fx);
                    continue;
                }
            }
            if self.fan_out(i, now, fx) {
                continue;
            }
            let Some(action) = resolved.action else {
                self.succeed(i, Some("approved".into()), now, fx);
                continue;
            };
            let attempt = self.steps[i].attempts + 1;
            self.close_interrupted(i, now, fx);
            self.close_of_kind(i, ErrorKind::RateLimited, now, fx);
            let cache = self.cache_request(i, resolved.digest_action);
            // A cached attempt starts no process until the cache has said no.
            let reason = cache
                .as_ref()
                .filter(|c| c.consult)
                .map(|_| "asking the cache first".to_string());
            self.set(i, StepState::Running, reason, now, fx);
            if let Some(executor) = self.launched_elsewhere(i) {
                let kind = EventKind::StepLaunching {
                    step: self.id(i),
                    attempt,
                    executor,
                };
                self.emit(kind, now, fx);
            }
            let mut spec = self.spec(i, attempt, action, resolved.env);
            spec.cache = cache;
            fx.push(Effect::Spawn(spec));
        }
        self.ask_slots(fx);
    }
}

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
            }
        }
    }

    pub(super) fn eval_ready(&mut self, now: Timestamp, fx: &mut Fx) {
        while let Some(i) = self.to_eval.pop_front() {
            if self.steps[i].state != StepState::Pending || self.steps[i].unsettled_needs != 0 {
                continue;
            }
            let plan = Arc::clone(&self.plan);
            let step = &plan.steps[i];
            let failed_need = step
                .needs
                .iter()
                .copied()
                .find(|&d| self.steps[d].state.is_failure());
            let not_ok = step
                .needs
                .iter()
                .copied()
                .find(|&d| !self.steps[d].state.satisfies_needs());
            let skip = match step.when {
                Trigger::AllSuccess => not_ok.map(|d| {
                    format!(
                        "needs `{}`, which is {}",
                        plan.steps[d].id, self.steps[d].state
                    )
                }),
                Trigger::AllDone => None,
                Trigger::AnyFailed => failed_need
                    .is_none()
                    .then(|| "no need failed (when = any_failed)".to_string()),
            };
            if let Some(reason) = skip {
                if step.when == Trigger::AllSuccess
                    && let Some(d) = failed_need
                {
                    let b = self
                        .step_error(
                            i,
                            ErrorKind::DependencyFailed,
                            format!("skipped: `{}` {}", plan.steps[d].id, self.steps[d].state),
                        )
                        .context("need", &plan.steps[d].id)
                        .retryable(false);
                    self.record(b, Cause::Need(plan.steps[d].id.clone()), false, now, fx);
                }
                self.set(i, StepState::Skipped, Some(reason), now, fx);
            } else if step.gate.is_some() && self.steps[i].gate.approved.is_none() {
                self.open_gate(i, now, fx);
            } else if step.action == Action::None {
                self.succeed(i, None, now, fx);
            } else {
                self.set(i, StepState::Queued, None, now, fx);
            }
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
                    self.fail_template(i, m, now, fx);
                    continue;
                }
            };
            if self.plan.steps[i].gate.is_some() {
                let d = self.digest_of(&resolved);
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
            let mut spec = self.spec(i, attempt, action, resolved.env);
            spec.cache = cache;
            fx.push(Effect::Spawn(spec));
        }
        self.ask_slots(fx);
    }
}

//! Services (`service = true`): when a probe check is due, what a result means (ready,
//! still starting, up, failed), and when baton stops a service because no step needs
//! it any more. The checks themselves are the driver's (`exec::probe`).
use super::*;
use baton_workflow::{ProbeCheck, check_timeout};

impl Core {
    /// Whether a step that is not settled still needs service `i`.
    pub(super) fn needed(&self, i: usize) -> bool {
        self.dependants[i]
            .iter()
            .any(|&d| !settled(self.steps[d].state))
    }

    /// A service among the needs of step `i` that is not ready now, if any: the step
    /// waits for it (as `pending`) instead of starting without it.
    pub(super) fn waits_on_service(&self, i: usize) -> Option<usize> {
        self.plan.steps[i].needs.iter().copied().find(|&d| {
            self.plan.steps[d].service.is_some() && self.steps[d].state != StepState::Ready
        })
    }

    /// `Timer::Probe`: a check of service `i` is due (or, without a readiness probe,
    /// its process has started: it is ready).
    pub(super) fn probe_due(&mut self, i: usize, now: Timestamp, fx: &mut Fx) {
        let plan = Arc::clone(&self.plan);
        let Some(spec) = plan.steps[i].service.as_ref() else {
            return;
        };
        let s = &self.steps[i];
        if s.service.in_flight || s.kill_sent || s.service.stopping.is_some() {
            return;
        }
        match (s.state, &spec.ready, &spec.live) {
            (StepState::Running, None, _) => {
                self.become_ready(i, "started (no readiness probe)".into(), now, fx)
            }
            (StepState::Running, Some(r), _) => {
                self.ask(i, ProbeKind::Ready, &r.check, r.interval, fx)
            }
            (StepState::Ready, _, Some(l)) => {
                self.ask(i, ProbeKind::Live, &l.check, l.interval, fx)
            }
            _ => {}
        }
    }

    fn ask(
        &mut self,
        i: usize,
        probe: ProbeKind,
        check: &ProbeCheck,
        interval: Duration,
        fx: &mut Fx,
    ) {
        let attempt = self.steps[i].attempts;
        // A `run` check runs where and as the service does.
        let env = match check {
            ProbeCheck::Run { .. } => {
                let mut env = self.resolve(i).map(|r| r.env).unwrap_or_default();
                env.insert("BATON_ATTEMPT".into(), attempt.to_string());
                env.into_iter().collect()
            }
            ProbeCheck::Http { .. } | ProbeCheck::Tcp { .. } => Vec::new(),
        };
        self.steps[i].service.in_flight = true;
        fx.push(Effect::Probe(ProbeRequest {
            step: i,
            attempt,
            probe,
            check: check.clone(),
            timeout: check_timeout(interval),
            dir: self.step_dir(i),
            env,
            secret_values: self.cfg.secret_values.clone(),
        }));
    }

    /// What a check got. A readiness check that passes makes the service ready; a
    /// failed one is tried again after its interval (until the readiness timeout). A
    /// failed liveness check counts; `failures` in a row fail the service.
    pub(super) fn on_probe_result(&mut self, result: ProbeResult, now: Timestamp, fx: &mut Fx) {
        let ProbeResult {
            step: i,
            attempt,
            probe,
            ok,
            detail,
        } = result;
        let detail = detail.as_str();
        let plan = Arc::clone(&self.plan);
        let (Some(s), Some(spec)) = (
            self.steps.get_mut(i),
            plan.steps.get(i).and_then(|s| s.service.as_ref()),
        ) else {
            return;
        };
        if s.attempts != attempt || !s.service.in_flight {
            return;
        }
        s.service.in_flight = false;
        let expected = match probe {
            ProbeKind::Ready => StepState::Running,
            ProbeKind::Live => StepState::Ready,
        };
        if s.state != expected || s.kill_sent || s.service.stopping.is_some() {
            return;
        }
        let detail = self.mask(&baton_model::sanitize::one_line(detail));
        match (probe, &spec.ready, &spec.live) {
            (ProbeKind::Ready, Some(r), _) => {
                let check = r.check.describe();
                let seen = ProbeView {
                    probe,
                    check: check.clone(),
                    ok,
                    detail: detail.clone(),
                    failures: 0,
                    at: now,
                };
                self.note_probe(i, seen, fx);
                if ok {
                    self.become_ready(i, format!("{check} got {detail}"), now, fx);
                } else {
                    self.probe_timer(i, Some(now.add(r.interval)));
                }
            }
            (ProbeKind::Live, _, Some(l)) => {
                let check = l.check.describe();
                let failures = if ok {
                    0
                } else {
                    self.steps[i].service.live_failures + 1
                };
                let seen = ProbeView {
                    probe,
                    check: check.clone(),
                    ok,
                    detail: detail.clone(),
                    failures,
                    at: now,
                };
                self.note_probe(i, seen, fx);
                if failures >= l.failures {
                    let failure = ProbeFailure {
                        message: format!(
                            "liveness probe failed {failures} times in a row: {check} got {detail}"
                        ),
                        probe,
                        check,
                        got: detail,
                        failures,
                    };
                    self.fail_by_probe(i, failure, fx);
                } else {
                    self.probe_timer(i, Some(now.add(l.interval)));
                }
            }
            _ => {}
        }
    }

    /// Keep a check as the latest; record it when it differs from the last recorded
    /// one, and always when a liveness check failed (each one counts).
    fn note_probe(&mut self, i: usize, check: ProbeView, fx: &mut Fx) {
        let seen = (check.probe, check.ok, check.detail.clone());
        if check.failures > 0 || self.steps[i].service.recorded.as_ref() != Some(&seen) {
            let kind = EventKind::StepProbed {
                step: self.id(i),
                attempt: self.steps[i].attempts,
                probe: check.probe,
                check: check.check,
                ok: check.ok,
                detail: check.detail,
                failures: check.failures,
            };
            self.emit(kind, check.at, fx);
        } else {
            let sv = &mut self.steps[i].service;
            sv.live_failures = check.failures;
            sv.last = Some(check);
        }
    }

    fn become_ready(&mut self, i: usize, reason: String, now: Timestamp, fx: &mut Fx) {
        self.set(i, StepState::Ready, Some(reason), now, fx);
        let live = self.plan.steps[i]
            .service
            .as_ref()
            .and_then(|s| s.live.as_ref())
            .map(|l| l.interval);
        if let Some(interval) = live {
            self.probe_timer(i, Some(now.add(interval)));
        }
    }

    /// `Timer::ReadyDeadline`: a service still starting has failed its readiness probe.
    pub(super) fn ready_timeout(&mut self, i: usize, fx: &mut Fx) {
        let plan = Arc::clone(&self.plan);
        let Some(r) = plan.steps[i]
            .service
            .as_ref()
            .and_then(|s| s.ready.as_ref())
        else {
            return;
        };
        let s = &self.steps[i];
        if s.state != StepState::Running || s.kill_sent {
            return;
        }
        let check = r.check.describe();
        let got = s
            .service
            .last
            .as_ref()
            .filter(|p| p.probe == ProbeKind::Ready)
            .map_or_else(|| "no answer yet".to_string(), |p| p.detail.clone());
        let failure = ProbeFailure {
            message: format!(
                "not ready within {}: readiness probe {check} last got {got}",
                human_duration(r.timeout)
            ),
            probe: ProbeKind::Ready,
            check,
            got,
            failures: 0,
        };
        self.fail_by_probe(i, failure, fx);
    }

    /// Stop a service its probe failed: its exit records the failure (and restarts it
    /// when `restart` allows).
    fn fail_by_probe(&mut self, i: usize, failure: ProbeFailure, fx: &mut Fx) {
        self.probe_timer(i, None);
        let s = &mut self.steps[i];
        s.service.failure = Some(failure);
        s.kill_sent = true;
        fx.push(Effect::Kill {
            step: i,
            attempt: s.attempts,
        });
    }

    /// baton stops service `i` (recorded first): its exit ends it succeeded.
    pub(super) fn stop_service(&mut self, i: usize, reason: &str, now: Timestamp, fx: &mut Fx) {
        let kind = EventKind::ServiceStopping {
            step: self.id(i),
            attempt: self.steps[i].attempts,
            reason: reason.to_string(),
        };
        self.emit(kind, now, fx);
        self.probe_timer(i, None);
        let s = &mut self.steps[i];
        s.kill_sent = true;
        fx.push(Effect::Kill {
            step: i,
            attempt: s.attempts,
        });
    }

    /// After each decision: a service no step needs any more is stopped (or, not
    /// running, not started again).
    pub(super) fn stop_unneeded_services(&mut self, now: Timestamp, fx: &mut Fx) {
        if self.stopping() {
            return;
        }
        for k in 0..self.services.len() {
            let i = self.services[k];
            if self.needed(i) {
                continue;
            }
            let s = &self.steps[i];
            match s.state {
                StepState::Running | StepState::Ready
                    if !s.kill_sent && s.service.stopping.is_none() =>
                {
                    self.stop_service(i, "no step needs it any more", now, fx)
                }
                StepState::RetryWait => self.set(
                    i,
                    StepState::Failed,
                    Some("not started again: no step needs it any more".into()),
                    now,
                    fx,
                ),
                StepState::Pending | StepState::Queued => self.set(
                    i,
                    StepState::Skipped,
                    Some("no step needs it any more".into()),
                    now,
                    fx,
                ),
                // Running or ready: already stopping; the rest: nothing to stop or skip.
                StepState::Running
                | StepState::Ready
                | StepState::WaitingApproval
                | StepState::Succeeded
                | StepState::Failed
                | StepState::Skipped
                | StepState::UpstreamFailed
                | StepState::Rejected
                | StepState::Cancelled
                | StepState::Interrupted
                | StepState::Compensating
                | StepState::Compensated
                | StepState::CompensationFailed
                | StepState::Held => {}
            }
        }
    }

    /// Service `i` went down: its dependants that were about to start wait for it.
    pub(super) fn hold_dependants(&mut self, i: usize, now: Timestamp, fx: &mut Fx) {
        for k in 0..self.dependants[i].len() {
            let d = self.dependants[i][k];
            if self.steps[d].state == StepState::Queued {
                let why = format!("waits for `{}` to be ready again", self.id(i));
                self.set(d, StepState::Pending, Some(why), now, fx);
            }
        }
    }

    /// An operator retries step `i`: the services it needs that baton already stopped
    /// start again (it waits for them to be ready).
    pub(super) fn restart_needed_services(
        &mut self,
        i: usize,
        operator: &str,
        now: Timestamp,
        fx: &mut Fx,
    ) {
        for k in 0..self.plan.steps[i].needs.len() {
            let d = self.plan.steps[i].needs[k];
            if self.plan.steps[d].service.is_some() && self.steps[d].state == StepState::Succeeded {
                let why = format!(
                    "started again: {operator} retried `{}`, which needs it",
                    self.id(i)
                );
                self.set(d, StepState::Pending, Some(why), now, fx);
            }
        }
    }
}

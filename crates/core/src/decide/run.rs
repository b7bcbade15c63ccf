//! The run's own state: its timeout, stopping every step, waiting/running, the outcome and its summary.
use super::*;

impl Core {
    pub(super) fn run_timeout(&mut self, now: Timestamp, fx: &mut Fx) {
        let t = self.plan.timeout.map(human_duration).unwrap_or_default();
        let reason = if let Some(bg) = &self.budget_gate {
            let msg = format!(
                "the run timed out after {t} waiting at the budget gate ({}: {} used of {})",
                bg.dimension, bg.used, bg.limit
            );
            // The stop itself is on record (`budget_exceeded`, from the gate's opening).
            let b = ErrorRecord::builder(ErrorKind::Timeout, msg.clone())
                .context("dimension", &bg.dimension)
                .context("used", bg.used)
                .context("limit", bg.limit)
                .retryable(false);
            self.record(b, Cause::RunTimeout, false, now, fx);
            msg
        } else {
            let msg = format!("the run exceeded its timeout of {t}");
            let b = ErrorRecord::builder(ErrorKind::Timeout, msg.clone()).retryable(false);
            self.record(b, Cause::RunTimeout, false, now, fx);
            msg
        };
        self.emit(
            EventKind::RunStateChanged {
                state: RunState::Failed,
                reason: Some(reason.clone()),
            },
            now,
            fx,
        );
        self.stop_all(StepState::Skipped, &reason, now, fx);
    }

    /// Kill every running attempt; every step not settled goes to `target`.
    pub(super) fn stop_all(
        &mut self,
        target: StepState,
        reason: &str,
        now: Timestamp,
        fx: &mut Fx,
    ) {
        for i in 0..self.steps.len() {
            let st = self.steps[i].state;
            if st == StepState::Running {
                if !self.steps[i].kill_sent {
                    self.steps[i].kill_sent = true;
                    fx.push(Effect::Kill {
                        step: i,
                        attempt: self.steps[i].attempts,
                    });
                }
            } else if st == StepState::Ready {
                // A ready service did its work: stopped with the run, it succeeds (a
                // cancel still cancels it).
                if !self.steps[i].kill_sent {
                    if target == StepState::Cancelled {
                        self.steps[i].kill_sent = true;
                        fx.push(Effect::Kill {
                            step: i,
                            attempt: self.steps[i].attempts,
                        });
                    } else {
                        self.stop_service(i, "the run ended", now, fx);
                    }
                }
            } else if !settled(st) {
                // An on_cancel step waits for its turn (`run_handler`).
                if target != StepState::Cancelled || !self.is_handler(i) {
                    self.set(i, target, Some(reason.to_string()), now, fx);
                }
            }
        }
    }

    pub(super) fn advance_run(&mut self, now: Timestamp, fx: &mut Fx) {
        if self.finished {
            return;
        }
        // Processes that still run: attempts, and services that are ready.
        let running = self.processes();
        if self.cancel_requested && self.decided.is_none() {
            if running == 0 {
                let kind = EventKind::RunStateChanged {
                    state: RunState::Cancelled,
                    reason: Some("cancelled".into()),
                };
                self.emit(kind, now, fx);
            }
            return;
        }
        if let Some(outcome) = self.decided {
            if running > 0 || self.counts[si(StepState::Compensating)] > 0 {
                return;
            }
            if self.run_handler(outcome, now, fx) {
                return;
            }
            if outcome != RunState::Succeeded
                && let Some(i) = self.next_compensation()
            {
                self.emit(EventKind::CompensationStarted { step: self.id(i) }, now, fx);
                self.set(
                    i,
                    StepState::Compensating,
                    Some("undoing (saga)".into()),
                    now,
                    fx,
                );
                fx.extend(self.compensation_spec(i).map(Effect::Compensate));
                return;
            }
            let summary = self.summary(outcome);
            let dealt_with = (0..self.steps.len())
                .filter(|&i| self.failure_dealt_with(i))
                .map(|i| self.id(i))
                .collect();
            self.emit(
                EventKind::RunFinished {
                    state: outcome,
                    summary,
                    dealt_with,
                },
                now,
                fx,
            );
            return;
        }
        // Unsettled on_cancel steps wait for a cancel that did not come.
        if self.unsettled == self.unsettled_handlers() {
            let failed = self.failing_steps();
            let (state, reason) = if failed > 0 {
                (
                    RunState::Failed,
                    Some(format!(
                        "{failed} step(s) failed, were rejected or could not run (upstream_failed)"
                    )),
                )
            } else {
                (RunState::Succeeded, None)
            };
            self.emit(EventKind::RunStateChanged { state, reason }, now, fx);
            return;
        }
        let c = |s| self.counts[si(s)];
        let budget = self.budget_gate.is_some();
        // A frozen step runs no more than a held one: both wait for a person.
        let held = c(StepState::Held) + self.frozen;
        let waiting = self.counts[si(StepState::Running)] == self.frozen
            && c(StepState::RetryWait) == 0
            // Queued steps behind frozen ones wait for the release, as at the budget.
            && (c(StepState::Queued) == 0 || budget || self.frozen > 0)
            && (c(StepState::WaitingApproval) > 0
                || budget
                || c(StepState::Interrupted) > 0
                || held > 0);
        let want = if waiting {
            RunState::Waiting
        } else {
            RunState::Running
        };
        if want != self.run_state {
            self.emit(
                EventKind::RunStateChanged {
                    state: want,
                    reason: None,
                },
                now,
                fx,
            );
        }
    }

    /// Steps that fail the run: failed (unless `allow_failure`), rejected, or unable
    /// to run because of such a step (upstream_failed).
    fn failing_steps(&self) -> usize {
        let allowed = (0..self.steps.len())
            .filter(|&i| self.steps[i].state == StepState::Failed && self.failure_allowed(i))
            .count();
        [
            StepState::Failed,
            StepState::Rejected,
            StepState::UpstreamFailed,
        ]
        .into_iter()
        .map(|s| self.counts[si(s)])
        .sum::<usize>()
            - allowed
    }

    pub(super) fn summary(&self, outcome: RunState) -> String {
        let c = |s| self.counts[si(s)];
        let mut parts = Vec::new();
        for s in [
            StepState::Succeeded,
            StepState::Failed,
            StepState::Rejected,
            StepState::Skipped,
            StepState::UpstreamFailed,
            StepState::Cancelled,
        ] {
            if c(s) > 0 {
                parts.push(format!("{} {s}", c(s)));
            }
        }
        let mut line = format!(
            "{outcome}: {}",
            if parts.is_empty() {
                "no steps".into()
            } else {
                parts.join(", ")
            }
        );
        let names = |pred: &dyn Fn(usize) -> bool| -> Vec<String> {
            let mut v: Vec<String> = (0..self.steps.len())
                .filter(|&i| pred(i))
                .map(|i| self.id(i))
                .collect();
            if v.len() > 10 {
                let more = v.len() - 10;
                v.truncate(10);
                v.push(format!("and {more} more"));
            }
            v
        };
        // Which alternative served each step that succeeded by a fallback.
        let served: Vec<String> = names(&|i| {
            self.steps[i].alternative > 0 && self.steps[i].state == StepState::Succeeded
        })
        .into_iter()
        .map(|id| match self.ids.get(&id) {
            Some(&i) => format!("{id} by alternative {}", self.steps[i].alternative),
            None => id,
        })
        .collect();
        if !served.is_empty() {
            line.push_str(&format!("; served by a fallback: {}", served.join(", ")));
        }
        let undone = names(&|i| self.steps[i].state == StepState::Compensated);
        let failed = names(&|i| self.steps[i].state == StepState::CompensationFailed);
        if !undone.is_empty() {
            line.push_str(&format!("; undone: {}", undone.join(", ")));
        }
        if !failed.is_empty() {
            line.push_str(&format!(
                "; not undone (compensation failed): {}",
                failed.join(", ")
            ));
        }
        if outcome != RunState::Succeeded {
            let kept = names(&|i| self.steps[i].state == StepState::Succeeded);
            if !kept.is_empty() {
                line.push_str(&format!(
                    "; not undone (no compensate): {}",
                    kept.join(", ")
                ));
            }
        }
        line
    }
}

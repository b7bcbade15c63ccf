//! How a run ends: its final state and summary, and the compensations (saga) that
//! undo succeeded steps, in reverse order, when it fails or is cancelled.
use super::*;
use crate::model::{ErrorKind, EventKind, Severity};

impl Core {
    pub(in crate::engine::core) fn advance_run(&mut self, now: Timestamp, fx: &mut Fx) {
        if self.finished {
            return;
        }
        let running = self.counts[si(StepState::Running)];
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
            self.emit(
                EventKind::RunFinished {
                    state: outcome,
                    summary,
                },
                now,
                fx,
            );
            return;
        }
        if self.unsettled == 0 {
            let failed = self.counts[si(StepState::Failed)] + self.counts[si(StepState::Rejected)];
            let (state, reason) = if failed > 0 {
                (
                    RunState::Failed,
                    Some(format!("{failed} step(s) failed or were rejected")),
                )
            } else {
                (RunState::Succeeded, None)
            };
            self.emit(EventKind::RunStateChanged { state, reason }, now, fx);
            return;
        }
        let c = |s| self.counts[si(s)];
        let budget = self.budget_gate.is_some();
        let waiting = running == 0
            && c(StepState::RetryWait) == 0
            && (c(StepState::Queued) == 0 || budget)
            && (c(StepState::WaitingApproval) > 0 || budget || c(StepState::Interrupted) > 0);
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

    pub(in crate::engine::core) fn next_compensation(&self) -> Option<usize> {
        self.completion.iter().rev().copied().find(|&i| {
            self.steps[i].state == StepState::Succeeded && self.plan.steps[i].compensate.is_some()
        })
    }

    pub(in crate::engine::core) fn summary(&self, outcome: RunState) -> String {
        let c = |s| self.counts[si(s)];
        let mut parts = Vec::new();
        for s in [
            StepState::Succeeded,
            StepState::Failed,
            StepState::Rejected,
            StepState::Skipped,
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

    pub(in crate::engine::core) fn compensation_spec(&self, i: usize) -> Option<SpawnSpec> {
        let command = self.plan.steps[i].compensate.clone()?;
        let env = match self.resolve(i) {
            Ok(r) => r.env,
            Err(_) => BTreeMap::from([
                ("BATON_RUN_ID".to_string(), self.cfg.run_id.clone()),
                ("BATON_STEP_ID".to_string(), self.id(i)),
            ]),
        };
        let mut spec = self.spec(
            i,
            self.steps[i].attempts,
            SpawnAction::Shell { command },
            env,
        );
        spec.timeout = self.plan.steps[i].timeout;
        Some(spec)
    }

    pub(in crate::engine::core) fn on_compensation_exit(
        &mut self,
        i: usize,
        outcome: StepOutcome,
        duration_ms: u64,
        stderr_tail: &str,
        now: Timestamp,
        fx: &mut Fx,
    ) {
        if self.steps.get(i).map(|s| s.state) != Some(StepState::Compensating) {
            return;
        }
        let exit_code = match outcome {
            StepOutcome::Exited { exit_code } => Some(exit_code),
            _ => None,
        };
        let ok = exit_code == Some(0);
        self.emit(
            EventKind::CompensationFinished {
                step: self.id(i),
                ok,
                exit_code,
            },
            now,
            fx,
        );
        if ok {
            self.set(i, StepState::Compensated, Some("undone".into()), now, fx);
        } else {
            let msg = match &outcome {
                StepOutcome::Exited { exit_code } => {
                    format!("compensation exited with code {exit_code}")
                }
                StepOutcome::Signalled { signal } => {
                    format!("compensation killed by signal {signal}")
                }
                StepOutcome::TimedOut => "compensation timed out".into(),
                StepOutcome::Killed => "compensation killed".into(),
                StepOutcome::SpawnFailed { message } => {
                    format!("compensation could not start: {message}")
                }
                StepOutcome::Lost { reason } => format!("compensation lost: {reason}"),
            };
            let mut b = self
                .step_error(i, ErrorKind::CompensationFailed, msg.clone())
                .severity(Severity::Critical)
                .retryable(false)
                .context("duration_ms", duration_ms)
                .context("stderr_tail", self.mask(stderr_tail))
                .suggestion(format!(
                    "undo `{s}` by hand, then record it: `baton mark {r} {s} --state failed --reason …`",
                    s = self.id(i),
                    r = self.cfg.run_id
                ));
            if let Some(c) = exit_code {
                b = b.context("exit_code", c);
            }
            self.record(b, now, fx);
            self.set(i, StepState::CompensationFailed, Some(msg), now, fx);
        }
    }
}

//! Compensations (saga): which step is undone next, its spawn spec, and its exit.
use super::*;

impl Core {
    pub(super) fn compensation_spec(&self, i: usize) -> Option<SpawnSpec> {
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

    pub(super) fn next_compensation(&self) -> Option<usize> {
        self.completion.iter().rev().copied().find(|&i| {
            self.steps[i].state == StepState::Succeeded && self.plan.steps[i].compensate.is_some()
        })
    }

    pub(super) fn on_compensation_exit(
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
                .context("stderr_tail", self.mask(stderr_tail));
            if let Some(c) = exit_code {
                b = b.context("exit_code", c);
            }
            self.record(b, Cause::Attempt, false, now, fx);
            self.set(i, StepState::CompensationFailed, Some(msg), now, fx);
        }
    }
}

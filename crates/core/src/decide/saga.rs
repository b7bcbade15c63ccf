//! Compensations (saga): which step is undone next, its spawn spec, and its exit;
//! and the `on_cancel` steps, which run as the saga does, after the run stopped.
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
                StepOutcome::SpawnFailed { message } | StepOutcome::Unreached { message } => {
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

impl Core {
    pub(super) fn is_handler(&self, i: usize) -> bool {
        self.plan.steps[i].on_cancel
    }

    /// The `on_cancel` steps not settled: pending, or interrupted by a crash.
    pub(super) fn unsettled_handlers(&self) -> usize {
        self.handlers
            .iter()
            .filter(|&&i| !settled(self.steps[i].state))
            .count()
    }

    /// The run decided `outcome` and nothing runs: a cancelled run starts its next
    /// `on_cancel` step (in file order; one a crash interrupted runs again if it is
    /// idempotent), any other skips them. `true`: something was started or settled.
    pub(super) fn run_handler(&mut self, outcome: RunState, now: Timestamp, fx: &mut Fx) -> bool {
        let next = self.handlers.iter().copied().find(|&i| {
            let st = self.steps[i].state;
            st == StepState::Pending
                || (st == StepState::Interrupted && self.plan.steps[i].idempotent)
        });
        let Some(i) = next else {
            return false;
        };
        if outcome != RunState::Cancelled {
            let why = format!("the run was not cancelled (it {outcome}): on_cancel");
            self.set(i, StepState::Skipped, Some(why), now, fx);
            return true;
        }
        let resolved = match self.resolve(i) {
            Ok(r) => r,
            Err(m) => {
                self.fail_template(i, m, now, fx);
                return true;
            }
        };
        let Some(action) = resolved.action else {
            self.succeed(i, Some("on_cancel".into()), now, fx);
            return true;
        };
        let attempt = self.steps[i].attempts + 1;
        self.close_interrupted(i, now, fx);
        let why = "the run was cancelled (on_cancel)".to_string();
        self.set(i, StepState::Running, Some(why), now, fx);
        let spec = self.spec(i, attempt, action, resolved.env);
        fx.push(Effect::Spawn(spec));
        true
    }
}

//! What the core would accept now: the state checks commands are refused by, shared by `on_command` and the view.
use super::*;
use baton_model::Refusal;
use baton_model::view::Actions;

impl Core {
    /// Any command at all: the run has started and is not interrupted.
    pub(super) fn can_command(&self) -> Result<(), Refusal> {
        if self.events.is_empty() {
            return Err(Refusal::NotStarted);
        }
        if self.run_state == RunState::Interrupted {
            return Err(Refusal::Interrupted {
                run: self.cfg.run_id.clone(),
            });
        }
        Ok(())
    }

    /// Retry and mark may reopen a finished run, unless work was already undone.
    pub(super) fn check_reopen(&self, now: Timestamp) -> Result<(), Refusal> {
        // A cancelled run may be reopened once it has stopped (as Airflow's clear and
        // `argo retry` do), not while its cancel is still under way.
        if self.cancel_requested && !self.finished {
            return Err(Refusal::Cancelling);
        }
        if self.compensation_ran {
            return Err(Refusal::Compensated);
        }
        if self.decided.is_some()
            && let Some(d) = self.deadline
            && now >= d
        {
            return Err(Refusal::RunTimedOut);
        }
        Ok(())
    }

    pub(super) fn can_retry(&self, i: usize, now: Timestamp) -> Result<(), Refusal> {
        let st = self.steps[i].state;
        // Held because its retries ran out: it waits for this (or a mark, a release).
        let exhausted = st == StepState::Held
            && self.steps[i]
                .more
                .hold
                .as_ref()
                .is_some_and(|h| h.exhausted);
        if !exhausted && !st.is_retryable() {
            return Err(Refusal::NotRetryable {
                step: self.id(i),
                state: st,
            });
        }
        self.check_reopen(now)
    }

    /// Marking step `i` as `target` (already known to be succeeded or failed).
    pub(super) fn can_mark(
        &self,
        i: usize,
        target: StepState,
        now: Timestamp,
    ) -> Result<(), Refusal> {
        let st = self.steps[i].state;
        // Its compensation failed: the operator undoes it by hand and records that
        // (the suggestion of its error record). The run stays as it ended.
        if st == StepState::CompensationFailed {
            return match target {
                StepState::Failed => Ok(()),
                _ => Err(Refusal::NotUndone {
                    run: self.cfg.run_id.clone(),
                    step: self.id(i),
                }),
            };
        }
        if st.is_busy() {
            return Err(Refusal::Busy {
                step: self.id(i),
                state: st,
            });
        }
        if st == target {
            return Err(Refusal::AlreadyInState {
                step: self.id(i),
                state: st,
            });
        }
        self.check_mark_gate(i, target)?;
        self.check_reopen(now)
    }

    /// A gate is decided by approvals and rejections under its rules, never by `mark`:
    /// not while it waits, and a gated step is marked succeeded only once approved.
    fn check_mark_gate(&self, i: usize, target: StepState) -> Result<(), Refusal> {
        if self.plan.steps[i].gate.is_none() {
            return Ok(());
        }
        if self.steps[i].state == StepState::WaitingApproval {
            return Err(Refusal::GateWaiting {
                run: self.cfg.run_id.clone(),
                step: self.id(i),
            });
        }
        if target == StepState::Succeeded && self.steps[i].gate.approved.is_none() {
            return Err(Refusal::GateNotApproved { step: self.id(i) });
        }
        Ok(())
    }

    pub(super) fn can_cancel(&self) -> Result<(), Refusal> {
        if self.finished || self.decided.is_some() {
            return Err(Refusal::AlreadyFinished {
                state: self.run_state,
            });
        }
        if self.cancel_requested {
            return Err(Refusal::AlreadyCancelling);
        }
        Ok(())
    }

    pub(super) fn can_raise_budget(&self) -> Result<(), Refusal> {
        if self.plan.budget.is_none() {
            return Err(Refusal::NoBudget);
        }
        if self.finished || self.stopping() {
            return Err(Refusal::NotScheduling {
                state: self.run_state,
            });
        }
        Ok(())
    }

    /// What may be done to step `i` now. Who may decide a gate (approver lists,
    /// self-approval, one vote each) is only checked when the command arrives.
    pub(crate) fn step_actions(&self, i: usize, now: Timestamp) -> Actions {
        if self.can_command().is_err() {
            return Actions::default();
        }
        let gate_open = self.check_gate(i).is_ok();
        Actions {
            approve: gate_open,
            reject: gate_open,
            retry: self.can_retry(i, now).is_ok(),
            mark_succeeded: self.can_mark(i, StepState::Succeeded, now).is_ok(),
            mark_failed: self.can_mark(i, StepState::Failed, now).is_ok(),
            hold: self.can_cancel().is_ok() && self.can_hold(i).is_ok(),
            release: self.steps[i].more.hold.is_some(),
            push_back: self.may_push_back(i).is_ok(),
            ..Actions::default()
        }
    }

    /// What may be done at an open gate: a step's gate is decided, the budget gate raised.
    pub(crate) fn gate_actions(&self, step: Option<usize>, now: Timestamp) -> Actions {
        match step {
            Some(i) => {
                let a = self.step_actions(i, now);
                Actions {
                    approve: a.approve,
                    reject: a.reject,
                    push_back: a.push_back,
                    ..Actions::default()
                }
            }
            None => {
                let raise = self.run_actions().raise_budget;
                Actions {
                    raise_budget: raise,
                    reject: raise && self.budget_gate.is_some(),
                    ..Actions::default()
                }
            }
        }
    }

    /// What may be done to the run as a whole.
    pub(crate) fn run_actions(&self) -> Actions {
        if self.can_command().is_err() {
            return Actions::default();
        }
        let scheduling = self.can_cancel().is_ok();
        Actions {
            cancel: scheduling,
            raise_budget: self.can_raise_budget().is_ok(),
            hold: scheduling
                && (0..self.steps.len()).any(|i| self.can_hold(i).is_ok_and(|frozen| !frozen)),
            release: (0..self.steps.len()).any(|i| self.steps[i].more.hold.is_some()),
            ..Actions::default()
        }
    }
}

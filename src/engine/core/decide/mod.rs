//! Decisions: inputs and timers in, events (applied at once) and effects out. This
//! file holds the entry points (`start`, `handle`, `resume`) and the plumbing every
//! decision uses; each concern has its own file beside it: `scheduling` (what runs
//! next, timers), `gates` (approval gates), `budget`, `saga` (how a run ends, its
//! compensations), `exits` (a step's process ended), `commands` (operator commands)
//! and `resolve` (templates into what a step runs).
use super::*;
use crate::model::error::ErrorRecordBuilder;
use crate::model::{ErrorKind, EventKind};

mod budget;
mod commands;
mod exits;
mod gates;
mod jobs;
mod resolve;
mod saga;
mod scheduling;

type Fx = Vec<Effect>;

impl Core {
    /// Start a new run: `RunStarted`, the run running, and the first spawns.
    pub fn start(&mut self, now: Timestamp) -> Vec<Effect> {
        let mut fx = Vec::new();
        if !self.events.is_empty() {
            return fx;
        }
        let params = self
            .cfg
            .params
            .iter()
            .map(|(k, v)| (k.clone(), self.mask(v)))
            .collect();
        let kind = EventKind::RunStarted {
            workflow: self.plan.name.clone(),
            operator: self.cfg.operator.clone(),
            params,
            seed: self.cfg.seed,
        };
        self.emit(kind, now, &mut fx);
        self.emit(
            EventKind::RunStateChanged {
                state: RunState::Running,
                reason: None,
            },
            now,
            &mut fx,
        );
        self.settle(now, &mut fx);
        fx
    }

    pub fn handle(&mut self, input: Input, now: Timestamp) -> Vec<Effect> {
        let mut fx = Vec::new();
        if self.events.is_empty() {
            if let Input::Command { id, .. } = input {
                fx.push(Effect::CommandDone {
                    id,
                    outcome: CommandOutcome::Refused {
                        reason: "the run has not started".into(),
                    },
                });
            }
            return fx;
        }
        match input {
            Input::Tick => {}
            Input::ProcessStarted {
                step,
                attempt,
                pgid,
            } => {
                if let Some(s) = self.steps.get(step)
                    && s.attempts == attempt
                {
                    if s.state == StepState::Running {
                        let id = self.plan.steps[step].id.clone();
                        self.emit(
                            EventKind::StepProcess {
                                step: id,
                                attempt,
                                pgid,
                            },
                            now,
                            &mut fx,
                        );
                    } else {
                        fx.push(Effect::KillStale { pgid });
                    }
                }
            }
            Input::JobStarted {
                step,
                attempt,
                executor,
                job_id,
            } => self.on_job_started(step, attempt, executor, job_id, now, &mut fx),
            Input::StepExited {
                step,
                attempt,
                outcome,
                duration_ms,
                outputs,
                usage,
                stderr_tail,
            } => self.on_exit(
                step,
                attempt,
                outcome,
                duration_ms,
                outputs,
                usage,
                &stderr_tail,
                now,
                &mut fx,
            ),
            Input::CompensationExited {
                step,
                outcome,
                duration_ms,
                stderr_tail,
            } => self.on_compensation_exit(step, outcome, duration_ms, &stderr_tail, now, &mut fx),
            Input::Command { id, command } => {
                let result = if self.run_state == RunState::Interrupted {
                    Err("the run is interrupted; `baton resume RUN` continues it".to_string())
                } else {
                    self.on_command(&command, now, &mut fx)
                };
                let outcome = match result {
                    Ok(message) => CommandOutcome::Accepted { message },
                    Err(reason) => {
                        let reason = self.mask(&reason);
                        let command = self.mask_command(&command);
                        self.emit(
                            EventKind::CommandRefused {
                                command,
                                reason: reason.clone(),
                            },
                            now,
                            &mut fx,
                        );
                        CommandOutcome::Refused { reason }
                    }
                };
                fx.push(Effect::CommandDone { id, outcome });
            }
            Input::Shutdown { reason } => self.shutdown(&reason, now, &mut fx),
        }
        self.settle(now, &mut fx);
        fx
    }

    /// After `replay`: kill what the dead engine left, mark its running steps
    /// interrupted, re-queue the idempotent ones and continue.
    pub fn resume(&mut self, operator: &str, now: Timestamp) -> Vec<Effect> {
        let mut fx = Vec::new();
        if self.events.is_empty() || self.finished {
            return fx;
        }
        self.emit(
            EventKind::RunResumed {
                operator: operator.to_string(),
            },
            now,
            &mut fx,
        );
        for i in 0..self.steps.len() {
            if self.reattach(i, now, &mut fx) {
                continue;
            }
            let st = self.steps[i].state;
            if let Some(pgid) = self.steps[i].pgid
                && matches!(st, StepState::Running | StepState::Interrupted)
            {
                fx.push(Effect::KillStale { pgid });
            }
            if st == StepState::Running {
                self.interrupt(
                    i,
                    "the engine stopped while this step was running",
                    now,
                    &mut fx,
                );
            }
        }
        let restore = self.decided.unwrap_or(RunState::Running);
        self.emit(
            EventKind::RunStateChanged {
                state: restore,
                reason: Some(format!("resumed by {operator}")),
            },
            now,
            &mut fx,
        );
        if self.stopping() {
            let target = if self.cancel_requested {
                StepState::Cancelled
            } else {
                StepState::Skipped
            };
            self.stop_all(target, "the run is stopping", now, &mut fx);
        } else {
            for i in 0..self.steps.len() {
                if self.steps[i].state == StepState::Interrupted && self.plan.steps[i].idempotent {
                    self.set(
                        i,
                        StepState::Queued,
                        Some("resumed: runs again (idempotent)".into()),
                        now,
                        &mut fx,
                    );
                }
            }
        }
        for i in 0..self.steps.len() {
            if self.steps[i].state == StepState::Compensating {
                let spec = self.compensation_spec(i);
                fx.extend(spec.map(Effect::Compensate));
            }
        }
        self.settle(now, &mut fx);
        fx
    }

    pub(in crate::engine::core) fn emit(&mut self, kind: EventKind, now: Timestamp, fx: &mut Fx) {
        let ev = Event {
            seq: self.events.len() as u64 + 1,
            at: now,
            kind,
        };
        self.apply(&ev);
        fx.push(Effect::Persist(ev.clone()));
        self.events.push(ev);
    }

    pub(super) fn mask(&self, s: &str) -> String {
        self.masker.mask(s).into_owned()
    }

    pub(in crate::engine::core) fn mask_command(&self, c: &Command) -> Command {
        let mut c = c.clone();
        match &mut c {
            Command::Approve { reason, .. } | Command::Cancel { reason, .. } => {
                if let Some(r) = reason {
                    *r = self.mask(r);
                }
            }
            Command::Reject { reason, .. }
            | Command::Mark { reason, .. }
            | Command::RaiseBudget { reason, .. } => *reason = self.mask(reason),
            Command::Retry { .. } => {}
        }
        c
    }

    pub(in crate::engine::core) fn id(&self, i: usize) -> String {
        self.plan.steps[i].id.clone()
    }

    pub(in crate::engine::core) fn set(
        &mut self,
        i: usize,
        state: StepState,
        reason: Option<String>,
        now: Timestamp,
        fx: &mut Fx,
    ) {
        let attempt = if state == StepState::Running {
            self.steps[i].attempts + 1
        } else {
            self.steps[i].attempts
        };
        let kind = EventKind::StepStateChanged {
            step: self.id(i),
            state,
            attempt,
            reason: reason.map(|r| self.mask(&r)),
        };
        self.emit(kind, now, fx);
    }

    pub(in crate::engine::core) fn record(
        &mut self,
        b: ErrorRecordBuilder,
        now: Timestamp,
        fx: &mut Fx,
    ) {
        let mut rec = b.run(self.cfg.run_id.clone()).build(now);
        if self.error_ids.contains_key(&rec.id) {
            let base = rec.id.clone();
            let mut n = 2;
            while self.error_ids.contains_key(&format!("{base}.{n}")) {
                n += 1;
            }
            rec.id = format!("{base}.{n}");
        }
        rec.message = self.mask(&rec.message);
        for v in rec.context.values_mut() {
            *v = self.masker.mask(v).into_owned();
        }
        self.emit(EventKind::ErrorRecorded { error: rec }, now, fx);
    }

    pub(in crate::engine::core) fn step_error(
        &self,
        i: usize,
        kind: ErrorKind,
        msg: impl Into<String>,
    ) -> ErrorRecordBuilder {
        ErrorRecord::builder(kind, msg).step(self.id(i), self.steps[i].attempts)
    }

    pub(in crate::engine::core) fn succeed(
        &mut self,
        i: usize,
        reason: Option<String>,
        now: Timestamp,
        fx: &mut Fx,
    ) {
        if !self.steps[i].open_errors.is_empty() {
            let ids = self.steps[i]
                .open_errors
                .iter()
                .map(|&n| self.errors[n].id.clone())
                .collect();
            self.emit(
                EventKind::ErrorsClosed {
                    step: self.id(i),
                    ids,
                },
                now,
                fx,
            );
        }
        self.set(i, StepState::Succeeded, reason, now, fx);
    }

    pub(in crate::engine::core) fn interrupt(
        &mut self,
        i: usize,
        why: &str,
        now: Timestamp,
        fx: &mut Fx,
    ) {
        let b = self
            .step_error(i, ErrorKind::Interrupted, format!("interrupted: {why}"))
            .context("attempt", self.steps[i].attempts)
            .retryable(true)
            .suggestion(if self.plan.steps[i].idempotent {
                format!("`baton resume {}` runs the step again", self.cfg.run_id)
            } else {
                format!(
                    "the step is not idempotent: check what it did, then `baton retry {r} {s}` or `baton mark {r} {s} --state succeeded --reason …`",
                    r = self.cfg.run_id,
                    s = self.id(i)
                )
            });
        self.record(b, now, fx);
        self.set(i, StepState::Interrupted, Some(why.to_string()), now, fx);
    }

    pub(in crate::engine::core) fn settle(&mut self, now: Timestamp, fx: &mut Fx) {
        if self.finished || matches!(self.run_state, RunState::Interrupted | RunState::Pending) {
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
            }
            self.advance_run(now, fx);
            if self.events.len() == before || self.finished {
                break;
            }
        }
    }

    pub(in crate::engine::core) fn shutdown(&mut self, reason: &str, now: Timestamp, fx: &mut Fx) {
        if self.finished || self.run_state == RunState::Interrupted {
            return;
        }
        for i in 0..self.steps.len() {
            if self.steps[i].state == StepState::Running {
                fx.push(Effect::Kill {
                    step: i,
                    attempt: self.steps[i].attempts,
                });
                self.interrupt(i, &format!("the engine stopped ({reason})"), now, fx);
            }
        }
        let kind = EventKind::RunStateChanged {
            state: RunState::Interrupted,
            reason: Some(reason.to_string()),
        };
        self.emit(kind, now, fx);
    }
}

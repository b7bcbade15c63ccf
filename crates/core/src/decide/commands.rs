//! Operator commands: lookup, the checks that refuse them, and what each one does.
use super::*;
use baton_model::{ReasonFor, Refusal};

impl Core {
    pub(super) fn lookup(&self, step: &str) -> Result<usize, Refusal> {
        match self.ids.get(step) {
            Some(&i) => Ok(i),
            None if step == "budget" => Err(Refusal::BudgetIsRaised {
                run: self.cfg.run_id.clone(),
            }),
            None => Err(Refusal::NoSuchStep {
                step: step.to_string(),
            }),
        }
    }

    /// Skipped (or upstream_failed) steps downstream of `i`, reached through such steps only.
    pub(super) fn downstream_skipped(&self, i: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        let mut queue: VecDeque<usize> = self.dependants[i].iter().copied().collect();
        // An instance taken up again reopens its fanned-out step, however it settled.
        if let Some(p) = self.settled_parent(i) {
            seen.insert(p);
            out.push(p);
            queue.extend(self.dependants[p].iter().copied());
        }
        while let Some(d) = queue.pop_front() {
            // Skipped because of `i`, or cancelled with the run it reopens.
            let stopped = self.steps[d].state.is_stopped();
            if stopped && seen.insert(d) {
                out.push(d);
                queue.extend(self.dependants[d].iter().copied());
            }
        }
        out
    }

    pub(super) fn reopen(&mut self, why: String, now: Timestamp, fx: &mut Fx) {
        if self.decided.is_some() {
            let kind = EventKind::RunStateChanged {
                state: RunState::Running,
                reason: Some(why),
            };
            self.emit(kind, now, fx);
        }
    }

    /// Retry step `i` (a step or one instance): its `step_retried` event, the run
    /// reopened and what it skipped re-armed. How many steps it re-armed.
    /// `batch`: one of the steps of `retry --failed`, whose decision is on record.
    pub(super) fn retry_one(
        &mut self,
        i: usize,
        operator: &str,
        batch: bool,
        now: Timestamp,
        fx: &mut Fx,
    ) -> usize {
        let step = self.id(i);
        let rearmed = self.downstream_skipped(i);
        self.reopen(format!("{operator} retried `{step}`"), now, fx);
        let kind = EventKind::StepRetried {
            step: step.clone(),
            actor: operator.to_string(),
            rearmed: rearmed.iter().map(|&d| self.id(d)).collect(),
            batch,
        };
        self.emit(kind, now, fx);
        self.set(
            i,
            StepState::Pending,
            Some(format!("retry by {operator}")),
            now,
            fx,
        );
        for &d in &rearmed {
            // It is no longer skipped: the record saying why is over.
            self.close_of_kind(d, ErrorKind::DependencyFailed, now, fx);
            self.set(
                d,
                StepState::Pending,
                Some(format!("re-armed with `{step}`")),
                now,
                fx,
            );
        }
        for s in std::iter::once(i).chain(rearmed.iter().copied()) {
            self.restart_needed_services(s, operator, now, fx);
        }
        rearmed.len()
    }

    /// An operator's command: refused (a text over its bound, a run that takes
    /// none) or done, and its outcome handed back.
    pub(super) fn on_command_input(
        &mut self,
        id: Option<i64>,
        command: &Command,
        now: Timestamp,
        fx: &mut Fx,
    ) {
        // A text over the bound is refused before anything reads it.
        let result = match command.too_long() {
            Some(why) => Err(Refusal::TooLong { why }),
            None => self
                .can_command()
                .and_then(|()| self.on_command(command, now, fx)),
        };
        let outcome = match result {
            Ok(message) => CommandOutcome::Accepted { message },
            Err(refusal) => self.refuse(command, &refusal, now, fx),
        };
        fx.push(Effect::CommandDone { id, outcome });
    }

    pub(super) fn on_command(
        &mut self,
        cmd: &Command,
        now: Timestamp,
        fx: &mut Fx,
    ) -> Result<String, Refusal> {
        if baton_model::clean_name(cmd.operator()).is_none() {
            return Err(Refusal::NoOperator);
        }
        match cmd {
            Command::Approve {
                step,
                operator,
                reason,
                signature,
                inputs,
            } => {
                let ask = ApproveAsk {
                    step,
                    operator,
                    reason,
                    signature,
                    inputs,
                };
                self.on_approve(ask, now, fx)
            }
            Command::Reject {
                step,
                operator,
                reason,
                signature,
            } => self.on_reject(step, operator, reason, signature.as_deref(), now, fx),
            Command::PushBack {
                step,
                operator,
                reason,
                signature,
            } => self.push_back(step, operator, reason, signature.as_deref(), now, fx),
            Command::Retry { step, operator } => self.on_retry(step, operator, now, fx),
            Command::RetryFailed { operator } => self.on_retry_failed(operator, now, fx),
            Command::Mark {
                step,
                state,
                operator,
                reason,
                outputs,
                artifacts,
            } => {
                let ask = MarkAsk {
                    step,
                    state,
                    operator,
                    reason,
                    outputs,
                    artifacts,
                };
                self.on_mark(ask, now, fx)
            }
            Command::Hold {
                steps,
                operator,
                reason,
                until,
                freeze,
            } => {
                let ask = super::hold::HoldAsk {
                    steps,
                    operator,
                    reason,
                    until: *until,
                    freeze: *freeze,
                };
                self.on_hold(ask, now, fx)
            }
            Command::Release {
                steps,
                operator,
                reason,
            } => self.on_release(steps, operator, reason, now, fx),
            Command::Cancel { operator, reason } => {
                self.on_cancel(operator, reason.as_ref(), now, fx)
            }
            Command::Label {
                operator,
                set,
                removed,
            } => self.on_label(operator, set, removed, now, fx),
            Command::RejectBudget { operator, reason } => {
                self.on_reject_budget(operator, reason, now, fx)
            }
            Command::RaiseBudget {
                operator,
                reason,
                cost,
                calls,
                tokens,
            } => {
                let raise = baton_model::raise::Raise {
                    cost: *cost,
                    calls: *calls,
                    tokens: *tokens,
                };
                self.on_raise_budget(operator, reason, raise, now, fx)
            }
        }
    }

    /// `baton retry`: the step, or each of a fanned-out step's instances that can be.
    fn on_retry(
        &mut self,
        step: &str,
        operator: &str,
        now: Timestamp,
        fx: &mut Fx,
    ) -> Result<String, Refusal> {
        let i = self.lookup(step)?;
        // A fanned-out step: each of its instances that can be retried.
        let targets = self.retry_targets(i, now)?;
        let mut rearmed = 0;
        for &k in &targets {
            rearmed += self.retry_one(k, operator, false, now, fx);
        }
        Ok(match targets.as_slice() {
            [k] if *k == i => {
                format!("retrying `{step}`; {rearmed} downstream step(s) re-armed")
            }
            _ => format!(
                "retrying {} instance(s) of `{step}`; {rearmed} downstream step(s) re-armed",
                targets.len()
            ),
        })
    }

    /// `baton mark`: a step recorded succeeded or failed by an operator.
    fn on_mark(
        &mut self,
        ask: MarkAsk<'_>,
        now: Timestamp,
        fx: &mut Fx,
    ) -> Result<String, Refusal> {
        let MarkAsk {
            step,
            state,
            operator,
            reason,
            outputs,
            artifacts,
        } = ask;
        let i = self.lookup(step)?;
        if !state.is_mark_target() {
            return Err(Refusal::MarkState { state: *state });
        }
        if reason.trim().is_empty() {
            return Err(Refusal::ReasonRequired {
                to: ReasonFor::Mark,
            });
        }
        self.check_mark_outputs(*state, outputs)?;
        self.check_mark_artifacts(i, *state, artifacts)?;
        if self.supplies_marked(i, *state, !outputs.is_empty() || !artifacts.is_empty()) {
            let said = self.supply_outputs(i, operator, reason, outputs, now, fx);
            return Ok(self.supply_artifacts(i, artifacts, said, now, fx));
        }
        self.can_mark(i, *state, now)?;
        // Undone by hand after its compensation failed: recorded, the run not reopened.
        let undone = self.steps[i].state == StepState::CompensationFailed;
        let rearmed = if *state == StepState::Succeeded {
            self.downstream_skipped(i)
        } else {
            Vec::new()
        };
        if !undone {
            self.reopen(format!("{operator} marked `{step}` {state}"), now, fx);
        }
        let reason = self.mask(reason);
        let kind = EventKind::StepMarked {
            step: step.clone(),
            state: *state,
            actor: operator.clone(),
            reason: reason.clone(),
            outputs: outputs.clone(),
        };
        self.emit(kind, now, fx);
        let why = Some(format!("marked by {operator}: {reason}"));
        if *state == StepState::Succeeded {
            self.succeed(i, why, now, fx);
            // Those given are kept, and what its attempt left of the others
            // (`marked_artifacts`).
            if !artifacts.is_empty() {
                let attempt = self.steps[i].attempts;
                self.store_marked(i, attempt, artifacts, now, fx);
            }
            self.collect_marked(i, fx);
            for &d in &rearmed {
                self.close_of_kind(d, ErrorKind::DependencyFailed, now, fx);
                self.set(
                    d,
                    StepState::Pending,
                    Some(format!("re-armed: `{step}` marked succeeded")),
                    now,
                    fx,
                );
            }
        } else {
            if undone {
                self.close_of_kind(i, ErrorKind::CompensationFailed, now, fx);
            }
            self.set(i, StepState::Failed, why, now, fx);
        }
        Ok(format!("marked `{step}` {state}"))
    }

    /// `baton cancel`: the run's attempts stopped, its steps cancelled.
    fn on_cancel(
        &mut self,
        operator: &str,
        reason: Option<&String>,
        now: Timestamp,
        fx: &mut Fx,
    ) -> Result<String, Refusal> {
        self.can_cancel()?;
        let kind = EventKind::CancelRequested {
            actor: operator.to_string(),
            reason: reason.map(|r| self.mask(r)),
        };
        self.emit(kind, now, fx);
        let running = self.processes();
        self.stop_all(
            StepState::Cancelled,
            &format!("run cancelled by {operator}"),
            now,
            fx,
        );
        Ok(format!("cancelling: {running} running attempt(s) killed"))
    }
}

/// `baton approve`'s arguments.
pub(super) struct ApproveAsk<'a> {
    pub step: &'a String,
    pub operator: &'a String,
    pub reason: &'a Option<String>,
    pub signature: &'a Option<String>,
    pub inputs: &'a BTreeMap<String, String>,
}

/// `baton mark`'s arguments.
struct MarkAsk<'a> {
    step: &'a String,
    state: &'a StepState,
    operator: &'a String,
    reason: &'a String,
    outputs: &'a BTreeMap<String, String>,
    artifacts: &'a [baton_model::ArtifactRecord],
}

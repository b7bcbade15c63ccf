//! Approval gates: opening one (digest, timeout), approval, gate timeouts, and the checks on deciding one.
use super::*;

impl Core {
    pub(super) fn open_gate(&mut self, i: usize, now: Timestamp, fx: &mut Fx) {
        let plan = Arc::clone(&self.plan);
        let Some(g) = plan.steps[i].gate.as_ref() else {
            return;
        };
        let prompt = match self.render(&g.prompt) {
            Ok(p) => p,
            Err(r) => {
                return self.fail_template(
                    i,
                    format!("gate prompt: cannot resolve `{r}`"),
                    now,
                    fx,
                );
            }
        };
        let resolved = match self.resolve(i) {
            Ok(r) => r,
            Err(m) => return self.fail_template(i, m, now, fx),
        };
        let digest = self.digest_of(&resolved);
        self.set(i, StepState::WaitingApproval, None, now, fx);
        let kind = EventKind::GateOpened {
            step: self.id(i),
            prompt: self.mask(&prompt),
            deadline: g.timeout.map(|t| now.add(t)),
            digest: digest.clone(),
            approvers: g.approvers.clone(),
            quorum: g.quorum.max(1),
            signed: g.signed,
        };
        self.emit(kind, now, fx);
        if self.cfg.auto_approve && g.auto_approvable() {
            let step = self.id(i);
            let actor = self.auto_actor.clone();
            self.emit(
                EventKind::ApprovalGiven {
                    step: step.clone(),
                    actor: actor.clone(),
                    reason: Some("--auto-approve".into()),
                    digest,
                    signature: None,
                },
                now,
                fx,
            );
            self.emit(
                EventKind::GateApproved {
                    step,
                    actor: actor.clone(),
                    approvers: vec![actor],
                },
                now,
                fx,
            );
            self.after_approval(i, now, fx);
        }
    }

    pub(super) fn after_approval(&mut self, i: usize, now: Timestamp, fx: &mut Fx) {
        if self.plan.steps[i].action == Action::None {
            self.succeed(i, Some("approved".into()), now, fx);
        } else if let Some(d) = self.waits_on_service(i) {
            // Its service went down while the gate was open.
            let why = format!("approved; waits for `{}` to be ready again", self.id(d));
            self.set(i, StepState::Pending, Some(why), now, fx);
        } else {
            self.set(i, StepState::Queued, Some("approved".into()), now, fx);
        }
    }

    pub(super) fn gate_timeout(&mut self, i: usize, now: Timestamp, fx: &mut Fx) {
        let plan = Arc::clone(&self.plan);
        let Some(g) = plan.steps[i].gate.as_ref() else {
            return;
        };
        let t = g.timeout.map(human_duration).unwrap_or_default();
        let step = self.id(i);
        match g.on_timeout {
            OnTimeout::Approve => {
                let approvers = self.steps[i]
                    .gate
                    .votes
                    .iter()
                    .map(|v| v.0.clone())
                    .collect();
                self.emit(
                    EventKind::GateApproved {
                        step,
                        actor: "engine".into(),
                        approvers,
                    },
                    now,
                    fx,
                );
                self.after_approval(i, now, fx);
            }
            OnTimeout::Reject | OnTimeout::Fail => {
                let policy = g.on_timeout.as_str();
                let reason = format!("no decision within {t} (on_timeout = {policy})");
                self.emit(
                    EventKind::GateRejected {
                        step: step.clone(),
                        actor: "engine".into(),
                        reason: reason.clone(),
                        timed_out: true,
                        signature: None,
                    },
                    now,
                    fx,
                );
                let b = self
                    .step_error(
                        i,
                        ErrorKind::GateTimeout,
                        format!("gate timed out: {reason}"),
                    )
                    .context("timeout", &t)
                    .context("votes", self.steps[i].gate.votes.len());
                self.record(b, Cause::Attempt, false, now, fx);
                let target = if g.on_timeout == OnTimeout::Reject {
                    StepState::Rejected
                } else {
                    StepState::Failed
                };
                self.set(i, target, Some(reason), now, fx);
            }
        }
    }

    pub(super) fn check_gate(&self, i: usize) -> Result<(), String> {
        let st = self.steps[i].state;
        if self.plan.steps[i].gate.is_none() {
            return Err(format!("step `{}` has no gate", self.id(i)));
        }
        if st != StepState::WaitingApproval {
            return Err(match self.steps[i].gate.decided {
                Some(Decision::Approved) => format!(
                    "the gate of `{}` was already decided (approved)",
                    self.id(i)
                ),
                Some(Decision::Rejected) => format!(
                    "the gate of `{}` was already decided (rejected)",
                    self.id(i)
                ),
                None => format!(
                    "the gate of `{}` is not open (the step is {st})",
                    self.id(i)
                ),
            });
        }
        Ok(())
    }

    /// A signature handed in for a gate that does not take them is refused, not ignored.
    pub(super) fn check_unsigned(&self, i: usize, has_signature: bool) -> Result<(), String> {
        if has_signature {
            return Err(format!(
                "the gate of `{}` is not signed (no `signed = true`): decide it without a signature",
                self.id(i)
            ));
        }
        Ok(())
    }

    pub(super) fn check_approver(&self, i: usize, operator: &str) -> Result<(), String> {
        let approvers = self.plan.steps[i]
            .gate
            .as_ref()
            .map(|g| g.approvers.as_slice())
            .unwrap_or(&[]);
        crate::model::actor::check_approver(approvers, operator)
    }
}

//! Approval gates: opening one (digest, timeout), approval, gate timeouts, and the checks on deciding one.
use super::*;
use baton_model::{ReasonFor, Refusal};
use baton_signing::{self as signing, Verdict};
use baton_workflow::{Values, input_choices, resolve_values};

impl Core {
    pub(super) fn open_gate(&mut self, i: usize, now: Timestamp, fx: &mut Fx) {
        let plan = Arc::clone(&self.plan);
        let Some(g) = plan.steps[i].gate.as_ref() else {
            return;
        };
        // Each value shown as text (masked first), its colour ending with it: a value
        // that leaves a style open does not colour the prompt after it, nor the lines
        // after the prompt's.
        let prompt = g.prompt.render(|r| {
            let v = self.template_value(i, r)?;
            Some(baton_model::sanitize::for_terminal(&self.mask(&v)))
        });
        // What a marked step still lacks holds the step for a person, never fails it.
        let unresolved = |core: &mut Core, why: TemplateFailure, fx: &mut Fx| {
            if !core.hold_for_marked_output(i, now, fx) {
                core.fail_template(i, why, now, fx);
            }
        };
        let prompt = match prompt {
            Ok(p) => p,
            Err(r) => return unresolved(self, TemplateFailure::Prompt(r), fx),
        };
        let digest = match self.gate_digest(i) {
            Ok(d) => d,
            Err(m) => return unresolved(self, m, fx),
        };
        // Inputs whose default or choices the run makes: rendered now, once, and
        // recorded with the opening (issue 44 point 1).
        let rendered = match input_choices::render(&g.inputs, |r| self.template_value(i, r)) {
            Ok(r) => r,
            Err(e) => return unresolved(self, TemplateFailure::GateInput(e), fx),
        };
        if let Some(k) = rendered
            .iter()
            .find(|(_, r)| {
                r.default
                    .iter()
                    .chain(r.values.iter().flatten())
                    .any(|v| self.holds_secret(v))
            })
            .map(|(k, _)| k.clone())
        {
            return self.fail_template(i, TemplateFailure::SecretInInput(k), now, fx);
        }
        self.set(i, StepState::WaitingApproval, None, now, fx);
        let kind = EventKind::GateOpened {
            step: self.id(i),
            prompt: self.mask(&prompt),
            deadline: g.timeout.map(|t| now.add(t)),
            digest,
            approvers: g.approvers.clone(),
            quorum: g.quorum.max(1),
            signed: g.signed,
            inputs: rendered,
            round: self.round_of(i),
        };
        self.emit(kind, now, fx);
        // The gate's own rules first: a rule that rejects is not overruled by
        // `--auto-approve` (issue 44 point 4).
        if self.apply_policy(i, now, fx) {
            return;
        }
        // Auto-approvable: no input is required, so the defaults stand.
        let defaults = resolve_values(&self.input_specs(i), &[], Values::Inputs);
        if self.cfg.auto_approve
            && g.auto_approvable()
            && let Ok(inputs) = defaults
        {
            let actor = self.auto_actor.clone();
            self.pass_gate(i, &actor, "--auto-approve".into(), inputs, now, fx);
        }
    }

    /// Pass step `i`'s open gate with one vote by `actor` (`--auto-approve`, a policy
    /// rule) with `inputs`, bound to the opening's digest.
    pub(super) fn pass_gate(
        &mut self,
        i: usize,
        actor: &str,
        reason: String,
        inputs: BTreeMap<String, String>,
        now: Timestamp,
        fx: &mut Fx,
    ) {
        let step = self.id(i);
        let digest = signing::approval_digest(&self.steps[i].gate.digest, &inputs);
        self.emit(
            EventKind::ApprovalGiven {
                step: step.clone(),
                actor: actor.to_string(),
                reason: Some(reason),
                digest,
                signature: None,
                inputs,
                proposed: BTreeMap::new(),
            },
            now,
            fx,
        );
        self.emit(
            EventKind::GateApproved {
                step,
                actor: actor.to_string(),
                approvers: vec![actor.to_string()],
            },
            now,
            fx,
        );
        self.after_approval(i, now, fx);
    }

    /// Reject step `i`'s open gate: by a person (with the signature that counted, on a
    /// signed gate) or a policy rule. The step is `rejected`, with an error record.
    pub(super) fn reject_gate(
        &mut self,
        i: usize,
        actor: &str,
        reason: String,
        signature: Option<baton_model::DecisionSignature>,
        now: Timestamp,
        fx: &mut Fx,
    ) {
        let kind = EventKind::GateRejected {
            step: self.id(i),
            actor: actor.to_string(),
            reason: reason.clone(),
            timed_out: false,
            signature,
        };
        self.emit(kind, now, fx);
        let b = self
            .step_error(
                i,
                ErrorKind::GateRejected,
                format!("rejected by {actor}: {reason}"),
            )
            .context("actor", actor);
        self.record(b, Cause::Attempt, false, now, fx);
        let why = format!("rejected by {actor}: {reason}");
        self.set(i, StepState::Rejected, Some(why), now, fx);
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
        // A timeout approves with the inputs of the votes given, or the defaults; an
        // input with neither (a plan `validate` refuses, but a core takes any plan)
        // cannot be approved by nobody: the gate is rejected, saying why.
        let missing = match &self.steps[i].gate.inputs {
            Some(_) => None,
            None => resolve_values(&self.input_specs(i), &[], Values::Inputs)
                .err()
                .map(|e| e.to_string()),
        };
        match g.on_timeout {
            OnTimeout::Approve if missing.is_none() => {
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
            OnTimeout::Approve | OnTimeout::Reject | OnTimeout::Fail => {
                let policy = g.on_timeout.as_str();
                let reason = match &missing {
                    Some(m) if g.on_timeout == OnTimeout::Approve => format!(
                        "no decision within {t}; on_timeout = approve cannot give the gate's inputs ({m}): rejected"
                    ),
                    _ => format!("no decision within {t} (on_timeout = {policy})"),
                };
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
                let target = if g.on_timeout == OnTimeout::Fail {
                    StepState::Failed
                } else {
                    StepState::Rejected
                };
                self.set(i, target, Some(reason), now, fx);
            }
        }
    }

    pub(super) fn check_gate(&self, i: usize) -> Result<(), Refusal> {
        let st = self.steps[i].state;
        let step = self.id(i);
        if self.plan.steps[i].gate.is_none() {
            return Err(Refusal::NoGate { step });
        }
        if st != StepState::WaitingApproval {
            return Err(match self.steps[i].gate.decided {
                Some(Decision::Approved) => Refusal::AlreadyDecided {
                    step,
                    decision: "approved".into(),
                },
                Some(Decision::Rejected) => Refusal::AlreadyDecided {
                    step,
                    decision: "rejected".into(),
                },
                None => Refusal::NotWaiting { step, state: st },
            });
        }
        Ok(())
    }

    /// A signature handed in for a gate that does not take them is refused, not ignored.
    pub(super) fn check_unsigned(&self, i: usize, has_signature: bool) -> Result<(), Refusal> {
        if has_signature {
            return Err(Refusal::NotSigned { step: self.id(i) });
        }
        Ok(())
    }

    pub(super) fn check_approver(&self, i: usize, operator: &str) -> Result<(), Refusal> {
        let approvers = self.plan.steps[i]
            .gate
            .as_ref()
            .map(|g| g.approvers.as_slice())
            .unwrap_or(&[]);
        baton_model::actor::check_approver(approvers, operator)
    }

    /// Input `key` of step `i`'s gate, once it is approved (`steps.ID.inputs.NAME`).
    pub(crate) fn approval_input(&self, i: usize, key: &str) -> Option<String> {
        let g = &self.steps.get(i)?.gate;
        g.approved.as_ref()?;
        g.inputs.as_ref()?.get(key).cloned()
    }

    /// The inputs an approval of step `step`'s gate gives: checked against the gate's
    /// `inputs` (the checker of `--param`), defaults filled in; refused as
    /// `input_invalid`, every problem saying what would be right. The core asks it when
    /// an approval arrives (a front end never checks them itself). `None`: the run has
    /// no such step.
    pub fn approval_inputs(
        &self,
        step: &str,
        given: &[(String, String)],
    ) -> Option<Result<BTreeMap<String, String>, Refusal>> {
        let i = self.lookup(step).ok()?;
        Some(self.inputs_of(i, given))
    }

    pub(super) fn inputs_of(
        &self,
        i: usize,
        given: &[(String, String)],
    ) -> Result<BTreeMap<String, String>, Refusal> {
        let values =
            resolve_values(&self.input_specs(i), given, Values::Inputs).map_err(|problems| {
                Refusal::InputInvalid {
                    problems: problems.sentences(),
                }
            })?;
        let secret: Vec<String> = values
            .iter()
            .filter(|(_, v)| self.holds_secret(v))
            .map(|(k, _)| format!("input `{k}` holds one of the run's secrets; inputs are kept on record, so give it without the secret"))
            .collect();
        if !secret.is_empty() {
            return Err(Refusal::InputInvalid { problems: secret });
        }
        Ok(values)
    }

    /// Step `i`'s gate inputs as its current opening asks them: rendered defaults and
    /// choices in place of their templates.
    pub(crate) fn input_specs(&self, i: usize) -> Vec<baton_workflow::ParamSpec> {
        let specs = self.plan.steps[i]
            .gate
            .as_ref()
            .map_or(&[][..], |g| g.inputs.as_slice());
        input_choices::with_rendered(specs, &self.steps[i].gate.rendered)
    }

    /// The inputs an approval changed from what the gate proposed (its defaults as this
    /// opening has them), each with the proposed value: an edit before approving.
    pub(super) fn changed_from_proposal(
        &self,
        i: usize,
        inputs: &BTreeMap<String, String>,
    ) -> BTreeMap<String, String> {
        self.input_specs(i)
            .into_iter()
            .filter_map(|s| {
                let proposed = s.default?;
                (inputs.get(&s.name) != Some(&proposed)).then(|| (s.name, self.mask(&proposed)))
            })
            .collect()
    }

    /// With a quorum every approval carries the same inputs: those of the first vote.
    pub(super) fn check_same_inputs(
        &self,
        i: usize,
        inputs: &BTreeMap<String, String>,
    ) -> Result<(), Refusal> {
        let g = &self.steps[i].gate;
        let Some(first) = g.inputs.as_ref().filter(|_| !g.votes.is_empty()) else {
            return Ok(());
        };
        baton_model::actor::check_same_inputs(&self.id(i), first, &g.votes[0].0, inputs)
    }

    /// `baton approve`: a vote (signed on a signed gate), and the approval once the
    /// votes reach the quorum.
    pub(super) fn on_approve(
        &mut self,
        ask: super::commands::ApproveAsk<'_>,
        now: Timestamp,
        fx: &mut Fx,
    ) -> Result<String, Refusal> {
        let super::commands::ApproveAsk {
            step,
            operator,
            reason,
            signature,
            inputs,
        } = ask;
        let i = self.lookup(step)?;
        self.check_gate(i)?;
        let plan = Arc::clone(&self.plan);
        let g = plan.steps[i]
            .gate
            .as_ref()
            .ok_or_else(|| Refusal::NoGate { step: step.clone() })?;
        let given: Vec<(String, String)> =
            inputs.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let inputs = self.inputs_of(i, &given)?;
        self.check_same_inputs(i, &inputs)?;
        // A signed gate's vote is its signer's (a principal), whoever hands it in.
        let (actor, signature) = if self.steps[i].gate.signed {
            let text = reason.as_deref().unwrap_or("");
            let s = self.check_signed(
                i,
                Verdict::Approve,
                text,
                &inputs,
                signature.as_deref(),
                operator,
            )?;
            (s.principal.clone(), Some(s))
        } else {
            self.check_unsigned(i, signature.is_some())?;
            let rules = baton_model::actor::GateRules {
                approvers: &g.approvers,
                starter: &self.operator,
                allow_self_approval: g.allow_self_approval,
                votes: &self.steps[i].gate.votes,
            };
            baton_model::actor::may_approve(&rules, operator)?;
            (operator.clone(), None)
        };
        let operator = &actor;
        let proposed = self.changed_from_proposal(i, &inputs);
        let kind = EventKind::ApprovalGiven {
            step: step.clone(),
            actor: actor.clone(),
            reason: reason.as_ref().map(|r| self.mask(r)),
            digest: signing::approval_digest(&self.steps[i].gate.digest, &inputs),
            signature,
            inputs,
            proposed,
        };
        self.emit(kind, now, fx);
        let votes = self.steps[i].gate.votes.len() as u32;
        let quorum = g.quorum.max(1);
        if votes >= quorum {
            let approvers = self.steps[i]
                .gate
                .votes
                .iter()
                .map(|v| v.0.clone())
                .collect();
            let kind = EventKind::GateApproved {
                step: step.clone(),
                actor: operator.clone(),
                approvers,
            };
            self.emit(kind, now, fx);
            self.after_approval(i, now, fx);
            Ok(format!("approved `{step}` ({votes}/{quorum})"))
        } else {
            Ok(format!(
                "vote recorded for `{step}` ({votes}/{quorum}); waiting for more approvers"
            ))
        }
    }

    /// `baton reject`: the gate rejected (signed on a signed gate), the step with it.
    pub(super) fn on_reject(
        &mut self,
        step: &str,
        operator: &str,
        reason: &str,
        signature: Option<&str>,
        now: Timestamp,
        fx: &mut Fx,
    ) -> Result<String, Refusal> {
        let i = self.lookup(step)?;
        self.check_gate(i)?;
        if reason.trim().is_empty() {
            return Err(Refusal::ReasonRequired {
                to: ReasonFor::Reject,
            });
        }
        let (actor, signature) = self.decider(i, Verdict::Reject, reason, signature, operator)?;
        let reason = self.mask(reason);
        self.reject_gate(i, &actor, reason, signature, now, fx);
        Ok(format!("rejected `{step}`"))
    }
}

//! Signed gates (`signed = true`): a decision counts only with an SSH signature, over the
//! decision's canonical message (`signing::message`), by a key the run's allowed
//! signers list under one of the gate's approvers. Checked when the decision arrives
//! and again whenever the history is replayed, so a vote written into the store by
//! anyone else does not count.
use super::*;
use baton_model::{DecisionSignature, Refusal, same_actor};
use baton_signing::{self as signing, AllowedSigners, Verdict};

/// A recorded approval vote, as `vote_holds` checks it.
pub(crate) struct Vote<'a> {
    pub actor: &'a str,
    pub reason: Option<&'a str>,
    /// The approval's digest as recorded.
    pub digest: &'a str,
    pub inputs: &'a BTreeMap<String, String>,
}

impl Core {
    fn signers(&self) -> Option<&AllowedSigners> {
        self.plan.approvals.as_ref().map(|a| a.signers.as_ref())
    }

    fn approvers(&self, i: usize) -> &[String] {
        self.plan.steps[i]
            .gate
            .as_ref()
            .map_or(&[], |g| g.approvers.as_slice())
    }

    /// The message a decision on gate `i`'s current opening is signed over: `digest`
    /// is the approval's (the gate's with its inputs, `digest::with_inputs`).
    fn gate_message(
        &self,
        i: usize,
        digest: &str,
        verdict: Verdict,
        reason: &str,
        inputs: &BTreeMap<String, String>,
    ) -> String {
        let g = &self.steps[i].gate;
        signing::message(
            &self.cfg.run_id,
            &self.plan.steps[i].id,
            g.opened_seq,
            digest,
            verdict,
            reason,
            inputs,
        )
    }

    /// Who rejects or pushes back gate `i` (a decision with no inputs): on a signed gate
    /// the principal of a signature checked over `verdict`'s message, whoever hands it
    /// in; else `account`, which must be one of the gate's approvers.
    pub(super) fn decider(
        &self,
        i: usize,
        verdict: Verdict,
        reason: &str,
        pem: Option<&str>,
        account: &str,
    ) -> Result<(String, Option<DecisionSignature>), Refusal> {
        if self.steps[i].gate.signed {
            let s = self.check_signed(i, verdict, reason, &BTreeMap::new(), pem, account)?;
            return Ok((s.principal.clone(), Some(s)));
        }
        self.check_unsigned(i, pem.is_some())?;
        self.check_approver(i, account)?;
        Ok((account.to_string(), None))
    }

    /// Check a signed decision handed in by `account` on gate `i` (which is signed and
    /// open): the signature that will be recorded, or why it does not count.
    pub(super) fn check_signed(
        &self,
        i: usize,
        verdict: Verdict,
        reason: &str,
        inputs: &BTreeMap<String, String>,
        pem: Option<&str>,
        account: &str,
    ) -> Result<DecisionSignature, Refusal> {
        let step = self.id(i);
        let run = &self.cfg.run_id;
        let Some(pem) = pem.filter(|p| !p.trim().is_empty()) else {
            return Err(Refusal::SignatureRequired {
                run: run.clone(),
                step,
                verb: verdict.as_str().to_string(),
            });
        };
        let Some(signers) = self.signers() else {
            return Err(Refusal::NoAllowedSigners);
        };
        if self.holds_secret(reason) {
            return Err(Refusal::SecretInSignedReason);
        }
        let digest = signing::approval_digest(&self.steps[i].gate.digest, inputs);
        let message = self.gate_message(i, &digest, verdict, reason, inputs);
        let checked = signing::check(signers, &message, pem)
            .map_err(|e| Refusal::BadSignature { why: e.to_string() })?;
        let approvers = self.approvers(i);
        let eligible: Vec<&String> = checked
            .principals
            .iter()
            .filter(|p| approvers.iter().any(|a| same_actor(a, p)))
            .collect();
        if eligible.is_empty() {
            return Err(Refusal::KeyNotAnApprover {
                key: checked.key,
                principals: checked.principals,
                step,
                approvers: approvers.to_vec(),
            });
        }
        let g = &self.steps[i].gate;
        let principal = if verdict == Verdict::Approve {
            if let Some(at) = g.keys.iter().position(|k| *k == checked.key) {
                return Err(Refusal::KeyAlreadyVoted {
                    key: checked.key,
                    actor: g.votes[at].0.clone(),
                    asked: false,
                });
            }
            match eligible
                .iter()
                .find(|p| !g.votes.iter().any(|(a, _)| same_actor(a, p)))
            {
                Some(p) => (*p).clone(),
                None => {
                    return Err(Refusal::AlreadyApproved {
                        actor: eligible[0].clone(),
                        asked: false,
                    });
                }
            }
        } else {
            eligible[0].clone()
        };
        if verdict == Verdict::Approve
            && !self.self_approval_allowed(i)
            && let Some(p) = self.starter_principal(&checked.principals)
        {
            return Err(Refusal::SelfApprovalByKey {
                key: checked.key,
                principal: p.to_string(),
                account: self.operator.clone(),
                asked: false,
            });
        }
        Ok(DecisionSignature {
            principal,
            key: checked.key,
            message,
            signature: format!("{}\n", pem.trim()),
            account: account.to_string(),
        })
    }

    /// Whether a recorded vote on gate `i` (signed) counts: its signature verifies over
    /// the message of this opening, digest, inputs and reason, by a key listed under the
    /// vote's actor, an approver not yet counted. Returns the key.
    pub(crate) fn vote_holds(
        &self,
        i: usize,
        vote: &Vote<'_>,
        sig: Option<&DecisionSignature>,
    ) -> Option<String> {
        let sig = sig?;
        let actor = vote.actor;
        let g = &self.steps[i].gate;
        if vote.digest != signing::approval_digest(&g.digest, vote.inputs)
            || !same_actor(&sig.principal, actor)
        {
            return None;
        }
        let reason = vote.reason.unwrap_or("");
        let message = self.gate_message(i, vote.digest, Verdict::Approve, reason, vote.inputs);
        if sig.message != message {
            return None;
        }
        let checked = signing::check(self.signers()?, &message, &sig.signature).ok()?;
        let listed = checked.principals.iter().any(|p| same_actor(p, actor));
        let approver = self.approvers(i).iter().any(|a| same_actor(a, actor));
        let counted =
            g.keys.contains(&checked.key) || g.votes.iter().any(|(a, _)| same_actor(a, actor));
        let by_starter =
            !self.self_approval_allowed(i) && self.starter_principal(&checked.principals).is_some();
        (listed && approver && !counted && !by_starter).then_some(checked.key)
    }

    fn self_approval_allowed(&self, i: usize) -> bool {
        self.plan.steps[i]
            .gate
            .as_ref()
            .is_some_and(|g| g.allow_self_approval)
    }

    /// The principal, among those a signing key is listed under, that names the run's
    /// starter: a key is its holder's under every principal it is listed under, so a
    /// self-approval rule holds whichever one a signature claims (`alice@example.com`
    /// is account `alice`, see [`signing::principal_account`]).
    fn starter_principal<'p>(&self, principals: &'p [String]) -> Option<&'p str> {
        principals
            .iter()
            .find(|p| same_actor(signing::principal_account(p), &self.operator))
            .map(String::as_str)
    }

    /// Whether moving step `i` to `to` passes a signed gate that is not approved: the
    /// step has a gate that needs signatures (as recorded when it opened, or as the
    /// workflow says if it never opened) and would be queued, run or succeed without an
    /// approval backed by valid signatures.
    pub(crate) fn passes_signed_gate_unapproved(&self, i: usize, to: StepState) -> bool {
        let Some(gate) = self.plan.steps[i].gate.as_ref() else {
            return false;
        };
        let rt = &self.steps[i].gate;
        let signed = if rt.opened_seq > 0 {
            rt.signed
        } else {
            gate.signed
        };
        signed && to.on_the_way()
            && self.steps[i].state != to
            && rt.approved.is_none()
            // A fork's reused step: its gate was passed in the run it comes from.
            && (self.steps[i].more.reused.is_none() || self.forked_from.is_none())
    }
}

//! `--mix signed` (issue 61 point 1: signed approvals among "every command the CLI
//! has", "some of them forged"): everything of `--mix all`, and the deploy's gate is
//! signed (`signed = true`, approvers this process's account and `sim-carol`,
//! `[approvals] allowed_signers` a file of the scenario's). An operator's approval or
//! rejection of it is signed as `baton approve|reject --sign-key FILE` signs it
//! (`session::sign_command`, the message over the gate's opening as the store recorded
//! it): with the operator's own key or `sim-carol`'s, both listed under an approver;
//! or, one time in three, with a signature that must not count: by `sim-mallory`'s
//! key (listed, not an approver), by a key listed nowhere, over another reason than
//! the one sent, a text that is no signature, or none. The engine decides each with
//! the core's own check; [`a_signed_decision_counts_only_when_valid`] checks, from the
//! events, that every decision a signed gate recorded carries a signature that holds.
//! What it draws comes from a tenth stream of the seed.
use crate::world::World;
use crate::{Mix, SimError};
use baton_model::{Command, Event, EventKind, same_actor};
use baton_session::SignWith;
use baton_signing::Verdict;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The second approver of the signed gate: a principal whose key an operator may hold.
pub(crate) const CAROL: &str = "sim-carol";
/// Listed in the allowed signers, but not an approver of the gate.
const MALLORY: &str = "sim-mallory";
/// The allowed signers' file, beside the workflows.
pub(crate) const SIGNERS_FILE: &str = "allowed_signers";

/// The simulator's throwaway keys, each derived from its name (Ed25519 from a 32-byte
/// seed): the same on every run, so a seed's history stays the same byte for byte
/// (Ed25519 signs deterministically), and no private key is kept in the source.
#[derive(Clone, Copy)]
enum Key {
    Operator,
    Carol,
    Mallory,
    /// A key the allowed signers do not list.
    Stranger,
}

impl Key {
    fn pair(self) -> ssh_key::private::Ed25519Keypair {
        use sha2::Digest;
        let name = match self {
            Key::Operator => "operator",
            Key::Carol => "carol",
            Key::Mallory => "mallory",
            Key::Stranger => "stranger",
        };
        let seed: [u8; 32] = sha2::Sha256::digest(format!("baton-sim key {name}")).into();
        ssh_key::private::Ed25519Keypair::from_seed(&seed)
    }

    /// The private key in OpenSSH's format, as `ssh-keygen` writes it.
    fn private(self) -> Result<String, SimError> {
        ssh_key::PrivateKey::from(self.pair())
            .to_openssh(ssh_key::LineEnding::LF)
            .map(|k| k.to_string())
            .map_err(|e| SimError::Key(e.to_string()))
    }

    /// The public key's line in an allowed signers file (`ssh-ed25519 BASE64`).
    fn public(self) -> Result<String, SimError> {
        ssh_key::PublicKey::from(self.pair().public)
            .to_openssh()
            .map_err(|e| SimError::Key(e.to_string()))
    }
}

/// An armored text that is no SSH signature.
const NO_SIGNATURE: &str =
    "-----BEGIN SSH SIGNATURE-----\nbm90IGEgc2lnbmF0dXJl\n-----END SSH SIGNATURE-----\n";

/// The keys an operator signs with, each in a file of the scenario's (mode 0600).
pub(crate) struct Signing {
    operator: PathBuf,
    carol: PathBuf,
    mallory: PathBuf,
    stranger: PathBuf,
    /// The run a signed decision was just handed to, for its engine to take.
    handed: Option<String>,
    /// The tenth stream of the seed: which signature a decision carries.
    rng: SmallRng,
}

/// The deploy's `[approvals]` table and its gate's signing keys (`--mix signed`), or
/// nothing.
pub(crate) fn workflow_lines(mix: Mix, user: &str) -> Option<(String, String)> {
    (mix == Mix::Signed).then(|| {
        (
            format!("[approvals]\nallowed_signers = \"{SIGNERS_FILE}\"\n"),
            format!("signed = true, approvers = [\"{user}\", \"{CAROL}\"]"),
        )
    })
}

/// The allowed signers and the keys written in `dir` (`--mix signed`).
pub(crate) fn open(
    mix: Mix,
    dir: &Path,
    user: &str,
    seed: u64,
) -> Result<Option<Signing>, SimError> {
    if mix != Mix::Signed {
        return Ok(None);
    }
    let write = |name: &str, text: &str| -> Result<PathBuf, SimError> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let path = dir.join(name);
        let io = |e| SimError::Io {
            path: path.clone(),
            error: e,
        };
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .map_err(io)?;
        f.write_all(text.as_bytes()).map_err(io)?;
        Ok(path)
    };
    write(
        SIGNERS_FILE,
        &format!(
            "{user} {}\n{CAROL} {}\n{MALLORY} {}\n",
            Key::Operator.public()?,
            Key::Carol.public()?,
            Key::Mallory.public()?
        ),
    )?;
    Ok(Some(Signing {
        operator: write("operator.key", &Key::Operator.private()?)?,
        carol: write("carol.key", &Key::Carol.private()?)?,
        mallory: write("mallory.key", &Key::Mallory.private()?)?,
        stranger: write("stranger.key", &Key::Stranger.private()?)?,
        handed: None,
        rng: SmallRng::seed_from_u64(seed ^ 0x0051_6e5e_d000_0000),
    }))
}

/// Whether `step` of `plan` has a signed gate.
fn signed_gate(plan: &baton_workflow::Plan, step: &str) -> bool {
    (plan.steps.iter()).any(|s| s.id == step && s.gate.as_ref().is_some_and(|g| g.signed))
}

impl World {
    /// An operator's approval or rejection (`--mix signed`): of a run waiting on the
    /// signed gate, chosen by the seed, when one waits, signed as the CLI signs it or
    /// with a signature that must not count; any other command as it is.
    pub(crate) fn sign(
        &mut self,
        run: String,
        command: Command,
    ) -> Result<(String, Command), SimError> {
        if !matches!(command, Command::Approve { .. } | Command::Reject { .. }) {
            return Ok((run, command));
        }
        let Some(mut signing) = self.signing.take() else {
            return Ok((run, command));
        };
        let r = self.sign_waiting(&mut signing, run, command);
        self.signing = Some(signing);
        r
    }

    fn sign_waiting(
        &mut self,
        signing: &mut Signing,
        run: String,
        command: Command,
    ) -> Result<(String, Command), SimError> {
        let mut waiting = Vec::new();
        for (r, w) in &self.runs {
            let gate = (self.workflows[*w].plan.steps.iter())
                .find(|s| s.gate.as_ref().is_some_and(|g| g.signed));
            if let Some(g) = gate
                && self.ops.run_liveness(r)?.state == baton_model::RunState::Waiting
            {
                waiting.push((r.clone(), g.id.clone()));
            }
        }
        if waiting.is_empty() {
            return Ok((run, command));
        }
        let (run, gate) = waiting.swap_remove(signing.rng.random_range(0..waiting.len()));
        let command = match command {
            Command::Approve {
                operator,
                reason,
                signature,
                inputs,
                ..
            } => Command::Approve {
                step: gate,
                operator,
                reason,
                signature,
                inputs,
            },
            Command::Reject {
                operator,
                reason,
                signature,
                ..
            } => Command::Reject {
                step: gate,
                operator,
                reason,
                signature,
            },
            other => other,
        };
        let signed = self.sign_with(signing, &run, command)?;
        signing.handed = Some(run.clone());
        Ok((run, signed))
    }

    /// After an action (`--mix signed`): one time in four, an operator decides a gate
    /// that waits on a signed decision (approves four times in five), its command
    /// signed as [`World::sign`] signs it.
    pub(crate) fn signed_turn(&mut self) -> Result<(), SimError> {
        let Some(signing) = self.signing.as_mut() else {
            return Ok(());
        };
        if signing.rng.random_range(0..4) != 0 {
            return Ok(());
        }
        let approve = signing.rng.random_range(0..5) != 0;
        self.tags += 1;
        let reason = format!("op-{}", self.tags);
        self.made_by.insert(reason.clone(), self.user.clone());
        let operator = self.user.clone();
        // The gate is filled in once a run that waits on it is chosen.
        let command = match approve {
            true => Command::Approve {
                step: String::new(),
                operator,
                reason: Some(reason),
                signature: None,
                inputs: Default::default(),
            },
            false => Command::Reject {
                step: String::new(),
                operator,
                reason,
                signature: None,
            },
        };
        let Some(mut signing) = self.signing.take() else {
            return Ok(());
        };
        let r = self.sign_waiting(&mut signing, String::new(), command);
        self.signing = Some(signing);
        let (run, command) = r?;
        if run.is_empty() {
            return Ok(());
        }
        self.steps += 1;
        self.submit(&run, command)?;
        self.take_signed()
    }

    /// The engine that drives the run a signed decision was handed to takes it at once,
    /// as a driver woken by its command row does (a row left to the seed's wake-ups
    /// mostly expired unread, and signed decisions were seldom decided).
    pub(crate) fn take_signed(&mut self) -> Result<(), SimError> {
        let Some(run) = self.signing.as_mut().and_then(|s| s.handed.take()) else {
            return Ok(());
        };
        let driver = (0..self.engines.len()).find(|e| {
            self.engines[*e].runs.contains_key(&run) && !self.engines[*e].stalled(self.now)
        });
        match driver {
            Some(e) => self.wake_run(e, &run, None),
            None => Ok(()),
        }
    }

    fn sign_with(
        &mut self,
        signing: &mut Signing,
        run: &str,
        command: Command,
    ) -> Result<Command, SimError> {
        let roll = signing.rng.random_range(0..100);
        let (key, said) = match roll {
            0..55 => (&signing.operator, "the operator's key"),
            55..65 => (&signing.carol, "sim-carol's key"),
            65..73 => (&signing.mallory, "sim-mallory's key (not an approver)"),
            73..81 => (&signing.stranger, "a key listed nowhere"),
            81..89 => (&signing.operator, "the operator's key, over another reason"),
            89..95 => (&signing.operator, "a text that is no signature"),
            _ => {
                self.history.push("  sent unsigned".to_string());
                return Ok(command);
            }
        };
        let mut sent = command.clone();
        let mut signed = command;
        // Over another reason: the one signed is not the one sent.
        if (81..89).contains(&roll) {
            match &mut signed {
                Command::Approve {
                    reason: Some(r), ..
                }
                | Command::Reject { reason: r, .. } => r.push_str(" (as signed)"),
                _ => {}
            }
        }
        let with = Some(SignWith::KeyFile(key.clone()));
        let pem = match baton_session::sign_command(&self.ops, run, signed, with) {
            Ok(Command::Approve { signature, .. } | Command::Reject { signature, .. }) => signature,
            Ok(_) => None,
            // Its gate has not opened yet: nothing to sign; sent unsigned.
            Err(baton_session::SessionError::Usage(why))
                if why.contains("no gate that has opened") =>
            {
                self.history
                    .push("  sent unsigned (its gate never opened)".to_string());
                return Ok(sent);
            }
            Err(e) => return Err(e.into()),
        };
        self.history.push(format!("  signed with {said}"));
        if let Command::Approve { signature, .. } | Command::Reject { signature, .. } = &mut sent {
            *signature = match roll {
                89..95 => Some(NO_SIGNATURE.to_string()),
                _ => pem,
            };
        }
        // A decision on a signed gate is recorded under the principal whose key signed
        // it (`ApprovalGiven::actor`), not the account that handed it in: sim-carol's
        // is not this account's to check.
        if (55..65).contains(&roll) {
            let tag = match &sent {
                Command::Approve { reason, .. } => reason.clone().unwrap_or_default(),
                Command::Reject { reason, .. } => reason.clone(),
                _ => String::new(),
            };
            self.made_by.remove(&tag);
        }
        Ok(sent)
    }
}

/// [`a_signed_decision_counts_only_when_valid`] for `ev` of `run`, reading the run's
/// events only for a decision on a signed gate.
pub(crate) fn check(
    store: &baton_store::Store,
    plan: &baton_workflow::Plan,
    run: &str,
    ev: &Event,
) -> Result<Option<String>, SimError> {
    let decides = match &ev.kind {
        EventKind::ApprovalGiven { step, .. } | EventKind::GateRejected { step, .. } => {
            signed_gate(plan, step)
        }
        _ => false,
    };
    if !decides {
        return Ok(None);
    }
    let all = store.events(run)?;
    Ok(a_signed_decision_counts_only_when_valid(
        plan, run, &all, ev,
    ))
}

/// approvals.md: "Only a valid signature by a key that file lists under one of the
/// gate's approvers counts, whoever wrote the database": every approval or rejection
/// a signed gate recorded carries a signature, over the message of that decision on
/// the gate's opening it decided (`signing::message`: the run, the step, the opening,
/// the gate's digest, the verdict and the reason), that the run's allowed signers
/// verify as made by a key listed under one of the gate's approvers. `all`: the run's
/// events, `ev` among them.
pub(crate) fn a_signed_decision_counts_only_when_valid(
    plan: &baton_workflow::Plan,
    run: &str,
    all: &[Event],
    ev: &Event,
) -> Option<String> {
    static NONE: BTreeMap<String, String> = BTreeMap::new();
    let (step, verdict, reason, inputs, sig) = match &ev.kind {
        EventKind::ApprovalGiven {
            step,
            reason,
            signature,
            inputs,
            ..
        } => (
            step,
            Verdict::Approve,
            reason.as_deref().unwrap_or(""),
            inputs,
            signature,
        ),
        EventKind::GateRejected {
            step,
            reason,
            timed_out: false,
            signature,
            ..
        } => (step, Verdict::Reject, reason.as_str(), &NONE, signature),
        EventKind::GatePushedBack {
            step,
            reason,
            signature,
            ..
        } => (step, Verdict::PushBack, reason.as_str(), &NONE, signature),
        _ => return None,
    };
    if !signed_gate(plan, step) {
        return None;
    }
    let verb = verdict.as_str();
    let Some(sig) = sig else {
        return Some(format!(
            "the {verb} of signed gate `{step}` (#{}) carries no signature",
            ev.seq
        ));
    };
    let opened = (all.iter().rev())
        .filter(|e| e.seq < ev.seq)
        .find_map(|e| match &e.kind {
            EventKind::GateOpened {
                step: s, digest, ..
            } if s == step => Some((e.seq, digest)),
            _ => None,
        });
    let Some((opening, digest)) = opened else {
        return Some(format!(
            "the {verb} of `{step}` (#{}) decides a gate that never opened",
            ev.seq
        ));
    };
    let message = baton_signing::message(
        run,
        step,
        opening,
        &baton_signing::approval_digest(digest, inputs),
        verdict,
        reason,
        inputs,
    );
    let signers = plan.approvals.as_ref().map(|a| a.signers.clone())?;
    let checked = match baton_signing::check(&signers, &message, &sig.signature) {
        Ok(c) => c,
        Err(e) => {
            return Some(format!(
                "the {verb} of `{step}` (#{}, reason {reason:?}) counted with a signature that does not hold: {e}",
                ev.seq
            ));
        }
    };
    let approvers = (plan.steps.iter())
        .find(|s| s.id == *step)
        .and_then(|s| s.gate.as_ref())
        .map_or(&[][..], |g| g.approvers.as_slice());
    let approver = (checked.principals.iter()).any(|p| approvers.iter().any(|a| same_actor(a, p)));
    (!approver).then(|| {
        format!(
            "the {verb} of `{step}` (#{}) counted with the key of {:?}, not an approver ({approvers:?})",
            ev.seq, checked.principals
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(v: serde_json::Value) -> Event {
        serde_json::from_value(v).expect("an event")
    }

    #[test]
    fn a_decision_on_a_signed_gate_counts_only_with_a_signature_that_holds() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let keys = open(Mix::Signed, dir.path(), "olivia", 0)
            .expect("the keys written")
            .expect("signed");
        let lines = workflow_lines(Mix::Signed, "olivia");
        let workflows =
            crate::workflows::write_all(dir.path(), 1, (true, None, None, lines, false))
                .expect("the workflows load");
        let plan = &workflows[0].plan;
        let opened = event(json!({
            "seq": 3, "at": 0, "type": "gate_opened", "step": "ship", "prompt": "ship it?",
            "deadline": null, "digest": "d", "approvers": ["olivia", CAROL], "quorum": 1,
            "signed": true
        }));
        let none = BTreeMap::new();
        let digest = baton_signing::approval_digest("d", &none);
        let message =
            baton_signing::message("r1", "ship", 3, &digest, Verdict::Approve, "ok", &none);
        let sign = |key: &Path, over: &str| {
            baton_signing::sign_with_key_file(key, over).expect("a signature")
        };
        let approval = |signature: Option<String>| {
            let mut v = json!({
                "seq": 4, "at": 0, "type": "approval_given", "step": "ship", "actor": "olivia",
                "reason": "ok", "digest": digest
            });
            if let Some(s) = signature {
                v["signature"] = json!({
                    "principal": "olivia", "key": "SHA256:x", "message": message,
                    "signature": s, "account": "olivia"
                });
            }
            event(v)
        };
        let check = |a: Event| {
            a_signed_decision_counts_only_when_valid(plan, "r1", &[opened.clone(), a.clone()], &a)
        };
        assert_eq!(check(approval(Some(sign(&keys.operator, &message)))), None);
        assert_eq!(check(approval(Some(sign(&keys.carol, &message)))), None);
        let broke = |a: Event, says: &str| {
            let d = check(a).unwrap_or_default();
            assert!(d.contains(says), "{d:?} does not say {says:?}");
        };
        broke(approval(None), "carries no signature");
        broke(
            approval(Some(sign(&keys.stranger, &message))),
            "does not hold",
        );
        broke(
            approval(Some(sign(&keys.operator, "another reason"))),
            "does not hold",
        );
        broke(approval(Some(NO_SIGNATURE.to_string())), "does not hold");
        broke(
            approval(Some(sign(&keys.mallory, &message))),
            "not an approver",
        );
    }
}

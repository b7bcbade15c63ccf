//! Decisions from the approval page in `--mix hands` (issue 80 point 7): an operator
//! signs a signed gate's decision with a P-256 passkey, as a phone's authenticator
//! does: authenticator data (the relying party's hash, the flags, a counter), the
//! browser's clientDataJSON (`webauthn.get`, the challenge `baton_signing::challenge`
//! gives for the decision's message, the page's origin), an ECDSA signature over
//! both; the page turns it into an SSHSIG with `baton_signing::sshsig_from_assertion`
//! and hands the decision to the run, whose core decides it with its own check.
//! Good and bad: the user-verification flag off, another origin, the other verdict
//! signed, another gate's message replayed. Checked by the signed-decision invariant
//! of `--mix signed` (`signed::a_signed_decision_counts_only_when_valid`) on every
//! decision recorded, and the ground truth: only good ones count.
use super::Hands;
use crate::SimError;
use base64::Engine;
use baton_core::Input;
use baton_model::{Command, EventKind};
use baton_signing::Assertion;
use baton_signing::Verdict;
use p256::ecdsa::signature::Signer;
use rand::Rng;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// The relying party the passkey was made for, and the page's origin.
const RP: &str = "baton.example";
const ORIGIN: &str = "https://baton.example";
/// The principal the passkey is listed under, the gate's approver.
const PRINCIPAL: &str = "sim-dana";
const SIGNERS: &str = "passkey_signers";
const GATED: &str = r#"name = "release"
[approvals]
allowed_signers = "passkey_signers"

[[step]]
id = "ship"
run = "true"
gate = { prompt = "ship it?", allow_self_approval = true, signed = true, approvers = ["sim-dana"] }
"#;
/// User present, user verified (WebAuthn §6.1).
const UP: u8 = 0x01;
const UV: u8 = 0x04;

/// What an assertion the page handed in is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Made {
    Good,
    /// The user-verification flag off: a touch, no PIN nor biometric.
    Unverified,
    /// Made on a page of another origin.
    OtherOrigin,
    /// Over the other verdict's message.
    Flipped,
    /// Over another run's gate's message (an assertion replayed).
    Replayed,
}

pub(crate) struct Passkeys {
    plan: (Arc<baton_workflow::Plan>, PathBuf),
    key: p256::ecdsa::SigningKey,
    public: ssh_key::public::KeyData,
    counter: u32,
    made: u32,
    /// Each decision handed in: (run, what its assertion was, whether it counted).
    pub(crate) decided: Vec<(String, &'static str, bool)>,
    /// A message signed for an earlier gate, for a replay.
    last: Option<String>,
    /// What the signed-decision invariant found of the decisions recorded.
    pub(crate) broken: Vec<String>,
}

impl Passkeys {
    pub(crate) fn new(dir: &std::path::Path) -> Result<Passkeys, SimError> {
        // A throwaway key derived from its name: the same on every run (ECDSA by
        // RFC 6979 signs deterministically), so a seed's history stays the same.
        let seed: [u8; 32] = Sha256::digest(b"baton-sim passkey sim-dana").into();
        let key = p256::ecdsa::SigningKey::from_bytes(&seed.into())
            .map_err(|e| SimError::Key(e.to_string()))?;
        let point = key.verifying_key().to_encoded_point(false);
        // The passkey's public key as `baton passkey enrol` prints it.
        let mut wire = Vec::new();
        for part in [
            b"sk-ecdsa-sha2-nistp256@openssh.com".as_slice(),
            b"nistp256",
            point.as_bytes(),
            RP.as_bytes(),
        ] {
            wire.extend_from_slice(&(part.len() as u32).to_be_bytes());
            wire.extend_from_slice(part);
        }
        let public =
            ssh_key::PublicKey::from_bytes(&wire).map_err(|e| SimError::Key(e.to_string()))?;
        let line = public
            .to_openssh()
            .map_err(|e| SimError::Key(e.to_string()))?;
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).map_err(|e| SimError::Io {
                path: path.clone(),
                error: e,
            })?;
            Ok::<_, SimError>(path)
        };
        write(SIGNERS, &format!("{PRINCIPAL} {line}\n"))?;
        let path = write("release.toml", GATED)?;
        let plan = baton_workflow::load_str(GATED, &path)
            .map_err(|d| SimError::Workflow(d.to_string()))?;
        Ok(Passkeys {
            plan: (Arc::new(plan), path),
            key,
            public: public.key_data().clone(),
            counter: 0,
            made: 0,
            decided: Vec::new(),
            last: None,
            broken: Vec::new(),
        })
    }

    /// The page's SSHSIG of `message`, the assertion made as `made` says.
    fn sign(&mut self, message: &str, made: Made) -> Result<String, SimError> {
        self.counter += 1;
        let flags = match made {
            Made::Unverified => UP,
            _ => UP | UV,
        };
        let origin = match made {
            Made::OtherOrigin => "https://baton.example.evil.test",
            _ => ORIGIN,
        };
        let mut auth = Sha256::digest(RP.as_bytes()).to_vec();
        auth.push(flags);
        auth.extend_from_slice(&self.counter.to_be_bytes());
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(baton_signing::challenge(message));
        // In the order a browser writes it (the verifier reads its head as written).
        let client = format!(
            "{{\"type\":\"webauthn.get\",\"challenge\":\"{challenge}\",\"origin\":\"{origin}\",\"crossOrigin\":false}}"
        );
        let mut signed = auth.clone();
        signed.extend_from_slice(&Sha256::digest(client.as_bytes()));
        let sig: p256::ecdsa::Signature = self.key.sign(&signed);
        let der = sig.to_der();
        let a = Assertion {
            authenticator_data: &auth,
            client_data_json: client.as_bytes(),
            signature: der.as_bytes(),
        };
        baton_signing::sshsig_from_assertion(&self.public, &a)
            .map_err(|e| SimError::Key(e.to_string()))
    }
}

impl Hands {
    /// A run of `release` waits on its signed gate; the operator decides it from the
    /// page (approves four times in five), with an assertion good or bad (one in two).
    pub(super) fn passkey_hand(&mut self) -> Result<(), SimError> {
        let n = self.passkeys.made;
        self.passkeys.made += 1;
        let run = format!("w{n:03}");
        let plan = self.passkeys.plan.clone();
        let (mut core, _) = self.start(&run, &plan, BTreeMap::new(), Vec::new(), None)?;
        let all = self.store.events(&run)?;
        let Some((opening, digest)) = all.iter().find_map(|e| match &e.kind {
            EventKind::GateOpened { digest, .. } => Some((e.seq, digest.clone())),
            _ => None,
        }) else {
            return Err(SimError::Workflow("the release's gate did not open".into()));
        };
        let approve = self.rng.random_range(0..5) != 0;
        let made = match self.rng.random_range(0..10) {
            0..5 => Made::Good,
            5 => Made::Unverified,
            6 => Made::OtherOrigin,
            7 => Made::Flipped,
            _ if self.passkeys.last.is_some() => Made::Replayed,
            _ => Made::Flipped,
        };
        let reason = format!("from the phone {n}");
        let none = BTreeMap::new();
        let bound = baton_signing::approval_digest(&digest, &none);
        let message = |verdict| {
            baton_signing::message(&run, "ship", opening, &bound, verdict, &reason, &none)
        };
        let (sent, other) = match approve {
            true => (Verdict::Approve, Verdict::Reject),
            false => (Verdict::Reject, Verdict::Approve),
        };
        let over = match made {
            Made::Flipped => message(other),
            Made::Replayed => self.passkeys.last.clone().unwrap_or_default(),
            _ => message(sent),
        };
        let pem = self.passkeys.sign(&over, made)?;
        self.passkeys.last = Some(message(sent));
        let command = match approve {
            true => Command::Approve {
                step: "ship".into(),
                operator: PRINCIPAL.into(),
                reason: Some(reason.clone()),
                signature: Some(pem),
                inputs: Default::default(),
            },
            false => Command::Reject {
                step: "ship".into(),
                operator: PRINCIPAL.into(),
                reason: reason.clone(),
                signature: Some(pem),
            },
        };
        self.feed(&run, &mut core, Input::Command { id: None, command })?;
        self.passkey_decided(&run, made, sent)
    }

    /// What the run recorded of the decision: counted (an approval or a rejection) or
    /// not; every decision recorded checked by the signed-decision invariant.
    fn passkey_decided(&mut self, run: &str, made: Made, sent: Verdict) -> Result<(), SimError> {
        let all = self.store.events(run)?;
        let plan = self.passkeys.plan.0.clone();
        let mut counted = false;
        for ev in &all {
            if matches!(
                ev.kind,
                EventKind::ApprovalGiven { .. } | EventKind::GateRejected { .. }
            ) {
                counted = true;
                if let Some(d) =
                    crate::signed::a_signed_decision_counts_only_when_valid(&plan, run, &all, ev)
                {
                    self.passkeys.broken.push(format!("{run}: {d}"));
                }
            }
        }
        let said = match made {
            Made::Good => "good",
            Made::Unverified => "user not verified",
            Made::OtherOrigin => "another origin",
            Made::Flipped => "the other verdict signed",
            Made::Replayed => "another gate's message",
        };
        self.history.push(format!(
            "  {run}/ship: {} from the page with a passkey ({said}): {}",
            sent.as_str(),
            match counted {
                true => "counted",
                false => "refused",
            }
        ));
        self.passkeys.decided.push((run.to_string(), said, counted));
        Ok(())
    }
}

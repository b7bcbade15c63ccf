//! Decisions from the approval page in `--mix hands`: an operator signs with a P-256
//! passkey as a phone's authenticator does (authenticator data: the relying party's
//! hash, the flags, a counter that rises with every signature; the browser's
//! clientDataJSON: `webauthn.get`, the challenge `baton_signing::challenge` gives for
//! the message the page's `POST /approve/message` gives, the page's origin; an ECDSA
//! signature over both), and the request goes through the page's own code,
//! `session::approval_page::decide` (the gate and its signers, the assertion made an
//! SSHSIG and verified at the page's origin with the user verified, the counter
//! against `passkey_counters`, a refusal on record), then to the run's core, which
//! checks the signature again. A gate is approved, rejected or pushed back (its
//! revised step runs again and the gate opens again); a signed ask is answered.
//!
//! Good and bad: the user-verification flag off, another origin, the other verdict
//! signed, another gate's message, no assertion, a counted assertion sent again to
//! another gate, and an assertion held back and sent to its gate after a later
//! decision counted (its counter did not rise). Checked ([`super::invariants`]): only
//! a good assertion decides; a refused one changes nothing and is on record; the
//! key's counter never goes backwards; every decision recorded holds by the
//! signed-decision invariant of `--mix signed`.
mod asks;

use super::Hands;
use super::children::exit;
use crate::{Bug, SimError};
use base64::Engine;
use baton_core::{Core, Input, SpawnSpec};
use baton_model::{Command, EventKind};
use baton_session::approval_page::{self, Asked, Decided, Refused, Signed};
use p256::ecdsa::signature::Signer;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// The seed's stream of the page's requests.
const STREAM: u64 = 0x9a5e_7e11_0000_0000;
/// The relying party the passkey was made for, and the page's origin.
const RP: &str = "baton.example";
const ORIGIN: &str = "https://baton.example";
/// The principal the passkey is listed under, the gate's approver.
const PRINCIPAL: &str = "sim-dana";
/// The serve's account, which hands the page's requests in.
const SERVE: &str = "sim-serve";
const SIGNERS: &str = "passkey_signers";
const STEP: &str = "ship";
const GATED: &str = r#"name = "release"
[approvals]
allowed_signers = "passkey_signers"

[[step]]
id = "notes"
run = "true"

[[step]]
id = "ship"
needs = ["notes"]
run = "true"
gate = { prompt = "ship it?", allow_self_approval = true, signed = true, approvers = ["sim-dana"], revise = ["notes"], rounds = 3 }
"#;
/// User present, user verified (WebAuthn §6.1).
const UP: u8 = 0x01;
const UV: u8 = 0x04;
/// A gate is pushed back at most this often (its `rounds` allow one more opening).
const PUSHES: u32 = 2;

/// What an assertion the page is handed is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Made {
    Good,
    /// The user-verification flag off: a touch, no PIN nor biometric.
    Unverified,
    /// Made on a page of another origin.
    OtherOrigin,
    /// Over the other verdict's message.
    Flipped,
    /// Over another gate's message.
    OtherGate,
    /// No assertion: the request's own word.
    Unsigned,
    /// A counted decision's assertion sent again, to another gate.
    Reused,
    /// Held back (intercepted) and sent to its gate after a later decision counted:
    /// its counter did not rise.
    Stale,
}

impl Made {
    fn said(self) -> &'static str {
        match self {
            Made::Good => "good",
            Made::Unverified => "user not verified",
            Made::OtherOrigin => "another origin",
            Made::Flipped => "the other verdict signed",
            Made::OtherGate => "another gate's message",
            Made::Unsigned => "no assertion",
            Made::Reused => "a counted assertion sent to another gate",
            Made::Stale => "held back, its counter not above the last",
        }
    }
}

/// A run waiting at its signed gate.
struct Open {
    run: String,
    core: Core,
    pushed: u32,
}

/// An assertion signed for `open`'s gate and held back, with its counter.
struct Held {
    open: Open,
    asked: Asked,
    counter: u32,
}

/// A request the page was handed, and what became of it (the ground truth).
pub(crate) struct Handed {
    /// `RUN/ship` or `ask ID`.
    pub(crate) what: String,
    pub(crate) made: &'static str,
    pub(crate) good: bool,
    /// It decided (a vote, a rejection or a push-back recorded; an ask answered).
    pub(crate) counted: bool,
    /// Refused, it changed the run's events or the ask anyway.
    pub(crate) changed: bool,
    /// Refused, its refusal is on the chain (a run's, or an ask's `asks`).
    pub(crate) on_record: bool,
}

pub(crate) struct Passkeys {
    /// The seed's stream of the page's requests (its own: the other hands' draws
    /// stay as they were).
    rng: SmallRng,
    plan: (Arc<baton_workflow::Plan>, PathBuf),
    key: p256::ecdsa::SigningKey,
    /// The key's `SHA256:…` fingerprint, as `passkey_counters` keys it.
    fingerprint: String,
    /// The allowed signers' text (a signed ask carries it).
    signers: String,
    counter: u32,
    made: u32,
    open: Vec<Open>,
    held: Option<Held>,
    /// The last counted gate decision's request, its assertion spent.
    spent: Option<Asked>,
    /// A message signed for an earlier gate.
    last: Option<String>,
    pub(crate) handed: Vec<Handed>,
    /// The highest counter of a decision that counted, and the key's counter in
    /// `passkey_counters` after the last action.
    highest: Option<u32>,
    table: Option<u32>,
    /// What the signed-decision invariant found of the decisions recorded.
    pub(crate) broken: Vec<String>,
    /// What `a_passkey_counter_never_goes_backwards` found.
    pub(crate) backwards: Vec<String>,
}

impl Passkeys {
    pub(crate) fn new(dir: &std::path::Path, seed: u64) -> Result<Passkeys, SimError> {
        // A throwaway key derived from its name: the same on every run (ECDSA by
        // RFC 6979 signs deterministically), so a seed's history stays the same.
        let secret: [u8; 32] = Sha256::digest(b"baton-sim passkey sim-dana").into();
        let key = p256::ecdsa::SigningKey::from_bytes(&secret.into())
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
        let signers = format!("{PRINCIPAL} {line}\n");
        write(SIGNERS, &signers)?;
        let path = write("release.toml", GATED)?;
        let plan = baton_workflow::load_str(GATED, &path)
            .map_err(|d| SimError::Workflow(d.to_string()))?;
        Ok(Passkeys {
            rng: SmallRng::seed_from_u64(seed ^ STREAM),
            plan: (Arc::new(plan), path),
            key,
            fingerprint: baton_signing::fingerprint(&public),
            signers,
            counter: 0,
            made: 0,
            open: Vec::new(),
            held: None,
            spent: None,
            last: None,
            handed: Vec::new(),
            highest: None,
            table: None,
            broken: Vec::new(),
            backwards: Vec::new(),
        })
    }

    /// The page's assertion over `message`, made as `made` says; its counter one above
    /// the last the authenticator gave.
    fn assertion(&mut self, message: &str, made: Made) -> Signed {
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
        Signed {
            authenticator_data: auth,
            client_data_json: client.into_bytes(),
            signature: sig.to_der().as_bytes().to_vec(),
        }
    }

    /// The counter a request's assertion carries (the authenticator data's last four
    /// bytes).
    fn counter_of(asked: &Asked) -> Option<u32> {
        let a = asked.assertion.as_ref()?.authenticator_data.get(33..37)?;
        Some(u32::from_be_bytes(a.try_into().ok()?))
    }
}

/// The page's message for `asked` (a gate that opened, an open ask: it is given).
fn page_message(h: &Hands, asked: &Asked) -> Result<String, SimError> {
    approval_page::message(&h.store, asked).map_err(|r| {
        SimError::Workflow(format!(
            "the page gave no message for {}/{}: {}",
            asked.run, asked.step, r.refusal
        ))
    })
}

impl Hands {
    /// One request to the approval page: a gate's decision (a run waiting at its signed
    /// gate, or a new one), an ask's answer, or an assertion held back sent at last.
    pub(super) fn passkey_hand(&mut self) -> Result<(), SimError> {
        // The two draws of the hands' stream this hand has always made, so that the
        // other hands draw what they drew; the page's choices come from its own.
        let _ = (self.rng.random_range(0..5), self.rng.random_range(0..10));
        let fp = self.passkeys.fingerprint.clone();
        let last = self.store.last_passkey_counter(&fp)?;
        let stale = (self.passkeys.held.as_ref()).is_some_and(|h| last >= Some(h.counter));
        match self.passkeys.rng.random_range(0..20) {
            0..5 if stale => self.passkey_stale()?,
            0..3 => self.passkey_ask()?,
            _ => self.passkey_gate()?,
        }
        self.passkey_counter_checked()
    }

    /// A run of `release` waiting at its gate: one open (a new one when fewer than two
    /// are, or one time in three).
    fn passkey_open(&mut self) -> Result<Open, SimError> {
        let n = self.passkeys.open.len();
        if n >= 2 && self.passkeys.rng.random_range(0..3) != 0 {
            let i = self.passkeys.rng.random_range(0..n);
            return Ok(self.passkeys.open.swap_remove(i));
        }
        let run = format!("w{:03}", self.passkeys.made);
        self.passkeys.made += 1;
        let plan = self.passkeys.plan.clone();
        let (mut core, spawned) = self.start(&run, &plan, BTreeMap::new(), Vec::new(), None)?;
        self.run_out(&run, &mut core, spawned)?;
        Ok(Open {
            run,
            core,
            pushed: 0,
        })
    }

    /// Every attempt the core started, and those they start, run to a success.
    fn run_out(
        &mut self,
        run: &str,
        core: &mut Core,
        mut spawned: Vec<SpawnSpec>,
    ) -> Result<(), SimError> {
        while let Some(s) = spawned.pop() {
            let done = Input::StepExited(exit(&s, Vec::new(), String::new()));
            spawned.extend(self.feed_spawning(run, core, done)?);
        }
        Ok(())
    }

    /// The operator decides a gate from the page (approves three times in five,
    /// rejects or pushes back one in five each), with an assertion good (about half)
    /// or bad, or signs and the request never arrives (held back).
    fn passkey_gate(&mut self) -> Result<(), SimError> {
        let open = self.passkey_open()?;
        let verdict = match self.passkeys.rng.random_range(0..5) {
            0..3 => "approve",
            3 => "reject",
            _ if open.pushed < PUSHES => "push_back",
            _ => "approve",
        };
        let mut made = match self.passkeys.rng.random_range(0..16) {
            0..8 => Made::Good,
            8 => Made::Unverified,
            9 => Made::OtherOrigin,
            10 => Made::Flipped,
            11 if self.passkeys.last.is_some() => Made::OtherGate,
            12 => Made::Unsigned,
            13 if self.passkeys.spent.is_some() => Made::Reused,
            _ => Made::Good,
        };
        let held = made == Made::Good
            && self.passkeys.held.is_none()
            && self.passkeys.rng.random_range(0..4) == 0;
        let mut asked = Asked {
            run: open.run.clone(),
            step: STEP.into(),
            decision: verdict.into(),
            reason: format!("from the phone {}", self.steps),
            inputs: BTreeMap::new(),
            assertion: None,
            ask: None,
        };
        let message = page_message(self, &asked)?;
        let over = match made {
            Made::Flipped => {
                let other = match verdict {
                    "approve" => "reject",
                    _ => "approve",
                };
                let flipped = Asked {
                    decision: other.into(),
                    ..asked.clone()
                };
                page_message(self, &flipped)?
            }
            Made::OtherGate => self.passkeys.last.clone().unwrap_or_default(),
            _ => message.clone(),
        };
        asked.assertion = match made {
            Made::Unsigned => None,
            Made::Reused => (self.passkeys.spent.as_ref()).and_then(|s| s.assertion.clone()),
            _ => Some(self.passkeys.assertion(&over, made)),
        };
        self.passkeys.last = Some(message);
        if held {
            let counter = Passkeys::counter_of(&asked).unwrap_or_default();
            self.history.push(format!(
                "  {}/{STEP}: {verdict} signed on the phone (counter {counter}), held back",
                open.run
            ));
            self.passkeys.held = Some(Held {
                open,
                asked,
                counter,
            });
            return Ok(());
        }
        if made == Made::Reused && asked.assertion.is_none() {
            made = Made::Unsigned;
        }
        self.passkey_hand_in(open, &asked, made)
    }

    /// The assertion held back, sent to its gate now that a later decision counted.
    fn passkey_stale(&mut self) -> Result<(), SimError> {
        let Some(Held { open, asked, .. }) = self.passkeys.held.take() else {
            return Ok(());
        };
        self.passkey_hand_in(open, &asked, Made::Stale)
    }

    /// What the page makes of `asked` (`approval_page::decide`; with a `--bug` the
    /// simulated page leaves a step of it out): a gate's decision that passed, with the
    /// run to hand it to, or the refusal.
    fn page_decides(
        &mut self,
        asked: &Asked,
    ) -> Result<Result<(String, Command), Refused>, SimError> {
        let deliver = |_: &mut baton_store::Store, run: &str, c: Command| (run.to_string(), c);
        let checked = match self.config.bug {
            Some(Bug::PasskeyCounterUnchecked) => {
                let v = approval_page::verified(&self.store, ORIGIN, asked, SERVE);
                if let Err(r) = &v {
                    approval_page::on_record(&mut self.store, asked, SERVE, r)?;
                }
                v.map(|v| Decided::Gate((v.run_id, v.command)))
            }
            Some(Bug::PageRefusalUnrecorded) => {
                approval_page::verified(&self.store, ORIGIN, asked, SERVE)
                    .and_then(|v| approval_page::counter_rises(&self.store, v))
                    .map(|v| Decided::Gate((v.run_id, v.command)))
            }
            _ => approval_page::decide(&mut self.store, ORIGIN, asked, SERVE, deliver),
        };
        Ok(match checked {
            Ok(Decided::Gate(g)) => Ok(g),
            Ok(Decided::Ask(_)) => Err(SimError::Workflow(format!(
                "the page answered an ask for gate {}/{}",
                asked.run, asked.step
            )))?,
            Err(r) => Err(r),
        })
    }

    /// `asked` handed to the page for `open`'s gate; what became of it checked against
    /// what it was, and the run carried on (its approved step run, its revised step
    /// run again up to the gate's next opening).
    fn passkey_hand_in(
        &mut self,
        mut open: Open,
        asked: &Asked,
        made: Made,
    ) -> Result<(), SimError> {
        let run = open.run.clone();
        let before = self.store.events(&run)?.len();
        let (spawned, refused) = match self.page_decides(asked)? {
            Ok((to, command)) => {
                let input = Input::Command { id: None, command };
                (self.feed_spawning(&to, &mut open.core, input)?, None)
            }
            Err(r) => (Vec::new(), Some(r)),
        };
        let all = self.store.events(&run)?;
        let plan = self.passkeys.plan.0.clone();
        let mut counted = false;
        for ev in all.iter().skip(before) {
            if let EventKind::ApprovalGiven { .. }
            | EventKind::GateRejected { .. }
            | EventKind::GatePushedBack { .. } = ev.kind
            {
                counted = true;
                if let Some(d) =
                    crate::signed::a_signed_decision_counts_only_when_valid(&plan, &run, &all, ev)
                {
                    self.passkeys.broken.push(format!("{run}: {d}"));
                }
            }
        }
        let on_record = match &refused {
            Some(r) => approval_page::recorded(&self.store, &run, STEP, r)?,
            None => true,
        };
        if counted {
            self.passkey_counted(asked);
        }
        if matches!(asked.decision.as_str(), "push_back") && counted {
            open.pushed += 1;
        }
        let said = made.said();
        let why = refused.as_ref().map_or(String::new(), |r| {
            format!(
                " ({}{})",
                r.refusal.code(),
                if r.verified { ", verified" } else { "" }
            )
        });
        self.history.push(format!(
            "  {run}/{STEP}: {} from the page with a passkey ({said}): {}{why}",
            asked.decision,
            if counted { "counted" } else { "refused" },
        ));
        self.passkeys.handed.push(Handed {
            what: format!("{run}/{STEP}"),
            made: said,
            good: made == Made::Good,
            counted,
            changed: !counted && all.len() != before,
            on_record,
        });
        self.run_out(&run, &mut open.core, spawned)?;
        if !open.core.run_state().is_final() {
            self.passkeys.open.push(open);
        }
        Ok(())
    }

    /// A decision counted: its assertion is spent, its counter the highest.
    fn passkey_counted(&mut self, asked: &Asked) {
        let c = Passkeys::counter_of(asked);
        self.passkeys.highest = self.passkeys.highest.max(c);
        if asked.ask.is_none() {
            self.passkeys.spent = Some(asked.clone());
        }
    }

    /// The key's counter in `passkey_counters` never goes backwards, and is the
    /// highest counter of a decision that counted.
    fn passkey_counter_checked(&mut self) -> Result<(), SimError> {
        let p = &mut self.passkeys;
        let now = self.store.last_passkey_counter(&p.fingerprint)?;
        if now < p.table {
            p.backwards.push(format!(
                "the passkey's counter went from {:?} to {now:?}",
                p.table
            ));
        }
        if now != p.highest {
            p.backwards.push(format!(
                "the passkey's counter is {now:?}, the highest of a counted decision {:?}",
                p.highest
            ));
        }
        p.table = now;
        Ok(())
    }
}

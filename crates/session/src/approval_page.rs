//! A decision from the approval page (`baton serve --approval-origin`), without its
//! HTTP: the exact message a decision signs ([`message`]), and the decision with its
//! passkey assertion ([`decide`]). The assertion becomes an armored SSHSIG
//! (`signing::sshsig_from_assertion`) by a passkey key of the run's allowed signers,
//! verified against the page's origin (`signing::check_passkey`: user verification,
//! the origin), its counter checked ([`counter_rises`]), and the decision goes to the
//! run by the caller's `deliver` (the page: as `baton approve --signature` sends it;
//! the simulator: to the core it drives): the engine checks the signature again, with
//! the quorum, self-approval and digest binding of every signed decision. Nothing the
//! request says names who decides: only the key that signed does. The page and the
//! simulator's hand both call this one function.
//!
//! Whatever is refused here changes nothing. A refusal of a signature that verified (a
//! passkey of the allowed signers that signed without user verification, on another
//! origin, or with a signature counter not above the last recorded for its key) is on
//! record once per run, step and reason, which names the key ([`on_record`], under the
//! serve's account, `via: "approval page"`, `verified: true`): a replayed assertion
//! adds no row. Any other request that names an opened gate or an ask (an unsigned
//! gate, no assertion, one that does not verify) is the request's own word: it is on
//! record once per run (an ask's: its asking step's run, or `asks`), step and refusal
//! code (`verified: false`, with no text of the request's but
//! the step and decision), and refused without a row when that one exists, so that no
//! sender fills the chain. What the engine refuses it records.
mod ask;

use baton_model::history::{AuditAction, Decision};
use baton_model::{Command, EventKind, Refusal};
use baton_signing::{self as signing, AllowedSigners, Assertion};
use baton_store::{Store, StoreError};
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;

/// What the page sends.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Asked {
    pub run: String,
    pub step: String,
    /// `approve`, `reject` or `push_back`.
    pub decision: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub inputs: BTreeMap<String, String>,
    #[serde(default)]
    pub assertion: Option<Signed>,
    /// An ask's id: the request answers that ask, not a gate.
    #[serde(default)]
    pub ask: Option<String>,
}

/// `navigator.credentials.get()`'s response, each part as an array of bytes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signed {
    pub authenticator_data: Vec<u8>,
    pub client_data_json: Vec<u8>,
    pub signature: Vec<u8>,
}

/// A body that is not a decision of the page.
#[derive(Debug, thiserror::Error)]
pub enum NotADecision {
    #[error("not a decision of the approval page: {0}")]
    Json(#[from] serde_json::Error),
    #[error("not a decision of the approval page: `decision` is approve, reject or push_back")]
    Verb,
}

/// What the page answers a request with (an HTTP status line), and why.
#[derive(Debug, Clone)]
pub struct Refused {
    pub status: &'static str,
    pub refusal: Refusal,
    /// The signature verified by a key of the allowed signers (then the refusal names
    /// what the key signed wrong), or the refusal is of the request's own word.
    pub verified: bool,
}

impl Refused {
    fn of(status: &'static str, refusal: Refusal) -> Refused {
        Refused {
            status,
            refusal,
            verified: false,
        }
    }
}

/// What became of a decision that passed the page's checks.
pub enum Decided<T> {
    /// A gate's decision, handed to the run: what `deliver` said.
    Gate(T),
    /// An ask's answer, recorded by the store: the message to show.
    Ask(String),
}

/// A gate's decision that passed the page's checks but its counter's: the run, and the
/// command carrying the signature the assertion made.
pub struct Verified {
    pub run_id: String,
    pub command: Command,
    pem: String,
}

/// The check and the write of a refusal's one row, one request at a time.
static ONE_ROW: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A step's latest gate opening, as recorded: what a decision on it binds to.
#[derive(Debug)]
pub struct Opening {
    /// The seq of its `gate_opened` event (the message's `gate:` line).
    pub seq: u64,
    pub digest: String,
    pub signed: bool,
    /// The run's allowed signers (recorded when it started), if any.
    pub signers: Option<AllowedSigners>,
}

/// `step`'s latest gate opening in run `run_id`; `None` if it never opened.
pub fn opening(store: &Store, run_id: &str, step: &str) -> Result<Option<Opening>, StoreError> {
    let mut signers = None;
    let mut found = None;
    for ev in store.events(run_id)? {
        match ev.kind {
            EventKind::RunStarted {
                allowed_signers: Some(text),
                ..
            } => signers = AllowedSigners::parse(&text).ok(),
            EventKind::GateOpened {
                step: s,
                digest,
                signed,
                ..
            } if s == step => found = Some((ev.seq, digest, signed)),
            _ => {}
        }
    }
    Ok(found.map(|(seq, digest, signed)| Opening {
        seq,
        digest,
        signed,
        signers,
    }))
}

/// The page's request from its JSON body.
pub fn parse(body: &[u8]) -> Result<Asked, NotADecision> {
    let asked: Asked = serde_json::from_slice(body)?;
    if !["approve", "reject", "push_back"].contains(&asked.decision.as_str()) {
        return Err(NotADecision::Verb);
    }
    Ok(asked)
}

/// The bytes `asked` signs (a gate's decision, from the run's recorded gate, or an
/// ask's answer), for `POST /approve/message`.
pub fn message(store: &Store, asked: &Asked) -> Result<String, Refused> {
    if let Some(id) = &asked.ask {
        return ask::message(store, id, asked);
    }
    let (run_id, _) = gate_of(store, asked)?;
    let command = command_of(asked, String::new())?;
    crate::signing::message_for(store, &run_id, &command)
        .map_err(|e| Refused::of("409 Conflict", Refusal::BadSignature { why: e.to_string() }))
}

/// The page's decision `asked`, handed in by OS account `me` (the serve's) at the
/// page's `origin`: verified ([`verified`]), its counter rising ([`counter_rises`]),
/// then a gate's handed to the run by `deliver` (the run's id, the signed command), an
/// ask's answered through `ask::answer`. A refusal is on record ([`on_record`]) before
/// it is returned.
pub fn decide<T>(
    store: &mut Store,
    origin: &str,
    asked: &Asked,
    me: &str,
    deliver: impl FnOnce(&mut Store, &str, Command) -> T,
) -> Result<Decided<T>, Refused> {
    let got = match &asked.ask {
        Some(id) => ask::decide(store, origin, id, asked, me).map(Decided::Ask),
        None => verified(store, origin, asked, me)
            .and_then(|v| counter_rises(store, v))
            .map(|v| Decided::Gate(deliver(store, &v.run_id, v.command))),
    };
    if let Err(refused) = &got {
        // A store that cannot take the row still refuses: nothing changed.
        let _ = on_record(store, asked, me, refused);
    }
    got
}

/// The gate's decision `asked` with the armored SSHSIG its assertion makes, by the
/// passkey key of the run's allowed signers whose signature verifies over the
/// decision's message at `origin` with the user verified. Its counter is not checked
/// here ([`counter_rises`]).
pub fn verified(store: &Store, origin: &str, asked: &Asked, me: &str) -> Result<Verified, Refused> {
    let (run_id, gate) = gate_of(store, asked)?;
    let command = command_of(asked, me.to_string())?;
    if let Some(refusal) = command.too_long() {
        return Err(Refused::of(
            "400 Bad Request",
            Refusal::TooLong { why: refusal },
        ));
    }
    let Some(a) = &asked.assertion else {
        return Err(Refused::of(
            "403 Forbidden",
            Refusal::SignatureRequired {
                run: run_id,
                step: asked.step.clone(),
                verb: asked.decision.clone(),
            },
        ));
    };
    let Some(signers) = gate.signers.as_ref() else {
        return Err(Refused::of("403 Forbidden", Refusal::NoAllowedSigners));
    };
    let message = crate::signing::message_for(store, &run_id, &command)
        .map_err(|e| Refused::of("409 Conflict", Refusal::BadSignature { why: e.to_string() }))?;
    let pem = passkey_signature(signers, &message, a, origin, "the run's")?;
    let command = with_signature(command, pem.clone());
    Ok(Verified {
        run_id,
        command,
        pem,
    })
}

/// `v`'s passkey counter against the last recorded for its key
/// (`passkey_counter_rises`, as `baton approve --signature` checks it): one not above
/// it (a replayed assertion, a cloned authenticator) is refused, as a signature that
/// verified.
pub fn counter_rises(store: &Store, v: Verified) -> Result<Verified, Refused> {
    rising(store, &v.pem)?;
    Ok(v)
}

fn rising(store: &Store, pem: &str) -> Result<(), Refused> {
    use crate::signing::CounterError;
    crate::signing::passkey_counter_rises(store, pem).map_err(|e| match e {
        CounterError::Store(e) => unavailable(&e),
        CounterError::NotAbove(e) => Refused {
            status: "403 Forbidden",
            refusal: Refusal::BadSignature { why: e.to_string() },
            verified: true,
        },
    })
}

/// The armored SSHSIG `a` makes by the passkey of `signers` whose signature verifies
/// over `message` at `origin`. `whose`: whose signers they are, for the refusal.
fn passkey_signature(
    signers: &AllowedSigners,
    message: &str,
    a: &Signed,
    origin: &str,
    whose: &str,
) -> Result<String, Refused> {
    let assertion = Assertion {
        authenticator_data: &a.authenticator_data,
        client_data_json: &a.client_data_json,
        signature: &a.signature,
    };
    let mut signed_why = None;
    for entry in signers.entries() {
        let Ok(pem) = signing::sshsig_from_assertion(entry.key.key_data(), &assertion) else {
            continue;
        };
        match signing::check_passkey(signers, message, &pem, origin) {
            Ok(_) => return Ok(pem),
            // The key that signed (its signature verified first), but not as it must
            // (no user verification, another origin): that is the reason, not "no key".
            Err(
                e @ (signing::SignatureError::NotUserVerified(_)
                | signing::SignatureError::Origin { .. }
                | signing::SignatureError::ForeignOrigin { .. }),
            ) => signed_why = Some(e.to_string()),
            Err(_) => {}
        }
    }
    Err(match signed_why {
        Some(why) => Refused {
            status: "403 Forbidden",
            refusal: Refusal::BadSignature { why },
            verified: true,
        },
        None => Refused::of(
            "403 Forbidden",
            Refusal::BadSignature {
                why: format!("no passkey of {whose} allowed signers made this signature"),
            },
        ),
    })
}

fn with_signature(mut command: Command, pem: String) -> Command {
    if let Command::Approve { signature, .. }
    | Command::Reject { signature, .. }
    | Command::PushBack { signature, .. } = &mut command
    {
        *signature = Some(pem);
    }
    command
}

fn unavailable(e: &dyn std::fmt::Display) -> Refused {
    Refused::of(
        "503 Service Unavailable",
        Refusal::BadSignature {
            why: format!("cannot read the store: {e}"),
        },
    )
}

/// The run and its step's latest gate opening; an unsigned gate is refused here: it is
/// not decided by a signature, and the page authenticates no one otherwise.
fn gate_of(store: &Store, asked: &Asked) -> Result<(String, Opening), Refused> {
    let run_id = store.resolve_run(&asked.run).map_err(|e| {
        Refused::of(
            "404 Not Found",
            Refusal::BadSignature { why: e.to_string() },
        )
    })?;
    let gate = opening(store, &run_id, &asked.step)
        .map_err(|e| unavailable(&e))?
        .ok_or_else(|| {
            Refused::of(
                "404 Not Found",
                Refusal::NoGate {
                    step: asked.step.clone(),
                },
            )
        })?;
    if !gate.signed {
        return Err(Refused::of(
            "403 Forbidden",
            Refusal::NotSigned {
                step: asked.step.clone(),
            },
        ));
    }
    Ok((run_id, gate))
}

/// The command the page asks for, as `baton approve|reject|push-back` makes it (no
/// signature yet; `operator` is the account that hands it in, which a signed gate does
/// not count: the key's principal is the voter).
fn command_of(asked: &Asked, operator: String) -> Result<Command, Refused> {
    let reason = asked.reason.clone();
    match asked.decision.as_str() {
        "approve" => Ok(Command::Approve {
            step: asked.step.clone(),
            operator,
            reason: Some(reason).filter(|r| !r.trim().is_empty()),
            signature: None,
            inputs: asked.inputs.clone(),
        }),
        "reject" => Ok(Command::Reject {
            step: asked.step.clone(),
            operator,
            reason,
            signature: None,
        }),
        "push_back" if asked.ask.is_none() => Ok(Command::PushBack {
            step: asked.step.clone(),
            operator,
            reason,
            signature: None,
        }),
        _ => Err(Refused::of(
            "403 Forbidden",
            Refusal::NoRevise {
                step: asked.step.clone(),
            },
        )),
    }
}

/// The page's refusal of `asked` on the audit chain, under the run (`baton audit`
/// shows `command_refused approve` of the step), when it names a gate that opened (a
/// request naming none changes nothing and has nothing to be recorded under); an
/// ask's under the asking step's run or `asks`, when the ask exists. Unless the same
/// one is there already: an unverified request's once per step (or ask) and code, a
/// verified signature's once per step and reason (which names the key and what it
/// signed wrong), so that neither a sender nor a replayed assertion adds a row each.
pub fn on_record(
    store: &mut Store,
    asked: &Asked,
    me: &str,
    refused: &Refused,
) -> Result<(), StoreError> {
    let Some((subject, step)) = subject_of(store, asked)? else {
        return Ok(());
    };
    let _one = ONE_ROW.lock().unwrap_or_else(|e| e.into_inner());
    if recorded(store, &subject, &step, refused)? {
        return Ok(());
    }
    let refusal = &refused.refusal;
    let d = Decision {
        actor: me.to_string(),
        action: AuditAction::CommandRefused,
        step: Some(step.clone()),
        reason: Some(refusal.to_string()),
        summary: format!(
            "the approval page refused to {} `{step}`: {refusal}",
            asked.decision
        ),
        details: json!({
            "decision": asked.decision,
            "code": refusal.code(),
            "via": "approval page",
            "verified": refused.verified,
        }),
    };
    store.record_refusal(&subject, &d)
}

/// What a refusal of `asked` is recorded under: the chain's subject and the step (an
/// ask's id); `None` when it names no gate that opened and no ask.
pub fn subject_of(store: &Store, asked: &Asked) -> Result<Option<(String, String)>, StoreError> {
    if let Some(id) = &asked.ask {
        return Ok(store.ask(id)?.map(|a| {
            let subject = a
                .run_id
                .unwrap_or_else(|| baton_model::ask::AUDIT_SUBJECT.into());
            (subject, a.id)
        }));
    }
    let Ok(run_id) = store.resolve_run(&asked.run) else {
        return Ok(None);
    };
    let opened = opening(store, &run_id, &asked.step)?.is_some();
    Ok(opened.then(|| (run_id, asked.step.clone())))
}

/// Whether the chain of `subject` (a run, or `asks`) has the page's refusal of `step`
/// (or an ask) with this code (and, for a verified signature, this reason): what
/// [`on_record`] writes once.
pub fn recorded(
    store: &Store,
    subject: &str,
    step: &str,
    refused: &Refused,
) -> Result<bool, StoreError> {
    let reason = refused.refusal.to_string();
    let verified = refused.verified;
    Ok(store.audit(subject)?.iter().any(|r| {
        r.action == AuditAction::CommandRefused.as_str()
            && r.step.as_deref() == Some(step)
            && (!verified || r.reason.as_deref() == Some(reason.as_str()))
            && serde_json::from_str::<serde_json::Value>(&r.details).is_ok_and(|d| {
                d["via"] == "approval page"
                    && d["code"] == refused.refusal.code()
                    && d["verified"] == verified
            })
    }))
}

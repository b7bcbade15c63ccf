//! A decision from the page: the exact message it signs (`POST /approve/message`), and
//! the decision with its passkey assertion (`POST /approve/decide`). The assertion
//! becomes an armored SSHSIG (`signing::sshsig_from_assertion`) by a passkey key of the
//! run's allowed signers, verified here against this page's origin
//! (`signing::check_passkey`), and the decision goes to the run as `baton approve
//! --signature` sends it (`session::command::apply`): the engine checks the signature
//! again, with the quorum, self-approval and digest binding of every signed decision.
//! Nothing the request says names who decides: only the key that signed does.
//!
//! Whatever is refused here changes nothing. A refusal of a signature that verified (a
//! passkey of the allowed signers that signed without user verification, on another
//! origin, or with a signature counter not above the last recorded for its key:
//! `counter`) is on record once per run, step and reason, which names the key
//! (`command_refused`, under the serve's account, `via: "approval page"`, `verified:
//! true`): a replayed assertion adds no row. Any other request that names an opened gate
//! (an unsigned gate, no assertion, one that does not verify) is the
//! request's own word: it is on record once per run, step and refusal code (`verified:
//! false`, with no text of the request's but the step and decision), and refused
//! without a row when that one exists, so that no sender fills the chain. What the
//! engine refuses it records.
mod ask;

use super::facts::{self, Opening};
use super::{Page, Reply};
use crate::model::history::{AuditAction, Decision};
use crate::model::{Command, CommandOutcome, Refusal};
use crate::session::command::{self, Applied, Delivery};
use crate::signing::{self, Assertion};
use crate::store::Store;
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// How long a decision waits for the run's engine to take it.
const ENGINE_WAIT: Duration = Duration::from_secs(10);

/// What the page sends.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Asked {
    run: String,
    step: String,
    /// `approve`, `reject` or `push_back`.
    decision: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    inputs: BTreeMap<String, String>,
    #[serde(default)]
    assertion: Option<Signed>,
    /// An ask's id: the request answers that ask (`ask`), not a gate.
    #[serde(default)]
    ask: Option<String>,
}

/// `navigator.credentials.get()`'s response, each part as an array of bytes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Signed {
    authenticator_data: Vec<u8>,
    client_data_json: Vec<u8>,
    signature: Vec<u8>,
}

/// A request refused before the run was asked: the answer's status and the refusal.
struct Refused(&'static str, Refusal);

/// A refusal of [`signed_command`]: of the request's own word, or of a signature that
/// verified by a key of the allowed signers (then the refusal names what the key signed).
enum Why {
    Unsigned(Refused),
    Signed(Refused),
}

impl From<Refused> for Why {
    fn from(r: Refused) -> Why {
        Why::Unsigned(r)
    }
}

/// The check and the write of a refusal's one row, one request at a time.
static ONE_ROW: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// `POST /approve/message`: `{"message", "challenge"}`, the bytes a decision signs and
/// the challenge the passkey is asked to sign for them.
pub(super) fn message(db: &Path, _page: &Page, body: &[u8]) -> Reply {
    let asked = match parse(body) {
        Ok(a) => a,
        Err(r) => return r,
    };
    if let Some(id) = &asked.ask {
        return ask::message(db, id, &asked);
    }
    let got = signed_message(db, &asked);
    match got {
        Ok(message) => Reply::json(
            "200 OK",
            &json!({ "message": message, "challenge": signing::challenge(&message) }),
        ),
        Err(Refused(status, r)) => Reply::json(status, &json!({ "refused": r.json() })),
    }
}

/// The message `asked` signs, from the run's recorded gate.
fn signed_message(db: &Path, asked: &Asked) -> Result<String, Refused> {
    let store = Store::open_existing(db).map_err(|e| unavailable(&e))?;
    let (run_id, _) = gate_of(&store, asked)?;
    let command = command_of(asked, String::new())?;
    crate::session::message_for(&store, &run_id, &command)
        .map_err(|e| Refused("409 Conflict", Refusal::BadSignature { why: e.to_string() }))
}

/// `POST /approve/decide`: the decision, signed, handed to the run; `{"accepted":
/// {"message"}}`, `{"recorded": …}` or `{"refused": {"code", "message"}}`.
pub(super) fn decide(db: &Path, page: &Page, body: &[u8]) -> Reply {
    let asked = match parse(body) {
        Ok(a) => a,
        Err(r) => return r,
    };
    if let Some(id) = &asked.ask {
        return ask::decide(db, page, id, &asked);
    }
    let mut store = match Store::open_existing(db) {
        Ok(s) => s,
        Err(e) => return Reply::status("503 Service Unavailable", &format!("{e}\n")),
    };
    let me = match crate::session::os_account() {
        Ok(m) => m,
        Err(e) => return Reply::status("503 Service Unavailable", &format!("{e}\n")),
    };
    let (Refused(status, refusal), verified) = match signed_command(&store, page, &asked, &me) {
        Ok((run_id, command)) => return hand_in(&mut store, &run_id, command),
        Err(Why::Signed(r)) => (r, true),
        Err(Why::Unsigned(r)) => (r, false),
    };
    // On record under the run when it names a gate that opened; a request naming none
    // changes nothing and has nothing to be recorded under.
    if let Ok(run_id) = store.resolve_run(&asked.run)
        && let Ok(Some(_)) = facts::opening(&store, &run_id, &asked.step)
    {
        let _ = record(&mut store, &run_id, &asked, &me, &refusal, verified);
    }
    Reply::json(status, &json!({ "refused": refusal.json() }))
}

fn parse(body: &[u8]) -> Result<Asked, Reply> {
    let bad = |e: &dyn std::fmt::Display| {
        Reply::status(
            "400 Bad Request",
            &format!("not a decision of the approval page: {e}\n"),
        )
    };
    let asked: Asked = serde_json::from_slice(body).map_err(|e| bad(&e))?;
    if !["approve", "reject", "push_back"].contains(&asked.decision.as_str()) {
        return Err(bad(&"`decision` is approve, reject or push_back"));
    }
    Ok(asked)
}

fn unavailable(e: &dyn std::fmt::Display) -> Refused {
    Refused(
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
        Refused(
            "404 Not Found",
            Refusal::BadSignature { why: e.to_string() },
        )
    })?;
    let gate = facts::opening(store, &run_id, &asked.step)
        .map_err(|e| unavailable(&e))?
        .ok_or_else(|| {
            Refused(
                "404 Not Found",
                Refusal::NoGate {
                    step: asked.step.clone(),
                },
            )
        })?;
    if !gate.signed {
        return Err(Refused(
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
        _ => Err(Refused(
            "403 Forbidden",
            Refusal::NoRevise {
                step: asked.step.clone(),
            },
        )),
    }
}

/// The command with the armored SSHSIG the assertion makes, by the passkey key of the
/// run's allowed signers whose signature verifies over the decision's message at this
/// page's origin.
fn signed_command(
    store: &Store,
    page: &Page,
    asked: &Asked,
    me: &str,
) -> Result<(String, Command), Why> {
    let (run_id, gate) = gate_of(store, asked)?;
    let mut command = command_of(asked, me.to_string())?;
    if let Some(refusal) = command.too_long() {
        return Err(Refused("400 Bad Request", Refusal::TooLong { why: refusal }).into());
    }
    let verb = asked.decision.clone();
    let Some(a) = &asked.assertion else {
        return Err(Refused(
            "403 Forbidden",
            Refusal::SignatureRequired {
                run: run_id,
                step: asked.step.clone(),
                verb,
            },
        )
        .into());
    };
    let Some(signers) = gate.signers.as_ref() else {
        return Err(Refused("403 Forbidden", Refusal::NoAllowedSigners).into());
    };
    let message = crate::session::message_for(store, &run_id, &command)
        .map_err(|e| Refused("409 Conflict", Refusal::BadSignature { why: e.to_string() }))?;
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
        match signing::check_passkey(signers, &message, &pem, page.origin()) {
            Ok(_) => {
                rising(store, &pem)?;
                if let Command::Approve { signature, .. }
                | Command::Reject { signature, .. }
                | Command::PushBack { signature, .. } = &mut command
                {
                    *signature = Some(pem);
                }
                return Ok((run_id, command));
            }
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
        Some(why) => Why::Signed(Refused("403 Forbidden", Refusal::BadSignature { why })),
        None => Why::Unsigned(Refused(
            "403 Forbidden",
            Refusal::BadSignature {
                why: "no passkey of the run's allowed signers made this signature".to_string(),
            },
        )),
    })
}

/// A verified passkey signature's counter against the last recorded for its key
/// (`session::passkey_counter_rises`, as `baton approve --signature` checks it): one
/// not above it (a replayed assertion, a cloned authenticator) is refused on record.
fn rising(store: &Store, pem: &str) -> Result<(), Why> {
    use crate::session::CounterError;
    crate::session::passkey_counter_rises(store, pem).map_err(|e| match e {
        CounterError::Store(e) => Why::Unsigned(unavailable(&e)),
        CounterError::NotAbove(e) => Why::Signed(Refused(
            "403 Forbidden",
            Refusal::BadSignature { why: e.to_string() },
        )),
    })
}

/// Hand the signed decision to the run as `baton approve --signature` does.
fn hand_in(store: &mut Store, run_id: &str, command: Command) -> Reply {
    let applied = command::apply(store, run_id, command, &Delivery::NoDrive, &[], ENGINE_WAIT);
    match applied {
        Ok(Applied::ByEngine {
            outcome: CommandOutcome::Accepted { message },
            ..
        }) => Reply::json("200 OK", &json!({ "accepted": { "message": message } })),
        Ok(Applied::ByEngine {
            outcome: CommandOutcome::Refused(r),
            ..
        }) => Reply::json("403 Forbidden", &json!({ "refused": r.json() })),
        Ok(Applied::Recorded { id } | Applied::RecordedForStarter { id, .. }) => Reply::json(
            "202 Accepted",
            &json!({ "recorded": { "command": id, "message": format!("no engine drives run {run_id}: the decision waits for the next one (`baton resume {run_id}`)") } }),
        ),
        Ok(Applied::TakenOver { .. } | Applied::Detached { .. }) => Reply::json(
            "500 Internal Server Error",
            &json!({ "refused": { "code": "not_taken", "message": "the page never drives a run" } }),
        ),
        Err(crate::session::SessionError::Refused { refusal, .. }) => {
            Reply::json("403 Forbidden", &json!({ "refused": refusal.json() }))
        }
        Err(e) => Reply::status("503 Service Unavailable", &format!("{e}\n")),
    }
}

/// A refusal of the page on the audit chain, under the run (`baton audit` shows
/// `command_refused approve` of the step), unless the same one is already there: an
/// unverified request's once per step and code, a verified signature's once per step
/// and reason (which names the key and what it signed wrong), so that neither a sender
/// nor a replayed assertion adds a row each.
fn record(
    store: &mut Store,
    run_id: &str,
    asked: &Asked,
    me: &str,
    refusal: &Refusal,
    verified: bool,
) -> Result<(), crate::store::StoreError> {
    let _one = ONE_ROW.lock().unwrap_or_else(|e| e.into_inner());
    if on_record(store, run_id, &asked.step, refusal, verified)? {
        return Ok(());
    }
    let d = Decision {
        actor: me.to_string(),
        action: AuditAction::CommandRefused,
        step: Some(asked.step.clone()),
        reason: Some(refusal.to_string()),
        summary: format!(
            "the approval page refused to {} `{}`: {refusal}",
            asked.decision, asked.step
        ),
        details: json!({
            "decision": asked.decision,
            "code": refusal.code(),
            "via": "approval page",
            "verified": verified,
        }),
    };
    store.record_refusal(run_id, &d)
}

/// Whether the run's chain already has the page's refusal of `step` with this code
/// (and, for a verified signature, this reason).
fn on_record(
    store: &Store,
    run_id: &str,
    step: &str,
    refusal: &Refusal,
    verified: bool,
) -> Result<bool, crate::store::StoreError> {
    let reason = refusal.to_string();
    Ok(store.audit(run_id)?.iter().any(|r| {
        r.action == AuditAction::CommandRefused.as_str()
            && r.step.as_deref() == Some(step)
            && (!verified || r.reason.as_deref() == Some(reason.as_str()))
            && serde_json::from_str::<serde_json::Value>(&r.details).is_ok_and(|d| {
                d["via"] == "approval page"
                    && d["code"] == refusal.code()
                    && d["verified"] == verified
            })
    }))
}

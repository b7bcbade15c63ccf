//! An ask's answer from the page (`"ask": ID` in the request): a signed ask (`baton ask
//! --signed`) is answered as a signed gate is decided, by a passkey of the ask's own
//! allowed signers signing the answer's message (`signing::ask_message`, the bytes
//! `baton approve ASK --print-message` prints) at this page's origin, the user
//! verified and the counter rising; the answer goes to the store through
//! `session::ask::answer`, which checks the inputs and the signature again, with the
//! ask's approvers and the asker's self-approval rule. An unsigned ask is not answered
//! here (the page authenticates no one but through a passkey). An ask has no run's
//! chain of its own, so the page's refusals of an ask's answer are answered, not
//! recorded; what the store refuses it records as for `baton approve`.
use super::{Asked, Refused, command_of, rising};
use crate::model::Refusal;
use crate::model::ask::{Ask, AskState};
use crate::session::ask::Signed;
use crate::signing::{self, AllowedSigners, Assertion};
use crate::store::Store;
use serde_json::json;
use std::path::Path;

use super::super::{Page, Reply};

fn refused(Refused(status, r): Refused) -> Reply {
    Reply::json(status, &json!({ "refused": r.json() }))
}

/// The open, signed ask `id` and its allowed signers.
fn signed_ask(store: &Store, id: &str) -> Result<(Ask, AllowedSigners), Refused> {
    let not_found = || {
        Refused(
            "404 Not Found",
            Refusal::NoAsk {
                ask: id.to_string(),
            },
        )
    };
    let a = store
        .ask(id)
        .map_err(|e| super::unavailable(&e))?
        .ok_or_else(not_found)?;
    if a.state != AskState::Open {
        return Err(Refused(
            "409 Conflict",
            Refusal::AskClosed {
                ask: a.id.clone(),
                state: a.state.as_str().to_string(),
            },
        ));
    }
    let Some(text) = a.signers.as_deref() else {
        return Err(Refused(
            "403 Forbidden",
            Refusal::NotSigned { step: a.id.clone() },
        ));
    };
    let signers = AllowedSigners::parse(text).map_err(|e| {
        Refused(
            "409 Conflict",
            Refusal::BadSignature {
                why: format!("the ask's allowed signers do not parse: {e}"),
            },
        )
    })?;
    Ok((a, signers))
}

/// The exact bytes an answer to the ask signs (its inputs checked as the CLI checks
/// them), or the refusal.
fn message_of(a: &Ask, asked: &Asked) -> Result<String, Refused> {
    let command = command_of(asked, String::new())?;
    match crate::session::ask::sign(a, command, true, None) {
        Ok(Signed::Message(m)) => Ok(m),
        Ok(Signed::Command(_)) => Err(Refused(
            "500 Internal Server Error",
            Refusal::BadSignature {
                why: "no message to sign".to_string(),
            },
        )),
        Err(r) => Err(Refused("400 Bad Request", r)),
    }
}

/// `POST /approve/message` for ask `id`.
pub(super) fn message(db: &Path, id: &str, asked: &Asked) -> Reply {
    let got = Store::open_existing(db)
        .map_err(|e| super::unavailable(&e))
        .and_then(|store| signed_ask(&store, id))
        .and_then(|(a, _)| message_of(&a, asked));
    match got {
        Ok(message) => Reply::json(
            "200 OK",
            &json!({ "message": message, "challenge": signing::challenge(&message) }),
        ),
        Err(r) => refused(r),
    }
}

/// `POST /approve/decide` for ask `id`: the answer, signed on the device, handed to
/// the store as `baton approve ASK --signature` hands it.
pub(super) fn decide(db: &Path, page: &Page, id: &str, asked: &Asked) -> Reply {
    let mut store = match Store::open_existing(db) {
        Ok(s) => s,
        Err(e) => return Reply::status("503 Service Unavailable", &format!("{e}\n")),
    };
    let me = match crate::session::os_account() {
        Ok(m) => m,
        Err(e) => return Reply::status("503 Service Unavailable", &format!("{e}\n")),
    };
    let command = match signed_answer(&store, page, id, asked, &me) {
        Ok(c) => c,
        Err(r) => return refused(r),
    };
    match crate::session::ask::answer(&mut store, id, &command) {
        Ok(message) => Reply::json("200 OK", &json!({ "accepted": { "message": message } })),
        Err(r) => refused(Refused("403 Forbidden", r)),
    }
}

/// The answer's command with the armored SSHSIG of the passkey of the ask's allowed
/// signers whose signature verifies over its message at this page's origin.
fn signed_answer(
    store: &Store,
    page: &Page,
    id: &str,
    asked: &Asked,
    me: &str,
) -> Result<crate::model::Command, Refused> {
    let (a, signers) = signed_ask(store, id)?;
    let message = message_of(&a, asked)?;
    let mut command = command_of(asked, me.to_string())?;
    let Some(s) = &asked.assertion else {
        return Err(Refused(
            "403 Forbidden",
            Refusal::BadSignature {
                why: format!(
                    "ask {id} takes only signed answers: sign on the page with your passkey"
                ),
            },
        ));
    };
    let assertion = Assertion {
        authenticator_data: &s.authenticator_data,
        client_data_json: &s.client_data_json,
        signature: &s.signature,
    };
    let mut why = "no passkey of the ask's allowed signers made this signature".to_string();
    for entry in signers.entries() {
        let Ok(pem) = signing::sshsig_from_assertion(entry.key.key_data(), &assertion) else {
            continue;
        };
        match signing::check_passkey(&signers, &message, &pem, page.origin()) {
            Ok(_) => {
                rising(store, &pem).map_err(|w| match w {
                    super::Why::Signed(r) | super::Why::Unsigned(r) => r,
                })?;
                if let crate::model::Command::Approve { signature, .. }
                | crate::model::Command::Reject { signature, .. } = &mut command
                {
                    *signature = Some(pem);
                }
                return Ok(command);
            }
            Err(
                e @ (signing::SignatureError::NotUserVerified(_)
                | signing::SignatureError::Origin { .. }
                | signing::SignatureError::ForeignOrigin { .. }),
            ) => why = e.to_string(),
            Err(_) => {}
        }
    }
    Err(Refused("403 Forbidden", Refusal::BadSignature { why }))
}

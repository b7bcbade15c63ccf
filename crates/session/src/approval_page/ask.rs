//! An ask's answer from the page (`"ask": ID` in the request): a signed ask (`baton ask
//! --signed`) is answered as a signed gate is decided, by a passkey of the ask's own
//! allowed signers signing the answer's message (`signing::ask_message`, the bytes
//! `baton approve ASK --print-message` prints) at the page's origin, the user verified
//! and the counter rising; the answer goes to the store through `ask::answer`, which
//! checks the inputs and the signature again, with the ask's approvers and the asker's
//! self-approval rule. An unsigned ask is not answered here (the page authenticates no
//! one but through a passkey). A refusal, the page's or the store's, is on record as
//! a gate's is (`super::on_record`), on the chain of the asking step's run or `asks`,
//! where the ask's votes are.
use super::{Asked, Refused, command_of, passkey_signature, rising, with_signature};
use crate::ask::Signed;
use baton_model::Refusal;
use baton_model::ask::{Ask, AskState};
use baton_signing::AllowedSigners;
use baton_store::Store;

/// The open, signed ask `id` and its allowed signers.
fn signed_ask(store: &Store, id: &str) -> Result<(Ask, AllowedSigners), Refused> {
    let not_found = || {
        Refused::of(
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
        return Err(Refused::of(
            "409 Conflict",
            Refusal::AskClosed {
                ask: a.id.clone(),
                state: a.state.as_str().to_string(),
            },
        ));
    }
    let Some(text) = a.signers.as_deref() else {
        return Err(Refused::of(
            "403 Forbidden",
            Refusal::NotSigned { step: a.id.clone() },
        ));
    };
    let signers = AllowedSigners::parse(text).map_err(|e| {
        Refused::of(
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
    match crate::ask::sign(a, command, true, None) {
        Ok(Signed::Message(m)) => Ok(m),
        Ok(Signed::Command(_)) => Err(Refused::of(
            "500 Internal Server Error",
            Refusal::BadSignature {
                why: "no message to sign".to_string(),
            },
        )),
        Err(r) => Err(Refused::of("400 Bad Request", r)),
    }
}

/// The message an answer to ask `id` signs.
pub(super) fn message(store: &Store, id: &str, asked: &Asked) -> Result<String, Refused> {
    let (a, _) = signed_ask(store, id)?;
    message_of(&a, asked)
}

/// Ask `id` answered with `asked`, signed on the device, handed to the store as `baton
/// approve ASK --signature` hands it: the message to show.
pub(super) fn decide(
    store: &mut Store,
    origin: &str,
    id: &str,
    asked: &Asked,
    me: &str,
) -> Result<String, Refused> {
    let command = signed_answer(store, origin, id, asked, me)?;
    crate::ask::answer(store, id, &command).map_err(|r| Refused::of("403 Forbidden", r))
}

/// The answer's command with the armored SSHSIG of the passkey of the ask's allowed
/// signers whose signature verifies over its message at `origin`.
fn signed_answer(
    store: &Store,
    origin: &str,
    id: &str,
    asked: &Asked,
    me: &str,
) -> Result<baton_model::Command, Refused> {
    let (a, signers) = signed_ask(store, id)?;
    let message = message_of(&a, asked)?;
    let command = command_of(asked, me.to_string())?;
    let Some(s) = &asked.assertion else {
        return Err(Refused::of(
            "403 Forbidden",
            Refusal::BadSignature {
                why: format!(
                    "ask {id} takes only signed answers: sign on the page with your passkey"
                ),
            },
        ));
    };
    let pem = passkey_signature(&signers, &message, s, origin, "the ask's")?;
    rising(store, &pem)?;
    Ok(with_signature(command, pem))
}

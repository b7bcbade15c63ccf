//! A decision from the page: the exact message it signs (`POST /approve/message`), and
//! the decision with its passkey assertion (`POST /approve/decide`), answered over
//! HTTP. What is checked, refused and recorded is `session::approval_page` (which the
//! simulator's hand calls too); a gate's decision that passes goes to the run as
//! `baton approve --signature` sends it (`session::command::apply`): the engine checks
//! the signature again, with the quorum, self-approval and digest binding of every
//! signed decision. Nothing the request says names who decides: only the key that
//! signed does.
use super::{Page, Reply};
use crate::model::{Command, CommandOutcome};
use crate::session::approval_page::{self, Asked, Decided, Refused};
use crate::session::command::{self, Applied, Delivery};
use crate::signing;
use crate::store::Store;
use serde_json::json;
use std::path::Path;
use std::time::Duration;

/// How long a decision waits for the run's engine to take it.
const ENGINE_WAIT: Duration = Duration::from_secs(10);

fn parse(body: &[u8]) -> Result<Asked, Reply> {
    approval_page::parse(body).map_err(|e| Reply::status("400 Bad Request", &format!("{e}\n")))
}

fn refused(r: &Refused) -> Reply {
    Reply::json(r.status, &json!({ "refused": r.refusal.json() }))
}

/// `POST /approve/message`: `{"message", "challenge"}`, the bytes a decision signs and
/// the challenge the passkey is asked to sign for them.
pub(super) fn message(db: &Path, _page: &Page, body: &[u8]) -> Reply {
    let asked = match parse(body) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let store = match Store::open_existing(db) {
        Ok(s) => s,
        Err(e) => return Reply::status("503 Service Unavailable", &format!("{e}\n")),
    };
    match approval_page::message(&store, &asked) {
        Ok(message) => Reply::json(
            "200 OK",
            &json!({ "message": message, "challenge": signing::challenge(&message) }),
        ),
        Err(r) => refused(&r),
    }
}

/// `POST /approve/decide`: the decision, signed, handed to the run; `{"accepted":
/// {"message"}}`, `{"recorded": …}` or `{"refused": {"code", "message"}}`.
pub(super) fn decide(db: &Path, page: &Page, body: &[u8]) -> Reply {
    let asked = match parse(body) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let mut store = match Store::open_existing(db) {
        Ok(s) => s,
        Err(e) => return Reply::status("503 Service Unavailable", &format!("{e}\n")),
    };
    let me = match crate::session::os_account() {
        Ok(m) => m,
        Err(e) => return Reply::status("503 Service Unavailable", &format!("{e}\n")),
    };
    match approval_page::decide(&mut store, page.origin(), &asked, &me, hand_in) {
        Ok(Decided::Gate(reply)) => reply,
        Ok(Decided::Ask(message)) => {
            Reply::json("200 OK", &json!({ "accepted": { "message": message } }))
        }
        Err(r) => refused(&r),
    }
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

//! What the page shows of each open gate and ask: the facts `baton inbox` and `baton show`
//! give (run, workflow, step, prompt, approvers and votes, the command and environment
//! the approval binds to, the needs' outputs, the inputs it asks, the revised steps'
//! diff), and what a decision binds to: the gate's opening (the seq of its
//! `gate_opened` event) and digest. Values are masked as every view masks them; the
//! page writes them as text, never as markup.
use super::{Page, Reply};
use crate::model::Timestamp;
use crate::model::inbox::WaitKind;
use crate::session::approval_page::{Opening, opening};
use crate::store::Store;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;

/// `GET /approve/gates`: `{"origin", "rp_id", "gates": [...]}`, oldest deadline first.
pub(super) fn gates(db: &Path, page: &Page) -> Reply {
    match read(db) {
        Ok(gates) => Reply::json(
            "200 OK",
            &json!({ "origin": page.origin(), "rp_id": page.rp_id(), "gates": gates }),
        ),
        Err(e) => Reply::status(
            "503 Service Unavailable",
            &format!("cannot read the store: {e}\n"),
        ),
    }
}

fn read(db: &Path) -> Result<Vec<Value>, crate::session::SessionError> {
    let store = Store::open_existing(db)?;
    let now = Timestamp::now();
    let mut views = BTreeMap::new();
    let mut out = Vec::new();
    for w in crate::session::read_inbox(&store, "", now)? {
        if w.kind == WaitKind::Ask {
            out.extend(ask(&w));
            continue;
        }
        if w.kind != WaitKind::Gate {
            continue;
        }
        let view = views
            .entry(w.run_id.clone())
            .or_insert_with(|| crate::session::inspect(&store, &w.run_id, now).ok());
        let gate = view
            .as_ref()
            .and_then(|v| v.gates.iter().find(|g| g.step_id == w.step));
        let Some(gate) = gate else { continue };
        let Some(Opening {
            seq,
            digest,
            signed,
            ..
        }) = opening(&store, &w.run_id, &w.step)?
        else {
            continue;
        };
        let decidable = signed.then_some(()).ok_or(
            "this gate is not signed: it is decided from a terminal (`baton approve`), where the account is the operating system's",
        );
        out.push(json!({
            "run_id": w.run_id,
            "workflow": w.workflow,
            "run_state": w.run_state,
            "step": w.step,
            "prompt": gate.prompt,
            "approvers": gate.approvers,
            "quorum": gate.quorum,
            "votes": w.votes,
            "since": w.since,
            "deadline": gate.deadline,
            "signed": signed,
            "decidable": decidable.is_ok(),
            "why_not": decidable.err(),
            "opening": seq,
            "digest": digest,
            "command": gate.command,
            "env": gate.env,
            "needs_outputs": gate.needs_outputs,
            "inputs": gate.inputs,
            "round": gate.round,
            "revise": gate.revise,
            "revision_diff": gate.revision_diff,
            "push_back": gate.actions.push_back,
        }));
    }
    Ok(out)
}

/// An open ask's facts (`baton inbox` shows the same): decidable here when it is
/// signed, as a signed gate is; it binds to the ask itself (its id, prompt and the
/// inputs given), as `signing::ask_message` says.
fn ask(w: &crate::model::inbox::Waiting) -> Option<Value> {
    let id = w.ask.as_ref()?;
    let decidable = w.signed.then_some(()).ok_or(
        "this ask is not signed: it is answered from a terminal (`baton approve`), where the account is the operating system's",
    );
    Some(json!({
        "ask": id,
        "run_id": w.run_id,
        "workflow": w.workflow,
        "run_state": w.run_state,
        "step": w.step,
        "prompt": w.prompt,
        "approvers": w.approvers,
        "quorum": w.quorum,
        "votes": w.votes,
        "since": w.since,
        "deadline": w.deadline,
        "signed": w.signed,
        "decidable": decidable.is_ok(),
        "why_not": decidable.err(),
        "inputs": w.inputs,
        "env": [],
        "needs_outputs": [],
        "revise": [],
        "push_back": false,
    }))
}

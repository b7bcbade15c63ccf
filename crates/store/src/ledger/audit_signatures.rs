//! `audit verify`'s second check: every signed decision in the audit trail verifies
//! again, against the allowed signers its run recorded when it started (the
//! `run_started` row's `allowed_signers`), over the canonical message rebuilt from the
//! row itself (run, step, the gate opening it answers and that opening's digest, the
//! decision, the reason). Independent of the hash chain: a row rewritten and re-hashed
//! by someone with the audit key still needs the approver's private key to pass here.
//! Pure: rows in, the first problem out.
use super::audit::AuditRow;
use baton_model::DecisionSignature;
use baton_model::history::AuditAction;
use baton_signing::{self as signing, AllowedSigners, SignersError, Verdict};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The outcome of re-checking the signatures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum SignaturesVerdict {
    /// Every signed decision verified; `signatures` counts them.
    Verified { signatures: usize },
    /// The first decision that does not.
    Broken {
        row_id: i64,
        run_id: String,
        reason: String,
    },
}

#[derive(Default)]
struct RunSigning {
    signers: Option<Result<AllowedSigners, SignersError>>,
    /// The latest opening of each step's gate: (gate_opened seq, digest, approvers, signed).
    gates: HashMap<String, (u64, String, Vec<String>, bool)>,
}

/// Why a signed ask's answer on the chain does not hold (`audit verify` reports it).
#[derive(Debug, thiserror::Error)]
enum AskSignatureBroken {
    #[error("a signed answer to ask {ask}, which is not signed")]
    SignedAnswerToUnsignedAsk { ask: String },
    #[error("a {action} of the signed ask {ask} without a signature")]
    Unsigned { action: String, ask: String },
    #[error("its signature record is malformed: {0}")]
    MalformedSignature(serde_json::Error),
    #[error("the ask's recorded allowed signers do not parse: {0}")]
    Signers(SignersError),
    #[error("its inputs are malformed: {0}")]
    MalformedInputs(serde_json::Error),
    #[error(
        "the signed message is not this answer's (its ask, question, inputs, decision or reason differ): ask {ask}"
    )]
    OtherMessage { ask: String },
    #[error("{0}")]
    Check(signing::SignatureError),
    #[error(
        "the answer is recorded as `{actor}` by {claimed}, but key {key} signed it as {principals}"
    )]
    OtherSigner {
        actor: String,
        claimed: String,
        key: String,
        principals: String,
    },
    #[error("`{principal}` is not an approver of ask {ask}")]
    NotAnApprover { principal: String, ask: String },
    #[error("ask {ask} approved by a key of its asker `{asker}`")]
    ApprovedByAsker { ask: String, asker: String },
}

/// An answer to an ask (`baton ask`) on the chain: for a signed ask (its row carries
/// the allowed signers and approvers it was opened with), the signature must verify
/// over the answer's message rebuilt from the row (`signing::ask_message`), by a key
/// listed under the row's actor, an approver, never the asker for an approval.
/// `Ok(true)`: a signature verified; `Ok(false)`: nothing signed to check.
fn ask_signature(row: &AuditRow, details: &serde_json::Value) -> Result<bool, AskSignatureBroken> {
    use AskSignatureBroken as B;
    let verdict = match AuditAction::parse(&row.action) {
        Some(AuditAction::ApprovalVote | AuditAction::Approved) => Verdict::Approve,
        Some(AuditAction::Rejected) => Verdict::Reject,
        _ => return Ok(false),
    };
    let ask = details["ask"].as_str().unwrap_or_default();
    let Some(signers) = details["signers"].as_str() else {
        if details.get("signature").is_some_and(|s| !s.is_null()) {
            return Err(B::SignedAnswerToUnsignedAsk { ask: ask.into() });
        }
        return Ok(false);
    };
    let sig = match details.get("signature").filter(|s| !s.is_null()) {
        None => {
            return Err(B::Unsigned {
                action: row.action.clone(),
                ask: ask.into(),
            });
        }
        Some(v) => {
            serde_json::from_value::<DecisionSignature>(v.clone()).map_err(B::MalformedSignature)?
        }
    };
    let signers = AllowedSigners::parse(signers).map_err(B::Signers)?;
    let inputs: std::collections::BTreeMap<String, String> = match verdict {
        Verdict::Approve => {
            serde_json::from_value(details["inputs"].clone()).map_err(B::MalformedInputs)?
        }
        Verdict::Reject | Verdict::PushBack => Default::default(),
    };
    let prompt = details["prompt"].as_str().unwrap_or_default();
    let reason = row.reason.as_deref().unwrap_or("");
    let expected = signing::ask_message(ask, prompt, verdict, reason, &inputs);
    if sig.message != expected {
        return Err(B::OtherMessage { ask: ask.into() });
    }
    let checked = signing::check(&signers, &expected, &sig.signature).map_err(B::Check)?;
    let same = baton_model::same_actor;
    let principal = &sig.principal;
    if checked.key != sig.key
        || !same(&row.actor, principal)
        || !checked.principals.iter().any(|p| same(p, principal))
    {
        return Err(B::OtherSigner {
            actor: row.actor.clone(),
            claimed: sig.key.clone(),
            key: checked.key.clone(),
            principals: checked.principals.join(", "),
        });
    }
    let approvers: Vec<String> =
        serde_json::from_value(details["approvers"].clone()).unwrap_or_default();
    if !approvers.iter().any(|a| same(a, principal)) {
        return Err(B::NotAnApprover {
            principal: principal.clone(),
            ask: ask.into(),
        });
    }
    let asker = details["asker"]["account"].as_str().unwrap_or_default();
    if verdict == Verdict::Approve
        && checked
            .principals
            .iter()
            .any(|p| same(signing::principal_account(p), asker))
    {
        return Err(B::ApprovedByAsker {
            ask: ask.into(),
            asker: asker.into(),
        });
    }
    Ok(true)
}

/// Check the signed decisions among `rows` (in id order; rows of other runs than
/// `only`, when given, are skipped).
pub fn verify_signatures(
    rows: impl IntoIterator<Item = AuditRow>,
    only: Option<&str>,
) -> SignaturesVerdict {
    let mut runs: HashMap<String, RunSigning> = HashMap::new();
    let mut count = 0;
    for row in rows {
        if only.is_some_and(|r| r != row.run_id) {
            continue;
        }
        let broken = |reason: String| SignaturesVerdict::Broken {
            row_id: row.id,
            run_id: row.run_id.clone(),
            reason,
        };
        let details: serde_json::Value = serde_json::from_str(&row.details).unwrap_or_default();
        // An answer to an ask is a row of its own (no event: no seq); a gate's decision
        // always has its event's seq, so an `ask` key added to one cannot skip its check.
        if row.seq.is_none() && details.get("ask").is_some() {
            match ask_signature(&row, &details) {
                Ok(true) => count += 1,
                Ok(false) => {}
                Err(reason) => return broken(reason.to_string()),
            }
            continue;
        }
        let run = runs.entry(row.run_id.clone()).or_default();
        let verdict = match AuditAction::parse(&row.action) {
            Some(AuditAction::RunStarted) => {
                run.signers = details["allowed_signers"]
                    .as_str()
                    .map(AllowedSigners::parse);
                continue;
            }
            Some(AuditAction::GateOpened) => {
                note_gate(run, &row, &details);
                continue;
            }
            Some(AuditAction::ApprovalVote) => Verdict::Approve,
            Some(AuditAction::Rejected) => Verdict::Reject,
            Some(AuditAction::PushedBack) => Verdict::PushBack,
            _ => continue,
        };
        match check_decision(&row, &details, run, verdict) {
            Ok(true) => count += 1,
            Ok(false) => {}
            Err(reason) => return broken(reason.to_string()),
        }
    }
    SignaturesVerdict::Verified { signatures: count }
}

/// A gate's opening (`row`), the latest of its step's: what its decisions are checked
/// against.
fn note_gate(run: &mut RunSigning, row: &AuditRow, details: &serde_json::Value) {
    if let (Some(step), Some(seq)) = (&row.step, row.seq) {
        let approvers = details["approvers"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let digest = details["digest"].as_str().unwrap_or_default().to_string();
        let signed = details["signed"].as_bool().unwrap_or(false);
        run.gates
            .insert(step.clone(), (seq, digest, approvers, signed));
    }
}

/// A vote or rejection `row` checked against its run's gates and signers: `Ok(true)`
/// a signature that holds, `Ok(false)` an unsigned decision where none is required,
/// `Err` why it does not hold.
/// Why a gate's signed decision on the audit chain does not hold (`audit verify`
/// names the row; the chain was written by hand or the run's signers changed).
#[derive(Debug, thiserror::Error)]
enum DecisionBroken {
    #[error("a signed decision on `{step}`, whose gate never opened")]
    GateNeverOpened { step: String },
    #[error("a {action} on the signed gate of `{step}` without a signature")]
    Unsigned { action: String, step: String },
    #[error("its signature record is malformed: {0}")]
    SignatureRecord(serde_json::Error),
    #[error("the run's recorded allowed signers do not parse: {0}")]
    Signers(SignersError),
    #[error("a signed decision, but its run recorded no allowed signers")]
    NoSigners,
    #[error("its inputs are malformed: {0}")]
    Inputs(serde_json::Error),
    #[error(
        "the vote's digest is not that of the gate opening it answers with its inputs (event {opening})"
    )]
    Digest { opening: u64 },
    #[error(
        "the signed message is not this decision's (its run, step, gate, digest, inputs, decision or reason differ)"
    )]
    Message,
    #[error(transparent)]
    Signature(#[from] signing::SignatureError),
    #[error(
        "the decision is recorded as `{actor}` by {key}, but key {signed_by} signed it as {as_principals}"
    )]
    OtherKey {
        actor: String,
        key: String,
        signed_by: String,
        as_principals: String,
    },
    #[error("`{principal}` is not an approver of `{step}`")]
    NotAnApprover { principal: String, step: String },
}

fn check_decision(
    row: &AuditRow,
    details: &serde_json::Value,
    run: &RunSigning,
    verdict: Verdict,
) -> Result<bool, DecisionBroken> {
    let step = row.step.clone().unwrap_or_default();
    let Some((opening, digest, approvers, signed)) = run.gates.get(&step) else {
        if details.get("signature").is_some() {
            return Err(DecisionBroken::GateNeverOpened { step });
        }
        return Ok(false);
    };
    let sig = match details.get("signature") {
        None if *signed => {
            return Err(DecisionBroken::Unsigned {
                action: row.action.clone(),
                step,
            });
        }
        None => return Ok(false),
        Some(v) => match serde_json::from_value::<DecisionSignature>(v.clone()) {
            Ok(s) => s,
            Err(e) => return Err(DecisionBroken::SignatureRecord(e)),
        },
    };
    let signers = match &run.signers {
        Some(Ok(s)) => s,
        Some(Err(e)) => return Err(DecisionBroken::Signers(e.clone())),
        None => return Err(DecisionBroken::NoSigners),
    };
    let inputs: std::collections::BTreeMap<String, String> = match details
        .get("inputs")
        .filter(|_| verdict == Verdict::Approve)
    {
        None => Default::default(),
        Some(v) => match serde_json::from_value(v.clone()) {
            Ok(m) => m,
            Err(e) => return Err(DecisionBroken::Inputs(e)),
        },
    };
    let digest = signing::approval_digest(digest, &inputs);
    if verdict == Verdict::Approve && details["digest"].as_str() != Some(digest.as_str()) {
        return Err(DecisionBroken::Digest { opening: *opening });
    }
    let expected = signing::message(
        &row.run_id,
        &step,
        *opening,
        &digest,
        verdict,
        row.reason.as_deref().unwrap_or(""),
        &inputs,
    );
    if sig.message != expected {
        return Err(DecisionBroken::Message);
    }
    let checked = signing::check(signers, &expected, &sig.signature)?;
    let principal = &sig.principal;
    let same = baton_model::same_actor;
    if checked.key != sig.key
        || !same(&row.actor, principal)
        || !checked.principals.iter().any(|p| same(p, principal))
    {
        return Err(DecisionBroken::OtherKey {
            actor: row.actor.clone(),
            key: sig.key,
            signed_by: checked.key,
            as_principals: checked.principals.join(", "),
        });
    }
    if !approvers.iter().any(|a| same(a, principal)) {
        return Err(DecisionBroken::NotAnApprover {
            principal: principal.clone(),
            step,
        });
    }
    Ok(true)
}

//! Issue 56 point 2: an ask's answer carries proof. Every vote on an ask is recorded
//! with its audit row and a proof the kernel owns (`proof`: a file beside the
//! database, made by the voting process, holding the SHA-256 of the ask and the vote's
//! exact text), kept rather than used up: the asker, `approve` and `audit verify` each
//! check it. What decides an ask is only its proven votes, replayed by the rules of
//! gates (`model::ask::replay`); the `asks` and `ask_votes` rows any member can write
//! are what readers list, and are put back to the proven votes, the rewrite refused on
//! record ([`settle`]), whenever the asker or an answerer finds them otherwise.
use super::StoreError;
use super::proof;
use baton_model::ask::{self, Answer, Ask, AskState, ProvenVote};
use baton_model::history::{AuditAction, Decision};
use baton_model::{Timestamp, same_actor};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;

/// The vote as its proof covers it: the ask, the submitting OS account (`by`), the
/// vote's actor (a signed vote's principal), the verdict, reason and inputs.
pub(crate) fn vote_value(
    ask_id: &str,
    by: &str,
    actor: &str,
    answer: &Answer,
    inputs: &BTreeMap<String, String>,
) -> Value {
    let (verdict, reason) = match answer {
        Answer::Approve { reason, .. } => ("approve", reason.clone()),
        Answer::Reject { reason } => ("reject", Some(reason.clone())),
    };
    json!({
        "ask": ask_id,
        "by": by,
        "actor": actor,
        "verdict": verdict,
        "reason": reason,
        "inputs": inputs,
    })
}

/// A vote's row on the audit chain.
struct VoteRow {
    id: i64,
    actor: String,
    action: String,
    reason: Option<String>,
    details: Value,
    at: i64,
}

/// Every vote on ask `a` on the audit chain, in the chain's order.
fn vote_rows(c: &Connection, a: &Ask) -> Result<Vec<VoteRow>, StoreError> {
    let subject = a.run_id.as_deref().unwrap_or(ask::AUDIT_SUBJECT);
    let rows = c
        .prepare_cached(
            "SELECT id, actor, action, reason, details, at FROM audit WHERE run_id = ?1 \
             AND action IN ('approved', 'approval_vote', 'rejected') \
             AND json_extract(details, '$.ask') = ?2 ORDER BY id",
        )?
        .query_map(params![subject, a.id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, i64>(5)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows
        .into_iter()
        .map(|(id, actor, action, reason, details, at)| VoteRow {
            id,
            actor,
            action,
            reason,
            details: serde_json::from_str(&details).unwrap_or(Value::Null),
            at,
        })
        .collect())
}

/// The vote a row records, if its proof holds: the account that made the proof is
/// the one the row names (`by`; an unsigned vote's actor too), for this exact vote;
/// and, for an ask `rules` says is signed, its signature holds under `rules`' own
/// allowed signers ([`signed_by`]).
fn prove(db: &Path, rules: &Ask, r: &VoteRow) -> Result<ProvenVote, VoteUnproven> {
    let ask_id = rules.id.as_str();
    let d = &r.details;
    let Some(nonce) = d.get("proof").and_then(Value::as_str) else {
        return Err(VoteUnproven::NoProof);
    };
    let Some(by) = d.get("by").and_then(Value::as_str) else {
        return Err(VoteUnproven::NoAccount);
    };
    let signed = d.get("signature").is_some_and(|s| !s.is_null());
    if !signed && !same_actor(by, &r.actor) {
        return Err(VoteUnproven::NotTheirs {
            actor: r.actor.clone(),
            by: by.to_owned(),
        });
    }
    let inputs: BTreeMap<String, String> = d
        .get("inputs")
        .and_then(|i| serde_json::from_value(i.clone()).ok())
        .unwrap_or_default();
    let answer = match r.action.as_str() {
        "rejected" => Answer::Reject {
            reason: r.reason.clone().unwrap_or_default(),
        },
        _ => Answer::Approve {
            inputs: inputs.clone(),
            reason: r.reason.clone(),
        },
    };
    match (&rules.signers, d.get("signature").filter(|s| !s.is_null())) {
        (Some(signers), Some(sig)) => signed_by(rules, signers, &answer, sig, &r.actor)?,
        (Some(_), None) => return Err(VoteUnproven::NotSigned),
        (None, Some(_)) => return Err(VoteUnproven::SignedForUnsignedAsk),
        (None, None) => {}
    }
    let mut v = vote_value(ask_id, by, &r.actor, &answer, &inputs);
    if let Some(map) = v.as_object_mut() {
        map.insert("proof".into(), nonce.into());
    }
    proof::holds(db, ask_id, &v.to_string(), by)?;
    Ok((r.actor.clone(), answer, Timestamp(r.at)))
}

/// A signed vote's signature, checked against the ask's own allowed signers and
/// question (never the ones its audit row carries, which a member could write): over
/// the answer's message, by a key listed under `actor`, the vote's principal.
fn signed_by(
    rules: &Ask,
    signers: &str,
    answer: &Answer,
    sig: &Value,
    actor: &str,
) -> Result<(), VoteUnproven> {
    use baton_signing::{AllowedSigners, Verdict};
    let sig: baton_model::DecisionSignature =
        serde_json::from_value(sig.clone()).map_err(VoteUnproven::SignatureRecord)?;
    let none = BTreeMap::new();
    let (verdict, reason, inputs) = match answer {
        Answer::Approve { inputs, reason } => {
            (Verdict::Approve, reason.as_deref().unwrap_or(""), inputs)
        }
        Answer::Reject { reason } => (Verdict::Reject, reason.as_str(), &none),
    };
    let message = baton_signing::ask_message(&rules.id, &rules.prompt, verdict, reason, inputs);
    let signers = AllowedSigners::parse(signers)?;
    let checked = baton_signing::check(&signers, &message, &sig.signature)?;
    if !checked.principals.iter().any(|p| same_actor(p, actor)) {
        return Err(VoteUnproven::NotListed {
            actor: actor.to_owned(),
        });
    }
    Ok(())
}

/// Why a vote's row is not counted ([`prove`]): said on the refusal recorded for it.
#[derive(Debug, thiserror::Error)]
enum VoteUnproven {
    #[error(
        "it names no proof (written into the database by hand, or by a baton older than proven votes)"
    )]
    NoProof,
    #[error("it names no account that made it")]
    NoAccount,
    #[error("it is recorded as `{actor}`'s, made by `{by}`")]
    NotTheirs { actor: String, by: String },
    #[error("the ask takes only signed answers; it is not signed")]
    NotSigned,
    #[error("a signed answer to an ask that is not signed")]
    SignedForUnsignedAsk,
    #[error("its signature: {0}")]
    SignatureRecord(serde_json::Error),
    #[error(transparent)]
    Signers(#[from] baton_signing::SignersError),
    #[error("its signature: {0}")]
    Signature(#[from] baton_signing::SignatureError),
    #[error("its signature is by a key the ask's allowed signers do not list under `{actor}`")]
    NotListed { actor: String },
    #[error(transparent)]
    Proof(#[from] proof::Unproven),
}

/// What does not verify about an ask: each a refusal to record.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Unproven {
    /// The audit row of a vote whose proof does not hold, if that is what it is.
    pub audit_row: Option<i64>,
    /// The account the rewritten row names.
    pub by: String,
    pub why: String,
}

/// Ask `id` as its proven votes make it under `rules` (the asker's own copy of its
/// question; `None`: the row's), and what in the store does not verify.
pub(crate) struct Settled {
    pub ask: Ask,
    pub unproven: Vec<Unproven>,
    /// The `ask_votes` rows that no proven vote backs.
    forged_votes: Vec<String>,
    /// The `asks` row's decision is not the proven one.
    forged_state: bool,
}

/// Read ask `id` and its votes, verify each against its proof, replay the proven ones.
pub(crate) fn settle(
    c: &Connection,
    db: &Path,
    id: &str,
    rules: Option<&Ask>,
) -> Result<Option<Settled>, StoreError> {
    let Some(row) = super::asks::read(c, id)? else {
        return Ok(None);
    };
    let rules = rules.unwrap_or(&row);
    let mut unproven = Vec::new();
    let mut proven = Vec::new();
    for r in vote_rows(c, &row)? {
        match prove(db, rules, &r) {
            Ok(v) => proven.push(v),
            Err(why) => unproven.push(Unproven {
                audit_row: Some(r.id),
                by: r.actor.clone(),
                why: format!("its vote on the audit chain (row {}): {why}", r.id),
            }),
        }
    }
    let mut ask = ask::replay(rules, proven);
    // Expiry is the asker's record, not a decision: it stands while no vote decided.
    if row.state == AskState::Expired && ask.state == AskState::Open {
        ask.state = AskState::Expired;
        ask.decided_at = row.decided_at;
    }
    let forged_votes: Vec<String> = row
        .votes
        .iter()
        .map(|(who, _)| who.clone())
        .filter(|who| !ask.votes.iter().any(|(v, _)| same_actor(v, who)))
        .collect();
    for who in &forged_votes {
        unproven.push(Unproven {
            audit_row: None,
            by: who.clone(),
            why: format!("a vote by `{who}` with no proven vote on the audit chain"),
        });
    }
    let decided = matches!(row.state, AskState::Approved | AskState::Rejected);
    let forged_state = decided && (row.state != ask.state || row.decided_by != ask.decided_by);
    if forged_state {
        let by = row.decided_by.clone().unwrap_or_default();
        unproven.push(Unproven {
            audit_row: None,
            by: by.clone(),
            why: format!(
                "the ask's row says {} by `{by}`, which no proven vote on the audit chain decided",
                row.state.as_str()
            ),
        });
    }
    Ok(Some(Settled {
        ask,
        unproven,
        forged_votes,
        forged_state,
    }))
}

/// Whether a refusal of the vote in audit row `row` of ask `id` is on record already
/// (an unproven row stays on the chain: it is refused once).
fn refused_before(c: &Connection, id: &str, row: i64) -> Result<bool, StoreError> {
    Ok(c.prepare_cached(
        "SELECT 1 FROM audit WHERE action = 'command_refused' \
             AND json_extract(details, '$.ask') = ?1 AND json_extract(details, '$.audit_row') = ?2",
    )?
    .query_row(params![id, row], |_| Ok(()))
    .optional()?
    .is_some())
}

impl Settled {
    /// Whether anything must be written: a row to put back, a refusal not yet recorded.
    pub(crate) fn to_write(&self, c: &Connection) -> Result<bool, StoreError> {
        if self.forged_state || !self.forged_votes.is_empty() {
            return Ok(true);
        }
        for u in &self.unproven {
            if let Some(row) = u.audit_row
                && !refused_before(c, &self.ask.id, row)?
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// In the caller's transaction: the `asks` and `ask_votes` rows put back to the
    /// proven votes, and each refusal not yet on record, as `me`'s, on the audit chain.
    pub(crate) fn write(
        &self,
        tx: &Connection,
        keys: &crate::ledger::audit::AuditKeys,
        me: &str,
    ) -> Result<Option<crate::ledger::audit::AuditHead>, StoreError> {
        let a = &self.ask;
        if self.forged_state {
            tx.prepare_cached(
                "UPDATE asks SET state = ?2, decided_by = ?3, decided_at = ?4, reason = ?5, \
                 vals = ?6 WHERE id = ?1",
            )?
            .execute(params![
                a.id,
                a.state.as_str(),
                a.decided_by,
                a.decided_at.map(|t| t.0),
                a.reason,
                a.values.as_ref().map(serde_json::to_string).transpose()?,
            ])?;
        }
        for who in &self.forged_votes {
            tx.prepare_cached("DELETE FROM ask_votes WHERE ask_id = ?1 AND actor = ?2")?
                .execute(params![a.id, who])?;
        }
        let subject = a.run_id.as_deref().unwrap_or(ask::AUDIT_SUBJECT);
        let mut head = None;
        for u in &self.unproven {
            if let Some(row) = u.audit_row
                && refused_before(tx, &a.id, row)?
            {
                continue;
            }
            let d = Decision {
                actor: me.to_string(),
                action: AuditAction::CommandRefused,
                step: Some(a.step_id.clone().unwrap_or_else(|| a.id.clone())),
                reason: Some(u.why.clone()),
                summary: format!(
                    "refused a vote on ask {} recorded as `{}`'s: {}",
                    a.id, u.by, u.why
                ),
                details: json!({
                    "ask": a.id,
                    "refused": "ask vote",
                    // What `baton audit` reads a refusal by: the decision refused and
                    // why (issue 56 point 4).
                    "decision": "ask vote",
                    "code": "unproven",
                    "by": u.by,
                    "audit_row": u.audit_row,
                    "why": u.why,
                }),
            };
            head = Some(crate::ledger::decisions::append(tx, keys, subject, &d)?);
        }
        Ok(head)
    }
}

impl super::Store {
    /// Ask `id` as its proven votes decide it under `rules`, the asker's own copy of
    /// its question (`baton ask`): whatever else the store's rows say is put back and
    /// refused on record, as `me`'s, in one transaction (only when there is something
    /// to write: a look that finds all proven writes nothing).
    pub fn settle_ask(
        &mut self,
        id: &str,
        rules: &Ask,
        me: &str,
    ) -> Result<Option<Ask>, StoreError> {
        let looked = (|| {
            let Some(s) = settle(&self.conn, &self.path, id, Some(rules))? else {
                return Ok(None);
            };
            let write = s.to_write(&self.conn)?;
            Ok(Some((s, write)))
        })();
        match self.ctx(looked)? {
            None => return Ok(None),
            Some((s, false)) => return Ok(Some(s.ask)),
            Some((_, true)) => {}
        }
        let r = self.set_sync_full(true);
        self.ctx(r)?;
        self.witness_ready()?;
        let (db, keys) = (self.path.clone(), &self.keys);
        let r = super::in_transaction(&self.conn, |tx| {
            crate::ledger::key_check::check_signing(tx, keys)?;
            let Some(s) = settle(tx, &db, id, Some(rules))? else {
                return Ok((None, None));
            };
            let head = s.write(tx, keys, me)?;
            Ok((Some(s.ask), head))
        });
        let (ask, head) = self.ctx(r)?;
        if let Some(h) = head {
            self.witness(&Vec::from_iter(crate::ledger::witness::Entry::of_head(&h)))?;
        }
        Ok(ask)
    }

    /// `baton audit verify`'s check of asks (of run `run`, or every one): each vote on
    /// the audit chain is proven by its account's proof, and each ask's rows are what
    /// its proven votes make them. The first ask that does not verify, and why.
    pub fn verify_ask_votes(
        &self,
        run: Option<&str>,
    ) -> Result<Option<(String, String)>, StoreError> {
        let r = (|| {
            let ids: Vec<String> = self
                .conn
                .prepare_cached(
                    "SELECT id FROM asks WHERE ?1 IS NULL OR run_id = ?1 ORDER BY opened_at, id",
                )?
                .query_map([run], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            for id in ids {
                if let Some(s) = settle(&self.conn, &self.path, &id, None)?
                    && let Some(u) = s.unproven.first()
                {
                    return Ok(Some((id, u.why.clone())));
                }
            }
            Ok(None)
        })();
        self.ctx(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;

    fn me() -> String {
        nix::unistd::User::from_uid(nix::unistd::getuid())
            .unwrap()
            .expect("this test's account has a name")
            .name
    }

    /// A real vote is proven while its proof stays; without its proof, or with the
    /// ask's row rewritten, the store says what does not verify and replays none of it.
    #[test]
    fn a_vote_is_proven_by_its_kept_proof_and_a_rewritten_row_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("b.db");
        let mut s = Store::open(&db).unwrap();
        let mut a = super::super::asks::tests::ask("ask-1");
        a.quorum = 2;
        s.insert_ask(&a, Some(1)).unwrap();
        let yes = Answer::Approve {
            inputs: BTreeMap::new(),
            reason: Some("ok".into()),
        };
        assert!(
            s.answer_ask("ask-1", &me(), &yes, None, None)
                .unwrap()
                .is_ok()
        );
        let looked = |s: &Store| settle(&s.conn, &db, "ask-1", None).unwrap().unwrap();
        let fine = looked(&s);
        assert!(fine.unproven.is_empty(), "{:?}", fine.unproven);
        assert_eq!(fine.ask.votes.len(), 1);
        // Checked again and again: the proof is kept.
        assert!(looked(&s).unproven.is_empty());
        assert_eq!(s.verify_ask_votes(None).unwrap(), None);
        // A vote row and a decision in another's name, written by hand.
        s.conn
            .execute_batch(
                "INSERT INTO ask_votes (ask_id, actor, reason, at) VALUES ('ask-1', 'carol', 'x', 1);
                 UPDATE asks SET state = 'approved', decided_by = 'carol' WHERE id = 'ask-1';",
            )
            .unwrap();
        let forged = looked(&s);
        assert_eq!(forged.ask.state, AskState::Open);
        assert_eq!(forged.unproven.len(), 2, "{:?}", forged.unproven);
        assert!(forged.to_write(&s.conn).unwrap());
        let (ask, why) = s.verify_ask_votes(None).unwrap().unwrap();
        assert_eq!(ask, "ask-1");
        assert!(why.contains("`carol`"), "{why}");
        // Put back by the asker, on record once.
        let back = s.settle_ask("ask-1", &a, &me()).unwrap().unwrap();
        assert_eq!(back.state, AskState::Open);
        assert_eq!(s.ask("ask-1").unwrap().unwrap().votes.len(), 1);
        assert!(!looked(&s).to_write(&s.conn).unwrap());
        // The proof gone: the vote no longer counts.
        let proofs = dir.path().join("b.db.proofs");
        for f in std::fs::read_dir(&proofs).unwrap() {
            std::fs::remove_file(f.unwrap().path()).unwrap();
        }
        let lost = looked(&s);
        assert!(lost.ask.votes.is_empty());
        assert!(
            lost.unproven[0].why.contains("its proof"),
            "{:?}",
            lost.unproven
        );
    }
}

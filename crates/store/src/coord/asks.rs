//! `baton ask`'s questions (issue 44 point 5): the asker writes its row and waits on
//! it; whoever answers decides by the rules of gates (`model::ask::decide`) inside the
//! transaction that records the vote, on the audit chain (subject: the asking step's
//! run, or `asks`), then wakes the asker (`wake::notify` on the ask's id). No engine
//! takes part, so an answer given while none runs reaches the asker all the same.
use super::error::StoreError;
use super::{Store, in_transaction};
use crate::holder::holder_alive;
use baton_model::ask::{self, Answer, Ask, AskState, Asker, Outcome};
use baton_model::history::{AuditAction, Decision};
use baton_model::{CommandOutcome, DecisionSignature, Refusal, Timestamp};
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde_json::json;
use std::collections::BTreeMap;

const SELECT: &str = "SELECT a.id, a.run_id, a.step_id, r.workflow, a.prompt, a.inputs, \
     a.approvers, a.quorum, a.account, a.holder, a.command, a.opened_at, a.deadline, \
     a.state, a.vals, a.decided_by, a.decided_at, a.reason, a.allow_self, a.signers \
     FROM asks a LEFT JOIN runs r ON r.id = a.run_id";

fn bad_json(e: serde_json::Error) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
}

fn ask_row(r: &Row<'_>) -> rusqlite::Result<Ask> {
    let json_of = |i: usize| -> rusqlite::Result<String> { r.get(i) };
    let state: String = r.get(13)?;
    let vals: Option<String> = r.get(14)?;
    Ok(Ask {
        id: r.get(0)?,
        run_id: r.get(1)?,
        step_id: r.get(2)?,
        workflow: r.get(3)?,
        prompt: r.get(4)?,
        inputs: serde_json::from_str(&json_of(5)?).map_err(bad_json)?,
        approvers: serde_json::from_str(&json_of(6)?).map_err(bad_json)?,
        quorum: r.get(7)?,
        allow_self_approval: r.get(18)?,
        signers: r.get(19)?,
        asker: Asker {
            account: r.get(8)?,
            holder: r.get(9)?,
            command: r.get(10)?,
        },
        opened_at: Timestamp(r.get(11)?),
        deadline: r.get::<_, Option<i64>>(12)?.map(Timestamp),
        // A state this baton does not know reads as decided by someone: never open.
        state: state.parse().unwrap_or(AskState::Rejected),
        votes: Vec::new(),
        values: vals
            .map(|v| serde_json::from_str(&v))
            .transpose()
            .map_err(bad_json)?,
        decided_by: r.get(15)?,
        decided_at: r.get::<_, Option<i64>>(16)?.map(Timestamp),
        reason: r.get(17)?,
    })
}

/// Every ask whose id `ids_sql` selects (with `params`), in its order.
fn read_where(
    c: &Connection,
    ids_sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<Ask>, StoreError> {
    let ids: Vec<String> = c
        .prepare_cached(ids_sql)?
        .query_map(params, |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.extend(read(c, &id)?);
    }
    Ok(out)
}

pub(super) fn read(c: &Connection, id: &str) -> Result<Option<Ask>, StoreError> {
    let Some(mut a) = c
        .prepare_cached(&format!("{SELECT} WHERE a.id = ?1"))?
        .query_row([id], ask_row)
        .optional()?
    else {
        return Ok(None);
    };
    a.votes = c
        .prepare_cached("SELECT actor, reason FROM ask_votes WHERE ask_id = ?1 ORDER BY at, rowid")?
        .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(Some(a))
}

/// What an answer recorded: the ask as it is now and what the answer did.
#[derive(Debug, Clone)]
pub struct Answered {
    pub ask: Ask,
    pub outcome: Outcome,
}

impl Store {
    /// Record a new ask, open; a step's with its attempt (`BATON_ATTEMPT`).
    pub fn insert_ask(&mut self, a: &Ask, attempt: Option<u32>) -> Result<(), StoreError> {
        let r = (|| {
            self.conn
                .prepare_cached(
                    "INSERT INTO asks (id, run_id, step_id, prompt, inputs, approvers, quorum, \
                     account, holder, command, opened_at, deadline, attempt, allow_self, signers) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
                )?
                .execute(params![
                    a.id,
                    a.run_id,
                    a.step_id,
                    a.prompt,
                    serde_json::to_string(&a.inputs)?,
                    serde_json::to_string(&a.approvers)?,
                    a.quorum,
                    a.asker.account,
                    a.asker.holder,
                    a.asker.command,
                    a.opened_at.0,
                    a.deadline.map(|d| d.0),
                    attempt,
                    a.allow_self_approval,
                    a.signers,
                ])?;
            Ok(())
        })();
        self.ctx(r)?;
        // The run's engine tells its `[[notify]]` of its step's ask at once.
        if let Some(run) = &a.run_id {
            super::wake::notify(self.path(), run);
        }
        Ok(())
    }

    /// The asks' change counter: it moves with every write of an ask, by any process
    /// (a trigger, migration 28). Equal to the last one read: the asks are as read then.
    pub fn asks_rev(&self) -> Result<i64, StoreError> {
        let r = self
            .conn
            .prepare_cached("SELECT coalesce((SELECT rev FROM asks_rev WHERE id = 1), 0)")
            .and_then(|mut st| st.query_row([], |r| r.get(0)))
            .map_err(StoreError::from);
        self.ctx(r)
    }

    /// Whether the asks moved since `last` (the counter at the last read of them; none:
    /// never read, or that read failed): a reader of asks calls it, reads them if so,
    /// and sets `last` back to none if that read fails. The counter is read first and
    /// kept in `last`: an ask written between this and the caller's read moves it past
    /// `last`, and the next look reads again. A counter that cannot be read counts as
    /// moved (and `last` as none).
    pub fn asks_moved(&self, last: &mut Option<i64>) -> bool {
        let rev = self.asks_rev().ok();
        if rev.is_some() && rev == *last {
            return false;
        }
        *last = rev;
        true
    }

    /// The ask `id` with its votes, if the store has it.
    pub fn ask(&self, id: &str) -> Result<Option<Ask>, StoreError> {
        let r = read(&self.conn, id);
        self.ctx(r)
    }

    /// Every ask recorded open (a reader tells expired and abandoned ones by
    /// [`Ask::state_at`]), oldest first.
    pub fn open_asks(&self) -> Result<Vec<Ask>, StoreError> {
        let r = read_where(
            &self.conn,
            "SELECT id FROM asks WHERE state = 'open' ORDER BY opened_at, id",
            [],
        );
        self.ctx(r)
    }

    /// Every ask the steps of run `run` made, oldest first (its engine tells its
    /// `[[notify]]` of them).
    pub fn asks_of_run(&self, run: &str) -> Result<Vec<Ask>, StoreError> {
        let r = read_where(
            &self.conn,
            "SELECT id FROM asks WHERE run_id = ?1 AND step_id IS NOT NULL \
             ORDER BY opened_at, id",
            [run],
        );
        self.ctx(r)
    }

    /// The open ask step `step` of run `run` made with `prompt`, if any: a step run
    /// again after its engine died (resume) asks the same question, and gets the same
    /// ask.
    pub fn open_ask_of_step(
        &self,
        run: &str,
        step: &str,
        prompt: Option<&str>,
    ) -> Result<Option<Ask>, StoreError> {
        let r = (|| {
            let id: Option<String> = self
                .conn
                .prepare_cached(
                    "SELECT id FROM asks WHERE run_id = ?1 AND step_id = ?2 AND state = 'open' \
                     AND (?3 IS NULL OR prompt = ?3) ORDER BY opened_at DESC LIMIT 1",
                )?
                .query_row(params![run, step, prompt], |r| r.get(0))
                .optional()?;
            match id {
                Some(id) => read(&self.conn, &id),
                None => Ok(None),
            }
        })();
        self.ctx(r)
    }

    /// The ask an earlier attempt of step `step` made with `prompt`, open or decided,
    /// when that attempt never finished (its engine died: no `step_finished` of it): the
    /// attempt a resume runs again asks the same question and gets the same ask, and the
    /// decision given meanwhile (never an expired one). A retry after an attempt that
    /// ended (rejected, failed) asks anew: an old answer is not a new one.
    pub fn ask_of_earlier_attempt(
        &self,
        run: &str,
        step: &str,
        prompt: &str,
        attempt: u32,
    ) -> Result<Option<Ask>, StoreError> {
        let r = (|| {
            let id: Option<String> = self
                .conn
                .prepare_cached(
                    "SELECT id FROM asks a WHERE run_id = ?1 AND step_id = ?2 AND prompt = ?3 \
                     AND attempt < ?4 AND state IN ('open', 'approved', 'rejected') \
                     AND NOT EXISTS (SELECT 1 FROM events e WHERE e.run_id = a.run_id \
                       AND e.step = a.step_id AND e.type = 'step_finished' \
                       AND json_extract(e.json, '$.attempt') = a.attempt) \
                     ORDER BY opened_at DESC LIMIT 1",
                )?
                .query_row(params![run, step, prompt, attempt], |r| r.get(0))
                .optional()?;
            match id {
                Some(id) => read(&self.conn, &id),
                None => Ok(None),
            }
        })();
        self.ctx(r)
    }

    /// Hand an open ask to a new asker (the same step asking again after a resume).
    pub fn adopt_ask(&mut self, id: &str, asker: &Asker) -> Result<(), StoreError> {
        let r = self
            .conn
            .prepare_cached(
                "UPDATE asks SET holder = ?2, command = ?3 WHERE id = ?1 AND state = 'open'",
            )
            .and_then(|mut st| st.execute(params![id, asker.holder, asker.command]))
            .map(|_| ())
            .map_err(StoreError::from);
        self.ctx(r)
    }

    /// Record that ask `id` expired with no decision; `false` when it was decided
    /// meanwhile (the answer stands).
    pub fn expire_ask(&mut self, id: &str, now: Timestamp) -> Result<bool, StoreError> {
        let r = self
            .conn
            .prepare_cached(
                "UPDATE asks SET state = 'expired', decided_at = ?2 WHERE id = ?1 AND state = 'open'",
            )
            .and_then(|mut st| st.execute(params![id, now.0]))
            .map(|n| n == 1)
            .map_err(StoreError::from);
        self.ctx(r)
    }

    /// Answer ask `id` as `me`: decided by `model::ask::decide` on the row as this
    /// transaction reads it (two answers at once are taken one after the other), the
    /// vote and the decision on the audit chain, committed with `synchronous = FULL`.
    /// `Ok(Err(refusal))`: refused, nothing recorded. An answer sent over `baton link`
    /// comes with its `request` id and `what` it says: refused if a console's check
    /// settled the request first, else kept with what became of the answer, accepted
    /// or refused, in this transaction (`coord::link_requests`).
    pub fn answer_ask(
        &mut self,
        id: &str,
        me: &str,
        answer: &Answer,
        sig: Option<&DecisionSignature>,
        request: Option<(&str, &str)>,
    ) -> Result<Result<Answered, Refusal>, StoreError> {
        let r = self.set_sync_full(true);
        self.ctx(r)?;
        self.witness_ready()?;
        // The vote's proof, made by this process before its row: the kernel records
        // whose it is (`ask_proofs`). Removed again unless the vote is recorded.
        let by = sig.map_or(me, |s| s.account.as_str());
        let inputs = match answer {
            Answer::Approve { inputs, .. } => inputs.clone(),
            Answer::Reject { .. } => BTreeMap::new(),
        };
        let value = super::ask_proofs::vote_value(id, by, me, answer, &inputs);
        let (proved, proof_path) = super::proof::seal_value(&self.path, self.shared, id, value)?;
        let nonce = serde_json::from_str::<serde_json::Value>(&proved)?["proof"].clone();
        let (keys, db) = (&self.keys, self.path.clone());
        let r = in_transaction(&self.conn, |tx| {
            crate::ledger::key_check::check_signing(tx, keys)?;
            if let Some((request, _)) = request {
                Store::check_ask_request(tx, request, id)?;
            }
            // What became of it, kept with its link request (if any).
            let note = |outcome: CommandOutcome| match request {
                Some((request, what)) => Store::note_ask_answer(tx, request, id, what, &outcome),
                None => Ok(()),
            };
            // Decided on the proven votes alone; a rewritten row is put back, refused
            // on record, in this transaction.
            let Some(settled) = super::ask_proofs::settle(tx, &db, id, None)? else {
                let refusal = Refusal::NoAsk {
                    ask: id.to_string(),
                };
                note(CommandOutcome::Refused(refusal.clone()))?;
                return Ok(Err((refusal, None)));
            };
            let refused = settled.write(tx, keys, by)?;
            let mut a = settled.ask;
            let now = Timestamp::now();
            let alive = holder_alive(&a.asker.holder);
            let decided = match ask::decide(&a, me, answer, now, alive) {
                Ok(o) => key_voted(tx, id, sig, answer)?.map_or(Ok(o), Err),
                Err(refusal) => Err(refusal),
            };
            let outcome = match decided {
                Ok(o) => o,
                Err(refusal) => {
                    note(CommandOutcome::Refused(refusal.clone()))?;
                    return Ok(Err((refusal, refused)));
                }
            };
            let (action, reason, values) = vote(tx, &mut a, (me, now), answer, &outcome, sig)?;
            let state = match outcome {
                Outcome::Approved => Some(AskState::Approved),
                Outcome::Rejected => Some(AskState::Rejected),
                Outcome::Counted { .. } => None,
            };
            tx.prepare_cached("UPDATE asks SET vals = ?2 WHERE id = ?1")?
                .execute(params![id, serde_json::to_string(&values)?])?;
            a.values = Some(values.clone());
            if let Some(s) = state {
                decide_ask(tx, &mut a, s, (me, now), reason.as_deref())?;
            }
            let mut d = decision(&a, me, action, reason, &values, &outcome, sig);
            if let Some(map) = d.details.as_object_mut() {
                map.insert("by".into(), by.into());
                map.insert("proof".into(), nonce.clone());
            }
            let subject = a.run_id.as_deref().unwrap_or(ask::AUDIT_SUBJECT);
            let head = crate::ledger::decisions::append(tx, keys, subject, &d)?;
            note(CommandOutcome::Accepted {
                message: outcome.said(id),
            })?;
            Ok(Ok((Answered { ask: a, outcome }, head)))
        })
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&proof_path);
        });
        let (answered, head) = match self.ctx(r)? {
            Ok(v) => v,
            Err((refusal, refused)) => {
                let _ = std::fs::remove_file(&proof_path);
                // The rewritten rows it put back and refused are on record: witnessed.
                if let Some(h) = refused {
                    self.witness(&Vec::from_iter(crate::ledger::witness::Entry::of_head(&h)))?;
                }
                return Ok(Err(refusal));
            }
        };
        self.witness(&Vec::from_iter(crate::ledger::witness::Entry::of_head(
            &head,
        )))?;
        super::wake::notify(self.path(), id);
        if let Some(run) = &answered.ask.run_id {
            super::wake::notify(self.path(), run);
        }
        Ok(Ok(answered))
    }
}

/// What a vote puts on the audit chain: its action, its reason, and the ask's values.
type Voted = (AuditAction, Option<String>, BTreeMap<String, String>);

/// An answer's vote on ask `a` by `me` at `now` (an approval's row in `ask_votes`).
fn vote(
    tx: &Connection,
    a: &mut Ask,
    (me, now): (&str, Timestamp),
    answer: &Answer,
    outcome: &Outcome,
    sig: Option<&DecisionSignature>,
) -> Result<Voted, StoreError> {
    Ok(match answer {
        Answer::Approve { inputs, reason } => {
            let values = a.values.clone().unwrap_or_else(|| inputs.clone());
            tx.prepare_cached(
                "INSERT INTO ask_votes (ask_id, actor, reason, at, signature, key) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                a.id,
                me,
                reason,
                now.0,
                sig.map(|s| &s.signature),
                sig.map(|s| &s.key)
            ])?;
            a.votes.push((me.to_string(), reason.clone()));
            let action = match outcome {
                Outcome::Approved => AuditAction::Approved,
                _ => AuditAction::ApprovalVote,
            };
            (action, reason.clone(), values)
        }
        Answer::Reject { reason } => (AuditAction::Rejected, Some(reason.clone()), BTreeMap::new()),
    })
}

/// The audit row of an answer: the ask's id, question and asker, and the inputs.
fn decision(
    a: &Ask,
    me: &str,
    action: AuditAction,
    reason: Option<String>,
    values: &BTreeMap<String, String>,
    outcome: &Outcome,
    sig: Option<&DecisionSignature>,
) -> Decision {
    let verb = match outcome {
        Outcome::Approved => "approved".to_string(),
        Outcome::Rejected => "rejected".to_string(),
        Outcome::Counted { votes, quorum } => format!("vote {votes}/{quorum}"),
    };
    let inputs = values
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut summary = format!("ask {} {verb}: {}", a.id, a.prompt);
    if !inputs.is_empty() {
        summary.push_str(&format!(" (inputs: {inputs})"));
    }
    Decision {
        actor: me.to_string(),
        action,
        step: Some(a.step_id.clone().unwrap_or_else(|| a.id.clone())),
        reason,
        // A signed ask's rows carry what `audit verify` checks the signature
        // against: the allowed signers and approvers it was opened with.
        details: match &a.signers {
            None => json!({
                "ask": a.id,
                "prompt": a.prompt,
                "asker": a.asker,
                "inputs": values,
            }),
            Some(signers) => json!({
                "ask": a.id,
                "prompt": a.prompt,
                "asker": a.asker,
                "inputs": values,
                "approvers": a.approvers,
                "signers": signers,
                "signature": sig,
            }),
        },
        summary,
    }
}

/// One key, one vote: the refusal of an approval signed by a key that voted on ask
/// `id` already.
fn key_voted(
    tx: &Connection,
    id: &str,
    sig: Option<&DecisionSignature>,
    answer: &Answer,
) -> Result<Option<Refusal>, StoreError> {
    let (Some(s), Answer::Approve { .. }) = (sig, answer) else {
        return Ok(None);
    };
    let by: Option<String> = tx
        .prepare_cached("SELECT actor FROM ask_votes WHERE ask_id = ?1 AND key = ?2")?
        .query_row(params![id, s.key], |r| r.get(0))
        .optional()?;
    Ok(by.map(|actor| Refusal::KeyAlreadyVoted {
        key: s.key.clone(),
        actor,
        asked: true,
    }))
}

/// Ask `a` decided `state` by `me` at `now`, with `reason`: on its row and on `a`.
fn decide_ask(
    tx: &Connection,
    a: &mut Ask,
    state: AskState,
    (me, now): (&str, Timestamp),
    reason: Option<&str>,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "UPDATE asks SET state = ?2, decided_by = ?3, decided_at = ?4, reason = ?5 WHERE id = ?1",
    )?
    .execute(params![a.id, state.as_str(), me, now.0, reason])?;
    a.state = state;
    a.decided_by = Some(me.to_string());
    a.decided_at = Some(now);
    a.reason = reason.map(str::to_string);
    Ok(())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub(in crate::coord) fn ask(id: &str) -> Ask {
        Ask {
            id: id.into(),
            run_id: Some("run1".into()),
            step_id: Some("migrate".into()),
            workflow: None,
            prompt: "go?".into(),
            inputs: Vec::new(),
            approvers: Vec::new(),
            quorum: 1,
            allow_self_approval: false,
            signers: None,
            asker: Asker {
                account: "alice".into(),
                holder: crate::lease_holder_name(),
                command: "baton ask".into(),
            },
            opened_at: Timestamp::now(),
            deadline: None,
            state: AskState::Open,
            votes: Vec::new(),
            values: None,
            decided_by: None,
            decided_at: None,
            reason: None,
        }
    }

    /// Every write of an ask moves the counter, whichever connection makes it; reads
    /// and writes of anything else do not.
    #[test]
    fn every_write_of_an_ask_moves_the_counter_and_nothing_else_does() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("b.db");
        let mut s = Store::open(&db).unwrap();
        let other = Store::open(&db).unwrap();
        assert_eq!(s.asks_rev().unwrap(), 0, "no ask yet");
        let mut seen = Vec::new();
        s.insert_ask(&ask("ask-1"), Some(1)).unwrap();
        seen.push(other.asks_rev().unwrap());
        s.insert_ask(&ask("ask-2"), Some(1)).unwrap();
        seen.push(other.asks_rev().unwrap());
        let _ = s.open_asks().unwrap();
        assert_eq!(other.asks_rev().unwrap(), seen[1], "a read moves nothing");
        let reject = Answer::Reject {
            reason: "not now".into(),
        };
        assert!(
            s.answer_ask("ask-1", "bob", &reject, None, None)
                .unwrap()
                .is_ok()
        );
        seen.push(other.asks_rev().unwrap());
        let asker = Asker {
            holder: "pid 1 on elsewhere".into(),
            ..ask("x").asker
        };
        s.adopt_ask("ask-2", &asker).unwrap();
        seen.push(other.asks_rev().unwrap());
        assert!(s.expire_ask("ask-2", Timestamp::now()).unwrap());
        seen.push(other.asks_rev().unwrap());
        assert!(
            seen.windows(2).all(|w| w[0] < w[1]) && seen[0] > 0,
            "each write moved it: {seen:?}"
        );
    }

    /// `asks_moved`: true at the first look, false until an ask is written (by another
    /// connection too), true once after each write.
    #[test]
    fn asks_moved_says_so_once_per_write() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("b.db");
        let mut s = Store::open(&db).unwrap();
        let reader = Store::open(&db).unwrap();
        let mut last = None;
        assert!(reader.asks_moved(&mut last), "never read");
        assert!(!reader.asks_moved(&mut last), "nothing written");
        s.insert_ask(&ask("ask-1"), Some(1)).unwrap();
        assert!(reader.asks_moved(&mut last), "written");
        assert!(!reader.asks_moved(&mut last));
        let _ = s.open_asks().unwrap();
        assert!(!reader.asks_moved(&mut last), "a read moves nothing");
        last = None;
        assert!(reader.asks_moved(&mut last), "the last read failed");
    }
}

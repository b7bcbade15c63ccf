//! `baton audit rotate` (issue 24, finding 9): re-key the store under the signing key,
//! so that an old key can be deleted.
//!
//! Each keyed audit row is an HMAC under the key it names, and so is the chain head and
//! each run's mark: once a store holds records under `k1`, dropping `k1` leaves them
//! unverifiable. Rotation first checks the whole store with every key at hand (the old
//! ones in `BATON_AUDIT_KEYS`) and against its witness, then, in the same transaction:
//! - rewrites the audit rows from the first one keyed with another key on: each takes
//!   the new key id and is hashed again under the new key, linked to its rewritten
//!   predecessor (rows recorded before any key stay as they are: `baton audit seal`
//!   vouched for them against accidents only, and rotation does not change that);
//! - keys the chain head and every run's mark (events are plain SHA-256 links, only the
//!   mark is keyed) with the new key;
//! - checks the store again with the new key alone, and keeps nothing if it fails.
//!
//! The new heads go to the witness. Nothing else changes: the rows' content, the
//! events, the signatures of signed decisions (which cover the content, not the hash).
//! A row's hash is thereby a different one after a rotation: whoever noted a hash
//! elsewhere notes the new one (the witness has both).
use super::audit::{AuditKeys, AuditRow, AuditVerdict, GENESIS, Heads};
use super::decisions::STORE_SUBJECT;
use super::event_chain::Mark;
use super::rows::raw_audit_rows;
use super::verify::verify_store;
use super::witness::{self, Entry};
use super::{
    Store, StoreError, audit_head, in_transaction, key_check, run_key, run_tail, set_chain_head,
};
use baton_model::history::{AuditAction, Decision};
use std::collections::BTreeSet;

/// What `baton audit rotate` did.
#[derive(Debug, Clone, PartialEq)]
pub enum Rotated {
    /// Re-keyed: `rows` audit rows, `runs` run marks (and the chain head), away from the
    /// `retired` key ids, which no record names any more.
    Done {
        key_id: String,
        rows: usize,
        runs: usize,
        retired: Vec<String>,
    },
    /// The store did not check out: nothing was changed.
    Refused(AuditVerdict),
    /// An engine (or the serve) writes under another key: nothing was changed; why,
    /// naming each run and its holder's pid.
    Busy(String),
}

/// The chain with every row from the first one keyed otherwise than `key_id` on
/// re-keyed under `keys` (whose signing key is `key_id`), and the key ids it retired.
/// Only the rewritten rows are returned. Pure.
pub(crate) fn rekey(
    rows: Vec<AuditRow>,
    key_id: &str,
    keys: &AuditKeys,
) -> (Vec<AuditRow>, BTreeSet<String>) {
    let mut retired = BTreeSet::new();
    let mut out: Vec<AuditRow> = Vec::new();
    let mut prev = GENESIS.to_string();
    for mut row in rows {
        let other = row.key_id.as_deref().is_some_and(|k| k != key_id);
        if out.is_empty() && !other {
            prev = row.hash;
            continue;
        }
        if let Some(k) = row.key_id.replace(key_id.to_string())
            && k != key_id
        {
            retired.insert(k);
        }
        row.prev_hash = prev;
        // A redacted row's content is blank: its new hash links it, as its old one did.
        row.hash = row.expected_hash(keys).unwrap_or_default();
        prev = row.hash.clone();
        out.push(row);
    }
    (out, retired)
}

/// The live leases (runs' engines, the serve) held under another key than `key_id`, or
/// under none, in words naming each run and its holder's pid; `None` if there are none.
fn live_writers_under_other_keys(
    tx: &rusqlite::Connection,
    key_id: &str,
) -> Result<Option<String>, StoreError> {
    use baton_model::liveness::{Lease, lease_is_live};
    let rows: Vec<(String, String, i64, Option<String>)> = tx
        .prepare("SELECT run_id, holder, heartbeat_at, key_id FROM leases WHERE key_id IS NOT ?1 ORDER BY run_id")?
        .query_map([key_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<Result<_, _>>()?;
    let now = baton_model::Timestamp::now();
    let live: Vec<String> = rows
        .into_iter()
        .filter_map(|(run, holder, beat, key)| {
            let lease = Lease {
                holder,
                heartbeat_at: baton_model::Timestamp(beat),
                taking_over: false,
            };
            lease_is_live(
                &lease,
                now,
                baton_model::LEASE_STALE,
                crate::holder::holder_alive,
            )
            .then(|| {
                let key = key.map_or("no key".to_string(), |k| format!("the key `{k}`"));
                let what = if run.starts_with('@') {
                    format!("`{run}`")
                } else {
                    format!("run {run}")
                };
                format!("{what} is driven by {} under {key}", lease.holder)
            })
        })
        .collect();
    Ok((!live.is_empty()).then(|| {
        format!(
            "{}; its next records would be keyed with a key the rotation retires. Let it finish or stop it (a run resumes later under `{key_id}`), then rotate",
            live.join("; ")
        )
    }))
}

impl Store {
    /// `baton audit rotate`, by `actor`: see the module docs. The rotation is itself a
    /// decision on the chain (`key_rotated`, subject `store`), keyed with the new key.
    pub fn rotate(&mut self, actor: &str) -> Result<Rotated, StoreError> {
        let Some((key_id, key)) = self.keys.signing.clone() else {
            return Err(StoreError::Keys(
                "`baton audit rotate` re-keys the store with BATON_AUDIT_KEY (the new key, named by BATON_AUDIT_KEY_ID), which is not set; keep the old keys in BATON_AUDIT_KEYS for it".into(),
            ));
        };
        let new_only = AuditKeys {
            signing: Some((key_id.clone(), key.clone())),
            verify: [(key_id.clone(), key)].into_iter().collect(),
        };
        let r = self.set_sync_full(true);
        self.ctx(r)?;
        self.witness_ready()?;
        let seen = self.newest_witnessed()?;
        let (keys, witness_path) = (&self.keys, self.witness_path());
        let mut heads = Vec::new();
        let r = in_transaction(&self.conn, |tx| {
            key_check::check_signing(tx, keys)?;
            // An engine writing under another key would key its next records with a
            // key about to be retired: they could never be verified again.
            if let Some(why) = live_writers_under_other_keys(tx, &key_id)? {
                return Ok(Rotated::Busy(why));
            }
            let verdict = verify_store(tx, keys, None, Heads::Keyed)?;
            if !verdict.is_intact() {
                return Ok(Rotated::Refused(verdict));
            }
            if let Some(rollback) = witness::check(tx, &seen, None, witness_path)? {
                return Ok(Rotated::Refused(rollback.into()));
            }
            let (rows, mut retired) = rekey(raw_audit_rows(tx)?, &key_id, &new_only);
            {
                let mut update = tx.prepare_cached(
                    "UPDATE audit SET key_id = ?2, prev_hash = ?3, hash = ?4 WHERE id = ?1",
                )?;
                for row in &rows {
                    update.execute(rusqlite::params![
                        row.id,
                        row.key_id,
                        row.prev_hash,
                        row.hash
                    ])?;
                }
            }
            if let Some(head) = audit_head(tx)?
                && (!rows.is_empty() || head.keyed.as_ref().is_some_and(|(k, _)| *k != key_id))
            {
                let last = rows.last().map_or(head.hash.clone(), |r| r.hash.clone());
                retired.extend(head.keyed.map(|(k, _)| k).filter(|k| *k != key_id));
                heads.extend(Entry::of_head(&set_chain_head(
                    tx, head.id, &last, &new_only,
                )?));
            }
            let marks = remark_runs(tx, &key_id, &new_only, &mut heads, &mut retired)?;
            let decision = rotation(actor, &key_id, rows.len(), marks, &retired);
            let head = super::decisions::append(tx, &new_only, STORE_SUBJECT, &decision)?;
            heads.extend(Entry::of_head(&head));
            // The old keys can go only if the new one alone verifies everything.
            let after = verify_store(tx, &new_only, None, Heads::Keyed)?;
            if !after.is_intact() {
                return Err(StoreError::Refused(format!(
                    "the store re-keyed under `{key_id}` would not verify with it alone ({after}); nothing was changed"
                )));
            }
            // From now on a process signing with a retired key is refused (`key_check`).
            key_check::retire(tx, &retired, baton_model::Timestamp::now().0)?;
            Ok(Rotated::Done {
                key_id: key_id.clone(),
                rows: rows.len(),
                runs: marks,
                retired: retired.into_iter().collect(),
            })
        });
        let rotated = self.ctx(r)?;
        self.witness(&heads)?;
        Ok(rotated)
    }
}

/// Each run's head mark made under another key than `key_id` sealed again with
/// `new_only`: the new marks added to `heads`, the old keys to `retired`. How many.
fn remark_runs(
    tx: &rusqlite::Connection,
    key_id: &str,
    new_only: &AuditKeys,
    heads: &mut Vec<Entry>,
    retired: &mut BTreeSet<String>,
) -> Result<usize, StoreError> {
    let runs: Vec<String> = tx
        .prepare("SELECT id FROM runs ORDER BY key")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut marks = 0;
    for run_id in &runs {
        let Some(t) = run_tail(tx, run_key(tx, run_id)?)? else {
            continue;
        };
        let Some(old) = t.head_key_id.filter(|k| *k != key_id) else {
            continue;
        };
        let m = Mark::seal(run_id, t.seq, &t.hash, new_only);
        tx.prepare_cached("UPDATE events SET head_key_id = ?2, head_mac = ?3 WHERE id = ?1")?
            .execute(rusqlite::params![t.id, m.key_id, m.mac])?;
        heads.extend(Entry::of_mark(run_id, t.seq, &t.hash, &m));
        retired.insert(old);
        marks += 1;
    }
    Ok(marks)
}

/// The rotation's decision on the chain: `rows` audit rows and `marks` run marks
/// re-keyed with `key_id`, the `retired` keys.
fn rotation(
    actor: &str,
    key_id: &str,
    rows: usize,
    marks: usize,
    retired: &BTreeSet<String>,
) -> Decision {
    let named = if retired.is_empty() {
        "none".to_string()
    } else {
        retired
            .iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Decision {
        actor: actor.to_string(),
        action: AuditAction::KeyRotated,
        step: None,
        reason: None,
        summary: format!(
            "re-keyed {rows} audit row(s) and {marks} run mark(s) with `{key_id}`; retired {named}"
        ),
        details: serde_json::json!({
            "key_id": key_id,
            "retired": retired,
            "rows": rows,
            "runs": marks,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_model::Timestamp;
    use baton_model::history::{AuditAction, Decision};

    fn key(id: &str, secret: &str, more: &str) -> AuditKeys {
        let (id, secret, more) = (id.to_string(), secret.to_string(), more.to_string());
        AuditKeys::from_vars(move |n| match n {
            "BATON_AUDIT_KEY" => Some(secret.clone()),
            "BATON_AUDIT_KEY_ID" => Some(id.clone()),
            "BATON_AUDIT_KEYS" => Some(more.clone()),
            _ => None,
        })
    }

    /// `n` rows appended to `rows` under `keys`.
    fn append(rows: &mut Vec<AuditRow>, n: i64, keys: &AuditKeys) {
        for _ in 0..n {
            let id = rows.len() as i64 + 1;
            let d = Decision {
                actor: "alice".into(),
                action: AuditAction::Approved,
                step: Some("deploy".into()),
                reason: Some(format!("r{id}")),
                details: serde_json::json!({}),
                summary: String::new(),
            };
            let prev = rows.last().map_or(GENESIS.to_string(), |r| r.hash.clone());
            rows.push(super::super::audit::seal(
                id,
                "run1",
                Some(id as u64),
                Timestamp(id),
                &d,
                prev,
                keys,
            ));
        }
    }

    #[test]
    fn rows_from_the_first_one_under_an_old_key_are_rekeyed_and_verify_with_the_new_key_alone() {
        let (plain, k1, k2) = (
            AuditKeys::default(),
            key("k1", "one", ""),
            key("k2", "two", ""),
        );
        let mut rows = Vec::new();
        append(&mut rows, 2, &plain);
        append(&mut rows, 3, &k1);
        append(&mut rows, 2, &k2);
        let (rewritten, retired) = rekey(rows.clone(), "k2", &k2);
        assert_eq!(rewritten.first().map(|r| r.id), Some(3));
        assert_eq!(rewritten.len(), 5);
        assert_eq!(retired, BTreeSet::from(["k1".to_string()]));
        let mut after = rows[..2].to_vec();
        after.extend(rewritten);
        assert!(after[2..].iter().all(|r| r.key_id.as_deref() == Some("k2")));
        let last = after.last().unwrap();
        let head = crate::ledger::audit::AuditHead::seal(last.id, &last.hash, &k2);
        assert_eq!(
            super::super::audit::verify_rows(after, Some(head), &k2, None, Heads::Keyed),
            AuditVerdict::Intact { rows: 7 }
        );
        // Nothing under another key: nothing to rewrite.
        let mut fresh = Vec::new();
        append(&mut fresh, 3, &k2);
        assert_eq!(rekey(fresh, "k2", &k2), (Vec::new(), BTreeSet::new()));
    }

    #[test]
    fn a_live_lease_under_the_old_key_stops_rotation_and_a_retired_key_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("b.db");
        let mut old = Store::open(&db).unwrap();
        old.set_audit_keys(key("k1", "one", ""));
        old.set_paused(&[], true, "alice", "keyed with k1").unwrap();
        let me = crate::holder::lease_holder_name();
        old.acquire_lease("@serve", &me, Timestamp::now(), baton_model::LEASE_STALE)
            .unwrap();
        let mut new = Store::open(&db).unwrap();
        new.set_audit_keys(key("k2", "two", "k1=one"));
        // This process holds a lease under k1: nothing changes, and it is named.
        match new.rotate("alice").unwrap() {
            Rotated::Busy(why) => {
                assert!(why.contains("`@serve`") && why.contains(&me), "{why}");
                assert!(why.contains("`k1`"), "{why}");
            }
            other => panic!("rotated under a live writer: {other:?}"),
        }
        old.release_lease("@serve", &me).unwrap();
        match new.rotate("alice").unwrap() {
            Rotated::Done { retired, .. } => assert_eq!(retired, vec!["k1".to_string()]),
            other => panic!("{other:?}"),
        }
        // The process opened before the rotation is refused at its next write, and
        // writes nothing.
        let rows = || raw_audit_rows(&new.conn).unwrap().len();
        let before = rows();
        let e = old
            .set_paused(&[], false, "alice", "still k1")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`k1`") && e.contains("retired"), "{e}");
        assert_eq!(rows(), before);
        // A retired id is never signed with again, not even to rotate back to it.
        let mut back = Store::open(&db).unwrap();
        back.set_audit_keys(key("k1", "one", "k2=two"));
        assert!(
            back.rotate("alice")
                .unwrap_err()
                .to_string()
                .contains("retired")
        );
        new.set_paused(&[], false, "alice", "k2 writes").unwrap();
        assert!(new.verify_audit(None).unwrap().is_intact());
    }
}

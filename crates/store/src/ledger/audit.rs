//! The audit chain (docs/architecture.md, "The store"): one row per decision, in one global hash chain.
//!
//! # Canonical row and hash
//! A row's canonical form is the compact JSON array
//! `[id, run_id, seq, at, actor, action, step, reason, details, key_id]`
//! (`seq`, `step`, `reason`, `key_id` may be `null`; `details` is the stored JSON text as
//! a string; `at` is milliseconds since the epoch). The hash is the lowercase hex of
//! `SHA-256(prev_hash ‖ canonical)`, or `HMAC-SHA-256(key, prev_hash ‖ canonical)` when
//! the row has a `key_id`. `prev_hash` is the previous row's hash (by id), 64 zeros for
//! row 1. Ids are contiguous from 1, so a deleted row shows as a gap and as a broken
//! link in its successor; `meta('audit_head')` holds the last id and hash, so a cut tail
//! shows too.
//!
//! # The head, and what a key proves
//! `meta('audit_head')` is `ID:HASH` written without a key, `ID:HASH:KEY_ID:MAC` with
//! one, where `MAC` is the hex of `HMAC-SHA-256(key, "baton.audit_head\0" ‖ ID as 8
//! big-endian bytes ‖ HASH)`. Without a key anyone who can write the file can recompute
//! every hash and the head: verification then proves integrity against accidents (a
//! torn write, a stray `UPDATE`), not against that person. With a key:
//! - a keyed row cannot be forged, and neither can a keyed head, so cutting rows off the
//!   end (and rewriting the head to the new last row) shows;
//! - once a row is keyed, every later row must be keyed (a writer without the key is
//!   refused with `StoreError::Keys`), so rows cannot be downgraded to plain SHA-256
//!   and re-hashed;
//! - with a key configured (`BATON_AUDIT_KEY` or `BATON_AUDIT_KEYS`) the head must be
//!   keyed: a chain rewritten entirely without the key fails too ([`Heads`]). A store
//!   recorded before the key was set cannot be told from that: it is adopted once,
//!   deliberately, by `baton audit seal` (a writer with a key is refused on it until
//!   then). A rollback (rows cut with an earlier head put back) shows against the
//!   witness ([`super::witness`]).
//!
//! # The histories it records
//! Each run's events form a chain of their own, sealed by a keyed mark (see
//! [`super::event_chain`]): a row's `seq` names its event there. `audit verify` checks
//! the chain, then every run's history and its `approvals` rows, and that each row
//! naming an event finds it and each `run_started` event has its row (a run deleted
//! behind the store's back, or an emptied chain, shows); see `store/verify.rs`.
//!
//! # Deleted runs
//! `baton runs rm` and `baton gc` delete a run, its audit rows included, without
//! breaking the chain: each of the run's rows is *redacted* in place (action
//! [`REDACTED`], content blanked; id, run id, time, key id, `prev_hash` and `hash` kept,
//! so the links around it still hold), and a [`RUN_DELETED`] row is appended that names
//! the deleted run, who deleted it, when, and the ids of the rows it redacted. A
//! redacted row's content cannot be checked any more; verification checks its links
//! instead and requires a later, intact `run_deleted` row of the same run to list it,
//! so blanking any other row (or a row of another run) still shows as a break.
//!
//! # Keys
//! - `BATON_AUDIT_KEY` (with `BATON_AUDIT_KEY_ID`, default `default`): new rows (and
//!   events, and heads) are signed with HMAC-SHA-256 under that key and carry its id.
//!   Without it they are plain SHA-256 (evident against accidents, not against someone
//!   who re-hashes the chain).
//! - `BATON_AUDIT_KEYS="old=secret1,older=secret2"`: further keys for verification only,
//!   so rows signed before a rotation still verify until `baton audit rotate` re-keys
//!   them ([`super::rotate`]); a mistyped key is refused ([`super::key_check`]).
//! - A row whose key id has no key available is reported (`AuditVerdict::KeyMissing`),
//!   never passed silently.
use baton_model::Timestamp;
use baton_model::history::{AuditAction, Decision};
use hmac::{Hmac, Mac as _};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The action of a row whose run was deleted (see the module docs).
pub const REDACTED: &str = AuditAction::Redacted.as_str();
/// The action of the row that records a run's deletion.
pub const RUN_DELETED: &str = AuditAction::RunDeleted.as_str();

/// Signing and verification keys for the audit chain.
#[derive(Clone, Default)]
pub struct AuditKeys {
    /// (key id, key) used to sign new rows.
    pub signing: Option<(String, Vec<u8>)>,
    /// Every key available for verification by id (the signing key included).
    pub verify: BTreeMap<String, Vec<u8>>,
}

impl std::fmt::Debug for AuditKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("AuditKeys")
            .field("signing", &self.signing.as_ref().map(|(id, _)| id))
            .field("verify", &self.verify.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl AuditKeys {
    /// Keys from `BATON_AUDIT_KEY`, `BATON_AUDIT_KEY_ID` and `BATON_AUDIT_KEYS`.
    pub fn from_env() -> Self {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// The same from any variable lookup (tests pass a map).
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Self {
        let mut keys = AuditKeys::default();
        if let Some(list) = get("BATON_AUDIT_KEYS") {
            for pair in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                if let Some((id, key)) = pair.split_once('=')
                    && !id.trim().is_empty()
                    && !key.is_empty()
                {
                    keys.verify
                        .insert(id.trim().to_string(), key.as_bytes().to_vec());
                }
            }
        }
        if let Some(key) = get("BATON_AUDIT_KEY").filter(|k| !k.is_empty()) {
            let id = get("BATON_AUDIT_KEY_ID")
                .filter(|i| !i.trim().is_empty())
                .unwrap_or_else(|| "default".to_string());
            keys.verify.insert(id.clone(), key.as_bytes().to_vec());
            keys.signing = Some((id, key.into_bytes()));
        }
        keys
    }
}

impl AuditKeys {
    /// Whether any key is available: then every head must be keyed (module docs).
    pub fn configured(&self) -> bool {
        !self.verify.is_empty()
    }

    /// The MAC of records carrying `key_id` (`None`: plain SHA-256); `None` when that
    /// key is not available.
    pub(crate) fn mac_for(&self, key_id: Option<&str>) -> Option<Mac> {
        match key_id {
            None => Some(Mac::Plain),
            Some(id) => self.verify.get(id).map(|k| Mac::keyed(k)),
        }
    }

    /// The key id new records carry and their MAC (plain SHA-256 without a signing key).
    pub(crate) fn signing_mac(&self) -> (Option<&str>, Mac) {
        match &self.signing {
            Some((id, key)) => (Some(id.as_str()), Mac::keyed(key)),
            None => (None, Mac::Plain),
        }
    }
}

/// SHA-256, or HMAC-SHA-256 under a key, primed once and cloned per message (a keyed
/// state saves hashing the key again for every row).
#[derive(Clone)]
pub(crate) enum Mac {
    Plain,
    Keyed(Box<Hmac<Sha256>>),
}

impl Mac {
    pub(crate) fn keyed(key: &[u8]) -> Mac {
        // HMAC accepts keys of any length; the error branch cannot happen.
        match Hmac::<Sha256>::new_from_slice(key) {
            Ok(m) => Mac::Keyed(Box::new(m)),
            Err(_) => Mac::Plain,
        }
    }

    /// The digest of the concatenated `parts`.
    pub(crate) fn digest(&self, parts: &[&[u8]]) -> [u8; 32] {
        match self {
            Mac::Plain => {
                let mut h = Sha256::new();
                for p in parts {
                    h.update(p);
                }
                h.finalize().into()
            }
            Mac::Keyed(m) => {
                let mut m = m.as_ref().clone();
                for p in parts {
                    m.update(p);
                }
                m.finalize().into_bytes().into()
            }
        }
    }
}

/// Why a writer may not extend a history (the audit chain, a run's events) with the
/// keys it has: either would leave a record that fails verification.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// The history is keyed and this writer has no key.
    NeedsKey { key_id: String },
    /// This writer has a key and the (non-empty) history's head is not keyed yet.
    NotAdopted,
}

/// Whether a writer (`signing`: it has a key) may extend a non-empty history whose head
/// carries `head_key` and whose last record `last_key` (the module docs' rules).
pub(crate) fn may_extend(
    signing: bool,
    head_key: Option<&str>,
    last_key: Option<&str>,
) -> Result<(), Refusal> {
    match (signing, head_key.or(last_key)) {
        (false, Some(key_id)) => Err(Refusal::NeedsKey {
            key_id: key_id.to_string(),
        }),
        (true, _) if head_key.is_none() => Err(Refusal::NotAdopted),
        _ => Ok(()),
    }
}

/// `meta('audit_head')`: the last row's id and hash, and with a key its MAC (module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct AuditHead {
    pub id: i64,
    pub hash: String,
    /// (key id, hex MAC); `None` for a head written without a key.
    pub keyed: Option<(String, String)>,
}

const HEAD_TAG: &[u8] = b"baton.audit_head\0";

impl AuditHead {
    /// The head after row (`id`, `hash`), keyed with the signing key if there is one.
    pub fn seal(id: i64, hash: &str, keys: &AuditKeys) -> AuditHead {
        let keyed = match keys.signing_mac() {
            (Some(key_id), mac) => {
                Some((key_id.to_string(), hex::encode(head_mac(&mac, id, hash))))
            }
            (None, _) => None,
        };
        AuditHead {
            id,
            hash: hash.to_string(),
            keyed,
        }
    }

    /// Parse the meta value; `None` when it is not a head.
    pub fn parse(value: &str) -> Option<AuditHead> {
        let (id, rest) = value.split_once(':')?;
        let id = id.parse::<i64>().ok()?;
        let (hash, keyed) = match rest.split_once(':') {
            None => (rest, None),
            Some((hash, key)) => {
                let (key_id, mac) = key.rsplit_once(':')?;
                (hash, Some((key_id.to_string(), mac.to_string())))
            }
        };
        Some(AuditHead {
            id,
            hash: hash.to_string(),
            keyed,
        })
    }

    /// The meta value.
    pub fn to_meta(&self) -> String {
        match &self.keyed {
            None => format!("{}:{}", self.id, self.hash),
            Some((key_id, mac)) => format!("{}:{}:{key_id}:{mac}", self.id, self.hash),
        }
    }

    /// Whether the head's MAC holds: `None` when its key is not available; a head
    /// without a key holds (it says nothing a writer could not recompute).
    pub(crate) fn mac_holds(&self, keys: &AuditKeys) -> Option<bool> {
        match &self.keyed {
            None => Some(true),
            Some((key_id, mac)) => {
                let m = keys.mac_for(Some(key_id))?;
                Some(hex::encode(head_mac(&m, self.id, &self.hash)) == *mac)
            }
        }
    }
}

fn head_mac(mac: &Mac, id: i64, hash: &str) -> [u8; 32] {
    mac.digest(&[HEAD_TAG, &id.to_be_bytes(), hash.as_bytes()])
}

/// One row of the audit table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRow {
    pub id: i64,
    pub run_id: String,
    /// The event this decision was recorded with.
    pub seq: Option<u64>,
    pub at: Timestamp,
    pub actor: String,
    pub action: String,
    pub step: Option<String>,
    pub reason: Option<String>,
    /// JSON text.
    pub details: String,
    pub key_id: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditRow {
    /// The canonical serialisation that is hashed (see the module docs).
    pub fn canonical(&self) -> String {
        serde_json::json!([
            self.id,
            self.run_id,
            self.seq,
            self.at.0,
            self.actor,
            self.action,
            self.step,
            self.reason,
            self.details,
            self.key_id
        ])
        .to_string()
    }

    /// The hash this row should carry given its `prev_hash` and key; `None` when the
    /// row names a key that is not available.
    pub fn expected_hash(&self, keys: &AuditKeys) -> Option<String> {
        let mac = keys.mac_for(self.key_id.as_deref())?;
        Some(self.hash_with(&mac))
    }

    fn hash_with(&self, mac: &Mac) -> String {
        hex::encode(mac.digest(&[self.prev_hash.as_bytes(), self.canonical().as_bytes()]))
    }
}

/// The outcome of `verify_audit`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum AuditVerdict {
    /// Every row checked out; `rows` counts those of the run asked about (or all).
    Intact { rows: usize },
    /// The first altered or missing row. `run_id` is `None` when the row is gone.
    Broken {
        row_id: i64,
        run_id: Option<String>,
        reason: String,
    },
    /// A run's stored history differs from what was committed: `seq` is its first
    /// broken event (or the event an altered approval row records), see
    /// [`super::event_chain`].
    HistoryBroken {
        run_id: String,
        seq: u64,
        reason: String,
    },
    /// The chain's links hold, but this row (the first such) is signed with a key that
    /// is not available, so its content could not be checked.
    KeyMissing {
        row_id: i64,
        run_id: String,
        key_id: String,
    },
}

impl AuditVerdict {
    pub fn is_intact(&self) -> bool {
        matches!(self, AuditVerdict::Intact { .. })
    }
}

/// What a head written without a key may be (of the audit chain or of a run's events).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heads {
    /// No key is configured: it stands, unless a record before it is keyed.
    AsFound,
    /// A key is configured: every head must be keyed.
    Keyed,
    /// `baton audit seal` is about to key it: it stands.
    Adopting,
}

impl Heads {
    /// [`Heads::Keyed`] when a key is configured, else [`Heads::AsFound`].
    pub fn for_keys(keys: &AuditKeys) -> Heads {
        if keys.configured() {
            Heads::Keyed
        } else {
            Heads::AsFound
        }
    }
}

/// Walk rows in id order and find the first problem. `head` is the stored chain head,
/// if any. Pure, so it is tested without a database.
pub fn verify_rows(
    rows: impl IntoIterator<Item = AuditRow>,
    head: Option<AuditHead>,
    keys: &AuditKeys,
    count_run: Option<&str>,
    heads: Heads,
) -> AuditVerdict {
    let mut prev: Option<AuditRow> = None;
    let mut counted = 0usize;
    // The first keyed row: no row after it may be unkeyed.
    let mut first_keyed: Option<i64> = None;
    let mut key_missing: Option<AuditVerdict> = None;
    // Redacted rows not yet accounted for by a `run_deleted` row: id → run id.
    let mut redacted: BTreeMap<i64, String> = BTreeMap::new();
    for row in rows {
        let expected_id = prev.as_ref().map_or(1, |p| p.id + 1);
        if row.id != expected_id {
            return missing_row(expected_id, row.id);
        }
        if let Some(v) = unkeyed_after(first_keyed, &row) {
            return v;
        }
        first_keyed = first_keyed.or(row.key_id.as_ref().map(|_| row.id));
        if row.action == REDACTED {
            // Its content is gone by design: its links are checked below, and a later
            // `run_deleted` row must account for it.
            redacted.insert(row.id, row.run_id.clone());
        } else {
            match content_verdict(&row, keys) {
                Err(v) => return v,
                Ok(Some(v)) => {
                    key_missing.get_or_insert(v);
                }
                Ok(None) => {}
            }
            // A row that could not be checked for want of its key still counts here:
            // the verdict is then `KeyMissing`, never intact.
            if row.action == RUN_DELETED {
                for id in deleted_row_ids(&row.details) {
                    if redacted.get(&id) == Some(&row.run_id) {
                        redacted.remove(&id);
                    }
                }
            }
        }
        if let Some(v) = link_verdict(prev.as_ref(), &row) {
            return v;
        }
        if count_run.is_none_or(|r| r == row.run_id) {
            counted += 1;
        }
        prev = Some(row);
    }
    match (&prev, head) {
        (None, None) => {}
        (Some(p), head) => match last_row_verdict(p, head.as_ref(), first_keyed, keys, heads) {
            // An earlier row's missing key is the one to name.
            Some(v @ AuditVerdict::KeyMissing { .. }) => {
                key_missing.get_or_insert(v);
            }
            Some(v) => return v,
            None => {}
        },
        (None, Some(AuditHead { id: head_id, .. })) => {
            return AuditVerdict::Broken {
                row_id: 1,
                run_id: None,
                reason: format!("rows 1..={head_id} are missing (the chain is empty)"),
            };
        }
    }
    if let Some((&row_id, run_id)) = redacted.iter().next() {
        return AuditVerdict::Broken {
            row_id,
            run_id: Some(run_id.clone()),
            reason: format!(
                "row {row_id} was blanked, but no `{RUN_DELETED}` row of run {run_id} accounts for it"
            ),
        };
    }
    key_missing.unwrap_or(AuditVerdict::Intact { rows: counted })
}

/// Row `expected` is not there: the chain goes on at row `found` (its next row).
pub(crate) fn missing_row(expected: i64, found: i64) -> AuditVerdict {
    AuditVerdict::Broken {
        row_id: expected,
        run_id: None,
        reason: format!(
            "row {expected} is missing (the chain jumps from row {} to row {found})",
            expected - 1,
        ),
    }
}

/// An unkeyed `row` after the keyed row `first_keyed`: a keyed chain never goes back.
pub(crate) fn unkeyed_after(first_keyed: Option<i64>, row: &AuditRow) -> Option<AuditVerdict> {
    match (&row.key_id, first_keyed) {
        (None, Some(k)) => Some(AuditVerdict::Broken {
            row_id: row.id,
            run_id: Some(row.run_id.clone()),
            reason: format!(
                "row {} is not keyed, but row {k} before it is: a keyed chain never goes back to unkeyed rows (rewritten without the key?)",
                row.id
            ),
        }),
        _ => None,
    }
}

/// A row's content against its hash: `Err` when it was altered, `Ok(Some(KeyMissing))`
/// when its key is not available to check it.
pub(crate) fn content_verdict(
    row: &AuditRow,
    keys: &AuditKeys,
) -> Result<Option<AuditVerdict>, AuditVerdict> {
    match row.expected_hash(keys) {
        Some(h) if h == row.hash => Ok(None),
        Some(_) => Err(AuditVerdict::Broken {
            row_id: row.id,
            run_id: Some(row.run_id.clone()),
            reason: format!(
                "row {} was altered: its hash does not match its content",
                row.id
            ),
        }),
        None => Ok(Some(AuditVerdict::KeyMissing {
            row_id: row.id,
            run_id: row.run_id.clone(),
            key_id: row.key_id.clone().unwrap_or_default(),
        })),
    }
}

/// `row` links to `prev`, the row before it (`None`: it is the chain's first).
pub(crate) fn link_verdict(prev: Option<&AuditRow>, row: &AuditRow) -> Option<AuditVerdict> {
    let prev_hash = prev.map_or(GENESIS, |p| p.hash.as_str());
    if row.prev_hash == prev_hash {
        return None;
    }
    Some(match prev {
        Some(p) => AuditVerdict::Broken {
            row_id: p.id,
            run_id: Some(p.run_id.clone()),
            reason: format!(
                "row {} was altered and re-hashed: row {} links to a different hash",
                p.id, row.id
            ),
        },
        None => AuditVerdict::Broken {
            row_id: row.id,
            run_id: Some(row.run_id.clone()),
            reason: format!("row {} does not start the chain", row.id),
        },
    })
}

/// What is wrong with `last`, the chain's last row, against the recorded head.
pub(crate) fn last_row_verdict(
    last: &AuditRow,
    head: Option<&AuditHead>,
    first_keyed: Option<i64>,
    keys: &AuditKeys,
    heads: Heads,
) -> Option<AuditVerdict> {
    let Some(head) = head else {
        return Some(AuditVerdict::Broken {
            row_id: last.id,
            run_id: Some(last.run_id.clone()),
            reason: "the recorded chain head is missing".into(),
        });
    };
    let (head_id, head_hash) = (head.id, head.hash.as_str());
    if head_id > last.id {
        return Some(AuditVerdict::Broken {
            row_id: last.id + 1,
            run_id: None,
            reason: format!(
                "rows {}..={head_id} are missing (the chain head says {head_id})",
                last.id + 1
            ),
        });
    }
    if head_id != last.id || head_hash != last.hash {
        return Some(AuditVerdict::Broken {
            row_id: last.id,
            run_id: Some(last.run_id.clone()),
            reason: format!(
                "row {} does not match the recorded chain head (row {head_id})",
                last.id
            ),
        });
    }
    head_verdict(head, last, first_keyed, keys, heads)
}

/// What is wrong with a head that matches the last row `last`, if anything: its key
/// (module docs).
fn head_verdict(
    head: &AuditHead,
    last: &AuditRow,
    first_keyed: Option<i64>,
    keys: &AuditKeys,
    heads: Heads,
) -> Option<AuditVerdict> {
    let broken = |reason: String| AuditVerdict::Broken {
        row_id: last.id,
        run_id: Some(last.run_id.clone()),
        reason,
    };
    match (&head.keyed, first_keyed) {
        (None, _) if heads == Heads::Adopting => None,
        (None, Some(k)) => Some(broken(format!(
            "the recorded chain head is not keyed, but row {k} is: the head was rewritten without the key (rows cut off the end?)"
        ))),
        (None, None) if heads == Heads::Keyed => {
            Some(broken(format!("the audit chain is {NOT_KEYED}")))
        }
        (None, None) => None,
        (Some((key_id, _)), _) => match head.mac_holds(keys) {
            Some(true) => None,
            Some(false) => Some(broken(
                "the recorded chain head's MAC does not match it: the head was rewritten (rows cut off the end?)"
                    .to_string(),
            )),
            None => Some(AuditVerdict::KeyMissing {
                row_id: last.id,
                run_id: last.run_id.clone(),
                key_id: key_id.clone(),
            }),
        },
    }
}

/// Why a head without a key fails when a key is configured.
pub const NOT_KEYED: &str = "not keyed although a key is configured: it was written before the key was set, or rewritten without it. If it predates the key, check it with `baton audit verify` without the key, then adopt it with `baton audit seal`";

/// The ids a `run_deleted` row's details list as redacted (`{"redacted_rows": [..]}`).
fn deleted_row_ids(details: &str) -> Vec<i64> {
    serde_json::from_str::<serde_json::Value>(details)
        .ok()
        .and_then(|v| {
            v.get("redacted_rows")?
                .as_array()
                .map(|a| a.iter().filter_map(serde_json::Value::as_i64).collect())
        })
        .unwrap_or_default()
}

/// The audit row content of a run's deletion by `actor`: `details` must carry
/// `redacted_rows`, the ids of the run's rows that the deletion blanks.
pub fn deletion(actor: &str, reason: &str, details: serde_json::Value) -> Decision {
    let n = deleted_row_ids(&details.to_string()).len();
    Decision {
        actor: actor.to_string(),
        action: AuditAction::RunDeleted,
        step: None,
        reason: Some(reason.to_string()),
        summary: format!("run deleted; {n} audit row(s) blanked"),
        details,
    }
}

/// A row as it stays once its run is deleted: links and time kept, content blanked.
pub fn redact(row: &AuditRow) -> AuditRow {
    AuditRow {
        seq: None,
        actor: String::new(),
        action: REDACTED.to_string(),
        step: None,
        reason: None,
        details: "{}".to_string(),
        ..row.clone()
    }
}

/// Build the next row of the chain: hash it with the signing key if there is one.
pub fn seal(
    id: i64,
    run_id: &str,
    seq: Option<u64>,
    at: Timestamp,
    d: &Decision,
    prev_hash: String,
    keys: &AuditKeys,
) -> AuditRow {
    let mut row = AuditRow {
        id,
        run_id: run_id.to_string(),
        seq,
        at,
        actor: d.actor.clone(),
        action: d.action.as_str().to_string(),
        step: d.step.clone(),
        reason: d.reason.clone(),
        details: d.details.to_string(),
        key_id: None,
        prev_hash,
        hash: String::new(),
    };
    let (key_id, mac) = keys.signing_mac();
    row.key_id = key_id.map(str::to_string);
    row.hash = row.hash_with(&mac);
    row
}

#[cfg(test)]
mod tests;

//! Appending to the ledger's chains: a run's next events after its tail (its writer,
//! refused when these keys would break its history) and the audit chain's next row and
//! head.
use super::audit::{self, AuditKeys, AuditRow};
use super::event_chain;
use crate::error::StoreError;
use rusqlite::{Connection, OptionalExtension, params};

/// The writer of run `run_id`'s next events after `tail`, refused when these keys
/// would break its history.
pub(crate) fn run_writer(
    run_id: &str,
    tail: Option<&event_chain::Tail>,
    keys: &AuditKeys,
) -> Result<event_chain::Writer, StoreError> {
    event_chain::Writer::new(run_id, tail, keys)
        .map_err(|r| refusal(&format!("run {run_id}'s history"), r))
}

/// The last event of the run keyed `run_key` (`store::event_chain`), if it has events.
pub(crate) fn run_tail(
    tx: &Connection,
    run_key: i64,
) -> Result<Option<event_chain::Tail>, StoreError> {
    Ok(tx
        .prepare_cached(
            "SELECT id, seq, hash, head_key_id FROM events
             WHERE id BETWEEN ?1 << 32 AND (?1 << 32) + 4294967295 ORDER BY id DESC LIMIT 1",
        )?
        .query_row([run_key], |r| {
            Ok(event_chain::Tail {
                id: r.get(0)?,
                seq: r.get::<_, i64>(1)? as u64,
                hash: r.get::<_, Option<Vec<u8>>>(2)?.unwrap_or_default(),
                head_key_id: r.get(3)?,
            })
        })
        .optional()?)
}

/// The key of run `run_id` (`runs.key`).
pub(crate) fn run_key(tx: &Connection, run_id: &str) -> Result<i64, StoreError> {
    tx.prepare_cached("SELECT key FROM runs WHERE id = ?1")?
        .query_row([run_id], |r| r.get::<_, i64>(0))
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("run {run_id}")))
}

/// Why a writer with these keys may not extend `what` (a run's history, the audit chain).
pub(crate) fn refusal(what: &str, r: audit::Refusal) -> StoreError {
    StoreError::Keys(match r {
        audit::Refusal::NeedsKey { key_id } => format!(
            "{what} is keyed (key `{key_id}`), but BATON_AUDIT_KEY is not set: an unkeyed record after a keyed one would break it; set BATON_AUDIT_KEY and BATON_AUDIT_KEY_ID as when it was recorded"
        ),
        audit::Refusal::NotAdopted => format!(
            "{what} was recorded without a key, and BATON_AUDIT_KEY is set: check the store with `baton audit verify` without the key, then adopt it with `baton audit seal`"
        ),
    })
}

pub(crate) fn insert_audit_row(tx: &Connection, row: &AuditRow) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO audit (id, run_id, seq, at, actor, action, step, reason, details, key_id, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        row.id,
        row.run_id,
        row.seq.map(|s| s as i64),
        row.at.0,
        row.actor,
        row.action,
        row.step,
        row.reason,
        row.details,
        row.key_id,
        row.prev_hash,
        row.hash
    ])?;
    // A passkey's signature counter, kept with the row that holds it.
    super::passkeys::note(tx, row)
}

/// Record the chain's last row in `meta('audit_head')`, keyed if there is a signing
/// key (see [`audit`]); the head written.
pub(crate) fn set_chain_head(
    tx: &Connection,
    id: i64,
    hash: &str,
    keys: &AuditKeys,
) -> Result<audit::AuditHead, StoreError> {
    let head = audit::AuditHead::seal(id, hash, keys);
    tx.prepare_cached(
        "INSERT INTO meta (key, value) VALUES ('audit_head', ?1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute([head.to_meta()])?;
    Ok(head)
}

/// The recorded audit head, if any.
pub(crate) fn audit_head(conn: &Connection) -> Result<Option<audit::AuditHead>, StoreError> {
    let value: Option<String> = conn
        .prepare_cached("SELECT value FROM meta WHERE key = 'audit_head'")?
        .query_row([], |r| r.get(0))
        .optional()?;
    Ok(value.as_deref().and_then(audit::AuditHead::parse))
}

/// The last audit row's (id, hash) to append after, or (0, genesis) for an empty chain;
/// refused when these keys would break the chain: no key on a keyed chain, or a key on
/// a chain recorded without one and not adopted (`baton audit seal`).
pub(crate) fn chain_write(
    conn: &Connection,
    keys: &AuditKeys,
) -> Result<(i64, String), StoreError> {
    let last: Option<(i64, String, Option<String>)> = conn
        .prepare_cached("SELECT id, hash, key_id FROM audit ORDER BY id DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((id, hash, row_key)) = last else {
        return Ok((0, audit::GENESIS.to_string()));
    };
    let head_key = audit_head(conn)?.and_then(|h| h.keyed.map(|(k, _)| k));
    audit::may_extend(
        keys.signing.is_some(),
        head_key.as_deref(),
        row_key.as_deref(),
    )
    .map_err(|r| refusal("the audit chain", r))?;
    Ok((id, hash))
}

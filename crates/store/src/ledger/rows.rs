//! How the ledger's rows are read: a run's events as its chain checks them, and the
//! audit chain's rows.
use super::audit::AuditRow;
use super::event_chain;
use crate::error::StoreError;
use baton_model::Timestamp;

/// The columns [`stored`] reads, of events `e`.
pub(crate) const CHAIN_COLUMNS: &str = "e.seq, e.json, e.hash, e.head_key_id, e.head_mac";

/// A row of [`CHAIN_COLUMNS`] (first) as the event chain reads it.
pub(crate) fn stored<'r>(r: &'r rusqlite::Row<'_>) -> Result<event_chain::Stored<'r>, StoreError> {
    Ok(event_chain::Stored {
        seq: r.get::<_, i64>(0)? as u64,
        json: r.get_ref(1)?.as_str()?,
        hash: r.get_ref(2)?.as_blob_or_null()?,
        head_key_id: r.get_ref(3)?.as_str_or_null()?,
        head_mac: r.get_ref(4)?.as_blob_or_null()?,
    })
}

/// A run's events (`e`), `?1` its id: a rowid range scan (see `schema` V2).
pub(crate) const RUN_EVENTS: &str = "runs r JOIN events e
    ON e.id BETWEEN r.key << 32 AND (r.key << 32) + 4294967295 WHERE r.id = ?1";

pub(crate) const AUDIT_SELECT: &str = "SELECT id, run_id, seq, at, actor, action, step, reason, details, key_id, prev_hash, hash FROM audit";

/// Every audit row in the store file behind `conn`, all runs, oldest first, read with
/// no checks at all: for whoever must see the rows as they are on disk (the tamper
/// tests rewrite them the way an attacker would).
pub fn raw_audit_rows(conn: &rusqlite::Connection) -> rusqlite::Result<Vec<AuditRow>> {
    let mut st = conn.prepare(&format!("{AUDIT_SELECT} ORDER BY id"))?;
    let rows = st.query_map([], audit_row)?;
    rows.collect()
}

pub(crate) fn audit_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditRow> {
    Ok(AuditRow {
        id: r.get(0)?,
        run_id: r.get(1)?,
        seq: r.get::<_, Option<i64>>(2)?.map(|s| s as u64),
        at: Timestamp(r.get(3)?),
        actor: r.get(4)?,
        action: r.get(5)?,
        step: r.get(6)?,
        reason: r.get(7)?,
        details: r.get(8)?,
        key_id: r.get(9)?,
        prev_hash: r.get(10)?,
        hash: r.get(11)?,
    })
}

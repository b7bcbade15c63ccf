//! Decisions about the store rather than a run (issue 41 point 2): the schedules'
//! (`baton schedule pause|resume|trigger|backfill`, subject `schedules`), a rotation of
//! the audit key and a group store's making (subject `store`), and runs deleted. Each is
//! a row of the one audit chain, appended in the transaction that makes it, so `audit
//! verify` covers them as every other row; `baton audit` (no run) lists them.
use super::append::{chain_write, insert_audit_row, set_chain_head};
use super::audit::{self, AuditKeys, AuditRow};
use super::rows::{AUDIT_SELECT, audit_row};
use super::{Store, StoreError};
use baton_model::Timestamp;
use baton_model::history::{AuditAction, Decision};
use rusqlite::Connection;

/// The audit row's subject of a decision about the store itself.
pub const STORE_SUBJECT: &str = "store";
/// The audit row's subject of a decision about the schedules (`coord::schedules`).
pub(crate) const SCHEDULES: &str = "schedules";

/// Append `d` to the audit chain under `subject`, keyed with `keys`, in `tx`; the new
/// head (for the witness).
pub(crate) fn append(
    tx: &Connection,
    keys: &AuditKeys,
    subject: &str,
    d: &Decision,
) -> Result<audit::AuditHead, StoreError> {
    let (prev_id, prev_hash) = chain_write(tx, keys)?;
    let row = audit::seal(
        prev_id + 1,
        subject,
        None,
        Timestamp::now(),
        d,
        prev_hash,
        keys,
    );
    insert_audit_row(tx, &row)?;
    set_chain_head(tx, row.id, &row.hash, keys)
}

impl Store {
    /// Every decision about the store, oldest first: the schedules', the key's
    /// rotations, the store's making, runs deleted, the answers to asks no step made.
    pub fn store_audit(&self) -> Result<Vec<AuditRow>, StoreError> {
        let r = (|| {
            let mut st = self.conn.prepare_cached(&format!(
                "{AUDIT_SELECT} WHERE run_id IN (?1, ?2, ?4) OR action = ?3 ORDER BY id"
            ))?;
            let rows = st.query_map(
                rusqlite::params![
                    SCHEDULES,
                    STORE_SUBJECT,
                    AuditAction::RunDeleted.as_str(),
                    baton_model::ask::AUDIT_SUBJECT
                ],
                audit_row,
            )?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })();
        self.ctx(r)
    }

    /// Record `d`, a decision about the store, on the audit chain (committed with
    /// `synchronous = FULL`, its head to the witness).
    pub fn record_store_decision(&mut self, d: &Decision) -> Result<(), StoreError> {
        self.decide_on(STORE_SUBJECT, |()| d.clone(), |_| Ok(((), ())))
    }
}

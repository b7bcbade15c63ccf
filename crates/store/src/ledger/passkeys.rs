//! The last signature counter of each passkey (`passkey_counters`): the highest
//! counter of the passkey signatures on the audit chain (every run's signed decisions
//! and signed asks' answers) made by that key. It is written with the audit row that
//! holds the signature, in that row's transaction ([`note`], called by the one writer
//! of audit rows), so the table and the chain never disagree; migration 40 filled it
//! from the chain once. A new passkey signature must carry a higher counter
//! (`signing::check_counter`): [`Store::last_passkey_counter`] is one lookup by key,
//! whatever the chain's length.
use super::audit::AuditRow;
use super::handle::Store;
use crate::error::StoreError;
use rusqlite::{Connection, OptionalExtension, params};

/// Migration 40: the table, filled from the chain by [`backfill`].
pub(crate) const PASSKEY_COUNTERS: &str = "CREATE TABLE passkey_counters (
    key     TEXT PRIMARY KEY,
    counter INTEGER NOT NULL
) WITHOUT ROWID;";

/// Only a row whose details hold a signature record can hold a passkey's: the rest
/// are not parsed.
const SIGNED: &str = "\"signature\":{";

/// Keep `row`'s passkey signature's counter, if it holds one above the one kept (in
/// the transaction `tx` that inserts the row).
pub(crate) fn note(tx: &Connection, row: &AuditRow) -> Result<(), StoreError> {
    let Some((key, counter)) = counter_of(&row.details) else {
        return Ok(());
    };
    tx.prepare_cached(
        "INSERT INTO passkey_counters (key, counter) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET counter = max(counter, excluded.counter)",
    )?
    .execute(params![key, counter])?;
    Ok(())
}

/// The key (`SHA256:…`) and counter of the passkey signature a row's details hold:
/// the signature record's own key, which made its armored SSHSIG.
fn counter_of(details: &str) -> Option<(String, u32)> {
    if !details.contains(SIGNED) {
        return None;
    }
    let d: serde_json::Value = serde_json::from_str(details).ok()?;
    let sig = d.get("signature")?;
    let key = sig.get("key")?.as_str()?;
    let (signed_by, counter) = baton_signing::passkey_counter(sig.get("signature")?.as_str()?)?;
    (signed_by == key).then_some((signed_by, counter))
}

/// Migration 40's part in Rust: every passkey signature the chain holds already.
pub(crate) fn backfill(tx: &Connection) -> Result<(), StoreError> {
    let mut st = tx.prepare("SELECT details FROM audit WHERE instr(details, ?1) > 0")?;
    let mut rows = st.query([SIGNED])?;
    let mut found: Vec<(String, u32)> = Vec::new();
    while let Some(r) = rows.next()? {
        found.extend(counter_of(r.get_ref(0)?.as_str()?));
    }
    let mut up = tx.prepare(
        "INSERT INTO passkey_counters (key, counter) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET counter = max(counter, excluded.counter)",
    )?;
    for (key, counter) in found {
        up.execute(params![key, counter])?;
    }
    Ok(())
}

/// The lookup [`Store::last_passkey_counter`] makes: one row by its key.
pub(crate) const LAST: &str = "SELECT counter FROM passkey_counters WHERE key = ?1";

impl Store {
    /// The highest counter of `key`'s (`SHA256:…`) passkey signatures on the audit
    /// chain, or `None` when it has none.
    pub fn last_passkey_counter(&self, key: &str) -> Result<Option<u32>, StoreError> {
        let r = (|| {
            let c: Option<i64> = self
                .conn
                .prepare_cached(LAST)?
                .query_row([key], |r| r.get(0))
                .optional()?;
            Ok(c.and_then(|c| u32::try_from(c).ok()))
        })();
        self.ctx(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = include_str!("../../../signing/tests/vectors/good.sig");

    #[test]
    fn a_row_gives_the_counter_of_its_own_key_s_passkey_signature_only() {
        let (key, _) = baton_signing::passkey_counter(GOOD).unwrap();
        let row = |k: &str| {
            serde_json::json!({ "signature": { "key": k, "signature": GOOD } }).to_string()
        };
        assert_eq!(counter_of(&row(&key)), Some((key.clone(), 2)));
        // A record naming another key than the one that signed gives nothing.
        assert_eq!(counter_of(&row("SHA256:other")), None);
        assert_eq!(counter_of("{}"), None);
        assert_eq!(counter_of("not json \"signature\":{"), None);
        // A refused command's signature is the request's word, not a decision's.
        let refused = serde_json::json!({ "command": { "signature": GOOD } }).to_string();
        assert_eq!(counter_of(&refused), None);
    }

    #[test]
    fn the_lookup_reads_one_row_by_its_key_however_long_the_chain() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("p.db")).unwrap();
        let mut st = s
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {LAST}"))
            .unwrap();
        let plan: Vec<String> = st
            .query_map([""], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            plan.len() == 1 && plan[0].starts_with("SEARCH passkey_counters USING PRIMARY KEY"),
            "{plan:?}"
        );
    }
}

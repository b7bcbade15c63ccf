//! One check value per audit key id (issue 24, finding 17): a mistyped key is refused
//! before it writes anything, as a missing one is.
//!
//! Without it, a writer with the right key id and a wrong key value would be accepted,
//! and every record it keyed would then read as altered to `verify` with the right key,
//! for good. So the first keyed write under an id stores `meta('audit_key_check:ID')` =
//! hex `HMAC-SHA-256(key, "baton key check")`; every later keyed write, and every
//! process that opens the store with keys configured, compares its key with it. The
//! value reveals nothing a keyed record does not (both are HMACs under the key).
//!
//! A store keyed before the check values existed gets its check value from its first
//! keyed write, and only if that key also holds the audit chain's head when the head is
//! keyed with the same id: a wrong key is refused there too.
use super::audit::{AuditKeys, Mac};
use super::{StoreError, audit_head};
use rusqlite::{Connection, OptionalExtension};

const TAG: &[u8] = b"baton key check";

/// The meta key holding the check value of key `id`.
fn meta_key(id: &str) -> String {
    format!("audit_key_check:{id}")
}

/// The check value of `key` (hex).
fn value(key: &[u8]) -> String {
    hex::encode(Mac::keyed(key).digest(&[TAG]))
}

/// Whether `key` (of id `id`) is the one whose check value is `recorded`: pure.
fn matches(key: &[u8], recorded: &str) -> bool {
    value(key) == recorded
}

fn recorded(conn: &Connection, id: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([meta_key(id)], |r| r.get(0))
        .optional()?)
}

/// Why key `id` (from `var`) is refused: it is not the key recorded under that id.
fn mismatch(id: &str, var: &str) -> StoreError {
    StoreError::Keys(format!(
        "the audit key `{id}` in {var} is not the key this store recorded under that id (its check value differs): it was mistyped, or it is another key. Set `{id}` to the key the store was keyed with (or, to start a new key, give it a new BATON_AUDIT_KEY_ID and re-key the store with `baton audit rotate`)"
    ))
}

/// The id of the key this process signs with, if any.
pub(crate) fn signing_id(keys: &AuditKeys) -> Option<&str> {
    keys.signing.as_ref().map(|(id, _)| id.as_str())
}

/// The meta key saying key `id` was retired by a rotation (its value: when, ms).
fn retired_key(id: &str) -> String {
    format!("audit_key_retired:{id}")
}

/// Record that `ids` were retired by `baton audit rotate` (in its transaction): a
/// process signing with one of them is refused from then on.
pub(crate) fn retire<'a>(
    tx: &Connection,
    ids: impl IntoIterator<Item = &'a String>,
    now: i64,
) -> Result<(), StoreError> {
    let mut st = tx.prepare_cached("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)")?;
    for id in ids {
        st.execute([retired_key(id), now.to_string()])?;
    }
    Ok(())
}

/// Why signing with `id` is refused: a rotation retired it.
fn check_not_retired(conn: &Connection, id: &str) -> Result<(), StoreError> {
    let at: Option<String> = conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([retired_key(id)], |r| r.get(0))
        .optional()?;
    let Some(at) = at else {
        return Ok(());
    };
    let when = at
        .parse::<i64>()
        .map(|ms| baton_model::Timestamp(ms).to_rfc3339())
        .unwrap_or(at);
    Err(StoreError::Keys(format!(
        "the audit key `{id}` (BATON_AUDIT_KEY_ID) was retired by `baton audit rotate` at {when}: the store is keyed with its successor now. Set BATON_AUDIT_KEY and BATON_AUDIT_KEY_ID to the current key (a new key takes a new id, never a retired one)"
    )))
}

/// At open: every configured key that has a check value must match it, and the
/// signing key must not be one a rotation retired.
pub(crate) fn check_configured(conn: &Connection, keys: &AuditKeys) -> Result<(), StoreError> {
    let signing = signing_id(keys);
    if let Some(id) = signing {
        check_not_retired(conn, id)?;
    }
    for (id, key) in &keys.verify {
        if let Some(r) = recorded(conn, id)?
            && !matches(key, &r)
        {
            let var = if Some(id.as_str()) == signing {
                "BATON_AUDIT_KEY"
            } else {
                "BATON_AUDIT_KEYS"
            };
            return Err(mismatch(id, var));
        }
    }
    Ok(())
}

/// In a keyed write's transaction, before anything is written: the signing key must
/// match its id's check value, which is recorded if there is none yet.
pub(crate) fn check_signing(tx: &Connection, keys: &AuditKeys) -> Result<(), StoreError> {
    let Some((id, key)) = &keys.signing else {
        return Ok(());
    };
    // Opened before a rotation retired it: refused at its first write all the same.
    check_not_retired(tx, id)?;
    match recorded(tx, id)? {
        Some(r) if matches(key, &r) => Ok(()),
        Some(_) => Err(mismatch(id, "BATON_AUDIT_KEY")),
        None => {
            // Keyed before check values existed: the head keyed under this id vouches.
            if let Some(head) = audit_head(tx)?
                && head.keyed.as_ref().is_some_and(|(k, _)| k == id)
                && head.mac_holds(keys) != Some(true)
            {
                return Err(mismatch(id, "BATON_AUDIT_KEY"));
            }
            tx.prepare_cached("INSERT INTO meta (key, value) VALUES (?1, ?2)")?
                .execute([meta_key(id), value(key)])?;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_matches_its_own_check_value_only() {
        let v = value(b"right");
        assert!(matches(b"right", &v));
        assert!(!matches(b"rigth", &v));
        // Bound to the tag: not the HMAC of anything else a record carries.
        assert_ne!(v, hex::encode(Mac::keyed(b"right").digest(&[b""])));
    }

    #[test]
    fn a_mismatch_names_the_key_and_what_to_do() {
        let e = mismatch("k1", "BATON_AUDIT_KEY").to_string();
        assert!(e.contains("`k1`") && e.contains("mistyped"), "{e}");
        assert!(e.contains("baton audit rotate"), "{e}");
        assert!(mismatch("k1", "x").is_usage());
    }
}

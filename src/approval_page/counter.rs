//! The last signature counter recorded for a passkey: the highest counter of the
//! passkey signatures on the audit chain (every run's signed decisions and signed
//! asks' answers) made by that key. A new assertion must carry a higher one
//! (`signing::check_counter`), so an assertion accepted once, or one from a cloned
//! authenticator, is refused; a passkey that keeps no counter (always 0) is not held
//! to it. The chain is the record: no second table to keep in step with it.
use crate::store::{Store, StoreError};

/// Rows read at a time.
const PAGE: usize = 1_000;

/// The highest counter of `key`'s (`SHA256:…`) passkey signatures on the chain, or
/// `None` when it has none.
pub(super) fn last_counter(store: &Store, key: &str) -> Result<Option<u32>, StoreError> {
    let mut last = None;
    let mut after = 0;
    loop {
        let rows = store.audit_after(after, PAGE)?;
        let Some(end) = rows.last() else {
            return Ok(last);
        };
        after = end.id;
        // Only a row that names the key can hold its signature: the rest are not parsed.
        for row in rows.iter().filter(|r| r.details.contains(key)) {
            if let Some(counter) = counter_of(&row.details, key) {
                last = last.max(Some(counter));
            }
        }
    }
}

/// The counter of the passkey signature by `key` that a row's details hold.
fn counter_of(details: &str, key: &str) -> Option<u32> {
    let d: serde_json::Value = serde_json::from_str(details).ok()?;
    let sig = d.get("signature")?;
    if sig.get("key")?.as_str()? != key {
        return None;
    }
    let (signed_by, counter) = crate::signing::passkey_counter(sig.get("signature")?.as_str()?)?;
    (signed_by == key).then_some(counter)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = include_str!("../../crates/signing/tests/vectors/good.sig");

    #[test]
    fn a_row_gives_the_counter_of_its_key_s_passkey_signature_only() {
        let (key, _) = crate::signing::passkey_counter(GOOD).unwrap();
        let row = |k: &str| {
            serde_json::json!({ "signature": { "key": k, "signature": GOOD } }).to_string()
        };
        assert_eq!(counter_of(&row(&key), &key), Some(2));
        // A row naming the key beside another key's signature gives nothing.
        assert_eq!(counter_of(&row("SHA256:other"), "SHA256:other"), None);
        assert_eq!(counter_of(&row(&key), "SHA256:other"), None);
        assert_eq!(counter_of("{}", &key), None);
        assert_eq!(counter_of("not json", &key), None);
    }
}

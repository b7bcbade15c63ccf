//! The cache's table: one entry per key, what a successful attempt left for later runs
//! (`engine::cache` decides, `engine::cache_files` keeps the products' contents in
//! `cache/objects/` beside the database). Also the store's salt for secrets in keys.
use super::{Store, StoreError, parent_dir};
use baton_model::Timestamp;
use rusqlite::{OptionalExtension, params};
use std::path::PathBuf;

pub use baton_model::CacheEntry;

const COLUMNS: &str = "key, workflow, step, run_id, outputs, products, created";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CacheEntry> {
    let outputs: String = r.get(4)?;
    let products: String = r.get(5)?;
    let products: Vec<(String, String)> = serde_json::from_str(&products).unwrap_or_default();
    Ok(CacheEntry {
        key: r.get(0)?,
        workflow: r.get(1)?,
        step: r.get(2)?,
        run_id: r.get(3)?,
        outputs: serde_json::from_str(&outputs).unwrap_or_default(),
        products: products
            .into_iter()
            .map(|(p, h)| (PathBuf::from(p), h))
            .collect(),
        created: Timestamp(r.get(6)?),
    })
}

/// What keys the HMAC of a secret value in a cache key (`engine::cache`): a private
/// store's salt (only its owner reads the store); in a group store the salt under this
/// account's own secret (`starter_seal`, 0600 in its state directory), which no other
/// member has, so a member who copies the store cannot confirm a guessed secret by
/// computing a key and finding its entry (issue 42). A group store's entries of steps
/// that hold a secret are thus each account's own.
fn secret_key(salt: Vec<u8>, account: Option<&super::starter_seal::AccountKey>) -> Vec<u8> {
    match account {
        Some(k) => k.derive(b"baton.cache_secrets\0", &salt).to_vec(),
        None => salt,
    }
}

impl Store {
    /// The key secret values enter cache keys under (see [`secret_key`]).
    pub fn cache_secret_key(&self) -> Result<Vec<u8>, StoreError> {
        let salt = self.cache_salt()?;
        Ok(secret_key(salt, self.account_key()?))
    }

    /// Where products' contents are kept, by their SHA-256 (not created here).
    pub fn cache_dir(&self) -> PathBuf {
        parent_dir(&self.path).join("cache")
    }

    /// The store's salt for secret values in cache keys: made once, at random.
    pub fn cache_salt(&self) -> Result<Vec<u8>, StoreError> {
        let fresh = hex::encode(rand::random::<[u8; 32]>());
        let r = (|| {
            self.conn.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('cache_salt', ?1)",
                params![fresh],
            )?;
            let v: String = self.conn.query_row(
                "SELECT value FROM meta WHERE key = 'cache_salt'",
                [],
                |r| r.get(0),
            )?;
            Ok(hex::decode(&v).unwrap_or_else(|_| v.into_bytes()))
        })();
        self.ctx(r)
    }

    pub fn cache_get(&self, key: &str) -> Result<Option<CacheEntry>, StoreError> {
        let r = self
            .conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM cache_entries WHERE key = ?1"),
                params![key],
                row,
            )
            .optional()
            .map_err(StoreError::from);
        self.ctx(r)
    }

    /// Record an entry; a newer one for the same key replaces it.
    pub fn cache_put(&self, e: &CacheEntry) -> Result<(), StoreError> {
        let products: Vec<(String, &str)> = e
            .products
            .iter()
            .map(|(p, h)| (p.to_string_lossy().into_owned(), h.as_str()))
            .collect();
        let r = self
            .conn
            .execute(
                &format!("INSERT OR REPLACE INTO cache_entries ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
                params![
                    e.key,
                    e.workflow,
                    e.step,
                    e.run_id,
                    serde_json::to_string(&e.outputs).unwrap_or_default(),
                    serde_json::to_string(&products).unwrap_or_default(),
                    e.created.0
                ],
            )
            .map(|_| ())
            .map_err(StoreError::from);
        self.ctx(r)
    }

    /// Every entry, newest first.
    pub fn cache_list(&self) -> Result<Vec<CacheEntry>, StoreError> {
        let r = (|| {
            let mut q = self.conn.prepare(&format!(
                "SELECT {COLUMNS} FROM cache_entries ORDER BY created DESC, key"
            ))?;
            let rows = q.query_map([], row)?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })()
        .map_err(StoreError::from);
        self.ctx(r)
    }

    /// Remove the entries made before `before` (all of them: `None`); returns how many.
    pub fn cache_remove(&self, before: Option<Timestamp>) -> Result<usize, StoreError> {
        let cutoff = before.map_or(i64::MAX, |t| t.0);
        let r = self
            .conn
            .execute(
                "DELETE FROM cache_entries WHERE created < ?1",
                params![cutoff],
            )
            .map_err(StoreError::from);
        self.ctx(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn entry(key: &str, created: i64) -> CacheEntry {
        CacheEntry {
            key: key.into(),
            workflow: "w".into(),
            step: "s".into(),
            run_id: "r".into(),
            outputs: BTreeMap::from([("v".to_string(), "1".to_string())]),
            products: vec![(PathBuf::from("build/app"), "ab".into())],
            created: Timestamp(created),
        }
    }

    /// Issue 42 point 6: in a group store the key of secrets in cache keys is the
    /// salt under the account's own secret, kept outside the store; in a private store
    /// the salt.
    #[test]
    fn a_group_store_keys_secrets_with_a_secret_outside_it() {
        use super::super::starter_seal::AccountKey;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("b.db")).unwrap();
        let salt = store.cache_salt().unwrap();
        assert_eq!(store.cache_secret_key().unwrap(), salt, "a private store");
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        for d in [&a, &b] {
            std::fs::create_dir(d).unwrap();
        }
        let alice = AccountKey::load_or_create(&a).unwrap();
        let bob = AccountKey::load_or_create(&b).unwrap();
        let ka = secret_key(salt.clone(), Some(&alice));
        assert_ne!(ka, salt, "not what the store holds");
        assert_ne!(
            ka,
            secret_key(salt.clone(), Some(&bob)),
            "each account's own"
        );
        assert_eq!(ka, secret_key(salt, Some(&alice)));
    }

    #[test]
    fn entries_read_back_and_clear_by_age() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("b.db")).unwrap();
        let salt = store.cache_salt().unwrap();
        assert_eq!(salt.len(), 32);
        assert_eq!(salt, store.cache_salt().unwrap());
        store.cache_put(&entry("old", 1_000)).unwrap();
        store.cache_put(&entry("new", 5_000)).unwrap();
        assert_eq!(store.cache_get("old").unwrap(), Some(entry("old", 1_000)));
        assert_eq!(store.cache_get("none").unwrap(), None);
        assert_eq!(store.cache_list().unwrap()[0].key, "new");
        assert_eq!(store.cache_remove(Some(Timestamp(2_000))).unwrap(), 1);
        assert_eq!(store.cache_list().unwrap().len(), 1);
        assert_eq!(store.cache_remove(None).unwrap(), 1);
        assert!(store.cache_list().unwrap().is_empty());
    }
}

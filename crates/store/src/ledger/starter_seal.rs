//! What a member of a group store cannot slip to another member's engine (issue 24,
//! finding 10): a run's record (its workflow file, text, params, starter) and its
//! events are rows every member can write, and the engine of the run's starter obeys
//! them with the starter's account. So in a group store the starter's engine seals
//! what it will rely on with a secret only that account holds (`seal.key`, 0600, in
//! the account's state directory beside its default store): each field of the run's
//! record when the run is created, and its events' head (the last event's seq and
//! chain hash, see [`super::event_chain`]) with every commit, in the same
//! transaction. Before the starter's engine takes the run over it checks both and
//! refuses (exit 3, naming what was altered) anything the seal does not cover.
//!
//! Separate from the audit key on purpose: every member who records on a keyed store
//! holds the audit key; only the starter holds the seal's. A private store is written
//! by its owner alone, so it is not sealed. Root can read the secret: root can forge.
use super::{Store, StoreError};
use hmac::{Hmac, Mac};
use rusqlite::{Connection, OptionalExtension, params};
use sha2::Sha256;
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

const KEY_LEN: usize = 32;
const MAC_LEN: usize = 32;
const FIELD_TAG: &[u8] = b"baton.starter_record\0";
const HEAD_TAG: &[u8] = b"baton.starter_head\0";
/// The secret's file name in the account's state directory.
pub const KEY_FILE: &str = "seal.key";

/// This account's secret (see the module's doc).
#[derive(Clone)]
pub struct AccountKey([u8; KEY_LEN]);

impl std::fmt::Debug for AccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccountKey(…)")
    }
}

/// The fields of a run's record the seal covers, each named as a refusal names it.
pub struct Record<'a> {
    pub run_id: &'a str,
    pub workflow: &'a str,
    pub source_path: &'a Path,
    pub source_text: &'a str,
    pub params_json: &'a str,
    pub operator: &'a str,
}

impl Record<'_> {
    fn fields(&self) -> [(&'static str, std::borrow::Cow<'_, str>); 5] {
        [
            ("workflow name", self.workflow.into()),
            ("workflow file path", self.source_path.to_string_lossy()),
            ("workflow text", self.source_text.into()),
            ("params", self.params_json.into()),
            ("starter", self.operator.into()),
        ]
    }
}

fn mac(key: &AccountKey, parts: &[&[u8]]) -> [u8; MAC_LEN] {
    // HMAC takes keys of any length: the error branch cannot happen.
    let Ok(mut m) = Hmac::<Sha256>::new_from_slice(&key.0) else {
        return [0; MAC_LEN];
    };
    for p in parts {
        m.update(&(p.len() as u64).to_be_bytes());
        m.update(p);
    }
    m.finalize().into_bytes().into()
}

/// The seal of a run's record: one MAC per field, in [`Record::fields`] order.
pub fn seal_record(key: &AccountKey, r: &Record<'_>) -> Vec<u8> {
    r.fields()
        .iter()
        .flat_map(|(name, value)| {
            mac(
                key,
                &[
                    FIELD_TAG,
                    r.run_id.as_bytes(),
                    name.as_bytes(),
                    value.as_bytes(),
                ],
            )
        })
        .collect()
}

/// The record's fields the stored seal does not cover (all of them for a seal of
/// another length: made by another key or written by hand).
pub fn altered(key: &AccountKey, r: &Record<'_>, stored: &[u8]) -> Vec<&'static str> {
    let fresh = seal_record(key, r);
    let names = r.fields().map(|(name, _)| name);
    if stored.len() != fresh.len() {
        return names.to_vec();
    }
    names
        .into_iter()
        .zip(fresh.chunks(MAC_LEN).zip(stored.chunks(MAC_LEN)))
        .filter(|(_, (a, b))| a != b)
        .map(|(name, _)| name)
        .collect()
}

/// The seal of a run's events head: its last event's seq and chain hash.
pub fn seal_head(key: &AccountKey, run_id: &str, seq: u64, hash: &[u8]) -> [u8; MAC_LEN] {
    mac(
        key,
        &[HEAD_TAG, run_id.as_bytes(), &seq.to_be_bytes(), hash],
    )
}

/// Why the starter's engine will not act on a run: `what` was not sealed by it.
fn unproven(run_id: &str, what: String) -> StoreError {
    StoreError::Unproven {
        run_id: run_id.to_string(),
        what,
    }
}

impl AccountKey {
    /// A key for `purpose` (a tag ending in NUL) derived from this account's secret and
    /// `data`: what no one without this account's secret can compute.
    pub(crate) fn derive(&self, purpose: &[u8], data: &[u8]) -> [u8; MAC_LEN] {
        mac(self, &[purpose, data])
    }

    /// The secret of this process's account, made (0600) on first use in `dir`, this
    /// account's state directory (`$XDG_STATE_HOME/baton`, else `~/.local/state/baton`).
    /// A file that is not this account's own, or that group or others can read, is
    /// refused: whoever can read it can seal for this account.
    pub fn load_or_create(dir: &Path) -> Result<AccountKey, StoreError> {
        let path = dir.join(KEY_FILE);
        match read_key(&path) {
            Err(StoreError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                make_key(dir, &path)?;
                read_key(&path)
            }
            other => other,
        }
    }
}

fn key_error(path: &Path, why: impl std::fmt::Display) -> StoreError {
    StoreError::AccountKey(format!(
        "{}: {why}; this account's engines seal the runs they start in a group store with it (baton makes it 0600 in your state directory: remove a bad one and baton makes a new one, but runs sealed with it can then only be read, not driven)",
        path.display()
    ))
}

fn read_key(path: &Path) -> Result<AccountKey, StoreError> {
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| StoreError::io(path, e))?;
    let meta = f.metadata().map_err(|e| StoreError::io(path, e))?;
    let me = nix::unistd::geteuid().as_raw();
    if !meta.is_file() || meta.uid() != me {
        return Err(key_error(path, "not a file of this account's own"));
    }
    if meta.mode() & 0o077 != 0 {
        return Err(key_error(
            path,
            format_args!(
                "mode {:04o}: others could read it (`chmod 600` it)",
                meta.mode() & 0o7777
            ),
        ));
    }
    let mut key = [0u8; KEY_LEN];
    let mut rest = Vec::new();
    f.read_exact(&mut key)
        .and_then(|()| f.read_to_end(&mut rest))
        .map_err(|e| key_error(path, format_args!("not a {KEY_LEN}-byte secret ({e})")))?;
    if !rest.is_empty() {
        return Err(key_error(path, format_args!("not a {KEY_LEN}-byte secret")));
    }
    Ok(AccountKey(key))
}

/// Write a new secret whole: under a temporary name, then linked into place (two
/// engines making it at once: the first link wins, the other reads that one).
fn make_key(dir: &Path, path: &Path) -> Result<(), StoreError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| key_error(dir, e))?;
    let tmp = dir.join(format!(".{KEY_FILE}.{:032x}", rand::random::<u128>()));
    let written = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW)
            .mode(0o600)
            .open(&tmp)?;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        f.write_all(&rand::random::<[u8; KEY_LEN]>())?;
        f.sync_all()?;
        match std::fs::hard_link(&tmp, path) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(e),
            _ => Ok(()),
        }
    })();
    let _ = std::fs::remove_file(&tmp);
    written.map_err(|e| key_error(path, e))
}

/// This account's state directory: where its default store and its secret live.
/// Without `$HOME`, the account's home from the password database (never a path
/// relative to wherever baton runs).
pub fn state_dir() -> PathBuf {
    crate::paths::state_dir_from(|k| {
        std::env::var_os(k).or_else(|| {
            (k == "HOME")
                .then(|| nix::unistd::User::from_uid(nix::unistd::geteuid()))
                .and_then(|u| u.ok().flatten())
                .map(|u| u.dir.into_os_string())
        })
    })
}

/// Record the seal of a new run's record (in the transaction that creates it).
pub(crate) fn insert(tx: &Connection, key: &AccountKey, r: &Record<'_>) -> Result<(), StoreError> {
    tx.prepare_cached("INSERT INTO run_seals (run_id, record) VALUES (?1, ?2)")?
        .execute(params![r.run_id, seal_record(key, r)])?;
    Ok(())
}

/// Seal the run's new events head (in the transaction that appends the events).
pub(crate) fn update_head(
    tx: &Connection,
    key: &AccountKey,
    run_id: &str,
    seq: u64,
    hash: &[u8],
) -> Result<(), StoreError> {
    tx.prepare_cached("UPDATE run_seals SET head_seq = ?2, head = ?3 WHERE run_id = ?1")?
        .execute(params![
            run_id,
            seq as i64,
            &seal_head(key, run_id, seq, hash)[..]
        ])?;
    Ok(())
}

/// A `run_seals` row: the record's seal, the sealed head's seq and its seal.
type StoredSeal = (Vec<u8>, Option<i64>, Option<Vec<u8>>);

impl Store {
    /// This account's secret, read once per store (made on first use).
    pub(crate) fn account_key(&self) -> Result<Option<&AccountKey>, StoreError> {
        if !self.shared {
            return Ok(None);
        }
        if self.account.get().is_none() {
            let key = AccountKey::load_or_create(&state_dir())?;
            let _ = self.account.set(key);
        }
        Ok(self.account.get())
    }

    /// This store's account secret given, not read from this process's state
    /// directory. For the simulator only (`crates/sim`, one process acting as several
    /// accounts, each by its thread's file-system identity, whose engines of a member
    /// each hold that member's own secret); baton itself never calls it. A caller can
    /// only give a key it could read (`AccountKey::load_or_create`). `false` when a
    /// secret was read or given already: that one is kept.
    #[doc(hidden)]
    #[must_use]
    pub fn use_account_key(&self, key: AccountKey) -> bool {
        self.account.set(key).is_ok()
    }

    /// Before this account's engine takes run `r` over in a group store: its record and
    /// its events are what this account's engines sealed, or it is refused (`Unproven`,
    /// naming what was altered). Nothing to check in a private store.
    pub fn check_sealed(&self, r: &crate::records::RunRecord) -> Result<(), StoreError> {
        let Some(key) = self.account_key()? else {
            return Ok(());
        };
        let run_id = r.id.as_str();
        let record = Record {
            run_id,
            workflow: &r.workflow,
            source_path: &r.source_path,
            source_text: &r.source_text,
            params_json: &r.params_json,
            operator: &r.operator,
        };
        let check = super::in_read_snapshot(&self.conn, |c| {
            let seal: Option<StoredSeal> = c
                .prepare_cached("SELECT record, head_seq, head FROM run_seals WHERE run_id = ?1")?
                .query_row([run_id], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
                .optional()?;
            let Some((stored, head_seq, head)) = seal else {
                return Err(unproven(
                    run_id,
                    "record carries no seal of its starter's engine (started by an older baton, or the seal was removed)".into(),
                ));
            };
            let changed = altered(key, &record, &stored);
            if !changed.is_empty() {
                return Err(unproven(
                    run_id,
                    format!(
                        "{} {} not what the starter's engine recorded (or this account's secret {} is not the one it sealed with)",
                        changed.join(", "),
                        if changed.len() == 1 { "is" } else { "are" },
                        state_dir().join(KEY_FILE).display()
                    ),
                ));
            }
            let last = linked_head(c, run_id)?;
            let sealed = head_seq.zip(head);
            let holds = match (&last, &sealed) {
                (None, None) => true,
                (Some((seq, hash)), Some((s, mac))) => {
                    *seq as i64 == *s && seal_head(key, run_id, *seq, hash)[..] == mac[..]
                }
                _ => false,
            };
            if !holds {
                return Err(unproven(
                    run_id,
                    format!(
                        "events are not those its starter's engine last recorded (sealed up to event {}, the store holds up to event {})",
                        sealed.as_ref().map_or(0, |(s, _)| *s),
                        last.as_ref().map_or(0, |(s, _)| *s)
                    ),
                ));
            }
            Ok(())
        });
        self.ctx(check)
    }
}

/// The run's last event (seq, chain hash) after checking that every event links to
/// the one before (`event_chain`): its hash then stands for the whole history.
fn linked_head(c: &Connection, run_id: &str) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
    use super::event_chain::Check;
    let keys = super::audit::AuditKeys::default();
    let mut check = Check::new(run_id, &keys);
    let mut st = c.prepare_cached(&format!(
        "SELECT {} FROM {} ORDER BY e.id",
        super::rows::CHAIN_COLUMNS,
        super::rows::RUN_EVENTS
    ))?;
    let mut rows = st.query(params![run_id])?;
    let mut last = None;
    while let Some(row) = rows.next()? {
        let ev = super::rows::stored(row)?;
        // Links only: the head mark is the audit key's business, not the seal's.
        let mut unmarked = ev;
        unmarked.head_mac = None;
        check.push(unmarked).map_err(|b| {
            unproven(
                run_id,
                format!("events do not link at event {}: {}", b.seq, b.reason),
            )
        })?;
        last = Some((ev.seq, ev.hash.unwrap_or_default().to_vec()));
    }
    Ok(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> AccountKey {
        AccountKey([b; KEY_LEN])
    }

    fn record<'a>(text: &'a str, path: &'a Path) -> Record<'a> {
        Record {
            run_id: "R1",
            workflow: "deploy",
            source_path: path,
            source_text: text,
            params_json: "{}",
            operator: "alice",
        }
    }

    #[test]
    fn a_seal_names_each_altered_field_and_fits_one_key() {
        let path = Path::new("/home/alice/w.toml");
        let sealed = seal_record(&key(1), &record("run = 'true'", path));
        assert!(altered(&key(1), &record("run = 'true'", path), &sealed).is_empty());
        let evil = Path::new("/tmp/bob.toml");
        assert_eq!(
            altered(&key(1), &record("run = 'evil'", evil), &sealed),
            ["workflow file path", "workflow text"]
        );
        let mut r = record("run = 'true'", path);
        r.operator = "bob";
        assert_eq!(altered(&key(1), &r, &sealed), ["starter"]);
        // Another account's key, or a seal cut short: nothing holds.
        assert_eq!(
            altered(&key(2), &record("run = 'true'", path), &sealed).len(),
            5
        );
        assert_eq!(
            altered(&key(1), &record("run = 'true'", path), &sealed[..40]).len(),
            5
        );
    }

    #[test]
    fn a_head_seal_binds_run_seq_and_hash() {
        let h = seal_head(&key(1), "R1", 3, &[7; 32]);
        assert_eq!(h, seal_head(&key(1), "R1", 3, &[7; 32]));
        assert_ne!(h, seal_head(&key(1), "R2", 3, &[7; 32]));
        assert_ne!(h, seal_head(&key(1), "R1", 4, &[7; 32]));
        assert_ne!(h, seal_head(&key(1), "R1", 3, &[8; 32]));
        assert_ne!(h, seal_head(&key(2), "R1", 3, &[7; 32]));
    }

    #[test]
    fn the_secret_is_made_once_0600_and_refused_when_others_can_read_it() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state").join("baton");
        let a = AccountKey::load_or_create(&state).unwrap();
        let b = AccountKey::load_or_create(&state).unwrap();
        assert_eq!(a.0, b.0, "made once, then read");
        let path = state.join(KEY_FILE);
        let mode = std::fs::metadata(&path).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o600);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let e = AccountKey::load_or_create(&state).unwrap_err().to_string();
        assert!(e.contains("others could read it"), "{e}");
        // A symlink in its place is not followed.
        std::fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink(dir.path().join("elsewhere"), &path).unwrap();
        std::fs::write(dir.path().join("elsewhere"), [0u8; KEY_LEN]).unwrap();
        assert!(AccountKey::load_or_create(&state).is_err());
    }
}

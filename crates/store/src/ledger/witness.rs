//! The witness (issue 24, finding 14): every keyed head is also appended to a file
//! outside the database, so that a rollback shows.
//!
//! A chain shows what was changed in it, not what was taken off its end together with
//! the head that sealed it: someone who can write the database but has not the key can
//! cut the newest audit rows (or a whole run, or a run's newest events) and put back a
//! head or mark read from the file earlier, which still holds. So each keyed write also
//! appends the heads it left to the witness, one JSON line each:
//! `{"head":"audit","id":N,"hash":H,"key_id":K,"mac":M}` (the audit chain's head) and
//! `{"head":"run","run":R,"seq":S,"hash":H,"key_id":K,"mac":M}` (a run's mark, hashes
//! in hex). They are appended once the transaction has committed: a witness is never
//! ahead of the store (a crash in between leaves it behind, which hides nothing older).
//!
//! `baton audit verify` (the whole store) and every takeover of a run (`resume`, a
//! command that drives it: the run and the chain) compare the store with the newest
//! witnessed heads: the chain must still reach the newest witnessed row, with a hash
//! witnessed for it (`baton audit rotate` re-keys rows, and witnesses them again); each
//! witnessed run must still reach its newest witnessed event with that event's hash, or
//! have been deleted as `runs rm` and `gc` do (a `run_deleted` row). A line counts only
//! when its MAC holds under a key at hand: lines written without the key, a torn last
//! line and lines under a retired key are skipped, so appending to a witness cannot
//! raise a false alarm, and without a key a witness proves nothing.
//!
//! Where: `BATON_AUDIT_WITNESS` (or `--witness` of the audit commands), else
//! `<database>.witness` beside it; opened `O_APPEND | O_NOFOLLOW`, created with the
//! database file's mode. Beside the database it catches whoever edits the database only,
//! or puts an earlier copy of it back; whoever can also rewrite the witness defeats it
//! there, so against them it belongs where they cannot write (another machine's mount,
//! an append-only file: `chattr +a`).
use super::audit::{AuditHead, AuditKeys, AuditVerdict, RUN_DELETED};
use super::event_chain::{Mark, mark_holds};
use super::{Store, StoreError};
use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The variable naming the witness file.
pub const WITNESS_ENV: &str = "BATON_AUDIT_WITNESS";

/// One witnessed head (a line of the file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "head", rename_all = "snake_case")]
pub enum Entry {
    Audit {
        id: i64,
        hash: String,
        key_id: String,
        mac: String,
    },
    Run {
        run: String,
        seq: u64,
        hash: String,
        key_id: String,
        mac: String,
    },
}

impl Entry {
    /// The line of a chain head; `None` for one without a key (nothing to witness).
    pub(crate) fn of_head(h: &AuditHead) -> Option<Entry> {
        let (key_id, mac) = h.keyed.clone()?;
        Some(Entry::Audit {
            id: h.id,
            hash: h.hash.clone(),
            key_id,
            mac,
        })
    }

    /// The line of run `run`'s mark on event (`seq`, `hash`); `None` without a key.
    pub(crate) fn of_mark(run: &str, seq: u64, hash: &[u8], m: &Mark) -> Option<Entry> {
        Some(Entry::Run {
            run: run.to_string(),
            seq,
            hash: hex::encode(hash),
            key_id: m.key_id.clone()?,
            mac: hex::encode(&m.mac),
        })
    }

    /// Whether its MAC holds under a key at hand.
    fn holds(&self, keys: &AuditKeys) -> bool {
        match self {
            Entry::Audit {
                id,
                hash,
                key_id,
                mac,
            } => {
                let head = AuditHead {
                    id: *id,
                    hash: hash.clone(),
                    keyed: Some((key_id.clone(), mac.clone())),
                };
                head.mac_holds(keys) == Some(true)
            }
            Entry::Run {
                run,
                seq,
                hash,
                key_id,
                mac,
            } => match (hex::decode(hash), hex::decode(mac)) {
                (Ok(hash), Ok(mac)) => {
                    mark_holds(run, *seq, &hash, key_id, &mac, keys) == Some(true)
                }
                _ => false,
            },
        }
    }
}

/// The newest heads a witness saw, from its lines that hold.
#[derive(Debug, Default, PartialEq)]
pub struct Newest {
    /// The newest chain row seen, and every hash seen for it (a rotation re-keys it).
    pub audit: Option<(i64, Vec<String>)>,
    /// Each run's newest event seen, and its hash.
    pub runs: BTreeMap<String, (u64, Vec<u8>)>,
}

/// Read the witness text: pure.
pub fn newest(text: &str, keys: &AuditKeys) -> Newest {
    let mut n = Newest::default();
    let entries = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Entry>(l).ok())
        .filter(|e| e.holds(keys));
    for e in entries {
        match e {
            Entry::Audit { id, hash, .. } => match &mut n.audit {
                Some((top, hashes)) if *top == id => {
                    if !hashes.contains(&hash) {
                        hashes.push(hash);
                    }
                }
                Some((top, _)) if *top > id => {}
                _ => n.audit = Some((id, vec![hash])),
            },
            Entry::Run { run, seq, hash, .. } => {
                let Ok(hash) = hex::decode(hash) else {
                    continue;
                };
                let top = n.runs.entry(run).or_insert((0, Vec::new()));
                if seq >= top.0 {
                    *top = (seq, hash);
                }
            }
        }
    }
    n
}

/// Where the store is behind its witness, and what is missing.
#[derive(Debug, Clone, PartialEq)]
pub enum Rollback {
    /// The audit chain, at the newest row the witness saw.
    Chain { row_id: i64, reason: String },
    /// A run's history, at the newest event the witness saw of it.
    Run {
        run_id: String,
        seq: u64,
        reason: String,
    },
}

impl From<Rollback> for AuditVerdict {
    fn from(r: Rollback) -> AuditVerdict {
        match r {
            Rollback::Chain { row_id, reason } => AuditVerdict::Broken {
                row_id,
                run_id: None,
                reason,
            },
            Rollback::Run {
                run_id,
                seq,
                reason,
            } => AuditVerdict::HistoryBroken {
                run_id,
                seq,
                reason,
            },
        }
    }
}

impl From<Rollback> for StoreError {
    fn from(r: Rollback) -> StoreError {
        match r {
            Rollback::Chain { row_id, reason } => {
                StoreError::RolledBack(format!("the audit chain breaks at row {row_id}: {reason}"))
            }
            Rollback::Run {
                run_id,
                seq,
                reason,
            } => StoreError::Tampered {
                run_id,
                seq,
                reason,
            },
        }
    }
}

/// What the store holds of a run the witness saw.
#[derive(Debug, Clone, PartialEq)]
pub enum RunFound {
    /// The run is gone; `deleted`: a `run_deleted` row records it.
    Gone { deleted: bool },
    /// Its last event, and the hash of the witnessed event if it is still there.
    Events { last: u64, hash_at: Option<Vec<u8>> },
}

/// The chain against the newest row the witness saw: `last` is the chain's last row,
/// `hash_at` the stored hash of the witnessed row. Pure.
pub fn judge_chain(
    seen: &(i64, Vec<String>),
    last: i64,
    hash_at: Option<&str>,
    witness: &Path,
) -> Option<Rollback> {
    let (id, hashes) = seen;
    let reason = match hash_at {
        None => format!(
            "rows {}..={id} are missing: the witness {} saw the chain reach row {id}, so it was rolled back (rows cut off and an earlier head put back)",
            last + 1,
            witness.display()
        ),
        Some(h) if hashes.iter().any(|s| s == h) => return None,
        Some(_) => format!(
            "row {id} is not the row the witness {} saw there: the chain was rolled back and written again",
            witness.display()
        ),
    };
    Some(Rollback::Chain {
        row_id: *id,
        reason,
    })
}

/// A run against the newest event the witness saw of it (`seq`, `hash`). Pure.
pub fn judge_run(
    run: &str,
    seq: u64,
    hash: &[u8],
    found: &RunFound,
    witness: &Path,
) -> Option<Rollback> {
    let w = witness.display();
    let reason = match found {
        RunFound::Gone { deleted: true } => return None,
        RunFound::Events {
            hash_at: Some(h), ..
        } if h[..] == *hash => return None,
        RunFound::Gone { deleted: false } => format!(
            "the run is gone, and no `{RUN_DELETED}` row records its deletion: the witness {w} saw it reach event {seq}; it was removed behind the store's back (a rollback)"
        ),
        RunFound::Events {
            last,
            hash_at: None,
        } => format!(
            "events {}..={seq} are missing: the witness {w} saw the run reach event {seq}, so its history was rolled back (events cut off and an earlier mark put back)",
            last + 1
        ),
        RunFound::Events { .. } => format!(
            "event {seq} is not the event the witness {w} saw there: the history was rolled back and written again"
        ),
    };
    Some(Rollback::Run {
        run_id: run.to_string(),
        seq,
        reason,
    })
}

/// The store (in the caller's snapshot) against what the witness saw: the chain, then
/// every witnessed run (or only `only`). The first rollback, if any.
pub(crate) fn check(
    c: &Connection,
    seen: &Newest,
    only: Option<&str>,
    witness: &Path,
) -> Result<Option<Rollback>, StoreError> {
    if let Some(top) = &seen.audit {
        let last: i64 = c.query_row("SELECT coalesce(max(id), 0) FROM audit", [], |r| r.get(0))?;
        let hash: Option<String> = c
            .prepare_cached("SELECT hash FROM audit WHERE id = ?1")?
            .query_row([top.0], |r| r.get(0))
            .optional()?;
        if let Some(v) = judge_chain(top, last, hash.as_deref(), witness) {
            return Ok(Some(v));
        }
    }
    for (run, (seq, hash)) in &seen.runs {
        if only.is_some_and(|o| o != run) {
            continue;
        }
        if let Some(v) = judge_run(run, *seq, hash, &run_found(c, run, *seq)?, witness) {
            return Ok(Some(v));
        }
    }
    Ok(None)
}

fn run_found(c: &Connection, run: &str, seq: u64) -> Result<RunFound, StoreError> {
    let key: Option<i64> = c
        .prepare_cached("SELECT key FROM runs WHERE id = ?1")?
        .query_row([run], |r| r.get(0))
        .optional()?;
    let Some(key) = key else {
        let deleted = c
            .prepare_cached("SELECT 1 FROM audit WHERE run_id = ?1 AND action = ?2 LIMIT 1")?
            .query_row([run, RUN_DELETED], |_| Ok(()))
            .optional()?
            .is_some();
        return Ok(RunFound::Gone { deleted });
    };
    let last = super::run_tail(c, key)?.map_or(0, |t| t.seq);
    let hash_at = c
        .prepare_cached("SELECT hash FROM events WHERE id = (?1 << 32) + ?2 AND run_id = ?3")?
        .query_row(rusqlite::params![key, seq as i64, run], |r| {
            r.get::<_, Option<Vec<u8>>>(0)
        })
        .optional()?
        .flatten();
    Ok(RunFound::Events { last, hash_at })
}

/// The witness file of a store.
#[derive(Debug)]
pub(crate) struct Witness {
    path: PathBuf,
    /// The mode it is created with: the database file's (0600, or 0660 in a group store).
    mode: u32,
    file: Option<File>,
}

impl Witness {
    /// `BATON_AUDIT_WITNESS`, else `<db>.witness` beside the database file (a symlink's
    /// target: where the database really is).
    pub(crate) fn for_db(db: &Path) -> Witness {
        let path = std::env::var_os(WITNESS_ENV)
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                let real = std::fs::canonicalize(db).unwrap_or_else(|_| db.to_path_buf());
                let mut p = real.into_os_string();
                p.push(".witness");
                PathBuf::from(p)
            });
        let mode = std::fs::metadata(db).map_or(0o600, |m| m.mode() & 0o660);
        Witness {
            path,
            mode,
            file: None,
        }
    }

    fn error(&self, source: std::io::Error) -> StoreError {
        StoreError::Witness {
            path: self.path.clone(),
            source,
        }
    }

    /// Open it for appending, once (before a keyed write, so that a witness that cannot
    /// be written refuses the write instead of following it).
    fn ready(&mut self) -> Result<&mut File, StoreError> {
        let f = match self.file.take() {
            Some(f) => f,
            None => OpenOptions::new()
                .append(true)
                .create(true)
                .mode(self.mode)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&self.path)
                .and_then(|f| self.share(f))
                .map_err(|e| self.error(e))?,
        };
        Ok(self.file.insert(f))
    }

    /// A witness this account made gets the database's mode whatever the umask: in a
    /// group store every member's engine appends to it.
    fn share(&self, f: File) -> std::io::Result<File> {
        let m = f.metadata()?;
        let me = nix::unistd::geteuid().as_raw();
        if m.uid() == me && m.mode() & 0o777 != self.mode {
            f.set_permissions(std::fs::Permissions::from_mode(self.mode))?;
        }
        Ok(f)
    }

    fn append(&mut self, entries: &[Entry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut text = String::new();
        for e in entries {
            text.push_str(&serde_json::to_string(e)?);
            text.push('\n');
        }
        // One write: lines of concurrent writers do not interleave.
        let r = self.ready()?.write_all(text.as_bytes());
        r.map_err(|e| self.error(e))
    }

    /// Its text; `None` when there is no witness file.
    fn read(&self) -> Result<Option<String>, StoreError> {
        let f = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&self.path);
        let mut f = match f {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            r => r.map_err(|e| self.error(e))?,
        };
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).map_err(|e| self.error(e))?;
        Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
    }
}

impl Store {
    /// Compare with the witness at `path` instead (`--witness`).
    pub fn set_witness(&mut self, path: PathBuf) {
        self.witness = Witness {
            path,
            mode: self.witness.mode,
            file: None,
        };
    }

    /// Where this store's witness is.
    pub fn witness_path(&self) -> &Path {
        &self.witness.path
    }

    /// Whether there is a witness to compare with, and a key to read it.
    pub fn witnessed(&self) -> bool {
        self.keys.configured() && self.witness.path.exists()
    }

    /// The newest heads the witness saw (nothing without a key or a witness file).
    pub(crate) fn newest_witnessed(&self) -> Result<Newest, StoreError> {
        if !self.keys.configured() {
            return Ok(Newest::default());
        }
        Ok(self
            .witness
            .read()?
            .map(|t| newest(&t, &self.keys))
            .unwrap_or_default())
    }

    /// Before a keyed write: the witness must be writable.
    pub(crate) fn witness_ready(&mut self) -> Result<(), StoreError> {
        if self.keys.signing.is_some() {
            self.witness.ready()?;
        }
        Ok(())
    }

    /// After a committed write: the keyed heads it left.
    pub(crate) fn witness(&mut self, entries: &[Entry]) -> Result<(), StoreError> {
        self.witness.append(entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str, secret: &str) -> AuditKeys {
        let (id, secret) = (id.to_string(), secret.to_string());
        AuditKeys::from_vars(move |n| match n {
            "BATON_AUDIT_KEY" => Some(secret.clone()),
            "BATON_AUDIT_KEY_ID" => Some(id.clone()),
            _ => None,
        })
    }

    fn line(e: Option<Entry>) -> String {
        serde_json::to_string(&e.unwrap()).unwrap() + "\n"
    }

    #[test]
    fn the_newest_lines_that_hold_count_and_nothing_else() {
        let k = key("k1", "s");
        let head =
            |id, hash: &str, k: &AuditKeys| line(Entry::of_head(&AuditHead::seal(id, hash, k)));
        let mark = |seq, hash: &[u8], k: &AuditKeys| {
            line(Entry::of_mark(
                "R",
                seq,
                hash,
                &Mark::seal("R", seq, hash, k),
            ))
        };
        let text = [
            head(2, "h2", &k),
            mark(5, b"e5", &k),
            head(3, "h3", &k),
            // Out of order (a slower writer), then a rotation's line for the same row.
            head(1, "h1", &k),
            head(3, "h3b", &key("k2", "t")),
            mark(3, b"e3", &k),
            // Forged without the key, under a guessed key, and a torn line.
            head(9, "h9", &key("k1", "guess")),
            mark(9, b"e9", &key("k1", "guess")),
            "{\"head\":\"audit\",\"id\":99".to_string(),
        ]
        .concat();
        let mut both = k.clone();
        both.verify.insert("k2".into(), b"t".to_vec());
        let n = newest(&text, &both);
        assert_eq!(
            n.audit,
            Some((3, vec!["h3".to_string(), "h3b".to_string()]))
        );
        assert_eq!(n.runs.get("R"), Some(&(5, b"e5".to_vec())));
        // Without the key nothing counts; without k2 its line does not.
        assert_eq!(newest(&text, &AuditKeys::default()), Newest::default());
        assert_eq!(newest(&text, &k).audit, Some((3, vec!["h3".to_string()])));
        // Heads without a key are never witnessed.
        assert!(Entry::of_head(&AuditHead::seal(1, "h", &AuditKeys::default())).is_none());
    }

    #[test]
    fn a_rollback_is_named_and_what_still_holds_is_not() {
        let w = Path::new("/w");
        let seen = (5, vec!["h5".to_string()]);
        assert_eq!(judge_chain(&seen, 5, Some("h5"), w), None);
        assert_eq!(judge_chain(&seen, 7, Some("h5"), w), None);
        let v = judge_chain(&seen, 3, None, w).unwrap();
        assert!(
            matches!(&v, Rollback::Chain { row_id: 5, reason } if reason.contains("rows 4..=5 are missing") && reason.contains("/w")),
            "{v:?}"
        );
        let v = judge_chain(&seen, 5, Some("other"), w).unwrap();
        assert!(matches!(&v, Rollback::Chain { row_id: 5, .. }), "{v:?}");

        let ok = RunFound::Events {
            last: 9,
            hash_at: Some(b"e7".to_vec()),
        };
        assert_eq!(judge_run("R", 7, b"e7", &ok, w), None);
        assert_eq!(
            judge_run("R", 7, b"e7", &RunFound::Gone { deleted: true }, w),
            None
        );
        let cut = RunFound::Events {
            last: 4,
            hash_at: None,
        };
        let v = judge_run("R", 7, b"e7", &cut, w).unwrap();
        assert!(
            matches!(&v, Rollback::Run { seq: 7, reason, .. } if reason.contains("events 5..=7 are missing")),
            "{v:?}"
        );
        let v = judge_run("R", 7, b"e7", &RunFound::Gone { deleted: false }, w).unwrap();
        assert!(
            matches!(&v, Rollback::Run { reason, .. } if reason.contains("no `run_deleted` row")),
            "{v:?}"
        );
        let other = RunFound::Events {
            last: 7,
            hash_at: Some(b"xx".to_vec()),
        };
        assert!(judge_run("R", 7, b"e7", &other, w).is_some());
    }
}

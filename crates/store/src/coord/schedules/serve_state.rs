//! What a serve keeps where no member of its store can write (issue 41 point 2): a file
//! of the serve's account, in its state directory (`$XDG_STATE_HOME/baton/serve/`,
//! 0700; the file 0600), one per store. It holds, per schedule, the last slot the serve
//! decided (its cursor: slot rows deleted from the store do not make it fire them
//! again) and the last pause or resume it proved (a row rewritten by hand does not
//! pause or resume it); and the rows it refused already, so that each is refused on
//! record once.
//!
//! A schedule it has no pause record of (a new file: the first start after an
//! upgrade, another `XDG_STATE_HOME`, the file removed) is seeded before any of its
//! slots is decided, failing safe (`model::schedule::seed_pause`): proofs serve once,
//! so a pause an earlier serve proved cannot be proved again, and it is honoured as
//! paused; only a resume this serve proves lifts it.
//!
//! Written by rename after each change, not synced: a `kill -9` loses nothing (the page
//! cache has it); a power cut may lose the last tick's cursor, and then the store's
//! slot rows, which the serve also reads, still hold it.
use super::{PauseRow, StoreError};
use baton_model::Timestamp;
use baton_model::schedule::PauseSaid;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// A pause or resume the serve proved (or seeded, for a schedule it had no record of).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Proved {
    pub paused: bool,
    pub by: String,
    pub at: i64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Kept {
    /// `"INDEX FILE"` → the last slot decided (ms).
    cursors: BTreeMap<String, i64>,
    /// `"INDEX FILE"` → the last pause or resume proved (or seeded).
    pauses: BTreeMap<String, Proved>,
    /// Rows refused already (`"INDEX FILE paused by at"`).
    refused: BTreeSet<String>,
    /// `"INDEX FILE"` → the cursor up to which missing slot rows were reported.
    reported: BTreeMap<String, i64>,
}

/// A serve's own record of its schedules (see the module's doc).
#[derive(Debug)]
pub struct ServeState {
    path: PathBuf,
    kept: Kept,
    /// Where the audit chain's pauses stood (`Store::chain_pause_mark`) when this serve
    /// last checked every schedule against them; not kept in the file: a serve checks
    /// them all once when it starts.
    chain_checked: Option<Option<i64>>,
}

fn key(file: &str, index: u32) -> String {
    format!("{index} {file}")
}

fn row_key(p: &PauseRow) -> String {
    format!("{} {} {} {}", key(&p.file, p.index), p.paused, p.by, p.at.0)
}

impl ServeState {
    /// This account's record for the store at `db` (in `state_dir`), empty if none yet.
    pub fn open(state_dir: &Path, db: &Path) -> Result<ServeState, StoreError> {
        let real = std::fs::canonicalize(db).unwrap_or_else(|_| db.to_path_buf());
        let digest = hex::encode(Sha256::digest(real.as_os_str().as_encoded_bytes()));
        let path = state_dir
            .join("serve")
            .join(format!("{}.json", &digest[..32]));
        let kept = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                StoreError::io(
                    &path,
                    std::io::Error::other(format!(
                        "not a serve's record ({e}); move it away to start over (the serve then goes by the store's slot rows)"
                    )),
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Kept::default(),
            Err(e) => return Err(StoreError::io(&path, e)),
        };
        Ok(ServeState {
            path,
            kept,
            chain_checked: None,
        })
    }

    /// The last slot this serve decided for a schedule.
    pub fn cursor(&self, file: &str, index: u32) -> Option<Timestamp> {
        self.kept
            .cursors
            .get(&key(file, index))
            .map(|t| Timestamp(*t))
    }

    /// A slot decided: the schedule's cursor moves to it (never back).
    pub fn advance(&mut self, file: &str, index: u32, slot: Timestamp) {
        let c = self.kept.cursors.entry(key(file, index)).or_insert(slot.0);
        *c = (*c).max(slot.0);
    }

    /// Whether the missing slot rows up to `through` were reported already.
    pub fn reported_already(&self, file: &str, index: u32, through: Timestamp) -> bool {
        self.kept
            .reported
            .get(&key(file, index))
            .is_some_and(|r| *r >= through.0)
    }

    /// Whether the missing slot rows up to `through` were reported already; marks them so.
    pub fn report_once(&mut self, file: &str, index: u32, through: Timestamp) -> bool {
        let r = self
            .kept
            .reported
            .entry(key(file, index))
            .or_insert(i64::MIN);
        if *r >= through.0 {
            return false;
        }
        *r = through.0;
        true
    }

    /// Whether the schedule is paused, as the last decision this serve proved says.
    pub fn paused(&self, file: &str, index: u32) -> bool {
        self.kept
            .pauses
            .get(&key(file, index))
            .is_some_and(|p| p.paused)
    }

    /// Whether this serve has a pause record of the schedule (proved, or seeded when it
    /// had none): until it has, none of its slots is decided.
    pub fn knows(&self, file: &str, index: u32) -> bool {
        self.kept.pauses.contains_key(&key(file, index))
    }

    /// Whether `row` says what this serve proved last (nothing to check). `false` for a
    /// schedule it has no record of: that one is seeded first (see the module's doc).
    pub fn agrees(&self, row: &PauseRow) -> bool {
        let proved = self.kept.pauses.get(&key(&row.file, row.index));
        proved.is_some_and(|p| p.paused == row.paused && p.by == row.by && p.at == row.at.0)
    }

    /// The decision this serve goes by for a schedule (proved or seeded), if it has one.
    pub fn goes_by(&self, file: &str, index: u32) -> Option<PauseSaid> {
        self.kept.pauses.get(&key(file, index)).map(|p| PauseSaid {
            paused: p.paused,
            by: p.by.clone(),
            at: Timestamp(p.at),
        })
    }

    /// Whether every schedule was checked against the audit chain's pauses as they
    /// stand at `mark` (`Store::chain_pause_mark`).
    pub fn chain_checked(&self, mark: Option<i64>) -> bool {
        self.chain_checked == Some(mark)
    }

    /// Every schedule checked against the audit chain's pauses as they stand at `mark`.
    pub fn checked_chain(&mut self, mark: Option<i64>) {
        self.chain_checked = Some(mark);
    }

    /// `row` proved: the schedule goes by it.
    pub fn proved(&mut self, row: &PauseRow) {
        self.keep(&row.file, row.index, &row.said());
    }

    /// The schedule goes by `decision` (proved, or seeded for a schedule it had no
    /// record of).
    pub fn keep(&mut self, file: &str, index: u32, decision: &PauseSaid) {
        self.kept.pauses.insert(
            key(file, index),
            Proved {
                paused: decision.paused,
                by: decision.by.clone(),
                at: decision.at.0,
            },
        );
    }

    /// Whether `row` was refused already.
    pub fn refused_already(&self, row: &PauseRow) -> bool {
        self.kept.refused.contains(&row_key(row))
    }

    /// Whether `row` was refused already; marks it so.
    pub fn refuse_once(&mut self, row: &PauseRow) -> bool {
        self.kept.refused.insert(row_key(row))
    }

    /// Write the record (a new file renamed over the old).
    pub fn save(&self) -> Result<(), StoreError> {
        let io = |e: std::io::Error| StoreError::io(&self.path, e);
        let dir = crate::paths::parent_dir(&self.path);
        match std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
        {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io(e)),
        }
        let text = serde_json::to_vec(&self.kept)?;
        let tmp = self
            .path
            .with_extension(format!("tmp{}", std::process::id()));
        let written = (|| {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .custom_flags(libc::O_NOFOLLOW)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(&text)?;
            std::fs::rename(&tmp, &self.path)
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written.map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(paused: bool, by: &str, at: i64) -> PauseRow {
        PauseRow {
            file: "/w/a.toml".into(),
            index: 1,
            paused,
            by: by.into(),
            reason: "r".into(),
            at: Timestamp(at),
        }
    }

    #[test]
    fn the_record_keeps_cursors_and_proved_pauses_across_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("b.db");
        let mut s = ServeState::open(dir.path(), &db).unwrap();
        assert_eq!(s.cursor("/w/a.toml", 1), None);
        assert!(!s.knows("/w/a.toml", 1));
        assert!(!s.agrees(&row(false, "", 0)), "no record: seeded first");
        assert!(!s.agrees(&row(true, "alice", 5)));
        assert!(!s.chain_checked(None), "checked once at the start");
        s.checked_chain(Some(3));
        assert!(s.chain_checked(Some(3)) && !s.chain_checked(Some(4)));
        assert_eq!(s.goes_by("/w/a.toml", 1), None);
        s.keep("/w/a.toml", 1, &row(false, "", 0).said());
        assert_eq!(s.goes_by("/w/a.toml", 1), Some(row(false, "", 0).said()));
        assert!(s.knows("/w/a.toml", 1) && !s.paused("/w/a.toml", 1));
        assert!(s.agrees(&row(false, "", 0)), "seeded: never paused");
        s.advance("/w/a.toml", 1, Timestamp(10));
        s.advance("/w/a.toml", 1, Timestamp(4));
        s.proved(&row(true, "alice", 5));
        assert!(s.refuse_once(&row(false, "", 0)));
        assert!(!s.refuse_once(&row(false, "", 0)));
        assert!(s.report_once("/w/a.toml", 1, Timestamp(10)));
        s.save().unwrap();
        let mut s = ServeState::open(dir.path(), &db).unwrap();
        assert_eq!(s.cursor("/w/a.toml", 1), Some(Timestamp(10)), "never back");
        assert!(s.paused("/w/a.toml", 1));
        assert!(s.agrees(&row(true, "alice", 5)));
        assert!(
            !s.agrees(&row(false, "", 0)),
            "a cleared row is not a resume"
        );
        assert!(!s.refuse_once(&row(false, "", 0)));
        assert!(!s.report_once("/w/a.toml", 1, Timestamp(10)));
        // Another store has its own record.
        let other = ServeState::open(dir.path(), &dir.path().join("c.db")).unwrap();
        assert_eq!(other.cursor("/w/a.toml", 1), None);
    }
}

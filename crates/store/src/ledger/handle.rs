//! The handle on one database: a connection and the keys that seal what it writes.
//! Every room adds its own methods to it (`impl Store` in the ledger, the read side,
//! coordination and the schema); the methods that open it are in the crate's root.
use super::audit::AuditKeys;
use super::{starter_seal, witness};
use crate::error::StoreError;
use crate::holder::lease_holder_name;
use crate::paths::{make_logs_root, parent_dir};
use rusqlite::{Connection, OptionalExtension};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub struct Store {
    pub(crate) conn: Connection,
    pub(crate) path: PathBuf,
    /// (device, inode) of the database file when opened (see `check_identity`).
    pub(crate) identity: (u64, u64),
    pub(crate) keys: AuditKeys,
    /// Whether the connection is at `synchronous = FULL` now.
    pub(crate) sync_full: bool,
    /// The key (`runs.key`) of each run this connection committed to: runs are never
    /// re-keyed, so `commit` looks a run up once, not on every batch (a deleted run
    /// is dropped from it; an engine that still commits to one fails on its foreign key).
    pub(crate) run_keys: HashMap<String, i64>,
    /// The runs this connection's engine drives, with its lease holder: their commits
    /// and heartbeats are fenced (`coord::fence`).
    pub(crate) fences: HashMap<String, crate::coord::fence::Fence>,
    /// Where keyed heads are also appended (see [`witness`]).
    pub(crate) witness: witness::Witness,
    /// A group store: its runs are sealed by their starters' engines (`starter_seal`).
    pub(crate) shared: bool,
    /// This account's secret, read on first need (`starter_seal`).
    pub(crate) account: std::sync::OnceLock<starter_seal::AccountKey>,
    /// An engine's checkpoints, run aside (`checkpoints`); `None`: this connection
    /// checkpoints itself, as SQLite does by default.
    pub(crate) checkpoints: Option<crate::checkpoints::Checkpointer>,
    /// What the last fenced commit read of its run and left, for the next one while
    /// nothing else writes the store (`commit::known`).
    pub(crate) known: Option<crate::commit::known::Known>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Fails with `Vanished` when the database file at the store's path is gone or is
    /// another file than the one opened (deleted, replaced, moved): whatever would be
    /// written now would be lost with the unlinked file.
    pub fn check_identity(&self) -> Result<(), StoreError> {
        use std::os::unix::fs::MetadataExt;
        match std::fs::metadata(&self.path) {
            Ok(m) if (m.dev(), m.ino()) == self.identity => Ok(()),
            _ => Err(StoreError::Vanished {
                path: self.path.clone(),
            }),
        }
    }

    /// Run this connection's checkpoints on a thread and a connection of their own
    /// (`checkpoints`): what an engine does, whose thread every step waits for.
    pub fn checkpoint_aside(&mut self) -> Result<(), StoreError> {
        if self.checkpoints.is_none() {
            let r = crate::checkpoints::Checkpointer::start(&self.conn, &self.path);
            self.checkpoints = Some(self.ctx(r)?);
        }
        Ok(())
    }

    /// After a commit: a checkpoint run aside starts once the WAL is long enough.
    pub(crate) fn after_commit(&self) {
        if let Some(c) = &self.checkpoints {
            c.after_commit(&self.conn);
        }
    }

    pub(crate) fn set_sync_full(&mut self, full: bool) -> Result<(), StoreError> {
        if self.sync_full != full {
            let level = if full { "FULL" } else { "NORMAL" };
            self.conn.pragma_update(None, "synchronous", level)?;
            self.sync_full = full;
        }
        Ok(())
    }

    /// `<db dir>/logs/<run_id>/`. Characters outside `[A-Za-z0-9_-]` become `_`. Only
    /// the run's engine makes it, its account's own, 0700, when it writes a log there
    /// (`own_files`): a reader never makes it, or another member could own it first.
    /// `logs` itself is made here when missing: 0700, or 3770 in a group store (every
    /// member makes their runs' directories in it; the sticky bit stops them from
    /// moving or removing each other's).
    pub fn log_dir(&self, run_id: &str) -> PathBuf {
        let dir = self.log_dir_path(run_id);
        if let Some(logs) = dir.parent() {
            let _ = make_logs_root(logs, self.shared);
        }
        dir
    }

    /// Where [`Store::log_dir`] is, without creating it.
    pub(crate) fn log_dir_path(&self, run_id: &str) -> PathBuf {
        let safe: String = run_id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        parent_dir(&self.path).join("logs").join(safe)
    }

    /// The conventional log file of one attempt: `<log_dir>/<step>.<attempt>.log`.
    pub fn log_path(&self, run_id: &str, step: &str, attempt: u32) -> PathBuf {
        self.log_dir(run_id)
            .join(baton_model::log_file_name(step, attempt))
    }

    /// The log files of a step's attempts that a reader reads, by attempt: those
    /// [`Store::attempt_logs`] names, each where its engine writes it
    /// ([`Store::log_path`]). A path the store records elsewhere is never followed: a
    /// group member can write the store, and a path of theirs (a device, a file of
    /// theirs or of the reader's) would be read as the step's output.
    pub fn attempt_log_files(
        &self,
        run_id: &str,
        step: &str,
    ) -> Result<Vec<(u32, PathBuf)>, StoreError> {
        Ok(self
            .attempt_logs(run_id, step)?
            .into_iter()
            .map(|(n, _)| (n, self.log_path(run_id, step, n)))
            .collect())
    }

    pub(crate) fn ctx<T>(&self, r: Result<T, StoreError>) -> Result<T, StoreError> {
        r.map_err(|e| e.classify(&self.path))
    }

    /// A `Busy` error names the engine driving the run, when that is another process
    /// (never this one: it is not the writer it waited for).
    pub(crate) fn ctx_run<T>(
        &self,
        run_id: &str,
        r: Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        match self.ctx(r) {
            Err(StoreError::Busy { holder: None }) => Err(StoreError::Busy {
                holder: self
                    .lease_holder(run_id)
                    .filter(|h| *h != lease_holder_name())
                    .map(|h| format!("run {run_id} is driven by {h}")),
            }),
            other => other,
        }
    }

    pub(crate) fn lease_holder(&self, run_id: &str) -> Option<String> {
        self.conn
            .query_row(
                "SELECT holder FROM leases WHERE run_id = ?1",
                [run_id],
                |r| r.get(0),
            )
            .optional()
            .ok()
            .flatten()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The audit keys this store signs and verifies with.
    pub fn audit_keys(&self) -> &AuditKeys {
        &self.keys
    }
}

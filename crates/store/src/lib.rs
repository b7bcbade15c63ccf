//! The durable store (docs/architecture.md, "The store"): SQLite in WAL mode, one connection per `Store`.
//!
//! Every transition reaches the store through [`Store::commit`]: one `BEGIN IMMEDIATE`
//! transaction per driver wake-up that appends the events, projects them into the
//! query tables and extends the audit chain, committed before the driver runs the
//! effects those events decided. Other processes talk to a running engine through the
//! `commands` table; one engine per run is ensured by a lease with a heartbeat.
mod access;
mod busy;
mod decisions;
mod delete;
mod error;
mod paths;
pub mod schema;
// The rooms (docs/architecture.md, "The store"): the ledger, the read side and
// coordination; with the schema, no circle among them.
pub mod coord;
pub mod ledger;
pub mod read;

// The paths these modules had before the rooms (`baton_store::audit`, …).
pub use coord::{asks, pool_slots, proof, schedules, slots, wake};
use coord::{cache, commands};
use ledger::append::{
    chain_write, insert_audit_row, run_key, run_tail, run_writer, set_chain_head,
};
pub use ledger::{audit, audit_signatures, event_chain, starter_seal, witness};
use ledger::{key_check, rotate, verify};
use read::{logtail, metric_totals, project, query, run_counts, summaries};

pub use audit::{AuditHead, AuditKeys, AuditRow, AuditVerdict};
pub use audit_signatures::SignaturesVerdict;
pub use cache::CacheEntry;
pub use commands::{Claimed, LeaseOutcome, holder_alive, lease_holder_name};
pub use decisions::STORE_SUBJECT;
pub use delete::DeletedRun;
pub use error::StoreError;
pub use ledger::rows::raw_audit_rows;
pub use logtail::{CUT_LINE_MARKER, read_tail};
pub use query::{RunChanges, RunsCursor};
pub use rotate::Rotated;
pub use verify::Sealed;

use baton_model::state_summary::{StateSummary, SummaryFold};
use baton_model::{Event, Timestamp};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use std::collections::HashMap;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a writer waits for another writer's transaction before giving up (Busy).
/// Write transactions are short (bounded batches), so a long wait means many writers
/// queued, not a stuck one: 20 engines on one store must all get their turn.
use paths::{create_whole, make_logs_root};
pub(crate) use paths::{default_path_from, parent_dir, state_dir_from};

pub const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Bytes of an attempt's output tail kept in the database.
pub const LOG_TAIL_MAX: usize = 8 * 1024;

/// What `create_run` records about a new run.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRun {
    pub id: String,
    pub workflow: String,
    pub source_path: PathBuf,
    /// The workflow file as it was when the run started (resume re-plans from it).
    pub source_text: String,
    /// Param values as JSON, secrets already masked.
    pub params_json: String,
    pub operator: String,
    pub started_at: Timestamp,
    /// Every step id in plan order: they are listed (pending) from the start, so
    /// `show` and `runs` count the whole run, not just the steps that moved.
    pub steps: Vec<String>,
}

pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// (device, inode) of the database file when opened (see `check_identity`).
    identity: (u64, u64),
    keys: AuditKeys,
    /// Whether the connection is at `synchronous = FULL` now.
    sync_full: bool,
    /// The key (`runs.key`) of each run this connection committed to: runs are never
    /// re-keyed, so `commit` looks a run up once, not on every batch (a deleted run
    /// is dropped from it; an engine that still commits to one fails on its foreign key).
    run_keys: HashMap<String, i64>,
    /// Where keyed heads are also appended (see [`witness`]).
    witness: witness::Witness,
    /// A group store: its runs are sealed by their starters' engines (`starter_seal`).
    shared: bool,
    /// This account's secret, read on first need (`starter_seal`).
    account: std::sync::OnceLock<starter_seal::AccountKey>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// `$BATON_DB`, else `$XDG_STATE_HOME/baton/baton.db`, else `~/.local/state/baton/baton.db`.
    pub fn default_path() -> PathBuf {
        default_path_from(|k| std::env::var_os(k))
    }

    /// Open (creating if needed) the database at `path`. Creates the directory 0700
    /// and the file 0600; refuses a file or directory that group or others can write,
    /// a non-SQLite file and a database from a newer baton. Audit keys come from the
    /// environment (see [`audit`]).
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let dir = parent_dir(path);
        if !dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&dir)
                .map_err(|e| StoreError::io(&dir, e))?;
        }
        access::check(&[&dir], path)?;
        if !path.exists() {
            create_whole(&dir, path)?;
        }
        // A database reached through a symlink lives in its target's directory: that
        // one must be as private as the link's, or whoever can write it can swap the file.
        if let Some(real_dir) = std::fs::canonicalize(path)
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf))
            && std::fs::canonicalize(&dir).ok().as_deref() != Some(real_dir.as_path())
        {
            access::check(&[&real_dir], path)?;
        }
        access::check(&[path], path)?;
        let conn = Connection::open(path).map_err(|e| StoreError::from(e).classify(path))?;
        Self::setup(conn, path, true)
    }

    /// Make a new store shared by the members of `group` (`baton store init --group`):
    /// its directory 2770 and files 0660 belong to the group, which is recorded in the
    /// store so that group write is accepted for that group only.
    pub fn init_group(path: &Path, group: &str) -> Result<Store, StoreError> {
        let name = access::make_group_store(&parent_dir(path), path, group)?;
        let conn = Connection::open(path).map_err(|e| StoreError::from(e).classify(path))?;
        let store = Self::setup(conn, path, true)?;
        store.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [access::GROUP_KEY, name.as_str()],
        )?;
        // Made now, shared: its first user is then not the one who decides its mode
        // (and one left by an earlier store here becomes the group's).
        let proofs = proof::prepare_dir(path, true)?;
        access::share_dir(&proofs, &name)?;
        let logs = parent_dir(path).join("logs");
        make_logs_root(&logs, true).map_err(|e| StoreError::io(&logs, e))?;
        Ok(store)
    }

    /// Whether the store is shared by a group (it keeps no log tails then).
    pub fn is_shared(&self) -> bool {
        self.shared
    }

    /// The group a group store is shared with (`None`: a private store).
    pub fn group(&self) -> Option<String> {
        access::recorded_group(&self.path)
    }

    /// Open a database that must already exist and hold something: what every command
    /// but `run` uses, so that a mistyped `--db` never creates an empty store, and a
    /// file truncated to 0 bytes is never taken for a new one.
    pub fn open_existing(path: &Path) -> Result<Store, StoreError> {
        match std::fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(StoreError::NoDatabase {
                path: path.to_path_buf(),
            }),
            Err(e) => Err(StoreError::io(path, e)),
            Ok(m) if m.len() == 0 => Err(StoreError::EmptyDatabase {
                path: path.to_path_buf(),
            }),
            Ok(_) => Store::open(path),
        }
    }

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

    /// Open an existing database without the right to write (SQLite's read-only flag):
    /// any write fails with `ReadOnly`.
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        if !path.exists() {
            return Err(StoreError::NotFound(format!("database {}", path.display())));
        }
        access::check(&[path], path)?;
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)
            .map_err(|e| StoreError::from(e).classify(path))?;
        Self::setup(conn, path, false)
    }

    fn setup(mut conn: Connection, path: &Path, write: bool) -> Result<Store, StoreError> {
        let keys = AuditKeys::from_env();
        let r = (|| {
            busy::wait_for_writers(&conn)?;
            // The commit path alone uses ~25 distinct statements; the default cache is 16.
            conn.set_prepared_statement_cache_capacity(128);
            // 16 MiB page cache: a 10,000-step run's working set stays in memory.
            conn.pragma_update(None, "cache_size", -16384)?;
            // First read of the file: a non-SQLite file fails here, untouched.
            let found = schema::version(&conn)?;
            if found > schema::SCHEMA_VERSION {
                return Err(StoreError::NewerVersion {
                    path: path.to_path_buf(),
                    found,
                    supported: schema::SCHEMA_VERSION,
                });
            }
            conn.pragma_update(None, "foreign_keys", true)?;
            if write {
                let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
                if !mode.eq_ignore_ascii_case("wal") {
                    return Err(StoreError::ReadOnly {
                        path: path.to_path_buf(),
                    });
                }
                // NORMAL in WAL mode: a commit survives a crash of the process (kill -9)
                // at once and a power loss once the WAL is synced; `commit` switches to
                // FULL for batches that carry decisions (see `Store::commit`).
                conn.pragma_update(None, "synchronous", "NORMAL")?;
                schema::migrate(&mut conn, &keys)?;
            } else if found < schema::SCHEMA_VERSION {
                return Err(StoreError::ReadOnly {
                    path: path.to_path_buf(),
                });
            }
            // A mistyped key is refused before it reads or writes anything.
            key_check::check_configured(&conn, &keys)
        })();
        r.map_err(|e| e.classify(path))?;
        // Read once: a group store is made so (`init_group`) and stays so.
        let shared = conn
            .query_row(
                "SELECT 1 FROM meta WHERE key = ?1",
                [access::GROUP_KEY],
                |_| Ok(()),
            )
            .optional()
            .map_err(|e| StoreError::from(e).classify(path))?
            .is_some();
        let identity = {
            use std::os::unix::fs::MetadataExt;
            let m = std::fs::metadata(path).map_err(|e| StoreError::io(path, e))?;
            (m.dev(), m.ino())
        };
        Ok(Store {
            conn,
            identity,
            path: path.to_path_buf(),
            keys,
            sync_full: false,
            run_keys: HashMap::new(),
            witness: witness::Witness::for_db(path),
            shared,
            account: std::sync::OnceLock::new(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The audit keys this store signs and verifies with.
    pub fn audit_keys(&self) -> &AuditKeys {
        &self.keys
    }

    /// Refused (`Keys`) when this process's keys may not extend run `run_id`'s history
    /// and the audit chain (see [`event_chain`]): what a driver's first commit would
    /// meet, said before the run is taken over. Refused as rolled back (`Tampered`,
    /// `RolledBack`) when the run or the chain is behind its witness ([`witness`]).
    pub fn check_keys(&self, run_id: &str) -> Result<(), StoreError> {
        let seen = self.newest_witnessed()?;
        let r = in_read_snapshot(&self.conn, |c| {
            run_writer(
                run_id,
                run_tail(c, run_key(c, run_id)?)?.as_ref(),
                &self.keys,
            )?;
            chain_write(c, &self.keys)?;
            match witness::check(c, &seen, Some(run_id), self.witness_path())? {
                None => Ok(()),
                Some(rollback) => Err(rollback.into()),
            }
        });
        self.ctx(r)
    }

    /// Replace the audit keys read from the environment at open.
    pub fn set_audit_keys(&mut self, keys: AuditKeys) {
        self.keys = keys;
    }

    /// Wait for other writers as an engine does (about [`busy::ENGINE_BUSY_TIMEOUT`]).
    pub fn wait_as_engine(&self) -> Result<(), StoreError> {
        let r = self
            .conn
            .busy_handler(Some(busy::wait_for_writer_as_engine))
            .map_err(StoreError::from);
        self.ctx(r)
    }

    /// How long a write waits for another writer before failing with `Busy`
    /// (default about `BUSY_TIMEOUT`, see `busy::wait_for_writer`).
    pub fn set_busy_timeout(&self, d: Duration) -> Result<(), StoreError> {
        let r = self.conn.busy_timeout(d).map_err(StoreError::from);
        self.ctx(r)
    }

    /// Cap the database at about `max_bytes` (a quota, via `PRAGMA max_page_count`):
    /// beyond it writes fail with `DiskFull` exactly as on a full disk. Returns the
    /// effective page limit (never below the pages already in use).
    pub fn set_size_limit(&self, max_bytes: u64) -> Result<u64, StoreError> {
        let r = (|| {
            let page: i64 = self.conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
            let pages = (max_bytes / page.max(1) as u64).max(1);
            let n: i64 =
                self.conn
                    .query_row(&format!("PRAGMA max_page_count = {pages}"), [], |r| {
                        r.get(0)
                    })?;
            Ok(n as u64)
        })();
        self.ctx(r)
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
    fn log_dir_path(&self, run_id: &str) -> PathBuf {
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

    pub(crate) fn ctx<T>(&self, r: Result<T, StoreError>) -> Result<T, StoreError> {
        r.map_err(|e| e.classify(&self.path))
    }

    /// A `Busy` error names the engine driving the run, when that is another process
    /// (never this one: it is not the writer it waited for).
    fn ctx_run<T>(&self, run_id: &str, r: Result<T, StoreError>) -> Result<T, StoreError> {
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

    fn lease_holder(&self, run_id: &str) -> Option<String> {
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

    /// Record a new run (state `pending`, no events yet; its summary: the listed
    /// steps, pending). Engines use [`Store::create_started_run`], which cannot leave a
    /// run behind without events.
    pub fn create_run(&mut self, run: &NewRun) -> Result<(), StoreError> {
        let seal = self.account_key()?;
        let pending = SummaryFold::new(run.steps.iter().map(String::as_str)).summary();
        let r = in_transaction(&self.conn, |tx| {
            insert_run(tx, run, seal)?;
            summaries::save(tx, &run.id, &pending)
        });
        self.ctx_run(&run.id, r)
    }

    /// Record a new run, its lease for `holder` and its first events in ONE
    /// transaction: a crash or a lock failure leaves either nothing or a run that
    /// replays (never one stuck in `pending` with no events). `summary`: the run's
    /// summary as of `events`, the core's own (`Core::state_summary`), saved as given.
    pub fn create_started_run(
        &mut self,
        run: &NewRun,
        holder: &str,
        events: &[Event],
        summary: &StateSummary,
    ) -> Result<(), StoreError> {
        let full = baton_model::history::holds_decision(events);
        let r = self.set_sync_full(full);
        self.ctx(r)?;
        self.witness_ready()?;
        let seal = self.account_key()?;
        let r = in_transaction(&self.conn, |tx| {
            insert_run(tx, run, seal)?;
            tx.prepare_cached(
                "INSERT INTO leases (run_id, holder, acquired_at, heartbeat_at, key_id) VALUES (?1, ?2, ?3, ?3, ?4)",
            )?
            .execute(params![
                run.id,
                holder,
                Timestamp::now().0,
                key_check::signing_id(&self.keys)
            ])?;
            let batch = Batch {
                events,
                logs: &[],
                summary: Summary::Given(summary),
            };
            commit_body(tx, &self.keys, seal, &run.id, None, batch)
        });
        let (key, heads) = self.ctx_run(&run.id, r)?;
        self.run_keys.insert(run.id.clone(), key);
        self.witness(&heads)
    }

    /// Append `events` to the run's log, project them and audit the decisions among
    /// them, in one `BEGIN IMMEDIATE` transaction (all or nothing).
    ///
    /// Durability: a batch with a decision (approval, rejection, cancel, … anything that
    /// goes to the audit chain) commits with `synchronous = FULL`, so it is on disk
    /// before anyone acts on it even across a power loss; plain transitions commit with
    /// `NORMAL` (durable against a crash of the process, which is what replay needs),
    /// which halves the cost of a 10,000-step run. A FULL commit also syncs every
    /// earlier commit in the WAL.
    ///
    /// For a writer without a core (tests, tools): the run's summary is folded again
    /// from everything the store holds of it, a cost that grows with the run. An
    /// engine hands its core's summary with [`Store::commit_with_logs`].
    pub fn commit(&mut self, run_id: &str, events: &[Event]) -> Result<(), StoreError> {
        self.commit_batch(run_id, events, &[], Summary::Replayed)
    }

    /// Append `events` as [`Store::commit`] does, recording attempts' logs (as
    /// [`Store::set_attempt_log`] does) in the same transaction, before the events:
    /// one commit per wake-up instead of one more per finished attempt. `summary` is
    /// the run's summary as of the batch's last event, the core's own
    /// (`Core::state_summary`, folded by its transitions): the store saves it as given, in
    /// the same transaction, and folds nothing (issue 40 point 4).
    pub fn commit_with_logs(
        &mut self,
        run_id: &str,
        events: &[Event],
        logs: &[AttemptLog],
        summary: &StateSummary,
    ) -> Result<(), StoreError> {
        self.commit_batch(run_id, events, logs, Summary::Given(summary))
    }

    fn commit_batch(
        &mut self,
        run_id: &str,
        events: &[Event],
        logs: &[AttemptLog],
        summary: Summary<'_>,
    ) -> Result<(), StoreError> {
        if events.is_empty() && logs.is_empty() {
            return Ok(());
        }
        // One stat per commit: nothing is written to (or acted on after writing to) a
        // database file that is no longer the store.
        self.check_identity()?;
        let full = baton_model::history::holds_decision(events);
        let r = self.set_sync_full(full);
        self.ctx(r)?;
        self.witness_ready()?;
        let known = self.run_keys.get(run_id).copied();
        let seal = self.account_key()?;
        let logs = self.shareable_logs(logs);
        let r = in_transaction(&self.conn, |tx| {
            let batch = Batch {
                events,
                logs: &logs,
                summary,
            };
            commit_body(tx, &self.keys, seal, run_id, known, batch)
        });
        let (key, heads) = self.ctx_run(run_id, r)?;
        if known.is_none() {
            self.run_keys.insert(run_id.to_string(), key);
        }
        self.witness(&heads)
    }

    fn set_sync_full(&mut self, full: bool) -> Result<(), StoreError> {
        if self.sync_full != full {
            let level = if full { "FULL" } else { "NORMAL" };
            self.conn.pragma_update(None, "synchronous", level)?;
            self.sync_full = full;
        }
        Ok(())
    }

    /// Record where an attempt's output went and its last bytes (bounded to `LOG_TAIL_MAX`).
    pub fn set_attempt_log(
        &mut self,
        run_id: &str,
        step: &str,
        attempt: u32,
        log_path: &Path,
        tail: &str,
    ) -> Result<(), StoreError> {
        let log = AttemptLog {
            step_id: step.to_string(),
            attempt,
            path: log_path.to_path_buf(),
            tail: tail.to_string(),
        };
        let logs = [log];
        let shared = self.shareable_logs(&logs);
        let log = &shared[0];
        // The attempt may be new: the run's summary counts it (folded again, once).
        let r = in_transaction(&self.conn, |tx| {
            put_attempt_log(tx, run_id, log)?;
            summaries::save(tx, run_id, &summaries::replayed(tx, run_id, &[])?.summary())
        });
        self.ctx_run(run_id, r)
    }

    /// Attempts' logs as the store may keep them: in a group store without their
    /// tails. A log file is its starter's alone (0600), and every member reads the
    /// store: its last lines are read from the file by whoever may (issue 42).
    fn shareable_logs<'a>(&self, logs: &'a [AttemptLog]) -> std::borrow::Cow<'a, [AttemptLog]> {
        if !self.shared || logs.is_empty() {
            return std::borrow::Cow::Borrowed(logs);
        }
        let mut owned = logs.to_vec();
        for l in &mut owned {
            l.tail.clear();
        }
        std::borrow::Cow::Owned(owned)
    }

    /// `PRAGMA data_version`: changes whenever another connection commits. Cheap enough
    /// to poll every 100 ms.
    pub fn data_version(&self) -> Result<i64, StoreError> {
        let r = self
            .conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))
            .map_err(StoreError::from);
        self.ctx(r)
    }
}

/// A run as recorded, with what resume needs to re-plan it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RunRecord {
    pub id: String,
    pub workflow: String,
    pub source_path: PathBuf,
    pub source_text: String,
    pub params_json: String,
    pub operator: String,
    /// As readers show it: the recorded state, or `Interrupted` when the run's engine
    /// is gone (see [`baton_model::liveness::liveness`]).
    pub state: baton_model::RunState,
    /// The live engine driving the run (its lease holder), if any.
    pub driven_by: Option<String>,
    pub started_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    /// The last event's sequence number (the next event is `last_seq + 1`).
    pub last_seq: u64,
}

impl RunRecord {
    pub fn liveness(&self) -> baton_model::liveness::Liveness {
        baton_model::liveness::Liveness {
            state: self.state,
            driven_by: self.driven_by.clone(),
        }
    }
}

/// Where an attempt's output went and its last lines, for [`Store::commit_with_logs`].
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptLog {
    pub step_id: String,
    pub attempt: u32,
    pub path: PathBuf,
    pub tail: String,
}

fn put_attempt_log(conn: &Connection, run_id: &str, log: &AttemptLog) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO attempts (run_id, step_id, attempt, log_path, log_tail) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (run_id, step_id, attempt) DO UPDATE SET log_path = excluded.log_path, log_tail = excluded.log_tail",
    )?
    .execute(params![
        run_id,
        log.step_id,
        log.attempt,
        log.path.to_string_lossy(),
        bounded_tail(&log.tail, LOG_TAIL_MAX)
    ])?;
    Ok(())
}

fn insert_run(
    tx: &Connection,
    run: &NewRun,
    seal: Option<&starter_seal::AccountKey>,
) -> Result<(), StoreError> {
    tx.prepare_cached(&format!(
        "INSERT INTO runs (id, workflow, source_path, operator, state, started_at, key, rev)
         VALUES (?1, ?2, ?3, ?4, 'pending', ?5, (SELECT coalesce(max(key), 0) + 1 FROM runs), {})",
        run_counts::NEXT_REV
    ))?
    .execute(params![
        run.id,
        run.workflow,
        run.source_path.to_string_lossy(),
        run.operator,
        run.started_at.0
    ])?;
    // Apart from the row every commit updates (schema `RUN_SOURCES`).
    tx.prepare_cached(
        "INSERT INTO run_sources (run_id, source_text, params_json) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![run.id, run.source_text, run.params_json])?;
    let mut stmt =
        tx.prepare_cached("INSERT INTO steps (run_id, step_id, state) VALUES (?1, ?2, 'pending')")?;
    for step in &run.steps {
        stmt.execute(params![run.id, step])?;
    }
    if let Some(key) = seal {
        let record = starter_seal::Record {
            run_id: &run.id,
            workflow: &run.workflow,
            source_path: &run.source_path,
            source_text: &run.source_text,
            params_json: &run.params_json,
            operator: &run.operator,
        };
        starter_seal::insert(tx, key, &record)?;
    }
    Ok(())
}

/// One batch: its attempts' logs and events, projected (one statement per touched
/// row, see [`project`]) and audited, in one `BEGIN IMMEDIATE` transaction. The run's
/// key is looked up unless `known`; returns it and the keyed heads to witness.
/// `BEGIN IMMEDIATE` … `COMMIT` through cached statements: a `Transaction` parses
/// both on every commit, which shows at one commit per step. Rolled back on error.
fn in_transaction<T>(
    conn: &Connection,
    body: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
    let r = body(conn).and_then(|v| {
        conn.prepare_cached("COMMIT")?.execute([])?;
        Ok(v)
    });
    if r.is_err() && !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    r
}

/// `body` in one read transaction (one snapshot: a run's events and its head agree),
/// unless a transaction is already open.
fn in_read_snapshot<T>(
    conn: &Connection,
    body: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    if !conn.is_autocommit() {
        return body(conn);
    }
    conn.prepare_cached("BEGIN")?.execute([])?;
    let r = body(conn);
    let end = if r.is_ok() { "COMMIT" } else { "ROLLBACK" };
    let ended = conn.prepare_cached(end).and_then(|mut s| s.execute([]));
    if ended.is_err() && !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    r
}

/// The run's summary as of a batch: the writer's own (an engine's core), or, for a
/// writer without one, folded again from what the store holds.
#[derive(Clone, Copy)]
enum Summary<'a> {
    Given(&'a StateSummary),
    Replayed,
}

/// What one commit writes: the attempts' logs, the events, the run's summary.
struct Batch<'a> {
    events: &'a [Event],
    logs: &'a [AttemptLog],
    summary: Summary<'a>,
}

fn commit_body(
    tx: &Connection,
    keys: &AuditKeys,
    seal: Option<&starter_seal::AccountKey>,
    run_id: &str,
    known_key: Option<i64>,
    batch: Batch<'_>,
) -> Result<(i64, Vec<witness::Entry>), StoreError> {
    let Batch {
        events,
        logs,
        summary,
    } = batch;
    key_check::check_signing(tx, keys)?;
    let mut heads = Vec::new();
    let run_key = match known_key {
        Some(k) => k,
        None => run_key(tx, run_id)?,
    };
    let mut head: Option<(i64, String)> = None;
    let tail = run_tail(tx, run_key)?;
    let mut chain = run_writer(run_id, tail.as_ref(), keys)?;
    if let (Some(t), false) = (&tail, events.is_empty()) {
        // The batch's last event takes the head mark over (`event_chain`).
        tx.prepare_cached("UPDATE events SET head_key_id = NULL, head_mac = NULL WHERE id = ?1")?
            .execute([t.id])?;
    }
    {
        // A seq beyond 32 bits fails the table's CHECK (the id would overlap the next run's).
        let mut insert = tx.prepare_cached(
            "INSERT INTO events (id, run_id, seq, at, type, step, json, hash, head_key_id, head_mac)
             VALUES ((?7 << 32) + ?2, ?1, ?2, ?3, ?4, ?5, ?6, ?8, ?9, ?10)",
        )?;
        for (i, ev) in events.iter().enumerate() {
            let json = serde_json::to_string(ev)?;
            let hash = chain.link(ev.seq, &json);
            let last = i + 1 == events.len();
            let mark = last.then(|| chain.mark(ev.seq, keys));
            heads.extend(
                mark.as_ref()
                    .and_then(|m| witness::Entry::of_mark(run_id, ev.seq, &hash, m)),
            );
            if let (true, Some(key)) = (last, seal) {
                starter_seal::update_head(tx, key, run_id, ev.seq, &hash)?;
            }
            read::forks::project(tx, run_id, ev)?;
            insert.execute(params![
                run_id,
                ev.seq as i64,
                ev.at.0,
                ev.kind.name(),
                ev.kind.step(),
                json,
                run_key,
                &hash[..],
                mark.as_ref().and_then(|m| m.key_id.as_deref()),
                mark.as_ref().map(|m| &m.mac[..])
            ])?;
            if let Some(d) = baton_model::history::decision(&ev.kind) {
                let (prev_id, prev_hash) = match head.take() {
                    Some(h) => h,
                    None => chain_write(tx, keys)?,
                };
                let row = audit::seal(
                    prev_id + 1,
                    run_id,
                    Some(ev.seq),
                    ev.at,
                    &d,
                    prev_hash,
                    keys,
                );
                insert_audit_row(tx, &row)?;
                head = Some((row.id, row.hash));
            }
        }
    }
    // The run's summary, saved with the batch (`summaries`).
    let replayed;
    let summary = match summary {
        Summary::Given(s) => s,
        Summary::Replayed => {
            replayed = summaries::replayed(tx, run_id, logs)?.summary();
            &replayed
        }
    };
    summaries::save(tx, run_id, summary)?;
    project::write(tx, run_id, &project::fold(logs, events), summary)?;
    if let Some((id, hash)) = head {
        heads.extend(witness::Entry::of_head(&set_chain_head(
            tx, id, &hash, keys,
        )?));
    }
    Ok((run_key, heads))
}

/// The last `max` bytes of `s`, cut at a character boundary.
fn bounded_tail(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut start = s.len() - max;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    #[test]
    fn default_path_prefers_baton_db_then_xdg_then_home() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| OsString::from(v))
            }
        };
        assert_eq!(
            default_path_from(env(&[("BATON_DB", "/x/y.db"), ("HOME", "/h")])),
            PathBuf::from("/x/y.db")
        );
        assert_eq!(
            default_path_from(env(&[("XDG_STATE_HOME", "/s"), ("HOME", "/h")])),
            PathBuf::from("/s/baton/baton.db")
        );
        assert_eq!(
            default_path_from(env(&[("XDG_STATE_HOME", "rel"), ("HOME", "/h")])),
            PathBuf::from("/h/.local/state/baton/baton.db")
        );
    }

    #[test]
    fn store_can_move_to_another_thread() {
        fn send<T: Send>() {}
        send::<Store>();
    }

    #[test]
    fn tail_is_bounded_at_a_char_boundary() {
        assert_eq!(bounded_tail("abc", 10), "abc");
        assert_eq!(bounded_tail("abcdef", 3), "def");
        assert_eq!(bounded_tail("aé", 1), "");
        assert_eq!(bounded_tail("aéb", 2), "b");
    }
}

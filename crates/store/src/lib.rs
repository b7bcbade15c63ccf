//! The durable store (docs/architecture.md, "The store"): SQLite in WAL mode, one connection per `Store`.
//!
//! Every transition reaches the store through [`Store::commit`]: one `BEGIN IMMEDIATE`
//! transaction per driver wake-up that appends the events, projects them into the
//! query tables and extends the audit chain, committed before the driver runs the
//! effects those events decided. Other processes talk to a running engine through the
//! `commands` table; one engine per run is ensured by a lease with a heartbeat.
// Below the rooms: plain records, errors, paths, transactions, lease holders.
mod access;
mod busy;
mod checkpoints;
mod cut;
mod error;
mod holder;
mod paths;
mod records;
mod tx;
// The rooms (docs/architecture.md, "The store"), bottom-up: the ledger (with the
// handle, `Store`), the read side, the write path of a commit, coordination, the
// schema; each uses only rooms below it.
mod commit;
mod coord;
mod ledger;
mod read;
mod schema;
// Above them all: deleting a run touches every room.
mod delete;

// The paths these modules had before the rooms (`baton_store::audit`, …).
pub use coord::{
    admission, asks, pool_slots, proof, schedules, slots, trigger_events, trigger_pending,
    trigger_refusals, wake,
};
use coord::{cache, commands};
use ledger::append::{chain_write, run_key, run_tail, run_writer};
pub use ledger::{audit, audit_signatures, event_chain, starter_seal, witness};
use ledger::{key_check, rotate, verify};
use read::{logtail, query, summaries};

pub use audit::{AuditHead, AuditKeys, AuditRow, AuditVerdict};
pub use audit_signatures::SignaturesVerdict;
pub use cache::CacheEntry;
pub use commands::{Claimed, LeaseOutcome};
pub use coord::link_requests::LinkRequest;
pub use cut::CommitCut;
pub use delete::DeletedRun;
pub use error::StoreError;
pub use holder::{holder_alive, lease_holder_name};
pub use ledger::Store;
pub use ledger::decisions::STORE_SUBJECT;
pub use ledger::rows::raw_audit_rows;
pub use logtail::{CUT_LINE_MARKER, read_tail};
pub use query::{RunChanges, RunsCursor};
pub use read::artifacts::{ArtifactGarbage, account_stage};
pub use read::children::{ChildRun, UnprovenChild};
pub use records::{AttemptLog, LOG_TAIL_MAX, NewRun, RunRecord};
pub use rotate::Rotated;
pub use verify::Sealed;

use baton_model::state_summary::{StateSummary, SummaryFold};
use baton_model::{CommandOutcome, Event, Timestamp};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use std::collections::HashMap;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use commit::known::{Counters, Known};
use commit::{Batch, Prior, Summary, commit_body, commit_onto, insert_run, put_attempt_log};
use paths::{create_whole, make_logs_root};
pub(crate) use paths::{default_path_from, parent_dir};
use tx::{in_read_snapshot, in_transaction};

pub use busy::BUSY_TIMEOUT;
pub use schema::SCHEMA_VERSION;

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
        Self::open_keyed(path, AuditKeys::from_env())
    }

    /// `open` with the audit keys given rather than read from the environment: tests
    /// that must not see the caller's own `BATON_AUDIT_KEY`.
    pub(crate) fn open_keyed(path: &Path, keys: AuditKeys) -> Result<Store, StoreError> {
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
            create_whole(&dir, path, |conn, tmp| {
                Store::setup(conn, tmp, true, keys.clone()).map(drop)
            })?;
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
        access::ready_side_files(path);
        let conn = Connection::open(path).map_err(|e| StoreError::from(e).classify(path))?;
        Self::setup(conn, path, true, keys)
    }

    /// Make a new store shared by the members of `group` (`baton store init --group`):
    /// its directory 2770 and files 0660 belong to the group, which is recorded in the
    /// store so that group write is accepted for that group only.
    pub fn init_group(path: &Path, group: &str) -> Result<Store, StoreError> {
        let name = access::make_group_store(&parent_dir(path), path, group)?;
        let conn = Connection::open(path).map_err(|e| StoreError::from(e).classify(path))?;
        let store = Self::setup(conn, path, true, AuditKeys::from_env())?;
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
        // The artifact directories too: made by whichever engine needed them first,
        // a member could make them with modes that let them swap another's files.
        let artifacts = baton_model::artifact_paths::artifacts_dir(path);
        for d in [
            &artifacts,
            &artifacts.join("objects"),
            &artifacts.join("stage"),
        ] {
            access::share_sticky_dir(d, &name)?;
        }
        // Opened again as every engine opens it: the handle above was set up before
        // the group was recorded and reads the store as private (a forged child link
        // would pass its checks).
        drop(store);
        Self::open(path)
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

    /// Open an existing database without the right to write (SQLite's read-only flag):
    /// any write fails with `ReadOnly`.
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        if !path.exists() {
            return Err(StoreError::NotFound(format!("database {}", path.display())));
        }
        access::check(&[path], path)?;
        access::ready_side_files(path);
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)
            .map_err(|e| StoreError::from(e).classify(path))?;
        Self::setup(conn, path, false, AuditKeys::from_env())
    }

    fn setup(
        mut conn: Connection,
        path: &Path,
        write: bool,
        keys: AuditKeys,
    ) -> Result<Store, StoreError> {
        let r = (|| {
            busy::wait_for_writers(&conn)?;
            // The commit path alone uses ~25 distinct statements; the default cache is 16.
            conn.set_prepared_statement_cache_capacity(128);
            // A small page cache (`PAGE_CACHE_KIB`, see there).
            conn.pragma_update(None, "cache_size", -PAGE_CACHE_KIB)?;
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
            fences: HashMap::new(),
            witness: witness::Witness::for_db(path),
            shared,
            account: std::sync::OnceLock::new(),
            checkpoints: None,
            known: None,
        })
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
        self.after_commit();
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
        self.commit_batch(run_id, events, &[], Summary::Replayed, &[])
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
        self.commit_decided(run_id, (events, logs), summary, &[])
    }

    /// [`Store::commit_with_logs`] with the verdicts of the commands whose decisions
    /// the batch holds (their rows' outcomes, as [`Store::complete_command`] writes
    /// them) in the same transaction: a decision is never on the record without its
    /// command's verdict, so an engine that dies after its commit leaves no command
    /// for the next one to refuse as unproven (its proof was used up) while the audit
    /// chain has it.
    pub fn commit_decided(
        &mut self,
        run_id: &str,
        (events, logs): (&[Event], &[AttemptLog]),
        summary: &StateSummary,
        verdicts: &[(i64, CommandOutcome)],
    ) -> Result<(), StoreError> {
        if events.is_empty() && logs.is_empty() {
            if verdicts.is_empty() {
                return Ok(());
            }
            // Decided without an event (a run not started yet): the verdicts alone.
            let r = in_transaction(&self.conn, |tx| commands::record_verdicts(tx, verdicts));
            self.ctx(r)?.discard(&self.path);
            return Ok(());
        }
        self.commit_batch(run_id, events, logs, Summary::Given(summary), verdicts)
    }

    fn commit_batch(
        &mut self,
        run_id: &str,
        events: &[Event],
        logs: &[AttemptLog],
        summary: Summary<'_>,
        verdicts: &[(i64, CommandOutcome)],
    ) -> Result<(), StoreError> {
        if events.is_empty() && logs.is_empty() {
            return Ok(());
        }
        // One stat per commit: nothing is written to (or acted on after writing to) a
        // database file that is no longer the store.
        // Asked first (the fault door): a commit that fails before its transaction
        // leaves no cut armed for a later one.
        let cut = baton_model::faults::commit_cut();
        self.check_identity()?;
        let full = baton_model::history::holds_decision(events);
        let r = self.set_sync_full(full);
        self.ctx(r)?;
        self.witness_ready()?;
        let known = self.run_keys.get(run_id).copied();
        // Kept only if this commit succeeds (`commit::known`).
        let mut last = self.known.take();
        let seal = self.account_key()?;
        let logs = self.shareable_logs(logs);
        let fence = self.fences.get(run_id).map(|f| (f, Timestamp::now()));
        // The patches this holder's commits deferred, kept whatever else was written
        // since: the commit checks them against the run's watermark (`commit_onto`).
        let kept = fence.and_then(|(f, _)| Known::deferred_of(last.as_mut(), run_id, &f.holder));
        let r = in_transaction(&self.conn, |tx| {
            let at = fence.map(|_| Counters::read(tx)).transpose()?;
            let last = fence
                .zip(at)
                .and_then(|((f, _), at)| Known::still(last, run_id, &f.holder, at));
            let renewed = match fence {
                Some((f, now)) => {
                    let beat = last.as_ref().map(|k| k.heartbeat_at);
                    coord::fence::renew_known(tx, run_id, (f, true), now, beat)?
                }
                None => coord::fence::Renewed {
                    lapsed: false,
                    beat: None,
                },
            };
            let batch = Batch {
                events,
                logs: &logs,
                summary,
            };
            let (known_alone, tail, in_process, open) = match last {
                Some(k) => (k.alone, Some(k.tail), k.in_process, k.open),
                None => (false, None, Default::default(), false),
            };
            let prior = Prior {
                key: known,
                tail,
                in_process,
                open,
                deferred: kept,
                // An engine's commit (its next ones write what it defers).
                defer: fence.is_some() && matches!(summary, Summary::Given(_)),
            };
            let done = commit_onto(tx, (&self.keys, seal), run_id, prior, batch)?;
            let spent = commands::record_verdicts(tx, verdicts)?;
            // What the run holds, as of the batch (one that queues the run needs no group).
            let mut alone = false;
            if let Some((f, now)) = fence {
                let held = (f, renewed.lapsed);
                alone = coord::fence::still_holds_known(tx, run_id, held, now, known_alone)?;
            }
            if let Some(at @ cut::CommitCut::InTransaction) = cut {
                return Err(StoreError::Cut { at: cut::said(at) });
            }
            let left = commit::known::Left {
                tail: done.tail,
                heartbeat_at: renewed.beat,
                alone,
                in_process: done.in_process,
                open: done.open,
                deferred: done.deferred,
            };
            Ok(((done.key, done.heads), spent, (at, left)))
        });
        let ((key, heads), spent, (at, left)) = self.ctx_run(run_id, r)?;
        if let (Some((f, _)), Some(at)) = (fence, at) {
            let changes = self.conn.total_changes();
            self.known = Known::after(run_id, &f.holder, at, changes, left);
        }
        spent.discard(&self.path);
        self.after_commit();
        if known.is_none() {
            self.run_keys.insert(run_id.to_string(), key);
        }
        if let Some(at @ cut::CommitCut::BeforeWitness) = cut {
            return Err(StoreError::Cut { at: cut::said(at) });
        }
        self.witness(&heads)
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
            // The summary is folded from the steps' and attempts' rows.
            crate::read::catch_up::catch_up(tx, run_id)?;
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

/// Every connection's page cache, in KiB: SQLite's default size. When a B-tree split
/// puts its pages back in order it parks one at the lock-byte page's number (page
/// 262,145 with 4 KiB pages, past the end of any store under 1 GiB), and the commit
/// then walks the whole cache to drop it: with 16 MiB cached, 0.4 ms in about one
/// commit of 12 (32 µs a step at 10,000 steps; 10 µs with 2 MiB), and 2 MiB reads the
/// store no more often (docs/performance/throughput.md).
const PAGE_CACHE_KIB: i64 = 2048;

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    #[test]
    fn a_connection_s_page_cache_stays_small() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("baton.db")).unwrap();
        let kib: i64 = s
            .conn
            .query_row("PRAGMA cache_size", [], |r| r.get(0))
            .unwrap();
        assert_eq!(kib, -PAGE_CACHE_KIB, "negative: KiB, not pages");
    }

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

    /// The handle `init_group` gives reads the store as the group's, as every later
    /// open does (it read it as private: a forged child link passed its checks).
    #[test]
    fn a_group_store_s_first_handle_reads_it_as_shared() {
        let Some(group) = nix::unistd::Group::from_gid(nix::unistd::getgid())
            .ok()
            .flatten()
        else {
            panic!("this process's group has no name");
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("team").join("baton.db");
        let s = Store::init_group(&path, &group.name).unwrap();
        assert!(s.is_shared());
        assert_eq!(s.group().as_deref(), Some(group.name.as_str()));
    }
}

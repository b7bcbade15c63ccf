//! What can go wrong with the store, each case saying what happened and what to do.
use nix::unistd::AccessFlags;
use rusqlite::ErrorCode;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "the database is locked by another writer{}; wait for it to finish, or stop it and retry",
        holder.as_deref().map(|h| format!(" ({h})")).unwrap_or_default()
    )]
    Busy { holder: Option<String> },

    #[error(
        "the database {} is read-only; check the permissions of the file and its directory (and that the filesystem is mounted read-write)",
        path.display()
    )]
    ReadOnly { path: PathBuf },

    #[error(
        "cannot read the database {} (permission denied): its owner must be able to read and write it (`chmod u+rw {}`; baton creates it 0600)",
        path.display(), path.display()
    )]
    Unreadable { path: PathBuf },

    #[error(
        "the disk holding {} is full; nothing after the last committed transition was lost. Free space, then `baton resume RUN`",
        path.display()
    )]
    DiskFull { path: PathBuf },

    #[error(
        "{} is not a baton database (not SQLite); point --db or BATON_DB at the right file",
        path.display()
    )]
    NotADatabase { path: PathBuf },

    #[error(
        "the database {} is corrupt ({detail}); restore it from a backup or inspect it with `sqlite3 … 'PRAGMA integrity_check'`",
        path.display()
    )]
    Corrupt { path: PathBuf, detail: String },

    #[error(
        "the database {} has schema version {found}, but this baton supports up to {supported}; use a newer baton",
        path.display()
    )]
    NewerVersion {
        path: PathBuf,
        found: i64,
        supported: i64,
    },

    #[error("{}", insecure_permissions(path, *mode))]
    InsecurePermissions { path: PathBuf, mode: u32 },

    #[error(
        "migration {version} ({description}) failed: {detail}; the database is unchanged (restore it from a backup if this persists)"
    )]
    Migration {
        version: i64,
        description: String,
        detail: String,
    },

    #[error("{0} not found; `baton runs` lists the runs in this database")]
    NotFound(String),

    #[error(
        "no baton database at {}; check --db or BATON_DB (`baton run WORKFLOW` creates one)",
        path.display()
    )]
    NoDatabase { path: PathBuf },

    #[error(
        "{} is empty (0 bytes): it is not a baton database, or it was truncated; restore it from a backup, or remove it and let `baton run` create a new one",
        path.display()
    )]
    EmptyDatabase { path: PathBuf },

    #[error(
        "{} belongs to {owner}, not to {me}: a store is used by its owner only (a shared store is one directory per user, or a group store)",
        path.display()
    )]
    NotOwner {
        path: PathBuf,
        owner: String,
        me: String,
    },

    #[error(
        "the database {} was deleted or replaced while this engine used it; stopped without starting anything further (nothing more can be recorded). Restore the database, then `baton resume RUN`",
        path.display()
    )]
    Vanished { path: PathBuf },

    #[error("{of} prefix `{prefix}` is ambiguous; it matches {}; give more characters", matches.join(", "))]
    Ambiguous {
        /// `run` or `ask`.
        of: &'static str,
        prefix: String,
        matches: Vec<String>,
    },

    #[error(
        "the lease on run {run_id} is no longer held by this engine{}; stop driving this run",
        holder.as_deref().map(|h| format!(" (now held by {h})")).unwrap_or_default()
    )]
    LeaseLost {
        run_id: String,
        holder: Option<String>,
    },

    /// The engine's lease lapsed (it was stopped, or stalled) and the run's concurrency
    /// group went to another run meanwhile: nothing more of this run may start here.
    #[error(
        "run {run_id} lost concurrency group `{group}` to run {holder} while its engine did not renew its lease (stopped or stalled for over {}s); this engine stops driving it: `baton resume {run_id}` continues the run once the group is free",
        baton_model::LEASE_STALE.as_secs()
    )]
    GroupLost {
        run_id: String,
        group: String,
        holder: String,
    },

    /// The engine's lease lapsed while its run waited in its group's line, and a later
    /// run joined the line meanwhile (counted against `max_pending` without it).
    #[error(
        "run {run_id} lost its place in concurrency group `{group}`'s line: its engine did not renew its lease (stopped or stalled for over {}s) and a later run joined the line meanwhile; this engine stops driving it: `baton resume {run_id}` queues it again",
        baton_model::LEASE_STALE.as_secs()
    )]
    LineLost { run_id: String, group: String },

    /// The engine's lease lapsed and the slot of a store-wide pool one of its steps held
    /// went to another run's step meanwhile; the pool is full now.
    #[error(
        "run {run_id} lost step `{step}`'s slot of pool `{pool}` (now held by {}) while its engine did not renew its lease (stopped or stalled for over {}s); this engine stops driving it: `baton resume {run_id}` continues the run",
        holders.join(", "),
        baton_model::LEASE_STALE.as_secs()
    )]
    PoolSlotLost {
        run_id: String,
        pool: String,
        step: String,
        holders: Vec<String>,
    },

    /// A group store's group is unknown, or a group store cannot be made (exit 2).
    #[error("{0}")]
    Group(String),

    /// These audit keys would break the store's chains if this were recorded: no key on
    /// a keyed history, or a key on one recorded without it and not adopted (exit 2).
    #[error("{0}")]
    Keys(String),

    /// A run's stored history is not what was committed: replaying it is refused.
    #[error(
        "run {run_id}'s history does not check out at event {seq}: {reason}. Refusing to replay it (`baton audit verify` checks the whole store)"
    )]
    Tampered {
        run_id: String,
        seq: u64,
        reason: String,
    },

    /// The store is behind what its witness saw (`store::witness`): acting on it is refused.
    #[error(
        "{0}. Refusing to act on it (`baton audit verify` checks the whole store; restore the database from a backup that holds what the witness saw)"
    )]
    RolledBack(String),

    /// The witness file cannot be opened, read or appended to.
    #[error(
        "cannot use the audit witness {}: {source}; make it a file this account can read and append to (not a symlink), or set BATON_AUDIT_WITNESS to one",
        path.display()
    )]
    Witness {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// In a group store, a run's record or events are not what its starter's engine
    /// sealed (`store::starter_seal`): another member altered them (exit 3).
    #[error(
        "run {run_id}: its {what}. Refusing to act on it as its starter: another member of the group store could have written it. Start a new run (`baton show {run_id}` still reads it)"
    )]
    Unproven { run_id: String, what: String },

    /// This account's secret for sealing runs cannot be used (exit 3).
    #[error("{0}")]
    AccountKey(String),

    /// The store will not do this now (a run a live engine drives cannot be deleted).
    #[error("refused: {0}")]
    Refused(String),

    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),

    #[error("I/O error on {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("stored JSON could not be read: {0}")]
    Json(#[from] serde_json::Error),

    #[error("the process was cut {at} (the simulator's kill -9; nothing else sets it)")]
    Cut { at: &'static str },
}

impl From<rusqlite::types::FromSqlError> for StoreError {
    /// A column of an unexpected type (read through `get_ref`, which does not convert).
    fn from(e: rusqlite::types::FromSqlError) -> Self {
        StoreError::Sqlite(rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Null,
            Box::new(e),
        ))
    }
}

impl StoreError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        StoreError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// Whether the engine no longer holds the run (its lease, its group, its place in
    /// the group's line or a pool slot went to another while it did not renew its
    /// lease): it stops driving the run, stopping what it started there.
    pub fn run_lost(&self) -> bool {
        matches!(
            self,
            StoreError::LeaseLost { .. }
                | StoreError::GroupLost { .. }
                | StoreError::LineLost { .. }
                | StoreError::PoolSlotLost { .. }
        )
    }

    /// Usage errors (a run that does not exist, an ambiguous prefix) as opposed to
    /// storage faults: the CLI exits 2 for these and 3 for the rest.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            StoreError::NotFound(_)
                | StoreError::Ambiguous { .. }
                | StoreError::NoDatabase { .. }
                | StoreError::Group(_)
                | StoreError::Keys(_)
        )
    }

    /// Turn a raw SQLite failure into the case it stands for, naming the database file.
    pub(crate) fn classify(self, path: &Path) -> Self {
        let StoreError::Sqlite(e) = self else {
            return self;
        };
        let Some(code) = e.sqlite_error_code() else {
            return StoreError::Sqlite(e);
        };
        let path = path.to_path_buf();
        match code {
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
                StoreError::Busy { holder: None }
            }
            ErrorCode::ReadOnly => StoreError::ReadOnly { path },
            ErrorCode::DiskFull => StoreError::DiskFull { path },
            ErrorCode::NotADatabase => StoreError::NotADatabase { path },
            ErrorCode::DatabaseCorrupt => StoreError::Corrupt {
                path,
                detail: e.to_string(),
            },
            ErrorCode::CannotOpen | ErrorCode::PermissionDenied if !accessible(&path, R_OK) => {
                StoreError::Unreadable { path }
            }
            ErrorCode::CannotOpen | ErrorCode::PermissionDenied if !accessible(&path, W_OK) => {
                StoreError::ReadOnly { path }
            }
            _ => StoreError::Sqlite(e),
        }
    }
}

const R_OK: AccessFlags = AccessFlags::R_OK;
const W_OK: AccessFlags = AccessFlags::W_OK;

/// Whether this process may read or write (`how`) the file (or, if it does not exist,
/// its directory).
fn accessible(path: &Path, how: AccessFlags) -> bool {
    let target = if path.exists() {
        path
    } else {
        path.parent().unwrap_or(Path::new("."))
    };
    nix::unistd::access(target, how).is_ok()
}

/// Why a store may not live at `path` (group or others can write it), and what would be
/// right. A directory everyone shares (sticky, like `/tmp`) is never to be chmodded:
/// the store goes in a directory of its own inside it.
fn insecure_permissions(path: &std::path::Path, mode: u32) -> String {
    let why = format!(
        "{} has mode {mode:04o}: group or others can write it, so anyone could forge runs or approvals.",
        path.display()
    );
    if mode & 0o1000 != 0 {
        format!(
            "{why} It is a directory others share: keep the store in a directory of its own, e.g. `--db {}` (baton creates that directory 0700)",
            path.join("baton").join("baton.db").display()
        )
    } else {
        format!(
            "{why} Run `chmod go-w {}` (baton creates it 0700/0600; a store shared by a group is made with `baton store init --group NAME`)",
            path.display()
        )
    }
}

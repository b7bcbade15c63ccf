//! Where a store lives on disk: its default path (`$BATON_DB`, then the account's
//! state directory), a new store made whole before it appears, and its `logs`
//! directory.
use crate::error::StoreError;
use rusqlite::Connection;
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

pub(crate) fn default_path_from(get: impl Fn(&str) -> Option<std::ffi::OsString>) -> PathBuf {
    if let Some(p) = get("BATON_DB").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    state_dir_from(get).join("baton.db")
}

/// The account's baton state directory: `$XDG_STATE_HOME/baton`, else
/// `~/.local/state/baton`.
pub(crate) fn state_dir_from(get: impl Fn(&str) -> Option<std::ffi::OsString>) -> PathBuf {
    get("XDG_STATE_HOME")
        .filter(|p| !p.is_empty() && Path::new(p).is_absolute())
        .map(PathBuf::from)
        .or_else(|| get("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(|| PathBuf::from(".local/state"))
        .join("baton")
}

/// Make a new store that appears whole: its schema is written under a temporary name in
/// the same directory and the file is then hard-linked into place. A reader (`baton
/// runs` while a first `baton run` starts) thus never finds a 0-byte database that is
/// still being made, which `open_existing` rightly refuses as truncated. Two creators
/// race on `link`, which fails for the loser; it then opens the winner's store.
pub(super) fn create_whole(
    dir: &Path,
    path: &Path,
    setup: impl FnOnce(Connection, &Path) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "baton.db".into());
    let tmp = dir.join(format!(".{name}.new-{}", ulid::Ulid::new()));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::PermissionDenied => StoreError::ReadOnly {
                path: path.to_path_buf(),
            },
            _ => StoreError::io(path, e),
        })?;
    let made = Connection::open(&tmp)
        .map_err(|e| StoreError::from(e).classify(path))
        // Closing the only connection checkpoints the WAL and removes -wal and -shm:
        // the file alone holds the schema (and stays in WAL mode).
        .and_then(|conn| setup(conn, &tmp))
        .and_then(|()| match std::fs::hard_link(&tmp, path) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(StoreError::io(path, e)),
            _ => Ok(()),
        });
    for leftover in ["", "-wal", "-shm"] {
        let mut p = tmp.clone().into_os_string();
        p.push(leftover);
        let _ = std::fs::remove_file(p);
    }
    made
}

/// The store's `logs` directory, made if missing (see [`Store::log_dir`]).
pub(crate) fn make_logs_root(logs: &Path, shared: bool) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    match std::fs::DirBuilder::new().mode(0o700).create(logs) {
        // Past the umask; the group is the store directory's (setgid).
        Ok(()) if shared => std::fs::set_permissions(logs, std::fs::Permissions::from_mode(0o3770)),
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(e),
        _ => Ok(()),
    }
}

pub(crate) fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

//! Who may use a store: its owner alone (directory 0700, files 0600), or the members
//! of the one group recorded in it by `baton store init --group NAME` (directory 2770,
//! setgid, files 0660). A file or directory others can write is never accepted, and
//! group write only for the recorded group.
use crate::error::StoreError;
use nix::unistd::{Gid, Group, Uid, User};
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// `meta` key holding the name of a group store's group.
pub(crate) const GROUP_KEY: &str = "store_group";

/// Check `paths` (the store's directory and/or database file) before using the
/// database at `db`: private to their owner, or group-shared with the group the
/// database records.
pub(crate) fn check(paths: &[&Path], db: &Path) -> Result<(), StoreError> {
    // Never, whatever the store says of itself.
    paths.iter().try_for_each(|p| not_world_writable(p))?;
    let private = paths.iter().try_for_each(|p| check_mode(p, None));
    let Err(refusal) = private else {
        return Ok(());
    };
    // Not private: acceptable only as the group store the database says it is.
    let Some(name) = recorded_group(db) else {
        return Err(refusal);
    };
    let gid = group_id(&name)?;
    paths.iter().try_for_each(|p| check_mode(p, Some(gid)))
}

/// The group a database records, if it is a group store (read without writing).
pub(crate) fn recorded_group(db: &Path) -> Option<String> {
    if std::fs::metadata(db).map(|m| m.len()).unwrap_or(0) == 0 {
        return None;
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    // Looking must leave nothing behind: with no WAL in use, read the file as it is
    // (`immutable`), which creates no -wal/-shm files for this account.
    let conn = if Path::new(&wal).exists() {
        Connection::open_with_flags(db, flags).ok()?
    } else {
        let path = db.to_str()?;
        let escaped = path
            .replace('%', "%25")
            .replace('?', "%3f")
            .replace('#', "%23");
        let uri = format!("file:{escaped}?immutable=1");
        Connection::open_with_flags(uri, flags | OpenFlags::SQLITE_OPEN_URI).ok()?
    };
    conn.query_row("SELECT value FROM meta WHERE key = ?1", [GROUP_KEY], |r| {
        r.get::<_, String>(0)
    })
    .optional()
    .ok()
    .flatten()
}

fn group_id(name: &str) -> Result<Gid, StoreError> {
    match Group::from_name(name) {
        Ok(Some(g)) => Ok(g.gid),
        Ok(None) => Err(StoreError::Group(format!(
            "no group named `{name}` on this system (see /etc/group)"
        ))),
        Err(e) => Err(StoreError::Group(format!(
            "cannot read the group database for `{name}`: {e}"
        ))),
    }
}

/// Refuse a file or directory that others can write, or that its group can write or
/// another user owns unless it belongs to `group` (the store's recorded group).
fn check_mode(path: &Path, group: Option<Gid>) -> Result<(), StoreError> {
    not_world_writable(path)?;
    let meta = std::fs::metadata(path).map_err(|e| StoreError::io(path, e))?;
    let mode = meta.permissions().mode() & 0o7777;
    let insecure = || StoreError::InsecurePermissions {
        path: path.to_path_buf(),
        mode,
    };
    if group.is_some_and(|g| g.as_raw() == meta.gid()) {
        return Ok(());
    }
    // Root included: a store is its owner's record; writing another user's would make
    // their files root's, and let whoever runs baton decide for them.
    let me = nix::unistd::geteuid();
    if meta.uid() != me.as_raw() {
        let name = |uid: Uid| {
            User::from_uid(uid)
                .ok()
                .flatten()
                .map_or_else(|| format!("uid {uid}"), |u| u.name)
        };
        return Err(StoreError::NotOwner {
            path: path.to_path_buf(),
            owner: name(Uid::from_raw(meta.uid())),
            me: name(me),
        });
    }
    if mode & 0o020 != 0 {
        return Err(insecure());
    }
    Ok(())
}

fn not_world_writable(path: &Path) -> Result<(), StoreError> {
    let meta = std::fs::metadata(path).map_err(|e| StoreError::io(path, e))?;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o002 != 0 {
        return Err(StoreError::InsecurePermissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

/// Make the directory and empty database file of a group store: the directory 2770
/// (setgid, so every file made in it belongs to the group) and the file 0660, both
/// owned by `group`. Returns the group's name as it is recorded.
/// Give `p` to the group `gid` with `mode`.
fn share(p: &Path, gid: Gid, mode: u32) -> Result<(), StoreError> {
    nix::unistd::chown(p, None, Some(gid))
        .map_err(|e| StoreError::io(p, std::io::Error::from(e)))?;
    // After chown, which clears the setgid bit on some systems; and past the umask.
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
        .map_err(|e| StoreError::io(p, e))
}

/// Make the directory `p` the store group `group`'s (2770), whoever made it before: a
/// proofs directory left by an earlier store beside a new group store would otherwise
/// lock the other members out.
pub(crate) fn share_dir(p: &Path, group: &str) -> Result<(), StoreError> {
    share(p, group_id(group.trim())?, 0o2770)
}

/// Make the directory `p` (if missing) the store group `group`'s, 3770: setgid, and
/// sticky, so that every member adds files to it and none moves or replaces another's
/// (a group store's `artifacts/`, its `objects/` and `stage/`).
pub(crate) fn share_sticky_dir(p: &Path, group: &str) -> Result<(), StoreError> {
    match std::fs::DirBuilder::new().mode(0o700).create(p) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
            return Err(StoreError::io(p, e));
        }
        _ => {}
    }
    share(p, group_id(group.trim())?, 0o3770)
}

pub(crate) fn make_group_store(dir: &Path, db: &Path, group: &str) -> Result<String, StoreError> {
    let name = group.trim();
    let gid = group_id(name)?;
    if db.exists() {
        return Err(StoreError::Group(format!(
            "{} already exists; a group store is made new (move the old one away first)",
            db.display()
        )));
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| StoreError::io(dir, e))?;
    let shared = |p: &Path, mode: u32| share(p, gid, mode);
    shared(dir, 0o2770)?;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o660)
        .open(db)
        .map_err(|e| StoreError::io(db, e))?;
    shared(db, 0o660)?;
    Ok(name.to_string())
}

/// In a group store (its directory setgid and the group's to write), SQLite's `-wal`
/// and `-shm` files are made 0660 before SQLite makes them. SQLite creates them under
/// the process's umask and only then `fchmod`s them to the database's mode: another
/// member's process that opens one in between is refused write and reports the
/// database read-only (seen in a full test run: an ask's first write while another
/// account's `inbox` opened the fresh store). Each is made under a name of its own,
/// given its mode, then linked into place, so that no one sees it otherwise; one that
/// exists is left as it is. Best effort: what this could not make, SQLite makes.
pub(crate) fn ready_side_files(db: &Path) {
    let (Some(dir), Some(name)) = (db.parent(), db.file_name()) else {
        return;
    };
    let group_dir = std::fs::metadata(dir).is_ok_and(|m| m.permissions().mode() & 0o2070 == 0o2070);
    if !group_dir {
        return;
    }
    let name = name.to_string_lossy();
    for suffix in ["-wal", "-shm"] {
        let target = dir.join(format!("{name}{suffix}"));
        if target.symlink_metadata().is_ok() {
            continue;
        }
        let tmp = dir.join(format!(".{name}{suffix}.new-{}", ulid::Ulid::new()));
        let made = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp);
        if let Ok(file) = made {
            // fchmod on the open file: past the umask, before anyone can see the name.
            if file
                .set_permissions(std::fs::Permissions::from_mode(0o660))
                .is_ok()
            {
                // Another process's file made first stays (`link` never replaces).
                let _ = std::fs::hard_link(&tmp, &target);
            }
            let _ = std::fs::remove_file(&tmp);
        }
    }
}

#[cfg(test)]
mod side_files_tests {
    use super::ready_side_files;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_group_stores_side_files_are_made_0660_and_a_private_stores_are_left_to_sqlite() {
        let t = tempfile::tempdir().expect("temp dir");
        let group = t.path().join("group");
        std::fs::create_dir(&group).expect("dir");
        std::fs::set_permissions(&group, std::fs::Permissions::from_mode(0o2770)).expect("mode");
        ready_side_files(&group.join("baton.db"));
        for f in ["baton.db-wal", "baton.db-shm"] {
            let m = std::fs::metadata(group.join(f)).expect("made");
            assert_eq!(m.permissions().mode() & 0o777, 0o660, "{f}");
            assert_eq!(m.len(), 0, "{f}");
        }
        let names: Vec<String> = std::fs::read_dir(&group)
            .expect("read")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "no temporary file is left: {names:?}");
        let private = t.path().join("private");
        std::fs::create_dir(&private).expect("dir");
        std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).expect("mode");
        ready_side_files(&private.join("baton.db"));
        assert_eq!(std::fs::read_dir(&private).expect("read").count(), 0);
    }
}

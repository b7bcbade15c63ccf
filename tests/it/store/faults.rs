//! Storage faults give clear errors and lose nothing committed; permissions are enforced.

use crate::helpers::*;
use baton::model::RunState;
use baton::store::{Store, StoreError};
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

fn mode(p: &std::path::Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn a_new_database_is_private_and_a_writable_one_is_refused() {
    let db = db();
    let s = Store::open(&db.path).unwrap();
    drop(s);
    assert_eq!(mode(db.path.parent().unwrap()), 0o700);
    assert_eq!(mode(&db.path), 0o600);

    std::fs::set_permissions(&db.path, std::fs::Permissions::from_mode(0o666)).unwrap();
    match Store::open(&db.path) {
        Err(e @ StoreError::InsecurePermissions { mode: 0o666, .. }) => {
            assert!(e.to_string().contains("chmod go-w"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    std::fs::set_permissions(&db.path, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::set_permissions(
        db.path.parent().unwrap(),
        std::fs::Permissions::from_mode(0o777),
    )
    .unwrap();
    assert!(matches!(
        Store::open(&db.path),
        Err(StoreError::InsecurePermissions { .. })
    ));
    // A directory everyone shares (sticky, like /tmp) is not to be chmodded: the advice
    // is a directory of the store's own inside it.
    let shared = db.path.parent().unwrap();
    std::fs::set_permissions(shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
    match Store::open(&db.path) {
        Err(e @ StoreError::InsecurePermissions { .. }) => {
            let said = e.to_string();
            assert!(!said.contains("chmod"), "{said}");
            let own = shared.join("baton").join("baton.db");
            assert!(said.contains(&format!("--db {}", own.display())), "{said}");
        }
        other => panic!("{other:?}"),
    }
    std::fs::set_permissions(shared, std::fs::Permissions::from_mode(0o700)).unwrap();
}

#[test]
fn a_file_that_is_not_sqlite_is_refused_untouched() {
    let db = db();
    std::fs::create_dir_all(db.path.parent().unwrap()).unwrap();
    std::fs::set_permissions(
        db.path.parent().unwrap(),
        std::fs::Permissions::from_mode(0o700),
    )
    .unwrap();
    let text = "this is my shopping list, not a database\n".repeat(200);
    std::fs::write(&db.path, &text).unwrap();
    std::fs::set_permissions(&db.path, std::fs::Permissions::from_mode(0o600)).unwrap();
    match Store::open(&db.path) {
        Err(e @ StoreError::NotADatabase { .. }) => {
            assert!(e.to_string().contains("not a baton database"))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(std::fs::read_to_string(&db.path).unwrap(), text);
}

#[test]
fn a_database_from_a_newer_baton_is_refused() {
    let db = db();
    drop(Store::open(&db.path).unwrap());
    raw(&db).pragma_update(None, "user_version", 999).unwrap();
    match Store::open(&db.path) {
        Err(StoreError::NewerVersion {
            found: 999,
            supported,
            ..
        }) => {
            assert_eq!(supported, baton::store::SCHEMA_VERSION)
        }
        other => panic!("{other:?}"),
    }
}

/// Makes a file immutable (root can't write it either) and undoes it on drop.
struct Immutable(std::path::PathBuf);
impl Immutable {
    fn set(p: &std::path::Path) -> Option<Immutable> {
        let ok = std::process::Command::new("chattr")
            .arg("+i")
            .arg(p)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Immutable(p.to_path_buf()))
    }
}
impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = std::process::Command::new("chattr")
            .arg("-i")
            .arg(&self.0)
            .status();
    }
}

#[test]
fn a_read_only_database_gives_read_only_and_keeps_what_was_committed() {
    let db = db();
    let mut s = store_with_run(&db, "R1");
    let mut sc = Script::new("R1");
    sc.started();
    let committed = sc.take();
    s.commit("R1", &committed).unwrap();
    drop(s);

    // Always: SQLite's read-only open flag.
    let mut ro = Store::open_read_only(&db.path).unwrap();
    assert_eq!(ro.events("R1").unwrap(), committed);
    sc.run_finished(RunState::Succeeded);
    let more = sc.take();
    match ro.commit("R1", &more) {
        Err(e @ StoreError::ReadOnly { .. }) => assert!(e.to_string().contains("read-only")),
        other => panic!("{other:?}"),
    }
    drop(ro);

    // And the file itself: as a normal user by mode; as root (which ignores modes) by
    // making it immutable when the filesystem allows it.
    let mut guard = None;
    if is_root() {
        match Immutable::set(&db.path) {
            Some(g) => guard = Some(g),
            None => {
                eprintln!("root and chattr unavailable: only the read-only flag was tested");
                return;
            }
        }
    } else {
        std::fs::set_permissions(&db.path, std::fs::Permissions::from_mode(0o400)).unwrap();
    }
    let r = Store::open(&db.path).and_then(|mut s| s.commit("R1", &more).map(|_| s));
    assert!(matches!(r, Err(StoreError::ReadOnly { .. })), "{r:?}");
    drop(guard);
    if !is_root() {
        std::fs::set_permissions(&db.path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let s = Store::open(&db.path).unwrap();
    assert_eq!(s.events("R1").unwrap(), committed);
}

#[test]
fn a_full_disk_gives_disk_full_and_loses_nothing_committed() {
    let db = db();
    let mut s = store_with_run(&db, "R1");
    let mut sc = Script::new("R1");
    sc.started();
    s.commit("R1", &sc.take()).unwrap();
    let size = std::fs::metadata(&db.path).unwrap().len();
    s.set_size_limit(size + 16 * 1024).unwrap();
    let mut committed = s.events("R1").unwrap();
    let mut full = None;
    for i in 0..2000 {
        sc.error(
            &format!("step{i}"),
            1,
            baton::model::ErrorKind::ExitNonzero,
            &"x".repeat(2000),
        );
        let batch = sc.take();
        match s.commit("R1", &batch) {
            Ok(()) => committed.extend(batch),
            Err(e) => {
                full = Some(e);
                break;
            }
        }
    }
    match full {
        Some(e @ StoreError::DiskFull { .. }) => assert!(e.to_string().contains("full")),
        other => panic!("{other:?}"),
    }
    drop(s);
    let s = Store::open(&db.path).unwrap();
    assert_eq!(s.events("R1").unwrap(), committed);
    let ok: String = raw(&db)
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
}

#[test]
fn a_locked_database_gives_busy_naming_the_lease_holder() {
    let db = db();
    let mut s = store_with_run(&db, "R1");
    s.acquire_lease(
        "R1",
        "pid 77 on build-host",
        baton::model::Timestamp(0),
        Duration::from_secs(30),
    )
    .unwrap();
    s.set_busy_timeout(Duration::from_millis(100)).unwrap();
    let other = raw(&db);
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let mut sc = Script::new("R1");
    sc.started();
    let batch = sc.take();
    let t = Instant::now();
    match s.commit("R1", &batch) {
        Err(e @ StoreError::Busy { .. }) => {
            assert!(e.to_string().contains("pid 77 on build-host"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        t.elapsed() >= Duration::from_millis(100),
        "waited for the busy timeout"
    );
    other.execute_batch("ROLLBACK").unwrap();
    s.commit("R1", &batch).unwrap();
    assert_eq!(s.events("R1").unwrap(), batch);
}

/// Security review: a database reached through a symlink from a private directory into
/// one others can write was accepted (only the link's directory was checked), though
/// whoever writes that directory can swap the file.
#[test]
fn a_database_linked_into_a_directory_others_can_write_is_refused() {
    let db = db();
    drop(Store::open(&db.path).unwrap());
    let open_dir = db.dir.path().join("open");
    std::fs::create_dir(&open_dir).unwrap();
    std::fs::set_permissions(&open_dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let target = open_dir.join("baton.db");
    std::fs::rename(&db.path, &target).unwrap();
    std::os::unix::fs::symlink(&target, &db.path).unwrap();
    match Store::open(&db.path) {
        Err(e @ StoreError::InsecurePermissions { mode: 0o777, .. }) => {
            assert!(
                e.to_string().contains(&open_dir.display().to_string()),
                "{e}"
            );
        }
        other => panic!("{other:?}"),
    }
    // Linked from a private directory into another private one: fine.
    std::fs::set_permissions(&open_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    Store::open(&db.path).unwrap();
}

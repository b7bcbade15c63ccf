//! Commands arrive without polling delays: the engine driving a run listens on a Unix
//! datagram socket beside the database (`<db>.wake/<run id>.sock`), and so does a
//! `baton ask` waiting on its ask (`<db>.wake/ask-….sock`); whoever commits a command
//! or an answer sends one byte to it, and the listener looks at the store at once
//! instead of on its next poll. The datagram carries no data the listener trusts: it
//! only says "look at the store now", so a stray or forged one costs one read. Polling
//! stays as the fallback (a socket path too long for `sun_path`, a filesystem without
//! sockets, another host on a shared store, a directory that fails the checks below).
//!
//! The directory is the store's: 0700 for a private store, 2770 (setgid, the store's
//! group) when the store's directory is shared with a group, so that any member can
//! wake any other's engine or asker, and no one else can reach in. Its sockets are
//! 0600, or 0660 in a shared store. A directory that is a symlink, that others can
//! reach into, or that neither this account nor the store's group owns is not used
//! (nothing is removed or bound in it, nothing sent through it).
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Longest socket path the kernel takes (`sun_path` is 108 bytes with its NUL).
const SUN_PATH_MAX: usize = 107;

/// Set (to anything) to make engines skip the wake socket: benchmarks compare the two.
pub const NO_WAKE_ENV: &str = "BATON_NO_WAKE";

/// The wake socket of `run_id`'s engine for the store at `db`; `None` when the path
/// would be too long for a Unix socket.
pub fn socket_path(db: &Path, run_id: &str) -> Option<PathBuf> {
    let name = db.file_name()?.to_string_lossy();
    let dir = db.with_file_name(format!("{name}.wake"));
    let path = dir.join(format!("{run_id}.sock"));
    (path.as_os_str().len() <= SUN_PATH_MAX).then_some(path)
}

/// Wake the engine driving `run_id`, if one listens. Best effort: without a listener
/// (no engine, another host, polling only) nothing happens and polling finds the
/// command.
pub fn notify(db: &Path, run_id: &str) {
    let Some(path) = socket_path(db, run_id) else {
        return;
    };
    let is_socket = std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_socket());
    if !is_socket
        || path
            .parent()
            .and_then(|d| usable_dir(d, shared_gid(db)))
            .is_none()
    {
        return;
    }
    if let Ok(sock) = std::os::unix::net::UnixDatagram::unbound() {
        let _ = sock.set_nonblocking(true);
        let _ = sock.send_to(b"w", &path);
    }
}

/// The group a store at `db` is shared with: its directory's, when the group may
/// write it (`baton store init --group` makes it 2770; the store checks, on opening,
/// that this is the group it records). `None` for a private store.
fn shared_gid(db: &Path) -> Option<u32> {
    let dir = db
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let m = std::fs::metadata(dir).ok()?;
    (m.mode() & 0o020 != 0).then_some(m.gid())
}

/// `dir` as a wake directory, made if missing: a real directory (never a symlink),
/// closed to others, owned by this account or (in a shared store) by the store's
/// group; one of this account's is set to 0700 or 2770 as the store wants.
fn usable_dir(dir: &Path, shared: Option<u32>) -> Option<()> {
    let mode = if shared.is_some() { 0o2770 } else { 0o700 };
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            match std::fs::DirBuilder::new().mode(0o700).create(dir) {
                Ok(()) => {
                    if let Some(gid) = shared {
                        let gid = nix::unistd::Gid::from_raw(gid);
                        nix::unistd::chown(dir, None, Some(gid)).ok()?;
                    }
                    // Past the umask, and after chown, which may clear the setgid bit.
                    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode)).ok()?;
                }
                // Made meanwhile by another process: checked as any found one.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(_) => return None,
            }
        }
        Err(_) => return None,
        Ok(_) => {}
    }
    let m = std::fs::symlink_metadata(dir).ok()?;
    if !m.file_type().is_dir() {
        return None;
    }
    if m.uid() == nix::unistd::geteuid().as_raw() {
        if m.mode() & 0o7777 != mode {
            // Made by an older baton (0700) in a store since shared, or opened by hand.
            if let Some(gid) = shared {
                nix::unistd::chown(dir, None, Some(nix::unistd::Gid::from_raw(gid))).ok()?;
            }
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode)).ok()?;
        }
        return Some(());
    }
    let groups = shared.is_some_and(|g| g == m.gid() && m.mode() & 0o070 == 0o070);
    if !groups || m.mode() & 0o007 != 0 {
        return None;
    }
    Some(())
}

/// The socket path of `name` in its wake directory, made ready to bind, and the mode
/// its socket gets. A socket left there by a process that died is stale: one listener
/// per name (an engine holds its run's lease; an ask's id is new).
fn fresh_path(db: &Path, name: &str) -> Option<(PathBuf, u32)> {
    let path = socket_path(db, name)?;
    let shared = shared_gid(db);
    usable_dir(path.parent()?, shared)?;
    let _ = std::fs::remove_file(&path);
    Some((path, if shared.is_some() { 0o660 } else { 0o600 }))
}

/// Give a bound socket its mode (the umask made it); `None` if that fails.
fn set_mode(path: &Path, mode: u32) -> Option<()> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).ok()
}

/// A blocking listener (`baton ask` waits on its ask's id with one): woken by
/// [`notify`] with the same name.
pub struct BlockingListener {
    sock: std::os::unix::net::UnixDatagram,
    path: PathBuf,
}

impl BlockingListener {
    /// `None` when waking is off or the socket cannot be made: the caller polls.
    pub fn bind(db: &Path, name: &str) -> Option<BlockingListener> {
        if std::env::var_os(NO_WAKE_ENV).is_some() {
            return None;
        }
        let (path, mode) = fresh_path(db, name)?;
        let sock = std::os::unix::net::UnixDatagram::bind(&path).ok()?;
        let l = BlockingListener { sock, path };
        set_mode(&l.path, mode)?;
        Some(l)
    }

    /// Wait up to `timeout` for a wake-up; whether one came.
    pub fn wait(&self, timeout: std::time::Duration) -> bool {
        let _ = self
            .sock
            .set_read_timeout(Some(timeout.max(std::time::Duration::from_millis(1))));
        let mut buf = [0u8; 16];
        let woken = self.sock.recv(&mut buf).is_ok();
        let _ = self.sock.set_nonblocking(true);
        while self.sock.recv(&mut buf).is_ok() {}
        let _ = self.sock.set_nonblocking(false);
        woken
    }
}

impl Drop for BlockingListener {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The engine's end: bound while the engine drives the run, removed when dropped.
pub struct WakeListener {
    sock: tokio::net::UnixDatagram,
    path: PathBuf,
}

impl WakeListener {
    /// Listen for `run_id` (inside a tokio runtime). `None` when waking is off or the
    /// socket cannot be made: the engine then polls only.
    pub fn bind(db: &Path, run_id: &str) -> Option<WakeListener> {
        if std::env::var_os(NO_WAKE_ENV).is_some() {
            return None;
        }
        let (path, mode) = fresh_path(db, run_id)?;
        let sock = tokio::net::UnixDatagram::bind(&path).ok()?;
        let l = WakeListener { sock, path };
        set_mode(&l.path, mode)?;
        Some(l)
    }

    /// Wait for the next wake-up (any datagram; several queued count as one).
    pub async fn woken(&self) {
        let mut buf = [0u8; 16];
        let _ = self.sock.recv(&mut buf).await;
        while self.sock.try_recv(&mut buf).is_ok() {}
    }
}

impl Drop for WakeListener {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_too_long_for_a_socket_is_none() {
        let db = Path::new("/tmp/x/baton.db");
        assert_eq!(
            socket_path(db, "01abc"),
            Some(PathBuf::from("/tmp/x/baton.db.wake/01abc.sock"))
        );
        let deep = PathBuf::from(format!("/{}/baton.db", "d".repeat(120)));
        assert_eq!(socket_path(&deep, "01abc"), None);
    }

    #[tokio::test]
    async fn a_notify_wakes_the_listener_and_a_stale_socket_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("baton.db");
        let first = WakeListener::bind(&db, "r1").expect("bind");
        // An engine that died leaves its socket file behind: the next one binds anyway.
        std::mem::forget(first);
        let l = WakeListener::bind(&db, "r1").expect("bind over a stale socket");
        notify(&db, "r1");
        tokio::time::timeout(std::time::Duration::from_secs(5), l.woken())
            .await
            .expect("woken");
        let path = socket_path(&db, "r1").unwrap();
        let mode = std::fs::metadata(path.parent().unwrap()).unwrap().mode() & 0o7777;
        assert_eq!(mode, 0o700, "a private store's wake directory");
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
        drop(l);
        assert!(!path.exists(), "removed when the engine goes");
    }

    #[test]
    fn a_wake_directory_that_is_a_symlink_or_open_to_others_is_not_used() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("baton.db");
        let elsewhere = dir.path().join("elsewhere");
        std::fs::create_dir(&elsewhere).unwrap();
        std::fs::set_permissions(&elsewhere, std::fs::Permissions::from_mode(0o700)).unwrap();
        // A file there named as the socket would be: binding would remove it.
        std::fs::write(elsewhere.join("ask-1.sock"), "keep").unwrap();
        std::os::unix::fs::symlink(&elsewhere, dir.path().join("baton.db.wake")).unwrap();
        assert!(BlockingListener::bind(&db, "ask-1").is_none());
        notify(&db, "ask-1");
        assert_eq!(
            std::fs::read_to_string(elsewhere.join("ask-1.sock")).unwrap(),
            "keep",
            "nothing removed through the symlink"
        );
        std::fs::remove_file(dir.path().join("baton.db.wake")).unwrap();
        std::fs::create_dir(dir.path().join("baton.db.wake")).unwrap();
        let open = std::fs::Permissions::from_mode(0o755);
        std::fs::set_permissions(dir.path().join("baton.db.wake"), open).unwrap();
        // Ours: closed again (0700) rather than used open.
        let l = BlockingListener::bind(&db, "ask-2").expect("our own directory, fixed");
        let m = std::fs::metadata(dir.path().join("baton.db.wake")).unwrap();
        assert_eq!(m.mode() & 0o7777, 0o700);
        notify(&db, "ask-2");
        assert!(l.wait(std::time::Duration::from_secs(5)), "woken");
    }
}

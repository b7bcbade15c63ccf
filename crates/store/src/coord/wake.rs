//! Commands arrive without polling delays: the engine driving a run listens on a Unix
//! datagram socket beside the database (`<db>.wake/<run id>.sock`, in a 0700
//! directory); whoever commits a command for that run sends one byte to it, and the
//! engine claims commands at once instead of on its next poll. The datagram carries no
//! data the engine trusts: it only says "look at the store now", so a stray or forged
//! one costs one `PRAGMA data_version`. Polling stays as the fallback (a socket path too
//! long for `sun_path`, a filesystem without sockets, another host on a shared store).
use std::os::unix::fs::DirBuilderExt;
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
    if let Ok(sock) = std::os::unix::net::UnixDatagram::unbound() {
        let _ = sock.set_nonblocking(true);
        let _ = sock.send_to(b"w", &path);
    }
}

/// The socket path of `name` in its 0700 directory, made ready to bind. A socket left
/// there by a process that died is stale: one listener per name (an engine holds its
/// run's lease; an ask's id is new).
fn fresh_path(db: &Path, name: &str) -> Option<PathBuf> {
    let path = socket_path(db, name)?;
    let dir = path.parent()?;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .ok()?;
    let _ = std::fs::remove_file(&path);
    Some(path)
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
        let path = fresh_path(db, name)?;
        let sock = std::os::unix::net::UnixDatagram::bind(&path).ok()?;
        Some(BlockingListener { sock, path })
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
        let path = fresh_path(db, run_id)?;
        let sock = tokio::net::UnixDatagram::bind(&path).ok()?;
        Some(WakeListener { sock, path })
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
        drop(l);
        assert!(!path.exists(), "removed when the engine goes");
    }
}

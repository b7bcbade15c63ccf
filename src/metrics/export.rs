//! While a run is driven, the store's metrics are kept in a file for node_exporter's
//! textfile collector (`--metrics-file`) and served at `/metrics` for a Prometheus
//! scrape (`--metrics-listen`). Both read the store through their own connection.
use super::exposition::{Format, render};
use crate::store::Store;
use std::io::Write;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub use crate::session::Readiness;

/// How often the file is looked at; it is rewritten only when the store changed.
const FILE_REFRESH: Duration = Duration::from_secs(1);
/// A request head larger than this is refused (a scrape's is a few hundred bytes).
const MAX_HEAD: usize = 8 * 1024;
/// A connection gets this long to send its request and read the answer.
const CONNECTION_DEADLINE: Duration = Duration::from_secs(10);
/// A connection gets this long to send its request's head (a probe sends it at once):
/// an idle connection is closed then, and never holds a place for long.
const HEAD_TIMEOUT: Duration = Duration::from_secs(2);
/// Connections open at once; more wait to be accepted. Each costs a task and a
/// descriptor at most `HEAD_TIMEOUT` unless it asked something; one peer address holds
/// at most `peers::PER_PEER` of them.
const MAX_CONNECTIONS: usize = 64;
/// `/metrics` answers made at once (each reads the store); `/healthz` and `/ready`
/// never wait for them.
const MAX_METRICS: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("--metrics-listen {addr}: {why}")]
    Listen { addr: String, why: String },
    #[error("--metrics-file {}: {why}", path.display())]
    File { path: PathBuf, why: String },
}

/// The exporters asked for, checked and bound before the run is created (a port in
/// use leaves nothing behind).
#[derive(Debug, Default)]
pub struct Exports {
    pub file: Option<PathBuf>,
    pub listener: Option<TcpListener>,
    /// `baton serve --approval-origin`: the approval page on the same listener.
    pub(crate) page: Option<Arc<crate::approval_page::Page>>,
    /// `baton serve`: webhook deliveries (`POST /hooks/…`) handed to the serve.
    pub(crate) hooks: Option<crate::session::HookDesk>,
}

impl Exports {
    /// Check `--metrics-file` and bind `--metrics-listen`. The bound address is printed
    /// on stderr (`metrics: serving http://127.0.0.1:PORT/metrics`), so a port of 0
    /// can be found; a non-loopback address gets a warning.
    pub fn open(file: Option<&Path>, listen: Option<&str>) -> Result<Exports, ExportError> {
        if let Some(path) = file {
            check_file(path)?;
        }
        let listener = match listen {
            None => None,
            Some(spec) => {
                let fail = |why: String| ExportError::Listen {
                    addr: spec.to_string(),
                    why,
                };
                let addrs = listen_addrs(spec).map_err(|e| fail(e.to_string()))?;
                let l = TcpListener::bind(&addrs[..]).map_err(|e| fail(e.to_string()))?;
                l.set_nonblocking(true).map_err(|e| fail(e.to_string()))?;
                let bound = l.local_addr().map_err(|e| fail(e.to_string()))?;
                if !bound.ip().is_loopback() {
                    crate::stdio::errln!(
                        "warning: --metrics-listen {bound} is not a loopback address: anyone \
                         who can reach it can read the metrics (workflow names, run ids, errors)"
                    );
                }
                crate::stdio::errln!("metrics: serving http://{bound}/metrics");
                Some(l)
            }
        };
        Ok(Exports {
            file: file.map(Path::to_path_buf),
            listener,
            page: None,
            hooks: None,
        })
    }

    /// Start the exporters on `rt` (the runtime that drives the run). `finish` writes
    /// the file a last time and stops them. `/ready` answers 200: the store is open.
    pub fn start(self, rt: &tokio::runtime::Runtime, db: &Path) -> Running {
        self.start_with(rt, db, Readiness::default())
    }

    /// [`Exports::start`], with `/ready` answering from `ready` (`baton serve`: 503 with
    /// the reason until every workflow loads).
    pub fn start_with(self, rt: &tokio::runtime::Runtime, db: &Path, ready: Readiness) -> Running {
        let file = self.file.map(|path| {
            let (tx, rx) = mpsc::channel();
            let db = db.to_path_buf();
            let thread = std::thread::Builder::new()
                .name("metrics-file".into())
                .spawn(move || keep_file(&db, &path, &rx))
                .ok();
            (tx, thread)
        });
        let server = self.listener.and_then(|l| {
            let _guard = rt.enter();
            match tokio::net::TcpListener::from_std(l) {
                Ok(l) => Some(rt.spawn(serve(l, db.to_path_buf(), ready, (self.page, self.hooks)))),
                Err(e) => {
                    crate::stdio::errln!("warning: --metrics-listen: {e}; not serving metrics");
                    None
                }
            }
        });
        Running { file, server }
    }
}

/// Exporters at work.
pub struct Running {
    file: Option<(mpsc::Sender<()>, Option<std::thread::JoinHandle<()>>)>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Write the file a last time (the run's final figures) and stop serving.
    pub fn finish(self) {
        if let Some((tx, thread)) = self.file {
            let _ = tx.send(());
            if let Some(t) = thread {
                let _ = t.join();
            }
        }
        if let Some(s) = self.server {
            s.abort();
        }
    }
}

/// `--metrics-listen` that names no address.
#[derive(Debug, thiserror::Error)]
pub enum AddrError {
    #[error("{0}; expected HOST:PORT, e.g. 127.0.0.1:9464")]
    Resolve(std::io::Error),
    #[error("no address to listen on; expected HOST:PORT, e.g. 127.0.0.1:9464")]
    Nothing,
}

/// Why the metrics file could not be written this time (said once per distinct why).
#[derive(Debug, thiserror::Error)]
enum RefreshError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Write(#[from] std::io::Error),
}

/// `PORT` alone is loopback; otherwise `HOST:PORT` (an IPv6 host in brackets).
pub fn listen_addrs(spec: &str) -> Result<Vec<SocketAddr>, AddrError> {
    let spec = spec.trim();
    if let Ok(port) = spec.trim_start_matches(':').parse::<u16>() {
        return Ok(vec![SocketAddr::from(([127, 0, 0, 1], port))]);
    }
    let addrs: Vec<SocketAddr> = spec
        .to_socket_addrs()
        .map_err(AddrError::Resolve)?
        .collect();
    if addrs.is_empty() {
        return Err(AddrError::Nothing);
    }
    Ok(addrs)
}

fn check_file(path: &Path) -> Result<(), ExportError> {
    let fail = |why: &str| ExportError::File {
        path: path.to_path_buf(),
        why: why.to_string(),
    };
    if path.file_name().is_none() || path.is_dir() {
        return Err(fail(
            "is a directory; give a file path, e.g. /var/lib/node_exporter/baton.prom",
        ));
    }
    let dir = parent_dir(path);
    if !dir.is_dir() {
        return Err(fail("its directory does not exist"));
    }
    Ok(())
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The file's loop: rewrite it whenever the store changed, until told to stop (then
/// once more). A failure is reported once per distinct message, not every second.
fn keep_file(db: &Path, path: &Path, stop: &mpsc::Receiver<()>) {
    let mut store: Option<Store> = None;
    let mut seen: Option<i64> = None;
    let mut last_error: Option<String> = None;
    // A stop request (or the run's side gone) ends the wait: one last, forced write
    // with the final figures.
    let mut stopping = false;
    loop {
        match refresh(db, path, &mut store, &mut seen, stopping) {
            Ok(()) => last_error = None,
            Err(e) => {
                let e = e.to_string();
                if last_error.as_ref() != Some(&e) {
                    crate::stdio::errln!("warning: --metrics-file {}: {e}", path.display());
                }
                last_error = Some(e);
                store = None;
            }
        }
        if stopping {
            return;
        }
        stopping = !matches!(
            stop.recv_timeout(FILE_REFRESH),
            Err(mpsc::RecvTimeoutError::Timeout)
        );
    }
}

fn refresh(
    db: &Path,
    path: &Path,
    store: &mut Option<Store>,
    seen: &mut Option<i64>,
    force: bool,
) -> Result<(), RefreshError> {
    let s = match store {
        Some(s) => s,
        None => store.insert(Store::open(db)?),
    };
    let version = s.data_version()?;
    if !force && *seen == Some(version) {
        return Ok(());
    }
    let mut m = s.metrics(None)?;
    crate::session::add_budgets(s, &mut m, crate::model::Timestamp::now());
    let text = render(&m, Format::Prometheus);
    write_atomic(path, text.as_bytes())?;
    *seen = Some(version);
    Ok(())
}

/// Write a temporary file beside `path` and rename it over `path`: a reader sees the
/// old text or the new, never half. The temporary name does not end in `.prom`, so
/// the textfile collector never reads it. It is random and made with `O_EXCL`: in a
/// directory others can write (a collector's, shared with a group), nobody can have
/// put a symlink there in advance to make baton write through it.
/// A device or a pipe at `path` is written in place, never replaced; a directory or
/// a socket is refused ([`crate::files::in_place`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(mut f) = crate::files::in_place(path)? {
        return f.write_all(bytes);
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = parent_dir(path);
    let mut tries = 0;
    let (tmp, mut f) = loop {
        let tmp = dir.join(format!(".{name}.{:016x}.tmp", rand::random::<u64>()));
        match crate::files::open_no_follow(&tmp, crate::files::Open::New, 0o644) {
            Ok(f) => break (tmp, f),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && tries < 8 => tries += 1,
            Err(e) => return Err(e),
        }
    };
    let written = (|| {
        f.write_all(bytes)?;
        f.sync_data()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// What a request asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    /// `GET /metrics` (or `HEAD`, without the body), in this format.
    Metrics {
        format: Format,
        head: bool,
    },
    /// `/healthz`: 200 while the process serves (a supervisor's liveness probe).
    Healthz {
        head: bool,
    },
    /// `/ready`: 200 once the store is open and every workflow loads, else 503 with why.
    Ready {
        head: bool,
    },
    NotFound,
    MethodNotAllowed,
    BadRequest,
    /// A `Host` that may be another site's name (DNS rebinding): `hosts::allowed`.
    Misdirected,
}

/// Route a request head (pure). Only the request line and `Accept` matter.
pub fn route(head: &str) -> Route {
    let mut lines = head.split("\r\n");
    let mut parts = lines.next().unwrap_or_default().split(' ');
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Route::BadRequest;
    };
    if !version.starts_with("HTTP/1.") {
        return Route::BadRequest;
    }
    let path = target.split(['?', '#']).next().unwrap_or_default();
    if !["/metrics", "/healthz", "/ready"].contains(&path) {
        return Route::NotFound;
    }
    let head_only = match method {
        "GET" => false,
        "HEAD" => true,
        _ => return Route::MethodNotAllowed,
    };
    match path {
        "/healthz" => return Route::Healthz { head: head_only },
        "/ready" => return Route::Ready { head: head_only },
        _ => {}
    }
    let accept = lines.find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("accept")
            .then(|| value.trim())
    });
    Route::Metrics {
        format: Format::from_accept(accept),
        head: head_only,
    }
}

/// The accept loop. Hand-written HTTP/1.1 for one GET route: a framework would be the
/// largest dependency of the binary for ~50 lines; every read is bounded in size and
/// time, and each connection is answered once and closed.
async fn serve(
    listener: tokio::net::TcpListener,
    db: PathBuf,
    ready: Readiness,
    (page, hooks): (
        Option<Arc<crate::approval_page::Page>>,
        Option<crate::session::HookDesk>,
    ),
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let metrics = Arc::new(tokio::sync::Semaphore::new(MAX_METRICS));
    let db = Arc::new(db);
    let peers = super::peers::Peers::default();
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let (sock, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(_) => {
                // Out of descriptors, say: try again shortly rather than spin.
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Some(held) = peers.hold(peer.ip()) else {
            // Told without waiting (a fresh socket's buffer takes it) and closed: the
            // refusal holds no place, whatever the peer sends or does not read.
            if let Ok(mut sock) = sock.into_std() {
                let _ = sock.write_all(super::peers::BUSY);
            }
            continue;
        };
        let (db, ready, metrics, page) = (db.clone(), ready.clone(), metrics.clone(), page.clone());
        let hooks = hooks.clone();
        tokio::spawn(async move {
            let asked = Asked {
                db: &db,
                ready: &ready,
                metrics: &metrics,
                page: page.as_deref(),
                hooks: hooks.as_ref(),
            };
            let _ = tokio::time::timeout(CONNECTION_DEADLINE, answer(sock, asked)).await;
            drop((held, slot));
        });
    }
}

/// What a connection's answer reads: the store, the serve's readiness, and the places
/// for `/metrics` answers.
#[derive(Clone, Copy)]
struct Asked<'a> {
    db: &'a Arc<PathBuf>,
    ready: &'a Readiness,
    metrics: &'a Arc<tokio::sync::Semaphore>,
    page: Option<&'a crate::approval_page::Page>,
    hooks: Option<&'a crate::session::HookDesk>,
}

/// The request's head (`None`: over `MAX_HEAD`) and the bytes read past it (the start
/// of a body); `Ok(None)` inside: the peer closed.
async fn read_head(
    sock: &mut tokio::net::TcpStream,
) -> std::io::Result<Option<Option<(String, Vec<u8>)>>> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            return Ok(Some(Some((head, buf[end + 4..].to_vec()))));
        }
        if buf.len() > MAX_HEAD {
            return Ok(Some(None));
        }
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

async fn answer(mut sock: tokio::net::TcpStream, asked: Asked<'_>) -> std::io::Result<()> {
    let Asked {
        db,
        ready,
        metrics,
        page,
        hooks,
    } = asked;
    // A connection that says nothing is closed soon: it never holds a place for long.
    let head = match tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut sock)).await {
        Ok(Ok(Some(head))) => head,
        Ok(Ok(None)) | Err(_) => return Ok(()),
        Ok(Err(e)) => return Err(e),
    };
    if let (Some(page), Some((text, rest))) = (page, &head)
        && crate::approval_page::wants(text)
    {
        return page.answer(sock, text, rest, db).await;
    }
    if let (Some(hooks), Some((text, rest))) = (hooks, &head)
        && crate::hooks::wants(text)
    {
        return crate::hooks::answer(hooks, sock, text, rest).await;
    }
    let page_host = page.map(crate::approval_page::Page::rp_id);
    let routed = head.as_ref().map(|(h, _)| {
        if super::hosts::allowed(h, page_host) {
            route(h)
        } else {
            Route::Misdirected
        }
    });
    let (status, content_type, body, head_only) = match routed {
        None => (
            "431 Request Header Fields Too Large",
            "text/plain",
            String::new(),
            false,
        ),
        Some(Route::BadRequest) => ("400 Bad Request", "text/plain", String::new(), false),
        Some(Route::Misdirected) => (
            "421 Misdirected Request",
            "text/plain",
            "baton answers /metrics, /healthz and /ready at an IP address, localhost, \
             this machine's name or the approval origin's host\n"
                .into(),
            false,
        ),
        Some(Route::NotFound) => (
            "404 Not Found",
            "text/plain",
            "baton answers /metrics, /healthz and /ready\n".into(),
            false,
        ),
        Some(Route::Healthz { head }) => ("200 OK", "text/plain", "ok\n".into(), head),
        Some(Route::Ready { head }) => {
            let why = ready
                .lock()
                .map(|r| r.clone())
                .unwrap_or_else(|_| Some("the serve failed".into()));
            match why {
                None => ("200 OK", "text/plain", "ready\n".into(), head),
                Some(why) => (
                    "503 Service Unavailable",
                    "text/plain",
                    format!("not ready: {why}\n"),
                    head,
                ),
            }
        }
        Some(Route::MethodNotAllowed) => {
            ("405 Method Not Allowed", "text/plain", String::new(), false)
        }
        Some(Route::Metrics { format, head }) => match metrics_text(db, metrics, format).await {
            Ok(t) => ("200 OK", format.content_type(), t, head),
            Err(e) => (
                "503 Service Unavailable",
                "text/plain",
                format!("cannot read the store: {e}\n"),
                false,
            ),
        },
    };
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n",
        body.len()
    );
    if status.starts_with("405") {
        out.push_str("Allow: GET, HEAD\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    if !head_only {
        out.push_str(&body);
    }
    sock.write_all(out.as_bytes()).await?;
    sock.shutdown().await
}

/// The store's metrics in `format`, read off the runtime's threads, at most
/// `MAX_METRICS` at once.
async fn metrics_text(
    db: &Arc<PathBuf>,
    metrics: &Arc<tokio::sync::Semaphore>,
    format: Format,
) -> Result<String, ScrapeError> {
    let _place = metrics.clone().acquire_owned().await;
    let db = db.clone();
    tokio::task::spawn_blocking(move || {
        let store = Store::open(&db)?;
        let mut m = store.metrics(None)?;
        crate::session::add_budgets(&store, &mut m, crate::model::Timestamp::now());
        Ok(render(&m, format))
    })
    .await
    .unwrap_or_else(|e| Err(ScrapeError::Stopped(e.to_string())))
}

/// Why `/metrics` could not read the store (answered 503 with it).
#[derive(Debug, thiserror::Error)]
enum ScrapeError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("the read stopped: {0}")]
    Stopped(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_get_and_head_of_metrics_only() {
        assert_eq!(
            route(
                "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: application/openmetrics-text; version=1.0.0"
            ),
            Route::Metrics {
                format: Format::OpenMetrics,
                head: false
            }
        );
        assert_eq!(
            route("HEAD /metrics?x=1 HTTP/1.0"),
            Route::Metrics {
                format: Format::Prometheus,
                head: true
            }
        );
        assert_eq!(route("GET / HTTP/1.1"), Route::NotFound);
        assert_eq!(
            route("GET /healthz HTTP/1.1"),
            Route::Healthz { head: false }
        );
        assert_eq!(route("HEAD /ready HTTP/1.1"), Route::Ready { head: true });
        assert_eq!(route("POST /metrics HTTP/1.1"), Route::MethodNotAllowed);
        assert_eq!(route("GET /metrics"), Route::BadRequest);
        assert_eq!(route(""), Route::BadRequest);
    }

    #[test]
    fn a_bare_port_listens_on_loopback() {
        assert_eq!(
            listen_addrs("9464").unwrap(),
            vec![SocketAddr::from(([127, 0, 0, 1], 9464))]
        );
        assert_eq!(
            listen_addrs("0.0.0.0:9464").unwrap(),
            vec![SocketAddr::from(([0, 0, 0, 0], 9464))]
        );
        assert!(listen_addrs("nonsense").is_err());
    }

    #[test]
    fn a_symlink_planted_beside_the_file_is_never_written_through() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep me\n").unwrap();
        // The name the old code used (pid-based), and a spread of others: none is used.
        let p = dir.path().join("baton.prom");
        let planted = dir
            .path()
            .join(format!(".baton.prom.{}.tmp", std::process::id()));
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        write_atomic(&p, b"metrics\n").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me\n");
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "metrics\n");
        assert!(
            !std::fs::symlink_metadata(&p)
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }

    #[test]
    fn a_pipe_is_written_in_place_and_stays_a_pipe_a_directory_is_refused() {
        use std::io::Read;
        use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("baton.prom");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let e = write_atomic(&fifo, b"metrics\n").unwrap_err();
        assert!(e.to_string().contains("nobody reads"), "{e}");
        let mut reader = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&fifo)
            .unwrap();
        write_atomic(&fifo, b"metrics\n").unwrap();
        let mut got = String::new();
        reader.read_to_string(&mut got).unwrap();
        assert_eq!(got, "metrics\n");
        assert!(
            std::fs::symlink_metadata(&fifo)
                .unwrap()
                .file_type()
                .is_fifo()
        );
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file left: {names:?}");
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        let e = write_atomic(&sub, b"metrics\n").unwrap_err();
        assert!(e.to_string().contains("is a directory"), "{e}");
        assert!(sub.is_dir());
    }

    #[test]
    fn the_file_is_replaced_whole() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("baton.prom");
        write_atomic(&p, b"one\n").unwrap();
        write_atomic(&p, b"two\n").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "two\n");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("baton.prom")]);
    }

    #[test]
    fn a_missing_directory_is_refused_before_the_run() {
        let e = Exports::open(Some(Path::new("/nonexistent-dir/baton.prom")), None).unwrap_err();
        assert!(e.to_string().contains("directory does not exist"), "{e}");
    }
}

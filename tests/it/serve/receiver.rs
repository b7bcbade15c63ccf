//! A local HTTP receiver for the notification tests: it keeps every request it takes
//! and answers each with what its `answer` makes of it and of those before it (a fake
//! ntfy or Slack Web API keeps what it was posted and gives it back).
use super::*;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// One request the receiver took: its method, path (with its query), headers (names
/// lowercased) and body.
#[derive(Debug, Clone)]
pub(crate) struct Got {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// When it was taken, in Unix seconds.
    pub at: f64,
}

impl Got {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of `name` in the query string, as sent.
    pub(crate) fn query(&self, name: &str) -> Option<&str> {
        let (_, q) = self.path.split_once('?')?;
        q.split('&')
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
    }
}

/// What the receiver answers `got`, given every request before it: status and body.
pub(crate) type Answer = fn(got: &Got, before: &[Got]) -> (u16, String);

pub(crate) struct Receiver {
    port: u16,
    got: Arc<Mutex<Vec<Got>>>,
    stop: Arc<AtomicBool>,
}

impl Receiver {
    /// A receiver answering 200 with no body to everything.
    pub(crate) fn start() -> Receiver {
        Receiver::answering(|_, _| (200, String::new()))
    }

    pub(crate) fn answering(answer: Answer) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let got: Arc<Mutex<Vec<Got>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (g, s) = (Arc::clone(&got), Arc::clone(&stop));
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let _ = take(conn, &g, answer);
            }
        });
        Receiver { port, got, stop }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The POSTs to `path`.
    pub(crate) fn to(&self, path: &str) -> Vec<Got> {
        let got = self.got.lock().unwrap();
        got.iter()
            .filter(|g| g.method == "POST" && g.path == path)
            .cloned()
            .collect()
    }

    /// Every request whose path starts with `prefix`.
    pub(crate) fn all(&self, prefix: &str) -> Vec<Got> {
        let got = self.got.lock().unwrap();
        got.iter()
            .filter(|g| g.path.starts_with(prefix))
            .cloned()
            .collect()
    }

    pub(crate) fn wait_for(&self, path: &str) -> Got {
        wait_until(&format!("a post to {path}"), secs(30), || {
            self.to(path).first().cloned()
        })
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Read one request, keep it, answer it.
fn take(mut conn: TcpStream, kept: &Mutex<Vec<Got>>, answer: Answer) -> Option<()> {
    conn.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .ok()?;
    let mut r = BufReader::new(conn.try_clone().ok()?);
    let mut line = String::new();
    r.read_line(&mut line).ok()?;
    let mut words = line.split(' ');
    let method = words.next()?.to_string();
    let path = words.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        r.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len.min(1 << 20)];
    r.read_exact(&mut body).ok()?;
    let got = Got {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        at: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64()),
    };
    let (status, text) = {
        let mut kept = kept.lock().unwrap();
        let a = answer(&got, &kept);
        kept.push(got);
        a
    };
    let head = format!(
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        text.len()
    );
    conn.write_all(head.as_bytes()).ok()?;
    conn.write_all(text.as_bytes()).ok()
}

//! The approval page of `baton serve --approval-origin URL` (on the `--listen`
//! listener): every open gate with the facts the CLI shows, decided by a passkey
//! signing baton's canonical decision message on the device (`decide`). The server
//! holds no secret that makes a decision: it only hands the signed decision to the run
//! as `baton approve --signature` does, and the engine checks it.
//!
//! Routes (everything else under `/approve` is a 404):
//! - `GET /approve`: the page (HTML, its script at `GET /approve/page.js`);
//! - `GET /approve/gates`: the open gates' facts (JSON, `facts`);
//! - `POST /approve/message`: the exact message a decision signs and the WebAuthn
//!   challenge for it;
//! - `POST /approve/decide`: a decision with its passkey assertion.
mod decide;
mod facts;

use std::path::PathBuf;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A request body larger than this is refused (a decision with its assertion and the
/// largest inputs a form sends is a few KiB; a file input goes through the CLI).
pub(crate) const MAX_BODY: usize = 256 * 1024;

/// Where the page is served from, as the browser sees it: WebAuthn binds every
/// assertion to this origin, and its host is the relying party.
#[derive(Debug, Clone)]
pub(crate) struct Page {
    origin: String,
    rp_id: String,
}

/// `--approval-origin` that names no origin the page can be served from.
#[derive(Debug, thiserror::Error)]
pub(crate) enum OriginError {
    #[error(
        "--approval-origin {0}: expected https://HOST[:PORT] (or http://localhost:PORT): a browser signs with a passkey only on HTTPS or localhost"
    )]
    Malformed(String),
}

impl Page {
    /// `origin` as the browser's address bar shows it (`https://baton.example.ts.net`,
    /// `http://localhost:9464`); a path or a plain-HTTP host other than localhost is
    /// refused.
    pub(crate) fn new(origin: &str) -> Result<Page, OriginError> {
        let bad = || OriginError::Malformed(origin.to_string());
        let origin = origin.trim().trim_end_matches('/');
        let (scheme, rest) = origin.split_once("://").ok_or_else(bad)?;
        if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) {
            return Err(bad());
        }
        let (host, port) = match rest.strip_prefix('[') {
            Some(v6) => v6.split_once(']').ok_or_else(bad)?,
            None => rest.split_once(':').unwrap_or((rest, "")),
        };
        let port = port.strip_prefix(':').unwrap_or(port);
        let port_ok = (port.is_empty() && !rest.ends_with(':')) || port.parse::<u16>().is_ok();
        let secure = scheme == "https" || (scheme == "http" && host == "localhost");
        if host.is_empty() || !secure || !port_ok {
            return Err(bad());
        }
        Ok(Page {
            origin: origin.to_string(),
            rp_id: host.to_ascii_lowercase(),
        })
    }

    pub(crate) fn origin(&self) -> &str {
        &self.origin
    }

    pub(crate) fn rp_id(&self) -> &str {
        &self.rp_id
    }

    /// Answer one request whose head is `head` (`rest`: the bytes read past it), then
    /// close the connection.
    pub(crate) async fn answer(
        &self,
        mut sock: tokio::net::TcpStream,
        head: &str,
        rest: &[u8],
        db: &Arc<PathBuf>,
    ) -> std::io::Result<()> {
        if let Some(refused) = self.foreign(head) {
            sock.write_all(&refused.bytes(head.starts_with("HEAD ")))
                .await?;
            return sock.shutdown().await;
        }
        let reply = match request_line(head) {
            Some(("GET" | "HEAD", "/approve")) => Reply::page(),
            Some(("GET" | "HEAD", "/approve/page.js")) => Reply::script(),
            Some(("GET", "/approve/gates")) => {
                let (db, page) = (db.clone(), self.clone());
                blocking(move || facts::gates(&db, &page)).await
            }
            Some(("POST", path @ ("/approve/message" | "/approve/decide"))) => {
                match read_body(&mut sock, head, rest).await? {
                    Err(reply) => reply,
                    Ok(body) => {
                        let (db, page, path) = (db.clone(), self.clone(), path.to_string());
                        blocking(move || match path.as_str() {
                            "/approve/message" => decide::message(&db, &page, &body),
                            _ => decide::decide(&db, &page, &body),
                        })
                        .await
                    }
                }
            }
            Some((_, "/approve" | "/approve/page.js" | "/approve/gates")) => Reply::status(
                "405 Method Not Allowed",
                "the approval page's resources are read with GET\n",
            ),
            Some((_, "/approve/message" | "/approve/decide")) => {
                Reply::status("405 Method Not Allowed", "a decision is sent with POST\n")
            }
            Some(_) => Reply::status("404 Not Found", "no such page of the approval page\n"),
            None => Reply::status("400 Bad Request", ""),
        };
        let head_only = head.starts_with("HEAD ");
        sock.write_all(&reply.bytes(head_only)).await?;
        sock.shutdown().await
    }
}

impl Page {
    /// The answer to a request that is not the page's own, or `None`: its `Host` must be
    /// the origin's host and port (a DNS-rebinding page of another site sends its own
    /// name), and a POST's `Origin` the page's origin (a browser sends it on every POST,
    /// and only the page's script sends this one).
    fn foreign(&self, head: &str) -> Option<Reply> {
        let host = header(head, "host").unwrap_or_default();
        if !self.is_host(host) {
            return Some(Reply::status(
                "421 Misdirected Request",
                "the approval page answers only at the host of its --approval-origin\n",
            ));
        }
        let post = request_line(head).is_some_and(|(method, _)| method == "POST");
        let origin = header(head, "origin").unwrap_or_default();
        if post && !origin.eq_ignore_ascii_case(&self.origin) {
            return Some(Reply::status(
                "403 Forbidden",
                "a decision is sent only by the approval page itself (its Origin)\n",
            ));
        }
        None
    }

    /// Whether `host` (a `Host` header) names the origin's host and port, its scheme's
    /// default port written or not.
    fn is_host(&self, host: &str) -> bool {
        let (scheme, authority) = self.origin.split_once("://").unwrap_or_default();
        let default = if scheme == "https" { ":443" } else { ":80" };
        let bare = authority.strip_suffix(default).unwrap_or(authority);
        host.eq_ignore_ascii_case(bare) || host.eq_ignore_ascii_case(&format!("{bare}{default}"))
    }
}

/// Whether a request is the approval page's (its path is `/approve` or under it).
pub(crate) fn wants(head: &str) -> bool {
    request_line(head).is_some_and(|(_, path)| path == "/approve" || path.starts_with("/approve/"))
}

/// The method and path (without its query) of an HTTP/1.x request line.
fn request_line(head: &str) -> Option<(&str, &str)> {
    let line = head.split("\r\n").next()?;
    let mut parts = line.split(' ');
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    if !version.starts_with("HTTP/1.") {
        return None;
    }
    Some((method, target.split(['?', '#']).next().unwrap_or_default()))
}

fn header<'h>(head: &'h str, name: &str) -> Option<&'h str> {
    head.split("\r\n").skip(1).find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// The request's body, by its `Content-Length` (at most [`MAX_BODY`]); the answer to
/// send instead when it has none, too large a one, or is not JSON from this page.
async fn read_body(
    sock: &mut tokio::net::TcpStream,
    head: &str,
    rest: &[u8],
) -> std::io::Result<Result<Vec<u8>, Reply>> {
    // A body is framed by its length only: a `Transfer-Encoding` (chunked or other) is
    // refused rather than read as if absent (request smuggling behind a proxy).
    if header(head, "transfer-encoding").is_some() {
        return Ok(Err(Reply::status(
            "501 Not Implemented",
            "a decision is sent with Content-Length, not Transfer-Encoding\n",
        )));
    }
    let Some(len) = header(head, "content-length").and_then(|v| v.parse::<usize>().ok()) else {
        return Ok(Err(Reply::status("411 Length Required", "")));
    };
    if len > MAX_BODY {
        return Ok(Err(Reply::status(
            "413 Content Too Large",
            "a decision is at most 256 KiB\n",
        )));
    }
    // A form of another site cannot send JSON without a preflight, which this server
    // never grants: only the page itself reaches here.
    let json = header(head, "content-type")
        .is_some_and(|v| v.split(';').next().unwrap_or_default().trim() == "application/json");
    if !json {
        return Ok(Err(Reply::status(
            "415 Unsupported Media Type",
            "a decision is sent as application/json\n",
        )));
    }
    let mut body = rest[..rest.len().min(len)].to_vec();
    while body.len() < len {
        let mut chunk = vec![0u8; (len - body.len()).min(16 * 1024)];
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            return Ok(Err(Reply::status(
                "400 Bad Request",
                "the body ended early\n",
            )));
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Ok(Ok(body))
}

/// Run `f` (it reads or writes the store) off the connection's task.
async fn blocking(f: impl FnOnce() -> Reply + Send + 'static) -> Reply {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| {
        Reply::status(
            "500 Internal Server Error",
            &format!("the request failed: {e}\n"),
        )
    })
}

/// One answer: status, type and body.
#[derive(Debug)]
pub(crate) struct Reply {
    status: &'static str,
    content_type: &'static str,
    body: Vec<u8>,
}

impl Reply {
    fn page() -> Reply {
        Reply {
            status: "200 OK",
            content_type: "text/html; charset=utf-8",
            body: include_bytes!("page.html").to_vec(),
        }
    }

    fn script() -> Reply {
        Reply {
            status: "200 OK",
            content_type: "text/javascript; charset=utf-8",
            body: include_bytes!("page.js").to_vec(),
        }
    }

    pub(crate) fn status(status: &'static str, text: &str) -> Reply {
        Reply {
            status,
            content_type: "text/plain; charset=utf-8",
            body: text.as_bytes().to_vec(),
        }
    }

    pub(crate) fn json(status: &'static str, value: &serde_json::Value) -> Reply {
        Reply {
            status,
            content_type: "application/json",
            body: value.to_string().into_bytes(),
        }
    }

    /// The whole HTTP answer. The page runs only its own script, is never framed
    /// (clickjacking a decision), never cached and never sends a referrer.
    fn bytes(&self, head_only: bool) -> Vec<u8> {
        let mut out = format!(
            "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n\
             Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'\r\n\
             X-Frame-Options: DENY\r\nX-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n\
             Cache-Control: no-store\r\nConnection: close\r\n\r\n",
            self.status,
            self.content_type,
            self.body.len()
        )
        .into_bytes();
        if !head_only {
            out.extend_from_slice(&self.body);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_origin_is_https_or_localhost_and_names_its_relying_party() {
        let p = Page::new("https://Baton.example.ts.net/").unwrap();
        assert_eq!(p.origin(), "https://Baton.example.ts.net");
        assert_eq!(p.rp_id(), "baton.example.ts.net");
        assert_eq!(
            Page::new("http://localhost:9464").unwrap().rp_id(),
            "localhost"
        );
        assert_eq!(Page::new("https://h:8443").unwrap().rp_id(), "h");
        for bad in [
            "http://baton.example",
            "baton.example",
            "https://",
            "https://h/approve",
            "https://u@h",
            "https://h:port",
        ] {
            assert!(Page::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_the_origin_s_host_and_a_post_from_the_page_are_answered() {
        let p = Page::new("http://localhost:9464").unwrap();
        let get = |host: &str| format!("GET /approve/gates HTTP/1.1\r\nHost: {host}\r\n");
        assert!(p.foreign(&get("localhost:9464")).is_none());
        assert!(p.foreign(&get("LOCALHOST:9464")).is_none());
        for bad in [
            "evil.example",
            "localhost",
            "localhost:9465",
            "127.0.0.1:9464",
            "",
        ] {
            assert!(p.foreign(&get(bad)).is_some(), "{bad}");
        }
        assert!(p.foreign("GET /approve HTTP/1.1\r\n").is_some());
        let post = |origin: &str| {
            format!("POST /approve/decide HTTP/1.1\r\nHost: localhost:9464\r\n{origin}")
        };
        assert!(
            p.foreign(&post("Origin: http://localhost:9464\r\n"))
                .is_none()
        );
        assert!(
            p.foreign(&post("Origin: http://evil.example\r\n"))
                .is_some()
        );
        assert!(p.foreign(&post("")).is_some());
        let tls = Page::new("https://b.example.ts.net").unwrap();
        assert!(tls.is_host("b.example.ts.net") && tls.is_host("b.example.ts.net:443"));
        assert!(!tls.is_host("b.example.ts.net:80"));
    }

    #[test]
    fn only_the_page_s_paths_are_its_own() {
        assert!(wants("GET /approve HTTP/1.1\r\nHost: x"));
        assert!(wants("POST /approve/decide HTTP/1.1"));
        assert!(wants("GET /approve?x HTTP/1.1"));
        assert!(!wants("GET /approved HTTP/1.1"));
        assert!(!wants("GET /metrics HTTP/1.1"));
        assert!(!wants("GET /approve SPDY/3"));
    }
}

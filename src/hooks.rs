//! `POST /hooks/WORKFLOW/TRIGGER` on `baton serve --listen` (issue 81): a webhook
//! delivery read off the socket, bounded (a head of 8 KiB by the listener, a body of
//! `webhook::MAX_BODY` by `Content-Length`, refused unread past it), and handed to the
//! serve (`session::HookDesk`), which checks it and makes its run. The answer is sent
//! only once the serve says the run is on record: a serve killed before then leaves
//! the sender without a 2xx, and its retry (the same body) makes the one run.
use crate::session::webhook::{self, MAX_BODY, Refusal};
use crate::session::{Delivery, HookAnswer, HookDesk};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A body must arrive within this once its head has.
const BODY_TIMEOUT: Duration = Duration::from_secs(5);
/// At most this many headers are read from a request (GitHub sends about 15).
const MAX_HEADERS: usize = 100;

/// Whether the request's path is a hook's (`/hooks/…`).
pub(crate) fn wants(head: &str) -> bool {
    target(head).is_some_and(|t| t == "/hooks" || t.starts_with("/hooks/"))
}

/// The request line's target without its query.
fn target(head: &str) -> Option<&str> {
    let mut parts = head.split("\r\n").next()?.split(' ');
    let (_, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    version
        .starts_with("HTTP/1.")
        .then(|| target.split(['?', '#']).next().unwrap_or_default())
}

/// The request's headers, their names in lower case (the first of a repeated one).
fn headers(head: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for l in head.split("\r\n").skip(1).take(MAX_HEADERS) {
        if let Some((n, v)) = l.split_once(':') {
            out.entry(n.trim().to_ascii_lowercase())
                .or_insert_with(|| v.trim().to_string());
        }
    }
    out
}

/// `/hooks/WORKFLOW/TRIGGER`, each percent-decoded.
fn names(target: &str) -> Option<(String, String)> {
    let rest = target.strip_prefix("/hooks/")?;
    let (wf, trigger) = rest.split_once('/')?;
    if wf.is_empty() || trigger.is_empty() || trigger.contains('/') {
        return None;
    }
    Some((decode(wf)?, decode(trigger)?))
}

/// Percent-decoding of a path segment; `None` for a malformed one or one that is not
/// UTF-8 text.
fn decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    let text = String::from_utf8(out).ok()?;
    (!text.chars().any(char::is_control)).then_some(text)
}

/// What is written back.
struct Reply {
    status: &'static str,
    body: String,
    allow: bool,
}

impl Reply {
    fn text(status: &'static str, body: String) -> Reply {
        Reply {
            status,
            body,
            allow: false,
        }
    }

    fn json(status: &'static str, v: &serde_json::Value) -> Reply {
        Reply::text(status, format!("{v}\n"))
    }

    fn refused(r: &Refusal) -> Reply {
        Reply::json(
            r.status(),
            &serde_json::json!({"refused": r.reason(), "error": r.to_string()}),
        )
    }

    async fn send(&self, sock: &mut tokio::net::TcpStream) -> std::io::Result<()> {
        let ctype = if self.body.starts_with('{') {
            "application/json"
        } else {
            "text/plain"
        };
        let mut out = format!(
            "HTTP/1.1 {}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n",
            self.status,
            self.body.len()
        );
        if self.allow {
            out.push_str("Allow: POST\r\n");
        }
        out.push_str("Connection: close\r\n\r\n");
        out.push_str(&self.body);
        sock.write_all(out.as_bytes()).await?;
        sock.shutdown().await
    }
}

/// Answer one hook request: `head` read by the listener, `rest` the bytes read past it.
pub(crate) async fn answer(
    desk: &HookDesk,
    mut sock: tokio::net::TcpStream,
    head: &str,
    rest: &[u8],
) -> std::io::Result<()> {
    let reply = match take(desk, &mut sock, head, rest).await? {
        Some(r) => r,
        None => return Ok(()),
    };
    reply.send(&mut sock).await
}

/// The reply to a hook request (`None`: the peer went away, nothing to answer).
async fn take(
    desk: &HookDesk,
    sock: &mut tokio::net::TcpStream,
    head: &str,
    rest: &[u8],
) -> std::io::Result<Option<Reply>> {
    let method = head.split(' ').next().unwrap_or_default();
    let Some((workflow, trigger)) = target(head).and_then(names) else {
        return Ok(Some(Reply::text(
            "404 Not Found",
            "a hook is POST /hooks/WORKFLOW/TRIGGER (the workflow's name, the trigger's `name`)\n"
                .into(),
        )));
    };
    if method != "POST" {
        let mut r = Reply::text("405 Method Not Allowed", "a hook is POSTed\n".into());
        r.allow = true;
        return Ok(Some(r));
    }
    let headers = headers(head);
    let delivery = webhook::delivery_id(&headers).ok();
    let (wf, tr, id) = (workflow.as_str(), trigger.as_str(), delivery.as_deref());
    let refuse = |r: Refusal| async move {
        desk.refused(wf, tr, &r, id).await;
        Some(Reply::refused(&r))
    };
    if headers.contains_key("transfer-encoding") {
        let r = Refusal::Body("send the body with a Content-Length, not chunked".into());
        return Ok(refuse(r).await);
    }
    let Some(len) = headers
        .get("content-length")
        .and_then(|v| v.parse::<usize>().ok())
    else {
        return Ok(Some(Reply::text(
            "411 Length Required",
            "send the body with a Content-Length\n".into(),
        )));
    };
    if len > MAX_BODY || rest.len() > len {
        return Ok(refuse(Refusal::TooLarge).await);
    }
    if headers
        .get("expect")
        .is_some_and(|e| e.eq_ignore_ascii_case("100-continue"))
    {
        sock.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
    }
    let mut body = Vec::with_capacity(len);
    body.extend_from_slice(rest);
    match tokio::time::timeout(BODY_TIMEOUT, read_to(sock, &mut body, len)).await {
        Ok(Ok(true)) => {}
        Ok(Ok(false)) | Err(_) => return Ok(None),
        Ok(Err(e)) => return Err(e),
    }
    let answer = desk
        .deliver(Delivery {
            workflow,
            trigger,
            headers,
            body,
        })
        .await;
    Ok(Some(match answer {
        HookAnswer::Made { run_id, again } => Reply::json(
            if again { "200 OK" } else { "201 Created" },
            &serde_json::json!({"run": run_id, "again": again}),
        ),
        HookAnswer::Held { again } => Reply::json(
            "202 Accepted",
            &serde_json::json!({"pending": true, "again": again}),
        ),
        HookAnswer::Refused(r) => Reply::refused(&r),
    }))
}

/// Read until `body` holds `len` bytes (`false`: the peer closed first).
async fn read_to(
    sock: &mut tokio::net::TcpStream,
    body: &mut Vec<u8>,
    len: usize,
) -> std::io::Result<bool> {
    let mut chunk = [0u8; 8192];
    while body.len() < len {
        let want = (len - body.len()).min(chunk.len());
        let n = sock.read(&mut chunk[..want]).await?;
        if n == 0 {
            return Ok(false);
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hook_s_path_names_its_workflow_and_trigger() {
        assert!(wants("POST /hooks/deploy/push HTTP/1.1\r\nHost: x"));
        assert!(!wants("GET /metrics HTTP/1.1"));
        assert_eq!(
            names("/hooks/deploy%20prod/push"),
            Some(("deploy prod".into(), "push".into()))
        );
        assert_eq!(names("/hooks/deploy"), None);
        assert_eq!(names("/hooks/deploy/push/x"), None);
        assert_eq!(names("/hooks/a%0a/b"), None);
        assert_eq!(names("/hooks/a%zz/b"), None);
    }

    #[test]
    fn headers_are_read_by_lower_case_name() {
        let h = headers("POST / HTTP/1.1\r\nX-Hub-Signature-256: sha256=ab\r\nContent-Length: 2");
        assert_eq!(h["x-hub-signature-256"], "sha256=ab");
        assert_eq!(h["content-length"], "2");
    }
}

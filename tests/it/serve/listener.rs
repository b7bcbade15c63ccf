//! The serve's listener against its own clients (issue 80 and 81 point 5): one address
//! holds at most 16 of its 64 connections, so slow clients that never finish a request
//! head leave room for everyone else; `/metrics`, `/healthz` and `/ready` answer only a
//! `Host` that cannot be another site's name (DNS rebinding).
use super::*;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

const HOURLY: &str = "name = \"report\"\n\n[[schedule]]\ncron = \"@hourly\"\n\n[[step]]\nid = \"a\"\nrun = \"true\"\n";

/// The status line of `GET path` sent with `Host: host` from 127.0.0.2 (another
/// address than the idle clients').
fn get_from_elsewhere(addr: &str, path: &str, host: &str) -> String {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    let sock = rt.block_on(async {
        let s = tokio::net::TcpSocket::new_v4().unwrap();
        s.bind("127.0.0.2:0".parse().unwrap()).unwrap();
        s.connect(addr.parse().unwrap()).await.unwrap()
    });
    let mut s: TcpStream = rt.block_on(async { sock.into_std() }).unwrap();
    s.set_nonblocking(false).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let raw = String::from_utf8_lossy(&raw).into_owned();
    raw.lines().next().unwrap_or_default().to_string()
}

/// What a client of the listener sees now, without waiting.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    /// Still open, nothing said: it holds a place.
    Held,
    /// Closed, or told something (the first line).
    Told(String),
}

fn seen(c: &TcpStream) -> Seen {
    c.set_nonblocking(true).unwrap();
    let mut b = [0u8; 256];
    let s = match c.peek(&mut b) {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Seen::Held,
        Ok(n) => Seen::Told(
            String::from_utf8_lossy(&b[..n])
                .lines()
                .next()
                .unwrap_or_default()
                .to_string(),
        ),
        Err(e) => Seen::Told(e.to_string()),
    };
    c.set_nonblocking(false).unwrap();
    s
}

/// Slowloris: 64 clients of one address that open a connection and send their head a
/// byte at a time. Sixteen hold a place; the other 48 are told 503 at once; a request
/// from another address is answered while the sixteen are still held, and each of the
/// sixteen is closed unanswered once its head's time passed.
#[test]
fn one_address_holds_sixteen_places_and_another_is_answered_meanwhile() {
    let mut s = Served::new();
    s.write("report.toml", HOURLY);
    let (child, _log, addr) = s.start_listening();
    wait_until("/healthz", secs(30), || {
        get_from_elsewhere(&addr, "/healthz", &addr) == "HTTP/1.1 200 OK"
    });
    let slow: Vec<TcpStream> = (0..64)
        .map(|_| TcpStream::connect(&addr).unwrap())
        .collect();
    let answered = get_from_elsewhere(&addr, "/healthz", &addr);
    assert_eq!(answered, "HTTP/1.1 200 OK");
    // The listener took the 64 in their order before the request that came after them.
    let now: Vec<Seen> = slow.iter().map(seen).collect();
    let held = now.iter().filter(|s| **s == Seen::Held).count();
    let busy = now
        .iter()
        .filter(|s| **s == Seen::Told("HTTP/1.1 503 Service Unavailable".into()))
        .count();
    assert_eq!((held, busy), (16, 48), "{now:?}");
    // The held ones trickle a head; none is answered, each is closed by the listener.
    for (mut c, s) in slow.into_iter().zip(now) {
        if s != Seen::Held {
            continue;
        }
        let _ = c.write_all(b"G");
        let _ = c.write_all(b"ET /heal");
        c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut rest = Vec::new();
        match c.read_to_end(&mut rest) {
            Ok(_) => assert!(rest.is_empty(), "{}", String::from_utf8_lossy(&rest)),
            Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
        }
    }
    term(child);
}

/// A page of another site whose name resolves to the listener's address (DNS
/// rebinding) reads none of the listener's routes; an address, `localhost` and no
/// `Host` at all are answered.
#[test]
fn the_listener_s_routes_answer_no_other_site_s_host() {
    let mut s = Served::new();
    s.write("report.toml", HOURLY);
    let (child, _log, addr) = s.start_listening();
    let port = addr.rsplit(':').next().unwrap();
    for path in ["/metrics", "/healthz", "/ready"] {
        for host in [
            "evil.example",
            &format!("evil.example:{port}"),
            "127.0.0.1.evil.example",
        ] {
            let got = get_from_elsewhere(&addr, path, host);
            assert_eq!(got, "HTTP/1.1 421 Misdirected Request", "{path} {host}");
        }
    }
    for host in [addr.clone(), format!("localhost:{port}")] {
        wait_until("/healthz", secs(30), || {
            get_from_elsewhere(&addr, "/healthz", &host) == "HTTP/1.1 200 OK"
        });
    }
    let mut c = TcpStream::connect(&addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    c.write_all(b"GET /healthz HTTP/1.0\r\n\r\n").unwrap();
    let mut raw = String::new();
    let _ = c.read_to_string(&mut raw);
    assert!(raw.starts_with("HTTP/1.1 200 OK"), "{raw}");
    term(child);
}

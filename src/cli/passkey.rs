//! `baton passkey enrol`: serve a one-time page that creates a passkey for the relying
//! party, and print its allowed-signers line (docs/approvals.md, "Passkeys"). The page
//! is reached at `ORIGIN/enrol/TOKEN`, a token printed only on this terminal, and
//! answers once: the first passkey sent back ends the command.
use crate::session::exit;
use crate::stdio::{errln, outln};
use clap::{Args, Subcommand};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

#[derive(Debug, Args)]
pub struct PasskeyArgs {
    #[command(subcommand)]
    pub command: PasskeyCmd,
}

#[derive(Debug, Subcommand)]
pub enum PasskeyCmd {
    /// Serve a one-time page that creates a passkey on a phone or a security key, and print its allowed-signers line
    #[command(
        after_help = "The page must be reached at ORIGIN: http://localhost:PORT on this machine, or HTTPS through a proxy that forwards to --listen (a tailnet's `tailscale serve`, a VPN host's reverse proxy). No port needs to be open to the internet.\n\nExamples:\n  baton passkey enrol --rp localhost --origin http://localhost:8787 --principal alice\n  baton passkey enrol --rp ops.tail1234.ts.net --origin https://ops.tail1234.ts.net --principal alice --listen 127.0.0.1:8787 >> allowed_signers"
    )]
    Enrol(EnrolArgs),
}

#[derive(Debug, Args)]
pub struct EnrolArgs {
    /// The WebAuthn relying party id: the host name the phone reaches (`ops.example.ts.net`), or `localhost`.
    #[arg(long, value_name = "NAME")]
    pub rp: String,
    /// The page's origin as the browser sees it (`https://ops.example.ts.net`, `http://localhost:8787`).
    #[arg(long, value_name = "URL")]
    pub origin: String,
    /// Who the passkey signs as: the principal of the allowed-signers line (an approver's account name).
    #[arg(long, value_name = "NAME")]
    pub principal: String,
    /// Where to listen (`HOST:PORT`, or `PORT` on 127.0.0.1); by default the port of an `http://localhost:PORT` origin.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Give up after this many seconds without an enrolment.
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    pub timeout: u64,
}

/// Why no passkey was enrolled.
#[derive(Debug, thiserror::Error)]
enum EnrolError {
    #[error(
        "--origin {origin} cannot speak for relying party `{rp}`: its host must be `{rp}` or under it, over https (or http://localhost)"
    )]
    Origin { origin: String, rp: String },
    #[error(
        "--listen is needed: give the local address the HTTPS proxy for {0} forwards to (e.g. --listen 127.0.0.1:8787)"
    )]
    NoListen(String),
    #[error("cannot listen on {addr}: {why}")]
    Listen { addr: String, why: String },
    #[error("no passkey was enrolled within {0} s (open the printed address on the device)")]
    TimedOut(u64),
    #[error(transparent)]
    Line(#[from] baton_signing::EnrolError),
}

pub fn run(args: PasskeyArgs) -> i32 {
    match args.command {
        PasskeyCmd::Enrol(a) => match enrol(&a) {
            Ok(line) => {
                outln!("{line}");
                exit::OK
            }
            Err(e @ EnrolError::TimedOut(_)) => {
                errln!("error: {e}");
                exit::FAILED
            }
            Err(e) => {
                errln!("error: {e}");
                exit::USAGE
            }
        },
    }
}

/// One enrolment: its page's secrets and what it was configured with.
struct Ceremony<'a> {
    args: &'a EnrolArgs,
    token: String,
    challenge: Vec<u8>,
    /// What the new passkey signs right after its creation (`Proof`): possession of
    /// its private key, with the user verified.
    proof: Vec<u8>,
    user_id: Vec<u8>,
    nonce: String,
}

fn enrol(args: &EnrolArgs) -> Result<String, EnrolError> {
    let origin = args.origin.trim_end_matches('/');
    if !baton_signing::origin_fits(origin, &args.rp) {
        return Err(EnrolError::Origin {
            origin: args.origin.clone(),
            rp: args.rp.clone(),
        });
    }
    // The principal is checked before anything is served.
    baton_signing::check_principal(&args.principal)?;
    let addr = listen_addr(args, origin)?;
    let listener = TcpListener::bind(&addr).map_err(|e| EnrolError::Listen {
        addr: addr.clone(),
        why: e.to_string(),
    })?;
    let c = Ceremony {
        args,
        token: hex(&rand::random::<[u8; 16]>()),
        challenge: rand::random::<[u8; 32]>().to_vec(),
        proof: rand::random::<[u8; 32]>().to_vec(),
        user_id: rand::random::<[u8; 16]>().to_vec(),
        nonce: hex(&rand::random::<[u8; 16]>()),
    };
    errln!(
        "Open {origin}/enrol/{} on the phone or the computer with the security key (listening on {addr}; once, for {} s).",
        c.token,
        args.timeout
    );
    serve(&listener, &c)
}

fn listen_addr(args: &EnrolArgs, origin: &str) -> Result<String, EnrolError> {
    if let Some(l) = &args.listen {
        return Ok(match l.bytes().all(|b| b.is_ascii_digit()) {
            true => format!("127.0.0.1:{l}"),
            false => l.clone(),
        });
    }
    let port = origin
        .strip_prefix("http://localhost:")
        .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    match port {
        Some(p) => Ok(format!("127.0.0.1:{p}")),
        None => Err(EnrolError::NoListen(origin.to_string())),
    }
}

fn serve(listener: &TcpListener, c: &Ceremony<'_>) -> Result<String, EnrolError> {
    let deadline = Instant::now() + Duration::from_secs(c.args.timeout);
    listener
        .set_nonblocking(true)
        .map_err(|e| EnrolError::Listen {
            addr: String::new(),
            why: e.to_string(),
        })?;
    while Instant::now() < deadline {
        match listener.accept() {
            Ok((sock, _)) => {
                if let Some(line) = answer(sock, c) {
                    return Ok(line);
                }
            }
            // Nothing to accept yet (or a connection that failed before it was taken).
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    Err(EnrolError::TimedOut(c.args.timeout))
}

/// A request is its head and a body of at most this many bytes: a passkey's
/// creation is under 2 KiB.
const MAX_REQUEST: usize = 64 * 1024;
/// A request must arrive whole within this (a browser sends it at once): the page is
/// served one connection at a time, so a slow client holds it no longer.
const REQUEST_TIME: Duration = Duration::from_secs(2);

/// Read some bytes, waiting at most until `until`; `None` past it or on an error.
fn read_by(sock: &mut TcpStream, chunk: &mut [u8], until: Instant) -> Option<usize> {
    let left = until.checked_duration_since(Instant::now())?;
    sock.set_read_timeout(Some(left.max(Duration::from_millis(1))))
        .ok()?;
    sock.read(chunk).ok()
}

/// Answer one connection; `Some(line)` when it enrolled the passkey.
fn answer(mut sock: TcpStream, c: &Ceremony<'_>) -> Option<String> {
    let _ = sock.set_nonblocking(false);
    let _ = sock.set_write_timeout(Some(Duration::from_secs(10)));
    let Some((method, path, body)) = read_request(&mut sock, Instant::now() + REQUEST_TIME) else {
        respond(
            &mut sock,
            "400 Bad Request",
            "text/plain",
            b"bad request\n",
            None,
        );
        return None;
    };
    let page = format!("/enrol/{}", c.token);
    match (method.as_str(), path == page) {
        ("GET", true) => {
            let html = page_html(c);
            respond(
                &mut sock,
                "200 OK",
                "text/html; charset=utf-8",
                html.as_bytes(),
                Some(&c.nonce),
            );
            None
        }
        ("POST", true) => match created(c, &body) {
            Ok(line) => {
                let reply = serde_json::json!({ "line": line }).to_string();
                respond(
                    &mut sock,
                    "200 OK",
                    "application/json",
                    reply.as_bytes(),
                    None,
                );
                Some(line)
            }
            Err(why) => {
                let why = why.to_string();
                let reply = serde_json::json!({ "error": why }).to_string();
                respond(
                    &mut sock,
                    "400 Bad Request",
                    "application/json",
                    reply.as_bytes(),
                    None,
                );
                errln!("refused an enrolment: {why}");
                None
            }
        },
        _ => {
            respond(
                &mut sock,
                "404 Not Found",
                "text/plain",
                b"not found\n",
                None,
            );
            None
        }
    }
}

/// The request line's method and path, and the body (bounded in size, and in time by
/// `until`, however slowly the bytes trickle).
fn read_request(sock: &mut TcpStream, until: Instant) -> Option<(String, String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > MAX_REQUEST {
            return None;
        }
        let n = read_by(sock, &mut chunk, until)?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buf[..head_end]).ok()?;
    let mut words = head.lines().next()?.split(' ');
    let (method, path) = (words.next()?.to_string(), words.next()?.to_string());
    let length: usize = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .map_or(Some(0), |(_, v)| v.trim().parse().ok())?;
    if length > MAX_REQUEST {
        return None;
    }
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        let n = read_by(sock, &mut chunk, until)?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    Some((method, path, body))
}

fn respond(sock: &mut TcpStream, status: &str, kind: &str, body: &[u8], nonce: Option<&str>) {
    // The page runs only its own script, sends only to itself, and its address (the
    // token) is never passed on as a referrer.
    let csp = match nonce {
        Some(n) => format!(
            "default-src 'none'; script-src 'nonce-{n}'; style-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        ),
        None => "default-src 'none'; frame-ancestors 'none'".to_string(),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nX-Content-Type-Options: nosniff\r\nContent-Security-Policy: {csp}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = sock.write_all(head.as_bytes());
    let _ = sock.write_all(body);
}

/// Why a creation sent to the page is refused (the command keeps waiting).
#[derive(Debug, thiserror::Error)]
enum Refused {
    #[error("the body is not JSON")]
    NotJson,
    #[error("`{0}` is missing or not hex")]
    Field(String),
    #[error("clientDataJSON is not JSON")]
    ClientData,
    #[error("clientDataJSON is not this page's creation at {0} (type, challenge or origin differ)")]
    NotThisPage(String),
    #[error(transparent)]
    Line(#[from] baton_signing::EnrolError),
}

/// Check what the page sent back (the creation, and the new key's signature over the
/// proof challenge) and make the allowed-signers line.
fn created(c: &Ceremony<'_>, body: &[u8]) -> Result<String, Refused> {
    let v: Value = serde_json::from_slice(body).map_err(|_| Refused::NotJson)?;
    let field = |name: &str| {
        v.get(name)
            .and_then(Value::as_str)
            .and_then(unhex)
            .ok_or_else(|| Refused::Field(name.to_string()))
    };
    let client_data = field("clientDataJSON")?;
    let cd: Value = serde_json::from_slice(&client_data).map_err(|_| Refused::ClientData)?;
    let origin = c.args.origin.trim_end_matches('/');
    if cd["type"] != "webauthn.create"
        || cd["challenge"] != base64url(&c.challenge)
        || cd["origin"] != origin
    {
        return Err(Refused::NotThisPage(origin.to_string()));
    }
    let (public_key, auth, id) = (
        field("publicKey")?,
        field("authenticatorData")?,
        field("credentialId")?,
    );
    let made = baton_signing::Created {
        public_key: &public_key,
        authenticator_data: &auth,
        credential_id: &id,
    };
    let unproven =
        || baton_signing::EnrolError::NoProof("the page sent no signature by the new passkey");
    let (proof_auth, proof_client, proof_sig) = (
        field("proofAuthenticatorData").map_err(|_| unproven())?,
        field("proofClientDataJSON").map_err(|_| unproven())?,
        field("proofSignature").map_err(|_| unproven())?,
    );
    let proof = baton_signing::Proof {
        authenticator_data: &proof_auth,
        client_data: &proof_client,
        signature: &proof_sig,
    };
    baton_signing::check_possession(&made, &c.args.rp, origin, &c.proof, &proof)?;
    Ok(baton_signing::passkey_line(
        &c.args.principal,
        &c.args.rp,
        &made,
    )?)
}

fn page_html(c: &Ceremony<'_>) -> String {
    let js = |s: &str| serde_json::Value::String(s.to_string()).to_string();
    // Every value reaches the script as a JSON string, and the page shows the
    // principal through textContent only: nothing typed becomes markup or code.
    PAGE.replace("{NONCE}", &c.nonce)
        .replace("{RP}", &js(&c.args.rp))
        .replace("{PRINCIPAL}", &js(&c.args.principal))
        .replace("{CHALLENGE}", &js(&hex(&c.challenge)))
        .replace("{PROOF}", &js(&hex(&c.proof)))
        .replace("{USER_ID}", &js(&hex(&c.user_id)))
}

const PAGE: &str = include_str!("passkey_enrol.html");

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || s.len() > 2 * MAX_REQUEST {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Unpadded base64url, as clientData carries a challenge.
fn base64url(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(char::from(A[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_is_unpadded_and_url_safe() {
        assert_eq!(base64url(b""), "");
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    }

    #[test]
    fn hex_round_trips_and_refuses_odd_or_foreign_text() {
        assert_eq!(unhex(&hex(&[0, 1, 0xab])).unwrap(), vec![0, 1, 0xab]);
        assert!(unhex("abc").is_none() && unhex("zz").is_none());
    }
}

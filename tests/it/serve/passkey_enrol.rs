//! `baton passkey enrol` (issue 80 point 1): a one-time page creates a passkey in a real
//! browser (Debian's headless Chromium with a virtual platform authenticator, as a
//! phone's), the command prints its allowed-signers line and exits; `ssh-keygen -Y
//! verify` then takes a decision the passkey signs as the enrolled principal. Forged
//! creations, a creation without the new key's signature and other paths are refused;
//! the page answers once.
use super::browser::Browser;
use crate::helpers::*;
use baton::signing::{self, Assertion, Verdict};
use serde_json::json;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Child;

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Send one raw HTTP request to the command's page; the status line and the body.
fn http(port: u16, request: &str) -> (String, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out.lines().next().unwrap_or("").to_string();
    let body = out.split_once("\r\n\r\n").map(|(_, b)| b.to_string());
    (status, body.unwrap_or_default())
}

/// The page's address, from the line the command prints on stderr.
fn page_url(child: &mut Child) -> String {
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    // The rest of stderr is drained so the command never blocks on it.
    std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    url.to_string()
}

#[test]
fn a_passkey_enrolled_in_a_browser_signs_decisions_ssh_keygen_verifies() {
    let env = Env::new();
    let Some(mut browser) = Browser::start(env.path()) else {
        return;
    };
    let port = free_port();
    let origin = format!("http://localhost:{port}");
    let mut child = env
        .cmd()
        .args([
            "passkey",
            "enrol",
            "--rp",
            "localhost",
            "--principal",
            "alice",
        ])
        .args(["--origin", &origin, "--timeout", "120"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let url = page_url(&mut child);
    let path = url.strip_prefix(&origin).unwrap().to_string();
    assert!(path.starts_with("/enrol/") && path.len() > 30, "{url}");

    refusals_before_enrolment(port, &path);

    browser.phone_with_passkeys();
    browser.open(&url);
    let shown = browser.eval("batonEnrol()");
    let out = wait_child(child, 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let line = text(&out.stdout).trim().to_string();
    assert_eq!(
        shown.as_str(),
        Some(line.as_str()),
        "the page shows the printed line"
    );
    assert!(
        line.starts_with("alice namespaces=\"baton\" sk-ecdsa-sha2-nistp256@openssh.com AAAA"),
        "{line}"
    );
    // Once: the page is gone with the command.
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());

    the_enrolled_passkey_signs_a_decision(&env, &mut browser, &line, &origin);
    its_signature_decides_a_signed_gate_and_audit_verify_holds(&env, &mut browser);
}

/// A wrong token is not found, and a creation the page did not make is refused while
/// the command goes on waiting for the real one.
fn refusals_before_enrolment(port: u16, path: &str) {
    let (status, _) = http(
        port,
        "GET /enrol/0123456789abcdef0123456789abcdef HTTP/1.1\r\nHost: localhost\r\n\r\n",
    );
    assert!(status.contains("404"), "{status}");
    let forged = json!({
        "publicKey": "00", "authenticatorData": "00", "credentialId": "00",
        "clientDataJSON": signing_hex(br#"{"type":"webauthn.create","challenge":"AAAA","origin":"http://localhost"}"#),
    })
    .to_string();
    let (status, body) = http(
        port,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n\r\n{forged}",
            forged.len()
        ),
    );
    assert!(status.contains("400"), "{status}");
    assert!(body.contains("not this page's creation"), "{body}");
    let (status, body) = http(
        port,
        &format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n"),
    );
    assert!(
        status.contains("200") && body.contains("navigator.credentials.create"),
        "{status}"
    );
    a_creation_without_proof_of_its_key_is_refused(port, path, &body);
    a_client_trickling_its_request_holds_the_page_for_two_seconds_at_most(port, path);
}

/// The page answers one connection at a time: one that trickles its request a byte at
/// a time is closed once its 2 s pass, and the next is answered.
fn a_client_trickling_its_request_holds_the_page_for_two_seconds_at_most(port: u16, path: &str) {
    use std::sync::mpsc::{RecvTimeoutError, channel};
    let mut slow = TcpStream::connect(("127.0.0.1", port)).unwrap();
    slow.write_all(b"GET ").unwrap();
    let (stop, stopped) = channel::<()>();
    let trickler = std::thread::spawn(move || {
        // A byte each 300 ms until the test is done: never the 10 s a read waits.
        while let Err(RecvTimeoutError::Timeout) =
            stopped.recv_timeout(std::time::Duration::from_millis(300))
        {
            let _ = slow.write_all(b"a");
        }
    });
    let mut next = TcpStream::connect(("127.0.0.1", port)).unwrap();
    next.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    write!(next, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    let mut answer = Vec::new();
    let _ = next.read_to_end(&mut answer);
    stop.send(()).unwrap();
    trickler.join().unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

/// Whoever holds the page's address sends a creation that is the page's (its
/// challenge, origin, relying party, flags) for a P-256 key whose private key nobody
/// here holds: without the new key's signature over the page's second challenge it is
/// refused, and the command keeps waiting.
fn a_creation_without_proof_of_its_key_is_refused(port: u16, path: &str, page: &str) {
    let challenge = page
        .split_once("CHALLENGE = \"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(hex, _)| unhex(hex))
        .expect("the page's challenge");
    let client = format!(
        r#"{{"type":"webauthn.create","challenge":"{}","origin":"http://localhost:{port}"}}"#,
        base64url(&challenge)
    );
    let mut auth = <sha2::Sha256 as sha2::Digest>::digest(b"localhost").to_vec();
    auth.extend([0x05, 0, 0, 0, 1]);
    let body = json!({
        "publicKey": NOBODYS_KEY, "authenticatorData": signing_hex(&auth), "credentialId": "0102",
        "clientDataJSON": signing_hex(client.as_bytes()),
    })
    .to_string();
    let (status, answer) = http(
        port,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    );
    assert!(status.contains("400"), "{status} {answer}");
    assert!(
        answer.contains("did not prove it holds the passkey's private key"),
        "{answer}"
    );
}

/// A P-256 public key (DER SubjectPublicKeyInfo) whose private key was thrown away.
const NOBODYS_KEY: &str = "3059301306072a8648ce3d020106082a8648ce3d03010703420004894d32466f436677ba9a85fc3f5838bfc56af009c750472bacbddfbb0c27c6c35f5df9b80f4a3ac2e0d0dbc91350dd90f417fe1cb6081bae37dddc166aa0993d";

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

fn signing_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The passkey signs baton's decision message on the enrolment page (still open in the
/// browser); the signature `sshsig_from_assertion` armors is `ssh-keygen`'s "Good" and
/// baton's own verifier's, as alice.
fn the_enrolled_passkey_signs_a_decision(env: &Env, b: &mut Browser, line: &str, origin: &str) {
    let message = signing::message(
        "01JRUN",
        "deploy",
        3,
        "ab12",
        Verdict::Approve,
        "",
        &Default::default(),
    );
    let signers = signing::AllowedSigners::parse(line).unwrap();
    let pem = sign_in_browser(b, &signers, &message);
    let checked = signing::check_passkey(&signers, &message, &pem, origin).unwrap();
    assert_eq!(checked.principals, vec!["alice"]);

    let dir = env.path();
    std::fs::write(dir.join("allowed_signers"), format!("{line}\n")).unwrap();
    std::fs::write(dir.join("decision.sig"), &pem).unwrap();
    ssh_keygen_says_good(dir, &message);
}

/// The passkey (on the page still open) signs `message`; its armored SSHSIG.
fn sign_in_browser(b: &mut Browser, signers: &signing::AllowedSigners, message: &str) -> String {
    let challenge = signing::challenge(message);
    let got = b.eval(&format!(
        "(async () => {{ const hex = (x) => Array.from(new Uint8Array(x), (v) => v.toString(16).padStart(2, '0')).join('');
           const a = await navigator.credentials.get({{ publicKey: {{ rpId: 'localhost',
             challenge: new Uint8Array({challenge:?}), userVerification: 'required' }} }});
           return [hex(a.response.authenticatorData), hex(a.response.clientDataJSON), hex(a.response.signature)]; }})()"
    ));
    let part = |i: usize| unhex(got[i].as_str().unwrap());
    let (auth, cd, sig) = (part(0), part(1), part(2));
    let key = signers.entries()[0].key.key_data().clone();
    let a = Assertion {
        authenticator_data: &auth,
        client_data_json: &cd,
        signature: &sig,
    };
    signing::sshsig_from_assertion(&key, &a).unwrap()
}

/// `ssh-keygen -Y verify -n baton -I alice` over `message` with `decision.sig` and
/// `allowed_signers` of `dir`.
fn ssh_keygen_says_good(dir: &std::path::Path, message: &str) {
    let mut verify = std::process::Command::new("ssh-keygen")
        .args(["-Y", "verify", "-n", "baton", "-I", "alice"])
        .arg("-f")
        .arg(dir.join("allowed_signers"))
        .arg("-s")
        .arg(dir.join("decision.sig"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    verify
        .stdin
        .take()
        .unwrap()
        .write_all(message.as_bytes())
        .unwrap();
    let out = verify.wait_with_output().unwrap();
    assert!(
        text(&out.stdout).starts_with("Good \"baton\" signature for alice"),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// The engine takes the passkey's signature as alice's signed approval (`baton approve
/// --signature`, as the approval page hands it in), the run goes on, and `baton audit
/// verify` re-checks it; `ssh-keygen` verifies the recorded decision too.
fn its_signature_decides_a_signed_gate_and_audit_verify_holds(env: &Env, b: &mut Browser) {
    env.workflow(
        "w.toml",
        "name = \"signed\"\n[approvals]\nallowed_signers = \"allowed_signers\"\n[[step]]\nid = \"deploy\"\nrun = \"touch deployed\"\ngate = { approvers = [\"alice\"], signed = true }\n",
    );
    let child = env.spawn(&["run", "w.toml", "--headless"]);
    let id = env.wait_run_id();
    env.wait_step(&id, "deploy", "waiting_approval", 15);
    let reason = "from the phone";
    let out = env.run(&[
        "approve",
        &id,
        "deploy",
        "--reason",
        reason,
        "--print-message",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let message = text(&out.stdout);
    let signers = signing::AllowedSigners::parse(
        &std::fs::read_to_string(env.path().join("allowed_signers")).unwrap(),
    )
    .unwrap();
    let pem = sign_in_browser(b, &signers, &message);
    std::fs::write(env.path().join("decision.sig"), &pem).unwrap();
    ssh_keygen_says_good(env.path(), &message);
    let sig = env.path().join("decision.sig");
    let out = env.run(&[
        "approve",
        &id,
        "deploy",
        "--reason",
        reason,
        "--signature",
        sig.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_eq!(wait_child(child, 30).status.code(), Some(0));
    assert!(env.path().join("deployed").exists());
    let out = env.run(&["audit", "verify"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

//! Debian's headless Chromium driven through the DevTools protocol over
//! `--remote-debugging-pipe` (fd 3 in, fd 4 out, each message a JSON object ended by a
//! NUL byte): no WebSocket client, no driver, nothing but the browser. A page gets a
//! phone's viewport and a virtual platform authenticator that verifies its user, as a
//! phone's passkey does.
use crate::helpers::*;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub(crate) const CHROMIUM: &str = "/usr/bin/chromium";

/// A phone's viewport (CSS pixels), as a mid-sized phone reports it.
pub(crate) const PHONE: (u32, u32) = (390, 844);

pub(crate) struct Browser {
    child: Child,
    to: std::fs::File,
    from: mpsc::Receiver<Value>,
    next: u64,
    /// The page's session (its target attached, flattened).
    session: String,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into the array, which we then own.
    let r = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(r, 0, "pipe2: {}", std::io::Error::last_os_error());
    // SAFETY: both are open descriptors nobody else owns.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

impl Browser {
    /// `None` (with the reason printed, as the suite's other skips) when Chromium is not
    /// installed; `.ci/run` installs it.
    pub(crate) fn start(dir: &Path) -> Option<Browser> {
        if !Path::new(CHROMIUM).exists() {
            println!("SKIPPED: {CHROMIUM} is not installed (apt-get install chromium)");
            return None;
        }
        let profile = dir.join("chromium-profile");
        std::fs::create_dir_all(&profile).unwrap();
        let (their_in, our_out) = pipe();
        let (our_in, their_out) = pipe();
        let (a, b) = (their_in.as_raw_fd(), their_out.as_raw_fd());
        let mut cmd = std::process::Command::new(CHROMIUM);
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--remote-debugging-pipe",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("about:blank")
        .env("HOME", dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(
            std::fs::File::create(dir.join("chromium.log")).unwrap(),
        ));
        // SAFETY: fcntl and dup2 are async-signal-safe. The ends are first copied above
        // fd 9 (so that neither is overwritten by the other's dup2, and both lose
        // O_CLOEXEC), then put at fds 3 and 4 between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                let (a, b) = (
                    libc::fcntl(a, libc::F_DUPFD, 10),
                    libc::fcntl(b, libc::F_DUPFD, 10),
                );
                if a < 0 || b < 0 || libc::dup2(a, 3) < 0 || libc::dup2(b, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                libc::close(a);
                libc::close(b);
                Ok(())
            });
        }
        let child = cmd.spawn().expect("spawn chromium");
        drop((their_in, their_out));
        let (tx, rx) = mpsc::channel();
        let reader = std::fs::File::from(our_in);
        std::thread::spawn(move || {
            let mut r = BufReader::new(reader);
            loop {
                let mut buf = Vec::new();
                match r.read_until(0, &mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                buf.pop();
                if let Ok(v) = serde_json::from_slice(&buf)
                    && tx.send(v).is_err()
                {
                    return;
                }
            }
        });
        let mut b = Browser {
            child,
            to: std::fs::File::from(our_out),
            from: rx,
            next: 0,
            session: String::new(),
        };
        let target = b.call("Target.createTarget", json!({ "url": "about:blank" }));
        let attached = b.call(
            "Target.attachToTarget",
            json!({ "targetId": target["targetId"], "flatten": true }),
        );
        b.session = attached["sessionId"].as_str().unwrap().to_string();
        Some(b)
    }

    fn send(&mut self, method: &str, params: Value, session: Option<&str>) -> Value {
        self.next += 1;
        let id = self.next;
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        let mut bytes = serde_json::to_vec(&msg).unwrap();
        bytes.push(0);
        self.to.write_all(&bytes).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let v = self
                .from
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("chromium did not answer {method} within 60 s"));
            if v["id"].as_u64() == Some(id) {
                assert!(v.get("error").is_none(), "{method}: {v}");
                return v["result"].clone();
            }
        }
    }

    fn call(&mut self, method: &str, params: Value) -> Value {
        self.send(method, params, None)
    }

    /// A command to the page's target.
    pub(crate) fn page(&mut self, method: &str, params: Value) -> Value {
        let s = self.session.clone();
        self.send(method, params, Some(&s))
    }

    /// A phone's viewport, and a virtual platform authenticator (CTAP2, internal, with
    /// resident keys and a verified user, which approves every request at once).
    pub(crate) fn phone_with_passkeys(&mut self) {
        let (width, height) = PHONE;
        self.page(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 2, "mobile": true }),
        );
        self.page("WebAuthn.enable", json!({ "enableUI": false }));
        self.page(
            "WebAuthn.addVirtualAuthenticator",
            json!({ "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": true,
                "hasUserVerification": true,
                "isUserVerified": true,
                "automaticPresenceSimulation": true,
            } }),
        );
    }

    /// Go to `url` and wait until the page says it loaded (`body[data-loaded]`).
    pub(crate) fn open(&mut self, url: &str) {
        self.page("Page.navigate", json!({ "url": url }));
        self.wait_for(
            "document.body && document.body.dataset.loaded === 'yes'",
            30,
        );
    }

    /// The value of `expression` (awaited if it is a promise).
    pub(crate) fn eval(&mut self, expression: &str) -> Value {
        let r = self.page(
            "Runtime.evaluate",
            json!({ "expression": expression, "awaitPromise": true, "returnByValue": true }),
        );
        assert!(
            r.get("exceptionDetails").is_none(),
            "{expression}: {}",
            r["exceptionDetails"]
        );
        r["result"]["value"].clone()
    }

    /// Wait until `expression` is truthy in the page.
    pub(crate) fn wait_for(&mut self, expression: &str, deadline: u64) {
        let probe = format!("!!({expression})");
        wait_until(expression, secs(deadline), || {
            self.eval(&probe).as_bool() == Some(true)
        });
    }

    /// A PNG of the phone's first screen as it is drawn now, one pixel a CSS pixel
    /// (the clip's scale halves the device's 2×: small enough for the docs).
    pub(crate) fn screenshot(&mut self) -> Vec<u8> {
        let (width, height) = PHONE;
        let clip = json!({ "x": 0, "y": 0, "width": width, "height": height, "scale": 0.5 });
        let r = self.page(
            "Page.captureScreenshot",
            json!({ "format": "png", "clip": clip }),
        );
        base64_decode(r["data"].as_str().unwrap())
    }
}

/// Standard base64 (the protocol's binary fields).
fn base64_decode(s: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' | b'-' => 62,
        _ => 63,
    };
    let digits: Vec<u8> = s.bytes().filter(|c| *c != b'=').map(value).collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, d)| n | (u32::from(*d) << (18 - 6 * i)));
        let take = chunk.len().saturating_sub(1);
        out.extend_from_slice(&n.to_be_bytes()[1..1 + take]);
    }
    out
}

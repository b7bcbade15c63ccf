//! Issue 80 point 5: `[[notify]]` targets and escalation. A gate's opening is posted to
//! a webhook; once it has waited its `after`, `baton serve` posts to the next block of
//! the list (ntfy, its URL read from a secret file) the gate's page link and nothing
//! that decides, on record (`escalation_due`, then `escalation_sent`). A serve killed
//! (SIGKILL) between the record and the send sends it once when it starts again:
//! nothing twice, nothing lost. The receiver is a plain listener of the test's own.
use super::*;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

const ORIGIN: &str = "http://localhost:9464";

/// One request the receiver took: its path, headers (names lowercased) and body.
#[derive(Debug, Clone)]
struct Got {
    path: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Got {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A local HTTP receiver answering 200 to every POST, keeping what it got.
struct Receiver {
    port: u16,
    got: Arc<Mutex<Vec<Got>>>,
    stop: Arc<AtomicBool>,
}

impl Receiver {
    fn start() -> Receiver {
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
                if let Some(req) = conn.ok().and_then(take) {
                    g.lock().unwrap().push(req);
                }
            }
        });
        Receiver { port, got, stop }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn to(&self, path: &str) -> Vec<Got> {
        let got = self.got.lock().unwrap();
        got.iter().filter(|g| g.path == path).cloned().collect()
    }

    fn wait_for(&self, path: &str) -> Got {
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

fn take(mut conn: TcpStream) -> Option<Got> {
    conn.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .ok()?;
    let mut r = BufReader::new(conn.try_clone().ok()?);
    let mut line = String::new();
    r.read_line(&mut line).ok()?;
    let path = line.split(' ').nth(1)?.to_string();
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
    conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        .ok()?;
    Some(Got {
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// A gate whose opening goes to the receiver's `/first`, escalated after a second to
/// `second`, an ntfy topic whose URL is the secret file `ntfy.url`.
fn setup(rx: &Receiver) -> Served {
    let s = Served::new();
    let workflow = format!(
        r#"name = "esc"

[[step]]
id = "deploy"
run = "true"
gate = {{ prompt = "Ship 1.2?" }}

[[notify]]
name = "first"
on = ["gate_opened"]
webhook = "{}"
escalate = [{{ after = "1s", to = "second" }}]

[[notify]]
name = "second"
ntfy = {{ file = "ntfy.url" }}
timeout = "5s"
"#,
        rx.url("/first")
    );
    std::fs::write(
        s.env.path().join("ntfy.url"),
        format!("{}\n", rx.url("/alice-topic")),
    )
    .unwrap();
    s.env.workflow("w.toml", &workflow);
    s
}

/// Start the run (its own headless engine) and wait for its gate: the run's id and
/// its engine.
fn open_gate(s: &Served) -> (String, Child) {
    let engine = s
        .env
        .cmd()
        .args(["run", "w.toml", "--headless"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let id = s.env.wait_run_id();
    s.env.wait_step(&id, "deploy", "waiting_approval", 30);
    (id, engine)
}

/// The run's escalation rows: `(action, key)`.
fn rows(s: &Served, run: &str) -> Vec<(String, String)> {
    let db = s.db();
    let mut st = db
        .prepare("SELECT action, details FROM audit WHERE run_id = ?1 AND action LIKE 'escalation_%' ORDER BY id")
        .unwrap();
    st.query_map([run], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })
    .unwrap()
    .map(|r| {
        let (a, d) = r.unwrap();
        let d: serde_json::Value = serde_json::from_str(&d).unwrap();
        (a, d["key"].as_str().unwrap().to_string())
    })
    .collect()
}

fn serve(s: &mut Served) -> (Child, PathBuf) {
    let (child, log) = s.start(&["--listen", "127.0.0.1:0", "--approval-origin", ORIGIN]);
    wait_log(&log, "approvals: serving", 30);
    (child, log)
}

#[test]
fn a_waiting_gate_is_escalated_with_its_page_link_and_nothing_that_decides() {
    let rx = Receiver::start();
    let mut s = setup(&rx);
    let (child, log) = serve(&mut s);
    let (run, mut engine) = open_gate(&s);
    let first = rx.wait_for("/first");
    let v: serde_json::Value = serde_json::from_str(&first.body).unwrap();
    assert_eq!(v["event"], "gate_opened");
    assert_eq!(v["step"], "deploy");
    assert_eq!(v["prompt"], "Ship 1.2?");
    let second = rx.wait_for("/alice-topic");
    assert_eq!(second.body, "Ship 1.2?");
    let link = format!("{ORIGIN}/approve#{run}/deploy");
    assert_eq!(second.header("click"), Some(link.as_str()));
    assert!(
        second.header("title").unwrap().contains("still waiting"),
        "{second:?}"
    );
    let key = second.header("idempotency-key").unwrap().to_string();
    assert!(key.starts_with(&format!("{run}/deploy/")), "{key}");
    for got in [&first, &second] {
        let all = format!("{got:?}").to_lowercase();
        for word in ["token", "signature", "/approve/decide", "/approve/message"] {
            assert!(!all.contains(word), "{word} in {got:?}");
        }
    }
    wait_until("the send on record", secs(10), || {
        let r = rows(&s, &run);
        (r.len() == 2).then_some(())
    });
    assert_eq!(
        rows(&s, &run),
        [
            ("escalation_due".to_string(), key.clone()),
            ("escalation_sent".to_string(), key)
        ]
    );
    let out = s.env.run(&["audit", "verify"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    term(child);
    // The secret URL is in no record and no line of the serve's.
    let db = std::fs::read(s.env.db()).unwrap();
    assert!(!db.windows(11).any(|w| w == b"alice-topic"));
    assert!(
        !std::fs::read_to_string(&log)
            .unwrap()
            .contains("alice-topic")
    );
    assert_eq!(rx.to("/alice-topic").len(), 1, "told once");
    kill9(&mut engine);
}

/// Killed (SIGKILL, at `escalation-recorded`) once the send is due on record and before
/// it is sent: nothing reached the target; the next serve sends it once, with the key
/// recorded, and records it sent.
#[test]
fn a_serve_killed_between_the_record_and_the_send_sends_it_once_after() {
    let rx = Receiver::start();
    let mut s = setup(&rx);
    let log = s.env.path().join("serve.fp.log");
    let mut dying = s
        .env
        .cmd()
        .args(["serve", "--workflows", s.dir.to_str().unwrap()])
        .args(["--listen", "127.0.0.1:0", "--approval-origin", ORIGIN])
        .env("BATON_FAILPOINT", "escalation-recorded:notify")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
        .spawn()
        .unwrap();
    let (run, mut engine) = open_gate(&s);
    let status = wait_until("the serve to die at its failpoint", secs(30), || {
        dying.try_wait().unwrap()
    });
    assert!(!status.success(), "killed");
    let recorded = rows(&s, &run);
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(recorded[0].0, "escalation_due");
    assert!(
        rx.to("/alice-topic").is_empty(),
        "nothing sent before the kill"
    );
    let (child, _log) = serve(&mut s);
    let sent = rx.wait_for("/alice-topic");
    assert_eq!(sent.header("idempotency-key"), Some(recorded[0].1.as_str()));
    wait_until("the send on record", secs(10), || {
        (rows(&s, &run).len() == 2).then_some(())
    });
    assert_eq!(
        rows(&s, &run)[1],
        ("escalation_sent".into(), recorded[0].1.clone())
    );
    term(child);
    assert_eq!(
        rx.to("/alice-topic").len(),
        1,
        "nothing twice, nothing lost"
    );
    kill9(&mut engine);
}

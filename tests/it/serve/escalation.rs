//! Issue 80 point 5: `[[notify]]` targets and escalation. A gate's opening is posted to
//! a webhook; once it has waited its `after`, `baton serve` posts to the next block of
//! the list (ntfy, its URL read from a secret file) the gate's page link and nothing
//! that decides, on record (`escalation_due`, then `escalation_sent`). A serve killed
//! (SIGKILL) between the record and the send sends it once when it starts again:
//! nothing twice, nothing lost. The receiver is a plain listener of the test's own.
use super::receiver::Receiver;
use super::*;

const ORIGIN: &str = "http://localhost:9464";

/// The step `deploy` behind a gate.
pub(super) const GATE: &str = r#"[[step]]
id = "deploy"
run = "true"
gate = { prompt = "Ship 1.2?" }
"#;

/// The block `second`: an ntfy topic whose URL is the secret file `ntfy.url`.
pub(super) const NTFY: &str = r#"[[notify]]
name = "second"
ntfy = { file = "ntfy.url" }
timeout = "5s"
"#;

/// A gate whose opening goes to the receiver's `/first`, escalated after a second to
/// `second`, an ntfy topic at the receiver's `/alice-topic`.
fn setup(rx: &Receiver) -> Served {
    served(rx, GATE, NTFY)
}

/// `steps`, whose waits a webhook at the receiver's `/first` hears open, escalated
/// after a second to the block `second`; `ntfy.url` holds the receiver's
/// `/alice-topic`.
pub(super) fn served(rx: &Receiver, steps: &str, second: &str) -> Served {
    let s = Served::new();
    let workflow = format!(
        r#"name = "esc"

{steps}
[[notify]]
name = "first"
on = ["gate_opened"]
webhook = "{}"
escalate = [{{ after = "1s", to = "second" }}]

{second}"#,
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
pub(super) fn open_gate(s: &Served) -> (String, Child) {
    let (id, engine) = start_run(s);
    s.env.wait_step(&id, "deploy", "waiting_approval", 30);
    (id, engine)
}

/// Start the run (its own headless engine): its id and its engine.
pub(super) fn start_run(s: &Served) -> (String, Child) {
    let engine = s
        .env
        .cmd()
        .args(["run", "w.toml", "--headless"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    (s.env.wait_run_id(), engine)
}

/// The run's escalation rows: `(action, key)`.
pub(super) fn rows(s: &Served, run: &str) -> Vec<(String, String)> {
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

pub(super) fn serve(s: &mut Served) -> (Child, PathBuf) {
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
    let mut dying = dying(&s, "escalation-recorded");
    let (run, mut engine) = open_gate(&s);
    died(&mut dying);
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

/// A serve that kills itself (SIGKILL) at failpoint `point` of its escalations.
pub(super) fn dying(s: &Served, point: &str) -> Child {
    let log = s.env.path().join(format!("serve.{point}.log"));
    s.env
        .cmd()
        .args(["serve", "--workflows", s.dir.to_str().unwrap()])
        .args(["--listen", "127.0.0.1:0", "--approval-origin", ORIGIN])
        .env("BATON_FAILPOINT", format!("{point}:notify"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
        .spawn()
        .unwrap()
}

/// Wait for a [`dying`] serve to have been killed.
pub(super) fn died(dying: &mut Child) {
    let status = wait_until("the serve to die at its failpoint", secs(30), || {
        dying.try_wait().unwrap()
    });
    assert!(!status.success(), "killed");
}

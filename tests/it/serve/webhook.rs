//! Issue 81 points 1, 2 and 5: a signed webhook delivery to `baton serve --listen`
//! makes one run, its replay none; a delivery badly signed, unsigned, old, too large
//! or with a param that does not check is refused, makes no run and is counted in
//! `baton_trigger_refusals_total`; a serve killed between the delivery's record and its
//! answer leaves the sender without a 2xx, and the retry makes exactly one run.
use super::*;
use std::io::{Read as _, Write as _};

const SECRET: &str = "hook-s3cret-do-not-leak";

/// A workflow started by a signed POST to /hooks/hooked/push, its `sha` param from the
/// body's `after`: the step writes it, read from its environment, to `OUT`.
fn workflow(key: &Path) -> String {
    workflow_with(&format!("{{ file = \"{}\" }}", key.display()))
}

/// [`workflow`] with its `HOOK_KEY` from `source` (an inline TOML table).
fn workflow_with(source: &str) -> String {
    format!(
        r#"name = "hooked"

[params.sha]
type = "string"
required = true
pattern = '^[0-9a-f]{{7,40}}$'

[secrets]
HOOK_KEY = {source}

[[trigger]]
on = "webhook"
name = "push"
secret = "HOOK_KEY"
map = {{ sha = "body.after" }}

[[step]]
id = "show"
env = {{ SHA = "${{{{ params.sha }}}}" }}
run = 'printf "%s\n" "$SHA" >> ../OUT'
"#
    )
}

/// A served directory with the workflow, its secret in a file of the env.
fn served() -> Served {
    let s = Served::new();
    let key = s.env.path().join("hook.key");
    std::fs::write(&key, format!("{SECRET}\n")).unwrap();
    s.write("hooked.toml", &workflow(&key));
    s
}

/// The serve started with `--listen`, once it serves the workflow; the address.
fn start(s: &mut Served, failpoint: Option<(&str, &str)>) -> (Child, PathBuf, String) {
    let (child, log, addr) = match failpoint {
        None => s.start_listening(),
        Some((var, fp)) => {
            let log = s.env.path().join("serve.fp.log");
            let err = std::fs::File::create(&log).unwrap();
            let child = s
                .env
                .cmd()
                .args(["serve", "--workflows", s.dir.to_str().unwrap()])
                .args(["--listen", "127.0.0.1:0"])
                .env(var, fp)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::from(err))
                .spawn()
                .unwrap();
            let t = wait_log(&log, "metrics: serving http://", 30);
            let addr = t
                .lines()
                .find_map(|l| l.strip_prefix("metrics: serving http://"))
                .unwrap()
                .trim_end_matches("/metrics")
                .to_string();
            (child, log, addr)
        }
    };
    wait_log(&log, "loaded ", 30);
    (child, log, addr)
}

/// The HMAC-SHA256 signature header of `body` under `key`, as GitHub writes it
/// (computed here by `openssl`, as the docs' curl example does).
fn sign(key: &str, body: &[u8]) -> String {
    let mut c = std::process::Command::new("openssl")
        .args(["dgst", "-sha256", "-hmac", key])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(body).unwrap();
    let out = c.wait_with_output().unwrap();
    let hex = text(&out.stdout);
    format!("sha256={}", hex.trim().rsplit(' ').next().unwrap())
}

/// POST `body` with `headers`: the status code and the answer's body (status 0: no
/// answer, the connection closed first).
fn post(addr: &str, path: &str, headers: &[(&str, String)], body: &[u8]) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    // The serve may refuse before reading all of a large body: a write error then is
    // its answer, read below.
    let _ = s
        .write_all(head.as_bytes())
        .and_then(|()| s.write_all(body));
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let raw = text(&raw);
    let code = raw
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    (code, body.to_string())
}

/// A signed delivery of `body` with delivery id `id`.
fn deliver(addr: &str, id: &str, body: &str) -> (u16, String) {
    let headers = [
        ("X-GitHub-Delivery", id.to_string()),
        ("X-Hub-Signature-256", sign(SECRET, body.as_bytes())),
    ];
    post(addr, "/hooks/hooked/push", &headers, body.as_bytes())
}

fn runs(s: &Served) -> Vec<String> {
    let db = s.db();
    let mut st = db
        .prepare("SELECT id FROM runs WHERE workflow = 'hooked' ORDER BY started_at, id")
        .unwrap();
    st.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn run_of(answer: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(answer.trim()).unwrap_or_else(|e| {
        panic!("the answer is not JSON ({e}): {answer}");
    });
    v["run"].as_str().unwrap_or_default().to_string()
}

fn metrics(addr: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "GET /metrics HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut raw = String::new();
    let _ = s.read_to_string(&mut raw);
    raw
}

/// The count `baton_trigger_refusals_total` shows for `reason` (0 if none).
fn refusals(addr: &str, reason: &str) -> u64 {
    let needle = format!("reason=\"{reason}\"");
    metrics(addr)
        .lines()
        .filter(|l| l.starts_with("baton_trigger_refusals_total{") && l.contains(&needle))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[test]
fn a_signed_delivery_makes_one_run_and_its_replay_the_same_run() {
    let mut s = served();
    let (child, log, addr) = start(&mut s, None);
    let body = r#"{"after":"0123abcd","ref":"refs/heads/main"}"#;
    let (code, answer) = deliver(&addr, "d-1", body);
    assert_eq!(
        code,
        201,
        "{answer}\n{}",
        std::fs::read_to_string(&log).unwrap()
    );
    let run = run_of(&answer);
    assert!(!run.is_empty(), "{answer}");
    // On record when answered.
    assert_eq!(runs(&s), vec![run.clone()]);
    let out = s.env.path().join("OUT");
    wait_until("the run's step to write the param", secs(30), || {
        std::fs::read_to_string(&out).is_ok_and(|t| t == "0123abcd\n")
    });
    // The same delivery again: no second run, the first one's id.
    let (code, again) = deliver(&addr, "d-1", body);
    assert_eq!(code, 200, "{again}");
    assert_eq!(run_of(&again), run);
    assert_eq!(runs(&s).len(), 1);
    // A new delivery id is a new event.
    let (code, other) = deliver(&addr, "d-2", r#"{"after":"89abcdef"}"#);
    assert_eq!(code, 201, "{other}");
    assert_ne!(run_of(&other), run);
    assert_eq!(runs(&s).len(), 2);
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(!log_text.contains(SECRET), "{log_text}");
    term(child);
}

#[test]
fn refused_deliveries_make_no_run_and_are_counted_never_with_the_secret() {
    let mut s = served();
    let (child, log, addr) = start(&mut s, None);
    let body = r#"{"after":"0123abcd"}"#;
    let path = "/hooks/hooked/push";
    let id = |n: &str| ("X-GitHub-Delivery", n.to_string());
    // Signed with another key.
    let bad = [
        id("b-1"),
        ("X-Hub-Signature-256", sign("wrong", body.as_bytes())),
    ];
    let (code, answer) = post(&addr, path, &bad, body.as_bytes());
    assert_eq!(code, 401, "{answer}");
    // Not signed.
    let (code, answer) = post(&addr, path, &[id("b-2")], body.as_bytes());
    assert_eq!(code, 401, "{answer}");
    assert!(answer.contains("X-Hub-Signature-256"), "{answer}");
    // Signed, but captured long ago.
    let old = [
        id("b-3"),
        ("X-Hub-Signature-256", sign(SECRET, body.as_bytes())),
        ("X-Baton-Timestamp", "1000000000".to_string()),
    ];
    let (code, answer) = post(&addr, path, &old, body.as_bytes());
    assert_eq!(code, 400, "{answer}");
    // Over the bound (1 MiB): refused unread.
    let big = format!(
        r#"{{"after":"0123abcd","pad":"{}"}}"#,
        "x".repeat(1024 * 1024)
    );
    let over = [
        id("b-4"),
        ("X-Hub-Signature-256", sign(SECRET, big.as_bytes())),
    ];
    let (code, answer) = post(&addr, path, &over, big.as_bytes());
    assert_eq!(code, 413, "{answer}");
    // Signed, but its param is shell code, not a sha: refused naming the field.
    let evil = r#"{"after":"$(touch ../PWNED)"}"#;
    let (code, answer) = deliver(&addr, "b-5", evil);
    assert_eq!(code, 422, "{answer}");
    assert!(answer.contains("body field `after`"), "{answer}");
    assert!(runs(&s).is_empty(), "no run for a refused delivery");
    assert!(!s.env.path().join("PWNED").exists());
    for (reason, n) in [
        ("bad_signature", 1),
        ("missing_signature", 1),
        ("old_timestamp", 1),
        ("too_large", 1),
        ("bad_param", 1),
    ] {
        assert_eq!(refusals(&addr, reason), n, "{reason}\n{}", metrics(&addr));
    }
    // `baton metrics` says the same, and Prometheus's own checker takes it.
    let out = s.env.run(&["metrics"]);
    let text = text(&out.stdout);
    assert!(
        text.contains("# TYPE baton_trigger_refusals_total counter"),
        "{text}"
    );
    let mut check = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian's `prometheus`) checks the exposition");
    check
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let checked = wait_child(check, 30);
    assert!(
        checked.status.success(),
        "{}{}",
        super::text(&checked.stdout),
        super::text(&checked.stderr)
    );
    // Recorded without the secret: neither the store nor the serve's lines hold it.
    let rows: i64 = s
        .db()
        .query_row("SELECT count(*) FROM trigger_refusals", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 5);
    let db = std::fs::read(s.env.db()).unwrap();
    assert!(!db.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()));
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(log_text.contains("refused a delivery"), "{log_text}");
    assert!(!log_text.contains(SECRET), "{log_text}");
    term(child);
}

/// The serve dies (SIGKILL, at `hook-recorded`) once the delivery's run is on record and
/// before the answer: the sender gets no 2xx; its retry to the next serve is answered
/// with that run, and the event has exactly one run.
#[test]
fn a_serve_killed_before_its_answer_gives_no_2xx_and_the_retry_makes_one_run() {
    let mut s = served();
    let (mut child, _log, addr) = start(&mut s, Some(("BATON_FAILPOINT", "hook-recorded:webhook")));
    let body = r#"{"after":"0123abcd"}"#;
    let (code, answer) = deliver(&addr, "k-1", body);
    assert!(!(200..300).contains(&code), "{code} {answer}");
    let status = child.wait().unwrap();
    assert!(!status.success(), "the serve died");
    let made = runs(&s);
    assert_eq!(made.len(), 1, "the run was on record before the kill");
    let (child, _log, addr) = start(&mut s, None);
    let (code, answer) = deliver(&addr, "k-1", body);
    assert_eq!(code, 200, "{answer}");
    assert_eq!(run_of(&answer), made[0]);
    assert_eq!(runs(&s), made, "exactly one run of the event");
    term(child);
}

/// The serve dies at each point of making the delivery's run (`serve::events`'
/// `BATON_TRIGGER_CRASH`): before anything is written, inside the transaction, after its
/// commit. The sender never gets a 2xx from the dying serve; the retry to the next one
/// makes the run or answers with the one on record: exactly one run each time.
#[test]
fn a_serve_killed_at_any_point_of_the_run_leaves_one_run_after_the_retry() {
    for (point, on_record) in [("before", 0), ("in_transaction", 0), ("after_commit", 1)] {
        let mut s = served();
        let (mut child, _log, addr) = start(&mut s, Some(("BATON_TRIGGER_CRASH", point)));
        let body = r#"{"after":"0123abcd"}"#;
        let (code, answer) = deliver(&addr, "p-1", body);
        assert!(!(200..300).contains(&code), "{point}: {code} {answer}");
        assert!(!child.wait().unwrap().success(), "{point}: the serve died");
        assert_eq!(runs(&s).len(), on_record, "{point}");
        let (child, _log, addr) = start(&mut s, None);
        let (code, answer) = deliver(&addr, "p-1", body);
        let want = if on_record == 0 { 201 } else { 200 };
        assert_eq!(code, want, "{point}: {answer}");
        let made = runs(&s);
        assert_eq!(made.len(), 1, "{point}: exactly one run of the event");
        assert_eq!(run_of(&answer), made[0], "{point}");
        term(child);
    }
}

/// The event's key is the signed body's hash: a captured body sent again under a new
/// delivery id (and no timestamp) is answered with the first run; one run in all. A
/// webhook's run is the first of its chain: its event's depth is 1.
#[test]
fn a_captured_body_under_new_delivery_ids_answers_the_first_run() {
    let mut s = served();
    let (child, _log, addr) = start(&mut s, None);
    let body = r#"{"after":"0123abcd"}"#;
    let (code, first) = deliver(&addr, "c-1", body);
    assert_eq!(code, 201, "{first}");
    let run = run_of(&first);
    for id in ["c-2", "c-3"] {
        let (code, again) = deliver(&addr, id, body);
        assert_eq!(code, 200, "{id}: {again}");
        assert_eq!(run_of(&again), run, "{id}");
    }
    let baton_id = [
        ("X-Baton-Delivery", "c-4".to_string()),
        ("X-Hub-Signature-256", sign(SECRET, body.as_bytes())),
    ];
    let (code, again) = post(&addr, "/hooks/hooked/push", &baton_id, body.as_bytes());
    assert_eq!(code, 200, "{again}");
    assert_eq!(runs(&s), vec![run.clone()], "one run in all");
    let (depth, detail): (i64, String) = s
        .db()
        .query_row(
            "SELECT depth, detail FROM trigger_events WHERE kind = 'webhook'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(depth, 1, "a webhook's run is the first of its chain");
    assert!(
        detail.contains("c-1"),
        "the first delivery id is kept: {detail}"
    );
    term(child);
}

/// A served directory whose trigger's secret is the command `script` (run by `sh -c`
/// in the served directory).
fn served_by_command(script: &str) -> Served {
    let s = Served::new();
    let source = format!(r#"{{ command = ["sh", "-c", '{script}'] }}"#);
    s.write("hooked.toml", &workflow_with(&source));
    s
}

/// An unsigned request is refused before the secret is read (no command runs for it);
/// a secret that cannot be read is answered with fixed words: neither the answer nor
/// the store's refusal holds the command or what it printed.
#[test]
fn a_secret_that_cannot_be_read_is_answered_with_fixed_words_and_only_once_signed() {
    let mut s = served_by_command("touch READ_MARK; echo LEAKY-WORDS >&2; exit 3");
    let (child, log, addr) = start(&mut s, None);
    let body = r#"{"after":"0123abcd"}"#;
    let mark = s.dir.join("READ_MARK");
    let unsigned = [("X-GitHub-Delivery", "m-1".to_string())];
    let (code, answer) = post(&addr, "/hooks/hooked/push", &unsigned, body.as_bytes());
    assert_eq!(code, 401, "{answer}");
    assert!(
        !mark.exists(),
        "the secret was read for an unsigned request"
    );
    let (code, answer) = deliver(&addr, "m-2", body);
    assert_eq!(code, 503, "{answer}");
    assert!(mark.exists(), "the secret is read for a signed request");
    for leak in ["LEAKY", "sh -c", "READ_MARK", "exit"] {
        assert!(!answer.contains(leak), "{leak}: {answer}");
    }
    let why: String = s
        .db()
        .query_row(
            "SELECT last_why FROM trigger_refusals WHERE reason = 'secret_unreadable'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        !why.contains("LEAKY") && !why.contains("READ_MARK"),
        "{why}"
    );
    // Why is the serve's own to read.
    wait_log(&log, "LEAKY-WORDS", 10);
    assert!(runs(&s).is_empty());
    term(child);
}

/// A secret command slower than the listener's 10 s deadline is stopped in time for a
/// 503, and whatever it started (its process group) goes with it.
#[test]
fn a_slow_secret_command_is_answered_in_time_and_leaves_no_process() {
    let mut s = served_by_command("sleep 300 & echo $! > GRANDCHILD; wait");
    let (child, _log, addr) = start(&mut s, None);
    let (code, answer) = deliver(&addr, "s-1", r#"{"after":"0123abcd"}"#);
    assert_eq!(
        code, 503,
        "answered before the listener's deadline: {answer}"
    );
    let pid = std::fs::read_to_string(s.dir.join("GRANDCHILD")).unwrap();
    let stat = format!("/proc/{}/stat", pid.trim());
    wait_until("the secret command's child to be gone", secs(10), || {
        // Gone, or a zombie waiting for its reaper.
        std::fs::read_to_string(&stat).map_or(true, |t| {
            t.rsplit(')')
                .next()
                .is_some_and(|r| r.trim_start().starts_with('Z'))
        })
    });
    assert!(runs(&s).is_empty());
    term(child);
}

/// A webhook trigger that holds its deliveries (`debounce`, a queue of one): a signed
/// delivery is answered 202 naming it held, on record `pending` with no run; the same
/// body again is answered 202 as held before; a new one over the queue is answered 429
/// with why, nothing of it kept, and a `queue_full` refusal on record and counted.
#[test]
fn a_held_delivery_is_answered_202_and_one_over_the_queue_429_on_record() {
    let mut s = Served::new();
    let key = s.env.path().join("hook.key");
    std::fs::write(&key, format!("{SECRET}\n")).unwrap();
    let text = workflow(&key).replace(
        "map = { sha = \"body.after\" }",
        "map = { sha = \"body.after\" }\ndebounce = \"1h\"\nqueue = 1",
    );
    assert!(text.contains("queue = 1"), "{text}");
    s.write("hooked.toml", &text);
    let (child, log, addr) = start(&mut s, None);
    let (code, answer) = deliver(&addr, "h-1", r#"{"after":"0123abcd"}"#);
    let v: serde_json::Value = serde_json::from_str(answer.trim()).unwrap();
    assert_eq!(
        (code, &v["pending"], &v["again"]),
        (202, &serde_json::json!(true), &serde_json::json!(false)),
        "{answer}\n{}",
        std::fs::read_to_string(&log).unwrap()
    );
    let (code, again) = deliver(&addr, "h-2", r#"{"after":"0123abcd"}"#);
    assert_eq!(code, 202, "{again}");
    assert!(again.contains("\"again\":true"), "{again}");
    let (code, full) = deliver(&addr, "h-3", r#"{"after":"89abcdef"}"#);
    assert_eq!(code, 429, "{full}");
    assert!(
        full.contains("queue is full") && full.contains("`queue`"),
        "{full}"
    );
    let c = s.db();
    let rows: Vec<(String, Option<String>)> = c
        .prepare("SELECT fate, run_id FROM trigger_events ORDER BY rowid")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        rows,
        vec![("pending".to_string(), None)],
        "the overflow keeps no row"
    );
    let (count, delivery): (i64, String) = c
        .query_row(
            "SELECT count, last_delivery FROM trigger_refusals WHERE reason = 'queue_full'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((count, delivery.as_str()), (1, "h-3"));
    assert_eq!(refusals(&addr, "queue_full"), 1, "{}", metrics(&addr));
    assert!(runs(&s).is_empty(), "nothing fires before the quiet hour");
    term(child);
}

//! An escalation due again after a kill -9 of `baton serve` is read back from a target
//! that keeps what it took before it is sent: nothing twice, nothing lost. The fakes
//! answer as ntfy (a topic's messages by `GET TOPIC/json?poll=1&since=&tags=`) and
//! Slack's Web API (`chat.postMessage` with a bot token and metadata,
//! `conversations.history` with `include_all_metadata`) do.
use super::escalation::{GATE, NTFY, died, dying, open_gate, rows, serve, served};
use super::receiver::{Got, Receiver};
use super::*;
use serde_json::{Value, json};

const TOKEN: &str = "xoxb-test-token-4242";

/// The block `second`: Slack's Web API at the receiver's `/api`, its token the secret
/// file `slack.token`.
fn slack_block(rx: &Receiver) -> String {
    format!(
        r#"[[notify]]
name = "second"
slack_api = {{ channel = "C0TEST", token = {{ file = "slack.token" }}, api = "{}" }}
timeout = "5s"
"#,
        rx.url("/api")
    )
}

/// ntfy and Slack's Web API, as far as baton uses them; anything else is taken.
fn fake(got: &Got, before: &[Got]) -> (u16, String) {
    let path = got.path.split('?').next().unwrap_or("");
    match (got.method.as_str(), path) {
        ("GET", "/alice-topic/json") => (200, ntfy_poll(got, before)),
        ("POST", "/api/chat.postMessage") => (200, slack_post(got)),
        ("GET", "/api/conversations.history") => (200, slack_history(got, before)),
        _ => (200, String::new()),
    }
}

fn tags(g: &Got) -> Vec<&str> {
    let t = g.header("x-tags").unwrap_or("");
    t.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect()
}

/// ntfy's poll: the topic's messages since `since` carrying every tag of `tags`, one
/// JSON object a line.
fn ntfy_poll(got: &Got, before: &[Got]) -> String {
    let since: f64 = got
        .query("since")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0.0);
    let want: Vec<&str> = got
        .query("tags")
        .map_or(Vec::new(), |t| t.split(',').collect());
    before
        .iter()
        .enumerate()
        .filter(|(_, p)| p.method == "POST" && p.path == "/alice-topic")
        .filter(|(_, p)| p.at.floor() >= since)
        .filter(|(_, p)| want.iter().all(|w| tags(p).contains(w)))
        .map(|(i, p)| {
            json!({ "id": format!("m{i}"), "time": p.at as i64, "event": "message",
                "topic": "alice-topic", "message": p.body, "tags": tags(p) })
            .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn slack_authed(g: &Got) -> bool {
    g.header("authorization") == Some(format!("Bearer {TOKEN}").as_str())
}

fn slack_post(got: &Got) -> String {
    let body: Value = serde_json::from_str(&got.body).unwrap_or_default();
    if !slack_authed(got) {
        return json!({ "ok": false, "error": "invalid_auth" }).to_string();
    }
    json!({ "ok": true, "channel": body["channel"], "ts": format!("{:.6}", got.at) }).to_string()
}

/// The channel's messages since `oldest`, newest first, their metadata only when
/// `include_all_metadata` asks for it.
fn slack_history(got: &Got, before: &[Got]) -> String {
    if !slack_authed(got) {
        return json!({ "ok": false, "error": "invalid_auth" }).to_string();
    }
    let oldest: f64 = got
        .query("oldest")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0.0);
    let metadata = got.query("include_all_metadata") == Some("true");
    let mut messages: Vec<Value> = before
        .iter()
        .filter(|p| p.method == "POST" && p.path == "/api/chat.postMessage" && slack_authed(p))
        .filter(|p| p.at >= oldest)
        .filter_map(|p| {
            let b: Value = serde_json::from_str(&p.body).ok()?;
            (b["channel"].as_str() == got.query("channel")).then_some((p, b))
        })
        .map(|(p, b)| {
            let mut m =
                json!({ "type": "message", "ts": format!("{:.6}", p.at), "text": b["text"] });
            if metadata && !b["metadata"].is_null() {
                m["metadata"] = b["metadata"].clone();
            }
            m
        })
        .collect();
    messages.reverse();
    json!({ "ok": true, "messages": messages, "has_more": false }).to_string()
}

/// A serve killed (SIGKILL) at failpoint `point` of the escalation of the gate to
/// `second` (posted at `path`), then started again: the run's escalation rows and the
/// posts to `path`, once the second serve recorded the step's end (`last`).
fn across_a_kill(
    rx: &Receiver,
    second: &str,
    point: &str,
    path: &str,
    last: &str,
) -> (Served, String, Vec<(String, String)>) {
    let mut s = served(rx, GATE, second);
    std::fs::write(s.env.path().join("slack.token"), format!("{TOKEN}\n")).unwrap();
    let mut dying = dying(&s, point);
    let (run, mut engine) = open_gate(&s);
    died(&mut dying);
    let before = rows(&s, &run);
    assert_eq!(before.len(), 1, "{before:?}");
    assert_eq!(before[0].0, "escalation_due");
    let posted_before = rx.to(path).len();
    assert_eq!(
        posted_before,
        usize::from(point == "escalation-posted"),
        "posted before the kill only when killed after the post"
    );
    let (child, log) = serve(&mut s);
    let after = wait_until("the second serve to record the step", secs(30), || {
        let r = rows(&s, &run);
        (r.len() == 2).then_some(r)
    });
    assert_eq!(after[1], (last.to_string(), before[0].1.clone()));
    term(child);
    assert_eq!(
        rx.to(path).len(),
        1,
        "nothing twice, nothing lost: {after:?}"
    );
    let out = s.env.run(&["audit", "verify"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // The token is in no record and no line of the serves'.
    let db = std::fs::read(s.env.db()).unwrap();
    assert!(!db.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()));
    assert!(!std::fs::read_to_string(&log).unwrap().contains(TOKEN));
    kill9(&mut engine);
    (s, run, after)
}

/// ntfy: killed after the post and before `escalation_sent`, the next serve polls the
/// topic for the send's tag, finds it, records `escalation_found` and posts nothing.
#[test]
fn an_ntfy_send_taken_before_a_kill_is_found_and_not_sent_again() {
    let rx = Receiver::answering(fake);
    let (_s, _run, _) = across_a_kill(
        &rx,
        NTFY,
        "escalation-posted",
        "/alice-topic",
        "escalation_found",
    );
    let posted = &rx.to("/alice-topic")[0];
    let polls = rx.all("/alice-topic/json");
    assert_eq!(polls.len(), 1, "{polls:?}");
    assert_eq!(polls[0].query("poll"), Some("1"));
    assert_eq!(polls[0].query("tags"), posted.header("x-tags"));
}

/// Slack's Web API: the same, found by the metadata of `conversations.history`; the
/// message carries the page's link and the key, posted with the bot token.
#[test]
fn a_slack_message_posted_before_a_kill_is_found_and_not_posted_again() {
    let rx = Receiver::answering(fake);
    let second = slack_block(&rx);
    let (_s, run, rows) = across_a_kill(
        &rx,
        &second,
        "escalation-posted",
        "/api/chat.postMessage",
        "escalation_found",
    );
    let posted = &rx.to("/api/chat.postMessage")[0];
    assert!(slack_authed(posted), "{posted:?}");
    let body: Value = serde_json::from_str(&posted.body).unwrap();
    assert_eq!(body["channel"], "C0TEST");
    assert_eq!(body["metadata"]["event_payload"]["key"], rows[0].1.as_str());
    let link = format!("http://localhost:9464/approve#{run}/deploy");
    assert!(body["text"].as_str().unwrap().contains(&link), "{body}");
    let reads = rx.all("/api/conversations.history");
    assert_eq!(reads.len(), 1, "{reads:?}");
    assert_eq!(reads[0].query("include_all_metadata"), Some("true"));
}

/// Slack's Web API, killed after the record and before the post: the next serve reads
/// the channel, does not find it, posts it once and records it sent.
#[test]
fn a_slack_message_due_before_a_kill_is_posted_once_after() {
    let rx = Receiver::answering(fake);
    let second = slack_block(&rx);
    across_a_kill(
        &rx,
        &second,
        "escalation-recorded",
        "/api/chat.postMessage",
        "escalation_sent",
    );
    assert_eq!(rx.all("/api/conversations.history").len(), 1);
}

use super::*;

fn facts(link: Option<String>) -> Facts<'static> {
    Facts {
        event: "gate_escalated",
        run_id: "01run",
        run_state: "waiting",
        step: Some("deploy"),
        prompt: "Ship \"1.2\"?\nto prod",
        deadline: "",
        link,
        key: Some("01run/deploy/1700000000000/1"),
    }
}

fn header<'m>(m: &'m Message, name: &str) -> Option<&'m str> {
    m.headers
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.as_str())
}

/// Each target gets the gate's facts and its page link, and nothing that decides: no
/// token, no decision URL, only the page, which asks the passkey to sign.
#[test]
fn each_target_is_told_the_gate_and_its_page_and_nothing_that_decides() {
    let link = gate_link(Some("https://baton.example.ts.net"), "01run", "deploy");
    assert_eq!(
        link.as_deref(),
        Some("https://baton.example.ts.net/approve#01run/deploy")
    );
    assert_eq!(gate_link(None, "01run", "deploy"), None, "no page served");
    let f = facts(link.clone());
    let hook = message(TargetKind::Webhook, &f);
    let v: serde_json::Value = serde_json::from_str(&hook.body).unwrap();
    assert_eq!(v["event"], "gate_escalated");
    assert_eq!(v["step"], "deploy");
    assert_eq!(
        v["link"],
        "https://baton.example.ts.net/approve#01run/deploy"
    );
    assert_eq!(v["prompt"], "Ship \"1.2\"?\nto prod");
    assert_eq!(
        header(&hook, "Idempotency-Key"),
        Some("01run/deploy/1700000000000/1")
    );
    let slack = message(TargetKind::Slack, &f);
    let v: serde_json::Value = serde_json::from_str(&slack.body).unwrap();
    let text = v["text"].as_str().unwrap();
    assert!(text.starts_with("baton: deploy of run 01run still waiting for a decision\n"));
    assert!(
        text.ends_with(
            "<https://baton.example.ts.net/approve#01run/deploy|Open the approval page>"
        )
    );
    assert_eq!(
        v.as_object().unwrap().len(),
        1,
        "Slack is sent only its text"
    );
    let ntfy = message(TargetKind::Ntfy, &f);
    assert_eq!(ntfy.body, "Ship \"1.2\"?\nto prod");
    assert_eq!(
        header(&ntfy, "Click"),
        Some("https://baton.example.ts.net/approve#01run/deploy")
    );
    assert_eq!(
        header(&ntfy, "Title"),
        Some("baton: deploy of run 01run still waiting for a decision")
    );
    for m in [&hook, &slack, &ntfy] {
        let all = format!("{m:?}").to_lowercase();
        for word in ["token", "signature", "/approve/decide", "/approve/message"] {
            assert!(!all.contains(word), "{word} in {m:?}");
        }
    }
    let bare = message(TargetKind::Ntfy, &facts(None));
    assert_eq!(header(&bare, "Click"), None, "no page: no link");
}

/// curl's config carries the URL, headers and body quoted, one line each, whatever the
/// prompt holds: a newline or a quote in it starts no option of curl's.
#[test]
fn curl_s_config_quotes_every_value_on_its_own_line() {
    let m = message(TargetKind::Ntfy, &facts(None));
    let c = curl_config("https://ntfy.example/t\"x", &m, Duration::from_secs(30));
    let lines: Vec<&str> = c.lines().collect();
    assert_eq!(lines[0], r#"url = "https://ntfy.example/t\"x""#);
    assert!(lines.contains(&r#"proto = "=http,https""#));
    assert!(lines.contains(&r#"max-time = "30""#));
    assert!(lines.contains(&r#"connect-timeout = "10""#));
    assert!(
        lines.contains(&r#"data-raw = "Ship \"1.2\"?\nto prod""#),
        "{c}"
    );
    assert!(
        lines.iter().all(|l| l.contains(" = ") || *l == "silent"),
        "{c}"
    );
}

/// A send with a key carries it where its target keeps it: ntfy a tag of it, Slack's
/// Web API the message's metadata, which a page of `conversations.history` gives back
/// (`holds`: only under baton's event type, only that key).
#[test]
fn a_key_goes_where_the_target_gives_it_back() {
    let f = facts(None);
    let key = f.key.unwrap();
    let ntfy = message(TargetKind::Ntfy, &f);
    assert_eq!(header(&ntfy, "X-Tags"), Some(ntfy_tag(key).as_str()));
    let api = message(TargetKind::SlackApi, &f);
    let v: serde_json::Value = serde_json::from_str(&api.body).unwrap();
    assert_eq!(v["metadata"]["event_type"], SLACK_EVENT_TYPE);
    assert_eq!(v["metadata"]["event_payload"]["key"], key);
    assert!(
        v["text"]
            .as_str()
            .unwrap()
            .starts_with("baton: deploy of run 01run still waiting")
    );
    assert!(!format!("{api:?}").to_lowercase().contains("token"));
    let page = |event_type: &str, k: &str| {
        serde_json::json!({ "ok": true, "messages": [
            { "text": "x" },
            { "text": "y", "metadata": { "event_type": event_type, "event_payload": { "key": k } } },
        ]})
    };
    assert!(super::super::slack_api::holds(
        &page(SLACK_EVENT_TYPE, key),
        key
    ));
    assert!(!super::super::slack_api::holds(&page("other", key), key));
    assert!(!super::super::slack_api::holds(
        &page(SLACK_EVENT_TYPE, "01run/x/1/0/1"),
        key
    ));
    let bare = Facts { key: None, ..f };
    let v: serde_json::Value =
        serde_json::from_str(&message(TargetKind::SlackApi, &bare).body).unwrap();
    assert!(v.get("metadata").is_none(), "no key, no metadata");
}

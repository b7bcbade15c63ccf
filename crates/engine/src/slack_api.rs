//! A `slack_api` target: Slack's Web API with a bot token (read from its secret source
//! when it is used, given to curl on its standard input, never on a command line or in
//! a record). A message is `chat.postMessage`, an escalation's key its metadata; a send
//! due again is first looked for with `conversations.history` (`include_all_metadata`).
use super::post::{Facts, SLACK_EVENT_TYPE, fetch, message, read_config, url_of};
use baton_model::ErrorKind;
use baton_workflow::{SlackApi, Target};
use std::path::Path;
use std::time::Duration;

/// The most of one answer read: a page of history is at most `PAGE` messages.
const LIMIT: usize = 4 << 20;
/// Messages asked for per page of history, and pages read at most.
const PAGE: usize = 100;
const PAGES: usize = 5;

/// The base URL, the channel and the bot token's `Authorization` header.
async fn reach<'t>(
    target: &'t Target,
    dir: &Path,
) -> Result<(String, &'t SlackApi, (&'static str, String)), (ErrorKind, String)> {
    let Some(api) = target.slack.as_ref() else {
        return Err((
            ErrorKind::SpawnFailed,
            "the slack_api target has no channel and token".into(),
        ));
    };
    let base = url_of(target, dir).await?;
    let token = super::post::read_secret("slack_api token", &api.token, dir).await?;
    if token.is_empty() || token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err((
            ErrorKind::SpawnFailed,
            "the slack_api token is empty or holds a space: give the bot token (xoxb-…)".into(),
        ));
    }
    let base = base.trim_end_matches('/').to_string();
    Ok((base, api, ("Authorization", format!("Bearer {token}"))))
}

/// Slack answers HTTP 200 with `"ok": false` for a refusal: its `error` says why.
fn answer(what: &str, body: &[u8]) -> Result<serde_json::Value, (ErrorKind, String)> {
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|_| {
        (
            ErrorKind::ExitNonzero,
            format!("the slack_api target's answer to {what} is not JSON"),
        )
    })?;
    if v["ok"] == true {
        return Ok(v);
    }
    let why = v["error"].as_str().unwrap_or("no error given");
    let why: String = why
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(80)
        .collect();
    Err((
        ErrorKind::ExitNonzero,
        format!("the slack_api target refused {what}: {why}"),
    ))
}

/// `chat.postMessage` of `f` to the target's channel.
pub(crate) async fn post(
    target: &Target,
    f: &Facts<'_>,
    dir: &Path,
    timeout: Duration,
) -> Result<(), (ErrorKind, String)> {
    let (base, api, auth) = reach(target, dir).await?;
    let m = message(target.kind, f);
    let mut body: serde_json::Value = serde_json::from_str(&m.body).unwrap_or_default();
    body["channel"] = api.channel.clone().into();
    let mut headers = m.headers;
    headers.push(auth);
    let url = format!("{base}/chat.postMessage");
    let config = read_config(&url, "POST", &headers, Some(&body.to_string()), timeout);
    let got = fetch(&config, "slack_api", dir, timeout, LIMIT).await?;
    answer("chat.postMessage", &got).map(|_| ())
}

/// Whether the channel holds a message posted since `since` (Unix seconds) whose
/// metadata is `key`'s: `conversations.history`, at most `PAGES` pages of `PAGE`.
/// `None`: not found in what was read while more was left (it cannot tell).
pub(crate) async fn has(
    target: &Target,
    key: &str,
    since: i64,
    dir: &Path,
    timeout: Duration,
) -> Result<Option<bool>, (ErrorKind, String)> {
    let (base, api, auth) = reach(target, dir).await?;
    let mut cursor = String::new();
    for _ in 0..PAGES {
        let mut url = format!(
            "{base}/conversations.history?channel={}&oldest={since}&limit={PAGE}&include_all_metadata=true",
            api.channel
        );
        if !cursor.is_empty() {
            url.push_str(&format!("&cursor={}", percent(&cursor)));
        }
        let config = read_config(&url, "GET", std::slice::from_ref(&auth), None, timeout);
        let got = fetch(&config, "slack_api", dir, timeout, LIMIT).await?;
        let v = answer("conversations.history", &got)?;
        if holds(&v, key) {
            return Ok(Some(true));
        }
        cursor = v["response_metadata"]["next_cursor"]
            .as_str()
            .unwrap_or("")
            .to_string();
        if v["has_more"] != true || cursor.is_empty() {
            return Ok(Some(false));
        }
    }
    Ok(None)
}

/// Whether a page of `conversations.history` holds a message of `key`'s metadata.
pub(crate) fn holds(page: &serde_json::Value, key: &str) -> bool {
    page["messages"].as_array().is_some_and(|ms| {
        ms.iter().any(|m| {
            m["metadata"]["event_type"] == SLACK_EVENT_TYPE
                && m["metadata"]["event_payload"]["key"] == key
        })
    })
}

/// `s` percent-encoded for a query string.
fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

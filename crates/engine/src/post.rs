//! Posting a notice to a `[[notify]]` target (`webhook`, `slack`, `slack_api`, `ntfy`):
//! what each is sent (pure, `message`) and sending it with the system's `curl`, run
//! without a shell and given its URL, headers and body on its standard input as a
//! config file (`--config -`): a URL or token read from a secret is never on a command
//! line, in a record or in a log (curl's own error text, which may name it, is dropped).
//! A message carries
//! the gate's page link when `baton serve --approval-origin` serves one, and never a
//! decision: the page asks the approver's passkey to sign.
use baton_model::ErrorKind;
use baton_workflow::{SecretSource, Target, TargetKind, UrlSource};
use serde_json::json;
use std::path::Path;
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// The approval page's origin this process serves (`baton serve --approval-origin`).
static PAGE_ORIGIN: OnceLock<String> = OnceLock::new();

/// Say that this process serves the approval page at `origin`: gate notices link to it.
pub fn set_page_origin(origin: &str) {
    let _ = PAGE_ORIGIN.set(origin.trim_end_matches('/').to_string());
}

pub(crate) fn page_origin() -> Option<&'static str> {
    PAGE_ORIGIN.get().map(String::as_str)
}

/// The facts a target is told.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Facts<'a> {
    /// `gate_opened`, `gate_escalated`, …
    pub event: &'a str,
    pub run_id: &'a str,
    pub run_state: &'a str,
    pub step: Option<&'a str>,
    pub prompt: &'a str,
    pub deadline: &'a str,
    /// The gate's page (`ORIGIN/approve#RUN/STEP`), for a gate a person decides.
    pub link: Option<String>,
    /// The same for every try of one send (an escalation's), so a receiver that
    /// de-duplicates sees one.
    pub key: Option<&'a str>,
}

/// The page of `step`'s gate in `run_id`, when this process serves the page.
pub(crate) fn gate_link(origin: Option<&str>, run_id: &str, step: &str) -> Option<String> {
    origin.map(|o| format!("{o}/approve#{run_id}/{step}"))
}

/// What a target is sent: its headers and body.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Message {
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

/// One line for a person: what happened, to which step of which run.
fn title(f: &Facts<'_>) -> String {
    let what = match f.event {
        "gate_opened" => "waiting for a decision",
        "gate_escalated" => "still waiting for a decision",
        "gate_warning" => "about to time out",
        "gate_decided" => "decided",
        "run_finished" => "finished",
        "step_failed" => "failed",
        "deadline_missed" => "missed its deadline",
        other => other,
    };
    match f.step {
        Some(s) => format!("baton: {s} of run {} {what}", f.run_id),
        None => format!("baton: run {} {what} ({})", f.run_id, f.run_state),
    }
}

/// The message `kind` is sent for `f`.
pub(crate) fn message(kind: TargetKind, f: &Facts<'_>) -> Message {
    let mut headers = Vec::new();
    if let Some(k) = f.key {
        headers.push(("Idempotency-Key", one_line(k)));
    }
    let title = title(f);
    let body = match kind {
        TargetKind::Webhook => {
            headers.push(("Content-Type", "application/json".into()));
            json!({
                "event": f.event, "run_id": f.run_id, "run_state": f.run_state,
                "step": f.step, "prompt": f.prompt, "deadline": f.deadline,
                "title": title, "link": f.link, "key": f.key,
            })
            .to_string()
        }
        TargetKind::Slack => {
            headers.push(("Content-Type", "application/json".into()));
            json!({ "text": slack_text(&title, f) }).to_string()
        }
        TargetKind::SlackApi => {
            headers.push(("Content-Type", "application/json; charset=utf-8".into()));
            slack_api_payload(&title, f).to_string()
        }
        TargetKind::Ntfy => {
            if let Some(k) = f.key {
                headers.push(("X-Tags", ntfy_tag(k)));
            }
            headers.push(("Title", one_line(&title)));
            if let Some(l) = &f.link {
                headers.push(("Click", one_line(l)));
            }
            headers.push(("Content-Type", "text/plain; charset=utf-8".into()));
            if f.prompt.is_empty() {
                title
            } else {
                f.prompt.to_string()
            }
        }
    };
    Message { headers, body }
}

/// A Slack message's text: the title, the prompt, the page's link.
fn slack_text(title: &str, f: &Facts<'_>) -> String {
    let mut text = format!("{title}\n{}", f.prompt);
    if let Some(l) = &f.link {
        text.push_str(&format!("\n<{l}|Open the approval page>"));
    }
    text
}

/// What Slack's Web API is posted (`chat.postMessage`, its `channel` added by the
/// sender): the text and, for a send with a key, the key as the message's metadata,
/// which `conversations.history` gives back.
pub(crate) fn slack_api_payload(title: &str, f: &Facts<'_>) -> serde_json::Value {
    let mut v = json!({ "text": slack_text(title, f) });
    if let Some(k) = f.key {
        v["metadata"] = json!({
            "event_type": SLACK_EVENT_TYPE,
            "event_payload": { "key": k },
        });
    }
    v
}

/// The `event_type` of the metadata an escalation's Slack message carries.
pub(crate) const SLACK_EVENT_TYPE: &str = "baton_escalation";

/// The ntfy tag naming a send's key (`baton-` and 24 hex digits of its SHA-256): a tag
/// is a word of ntfy's, and a poll filtered by it finds the send.
pub(crate) fn ntfy_tag(key: &str) -> String {
    use sha2::Digest as _;
    let digest = hex::encode(sha2::Sha256::digest(key.as_bytes()));
    format!("baton-{}", &digest[..24])
}

fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// `s` as a quoted string of curl's config file.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// curl's config (read from its standard input) for one POST of `m` to `url`, its
/// answer's status written out.
pub(crate) fn curl_config(url: &str, m: &Message, timeout: Duration) -> String {
    let mut c = config_head(url, "POST", timeout);
    c.push_str("output = \"/dev/null\"\nwrite-out = \"%{http_code}\"\n");
    c.push_str(&config_tail(&m.headers, Some(&m.body)));
    c
}

/// curl's config for a request whose answer's body is read from curl's standard output
/// (`fail`: an answer not 2xx is curl's exit 22).
pub(crate) fn read_config(
    url: &str,
    method: &str,
    headers: &[(&'static str, String)],
    body: Option<&str>,
    timeout: Duration,
) -> String {
    let mut c = config_head(url, method, timeout);
    c.push_str("fail\n");
    c.push_str(&config_tail(headers, body));
    c
}

fn config_head(url: &str, method: &str, timeout: Duration) -> String {
    let secs = timeout.as_secs().max(1);
    format!(
        "url = {}\nrequest = {}\nproto = \"=http,https\"\nsilent\nmax-time = \"{secs}\"\nconnect-timeout = \"{}\"\n",
        quoted(url),
        quoted(method),
        secs.min(10)
    )
}

fn config_tail(headers: &[(&'static str, String)], body: Option<&str>) -> String {
    let mut c = String::new();
    for (k, v) in headers {
        c.push_str(&format!("header = {}\n", quoted(&format!("{k}: {v}"))));
    }
    if let Some(b) = body {
        c.push_str(&format!("data-raw = {}\n", quoted(b)));
    }
    c
}

/// Read the target's URL (a secret source when it is one), checked to be HTTP(S).
pub(crate) async fn url_of(target: &Target, dir: &Path) -> Result<String, (ErrorKind, String)> {
    let what = target.kind.as_str();
    let url = match &target.url {
        UrlSource::Literal(u) => u.clone(),
        UrlSource::Secret(source) => read_secret(&format!("{what} URL"), source, dir).await?,
    };
    let ok = (url.starts_with("https://") || url.starts_with("http://"))
        && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if !ok {
        // Never the value: it is a secret.
        return Err((
            ErrorKind::SpawnFailed,
            format!(
                "the {what} target's URL is not an http(s) URL: give it a URL such as https://host/path"
            ),
        ));
    }
    Ok(url)
}

/// A secret's value, trimmed; `Err` names the secret, never its value.
pub(crate) async fn read_secret(
    name: &str,
    source: &SecretSource,
    dir: &Path,
) -> Result<String, (ErrorKind, String)> {
    let secret = baton_workflow::Secret {
        name: name.to_string(),
        source: source.clone(),
    };
    match baton_exec::secrets::read_all(std::slice::from_ref(&secret), dir).await {
        Ok(mut v) => Ok(v
            .pop()
            .map(|(_, url)| url.trim().to_string())
            .unwrap_or_default()),
        Err(e) => Err((ErrorKind::SpawnFailed, e.to_string())),
    }
}

/// POST `f` to `target`, bounded by `timeout`; `Err` says why it was not taken (never
/// the URL).
pub(crate) async fn send(
    target: &Target,
    f: &Facts<'_>,
    dir: &Path,
    timeout: Duration,
) -> Result<(), (ErrorKind, String)> {
    if target.kind == TargetKind::SlackApi {
        return super::slack_api::post(target, f, dir, timeout).await;
    }
    let url = url_of(target, dir).await?;
    let config = curl_config(&url, &message(target.kind, f), timeout);
    let what = target.kind.as_str();
    let (status, out) = curl(&config, what, dir, timeout, 16).await?;
    let code = String::from_utf8_lossy(&out).trim().to_string();
    match status {
        Some(0) if code.starts_with('2') => Ok(()),
        Some(0) => Err((
            ErrorKind::ExitNonzero,
            format!("the {what} target answered HTTP {}", one_line(&code)),
        )),
        status => Err(curl_failed(what, status, timeout)),
    }
}

/// Run `config` (a [`read_config`]) and give the answer's body, at most `limit` bytes
/// (more is an error: a target's answer is bounded).
pub(crate) async fn fetch(
    config: &str,
    what: &str,
    dir: &Path,
    timeout: Duration,
    limit: usize,
) -> Result<Vec<u8>, (ErrorKind, String)> {
    match curl(config, what, dir, timeout, limit).await? {
        (Some(0), body) => Ok(body),
        (Some(22), _) => Err((
            ErrorKind::ExitNonzero,
            format!("the {what} target answered an HTTP error"),
        )),
        (status, _) => Err(curl_failed(what, status, timeout)),
    }
}

/// Why curl failed, by its exit status (never its own text, which may name the URL).
fn curl_failed(what: &str, status: Option<i32>, timeout: Duration) -> (ErrorKind, String) {
    match status {
        Some(28) => (
            ErrorKind::Timeout,
            format!(
                "the {what} target did not answer within {}",
                baton_model::time::human_duration(timeout)
            ),
        ),
        status => (
            ErrorKind::ExitNonzero,
            format!(
                "posting to the {what} target failed (curl exit {}: see EXIT CODES in `man curl`)",
                status.map_or("by a signal".into(), |c| c.to_string())
            ),
        ),
    }
}

/// Run curl on `config` (its standard input), bounded by `timeout`: its exit status
/// and its standard output, of which more than `limit` bytes is an error.
async fn curl(
    config: &str,
    what: &str,
    dir: &Path,
    timeout: Duration,
    limit: usize,
) -> Result<(Option<i32>, Vec<u8>), (ErrorKind, String)> {
    use tokio::io::AsyncReadExt as _;
    let mut cmd = tokio::process::Command::new("curl");
    cmd.args(["-q", "--config", "-"])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    for k in baton_exec::baton_own_in_env() {
        cmd.env_remove(k);
    }
    let mut child = cmd.spawn().map_err(|e| {
        (
            ErrorKind::SpawnFailed,
            format!("cannot start curl to reach the {what} target ({e}): install curl"),
        )
    })?;
    let talk = async {
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(config.as_bytes()).await?;
        }
        let mut out = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            stdout.take(limit as u64 + 1).read_to_end(&mut out).await?;
        }
        if out.len() > limit {
            return Ok((None, out));
        }
        Ok::<_, std::io::Error>((Some(child.wait().await?), out))
    };
    match tokio::time::timeout(timeout + Duration::from_secs(2), talk).await {
        Err(_) => Err(curl_failed(what, Some(28), timeout)),
        Ok(Err(e)) => Err((
            ErrorKind::SpawnFailed,
            format!("reaching the {what} target failed: {e}"),
        )),
        Ok(Ok((None, _))) => Err((
            ErrorKind::ExitNonzero,
            format!("the {what} target answered more than {limit} bytes"),
        )),
        Ok(Ok((Some(status), out))) => Ok((status.code(), out)),
    }
}

#[cfg(test)]
#[path = "post_tests.rs"]
mod tests;

//! Posting a notice to a `[[notify]]` target (`webhook`, `slack`, `ntfy`): what each
//! is sent (pure, `message`) and sending it with the system's `curl`, run without a
//! shell and given its URL, headers and body on its standard input as a config file
//! (`--config -`): a URL read from a secret is never on a command line, in a record or
//! in a log (curl's own error text, which may name it, is dropped). A message carries
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
            let mut text = format!("{title}\n{}", f.prompt);
            if let Some(l) = &f.link {
                text.push_str(&format!("\n<{l}|Open the approval page>"));
            }
            json!({ "text": text }).to_string()
        }
        TargetKind::Ntfy => {
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

/// curl's config (read from its standard input) for one POST of `m` to `url`.
pub(crate) fn curl_config(url: &str, m: &Message, timeout: Duration) -> String {
    let secs = timeout.as_secs().max(1);
    let mut c = format!(
        "url = {}\nrequest = \"POST\"\nproto = \"=http,https\"\nsilent\noutput = \"/dev/null\"\nwrite-out = \"%{{http_code}}\"\nmax-time = \"{secs}\"\nconnect-timeout = \"{}\"\n",
        quoted(url),
        secs.min(10)
    );
    for (k, v) in &m.headers {
        c.push_str(&format!("header = {}\n", quoted(&format!("{k}: {v}"))));
    }
    c.push_str(&format!("data-raw = {}\n", quoted(&m.body)));
    c
}

/// Read the target's URL (a secret source when it is one), checked to be HTTP(S).
async fn url_of(target: &Target, dir: &Path) -> Result<String, (ErrorKind, String)> {
    let what = target.kind.as_str();
    let url = match &target.url {
        UrlSource::Literal(u) => u.clone(),
        UrlSource::Secret(source) => read_secret(what, source, dir).await?,
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

async fn read_secret(
    what: &str,
    source: &SecretSource,
    dir: &Path,
) -> Result<String, (ErrorKind, String)> {
    let secret = baton_workflow::Secret {
        name: format!("{what} URL"),
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
    let url = url_of(target, dir).await?;
    let config = curl_config(&url, &message(target.kind, f), timeout);
    let what = target.kind.as_str();
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
            format!("cannot start curl to post to the {what} target ({e}): install curl"),
        )
    })?;
    let write = async {
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(config.as_bytes()).await?;
        }
        child.wait_with_output().await
    };
    let out = match tokio::time::timeout(timeout + Duration::from_secs(2), write).await {
        Err(_) => {
            return Err((
                ErrorKind::Timeout,
                format!(
                    "the {what} target did not answer within {}",
                    baton_model::time::human_duration(timeout)
                ),
            ));
        }
        Ok(Err(e)) => {
            return Err((
                ErrorKind::SpawnFailed,
                format!("posting to the {what} target failed: {e}"),
            ));
        }
        Ok(Ok(out)) => out,
    };
    let code = String::from_utf8_lossy(&out.stdout).trim().to_string();
    match out.status.code() {
        Some(0) if code.starts_with('2') => Ok(()),
        Some(0) => Err((
            ErrorKind::ExitNonzero,
            format!("the {what} target answered HTTP {}", one_line(&code)),
        )),
        Some(28) => Err((
            ErrorKind::Timeout,
            format!(
                "the {what} target did not answer within {}",
                baton_model::time::human_duration(timeout)
            ),
        )),
        status => Err((
            ErrorKind::ExitNonzero,
            format!(
                "posting to the {what} target failed (curl exit {}: see EXIT CODES in `man curl`)",
                status.map_or("by a signal".into(), |c| c.to_string())
            ),
        )),
    }
}

#[cfg(test)]
#[path = "post_tests.rs"]
mod tests;

//! Reading an escalation's target back before a send due again (its `escalation_due`
//! on record, no `escalation_sent`: a serve died between the post and the record, or
//! the post failed): ntfy keeps what a topic received (a poll filtered by the send's
//! tag), Slack's Web API gives a channel's history with each message's metadata. A
//! webhook, a Slack incoming webhook and a command cannot be read back.
use super::notify::{Escalated, NotTold};
use super::post::{fetch, ntfy_tag, read_config, url_of};
use baton_model::Timestamp;
use baton_workflow::{Notifier, TargetKind};
use std::path::Path;

/// The most of a poll's answer read.
const LIMIT: usize = 1 << 20;
/// How far before the step fell due the target is read: its clock may be behind ours
/// (the key, not the time, finds the send).
const SKEW_S: i64 = 300;

/// What a target says of a send's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heard {
    /// It has it: the send is not made again.
    Had,
    /// It does not: the send is made.
    NotHad,
    /// It cannot be read back (a webhook, a Slack incoming webhook, a command), or
    /// what was read did not tell: the send is made again, with the same key.
    CannotTell,
}

/// Ask block `n`'s target whether it took `e` (posted no earlier than `since`).
/// `Err`: it could not be asked (the serve tries again later, sending nothing now).
pub async fn heard(
    n: &Notifier,
    e: &Escalated,
    since: Timestamp,
    dir: &Path,
) -> Result<Heard, NotTold> {
    let Some(target) = &n.target else {
        return Ok(Heard::CannotTell);
    };
    let secs = since.0.div_euclid(1000) - SKEW_S;
    let had = match target.kind {
        TargetKind::Webhook | TargetKind::Slack => return Ok(Heard::CannotTell),
        TargetKind::SlackApi => super::slack_api::has(target, &e.key, secs, dir, n.timeout).await,
        TargetKind::Ntfy => {
            let topic = url_of(target, dir).await.map_err(|(_, why)| NotTold(why))?;
            let tag = ntfy_tag(&e.key);
            let url = poll_url(&topic, secs, &tag);
            let config = read_config(&url, "GET", &[], None, n.timeout);
            fetch(&config, "ntfy", dir, n.timeout, LIMIT)
                .await
                .map(|body| Some(polled(&String::from_utf8_lossy(&body), &tag)))
        }
    };
    match had.map_err(|(_, why)| NotTold(why))? {
        Some(true) => Ok(Heard::Had),
        Some(false) => Ok(Heard::NotHad),
        None => Ok(Heard::CannotTell),
    }
}

/// ntfy's poll of a topic's messages since `since` (Unix seconds) tagged `tag`.
pub(crate) fn poll_url(topic: &str, since: i64, tag: &str) -> String {
    let (base, query) = match topic.split_once('?') {
        Some((b, q)) => (b, format!("{q}&")),
        None => (topic, String::new()),
    };
    format!(
        "{}/json?{query}poll=1&since={since}&tags={tag}",
        base.trim_end_matches('/')
    )
}

/// Whether a poll's answer (one JSON object a line) holds a message tagged `tag`.
pub(crate) fn polled(answer: &str, tag: &str) -> bool {
    answer
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["event"] == "message")
        .any(|m| {
            m["tags"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t == tag))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A poll asks for the topic's messages since the send could have been made,
    /// filtered by its tag; an answer holds it only in a message event carrying the tag
    /// (not in an `open`, not under another tag, not in a line that is not JSON).
    #[test]
    fn an_ntfy_poll_finds_the_send_by_its_tag() {
        let tag = ntfy_tag("01r/deploy/5/0/1");
        assert!(tag.starts_with("baton-") && tag.len() == 30, "{tag}");
        assert_ne!(tag, ntfy_tag("01r/deploy/5/0/2"));
        assert_eq!(
            poll_url("https://ntfy.example/alice/", 1700, &tag),
            format!("https://ntfy.example/alice/json?poll=1&since=1700&tags={tag}")
        );
        assert_eq!(
            poll_url("https://ntfy.example/alice?auth=x", 9, "t"),
            "https://ntfy.example/alice/json?auth=x&poll=1&since=9&tags=t"
        );
        let line = |event: &str, tags: &str| {
            format!(r#"{{"id":"a","time":1,"event":"{event}","topic":"alice","tags":{tags}}}"#)
        };
        let other = ntfy_tag("another");
        let answer = [
            line("open", &format!(r#"["{tag}"]"#)),
            line("message", &format!(r#"["{other}"]"#)),
            "not json".into(),
        ]
        .join("\n");
        assert!(!polled(&answer, &tag));
        let answer = format!(
            "{answer}\n{}",
            line("message", &format!(r#"["x","{tag}"]"#))
        );
        assert!(polled(&answer, &tag));
    }
}

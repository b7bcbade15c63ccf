//! `[[notify]]`: what a workflow does when chosen events happen (a gate opens, is
//! about to time out, is decided; a step fails; the run ends), headless and in the
//! console alike: a command, whose facts reach it only through its environment, or a
//! post to a target (`webhook`, `slack`, `ntfy`) whose URL is written or read from a
//! secret source. A block that hears gates open may `escalate`: tell other blocks, one
//! after another, while the gate still waits (`baton serve` sends them).
use super::SecretSource;
use super::diag::{Reporter, did_you_mean};
use super::plan::{Notifier, NotifyEvent};
use super::secrets::SecretReader;
use super::tree::{Entry, Node, Val};
use super::units::parse_duration;
use std::path::Path;
use std::time::Duration;

pub(crate) const NOTIFY_FIELDS: &[&str] = &[
    "name",
    "on",
    "run",
    "timeout",
    "webhook",
    "slack",
    "slack_api",
    "ntfy",
    "escalate",
];
/// The keys of a block's `slack_api = { … }`.
pub(crate) const SLACK_API_FIELDS: &[&str] = &["channel", "token", "api"];
/// The keys of each step of a block's `escalate`.
pub(crate) const ESCALATE_FIELDS: &[&str] = &["after", "to"];
/// What a block does: one of these.
const ACTIONS: [&str; 5] = ["run", "webhook", "slack", "slack_api", "ntfy"];
/// Slack's Web API, where a `slack_api` block posts unless its `api` says otherwise.
pub const SLACK_API: &str = "https://slack.com/api";
/// How long a notifier may run unless `timeout` says otherwise.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Where a `[[notify]]` block posts its notice instead of running a command.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub kind: TargetKind,
    /// The URL posted to; for `slack_api`, the Web API's base (`SLACK_API`).
    pub url: UrlSource,
    /// `slack_api`'s channel and bot token.
    pub slack: Option<SlackApi>,
}

/// A `slack_api` block's channel (its ID) and the bot token it posts and reads with.
#[derive(Debug, Clone, PartialEq)]
pub struct SlackApi {
    pub channel: String,
    pub token: SecretSource,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// `webhook`: a JSON object of the notice's facts, POSTed.
    Webhook,
    /// `slack`: Slack's incoming webhook, `{"text": …}`.
    Slack,
    /// `slack_api`: Slack's Web API (`chat.postMessage` with a bot token), which an
    /// escalation's key can be read back from (`conversations.history`).
    SlackApi,
    /// `ntfy`: the message POSTed to a topic's URL, its title and link in headers.
    Ntfy,
}

impl TargetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Webhook => "webhook",
            TargetKind::Slack => "slack",
            TargetKind::SlackApi => "slack_api",
            TargetKind::Ntfy => "ntfy",
        }
    }
}

/// A target's URL: written in the file, or a secret read when it is sent (a webhook's
/// URL is often its only credential: then it is never in the plan, a record or a log).
#[derive(Debug, Clone, PartialEq)]
pub enum UrlSource {
    Literal(String),
    Secret(SecretSource),
}

/// One step of an `escalate` list: once the gate has waited `after` since it opened,
/// the block named `to` is told.
#[derive(Debug, Clone, PartialEq)]
pub struct Escalation {
    pub after: Duration,
    pub to: String,
}

pub(crate) struct NotifyReader<'r, 's> {
    pub r: &'r mut Reporter<'s>,
    pub base_dir: &'r Path,
}

fn get<'n>(entries: &'n [Entry], key: &str) -> Option<&'n Node> {
    entries.iter().find(|e| e.key == key).map(|e| &e.node)
}

impl<'r, 's> NotifyReader<'r, 's> {
    /// A reader whose secret files are relative to `base_dir` (the workflow's directory).
    pub(crate) fn new(r: &'r mut Reporter<'s>, base_dir: &'r Path) -> Self {
        NotifyReader { r, base_dir }
    }

    /// Every `[[notify]]` block, in file order.
    pub(crate) fn notifiers(&mut self, e: &Entry) -> Vec<Notifier> {
        let Val::Array(items) = &e.node.val else {
            self.r.error(
                &e.key_span,
                "`notify` must be an array of tables",
                "write each notifier as its own [[notify]] block (double brackets)",
            );
            return Vec::new();
        };
        let all: Vec<Notifier> = items
            .iter()
            .enumerate()
            .filter_map(|(n, item)| self.notifier(item, n + 1))
            .collect();
        self.unique_names(items, &all);
        self.escalation_names(items, &all);
        all
    }

    /// Each `escalate` step's `to` names a block of the file, never a Slack incoming
    /// webhook: it alone can neither be read back nor carry the send's key, so a serve
    /// killed between its post and the record would tell the person twice.
    fn escalation_names(&mut self, items: &[Node], all: &[Notifier]) {
        let names: Vec<&str> = all.iter().filter_map(|n| n.name.as_deref()).collect();
        let incoming: Vec<&str> = all
            .iter()
            .filter(|n| {
                n.target
                    .as_ref()
                    .is_some_and(|t| t.kind == TargetKind::Slack)
            })
            .filter_map(|n| n.name.as_deref())
            .collect();
        let steps = items
            .iter()
            .filter_map(|i| get(i.entries()?, "escalate"))
            .filter_map(|e| match &e.val {
                Val::Array(steps) => Some(steps),
                _ => None,
            })
            .flatten()
            .filter_map(|step| get(step.entries()?, "to"));
        for to in steps {
            let Val::Str(s) = &to.val else { continue };
            if incoming.contains(&s.trim()) {
                self.r.error(
                    &to.span,
                    format!("`escalate` tells `{s}`, a Slack incoming webhook, which can neither be read back nor take a key: a serve killed after its post and before recording it would tell the person again"),
                    "post with Slack's Web API instead, whose messages baton reads back before a send due again: slack_api = { channel = \"C0123ABCD\", token = { credential = \"slack-bot\" } }",
                );
            }
            if !s.trim().is_empty() && !names.contains(&s.trim()) {
                self.r.error(
                    &to.span,
                    format!("`escalate` names no [[notify]] block `{s}`"),
                    format!(
                        "{} (a `to` is the `name` of another [[notify]] block)",
                        did_you_mean(s, &names, "blocks")
                    ),
                );
            }
        }
    }

    /// Two blocks of one name: a `deadline`'s `notify` would not say which.
    fn unique_names(&mut self, items: &[Node], all: &[Notifier]) {
        let mut seen: Vec<&str> = Vec::new();
        for (item, n) in items.iter().zip(all) {
            let Some(name) = n.name.as_deref() else {
                continue;
            };
            if seen.contains(&name) {
                let span = match &item.val {
                    Val::Table(f) => get(f, "name").map_or(item.span.clone(), |v| v.span.clone()),
                    _ => item.span.clone(),
                };
                self.r.error(
                    &span,
                    format!("two [[notify]] blocks are named `{name}`"),
                    "give each block a name of its own",
                );
            }
            seen.push(name);
        }
    }

    fn name(&mut self, fields: &[Entry], what: &str) -> Option<String> {
        let n = get(fields, "name")?;
        match &n.val {
            Val::Str(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            _ => {
                self.r.error(
                    &n.span,
                    format!("the `name` of {what} must be a non-empty string"),
                    "write e.g. name = \"oncall\", and name it in a deadline's notify = [\"oncall\"]",
                );
                None
            }
        }
    }

    fn notifier(&mut self, item: &Node, n: usize) -> Option<Notifier> {
        let what = format!("[[notify]] #{n}");
        let Val::Table(fields) = &item.val else {
            self.r.error(
                &item.span,
                format!("{what} must be a table"),
                "write [[notify]] with on = [\"gate_opened\"] and run = \"…\"",
            );
            return None;
        };
        for f in fields {
            if !NOTIFY_FIELDS.contains(&f.key.as_str()) {
                self.r.error(
                    &f.key_span,
                    format!("unknown field `{}` in {what}", f.key),
                    did_you_mean(&f.key, NOTIFY_FIELDS, "fields"),
                );
            }
        }
        let on = match get(fields, "on") {
            Some(n) => self.events(n, &what),
            // A named block may hear only the deadlines whose `notify` names it.
            None if get(fields, "name").is_some() => Vec::new(),
            None => {
                self.r.error(
                    &item.span,
                    format!("{what} has no `on`"),
                    format!("say when it runs, e.g. on = [\"gate_opened\", \"run_finished\"] (events: {}), or give it a name = \"…\" a deadline's notify names", NotifyEvent::names().join(", ")),
                );
                Vec::new()
            }
        };
        let (run, target) = self.action(fields, item, &what)?;
        let timeout = self.timeout(fields, &what);
        let escalate = match get(fields, "escalate") {
            Some(e) => self.escalate(e, &on, &what),
            None => Vec::new(),
        };
        let name = self.name(fields, &what);
        Some(Notifier {
            name,
            on,
            run,
            timeout,
            target,
            escalate,
        })
    }

    /// The block's one action: `run` (a command) or a target's URL.
    fn action(
        &mut self,
        fields: &[Entry],
        item: &Node,
        what: &str,
    ) -> Option<(String, Option<Target>)> {
        let given: Vec<&Entry> = fields
            .iter()
            .filter(|e| ACTIONS.contains(&e.key.as_str()))
            .collect();
        let Some((e, rest)) = given.split_first() else {
            self.r.error(
                &item.span,
                format!("{what} has no `run` and no target"),
                "give the command to run, e.g. run = 'notify-send \"$BATON_PROMPT\"', or where to post: webhook, slack or ntfy = \"https://…\" (or = { file = \"/run/secrets/hook\" }, any secret source)",
            );
            return None;
        };
        if let Some(second) = rest.first() {
            self.r.error(
                &second.key_span,
                format!("{what} has both `{}` and `{}`", e.key, second.key),
                "a block does one thing: give each target a [[notify]] block of its own",
            );
            return None;
        }
        let kind = match e.key.as_str() {
            "webhook" => TargetKind::Webhook,
            "slack" => TargetKind::Slack,
            "ntfy" => TargetKind::Ntfy,
            "slack_api" => return self.slack_api(e, what).map(|t| (String::new(), Some(t))),
            _ => return self.command(&e.node, what).map(|run| (run, None)),
        };
        let url = self.url(e, what)?;
        let target = Target {
            kind,
            url,
            slack: None,
        };
        Some((String::new(), Some(target)))
    }

    /// `slack_api = { channel = "C…", token = SECRET, api = "https://…" }`.
    fn slack_api(&mut self, e: &Entry, what: &str) -> Option<Target> {
        const HINT: &str = "write slack_api = { channel = \"C0123ABCD\", token = { credential = \"slack-bot\" } } (the channel's ID; the bot token from any secret source)";
        let Some(fields) = e.node.entries() else {
            self.r.error(
                &e.node.span,
                format!("the `slack_api` of {what} must be a table"),
                HINT,
            );
            return None;
        };
        if let Some(f) = fields
            .iter()
            .find(|f| !SLACK_API_FIELDS.contains(&f.key.as_str()))
        {
            self.r.error(
                &f.key_span,
                format!("unknown field `{}` in the `slack_api` of {what}", f.key),
                "it has `channel`, `token` and (for another server) `api`",
            );
            return None;
        }
        let channel = match get(fields, "channel").map(|c| (c, &c.val)) {
            Some((_, Val::Str(c)))
                if !c.is_empty() && c.chars().all(|ch| ch.is_ascii_alphanumeric()) =>
            {
                c.to_string()
            }
            Some((c, _)) => {
                self.r.error(&c.span, format!("the `channel` of the `slack_api` of {what} is not a channel's ID"), "give the channel's ID (C0123ABCD: the channel's details show it), not its name");
                return None;
            }
            None => {
                self.r.error(
                    &e.node.span,
                    format!("the `slack_api` of {what} has no `channel`"),
                    HINT,
                );
                return None;
            }
        };
        let Some(t) = fields.iter().find(|f| f.key == "token") else {
            self.r.error(
                &e.node.span,
                format!("the `slack_api` of {what} has no `token`"),
                HINT,
            );
            return None;
        };
        let token = SecretReader { r: self.r }.entry(
            &format!("token of the slack_api of {what}"),
            &t.key_span,
            &t.node,
            self.base_dir,
        )?;
        let url = match fields.iter().find(|f| f.key == "api") {
            Some(api) => self.url(api, what)?,
            None => UrlSource::Literal(SLACK_API.to_string()),
        };
        Some(Target {
            kind: TargetKind::SlackApi,
            url,
            slack: Some(SlackApi { channel, token }),
        })
    }

    fn command(&mut self, n: &Node, what: &str) -> Option<String> {
        let Val::Str(s) = &n.val else {
            self.r.error(
                &n.span,
                format!("the `run` of {what} must be a string"),
                "write e.g. run = 'curl -fsS -d \"$BATON_PROMPT\" \"$HOOK\"'",
            );
            return None;
        };
        if s.contains("${{") {
            self.r.error(
                &n.span,
                format!("a template inside the `run` of {what}"),
                "values never become shell code: read the facts from the environment ($BATON_EVENT, $BATON_RUN_ID, $BATON_STEP_ID, $BATON_PROMPT, $BATON_DEADLINE, $BATON_RUN_STATE)",
            );
        }
        if s.contains('\0') {
            self.r.error(
                &n.span,
                format!("a NUL byte in the `run` of {what}"),
                "remove it",
            );
        }
        Some(s.to_string())
    }

    /// A target's URL: an `http(s)://` string, or a secret source's table.
    fn url(&mut self, e: &Entry, what: &str) -> Option<UrlSource> {
        let key = e.key.as_str();
        match &e.node.val {
            Val::Str(s) => match url_problem(s) {
                None => Some(UrlSource::Literal(s.to_string())),
                Some(problem) => {
                    self.r.error(
                        &e.node.span,
                        format!("the `{key}` of {what} {problem}"),
                        format!("write {key} = \"https://host/path\", or read it from a secret: {key} = {{ env = \"VAR\" }} (or file, credential, command)"),
                    );
                    None
                }
            },
            Val::Table(_) => SecretReader { r: self.r }
                .entry(
                    &format!("{key} of {what}"),
                    &e.key_span,
                    &e.node,
                    self.base_dir,
                )
                .map(UrlSource::Secret),
            _ => {
                self.r.error(
                    &e.node.span,
                    format!("the `{key}` of {what} must be a URL or a secret source, found {}", e.node.kind()),
                    format!("write {key} = \"https://host/path\" or {key} = {{ file = \"/run/secrets/hook\" }}"),
                );
                None
            }
        }
    }

    fn timeout(&mut self, fields: &[Entry], what: &str) -> Duration {
        let Some(n) = get(fields, "timeout") else {
            return DEFAULT_TIMEOUT;
        };
        match &n.val {
            Val::Str(s) => match parse_duration(s) {
                Ok(d) if !d.is_zero() => d,
                _ => {
                    self.r.error(
                        &n.span,
                        format!("the `timeout` of {what} is not a duration: \"{s}\""),
                        "write a duration such as \"10s\" or \"1m\"",
                    );
                    DEFAULT_TIMEOUT
                }
            },
            _ => {
                self.r.error(
                    &n.span,
                    format!("the `timeout` of {what} must be a string"),
                    "write e.g. timeout = \"10s\"",
                );
                DEFAULT_TIMEOUT
            }
        }
    }

    /// `escalate = [{ after = "15m", to = "NAME" }, …]`: each step later than the one
    /// before; the names are checked once every block is read (`escalation_names`).
    fn escalate(&mut self, n: &Node, on: &[NotifyEvent], what: &str) -> Vec<Escalation> {
        const HINT: &str = "write escalate = [{ after = \"15m\", to = \"second\" }, { after = \"1h\", to = \"lead\" }], each `to` a [[notify]] block's name";
        let Val::Array(items) = &n.val else {
            self.r.error(
                &n.span,
                format!("the `escalate` of {what} must be an array of tables"),
                HINT,
            );
            return Vec::new();
        };
        if !on.contains(&NotifyEvent::GateOpened) {
            self.r.error(
                &n.span,
                format!("{what} escalates but does not hear `gate_opened`"),
                "escalation follows the gates a block heard open: add \"gate_opened\" to its `on`",
            );
        }
        let mut out: Vec<Escalation> = Vec::new();
        for item in items {
            let Some(fields) = item.entries() else {
                self.r.error(
                    &item.span,
                    format!("each step of the `escalate` of {what} must be a table"),
                    HINT,
                );
                continue;
            };
            if let Some(f) = fields
                .iter()
                .find(|f| !ESCALATE_FIELDS.contains(&f.key.as_str()))
            {
                self.r.error(
                    &f.key_span,
                    format!("unknown field `{}` in the `escalate` of {what}", f.key),
                    "a step has `after` and `to`",
                );
                continue;
            }
            let after = match get(fields, "after").map(|a| (a, &a.val)) {
                Some((a, Val::Str(s))) => match parse_duration(s) {
                    Ok(d) if out.last().is_none_or(|l| d > l.after) && !d.is_zero() => Some(d),
                    Ok(_) => {
                        self.r.error(&a.span, format!("the `after` of a step of the `escalate` of {what} is not later than the step before"), "give each step a later time than the one before it (they count from the gate's opening)");
                        None
                    }
                    Err(_) => {
                        self.r.error(&a.span, format!("the `after` of a step of the `escalate` of {what} is not a duration: \"{s}\""), "write a duration such as \"15m\" or \"1h\"");
                        None
                    }
                },
                _ => {
                    self.r.error(
                        &item.span,
                        format!("a step of the `escalate` of {what} has no `after` duration"),
                        HINT,
                    );
                    None
                }
            };
            let to = match get(fields, "to").map(|t| &t.val) {
                Some(Val::Str(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
                _ => {
                    self.r.error(&item.span, format!("a step of the `escalate` of {what} has no `to` naming a [[notify]] block"), HINT);
                    None
                }
            };
            if let (Some(after), Some(to)) = (after, to) {
                out.push(Escalation { after, to });
            }
        }
        out
    }

    fn events(&mut self, n: &Node, what: &str) -> Vec<NotifyEvent> {
        let Val::Array(items) = &n.val else {
            self.r.error(
                &n.span,
                format!("the `on` of {what} must be an array of event names"),
                format!(
                    "write e.g. on = [\"gate_opened\"] (events: {})",
                    NotifyEvent::names().join(", ")
                ),
            );
            return Vec::new();
        };
        let names = NotifyEvent::names();
        items
            .iter()
            .filter_map(|i| match &i.val {
                Val::Str(s) => match NotifyEvent::parse(s) {
                    Some(e) => Some(e),
                    None => {
                        self.r.error(
                            &i.span,
                            format!("unknown event `{s}` in the `on` of {what}"),
                            format!(
                                "{} (events: {})",
                                did_you_mean(s, &names, "events"),
                                names.join(", ")
                            ),
                        );
                        None
                    }
                },
                _ => {
                    self.r.error(
                        &i.span,
                        format!("each event in the `on` of {what} must be a string"),
                        "write e.g. on = [\"run_finished\"]",
                    );
                    None
                }
            })
            .collect()
    }
}

/// Why `s` is not a URL a target posts to, if it is not.
fn url_problem(s: &str) -> Option<&'static str> {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    match rest {
        None => Some("is not an http:// or https:// URL"),
        Some(r) if r.is_empty() || r.starts_with('/') => Some("names no host"),
        Some(_) if s.contains("${{") => Some("holds a template (a URL is written as is)"),
        Some(_) if s.chars().any(|c| c.is_whitespace() || c.is_control()) => {
            Some("holds a space or a control character")
        }
        Some(_) => None,
    }
}

#[cfg(test)]
#[path = "notify_tests.rs"]
mod tests;

//! `[[notify]]`: commands a workflow runs when chosen events happen (a gate opens, is
//! about to time out, is decided; a step fails; the run ends), headless and in the
//! console alike. The facts reach the command only through its environment.
use super::diag::{Reporter, did_you_mean};
use super::plan::{Notifier, NotifyEvent};
use super::tree::{Entry, Node, Val};
use super::units::parse_duration;
use std::time::Duration;

pub(crate) const NOTIFY_FIELDS: &[&str] = &["name", "on", "run", "timeout"];
/// How long a notifier may run unless `timeout` says otherwise.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) struct NotifyReader<'r, 's> {
    pub r: &'r mut Reporter<'s>,
}

fn get<'n>(entries: &'n [Entry], key: &str) -> Option<&'n Node> {
    entries.iter().find(|e| e.key == key).map(|e| &e.node)
}

impl NotifyReader<'_, '_> {
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
        all
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
        let run = match get(fields, "run").map(|n| (n, &n.val)) {
            Some((n, Val::Str(s))) => {
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
                s.to_string()
            }
            Some((n, _)) => {
                self.r.error(
                    &n.span,
                    format!("the `run` of {what} must be a string"),
                    "write e.g. run = 'curl -fsS -d \"$BATON_PROMPT\" \"$HOOK\"'",
                );
                return None;
            }
            None => {
                self.r.error(
                    &item.span,
                    format!("{what} has no `run`"),
                    "give the command to run, e.g. run = 'notify-send \"$BATON_PROMPT\"'",
                );
                return None;
            }
        };
        let timeout = match get(fields, "timeout") {
            None => DEFAULT_TIMEOUT,
            Some(n) => match &n.val {
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
            },
        };
        let name = self.name(fields, &what);
        Some(Notifier {
            name,
            on,
            run,
            timeout,
        })
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

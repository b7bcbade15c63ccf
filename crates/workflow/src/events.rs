//! `[[trigger]]`: events that make `baton serve` start the workflow — another
//! workflow's run ending, a file landing in a directory, a signed webhook call —
//! and what of the event becomes the new run's params. Checked at load
//! (`load/events.rs`); fired by the serve, each event once (the store's
//! `trigger_events`).
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// A run started by triggers that were started by triggers… at most this deep: a
/// cycle no file shows on its own (A starts B, B starts A, each loaded alone) ends
/// there, its event refused on record.
pub const MAX_TRIGGER_DEPTH: u32 = 8;

/// How many events a trigger that holds them (`coalesce`, `debounce`) keeps pending,
/// unless its `queue` says: more are refused on record.
pub const DEFAULT_TRIGGER_QUEUE: u32 = 100;
/// The most `queue` may say.
pub const MAX_TRIGGER_QUEUE: u32 = 10_000;

/// How a trigger takes a burst of events: each event its own run at once (the
/// default), or held pending on record (`coalesce`, `debounce`), at most `queue`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Burst {
    /// `coalesce = true`: one run takes every pending event.
    pub coalesce: bool,
    /// `debounce = "30s"`: the pending events fire once the trigger saw no new event
    /// for this long.
    pub debounce: Option<Duration>,
    /// `queue = N`: at most this many events pending; more are refused on record.
    pub queue: u32,
}

impl Default for Burst {
    fn default() -> Self {
        Burst {
            coalesce: false,
            debounce: None,
            queue: DEFAULT_TRIGGER_QUEUE,
        }
    }
}

impl Burst {
    /// Whether the trigger's events are held pending before they fire.
    pub fn holds(&self) -> bool {
        self.coalesce || self.debounce.is_some()
    }
}

/// The run states a `run_ended` trigger may name (the ends of a run).
pub const END_STATES: &[&str] = &["succeeded", "failed", "cancelled", "skipped"];

/// One `[[trigger]]` block.
#[derive(Debug, Clone, PartialEq)]
pub struct EventTrigger {
    /// From 1, in file order: `WORKFLOW#N` in `baton triggers`.
    pub index: u32,
    /// `name`: how a webhook's URL and `baton triggers` name it (unique in the file).
    pub name: Option<String>,
    pub source: EventSource,
    /// `params`: fixed values, as a schedule's, checked against `[params]` at load.
    pub params: Vec<(String, String)>,
    /// `map`: params taken from the event, checked against their types when it fires.
    pub map: Vec<(String, Pick)>,
    /// `labels`: each run it starts starts with them.
    pub labels: BTreeMap<String, String>,
    /// `coalesce`, `debounce`, `queue`.
    pub burst: Burst,
    /// Where the block starts in the file.
    pub line: usize,
}

/// What fires the trigger (`on`).
#[derive(Debug, Clone, PartialEq)]
pub enum EventSource {
    /// `on = "run_ended"`: a run of workflow `workflow` ended in one of `states`.
    RunEnded {
        workflow: String,
        /// Each one of [`END_STATES`]; `["succeeded"]` unless given.
        states: Vec<String>,
    },
    /// `on = "file"`: a file whose name matches `glob` settled in `dir` (absolute:
    /// a relative one is made so against the workflow's directory at load).
    File { dir: PathBuf, glob: String },
    /// `on = "webhook"`: a POST to the serve's listener signed with the `[secrets]`
    /// entry `secret` (HMAC-SHA256 of the body, GitHub's `X-Hub-Signature-256`).
    Webhook { secret: String },
}

impl EventSource {
    /// `run_ended`, `file` or `webhook`.
    pub fn kind(&self) -> &'static str {
        match self {
            EventSource::RunEnded { .. } => "run_ended",
            EventSource::File { .. } => "file",
            EventSource::Webhook { .. } => "webhook",
        }
    }

    /// Whether `file`'s name (its last component) matches a `file` trigger's glob.
    pub fn matches_name(&self, name: &str) -> bool {
        match self {
            EventSource::File { glob, .. } => globset::Glob::new(glob)
                .map(|g| g.compile_matcher().is_match(name))
                .unwrap_or(false),
            _ => false,
        }
    }
}

/// What of the event a mapped param takes (`map = { PARAM = "WHAT" }`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pick {
    /// `run.id`, `run.state`, `run.workflow`: of the run that ended.
    RunId,
    RunState,
    RunWorkflow,
    /// `steps.ID.outputs.NAME`: an output of the ended run's step.
    StepOutput {
        step: String,
        name: String,
    },
    /// `file.path` (absolute), `file.name`: the file that landed.
    FilePath,
    FileName,
    /// `body.A.B`: a field of the webhook's JSON body, by path (a string, number or
    /// boolean; anything else is refused when it arrives).
    Body(Vec<String>),
    /// `delivery`: the webhook's delivery id.
    Delivery,
}

/// Why a `map` value names nothing the trigger's event has.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not something a `{kind}` event has")]
pub struct BadPick {
    pub text: String,
    pub kind: &'static str,
}

impl Pick {
    /// Read `text` as what an event of `kind` (`EventSource::kind`) has.
    pub fn parse(kind: &'static str, text: &str) -> Result<Pick, BadPick> {
        let bad = || BadPick {
            text: text.to_string(),
            kind,
        };
        let parts: Vec<&str> = text.split('.').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(bad());
        }
        let pick = match (kind, parts.as_slice()) {
            ("run_ended", ["run", "id"]) => Pick::RunId,
            ("run_ended", ["run", "state"]) => Pick::RunState,
            ("run_ended", ["run", "workflow"]) => Pick::RunWorkflow,
            ("run_ended", ["steps", step, "outputs", name]) => Pick::StepOutput {
                step: (*step).to_string(),
                name: (*name).to_string(),
            },
            ("file", ["file", "path"]) => Pick::FilePath,
            ("file", ["file", "name"]) => Pick::FileName,
            ("webhook", ["delivery"]) => Pick::Delivery,
            ("webhook", ["body", rest @ ..]) if !rest.is_empty() => {
                Pick::Body(rest.iter().map(|s| (*s).to_string()).collect())
            }
            _ => return Err(bad()),
        };
        Ok(pick)
    }

    /// The picks an event of `kind` offers, for hints.
    pub fn examples(kind: &str) -> &'static str {
        match kind {
            "run_ended" => {
                "\"run.id\", \"run.state\", \"run.workflow\" or \"steps.ID.outputs.NAME\""
            }
            "file" => "\"file.path\" or \"file.name\"",
            _ => "\"body.FIELD\" (a path: \"body.head_commit.id\") or \"delivery\"",
        }
    }
}

impl std::fmt::Display for Pick {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Pick::RunId => f.write_str("run.id"),
            Pick::RunState => f.write_str("run.state"),
            Pick::RunWorkflow => f.write_str("run.workflow"),
            Pick::StepOutput { step, name } => write!(f, "steps.{step}.outputs.{name}"),
            Pick::FilePath => f.write_str("file.path"),
            Pick::FileName => f.write_str("file.name"),
            Pick::Body(path) => write!(f, "body.{}", path.join(".")),
            Pick::Delivery => f.write_str("delivery"),
        }
    }
}

/// A mapped param the event has no value for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("param `{param}`: the event has no `{pick}` (map it from what every such event has)")]
pub struct MissingPick {
    pub param: String,
    pub pick: String,
}

/// The params a firing gives its run: the fixed ones, then each mapped one from what
/// `pick` finds in the event (`None`: the event has no such value, and the run is
/// refused naming it). The run's `[params]` check the result as `--param` would.
pub fn event_params(
    t: &EventTrigger,
    mut pick: impl FnMut(&Pick) -> Option<String>,
) -> Result<Vec<(String, String)>, MissingPick> {
    let mut out = t.params.clone();
    for (name, p) in &t.map {
        match pick(p) {
            Some(v) => out.push((name.clone(), v)),
            None => {
                return Err(MissingPick {
                    param: name.clone(),
                    pick: p.to_string(),
                });
            }
        }
    }
    Ok(out)
}

/// The params a coalesced firing gives its one run: the fixed ones, then each mapped
/// one as a JSON array of what `pick` finds (for the param, by its pick) in each of `events`, in their order (a
/// `type = "list"` param, as the load checks). An event with no such value refuses the
/// run, naming it.
pub fn coalesced_params<E>(
    t: &EventTrigger,
    events: &[E],
    mut pick: impl FnMut(&E, &str, &Pick) -> Option<String>,
) -> Result<Vec<(String, String)>, MissingPick> {
    let mut out = t.params.clone();
    for (name, p) in &t.map {
        let mut values = Vec::with_capacity(events.len());
        for e in events {
            match pick(e, name, p) {
                Some(v) => values.push(serde_json::Value::String(v)),
                None => {
                    return Err(MissingPick {
                        param: name.clone(),
                        pick: p.to_string(),
                    });
                }
            }
        }
        out.push((name.clone(), serde_json::Value::Array(values).to_string()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_are_read_by_kind() {
        assert_eq!(Pick::parse("run_ended", "run.id"), Ok(Pick::RunId));
        assert_eq!(
            Pick::parse("run_ended", "steps.build.outputs.version"),
            Ok(Pick::StepOutput {
                step: "build".into(),
                name: "version".into()
            })
        );
        assert_eq!(Pick::parse("file", "file.path"), Ok(Pick::FilePath));
        assert_eq!(
            Pick::parse("webhook", "body.head_commit.id"),
            Ok(Pick::Body(vec!["head_commit".into(), "id".into()]))
        );
        assert!(Pick::parse("file", "run.id").is_err());
        assert!(Pick::parse("webhook", "body").is_err());
        assert!(Pick::parse("webhook", "body..x").is_err());
        for p in [
            "run.id",
            "steps.a.outputs.b",
            "file.name",
            "body.a.b",
            "delivery",
        ] {
            let kind = match p.split('.').next() {
                Some("run" | "steps") => "run_ended",
                Some("file") => "file",
                _ => "webhook",
            };
            assert_eq!(Pick::parse(kind, p).map(|x| x.to_string()), Ok(p.into()));
        }
    }

    #[test]
    fn a_coalesced_run_takes_each_events_value_as_a_list() {
        let t = EventTrigger {
            index: 1,
            name: None,
            source: EventSource::File {
                dir: "/in".into(),
                glob: "*".into(),
            },
            params: vec![("env".into(), "prod".into())],
            map: vec![("inputs".into(), Pick::FilePath)],
            labels: BTreeMap::new(),
            burst: Burst::default(),
            line: 1,
        };
        let got = coalesced_params(&t, &["/in/a", "/in/b,c"], |e, _, _| Some(e.to_string()));
        assert_eq!(
            got,
            Ok(vec![
                ("env".into(), "prod".into()),
                ("inputs".into(), r#"["/in/a","/in/b,c"]"#.into())
            ])
        );
        let missing = coalesced_params(&t, &["/in/a", ""], |e, _, _| {
            (!e.is_empty()).then(|| e.to_string())
        });
        assert!(missing.is_err());
    }

    #[test]
    fn a_file_trigger_matches_names_by_its_glob() {
        let s = EventSource::File {
            dir: "/in".into(),
            glob: "*.csv".into(),
        };
        assert!(s.matches_name("a.csv"));
        assert!(!s.matches_name("a.csv.part"));
    }
}

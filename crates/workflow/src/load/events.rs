//! `[[trigger]]`: the events that make `baton serve` start the workflow
//! (`crate::events`). Each key is read at its place; what needs the whole plan (the
//! params a trigger maps and fixes, a webhook's secret, a trigger on the workflow's
//! own runs) is checked once the plan is known.
use super::*;
use crate::events::{Burst, END_STATES, EventSource, EventTrigger, MAX_TRIGGER_QUEUE, Pick};

pub(super) const TRIGGER_FIELDS: &[&str] = &[
    "on", "name", "workflow", "states", "dir", "glob", "secret", "params", "map", "labels",
    "coalesce", "debounce", "queue",
];
const KINDS: &[&str] = &["run_ended", "file", "webhook"];
/// The fields each kind takes besides the common ones.
const KIND_FIELDS: &[(&str, &[&str])] = &[
    ("run_ended", &["workflow", "states"]),
    ("file", &["dir", "glob"]),
    ("webhook", &["secret"]),
];

/// A trigger read, with where its parts are written, for the checks against the plan.
pub(super) struct RawTrigger {
    pub trigger: EventTrigger,
    pub span: Span,
    pub params_span: Span,
    /// Each mapped param's name and where it is written.
    pub map_spans: Vec<Span>,
    pub secret_span: Option<Span>,
}

impl Loader<'_, '_> {
    /// The `[[trigger]]` blocks of the file's top level (none: empty).
    pub(super) fn read_triggers(&mut self, top: &[Entry], base_dir: &Path) -> Vec<RawTrigger> {
        get_entry(top, "trigger")
            .map(|e| self.event_triggers(e, base_dir))
            .unwrap_or_default()
    }

    fn event_triggers(&mut self, e: &Entry, base_dir: &Path) -> Vec<RawTrigger> {
        let Val::Array(items) = &e.node.val else {
            self.err(
                &e.key_span,
                format!(
                    "`trigger` must be an array of tables, found {}",
                    e.node.kind()
                ),
                "write each trigger as its own [[trigger]] block (double brackets)",
            );
            return Vec::new();
        };
        let mut out: Vec<RawTrigger> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let what = format!("trigger #{}", i + 1);
            let example = "[[trigger]] with on = \"run_ended\", workflow = \"build\"";
            let Some(fields) = self.table(item, &what, example) else {
                continue;
            };
            self.unknown_fields(fields, TRIGGER_FIELDS, &format!("in {what}"));
            let Some(raw) = self.one_trigger(fields, item, i as u32 + 1, base_dir) else {
                continue;
            };
            if let Some(name) = &raw.trigger.name
                && out.iter().any(|o| o.trigger.name.as_ref() == Some(name))
            {
                self.err(
                    &raw.span,
                    format!("{what}: another trigger is named `{name}`"),
                    "give each trigger a name of its own (or none)",
                );
                continue;
            }
            out.push(raw);
        }
        out
    }

    fn one_trigger(
        &mut self,
        fields: &[Entry],
        item: &Node,
        index: u32,
        base_dir: &Path,
    ) -> Option<RawTrigger> {
        let what = format!("trigger #{index}");
        let kind = self.trigger_kind(fields, item, &what)?;
        self.fields_of_other_kinds(fields, kind, &what);
        let name = get(fields, "name").and_then(|n| self.trigger_name(n, &what));
        let source = match kind {
            "run_ended" => self.run_ended(fields, item, &what),
            "file" => self.file_source(fields, item, &what, base_dir),
            _ => self.webhook(fields, item, &what),
        };
        let (params, params_span) = match get(fields, "params") {
            None => (Vec::new(), item.span.clone()),
            Some(n) => (self.schedule_params(n, &what), n.span.clone()),
        };
        let (map, map_spans) = self.trigger_map(get(fields, "map"), kind, &what);
        let labels = self.schedule_labels(get(fields, "labels"), &what);
        let secret_span = get(fields, "secret").map(|n| n.span.clone());
        let burst = self.burst(fields, &what);
        Some(RawTrigger {
            trigger: EventTrigger {
                index,
                name,
                source: source?,
                params,
                map,
                labels,
                burst: burst?,
                line: self.r.map.line(item.span.start),
            },
            span: item.span.clone(),
            params_span,
            map_spans,
            secret_span,
        })
    }

    /// `coalesce`, `debounce` and `queue`: how the trigger takes a burst.
    fn burst(&mut self, fields: &[Entry], what: &str) -> Option<Burst> {
        let mut b = Burst::default();
        let mut ok = true;
        if let Some(n) = get(fields, "coalesce") {
            match self.boolean(n, &format!("`coalesce` of {what}")) {
                Some(c) => b.coalesce = c,
                None => ok = false,
            }
        }
        if let Some(n) = get(fields, "debounce") {
            match self.duration(n, &format!("`debounce` of {what}")) {
                Some(d) => b.debounce = Some(d),
                None => ok = false,
            }
        }
        if let Some(n) = get(fields, "queue") {
            let of = format!("`queue` of {what}");
            match self.int_at_least(n, &of, 1) {
                Some(q) if q > i64::from(MAX_TRIGGER_QUEUE) => {
                    self.err(
                        &n.span,
                        format!("{of} must be at most {MAX_TRIGGER_QUEUE}, found {q}"),
                        "pending events are kept in the store: bound them, e.g. queue = 100",
                    );
                    ok = false;
                }
                Some(q) if !b.holds() => {
                    self.err(
                        &n.span,
                        format!("{of} bounds the events the trigger holds, but it holds none (no `coalesce` or `debounce`)"),
                        format!("add coalesce = true or debounce = \"30s\", or remove queue = {q} (each event starts its run at once; the run's concurrency group bounds what waits)"),
                    );
                    ok = false;
                }
                Some(q) => b.queue = q as u32,
                None => ok = false,
            }
        }
        ok.then_some(b)
    }

    fn trigger_kind(&mut self, fields: &[Entry], item: &Node, what: &str) -> Option<&'static str> {
        let Some(n) = get(fields, "on") else {
            self.err(
                &item.span,
                format!("{what} has no `on`"),
                "say what starts the run: on = \"run_ended\" (another workflow's run), on = \"file\" (a file landing) or on = \"webhook\" (a signed HTTP call)",
            );
            return None;
        };
        let s = self.string(n, &format!("`on` of {what}"))?;
        if let Some(k) = KINDS.iter().find(|k| **k == s) {
            return Some(*k);
        }
        let hint = did_you_mean(s, KINDS, "kinds");
        self.err(&n.span, format!("`on` of {what} is \"{s}\""), hint);
        None
    }

    /// A field another kind takes, written under this one, is an error at its place.
    fn fields_of_other_kinds(&mut self, fields: &[Entry], kind: &str, what: &str) {
        for (k, names) in KIND_FIELDS.iter().filter(|(k, _)| *k != kind) {
            for f in fields.iter().filter(|f| names.contains(&f.key.as_str())) {
                self.err(
                    &f.key_span,
                    format!("`{}` of {what} is for on = \"{k}\", not \"{kind}\"", f.key),
                    format!("remove it, or make the trigger on = \"{k}\""),
                );
            }
        }
    }

    fn trigger_name(&mut self, n: &Node, what: &str) -> Option<String> {
        let s = self.string(n, &format!("`name` of {what}"))?;
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok {
            self.err(
                &n.span,
                format!("`name` of {what} is \"{s}\""),
                "a name is 1 to 64 letters, digits, `-` and `_` (it goes in a webhook's URL)",
            );
            return None;
        }
        Some(s.to_string())
    }

    fn required_string<'n>(
        &mut self,
        fields: &'n [Entry],
        item: &Node,
        key: &str,
        what: &str,
        hint: &str,
    ) -> Option<&'n str> {
        let Some(n) = get(fields, key) else {
            self.err(&item.span, format!("{what} has no `{key}`"), hint);
            return None;
        };
        let s = self.string(n, &format!("`{key}` of {what}"))?;
        if s.trim().is_empty() || s.contains('\0') {
            self.err(&n.span, format!("`{key}` of {what} is empty"), hint);
            return None;
        }
        Some(s)
    }

    fn run_ended(&mut self, fields: &[Entry], item: &Node, what: &str) -> Option<EventSource> {
        let hint = "name the workflow whose runs start this one: workflow = \"build\"";
        let workflow = self.required_string(fields, item, "workflow", what, hint);
        let mut states = Vec::new();
        match get(fields, "states") {
            None => states.push("succeeded".to_string()),
            Some(n) => {
                let of = format!("`states` of {what}");
                let list = self.string_list(n, &of, "states = [\"succeeded\", \"failed\"]");
                if list.is_empty() && matches!(n.val, Val::Array(_)) {
                    self.err(
                        &n.span,
                        format!("{of} is empty: no run would ever start it"),
                        "name the end states that start it, e.g. states = [\"succeeded\"]",
                    );
                }
                for (s, span) in list {
                    if END_STATES.contains(&s) {
                        states.push(s.to_string());
                    } else {
                        let hint = did_you_mean(s, END_STATES, "end states");
                        self.err(&span, format!("{of}: \"{s}\" is not how a run ends"), hint);
                    }
                }
            }
        }
        Some(EventSource::RunEnded {
            workflow: workflow?.to_string(),
            states,
        })
    }

    fn file_source(
        &mut self,
        fields: &[Entry],
        item: &Node,
        what: &str,
        base_dir: &Path,
    ) -> Option<EventSource> {
        let dir_hint = "name the directory it watches: dir = \"/data/incoming\" (a relative one is under the workflow's directory)";
        let dir = self.required_string(fields, item, "dir", what, dir_hint);
        let glob_hint =
            "name the files that start it: glob = \"*.csv\" (matched against the file's name)";
        let glob = self.required_string(fields, item, "glob", what, glob_hint);
        let glob = glob.and_then(|g| {
            let n = get(fields, "glob")?;
            if g.contains('/') {
                self.err(
                    &n.span,
                    format!("`glob` of {what} holds a `/`"),
                    "the glob matches a file's name in `dir` (subdirectories are not watched): glob = \"*.csv\"",
                );
                return None;
            }
            match globset::Glob::new(g) {
                Ok(_) => Some(g),
                Err(e) => {
                    self.err(
                        &n.span,
                        format!("`glob` of {what} is not a glob: {}", e.kind()),
                        glob_hint,
                    );
                    None
                }
            }
        });
        let dir = base_dir.join(dir?);
        Some(EventSource::File {
            dir,
            glob: glob?.to_string(),
        })
    }

    fn webhook(&mut self, fields: &[Entry], item: &Node, what: &str) -> Option<EventSource> {
        let hint = "name the [secrets] entry whose value signs its calls: secret = \"hook_key\"";
        let secret = self.required_string(fields, item, "secret", what, hint)?;
        Some(EventSource::Webhook {
            secret: secret.to_string(),
        })
    }

    /// `map = { PARAM = "WHAT" }`, each value what the event of `kind` has.
    fn trigger_map(
        &mut self,
        n: Option<&Node>,
        kind: &'static str,
        what: &str,
    ) -> (Vec<(String, Pick)>, Vec<Span>) {
        let (mut map, mut spans) = (Vec::new(), Vec::new());
        let Some(n) = n else {
            return (map, spans);
        };
        let example = "map = { version = \"steps.build.outputs.version\" }";
        let Some(entries) = self.table(n, &format!("`map` of {what}"), example) else {
            return (map, spans);
        };
        for e in entries {
            let of = format!("`map.{}` of {what}", e.key);
            let Some(s) = self.string(&e.node, &of) else {
                continue;
            };
            match Pick::parse(kind, s) {
                Ok(p) => {
                    map.push((e.key.to_string(), p));
                    spans.push(e.key_span.clone());
                }
                Err(why) => self.err(
                    &e.node.span,
                    format!("{of}: {why}"),
                    format!("write one of {}", Pick::examples(kind)),
                ),
            }
        }
        (map, spans)
    }

    /// What needs the plan: the params a trigger maps are declared, its fixed params
    /// check as `--param` would (with the mapped ones given), its webhook's secret is a
    /// `[secrets]` entry, and no trigger starts the workflow on its own runs' ends.
    pub(super) fn check_triggers(&mut self, plan: &Plan, raw: &[RawTrigger]) {
        for r in raw {
            let t = &r.trigger;
            let what = format!("trigger #{}", t.index);
            for ((name, _), span) in t.map.iter().zip(&r.map_spans) {
                if !plan.params.iter().any(|p| &p.name == name) {
                    let names: Vec<&str> = plan.params.iter().map(|p| p.name.as_str()).collect();
                    let hint = did_you_mean(name, &names, "params");
                    self.err(
                        span,
                        format!("{what} maps to param `{name}`, which [params] does not declare"),
                        hint,
                    );
                }
            }
            if t.burst.coalesce {
                self.coalesced_map_is_lists(plan, r, &what);
            }
            let rest: Vec<ParamSpec> = plan
                .params
                .iter()
                .filter(|p| !t.map.iter().any(|(m, _)| m == &p.name))
                .cloned()
                .collect();
            if let Err(errors) =
                crate::params::resolve_values(&rest, &t.params, crate::params::Values::Params)
            {
                for e in &errors {
                    self.err(
                        &r.params_span,
                        format!("{what}: {e}"),
                        "a trigger's `params` and `map` give the run's params: each required one, with values its `[params]` declaration accepts",
                    );
                }
            }
            self.check_source(plan, r, &what);
        }
    }

    /// A coalesced run takes each mapped value of all its events: its param is a list.
    fn coalesced_map_is_lists(&mut self, plan: &Plan, r: &RawTrigger, what: &str) {
        for ((name, _), span) in r.trigger.map.iter().zip(&r.map_spans) {
            let Some(p) = plan.params.iter().find(|p| &p.name == name) else {
                continue;
            };
            if p.ty != ParamType::List {
                self.err(
                    span,
                    format!("{what} coalesces its events into one run, but maps param `{name}`, which is not a list"),
                    format!("declare it type = \"list\": the run gets each event's value, as a JSON array ([params.{name}] type = \"list\")"),
                );
            }
        }
    }

    fn check_source(&mut self, plan: &Plan, r: &RawTrigger, what: &str) {
        match &r.trigger.source {
            EventSource::Webhook { secret }
                if !plan.secret_sources.iter().any(|s| &s.name == secret) =>
            {
                let names: Vec<&str> = plan
                    .secret_sources
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect();
                let mut hint = did_you_mean(secret, &names, "secrets");
                hint.push_str(
                    "; declare it in [secrets] with its source: [secrets] hook_key = { file = \"/run/secrets/hook\" }",
                );
                let span = r.secret_span.as_ref().unwrap_or(&r.span);
                self.err(
                    span,
                    format!("{what}: `secret = \"{secret}\"` is no [secrets] entry"),
                    hint,
                );
            }
            EventSource::RunEnded { workflow, .. } if workflow == &plan.name => {
                self.err(
                    &r.span,
                    format!("{what} starts `{workflow}` when a run of `{workflow}` ends: each run would start the next, forever"),
                    "start it from another workflow's runs; to run steps again and again, give a step `repeat`",
                );
            }
            _ => {}
        }
    }
}

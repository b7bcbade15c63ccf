//! `[[schedule]]`: when `baton serve` starts the workflow on its own. The expression
//! and zone are parsed here (`model::schedule`), so a bad one is a load error at its
//! place; the params are checked against `[params]` once the plan is known.
use super::*;
use baton_model::schedule::{self as sched, Cadence, CatchUp, Overlap};

pub(super) const SCHEDULE_FIELDS: &[&str] = &[
    "cron",
    "timezone",
    "params",
    "labels",
    "catch_up",
    "max_catch_up",
    "overlap",
];

/// A schedule read, its params still to be checked against the plan's.
pub(super) struct RawSchedule {
    pub schedule: Schedule,
    pub params_span: Span,
}

impl Loader<'_, '_> {
    pub(super) fn schedules(&mut self, e: &Entry) -> Vec<RawSchedule> {
        let items = match &e.node.val {
            Val::Array(items) => items,
            _ => {
                self.err(
                    &e.key_span,
                    format!(
                        "`schedule` must be an array of tables, found {}",
                        e.node.kind()
                    ),
                    "write each schedule as its own [[schedule]] block (double brackets)",
                );
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let what = format!("schedule #{}", i + 1);
            let Some(fields) = self.table(item, &what, "[[schedule]] with cron = \"0 2 * * *\"")
            else {
                continue;
            };
            self.unknown_fields(fields, SCHEDULE_FIELDS, &format!("in {what}"));
            let cron = match get(fields, "cron") {
                None => {
                    self.err(
                        &item.span,
                        format!("{what} has no `cron`"),
                        "add when it runs, e.g. cron = \"0 2 * * *\" (02:00 every day) or cron = \"@hourly\"",
                    );
                    None
                }
                Some(n) => self.string(n, &format!("`cron` of {what}")).and_then(|s| {
                    sched::parse_cron(s)
                        .map_err(|why| {
                            let hint = why.hint().unwrap_or_else(|| "write five fields (minute hour day month weekday, e.g. \"30 2 * * 1-5\"), six with seconds first (\"*/10 * * * * *\"), or @hourly, @daily, @weekly, @monthly".to_string());
                            self.err(
                                &n.span,
                                format!("`cron` of {what} is not a cron expression: {why}"),
                                hint,
                            )
                        })
                        .ok()
                        .map(|_| s)
                }),
            };
            let zone = match get(fields, "timezone") {
                None => Some("UTC"),
                Some(n) => self
                    .string(n, &format!("`timezone` of {what}"))
                    .and_then(|s| {
                        sched::parse_zone(s)
                            .map_err(|why| {
                                self.err(
                                    &n.span,
                                    format!("`timezone` of {what}: {why}"),
                                    "write an IANA zone name such as \"Europe/Paris\", \"America/New_York\" or \"UTC\" (the default)",
                                )
                            })
                            .ok()
                            .map(|_| s)
                    }),
            };
            let catch_up = self
                .choice(fields, "catch_up", &what, CatchUp::NAMES)
                .map_or(Some(CatchUp::None), |s| s.parse().ok());
            let overlap = self
                .choice(fields, "overlap", &what, Overlap::NAMES)
                .map_or(Some(Overlap::Skip), |s| s.parse().ok());
            let max_catch_up = get(fields, "max_catch_up")
                .and_then(|n| self.int_at_least(n, &format!("`max_catch_up` of {what}"), 0))
                .map_or(sched::DEFAULT_MAX_CATCH_UP, |n| n.min(10_000) as u32);
            let (params, params_span) = match get(fields, "params") {
                None => (Vec::new(), item.span.clone()),
                Some(n) => (self.schedule_params(n, &what), n.span.clone()),
            };
            let labels = self.schedule_labels(get(fields, "labels"), &what);
            let (Some(cron), Some(zone), Some(catch_up), Some(overlap)) =
                (cron, zone, catch_up, overlap)
            else {
                continue;
            };
            let Ok(cadence) = Cadence::new(cron, zone) else {
                continue;
            };
            out.push(RawSchedule {
                schedule: Schedule {
                    index: i as u32 + 1,
                    cadence,
                    params,
                    labels,
                    catch_up,
                    max_catch_up,
                    overlap,
                    line: self.r.map.line(item.span.start),
                },
                params_span,
            });
        }
        out
    }

    /// A field that is one of `names`; `None` when absent or wrong (reported).
    fn choice<'n>(
        &mut self,
        fields: &'n [Entry],
        key: &str,
        what: &str,
        names: &[&str],
    ) -> Option<&'n str> {
        let n = get(fields, key)?;
        let s = self.string(n, &format!("`{key}` of {what}"))?;
        if names.contains(&s) {
            return Some(s);
        }
        let hint = did_you_mean(s, names, "values");
        self.err(&n.span, format!("`{key}` of {what} is \"{s}\""), hint);
        None
    }

    pub(super) fn schedule_params(&mut self, n: &Node, what: &str) -> Vec<(String, String)> {
        let Some(entries) = self.table(
            n,
            &format!("`params` of {what}"),
            "params = { env = \"staging\" }",
        ) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for e in entries {
            let value = match &e.node.val {
                Val::Str(s) => s.to_string(),
                Val::Int(i) => i.to_string(),
                Val::Bool(b) => b.to_string(),
                _ => {
                    self.type_error(
                        &e.node,
                        &format!("param `{}` of {what}", e.key),
                        "a string, an integer or a boolean",
                        "version = \"1.4\"",
                    );
                    continue;
                }
            };
            out.push((e.key.to_string(), value));
        }
        out
    }

    /// `labels = { team = "infra" }`: the labels each run of the schedule starts with,
    /// each checked where it is written as `baton run --label` checks it (`model::labels`).
    pub(super) fn schedule_labels(
        &mut self,
        n: Option<&Node>,
        what: &str,
    ) -> BTreeMap<String, String> {
        let Some(n) = n else {
            return BTreeMap::new();
        };
        let Some(entries) = self.table(
            n,
            &format!("`labels` of {what}"),
            "labels = { team = \"infra\" }",
        ) else {
            return BTreeMap::new();
        };
        let mut out = BTreeMap::new();
        for e in entries {
            let Val::Str(v) = &e.node.val else {
                let of = format!("label `{}` of {what}", e.key);
                self.type_error(&e.node, &of, "a string", "team = \"infra\"");
                continue;
            };
            match baton_model::labels::check(&e.key, v) {
                Ok(()) => {
                    out.insert(e.key.to_string(), v.to_string());
                }
                Err(why) => self.err(
                    &e.node.span,
                    format!("{what}: {why}"),
                    "a label is KEY = \"VALUE\": a key of letters, digits, `.`, `_`, `/` and `-`, a value of plain text",
                ),
            }
        }
        if out.len() > baton_model::labels::MAX_LABELS {
            self.err(
                &n.span,
                format!("{what}: {}", baton_model::labels::LabelError::TooMany),
                "keep the labels that tell its runs apart",
            );
        }
        out
    }

    /// Each schedule's params are what `--param` would be: checked against `[params]`
    /// (names, types, patterns, required ones without a default).
    pub(super) fn check_schedule_params(&mut self, plan: &Plan, raw: &[RawSchedule]) {
        for r in raw {
            if let Err(errors) = crate::resolve_params(plan, &r.schedule.params) {
                for e in &errors {
                    self.err(
                        &r.params_span,
                        format!("schedule #{}: {e}", r.schedule.index),
                        "a schedule's `params` are the run's params: give each required one, with values its `[params]` declaration accepts",
                    );
                }
            }
        }
    }
}

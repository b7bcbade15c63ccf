//! The metrics as text (pure): the Prometheus text format 0.0.4, or OpenMetrics 1.0
//! when a scraper asks for it. Names follow Prometheus practice: `baton_` prefix,
//! counters end in `_total`, durations are `_seconds`, every family has HELP and TYPE.
use crate::model::metrics::{Histogram, Metrics};
use std::fmt::Write;

/// The two text formats a scraper may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `text/plain; version=0.0.4`: what node_exporter's textfile collector reads.
    Prometheus,
    /// `application/openmetrics-text; version=1.0.0`.
    OpenMetrics,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Prometheus => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }

    /// The format an `Accept` header asks for: OpenMetrics when it names it (with a
    /// non-zero `q`), else the Prometheus text format, which every scraper reads.
    pub fn from_accept(accept: Option<&str>) -> Format {
        let asks = accept.is_some_and(|a| {
            a.split(',').any(|range| {
                let mut parts = range.split(';').map(str::trim);
                let media = parts.next().unwrap_or_default();
                let refused = parts.any(|p| {
                    p.strip_prefix("q=")
                        .and_then(|q| q.trim().parse::<f64>().ok())
                        .is_some_and(|q| q <= 0.0)
                });
                media.eq_ignore_ascii_case("application/openmetrics-text") && !refused
            })
        });
        if asks {
            Format::OpenMetrics
        } else {
            Format::Prometheus
        }
    }
}

#[derive(Clone, Copy, PartialEq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        self.into()
    }
}

/// One metric family being written.
struct Out {
    text: String,
    format: Format,
}

impl Out {
    /// HELP and TYPE (and UNIT in OpenMetrics). `name` is the family's name: for a
    /// counter without `_total`, which the Prometheus format puts on the TYPE line
    /// and OpenMetrics only on samples.
    fn family(&mut self, name: &str, kind: Kind, help: &str) {
        let shown = match (self.format, kind) {
            (Format::Prometheus, Kind::Counter) => format!("{name}_total"),
            _ => name.to_string(),
        };
        let help = escape_help(help);
        let _ = match self.format {
            Format::Prometheus => writeln!(
                self.text,
                "# HELP {shown} {help}\n# TYPE {shown} {}",
                kind.as_str()
            ),
            Format::OpenMetrics => {
                let _ = writeln!(self.text, "# TYPE {shown} {}", kind.as_str());
                if name.ends_with("_seconds") {
                    let _ = writeln!(self.text, "# UNIT {shown} seconds");
                }
                writeln!(self.text, "# HELP {shown} {help}")
            }
        };
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Into<Value>) {
        self.text.push_str(name);
        if !labels.is_empty() {
            self.text.push('{');
            for (n, (k, v)) in labels.iter().enumerate() {
                if n > 0 {
                    self.text.push(',');
                }
                let _ = write!(self.text, "{k}=\"{}\"", escape_label(v));
            }
            self.text.push('}');
        }
        let _ = writeln!(self.text, " {}", value.into());
    }

    fn histogram(&mut self, name: &str, labels: &[(&str, &str)], h: &Histogram) {
        for (le, n) in h.cumulative() {
            let le = le.map_or("+Inf".to_string(), seconds_label);
            let mut with_le = labels.to_vec();
            with_le.push(("le", &le));
            self.sample(&format!("{name}_bucket"), &with_le, n);
        }
        self.sample(
            &format!("{name}_sum"),
            labels,
            Value::Float(h.sum_ms as f64 / 1000.0),
        );
        self.sample(&format!("{name}_count"), labels, h.count());
    }
}

/// A sample's value: integers as integers, floats in Rust's shortest round-trip form
/// (never an exponent; `NaN` and `±Inf` as both formats spell them).
enum Value {
    Int(u64),
    Float(f64),
}

impl From<u64> for Value {
    fn from(n: u64) -> Value {
        Value::Int(n)
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Value::Int(n) => write!(f, "{n}"),
            Value::Float(x) if x.is_nan() => f.write_str("NaN"),
            Value::Float(x) if x.is_infinite() => {
                f.write_str(if x > 0.0 { "+Inf" } else { "-Inf" })
            }
            Value::Float(x) => write!(f, "{x}"),
        }
    }
}

/// A bucket bound in seconds as a float that both formats accept: `0.05`, `1.0`.
fn seconds_label(ms: u64) -> String {
    format!("{:?}", ms as f64 / 1000.0)
}

/// Label values: backslash, double quote and line feed escaped (both formats).
fn escape_label(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// HELP text: backslash and line feed escaped.
fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

/// The metrics in `format`. Deterministic: families in a fixed order, series sorted.
pub fn render(m: &Metrics, format: Format) -> String {
    let mut o = Out {
        text: String::new(),
        format,
    };

    store_families(&mut o, m);
    run_families(&mut o, m);
    budget_families(&mut o, m);

    schedules(&mut o, m);
    trigger_refusals(&mut o, m);

    if format == Format::OpenMetrics {
        o.text.push_str("# EOF\n");
    }
    o.text
}

/// The families of what the store holds: runs, steps, attempts, errors, durations and
/// gate waits.
fn store_families(o: &mut Out, m: &Metrics) {
    o.family(
        "baton_runs",
        Kind::Gauge,
        "Runs in the store by workflow and state.",
    );
    for ((wf, state), n) in &m.runs {
        o.sample("baton_runs", &[("workflow", wf), ("state", state)], *n);
    }

    o.family(
        "baton_steps",
        Kind::Gauge,
        "Steps of the runs in the store by workflow and state.",
    );
    for ((wf, state), n) in &m.steps {
        o.sample("baton_steps", &[("workflow", wf), ("state", state)], *n);
    }

    o.family(
        "baton_step_attempts_started",
        Kind::Counter,
        "Step attempts started (a step's first run and every retry).",
    );
    for (wf, n) in &m.attempts_started {
        o.sample("baton_step_attempts_started_total", &[("workflow", wf)], *n);
    }

    o.family(
        "baton_step_attempts_finished",
        Kind::Counter,
        "Step attempts that ended, by outcome (succeeded, failed, cancelled, interrupted).",
    );
    for ((wf, outcome), n) in &m.attempts_finished {
        o.sample(
            "baton_step_attempts_finished_total",
            &[("workflow", wf), ("outcome", outcome.as_str())],
            *n,
        );
    }

    o.family(
        "baton_errors",
        Kind::Counter,
        "Error records by workflow, kind and severity.",
    );
    for ((wf, kind, sev), c) in &m.errors {
        o.sample(
            "baton_errors_total",
            &[("workflow", wf), ("kind", kind), ("severity", sev)],
            c.total,
        );
    }

    o.family(
        "baton_deadlines_missed",
        Kind::Counter,
        "Deadlines missed (deadline_missed events) by workflow and whose deadline (run or step).",
    );
    for ((wf, of), n) in &m.deadlines_missed {
        o.sample(
            "baton_deadlines_missed_total",
            &[("workflow", wf), ("of", of)],
            *n,
        );
    }

    o.family(
        "baton_errors_open",
        Kind::Gauge,
        "Error records not yet resolved, by workflow, kind and severity.",
    );
    for ((wf, kind, sev), c) in &m.errors {
        o.sample(
            "baton_errors_open",
            &[("workflow", wf), ("kind", kind), ("severity", sev)],
            c.open,
        );
    }

    o.family(
        "baton_step_duration_seconds",
        Kind::Histogram,
        "Duration of the step attempts that ended.",
    );
    for (wf, h) in &m.step_durations {
        o.histogram("baton_step_duration_seconds", &[("workflow", wf)], h);
    }

    o.family(
        "baton_gate_wait_seconds",
        Kind::Histogram,
        "Time from a gate's opening to its decision (approved, rejected, timed_out).",
    );
    for ((wf, decision), h) in &m.gate_waits {
        o.histogram(
            "baton_gate_wait_seconds",
            &[("workflow", wf), ("decision", decision)],
            h,
        );
    }
}

/// Each run's gauges: health, quality, queue depth, running steps.
fn run_families(o: &mut Out, m: &Metrics) {
    o.family(
        "baton_run_health",
        Kind::Gauge,
        "Health score of a run, 0 to 100 (live runs and each workflow's latest run).",
    );
    for g in &m.run_gauges {
        o.sample(
            "baton_run_health",
            &[("workflow", &g.workflow), ("run", &g.run)],
            Value::Float(g.health),
        );
    }

    o.family(
        "baton_run_quality_ratio",
        Kind::Gauge,
        "Quality of a run, 0 to 1 (absent while no step has finished).",
    );
    for g in &m.run_gauges {
        if let Some(q) = g.quality {
            o.sample(
                "baton_run_quality_ratio",
                &[("workflow", &g.workflow), ("run", &g.run)],
                Value::Float(q),
            );
        }
    }

    o.family(
        "baton_run_queue_depth",
        Kind::Gauge,
        "Steps of a live run queued, waiting for a slot, a pool or a rate token.",
    );
    for g in &m.run_gauges {
        if let Some(n) = g.queue_depth {
            o.sample(
                "baton_run_queue_depth",
                &[("workflow", &g.workflow), ("run", &g.run)],
                n,
            );
        }
    }

    o.family(
        "baton_run_running_steps",
        Kind::Gauge,
        "Steps of a live run running now.",
    );
    for g in &m.run_gauges {
        if let Some(n) = g.running {
            o.sample(
                "baton_run_running_steps",
                &[("workflow", &g.workflow), ("run", &g.run)],
                n,
            );
        }
    }
}

/// Each budgeted run's use, ceiling, burn rate and time left, by dimension.
fn budget_families(o: &mut Out, m: &Metrics) {
    o.family(
        "baton_run_budget_used",
        Kind::Gauge,
        "Budget used by a run whose workflow sets a budget, by dimension (cost, calls, tokens).",
    );
    for g in &m.run_gauges {
        for (dim, used, _) in &g.budget {
            o.sample(
                "baton_run_budget_used",
                &[
                    ("workflow", &g.workflow),
                    ("run", &g.run),
                    ("dimension", dim),
                ],
                Value::Float(*used),
            );
        }
    }

    o.family(
        "baton_run_budget_limit",
        Kind::Gauge,
        "A run's budget ceiling, by dimension (absent where the budget sets none).",
    );
    for g in &m.run_gauges {
        for (dim, _, limit) in &g.budget {
            if let Some(l) = limit {
                o.sample(
                    "baton_run_budget_limit",
                    &[
                        ("workflow", &g.workflow),
                        ("run", &g.run),
                        ("dimension", dim),
                    ],
                    Value::Float(*l),
                );
            }
        }
    }

    o.family(
        "baton_run_budget_burn_per_minute",
        Kind::Gauge,
        "A run's budget use per minute over the last minute, running steps' usage included as it is written, by dimension.",
    );
    for g in &m.run_gauges {
        for b in &g.burn {
            o.sample(
                "baton_run_budget_burn_per_minute",
                &[
                    ("workflow", &g.workflow),
                    ("run", &g.run),
                    ("dimension", &b.dimension),
                ],
                Value::Float(b.per_minute),
            );
        }
    }

    o.family(
        "baton_run_budget_seconds_left",
        Kind::Gauge,
        "Seconds until a run's budget ceiling at its pace over the last minute, by dimension (absent without a ceiling or a pace; 0 once reached).",
    );
    for g in &m.run_gauges {
        for b in &g.burn {
            if let Some(ms) = b.left_ms {
                o.sample(
                    "baton_run_budget_seconds_left",
                    &[
                        ("workflow", &g.workflow),
                        ("run", &g.run),
                        ("dimension", &b.dimension),
                    ],
                    Value::Float(ms as f64 / 1000.0),
                );
            }
        }
    }
}

/// Webhook deliveries `baton serve` refused, by workflow, trigger and reason (absent
/// until the first).
fn trigger_refusals(o: &mut Out, m: &Metrics) {
    if m.trigger_refusals.is_empty() {
        return;
    }
    o.family(
        "baton_trigger_refusals",
        Kind::Counter,
        "Webhook deliveries refused, by workflow, trigger and reason (bad_signature, missing_signature, old_timestamp, too_large, bad_param, …).",
    );
    for ((wf, trigger, reason), n) in &m.trigger_refusals {
        let l = [
            ("workflow", wf.as_str()),
            ("trigger", trigger.as_str()),
            ("reason", reason.as_str()),
        ];
        o.sample("baton_trigger_refusals_total", &l, *n);
    }
}

/// What `baton serve` adds: each schedule's next and last fire, its latest slot's fate,
/// whether it is paused, and the workflow files that do not load.
fn schedules(o: &mut Out, m: &Metrics) {
    // A store no serve ever served (a `baton run`'s) has none of these families.
    if m.schedules.is_empty() && m.load_errors.is_empty() {
        return;
    }
    let secs = |t: crate::model::Timestamp| Value::Float(t.0 as f64 / 1000.0);
    o.family(
        "baton_schedule_next_fire_timestamp_seconds",
        Kind::Gauge,
        "When a schedule's next slot is due (Unix time).",
    );
    for s in &m.schedules {
        if let Some(t) = s.next {
            let l = [
                ("workflow", s.workflow.as_str()),
                ("schedule", s.schedule.as_str()),
            ];
            o.sample("baton_schedule_next_fire_timestamp_seconds", &l, secs(t));
        }
    }
    o.family(
        "baton_schedule_last_fire_timestamp_seconds",
        Kind::Gauge,
        "The slot of a schedule's latest run (Unix time).",
    );
    for s in &m.schedules {
        if let Some(t) = s.last_fire {
            let l = [
                ("workflow", s.workflow.as_str()),
                ("schedule", s.schedule.as_str()),
            ];
            o.sample("baton_schedule_last_fire_timestamp_seconds", &l, secs(t));
        }
    }
    o.family(
        "baton_schedule_last_outcome",
        Kind::Gauge,
        "1 for what became of a schedule's latest slot (started, queued, skipped, missed, paused, failed).",
    );
    for s in &m.schedules {
        if let Some(outcome) = &s.last_outcome {
            let l = [
                ("workflow", s.workflow.as_str()),
                ("schedule", s.schedule.as_str()),
                ("outcome", outcome.as_str()),
            ];
            o.sample("baton_schedule_last_outcome", &l, 1u64);
        }
    }
    o.family(
        "baton_schedule_paused",
        Kind::Gauge,
        "1 while an operator has paused the schedule.",
    );
    for s in &m.schedules {
        let l = [
            ("workflow", s.workflow.as_str()),
            ("schedule", s.schedule.as_str()),
        ];
        o.sample("baton_schedule_paused", &l, u64::from(s.paused));
    }
    o.family(
        "baton_serve_reload_errors",
        Kind::Gauge,
        "Workflow files of the served directory that do not load now (their previous version serves).",
    );
    o.sample("baton_serve_reload_errors", &[], m.load_errors.len() as u64);
    o.family(
        "baton_serve_reload_error",
        Kind::Gauge,
        "1 for each workflow file of the served directory that does not load now.",
    );
    for f in &m.load_errors {
        o.sample("baton_serve_reload_error", &[("file", f.as_str())], 1u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::metrics::{
        AttemptOutcome, ErrorCounts, GATE_WAIT_BOUNDS_MS, RunGauges, STEP_DURATION_BOUNDS_MS,
    };

    fn sample() -> Metrics {
        let mut m = Metrics::default();
        let wf = "re\"lease\\n\new".to_string();
        m.runs.insert((wf.clone(), "running"), 1);
        m.steps.insert((wf.clone(), "succeeded"), 2);
        m.steps.insert((wf.clone(), "queued"), 0);
        m.attempts_started.insert(wf.clone(), 3);
        m.deadlines_missed.insert((wf.clone(), "step"), 1);
        m.attempts_finished
            .insert((wf.clone(), AttemptOutcome::Failed), 1);
        m.errors.insert(
            (wf.clone(), "exit_nonzero".into(), "high".into()),
            ErrorCounts { total: 1, open: 0 },
        );
        let mut h = Histogram::new(STEP_DURATION_BOUNDS_MS);
        h.observe(40);
        h.observe(1_500);
        m.step_durations.insert(wf.clone(), h);
        let mut g = Histogram::new(GATE_WAIT_BOUNDS_MS);
        g.observe(90_000);
        m.gate_waits.insert((wf.clone(), "approved".into()), g);
        m.run_gauges.push(RunGauges {
            run: "01J".into(),
            workflow: wf,
            health: 87.5,
            quality: Some(0.75),
            queue_depth: Some(4),
            running: Some(2),
            budget: vec![("cost", 2.5, Some(3.0)), ("calls", 4.0, None)],
            burn: vec![crate::model::burn::Burn {
                dimension: "cost".into(),
                per_minute: 0.5,
                left_ms: Some(60_000),
            }],
        });
        m
    }

    #[test]
    fn prometheus_text_has_help_type_total_and_escaped_labels() {
        let t = render(&sample(), Format::Prometheus);
        assert!(t.contains("# HELP baton_errors_total Error records"));
        assert!(t.contains("# TYPE baton_errors_total counter\n"));
        assert!(t.contains(
            "baton_errors_total{workflow=\"re\\\"lease\\\\n\\new\",kind=\"exit_nonzero\",severity=\"high\"} 1\n"
        ));
        assert!(t.contains("# TYPE baton_step_duration_seconds histogram\n"));
        assert!(t.contains("# TYPE baton_deadlines_missed_total counter\n"));
        assert!(t.contains(
            "baton_deadlines_missed_total{workflow=\"re\\\"lease\\\\n\\new\",of=\"step\"} 1\n"
        ));
        assert!(
            t.contains("baton_run_health{workflow=\"re\\\"lease\\\\n\\new\",run=\"01J\"} 87.5\n")
        );
        assert!(t.contains("baton_run_quality_ratio{"));
        assert!(t.contains("} 0.75\n"));
        assert!(t.contains(",run=\"01J\",dimension=\"cost\"} 2.5\n"));
        assert!(t.contains("baton_run_budget_limit{"));
        // No ceiling, no limit sample: calls is used but not limited.
        assert!(t.contains(",dimension=\"calls\"} 4\n"));
        assert_eq!(t.matches("baton_run_budget_limit{").count(), 1);
        assert!(t.contains(
            "baton_run_budget_burn_per_minute{workflow=\"re\\\"lease\\\\n\\new\",run=\"01J\",dimension=\"cost\"} 0.5\n"
        ));
        assert!(t.contains(",dimension=\"cost\"} 60\n"), "seconds left: {t}");
        assert!(!t.contains("# EOF"));
        assert!(!t.contains("# UNIT"));
        // Every sample's family was introduced by HELP and TYPE lines.
        for line in t.lines().filter(|l| !l.starts_with('#')) {
            let name = line.split(['{', ' ']).next().unwrap();
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .filter(|f| t.contains(&format!("# TYPE {f} histogram")))
                .unwrap_or(name);
            assert!(t.contains(&format!("# HELP {family} ")), "{line}");
            assert!(t.contains(&format!("# TYPE {family} ")), "{line}");
        }
    }

    #[test]
    fn histogram_buckets_are_cumulative_in_seconds_with_sum_and_count() {
        let t = render(&sample(), Format::Prometheus);
        let wf = "workflow=\"re\\\"lease\\\\n\\new\"";
        assert!(t.contains(&format!(
            "baton_step_duration_seconds_bucket{{{wf},le=\"0.05\"}} 1\n"
        )));
        assert!(t.contains(&format!(
            "baton_step_duration_seconds_bucket{{{wf},le=\"1.0\"}} 1\n"
        )));
        assert!(t.contains(&format!(
            "baton_step_duration_seconds_bucket{{{wf},le=\"2.5\"}} 2\n"
        )));
        assert!(t.contains(&format!(
            "baton_step_duration_seconds_bucket{{{wf},le=\"+Inf\"}} 2\n"
        )));
        assert!(t.contains(&format!("baton_step_duration_seconds_sum{{{wf}}} 1.54\n")));
        assert!(t.contains(&format!("baton_step_duration_seconds_count{{{wf}}} 2\n")));
        assert!(t.contains(&format!(
            "baton_gate_wait_seconds_bucket{{{wf},decision=\"approved\",le=\"60.0\"}} 0\n"
        )));
        assert!(t.contains(&format!(
            "baton_gate_wait_seconds_bucket{{{wf},decision=\"approved\",le=\"300.0\"}} 1\n"
        )));
    }

    #[test]
    fn openmetrics_names_counter_families_without_total_has_units_and_ends_with_eof() {
        let t = render(&sample(), Format::OpenMetrics);
        assert!(t.contains("# TYPE baton_errors counter\n"));
        assert!(t.contains("# HELP baton_errors Error records"));
        assert!(t.contains("\nbaton_errors_total{"));
        assert!(t.contains(
            "# TYPE baton_step_duration_seconds histogram\n# UNIT baton_step_duration_seconds seconds\n"
        ));
        assert!(t.ends_with("\n# EOF\n"));
        assert_eq!(t.matches("# EOF").count(), 1);
    }

    #[test]
    fn absent_figures_are_absent_not_zero() {
        let mut m = sample();
        m.run_gauges[0].quality = None;
        m.run_gauges[0].queue_depth = None;
        m.run_gauges[0].running = None;
        let t = render(&m, Format::Prometheus);
        assert!(!t.contains("baton_run_quality_ratio{"));
        assert!(!t.contains("baton_run_queue_depth{"));
        assert!(!t.contains("baton_run_running_steps{"));
        assert!(t.contains("baton_run_health{"));
    }

    #[test]
    fn accept_header_chooses_the_format() {
        let om =
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(Format::from_accept(Some(om)), Format::OpenMetrics);
        assert_eq!(
            Format::from_accept(Some("application/openmetrics-text; q=0")),
            Format::Prometheus
        );
        assert_eq!(Format::from_accept(Some("text/plain")), Format::Prometheus);
        assert_eq!(Format::from_accept(None), Format::Prometheus);
        assert!(
            Format::OpenMetrics
                .content_type()
                .starts_with("application/openmetrics-text")
        );
    }

    #[test]
    fn an_empty_store_renders_every_family_and_nothing_else() {
        let t = render(&Metrics::default(), Format::Prometheus);
        assert!(t.lines().all(|l| l.starts_with("# ")), "{t}");
        assert_eq!(t.matches("# TYPE ").count(), 17);
    }
}

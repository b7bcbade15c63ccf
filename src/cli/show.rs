//! `baton show RUN`: a run's steps, errors, health, quality, budget use and golden signals, as
//! `session::inspect` reads it (`--json`: the shape of `show_json`).
use super::db::{DbOpt, fail};
use super::{exit, show_json};
use crate::model::time::human_duration;
use crate::model::{RunView, Timestamp};
use crate::session;
use crate::store::trigger_events::STEP_KIND;
use clap::Args;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  baton show 01J9Z3\n  baton show 01J9Z3 --json | jq '.steps[] | select(.state == \"failed\")'"
)]
pub struct ShowArgs {
    /// The run id, or a unique prefix of it
    pub run: String,
    /// Print one JSON object (schema 1, docs/show-json.md: id, workflow, state, health, quality, budget, signals, steps, errors)
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub db: DbOpt,
}

pub fn run(args: ShowArgs) -> i32 {
    let store = match args.db.open() {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let run_id = match store.resolve_run(&args.run) {
        Ok(id) => id,
        Err(e) => return fail(&e),
    };
    let view = match session::inspect(&store, &run_id, Timestamp::now()) {
        Ok(v) => v,
        Err(e) => return session::report(&e),
    };
    if args.json {
        if let Err(e) = crate::stdio::out_json_line(&show_json::of(&view)) {
            crate::stdio::errln!("error: cannot write run {run_id} as JSON: {e}");
            return exit::STORAGE;
        }
    } else {
        crate::stdio::out!("{}", text(&view));
        // Who asks: whether they may decide (the OS account; none known, none claimed).
        let me = session::os_account().unwrap_or_default();
        crate::stdio::out!("{}", waiting_text(&view, &me));
    }
    exit::OK
}

/// What in the run waits on a person (issue 28 point 9): each prompt, who may decide,
/// whether `me` may, and the commands that decide it (`model::inbox`, as `baton inbox`).
pub fn waiting_text(v: &RunView, me: &str) -> String {
    let items = crate::model::inbox::waiting(v, me);
    if items.is_empty() {
        return String::new();
    }
    let mut out = String::from("\nwaiting on someone:\n");
    for w in &items {
        out.push_str(&format!(
            "  {} ({}): {}\n    who: {}",
            w.step,
            w.kind.as_str(),
            crate::sanitize::for_terminal(&w.prompt.replace('\n', " ")),
            w.who()
        ));
        match &w.why_not {
            None if me.is_empty() => out.push('\n'),
            None => out.push_str(&format!(" (you, {me}, may decide)\n")),
            Some(why) => out.push_str(&format!(" ({why})\n")),
        }
        for c in &w.commands {
            out.push_str(&format!("    {c}\n"));
        }
        // A pushed-back gate: what the revision changed since the round before.
        let diff = v
            .gates
            .iter()
            .find(|g| g.step_id == w.step && w.kind == crate::model::inbox::WaitKind::Gate)
            .map_or("", |g| g.revision_diff.as_str());
        if !diff.is_empty() {
            out.push_str("    revised since the round before:\n");
            for l in diff.lines() {
                out.push_str(&format!("      {l}\n"));
            }
        }
    }
    out
}

/// The human report (pure): the run, its steps as the history mentions them, errors,
/// golden signals, cached steps and each service's latest probe check.
pub fn text(v: &RunView) -> String {
    let mut out = text_header(v);
    text_steps(&mut out, v);
    text_step_notes(&mut out, &v.steps);
    super::show_notes::notes(&mut out, v);
    super::show_notes::summaries(&mut out, v);
    text_errors_and_signals(&mut out, v);
    text_step_lines(&mut out, v);
    out
}

/// The run's lines above its steps: who, when, where from, its health and summary.
fn text_header(v: &RunView) -> String {
    let mut out = format!(
        "run {}  {}  {}\noperator {}  started {}",
        v.run_id,
        v.workflow,
        crate::model::health::outcome::word(
            v.state,
            crate::model::health::outcome::reads_rejected(v.state, v.steps.iter().map(|s| s.state))
        ),
        v.operator,
        v.started_at.map_or("-".to_string(), |t| t.to_rfc3339())
    );
    if let (Some(f), Some(s)) = (v.finished_at, v.started_at) {
        out.push_str(&format!(
            "  finished {} ({})",
            f.to_rfc3339(),
            human_duration(f.since(s))
        ));
    }
    out.push('\n');
    // Which text the run used: `baton diff RUN_A RUN_B` shows what differs.
    if let Some(h) = &v.workflow_hash {
        out.push_str(&format!(
            "workflow text {h} ({})\n",
            crate::sanitize::for_terminal(&v.source_path.display().to_string())
        ));
    }
    if let Some(h) = &v.driven_by {
        out.push_str(&format!("driven by {h}\n"));
    }
    if let Some(w) = &v.waiting_for {
        out.push_str(&crate::sanitize::for_terminal(w));
        out.push('\n');
    }
    if let Some(f) = &v.forked_from {
        out.push_str(&format!("forked from run {} at {}\n", f.run, f.step));
    }
    for f in &v.forked_into {
        out.push_str(&format!("forked into run {} at {}\n", f.run, f.step));
    }
    // Both ends of child runs (`workflow = "…"`).
    if let Some(p) = &v.parent {
        out.push_str(&format!(
            "child of run {} step {} (attempt {})\n",
            p.run, p.step, p.attempt
        ));
    }
    for s in &v.steps {
        if let Some(c) = &s.child_run {
            out.push_str(&format!("step {} runs child run {c}\n", s.id));
        }
    }
    out.push_str(&trigger_text(&v.triggers));
    let hands = v.health.hands();
    out.push_str(&format!(
        "health {:.0} {}  quality {}{}\n",
        v.health.score,
        v.health.label.as_str(),
        v.health
            .quality
            .map_or("-".to_string(), |q| format!("{q:.2}")),
        if hands.is_empty() {
            String::new()
        } else {
            format!("  ({hands})")
        }
    ));
    if let Some(s) = &v.summary {
        out.push_str(&format!("summary {s}\n"));
    }
    for d in &v.deadlines {
        out.push_str(&format!(
            "deadline {}\n",
            d.describe(v.now, v.engine_gone_at)
        ));
    }
    out.push('\n');
    out
}

/// The steps' table, each instance under its step.
fn text_steps(out: &mut String, v: &RunView) {
    let steps = &v.steps;
    // Each instance under its step, the step with its instances' counts.
    let rows: Vec<[String; 5]> = crate::model::fan::grouped(v, |_, _| true)
        .into_iter()
        .map(|i| &steps[i])
        .map(|s| {
            [
                match (&s.fan, s.parent) {
                    (Some(f), _) => format!("{} ({})", s.id, f.counts.text()),
                    (None, Some(_)) => format!("  {}", s.id),
                    (None, None) => s.id.clone(),
                },
                match (&s.marked, &s.hold) {
                    (Some(_), _) => format!("{} (marked)", s.state),
                    _ if s.reused_from.is_some() => format!("{} (reused)", s.state),
                    (None, Some(h)) if h.frozen => format!("{} (frozen)", s.state),
                    _ => s.state.to_string(),
                },
                s.attempts.to_string(),
                s.duration(v.now).map_or("-".into(), human_duration),
                match (s.exit_code, s.signal, s.timed_out) {
                    (_, _, true) => "timeout".into(),
                    (Some(c), _, _) => c.to_string(),
                    (None, Some(sig), _) => format!("signal {sig}"),
                    _ => "-".into(),
                },
            ]
        })
        .collect();
    out.push_str(&super::table::render(
        &["STEP", "STATE", "ATTEMPTS", "DURATION", "EXIT"],
        &rows,
    ));
}

/// The steps' notes: reused, not run, held, marked by hand, where attempts ran, fallbacks.
fn text_step_notes(out: &mut String, steps: &[crate::model::StepView]) {
    let reused: Vec<&crate::model::StepView> =
        steps.iter().filter(|s| s.reused_from.is_some()).collect();
    if !reused.is_empty() {
        out.push_str("\nreused, not run again:\n");
        for s in reused {
            let from = s.reused_from.as_deref().unwrap_or_default();
            out.push_str(&format!("  {} {}: reused from run {from}\n", s.id, s.state));
        }
    }
    let not_run: Vec<&crate::model::StepView> = steps
        .iter()
        .filter(|s| s.why.is_some() && s.reused_from.is_none())
        .collect();
    if !not_run.is_empty() {
        out.push_str("\nnot run:\n");
        for s in not_run {
            let why = s.why.as_deref().unwrap_or_default();
            out.push_str(&format!("  {} {}: {}\n", s.id, s.state, why));
        }
    }
    let held: Vec<&crate::model::StepView> = steps.iter().filter(|s| s.hold.is_some()).collect();
    if !held.is_empty() {
        out.push_str("\nheld:\n");
        for s in held {
            let Some(h) = &s.hold else { continue };
            let until = h
                .until
                .map(|t| format!(" until {}", t.to_rfc3339()))
                .unwrap_or_default();
            let line = format!("by {}: {}{until}", h.by, h.reason);
            let line = crate::sanitize::for_terminal(&line);
            out.push_str(&format!("  {} {line}\n", s.id));
        }
    }
    let marked: Vec<(&str, String)> = steps
        .iter()
        .filter_map(|s| Some((s.id.as_str(), s.marked.as_ref()?.line())))
        .collect();
    if !marked.is_empty() {
        out.push_str("\nmarked by hand:\n");
        for (id, line) in marked {
            let line = crate::sanitize::for_terminal(&line);
            out.push_str(&format!("  {id} {line}\n"));
        }
    }
    // Where each attempt ran that did not run here: its executor and job (a Slurm job
    // id, an SSH step's process group on its host).
    let placed: Vec<String> = steps
        .iter()
        .flat_map(|s| {
            s.jobs.iter().map(move |j| {
                format!(
                    "  {} #{} on {} (job {})\n",
                    s.id, j.attempt, j.job.executor, j.job.job_id
                )
            })
        })
        .collect();
    if !placed.is_empty() {
        out.push_str("\nwhere attempts ran:\n");
        for line in placed {
            out.push_str(&crate::sanitize::for_terminal(&line));
        }
    }
    let fallbacks: Vec<(&str, String)> = steps
        .iter()
        .filter_map(|s| Some((s.id.as_str(), s.alternative_text()?)))
        .collect();
    if !fallbacks.is_empty() {
        out.push_str("\nfallbacks:\n");
        for (id, text) in fallbacks {
            let text = crate::sanitize::for_terminal(&text);
            out.push_str(&format!("  {id}: {text}\n"));
        }
    }
}

/// Errors, the budget, golden signals and cached steps.
fn text_errors_and_signals(out: &mut String, v: &RunView) {
    let steps = &v.steps;
    if !v.errors.is_empty() {
        out.push_str("\nerrors:\n");
        for e in &v.errors {
            out.push_str(&format!(
                "  {} {} {}{}: {}\n    suggestion: {}\n",
                e.severity,
                e.kind,
                e.step.as_deref().unwrap_or("run"),
                if e.open { "" } else { " (resolved)" },
                e.message,
                e.suggestion
            ));
        }
    }
    if let Some(b) = &v.budget {
        out.push_str(&budget_line(b));
        out.push('\n');
    }
    let g = &v.signals;
    let ms = |v: Option<u64>| v.map_or("–".to_string(), |ms| format!("{ms} ms"));
    if let Some(f) = v.health.failed_share {
        out.push_str(&format!(
            "failed: {:.0}% of the steps decided (failed, handled or not, or never started because a need failed){}\n",
            f * 100.0,
            match v.health.handled {
                0 => String::new(),
                n => format!("; {n} handled (allow_failure or a failure handler)"),
            }
        ));
    }
    out.push_str(&format!(
        "signals: {:.2} finished/s, {:.0}% of finished attempts failed, p50 {}, p95 {}, {} queued, {} running\n",
        g.finished_per_sec,
        g.error_rate * 100.0,
        ms(g.p50_ms),
        ms(g.p95_ms),
        g.queue_depth,
        g.running
    ));
    let cached: Vec<String> = steps
        .iter()
        .filter_map(|s| {
            s.cached_from
                .as_ref()
                .map(|r| format!("{} (run {r})", s.id))
        })
        .collect();
    if !cached.is_empty() {
        out.push_str(&format!("cached, not run: {}\n", cached.join(", ")));
    }
}

/// A line per step for what an operator may want to know now: approvals' inputs, work
/// left running, usage so far, what it waits for, its latest probe check.
fn text_step_lines(out: &mut String, v: &RunView) {
    let steps = &v.steps;
    for s in steps.iter().filter(|s| !s.inputs.is_empty()) {
        let mut line = crate::model::history::inputs_line(&s.inputs);
        if !s.changed_inputs.is_empty() {
            let changed = crate::model::history::changed_line(&s.changed_inputs);
            line.push_str(&format!(" ({changed})"));
        }
        out.push_str(&crate::sanitize::for_terminal(&format!(
            "approved {} with {line}",
            s.id
        )));
        out.push('\n');
    }
    for s in steps {
        if let Some(l) = &s.left_running {
            out.push_str(&crate::sanitize::for_terminal(&format!(
                "{}: {}, still running ({}) without its engine: `baton resume {}` stops it and takes the run over",
                s.id,
                s.state,
                l.what(),
                v.run_id
            )));
            out.push('\n');
        }
    }
    // What running steps have spent so far (issue 43): read as they write it.
    for s in steps
        .iter()
        .filter(|s| s.state == crate::model::StepState::Running)
    {
        if let Some(u) = &s.usage {
            out.push_str(&format!(
                "{}: running, used so far: cost {}, tokens {}, calls {}\n",
                s.id, u.cost, u.tokens, u.calls
            ));
        }
    }
    for s in steps {
        for a in &s.artifacts {
            out.push_str(&crate::sanitize::for_terminal(&format!(
                "artifact of {}: {}",
                s.id,
                a.describe(&v.run_id)
            )));
            out.push('\n');
        }
    }
    for s in steps {
        if let Some(w) = &s.waiting_for {
            out.push_str(&crate::sanitize::for_terminal(&format!("{}: {w}", s.id)));
            out.push('\n');
        }
    }
    for s in steps {
        if let Some(p) = &s.probe {
            out.push_str(&crate::sanitize::for_terminal(&format!(
                "probe of {}: {} {} {}: {} ({})",
                s.id,
                p.probe,
                p.check,
                if p.ok { "passed" } else { "failed" },
                p.detail,
                p.at.to_rfc3339()
            )));
            out.push('\n');
        }
    }
}

/// `budget: cost 2.5 of 3, calls 4 of 10, tokens 2800 (no ceiling)`.
fn budget_line(b: &crate::model::view::BudgetView) -> String {
    let parts: Vec<String> = b
        .dimensions()
        .into_iter()
        .map(|(dim, used, limit)| match limit {
            Some(l) => format!("{dim} {used} of {l}"),
            None => format!("{dim} {used} (no ceiling)"),
        })
        .collect();
    let mut line = format!("budget: {}", parts.join(", "));
    if !b.exhausted.is_empty() {
        line.push_str(&format!("; exhausted: {}", b.exhausted.join(", ")));
    }
    let pace: Vec<String> = b
        .burn
        .iter()
        .filter(|x| x.per_minute > 0.0)
        .map(|x| {
            let left = match x.left_ms {
                Some(0) => ", at its ceiling".to_string(),
                Some(ms) => format!(
                    ", its ceiling in {}",
                    crate::model::time::human_duration(std::time::Duration::from_millis(ms))
                ),
                None => String::new(),
            };
            format!("{} {:.2}/min{left}", x.dimension, x.per_minute)
        })
        .collect();
    if !pace.is_empty() {
        line.push_str(&format!("; pace: {}", pace.join(", ")));
    }
    line
}

/// Both ends of a run's trigger links: the event that started it, what its end started
/// (or its step's own `baton run`).
fn trigger_text(t: &crate::model::view::TriggerLinks) -> String {
    let clean = crate::sanitize::for_terminal;
    let mut out = String::new();
    if let Some(e) = &t.started_by {
        let event = match e.events.as_slice() {
            [] => clean(&e.event),
            all => format!(
                "{} events: {}",
                all.len(),
                all.iter().map(|x| clean(x)).collect::<Vec<_>>().join(", ")
            ),
        };
        out.push_str(&match e.kind.as_str() {
            STEP_KIND => format!("started by `baton run` in {event}\n"),
            _ => format!("started by trigger {}: {event}\n", clean(&e.trigger)),
        });
    }
    for e in &t.started {
        let t = clean(&e.trigger);
        out.push_str(&match (&e.run, &e.why) {
            (Some(r), _) if e.kind == STEP_KIND => {
                format!("its {} started run {r} by `baton run`\n", clean(&e.event))
            }
            (Some(r), _) => format!("its end started run {r} ({}) by trigger {t}\n", e.fate),
            (None, Some(why)) => format!("its end made no run of trigger {t}: {}\n", clean(why)),
            (None, None) => format!("its end made no run of trigger {t} ({})\n", e.fate),
        });
    }
    out
}

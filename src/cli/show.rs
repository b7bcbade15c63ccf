//! `baton show RUN`: a run's steps, errors, health, quality and golden signals.
use super::db::{DbOpt, fail};
use super::exit;
use crate::model::Timestamp;
use crate::model::time::human_duration;
use crate::session::signals;
use crate::store::{RunDetail, Store};
use clap::Args;
use std::time::Duration;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  baton show 01J9Z3\n  baton show 01J9Z3 --json | jq '.steps[] | select(.state == \"failed\")'"
)]
pub struct ShowArgs {
    /// The run id, or a unique prefix of it
    pub run: String,
    /// Print one JSON object (id, workflow, state, health, quality, signals, steps, errors)
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
    let detail = store
        .resolve_run(&args.run)
        .and_then(|id| Ok((store.run_detail(&id)?, store.events(&id)?)));
    let (detail, events) = match detail {
        Ok(d) => d,
        Err(e) => return fail(&e),
    };
    if args.json {
        let mut v = json(&detail);
        add_jobs(&mut v, &events);
        add_cached(&mut v, &events);
        add_probes(&mut v, &events);
        let replayed = signals::replayed(&store, &detail.run.id, Timestamp::now());
        v["budget"] = replayed
            .as_ref()
            .ok()
            .and_then(|r| r.budget.as_ref())
            .map_or(serde_json::Value::Null, budget_json);
        v["signals"] = signals_value(&detail.run.id, replayed.map(|r| r.signals));
        crate::stdio::outln!("{v}");
    } else {
        crate::stdio::out!("{}", text(&detail));
        let replayed = signals::replayed(&store, &detail.run.id, Timestamp::now());
        if let Some(b) = replayed.as_ref().ok().and_then(|r| r.budget.as_ref()) {
            crate::stdio::outln!("{}", budget_line(b));
        }
        if let Ok(g) = replayed.map(|r| r.signals) {
            let ms = |v: Option<u64>| v.map_or("–".to_string(), |ms| format!("{ms} ms"));
            crate::stdio::outln!(
                "signals: {:.2} finished/s, {:.0}% of finished attempts failed, p50 {}, p95 {}, {} queued, {} running",
                g.finished_per_sec,
                g.error_rate * 100.0,
                ms(g.p50_ms),
                ms(g.p95_ms),
                g.queue_depth,
                g.running
            );
        }
        let cached: Vec<String> = detail
            .steps
            .iter()
            .filter_map(|s| {
                crate::model::history::cached_from(&events, &s.id, s.attempts)
                    .map(|r| format!("{} (run {r})", s.id))
            })
            .collect();
        if !cached.is_empty() {
            crate::stdio::outln!("cached, not run: {}", cached.join(", "));
        }
        for s in &detail.steps {
            if let Some(p) = crate::model::history::last_probe(&events, &s.id, s.attempts) {
                crate::stdio::outln!(
                    "{}",
                    crate::sanitize::for_terminal(&format!(
                        "probe of {}: {} {} {}: {} ({})",
                        s.id,
                        p.probe,
                        p.check,
                        if p.ok { "passed" } else { "failed" },
                        p.detail,
                        p.at.to_rfc3339()
                    ))
                );
            }
        }
    }
    exit::OK
}

/// Each step's attempts that ran as batch jobs (`jobs`: attempt, executor, job id, and
/// what the cluster last said while it ran: `state`, `reason`, `running_at`), and the
/// executor and job id of its latest attempt (`executor` is `local` without one).
pub fn add_jobs(v: &mut serde_json::Value, events: &[crate::model::Event]) {
    use crate::model::{EventKind, JobView};
    let Some(steps) = v["steps"].as_array_mut() else {
        return;
    };
    for s in steps {
        let id = s["id"].as_str().unwrap_or_default().to_string();
        let attempts = s["attempts"].as_u64().unwrap_or(0);
        let mut seen: Vec<(u32, JobView)> = Vec::new();
        for e in events {
            match &e.kind {
                EventKind::StepJob {
                    step,
                    attempt,
                    executor,
                    job_id,
                } if *step == id => seen.push((*attempt, JobView::submitted(executor, job_id))),
                EventKind::StepJobState {
                    step,
                    attempt,
                    state,
                    reason,
                } if *step == id => {
                    if let Some((_, j)) = seen.iter_mut().rev().find(|(a, _)| a == attempt) {
                        j.observe(state, reason.as_deref(), e.at);
                    }
                }
                _ => {}
            }
        }
        let jobs: Vec<serde_json::Value> = seen
            .iter()
            .map(|(attempt, j)| {
                serde_json::json!({
                    "attempt": attempt, "executor": j.executor, "job_id": j.job_id,
                    "state": j.state, "reason": j.reason,
                    "running_at": j.running_at.map(|t| t.to_rfc3339()),
                })
            })
            .collect();
        let latest = jobs
            .iter()
            .rev()
            .find(|j| j["attempt"] == attempts)
            .cloned();
        s["executor"] = latest
            .as_ref()
            .map_or("local".into(), |j| j["executor"].clone());
        s["job_id"] = latest.map_or(serde_json::Value::Null, |j| j["job_id"].clone());
        s["jobs"] = jobs.into();
    }
}

/// Each step's `cached` (its latest attempt was answered from the cache, no process
/// started) and `cached_from` (the run that made the result).
pub fn add_cached(v: &mut serde_json::Value, events: &[crate::model::Event]) {
    let Some(steps) = v["steps"].as_array_mut() else {
        return;
    };
    for s in steps {
        let id = s["id"].as_str().unwrap_or_default().to_string();
        let attempts = s["attempts"].as_u64().unwrap_or(0) as u32;
        let from = crate::model::history::cached_from(events, &id, attempts);
        s["cached"] = from.is_some().into();
        s["cached_from"] = from.map_or(serde_json::Value::Null, Into::into);
    }
}

/// Each step's `probe`: the latest recorded check of its latest attempt (a service's),
/// `{probe, check, ok, detail, failures, at}`, or null.
pub fn add_probes(v: &mut serde_json::Value, events: &[crate::model::Event]) {
    let Some(steps) = v["steps"].as_array_mut() else {
        return;
    };
    for s in steps {
        let id = s["id"].as_str().unwrap_or_default().to_string();
        let attempts = s["attempts"].as_u64().unwrap_or(0) as u32;
        s["probe"] = crate::model::history::last_probe(events, &id, attempts).map_or(
            serde_json::Value::Null,
            |p| {
                serde_json::json!({
                    "probe": p.probe, "check": p.check, "ok": p.ok, "detail": p.detail,
                    "failures": p.failures, "at": p.at.to_rfc3339(),
                })
            },
        );
    }
}

pub fn signals_json(store: &Store, run_id: &str, now: Timestamp) -> serde_json::Value {
    signals_value(run_id, signals::golden(store, run_id, now))
}

fn signals_value(
    run_id: &str,
    signals: Result<crate::model::view::GoldenSignals, crate::session::SessionError>,
) -> serde_json::Value {
    match signals {
        Ok(s) => serde_json::to_value(s).unwrap_or_default(),
        Err(e) => {
            crate::stdio::errln!("warning: no golden signals for run {run_id}: {e}");
            serde_json::Value::Null
        }
    }
}

/// The budget's use, each dimension `{used, limit}` (`limit` null where none is set),
/// and `exhausted`: the ceilings that stop the next step.
fn budget_json(b: &crate::model::view::BudgetView) -> serde_json::Value {
    let mut v = serde_json::Map::new();
    for (dim, used, limit) in b.dimensions() {
        v.insert(
            dim.into(),
            serde_json::json!({ "used": used, "limit": limit }),
        );
    }
    v.insert("exhausted".into(), b.exhausted.clone().into());
    v.into()
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
    line
}

pub fn json(d: &RunDetail) -> serde_json::Value {
    let r = &d.run;
    serde_json::json!({
        "id": r.id,
        "workflow": r.workflow,
        "state": r.state,
        "driven_by": r.driven_by,
        "operator": r.operator,
        "source_path": r.source_path,
        "started_at": r.started_at.to_rfc3339(),
        "finished_at": r.finished_at.map(|t| t.to_rfc3339()),
        "summary": r.summary,
        "health": d.health.score,
        "health_label": d.health.label,
        "quality": d.health.quality,
        "health_terms": d.health.terms,
        "steps": d.steps.iter().map(|s| serde_json::json!({
            "id": s.id,
            "state": s.state,
            "attempts": s.attempts,
            "exit_code": s.exit_code,
            "signal": s.signal,
            "timed_out": s.timed_out,
            "started_at": s.started_at.map(|t| t.to_rfc3339()),
            "finished_at": s.finished_at.map(|t| t.to_rfc3339()),
            "duration_ms": s.duration_ms,
            "outputs": s.outputs,
            "log_path": s.log_path,
        })).collect::<Vec<_>>(),
        "errors": d.errors.iter().map(|e| serde_json::json!({
            "id": e.id,
            "kind": e.kind,
            "severity": e.severity,
            "step": e.step,
            "attempt": e.attempt,
            "message": e.message,
            "suggestion": e.suggestion,
            "retryable": e.retryable,
            "open": e.open,
            "context": e.context,
            "at": e.at.to_rfc3339(),
        })).collect::<Vec<_>>(),
    })
}

/// The human report (pure).
pub fn text(d: &RunDetail) -> String {
    let r = &d.run;
    let mut out = format!(
        "run {}  {}  {}\noperator {}  started {}",
        r.id,
        r.workflow,
        r.state,
        r.operator,
        r.started_at.to_rfc3339()
    );
    if let Some(f) = r.finished_at {
        out.push_str(&format!(
            "  finished {} ({})",
            f.to_rfc3339(),
            human_duration(f.since(r.started_at))
        ));
    }
    out.push('\n');
    if let Some(h) = &r.driven_by {
        out.push_str(&format!("driven by {h}\n"));
    }
    out.push_str(&format!(
        "health {:.0} {}  quality {}\n",
        d.health.score,
        d.health.label.as_str(),
        d.health
            .quality
            .map_or("-".to_string(), |q| format!("{q:.2}"))
    ));
    if let Some(s) = &r.summary {
        out.push_str(&format!("summary {s}\n"));
    }
    out.push('\n');
    let rows: Vec<[String; 5]> = d
        .steps
        .iter()
        .map(|s| {
            [
                s.id.clone(),
                s.state.to_string(),
                s.attempts.to_string(),
                s.duration_ms
                    .map_or("-".into(), |ms| human_duration(Duration::from_millis(ms))),
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
    if !d.errors.is_empty() {
        out.push_str("\nerrors:\n");
        for e in &d.errors {
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
    out
}

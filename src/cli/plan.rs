//! `baton plan FILE`: what would run, in what order.
use super::exit;
use crate::workflow::{Action, ExecutorKind, Plan, Step, format_duration, format_rate, load_file};
use std::fmt::Write;
use std::path::PathBuf;

/// Show the execution plan: layers in order, the critical path, gates and pools.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Steps in one layer may run in parallel (up to max_parallel); a layer starts once the
steps it needs are done. The critical path is the longest chain of steps, counted in
steps (each step weighs 1, whatever its duration).

A step with a `matrix` lists its instance ids (from the params' defaults, or the
values given with --param); a `for_each` step's instances are known only once the
step it reads has succeeded.

Example:
  baton plan examples/release.toml
  baton plan matrix.toml --param pythons=3.11,3.12")]
pub struct Args {
    /// The workflow file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// A run parameter, `--param name=value` (repeatable): what a matrix reads.
    #[arg(long = "param", value_name = "K=V", value_parser = super::run::parse_kv)]
    pub params: Vec<(String, String)>,
}

pub fn run(args: &Args) -> i32 {
    match load_file(&args.file) {
        Ok(plan) => {
            // A required param not given only leaves the matrices reading it unknown.
            let params = match crate::workflow::resolve_params(&plan, &args.params) {
                Ok(p) => p,
                Err(_) if args.params.is_empty() => defaults(&plan),
                Err(errors) => {
                    for e in &errors {
                        crate::stdio::errln!("error: {e}");
                    }
                    return exit::USAGE;
                }
            };
            crate::stdio::out!("{}", render_with(&plan, &params));
            exit::OK
        }
        Err(d) => {
            crate::stdio::errln!("{d}");
            exit::USAGE
        }
    }
}

/// The longest chain of steps (by count), first to last.
pub fn critical_path(plan: &Plan) -> Vec<usize> {
    let n = plan.steps.len();
    // Longest chain ending at each step, walking layers in order.
    let mut len = vec![1usize; n];
    let mut prev = vec![usize::MAX; n];
    for &s in plan.layers.iter().flatten() {
        for &d in &plan.steps[s].needs {
            if len[d] + 1 > len[s] {
                len[s] = len[d] + 1;
                prev[s] = d;
            }
        }
    }
    let Some(mut cur) = (0..n).max_by_key(|&i| (len[i], std::cmp::Reverse(i))) else {
        return Vec::new();
    };
    let mut path = vec![cur];
    while prev[cur] != usize::MAX {
        cur = prev[cur];
        path.push(cur);
    }
    path.reverse();
    path
}

fn action(plan: &Plan, i: usize) -> String {
    match &plan.steps[i].action {
        Action::Shell { .. } => "run".into(),
        Action::Tool { tool, .. } => format!("uses {tool}"),
        Action::Builtin(b) => format!("uses {}", b.name()),
        Action::Workflow { written, .. } => format!("workflow {written}"),
        Action::None => "approval only".into(),
    }
}

/// The plan, as printed, with the params' defaults.
pub fn render(plan: &Plan) -> String {
    render_with(plan, &defaults(plan))
}

fn defaults(plan: &Plan) -> std::collections::BTreeMap<String, String> {
    plan.params
        .iter()
        .filter_map(|p| Some((p.name.clone(), p.default.clone()?)))
        .collect()
}

/// A fanned-out step's instances as `plan` lists them.
fn instances(
    plan: &Plan,
    i: usize,
    params: &std::collections::BTreeMap<String, String>,
) -> Option<String> {
    use crate::workflow::fanout::{FanSource, matrix_instances};
    let s = &plan.steps[i];
    let f = s.fanout.as_deref()?;
    Some(match &f.source {
        FanSource::Matrix(m) => match matrix_instances(&s.id, m, params, f.max_instances) {
            Ok(list) if list.is_empty() => "no instance (every combination is excluded)".into(),
            Ok(list) => {
                let ids: Vec<&str> = list.iter().map(|(id, _)| id.as_str()).collect();
                format!("{}: {}", count(ids.len(), "instance"), ids.join(" "))
            }
            Err(e) => format!("instances unknown: {e}"),
        },
        FanSource::ForEach { step_id, key, .. } => format!(
            "one instance per item of steps.{step_id}.outputs.{key}, decided when `{step_id}` succeeds"
        ),
    })
}

/// The plan, as printed.
pub fn render_with(plan: &Plan, params: &std::collections::BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "workflow {}: {} in {}, {}, max_parallel {}",
        plan.name,
        count(plan.steps.len(), "step"),
        count(plan.layers.len(), "layer"),
        count(plan.gate_count(), "gate"),
        plan.max_parallel
    );
    out.push_str("\nlayers (execution order):\n");
    for (k, layer) in plan.layers.iter().enumerate() {
        let _ = writeln!(out, "  {}. ({})", k + 1, count(layer.len(), "step"));
        const SHOWN: usize = 20;
        for &i in layer.iter().take(SHOWN) {
            let s = &plan.steps[i];
            let notes = step_notes(plan, i);
            let _ = writeln!(out, "     {}  [{}]", s.id, notes.join(", "));
            for k in 1..s.alternatives() {
                let _ = writeln!(
                    out,
                    "        fallback {k}: {}",
                    s.alternative_changes(k, &plan.executors)
                );
            }
            if let Some(line) = instances(plan, i, params) {
                let _ = writeln!(out, "        {line}");
            }
        }
        if layer.len() > SHOWN {
            let _ = writeln!(out, "     … and {} more", layer.len() - SHOWN);
        }
    }
    let path = critical_path(plan);
    let names: Vec<&str> = path.iter().map(|&i| plan.steps[i].id.as_str()).collect();
    let _ = writeln!(
        out,
        "\ncritical path ({}, each step weighs 1):\n  {}",
        count(path.len(), "step"),
        names.join(" -> ")
    );
    gates(&mut out, plan);
    pools(&mut out, plan);
    executors(&mut out, plan);
    secrets(&mut out, plan);
    artifacts(&mut out, plan);
    out
}

/// The `artifacts:` section, when steps declare any: what each step keeps, where it
/// is kept, and which steps are handed it.
fn artifacts(out: &mut String, plan: &Plan) {
    let makers: Vec<_> = plan
        .steps
        .iter()
        .filter_map(|s| Some((s, s.artifacts.as_deref()?)))
        .filter(|(_, a)| !a.produces.is_empty())
        .collect();
    if makers.is_empty() {
        return;
    }
    out.push_str(
        "
artifacts (kept in the store by sha256 once their step succeeds):
",
    );
    for (s, a) in makers {
        for (name, glob) in &a.produces {
            let readers: Vec<String> = plan
                .steps
                .iter()
                .filter(|r| {
                    r.artifacts.as_deref().is_some_and(|ra| {
                        ra.uses.iter().any(|u| u.step == s.index && &u.name == name)
                    })
                })
                .map(|r| format!("{} ({})", r.id, moved_by(plan, r)))
                .collect();
            let to = if readers.is_empty() {
                "read by no step".to_string()
            } else {
                format!("-> store -> {}", readers.join(", "))
            };
            let _ = writeln!(
                out,
                "  {}.{name}: {glob} in {}'s directory ({}) {to}",
                s.id,
                s.id,
                moved_by(plan, s)
            );
        }
    }
}

/// Where a step's artifacts are read or written, and over what: this machine's
/// filesystem, an SSH host's connection, or a job's shared working directory.
fn moved_by(plan: &Plan, s: &Step) -> String {
    match plan.executor_of(s.index).map(|e| (&e.name, &e.kind)) {
        None => "local".to_string(),
        Some((_, ExecutorKind::Local)) => "local".to_string(),
        Some((name, ExecutorKind::Ssh(o))) => format!("{name}: host {}, over ssh", o.host),
        Some((name, k)) => format!("{name}: {} job, its shared directory", k.as_str()),
    }
}

/// A step's notes in its layer: its action, then what is not the default about it.
fn step_notes(plan: &Plan, i: usize) -> Vec<String> {
    let s = &plan.steps[i];
    let mut notes = vec![action(plan, i)];
    if s.when != Default::default() {
        notes.push(format!("when {}", s.when.as_str()));
    }
    if let Some(c) = &s.condition {
        notes.push(format!("if {}", c.text));
    }
    if s.allow_failure {
        notes.push("allow_failure".into());
    } else if let Some(t) = &s.allow_failure_when {
        notes.push(format!("allow_failure {t}"));
    }
    if s.gate.is_some() {
        notes.push("gate".into());
    }
    if let Some(p) = s.pool {
        notes.push(format!("pool {}", plan.pools[p].name));
    }
    if let Some(e) = plan.executor_of(i) {
        notes.push(format!("on {}", e.name));
    }
    if s.retry.attempts > 1 {
        notes.push(format!("{} attempts", s.retry.attempts));
    }
    if s.compensate.is_some() {
        notes.push("compensate".into());
    }
    if !s.fallback.is_empty() {
        notes.push(count(s.fallback.len(), "fallback"));
    }
    if let Some(a) = s.artifacts.as_deref() {
        if !a.produces.is_empty() {
            let names: Vec<&str> = a.produces.keys().map(String::as_str).collect();
            notes.push(format!("artifacts {}", names.join(" ")));
        }
        if !a.uses.is_empty() {
            let used: Vec<String> = a
                .uses
                .iter()
                .map(|u| format!("{}.{}", u.step_id, u.name))
                .collect();
            notes.push(format!("uses {}", used.join(" ")));
        }
    }
    if !s.secrets.is_empty() {
        let kinds: Vec<String> = s
            .secrets
            .iter()
            .map(|n| {
                let kind = plan
                    .secret_sources
                    .iter()
                    .find(|x| &x.name == n)
                    .map_or("env", |x| x.source.kind());
                format!("{n} ({kind})")
            })
            .collect();
        notes.push(format!("secrets {}", kinds.join(" ")));
    }
    notes
}

/// The `secrets:` section, when the workflow declares any: where each is read and
/// which steps get it; never a value (none is read to plan).
fn secrets(out: &mut String, plan: &Plan) {
    if plan.secrets.is_empty() && plan.secret_sources.is_empty() {
        return;
    }
    out.push_str("\nsecrets (read as a step that uses them starts; values never shown):\n");
    for name in &plan.secrets {
        let _ = writeln!(out, "  {name}: env ${name}, every step");
    }
    for x in &plan.secret_sources {
        let users: Vec<&str> = plan
            .steps
            .iter()
            .filter(|s| s.secrets.contains(&x.name))
            .map(|s| s.id.as_str())
            .collect();
        let how = match &x.source {
            crate::workflow::SecretSource::Command {
                timeout,
                first_line,
                ..
            } => format!(
                " (timeout {}{})",
                format_duration(*timeout),
                if *first_line { ", first line" } else { "" }
            ),
            _ => String::new(),
        };
        let used = if users.is_empty() {
            "used by no step".to_string()
        } else {
            format!("used by {}", users.join(", "))
        };
        let _ = writeln!(out, "  {}: {}{how}, {used}", x.name, x.source.describe());
    }
}

/// The `gates:` section: each gate's prompt, approvers, timeout, inputs and rules.
fn gates(out: &mut String, plan: &Plan) {
    out.push_str("\ngates:\n");
    let gated: Vec<_> = plan.steps.iter().filter(|s| s.gate.is_some()).collect();
    if gated.is_empty() {
        out.push_str("  none\n");
    }
    for s in gated {
        if let Some(g) = &s.gate {
            let who = if g.approvers.is_empty() {
                "anyone".to_string()
            } else {
                g.approvers.join(", ")
            };
            let timeout = g
                .timeout
                .map(|t| {
                    format!(
                        ", timeout {} then {}",
                        format_duration(t),
                        g.on_timeout.as_str()
                    )
                })
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {}: \"{}\" approvers {who}, quorum {}{timeout}{}",
                s.id,
                g.prompt,
                g.quorum,
                if g.allow_self_approval {
                    ""
                } else {
                    ", no self-approval"
                }
            );
            for i in &g.inputs {
                let how = match (&i.default, i.required) {
                    (Some(d), _) => format!(", default {d}"),
                    (None, true) => ", required".into(),
                    (None, false) => String::new(),
                };
                let pattern = i
                    .pattern
                    .as_ref()
                    .map(|p| format!(", matching {}", p.as_str()))
                    .unwrap_or_default();
                // Rendered when the gate opens: shown as written, never as a value.
                let from_run = crate::workflow::input_choices::written(i);
                let _ = writeln!(
                    out,
                    "    asks {}: {}{how}{pattern}{from_run}",
                    i.name,
                    i.ty.describe()
                );
            }
            // The policy, first rule first: the first that holds decides.
            for (k, r) in g.auto.iter().enumerate() {
                let _ = writeln!(out, "    auto {}", r.describe(k + 1));
            }
        }
    }
}

/// The `pools:` section: each pool's capacity, rate and users.
fn pools(out: &mut String, plan: &Plan) {
    out.push_str("\npools:\n");
    if plan.pools.is_empty() {
        out.push_str("  none\n");
    }
    for (k, p) in plan.pools.iter().enumerate() {
        let users = plan.steps.iter().filter(|s| s.pool == Some(k)).count();
        let rate = p
            .rate
            .map(|r| format!(", rate {}, burst {}", format_rate(&r), p.burst))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {}: capacity {}{rate}, used by {}",
            p.name,
            p.capacity,
            count(users, "step")
        );
    }
}

/// The `executors:` section, shared by `plan` and `tools`: each executor, its kind and
/// labels, and how many steps it runs.
pub fn executors(out: &mut String, plan: &Plan) {
    out.push_str("\nexecutors:\n");
    if plan.executors.is_empty() {
        out.push_str("  none (every step runs here)\n");
    }
    for (k, e) in plan.executors.iter().enumerate() {
        let users = plan.steps.iter().filter(|s| s.executor == Some(k)).count();
        let labels = if e.labels.is_empty() {
            String::new()
        } else {
            format!(", labels {}", e.labels.join(", "))
        };
        let _ = writeln!(
            out,
            "  {}: {}{labels}, used by {}",
            e.name,
            e.kind.as_str(),
            count(users, "step")
        );
    }
}

/// `1 step`, `2 steps`.
fn count(n: usize, word: &str) -> String {
    crate::console::count(n, word, &format!("{word}s"))
}

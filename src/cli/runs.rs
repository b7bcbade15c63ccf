//! `baton runs`: every run in the store, newest first; `baton runs rm RUN…` deletes runs.
use super::db::{DbOpt, fail};
use super::delete::{self, DeleteOpts};
use super::exit;
use crate::model::view::GoldenSignals;
use crate::model::{RunState, RunSummary, Timestamp};
use clap::{Args, Subcommand};

#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "Examples:\n  baton runs\n  baton runs --workflow release\n  baton runs --json | jq '.[0].id'\n  baton runs --db ./ci.db\n  baton runs rm 01J9Z3 01J9Z4"
)]
pub struct RunsArgs {
    #[command(subcommand)]
    pub cmd: Option<RunsCmd>,
    /// Print a JSON array of runs (id, workflow, state, driven_by, operator, started_at, signals, …)
    #[arg(long)]
    pub json: bool,
    /// Only the runs of the workflow with this name
    #[arg(long, value_name = "NAME")]
    pub workflow: Option<String>,
    /// Only the runs in this state as readers show it (running, waiting, interrupted, succeeded, …)
    #[arg(long, value_name = "STATE", value_parser = parse_state)]
    pub state: Option<RunState>,
    /// Only the runs with this label, `--label KEY=VALUE` or `--label KEY` for any value
    /// (repeatable: every one)
    #[arg(long = "label", value_name = "K=V", value_parser = super::label::parse_filter)]
    pub labels: Vec<(String, Option<String>)>,
    /// Only the N newest runs (of the workflow, with --workflow)
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    #[command(flatten)]
    pub db: DbOpt,
}

/// `--state` naming no run state.
#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not a run state; one of: {all}", all = RunState::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "))]
struct NotAState(String);

fn parse_state(s: &str) -> Result<RunState, NotAState> {
    RunState::parse(s).ok_or_else(|| NotAState(s.to_string()))
}

#[derive(Debug, Subcommand)]
pub enum RunsCmd {
    /// Delete finished or interrupted runs: every row and their logs (the deletion is audited)
    #[command(
        after_help = "Asks first when stdin is a terminal (--yes skips it). A run a live engine \
                      drives is refused (exit 1); cancel it or let it finish first.\n\n\
                      Examples:\n  baton runs rm 01J9Z3\n  baton runs rm 01J9Z3 01J9Z4 --yes"
    )]
    Rm {
        /// Run ids, or unique prefixes of them
        #[arg(required = true, value_name = "RUN")]
        runs: Vec<String>,
        #[command(flatten)]
        opts: DeleteOpts,
        #[command(flatten)]
        db: DbOpt,
    },
}

pub fn run(args: RunsArgs) -> i32 {
    if let Some(RunsCmd::Rm { runs, opts, db }) = args.cmd {
        let db = if db.db.is_some() { db } else { args.db };
        return delete::rm(&db, &runs, &opts);
    }
    let store = match args.db.open() {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    // The first page alone is one index range (filtered, the whole list).
    let listed = match (args.limit, &args.workflow, args.state) {
        (Some(n), None, None) if args.labels.is_empty() => store.newest_runs(n),
        _ => store.list_runs(),
    };
    let mut runs = match listed {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    if let Some(name) = &args.workflow {
        runs.retain(|r| &r.workflow == name);
    }
    if let Some(state) = args.state {
        runs.retain(|r| r.state == state);
    }
    runs.retain(|r| crate::model::labels::matches(&r.labels, &args.labels));
    if let Some(n) = args.limit {
        runs.truncate(n);
    }
    // Each run's fanned-out steps with their instances' counts (from the index of
    // instances alone).
    let ids: Vec<&str> = runs.iter().map(|r| r.id.as_str()).collect();
    let fans: Vec<Fans> = store.fan_counts_of(&ids).unwrap_or_else(|e| {
        crate::stdio::errln!("warning: no fan-out counts: {e}");
        vec![Vec::new(); runs.len()]
    });
    if args.json {
        let signals = match store.run_signals(&runs, Timestamp::now()) {
            Ok(s) => s,
            Err(e) => return fail(&e),
        };
        // Streamed to a pipe or a file, not formatted whole first (50,000 runs).
        if let Err(e) = crate::stdio::out_json_line(&json_list(&runs, &fans, signals)) {
            crate::stdio::errln!("error: cannot write the runs as JSON: {e}");
            return exit::STORAGE;
        }
    } else if let (Some(name), true) = (&args.workflow, runs.is_empty()) {
        crate::stdio::outln!("no runs of workflow `{name}`");
    } else if let (Some(state), true) = (args.state, runs.is_empty()) {
        crate::stdio::outln!("no runs are {state}");
    } else if let (false, true) = (args.labels.is_empty(), runs.is_empty()) {
        crate::stdio::outln!("no runs have those labels");
    } else {
        crate::stdio::out!("{}", table(&runs, &fans));
    }
    exit::OK
}

/// `runs --json`: each run with its golden signals as `show` reports them, read from
/// the runs' rows (`Store::run_signals`), never by replaying a run.
fn json_list(
    runs: &[RunSummary],
    fans: &[Fans],
    signals: Vec<Option<GoldenSignals>>,
) -> serde_json::Value {
    let v = runs
        .iter()
        .zip(fans)
        .zip(signals)
        .map(|((r, f), s)| {
            let mut v = json(r);
            v["fan_out"] = fan_json(f);
            v["signals"] = serde_json::to_value(s).unwrap_or_default();
            v
        })
        .collect();
    serde_json::Value::Array(v)
}

fn json(r: &RunSummary) -> serde_json::Value {
    let mut v = serde_json::json!({
        "id": r.id,
        "workflow": r.workflow,
        "state": r.state,
        "rejected": r.rejected,
        "driven_by": r.driven_by,
        "operator": r.operator,
        "started_at": r.started_at.to_rfc3339(),
        "started_at_ms": r.started_at.0,
        "finished_at": r.finished_at.map(|t| t.to_rfc3339()),
        "steps_total": r.steps_total,
        "steps_done": r.steps_done,
        "health": r.health,
        "labels": r.labels,
        "params": r.params,
        "notes": r.notes,
    });
    // As `show --json` has it: the event whose trigger started the run.
    if let Some(t) = &r.started_by {
        let link = crate::model::view::TriggerLink {
            run: Some(r.id.clone()),
            ..t.clone()
        };
        v["started_by"] = serde_json::to_value(link).unwrap_or_default();
    }
    v
}

/// A run's fanned-out steps: (step, its instances' counts), by step id.
pub type Fans = Vec<(String, crate::model::fan::FanCounts)>;

/// `[{"step": "test", "total": 20, "done": 14, …}]`.
fn fan_json(fans: &Fans) -> serde_json::Value {
    fans.iter()
        .map(|(step, c)| {
            let mut v = serde_json::to_value(c).unwrap_or_default();
            v["step"] = serde_json::Value::String(step.clone());
            v
        })
        .collect()
}

/// `test 14/20 ✔12 ✘1 ◷1, lint 3/3 ✔3`: a run's fanned-out steps with their counts.
fn fan_text(fans: &Fans) -> String {
    let parts: Vec<String> = fans
        .iter()
        .map(|(step, c)| format!("{step} {}", c.text()))
        .collect();
    parts.join(", ")
}

/// The human table (pure, so it is tested without a terminal); a `FAN-OUT` column when
/// a run listed has fanned-out steps (`fans`: each run's, in the same order).
pub fn table(runs: &[RunSummary], fans: &[Fans]) -> String {
    if runs.is_empty() {
        return "no runs yet; start one with `baton run WORKFLOW`\n".into();
    }
    let rows: Vec<[String; 7]> = runs
        .iter()
        .map(|r| {
            [
                r.id.clone(),
                // ✎: someone wrote a note on the run (`baton note`), as the console marks it.
                match r.notes {
                    0 => r.workflow.clone(),
                    _ => format!("✎ {}", r.workflow),
                },
                crate::model::health::outcome::word(r.state, r.rejected).to_string(),
                format!("{}/{}", r.steps_done, r.steps_total),
                r.health.map_or("-".into(), |h| format!("{h:.0}")),
                r.operator.clone(),
                r.started_at.to_rfc3339(),
            ]
        })
        .collect();
    let head = [
        "RUN", "WORKFLOW", "STATE", "STEPS", "HEALTH", "OPERATOR", "STARTED",
    ];
    let told = crate::model::labels::told_apart(runs);
    if told.iter().any(|t| !t.is_empty()) {
        return with_labels(head, rows, told, fans);
    }
    if !fans.iter().any(|f| !f.is_empty()) {
        return super::table::render(&head, &rows);
    }
    let rows: Vec<[String; 8]> = rows
        .into_iter()
        .enumerate()
        .map(|(k, [a, b, c, d, e, f, g])| {
            [
                a,
                b,
                c,
                d,
                e,
                f,
                g,
                fans.get(k).map(fan_text).unwrap_or_default(),
            ]
        })
        .collect();
    let [a, b, c, d, e, f, g] = head;
    super::table::render(&[a, b, c, d, e, f, g, "FAN-OUT"], &rows)
}

/// The table with a `LABELS` column (what tells each run from the others of its
/// workflow: its labels, or its params that differ: `model::labels::told_apart`), and
/// `FAN-OUT` when a run has fanned-out steps.
fn with_labels(
    head: [&str; 7],
    rows: Vec<[String; 7]>,
    told: Vec<String>,
    fans: &[Fans],
) -> String {
    let fanned = fans.iter().any(|f| !f.is_empty());
    let rows: Vec<[String; 9]> = rows
        .into_iter()
        .zip(told)
        .enumerate()
        .map(|(k, ([a, b, c, d, e, f, g], t))| {
            let fan = fans.get(k).map(fan_text).unwrap_or_default();
            [a, b, t, c, d, e, f, g, fan]
        })
        .collect();
    let [a, b, c, d, e, f, g] = head;
    if fanned {
        return super::table::render(&[a, b, "LABELS", c, d, e, f, g, "FAN-OUT"], &rows);
    }
    let rows: Vec<[String; 8]> = rows
        .into_iter()
        .map(|[a, b, t, c, d, e, f, g, _]| [a, b, t, c, d, e, f, g])
        .collect();
    super::table::render(&[a, b, "LABELS", c, d, e, f, g], &rows)
}

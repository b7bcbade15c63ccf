//! `baton runs`: every run in the store, newest first.
use super::db::{DbOpt, fail};
use super::exit;
use crate::model::RunSummary;
use clap::Args;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  baton runs\n  baton runs --json | jq '.[0].id'\n  baton runs --db ./ci.db"
)]
pub struct RunsArgs {
    /// Print a JSON array of runs (id, workflow, state, operator, started_at, …)
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub db: DbOpt,
}

pub fn run(args: RunsArgs) -> i32 {
    let store = match args.db.open() {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let runs = match store.list_runs() {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    if args.json {
        let v: Vec<_> = runs.iter().map(json).collect();
        println!("{}", serde_json::Value::Array(v));
    } else {
        print!("{}", table(&runs));
    }
    exit::OK
}

fn json(r: &RunSummary) -> serde_json::Value {
    serde_json::json!({
        "id": r.id,
        "workflow": r.workflow,
        "state": r.state,
        "operator": r.operator,
        "started_at": r.started_at.to_rfc3339(),
        "started_at_ms": r.started_at.0,
        "finished_at": r.finished_at.map(|t| t.to_rfc3339()),
        "steps_total": r.steps_total,
        "steps_done": r.steps_done,
        "health": r.health,
    })
}

/// The human table (pure, so it is tested without a terminal).
pub fn table(runs: &[RunSummary]) -> String {
    if runs.is_empty() {
        return "no runs yet; start one with `baton run WORKFLOW`\n".into();
    }
    let rows: Vec<[String; 7]> = runs
        .iter()
        .map(|r| {
            [
                r.id.clone(),
                r.workflow.clone(),
                r.state.to_string(),
                format!("{}/{}", r.steps_done, r.steps_total),
                r.health.map_or("-".into(), |h| format!("{h:.0}")),
                r.operator.clone(),
                r.started_at.to_rfc3339(),
            ]
        })
        .collect();
    super::table::render(
        &[
            "RUN", "WORKFLOW", "STATE", "STEPS", "HEALTH", "OPERATOR", "STARTED",
        ],
        &rows,
    )
}

//! `baton run WORKFLOW`: start a new run, headless or in the console.
use super::drive::{self, DriveOptions, LEASE_STALE};
use super::exit;
use crate::engine::core::{Core, RunConfig};
use crate::model::Timestamp;
use crate::store::{LeaseOutcome, NewRun, Store};
use crate::workflow::{self, Plan};
use clap::Args;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  baton run examples/hello.toml                  # console\n  baton run examples/release.toml --headless --param version=1.4.2 --auto-approve\n  baton run dag.toml --headless --events run.jsonl"
)]
pub struct RunArgs {
    /// The workflow file (TOML).
    pub workflow: PathBuf,
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Run at most N steps at once (overrides the workflow's `max_parallel`).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_parallel: Option<u32>,
    /// Approve every gate as operator `auto` (development and tests; recorded as such).
    #[arg(long)]
    pub auto_approve: bool,
}

/// What `run` and `resume` share: where the run is kept, how it is shown, who drives it.
#[derive(Debug, Args)]
pub struct EngineArgs {
    /// The database (default: $BATON_DB, else $XDG_STATE_HOME/baton/baton.db).
    #[arg(long, env = "BATON_DB")]
    pub db: Option<PathBuf>,
    /// Print transitions instead of opening the console (also when stdout is not a terminal).
    #[arg(long)]
    pub headless: bool,
    /// A run parameter, `--param name=value` (repeatable). Secret params are never
    /// stored, so `resume` needs them again.
    #[arg(long = "param", value_name = "K=V", value_parser = parse_kv)]
    pub params: Vec<(String, String)>,
    /// Who drives the run (default: $USER).
    #[arg(long)]
    pub operator: Option<String>,
    /// Also write every event as a JSON line to FILE (`-` for stdout).
    #[arg(long, value_name = "FILE|-")]
    pub events: Option<String>,
    /// Console colour theme: default, light, high-contrast, or a user theme.
    #[arg(long)]
    pub theme: Option<String>,
}

pub fn parse_kv(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("expected NAME=VALUE, got `{s}`")),
    }
}

pub fn operator_name(given: Option<&str>) -> String {
    given
        .map(str::to_string)
        .or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| "operator".into())
}

/// The values to mask: secret params and the `secrets = [...]` read from the environment.
pub fn secret_values(plan: &Plan, params: &BTreeMap<String, String>) -> Vec<String> {
    let mut out: Vec<String> = plan
        .params
        .iter()
        .filter(|p| p.secret)
        .filter_map(|p| params.get(&p.name).cloned())
        .collect();
    out.extend(
        plan.secrets
            .iter()
            .filter_map(|name| std::env::var(name).ok()),
    );
    out.retain(|v| !v.is_empty());
    out
}

pub fn new_run_id() -> String {
    ulid::Ulid::new().to_string().to_lowercase()
}

pub fn exec(args: RunArgs) -> i32 {
    let plan = match workflow::load_file(&args.workflow) {
        Ok(p) => Arc::new(p),
        Err(diags) => {
            eprint!("{diags}");
            return exit::USAGE;
        }
    };
    let params = match workflow::resolve_params(&plan, &args.engine.params) {
        Ok(p) => p,
        Err(errors) => {
            for e in errors {
                eprintln!("error: {e}");
            }
            return exit::USAGE;
        }
    };
    let db_path = drive::db_path(args.engine.db.as_deref());
    let mut store = match Store::open(&db_path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::STORAGE;
        }
    };
    let operator = operator_name(args.engine.operator.as_deref());
    let run_id = new_run_id();
    let secrets = secret_values(&plan, &params);
    let masker = crate::model::mask::Masker::new(secrets.clone());
    let masked: BTreeMap<String, String> = params
        .iter()
        .map(|(k, v)| (k.clone(), masker.mask(v).into_owned()))
        .collect();
    let source_text = std::fs::read_to_string(&args.workflow).unwrap_or_default();
    let new_run = NewRun {
        id: run_id.clone(),
        workflow: plan.name.clone(),
        source_path: std::fs::canonicalize(&args.workflow)
            .unwrap_or_else(|_| args.workflow.clone()),
        source_text: masker.mask(&source_text).into_owned(),
        params_json: serde_json::to_string(&masked).unwrap_or_default(),
        operator: operator.clone(),
        started_at: Timestamp::now(),
        steps: plan.steps.iter().map(|s| s.id.clone()).collect(),
    };
    if let Err(e) = store.create_run(&new_run) {
        eprintln!("error: {e}");
        return exit::STORAGE;
    }
    match store.acquire_lease(
        &run_id,
        &drive::lease_holder(),
        Timestamp::now(),
        LEASE_STALE,
    ) {
        Ok(LeaseOutcome::Acquired) => {}
        Ok(LeaseOutcome::HeldBy { holder, .. }) => {
            eprintln!("error: run {run_id} is already driven by {holder}");
            return exit::FAILED;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return exit::STORAGE;
        }
    }
    let cfg = RunConfig {
        run_id: run_id.clone(),
        operator: operator.clone(),
        params,
        secret_values: secrets,
        seed: rand::random(),
        auto_approve: args.auto_approve,
        max_parallel: args.max_parallel.map(|n| n as usize),
    };
    let mut core = Core::new(plan.clone(), cfg);
    let initial = core.start(Timestamp::now());
    let opts = DriveOptions {
        headless: args.engine.headless,
        events: args.engine.events,
        theme: args.engine.theme,
        operator,
        db_path,
    };
    drive::drive(store, core, initial, &run_id, &plan.name, opts)
}

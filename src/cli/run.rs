//! `baton run WORKFLOW`: start a new run, headless or in the console.
use super::drive::{self, Display};
use crate::metrics::export::Exports;
use crate::session::{self};
use crate::store::Store;
use clap::Args;
use std::path::PathBuf;

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
    /// Approve the gates that name no approvers and allow self-approval, as the account
    /// running baton (development and tests; recorded as such). The others stay open.
    #[arg(long)]
    pub auto_approve: bool,
    /// Run cached steps (`cache = true`) even when their cache key is unchanged; what
    /// they produce replaces their cache entries.
    #[arg(long)]
    pub no_cache: bool,
    /// A label on the run, `--label KEY=VALUE` (repeatable): shown and filtered by in
    /// `baton runs` and the console; `baton label` changes them later.
    #[arg(long = "label", value_name = "K=V", value_parser = super::label::parse_label)]
    pub labels: Vec<(String, String)>,
    /// Run the workflow as the child run of step STEP of run RUN, on the same store:
    /// what a step with `workflow = "…"` runs. It goes on with the child an earlier
    /// attempt of that step made, if there is one (docs/workflow/child-workflows.md).
    #[arg(long, value_name = "RUN/STEP")]
    pub parent: Option<String>,
}

/// What `run` and `resume` share: where the run is kept, how it is shown, who drives it.
#[derive(Debug, Args)]
pub struct EngineArgs {
    /// The database (default: $BATON_DB, else `db` in config.toml, else $XDG_STATE_HOME/baton/baton.db).
    #[arg(long, env = "BATON_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// A `[[store]]` of config.toml by its name, instead of --db; a store on another host runs the command there, over ssh
    #[arg(long, value_name = "NAME")]
    pub store: Option<String>,
    /// Print transitions instead of opening the console (also when stdout is not a terminal).
    #[arg(long)]
    pub headless: bool,
    /// A run parameter, `--param name=value` (repeatable). Secret params are never
    /// stored, so `resume` needs them again.
    #[arg(long = "param", value_name = "K=V", value_parser = parse_kv)]
    pub params: Vec<(String, String)>,
    /// Refused: who drives the run is the operating-system account running baton.
    #[arg(long, hide = true)]
    pub operator: Option<String>,
    /// Also write every event as a JSON line to FILE (`-` for stdout).
    #[arg(long, value_name = "FILE|-")]
    pub events: Option<String>,
    /// Console colour theme: default, light, high-contrast, or a user theme in
    /// $XDG_CONFIG_HOME/baton/themes/NAME.toml.
    #[arg(long, value_name = "NAME")]
    pub theme: Option<String>,
    /// Keep the store's metrics in PATH (Prometheus text format, replaced atomically
    /// when the store changes) for node_exporter's textfile collector.
    #[arg(long, value_name = "PATH")]
    pub metrics_file: Option<PathBuf>,
    /// Serve the store's metrics at http://ADDR/metrics while the run is driven.
    /// `PORT` alone is 127.0.0.1:PORT; port 0 picks a free one (printed on stderr).
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<String>,
}

impl EngineArgs {
    /// Everything about showing the run, checked before anything is written.
    pub fn display(&self) -> Result<Display, session::SessionError> {
        let mut display = Display::new(
            self.headless,
            self.theme.as_deref(),
            self.events.as_deref(),
            operator_name(self.operator.as_deref())?,
            drive::db_path(self.db.as_deref()),
            self.params.clone(),
        )?;
        display.metrics =
            Exports::open(self.metrics_file.as_deref(), self.metrics_listen.as_deref())
                .map_err(|e| session::SessionError::Usage(e.to_string()))?;
        Ok(display)
    }
}

/// A `--param`/`--input` that is not `NAME=VALUE` (clap says which flag).
#[derive(Debug, thiserror::Error)]
#[error("expected NAME=VALUE, got `{0}`")]
pub struct NotKeyValue(String);

pub fn parse_kv(s: &str) -> Result<(String, String), NotKeyValue> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(NotKeyValue(s.to_string())),
    }
}

/// Who acts: the OS account; a typed `--operator` is refused (exit 2).
pub fn operator_name(given: Option<&str>) -> Result<String, session::SessionError> {
    session::operator(given)
}

pub fn exec(args: RunArgs) -> i32 {
    if let Some(parent) = &args.parent {
        return super::run_child::exec(&args, parent);
    }
    // Every input is checked before the run is created: a bad workflow, `--param`,
    // `--theme` or `--events` leaves nothing in the store.
    let operator = match operator_name(args.engine.operator.as_deref()) {
        Ok(o) => o,
        Err(e) => return session::report(&e),
    };
    let loaded = match session::load_new(session::NewRunSpec {
        workflow: args.workflow.clone(),
        params: args.engine.params.clone(),
        max_parallel: args.max_parallel,
        auto_approve: args.auto_approve,
        operator,
        no_cache: args.no_cache,
        slot: None,
        parent: None,
        zone: None,
        labels: args.labels.iter().cloned().collect(),
    }) {
        Ok(l) => l,
        Err(e) => return session::report(&e),
    };
    if args.auto_approve {
        print_kept_open(&loaded.plan);
    }
    let display = match args.engine.display() {
        Ok(d) => d,
        Err(e) => return session::report(&e),
    };
    let mut store = match Store::open(&display.db_path).and_then(|s| {
        s.wait_as_engine()?;
        Ok(s)
    }) {
        Ok(s) => s,
        Err(e) => return session::report(&e.into()),
    };
    let ready = match make_here(&mut store, loaded) {
        Ok(r) => r,
        Err(e) => return session::report(&e),
    };
    drive::drive(store, ready, display)
}

/// Make the new run as [`make`] does; inside a step (its environment names the run and
/// step), recorded as that step's, one link deeper in its chain
/// (`session::step_chain`).
fn make_here(
    store: &mut Store,
    loaded: session::Loaded,
) -> Result<session::Ready, session::SessionError> {
    let Some(from) = session::step_chain::StepOrigin::from_env() else {
        return make(store, loaded, None);
    };
    let made = session::step_chain::create(store, loaded, &session::lease_holder(), &from)?;
    if let Some(said) = made.said() {
        crate::stdio::errln!("{said}");
    }
    Ok(made.ready)
}

/// Make the new run (`fork`: a fork of its run) as every front end does
/// (`session::create_run`: in the workflow's concurrency group, if it has
/// one), and say on stderr, before the run's own lines, what the group decided.
pub fn make(
    store: &mut Store,
    loaded: session::Loaded,
    fork: Option<&baton_core::ForkPlan>,
) -> Result<session::Ready, session::SessionError> {
    let made = session::create_run(store, loaded, &session::lease_holder(), fork)?;
    if let Some(said) = made.said() {
        crate::stdio::errln!("{said}");
    }
    Ok(made.ready)
}

/// Say which gates `--auto-approve` leaves to their approvers (on stderr, before the run).
pub fn print_kept_open(plan: &crate::workflow::Plan) {
    let kept = plan.gates_kept_from_auto_approve();
    if !kept.is_empty() {
        crate::stdio::errln!(
            "--auto-approve: these gates name approvers, forbid self-approval or take only signed decisions, and stay open for them: {}",
            kept.join(", ")
        );
    }
}

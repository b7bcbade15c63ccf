//! `baton fork RUN --from STEP`: a new run of a finished run's recorded workflow in
//! which STEP and every step after it run again and the others keep the old run's
//! recorded outcomes and outputs (issue 43 point 4; `session::fork`).
use super::drive;
use super::run::EngineArgs;
use crate::session::{self, exit};
use crate::store::Store;
use clap::Args;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  baton fork 01jd4 --from deploy --dry-run          # what would run again, what is reused\n  baton fork 01jd4 --from test --param version=1.4.3 --headless\n\nOnly a finished run is forked. STEP and every step downstream of it run again (a\nsucceeded one too; its gates ask again); every other step keeps the old run's\nrecorded outcome and outputs without running. Services run again.\n\nIn a group store your own run is first checked against its seal, as a takeover\nchecks it (exit 3 when another member rewrote it); another account's run, which\nonly its starter's engine can check, needs --from-run-of ACCOUNT."
)]
pub struct ForkArgs {
    /// The finished run to fork (a unique prefix is enough).
    pub run: String,
    /// The step to run again from: it and every step after it run again.
    #[arg(long, value_name = "STEP")]
    pub from: String,
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Only say what would run again and what would be reused; nothing is written.
    #[arg(long)]
    pub dry_run: bool,
    /// With `--dry-run`: one JSON object (`from_run`, `from_step`, `rerun`, `reused`).
    #[arg(long, requires = "dry_run")]
    pub json: bool,
    /// Fork another account's run (group store): name its starter, acknowledging that
    /// the fork runs that account's recorded text and params and reuses its outputs as
    /// yours, which only that account's engine can check.
    #[arg(long, value_name = "ACCOUNT")]
    pub from_run_of: Option<String>,
}

pub fn exec(args: ForkArgs) -> i32 {
    let operator = match super::run::operator_name(args.engine.operator.as_deref()) {
        Ok(o) => o,
        Err(e) => return session::report(&e),
    };
    let db = drive::db_path(args.engine.db.as_deref());
    let mut store = match Store::open_existing(&db) {
        Ok(s) => s,
        Err(e) => return session::report(&e.into()),
    };
    let run_id = match store.resolve_run(&args.run) {
        Ok(id) => id,
        Err(e) => return session::report(&e.into()),
    };
    // What the fork reuses is checked first, as a takeover checks it (exit 3, on record).
    let of = args.from_run_of.as_deref();
    let whose = match session::fork_source(&mut store, &run_id, &args.from, &operator, of) {
        Ok(w) => w,
        Err(e) => return session::report(&e),
    };
    // Every refusal of a fork is about the command as given: exit 2.
    let plan = match session::fork_plan(&store, &run_id, &args.from) {
        Ok(p) => p,
        Err(e) => return refused(&e),
    };
    let loaded = match session::load_fork(&store, &run_id, &args.engine.params, &operator) {
        Ok(l) => l,
        Err(e) => return session::report(&e),
    };
    if args.dry_run {
        say_plan(&plan, args.json);
        return exit::OK;
    }
    let display = match args.engine.display() {
        Ok(d) => d,
        Err(e) => return session::report(&e),
    };
    drop(store);
    let mut store = match Store::open(&display.db_path).and_then(|s| {
        s.wait_as_engine()?;
        Ok(s)
    }) {
        Ok(s) => s,
        Err(e) => return session::report(&e.into()),
    };
    let ready = match super::run::make(&mut store, loaded, Some(&plan)) {
        Ok(r) => r,
        Err(e) => return session::report(&e),
    };
    crate::stdio::errln!(
        "run {}: forked from run {} at {}; runs again: {}; reused: {}",
        ready.run_id,
        plan.from_run,
        plan.from_step,
        list(plan.rerun.iter()),
        list(plan.reused.iter().map(|r| &r.step))
    );
    if let Some(note) = session::fork_whose_note(&whose) {
        crate::stdio::errln!("run {}: runs {note}", ready.run_id);
    }
    drive::drive(store, ready, display)
}

/// A fork's refusal is about the command as given (the run to fork, the step): said
/// where usage errors are, exit 2.
fn refused(e: &session::SessionError) -> i32 {
    match e {
        session::SessionError::Refused { refusal, .. } => {
            crate::stdio::errln!("error: refused: {refusal}");
            exit::USAGE
        }
        other => session::report(other),
    }
}

fn list<'a>(ids: impl Iterator<Item = &'a String>) -> String {
    let v: Vec<&str> = ids.map(String::as_str).collect();
    if v.is_empty() {
        "none".to_string()
    } else {
        v.join(", ")
    }
}

/// `--dry-run`: what would run again and what would be reused (with its outcome).
fn say_plan(plan: &baton_core::ForkPlan, json: bool) {
    if json {
        let reused: Vec<serde_json::Value> = plan
            .reused
            .iter()
            .map(|r| {
                serde_json::json!({
                    "step": r.step,
                    "state": r.state,
                    "from_run": plan.from_run,
                    "from_attempt": r.attempt,
                    "outputs": r.outputs,
                })
            })
            .collect();
        let doc = serde_json::json!({
            "from_run": plan.from_run,
            "from_step": plan.from_step,
            "rerun": plan.rerun,
            "reused": reused,
        });
        crate::stdio::outln!("{doc}");
        return;
    }
    crate::stdio::outln!(
        "fork of run {} from {} (dry run: nothing is written)",
        plan.from_run,
        plan.from_step
    );
    crate::stdio::outln!("runs again: {}", list(plan.rerun.iter()));
    crate::stdio::outln!("reused from run {}:", plan.from_run);
    if plan.reused.is_empty() {
        crate::stdio::outln!("  none");
    }
    for r in &plan.reused {
        crate::stdio::outln!("  {} {} (attempt {})", r.step, r.state, r.attempt);
    }
}

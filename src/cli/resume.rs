//! `baton resume RUN`: rebuild a run from its events and continue it.
use super::drive::{self, DriveOptions, LEASE_STALE};
use super::exit;
use super::run::{EngineArgs, operator_name, secret_values};
use crate::engine::core::{Core, RunConfig};
use crate::model::Timestamp;
use crate::store::{LeaseOutcome, Store};
use crate::workflow;
use clap::Args;
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  baton resume 01jd4                     # continue in the console\n  baton resume 01jd4 --headless --param token=…   # secret params are never stored: give them again"
)]
pub struct ResumeArgs {
    /// The run id (a unique prefix is enough).
    pub run: String,
    #[command(flatten)]
    pub engine: EngineArgs,
}

pub fn exec(args: ResumeArgs) -> i32 {
    let db_path = drive::db_path(args.engine.db.as_deref());
    let mut store = match Store::open(&db_path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::STORAGE;
        }
    };
    let run_id = match store.resolve_run(&args.run) {
        Ok(id) => id,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    let record = match store.run(&run_id) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::STORAGE;
        }
    };
    if record.state.is_final() {
        eprintln!(
            "run {run_id} already finished ({}); `baton retry {run_id} STEP` re-arms a step of a running engine",
            record.state
        );
        return exit::FAILED;
    }
    // The workflow as it is now: if it changed, approvals bound to the old one are void.
    let loaded = if record.source_path.exists() {
        workflow::load_file(&record.source_path)
    } else {
        workflow::load_str(&record.source_text, &record.source_path)
    };
    let plan = match loaded {
        Ok(p) => Arc::new(p),
        Err(d) => {
            eprint!("{d}");
            return exit::USAGE;
        }
    };
    let mut given: BTreeMap<String, String> =
        serde_json::from_str(&record.params_json).unwrap_or_default();
    for (k, v) in args.engine.params {
        given.insert(k, v);
    }
    let missing: Vec<&str> = plan
        .params
        .iter()
        .filter(|p| {
            p.secret
                && given
                    .get(&p.name)
                    .is_some_and(|v| v == crate::model::mask::MASK)
        })
        .map(|p| p.name.as_str())
        .collect();
    if !missing.is_empty() {
        eprintln!(
            "error: secret params are not stored; give them again: {}",
            missing
                .iter()
                .map(|m| format!("--param {m}=…"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        return exit::USAGE;
    }
    let pairs: Vec<(String, String)> = given.into_iter().collect();
    let params = match workflow::resolve_params(&plan, &pairs) {
        Ok(p) => p,
        Err(errors) => {
            for e in errors {
                eprintln!("error: {e}");
            }
            return exit::USAGE;
        }
    };
    match store.acquire_lease(
        &run_id,
        &drive::lease_holder(),
        Timestamp::now(),
        LEASE_STALE,
    ) {
        Ok(LeaseOutcome::Acquired) => {}
        Ok(LeaseOutcome::HeldBy { holder, .. }) => {
            eprintln!(
                "error: run {run_id} is being driven by {holder}; only one engine may drive a run"
            );
            return exit::FAILED;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return exit::STORAGE;
        }
    }
    // Whatever the dead engine's steps left running goes first, found by the run id in
    // its environment: this also catches a process that left its step's group, and a
    // group whose id the engine died before recording. (Recorded groups are killed
    // again by the core's own stale-group effects; a gone group costs one kill(2).)
    let leftovers = crate::exec::run_process_groups(&run_id);
    if !leftovers.is_empty() {
        eprintln!(
            "resume: stopping {} process group(s) left running by the previous engine",
            leftovers.len()
        );
        crate::engine::driver::kill_stale(&leftovers);
    }
    let events = match store.events(&run_id) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::STORAGE;
        }
    };
    let operator = operator_name(args.engine.operator.as_deref());
    let cfg = RunConfig {
        run_id: run_id.clone(),
        operator: record.operator.clone(),
        secret_values: secret_values(&plan, &params),
        params,
        seed: 0, // replay takes the seed from RunStarted
        auto_approve: false,
        max_parallel: None,
    };
    let mut core = match Core::replay(plan.clone(), cfg, &events) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: cannot replay run {run_id}: {e}");
            return exit::STORAGE;
        }
    };
    let initial = core.resume(&operator, Timestamp::now());
    let opts = DriveOptions {
        headless: args.engine.headless,
        events: args.engine.events,
        theme: args.engine.theme,
        operator,
        db_path,
    };
    drive::drive(store, core, initial, &run_id, &plan.name, opts)
}

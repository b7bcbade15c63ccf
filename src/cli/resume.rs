//! `baton resume RUN`: rebuild an interrupted run from its events and continue it here.
use super::drive::{self, Display};
use super::run::EngineArgs;
use crate::session::{self, command};
use crate::store::Store;
use clap::Args;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  baton resume 01jd4                     # continue in the console\n  baton resume 01jd4 --detach            # continue in the background (this terminal may close)\n  baton resume 01jd4 --headless --param token=…   # secret params are never stored: give them again"
)]
pub struct ResumeArgs {
    /// The run id (a unique prefix is enough).
    pub run: String,
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Approve, from here on, the gates `run --auto-approve` would (recorded with the resume).
    /// A run started with `--auto-approve` keeps it on resume without this.
    #[arg(long)]
    pub auto_approve: bool,
    /// Drive the run in the background instead (a process of its own that outlives this
    /// terminal, its output in a file beside the run's logs), as a command's `--detach`.
    #[arg(long, conflicts_with = "auto_approve")]
    pub detach: bool,
}

pub fn exec(args: ResumeArgs) -> i32 {
    let mut display = match args.engine.display() {
        Ok(d) => d,
        Err(e) => return session::report(&e),
    };
    // The background engine of a command's `--detach` (see `session::command`): it
    // also takes a finished run, to apply the commands waiting for it, and gets its
    // params through the environment (never on a command line, where `ps` shows them).
    let serve = std::env::var_os(command::SERVE_ENV).is_some();
    if serve {
        display.params.extend(command::detached_params());
    }
    if args.detach {
        return detach(&args.run, &display);
    }
    resume(&args.run, display, serve, args.auto_approve)
}

/// `--detach`: hand the run to a background engine and say where it went.
fn detach(run: &str, display: &Display) -> i32 {
    let mut store = match Store::open_existing(&display.db_path) {
        Ok(s) => s,
        Err(e) => return session::report(&e.into()),
    };
    let run_id = match store.resolve_run(run) {
        Ok(id) => id,
        Err(e) => return session::report(&e.into()),
    };
    match command::hand_to_background(&mut store, &run_id, &display.params, &display.operator) {
        Ok((pid, log)) => {
            crate::stdio::outln!(
                "run {run_id}: driven in the background (pid {pid}); its output goes to {}; `baton tui` and `baton logs {run_id}` follow it",
                log.display()
            );
            super::exit::OK
        }
        Err(e) => session::report(&e),
    }
}

/// Take an undriven run over and drive it here. `serve_commands`: the background engine
/// of `--detach`, which also takes a finished run to apply the commands waiting for it.
pub fn resume(run: &str, display: Display, serve_commands: bool, auto_approve: bool) -> i32 {
    let mut store = match Store::open_existing(&display.db_path) {
        Ok(s) => s,
        Err(e) => return session::report(&e.into()),
    };
    let run_id = match store.resolve_run(run) {
        Ok(id) => id,
        Err(e) => return session::report(&e.into()),
    };
    match command::take_over_with(
        &mut store,
        &run_id,
        &display.params,
        &display.operator,
        None,
        serve_commands,
        auto_approve,
    ) {
        Ok((ready, _)) => {
            if auto_approve {
                super::run::print_kept_open(ready.core.plan());
            }
            drive::drive(store, ready, display)
        }
        Err(e) => session::report(&e),
    }
}

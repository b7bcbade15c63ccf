//! The command line (DESIGN §6). Each subcommand lives in its own file and returns the
//! process exit code: 0 ok, 1 run failed / refused, 2 invalid input or usage, 3 storage.
use clap::{Parser, Subcommand};

pub mod plan;
pub mod tools;
pub mod validate;
pub mod audit;
pub mod db;
pub mod logs;
pub mod runs;
pub mod show;
pub mod table;

/// Exit codes (DESIGN §3).
pub mod exit {
    pub const OK: i32 = 0;
    pub const FAILED: i32 = 1;
    pub const USAGE: i32 = 2;
    pub const STORAGE: i32 = 3;
    pub const INTERRUPTED: i32 = 130;
}

#[derive(Debug, Parser)]
#[command(
    name = "baton",
    version,
    about = "A terminal control console for workflows",
    long_about = "baton runs a workflow (a DAG of steps) with a durable orchestrator, keeps every \
                  transition and decision in SQLite, and shows it live in a terminal console \
                  where operators approve gated steps."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    Validate(validate::Args),
    Plan(plan::Args),
    Tools(tools::Args),
    /// List the runs in the store, newest first
    Runs(runs::RunsArgs),
    /// Show a run: steps, errors, health and quality
    Show(show::ShowArgs),
    /// Print a step's log output
    Logs(logs::LogsArgs),
    /// Print a run's audit trail, or verify the audit chain
    Audit(audit::AuditArgs),
}

/// Parse arguments and run; returns the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            let _ = e.print();
            return code;
        }
    };
    match cli.command {
        Cmd::Validate(a) => validate::run(&a),
        Cmd::Plan(a) => plan::run(&a),
        Cmd::Tools(a) => tools::run(&a),
        Cmd::Runs(a) => runs::run(a),
        Cmd::Show(a) => show::run(a),
        Cmd::Logs(a) => logs::run(a),
        Cmd::Audit(a) => audit::run(a),
    }
}

//! `baton approve|reject|retry|cancel|mark`: operator commands that reach the engine
//! driving a run (in this or another process) through the store's `commands` table.
use super::drive;
use super::exit;
use super::run::operator_name;
use crate::model::{Command, CommandOutcome, StepState};
use crate::store::{Store, StoreError};
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How long a command waits for an engine to take it.
pub const WAIT: Duration = Duration::from_secs(10);

#[derive(Debug, Args)]
pub struct Target {
    /// The run id (a unique prefix is enough).
    pub run: String,
    #[arg(long, env = "BATON_DB")]
    pub db: Option<PathBuf>,
    /// Who decides (default: $USER).
    #[arg(long)]
    pub operator: Option<String>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  baton approve 01jd4 deploy --reason \"canary is green\"\n  baton approve 01jd4 budget --raise cost=10 --reason \"one more batch\""
)]
pub struct ApproveArgs {
    #[command(flatten)]
    pub target: Target,
    /// The gated step, or `budget` to raise the run's budget (with --raise).
    pub step: String,
    #[arg(long)]
    pub reason: Option<String>,
    /// With step `budget`: raise ceilings by these amounts, e.g. `cost=10`, `calls=50`, `tokens=1000`.
    #[arg(long, value_name = "DIM=N")]
    pub raise: Vec<String>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  baton reject 01jd4 deploy --reason \"error rate is up in eu-west-1\""
)]
pub struct RejectArgs {
    #[command(flatten)]
    pub target: Target,
    pub step: String,
    /// Why (required: it goes on the record).
    #[arg(long)]
    pub reason: String,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  baton retry 01jd4 test   # re-arms `test` and the steps skipped because of it"
)]
pub struct RetryArgs {
    #[command(flatten)]
    pub target: Target,
    pub step: String,
}

#[derive(Debug, Args)]
#[command(after_help = "Example:\n  baton cancel 01jd4 --reason \"wrong version\"")]
pub struct CancelArgs {
    #[command(flatten)]
    pub target: Target,
    #[arg(long)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum MarkState {
    Succeeded,
    Failed,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  baton mark 01jd4 migrate --state succeeded --reason \"ran it by hand, see ticket OPS-12\""
)]
pub struct MarkArgs {
    #[command(flatten)]
    pub target: Target,
    pub step: String,
    #[arg(long, value_enum)]
    pub state: MarkState,
    /// Why (required: an override is audited).
    #[arg(long)]
    pub reason: String,
}

pub fn approve(a: ApproveArgs) -> i32 {
    let operator = operator_name(a.target.operator.as_deref());
    let command = if a.step == "budget" {
        if a.raise.is_empty() {
            eprintln!(
                "error: approving the budget needs --raise DIM=N (cost=…, calls=…, tokens=…)"
            );
            return exit::USAGE;
        }
        let Some(reason) = a.reason.clone().filter(|r| !r.trim().is_empty()) else {
            eprintln!("error: raising the budget needs --reason");
            return exit::USAGE;
        };
        let (mut cost, mut calls, mut tokens) = (None, None, None);
        for r in &a.raise {
            let parsed = r.split_once('=').and_then(|(k, v)| match k {
                "cost" => v
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite() && *x > 0.0)
                    .map(|x| cost = Some(x)),
                "calls" => v.parse::<u64>().ok().map(|x| calls = Some(x)),
                "tokens" => v.parse::<u64>().ok().map(|x| tokens = Some(x)),
                _ => None,
            });
            if parsed.is_none() {
                eprintln!(
                    "error: --raise {r}: expected cost=<positive number>, calls=<integer> or tokens=<integer>"
                );
                return exit::USAGE;
            }
        }
        Command::RaiseBudget {
            operator,
            reason,
            cost,
            calls,
            tokens,
        }
    } else {
        if !a.raise.is_empty() {
            eprintln!("error: --raise goes with step `budget`");
            return exit::USAGE;
        }
        Command::Approve {
            step: a.step,
            operator,
            reason: a.reason.filter(|r| !r.trim().is_empty()),
        }
    };
    send(&a.target, command)
}

pub fn reject(a: RejectArgs) -> i32 {
    if a.reason.trim().is_empty() {
        eprintln!("error: a rejection needs a reason (--reason \"…\")");
        return exit::USAGE;
    }
    let operator = operator_name(a.target.operator.as_deref());
    send(
        &a.target,
        Command::Reject {
            step: a.step,
            operator,
            reason: a.reason,
        },
    )
}

pub fn retry(a: RetryArgs) -> i32 {
    let operator = operator_name(a.target.operator.as_deref());
    send(
        &a.target,
        Command::Retry {
            step: a.step,
            operator,
        },
    )
}

pub fn cancel(a: CancelArgs) -> i32 {
    let operator = operator_name(a.target.operator.as_deref());
    send(
        &a.target,
        Command::Cancel {
            operator,
            reason: a.reason,
        },
    )
}

pub fn mark(a: MarkArgs) -> i32 {
    if a.reason.trim().is_empty() {
        eprintln!("error: marking a step needs a reason (--reason \"…\")");
        return exit::USAGE;
    }
    let operator = operator_name(a.target.operator.as_deref());
    let state = match a.state {
        MarkState::Succeeded => StepState::Succeeded,
        MarkState::Failed => StepState::Failed,
    };
    send(
        &a.target,
        Command::Mark {
            step: a.step,
            state,
            operator,
            reason: a.reason,
        },
    )
}

/// Submit the command, wait for the engine's verdict, print it.
fn send(target: &Target, command: Command) -> i32 {
    let db = drive::db_path(target.db.as_deref());
    let mut store = match Store::open(&db) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::STORAGE;
        }
    };
    let run_id = match store.resolve_run(&target.run) {
        Ok(id) => id,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    match submit_and_wait(&mut store, &run_id, &command, WAIT) {
        Ok(outcome) => report(&run_id, outcome),
        Err(e) => {
            eprintln!("error: {e}");
            exit::STORAGE
        }
    }
}

/// Put the command in the store's `commands` table and wait for the engine driving the
/// run to take it. A command no engine takes within `wait` is withdrawn (refused), so it
/// cannot apply by surprise when an engine comes back later.
pub fn submit_and_wait(
    store: &mut Store,
    run_id: &str,
    command: &Command,
    wait: Duration,
) -> Result<CommandOutcome, StoreError> {
    let id = store.submit_command(run_id, command)?;
    let start = Instant::now();
    loop {
        if let Some(outcome) = store.command_outcome(id)? {
            return Ok(outcome);
        }
        if start.elapsed() >= wait {
            let reason = format!(
                "no engine took the command within {}s: is run {run_id} being driven? (`baton resume {run_id}` continues it)",
                wait.as_secs()
            );
            if store.withdraw_command(id, &reason)? {
                return Ok(CommandOutcome::Refused { reason });
            }
            // An engine took it: its verdict is the one on record, so wait for it (an
            // engine that died holding it never answers: say so, and where to look).
            return wait_for_verdict(store, run_id, id, wait);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wait_for_verdict(
    store: &Store,
    run_id: &str,
    id: i64,
    wait: Duration,
) -> Result<CommandOutcome, StoreError> {
    let start = Instant::now();
    loop {
        if let Some(outcome) = store.command_outcome(id)? {
            return Ok(outcome);
        }
        if start.elapsed() >= wait {
            return Ok(CommandOutcome::Refused {
                reason: format!(
                    "the engine took the command but gave no answer within {}s; whether it was applied shows in `baton show {run_id}`",
                    wait.as_secs()
                ),
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn report(run_id: &str, outcome: CommandOutcome) -> i32 {
    match outcome {
        CommandOutcome::Accepted { message } => {
            println!("accepted: {message} (run {run_id})");
            exit::OK
        }
        CommandOutcome::Refused { reason } => {
            println!("refused: {reason} (run {run_id})");
            exit::FAILED
        }
    }
}

//! `baton hold|release` (issue 43): pause steps of a run, or the run, without failing
//! or cancelling anything, and let them go on. Sent as every operator command is
//! (`control::send`): to the engine that drives the run, or taking an undriven run
//! over; audited under the OS account.
use super::control::{self, Target};
use super::run::operator_name;
use crate::model::{Command, Timestamp};
use crate::session;
use clap::Args;

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    baton hold 01jd4 deploy --reason \"change freeze\" --until 2026-11-26T08:00:00Z\n  \
    baton hold 01jd4 --freeze --reason \"the cluster is being drained\"   # the whole run\n  \
    baton release 01jd4 deploy --reason \"freeze over\"")]
pub struct HoldArgs {
    #[command(flatten)]
    pub target: Target,
    /// The steps to hold; none: the run (every step that has not started, and with
    /// --freeze the running ones). A running step named here is frozen: its process
    /// group stopped (SIGSTOP), or its Slurm job suspended.
    pub steps: Vec<String>,
    /// Why (required: recorded in the audit trail, shown in the inbox).
    #[arg(long)]
    pub reason: String,
    /// Release by itself then: a time (RFC 3339, `2026-11-26T08:00:00Z`) or a
    /// duration from now (`30m`, `2h`).
    #[arg(long, value_name = "TIME", value_parser = parse_until)]
    pub until: Option<Timestamp>,
    /// Holding the run: freeze its running steps too.
    #[arg(long)]
    pub freeze: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  baton release 01jd4 --reason \"freeze over\"   # every held step"
)]
pub struct ReleaseArgs {
    #[command(flatten)]
    pub target: Target,
    /// The held steps to release; none: every held step of the run.
    pub steps: Vec<String>,
    /// Why (required: recorded in the audit trail).
    #[arg(long)]
    pub reason: String,
}

/// `--until` that is neither a time nor a duration.
#[derive(Debug, thiserror::Error)]
#[error(
    "`{0}` is neither a time (RFC 3339, e.g. 2026-11-26T08:00:00Z) nor a duration from now (e.g. 30m)"
)]
pub struct NotATime(String);

/// `--until`: an RFC 3339 time, or a duration from now.
pub fn parse_until(s: &str) -> Result<Timestamp, NotATime> {
    if let Some(t) = Timestamp::parse_rfc3339(s) {
        return Ok(t);
    }
    match crate::workflow::parse_duration(s) {
        Ok(d) => Ok(Timestamp::now().add(d)),
        Err(_) => Err(NotATime(s.to_string())),
    }
}

pub fn hold(a: HoldArgs) -> i32 {
    let operator = match operator_name(a.target.operator.as_deref()) {
        Ok(o) => o,
        Err(e) => return session::report(&e),
    };
    let command = Command::Hold {
        steps: a.steps,
        operator,
        reason: a.reason,
        until: a.until,
        freeze: a.freeze,
    };
    control::send(&a.target, command)
}

pub fn release(a: ReleaseArgs) -> i32 {
    let operator = match operator_name(a.target.operator.as_deref()) {
        Ok(o) => o,
        Err(e) => return session::report(&e),
    };
    let command = Command::Release {
        steps: a.steps,
        operator,
        reason: a.reason,
    };
    control::send(&a.target, command)
}

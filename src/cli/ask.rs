//! `baton ask`: put a question to a person and wait for the decision (issue 44 point
//! 5). Exit 0 approved, 1 rejected, 3 timed out, 2 bad usage, 5 no decision could be
//! had (the store or the system failed: never 1 or 3, which other commands use for
//! failures, so that a script tells a broken store from a rejection or a timeout). Run by a step, the ask is
//! the step's; by any other process, the store's (naming the asking account, pid and
//! command line). See `session::ask`.
use super::db::{DbOpt, fail};
use super::exit;
use crate::model::ask::{self, AskState};
use crate::session::{self, ask as asking};
use clap::Args;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  baton ask --prompt \"run DROP TABLE users?\" --approvers alice,bob --timeout 10m\n  baton ask --prompt \"which table?\" --input table=string:[a-z_]+ --json\n  baton ask --prompt \"ship it?\" --input env=enum:staging|prod --quorum 2\n\nExit status: 0 approved, 1 rejected, 3 timed out (no decision within --timeout), 2 bad usage,\n5 the store or the system failed (no decision could be had).\nAnswer it with `baton approve ASK_ID` / `baton reject ASK_ID --reason …`, the console's\nWaiting tab, or `baton inbox`, which lists it."
)]
pub struct AskArgs {
    /// The question (shown in the inbox, the console and the audit).
    #[arg(long)]
    pub prompt: String,
    /// A value the approver gives: `NAME=TYPE[:pattern]`, TYPE one of `string` (its
    /// pattern a regex matching the whole value), `int`, `bool`, `enum:a|b|c`
    /// (repeatable; every input is required).
    #[arg(long = "input", value_name = "NAME=TYPE[:pattern]")]
    pub inputs: Vec<String>,
    /// Who may decide (OS account names, comma-separated; none: anyone but you).
    #[arg(long, value_delimiter = ',', value_name = "A,B")]
    pub approvers: Vec<String>,
    /// How many approvals it takes.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub quorum: u32,
    /// Take only SSH-signed answers, as a gate's `signed = true`: by a key the allowed
    /// signers list under one of --approvers (required), never the asking account's;
    /// checked when answered and again by `baton audit verify`. The allowed signers
    /// come from --allowed-signers, else, for a step's ask, from its run's workflow.
    #[arg(long, conflicts_with = "allow_self_approval", requires = "approvers")]
    pub signed: bool,
    /// The allowed-signers file (`ssh-keygen -Y verify`'s format) of a --signed ask;
    /// its text is kept with the ask.
    #[arg(long, value_name = "FILE", requires = "signed")]
    pub allowed_signers: Option<std::path::PathBuf>,
    /// Let the asking OS account approve its own ask (as a gate's
    /// `allow_self_approval = true`); by default it may not. Never with --signed.
    #[arg(long)]
    pub allow_self_approval: bool,
    /// Give up after this long (e.g. `30s`, `10m`): exit 3, recorded as expired.
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout)]
    pub timeout: Option<std::time::Duration>,
    /// Print the decision as one JSON object: `{"ask", "state", "decided_by",
    /// "approvers" (who may decide, kept whatever became of the ask), "votes" (who
    /// voted to approve), "reason", "inputs", "run_id", "step"}`.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub db: DbOpt,
}

fn parse_timeout(s: &str) -> Result<std::time::Duration, crate::workflow::DurationError> {
    crate::workflow::parse_duration(s).and_then(|d| {
        if d.is_zero() {
            Err(crate::workflow::DurationError::Zero("timeout"))
        } else {
            Ok(d)
        }
    })
}

pub fn run(a: AskArgs) -> i32 {
    let mut inputs = Vec::new();
    for spec in &a.inputs {
        match ask::parse_input(spec) {
            Ok(i) => inputs.push(i),
            Err(e) => {
                crate::stdio::errln!("error: --input {e}");
                return exit::USAGE;
            }
        }
    }
    if a.prompt.trim().is_empty() {
        crate::stdio::errln!(
            "error: --prompt is empty: say what you ask, e.g. --prompt \"run DROP TABLE users?\""
        );
        return exit::USAGE;
    }
    let question = asking::Question {
        prompt: a.prompt.clone(),
        inputs,
        approvers: a
            .approvers
            .iter()
            .filter_map(|s| crate::model::clean_name(s).map(str::to_string))
            .collect(),
        quorum: a.quorum,
        timeout: a.timeout,
        allow_self_approval: a.allow_self_approval,
        signers: None,
    };
    let path = a.db.path();
    let mut store = match crate::store::Store::open(&path) {
        Ok(s) => s,
        Err(e) => return exit::ask_failed(fail(&e)),
    };
    let mut question = question;
    if a.signed {
        match asking::signers_for(&store, a.allowed_signers.as_deref()) {
            Ok(text) => question.signers = Some(text),
            Err(e) => return exit::ask_failed(session::report(&e)),
        }
    }
    let opened = match asking::open(&mut store, &question) {
        Ok(x) => x,
        Err(e) => return exit::ask_failed(session::report(&e)),
    };
    crate::stdio::errln!(
        "asked ({}): waiting for a decision; `baton approve {} --reason …` or `baton reject {} --reason …`",
        opened.id,
        opened.id,
        opened.id
    );
    let done = match asking::wait(&mut store, &path, &opened) {
        Ok(x) => x,
        Err(e) => return exit::ask_failed(session::report(&e)),
    };
    let state = done.state;
    if a.json {
        if let Err(e) = crate::stdio::out_json_line(&asking::json(&done, state)) {
            crate::stdio::errln!("error: {e}");
            return exit::ASK_BROKEN;
        }
    } else {
        let by = done.decided_by.as_deref().unwrap_or("nobody");
        let why = done
            .reason
            .as_deref()
            .map(|r| format!(": {}", crate::model::sanitize::one_line(r)))
            .unwrap_or_default();
        match state {
            AskState::Approved => {
                crate::stdio::outln!("approved by {by}{why}");
                for (k, v) in done.values.iter().flatten() {
                    crate::stdio::outln!("  {k}={}", crate::model::sanitize::for_terminal(v));
                }
            }
            AskState::Rejected => crate::stdio::outln!("rejected by {by}{why}"),
            _ => crate::stdio::outln!("expired: no decision in time"),
        }
    }
    match state {
        AskState::Approved => exit::OK,
        AskState::Rejected => exit::FAILED,
        _ => exit::ASK_TIMED_OUT,
    }
}

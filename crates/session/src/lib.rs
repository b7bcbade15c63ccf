//! The session layer: between the front ends (`cli`, `tui`) and the machinery
//! (`engine`, `store`). One place owns starting, resuming and following a run,
//! submitting commands on any run (driven here, by another live engine, or by none),
//! and serving the console's requests, so that `baton run`, `baton tui` and the
//! operator commands all behave the same way.
//!
//! - `prepare`: a new run from a workflow file, or a recorded run rebuilt from its
//!   events; the one place a `RunConfig` is built.
//! - `host`: an engine hosted in this process (lease, leftovers, driver).
//! - [`command`]: a command on any run, routed to its live engine or applied by taking
//!   the run over.
//! - `inspect`: the one reading of a run (its events replayed through the core): the
//!   console, `show`, `logs` and `runs --json` read a run through it.
//! - `follow`: a run another engine drives, rebuilt from its events as they arrive.
//! - `inbox`: what waits on a person across every run (gates, budgets, marks).
//! - `console`: the service behind the console, the same for `run` and `tui`.
//! - `concurrency`: a new run of a concurrency group, admitted, queued or skipped
//!   as the store decides.
//! - `diff`: two runs' differences as they recorded them (`baton diff`, the console's
//!   Runs tab).
// `pub` means API: the modules are private and what other crates use is re-exported
// below, a name that would say too little at the root under a clearer one
// (`create_run`, `read_inbox`, `fork_plan`). Kept public as deliberate namespaces
// (with `exit` below), because their items are verbs or settings that read well only
// behind their module's name (`command::apply`, `ask::open`, `ask::answer`,
// `schedules::pause`, `config::read`, `stdio::outln!`, `exit::USAGE`) and would clash
// or mislead at the root (`read`, `open`, `apply`, `answer`, `json`); their items no
// other crate uses are `pub(crate)`. `child` too (`child::find`, `child::decide`,
// `child::create`: what `baton run --parent` does for a child-run step), and
// `step_chain` (`step_chain::create`: what a step's own `baton run` does), and
// `approval_page` (`approval_page::decide`: the page's decision without its HTTP, which
// `baton serve` and the simulator's hand both call).
pub mod approval_page;
pub mod ask;
pub mod command;
pub mod config;
pub mod desk;
pub mod link_client;
pub mod link_server;
pub mod remote;
pub mod schedules;
pub mod stdio;
/// A webhook delivery's checks (`webhook::verify_signature`, `webhook::params_of_body`).
pub mod webhook;

mod ask_book;
pub mod child;
mod concurrency;
mod console;
mod diff;
mod follow;
mod fork;
mod host;
mod identity;
mod inbox;
mod inspect;
mod jobs;
mod label;
mod link_decide;
mod news;
pub mod note;
mod one_name;
mod prepare;
mod run_list;
mod serve;
mod signing;
pub mod step_chain;

pub use ask_book::AskBook;
pub use concurrency::create as create_run;
/// Every decision of `create_run` and nothing that waits: the run recorded, and the
/// cancels its admission asks, which a caller on its own clock (the simulator) hands
/// in itself.
pub use concurrency::{Admitting, admit as admit_run, hand_in_ask};
pub use console::{Ended, Service, Stop};
pub use diff::records as diff_records;
pub use follow::Follow;
pub use fork::{
    checked_source as fork_source, load as load_fork, plan as fork_plan,
    whose_note as fork_whose_note,
};
pub use host::{
    clear_leftovers, drive_headless, lease_holder, leftovers_kept, runtime, serve_runtime,
};
pub use identity::{operator, os_account};
pub use inbox::read as read_inbox;
pub use inspect::{add_budgets, inspect, plan_of};
pub use news::News;
pub use prepare::{
    Loaded, NewRunSpec, Ready, Unwritten, db_path, load_new, load_plan, run_config,
    split_persisted, take_lease, unwritten,
};
pub use run_list::FIRST_PAGE as RUN_LIST_FIRST_PAGE;
/// The serve's checks of the pauses and backfilled slots it finds in the store, for
/// the simulator (crates/sim), which plays the serve on its own clock.
pub use serve::proofs::{backfill_proved, pauses as prove_pauses};
pub use serve::schedule_facts;
pub use serve::{
    Delivery, HookAnswer, HookDesk, HookInbox, Readiness, SERVE_LEASE, ServeOptions, hook_desk,
    serve, take_serve_lease,
};
pub use signing::{CounterError, SignWith, message_for, passkey_counter_rises, sign_command};

use baton_model::{Refusal, RunState};
use baton_store::StoreError;

/// Exit codes (docs/commands.md, "Exit codes"): the session decides them, the front ends return them.
pub mod exit {
    pub const OK: i32 = 0;
    pub const FAILED: i32 = 1;
    pub const USAGE: i32 = 2;
    pub const STORAGE: i32 = 3;
    pub const SKIPPED: i32 = baton_model::state::SKIPPED_EXIT;
    pub const INTERRUPTED: i32 = 130;
    /// `baton ask`: no decision within `--timeout` (the contract, kept).
    pub const ASK_TIMED_OUT: i32 = 3;
    /// `baton ask`: no decision could be had, the store or the system failed (the 3
    /// and 1 other commands use for these would read as a timeout or a rejection).
    pub const ASK_BROKEN: i32 = 5;

    /// The exit code of a `baton ask` that failed with `code` (as another command
    /// would have exited): usage stays 2, everything else is [`ASK_BROKEN`], never
    /// one of the decisions' codes.
    pub fn ask_failed(code: i32) -> i32 {
        if code == USAGE { USAGE } else { ASK_BROKEN }
    }

    /// A refused command's exit code: 2 when the command as given can never apply
    /// (fix the command), else 1.
    pub fn refused(r: &baton_model::Refusal) -> i32 {
        if r.fix_the_command() { USAGE } else { FAILED }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// Bad input: a workflow, a parameter, an unknown run (exit 2).
    #[error("{0}")]
    Usage(String),
    /// A workflow's diagnostics, already formatted (`FILE:LINE:COL: error: …`; exit 2).
    #[error("{0}")]
    Diagnostics(String),
    /// The command cannot apply; `state` is the run's state now (exit 1, or 2 for
    /// a command wrong as given: [`Refusal::fix_the_command`]).
    #[error("refused: {refusal} (run {run_id} is {state})")]
    Refused {
        run_id: String,
        state: RunState,
        refusal: Box<Refusal>,
    },
    /// Another live engine drives the run (exit 1 where that is a refusal).
    #[error("run {run_id} is driven by {holder}; only one engine may drive a run")]
    Driven { run_id: String, holder: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored history cannot be replayed into the current workflow (exit 3).
    #[error("cannot replay run {run_id}: {why}")]
    Replay { run_id: String, why: String },
    /// The process could not do its part (a runtime, a signal handler, a child).
    #[error("{0}")]
    System(String),
    /// Resume could not ask an executor whether steps the dead engine started there
    /// still run (exit 1: try again once it answers).
    #[error(
        "run {run_id} is not resumed: executor `{executor}` could not be asked what the stopped engine left there ({why}), and it may still run step(s) {steps}, started without a job or process on record; resume again once `{executor}` answers (`baton executors WORKFLOW` asks it)"
    )]
    Unanswered {
        run_id: String,
        executor: String,
        why: String,
        steps: String,
    },
}

impl SessionError {
    pub fn exit_code(&self) -> i32 {
        match self {
            SessionError::Usage(_) | SessionError::Diagnostics(_) => exit::USAGE,
            SessionError::Refused { refusal, .. } => exit::refused(refusal),
            SessionError::Driven { .. } => exit::FAILED,
            SessionError::Store(e) if e.is_usage() => exit::USAGE,
            SessionError::Store(_) | SessionError::Replay { .. } => exit::STORAGE,
            SessionError::System(_) | SessionError::Unanswered { .. } => exit::FAILED,
        }
    }
}

/// Print an error for a terminal or a log: diagnostics as they are, the rest after
/// `error: `. Returns the exit code it stands for.
pub fn report(e: &SessionError) -> i32 {
    match e {
        // Formatted diagnostics may or may not end their last line: it is always ended.
        SessionError::Diagnostics(d) => crate::stdio::errln!("{}", d.trim_end_matches('\n')),
        // A command wrong as given is a usage error, said where usage errors are.
        SessionError::Refused { refusal, .. } if refusal.fix_the_command() => {
            crate::stdio::errln!("error: {e}")
        }
        SessionError::Refused { .. } => crate::stdio::outln!("{e}"),
        other => crate::stdio::errln!("error: {other}"),
    }
    e.exit_code()
}

/// The exit code of a run that ended in `state` (a signal's code wins).
pub fn run_exit_code(state: RunState, signal_exit: Option<i32>) -> i32 {
    match (signal_exit, state) {
        (Some(code), _) => code,
        (None, RunState::Interrupted) => exit::INTERRUPTED,
        (None, s) => s.exit_code(),
    }
}

//! The command line (docs/commands.md). Each subcommand lives in its own file and returns the
//! process exit code: 0 ok, 1 run failed / refused, 2 invalid input or usage, 3 storage.
use clap::{Parser, Subcommand};

pub mod ask;
pub mod audit;
pub mod cache;
pub mod complete_ids;
pub mod completions;
pub mod console;
mod console_desk;
mod console_remote;
pub mod control;
pub mod db;
pub mod delete;
pub mod diff;
pub mod drive;
pub mod events;
pub mod executors;
pub mod fork;
pub mod history;
pub mod hold;
pub mod import;
pub mod inbox;
mod inbox_all;
pub mod input_file;
pub mod label;
pub mod link;
pub mod logs;
mod logs_all;
pub mod metrics;
pub mod note;
pub mod passkey;
pub mod plan;
pub mod resume;
pub mod run;
mod run_child;
pub mod runs;
pub mod schedules;
pub mod serve;
pub mod show;
pub mod show_json;
mod show_notes;
pub mod store_init;
pub mod stores;
pub mod table;
pub mod tools;
pub mod triggers;
pub mod validate;
pub mod verdict;

/// Exit codes (docs/commands.md, "Exit codes"): decided by the session layer.
pub use crate::session::exit;

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
    /// Run a workflow: the console on a terminal, or headless (--headless, or no terminal)
    Run(run::RunArgs),
    Validate(validate::Args),
    Plan(plan::Args),
    Tools(tools::Args),
    /// Turn a GitHub Actions workflow or a Dagu DAG into a baton workflow, with a report of what did not map
    Import(import::Args),
    /// List a workflow's executors, their labels and whether each cluster answers
    Executors(executors::Args),
    /// Everything that waits on a person across the store's runs: open gates, exhausted budgets, steps to mark
    Inbox(inbox::InboxArgs),
    /// List the runs in the store, newest first; `runs rm RUN…` deletes runs
    Runs(runs::RunsArgs),
    /// Delete runs that ended longer ago than --older-than, and their logs
    Gc(delete::GcArgs),
    /// Show a run: steps, errors, health, quality and golden signals
    Show(show::ShowArgs),
    /// What changed between two runs: a unified diff of their workflow texts and params
    Diff(diff::DiffArgs),
    /// Print a step's log output, or every step's interleaved
    Logs(logs::LogsArgs),
    /// A step's durations across its workflow's runs (p50, p95), failure rate and slowest runs
    History(history::HistoryArgs),
    /// Print a run's events from the store (--follow: until the run ends)
    Events(events::EventsArgs),
    /// Print a run's audit trail, or verify the audit chain
    Audit(audit::AuditArgs),
    /// Print the store's metrics for Prometheus (text format, or OpenMetrics)
    Metrics(metrics::MetricsArgs),
    /// List or clear the results cached steps keep (`cache = true`)
    Cache(cache::CacheArgs),
    /// Approve a gated step (or raise an exhausted budget: --raise DIM=N, with no STEP; or answer an ask: `approve ask-…`)
    Approve(control::ApproveArgs),
    /// Ask a person and wait for the decision: exit 0 approved, 1 rejected, 3 timed out
    Ask(ask::AskArgs),
    /// Reject a gated step, with a reason
    Reject(control::RejectArgs),
    /// Push a gate back with feedback: its `revise` steps run again, then it opens again
    PushBack(control::PushBackArgs),
    /// Re-arm a failed, rejected or interrupted step and the steps skipped because of it
    Retry(control::RetryArgs),
    /// Cancel a run: running steps are killed, compensations run
    Cancel(control::CancelArgs),
    /// Set a step's outcome by hand (audited, reason required)
    Mark(control::MarkArgs),
    /// Hold steps of a run (or the run) without failing them; a running one is frozen
    Hold(hold::HoldArgs),
    /// Release held steps: they start, or a frozen one runs on
    Release(hold::ReleaseArgs),
    /// Set or remove a run's labels (`k=v`, `k-`): on record under your account
    Label(label::LabelArgs),
    /// Write a note on a run or a step: on record under your account, shown by `show`, the console and the lists
    Note(note::NoteArgs),
    /// Continue an interrupted run from its event log
    Resume(resume::ResumeArgs),
    /// A new run of a finished run from a step: it and what follows run again, the rest is reused
    Fork(fork::ForkArgs),
    /// Open the console over every run in the store, live and past
    Tui(console::TuiArgs),
    /// The console's link over this host's store on stdin/stdout, for a console elsewhere (`ssh HOST baton link`; docs/link-protocol.md)
    #[command(hide = true)]
    Link(link::LinkArgs),
    /// Enrol a passkey (a phone's, a security key's) that signs decisions: prints its allowed-signers line
    Passkey(passkey::PasskeyArgs),
    /// Serve a directory of workflows: start each at its `[[schedule]]` slots, drive the runs
    Serve(serve::ServeArgs),
    /// List the schedules `baton serve` serves: next slot, last run, paused or not
    Schedules(schedules::SchedulesArgs),
    /// Pause, resume or trigger a served schedule (audited under your account)
    Schedule(schedules::ScheduleArgs),
    /// List the triggers `baton serve` serves: their last events and what they started
    Triggers(triggers::TriggersArgs),
    /// Pause or resume a served trigger (audited under your account)
    Trigger(triggers::TriggerArgs),
    /// Make a store (`store init`), private or shared by a group
    Store(store_init::StoreArgs),
    /// Print a shell completion script (bash, zsh, fish, …)
    Completions(completions::CompletionsArgs),
    /// Print the man page (or write one per subcommand with --out)
    Man(completions::ManArgs),
    /// Run and step ids for the completion scripts (called by them, never typed)
    #[command(name = "__complete", hide = true)]
    Complete(complete_ids::CompleteArgs),
}

impl Cmd {
    /// A command that prints and drives nothing: a closed stdout may stop it (`stdio`).
    fn only_prints(&self) -> bool {
        matches!(
            self,
            Cmd::Validate(_)
                | Cmd::Plan(_)
                | Cmd::Tools(_)
                | Cmd::Import(_)
                | Cmd::Runs(_)
                | Cmd::Inbox(_)
                | Cmd::Show(_)
                | Cmd::Diff(_)
                | Cmd::Logs(_)
                | Cmd::History(_)
                | Cmd::Events(_)
                | Cmd::Audit(_)
                | Cmd::Metrics(_)
                | Cmd::Schedules(_)
                | Cmd::Triggers(_)
                | Cmd::Completions(_)
                | Cmd::Man(_)
                | Cmd::Complete(_)
        )
    }
}

/// Parse arguments and run; returns the exit code.
pub fn main() -> i32 {
    // Before any process is started: its exit must be baton's to wait for.
    crate::exec::reap_own_children();
    // An empty `BATON_DB` (`BATON_DB= baton runs`, a CI template) means unset, as an
    // empty `PATH` entry means nothing: not a `--db` given without a value.
    if std::env::var_os("BATON_DB").is_some_and(|v| v.is_empty()) {
        // SAFETY: the first thing the process does; no other thread exists yet to read
        // the environment.
        unsafe { std::env::remove_var("BATON_DB") };
    }
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
    if cli.command.only_prints() {
        crate::stdio::default_sigpipe();
    }
    // Every command reads the user's configuration; a wrong one is a usage error.
    // The console's `[keys]` are checked here too, so a wrong binding stops every command.
    match crate::console::checked_config(crate::config::read()) {
        Ok((c, _)) => crate::config::install(c),
        Err(d) => {
            crate::stdio::errln!("{d}");
            return exit::USAGE;
        }
    }
    // `--store NAME`: a local store is its file; a remote one runs the command there.
    let cli = match stores::route(cli) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    match cli.command {
        Cmd::Run(a) => run::exec(a),
        Cmd::Validate(a) => validate::run(&a),
        Cmd::Plan(a) => plan::run(&a),
        Cmd::Tools(a) => tools::run(&a),
        Cmd::Import(a) => import::run(&a),
        Cmd::Executors(a) => executors::run(&a),
        Cmd::Inbox(a) => inbox::run(a),
        Cmd::Runs(a) => runs::run(a),
        Cmd::Gc(a) => delete::gc(a),
        Cmd::Show(a) => show::run(a),
        Cmd::Diff(a) => diff::run(a),
        Cmd::Logs(a) => logs::run(a),
        Cmd::History(a) => history::run(a),
        Cmd::Events(a) => events::run(a),
        Cmd::Audit(a) => audit::run(a),
        Cmd::Metrics(a) => metrics::run(a),
        Cmd::Cache(a) => cache::run(a),
        Cmd::Approve(a) => control::approve(a),
        Cmd::Ask(a) => ask::run(a),
        Cmd::Reject(a) => control::reject(a),
        Cmd::PushBack(a) => control::push_back(a),
        Cmd::Retry(a) => control::retry(a),
        Cmd::Cancel(a) => control::cancel(a),
        Cmd::Mark(a) => control::mark(a),
        Cmd::Hold(a) => hold::hold(a),
        Cmd::Release(a) => hold::release(a),
        Cmd::Label(a) => label::label(a),
        Cmd::Note(a) => note::run(a),
        Cmd::Resume(a) => resume::exec(a),
        Cmd::Fork(a) => fork::exec(a),
        Cmd::Tui(a) => console::exec(a),
        Cmd::Passkey(a) => passkey::run(a),
        Cmd::Serve(a) => serve::exec(a),
        Cmd::Link(a) => link::exec(&a),
        Cmd::Schedules(a) => schedules::list(a),
        Cmd::Schedule(a) => schedules::exec(a),
        Cmd::Triggers(a) => triggers::list(a),
        Cmd::Trigger(a) => triggers::exec(a),
        Cmd::Store(a) => store_init::run(a),
        Cmd::Completions(a) => completions::completions(&a),
        Cmd::Man(a) => completions::man(&a),
        Cmd::Complete(a) => complete_ids::complete(&a),
    }
}

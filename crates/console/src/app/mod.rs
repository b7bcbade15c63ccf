//! The console's own state (what is selected, which tab, open dialogs) and the pure
//! `update` that turns an operator action into new UI state plus requests for the
//! shell (commands to the engine, open a run, resume, exit).
//!
//! - `tabs`: every tab described once (title, `:` names, `/` filter, keys, update,
//!   view), the one list the tab line, number keys, help and footer read.
//! - `actions`: what the operator asks for (`Action`), what `update` asks the shell to
//!   do (`Request`) and click targets.
//! - `state`: `UiState`, overlays, toasts, the DAG layout kept per run.
//! - `update`: the dispatch by context and the main view's handlers.
//! - `schedules`: the Schedules tab and its pause / resume / trigger dialog.
//! - `run_form`: a new run's params, from a schedule (`n`) or `:run FILE`;
//!   `run_diff`: the Runs tab's diff of two runs (`D`).
//! - `edit`: the approve dialog's edits in `$EDITOR` and their diff against the proposal.
//! - `dag`, `runs`, `log`, `dialogs`: each tab's, the log's and each dialog's state and
//!   handlers.
//! - `filter`: the one `/` filter of every list; `lists`: the filtered lists and their
//!   selections; `help`: the help's search and Enter that runs a key.
//! - `targets`: what an action is about (the gate, the step, what `y` copies) and
//!   whether it is offered now.
//! - `user_actions`: the configuration's `[[action]]`s: scope, confirmation, command.
pub(crate) mod action_log;
mod actions;
mod dag;
mod dialogs;
mod edit;
mod fan;
mod filter;
mod fork;
mod help;
mod history;
mod hold;
mod jump;
mod keep;
mod lists;
mod log;
mod mark;
mod note;
mod notices;
mod retry_failed;
mod run_diff;
mod run_form;
mod runs;
mod schedules;
mod state;
mod tabs;
mod targets;
mod timeline;
mod update;
mod user_actions;
mod waiting;

pub(crate) use actions::Hits;
pub use actions::{Action, ConsoleExit, Hit, Request, Tab};
pub use dialogs::Dialog;
pub(crate) use dialogs::{
    BudgetDialog, BudgetField, ConfirmDialog, ConfirmWhat, Decision, GateDialog, InputField,
    QuitButton,
};
pub(crate) use edit::{DiffLine, preview};
pub use fan::shown_steps;
pub(crate) use fan::{MAX_LABEL, node_label, rows_match};
#[cfg(test)]
pub(crate) use filter::Filter;
pub(crate) use fork::ForkDialog;
pub use fork::ForkPreview;
pub(crate) use help::{help_at, help_entries};
pub(crate) use hold::HoldDialog;
pub(crate) use lists::filter_note;
pub(crate) use log::LogState;
pub(crate) use log::{search_from, show_match};
pub(crate) use mark::MarkDialog;
pub(crate) use note::NoteDialog;
pub(crate) use run_form::RunFormDialog;
pub(crate) use runs::short_id;
pub(crate) use schedules::{ScheduleDialog, SchedulePick};
pub use state::UiState;
pub(crate) use state::{Overlay, run_is_live};
pub(crate) use targets::hint_word;
pub use targets::offered;
pub use update::update;
pub(crate) use user_actions::{
    Ended, Finished, Prepared, UserRun, pane_first_row, running, shown_run,
};
pub(crate) use waiting::WaitGone;
// What `Action::UserDone` and `Request::RunAction` carry, under the crate's names.
pub use user_actions::{
    Ended as ActionEnded, Finished as ActionFinished, Prepared as ActionPrepared,
};
#[cfg(test)]
use {
    dag::visible_steps,
    edit::{DIFF_PAGE, proposal_diff},
    runs::{RunIds, RunsSort},
    state::{TOAST_ERROR_FOR, TOAST_OK_FOR},
};

#[cfg(test)]
mod decide_tests;
#[cfg(test)]
mod edit_tests;
#[cfg(test)]
mod fork_form_tests;
#[cfg(test)]
mod fork_tests;
#[cfg(test)]
mod history_tests;
#[cfg(test)]
mod hold_tests;
#[cfg(test)]
mod keys_tests;
#[cfg(test)]
mod note_tests;
#[cfg(test)]
mod notices_tests;
#[cfg(test)]
mod opening_tests;
#[cfg(test)]
mod quit_tests;
#[cfg(test)]
mod reach_tests;
#[cfg(test)]
mod run_form_qa_tests;
#[cfg(test)]
mod run_form_tests;
#[cfg(test)]
mod target_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod toast_tests;
#[cfg(test)]
mod waiting_keep_tests;
#[cfg(test)]
mod waiting_tests;

//! The console's own state (what is selected, which tab, open dialogs) and the pure
//! `update` that turns an operator action into new UI state plus requests for the
//! shell (commands to the engine, open a run, resume, exit).
//!
//! - `actions`: what the operator asks for (`Action`), what `update` asks the shell to
//!   do (`Request`), tabs and click targets.
//! - `state`: `UiState`, overlays, toasts, the DAG layout kept per run.
//! - `update`: the dispatch by context and the main view's handlers.
//! - `schedules`: the Schedules tab and its pause / resume / trigger dialog.
//! - `edit`: the approve dialog's edits in `$EDITOR` and their diff against the proposal.
//! - `dag`, `runs`, `log`, `dialogs`: each tab's, the log's and each dialog's state and
//!   handlers.
//! - `filter`: the one `/` filter of every list; `lists`: the filtered lists and their
//!   selections; `help`: the help's search and Enter that runs a key.
//! - `targets`: what an action is about (the gate, the step, what `y` copies) and
//!   whether it is offered now.
pub mod action_log;
mod actions;
mod dag;
mod dialogs;
mod edit;
mod fan;
mod filter;
mod fork;
mod help;
mod jump;
mod keep;
mod lists;
mod log;
mod mark;
mod notices;
mod runs;
mod schedules;
mod state;
mod targets;
mod timeline;
mod update;
mod waiting;

pub use action_log::{Kind as LoggedKind, Logged};
pub use actions::{Action, ConsoleExit, Hit, Hits, Request, Tab};
pub use dag::{matches_filter, visible_steps};
pub use dialogs::{
    BudgetDialog, BudgetField, ConfirmDialog, ConfirmWhat, Decision, Dialog, GateDialog,
    InputField, QuitButton,
};
pub use edit::{DIFF_PAGE, DiffLine, preview, proposal_diff};
pub use fan::{MAX_LABEL, graph_steps, node_label, node_width, rows, rows_match, shown_steps};
pub use filter::{Filter, Row, move_shown, shown_sel};
pub use fork::ForkPreview;
pub use help::{HelpEntry, help_at, help_entries};
pub use keep::Picked;
pub use lists::filter_note;
pub use log::{LogState, search_from, show_match};
pub use mark::MarkDialog;
pub use notices::DecisionNotice;
pub use runs::{RunIds, RunsSort, short_id};
pub use schedules::{ScheduleDialog, SchedulePick};
pub use state::{
    LIST_MODE_ABOVE, Overlay, TOAST_ERROR_FOR, TOAST_OK_FOR, Toast, UiState, run_is_live,
};
pub use targets::{acts, copy_target, offered};
pub use update::update;

#[cfg(test)]
mod decide_tests;
#[cfg(test)]
mod edit_tests;
#[cfg(test)]
mod fork_tests;
#[cfg(test)]
mod hold_tests;
#[cfg(test)]
mod keys_tests;
#[cfg(test)]
mod notices_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod waiting_tests;

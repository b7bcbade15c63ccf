//! The console: rendered views (snapshots) and the real binary driven in tmux.
mod artifacts;
mod clocks;
mod deadlines;
mod edit_dialog;
mod fanned;
mod filters;
mod log_times;
mod looks;
mod marked;
mod render;
mod render_actions;
mod render_fork;
mod render_run_form;
mod render_terms;
mod render_waiting;
mod screen;
mod timeline;
pub(crate) mod tmux;

//! The Timeline tab's keys (issue 45 point 8). Its rows are the DAG's list rows (the
//! same filter, the same opened fan-outs) and its selection is the DAG's: a step, by
//! its index in the run, which no new row, filter or fan-out moves to another step.
use super::actions::{Action, Request};
use super::fan::shown_steps;
use super::log::open_log;
use super::state::UiState;
use super::update::move_sel;
use baton_model::RunView;

pub(super) fn timeline_tab(ui: &mut UiState, view: &RunView, action: Action) -> Vec<Request> {
    let Some(focus) = ui.focus(view) else {
        return Vec::new();
    };
    match action {
        Action::Filter => ui.filter_editing = true,
        Action::Back => {
            if ui.filter.is_empty() {
                ui.follow = true;
            }
            ui.filter.clear();
        }
        Action::Log | Action::Enter => open_log(ui, focus, None),
        Action::Up
        | Action::Down
        | Action::PageUp
        | Action::PageDown
        | Action::Top
        | Action::Bottom => {
            let rows = shown_steps(view, ui);
            let mut at = rows.iter().position(|&i| i == focus).unwrap_or(0);
            move_sel(&mut at, rows.len(), &action);
            if let Some(&i) = rows.get(at) {
                ui.follow = false;
                ui.selected = i;
            }
        }
        _ => {}
    }
    Vec::new()
}

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
        | Action::Bottom => move_among_steps(ui, view, focus, &action),
        _ => {}
    }
    Vec::new()
}

/// Move the selection from step `focus` among the steps shown (the DAG's list rows); the
/// operator moved it, so it no longer follows.
pub(super) fn move_among_steps(ui: &mut UiState, view: &RunView, focus: usize, action: &Action) {
    let rows = shown_steps(view, ui);
    let mut at = rows.iter().position(|&i| i == focus).unwrap_or(0);
    move_sel(&mut at, rows.len(), action);
    if let Some(&i) = rows.get(at) {
        ui.follow = false;
        ui.selected = i;
    }
}

#[cfg(test)]
mod tests {
    use crate::app::{Action, Tab, UiState, shown_steps, update};
    use crate::fixtures;

    fn selected_id(ui: &UiState, v: &baton_model::RunView) -> String {
        v.steps[ui.focus(v).unwrap()].id.clone()
    }

    /// The selection is a step, not a row: a filter that takes rows away above it, a
    /// new view of the run (a fan-out's instances, new transitions) and `:timeline`
    /// leave it on the same step; keys move among the rows shown.
    #[test]
    fn the_timeline_selection_stays_on_its_step_when_rows_change() {
        let v = fixtures::release();
        let mut ui = UiState::new("carol");
        update(&mut ui, &v, Action::GoTab(Tab::Timeline));
        // Following: the first running step, as on the DAG.
        assert_eq!(selected_id(&ui, &v), "package");
        for a in [Action::Top, Action::Down, Action::Down, Action::Down] {
            update(&mut ui, &v, a);
        }
        assert_eq!(selected_id(&ui, &v), "unit-tests");
        // Rows above it go: the selection stays on unit-tests, now the first row.
        ui.filter = "test".into();
        assert_eq!(shown_steps(&v, &ui).first(), Some(&ui.selected));
        assert_eq!(selected_id(&ui, &v), "unit-tests");
        update(&mut ui, &v, Action::Down);
        assert_eq!(selected_id(&ui, &v), "integration-tests");
        update(&mut ui, &v, Action::Back);
        // A newer view whose running step moved on does not take the selection to it:
        // the operator moved it, so it no longer follows.
        let mut next = v.clone();
        next.steps[6].state = baton_model::StepState::Succeeded;
        ui.keep_focus(&v);
        assert_eq!(selected_id(&ui, &next), "integration-tests");
        // Esc with no filter follows the running steps again (as on the DAG).
        update(&mut ui, &next, Action::Back);
        assert_eq!(selected_id(&ui, &next), "sbom");
    }

    /// `:timeline` and `:gantt` open the tab; `:timeline state:failed` opens it filtered.
    #[test]
    fn the_prompt_opens_the_timeline_by_name() {
        let v = fixtures::release();
        for (typed, filter) in [
            ("timeline", ""),
            ("gantt", ""),
            ("timeline state:failed", "state:failed"),
        ] {
            let mut ui = UiState::new("carol");
            update(&mut ui, &v, Action::Jump);
            for c in typed.chars() {
                let k = crossterm::event::KeyEvent::new(
                    crossterm::event::KeyCode::Char(c),
                    crossterm::event::KeyModifiers::NONE,
                );
                update(&mut ui, &v, Action::Key(k));
            }
            update(&mut ui, &v, Action::Confirm);
            assert_eq!(ui.tab, Tab::Timeline, "{typed}");
            assert_eq!(ui.filter, filter, "{typed}");
        }
    }
}

//! The DAG tab: the step filter and moving through the list or the graph.
use super::actions::{Action, Request};
use super::log::open_log;
use super::state::UiState;
use super::update::{move_sel, retry, toast};
use crate::layout::DagLayout;
use baton_model::RunView;

/// Whether a step passes the DAG's filter (`app::filter`, the one syntax of every list).
pub(crate) fn matches_filter(step: &baton_model::StepView, filter: &str) -> bool {
    super::filter::Filter::parse(filter).matches(step)
}

/// Indices of the steps the filter lets through, in the list's order, with every
/// fanned-out step closed (`app::fan::rows`).
#[cfg(test)]
pub(crate) fn visible_steps(view: &RunView, filter: &str) -> Vec<usize> {
    super::fan::rows(view, filter, |_| false)
}

pub(super) fn dag(ui: &mut UiState, view: &RunView, action: Action) -> Vec<Request> {
    if action == Action::AllLogs {
        super::log::open_all_logs(ui);
        return Vec::new();
    }
    let Some(focus) = ui.focus(view) else {
        return Vec::new();
    };
    match action {
        Action::Filter => {
            ui.filter_editing = true;
        }
        Action::Back => {
            if ui.filter.is_empty() {
                ui.follow = true;
            }
            ui.filter.clear();
        }
        Action::ToggleGraph => {
            ui.list_mode = Some(!ui.is_list_mode(view));
            ui.overview = false;
        }
        Action::Overview => {
            ui.overview = !ui.overview || ui.is_list_mode(view);
            if ui.overview {
                ui.list_mode = Some(false);
            }
        }
        Action::Log | Action::Enter => open_log(ui, focus, None),
        Action::Expand => return super::fan::toggle(ui, view, focus),
        Action::Retry => {
            let id = view.steps[focus].id.clone();
            return retry(ui, view, &id);
        }
        Action::Hold => return hold_step(ui, view, focus),
        Action::Fork => return super::fork::ask(ui, view, focus),
        Action::History => return super::history::ask(ui, view, focus),
        Action::Note => return super::note::on_step(ui, view, focus),
        Action::RetryFailed => return super::retry_failed::ask(ui, view.run_id.clone()),
        Action::Up
        | Action::Down
        | Action::Left
        | Action::Right
        | Action::PageUp
        | Action::PageDown => {
            ui.follow = false;
            ui.selected = if ui.is_list_mode(view) || !ui.filter.trim().is_empty() {
                let vis = super::fan::shown_steps(view, ui);
                let mut at = vis.iter().position(|&i| i == focus).unwrap_or(0);
                move_sel(&mut at, vis.len(), &action);
                vis.get(at).copied().unwrap_or(focus)
            } else {
                ui.keep_layout(view);
                graph_move(&ui.layout(view), focus, &action)
            };
        }
        _ => {}
    }
    Vec::new()
}

/// Up/down within a layer, left/right to the nearest step in the neighbouring layer.
pub(super) fn graph_move(l: &DagLayout, from: usize, action: &Action) -> usize {
    let Some(&(layer, row)) = l.place.get(from) else {
        return from;
    };
    let pick = |layer: usize, row: usize, dir: i64| -> Option<usize> {
        let slots = l.layers.get(layer)?;
        // Nearest step slot from `row`, searching in `dir` (0 = both ways). `row` may
        // lie past a narrower layer's last slot: the search reaches back to its first.
        let n = slots.len() as i64;
        for d in 0..(n + row as i64).max(1) {
            let cands: &[i64] = if dir == 0 { &[d, -d] } else { &[d * dir] };
            for &c in cands {
                let r = row as i64 + c;
                if (0..n).contains(&r)
                    && let Some(s) = slots[r as usize].step
                {
                    return Some(s);
                }
            }
        }
        None
    };
    let found = match action {
        Action::Up => pick(layer, row.saturating_sub(1), -1).filter(|_| row > 0),
        Action::Down => pick(layer, row + 1, 1),
        Action::PageUp => pick(layer, row.saturating_sub(10), 0),
        Action::PageDown => pick(layer, row + 10, 0),
        Action::Left if layer > 0 => pick(layer - 1, row, 0),
        Action::Right => pick(layer + 1, row, 0),
        _ => None,
    };
    found.unwrap_or(from)
}

/// `P` on a step: hold it (a running one is frozen) or, held, release it, with the
/// reason typed in its dialog (`app::hold`), under the console's account.
fn hold_step(ui: &mut UiState, view: &RunView, i: usize) -> Vec<Request> {
    let s = &view.steps[i];
    if s.actions.release || s.actions.hold {
        super::hold::ask(ui, super::hold::HoldDialog::step(s, s.actions.release))
    } else {
        toast(
            ui,
            format!("✘ {} is {}: it cannot be held now", s.id, s.state),
            false,
        );
        Vec::new()
    }
}

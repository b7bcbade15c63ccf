//! A tab only the tests have (issue 54 point 4): what a new tab takes, shown by doing
//! it. This file and its one line in [`super::tabs!`] are all of it: the tab line, its
//! number key, `Tab`/`S-Tab`, `:probe`, `/`, the help and the footer come from the
//! registry.
use super::{STEP_FILTER, TabFilter, TabSpec};
use crate::app::actions::{Action, Hit, Hits, Request, Tab};
use crate::app::fan::shown_steps;
use crate::app::log::open_log;
use crate::app::state::UiState;
use crate::app::timeline::move_among_steps;
use crate::keymap::{Binding, Context, Key};
use crate::theme::Theme;
use baton_model::RunView;
use crossterm::event::{KeyCode, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph};

pub(super) static PROBE: TabSpec = TabSpec {
    title: "Probe",
    short: "Prb",
    about: "Probe tab (the tests' own)",
    names: &["prb"],
    // The DAG's rows and filter, but `/` and Esc as every list has them.
    filter: TabFilter {
        own_keys: false,
        ..STEP_FILTER
    },
    steps: true,
    count: Some(|v, _| v.steps.len()),
    keys: KEYS,
    run_keys: true,
    of_run: true,
    update,
    render,
};

const fn key(code: KeyCode) -> Key {
    Key {
        code,
        mods: KeyModifiers::NONE,
    }
}

static KEYS: &[Binding] = &[
    Binding {
        context: Context::Tab(Tab::Probe),
        keys: &[key(KeyCode::Up)],
        label: "↑↓",
        action: Action::Up,
        description: "up a step",
        hint: true,
    },
    Binding {
        context: Context::Tab(Tab::Probe),
        keys: &[key(KeyCode::Down)],
        label: "↑↓",
        action: Action::Down,
        description: "down a step",
        hint: false,
    },
    Binding {
        context: Context::Tab(Tab::Probe),
        keys: &[key(KeyCode::Enter)],
        label: "Enter",
        action: Action::Log,
        description: "open its log",
        hint: true,
    },
    Binding {
        context: Context::Tab(Tab::Probe),
        keys: &[key(KeyCode::Char('/'))],
        label: "/",
        action: Action::Filter,
        description: "filter its steps",
        hint: true,
    },
    Binding {
        context: Context::Tab(Tab::Probe),
        keys: &[key(KeyCode::Esc)],
        label: "Esc",
        action: Action::Back,
        description: "clear the filter",
        hint: false,
    },
];

fn update(ui: &mut UiState, view: &RunView, action: Action) -> Vec<Request> {
    let Some(focus) = ui.focus(view) else {
        return Vec::new();
    };
    match action {
        Action::Log => open_log(ui, focus, None),
        Action::Up | Action::Down => move_among_steps(ui, view, focus, &action),
        _ => {}
    }
    Vec::new()
}

fn render(
    frame: &mut Frame,
    area: Rect,
    view: &RunView,
    ui: &UiState,
    theme: &Theme,
    hits: &mut Hits,
) {
    let rows = shown_steps(view, ui);
    let focus = ui.focus(view);
    let lines: Vec<Line> = rows
        .iter()
        .map(|&i| {
            let mark = if Some(i) == focus { "▸ " } else { "  " };
            Line::styled(format!("{mark}{}", view.steps[i].id), theme.base)
        })
        .collect();
    for (n, &i) in rows
        .iter()
        .enumerate()
        .take(area.height.saturating_sub(2) as usize)
    {
        let row = Rect {
            x: area.x + 1,
            y: area.y + 1 + n as u16,
            width: area.width.saturating_sub(2),
            height: 1,
        };
        hits.record(row, Hit::Step(i));
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .title(format!(" Probe · {} steps ", rows.len()));
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

#[cfg(test)]
mod tests;

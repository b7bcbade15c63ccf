//! Pure rendering: `render(frame, view, ui, config)` draws the whole console from a
//! `RunView` snapshot, the UI state and the console's settings (theme, keys), and
//! returns where it drew clickable things. No I/O, no clock (`view.now` / `ui.now`), no
//! global.
pub(crate) mod action_output;
pub(crate) mod approvals;
pub(crate) mod audit;
pub(crate) mod chain;
pub(crate) mod common;
pub(crate) mod dag;
pub(crate) mod desk_dialogs;
pub(crate) mod detail;
pub(crate) mod dialogs;
pub(crate) mod errors;
pub(crate) mod fan;
pub(crate) mod fork_form;
pub(crate) mod header;
pub(crate) mod hints;
pub(crate) mod history;
pub(crate) mod log;
pub(crate) mod notices;
pub(crate) mod overlays;
pub(crate) mod run_diff;
pub(crate) mod run_form;
pub(crate) mod runs;
pub(crate) mod schedules;
pub(crate) mod strip;
pub(crate) mod timeline;
pub(crate) mod waiting;

use super::app::{Dialog, Hits, Overlay, UiState};
use super::console_config::ConsoleConfig;
use super::theme::Theme;
use baton_model::RunView;
use common::{centered, styled, wrap_text};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph};

/// Below this the console shows only a message saying how much room it needs.
pub(crate) const MIN_WIDTH: u16 = 60;
pub(crate) const MIN_HEIGHT: u16 = 15;

/// Draw the console; returns what the frame drew where, for clicks. On a terminal that
/// takes only ASCII the finished frame's other symbols are replaced (`term::ascii`).
pub fn render(frame: &mut Frame, view: &RunView, ui: &UiState, config: &ConsoleConfig) -> Hits {
    render_part(frame, Part::Screen, view, ui, config)
}

/// A part of the screen, for snapshots of one view's own part (issue 54 point 4): a new
/// tab changes the tab line in the header, not what the other views draw.
// Exported for the snapshot tests only (`fixtures`).
#[cfg_attr(not(any(test, feature = "fixtures")), allow(unreachable_pub))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The whole screen, as the console draws it.
    Screen,
    /// What is under the header (the tab's body and the footer), drawn into the whole
    /// frame: the screen less its first three lines, or all of it when the full log
    /// takes the header's room. No overlay, no dialog.
    Body,
    /// The overlay and the dialog, where they are drawn on a screen of the frame's
    /// size, with the footer (their keys) under them.
    Over,
}

/// [`render`], of one part only.
#[cfg_attr(not(any(test, feature = "fixtures")), allow(unreachable_pub))]
pub fn render_part(
    frame: &mut Frame,
    part: Part,
    view: &RunView,
    ui: &UiState,
    config: &ConsoleConfig,
) -> Hits {
    let hits = draw(frame, part, view, ui, config);
    if config.caps.ascii {
        crate::term::ascii::finish(frame.buffer_mut());
    }
    hits
}

fn draw(
    frame: &mut Frame,
    part: Part,
    view: &RunView,
    ui: &UiState,
    config: &ConsoleConfig,
) -> Hits {
    let (theme, keys) = (&config.theme, &config.keys);
    let mut hits = Hits::default();
    let area = frame.area();
    frame.render_widget(Block::default().style(theme.base), area);
    if part == Part::Screen && (area.width < MIN_WIDTH || area.height < MIN_HEIGHT) {
        too_small(frame, area, theme);
        return hits;
    }
    // The full log takes the header's room too.
    let top = if part == Part::Screen && ui.log.is_none() {
        3
    } else {
        0
    };
    let header = Rect { height: 3, ..area };
    let footer = Rect {
        y: area.y + area.height.saturating_sub(2),
        height: area.height.min(2),
        ..area
    };
    let body = Rect {
        y: area.y + top,
        height: area.height.saturating_sub(top + 2),
        ..area
    };
    if part != Part::Over {
        if ui.log.is_some() {
            log::render(frame, body, view, ui, theme, &mut hits);
        } else {
            if top > 0 {
                header::render(frame, header, view, ui, theme, &mut hits);
            }
            match ui.opening_other(view).filter(|_| ui.tab.spec().of_run) {
                Some(id) => opening(frame, body, id, ui, theme),
                None => (ui.tab.spec().render)(frame, body, view, ui, theme, &mut hits),
            }
        }
    }
    header::footer(frame, footer, view, ui, theme, keys);
    if part == Part::Body {
        return hits;
    }
    match ui.overlay {
        Some(Overlay::Help) => overlays::help(frame, area, view, ui, theme, keys),
        Some(Overlay::Health) => overlays::health(frame, area, view, theme),
        Some(Overlay::Notices) => notices::render(frame, area, ui, theme),
        Some(Overlay::ActionLog) => notices::render_actions(frame, area, ui, theme),
        Some(Overlay::ErrorDetail(i)) => overlays::error_detail(frame, area, view, ui, i, theme),
        Some(Overlay::ActionOutput(id)) => {
            hits.pane_drawn(action_output::render(frame, area, ui, id, theme));
        }
        Some(Overlay::RunDiff) => run_diff::render(frame, area, ui, theme),
        Some(Overlay::History) => history::render(frame, area, view, ui, theme),
        Some(Overlay::Stores) => overlays::stores(frame, area, view, ui, theme),
        None => {}
    }
    match &ui.dialog {
        Some(Dialog::Gate(d)) => dialogs::gate(frame, area, view, ui, d, theme, keys),
        Some(Dialog::Budget(d)) => dialogs::budget(frame, area, ui, d, theme),
        Some(Dialog::Confirm(d)) => dialogs::confirm(frame, area, d, ui, theme),
        Some(Dialog::Mark(d)) => desk_dialogs::mark(frame, area, d, theme, keys),
        Some(Dialog::Schedule(d)) => schedules::dialog(frame, area, d, &ui.operator, theme, keys),
        Some(Dialog::Hold(d)) => desk_dialogs::hold(frame, area, d, &ui.operator, theme, keys),
        Some(Dialog::Note(d)) => desk_dialogs::note(frame, area, d, &ui.operator, theme, keys),
        Some(Dialog::RunForm(d)) => run_form::render(frame, area, d, &ui.operator, theme, keys),
        Some(Dialog::Fork(d)) => fork_form::render(frame, area, d, ui, theme, keys),
        Some(Dialog::Refused(text)) => desk_dialogs::refused(frame, area, text, theme),
        None => {}
    }
    hits
}

/// A run's tab while the run asked to open has not arrived: said, not the run before.
fn opening(frame: &mut Frame, area: Rect, id: &str, ui: &UiState, theme: &Theme) {
    let msg = format!(
        "opening run {}… (its view comes from the store or its engine)",
        super::app::short_id(id, &ui.run_ids)
    );
    let lines: Vec<Line> = wrap_text(&msg, area.width.max(1) as usize)
        .into_iter()
        .map(|l| Line::from(styled(l, theme.dim)))
        .collect();
    let h = (lines.len() as u16).min(area.height);
    frame.render_widget(
        Paragraph::new(lines).centered(),
        centered(area, area.width, h),
    );
}

fn too_small(frame: &mut Frame, area: Rect, theme: &Theme) {
    let msg = format!(
        "terminal too small: need {MIN_WIDTH}×{MIN_HEIGHT}, have {}×{}",
        area.width, area.height
    );
    let lines: Vec<Line> = wrap_text(&msg, area.width.max(1) as usize)
        .into_iter()
        .map(|l| Line::from(styled(l, theme.warning)))
        .collect();
    let h = (lines.len() as u16).min(area.height);
    let r = centered(area, area.width, h);
    frame.render_widget(Paragraph::new(lines).centered(), r);
}

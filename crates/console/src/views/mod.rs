//! Pure rendering: `render(frame, view, ui, config)` draws the whole console from a
//! `RunView` snapshot, the UI state and the console's settings (theme, keys), and
//! returns where it drew clickable things. No I/O, no clock (`view.now` / `ui.now`), no
//! global.
pub(crate) mod approvals;
pub(crate) mod audit;
pub(crate) mod common;
pub(crate) mod dag;
pub(crate) mod desk_dialogs;
pub(crate) mod detail;
pub(crate) mod dialogs;
pub(crate) mod errors;
pub(crate) mod fan;
pub(crate) mod header;
pub(crate) mod hints;
pub(crate) mod log;
pub(crate) mod notices;
pub(crate) mod overlays;
pub(crate) mod runs;
pub(crate) mod schedules;
pub(crate) mod strip;
pub(crate) mod timeline;
pub(crate) mod waiting;

use super::app::{Dialog, Hits, Overlay, Tab, UiState};
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
    let hits = draw(frame, view, ui, config);
    if config.caps.ascii {
        crate::term::ascii::finish(frame.buffer_mut());
    }
    hits
}

fn draw(frame: &mut Frame, view: &RunView, ui: &UiState, config: &ConsoleConfig) -> Hits {
    let (theme, keys) = (&config.theme, &config.keys);
    let mut hits = Hits::default();
    let area = frame.area();
    frame.render_widget(Block::default().style(theme.base), area);
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small(frame, area, theme);
        return hits;
    }
    let header = Rect { height: 3, ..area };
    let footer = Rect {
        y: area.y + area.height - 2,
        height: 2,
        ..area
    };
    let body = Rect {
        y: area.y + 3,
        height: area.height - 5,
        ..area
    };
    if ui.log.is_some() {
        // Full screen: the log takes the header's room too.
        let full = Rect {
            height: area.height - 2,
            ..area
        };
        log::render(frame, full, view, ui, theme, &mut hits);
    } else {
        header::render(frame, header, view, ui, theme, &mut hits);
        match ui.tab {
            Tab::Dag => dag::render(frame, body, view, ui, theme, &mut hits),
            Tab::Approvals => approvals::render(frame, body, view, ui, theme, &mut hits),
            Tab::Errors => errors::render(frame, body, view, ui, theme, &mut hits),
            Tab::Audit => audit::render(frame, body, view, ui, theme, &mut hits),
            Tab::Runs => runs::render(frame, body, view, ui, theme, &mut hits),
            Tab::Waiting => waiting::render(frame, body, view, ui, theme, &mut hits),
            Tab::Schedules => schedules::render(frame, body, view, ui, theme, &mut hits),
            Tab::Timeline => timeline::render(frame, body, view, ui, theme, &mut hits),
        }
    }
    header::footer(frame, footer, view, ui, theme, keys);
    match ui.overlay {
        Some(Overlay::Help) => overlays::help(frame, area, view, ui, theme, keys),
        Some(Overlay::Health) => overlays::health(frame, area, view, theme),
        Some(Overlay::Notices) => notices::render(frame, area, ui, theme),
        Some(Overlay::ActionLog) => notices::render_actions(frame, area, ui, theme),
        Some(Overlay::ErrorDetail(i)) => overlays::error_detail(frame, area, view, ui, i, theme),
        None => {}
    }
    match &ui.dialog {
        Some(Dialog::Gate(d)) => dialogs::gate(frame, area, view, ui, d, theme, keys),
        Some(Dialog::Budget(d)) => dialogs::budget(frame, area, ui, d, theme),
        Some(Dialog::Confirm(d)) => dialogs::confirm(frame, area, d, &ui.runs, &ui.run_ids, theme),
        Some(Dialog::Mark(d)) => desk_dialogs::mark(frame, area, d, theme, keys),
        Some(Dialog::Schedule(d)) => schedules::dialog(frame, area, d, &ui.operator, theme, keys),
        Some(Dialog::Hold(d)) => desk_dialogs::hold(frame, area, d, &ui.operator, theme, keys),
        Some(Dialog::Refused(text)) => desk_dialogs::refused(frame, area, text, theme),
        None => {}
    }
    hits
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

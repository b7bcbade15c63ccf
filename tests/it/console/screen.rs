//! How the console tests draw: the whole screen as the console does, or the part of it
//! a view's snapshot holds (issue 54 point 4).
use baton::console::{ConsoleConfig, LogReaders, Part, Theme, UiState, render, render_part};
use baton::model::RunView;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

/// Draw as the console does: the shell first reads the log lines the screen needs.
pub(super) fn draw(v: &RunView, u: &mut UiState, theme: &Theme, w: u16, h: u16) -> Buffer {
    let config = ConsoleConfig::with_theme(theme.clone());
    draw_with(v, u, &config, w, h)
}

/// Scenarios whose snapshots keep the whole screen, for the layout: the header with
/// its tab line, a body, the footer, a dialog over them, the full log.
const WHOLE: &[&str] = &[
    "dag_graph",
    "errors",
    "approve_dialog",
    "log_full",
    "header_failed_by_rejection",
    "desk_run_header",
];

/// What a view's snapshot holds (issue 54 point 4): its own part of a `w`×`h` screen,
/// so that a new tab (a new name on the tab line) rewrites the whole screens of
/// [`WHOLE`] and the help's, not every view's. A dialog or an overlay where it is
/// drawn, with the footer (its keys); else what is under the header: the tab's body and
/// the footer (the full log has no header: all of it).
pub(super) fn snap(
    name: &str,
    v: &RunView,
    u: &mut UiState,
    theme: &Theme,
    w: u16,
    h: u16,
) -> String {
    let config = ConsoleConfig::with_theme(theme.clone());
    snap_with(name, v, u, &config, w, h)
}

/// [`snap`] with `config`.
pub(super) fn snap_with(
    name: &str,
    v: &RunView,
    u: &mut UiState,
    config: &ConsoleConfig,
    w: u16,
    h: u16,
) -> String {
    if WHOLE.contains(&name) {
        text(&draw_with(v, u, config, w, h))
    } else {
        text(&draw_part(v, u, config, w, h))
    }
}

/// The part of a `w`×`h` screen a view's snapshot holds (see [`snap`]).
pub(super) fn draw_part(
    v: &RunView,
    u: &mut UiState,
    config: &ConsoleConfig,
    w: u16,
    h: u16,
) -> Buffer {
    let part = if u.dialog.is_some() || u.overlay.is_some() {
        Part::Over
    } else {
        Part::Body
    };
    // Under the header's three lines, unless the full log takes their room.
    let rows = if part == Part::Body && u.log.is_none() {
        h - 3
    } else {
        h
    };
    LogReaders::default().sync(u, v, baton::console::text_rows(h));
    let mut t = Terminal::new(TestBackend::new(w, rows)).unwrap();
    t.draw(|f| u.hits = render_part(f, part, v, u, config))
        .unwrap();
    t.backend().buffer().clone()
}

pub(super) fn text(b: &Buffer) -> String {
    let mut s = String::new();
    for y in 0..b.area.height {
        let mut line = String::new();
        for x in 0..b.area.width {
            line.push_str(b[(x, y)].symbol());
        }
        s.push_str(line.trim_end());
        s.push('\n');
    }
    s
}

pub(super) fn draw_with(
    v: &RunView,
    u: &mut UiState,
    config: &ConsoleConfig,
    w: u16,
    h: u16,
) -> Buffer {
    draw_reading(&mut LogReaders::default(), v, u, config, w, h)
}

/// [`draw_with`], the logs read by `readers`.
pub(super) fn draw_reading(
    readers: &mut LogReaders,
    v: &RunView,
    u: &mut UiState,
    config: &ConsoleConfig,
    w: u16,
    h: u16,
) -> Buffer {
    readers.sync(u, v, baton::console::text_rows(h));
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| u.hits = render(f, v, u, config)).unwrap();
    t.backend().buffer().clone()
}

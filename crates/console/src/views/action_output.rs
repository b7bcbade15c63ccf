//! The output pane of an `[[action]]` run (`app::user_actions`): the command as it ran,
//! what it was about, how it ended (or how long it has run), then its output, sanitised,
//! opened at its end and following it as it comes, unless scrolled up (as the log);
//! the head above the output stays.
use super::common::{styled, take_columns, wrap_text};
use super::notices::overlay_box;
use crate::app::{Ended, UiState, UserRun, pane_first_row, shown_run};
use crate::theme::Theme;
use baton_model::time::human_duration;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

/// The pane: its head (the command, what it is about, how it ended or how long it has
/// run) stays at the top; its output under it shows from its end while it follows
/// (`UiState::pane_follow`), else from its scroll, its last page kept full. What it
/// returns: the output's last first row (the one that shows its last row at the
/// bottom), for the scroll keys.
pub(crate) fn render(frame: &mut Frame, area: Rect, ui: &UiState, id: u64, theme: &Theme) -> usize {
    let run = shown_run(ui, id);
    let title = match run {
        Some(r) => format!(" Action · {} · Esc closes ", r.prepared.title),
        None => " Action · Esc closes ".to_string(),
    };
    let inner = overlay_box(frame, area, theme, title);
    let Some(r) = run else {
        let none = styled("no action has run in this console yet", theme.dim);
        frame.render_widget(Paragraph::new(Line::from(none)).style(theme.base), inner);
        return 0;
    };
    let width = inner.width.max(1) as usize;
    let head = head(r, ui, width, theme);
    let head_rows = u16::try_from(head.len())
        .unwrap_or(u16::MAX)
        .min(inner.height.saturating_sub(1));
    let [head_area, body_area] =
        Layout::vertical([Constraint::Length(head_rows), Constraint::Fill(1)]).areas(inner);
    frame.render_widget(Paragraph::new(head).style(theme.base), head_area);
    let body = body(r, width, theme);
    let max_top = body.len().saturating_sub(body_area.height.max(1) as usize);
    let first = pane_first_row(ui.overlay_scroll, ui.pane_follow, max_top);
    let shown: Vec<Line> = body.into_iter().skip(first).collect();
    frame.render_widget(Paragraph::new(shown).style(theme.base), body_area);
    max_top
}

/// The pane's head at `width`: the command, what it is about, how it ended (or how
/// long it has run), a blank row.
fn head(r: &UserRun, ui: &UiState, width: usize, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for l in wrap_text(
        &format!("$ {}", r.prepared.shown()),
        width.saturating_sub(1),
    ) {
        lines.push(Line::from(styled(l, theme.dim)));
    }
    lines.push(Line::from(styled(
        format!("on {}", r.prepared.on),
        theme.dim,
    )));
    lines.push(Line::from(status(r, ui, theme)));
    lines.push(Line::from(""));
    lines
}

/// The pane's output rows at `width`, each line of output cut into rows.
fn body(r: &UserRun, width: usize, theme: &Theme) -> Vec<Line<'static>> {
    let w = width.saturating_sub(1);
    let mut lines = Vec::new();
    let (output, cut) = match &r.finished {
        Some(f) => (&f.lines, f.cut),
        None => (&r.so_far.0, r.so_far.1),
    };
    if cut > 0 {
        lines.push(Line::from(styled(
            format!("… its first {cut} bytes are not kept"),
            theme.dim,
        )));
    }
    let started = !matches!(
        r.finished.as_ref().map(|f| &f.ended),
        Some(Ended::NotStarted(_))
    );
    if output.is_empty() && started {
        let none = if r.finished.is_some() {
            "(no output)"
        } else {
            "(no output yet)"
        };
        lines.push(Line::from(styled(none, theme.dim)));
    }
    for out in output {
        for l in hard_wrap(out, w) {
            lines.push(Line::from(styled(l.to_string(), theme.base)));
        }
    }
    lines
}

/// `… running for 2.3s (stopped at 8.0s)` while it runs (its output shows under it as
/// it comes), then how it ended.
fn status(r: &UserRun, ui: &UiState, theme: &Theme) -> ratatui::text::Span<'static> {
    match &r.finished {
        None => {
            let ran = match (ui.now, r.started) {
                (Some(now), Some(at)) => human_duration(now.since(at)),
                _ => "a moment".to_string(),
            };
            let stop = human_duration(r.prepared.timeout);
            styled(
                format!("… running for {ran} (stopped at {stop})"),
                theme.dim,
            )
        }
        Some(f) => {
            let took = human_duration(f.took);
            let st = if f.ended.ok() { theme.ok } else { theme.error };
            let mark = if f.ended.ok() { "✔" } else { "✘" };
            styled(format!("{mark} {} after {took}", f.ended.words()), st)
        }
    }
}

/// A line of output cut into rows of `w` columns, its spaces kept (indentation, tables).
fn hard_wrap(line: &str, w: usize) -> Vec<&str> {
    let mut rows = Vec::new();
    let mut rest = line;
    loop {
        let row = take_columns(rest, w.max(1));
        if row.is_empty() || row.len() == rest.len() {
            rows.push(rest);
            return rows;
        }
        rows.push(row);
        rest = &rest[row.len()..];
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn output_is_cut_at_the_width_with_its_spaces_kept() {
        assert_eq!(super::hard_wrap("  ab  cd", 4), vec!["  ab", "  cd"]);
        assert_eq!(super::hard_wrap("", 4), vec![""]);
        assert_eq!(super::hard_wrap("abc", 4), vec!["abc"]);
    }
}

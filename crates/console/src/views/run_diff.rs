//! What changed between two runs (issue 58 point 8), over the Runs tab: the unified
//! diff of their workflow texts and params (`model::run_diff`, as `baton diff` prints
//! it), removed lines red and added green, each wrapped whole (`dialogs::diff_rows`),
//! scrolled by line.
use super::common::{centered, panel, styled};
use super::dialogs::diff_rows;
use crate::app::{UiState, short_id};
use crate::theme::Theme;
use baton_model::run_diff::Line as DiffLine;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph};

pub(crate) fn render(frame: &mut Frame, area: Rect, ui: &UiState, theme: &Theme) {
    let Some(d) = &ui.run_diff else {
        return;
    };
    let r = centered(
        area,
        area.width.saturating_sub(4).min(110),
        area.height.saturating_sub(2),
    );
    frame.render_widget(Clear, r);
    let title = format!(
        " What changed: run {} → run {} · ↑↓ PgUp PgDn · Esc close ",
        short_id(&d.a, &ui.run_ids),
        short_id(&d.b, &ui.run_ids)
    );
    let block = panel(title, theme, true).style(theme.base);
    let inner = block.inner(r);
    frame.render_widget(block, r);
    let w = inner.width as usize;
    // One row kept for where the window is.
    let rows = (inner.height as usize).saturating_sub(1).max(1);
    // A line's rows after its sign (`- `, `--- `), as wide as the box leaves them.
    let wrap = |mark: &str, text: &str| diff_rows(text, w.saturating_sub(mark.len()).max(1));
    let rows_of = |l: &DiffLine| {
        let (mark, text, _) = parts(l, theme);
        wrap(mark, text)
    };
    // The first line shown: the scroll, but never past the start of a full last page.
    let mut last_page = d.lines.len();
    let mut room = rows;
    while last_page > 0 {
        let n = rows_of(&d.lines[last_page - 1]).len();
        if n > room {
            break;
        }
        room -= n;
        last_page -= 1;
    }
    let first = ui.overlay_scroll.min(last_page);
    let mut out: Vec<Line> = Vec::new();
    let mut shown = first;
    for l in &d.lines[first..] {
        let (mark, text, st) = parts(l, theme);
        let wrapped = wrap(mark, text);
        if out.len() + wrapped.len() > rows && shown > first {
            break;
        }
        let blank = " ".repeat(mark.len());
        for (k, row) in wrapped.into_iter().enumerate() {
            let lead = if k == 0 {
                mark.to_string()
            } else {
                blank.clone()
            };
            out.push(Line::from(vec![styled(lead, st), styled(row, st)]));
        }
        shown += 1;
    }
    out.truncate(rows);
    out.resize(rows, Line::from(""));
    out.push(Line::from(styled(
        format!("lines {}–{} of {}", first + 1, shown, d.lines.len()),
        theme.dim,
    )));
    frame.render_widget(Paragraph::new(out).style(theme.base), inner);
}

/// A diff line's sign, its text and its look.
fn parts<'a>(l: &'a DiffLine, theme: &Theme) -> (&'static str, &'a str, Style) {
    let head = theme.title.add_modifier(Modifier::BOLD);
    match l {
        DiffLine::Old(t) => ("--- ", t, head),
        DiffLine::New(t) => ("+++ ", t, head),
        DiffLine::Hunk(t) => ("", t, theme.key),
        DiffLine::Kept(t) => ("  ", t, theme.base),
        DiffLine::Removed(t) => ("- ", t, theme.error),
        DiffLine::Added(t) => ("+ ", t, theme.ok),
    }
}

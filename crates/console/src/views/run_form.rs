//! The run form (issue 58 point 6): a workflow's params drawn as the approve dialog
//! draws a gate's inputs (`dialogs::field_lines`: value, type, description, pattern,
//! default and the error under it as typed), the focused field kept in sight.
use super::common::{centered, panel, styled, wrap_text};
use super::dialogs::field_lines;
use crate::app::{InputField, RunFormDialog};
use crate::keymap::{Context, Keymap};
use crate::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph};

pub(crate) fn render(
    frame: &mut Frame,
    area: Rect,
    d: &RunFormDialog,
    operator: &str,
    theme: &Theme,
    keys: &Keymap,
) {
    let w = area.width.saturating_sub(4).min(80);
    let body_w = w.saturating_sub(2) as usize;
    let file = line_of(&d.file.display().to_string());
    let mut head: Vec<Line> = wrap_text(&file, body_w)
        .into_iter()
        .map(|l| Line::from(styled(l, theme.dim)))
        .collect();
    head.push(Line::from(styled(
        format!("you start it as {operator}; this console drives it (q offers to detach it)"),
        theme.dim,
    )));
    head.push(Line::from(""));
    // Each field's lines, and where the focused one starts and ends.
    let mut fields: Vec<Line> = Vec::new();
    let mut focused = (0, 0);
    if d.labels == 0 {
        fields.push(Line::from(styled(
            "This workflow takes no parameters: Enter starts it (its labels are optional).",
            theme.base,
        )));
    }
    for (k, f) in d.fields.iter().enumerate() {
        let start = fields.len();
        fields.extend(field_lines(&shown(f), k == d.focus, body_w, theme));
        if k == d.focus {
            focused = (start, fields.len());
        }
    }
    let err = error_lines(d.error.as_deref(), body_w, theme);
    let want = (head.len() + fields.len() + err.len() + 4) as u16;
    let r = centered(area, w, want.min(area.height));
    frame.render_widget(Clear, r);
    let title = styled(
        format!(" New run of {} ", line_of(&d.workflow)),
        theme.title.add_modifier(Modifier::BOLD),
    );
    let block = panel(title, theme, true).style(theme.base);
    let inner = block.inner(r);
    frame.render_widget(block, r);
    // The fields get what the head, the error, a blank and the hints leave; from the
    // line that keeps the focused field whole in sight.
    let room = (inner.height as usize).saturating_sub(head.len() + err.len() + 2);
    let mut lines = head;
    lines.extend(in_sight(fields, focused, room, theme));
    lines.push(Line::from(""));
    lines.extend(err);
    frame.render_widget(Paragraph::new(lines).style(theme.base), inner);
    let hint_r = Rect {
        y: inner.y + inner.height.saturating_sub(1),
        height: inner.height.min(1),
        ..inner
    };
    let hints = super::desk_dialogs::hints_of(keys, Context::RunForm, theme, |_, a| d.offers(a));
    frame.render_widget(Paragraph::new(hints).style(theme.base), hint_r);
}

/// Text from the workflow's file (its name, its path, a refusal) on one line, with
/// nothing a terminal acts on: a control or a bidi control (U+202E would reverse the
/// title and the border after it) is shown as `�`, as every view shows it.
pub(super) fn line_of(text: &str) -> String {
    let one = baton_model::sanitize::one_line(text);
    baton_model::sanitize::strip_to_plain(one.as_bytes())
}

/// The fields' lines that fit in `room`, from the line that keeps the focused field
/// (its first and past-last line) whole in sight; a line says `↑ more` or `↓ more`
/// where fields are hidden above or below.
pub(super) fn in_sight<'a>(
    fields: Vec<Line<'a>>,
    focused: (usize, usize),
    room: usize,
    theme: &Theme,
) -> Vec<Line<'a>> {
    let (skip, rows) = window(fields.len(), focused, room);
    let n = fields.len();
    let marker = |t: &str| Line::from(styled(t.to_string(), theme.dim));
    let mut out = Vec::with_capacity(room);
    if skip > 0 {
        out.push(marker("↑ more"));
    }
    out.extend(fields.into_iter().skip(skip).take(rows));
    if skip + rows < n {
        out.push(marker("↓ more"));
    }
    out
}

/// Which of `n` lines a `room` of lines shows (the first, how many), the focused span
/// in sight, a line kept for each marker the window needs (pure).
fn window(n: usize, focused: (usize, usize), room: usize) -> (usize, usize) {
    if n <= room {
        return (0, n);
    }
    // From the top: a marker below only.
    let one = room.saturating_sub(1).max(1);
    if focused.1 <= one {
        return (0, one);
    }
    // Markers above and below, or, at the end, above only.
    let two = room.saturating_sub(2).max(1);
    let skip = focused.1.saturating_sub(two).min(focused.0).max(1);
    if skip + two >= n {
        (n.saturating_sub(one).min(focused.0).max(1), one)
    } else {
        (skip, two)
    }
}

/// The field as drawn: a secret param's value and default as dots, never as typed. An
/// empty default or schedule's value stays empty: dots would say a value is there.
pub(super) fn shown(f: &InputField) -> std::borrow::Cow<'_, InputField> {
    if !f.secret {
        return std::borrow::Cow::Borrowed(f);
    }
    let dots = |v: &Option<String>| {
        v.as_ref().map(|v| {
            if v.is_empty() {
                String::new()
            } else {
                "•••".into()
            }
        })
    };
    let mut masked = f.clone();
    masked.value = "•".repeat(f.value.chars().count());
    masked.input.default = dots(&f.input.default);
    masked.scheduled = dots(&f.scheduled);
    std::borrow::Cow::Owned(masked)
}

/// A form's refusal under its fields, wrapped to the body: the run form's and the fork
/// form's one drawing of it.
pub(crate) fn error_lines(error: Option<&str>, body_w: usize, theme: &Theme) -> Vec<Line<'static>> {
    error
        .map(|e| {
            wrap_text(&format!("✘ {}", line_of(e)), body_w)
                .into_iter()
                .map(|l| Line::from(styled(l, theme.error)))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::window;

    /// QA point 7: the window keeps the focused field in sight, a line for `↑ more`
    /// and `↓ more` where fields are hidden.
    #[test]
    fn the_window_keeps_the_focus_and_room_for_its_markers() {
        assert_eq!(window(5, (0, 2), 10), (0, 5), "all fit: no marker");
        assert_eq!(window(20, (0, 2), 10), (0, 9), "top: ↓ more below 9 lines");
        assert_eq!(window(20, (10, 12), 10), (4, 8), "middle: both markers");
        assert_eq!(
            window(20, (18, 20), 10),
            (11, 9),
            "end: ↑ more above 9 lines"
        );
        for at in 0..18 {
            let (skip, rows) = window(20, (at, at + 2), 10);
            let markers = usize::from(skip > 0) + usize::from(skip + rows < 20);
            assert!(skip <= at && at + 2 <= skip + rows, "{at}: {skip} {rows}");
            assert!(rows + markers <= 10, "{at}: {skip} {rows}");
        }
    }
}

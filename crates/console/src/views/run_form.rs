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
    let file = baton_model::sanitize::one_line(&d.file.display().to_string());
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
    for (k, f) in d.fields.iter().enumerate() {
        let start = fields.len();
        fields.extend(field_lines(&shown(f), k == d.focus, body_w, theme));
        if k == d.focus {
            focused = (start, fields.len());
        }
    }
    if d.fields.is_empty() {
        fields.push(Line::from(styled(
            "This workflow takes no parameters: Enter starts it.",
            theme.base,
        )));
    }
    let err: Vec<Line> = d
        .error
        .as_ref()
        .map(|e| {
            wrap_text(&format!("✘ {}", baton_model::sanitize::one_line(e)), body_w)
                .into_iter()
                .map(|l| Line::from(styled(l, theme.error)))
                .collect()
        })
        .unwrap_or_default();
    let want = (head.len() + fields.len() + err.len() + 4) as u16;
    let r = centered(area, w, want.min(area.height));
    frame.render_widget(Clear, r);
    let title = styled(
        format!(
            " New run of {} ",
            baton_model::sanitize::one_line(&d.workflow)
        ),
        theme.title.add_modifier(Modifier::BOLD),
    );
    let block = panel(title, theme, true).style(theme.base);
    let inner = block.inner(r);
    frame.render_widget(block, r);
    // The fields get what the head, the error, a blank and the hints leave; from the
    // line that keeps the focused field whole in sight.
    let room = (inner.height as usize).saturating_sub(head.len() + err.len() + 2);
    let skip = focused.1.saturating_sub(room).min(focused.0);
    let mut lines = head;
    lines.extend(fields.into_iter().skip(skip).take(room));
    lines.push(Line::from(""));
    lines.extend(err);
    frame.render_widget(Paragraph::new(lines).style(theme.base), inner);
    let hint_r = Rect {
        y: inner.y + inner.height.saturating_sub(1),
        height: inner.height.min(1),
        ..inner
    };
    let hints = super::desk_dialogs::hints(keys, Context::RunForm, theme);
    frame.render_widget(Paragraph::new(hints).style(theme.base), hint_r);
}

/// The field as drawn: a secret param's value and default as dots, never as typed.
fn shown(f: &InputField) -> std::borrow::Cow<'_, InputField> {
    if !f.secret {
        return std::borrow::Cow::Borrowed(f);
    }
    let mut masked = f.clone();
    masked.value = "•".repeat(f.value.chars().count());
    if masked.input.default.is_some() {
        masked.input.default = Some("•••".into());
    }
    std::borrow::Cow::Owned(masked)
}

//! The fork form (`F` on a step of a run with params, `app::fork`): the run it forks
//! named as the Runs tab tells it apart, what runs again and what is reused (the core's
//! plan), then the params drawn as the run form draws them, each from the run's
//! recorded value; a changed one says what it was, a secret says it is typed again.
use super::common::{centered, panel, styled, wrap_text};
use super::dialogs::{described, field_lines};
use super::run_form::{in_sight, line_of, shown};
use crate::app::{ForkDialog, InputField, UiState};
use crate::keymap::{Context, Keymap};
use crate::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph};
use std::borrow::Cow;

pub(crate) fn render(
    frame: &mut Frame,
    area: Rect,
    d: &ForkDialog,
    ui: &UiState,
    theme: &Theme,
    keys: &Keymap,
) {
    let w = area.width.saturating_sub(4).min(100);
    let body_w = w.saturating_sub(2) as usize;
    let head: Vec<Line> = wrap_text(&head_text(d, ui), body_w)
        .into_iter()
        .map(|l| Line::from(styled(l, theme.dim)))
        .chain(std::iter::once(Line::from("")))
        .collect();
    let mut fields: Vec<Line> = Vec::new();
    let mut focused = (0, 0);
    for (k, f) in d.fields.iter().enumerate() {
        let start = fields.len();
        let f = said(d, k, shown(f));
        fields.extend(field_lines(&f, k == d.focus, body_w, theme));
        if k == d.focus {
            focused = (start, fields.len());
        }
    }
    let err = super::run_form::error_lines(d.error.as_deref(), body_w, theme);
    let want = (head.len() + fields.len() + err.len() + 4) as u16;
    let r = centered(area, w, want.min(area.height));
    frame.render_widget(Clear, r);
    let p = &d.preview;
    let workflow = match p.workflow.as_str() {
        "" => String::new(),
        wf => format!(" of {}", line_of(wf)),
    };
    let title = styled(
        format!(
            " Fork run {}{workflow} from {} ",
            crate::app::short_id(&p.run, &ui.run_ids),
            line_of(&p.step)
        ),
        theme.title.add_modifier(Modifier::BOLD),
    );
    let block = panel(title, theme, true).style(theme.base);
    let inner = block.inner(r);
    frame.render_widget(block, r);
    // The head is cut before the fields: the field typed in stays in sight.
    let room = (inner.height as usize).saturating_sub(err.len() + 2);
    let head_rows = head.len().min(room.saturating_sub(3));
    let mut lines: Vec<Line> = head.into_iter().take(head_rows).collect();
    lines.extend(in_sight(fields, focused, room - head_rows, theme));
    lines.push(Line::from(""));
    lines.extend(err);
    frame.render_widget(Paragraph::new(lines).style(theme.base), inner);
    let hint_r = Rect {
        y: inner.y + inner.height.saturating_sub(1),
        height: inner.height.min(1),
        ..inner
    };
    let hints = super::desk_dialogs::hints_of(keys, Context::ForkForm, theme, |_, a| d.offers(a));
    frame.render_widget(Paragraph::new(hints).style(theme.base), hint_r);
}

/// Which run, what the core plans, whose record it is, and what the fields hold.
fn head_text(d: &ForkDialog, ui: &UiState) -> String {
    let p = &d.preview;
    let reused = match p.reused.as_slice() {
        [] => "nothing".to_string(),
        r => r.join(", "),
    };
    let whose = p.starter.as_ref().map_or(String::new(), |s| {
        format!(" It is {s}'s run: the fork runs {s}'s recorded text and params and reuses {s}'s outputs as yours, and only {s}'s engine can check them.")
    });
    line_of(&format!(
        "A new run of run {}'s workflow. Runs again: {} (gates ask again). Reused as recorded, not run: {reused}.{whose} Each field holds the run's value; a changed one goes to the fork as baton fork --param gives it. This console drives the fork.",
        described(ui, &p.run),
        p.rerun.join(", "),
    ))
}

/// Field `k` as the form says it: a changed one names the run's value, a secret says
/// it is not carried (its value is never stored) and is typed again.
fn said<'a>(d: &ForkDialog, k: usize, f: Cow<'a, InputField>) -> Cow<'a, InputField> {
    let note = if f.secret {
        Some("secret: not stored, so not carried: type it again".to_string())
    } else if d.changed(k) {
        let was = d.recorded(k).unwrap_or_default();
        Some(format!("changed: the run's value was {:?}", line_of(was)))
    } else {
        None
    };
    let Some(note) = note else {
        return f;
    };
    let mut f = f.into_owned();
    f.input.description = Some(match f.input.description.take() {
        Some(about) => format!("{note} · {about}"),
        None => note,
    });
    Cow::Owned(f)
}

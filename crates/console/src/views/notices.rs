//! The notices list (`!`): decisions others recorded on the runs shown, newest first,
//! with who, what, why and when.
use super::common::{centered, panel, styled, wrap_text};
use crate::app::UiState;
use crate::app::action_log::Answer;
use crate::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph};

/// A list overlay: its box, titled, then `lines` (made for the box's inner width) from
/// the overlay's scroll, or `empty` when there are none.
pub(super) fn list_overlay(
    frame: &mut Frame,
    area: Rect,
    ui: &UiState,
    theme: &Theme,
    title: String,
    empty: &str,
    lines_for: impl FnOnce(usize) -> Vec<Line<'static>>,
) {
    let r = centered(
        area,
        area.width.saturating_sub(4).min(100),
        area.height.saturating_sub(2),
    );
    frame.render_widget(Clear, r);
    let block = panel(title, theme, true).style(theme.base);
    let inner = block.inner(r);
    frame.render_widget(block, r);
    let mut lines = lines_for(inner.width.max(1) as usize);
    if lines.is_empty() {
        lines.push(Line::from(styled(empty.to_string(), theme.dim)));
    }
    let skip = ui.overlay_scroll.min(lines.len().saturating_sub(1));
    let shown: Vec<Line> = lines.into_iter().skip(skip).collect();
    frame.render_widget(Paragraph::new(shown).style(theme.base), inner);
}

pub(crate) fn render(frame: &mut Frame, area: Rect, ui: &UiState, theme: &Theme) {
    let title = format!(" Notices · {} · Esc closes ", ui.notices.len());
    let empty = "no decisions by others yet: a gate decided from another shell, by another operator or by its timeout shows here";
    list_overlay(frame, area, ui, theme, title, empty, |width| {
        let mut lines = Vec::new();
        for n in ui.notices.iter().rev() {
            let now = ui.now.unwrap_or(n.at);
            let head = format!(
                "{}  {} {}",
                ui.wall(n.at, now),
                n.workflow,
                crate::app::short_id(&n.run_id, &ui.run_ids)
            );
            lines.push(Line::from(styled(head, theme.dim)));
            for l in wrap_text(&n.text(), width.saturating_sub(2)) {
                lines.push(Line::from(styled(format!("  {l}"), theme.base)));
            }
        }
        lines
    });
}

/// The action log (`@`): what this console did, newest first, with what became of it.
pub(crate) fn render_actions(frame: &mut Frame, area: Rect, ui: &UiState, theme: &Theme) {
    let title = format!(" Action log · {} · Esc closes ", ui.action_log.len());
    let empty = "nothing done from this console yet: its approvals, rejections, retries, marks, cancels, resumes, deletes, schedule changes and your [[action]]s show here (others' are notices, !)";
    list_overlay(frame, area, ui, theme, title, empty, |width| {
        let mut lines = Vec::new();
        for e in ui.action_log.iter().rev() {
            let head = match e.at {
                Some(at) => format!("{}  {}", ui.wall(at, ui.now.unwrap_or(at)), e.on),
                None => e.on.clone(),
            };
            lines.push(Line::from(styled(head, theme.dim)));
            let (mark, result, st) = match &e.result {
                None => ("…", "sent, no answer yet".to_string(), theme.dim),
                Some(Answer::Done(m)) => ("✔", m.clone(), theme.ok),
                Some(Answer::Refused(m)) => ("✘", m.clone(), theme.error),
            };
            for l in wrap_text(&format!("{mark} {}", e.what), width.saturating_sub(2)) {
                lines.push(Line::from(styled(format!("  {l}"), theme.base)));
            }
            for l in wrap_text(&result, width.saturating_sub(4)) {
                lines.push(Line::from(styled(format!("    {l}"), st)));
            }
            lines.extend(output_tail(ui, e.user_run, width, theme));
        }
        lines
    });
}

/// How many of an `[[action]]`'s last output lines the action log shows (`o` opens
/// the whole of the newest).
const OUTPUT_TAIL: usize = 5;

/// An `[[action]]` run's last lines of output, under its entry.
fn output_tail(ui: &UiState, run: Option<u64>, width: usize, theme: &Theme) -> Vec<Line<'static>> {
    let Some(f) = run
        .and_then(|id| ui.user_runs.iter().find(|r| r.prepared.id == id))
        .and_then(|r| r.finished.as_ref())
    else {
        return Vec::new();
    };
    let from = f.lines.len().saturating_sub(OUTPUT_TAIL);
    f.lines[from..]
        .iter()
        .map(|l| {
            let shown = super::common::fit(l, width.saturating_sub(6));
            Line::from(styled(format!("    │ {shown}"), theme.dim))
        })
        .collect()
}

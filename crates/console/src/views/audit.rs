//! Audit tab: the run's decisions, oldest first, and under them the notes on the run
//! and its steps (`baton note`, `n`).
use super::common::{in_run, pad, panel, styled, text_width, window};
use crate::app::Hits;
use crate::app::UiState;
use crate::theme::Theme;
use baton_model::RunView;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

pub(crate) fn render(
    frame: &mut Frame,
    area: Rect,
    view: &RunView,
    ui: &UiState,
    theme: &Theme,
    hits: &mut Hits,
) {
    let area = notes(frame, area, view, ui, theme);
    let shown = ui.shown_audit(view);
    let block = panel(
        format!(
            " Audit · {}{} ",
            super::common::count(view.audit.len(), "decision", "decisions"),
            crate::app::filter_note(&ui.audit_filter, shown.len())
        ),
        theme,
        true,
    );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if view.audit.is_empty() {
        frame.render_widget(Paragraph::new(styled("no decisions yet", theme.dim)), inner);
        return;
    }
    let Some(sel) = ui.audit_at(view) else {
        let text = "no decision matches the filter (Esc clears it)";
        frame.render_widget(Paragraph::new(styled(text, theme.dim)), inner);
        return;
    };
    let rows = (inner.height as usize).saturating_sub(1);
    let first = window(shown.partition_point(|&i| i < sel), shown.len(), rows);
    let drawn = &shown[first..(first + rows).min(shown.len())];
    // `+4m12s`, or the wall clock (`t`), which is wider when it carries a date.
    let now = ui.clock(view);
    let at = |a: &baton_model::view::AuditView| in_run(ui, view.started_at, a.at, now);
    let tw = drawn
        .iter()
        .map(|&i| at(&view.audit[i]).chars().count())
        .fold(8, usize::max);
    // Each column as wide as its widest shown value (issue 45 point 6: an action name
    // is never cut; an actor or a step only past a third of the width).
    let rows_drawn = || drawn.iter().map(|&i| &view.audit[i]);
    let third = (inner.width as usize / 3).max(10);
    let widest = |min: usize, f: &dyn Fn(&baton_model::view::AuditView) -> usize| {
        rows_drawn().map(f).fold(min, usize::max)
    };
    let aw = widest(5, &|a| text_width(&a.actor)).min(third);
    let cw = widest(6, &|a| a.action.as_str().len());
    let sw = widest(4, &|a| text_width(a.step.as_deref().unwrap_or("–"))).min(third);
    let mut lines = vec![Line::from(styled(
        format!(
            "{:>tw$}  {} {} {} reason · details",
            "at",
            pad("actor", aw),
            pad("action", cw),
            pad("step", sw)
        ),
        theme.dim,
    ))];
    for (i, a) in drawn.iter().map(|&i| (i, &view.audit[i])) {
        // The reason and the details, whichever there are, one ` · ` between them.
        let said: Vec<String> = a
            .reason
            .as_deref()
            .map(|r| format!("“{}”", baton_model::sanitize::one_line(r)))
            .into_iter()
            .chain((!a.details.is_empty()).then(|| a.details.clone()))
            .collect();
        let text = format!(
            "{:>tw$}  {} {} {} {}",
            at(a),
            pad(&a.actor, aw),
            pad(a.action.as_str(), cw),
            pad(a.step.as_deref().unwrap_or("–"), sw),
            said.join(" · ")
        );
        lines.push(Line::from(styled(
            text,
            if i == sel {
                theme.selection
            } else {
                theme.base
            },
        )));
    }
    super::common::record_rows(
        hits,
        inner,
        1,
        drawn.iter().copied(),
        crate::app::Hit::Audit,
    );
    frame.render_widget(Paragraph::new(lines).style(theme.base), inner);
}

/// The most rows the notes take under the decisions (the rest: `baton show`).
const NOTE_ROWS: usize = 8;

/// The notes on the run and its steps, newest last, in a panel at the bottom of
/// `area` (each on one line: when, who, on what, the text, sanitised); what is left
/// above it for the decisions.
fn notes(frame: &mut Frame, area: Rect, view: &RunView, ui: &UiState, theme: &Theme) -> Rect {
    if view.notes.is_empty() || area.height < 8 {
        return area;
    }
    let rows = view
        .notes
        .len()
        .min(NOTE_ROWS)
        .min(area.height as usize / 3);
    let h = rows as u16 + 2;
    let below = Rect {
        y: area.y + area.height - h,
        height: h,
        ..area
    };
    let more = view.notes.len() - rows;
    let title = match more {
        0 => format!(" Notes · {} ", view.notes.len()),
        n => format!(
            " Notes · {} · {n} older: baton show {} ",
            view.notes.len(),
            crate::app::short_id(&view.run_id, &ui.run_ids)
        ),
    };
    let block = panel(title, theme, false);
    let inner = block.inner(below);
    frame.render_widget(block, below);
    let now = ui.clock(view);
    let width = inner.width as usize;
    let shown = &view.notes[more..];
    let on = |n: &baton_model::note::NoteView| n.step.clone().unwrap_or("(run)".into());
    // Each column as wide as its widest shown value, a third of the width at most.
    let third = (width / 3).max(8);
    let bw = shown.iter().map(|n| text_width(&n.by)).fold(0, usize::max);
    let sw = shown.iter().map(|n| text_width(&on(n))).fold(0, usize::max);
    let lines: Vec<Line> = shown
        .iter()
        .map(|n| {
            let text = format!(
                "{}  {}  {}  {}",
                in_run(ui, view.started_at, n.at, now),
                pad(&n.by, bw.min(third)),
                pad(&on(n), sw.min(third)),
                baton_model::sanitize::one_line(&n.text)
            );
            let text = baton_model::sanitize::for_terminal(&text);
            Line::from(styled(super::common::fit(&text, width), theme.base))
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).style(theme.base), inner);
    Rect {
        height: area.height - h,
        ..area
    }
}

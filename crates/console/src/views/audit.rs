//! Audit tab: the run's decisions, oldest first.
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

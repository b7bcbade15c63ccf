//! Audit tab: the run's decisions, oldest first.
use super::common::{in_run, pad, panel, styled, window};
use crate::app::Hits;
use crate::app::UiState;
use crate::theme::Theme;
use baton_model::RunView;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

pub fn render(
    frame: &mut Frame,
    area: Rect,
    view: &RunView,
    ui: &UiState,
    theme: &Theme,
    hits: &mut Hits,
) {
    let block = panel(
        format!(
            " Audit · {} ",
            super::common::count(view.audit.len(), "decision", "decisions")
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
    let sel = ui.audit_sel.min(view.audit.len() - 1);
    let rows = (inner.height as usize).saturating_sub(1);
    let first = window(sel, view.audit.len(), rows);
    // `+4m12s`, or the wall clock (`t`), which is wider when it carries a date.
    let now = ui.clock(view);
    let at = |a: &baton_model::view::AuditView| in_run(ui, view.started_at, a.at, now);
    let tw = view
        .audit
        .iter()
        .skip(first)
        .take(rows)
        .map(|a| at(a).chars().count())
        .fold(8, usize::max);
    let mut lines = vec![Line::from(styled(
        format!(
            "{:>tw$}  {:10} {:18} {:18} reason · details",
            "at", "actor", "action", "step"
        ),
        theme.dim,
    ))];
    for (i, a) in view.audit.iter().enumerate().skip(first).take(rows) {
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
            pad(&a.actor, 10),
            pad(&a.action.to_string(), 18),
            pad(a.step.as_deref().unwrap_or("–"), 18),
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
    let shown = lines.len() - 1;
    super::common::record_rows(hits, inner, 1, first, shown, crate::app::Hit::Audit);
    frame.render_widget(Paragraph::new(lines).style(theme.base), inner);
}

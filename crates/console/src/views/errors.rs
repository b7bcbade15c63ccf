//! Errors tab: records with severity colours, and the selected one's suggestion.
use super::common::{fit, in_run, pad, panel, styled, window, wrap_text};
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
    let detail_h = if area.height >= 14 { 6 } else { 0 };
    let top = Rect {
        height: area.height - detail_h,
        ..area
    };
    let shown = ui.shown_errors(view);
    let block = panel(
        format!(
            " Errors · {} open of {}{} ",
            view.open_errors(),
            view.errors.len(),
            crate::app::filter_note(&ui.errors_filter, shown.len())
        ),
        theme,
        true,
    );
    let inner = block.inner(top);
    frame.render_widget(block, top);
    if view.errors.is_empty() {
        frame.render_widget(Paragraph::new(styled("no errors", theme.dim)), inner);
        return;
    }
    let Some(sel) = ui.error_at(view) else {
        let text = "no error matches the filter (Esc clears it)";
        frame.render_widget(Paragraph::new(styled(text, theme.dim)), inner);
        return;
    };
    let rows = (inner.height as usize).saturating_sub(1);
    let first = window(shown.partition_point(|&i| i < sel), shown.len(), rows);
    let drawn = &shown[first..(first + rows).min(shown.len())];
    let sw = view
        .errors
        .iter()
        .map(|e| e.step.as_deref().map_or(3, |s| s.chars().count() + 3))
        .max()
        .unwrap_or(8)
        .min(28);
    // `+4m12s`, or the wall clock (`t`), which is wider when it carries a date.
    let now = ui.clock(view);
    let at = |e: &baton_model::ErrorRecord| in_run(ui, view.started_at, e.at, now);
    let tw = drawn
        .iter()
        .map(|&i| at(&view.errors[i]).chars().count())
        .fold(8, usize::max);
    let mut lines = vec![Line::from(styled(
        format!(
            "{:9} {:>tw$}  {:18} {}  message",
            "severity",
            "at",
            "kind",
            pad("step#try", sw)
        ),
        theme.dim,
    ))];
    for (i, e) in drawn.iter().map(|&i| (i, &view.errors[i])) {
        let step = e
            .step
            .as_deref()
            .map_or("run".to_string(), |s| format!("{s}#{}", e.attempt));
        let sev = format!("{:9}", e.severity.as_str().to_uppercase());
        let rest = format!(
            " {:>tw$}  {:18} {}  {}{}",
            at(e),
            e.kind.as_str(),
            pad(&fit(&step, sw), sw),
            e.message,
            if e.open { "" } else { "  (closed)" }
        );
        let base = if !e.open { theme.dim } else { theme.base };
        let line = if i == sel {
            Line::from(vec![
                styled(sev, theme.selection),
                styled(rest, theme.selection),
            ])
        } else {
            Line::from(vec![
                styled(sev, theme.severity(e.severity)),
                styled(rest, base),
            ])
        };
        lines.push(line);
    }
    super::common::record_rows(
        hits,
        inner,
        1,
        drawn.iter().copied(),
        crate::app::Hit::Error,
    );
    frame.render_widget(Paragraph::new(lines).style(theme.base), inner);
    if detail_h > 0 {
        let bottom = Rect {
            y: area.y + area.height - detail_h,
            height: detail_h,
            ..area
        };
        render_suggestion(frame, bottom, &view.errors[sel], theme);
    }
}

/// The selected error's suggestion, and whether retrying may help.
fn render_suggestion(frame: &mut Frame, bottom: Rect, e: &baton_model::ErrorRecord, theme: &Theme) {
    let block = panel(
        " Suggestion · Enter: context and log · r: retry ",
        theme,
        false,
    );
    let inner = block.inner(bottom);
    frame.render_widget(block, bottom);
    let mut l: Vec<Line> = wrap_text(&e.suggestion, inner.width as usize)
        .into_iter()
        .map(|s| Line::from(styled(s, theme.accent)))
        .collect();
    l.push(Line::from(styled(
        if e.retryable {
            "retrying may help"
        } else {
            "retrying alone will not help"
        },
        theme.dim,
    )));
    frame.render_widget(Paragraph::new(l).style(theme.base), inner);
}

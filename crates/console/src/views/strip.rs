//! The Runs tab's strip (issue 45 point 8): each workflow's last runs, one state glyph
//! per run, oldest left, newest right, as GitHub's and Jenkins' recent-runs rows; the
//! workflows run most recently first. "Which nightly failed this week" is one look.
use super::common::{pad, styled, text_width};
use super::header::run_reading;
use crate::app::UiState;
use crate::theme::Theme;
use baton_model::RunState;
use ratatui::text::{Line, Span};

/// How many runs a strip shows at most.
const RUNS: usize = 20;

/// Each workflow's last runs (newest first), the workflows in the order their newest
/// runs came: `ui.runs` is the store's list, newest first.
/// Each run as (state, read as rejected).
pub(crate) fn recent(ui: &UiState, workflows: usize) -> Vec<(&str, Vec<(RunState, bool)>)> {
    let mut out: Vec<(&str, Vec<(RunState, bool)>)> = Vec::new();
    for r in ui.runs.iter() {
        let reading = (r.state, r.rejected);
        match out.iter().position(|(w, _)| *w == r.workflow) {
            Some(i) if out[i].1.len() < RUNS => out[i].1.push(reading),
            Some(_) => {}
            None if out.len() < workflows => out.push((&r.workflow, vec![reading])),
            None => {}
        }
    }
    out
}

/// The strip's lines for `width` columns, at most `rows` workflows.
pub(crate) fn lines(ui: &UiState, width: usize, rows: usize, theme: &Theme) -> Vec<Line<'static>> {
    let recent = recent(ui, rows);
    let nw = recent
        .iter()
        .map(|(w, _)| text_width(w))
        .fold(8, usize::max)
        .min(width / 3);
    let room = width.saturating_sub(nw + 3);
    recent
        .into_iter()
        .map(|(w, states)| {
            let mut spans = vec![styled(format!("  {} ", pad(w, nw)), theme.dim)];
            // Oldest left, newest right; as many as fit.
            let shown = states.len().min(room);
            spans.extend(states[..shown].iter().rev().map(|&(s, rejected)| {
                let (glyph, _, style) = run_reading(s, rejected, theme);
                styled(glyph, style)
            }));
            Line::from(spans.into_iter().collect::<Vec<Span<'static>>>())
        })
        .collect()
}

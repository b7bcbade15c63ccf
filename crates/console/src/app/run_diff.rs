//! The Runs tab's diff of two runs (issue 58 point 8): `D` marks the selected run, `D`
//! on another asks the session what changed between them (`baton diff A B`'s one
//! computation, `model::run_diff`) and shows it in an overlay scrolled by line.
use super::actions::{Action, Request, Tab};
use super::runs::short_id;
use super::state::{Overlay, UiState};
use super::update::toast;
use crate::keymap::Context;
use baton_model::{Refusal, RunSummary};
use std::sync::Arc;

/// `D` on `run`: mark it, unmark it, or diff the marked run against it.
pub(super) fn key(ui: &mut UiState, run: Option<&RunSummary>) -> Vec<Request> {
    let Some(r) = run else {
        toast(ui, "✘ no run selected", false);
        return Vec::new();
    };
    let short = short_id(&r.id, &ui.run_ids).to_string();
    let key = ui
        .keys
        .label_of(Context::Tab(Tab::Runs), &Action::Diff)
        .unwrap_or("D")
        .to_string();
    match ui.diff_mark.take() {
        None => {
            ui.diff_mark = Some(r.id.clone());
            toast(
                ui,
                format!(
                    "run {short} marked (◆): select another run and press {key} to see what changed"
                ),
                true,
            );
        }
        Some(m) if m == r.id => toast(ui, format!("run {short} unmarked"), true),
        Some(m) => {
            let from = short_id(&m, &ui.run_ids).to_string();
            toast(
                ui,
                format!("… what changed from run {from} to run {short}"),
                true,
            );
            return vec![Request::DiffRuns {
                a: m,
                b: r.id.clone(),
            }];
        }
    }
    Vec::new()
}

/// The session's answer: the diff in its overlay, or that there is none, or why not.
pub(super) fn diffed(
    ui: &mut UiState,
    a: &str,
    b: &str,
    result: Result<baton_link::RunsDiff, Refusal>,
) -> Vec<Request> {
    let (sa, sb) = (
        short_id(a, &ui.run_ids).to_string(),
        short_id(b, &ui.run_ids).to_string(),
    );
    match result {
        Ok(d) if d.lines.is_empty() => toast(
            ui,
            format!("✔ runs {sa} and {sb} recorded the same workflow text and params"),
            true,
        ),
        Ok(d) => {
            ui.toast = None;
            ui.run_diff = Some(Arc::new(d));
            ui.overlay = Some(Overlay::RunDiff);
            ui.overlay_scroll = 0;
        }
        Err(e) => toast(ui, format!("✘ diff of runs {sa} and {sb}: {e}"), false),
    }
    Vec::new()
}

/// How many lines PgUp/PgDn move the diff.
const PAGE: usize = 15;

/// A scroll key in the diff's overlay: its first line shown, by diff line, from the
/// first to the last (the view keeps the last page full).
pub(super) fn scroll(ui: &mut UiState, action: &Action) {
    let last = ui
        .run_diff
        .as_ref()
        .map_or(0, |d| d.lines.len().saturating_sub(1));
    let at = ui.overlay_scroll;
    ui.overlay_scroll = match action {
        Action::Up => at.saturating_sub(1),
        Action::Down => at + 1,
        Action::PageUp => at.saturating_sub(PAGE),
        Action::PageDown => at + PAGE,
        Action::Top => 0,
        Action::Bottom => last,
        _ => at,
    }
    .min(last);
}

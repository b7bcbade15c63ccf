//! A fanned-out step as the DAG tab draws it: its row in the list (an instance indented
//! under its step, the step's counts before its action), its node in the graph, and the
//! instances its detail pane lists. The counts are the view's (`model::fan`).
use super::common::{kv, pad, styled};
use crate::app::{MAX_LABEL, UiState};
use crate::theme::Theme;
use baton_model::{RunView, StepState, StepView};
use ratatui::text::Line;

/// What indents an instance under its step in the list.
const UNDER: &str = "└ ";

/// A list row's step column: an instance indented under its step.
pub(crate) fn list_id(view: &RunView, i: usize) -> String {
    let s = &view.steps[i];
    match s.parent {
        Some(_) => format!("{UNDER}{}", s.id),
        None => s.id.clone(),
    }
}

/// The width of [`list_id`], without making it.
pub(crate) fn list_id_width(view: &RunView, i: usize) -> usize {
    let s = &view.steps[i];
    s.id.chars().count() + s.parent.map_or(0, |_| UNDER.chars().count())
}

/// A list row's last column: a fanned-out step's counts, open (`▾`) or closed (`▸`),
/// before its action.
pub(crate) fn list_action(s: &StepView, open: bool) -> String {
    // A multi-line `run` on one row: its lines apart (` ⏎ `), not run together.
    let mut action = baton_model::sanitize::one_line(&s.action);
    // A `for_each` instance says its item: its id says only its position.
    if let Some(item) = &s.item {
        action = format!("item {item} · {action}");
    }
    match &s.fan {
        Some(f) => format!(
            "{} {} · {action}",
            if open { "▾" } else { "▸" },
            f.counts.text(),
        ),
        None => action,
    }
}

/// The graph node that stands for step `i`: itself, or the closed fanned-out step of
/// an instance (the graph draws only opened steps' instances).
pub(crate) fn graph_node(view: &RunView, ui: &UiState, i: usize) -> usize {
    match view.steps.get(i).and_then(|s| s.parent) {
        Some(p) if !ui.is_expanded(view, p) => p,
        _ => i,
    }
}

/// The columns a node's label takes now (`glyph id counts`), where its edges start.
pub(crate) fn label_width(s: &StepView) -> usize {
    super::common::text_width(&s.id).min(MAX_LABEL)
        + 2
        + s.fan
            .as_ref()
            .map_or(0, |f| 1 + f.counts.text().chars().count())
}

/// The detail pane of a fanned-out step: its counts, then as many instances as `room`
/// lines hold (failed ones first, then those at work, then the rest, each in instance
/// order), each with its state, duration and executor. One pass over the instances.
pub(crate) fn instance_lines<'a>(
    view: &RunView,
    ui: &UiState,
    s: &StepView,
    room: usize,
    w: usize,
    theme: &Theme,
) -> Vec<Line<'a>> {
    let Some(f) = &s.fan else {
        return Vec::new();
    };
    let mut lines = vec![kv(
        "fan-out",
        9,
        styled(f.counts.text(), theme.title),
        theme,
    )];
    let rows = room.saturating_sub(2);
    if rows == 0 {
        return lines;
    }
    let (mut failed, mut active, mut rest) = (Vec::new(), Vec::new(), Vec::new());
    for k in f.instances.clone() {
        let st = view.steps[k].state;
        let bucket = if st.is_failure() || st == StepState::Cancelled {
            &mut failed
        } else if !st.is_final() && st != StepState::Pending {
            &mut active
        } else {
            &mut rest
        };
        if bucket.len() < rows {
            bucket.push(k);
        }
    }
    let picked: Vec<usize> = failed
        .into_iter()
        .chain(active)
        .chain(rest)
        .take(rows)
        .collect();
    let id_w = picked
        .iter()
        .map(|&k| super::common::text_width(&view.steps[k].id))
        .max()
        .unwrap_or(4)
        .min(w.saturating_sub(30).max(8));
    let now = ui.clock(view);
    for &k in &picked {
        let inst = &view.steps[k];
        let dur = super::common::run_time(inst, now)
            .map(baton_model::time::human_duration)
            .unwrap_or_default();
        let text = format!(
            "{} {} {} {:>7}  {}",
            super::common::step_glyph(inst),
            pad(&super::common::fit(&inst.id, id_w), id_w),
            pad(super::common::step_word(inst), 11),
            dur,
            inst.executor()
        );
        lines.push(Line::from(styled(
            super::common::fit(&text, w),
            super::common::step_style(inst, theme),
        )));
    }
    if f.counts.total > picked.len() {
        lines.push(Line::from(styled(
            format!("… {} more", f.counts.total - picked.len()),
            theme.dim,
        )));
    }
    lines
}

#[cfg(test)]
mod tests {
    /// Issue 76: the list view ran a multi-line `run`'s lines together.
    #[test]
    fn a_multi_line_run_reads_as_its_lines_on_one_row() {
        let mut s = crate::fixtures::release().steps.remove(0);
        s.fan = None;
        s.action = "set -e\n  make build\n\n  make test\n".into();
        assert_eq!(
            super::list_action(&s, false),
            "set -e ⏎   make build ⏎   make test"
        );
    }

    /// Issue 76: `for_each` ids number items by position; the row says the item and
    /// `/` finds it by the item (`/138` found `shard[138]`, whose item is 139).
    #[test]
    fn a_for_each_instance_says_its_item_and_is_found_by_it() {
        let mut s = crate::fixtures::release().steps.remove(0);
        s.fan = None;
        s.id = "shard[137]".into();
        s.action = "process 138".into();
        s.item = Some("138".into());
        assert_eq!(super::list_action(&s, false), "item 138 · process 138");
        let f = crate::app::Filter::parse("138");
        assert!(f.matches(&s));
        s.id = "shard[5]".into();
        s.item = Some("6".into());
        assert!(!f.matches(&s));
        assert!(crate::app::Filter::parse("5").matches(&s), "by its id too");
    }
}

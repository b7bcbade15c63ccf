//! Fanned-out steps in the DAG tab: one node each, labelled with its instances' counts
//! (`test 14/20 ✔12 ✘1 ◷1`, read from the view: `model::fan`), opened to its instances
//! and closed again by `Action::Expand`. Which steps the list shows (and in which
//! order), which the graph lays out, and which node stands for a step not drawn.
use super::actions::Request;
use super::dag::matches_filter;
use super::state::UiState;
use baton_model::{RunView, StepView, fan};

/// The widest step id a node shows (longer ones end in `…`).
pub(crate) const MAX_LABEL: usize = 24;

impl UiState {
    /// Whether the fanned-out step `i` is opened to its instances.
    pub fn is_expanded(&self, view: &RunView, i: usize) -> bool {
        view.steps
            .get(i)
            .is_some_and(|s| s.fan.is_some() && self.expanded.contains(&s.id))
    }

    /// The step drawn for step `i`: itself, or the fanned-out step of an instance the
    /// tab does not show (its step is closed and the filter does not pick it).
    pub fn node_of(&self, view: &RunView, i: usize) -> usize {
        match view.steps.get(i).and_then(|s| s.parent.map(|p| (s, p))) {
            Some((s, p)) if !self.is_expanded(view, p) => {
                let picked = !self.filter.trim().is_empty() && matches_filter(s, &self.filter);
                if picked { i } else { p }
            }
            _ => i,
        }
    }
}

/// The rows of the DAG tab in order: each workflow step and, under an opened fanned-out
/// step, its instances. With a filter, the steps that match it, an instance under its
/// step (which is listed for it even if it does not match itself).
pub(crate) fn rows(view: &RunView, filter: &str, open: impl Fn(usize) -> bool) -> Vec<usize> {
    let filter = filter.trim();
    if filter.is_empty() {
        return fan::grouped(view, |i, _| open(i));
    }
    let mut out = Vec::new();
    for i in 0..fan::plan_len(view) {
        let s = &view.steps[i];
        let picked: Vec<usize> = s.fan.as_ref().map_or_else(Vec::new, |f| {
            f.instances
                .clone()
                .filter(|&k| matches_filter(&view.steps[k], filter))
                .collect()
        });
        if !picked.is_empty() || matches_filter(s, filter) {
            out.push(i);
        }
        out.extend(picked);
    }
    out
}

/// The rows the console shows now ([`rows`] with the steps the operator opened).
pub fn shown_steps(view: &RunView, ui: &UiState) -> Vec<usize> {
    rows(view, &ui.filter, |i| ui.is_expanded(view, i))
}

/// What the graph lays out: the workflow's steps and the instances of opened steps
/// (a filter dims nodes, it does not move them).
pub(crate) fn graph_steps(view: &RunView, ui: &UiState) -> Vec<usize> {
    fan::grouped(view, |i, _| ui.is_expanded(view, i))
}

/// A graph node's text: `glyph id`, and a fanned-out step's counts after it.
pub(crate) fn node_label(s: &StepView) -> String {
    let mut out = format!(
        "{} {}",
        crate::views::common::step_glyph(s),
        crate::views::common::fit(&s.id, MAX_LABEL)
    );
    if let Some(f) = &s.fan {
        out.push(' ');
        out.push_str(&f.counts.text());
    }
    out
}

/// The widest a node's id and counts can be (the column does not move as they run).
pub(crate) fn node_width(s: &StepView) -> usize {
    let id = crate::views::common::text_width(&s.id).min(MAX_LABEL);
    id + s.fan.as_ref().map_or(0, |f| 1 + f.counts.widest())
}

/// Open or close the fanned-out step in focus (on an instance: its step).
pub(super) fn toggle(ui: &mut UiState, view: &RunView, focus: usize) -> Vec<Request> {
    let Some(s) = view.steps.get(focus) else {
        return Vec::new();
    };
    let p = s.parent.unwrap_or(focus);
    let Some(step) = view.steps.get(p).filter(|s| s.fan.is_some()) else {
        return Vec::new();
    };
    if !ui.expanded.remove(&step.id) {
        ui.expanded.insert(step.id.clone());
    }
    // The node stays in focus (an instance closed away leaves its step).
    ui.follow = false;
    ui.selected = p;
    ui.keep_layout(view);
    Vec::new()
}

/// Whether `Action::Expand` would do something: the focus is a fanned-out step or one
/// of its instances.
pub(super) fn offered(view: &RunView, focus: Option<usize>) -> bool {
    focus
        .and_then(|i| view.steps.get(i))
        .is_some_and(|s| s.fan.is_some() || s.parent.is_some())
}

/// Whether the filter lets step `i` be a row: it matches, or (a fanned-out step) one of
/// its instances does.
pub(crate) fn rows_match(view: &RunView, i: usize, filter: &str) -> bool {
    let Some(s) = view.steps.get(i) else {
        return false;
    };
    filter.trim().is_empty()
        || matches_filter(s, filter)
        || s.fan.as_ref().is_some_and(|f| {
            f.instances
                .clone()
                .any(|k| matches_filter(&view.steps[k], filter))
        })
}

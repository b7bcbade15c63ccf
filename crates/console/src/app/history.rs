//! A step's history across runs of its workflow (issue 76 point 6): `T` on the DAG asks
//! the session for it (`baton history`'s read and fold, `model::step_trend`), and the
//! answer opens an overlay: the durations' sparkline, p50 and p95, the failure rate and
//! the slowest runs, one of which `Enter` opens on this step.
use super::actions::{Action, Request};
use super::runs::{open_run, short_id};
use super::state::{Overlay, UiState};
use super::update::toast;
use baton_model::step_trend::StepTrend;
use baton_model::{Refusal, RunView};

/// A step's history on screen (`Overlay::History`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StepHistory {
    /// The run on screen when it was asked for (marked among the runs).
    pub(crate) run_id: String,
    pub(crate) workflow: String,
    pub(crate) step: String,
    pub(crate) trend: StepTrend,
    /// The selected slow run: an index into `trend.slowest`.
    pub(crate) sel: usize,
}

impl StepHistory {
    /// The slow run selected, if any.
    pub(crate) fn selected_run(&self) -> Option<&str> {
        let &i = self.trend.slowest.get(self.sel)?;
        self.trend.runs.get(i).map(|r| r.run_id.as_str())
    }
}

/// `T` on step `focus`: ask the session for its history.
pub(super) fn ask(ui: &mut UiState, view: &RunView, focus: usize) -> Vec<Request> {
    let Some(step) = view.steps.get(focus).map(|s| s.id.clone()) else {
        return Vec::new();
    };
    toast(
        ui,
        format!("… the history of step {step} in runs of {}", view.workflow),
        true,
    );
    vec![Request::StepHistory {
        run_id: view.run_id.clone(),
        workflow: view.workflow.clone(),
        step,
    }]
}

/// The session's answer: the overlay, unless the operator went on to a dialog, the log
/// or another overlay meanwhile (it would cover what they turned to).
pub(super) fn answered(
    ui: &mut UiState,
    run_id: String,
    workflow: String,
    step: String,
    result: Result<StepTrend, Refusal>,
) -> Vec<Request> {
    match result {
        Ok(t) if t.runs.is_empty() => toast(
            ui,
            format!("no run of {workflow} has a step {step} on record yet"),
            true,
        ),
        Ok(trend) => {
            if ui.dialog.is_some() || ui.log.is_some() || ui.overlay.is_some() {
                return Vec::new();
            }
            ui.toast = None;
            ui.history = Some(StepHistory {
                run_id,
                workflow,
                step,
                trend,
                sel: 0,
            });
            ui.overlay = Some(Overlay::History);
        }
        Err(e) => toast(ui, format!("✘ history of step {step}: {e}"), false),
    }
    Vec::new()
}

/// A move in the overlay: the selection among the slowest runs.
pub(super) fn select(ui: &mut UiState, action: &Action) {
    let Some(h) = ui.history.as_mut() else {
        return;
    };
    let last = h.trend.slowest.len().saturating_sub(1);
    h.sel = match action {
        Action::Up => h.sel.saturating_sub(1),
        Action::Down => h.sel + 1,
        Action::Top | Action::PageUp => 0,
        Action::Bottom | Action::PageDown => last,
        _ => h.sel,
    }
    .min(last);
}

/// Enter: the selected slow run opened on the DAG, its step selected once it is here
/// (the run on screen: the overlay closes on it).
pub(super) fn open(ui: &mut UiState, view: &RunView) -> Vec<Request> {
    let Some(h) = ui.history.as_ref() else {
        return Vec::new();
    };
    let Some(run) = h.selected_run().map(str::to_string) else {
        return Vec::new();
    };
    let step = h.step.clone();
    ui.overlay = None;
    if run == view.run_id {
        ui.select_step(view, &step);
        return Vec::new();
    }
    let short = short_id(&run, &ui.run_ids).to_string();
    toast(ui, format!("run {short}, step {step}"), true);
    let out = open_run(ui, run.clone());
    ui.open_on_step = Some((run, step));
    out
}

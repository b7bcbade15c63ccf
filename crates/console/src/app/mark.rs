//! The mark dialog (issue 28 point 2): set a step's outcome by hand, as `baton mark`
//! does: the outcome (succeeded or failed, only what the engine would accept), a
//! reason (required), and a confirm before it is sent.
use super::actions::{Action, Request};
use super::dialogs::Dialog;
use super::state::UiState;
use super::targets::target_step;
use super::update::{edit_line, send, toast};
use baton_model::{Command, RunView, StepState};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkDialog {
    /// The step's run, when not the run on screen (the Waiting tab).
    pub run_id: Option<String>,
    pub step_id: String,
    /// The outcomes the engine would accept now.
    pub can_succeed: bool,
    pub can_fail: bool,
    /// The outcome chosen.
    pub succeeded: bool,
    pub reason: String,
    /// Enter was pressed once: the next Enter sends it.
    pub confirming: bool,
    pub error: Option<String>,
}

impl MarkDialog {
    pub fn new(run_id: Option<String>, step: &str, can_succeed: bool, can_fail: bool) -> Self {
        MarkDialog {
            run_id,
            step_id: step.to_string(),
            can_succeed,
            can_fail,
            // Failed is the safer default where both are possible.
            succeeded: can_succeed && !can_fail,
            reason: String::new(),
            confirming: false,
            error: None,
        }
    }

    pub fn state(&self) -> StepState {
        if self.succeeded {
            StepState::Succeeded
        } else {
            StepState::Failed
        }
    }
}

/// `m` on a step (the DAG's focus, the selected error's step).
pub(super) fn open_mark_dialog(ui: &mut UiState, view: &RunView) {
    let ctx = ui.context();
    let Some(i) = target_step(ui, view, ctx) else {
        return toast(ui, "✘ no step selected to mark", false);
    };
    let s = &view.steps[i];
    let a = s.actions;
    if !(a.mark_succeeded || a.mark_failed) {
        return toast(
            ui,
            format!("✘ {} is {}: it cannot be marked now", s.id, s.state),
            false,
        );
    }
    ui.dialog = Some(Dialog::Mark(Box::new(MarkDialog::new(
        None,
        &s.id,
        a.mark_succeeded,
        a.mark_failed,
    ))));
}

pub(super) fn mark_dialog(ui: &mut UiState, action: Action) -> Vec<Request> {
    let Some(Dialog::Mark(d)) = ui.dialog.as_mut() else {
        return Vec::new();
    };
    match action {
        Action::Back if d.confirming => d.confirming = false,
        Action::Back => ui.dialog = None,
        Action::Up | Action::Down | Action::SwitchButton if d.can_succeed && d.can_fail => {
            d.succeeded = !d.succeeded;
            d.confirming = false;
        }
        Action::Key(k) => {
            edit_line(&mut d.reason, k);
            d.error = None;
            d.confirming = false;
        }
        Action::Confirm if !d.confirming => d.confirming = true,
        Action::Confirm => {
            let command = Command::Mark {
                step: d.step_id.clone(),
                state: d.state(),
                operator: ui.operator.clone(),
                reason: d.reason.trim().to_string(),
                outputs: Default::default(),
                artifacts: Vec::new(),
            };
            let (run_id, what) = (
                d.run_id.clone(),
                format!("mark {} {}", d.step_id, d.state()),
            );
            ui.sent_from = ui.dialog.take();
            return send(ui, run_id, command, &what);
        }
        _ => {}
    }
    Vec::new()
}

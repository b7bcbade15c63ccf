//! `P` (issue 58 point 2): hold or release asks for a reason and a confirm, as a
//! schedule's pause does, and the reason typed goes on the audit record. The dialog
//! says what the hold does to what is selected (a running step is frozen: its
//! processes stopped and its clocks with them).
use super::actions::{Action, Request};
use super::dialogs::Dialog;
use super::state::UiState;
use super::update::{ReasonStep, reason_step, send};
use baton_model::Command;

/// Hold or release: what, the reason typed, then Enter twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldDialog {
    /// The run to send it to; `None` the run on screen.
    pub run: Option<String>,
    /// The steps named; empty, the whole run.
    pub steps: Vec<String>,
    pub release: bool,
    /// What it is done to, for the title: `package`, `run 01JXR3T5`.
    pub target: String,
    /// What it does, in a sentence.
    pub effect: String,
    pub reason: String,
    /// Enter was pressed once: the next Enter sends it.
    pub confirming: bool,
    pub error: Option<String>,
}

impl HoldDialog {
    /// Hold or release step `s` of the run on screen (a running one is frozen).
    pub(super) fn step(s: &baton_model::StepView, release: bool) -> HoldDialog {
        let id = &s.id;
        let effect = match (release, s.is_frozen(), s.state.has_process()) {
            (true, true, _) => format!(
                "Release {id}: its processes go on where they stopped, and its timeout runs again with what was left of it."
            ),
            (true, false, _) => format!("Release {id}: it may start again."),
            (false, _, true) => format!(
                "Hold {id}: it is running, so it is frozen: its processes are stopped, and its clocks with them, until it is released."
            ),
            (false, _, false) => {
                format!("Hold {id}: it does not start, and takes no slot, until it is released.")
            }
        };
        HoldDialog {
            run: None,
            steps: vec![id.clone()],
            release,
            target: id.clone(),
            effect,
            reason: String::new(),
            confirming: false,
            error: None,
        }
    }

    /// Hold or release every step of run `run_id` (`short`, as the console names it).
    pub(super) fn run(run_id: &str, short: &str, release: bool) -> HoldDialog {
        let effect = if release {
            format!("Release run {short}: each held step may start again, each frozen one goes on.")
        } else {
            format!(
                "Hold run {short}: its steps that have not started wait until they are released."
            )
        };
        HoldDialog {
            run: Some(run_id.to_string()),
            steps: Vec::new(),
            release,
            target: format!("run {short}"),
            effect,
            reason: String::new(),
            confirming: false,
            error: None,
        }
    }

    /// `hold` or `release`.
    pub fn verb(&self) -> &'static str {
        if self.release { "release" } else { "hold" }
    }

    fn command(&self, operator: &str, reason: String) -> Command {
        let (steps, operator) = (self.steps.clone(), operator.to_string());
        if self.release {
            Command::Release {
                steps,
                operator,
                reason,
            }
        } else {
            Command::Hold {
                steps,
                operator,
                reason,
                until: None,
                freeze: false,
            }
        }
    }
}

/// Open the dialog.
pub(super) fn ask(ui: &mut UiState, d: HoldDialog) -> Vec<Request> {
    ui.dialog = Some(Dialog::Hold(Box::new(d)));
    Vec::new()
}

/// A key in the dialog: the reason typed; Enter asks once more, then sends it.
pub(super) fn hold_dialog(ui: &mut UiState, action: Action) -> Vec<Request> {
    let Some(Dialog::Hold(d)) = ui.dialog.as_mut() else {
        return Vec::new();
    };
    let required = format!(
        "a reason is required to {}: it goes on the audit record",
        d.verb()
    );
    match reason_step(
        &mut d.reason,
        &mut d.error,
        &mut d.confirming,
        action,
        required,
    ) {
        ReasonStep::Stay => {}
        ReasonStep::Close => ui.dialog = None,
        ReasonStep::Send => {
            let d = *d.clone();
            ui.dialog = None;
            let command = d.command(&ui.operator, d.reason.trim().to_string());
            return send(
                ui,
                d.run.clone(),
                command,
                &format!("{} {}", d.verb(), d.target),
            );
        }
    }
    Vec::new()
}

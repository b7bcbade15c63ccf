//! `F` on a step of the DAG: fork the finished run from it (`baton fork RUN --from
//! STEP`, issue 43 point 4). The console decides nothing of it: `F` asks the session
//! what the fork would do (`Request::ForkPlan`, answered by the core's own plan, as
//! `baton fork --dry-run` prints it); the answer opens a confirm dialog listing what runs
//! again and what is reused, or a dialog with the core's refusal. Yes asks the session to
//! make the fork, and this console drives it.
use super::actions::Request;
use super::dialogs::{ConfirmDialog, ConfirmWhat, Dialog};
use super::state::UiState;
use super::update::toast;
use baton_model::{Refusal, RunView};

/// What a fork from a step would do, as the dialog lists it: the core's plan.
pub use baton_link::ForkPreview;

/// `F` on step `i`: ask the session what a fork from it would do.
pub(super) fn ask(ui: &mut UiState, view: &RunView, i: usize) -> Vec<Request> {
    let step = view.steps[i].id.clone();
    ui.pending += 1;
    toast(ui, format!("… what a fork from {step} would do"), true);
    vec![Request::ForkPlan {
        run_id: view.run_id.clone(),
        step,
    }]
}

/// The session's answer to `F`: the confirm dialog with the core's plan, or its refusal.
/// A dialog the operator opened meanwhile stays; the answer is a toast then.
pub(super) fn planned(
    ui: &mut UiState,
    step: &str,
    result: Result<ForkPreview, Refusal>,
) -> Vec<Request> {
    ui.pending = ui.pending.saturating_sub(1);
    let busy = ui.dialog.is_some();
    match result {
        Ok(p) if !busy => {
            ui.toast = None;
            ui.dialog = Some(Dialog::Confirm(ConfirmDialog {
                what: ConfirmWhat::Fork(Box::new(p)),
                yes: true,
                runs: Vec::new(),
                button: Default::default(),
            }));
        }
        Ok(_) => toast(
            ui,
            format!("✘ fork from {step}: close the dialog, then F again"),
            false,
        ),
        Err(why) if !busy => {
            ui.toast = None;
            ui.dialog = Some(Dialog::Refused(format!("✘ fork from {step}: {why}")));
        }
        Err(why) => toast(ui, format!("✘ fork from {step}: {why}"), false),
    }
    Vec::new()
}

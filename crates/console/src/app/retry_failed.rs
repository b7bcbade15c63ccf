//! `f` in the Runs and DAG tabs: run every failed step of a run again (`baton retry
//! RUN --failed`, issue 58 point 5). The console decides nothing of it: `f` asks the
//! session what the retry would take up (`Request::RetryFailedPlan`, answered by the
//! core's own `failed_retry`); the answer opens a confirm listing what will run and
//! the interrupted steps left to a person, or a dialog with the core's refusal. Yes
//! sends the command to that run.
use super::actions::Request;
use super::dialogs::{ConfirmDialog, ConfirmWhat, Dialog};
use super::runs::short_id;
use super::state::UiState;
use super::update::{send, toast};
use baton_model::{Command, Refusal};

pub(super) use baton_link::RetryPreview;

/// `f` on run `run_id`: ask the session what a retry of its failed steps would run.
pub(super) fn ask(ui: &mut UiState, run_id: String) -> Vec<Request> {
    ui.pending += 1;
    let short = short_id(&run_id, &ui.run_ids).to_string();
    toast(ui, format!("… what failed in run {short}"), true);
    vec![Request::RetryFailedPlan { run_id }]
}

/// The session's answer to `f`: the confirm listing what runs again, or the refusal.
/// A dialog the operator opened meanwhile stays; the answer is a toast then.
pub(super) fn planned(
    ui: &mut UiState,
    run_id: &str,
    result: Result<RetryPreview, Refusal>,
) -> Vec<Request> {
    ui.pending = ui.pending.saturating_sub(1);
    let busy = ui.dialog.is_some();
    let short = short_id(run_id, &ui.run_ids).to_string();
    match result {
        Ok(p) if !busy => {
            ui.toast = None;
            ui.dialog = Some(Dialog::Confirm(ConfirmDialog {
                what: ConfirmWhat::RetryFailed(Box::new(p)),
                yes: true,
                runs: vec![run_id.to_string()],
                button: Default::default(),
            }));
        }
        Ok(_) => toast(
            ui,
            format!("✘ retry the failed steps of {short}: close the dialog, then f again"),
            false,
        ),
        Err(why) if !busy => {
            ui.toast = None;
            ui.dialog = Some(Dialog::Refused(format!("✘ retry the failed steps: {why}")));
        }
        Err(why) => toast(ui, format!("✘ retry the failed steps: {why}"), false),
    }
    Vec::new()
}

/// Yes in the confirm: the command to the run it listed.
pub(super) fn confirmed(ui: &mut UiState, p: RetryPreview) -> Vec<Request> {
    let short = short_id(&p.run, &ui.run_ids).to_string();
    let command = Command::RetryFailed {
        operator: ui.operator.clone(),
    };
    send(
        ui,
        Some(p.run),
        command,
        &format!("retry the failed steps of run {short}"),
    )
}

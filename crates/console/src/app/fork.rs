//! `F` on a step of the DAG: fork the finished run from it (`baton fork RUN --from
//! STEP`, issue 43 point 4). A confirm dialog lists what runs again and what is reused
//! first; the session makes the fork and this console drives it.
use super::actions::Request;
use super::dialogs::{ConfirmDialog, ConfirmWhat, Dialog};
use super::state::UiState;
use super::update::toast;
use baton_model::{Refusal, RunView};

/// What a fork from a step would do, as the dialog lists it: read from the view, as
/// the engine decides it (`Core::fork_plan`): the step, what follows it and what the
/// run left unsettled run again (services too); every other step is reused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForkPreview {
    pub run: String,
    pub step: String,
    pub rerun: Vec<String>,
    pub reused: Vec<String>,
}

/// The preview of a fork of `view` from step `i`, or why there is none, in the core's
/// words (the same refusals `baton fork` gives).
pub fn preview(view: &RunView, i: usize) -> Result<ForkPreview, Refusal> {
    let s = &view.steps[i];
    if !view.state.is_final() {
        return Err(Refusal::ForkUnfinished {
            run: view.run_id.clone(),
            state: view.state,
        });
    }
    if let Some(p) = s.parent {
        return Err(Refusal::ForkFromInstance {
            step: s.id.clone(),
            parent: view.steps[p].id.clone(),
        });
    }
    let n = view.steps.len();
    let mut again = vec![false; n];
    again[i] = true;
    // Plan order: a step comes after its needs.
    for (k, step) in view.steps.iter().enumerate() {
        if step.parent.is_none() && step.needs.iter().any(|&d| d < n && again[d]) {
            again[k] = true;
        }
    }
    let (mut rerun, mut reused) = (Vec::new(), Vec::new());
    for (k, step) in view.steps.iter().enumerate() {
        if step.parent.is_some() {
            continue;
        }
        if again[k] || !step.state.is_final() || step.probe.is_some() {
            rerun.push(step.id.clone());
        } else {
            reused.push(step.id.clone());
        }
    }
    Ok(ForkPreview {
        run: view.run_id.clone(),
        step: s.id.clone(),
        rerun,
        reused,
    })
}

/// `F` on step `i`: the confirm dialog, or a toast saying why not.
pub(super) fn ask(ui: &mut UiState, view: &RunView, i: usize) -> Vec<Request> {
    match preview(view, i) {
        Ok(p) => {
            ui.dialog = Some(Dialog::Confirm(ConfirmDialog {
                what: ConfirmWhat::Fork,
                yes: true,
                runs: vec![view.run_id.clone()],
                button: Default::default(),
                fork: Some(Box::new(p)),
            }));
        }
        Err(why) => toast(ui, format!("✘ fork: {why}"), false),
    }
    Vec::new()
}

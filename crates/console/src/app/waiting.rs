//! The Waiting tab (issue 28 point 1): everything across the store's runs that waits
//! on a person (`model::inbox`), soonest deadline first. Its keys act on the selected
//! item's run, whichever run is on screen: approve or reject a gate, raise a budget,
//! mark a step, open the run. A run no engine drives is taken over by the console's
//! service as `baton approve` would.
use super::actions::{Action, Request, Tab};
use super::dialogs::{
    Decision, Dialog, GateDialog, InputField, new_reason_box, open_budget_dialog,
};
use super::mark::MarkDialog;
use super::state::UiState;
use super::update::{move_sel, toast};
use baton_model::RunView;
use baton_model::inbox::{WaitKind, Waiting};

impl UiState {
    /// The selected item of the Waiting tab, if any.
    pub fn selected_waiting(&self) -> Option<&Waiting> {
        self.waiting
            .get(self.wait_sel.min(self.waiting.len().saturating_sub(1)))
    }

    /// How many items wait on this operator (the tab's count).
    pub fn waiting_mine(&self) -> usize {
        self.waiting.iter().filter(|w| w.mine).count()
    }
}

pub(super) fn waiting_tab(ui: &mut UiState, view: &RunView, action: Action) -> Vec<Request> {
    move_sel(&mut ui.wait_sel, ui.waiting.len(), &action);
    let Some(w) = ui.selected_waiting().cloned() else {
        if matches!(
            action,
            Action::Approve | Action::Reject | Action::Mark | Action::Enter
        ) {
            toast(ui, "✘ nothing waits on anyone", false);
        }
        return Vec::new();
    };
    match action {
        Action::Enter => return open_run(ui, &w, Tab::Dag),
        Action::Approve | Action::Reject if w.kind == WaitKind::Gate => {
            let decision = if action == Action::Approve {
                Decision::Approve
            } else {
                Decision::Reject
            };
            if decision == Decision::Approve
                && let Some(why) = &w.why_not
            {
                toast(ui, format!("✘ {why}"), false);
                return Vec::new();
            }
            // The inputs of a gate of the run on screen get their fields; another run's
            // approval goes without, and its engine says what it needs.
            let fields = match decision {
                Decision::Approve if w.run_id == view.run_id => view
                    .gates
                    .iter()
                    .find(|g| g.step_id == w.step)
                    .map(|g| g.inputs.iter().map(InputField::new).collect())
                    .unwrap_or_default(),
                _ => Vec::new(),
            };
            ui.dialog = Some(Dialog::Gate(Box::new(GateDialog {
                decision,
                run_id: Some(w.run_id.clone()),
                step_id: w.step.clone(),
                reason: new_reason_box(decision),
                error: None,
                focus: 0,
                fields,
            })));
        }
        Action::Approve if w.kind == WaitKind::Budget => {
            // The dialog needs the run's budget: on its own run, at once; else the run
            // opens on its Approvals tab, where `a` raises it.
            if w.run_id == view.run_id {
                open_budget_dialog(ui, view);
            } else {
                let out = open_run(ui, &w, Tab::Approvals);
                toast(ui, "the run's budget gate: a raises the budget", true);
                return out;
            }
        }
        Action::Hold if w.kind == WaitKind::Held => {
            let command = baton_model::Command::Release {
                steps: vec![w.step.clone()],
                operator: ui.operator.clone(),
                reason: "released from the console".into(),
            };
            let what = format!("release {}", w.step);
            return super::update::send(ui, Some(w.run_id.clone()), command, &what);
        }
        Action::Mark if w.kind == WaitKind::Mark => {
            ui.dialog = Some(Dialog::Mark(Box::new(MarkDialog::new(
                Some(w.run_id.clone()),
                &w.step,
                w.commands.iter().any(|c| c.contains("--state succeeded")),
                w.commands.iter().any(|c| c.contains("--state failed")),
            ))));
        }
        Action::Approve | Action::Reject | Action::Mark => {
            let what = match w.kind {
                WaitKind::Gate => "a gate: a approves, x rejects",
                WaitKind::Budget => "the budget: a raises it (or c cancels its run)",
                WaitKind::Mark => "a step to mark: m marks it",
                WaitKind::Held => "a release: P releases it",
            };
            toast(ui, format!("✘ {} waits on {what}", w.step), false);
        }
        _ => {}
    }
    Vec::new()
}

/// Whether `action` in the Waiting tab would do something for the selected item.
pub(super) fn offered(ui: &UiState, action: &Action) -> bool {
    let w = ui.selected_waiting();
    match action {
        Action::Approve => w.is_some_and(|w| w.kind != WaitKind::Mark && w.mine),
        Action::Reject => w.is_some_and(|w| w.kind == WaitKind::Gate),
        Action::Mark => w.is_some_and(|w| w.kind == WaitKind::Mark),
        Action::Hold => w.is_some_and(|w| w.kind == WaitKind::Held),
        Action::Enter | Action::Copy => w.is_some(),
        // Not here: `c` would cancel the run on screen, not the selected item's.
        Action::CancelRun => false,
        _ => true,
    }
}

fn open_run(ui: &mut UiState, w: &Waiting, tab: Tab) -> Vec<Request> {
    ui.tab = tab;
    ui.follow = true;
    ui.filter.clear();
    vec![Request::OpenRun(w.run_id.clone())]
}

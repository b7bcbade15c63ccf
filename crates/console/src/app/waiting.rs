//! The Waiting tab (issue 28 point 1): everything across the store's runs that waits
//! on a person (`model::inbox`), soonest deadline first. Its keys act on the selected
//! item's run, whichever run is on screen: approve or reject a gate, raise a budget,
//! mark a step, open the run, answer an ask (`baton ask`). A run no engine drives is taken over by the console's
//! service as `baton approve` would.
use super::actions::{Action, Request, Tab};
use super::dialogs::{Decision, Dialog, GateDialog, open_budget_dialog};
use super::mark::MarkDialog;
use super::state::UiState;
use super::update::toast;
use baton_model::RunView;
use baton_model::inbox::{WaitKind, Waiting};

/// The item the selection was on when it left the list (decided, here or elsewhere,
/// or its run went on): kept in its place among the rows shown, greyed, with the
/// selection on it, until the operator moves. Nothing is selected meanwhile, so an
/// item arriving or moving up never lands under the selection.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WaitGone {
    pub item: Waiting,
    /// Its place among the rows shown: the rows before it stay before it.
    pub at: usize,
}

impl UiState {
    /// The selected item of the Waiting tab, if any (none while the selection is on an
    /// item gone from the list).
    pub fn selected_waiting(&self) -> Option<&Waiting> {
        if self.wait_gone.is_some() {
            return None;
        }
        self.waiting.get(self.waiting_at()?)
    }

    /// How many items wait on this operator (the tab's count).
    pub fn waiting_mine(&self) -> usize {
        self.waiting.iter().filter(|w| w.mine).count()
    }
}

/// The keys that act on the selected item.
fn acts_on_item(action: &Action) -> bool {
    matches!(
        action,
        Action::Approve
            | Action::Reject
            | Action::PushBack
            | Action::Mark
            | Action::Enter
            | Action::Hold
            | Action::Note
            | Action::CancelRun
    )
}

/// A key while the selection is on an item gone from the list: a move leaves it for
/// the row above or below its place; a key that acts says nothing is selected.
fn from_gone(ui: &mut UiState, gone: &WaitGone, action: &Action) {
    let shown = ui.shown_waiting();
    let to = match action {
        Action::Up => gone.at.checked_sub(1),
        Action::Down => Some(gone.at),
        Action::PageUp => Some(gone.at.saturating_sub(10)),
        Action::PageDown => Some(gone.at + 9),
        Action::Top => Some(0),
        Action::Bottom => Some(usize::MAX),
        _ if acts_on_item(action) => {
            let text = format!(
                "✘ {} of run {} no longer waits: nothing is selected (↑↓ selects an item)",
                gone.item.step,
                super::runs::short_id(&gone.item.run_id, &ui.run_ids)
            );
            return toast(ui, text, false);
        }
        _ => return,
    };
    if let Some(&last) = shown.last() {
        ui.wait_sel = to.map_or(shown[0], |t| shown.get(t).copied().unwrap_or(last));
        ui.wait_gone = None;
    }
}

pub(super) fn waiting_tab(ui: &mut UiState, view: &RunView, action: Action) -> Vec<Request> {
    if let Some(gone) = ui.wait_gone.clone() {
        from_gone(ui, &gone, &action);
        return Vec::new();
    }
    let shown = ui.shown_waiting();
    super::filter::move_shown(&mut ui.wait_sel, &shown, &action);
    let Some(w) = ui.selected_waiting().cloned() else {
        if acts_on_item(&action) {
            let why = if ui.waiting.is_empty() {
                "✘ nothing waits on anyone"
            } else {
                "✘ nothing the filter shows: Esc clears it"
            };
            toast(ui, why, false);
        }
        return Vec::new();
    };
    match action {
        Action::Enter => return open_run(ui, &w, Tab::Dag),
        Action::Note => return super::note::on_waiting(ui, &w),
        // The item's run, whichever is on screen; a store ask has no run.
        Action::CancelRun if store_ask(&w) => toast(
            ui,
            format!(
                "✘ {} is an ask of no run: nothing to cancel (x rejects it)",
                w.step
            ),
            false,
        ),
        Action::CancelRun => super::runs::ask_cancel(ui, view, &w.run_id, w.run_state),
        Action::Approve | Action::Reject | Action::PushBack
            if matches!(w.kind, WaitKind::Gate | WaitKind::Ask) =>
        {
            open_decision(ui, &w, action)
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
        // A rejection needs no budget figures: from any run, its reason only.
        Action::Reject if w.kind == WaitKind::Budget => {
            let d = GateDialog::budget_rejection(Some(w.run_id.clone()));
            ui.dialog = Some(Dialog::Gate(Box::new(d)));
        }
        Action::Hold if w.kind == WaitKind::Held => {
            let mut d = super::hold::HoldDialog::run(&w.run_id, &w.step, true);
            d.steps = vec![w.step.clone()];
            d.target = w.step.clone();
            d.effect = format!("Release {} of run {}: it goes on.", w.step, w.workflow);
            return super::hold::ask(ui, d);
        }
        Action::Mark if matches!(w.kind, WaitKind::Mark | WaitKind::Resume) => {
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
                WaitKind::Ask => "an ask: a approves, x rejects",
                WaitKind::Budget => "the budget: a raises it, x rejects it (its run fails)",
                WaitKind::Mark => "a step to mark: m marks it",
                WaitKind::Resume => "a step to resume: `baton resume` runs it again, m marks it",
                WaitKind::Held => "a release: P releases it",
            };
            toast(ui, format!("✘ {} waits on {what}", w.step), false);
        }
        _ => {}
    }
    Vec::new()
}

/// `a`, `x` or `b` on a gate or an ask: its dialog, or why this account may not decide it.
fn open_decision(ui: &mut UiState, w: &Waiting, action: Action) {
    let decision = match action {
        Action::Approve => Decision::Approve,
        Action::PushBack => Decision::PushBack,
        _ => Decision::Reject,
    };
    // Who may not decide it is told so before typing a word, saying who may.
    let refused = match decision {
        // An ask is answered yes or no; a gate is pushed back only where the
        // inbox offers it (a `revise` with rounds left).
        Decision::PushBack if w.kind == WaitKind::Ask => {
            Some("an ask is approved or rejected, not pushed back".to_string())
        }
        Decision::PushBack if !offered(ui, &Action::PushBack) => Some(
            "this gate takes no push-back now (no `revise`, or its rounds are used): approve or reject it"
                .to_string(),
        ),
        // The console signs a gate's decision through ssh-agent, not an ask's.
        _ if w.signed && w.kind == WaitKind::Ask => Some(format!(
            "a signed ask counts only a signed answer: `baton {} {} --sign-key KEY --reason …`",
            if decision == Decision::Approve { "approve" } else { "reject" },
            w.ask.as_deref().unwrap_or_default()
        )),
        _ if w.signed => None,
        Decision::Approve => w.why_not.as_ref().map(ToString::to_string),
        Decision::Reject | Decision::PushBack => {
            baton_model::actor::check_approver(&w.approvers, &ui.operator)
                .err()
                .map(|r| r.to_string())
        }
    };
    if let Some(why) = refused {
        ui.dialog = Some(Dialog::Refused(format!("✘ {}: {why}", w.step)));
        return;
    }
    // The same dialog as the Approvals tab's, with the gate's input fields
    // whichever run it is in.
    // An ask's answer goes to the ask (the service tells it by its id), not to
    // a run's engine.
    let target = w.ask.clone().unwrap_or_else(|| w.run_id.clone());
    let mut d = GateDialog::new(decision, Some(target), &w.step, &w.inputs);
    if w.kind == WaitKind::Ask {
        // An ask is a person's question: the dialog is titled by it.
        d.subject = Some(baton_model::sanitize::one_line(&w.prompt));
    }
    ui.dialog = Some(Dialog::Gate(Box::new(d)));
}

/// Whether `action` in the Waiting tab would do something for the selected item.
pub(super) fn offered(ui: &UiState, action: &Action) -> bool {
    let w = ui.selected_waiting();
    match action {
        // A held step waits on a release (`P`), a stopped one on a mark (`m`).
        Action::Approve => w.is_some_and(|w| {
            matches!(w.kind, WaitKind::Gate | WaitKind::Ask | WaitKind::Budget) && w.mine
        }),
        Action::Reject => w.is_some_and(|w| {
            matches!(w.kind, WaitKind::Gate | WaitKind::Ask)
                || (w.kind == WaitKind::Budget && w.mine)
        }),
        // Offered where the inbox offers `baton push-back`: a gate that revises, with
        // rounds left.
        Action::PushBack => w.is_some_and(|w| {
            w.kind == WaitKind::Gate && w.commands.iter().any(|c| c.starts_with("baton push-back"))
        }),
        Action::Mark => w.is_some_and(|w| matches!(w.kind, WaitKind::Mark | WaitKind::Resume)),
        Action::Hold => w.is_some_and(|w| w.kind == WaitKind::Held),
        Action::Enter | Action::Copy => w.is_some(),
        Action::Note => w.is_some_and(|w| !store_ask(w) && !ui.readonly),
        // The item's run (as `runs::ask_cancel` decides).
        Action::CancelRun => {
            w.is_some_and(|w| !store_ask(w) && !w.run_state.is_final() && !ui.readonly)
        }
        _ => true,
    }
}

/// An ask of no run (`baton ask` outside any step): its `run_id` is its own id.
fn store_ask(w: &Waiting) -> bool {
    w.kind == WaitKind::Ask && w.ask.as_ref() == Some(&w.run_id)
}

fn open_run(ui: &mut UiState, w: &Waiting, tab: Tab) -> Vec<Request> {
    ui.tab = tab;
    ui.follow = true;
    ui.filter.clear();
    vec![Request::OpenRun(w.run_id.clone())]
}

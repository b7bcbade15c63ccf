//! `P` (issue 43 point 1): hold or release the selected step on the DAG, the selected
//! run on the Runs tab, a held item on the Waiting tab, under the console's account.
use super::*;
use crate::fixtures;
use baton_model::{Command, StepState};

#[test]
fn p_holds_the_focused_step_and_releases_it_once_held() {
    let mut v = fixtures::release();
    let i = 0;
    let mut ui = UiState::new("alice");
    ui.follow = false;
    ui.selected = i;
    v.steps[i].actions.hold = true;
    let r = update(&mut ui, &v, Action::Hold);
    let id = v.steps[i].id.clone();
    assert!(
        matches!(&r[..], [Request::Command(Command::Hold { steps, operator, freeze: false, .. })]
            if *steps == [id.clone()] && operator == "alice"),
        "{r:?}"
    );
    v.steps[i].state = StepState::Held;
    v.steps[i].actions.hold = false;
    v.steps[i].actions.release = true;
    let r = update(&mut ui, &v, Action::Hold);
    assert!(
        matches!(&r[..], [Request::Command(Command::Release { steps, .. })] if *steps == [id.clone()]),
        "{r:?}"
    );
    v.steps[i].actions.release = false;
    assert!(update(&mut ui, &v, Action::Hold).is_empty());
    assert!(
        ui.toast
            .as_ref()
            .is_some_and(|t| !t.ok && t.text.contains("cannot be held"))
    );
}

#[test]
fn p_on_the_runs_tab_holds_the_selected_run() {
    let v = fixtures::release();
    let mut ui = UiState::new("alice");
    ui.set_runs(fixtures::shared_runs());
    ui.tab = Tab::Runs;
    let r = update(&mut ui, &v, Action::Hold);
    assert!(
        matches!(&r[..], [Request::CommandOn { command: Command::Hold { steps, .. }, .. }] if steps.is_empty()),
        "{r:?}"
    );
}

//! `P` (issue 43 point 1, issue 58 point 2): hold or release the selected step on the
//! DAG, the selected run on the Runs tab, a held item on the Waiting tab, under the
//! console's account, with the reason typed in its dialog and a confirm.
use super::*;
use crate::fixtures;
use crate::keymap::Context;
use baton_model::{Command, StepState};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Type `reason` into the open dialog, then Enter twice.
fn reason_and_confirm(ui: &mut UiState, v: &baton_model::RunView, reason: &str) -> Vec<Request> {
    for c in reason.chars() {
        let k = KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        assert!(update(ui, v, Action::Key(k)).is_empty());
    }
    assert!(update(ui, v, Action::Confirm).is_empty(), "asks once more");
    assert!(matches!(&ui.dialog, Some(Dialog::Hold(d)) if d.confirming));
    update(ui, v, Action::Confirm)
}

#[test]
fn p_holds_the_focused_step_and_releases_it_once_held() {
    let mut v = fixtures::release();
    let i = 0;
    let mut ui = UiState::new("alice");
    ui.follow = false;
    ui.selected = i;
    v.steps[i].actions.hold = true;
    assert!(update(&mut ui, &v, Action::Hold).is_empty(), "asks first");
    let r = reason_and_confirm(&mut ui, &v, "HSM down");
    let id = v.steps[i].id.clone();
    assert!(
        matches!(&r[..], [Request::Command(Command::Hold { steps, operator, reason, freeze: false, .. })]
            if *steps == [id.clone()] && operator == "alice" && reason == "HSM down"),
        "{r:?}"
    );
    assert!(ui.dialog.is_none());
    v.steps[i].state = StepState::Held;
    v.steps[i].actions.hold = false;
    v.steps[i].actions.release = true;
    assert!(update(&mut ui, &v, Action::Hold).is_empty());
    let r = reason_and_confirm(&mut ui, &v, "fixed");
    assert!(
        matches!(&r[..], [Request::Command(Command::Release { steps, reason, .. })]
            if *steps == [id.clone()] && reason == "fixed"),
        "{r:?}"
    );
    v.steps[i].actions.release = false;
    assert!(update(&mut ui, &v, Action::Hold).is_empty());
    assert!(ui.dialog.is_none());
    assert!(
        ui.toast
            .as_ref()
            .is_some_and(|t| !t.ok && t.text.contains("cannot be held"))
    );
}

/// No reason, no hold: Enter says one is needed; Esc closes the dialog and sends nothing.
#[test]
fn a_hold_needs_a_reason_and_esc_sends_nothing() {
    let mut v = fixtures::release();
    let mut ui = UiState::new("alice");
    ui.follow = false;
    ui.selected = 0;
    v.steps[0].actions.hold = true;
    update(&mut ui, &v, Action::Hold);
    assert!(update(&mut ui, &v, Action::Confirm).is_empty());
    assert!(
        matches!(&ui.dialog, Some(Dialog::Hold(d)) if d.error.as_deref().is_some_and(|e| e.contains("reason is required")))
    );
    assert!(update(&mut ui, &v, Action::Back).is_empty());
    assert!(ui.dialog.is_none());
}

/// A running step's dialog says it will be frozen; a held one's says release.
#[test]
fn the_dialog_says_what_the_hold_does_to_the_step() {
    let v = fixtures::held_frozen_reused();
    let sbom = v.steps.iter().find(|s| s.id == "sbom").unwrap();
    let d = HoldDialog::step(sbom, false);
    assert!(d.effect.contains("frozen"), "{}", d.effect);
    let package = v.steps.iter().find(|s| s.id == "package").unwrap();
    let d = HoldDialog::step(package, true);
    assert!(
        d.effect.contains("go on where they stopped"),
        "{}",
        d.effect
    );
}

/// The footer's `P` says what it does to the selection: release on a held or frozen
/// step, hold on one that runs.
#[test]
fn p_is_named_by_what_it_does_to_the_selection() {
    let v = fixtures::held_frozen_reused();
    let mut ui = UiState::new("alice");
    ui.follow = false;
    let at = |id: &str| v.steps.iter().position(|s| s.id == id).unwrap();
    ui.selected = at("package");
    assert_eq!(
        hint_word(&ui, &v, Context::Tab(Tab::Dag), &Action::Hold),
        Some("release")
    );
    ui.selected = at("publish-crate");
    assert_eq!(
        hint_word(&ui, &v, Context::Tab(Tab::Dag), &Action::Hold),
        Some("release")
    );
    ui.selected = at("sbom");
    assert_eq!(
        hint_word(&ui, &v, Context::Tab(Tab::Dag), &Action::Hold),
        None
    );
}

#[test]
fn p_on_the_runs_tab_holds_the_selected_run() {
    let v = fixtures::release();
    let mut ui = UiState::new("alice");
    ui.set_runs(fixtures::shared_runs());
    ui.tab = Tab::Runs;
    assert!(update(&mut ui, &v, Action::Hold).is_empty());
    let r = reason_and_confirm(&mut ui, &v, "window");
    assert!(
        matches!(&r[..], [Request::CommandOn { command: Command::Hold { steps, reason, .. }, .. }] if steps.is_empty() && reason == "window"),
        "{r:?}"
    );
}

/// On the Waiting tab a held row offers `P` (release), never `a approve`, which it would
/// only refuse; `P` there asks for the reason too and sends the release to its run.
#[test]
fn a_held_waiting_row_offers_release_not_approve() {
    use baton_model::inbox::WaitKind;
    let v = fixtures::release();
    let mut ui = UiState::new("carol");
    let mut item = fixtures::waiting().into_iter().next().expect("an item");
    item.kind = WaitKind::Held;
    item.mine = true;
    let run = item.run_id.clone();
    ui.waiting = std::sync::Arc::new(vec![item]);
    update(&mut ui, &v, Action::GoTab(Tab::Waiting));
    assert!(!offered(
        &ui,
        &v,
        Context::Tab(Tab::Waiting),
        &Action::Approve
    ));
    assert!(offered(&ui, &v, Context::Tab(Tab::Waiting), &Action::Hold));
    assert!(update(&mut ui, &v, Action::Hold).is_empty());
    let r = reason_and_confirm(&mut ui, &v, "go");
    assert!(
        matches!(&r[..], [Request::CommandOn { run_id, command: Command::Release { reason, .. } }] if *run_id == run && reason == "go"),
        "{r:?}"
    );
}

/// The quit dialog's footer says its buttons' words: `y` (Yes to quitting) and `d`
/// detach, `i` interrupts, `n` stays (issue 58 point 2: it said `y yes`, where yes
/// meant Interrupt; issue 76: `y` is the Yes that stops nothing, as everywhere).
#[test]
fn the_quit_dialogs_keys_say_its_buttons() {
    let v = fixtures::release();
    let mut ui = UiState::new("alice");
    ui.driven = std::sync::Arc::new(vec![v.run_id.clone()]);
    update(&mut ui, &v, Action::Quit);
    assert_eq!(ui.context(), Context::Confirm);
    let word = |a: Action| hint_word(&ui, &v, Context::Confirm, &a);
    assert_eq!(word(Action::Yes), Some("detach"));
    assert_eq!(word(Action::Detach), Some("detach"));
    assert_eq!(word(Action::Interrupt), Some("interrupt"));
    assert_eq!(word(Action::No), Some("stay"));
    assert!(offered(&ui, &v, Context::Confirm, &Action::Detach));
    assert!(offered(&ui, &v, Context::Confirm, &Action::Interrupt));
    let r = update(&mut ui, &v, Action::Interrupt);
    assert!(
        matches!(&r[..], [Request::Exit(ConsoleExit::Interrupt)]),
        "{r:?}"
    );
}

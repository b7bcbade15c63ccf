//! Quitting: the dialog offered while this console drives runs, which names them as the
//! session says them when it is drawn (a run that ends while it is open leaves it, and
//! once none is left it says so), and no dialog when nothing is driven.
use super::*;
use crate::fixtures;
use std::sync::Arc;

#[test]
fn the_quit_dialog_names_the_runs_driven_when_it_is_drawn() {
    let v = fixtures::release();
    let mut ui = UiState::new("alice");
    ui.set_runs(fixtures::shared_runs());
    let other = ui
        .runs
        .iter()
        .find(|r| r.id != v.run_id)
        .map(|r| r.id.clone())
        .unwrap_or_default();
    let short = |ui: &UiState, id: &str| short_id(id, &ui.run_ids).to_string();
    ui.driven = Arc::new(vec![v.run_id.clone(), other.clone()]);
    update(&mut ui, &v, Action::Quit);
    let s = super::run_form_qa_tests::screen(&mut ui, &v, 100, 30);
    let (mine, theirs) = (short(&ui, &v.run_id), short(&ui, &other));
    assert!(s.contains("Quit while this console drives"), "{s}");
    let dialog: String = s.lines().filter(|l| l.contains('│')).collect();
    assert!(
        dialog.contains(&mine) && dialog.contains(&theirs),
        "both runs:\n{s}"
    );
    // The run on screen ends: the same dialog, drawn again, names the other only.
    ui.driven = Arc::new(vec![other.clone()]);
    let s = super::run_form_qa_tests::screen(&mut ui, &v, 100, 30);
    let dialog: String = s.lines().filter(|l| l.contains('│')).collect();
    assert!(
        dialog.contains(&theirs) && !dialog.contains(&mine),
        "the run that ended left it:\n{s}"
    );
    ui.driven = Arc::new(Vec::new());
    let s = super::run_form_qa_tests::screen(&mut ui, &v, 100, 30);
    assert!(s.contains("drives no run any more"), "{s}");
}

/// The quit dialog names the runs the console drives while it is open: one that ends
/// leaves the others named; once none is left it stays open (a key meant for it never
/// lands behind it) and Detach then only quits.
#[test]
fn the_quit_dialog_follows_the_runs_driven_and_closes_when_none_is_left() {
    let v = fixtures::release();
    let mut ui = UiState::new("alice");
    let other = fixtures::runs()[0].id.clone();
    ui.driven = Arc::new(vec![v.run_id.clone(), other.clone()]);
    update(&mut ui, &v, Action::Quit);
    // The dialog names `ui.driven` when drawn (the test above draws it).
    ui.driven = Arc::new(vec![other.clone()]);
    assert!(matches!(
        &ui.dialog,
        Some(Dialog::Confirm(ConfirmDialog {
            what: ConfirmWhat::Quit,
            ..
        }))
    ));
    ui.driven = Arc::new(Vec::new());
    assert!(matches!(
        &ui.dialog,
        Some(Dialog::Confirm(ConfirmDialog {
            what: ConfirmWhat::Quit,
            ..
        }))
    ));
    assert_eq!(
        update(&mut ui, &v, Action::Detach),
        vec![Request::Exit(ConsoleExit::Quit)],
        "nothing to hand on: it quits"
    );
    assert!(ui.dialog.is_none());
    assert_eq!(
        update(&mut ui, &v, Action::Quit),
        vec![Request::Exit(ConsoleExit::Quit)]
    );
}

/// Issue 45 point 1: quitting a console that drives a run offers to detach it (the
/// button it starts on: nothing stops), to interrupt it, or to stay.
#[test]
fn quitting_while_driving_offers_detach_interrupt_or_stay() {
    let v = fixtures::release();
    let mut ui = UiState::new("alice");
    ui.driven = Arc::new(vec![v.run_id.clone()]);
    update(&mut ui, &v, Action::Quit);
    assert!(matches!(
        &ui.dialog,
        Some(Dialog::Confirm(ConfirmDialog {
            what: ConfirmWhat::Quit,
            button: QuitButton::Detach,
            ..
        }))
    ));
    assert_eq!(
        update(&mut ui, &v, Action::Confirm),
        vec![Request::Exit(ConsoleExit::Detach)],
        "Enter on the default detaches"
    );
    update(&mut ui, &v, Action::Quit);
    update(&mut ui, &v, Action::SwitchButton);
    assert_eq!(
        update(&mut ui, &v, Action::Confirm),
        vec![Request::Exit(ConsoleExit::Interrupt)]
    );
    update(&mut ui, &v, Action::Quit);
    assert!(update(&mut ui, &v, Action::No).is_empty(), "n stays");
    assert!(ui.dialog.is_none());
    update(&mut ui, &v, Action::Quit);
    assert_eq!(
        update(&mut ui, &v, Action::Yes),
        vec![Request::Exit(ConsoleExit::Detach)],
        "y is Yes to quitting, which leaves the runs going, as every other y is the safe Yes"
    );
    update(&mut ui, &v, Action::Quit);
    assert_eq!(
        update(&mut ui, &v, Action::Interrupt),
        vec![Request::Exit(ConsoleExit::Interrupt)]
    );
    update(&mut ui, &v, Action::Quit);
    assert_eq!(
        update(&mut ui, &v, Action::Detach),
        vec![Request::Exit(ConsoleExit::Detach)]
    );
    // `on_quit = "detach"`: no question.
    ui.on_quit = baton_link::config::OnQuit::Detach;
    assert_eq!(
        update(&mut ui, &v, Action::Quit),
        vec![Request::Exit(ConsoleExit::Detach)]
    );
}

#[test]
fn quitting_a_followed_live_run_neither_asks_nor_interrupts() {
    // A live run another engine drives: this console drives nothing.
    let v = fixtures::release();
    assert!(run_is_live(&v));
    let mut ui = UiState::new("alice");
    assert_eq!(
        update(&mut ui, &v, Action::Quit),
        vec![Request::Exit(ConsoleExit::Quit)]
    );
    assert!(ui.dialog.is_none());
}

#[test]
fn quit_on_a_finished_run_needs_no_confirmation() {
    let v = fixtures::finished_failed();
    let mut ui = UiState::new("alice");
    assert_eq!(
        update(&mut ui, &v, Action::Quit),
        vec![Request::Exit(ConsoleExit::Quit)]
    );
    assert!(update(&mut ui, &v, Action::CancelRun).is_empty());
    assert!(ui.toast.as_ref().is_some_and(|t| !t.ok));
}

//! `F` on a run with params (issue 76 point 7): the fork form, pure. Its fields start
//! from the run's recorded values (a secret's empty: never stored, given again), are
//! checked as typed as the run form's are, and Enter gives the fork the changed ones,
//! as `baton fork --param` would.
use super::*;
use crate::fixtures;
use baton_model::{Refusal, RunView};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn key(ui: &mut UiState, v: &RunView, code: KeyCode) {
    update(ui, v, Action::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn typed(ui: &mut UiState, v: &RunView, s: &str) {
    for c in s.chars() {
        key(ui, v, KeyCode::Char(c));
    }
}

/// `F` on unit-tests of the finished release run, and the session's answer with the
/// run's params.
fn form_open() -> (RunView, UiState) {
    let v = fixtures::finished_failed();
    let mut ui = UiState::new("alice");
    ui.follow = false;
    ui.selected = v.step_index("unit-tests").expect("the step");
    update(&mut ui, &v, Action::Fork);
    let answer = Action::ForkPlanned {
        run_id: v.run_id.clone(),
        step: "unit-tests".into(),
        result: Ok(Box::new(fixtures::fork_with_params(&v.run_id))),
    };
    assert!(update(&mut ui, &v, answer).is_empty());
    (v, ui)
}

fn form(ui: &UiState) -> &ForkDialog {
    match &ui.dialog {
        Some(Dialog::Fork(d)) => d,
        other => panic!("no fork form: {other:?}"),
    }
}

fn values(ui: &UiState) -> Vec<(String, String)> {
    let d = form(ui);
    d.fields
        .iter()
        .map(|f| (f.input.name.clone(), f.value.clone()))
        .collect()
}

#[test]
fn the_form_starts_from_the_runs_values_and_a_secret_from_nothing() {
    let (_, ui) = form_open();
    assert_eq!(ui.context(), crate::keymap::Context::ForkForm);
    let s = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        values(&ui),
        [
            s("version", "1.4.2"),
            s("target", "staging"),
            s("dry_run", "false"),
            s("token", ""),
        ]
    );
    let d = form(&ui);
    assert!(d.fields[3].secret);
    assert!(d.params().is_empty(), "nothing changed: nothing given");
}

#[test]
fn enter_forks_with_the_changed_values_only_as_fork_param_gives_them() {
    let (v, mut ui) = form_open();
    for _ in 0..5 {
        key(&mut ui, &v, KeyCode::Backspace);
    }
    typed(&mut ui, &v, "1.5.0");
    update(&mut ui, &v, Action::Down);
    key(&mut ui, &v, KeyCode::Right);
    update(&mut ui, &v, Action::Down);
    update(&mut ui, &v, Action::Down);
    typed(&mut ui, &v, "s3cr3t");
    assert!(form(&ui).changed(0) && form(&ui).changed(1) && !form(&ui).changed(2));
    let r = update(&mut ui, &v, Action::Confirm);
    let s = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        r,
        vec![Request::Fork {
            run_id: v.run_id.clone(),
            step: "unit-tests".into(),
            from_run_of: None,
            params: vec![
                s("version", "1.5.0"),
                s("target", "production"),
                s("token", "s3cr3t"),
            ],
        }]
    );
    assert!(ui.dialog.is_none());
    assert_eq!(ui.pending, 1);
}

/// A changed value the workflow's checker refuses is said under its field as typed, and
/// Enter sends nothing until it is fixed.
#[test]
fn a_changed_value_that_does_not_fit_is_said_under_its_field_and_nothing_is_sent() {
    let (v, mut ui) = form_open();
    typed(&mut ui, &v, "-rc1");
    let said = form(&ui).fields[0].error.clone().unwrap_or_default();
    assert!(said.contains("version"), "{said}");
    assert!(update(&mut ui, &v, Action::Confirm).is_empty());
    let d = form(&ui);
    assert!(
        d.error.as_deref().unwrap_or_default().contains("1 field"),
        "{:?}",
        d.error
    );
    assert_eq!(d.focus, 0);
}

/// The session's refusal (a secret not given again, in `baton fork`'s words) brings
/// the form back as it was, the refusal under it; Esc then closes it.
#[test]
fn a_refused_fork_brings_the_form_back_with_the_refusal() {
    let (v, mut ui) = form_open();
    update(&mut ui, &v, Action::Down);
    key(&mut ui, &v, KeyCode::Right);
    assert_eq!(update(&mut ui, &v, Action::Confirm).len(), 1);
    let why = Refusal::CannotApply {
        why: "secret params are not stored; give them again: --param token=…".into(),
    };
    update(
        &mut ui,
        &v,
        Action::Forked {
            run_id: v.run_id.clone(),
            step: "unit-tests".into(),
            result: Err(why),
        },
    );
    let d = form(&ui);
    assert_eq!(d.fields[1].value, "production", "as it was");
    assert!(
        d.error
            .as_deref()
            .unwrap_or_default()
            .contains("give them again")
    );
    update(&mut ui, &v, Action::Back);
    assert!(ui.dialog.is_none() && ui.sent_from.is_none());
}

/// A run without params keeps the yes/no confirmation.
#[test]
fn a_run_without_params_is_confirmed_with_yes_or_no() {
    let v = fixtures::finished_failed();
    let mut ui = UiState::new("alice");
    let mut p = fixtures::fork_with_params(&v.run_id);
    p.params.clear();
    update(
        &mut ui,
        &v,
        Action::ForkPlanned {
            run_id: v.run_id.clone(),
            step: "unit-tests".into(),
            result: Ok(Box::new(p)),
        },
    );
    assert!(
        matches!(ui.dialog, Some(Dialog::Confirm(_))),
        "{:?}",
        ui.dialog
    );
}

//! `F` (issue 43 point 4): fork the finished run from the focused step, after a confirm
//! dialog that lists what runs again and what is reused.
use super::*;
use crate::fixtures;

#[test]
fn f_on_a_finished_runs_step_asks_then_forks_from_it() {
    let v = fixtures::finished_failed();
    let i = v.steps.iter().position(|s| s.id == "unit-tests").unwrap();
    let mut ui = UiState::new("alice");
    ui.follow = false;
    ui.selected = i;
    assert!(offered(&ui, &v, ui.context(), &Action::Fork));
    assert!(update(&mut ui, &v, Action::Fork).is_empty(), "asks first");
    let Some(Dialog::Confirm(d)) = &ui.dialog else {
        panic!("a confirm dialog: {:?}", ui.dialog);
    };
    let f = d.fork.as_deref().expect("the fork's preview");
    assert_eq!(f.step, "unit-tests");
    assert!(f.rerun.starts_with(&["unit-tests".to_string()]), "{f:?}");
    assert!(f.reused.contains(&"checkout".to_string()), "{f:?}");
    assert!(f.reused.contains(&"lint".to_string()), "{f:?}");
    // What needs unit-tests runs again; what does not is reused.
    for (k, s) in v
        .steps
        .iter()
        .enumerate()
        .filter(|(_, s)| s.parent.is_none())
    {
        let downstream = s.needs.contains(&i);
        if downstream {
            assert!(f.rerun.contains(&s.id), "{} needs unit-tests: {f:?}", s.id);
        }
        assert!(f.rerun.contains(&s.id) != f.reused.contains(&s.id), "{k}");
    }
    let r = update(&mut ui, &v, Action::Confirm);
    assert!(
        matches!(&r[..], [Request::Fork { run_id, step }] if *run_id == v.run_id && step == "unit-tests"),
        "{r:?}"
    );
    assert!(ui.dialog.is_none());
}

#[test]
fn f_on_a_running_run_says_why_not_and_no_dialog_opens() {
    let v = fixtures::release();
    let mut ui = UiState::new("alice");
    ui.follow = false;
    ui.selected = 0;
    assert!(!offered(&ui, &v, ui.context(), &Action::Fork));
    assert!(update(&mut ui, &v, Action::Fork).is_empty());
    assert!(ui.dialog.is_none());
    let toast = ui
        .toast
        .as_ref()
        .map(|t| t.text.clone())
        .unwrap_or_default();
    assert!(toast.contains("only a finished run is forked"), "{toast}");
}

#[test]
fn no_is_the_end_of_it() {
    let v = fixtures::finished_failed();
    let mut ui = UiState::new("alice");
    ui.follow = false;
    ui.selected = 0;
    update(&mut ui, &v, Action::Fork);
    assert!(update(&mut ui, &v, Action::No).is_empty());
    assert!(ui.dialog.is_none());
}

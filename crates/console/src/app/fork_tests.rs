//! `F` (issue 43 point 4): fork the finished run from the focused step. The console
//! asks the session what the fork would do (the core's plan) and shows that in a confirm
//! dialog, or the core's refusal; it decides nothing of it itself.
use super::*;
use crate::fixtures;
use baton_model::{Refusal, RunView, StepState};

/// `F` on `step` of `v`: the request it makes.
fn press_f(ui: &mut UiState, v: &RunView, step: &str) -> Vec<Request> {
    ui.follow = false;
    ui.selected = v.step_index(step).expect("the step");
    update(ui, v, Action::Fork)
}

/// The session's answer to `F`, as `baton fork --dry-run` gives it.
fn plan(v: &RunView, step: &str, rerun: &[&str], reused: &[&str]) -> ForkPreview {
    let ids = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
    ForkPreview {
        run: v.run_id.clone(),
        step: step.into(),
        rerun: ids(rerun),
        reused: ids(reused),
        starter: None,
        workflow: v.workflow.clone(),
        params: Vec::new(),
    }
}

#[test]
fn f_asks_the_session_for_the_cores_plan_and_opens_no_dialog_of_its_own() {
    let v = fixtures::finished_failed();
    let mut ui = UiState::new("alice");
    let r = press_f(&mut ui, &v, "unit-tests");
    assert_eq!(
        r,
        vec![Request::ForkPlan {
            run_id: v.run_id.clone(),
            step: "unit-tests".into()
        }]
    );
    assert!(ui.dialog.is_none(), "nothing until the core answers");
    assert_eq!(ui.pending, 1);
}

#[test]
fn the_cores_plan_is_the_dialog_and_yes_forks_from_its_step() {
    let v = fixtures::finished_failed();
    let mut ui = UiState::new("alice");
    press_f(&mut ui, &v, "unit-tests");
    // A service among the reruns, a reused list the console could not work out alone:
    // whatever the core says is what the dialog holds.
    let p = plan(
        &v,
        "unit-tests",
        &["unit-tests", "package"],
        &["checkout", "lint"],
    );
    let answer = Action::ForkPlanned {
        run_id: v.run_id.clone(),
        step: "unit-tests".into(),
        result: Ok(Box::new(p.clone())),
    };
    assert!(update(&mut ui, &v, answer).is_empty());
    assert_eq!(ui.pending, 0);
    match &ui.dialog {
        Some(Dialog::Confirm(d)) => assert_eq!(d.what, ConfirmWhat::Fork(Box::new(p))),
        other => panic!("the confirm dialog, not {other:?}"),
    }
    let r = update(&mut ui, &v, Action::Confirm);
    assert_eq!(
        r,
        vec![Request::Fork {
            run_id: v.run_id.clone(),
            step: "unit-tests".into(),
            from_run_of: None,
            params: Vec::new(),
        }]
    );
    assert!(ui.dialog.is_none());
    assert_eq!(ui.pending, 1, "the fork's answer is awaited");
}

/// Issue 56: another account's run (group store): the plan names its starter, and
/// confirming the dialog is the acknowledgement `baton fork --from-run-of` gives.
#[test]
fn confirming_a_fork_of_anothers_run_passes_on_whose_record_it_runs() {
    let v = fixtures::finished_failed();
    let mut ui = UiState::new("alice");
    press_f(&mut ui, &v, "unit-tests");
    let mut p = plan(&v, "unit-tests", &["unit-tests"], &["checkout"]);
    p.starter = Some("bob".into());
    let answer = Action::ForkPlanned {
        run_id: v.run_id.clone(),
        step: "unit-tests".into(),
        result: Ok(Box::new(p)),
    };
    assert!(update(&mut ui, &v, answer).is_empty());
    let r = update(&mut ui, &v, Action::Confirm);
    assert_eq!(
        r,
        vec![Request::Fork {
            run_id: v.run_id.clone(),
            step: "unit-tests".into(),
            from_run_of: Some("bob".into()),
            params: Vec::new(),
        }]
    );
}

#[test]
fn the_cores_refusal_is_shown_and_nothing_is_forked() {
    let v = fixtures::finished_failed();
    let mut ui = UiState::new("alice");
    press_f(&mut ui, &v, "deploy-prod");
    // deploy-prod needs docs, which failed in the run.
    let refusal = Refusal::ForkUpstreamNotSucceeded {
        run: v.run_id.clone(),
        step: "deploy-prod".into(),
        upstream: "docs".into(),
        state: StepState::Failed,
    };
    let answer = Action::ForkPlanned {
        run_id: v.run_id.clone(),
        step: "deploy-prod".into(),
        result: Err(refusal.clone()),
    };
    assert!(update(&mut ui, &v, answer).is_empty());
    match &ui.dialog {
        Some(Dialog::Refused(text)) => {
            assert_eq!(text, &format!("✘ fork from deploy-prod: {refusal}"))
        }
        other => panic!("the refusal, not {other:?}"),
    }
    // Esc closes it; no fork was asked for.
    assert!(update(&mut ui, &v, Action::Back).is_empty());
    assert!(ui.dialog.is_none() && ui.pending == 0);
}

#[test]
fn f_on_a_running_run_asks_too_and_the_core_says_why_not() {
    let v = fixtures::release();
    let mut ui = UiState::new("alice");
    assert!(
        !offered(&ui, &v, ui.context(), &Action::Fork),
        "not offered in the footer while the run runs"
    );
    let r = press_f(&mut ui, &v, "checkout");
    assert!(matches!(&r[..], [Request::ForkPlan { .. }]), "{r:?}");
    let refusal = Refusal::ForkUnfinished {
        run: v.run_id.clone(),
        state: v.state,
    };
    update(
        &mut ui,
        &v,
        Action::ForkPlanned {
            run_id: v.run_id.clone(),
            step: "checkout".into(),
            result: Err(refusal),
        },
    );
    assert!(
        matches!(&ui.dialog, Some(Dialog::Refused(t)) if t.contains("only a finished run is forked")),
        "{:?}",
        ui.dialog
    );
}

#[test]
fn an_answer_that_comes_while_another_dialog_is_open_leaves_it_be() {
    let v = fixtures::finished_failed();
    let mut ui = UiState::new("alice");
    press_f(&mut ui, &v, "unit-tests");
    ui.dialog = Some(Dialog::Refused("something else".into()));
    update(
        &mut ui,
        &v,
        Action::ForkPlanned {
            run_id: v.run_id.clone(),
            step: "unit-tests".into(),
            result: Ok(Box::new(plan(&v, "unit-tests", &["unit-tests"], &[]))),
        },
    );
    assert!(matches!(&ui.dialog, Some(Dialog::Refused(t)) if t == "something else"));
    let toast = ui
        .toast
        .as_ref()
        .map(|t| t.text.clone())
        .unwrap_or_default();
    assert!(toast.contains("F again"), "{toast}");
}

#[test]
fn no_is_the_end_of_it() {
    let v = fixtures::finished_failed();
    let mut ui = UiState::new("alice");
    press_f(&mut ui, &v, "checkout");
    update(
        &mut ui,
        &v,
        Action::ForkPlanned {
            run_id: v.run_id.clone(),
            step: "checkout".into(),
            result: Ok(Box::new(plan(&v, "checkout", &["checkout"], &[]))),
        },
    );
    assert!(update(&mut ui, &v, Action::No).is_empty());
    assert!(ui.dialog.is_none());
}

//! `T` on the DAG (issue 76 point 6): the console asks the session for the step's
//! history and shows its answer; `Enter` on a slow run opens it on that step.
use super::*;
use crate::fixtures;
use baton_model::step_trend::{StepRun, StepTrend};
use baton_model::{Refusal, RunView, StepState, Timestamp};

/// `durations` newest first, one run each (`R0` the newest); `None` a failed run.
fn trend(v: &RunView, durations: &[Option<u64>]) -> StepTrend {
    let runs = durations
        .iter()
        .enumerate()
        .map(|(i, d)| StepRun {
            run_id: if i == 0 {
                v.run_id.clone()
            } else {
                format!("R{i}")
            },
            started_at: Timestamp(fixtures::T0 - i as i64 * 86_400_000),
            state: if d.is_some() {
                StepState::Succeeded
            } else {
                StepState::Failed
            },
            attempts: 1,
            duration_ms: Some(d.unwrap_or(500)),
        })
        .collect();
    StepTrend::of(runs)
}

fn answered(ui: &mut UiState, v: &RunView, result: Result<StepTrend, Refusal>) {
    update(
        ui,
        v,
        Action::Historied {
            run_id: v.run_id.clone(),
            workflow: v.workflow.clone(),
            step: "build".into(),
            result,
        },
    );
}

#[test]
fn t_asks_the_session_for_the_selected_steps_history_and_its_answer_opens_the_overlay() {
    let v = fixtures::release();
    let mut ui = UiState::new("alice");
    ui.follow = false;
    ui.selected = v.step_index("build").unwrap();
    let asked = update(&mut ui, &v, Action::History);
    assert_eq!(
        asked,
        vec![Request::StepHistory {
            run_id: v.run_id.clone(),
            workflow: v.workflow.clone(),
            step: "build".into(),
        }]
    );
    assert_eq!(ui.overlay, None, "nothing until the session answers");
    answered(
        &mut ui,
        &v,
        Ok(trend(&v, &[Some(900), Some(3000), None, Some(2000)])),
    );
    assert_eq!(ui.overlay, Some(Overlay::History));
    let h = ui.history.as_ref().unwrap();
    // The slowest first: R1 (3s), R3 (2s), then the rest.
    assert_eq!(h.selected_run(), Some("R1"));
}

#[test]
fn enter_opens_the_selected_slow_run_and_selects_the_step_once_it_is_here() {
    let v = fixtures::release();
    let mut ui = UiState::new("alice");
    ui.selected = v.step_index("build").unwrap();
    update(&mut ui, &v, Action::History);
    answered(
        &mut ui,
        &v,
        Ok(trend(&v, &[Some(900), Some(3000), None, Some(2000)])),
    );
    update(&mut ui, &v, Action::Down);
    assert_eq!(ui.history.as_ref().unwrap().selected_run(), Some("R3"));
    // Past the last slow run the selection stays on it.
    for _ in 0..10 {
        update(&mut ui, &v, Action::Down);
    }
    update(&mut ui, &v, Action::Top);
    update(&mut ui, &v, Action::Down);
    let asked = update(&mut ui, &v, Action::Enter);
    assert_eq!(asked, vec![Request::OpenRun("R3".into())]);
    assert_eq!(ui.overlay, None);
    assert_eq!(ui.opening.as_deref(), Some("R3"));
    // The run on screen comes again first: the step is selected only in R3.
    ui.view_arrived(&v);
    let mut r3 = fixtures::release();
    r3.run_id = "R3".into();
    ui.follow = true;
    ui.view_arrived(&r3);
    assert_eq!(ui.selected, r3.step_index("build").unwrap());
    assert!(!ui.follow, "the step stays selected");
    assert_eq!(ui.open_on_step, None);
}

#[test]
fn enter_closes_every_other_overlay_and_a_refusal_is_said() {
    let v = fixtures::release();
    let mut ui = UiState::new("alice");
    update(&mut ui, &v, Action::Notices);
    assert_eq!(ui.overlay, Some(Overlay::Notices));
    assert!(update(&mut ui, &v, Action::Enter).is_empty());
    assert_eq!(ui.overlay, None);
    answered(
        &mut ui,
        &v,
        Err(Refusal::CannotApply {
            why: "store busy".into(),
        }),
    );
    assert_eq!(ui.overlay, None);
    let said = &ui.toast.as_ref().unwrap().text;
    assert!(
        said.contains("history of step build") && said.contains("store busy"),
        "{said}"
    );
}

#[test]
fn an_answer_that_comes_after_the_operator_opened_something_else_covers_nothing() {
    let v = fixtures::release();
    let mut ui = UiState::new("alice");
    update(&mut ui, &v, Action::History);
    update(&mut ui, &v, Action::Help);
    answered(&mut ui, &v, Ok(trend(&v, &[Some(900)])));
    assert_eq!(ui.overlay, Some(Overlay::Help));
}

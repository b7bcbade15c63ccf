//! A run opened from a list (Enter, `:`, a schedule's row) before its view arrives: the
//! screen says it is opening instead of showing the run shown before under the new
//! tab, and keys that would act on the run on screen wait for it.
use super::*;
use crate::fixtures;
use baton_model::RunView;

fn screen(ui: &mut UiState, v: &RunView) -> String {
    super::run_form_qa_tests::screen(ui, v, 100, 24)
}

/// The Runs tab's second run opened while the first run's view is on screen.
fn opened() -> (RunView, UiState, String) {
    let v = fixtures::release();
    let mut ui = UiState::new("alice");
    ui.set_runs(fixtures::shared_runs());
    ui.tab = Tab::Runs;
    update(&mut ui, &v, Action::Down);
    let id = ui.runs[1].id.clone();
    assert_ne!(id, v.run_id, "the fixture's second run is another run");
    assert_eq!(
        update(&mut ui, &v, Action::Enter),
        vec![Request::OpenRun(id.clone())]
    );
    (v, ui, id)
}

#[test]
fn a_run_opening_is_said_on_its_tabs_and_not_shown_as_the_run_before() {
    let (v, mut ui, id) = opened();
    assert_eq!(ui.tab, Tab::Dag);
    assert_eq!(ui.opening.as_deref(), Some(id.as_str()));
    let short = short_id(&id, &ui.run_ids).to_string();
    let before = short_id(&v.run_id, &ui.run_ids).to_string();
    let s = screen(&mut ui, &v);
    let header: String = s.lines().take(3).collect::<Vec<_>>().join("\n");
    assert!(
        header.contains(&format!("opening run {short}…")),
        "the header names the run opening:\n{s}"
    );
    assert!(
        !s.contains(&before) && !s.contains(&v.steps[0].id),
        "nothing of the run shown before is drawn as the opened one's:\n{s}"
    );
    assert!(s.contains("its view comes from"), "the body says so:\n{s}");
    // A view of the run shown before (an update of it) changes nothing.
    ui.view_arrived(&v);
    assert_eq!(ui.opening.as_deref(), Some(id.as_str()));
    // The list tabs are not the run's: they draw as ever.
    update(&mut ui, &v, Action::GoTab(Tab::Runs));
    assert!(
        screen(&mut ui, &v).contains(&before),
        "the Runs tab lists the runs"
    );
    // Its view arrives: the run is shown, nothing says it is opening.
    let mut next = v.clone();
    next.run_id = id.clone();
    ui.view_arrived(&next);
    assert_eq!(ui.opening, None);
    update(&mut ui, &next, Action::GoTab(Tab::Dag));
    let s = screen(&mut ui, &next);
    assert!(!s.contains("opening run"), "{s}");
    assert!(s.contains(&next.steps[0].id), "its steps are drawn:\n{s}");
}

#[test]
fn keys_that_act_on_the_run_on_screen_wait_for_the_opened_runs_view() {
    let (v, mut ui, id) = opened();
    let short = short_id(&id, &ui.run_ids).to_string();
    for act in [
        Action::Approve,
        Action::CancelRun,
        Action::Retry,
        Action::Hold,
    ] {
        assert!(
            update(&mut ui, &v, act.clone()).is_empty(),
            "{act:?} acts on no run while one is opening"
        );
        let said = ui
            .toast
            .as_ref()
            .map(|t| t.text.clone())
            .unwrap_or_default();
        assert!(
            said.contains(&format!("run {short} is still opening")),
            "{act:?}: {said}"
        );
        // What is typed next (a reason, not knowing) is held, never run as keys.
        if let Some(Dialog::Refused(_)) = ui.dialog {
            update(&mut ui, &v, Action::Back);
        }
        assert!(ui.dialog.is_none(), "{act:?} opened {:?}", ui.dialog);
    }
    // Moving on the screen is not acting: it goes on.
    update(&mut ui, &v, Action::Down);
    // Once its view is here, the same key acts on it.
    let mut next = v.clone();
    next.run_id = id;
    ui.view_arrived(&next);
    update(&mut ui, &next, Action::CancelRun);
    assert!(
        matches!(ui.dialog, Some(Dialog::Confirm(_))),
        "cancel asks to confirm once the run is here: {:?}",
        ui.dialog
    );
}

#[test]
fn opening_the_run_on_screen_again_waits_for_nothing() {
    let v = fixtures::release();
    let mut ui = UiState::new("alice");
    ui.set_runs(fixtures::shared_runs());
    ui.tab = Tab::Runs;
    let at = ui.runs.iter().position(|r| r.id == v.run_id);
    let Some(at) = at else {
        panic!("the fixture's runs list the view's run");
    };
    for _ in 0..at {
        update(&mut ui, &v, Action::Down);
    }
    assert_eq!(
        update(&mut ui, &v, Action::Enter),
        vec![Request::OpenRun(v.run_id.clone())]
    );
    assert_eq!(ui.opening, None);
    assert!(!screen(&mut ui, &v).contains("opening run"));
}

/// Over several stores, a run opening on a store that is down says so where it waits:
/// its view cannot come until the link is back.
#[test]
fn a_run_opening_on_a_store_that_is_down_names_the_store_and_why() {
    use baton_link::{Desk, LinkState, StoreStatus};
    let (v, mut ui, id) = opened();
    let status = |name: &str, state| StoreStatus {
        name: name.into(),
        host: "h".into(),
        state,
    };
    let down = LinkState::Down {
        why: "gpu-box: Connection refused".into(),
        retry_at: None,
    };
    ui.desk = std::sync::Arc::new(Desk {
        stores: vec![
            status("build", LinkState::Connected),
            status("gpu-box", down),
        ],
        of_run: [(v.run_id.clone(), 0), (id.clone(), 1)].into(),
    });
    let s = screen(&mut ui, &v);
    let header = s.lines().next().unwrap_or_default().to_string();
    assert!(header.contains("opening run"), "{s}");
    assert!(
        header.contains("store gpu-box") && header.contains("Connection refused"),
        "the opening run's store and why it is down:\n{s}"
    );
    assert!(
        !header.contains("build"),
        "not the store shown before:\n{s}"
    );
}

/// `R` on another run: the service opens the run it resumed, so its DAG says it is
/// opening until its view is here; a resume of the run on screen waits for nothing.
#[test]
fn a_run_resumed_from_the_runs_tab_is_opening_until_its_view_arrives() {
    let v = fixtures::release();
    let mut ui = UiState::new("alice");
    ui.set_runs(fixtures::shared_runs());
    let other = "01JXQZ0M3D5E7F9G1H2J3K4L5M".to_string();
    assert_ne!(other, v.run_id);
    update(
        &mut ui,
        &v,
        Action::Resumed {
            run_id: other.clone(),
            result: Ok("this console now drives the nightly run".into()),
        },
    );
    assert_eq!(ui.tab, Tab::Dag);
    assert_eq!(ui.opening_other(&v), Some(other.as_str()));
    assert!(screen(&mut ui, &v).contains("opening run"));
    update(
        &mut ui,
        &v,
        Action::Resumed {
            run_id: v.run_id.clone(),
            result: Ok("this console now drives the run".into()),
        },
    );
    assert_eq!(ui.opening_other(&v), None);
    ui.view_arrived(&v);
    assert_eq!(ui.opening, None, "the run on screen is open");
}

/// A run the session cannot show (its history does not replay, it was deleted) comes
/// as a view of no run whose title says why: the wait ends there, and the header shows
/// why instead of `opening run…` for ever.
#[test]
fn a_run_that_cannot_be_shown_ends_the_wait_and_says_why() {
    let (v, mut ui, id) = opened();
    let mut unshown = v.clone();
    unshown.run_id = String::new();
    unshown.workflow = format!("run {id} cannot be shown: its history does not replay");
    unshown.steps.clear();
    ui.new_view(&unshown);
    assert_eq!(ui.opening, None);
    let s = screen(&mut ui, &unshown);
    assert!(!s.contains("opening run"), "{s}");
    assert!(s.contains("cannot be shown"), "why, in the header:\n{s}");
    // A view of another run than the one asked for does not end it.
    let (v, mut ui, id) = opened();
    ui.new_view(&v);
    assert_eq!(ui.opening.as_deref(), Some(id.as_str()));
}

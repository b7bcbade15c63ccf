//! `/` on the Waiting, Approvals, Errors, Audit and Schedules tabs: one syntax, the
//! selection an item that stays while the filter changes, Esc clearing it.
use crate::app::{Action, Tab, UiState, update};
use crate::fixtures;
use baton_model::RunView;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::sync::Arc;

fn typed(ui: &mut UiState, v: &RunView, s: &str) {
    for c in s.chars() {
        let k = KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        update(ui, v, Action::Key(k));
    }
}

fn filter(ui: &mut UiState, v: &RunView, s: &str) {
    update(ui, v, Action::Filter);
    typed(ui, v, s);
    update(ui, v, Action::Confirm);
}

fn ui_on(tab: Tab) -> (RunView, UiState) {
    let v = fixtures::release_two_gates();
    let mut ui = UiState::new("carol");
    ui.waiting = Arc::new(fixtures::waiting());
    ui.schedules = Arc::new(fixtures::schedules());
    ui.set_runs(fixtures::shared_runs());
    update(&mut ui, &v, Action::GoTab(tab));
    (v, ui)
}

/// How many rows the tab's list has, and how many its filter shows.
fn counts(ui: &UiState, v: &RunView) -> (usize, usize) {
    match ui.tab {
        Tab::Waiting => (ui.waiting.len(), ui.shown_waiting().len()),
        Tab::Approvals => (v.gates.len(), ui.shown_gates(v).len()),
        Tab::Errors => (v.errors.len(), ui.shown_errors(v).len()),
        Tab::Audit => (v.audit.len(), ui.shown_audit(v).len()),
        Tab::Schedules => (ui.schedule_lines(), ui.shown_schedules().len()),
        _ => unreachable!("not a list tab of this module"),
    }
}

/// Each tab, a filter in the one syntax that keeps some rows and not others; Esc
/// clears it and every row is back.
#[test]
fn every_list_filters_with_the_same_syntax_and_esc_clears_it() {
    let cases = [
        (Tab::Waiting, "wf:nightly state:budget"),
        (Tab::Approvals, "state:gate page"),
        (Tab::Errors, "state:timeout"),
        (Tab::Audit, "state:approval"),
        (Tab::Schedules, "state:paused"),
    ];
    for (tab, text) in cases {
        let (v, mut ui) = ui_on(tab);
        let (all, _) = counts(&ui, &v);
        filter(&mut ui, &v, text);
        assert!(!ui.filter_editing, "{tab:?}: {:?}", ui.toast);
        let (_, shown) = counts(&ui, &v);
        assert!(
            shown >= 1 && shown < all,
            "{tab:?} {text}: {shown} of {all}"
        );
        assert_eq!(ui.active_filter(), text);
        update(&mut ui, &v, Action::Back);
        assert_eq!(
            counts(&ui, &v),
            (all, all),
            "{tab:?}: Esc clears the filter"
        );
    }
}

/// What each item is matched on: the Waiting item by its step, the gate by its
/// approvers, the error by its message, the audit row by its actor, the schedule by
/// its cron.
#[test]
fn the_selected_row_is_one_the_filter_shows_and_it_is_what_keys_act_on() {
    let (v, mut ui) = ui_on(Tab::Waiting);
    let want = ui
        .waiting
        .iter()
        .position(|w| w.kind.as_str() == "mark")
        .unwrap();
    filter(&mut ui, &v, "state:mark");
    assert_eq!(ui.waiting_at(), Some(want));
    assert_eq!(ui.selected_waiting().unwrap().kind.as_str(), "mark");
    // Moving stays among the rows shown.
    update(&mut ui, &v, Action::Down);
    update(&mut ui, &v, Action::Up);
    assert_eq!(ui.waiting_at(), Some(want));

    let (v, mut ui) = ui_on(Tab::Errors);
    let last = v.errors.len() - 1;
    let word = v.errors[last].id.clone();
    filter(&mut ui, &v, &word);
    assert_eq!(ui.error_at(&v), Some(last));
    // Enter opens the detail of the error the filter shows, not of the row number.
    update(&mut ui, &v, Action::Enter);
    assert_eq!(ui.overlay, Some(crate::app::Overlay::ErrorDetail(last)));
}

/// Issue 45 point 3: the chosen item stays chosen while a filter is typed letter by
/// letter (a word on its way may hide it for a moment), and once the filter is cleared.
#[test]
fn the_selection_stays_on_its_item_while_the_filter_changes() {
    let (v, mut ui) = ui_on(Tab::Approvals);
    update(&mut ui, &v, Action::Down);
    let gate = v.gates[ui.gate_at(&v).unwrap()].step_id.clone();
    update(&mut ui, &v, Action::Filter);
    typed(&mut ui, &v, "state:ga");
    assert_eq!(v.gates[ui.gate_at(&v).unwrap()].step_id, gate);
    update(&mut ui, &v, Action::Back);
    assert_eq!(v.gates[ui.gate_at(&v).unwrap()].step_id, gate);

    // The Runs tab: the selected run, not the row number.
    let (v, mut ui) = ui_on(Tab::Runs);
    update(&mut ui, &v, Action::Down);
    update(&mut ui, &v, Action::Down);
    let now = ui.store_clock(&v);
    let run = ui.selected_run(now).unwrap().clone();
    filter(&mut ui, &v, &format!("wf:{}", run.workflow));
    assert_eq!(ui.selected_run(now).unwrap().id, run.id);
    update(&mut ui, &v, Action::Back);
    assert_eq!(ui.selected_run(now).unwrap().id, run.id);
}

/// A term that could match no row of the kind is refused where it is typed, saying
/// what would be right, and typing goes on.
#[test]
fn a_state_no_row_can_be_in_is_refused_on_every_list() {
    let cases = [
        (Tab::Waiting, "waiting item"),
        (Tab::Approvals, "gate"),
        (Tab::Errors, "error"),
        (Tab::Audit, "audit row"),
        (Tab::Schedules, "schedule"),
    ];
    for (tab, noun) in cases {
        let (v, mut ui) = ui_on(tab);
        filter(&mut ui, &v, "state:zzz");
        assert!(ui.filter_editing, "{tab:?}: still typing");
        let t = ui.toast.as_ref().unwrap();
        assert!(
            !t.ok
                && t.text
                    .contains(&format!("no {noun} state starts with `zzz`")),
            "{tab:?}: {}",
            t.text
        );
    }
    // `wf:` where every row is the shown run's.
    let (v, mut ui) = ui_on(Tab::Errors);
    filter(&mut ui, &v, "wf:release");
    assert!(
        ui.toast
            .as_ref()
            .unwrap()
            .text
            .contains("`wf:` does not apply")
    );
}

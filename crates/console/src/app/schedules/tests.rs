use super::*;
use crate::app::{Tab, update};
use crate::fixtures;
use baton_model::RunView;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::sync::Arc;

fn on_tab() -> (RunView, UiState) {
    let v = fixtures::release();
    let mut ui = UiState::new("carol");
    ui.schedules = Arc::new(fixtures::schedules());
    update(&mut ui, &v, Action::GoTab(Tab::Schedules));
    (v, ui)
}

fn typed(ui: &mut UiState, v: &RunView, s: &str) {
    for c in s.chars() {
        update(
            ui,
            v,
            Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
        );
    }
}

/// A pause needs a reason and a second Enter; then one request, under the name shown.
#[test]
fn pause_asks_a_reason_and_a_confirm_then_sends_one_request() {
    let (v, mut ui) = on_tab();
    update(&mut ui, &v, Action::Down); // release#1
    assert!(update(&mut ui, &v, Action::Pause).is_empty());
    assert!(matches!(ui.dialog, Some(Dialog::Schedule(_))));
    update(&mut ui, &v, Action::Confirm);
    let Some(Dialog::Schedule(d)) = &ui.dialog else {
        panic!("the dialog closed without a reason")
    };
    assert!(d.error.as_deref().unwrap().contains("reason is required"));
    typed(&mut ui, &v, "freeze");
    assert!(
        update(&mut ui, &v, Action::Confirm).is_empty(),
        "asks once more"
    );
    let out = update(&mut ui, &v, Action::Confirm);
    assert_eq!(
        out,
        vec![Request::Schedule {
            act: Act::Pause,
            target: "release#1".into(),
            reason: "freeze".into(),
        }]
    );
    assert!(ui.dialog.is_none());
    assert_eq!(ui.pending, 1);
}

/// A pause of a paused schedule is refused on screen and held, so a reason typed on
/// does not run as keys; resume is what it offers.
#[test]
fn pausing_a_paused_schedule_is_refused_and_resume_triggers_are_offered() {
    let (v, mut ui) = on_tab();
    update(&mut ui, &v, Action::Down);
    update(&mut ui, &v, Action::Down); // reports#1, paused by alice
    assert!(!offered(&ui, &Action::Pause));
    assert!(offered(&ui, &Action::Resume) && offered(&ui, &Action::Trigger));
    update(&mut ui, &v, Action::Pause);
    let Some(Dialog::Refused(why)) = &ui.dialog else {
        panic!("{:?}", ui.dialog)
    };
    assert!(why.contains("paused already (by alice)"), "{why}");
    typed(&mut ui, &v, "q");
    assert!(matches!(ui.dialog, Some(Dialog::Refused(_))));
    update(&mut ui, &v, Action::Back);
    update(&mut ui, &v, Action::Trigger);
    let Some(Dialog::Schedule(d)) = &ui.dialog else {
        panic!("{:?}", ui.dialog)
    };
    assert_eq!((d.act, d.target.as_str()), (Act::Trigger, "reports"));
}

/// Enter opens the schedule's last run on its DAG; a broken file offers nothing.
#[test]
fn enter_opens_the_last_run_and_a_broken_file_offers_nothing() {
    let (v, mut ui) = on_tab();
    let out = update(&mut ui, &v, Action::Enter);
    assert_eq!(
        out,
        vec![Request::OpenRun("01JXQZ0M3D5E7F9G1H2J3K4L5M".into())]
    );
    assert_eq!(ui.tab, Tab::Dag);
    let (v, mut ui) = on_tab();
    update(&mut ui, &v, Action::Bottom);
    assert!(matches!(
        ui.selected_schedule(),
        Some(SchedulePick::Broken(..))
    ));
    for a in [
        Action::Enter,
        Action::Pause,
        Action::Resume,
        Action::Trigger,
    ] {
        assert!(!offered(&ui, &a), "{a:?}");
    }
    assert!(update(&mut ui, &v, Action::Enter).is_empty());
    assert!(ui.toast.as_ref().unwrap().text.contains("does not load"));
}

/// A read-only console decides nothing, here as elsewhere.
#[test]
fn a_read_only_console_neither_pauses_nor_triggers() {
    let (v, mut ui) = on_tab();
    ui.readonly = true;
    for a in [Action::Pause, Action::Resume, Action::Trigger] {
        assert!(update(&mut ui, &v, a).is_empty());
        assert!(!matches!(ui.dialog, Some(Dialog::Schedule(_))));
        ui.dialog = None;
    }
}

/// Issue 58 point 4: a paused schedule has no next time (its pause holds every slot);
/// one that is not paused still says when it fires.
#[test]
fn a_paused_schedule_shows_no_next_time() {
    let board = fixtures::schedules();
    let now = baton_model::Timestamp(fixtures::T0);
    let offset = chrono::FixedOffset::east_opt(0).unwrap();
    let paused = board.rows.iter().find(|l| l.row.paused.is_some()).unwrap();
    assert!(paused.next.is_some(), "the fixture has a next slot for it");
    assert_eq!(paused.cells(now, offset)[2], "- (paused)");
    let active = board.rows.iter().find(|l| l.row.paused.is_none()).unwrap();
    assert!(active.cells(now, offset)[2].contains("(in "));
}

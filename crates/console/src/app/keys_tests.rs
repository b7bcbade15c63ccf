//! Keys people already know (issue 28 point 8): `less`'s paging in the log, `t` in
//! every pane, a failed run opening on its first failed step.
use super::*;
use crate::fixtures;
use crate::keymap::{Context, Keymap};
use baton_model::{RunState, StepState};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn synced(ui: &mut UiState, v: &baton_model::RunView, rows: usize) {
    crate::logfile::LogReaders::default().sync(ui, v, rows);
}

#[test]
fn the_log_pages_as_less_does() {
    let keys = Keymap::defaults();
    let ev = |c: char, m: KeyModifiers| KeyEvent::new(KeyCode::Char(c), m);
    let at = |c, m| keys.action_for(Context::Log, &ev(c, m));
    assert_eq!(at('d', KeyModifiers::CONTROL), Some(Action::HalfPageDown));
    assert_eq!(at('u', KeyModifiers::CONTROL), Some(Action::HalfPageUp));
    assert_eq!(at('f', KeyModifiers::CONTROL), Some(Action::PageDown));
    assert_eq!(at('b', KeyModifiers::CONTROL), Some(Action::PageUp));
    assert_eq!(at(' ', KeyModifiers::NONE), Some(Action::PageDown));

    let v = fixtures::release();
    let mut ui = UiState::new("alice");
    update(&mut ui, &v, Action::Log);
    synced(&mut ui, &v, 10);
    let shown = |ui: &UiState| ui.log.as_ref().map(|l| (l.first_shown(), l.follow));
    update(&mut ui, &v, Action::Top);
    // 10 rows: a page is 9 lines (one kept), half of it 5.
    update(&mut ui, &v, Action::HalfPageDown);
    assert_eq!(shown(&ui), Some((5, false)));
    update(&mut ui, &v, Action::PageDown);
    assert_eq!(shown(&ui), Some((14, false)));
    update(&mut ui, &v, Action::HalfPageUp);
    assert_eq!(shown(&ui), Some((9, false)));
    // Down to the end follows again, as `less +F` does.
    update(&mut ui, &v, Action::HalfPageDown);
    update(&mut ui, &v, Action::HalfPageDown);
    update(&mut ui, &v, Action::HalfPageDown);
    assert_eq!(shown(&ui), Some((20, true)));
}

#[test]
fn t_switches_the_times_in_an_overlay_too() {
    let v = fixtures::release();
    let keys = Keymap::defaults();
    let mut ui = UiState::new("alice");
    update(&mut ui, &v, Action::ToggleHealth);
    assert_eq!(ui.context(), Context::Overlay);
    let t = keys.action_for(
        ui.context(),
        &KeyEvent::new(KeyCode::Char('t'), KeyModifiers::NONE),
    );
    assert_eq!(t, Some(Action::ToggleTime));
    let before = ui.wall_clock;
    update(&mut ui, &v, Action::ToggleTime);
    assert_ne!(ui.wall_clock, before, "every press switches");
    update(&mut ui, &v, Action::ToggleTime);
    assert_eq!(ui.wall_clock, before);
}

#[test]
fn a_failed_run_opens_on_its_first_failed_step() {
    let mut v = fixtures::release();
    for s in &mut v.steps {
        if !s.state.is_final() {
            s.state = StepState::Cancelled;
        }
    }
    v.steps[3].state = StepState::Failed;
    v.steps[7].state = StepState::Rejected;
    v.state = RunState::Failed;
    let mut ui = UiState::new("alice");
    ui.follow = true;
    let first = v.steps.iter().position(|s| s.state.is_failure()).unwrap();
    assert_eq!(ui.focus(&v), Some(first));
}

#[test]
fn colon_jumps_to_a_step_or_a_run_and_says_why_it_cannot() {
    use super::jump::{Target, resolve};
    let v = fixtures::release();
    let runs = fixtures::shared_runs();
    let docs = v.step_index("docs").unwrap();
    assert_eq!(resolve("docs", &v, &runs), Ok(Target::Step(docs)));
    // A step by the start of its id, when only one starts so.
    let sbom = v.step_index("sbom").unwrap();
    assert_eq!(resolve("sb", &v, &runs), Ok(Target::Step(sbom)));
    // A run by the start of its id, in any case.
    assert_eq!(
        resolve("01jxqy8", &v, &runs),
        Ok(Target::Run("01JXQY8A1B2C3D4E5F6G7H8J9K".into()))
    );
    let many = resolve("01JXQ", &v, &runs).unwrap_err().to_string();
    assert!(many.contains("starts") && many.contains("runs"), "{many}");
    assert!(
        many.contains("01JXQY8A1B2C"),
        "the candidates are listed: {many}"
    );
    let steps = resolve("deploy", &v, &runs).unwrap_err().to_string();
    assert!(steps.contains("deploy-staging"), "{steps}");
    let none = resolve("zzz", &v, &runs).unwrap_err().to_string();
    assert!(none.contains("no run id starts with `zzz`"), "{none}");

    // Through the keys: `:` opens the prompt, Enter jumps or keeps it open with why.
    let mut ui = UiState::new("alice");
    ui.set_runs(runs);
    ui.tab = Tab::Errors;
    update(&mut ui, &v, Action::Jump);
    assert_eq!(ui.context(), Context::JumpInput);
    for c in "zzz".chars() {
        update(
            &mut ui,
            &v,
            Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
        );
    }
    update(&mut ui, &v, Action::Confirm);
    assert_eq!(ui.context(), Context::JumpInput, "still open");
    assert!(
        ui.toast
            .as_ref()
            .is_some_and(|t| !t.ok && t.text.contains("zzz"))
    );
    ui.jump = Some("docs".into());
    update(&mut ui, &v, Action::Confirm);
    assert_eq!((ui.tab, ui.focus(&v)), (Tab::Dag, Some(docs)));
    assert!(ui.jump.is_none());
    update(&mut ui, &v, Action::Jump);
    ui.jump = Some("01JXQX".into());
    assert_eq!(
        update(&mut ui, &v, Action::Confirm),
        vec![Request::OpenRun("01JXQX7Z9Y8X7W6V5U4T3S2R1Q".into())]
    );
}

/// While the console holds only the newest page of a large store, the Runs tab and a
/// jump ask for every run; other tabs do not (a run driven here keeps the machine).
#[test]
fn the_runs_tab_and_a_jump_want_every_run_while_only_a_page_is_here() {
    let v = fixtures::release();
    let mut ui = UiState::new("alice");
    ui.set_runs(fixtures::shared_runs());
    update(&mut ui, &v, Action::GoTab(Tab::Runs));
    assert!(!ui.wants_all_runs(), "the list is whole");
    ui.runs_partial = true;
    assert!(ui.wants_all_runs());
    update(&mut ui, &v, Action::GoTab(Tab::Dag));
    assert!(!ui.wants_all_runs());
    update(&mut ui, &v, Action::Jump);
    assert!(ui.wants_all_runs());
}

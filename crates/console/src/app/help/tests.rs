//! The help searches (`/`) and runs the selected key (Enter), by the binding's Action.
use crate::app::{Action, Overlay, Tab, UiState, help_entries, update};
use crate::fixtures;
use crate::keymap::Context;
use baton_model::RunView;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn typed(ui: &mut UiState, v: &RunView, s: &str) {
    for c in s.chars() {
        let k = KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        update(ui, v, Action::Key(k));
    }
}

/// The keys as the keymap resolves them in the help, so that the test presses keys.
fn key(ui: &mut UiState, v: &RunView, code: KeyCode) {
    let ev = KeyEvent::new(code, KeyModifiers::NONE);
    let a = ui
        .keys
        .clone()
        .action_for(ui.context(), &ev)
        .expect("a bound key");
    update(ui, v, a);
}

fn search(ui: &mut UiState, v: &RunView, words: &str) {
    key(ui, v, KeyCode::Char('?'));
    assert_eq!(ui.context(), Context::Help);
    key(ui, v, KeyCode::Char('/'));
    assert_eq!(ui.context(), Context::FilterInput);
    typed(ui, v, words);
    key(ui, v, KeyCode::Enter);
    assert_eq!(ui.context(), Context::Help, "Enter keeps the search");
}

/// `/sort` in the help leaves the Runs tab's sort; Enter runs it: the help closes, the
/// Runs tab shows, sorted by the next order.
#[test]
fn the_help_searches_and_enter_runs_the_selected_key_on_its_tab() {
    let v = fixtures::release();
    let mut ui = UiState::new("alice");
    ui.set_runs(fixtures::shared_runs());
    search(&mut ui, &v, "sort");
    let keys = ui.keys.clone();
    let found: Vec<_> = help_entries(&keys, &ui, &v)
        .iter()
        .map(|e| (e.section, e.bound.action.clone()))
        .collect();
    assert_eq!(found, [(Context::Tab(Tab::Runs), Action::Sort)]);
    let before = ui.runs_sort;
    key(&mut ui, &v, KeyCode::Enter);
    assert_eq!(ui.overlay, None);
    assert_eq!(ui.tab, Tab::Runs);
    assert_eq!(ui.runs_sort, before.next());
}

/// A global key runs where the help was opened; moving picks another line first.
#[test]
fn enter_runs_the_line_moved_to() {
    let v = fixtures::release();
    let mut ui = UiState::new("alice");
    update(&mut ui, &v, Action::GoTab(Tab::Audit));
    search(&mut ui, &v, "wall clock");
    let keys = ui.keys.clone();
    let n = help_entries(&keys, &ui, &v).len();
    assert!(n >= 2, "times in Everywhere and in Overlays");
    key(&mut ui, &v, KeyCode::Enter);
    assert!(ui.wall_clock, "t ran");
    assert_eq!((ui.tab, ui.overlay), (Tab::Audit, None));
}

/// A dialog's key does not run from the help: it says where it works and the help
/// stays; Esc clears the search, then closes.
#[test]
fn a_dialog_key_is_refused_and_esc_clears_then_closes() {
    let v = fixtures::release();
    let mut ui = UiState::new("alice");
    search(&mut ui, &v, "alt-enter");
    key(&mut ui, &v, KeyCode::Enter);
    assert_eq!(ui.overlay, Some(Overlay::Help));
    let t = ui.toast.clone().unwrap();
    assert!(
        !t.ok && t.text.contains("works in the Approve / reject dialog only"),
        "{}",
        t.text
    );
    key(&mut ui, &v, KeyCode::Esc);
    assert_eq!(
        (ui.overlay, ui.help_filter.as_str()),
        (Some(Overlay::Help), "")
    );
    key(&mut ui, &v, KeyCode::Esc);
    assert_eq!(ui.overlay, None);
}

/// The help moves a page at a time and its selection stays on its lines.
#[test]
fn the_help_selection_moves_by_lines_and_pages() {
    let v = fixtures::release();
    let mut ui = UiState::new("alice");
    key(&mut ui, &v, KeyCode::Char('?'));
    let keys = ui.keys.clone();
    let n = help_entries(&keys, &ui, &v).len();
    key(&mut ui, &v, KeyCode::Down);
    assert_eq!(ui.help_sel, 1);
    key(&mut ui, &v, KeyCode::PageDown);
    assert_eq!(ui.help_sel, 11);
    key(&mut ui, &v, KeyCode::End);
    assert_eq!(ui.help_sel, n - 1);
    key(&mut ui, &v, KeyCode::Home);
    assert_eq!(ui.help_sel, 0);
}

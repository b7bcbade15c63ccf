//! A new tab is its description and one line in the registry: the tab line, the number
//! key, `Tab`/`S-Tab`, `:`, `/`, the help and the footer show it, with no other change.
use crate::app::{Action, Tab, UiState, update};
use crate::console_config::ConsoleConfig;
use crate::fixtures;
use crate::keymap::Context;
use crate::theme::Theme;
use baton_model::RunView;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// Press `code` as the console does: the keymap resolves it in the current context.
fn press(ui: &mut UiState, v: &RunView, code: KeyCode) {
    let ev = KeyEvent::new(code, KeyModifiers::NONE);
    let a = ui.keys.action_for(ui.context(), &ev);
    update(ui, v, a.unwrap_or_else(|| panic!("{code:?} unbound")));
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

fn screen(ui: &mut UiState, v: &RunView, w: u16, h: u16) -> String {
    let config = ConsoleConfig::with_theme(Theme::monochrome());
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| ui.hits = crate::views::render(f, v, ui, &config))
        .unwrap();
    let b = t.backend().buffer();
    (0..h)
        .map(|y| (0..w).map(|x| b[(x, y)].symbol()).collect::<String>() + "\n")
        .collect()
}

#[test]
fn the_number_key_the_tab_line_and_its_body_come_from_the_registry() {
    let v = fixtures::release();
    let mut ui = UiState::new("carol");
    let s = screen(&mut ui, &v, 160, 30);
    // Ninth on the tab line, with its count.
    assert!(s.contains("9 Probe (14)"), "{s}");
    press(&mut ui, &v, KeyCode::Char('9'));
    assert_eq!(
        (ui.tab, ui.context()),
        (Tab::Probe, Context::Tab(Tab::Probe))
    );
    let s = screen(&mut ui, &v, 160, 30);
    assert!(s.contains("Probe · 14 steps"), "{s}");
    // Its own keys in the footer, from its description's.
    let footer = s.lines().last().unwrap_or_default();
    assert!(footer.contains("↑↓ up/down a step"), "{footer}");
    assert!(footer.contains("Enter open its log"), "{footer}");
    assert!(footer.contains("/ filter"), "{footer}");
    // Its update moves its selection; a click on a row selects that step.
    press(&mut ui, &v, KeyCode::Down);
    assert!(!ui.follow);
    let row = s.lines().position(|l| l.contains("  docs")).unwrap() as u16;
    update(&mut ui, &v, Action::Click { col: 3, row });
    screen(&mut ui, &v, 160, 30);
    assert_eq!(v.steps[ui.selected].id, "docs");
    assert_eq!(ui.tab, Tab::Probe, "a step clicked elsewhere opens the DAG");
    press(&mut ui, &v, KeyCode::Enter);
    assert!(ui.log.is_some(), "Enter opens the step's log");
}

#[test]
fn tab_and_shift_tab_and_the_prompt_reach_it() {
    let v = fixtures::release();
    let mut ui = UiState::new("carol");
    press(&mut ui, &v, KeyCode::BackTab);
    assert_eq!(ui.tab, Tab::Probe, "S-Tab from the first tab: the last");
    press(&mut ui, &v, KeyCode::Tab);
    assert_eq!(ui.tab, Tab::Dag);
    for (typed_text, filter) in [("probe", ""), ("prb", ""), ("probe test", "test")] {
        let mut ui = UiState::new("carol");
        update(&mut ui, &v, Action::Jump);
        typed(&mut ui, &v, typed_text);
        update(&mut ui, &v, Action::Confirm);
        assert_eq!(
            (ui.tab, ui.filter.as_str()),
            (Tab::Probe, filter),
            "{typed_text}"
        );
    }
}

#[test]
fn slash_filters_its_rows_with_its_hint() {
    let v = fixtures::release();
    let mut ui = UiState::new("carol");
    update(&mut ui, &v, Action::GoTab(Tab::Probe));
    update(&mut ui, &v, Action::Filter);
    assert_eq!(ui.context(), Context::FilterInput);
    assert_eq!(
        ui.filter_hint(),
        "step id words; state:NAME (e.g. state:failed)"
    );
    typed(&mut ui, &v, "test");
    update(&mut ui, &v, Action::Confirm);
    let s = screen(&mut ui, &v, 120, 30);
    assert!(s.contains("Probe · 2 steps"), "{s}");
    typed(&mut ui, &v, "");
    update(&mut ui, &v, Action::Back);
    assert!(ui.filter.is_empty(), "Esc clears it");
}

#[test]
fn the_help_has_its_section_and_number_key() {
    let keys = crate::keymap::Keymap::defaults();
    let help = keys.help_sections(|_, _| true);
    let probe = help
        .iter()
        .find(|(t, _)| *t == "Probe")
        .expect("a Probe section");
    let what: Vec<&str> = probe.1.iter().map(|r| r.1).collect();
    assert_eq!(
        what,
        [
            "up a step",
            "down a step",
            "open its log",
            "filter its steps",
            "clear the filter"
        ]
    );
    let everywhere = &help[0].1;
    assert!(
        everywhere
            .iter()
            .any(|r| r.0 == "9" && r.1 == "Probe tab (the tests' own)"),
        "{everywhere:?}"
    );
}

//! Issue 76 point 7: a status line wider than the terminal was cut at its edge, its
//! whole text only in `@`.
use super::run_form_qa_tests::screen;
use super::*;
use crate::fixtures;

#[test]
fn a_toast_wider_than_the_terminal_is_shown_whole_over_the_hints_until_it_goes() {
    let v = fixtures::release();
    let mut ui = UiState::new("alice");
    let text = "✘ deploy-prod waits on a gate of run 01JXR3T5 (release, ticket=OPS-4121): a approves, x rejects; its engine is gone: deciding takes it over";
    ui.toast = Some(state::Toast {
        text: text.into(),
        ok: false,
        at: None,
    });
    let s = screen(&mut ui, &v, 80, 24);
    let bottom: Vec<&str> = s.lines().rev().take(2).collect();
    let shown = format!("{} {}", bottom[1].trim(), bottom[0].trim());
    assert_eq!(shown, text, "the whole toast on the last two lines:\n{s}");
    // Longer than two rows: the second ends in `…`.
    if let Some(t) = ui.toast.as_mut() {
        t.text = format!("{text} {text}");
    }
    let s = screen(&mut ui, &v, 80, 24);
    assert!(
        s.lines()
            .last()
            .unwrap_or_default()
            .trim_end()
            .ends_with('…'),
        "{s}"
    );
    // Gone: the key hints come back.
    ui.toast = None;
    let s = screen(&mut ui, &v, 80, 24);
    assert!(
        s.lines().last().unwrap_or_default().contains("? help"),
        "{s}"
    );
    // A short one keeps the hints.
    ui.toast = Some(state::Toast {
        text: "✔ approved".into(),
        ok: true,
        at: None,
    });
    let s = screen(&mut ui, &v, 80, 24);
    assert!(
        s.lines().last().unwrap_or_default().contains("? help"),
        "{s}"
    );
}

//! Issue 44 point 2, snapshots at 80×24 and 120×40 reviewed by eye: a long value edited
//! in the editor, in its field by its first line and its length, then shown against
//! the proposal before the last Enter (the unified diff, its hunks, where the window
//! is in it, scrolled by PgDn); the styles of the diff (removed, added, hunk headers).
use super::render::{act, draw, text, ui};
use baton::console::{Action, Tab, UiState};
use baton::console::{Theme, fixtures};
use baton::model::RunView;

/// The release's gate with a 40-line prompt as its input, three of its lines changed
/// in the editor (the shell's answer to Ctrl-e).
fn edited_prompt() -> (RunView, UiState) {
    let mut v = fixtures::release();
    let proposed: String = (1..=40)
        .map(|i| format!("{i}. Answer in the customer's language, politely.\n"))
        .collect();
    let edited = proposed
        .replace("\n3. Answer", "\n3. Answer briefly")
        .replace("20. Answer in the customer's language, politely.\n", "")
        .replace("38. Answer", "38. Never promise a refund; answer")
        // Indentation is part of a change: kept as it is.
        .replace("39. Answer", "\t  39. Answer");
    v.gates[0].inputs = vec![baton::model::InputView {
        name: "prompt".into(),
        ty: "string".into(),
        values: Vec::new(),
        required: false,
        default: Some(proposed),
        pattern: None,
        description: Some("the system prompt".into()),
    }];
    let mut u = ui();
    act(
        &v,
        &mut u,
        &[
            Action::GoTab(Tab::Approvals),
            Action::Approve,
            Action::Editor,
            Action::Edited(Ok(edited)),
        ],
    );
    (v, u)
}

#[test]
fn the_diff_of_an_edit_before_the_last_enter() {
    let theme = Theme::load("default").unwrap();
    let cases: [(&str, &[Action]); 3] = [
        ("edit_long_value", &[]),
        ("edit_diff", &[Action::Confirm]),
        ("edit_diff_scrolled", &[Action::Confirm, Action::PageDown]),
    ];
    for (name, then) in cases {
        for (w, h) in [(80u16, 24u16), (120, 40)] {
            let (v, mut u) = edited_prompt();
            act(&v, &mut u, then);
            let t = super::render::snap(name, &v, &mut u, &theme, w, h);
            insta::assert_snapshot!(format!("{name}_{w}x{h}"), t);
        }
    }
    // Colours: a removed line red, an added one green, whatever the theme calls them.
    let (v, mut u) = edited_prompt();
    act(&v, &mut u, &[Action::Confirm]);
    let b = draw(&v, &mut u, &theme, 120, 40);
    let style_of = |needle: &str| {
        let t = text(&b);
        let (y, line) = t
            .lines()
            .enumerate()
            .find(|(_, l)| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle} not on screen:\n{t}"));
        let x = line[..line.find(needle).unwrap()].chars().count() as u16;
        b[(x, y as u16)].fg
    };
    assert_eq!(style_of("- 3. Answer in"), theme.error.fg.unwrap());
    assert_eq!(style_of("+ 3. Answer briefly"), theme.ok.fg.unwrap());
    assert_ne!(style_of("- 3. Answer in"), style_of("  4. Answer"));
}

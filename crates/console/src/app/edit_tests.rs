//! Issue 44 point 2, the console's half: a field (or the reason) edited in `$EDITOR`
//! through the shell, and the diff of the changes scrolled before the final Enter.
use super::*;
use crate::editor::EditorError;
use crate::fixtures;
use baton_model::{Command, InputView};

fn input(name: &str, ty: &str, default: &str) -> InputView {
    InputView {
        name: name.into(),
        ty: ty.into(),
        values: if ty == "enum" {
            vec![default.to_string(), "other".into()]
        } else {
            Vec::new()
        },
        required: false,
        default: Some(default.into()),
        pattern: None,
        description: None,
    }
}

/// Carol's approve dialog on the release's gate, with these inputs.
fn dialog(inputs: Vec<InputView>) -> (UiState, baton_model::RunView) {
    let mut v = fixtures::release();
    v.gates[0].inputs = inputs;
    let mut ui = UiState::new("carol");
    update(&mut ui, &v, Action::GoTab(Tab::Approvals));
    update(&mut ui, &v, Action::Approve);
    assert!(
        matches!(ui.dialog, Some(Dialog::Gate(_))),
        "{:?}",
        ui.dialog
    );
    (ui, v)
}

fn gate(ui: &UiState) -> &GateDialog {
    match &ui.dialog {
        Some(Dialog::Gate(d)) => d,
        other => panic!("{other:?}"),
    }
}

#[test]
fn ctrl_e_asks_the_shell_to_edit_the_field_and_its_answer_is_the_value() {
    let sql = "SELECT *\nFROM users\nLIMIT 10";
    let (mut ui, v) = dialog(vec![input("sql", "string", sql)]);
    assert_eq!(
        update(&mut ui, &v, Action::Editor),
        vec![Request::Edit(sql.to_string())]
    );
    // Quotes, `$` and newlines: the value is what the editor left, byte for byte.
    let edited = "SELECT id, \"name\"\nFROM users\nWHERE note = '$HOME'";
    assert!(update(&mut ui, &v, Action::Edited(Ok(edited.into()))).is_empty());
    assert_eq!(gate(&ui).fields[0].value, edited);
    // The first Enter shows the diff; the second sends exactly the edited value.
    assert!(update(&mut ui, &v, Action::Confirm).is_empty());
    assert!(gate(&ui).review);
    assert!(
        gate(&ui)
            .diff
            .contains(&DiffLine::Added("WHERE note = '$HOME'".into())),
        "{:?}",
        gate(&ui).diff
    );
    match &update(&mut ui, &v, Action::Confirm)[..] {
        [Request::Command(Command::Approve { inputs, .. })] => assert_eq!(inputs["sql"], edited),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_failed_edit_keeps_the_value_and_says_why() {
    let (mut ui, v) = dialog(vec![input("sql", "string", "SELECT 1")]);
    update(&mut ui, &v, Action::Editor);
    let failed = EditorError::Failed {
        program: "vim".into(),
        status: "exited with 1".into(),
    };
    update(&mut ui, &v, Action::Edited(Err(failed.clone())));
    assert_eq!(gate(&ui).fields[0].value, "SELECT 1");
    assert_eq!(gate(&ui).error, Some(failed.to_string()));
    // Unchanged: Enter approves at once, no review.
    assert_eq!(update(&mut ui, &v, Action::Confirm).len(), 1);
}

#[test]
fn a_choice_is_not_edited_and_the_reason_is() {
    let (mut ui, v) = dialog(vec![input("model", "enum", "pro")]);
    assert!(update(&mut ui, &v, Action::Editor).is_empty());
    assert!(
        gate(&ui)
            .error
            .as_deref()
            .unwrap_or("")
            .contains("pick it with ←/→"),
        "{:?}",
        gate(&ui).error
    );
    // On to the reason box: it is edited whole, several lines.
    update(&mut ui, &v, Action::Down);
    assert_eq!(
        update(&mut ui, &v, Action::Editor),
        vec![Request::Edit(String::new())]
    );
    update(&mut ui, &v, Action::Edited(Ok("checked\nby hand".into())));
    assert_eq!(gate(&ui).reason.lines(), ["checked", "by hand"]);
    match &update(&mut ui, &v, Action::Confirm)[..] {
        [Request::Command(Command::Approve { reason, .. })] => {
            assert_eq!(reason.as_deref(), Some("checked\nby hand"))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_diff_scrolls_by_page_and_other_keys_go_back_to_editing() {
    let long: String = (0..100).map(|i| format!("line {i}\n")).collect();
    let (mut ui, v) = dialog(vec![input("prompt", "string", &long)]);
    // Every tenth line changed: many hunks.
    let edited: String = (0..100)
        .map(|i| {
            if i % 10 == 0 {
                format!("LINE {i}\n")
            } else {
                format!("line {i}\n")
            }
        })
        .collect();
    update(&mut ui, &v, Action::Editor);
    update(&mut ui, &v, Action::Edited(Ok(edited.clone())));
    update(&mut ui, &v, Action::Confirm);
    let d = gate(&ui);
    assert!(d.review);
    assert_eq!(d.diff[0], DiffLine::Name("prompt:".into()));
    assert_eq!(d.diff[1], DiffLine::Hunk("@@ -1,3 +1,3 @@".into()));
    let hunks = d
        .diff
        .iter()
        .filter(|l| matches!(l, DiffLine::Hunk(_)))
        .count();
    assert_eq!(hunks, 10, "{:?}", d.diff);
    let len = d.diff.len();
    update(&mut ui, &v, Action::PageDown);
    assert_eq!(gate(&ui).scroll, DIFF_PAGE);
    assert!(gate(&ui).review, "scrolling stays in the review");
    for _ in 0..100 {
        update(&mut ui, &v, Action::PageDown);
    }
    assert_eq!(gate(&ui).scroll, len - 1);
    update(&mut ui, &v, Action::PageUp);
    assert_eq!(gate(&ui).scroll, len - 1 - DIFF_PAGE);
    // Esc goes back to editing, the dialog still open; Enter shows the diff again.
    update(&mut ui, &v, Action::Back);
    assert!(!gate(&ui).review);
    update(&mut ui, &v, Action::Confirm);
    assert_eq!(gate(&ui).scroll, 0);
    match &update(&mut ui, &v, Action::Confirm)[..] {
        [Request::Command(Command::Approve { inputs, .. })] => {
            assert_eq!(inputs["prompt"], edited)
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_preview_is_the_first_line_and_the_count() {
    assert_eq!(preview("SELECT 1", 20), ("SELECT 1".to_string(), 1));
    assert_eq!(preview("a\nb\nc", 20), ("a".to_string(), 3));
    assert_eq!(preview("a\nb\n", 20), ("a".to_string(), 2));
    assert_eq!(preview("abcdef", 3), ("abc…".to_string(), 1));
    assert_eq!(preview("", 3), (String::new(), 0));
}

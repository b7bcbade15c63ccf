//! Issue 76 point 4: `n` writes a note on the highlighted run (Runs, Waiting) or the
//! focused step (DAG): its dialog names that row, an empty note is refused, Enter twice
//! asks the service for it (`Request::Note`), and the answer says as whom.
use super::*;
use crate::fixtures;
use crate::keymap::Context;
use baton_model::{Refusal, RunView, Timestamp};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::sync::Arc;

const B: &str = "01JXR0BBBBBBBBBBBBBBBBBBBB";

/// Run A (`release`) on screen; the Runs tab lists A, then B (`release` too, labelled
/// `ticket=OPS-7`), then the fixture's older runs.
fn two_runs() -> (RunView, UiState) {
    let v = fixtures::release();
    let mut runs = fixtures::runs();
    let mut b = runs[0].clone();
    b.id = B.into();
    b.started_at = Timestamp(b.started_at.0 - 600_000);
    b.labels.insert("ticket".into(), "OPS-7".into());
    runs.insert(1, b);
    let mut ui = UiState::new("alice");
    ui.set_runs(Arc::new(runs.into_iter().map(Arc::new).collect()));
    update(&mut ui, &v, Action::GoTab(Tab::Runs));
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

fn note(ui: &UiState) -> &NoteDialog {
    match &ui.dialog {
        Some(Dialog::Note(d)) => d,
        other => panic!("no note dialog: {other:?}"),
    }
}

/// The whole screen at 120×32, its lines joined.
fn screen(ui: &mut UiState, v: &RunView) -> String {
    super::run_form_qa_tests::screen(ui, v, 120, 32)
}

#[test]
fn n_in_the_runs_tab_notes_the_highlighted_run_and_its_dialog_names_it() {
    let (v, mut ui) = two_runs();
    update(&mut ui, &v, Action::Down);
    assert_eq!(
        ui.selected_run(ui.store_clock(&v)).map(|r| r.id.as_str()),
        Some(B)
    );
    assert!(offered(&ui, &v, ui.context(), &Action::Note));
    assert!(update(&mut ui, &v, Action::Note).is_empty());
    assert_eq!(ui.context(), Context::NoteDialog);
    let b = short_id(B, &ui.run_ids).to_string();
    assert_eq!(
        (note(&ui).run_id.as_str(), note(&ui).step.as_deref()),
        (B, None)
    );
    let s = screen(&mut ui, &v);
    assert!(
        s.contains(&format!("Note on run {b} (release) · ticket=OPS-7")),
        "the dialog names B, with what tells it apart:\n{s}"
    );
    assert!(s.contains("Recorded as alice (your OS account)."), "{s}");
    // Empty: refused under the field, nothing sent.
    assert!(update(&mut ui, &v, Action::Confirm).is_empty());
    assert!(
        note(&ui)
            .error
            .as_deref()
            .is_some_and(|e| e.contains("the note is empty")),
        "{:?}",
        note(&ui).error
    );
    typed(&mut ui, &v, "looked at: DNS flake");
    assert!(
        update(&mut ui, &v, Action::Confirm).is_empty(),
        "asks once more"
    );
    let s = screen(&mut ui, &v);
    assert!(s.contains("Enter again to"), "{s}");
    let sent = update(&mut ui, &v, Action::Confirm);
    assert_eq!(
        sent,
        vec![Request::Note {
            run_id: B.into(),
            step: None,
            text: "looked at: DNS flake".into(),
        }]
    );
    assert!(ui.dialog.is_none());
    update(
        &mut ui,
        &v,
        Action::Noted {
            run_id: B.into(),
            step: None,
            result: Ok("alice".into()),
        },
    );
    let toast = ui
        .toast
        .as_ref()
        .map(|t| t.text.clone())
        .unwrap_or_default();
    assert_eq!(toast, format!("✔ noted on run {b} as alice"));
    let logged = ui.action_log.last().expect("in the action log");
    assert_eq!(logged.what, "note: “looked at: DNS flake”");
    assert!(logged.result.is_some(), "answered: {logged:?}");
}

#[test]
fn n_on_the_dag_notes_the_focused_step_of_the_run_on_screen() {
    let (v, mut ui) = two_runs();
    update(&mut ui, &v, Action::GoTab(Tab::Dag));
    let focus = ui.focus(&v).expect("a step is focused");
    let step = v.steps[focus].id.clone();
    assert!(update(&mut ui, &v, Action::Note).is_empty());
    assert_eq!(
        (note(&ui).run_id.as_str(), note(&ui).step.as_deref()),
        (v.run_id.as_str(), Some(step.as_str()))
    );
    let a = short_id(&v.run_id, &ui.run_ids).to_string();
    assert!(
        note(&ui)
            .target
            .starts_with(&format!("step {step} of run {a} (release)")),
        "{}",
        note(&ui).target
    );
    typed(&mut ui, &v, "flaky");
    update(&mut ui, &v, Action::Confirm);
    let sent = update(&mut ui, &v, Action::Confirm);
    assert!(
        matches!(&sent[..], [Request::Note { step: Some(s), .. }] if *s == step),
        "{sent:?}"
    );
    // A refusal from the service is said, the note not claimed.
    update(
        &mut ui,
        &v,
        Action::Noted {
            run_id: v.run_id.clone(),
            step: Some(step.clone()),
            result: Err(Refusal::ReadOnly),
        },
    );
    let toast = ui.toast.as_ref().expect("said");
    assert!(
        !toast.ok
            && toast
                .text
                .starts_with(&format!("✘ note on step {step} of run {a}")),
        "{toast:?}"
    );
}

#[test]
fn n_in_the_waiting_tab_notes_the_items_run_and_esc_writes_nothing() {
    let v = fixtures::release();
    let mut ui = UiState::new("carol");
    ui.waiting = Arc::new(fixtures::waiting());
    update(&mut ui, &v, Action::GoTab(Tab::Waiting));
    let w = ui.selected_waiting().cloned().expect("an item is selected");
    assert!(offered(&ui, &v, ui.context(), &Action::Note));
    update(&mut ui, &v, Action::Note);
    assert_eq!(
        (note(&ui).run_id.as_str(), note(&ui).step.as_deref()),
        (w.run_id.as_str(), None)
    );
    typed(&mut ui, &v, "x");
    assert!(update(&mut ui, &v, Action::Back).is_empty());
    assert!(ui.dialog.is_none(), "Esc closes it, nothing sent");
}

#[test]
fn a_read_only_console_offers_no_note() {
    let (v, mut ui) = two_runs();
    ui.readonly = true;
    assert!(!offered(&ui, &v, ui.context(), &Action::Note));
    assert!(update(&mut ui, &v, Action::Note).is_empty());
    assert!(ui.dialog.is_none());
}

#[test]
fn a_noted_run_is_marked_in_the_runs_tab_and_its_notes_listed_in_the_audit_tab() {
    let (mut v, mut ui) = two_runs();
    let mut runs: Vec<baton_model::RunSummary> = ui.runs.iter().map(|r| (**r).clone()).collect();
    runs[1].notes = 2;
    ui.set_runs(Arc::new(runs.into_iter().map(Arc::new).collect()));
    let s = screen(&mut ui, &v);
    let b = short_id(B, &ui.run_ids).to_string();
    let row = s.lines().find(|l| l.contains(&b)).expect("B's row");
    assert!(row.contains("✎ release"), "{row}");
    v.notes = vec![baton_model::note::NoteView {
        at: Timestamp(v.started_at.map_or(0, |t| t.0) + 60_000),
        by: "alice".into(),
        step: Some("deploy".into()),
        text: "rolled back\x1b[2J by hand".into(),
    }];
    update(&mut ui, &v, Action::GoTab(Tab::Audit));
    let s = screen(&mut ui, &v);
    assert!(s.contains("Notes · 1"), "{s}");
    let line = s
        .lines()
        .find(|l| l.contains("rolled back"))
        .expect("listed");
    assert!(
        line.contains("alice") && line.contains("deploy") && !line.contains('\x1b'),
        "{line:?}"
    );
}

/// The dialog takes a note as long as `baton note` takes (`bounds::MAX_OPERATOR_TEXT`
/// characters, not 200), and not a character more; the whole of it is sent.
#[test]
fn the_note_dialog_takes_what_baton_note_takes_and_no_more() {
    use baton_model::bounds::MAX_OPERATOR_TEXT;
    let (v, mut ui) = two_runs();
    update(&mut ui, &v, Action::Note);
    let long = "note ".repeat(60);
    typed(&mut ui, &v, &long);
    assert_eq!(note(&ui).text, long, "300 characters typed, 300 kept");
    // Up to the bound, then no further.
    if let Some(Dialog::Note(d)) = ui.dialog.as_mut() {
        d.text = "é".repeat(MAX_OPERATOR_TEXT - 1);
    }
    typed(&mut ui, &v, "xyz");
    let text = note(&ui).text.clone();
    assert_eq!(text.chars().count(), MAX_OPERATOR_TEXT);
    assert!(
        text.ends_with("éx"),
        "the first character taken, the rest not"
    );
    assert_eq!(baton_model::note::text_problem("the note", &text), None);
    update(&mut ui, &v, Action::Confirm);
    let sent = update(&mut ui, &v, Action::Confirm);
    match sent.first() {
        Some(Request::Note { text: t, .. }) => assert_eq!(t, &text),
        other => panic!("{other:?}"),
    }
}

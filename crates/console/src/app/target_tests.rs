//! Issue 76 point 1: on the Runs tab every key that acts on a run acts on the
//! highlighted row, and its dialog names that row (id, workflow, state, start), whichever
//! run is on screen; where there is no row, the key says so.
use super::*;
use crate::fixtures;
use crate::keymap::Context;
use baton_model::{Command, RunState, RunSummary, RunView, Timestamp};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::sync::Arc;

/// A second live run of the on-screen run's workflow, started ten minutes earlier.
const B: &str = "01JXR0BBBBBBBBBBBBBBBBBBBB";

/// Run A (the fixture's, `release`, running) on screen; the Runs tab lists A, then B
/// (`release` too, running), then the fixture's older runs.
fn two_live_runs() -> (RunView, UiState) {
    let v = fixtures::release();
    let mut runs = fixtures::runs();
    let mut b = runs[0].clone();
    b.id = B.into();
    b.operator = "bob".into();
    b.started_at = Timestamp(b.started_at.0 - 600_000);
    b.steps_done = 2;
    runs.insert(1, b);
    let mut ui = UiState::new("alice");
    ui.set_runs(Arc::new(runs.into_iter().map(Arc::new).collect()));
    update(&mut ui, &v, Action::GoTab(Tab::Runs));
    (v, ui)
}

/// Highlight run `id` with the keys, as the operator does.
fn highlight(ui: &mut UiState, v: &RunView, id: &str) {
    update(ui, v, Action::Top);
    for _ in 0..ui.runs.len() {
        if ui
            .selected_run(ui.store_clock(v))
            .is_some_and(|r| r.id == id)
        {
            return;
        }
        update(ui, v, Action::Down);
    }
    panic!("run {id} is not listed");
}

fn short(ui: &UiState, id: &str) -> String {
    short_id(id, &ui.run_ids).to_string()
}

/// The text of the dialog titled `title`, its lines joined with single spaces (the
/// table around it left out).
fn dialog_text(ui: &mut UiState, v: &RunView, title: &str) -> String {
    let s = super::run_form_qa_tests::screen(ui, v, 120, 32);
    let rows: Vec<Vec<char>> = s.lines().map(|l| l.chars().collect()).collect();
    let top = rows
        .iter()
        .position(|r| r.iter().collect::<String>().contains(title))
        .unwrap_or_else(|| panic!("no dialog {title:?}:\n{s}"));
    let corner = |r: &[char], c: &[char]| r.iter().position(|x| c.contains(x));
    let x0 = corner(&rows[top], &['┌', '╭']).expect("the dialog's left corner");
    let x1 = x0 + 1 + corner(&rows[top][x0 + 1..], &['┐', '╮']).expect("its right corner");
    let mut text = String::new();
    for r in &rows[top + 1..] {
        if matches!(r.get(x0), Some('└' | '╰')) {
            break;
        }
        text.push(' ');
        text.extend(&r[x0 + 1..x1]);
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn typed(ui: &mut UiState, v: &RunView, s: &str) {
    for c in s.chars() {
        let k = KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        update(ui, v, Action::Key(k));
    }
}

fn confirm(ui: &UiState) -> &ConfirmDialog {
    match &ui.dialog {
        Some(Dialog::Confirm(d)) => d,
        other => panic!("no confirmation: {other:?}"),
    }
}

fn summary<'a>(ui: &'a UiState, id: &str) -> &'a RunSummary {
    ui.runs.iter().find(|r| r.id == id).expect("listed")
}

/// The walk: run A on screen, run B highlighted, `c`: the dialog names B and
/// the cancel goes to B.
#[test]
fn c_in_the_runs_tab_cancels_the_highlighted_run_not_the_one_on_screen() {
    let (v, mut ui) = two_live_runs();
    highlight(&mut ui, &v, B);
    assert!(offered(&ui, &v, Context::Global, &Action::CancelRun));
    assert!(update(&mut ui, &v, Action::CancelRun).is_empty());
    let d = confirm(&ui);
    assert_eq!(
        (&d.what, &d.runs),
        (&ConfirmWhat::CancelRun, &vec![B.to_string()])
    );
    let text = dialog_text(&mut ui, &v, "Cancel the run?");
    let (a, b) = (short(&ui, &v.run_id), short(&ui, B));
    assert!(
        text.contains(&format!("Cancel run {b} (release, running, started")),
        "{text}"
    );
    assert!(
        text.contains("by bob, 2/14 steps"),
        "what tells B from A: {text}"
    );
    assert!(!text.contains(&a), "run A is not named: {text}");
    let sent = update(&mut ui, &v, Action::Yes);
    assert!(
        matches!(&sent[..], [Request::CommandOn { run_id, command: Command::Cancel { operator, .. } }]
            if run_id == B && operator == "alice"),
        "{sent:?}"
    );
    let said = ui.toast.clone().expect("a toast").text;
    assert!(said.contains(&format!("cancel run {b}")), "{said}");
}

/// The on-screen run highlighted: the dialog names it and the cancel goes to it.
#[test]
fn c_in_the_runs_tab_on_the_run_on_screen_cancels_it() {
    let (v, mut ui) = two_live_runs();
    highlight(&mut ui, &v, B);
    highlight(&mut ui, &v, &v.run_id);
    update(&mut ui, &v, Action::CancelRun);
    assert_eq!(confirm(&ui).runs, vec![v.run_id.clone()]);
    let text = dialog_text(&mut ui, &v, "Cancel the run?");
    let (a, b) = (short(&ui, &v.run_id), short(&ui, B));
    assert!(
        text.contains(&format!("Cancel run {a} (release, running")),
        "{text}"
    );
    assert!(!text.contains(&b), "{text}");
    let sent = update(&mut ui, &v, Action::Yes);
    assert!(
        matches!(&sent[..], [Request::Command(Command::Cancel { .. })]),
        "{sent:?}"
    );
}

/// A finished row highlighted: `c` says that run has nothing to cancel, naming it,
/// opens nothing and is not offered; an empty list says there is no run.
#[test]
fn c_on_a_finished_or_missing_row_says_so() {
    let (v, mut ui) = two_live_runs();
    let done = ui
        .runs
        .iter()
        .find(|r| r.state == RunState::Succeeded)
        .expect("a finished run")
        .id
        .clone();
    highlight(&mut ui, &v, &done);
    assert!(!offered(&ui, &v, Context::Global, &Action::CancelRun));
    assert!(update(&mut ui, &v, Action::CancelRun).is_empty());
    assert!(ui.dialog.is_none());
    let said = ui.toast.clone().expect("a toast").text;
    let named = format!("run {} (docs-site) is succeeded", short(&ui, &done));
    assert!(said.contains(&named), "{said}");
    // No row at all.
    ui.runs_filter = "no-such-run".into();
    assert!(update(&mut ui, &v, Action::CancelRun).is_empty());
    assert!(ui.dialog.is_none());
    let said = ui.toast.clone().expect("a toast").text;
    assert!(said.contains("no run selected"), "{said}");
}

/// Enter, `d`, `f`, `P`, `R` and `D` with run B highlighted: each acts on B, and each
/// dialog names B, not the run on screen.
#[test]
fn every_run_key_of_the_runs_tab_acts_on_the_highlighted_row() {
    let (v, mut ui) = two_live_runs();
    let (a, b) = (short(&ui, &v.run_id), short(&ui, B));
    highlight(&mut ui, &v, B);
    // d: delete, asked first, naming B.
    update(&mut ui, &v, Action::Delete);
    assert_eq!(confirm(&ui).runs, vec![B.to_string()]);
    let text = dialog_text(&mut ui, &v, "Delete the run?");
    assert!(
        text.contains(&format!("Run {b} (release, running")),
        "{text}"
    );
    assert!(!text.contains(&a), "{text}");
    assert_eq!(
        update(&mut ui, &v, Action::Yes),
        vec![Request::DeleteRun(B.into())]
    );
    // f: B's failed steps asked for, then confirmed naming B.
    let asked = update(&mut ui, &v, Action::RetryFailed);
    assert_eq!(asked, vec![Request::RetryFailedPlan { run_id: B.into() }]);
    let preview = baton_link::RetryPreview {
        run: B.into(),
        steps: vec!["package".into()],
        left: Vec::new(),
    };
    update(
        &mut ui,
        &v,
        Action::RetryFailedPlanned {
            run_id: B.into(),
            result: Ok(preview),
        },
    );
    let text = dialog_text(&mut ui, &v, "Retry the failed steps?");
    assert!(
        text.contains(&format!("Run {b} (release, running")),
        "{text}"
    );
    assert!(!text.contains(&a), "{text}");
    update(&mut ui, &v, Action::No);
    // P: B held, the dialog naming B and its workflow, the hold sent to B.
    update(&mut ui, &v, Action::Hold);
    match &ui.dialog {
        Some(Dialog::Hold(d)) => {
            assert_eq!(d.run.as_deref(), Some(B));
            assert_eq!(d.target, format!("run {b} (release)"));
            assert!(!d.effect.contains(&a), "{}", d.effect);
        }
        other => panic!("no hold dialog: {other:?}"),
    }
    typed(&mut ui, &v, "freeze for the audit");
    update(&mut ui, &v, Action::Confirm);
    let sent = update(&mut ui, &v, Action::Confirm);
    assert!(
        matches!(&sent[..], [Request::CommandOn { run_id, command: Command::Hold { .. } }] if run_id == B),
        "{sent:?}"
    );
    // D: B marked for the diff.
    update(&mut ui, &v, Action::Diff);
    assert_eq!(ui.diff_mark.as_deref(), Some(B));
    // Enter: B opened.
    assert_eq!(
        update(&mut ui, &v, Action::Enter),
        vec![Request::OpenRun(B.into())]
    );
}

/// `R` resumes the highlighted interrupted run, naming it, with another interrupted
/// run listed.
#[test]
fn r_in_the_runs_tab_resumes_the_highlighted_interrupted_run() {
    let (v, mut ui) = two_live_runs();
    let first = ui
        .runs
        .iter()
        .find(|r| r.state == RunState::Interrupted)
        .expect("an interrupted run")
        .clone();
    let mut other = (*first).clone();
    other.id = "01JXQZ0ZZZZZZZZZZZZZZZZZZZ".into();
    other.workflow = "nightly-etl-eu".into();
    let mut runs: Vec<RunSummary> = ui.runs.iter().map(|r| (**r).clone()).collect();
    runs.push(other.clone());
    ui.set_runs(Arc::new(runs.into_iter().map(Arc::new).collect()));
    highlight(&mut ui, &v, &other.id);
    assert_eq!(
        update(&mut ui, &v, Action::Resume),
        vec![Request::Resume(other.id.clone())]
    );
    let said = ui.toast.clone().expect("a toast").text;
    let named = format!("run {} (nightly-etl-eu)", short(&ui, &other.id));
    assert!(said.contains(&named), "{said}");
    assert_eq!(summary(&ui, &first.id).workflow, "nightly-etl");
}

/// The Schedules tab lists schedules: `c` says it cancels no schedule, and how to
/// cancel a run.
#[test]
fn c_on_the_schedules_tab_says_it_acts_on_no_row_there() {
    let v = fixtures::release();
    let mut ui = UiState::new("alice");
    update(&mut ui, &v, Action::GoTab(Tab::Schedules));
    assert!(update(&mut ui, &v, Action::CancelRun).is_empty());
    assert!(ui.dialog.is_none());
    let said = ui.toast.clone().expect("a toast").text;
    assert!(said.contains("c cancels a run on the Runs tab"), "{said}");
}

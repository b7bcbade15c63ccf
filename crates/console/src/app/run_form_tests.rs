//! The run form (issue 58 point 6) and the Runs tab's diff (point 8), pure: what each
//! key does to the UI state and what it asks of the session.
use super::*;
use crate::fixtures;
use baton_model::{Refusal, RunView};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::path::PathBuf;
use std::sync::Arc;

const FILE: &str = "/srv/baton/workflows/release.toml";

fn typed(ui: &mut UiState, v: &RunView, s: &str) {
    for c in s.chars() {
        update(
            ui,
            v,
            Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
        );
    }
}

/// The console with the session's answer to `n` on release.toml: its form open.
fn form_open() -> (RunView, UiState) {
    let v = fixtures::release();
    let mut ui = UiState::new("carol");
    let answer = Action::RunFormRead {
        file: FILE.into(),
        result: Ok(fixtures::run_form()),
    };
    assert!(update(&mut ui, &v, answer).is_empty());
    (v, ui)
}

fn form(ui: &UiState) -> &RunFormDialog {
    match &ui.dialog {
        Some(Dialog::RunForm(d)) => d,
        other => panic!("no run form: {other:?}"),
    }
}

#[test]
fn the_form_holds_each_param_with_its_default_filled_in() {
    let (_, ui) = form_open();
    let d = form(&ui);
    assert_eq!(d.workflow, "release");
    let values: Vec<(&str, &str)> = d
        .fields
        .iter()
        .map(|f| (f.input.name.as_str(), f.value.as_str()))
        .collect();
    assert_eq!(
        values,
        [
            ("version", ""),
            ("target", "staging"),
            ("dry_run", "false"),
            ("token", ""),
            ("labels", ""),
        ]
    );
    assert!(d.fields[3].secret && !d.fields[0].secret);
    assert_eq!(ui.context(), crate::keymap::Context::RunForm);
}

/// A value that does not match its pattern is said under its field as it is typed, in
/// the words `baton run --param` prints; fixed, the error goes.
#[test]
fn a_value_against_the_pattern_is_refused_under_its_field_as_typed() {
    let (v, mut ui) = form_open();
    typed(&mut ui, &v, "v1.4");
    let e = form(&ui).fields[0].error.clone().unwrap_or_default();
    assert!(
        e.starts_with(
            r#"parameter `version` is "v1.4", which does not match the pattern ^\d+\.\d+\.\d+$"#
        ),
        "{e}"
    );
    for _ in 0..4 {
        update(
            &mut ui,
            &v,
            Action::Key(KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE)),
        );
    }
    typed(&mut ui, &v, "1.4.2");
    assert_eq!(form(&ui).fields[0].error, None);
}

/// Enter checks every field as the CLI would (a required one left empty too) and sends
/// nothing while one is wrong; then exactly the params the form gives.
#[test]
fn enter_sends_only_a_form_the_cli_would_take() {
    let (v, mut ui) = form_open();
    update(&mut ui, &v, Action::Down); // target
    assert!(update(&mut ui, &v, Action::Confirm).is_empty());
    let d = form(&ui);
    assert_eq!(d.focus, 0, "back on the field to fix");
    let e = d.fields[0].error.as_deref().unwrap_or_default();
    assert!(e.contains("parameter `version` is required"), "{e}");
    assert!(
        d.error
            .as_deref()
            .unwrap_or_default()
            .starts_with("1 field to fix")
    );
    typed(&mut ui, &v, "1.4.2");
    update(&mut ui, &v, Action::Down);
    update(
        &mut ui,
        &v,
        Action::Key(KeyEvent::new(KeyCode::Right, KeyModifiers::NONE)),
    );
    let sent = update(&mut ui, &v, Action::Confirm);
    let pairs = |l: &[(&str, &str)]| -> Vec<(String, String)> {
        l.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    assert_eq!(
        sent,
        vec![Request::StartRun {
            file: PathBuf::from(FILE),
            workflow: "release".into(),
            // The secret left empty is not given: the CLI would pass nothing either.
            params: pairs(&[
                ("version", "1.4.2"),
                ("target", "production"),
                ("dry_run", "false")
            ]),
        }]
    );
    assert!(ui.dialog.is_none());
    assert_eq!(ui.pending, 1);
    assert_eq!(
        ui.action_log.last().map(|l| l.what.as_str()),
        Some(&*format!("start a run of release ({FILE})"))
    );
}

/// The new run opens on its DAG; a refusal brings the form back as it was, the
/// session's words under it.
#[test]
fn a_started_run_opens_and_a_refusal_brings_the_form_back() {
    let (v, mut ui) = form_open();
    typed(&mut ui, &v, "1.4.2");
    update(&mut ui, &v, Action::Confirm);
    let refused = Action::Started {
        workflow: "release".into(),
        result: Err(Refusal::CannotApply {
            why: "declared in `secrets` but not set".into(),
        }),
    };
    update(&mut ui, &v, refused);
    let d = form(&ui);
    assert_eq!(d.fields[0].value, "1.4.2");
    assert_eq!(
        d.error.as_deref(),
        Some("declared in `secrets` but not set")
    );
    update(&mut ui, &v, Action::Confirm);
    ui.tab = Tab::Schedules;
    let ok = Action::Started {
        workflow: "release".into(),
        result: Ok(baton_link::Started {
            message: "started run 01JXRNEW of release".into(),
            skipped: false,
            run_id: "01JXRNEW".into(),
        }),
    };
    update(&mut ui, &v, ok);
    assert_eq!(ui.tab, Tab::Dag);
    // The service shows the run it made: opening until its view is here.
    assert_eq!(ui.opening_other(&v), Some("01JXRNEW"));
    assert!(ui.dialog.is_none() && ui.follow);
    assert_eq!(ui.pending, 0);
    let t = ui
        .toast
        .as_ref()
        .map(|t| t.text.as_str())
        .unwrap_or_default();
    assert!(t.starts_with("✔ started run"), "{t}");
}

/// A file that does not load shows its load error, held until Esc: no form, no crash.
#[test]
fn a_file_that_does_not_load_shows_its_error() {
    let v = fixtures::release();
    let mut ui = UiState::new("carol");
    let answer = Action::RunFormRead {
        file: "nope.toml".into(),
        result: Err(Refusal::CannotApply {
            why: "nope.toml:3:1: error: unknown field `stpe`".into(),
        }),
    };
    update(&mut ui, &v, answer);
    let Some(Dialog::Refused(text)) = &ui.dialog else {
        panic!("{:?}", ui.dialog)
    };
    assert!(
        text.contains("nope.toml does not load") && text.contains("unknown field `stpe`"),
        "{text}"
    );
}

/// `n` on a schedule and `:run FILE` ask the session for the form of that file; a
/// read-only console does neither.
#[test]
fn n_on_a_schedule_and_run_file_ask_for_the_form() {
    let v = fixtures::release();
    let mut ui = UiState::new("carol");
    ui.schedules = Arc::new(fixtures::schedules());
    update(&mut ui, &v, Action::GoTab(Tab::Schedules));
    assert_eq!(
        update(&mut ui, &v, Action::NewRun),
        vec![Request::RunForm {
            file: "/srv/baton/workflows/nightly-etl.toml".into(),
            schedule: Some(1)
        }]
    );
    update(&mut ui, &v, Action::Jump);
    typed(&mut ui, &v, "run ./deploy.toml");
    assert_eq!(
        update(&mut ui, &v, Action::Confirm),
        vec![Request::RunForm {
            file: "./deploy.toml".into(),
            schedule: None
        }]
    );
    ui.readonly = true;
    assert!(update(&mut ui, &v, Action::NewRun).is_empty());
    update(&mut ui, &v, Action::Jump);
    typed(&mut ui, &v, "run ./deploy.toml");
    assert!(update(&mut ui, &v, Action::Confirm).is_empty());
}

/// On the Runs tab: the runs, the first (the run on screen) selected.
fn on_runs() -> (RunView, UiState) {
    let v = fixtures::release();
    let mut ui = UiState::new("carol");
    ui.set_runs(fixtures::shared_runs());
    update(&mut ui, &v, Action::GoTab(Tab::Runs));
    (v, ui)
}

/// `D` marks the selected run, `D` on it again unmarks it, `D` on another asks the
/// session what changed from the marked one to it.
#[test]
fn d_marks_a_run_and_on_another_asks_for_their_diff() {
    let (v, mut ui) = on_runs();
    let first = ui.runs[0].id.clone();
    assert!(update(&mut ui, &v, Action::Diff).is_empty());
    assert_eq!(ui.diff_mark.as_deref(), Some(first.as_str()));
    update(&mut ui, &v, Action::Diff);
    assert_eq!(ui.diff_mark, None, "D on the marked run unmarks it");
    update(&mut ui, &v, Action::Diff);
    update(&mut ui, &v, Action::Down);
    update(&mut ui, &v, Action::Down);
    let other = ui
        .selected_run(ui.store_clock(&v))
        .map(|r| r.id.clone())
        .unwrap_or_default();
    assert_eq!(
        update(&mut ui, &v, Action::Diff),
        vec![Request::DiffRuns { a: first, b: other }]
    );
    assert_eq!(ui.diff_mark, None);
}

/// The answer opens the overlay, scrolled by line from the first to the last; two
/// runs that recorded the same text and params say so instead.
#[test]
fn the_diff_opens_an_overlay_scrolled_by_line() {
    let (v, mut ui) = on_runs();
    let d = fixtures::runs_diff();
    let (a, b) = (d.a.clone(), d.b.clone());
    let n = d.lines.len();
    update(
        &mut ui,
        &v,
        Action::Diffed {
            a: a.clone(),
            b: b.clone(),
            result: Ok(d),
        },
    );
    assert_eq!(ui.overlay, Some(Overlay::RunDiff));
    update(&mut ui, &v, Action::PageDown);
    assert_eq!(ui.overlay_scroll, 15);
    update(&mut ui, &v, Action::PageDown);
    assert_eq!(ui.overlay_scroll, n - 1, "no further than the last line");
    update(&mut ui, &v, Action::Top);
    assert_eq!(ui.overlay_scroll, 0);
    update(&mut ui, &v, Action::Back);
    assert_eq!(ui.overlay, None);
    let same = baton_link::RunsDiff {
        a: a.clone(),
        b: b.clone(),
        lines: Vec::new(),
    };
    update(
        &mut ui,
        &v,
        Action::Diffed {
            a,
            b,
            result: Ok(same),
        },
    );
    assert_eq!(ui.overlay, None);
    let t = ui
        .toast
        .as_ref()
        .map(|t| t.text.as_str())
        .unwrap_or_default();
    assert!(
        t.contains("recorded the same workflow text and params"),
        "{t}"
    );
}

/// The keys: `n` on the Schedules tab, `D` on the Runs tab; in the form Tab and Enter
/// move and start, any other key is typed; the help has the form's section.
#[test]
fn the_new_keys_resolve_and_the_help_lists_them() {
    use crate::keymap::{Context, Keymap};
    let map = Keymap::defaults();
    let key = |c| KeyEvent::new(c, KeyModifiers::NONE);
    let of = |ctx, c| map.action_for(ctx, &key(c));
    assert_eq!(
        of(Context::Tab(Tab::Schedules), KeyCode::Char('n')),
        Some(Action::NewRun)
    );
    assert_eq!(
        of(Context::Tab(Tab::Runs), KeyCode::Char('D')),
        Some(Action::Diff)
    );
    assert_eq!(of(Context::RunForm, KeyCode::Tab), Some(Action::Down));
    assert_eq!(of(Context::RunForm, KeyCode::Enter), Some(Action::Confirm));
    assert_eq!(
        of(Context::RunForm, KeyCode::Char('q')),
        Some(Action::Key(key(KeyCode::Char('q')))),
        "q is typed into the field, not a quit"
    );
    let help = map.help_sections(|_, _| true);
    assert!(
        help.iter()
            .any(|(t, rows)| *t == "New run form" && rows.len() == 4)
    );
}

/// The last field holds the run's labels (`KEY=VALUE` words): a bad one is said under
/// it as typed and keeps the form; good ones ride in the params under `+KEY`, which no
/// param's name can have, for the session to take apart (`labels::split_params`).
#[test]
fn the_labels_field_is_checked_as_typed_and_sent_with_the_params() {
    let (v, mut ui) = form_open();
    typed(&mut ui, &v, "1.4.2");
    let last = form(&ui).labels;
    assert_eq!(form(&ui).fields[last].input.name, "labels");
    for _ in 0..last {
        update(&mut ui, &v, Action::Down);
    }
    typed(&mut ui, &v, "team=infra bad");
    let e = form(&ui).fields[last].error.clone().unwrap_or_default();
    assert!(e.contains("label `bad`: expected KEY=VALUE"), "{e}");
    assert!(update(&mut ui, &v, Action::Confirm).is_empty(), "kept");
    for _ in 0.."bad".len() {
        update(
            &mut ui,
            &v,
            Action::Key(KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE)),
        );
    }
    typed(&mut ui, &v, "ticket=OPS-137");
    assert_eq!(form(&ui).fields[last].error, None);
    let sent = update(&mut ui, &v, Action::Confirm);
    let Some(Request::StartRun { params, .. }) = sent.first() else {
        panic!("{sent:?}");
    };
    let (params, labels) = baton_model::labels::split_params(params.clone());
    assert_eq!(
        baton_model::labels::text(&labels),
        "team=infra ticket=OPS-137"
    );
    assert!(params.iter().all(|(k, _)| k != "labels"), "{params:?}");
}

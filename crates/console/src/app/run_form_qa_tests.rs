//! The run form and the Runs tab's diff after QA (issue 58's review): an optional enum
//! left unset, a form rebuilt when its file changed, a schedule's values said as the
//! schedule's, the diff's mark of a deleted run, a skipped run in the action log, the
//! form's own words and its scroll markers, `:run` without a file.
use super::*;
use crate::console_config::ConsoleConfig;
use crate::fixtures;
use crate::theme::Theme;
use baton_link::{FormParam, RunForm};
use baton_model::{InputView, Refusal, RunView};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::path::PathBuf;

const FILE: &str = "/srv/baton/workflows/release.toml";

fn key(ui: &mut UiState, v: &RunView, code: KeyCode) -> Vec<Request> {
    update(ui, v, Action::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn typed(ui: &mut UiState, v: &RunView, s: &str) {
    for c in s.chars() {
        key(ui, v, KeyCode::Char(c));
    }
}

fn param(name: &str, ty: &str, values: &[&str], default: Option<&str>) -> FormParam {
    FormParam {
        input: fixtures::form_param(name, ty, values, default),
        secret: false,
        scheduled: None,
    }
}

fn open(params: Vec<FormParam>, schedule: Option<u32>) -> (RunView, UiState) {
    let v = fixtures::release();
    let mut ui = UiState::new("carol");
    let form = RunForm {
        file: FILE.into(),
        workflow: "release".into(),
        schedule,
        params,
        labels: Default::default(),
    };
    let answer = Action::RunFormRead {
        file: FILE.into(),
        result: Ok(form),
    };
    update(&mut ui, &v, answer);
    (v, ui)
}

fn form(ui: &UiState) -> &RunFormDialog {
    match &ui.dialog {
        Some(Dialog::RunForm(d)) => d,
        other => panic!("no run form: {other:?}"),
    }
}

/// The screen drawn at `w`×`h`, as text (the other tests' too).
pub(super) fn screen(ui: &mut UiState, v: &RunView, w: u16, h: u16) -> String {
    let config = ConsoleConfig::with_theme(Theme::monochrome());
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("a test terminal");
    t.draw(|f| ui.hits = crate::views::render(f, v, ui, &config))
        .expect("drawn");
    let b = t.backend().buffer();
    (0..h)
        .map(|y| (0..w).map(|x| b[(x, y)].symbol()).collect::<String>() + "\n")
        .collect()
}

fn sent_params(r: &[Request]) -> Vec<(String, String)> {
    match r {
        [Request::StartRun { params, .. }] => params.clone(),
        other => panic!("not a start: {other:?}"),
    }
}

/// Point 1: an optional enum without a default starts unset (`‹ (none) ›`), first of
/// its choices, and unset sends no value, as `baton run` without `--param` (`x=""`).
#[test]
fn an_optional_enum_without_default_can_be_left_unset() {
    let (v, mut ui) = open(vec![param("x", "enum", &["a", "b"], None)], None);
    assert_eq!(form(&ui).fields[0].value, "");
    assert!(screen(&mut ui, &v, 100, 30).contains("‹ (none) ›"));
    key(&mut ui, &v, KeyCode::Right);
    assert_eq!(form(&ui).fields[0].value, "a");
    key(&mut ui, &v, KeyCode::Left);
    key(&mut ui, &v, KeyCode::Left);
    assert_eq!(form(&ui).fields[0].value, "b", "(none) → b, round");
    key(&mut ui, &v, KeyCode::Right);
    assert_eq!(form(&ui).fields[0].value, "", "b → (none)");
    assert!(sent_params(&update(&mut ui, &v, Action::Confirm)).is_empty());
    // An enum with a default, or a required one, has no unset choice.
    let (_, ui) = open(vec![param("t", "enum", &["s", "p"], Some("s"))], None);
    assert_eq!(form(&ui).fields[0].value, "s");
    assert!(!form(&ui).fields[0].may_be_unset());
}

/// Point 2: refused, the form asks for its file again; read with other params (a
/// required one added), it is rebuilt: the values typed kept, the new field there to
/// type in, the reason under it. Read with the same params, it stays as it was.
#[test]
fn a_refusal_after_the_file_changed_rebuilds_the_form() {
    let version = || FormParam {
        input: InputView {
            required: true,
            ..param("version", "string", &[], None).input
        },
        ..param("version", "string", &[], None)
    };
    let (v, mut ui) = open(vec![version()], Some(2));
    typed(&mut ui, &v, "1.4.2");
    update(&mut ui, &v, Action::Confirm);
    let refused = Action::Started {
        workflow: "release".into(),
        result: Err(Refusal::CannotApply {
            why: "parameter `must` is required: pass --param must=…".into(),
        }),
    };
    assert_eq!(
        update(&mut ui, &v, refused),
        vec![Request::RunForm {
            file: FILE.into(),
            schedule: Some(2)
        }]
    );
    let mut must = param("must", "string", &[], None);
    must.input.required = true;
    let again = RunForm {
        file: FILE.into(),
        workflow: "release".into(),
        schedule: Some(2),
        params: vec![version(), must],
        labels: Default::default(),
    };
    update(
        &mut ui,
        &v,
        Action::RunFormRead {
            file: FILE.into(),
            result: Ok(again.clone()),
        },
    );
    let d = form(&ui);
    let names: Vec<(&str, &str)> = d
        .fields
        .iter()
        .map(|f| (f.input.name.as_str(), f.value.as_str()))
        .collect();
    assert_eq!(names, [("version", "1.4.2"), ("must", ""), ("labels", "")]);
    assert_eq!(d.focus, 1, "on the field to type");
    let e = d.error.as_deref().unwrap_or_default();
    assert!(
        e.contains("changed since the form opened") && e.contains("`must` is required"),
        "{e}"
    );
    // Point 7: the form's own words, not the CLI's.
    let fe = d.fields[1].error.as_deref().unwrap_or_default();
    assert_eq!(
        fe,
        "parameter `must` is required: type a value (of type string)"
    );
    typed(&mut ui, &v, "yes");
    let sent = sent_params(&update(&mut ui, &v, Action::Confirm));
    assert_eq!(sent.len(), 2, "{sent:?}");
    // The same params read again: the form and its error as they were.
    let (v, mut ui) = open(again.params.clone(), None);
    typed(&mut ui, &v, "9.9.9");
    update(&mut ui, &v, Action::Down);
    typed(&mut ui, &v, "y");
    update(&mut ui, &v, Action::Confirm);
    let refused = Action::Started {
        workflow: "release".into(),
        result: Err(Refusal::CannotApply { why: "no".into() }),
    };
    update(&mut ui, &v, refused);
    let before = form(&ui).clone();
    update(
        &mut ui,
        &v,
        Action::RunFormRead {
            file: FILE.into(),
            result: Ok(again),
        },
    );
    assert_eq!(form(&ui).fields, before.fields);
    assert_eq!(form(&ui).error.as_deref(), Some("no"));
}

/// Point 4: a schedule's values are said as the schedule's, the workflow's default
/// apart; a required param without a default says no default.
#[test]
fn a_schedules_values_are_labelled_as_the_schedules() {
    let mut target = param("target", "enum", &["staging", "prod"], Some("staging"));
    target.scheduled = Some("prod".into());
    let mut version = param("version", "string", &[], None);
    version.input.required = true;
    version.scheduled = Some("1.0.0".into());
    let (v, mut ui) = open(vec![target, version], Some(1));
    assert_eq!(form(&ui).fields[0].value, "prod");
    assert_eq!(form(&ui).fields[1].value, "1.0.0");
    let s = screen(&mut ui, &v, 120, 30);
    assert!(
        s.contains(r#"schedule's value "prod" · default "staging""#),
        "{s}"
    );
    assert!(s.contains(r#"schedule's value "1.0.0""#), "{s}");
    assert!(!s.contains(r#"default "1.0.0""#), "{s}");
    // Emptied, the required field is refused by the form, not sent for the session
    // to refuse: the schedule's value is no default.
    update(&mut ui, &v, Action::Down);
    for _ in 0..5 {
        key(&mut ui, &v, KeyCode::Backspace);
    }
    assert!(update(&mut ui, &v, Action::Confirm).is_empty());
}

/// Point 7: no field, no `Tab next field`; fields hidden above or below are marked.
#[test]
fn the_footer_and_the_scroll_markers_say_what_is_there() {
    let (v, mut ui) = open(Vec::new(), None);
    let s = screen(&mut ui, &v, 100, 30);
    assert!(
        s.contains("Enter start") && !s.contains("next field"),
        "{s}"
    );
    let many = (0..12)
        .map(|i| param(&format!("p{i}"), "string", &[], Some("x")))
        .collect();
    let (v, mut ui) = open(many, None);
    let s = screen(&mut ui, &v, 100, 24);
    assert!(s.contains("↓ more") && !s.contains("↑ more"), "{s}");
    for _ in 0..9 {
        update(&mut ui, &v, Action::Down);
    }
    let s = screen(&mut ui, &v, 100, 24);
    assert!(s.contains("↓ more") && s.contains("↑ more"), "{s}");
    // The last field is the run's labels, after the params.
    for _ in 0..3 {
        update(&mut ui, &v, Action::Down);
    }
    let s = screen(&mut ui, &v, 100, 24);
    assert!(
        s.contains("↑ more") && !s.contains("↓ more") && s.contains("labels"),
        "{s}"
    );
}

/// Point 5: deleting the marked run, or its going from the list, clears the mark.
#[test]
fn a_deleted_runs_mark_goes_with_it() {
    let v = fixtures::release();
    let mut ui = UiState::new("carol");
    ui.set_runs(fixtures::shared_runs());
    update(&mut ui, &v, Action::GoTab(Tab::Runs));
    update(&mut ui, &v, Action::Diff);
    let marked = ui.diff_mark.clone().expect("marked");
    let deleted = Action::Deleted {
        run_id: marked.clone(),
        result: Ok("its records and logs are gone".into()),
    };
    update(&mut ui, &v, deleted);
    assert_eq!(ui.diff_mark, None);
    // Marked again, then gone from the list the session publishes.
    update(&mut ui, &v, Action::Diff);
    assert_eq!(ui.diff_mark.as_deref(), Some(marked.as_str()));
    let rest: Vec<_> = ui.runs.iter().filter(|r| r.id != marked).cloned().collect();
    ui.set_runs(std::sync::Arc::new(rest));
    assert_eq!(ui.diff_mark, None);
}

/// Point 6: a run its concurrency group skipped reads as skipped in the action log.
#[test]
fn a_skipped_start_is_logged_as_skipped() {
    let (v, mut ui) = open(Vec::new(), None);
    update(&mut ui, &v, Action::Confirm);
    let skipped = Action::Started {
        workflow: "release".into(),
        result: Ok(baton_link::Started {
            message: "started run 01J of release; run 01J is skipped".into(),
            skipped: true,
            run_id: "01J".into(),
        }),
    };
    update(&mut ui, &v, skipped);
    assert!(matches!(
        ui.action_log.last().and_then(|l| l.result.clone()),
        Some(super::action_log::Answer::Skipped(m)) if m.contains("skipped")
    ));
    ui.overlay = Some(Overlay::ActionLog);
    let s = screen(&mut ui, &v, 120, 30);
    assert!(
        s.contains("⤼ start a run of release") && !s.contains("✔ start a run"),
        "{s}"
    );
}

/// Point 7: `:run` alone asks for a file; `~` is the home directory.
#[test]
fn run_without_a_file_says_so_and_a_tilde_is_home() {
    let (v, mut ui) = open(Vec::new(), None);
    ui.dialog = None;
    update(&mut ui, &v, Action::Jump);
    typed(&mut ui, &v, "run");
    assert!(update(&mut ui, &v, Action::Confirm).is_empty());
    let said = format!("{:?} {:?}", ui.jump, ui.toast);
    assert!(said.contains("`:run` needs a workflow file"), "{said}");
    let home = Some("/home/carol");
    assert_eq!(
        super::jump::expand_home("~/x.toml", home),
        PathBuf::from("/home/carol/x.toml")
    );
    assert_eq!(
        super::jump::expand_home("~", home),
        PathBuf::from("/home/carol")
    );
    assert_eq!(
        super::jump::expand_home("~bob/x", home),
        PathBuf::from("~bob/x")
    );
    assert_eq!(super::jump::expand_home("./x", None), PathBuf::from("./x"));
}

/// Issue 75 point 7: a workflow's name and file with a right-to-left override
/// (U+202E) reach the terminal without it: the form's title and head show `�`.
#[test]
fn the_form_s_title_and_file_drop_bidi_controls() {
    let v = fixtures::release();
    let mut ui = UiState::new("carol");
    let file = "/srv/baton/workflows/re\u{202E}lmot.toml";
    let form = RunForm {
        file: file.into(),
        workflow: "release\u{202E}exe.txt".into(),
        schedule: None,
        params: Vec::new(),
        labels: Default::default(),
    };
    let answer = Action::RunFormRead {
        file: file.into(),
        result: Ok(form),
    };
    update(&mut ui, &v, answer);
    let s = screen(&mut ui, &v, 100, 30);
    assert!(!s.contains('\u{202E}'), "{s}");
    assert!(s.contains("New run of release\u{FFFD}exe.txt"), "{s}");
    assert!(s.contains("re\u{FFFD}lmot.toml"), "{s}");
}

/// Issue 76 point 7: a secret param's default is dots when it has one, and an empty
/// default reads empty, never `•••` as if a value were there.
#[test]
fn a_secret_param_s_empty_default_reads_empty_and_a_real_one_as_dots() {
    let secret = |name: &str, default: &str| FormParam {
        input: fixtures::form_param(name, "string", &[], Some(default)),
        secret: true,
        scheduled: None,
    };
    let (v, mut ui) = open(vec![secret("token", ""), secret("key", "s3cr3t")], None);
    let s = screen(&mut ui, &v, 120, 40);
    assert!(s.contains(r#"default """#), "{s}");
    assert!(!s.contains("s3cr3t"), "{s}");
    key(&mut ui, &v, KeyCode::Down);
    let s = screen(&mut ui, &v, 120, 40);
    assert!(s.contains(r#"default "•••""#), "{s}");
    assert!(!s.contains("s3cr3t"), "{s}");
}

/// `n` on a schedule (issue 76 point 3): the form's labels field starts from the labels
/// that schedule starts its runs with, and they are sent with the run as any typed.
#[test]
fn a_schedule_s_form_starts_from_its_labels_and_sends_them() {
    let v = fixtures::release();
    let mut ui = UiState::new("carol");
    let form = RunForm {
        file: FILE.into(),
        workflow: "release".into(),
        schedule: Some(1),
        params: vec![param("target", "string", &[], Some("staging"))],
        labels: [("team", "infra"), ("kind", "nightly")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    };
    let answer = Action::RunFormRead {
        file: FILE.into(),
        result: Ok(form),
    };
    update(&mut ui, &v, answer);
    let Some(Dialog::RunForm(d)) = &ui.dialog else {
        panic!("no form: {:?}", ui.dialog.is_some());
    };
    assert_eq!(d.fields[d.labels].value, "kind=nightly team=infra");
    assert_eq!(d.fields[d.labels].error, None);
    let sent = update(&mut ui, &v, Action::Confirm);
    let Some(Request::StartRun { params, .. }) = sent.first() else {
        panic!("{sent:?}");
    };
    let (_, labels) = baton_model::labels::split_params(params.clone());
    assert_eq!(
        baton_model::labels::text(&labels),
        "kind=nightly team=infra"
    );
}

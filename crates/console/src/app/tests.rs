use super::*;
use crate::keymap::Context;
use baton_model::AuditAction::RunResumed;
use baton_model::{Command, CommandOutcome, Refusal, RunState, RunView, StepState, Timestamp};
use crossterm::event::KeyEvent;
use std::sync::Arc;

#[test]
fn a_short_id_is_long_enough_to_tell_listed_runs_apart() {
    let mut runs = fixtures::runs();
    runs.truncate(3);
    runs[0].id = "01M83P57AAAAAAAAAAAAAAAAAA".into();
    runs[1].id = "01M83P57ABBBBBBBBBBBBBBBBB".into();
    runs[2].id = "01M83Q00CCCCCCCCCCCCCCCCCC".into();
    let ids = RunIds::of(&runs);
    assert_eq!(short_id(&runs[0].id, &ids), "01M83P57AA");
    assert_eq!(short_id(&runs[1].id, &ids), "01M83P57AB");
    assert_eq!(short_id(&runs[2].id, &ids), "01M83Q00");
    // Not listed (or nothing listed): as long as its nearest listed id needs.
    assert_eq!(short_id("01M83P57ZZZ", &RunIds::default()), "01M83P57");
    assert_eq!(short_id("01M83P57ZZZ", &ids), "01M83P57Z");
    assert_eq!(short_id("short", &ids), "short");
}
use crate::fixtures;
use crossterm::event::{KeyCode, KeyModifiers};

fn typed(ui: &mut UiState, v: &RunView, s: &str) {
    for c in s.chars() {
        update(
            ui,
            v,
            Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
        );
    }
}

fn runs_ui() -> (RunView, UiState) {
    let v = fixtures::release();
    let mut ui = UiState::new("alice");
    ui.set_runs(fixtures::shared_runs());
    update(&mut ui, &v, Action::GoTab(Tab::Runs));
    (v, ui)
}

fn shown(ui: &UiState, v: &RunView) -> Vec<String> {
    ui.visible_runs(ui.store_clock(v))
        .into_iter()
        .map(|i| ui.runs[i].workflow.clone() + ":" + ui.runs[i].state.as_str())
        .collect()
}

#[test]
fn the_focus_stays_on_a_rejected_gate_instead_of_jumping_to_the_first_step() {
    let mut before = fixtures::release();
    // Only the gate is live: the follow mode focuses it.
    for s in before.steps.iter_mut() {
        if matches!(s.state, StepState::Running | StepState::RetryWait) {
            s.state = StepState::Succeeded;
        }
    }
    let mut ui = UiState::new("carol");
    let gate = before.step_index("deploy-prod").unwrap();
    assert_eq!(ui.focus(&before), Some(gate));
    let mut after = before.clone();
    after.steps[gate].state = StepState::Rejected;
    after.gates.clear();
    ui.keep_focus(&before);
    assert_eq!(ui.focus(&after), Some(gate), "not the first step");
}

#[test]
fn the_runs_tab_filters_by_workflow_state_and_text() {
    let (v, mut ui) = runs_ui();
    update(&mut ui, &v, Action::Filter);
    assert_eq!(ui.context(), Context::FilterInput);
    typed(&mut ui, &v, "wf:release");
    update(&mut ui, &v, Action::Confirm);
    assert_eq!(shown(&ui, &v), ["release:running", "release:failed"]);
    assert!(ui.filter.is_empty(), "the DAG's filter is untouched");
    update(&mut ui, &v, Action::Down);
    assert_eq!(ui.selected_run(v.now).unwrap().state, RunState::Failed);
    update(&mut ui, &v, Action::Back);
    assert_eq!(shown(&ui, &v).len(), 4);
    ui.runs_filter = "state:int".into();
    assert_eq!(shown(&ui, &v), ["nightly-etl:interrupted"]);
    ui.runs_filter = "docs".into();
    assert_eq!(shown(&ui, &v), ["docs-site:succeeded"]);
    ui.runs_filter.clear();
    update(&mut ui, &v, Action::Filter);
    typed(&mut ui, &v, "state:nope");
    update(&mut ui, &v, Action::Confirm);
    assert!(ui.filter_editing);
    assert!(
        ui.toast
            .as_ref()
            .unwrap()
            .text
            .contains("no run state starts with `nope`")
    );
}

#[test]
fn the_runs_tab_sorts_by_start_duration_and_state() {
    let (v, mut ui) = runs_ui();
    assert_eq!(
        shown(&ui, &v),
        [
            "release:running",
            "nightly-etl:interrupted",
            "release:failed",
            "docs-site:succeeded"
        ]
    );
    update(&mut ui, &v, Action::Sort);
    assert_eq!(ui.runs_sort, RunsSort::Duration);
    // The live one 7m; the interrupted run's clock stopped 48 s in (issue 45 point 6),
    // it does not go on for the hour since.
    assert_eq!(
        shown(&ui, &v),
        [
            "release:running",
            "release:failed",
            "docs-site:succeeded",
            "nightly-etl:interrupted"
        ]
    );
    update(&mut ui, &v, Action::Sort);
    assert_eq!(
        shown(&ui, &v),
        [
            "release:running",
            "release:failed",
            "nightly-etl:interrupted",
            "docs-site:succeeded"
        ]
    );
    update(&mut ui, &v, Action::Sort);
    assert_eq!(ui.runs_sort, RunsSort::Started);
}

#[test]
fn deleting_a_run_asks_first_with_no_selected_and_sends_the_id() {
    let (v, mut ui) = runs_ui();
    update(&mut ui, &v, Action::Bottom);
    assert!(update(&mut ui, &v, Action::Delete).is_empty());
    assert_eq!(ui.context(), Context::Confirm);
    // The safe default: Enter on the dialog as it opens deletes nothing.
    assert!(update(&mut ui, &v, Action::Confirm).is_empty());
    assert!(ui.dialog.is_none());
    update(&mut ui, &v, Action::Delete);
    let reqs = update(&mut ui, &v, Action::Yes);
    assert_eq!(
        reqs,
        vec![Request::DeleteRun("01JXQX7Z9Y8X7W6V5U4T3S2R1Q".into())]
    );
    update(
        &mut ui,
        &v,
        Action::Deleted {
            run_id: "01JXQX7Z9Y8X7W6V5U4T3S2R1Q".into(),
            result: Ok("docs-site, succeeded, 12 events; audit row 9".into()),
        },
    );
    assert!(
        ui.toast
            .as_ref()
            .unwrap()
            .text
            .starts_with("✔ deleted run 01JXQX7Z")
    );
    // A run this console drives is not offered for deletion.
    ui.driven = Arc::new(vec![fixtures::runs()[0].id.clone()]);
    update(&mut ui, &v, Action::Top);
    assert!(!offered(&ui, &v, Context::Tab(Tab::Runs), &Action::Delete));
    assert!(update(&mut ui, &v, Action::Delete).is_empty());
    assert!(ui.dialog.is_none());
}

#[test]
fn a_resumed_run_opens_on_its_dag() {
    let (v, mut ui) = runs_ui();
    update(&mut ui, &v, Action::Down);
    assert_eq!(
        update(&mut ui, &v, Action::Resume),
        vec![Request::Resume("01JXQZ0M3D5E7F9G1H2J3K4L5M".into())]
    );
    // Issue 45 point 1: before it happens, the takeover is said, with the run named.
    let before = ui.toast.clone().unwrap().text;
    assert!(
        before.contains("resuming run") && before.contains("this console takes it over"),
        "{before}"
    );
    update(
        &mut ui,
        &v,
        Action::Resumed {
            run_id: "01JXQZ0M3D5E7F9G1H2J3K4L5M".into(),
            result: Ok("this console now drives the nightly run".into()),
        },
    );
    assert_eq!(ui.tab, Tab::Dag);
    let after = ui.toast.clone().unwrap().text;
    assert!(after.contains("this console now drives"), "{after}");
    // Its own resume on record is not someone else's news, and leaves the toast.
    let row = super::notices_tests::news(1, "01JXQZ0M3D5E7F9G1H2J3K4L5M", "alice", RunResumed);
    assert!(ui.note_news(&[row]).is_empty());
    assert_eq!(ui.toast.clone().unwrap().text, after);
    // The action log has it, answered.
    let logged = ui.action_log.last().unwrap();
    assert_eq!(logged.what, "resume");
    assert!(
        matches!(&logged.result, Some(crate::app::action_log::Answer::Done(m)) if m.contains("now drives"))
    );
}

/// Issue 45 point 1: a command on a run no engine drives says, as it is sent, that
/// this console takes the run over, naming it; on a run this console drives, it does not.
#[test]
fn a_command_on_an_undriven_run_says_it_takes_the_run_over() {
    let mut v = fixtures::release();
    v.driven_by = None;
    let mut ui = UiState::new("alice");
    update(&mut ui, &v, Action::CancelRun);
    let r = update(&mut ui, &v, Action::Yes);
    assert!(matches!(&r[..], [Request::Command(_)]), "{r:?}");
    let said = ui.toast.clone().unwrap().text;
    assert!(
        said.contains("no engine drives run") && said.contains(&v.workflow),
        "{said}"
    );
    ui.driven = Arc::new(vec![v.run_id.clone()]);
    update(&mut ui, &v, Action::CancelRun);
    update(&mut ui, &v, Action::Yes);
    let said = ui.toast.clone().unwrap().text;
    assert!(!said.contains("no engine drives"), "{said}");
}

#[test]
fn an_unknown_state_in_the_filter_is_refused_and_typing_goes_on() {
    let v = fixtures::release();
    let mut ui = UiState::new("alice");
    update(&mut ui, &v, Action::Filter);
    typed(&mut ui, &v, "state:bogus");
    update(&mut ui, &v, Action::Confirm);
    assert!(ui.filter_editing, "still typing");
    let t = ui.toast.clone().unwrap();
    assert!(
        !t.ok && t.text.contains("no step state starts with `bogus`"),
        "{t:?}"
    );
    assert!(t.text.contains("failed"), "{t:?}");
    for _ in 0..5 {
        update(
            &mut ui,
            &v,
            Action::Key(KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE)),
        );
    }
    typed(&mut ui, &v, "fail");
    update(&mut ui, &v, Action::Confirm);
    assert!(!ui.filter_editing);
    assert_eq!(ui.filter, "state:fail");
}

#[test]
fn a_success_goes_after_five_seconds_a_refusal_after_thirty() {
    let v = fixtures::release();
    let mut ui = UiState::new("alice");
    let t0 = Timestamp(1_000_000);
    ui.now = Some(t0);
    update(&mut ui, &v, Action::ToggleTime);
    assert!(ui.toast.as_ref().is_some_and(|t| t.ok));
    assert!(!ui.expire_toast(t0.add(std::time::Duration::from_millis(4_999))));
    assert!(ui.expire_toast(t0.add(TOAST_OK_FOR)));
    assert!(ui.toast.is_none());
    update(&mut ui, &v, Action::Filter);
    typed(&mut ui, &v, "state:zzz");
    update(&mut ui, &v, Action::Confirm);
    assert!(ui.toast.as_ref().is_some_and(|t| !t.ok));
    assert!(!ui.expire_toast(t0.add(std::time::Duration::from_secs(29))));
    assert!(ui.expire_toast(t0.add(TOAST_ERROR_FOR)));
}

#[test]
fn approve_flow_sends_the_typed_reason_as_the_operator() {
    let v = fixtures::release();
    let mut ui = UiState::new("carol");
    update(&mut ui, &v, Action::GoTab(Tab::Approvals));
    assert!(update(&mut ui, &v, Action::Approve).is_empty());
    assert_eq!(ui.context(), Context::GateDialog);
    typed(&mut ui, &v, "looks good");
    update(&mut ui, &v, Action::NewLine);
    typed(&mut ui, &v, "ship it");
    let reqs = update(&mut ui, &v, Action::Confirm);
    assert_eq!(
        reqs,
        vec![Request::Command(Command::Approve {
            step: "deploy-prod".into(),
            operator: "carol".into(),
            reason: Some("looks good\nship it".into()),
            signature: None,
            inputs: Default::default(),
        })]
    );
    assert!(ui.dialog.is_none());
    assert_eq!(ui.pending, 1);
    update(
        &mut ui,
        &v,
        Action::Outcome(CommandOutcome::Refused(Refusal::AlreadyApproved {
            actor: "carol".into(),
            asked: false,
        })),
    );
    let t = ui.toast.clone().unwrap();
    assert!(!t.ok && t.text.contains("already approved"));
    assert_eq!(ui.pending, 0);
}

/// Whether a reject needs a reason is the core's to say: the console sends what was
/// typed, and the core's refusal (`reason_required`, its one wording) opens the dialog
/// again as it was, the refusal under the reason box.
#[test]
fn reject_requires_a_reason_and_stays_open() {
    let v = fixtures::release();
    let mut ui = UiState::new("carol");
    ui.tab = Tab::Approvals;
    update(&mut ui, &v, Action::Reject);
    typed(&mut ui, &v, "  ");
    let reqs = update(&mut ui, &v, Action::Confirm);
    assert!(
        matches!(&reqs[..], [Request::Command(Command::Reject { reason, .. })] if reason.is_empty()),
        "{reqs:?}"
    );
    let refusal = Refusal::ReasonRequired {
        to: baton_model::ReasonFor::Reject,
    };
    update(
        &mut ui,
        &v,
        Action::Outcome(CommandOutcome::Refused(refusal.clone())),
    );
    match &ui.dialog {
        Some(Dialog::Gate(d)) => {
            assert_eq!(d.error.as_deref(), Some(refusal.to_string().as_str()));
            assert_eq!(d.error.as_deref(), Some("a reason is required to reject"));
        }
        other => panic!("dialog closed: {other:?}"),
    }
    assert!(
        ui.toast
            .as_ref()
            .is_some_and(|t| !t.ok && t.text.contains(&refusal.to_string()))
    );
    // A refusal on the run's state closes nothing more: the toast says it.
    let mut other = UiState::new("carol");
    other.tab = Tab::Approvals;
    update(&mut other, &v, Action::Reject);
    typed(&mut other, &v, "no");
    update(&mut other, &v, Action::Confirm);
    let decided = Refusal::AlreadyDecided {
        step: "deploy-prod".into(),
        decision: "approved".into(),
    };
    update(
        &mut other,
        &v,
        Action::Outcome(CommandOutcome::Refused(decided)),
    );
    assert!(other.dialog.is_none());
    typed(&mut ui, &v, "CVE open");
    let reqs = update(&mut ui, &v, Action::Confirm);
    assert_eq!(
        reqs,
        vec![Request::Command(Command::Reject {
            step: "deploy-prod".into(),
            operator: "carol".into(),
            reason: "CVE open".into(),
            signature: None,
        })]
    );
}

#[test]
fn esc_cancels_the_gate_dialog_without_a_command() {
    let v = fixtures::release();
    let mut ui = UiState::new("alice");
    ui.tab = Tab::Approvals;
    update(&mut ui, &v, Action::Approve);
    typed(&mut ui, &v, "q1");
    assert!(update(&mut ui, &v, Action::Back).is_empty());
    assert!(ui.dialog.is_none());
}

#[test]
fn confirm_dialogs_default_to_no() {
    let v = fixtures::release();
    let mut ui = UiState::new("alice");

    update(&mut ui, &v, Action::CancelRun);
    assert!(matches!(
        ui.dialog,
        Some(Dialog::Confirm(ConfirmDialog {
            yes: false,
            what: ConfirmWhat::CancelRun,
            ..
        }))
    ));
    let r = update(&mut ui, &v, Action::Yes);
    assert!(
        matches!(&r[..], [Request::Command(Command::Cancel { operator, .. })] if operator == "alice")
    );
}

#[test]
fn errors_tab_retries_the_failed_step_and_refuses_a_succeeded_one() {
    let v = fixtures::release();
    let mut ui = UiState::new("alice");
    ui.tab = Tab::Errors;
    let r = update(&mut ui, &v, Action::Retry);
    assert_eq!(
        r,
        vec![Request::Command(Command::Retry {
            step: "docs".into(),
            operator: "alice".into()
        })]
    );
    update(&mut ui, &v, Action::Down); // unit-tests, which succeeded since
    assert!(update(&mut ui, &v, Action::Retry).is_empty());
    assert!(
        ui.toast
            .as_ref()
            .is_some_and(|t| t.text.contains("succeeded"))
    );
    update(&mut ui, &v, Action::Enter);
    assert_eq!(ui.overlay, Some(Overlay::ErrorDetail(1)));
}

#[test]
fn runs_tab_opens_and_resumes_only_interrupted_runs() {
    let v = fixtures::release();
    let mut ui = UiState::new("alice");
    ui.set_runs(fixtures::shared_runs());
    ui.tab = Tab::Runs;
    assert!(
        update(&mut ui, &v, Action::Resume).is_empty(),
        "running run"
    );
    update(&mut ui, &v, Action::Down);
    let id = ui.runs[1].id.clone();
    assert_eq!(
        update(&mut ui, &v, Action::Resume),
        vec![Request::Resume(id.clone())]
    );
    assert_eq!(
        update(&mut ui, &v, Action::Enter),
        vec![Request::OpenRun(id)]
    );
}

#[test]
fn selection_follows_running_steps_until_moved_and_filter_limits_it() {
    let v = fixtures::release();
    let mut ui = UiState::new("alice");
    assert_eq!(ui.focus(&v), v.step_index("package"));
    update(&mut ui, &v, Action::Left);
    assert!(!ui.follow);
    let moved = ui.focus(&v);
    assert_ne!(moved, v.step_index("package"));
    update(&mut ui, &v, Action::Filter);
    typed(&mut ui, &v, "state:fail");
    update(&mut ui, &v, Action::Confirm);
    assert_eq!(
        visible_steps(&v, &ui.filter),
        vec![v.step_index("docs").unwrap()]
    );
    assert_eq!(ui.focus(&v), v.step_index("docs"));
    update(&mut ui, &v, Action::Back);
    update(&mut ui, &v, Action::Back);
    assert!(ui.follow && ui.filter.is_empty());
}

#[test]
fn following_falls_back_to_a_ready_service_once_nothing_else_is_at_work() {
    let mut v = fixtures::release();
    let mut ui = UiState::new("alice");
    let live = [
        StepState::Running,
        StepState::WaitingApproval,
        StepState::RetryWait,
    ];
    for s in v.steps.iter_mut().filter(|s| live.contains(&s.state)) {
        s.state = StepState::Succeeded;
    }
    let db = v.step_index("docs").unwrap();
    v.steps[db].state = StepState::Ready;
    assert_eq!(ui.focus(&v), Some(db), "the ready service");
    let pkg = v.step_index("package").unwrap();
    v.steps[pkg].state = StepState::Running;
    assert_eq!(ui.focus(&v), Some(pkg), "a running step comes first");
    update(&mut ui, &v, Action::Left);
    assert_ne!(ui.focus(&v), Some(pkg), "moved: no longer following");
}

/// Open a log the way the console does: the shell reads the lines (here the view's
/// tail: the fixture's log files do not exist) for `rows` rows.
fn synced(ui: &mut UiState, v: &RunView, rows: usize) {
    crate::logfile::LogReaders::default().sync(ui, v, rows);
}

#[test]
fn log_scrolls_searches_and_follows() {
    let v = fixtures::release();
    let mut ui = UiState::new("alice");
    update(&mut ui, &v, Action::Log);
    synced(&mut ui, &v, 10);
    let pkg = v.step_index("package").unwrap();
    assert_eq!(ui.log.as_ref().map(|l| (l.step, l.total)), Some((pkg, 30)));
    update(&mut ui, &v, Action::Up);
    assert!(!ui.log.as_ref().unwrap().follow);
    assert_eq!(ui.log.as_ref().unwrap().first_shown(), 19);
    update(&mut ui, &v, Action::Search);
    assert_eq!(ui.context(), Context::SearchInput);
    typed(&mut ui, &v, "part-07");
    update(&mut ui, &v, Action::Confirm);
    synced(&mut ui, &v, 10);
    let l = ui.log.clone().unwrap();
    assert_eq!(l.matched, Some(6));
    assert_eq!(l.first_shown(), 6 - 10 / 3);
    update(&mut ui, &v, Action::Follow);
    assert_eq!(
        ui.log.as_ref().map(|l| (l.follow, l.first_shown())),
        Some((true, 20))
    );
    update(&mut ui, &v, Action::Back);
    assert!(ui.log.is_none());
}

#[test]
fn log_scrolls_from_the_top_and_the_bottom() {
    let v = fixtures::release();
    let mut ui = UiState::new("alice");
    update(&mut ui, &v, Action::Log);
    synced(&mut ui, &v, 10);
    let shown = |ui: &UiState| {
        let l = ui.log.as_ref().unwrap();
        (l.first_shown(), l.follow)
    };
    update(&mut ui, &v, Action::Top);
    assert_eq!(shown(&ui), (0, false));
    update(&mut ui, &v, Action::PageDown);
    assert_eq!(shown(&ui), (9, false));
    update(&mut ui, &v, Action::Down);
    assert_eq!(shown(&ui), (10, false));
    update(&mut ui, &v, Action::PageUp);
    assert_eq!(shown(&ui), (1, false));
    update(&mut ui, &v, Action::Bottom);
    assert_eq!(shown(&ui), (20, true));
    // Paging down to the end follows again.
    update(&mut ui, &v, Action::PageUp);
    update(&mut ui, &v, Action::PageDown);
    assert_eq!(shown(&ui), (20, true));
    // A log shorter than the screen stays whole whatever is pressed.
    synced(&mut ui, &v, 40);
    for a in [Action::Up, Action::PageUp, Action::Top, Action::Down] {
        update(&mut ui, &v, a);
        assert_eq!(shown(&ui).0, 0);
    }
}

#[test]
fn attempts_are_chosen_with_brackets_and_an_error_opens_its_own() {
    let mut v = fixtures::release();
    let pkg = v.step_index("package").unwrap();
    v.steps[pkg].attempts = 3;
    let mut ui = UiState::new("alice");
    update(&mut ui, &v, Action::Log);
    let attempt = |ui: &UiState| ui.log.as_ref().map(|l| (l.attempt, l.attempt_of(3)));
    assert_eq!(attempt(&ui), Some((None, 3)));
    update(&mut ui, &v, Action::NextAttempt);
    assert_eq!(attempt(&ui), Some((None, 3)));
    update(&mut ui, &v, Action::PrevAttempt);
    update(&mut ui, &v, Action::PrevAttempt);
    update(&mut ui, &v, Action::PrevAttempt);
    assert_eq!(attempt(&ui), Some((Some(1), 1)));
    update(&mut ui, &v, Action::NextAttempt);
    update(&mut ui, &v, Action::NextAttempt);
    assert_eq!(attempt(&ui), Some((None, 3)));
    let path = crate::logfile::attempt_path(&v.steps[pkg], 1).unwrap();
    assert!(path.ends_with("package.1.log"), "{path:?}");
    update(&mut ui, &v, Action::Back);

    // The error detail's `l` opens the attempt the error happened in.
    let docs = v.step_index("docs").unwrap();
    v.steps[docs].attempts = 2;
    let e = v
        .errors
        .iter()
        .position(|e| e.step.as_deref() == Some("docs"))
        .unwrap();
    v.errors[e].attempt = 1;
    update(&mut ui, &v, Action::GoTab(Tab::Errors));
    ui.error_sel = e;
    update(&mut ui, &v, Action::Enter);
    assert_eq!(ui.context(), Context::Overlay);
    update(&mut ui, &v, Action::Log);
    assert_eq!(
        ui.log.as_ref().map(|l| (l.step, l.attempt_of(2))),
        Some((docs, 1))
    );
    update(&mut ui, &v, Action::Back);
    update(&mut ui, &v, Action::Log);
    assert_eq!(ui.log.as_ref().map(|l| l.attempt), Some(Some(1)));
}

/// Issue 12 point 6: `y` copies the selected thing in full, whatever the screen
/// shows of it, and a toast says what was copied.
#[test]
fn y_copies_the_selection_of_each_tab() {
    let v = fixtures::release();
    let mut ui = UiState::new("alice");
    ui.set_runs(fixtures::shared_runs());
    let copied = |ui: &mut UiState| match update(ui, &v, Action::Copy).as_slice() {
        [Request::Copy(t)] => t.clone(),
        other => panic!("{other:?}"),
    };
    ui.follow = false;
    ui.selected = v.step_index("docs").unwrap();
    assert_eq!(copied(&mut ui), "docs");
    update(&mut ui, &v, Action::GoTab(Tab::Errors));
    let e = copied(&mut ui);
    assert!(
        e.starts_with("HIGH exit_nonzero docs#1: mdbook build docs exited with code 1")
            && e.contains("\nsuggestion: "),
        "{e}"
    );
    assert!(
        ui.toast
            .as_ref()
            .is_some_and(|t| t.ok && t.text.contains("copied error"))
    );
    update(&mut ui, &v, Action::GoTab(Tab::Audit));
    assert!(copied(&mut ui).contains("alice run_started"));
    update(&mut ui, &v, Action::GoTab(Tab::Runs));
    assert_eq!(copied(&mut ui), fixtures::runs()[0].id);
}

#[test]
fn graph_moves_between_layers() {
    let v = fixtures::release();
    let mut ui = UiState::new("alice");
    ui.follow = false;
    ui.selected = 0; // checkout, layer 0
    update(&mut ui, &v, Action::Right);
    let l = ui.layout(&v);
    assert_eq!(l.place[ui.selected].0, 1);
    update(&mut ui, &v, Action::Left);
    assert_eq!(ui.selected, 0);
}

#[test]
fn approve_on_a_step_without_a_gate_says_so() {
    let v = fixtures::release();
    let mut ui = UiState::new("alice");
    update(&mut ui, &v, Action::Approve); // focus: package (running)
    // Refused before a dialog opens: held until Esc, so a reason typed on is no key.
    assert!(matches!(&ui.dialog, Some(Dialog::Refused(t)) if t.contains("no open gate")));
    assert_eq!(ui.context(), Context::Refused);
    assert!(update(&mut ui, &v, Action::Quit).is_empty());
    update(&mut ui, &v, Action::Back);
    assert!(ui.dialog.is_none());
    assert!(
        ui.toast
            .as_ref()
            .unwrap()
            .text
            .contains("package has no open gate")
    );
}

fn offers(ui: &UiState, v: &RunView, label: &str) -> bool {
    crate::keymap::Keymap::defaults()
        .hints(ui.context(), |c, a| offered(ui, v, c, a))
        .iter()
        .any(|(l, _)| *l == label)
}

#[test]
fn retry_is_neither_offered_nor_sent_for_cancelled_or_skipped_steps() {
    let mut v = fixtures::finished_failed();
    let docs = v.step_index("docs").unwrap();
    assert!(v.steps[docs].actions.retry);
    let skipped = v
        .steps
        .iter()
        .position(|s| s.state == StepState::Skipped)
        .unwrap();
    let cancelled = v.step_index("deploy-prod").unwrap();
    v.steps[cancelled].state = StepState::Cancelled;
    v.steps[cancelled].actions = baton_model::Actions::default();
    let mut ui = UiState::new("alice");
    ui.follow = false;
    ui.selected = docs;
    assert!(offers(&ui, &v, "r"), "a failed step offers retry");
    for i in [skipped, cancelled] {
        ui.selected = i;
        ui.toast = None;
        assert!(!offers(&ui, &v, "r"), "{} offers retry", v.steps[i].state);
        assert!(update(&mut ui, &v, Action::Retry).is_empty(), "retry sent");
        let t = ui.toast.clone().unwrap();
        assert!(!t.ok && t.text.contains("cannot be retried"), "{}", t.text);
        assert_eq!(ui.pending, 0);
    }
}

#[test]
fn gate_keys_follow_the_view_and_cancel_is_not_offered_on_a_finished_run() {
    let v = fixtures::release();
    let mut ui = UiState::new("alice");
    assert!(!offers(&ui, &v, "a"), "the focused step has no gate");
    assert!(offers(&ui, &v, "c"));
    ui.tab = Tab::Approvals;
    assert!(offers(&ui, &v, "a") && offers(&ui, &v, "x"));
    let done = fixtures::finished_failed();
    let mut ui = UiState::new("alice");
    assert!(!offers(&ui, &done, "c"));
    assert!(update(&mut ui, &done, Action::CancelRun).is_empty());
}

fn budget_ui(v: &RunView) -> UiState {
    let mut ui = UiState::new("carol");
    ui.tab = Tab::Approvals;
    ui.gate_sel = v.gates.iter().position(|g| g.step.is_none()).unwrap();
    ui
}

#[test]
fn the_budget_gate_is_raised_in_one_dialog_with_every_exhausted_limit_and_the_reason() {
    let v = fixtures::budget_exhausted();
    let mut ui = budget_ui(&v);
    assert!(offers(&ui, &v, "a"), "approve raises the budget");
    assert!(update(&mut ui, &v, Action::Approve).is_empty());
    assert_eq!(ui.context(), Context::BudgetDialog);
    let Some(Dialog::Budget(d)) = &ui.dialog else {
        panic!("no budget dialog")
    };
    let limits: Vec<_> = d.fields.iter().map(|f| f.limit).collect();
    assert_eq!(limits, ["cost", "calls"], "exhausted limits only");
    typed(&mut ui, &v, "5");
    update(&mut ui, &v, Action::Down);
    typed(&mut ui, &v, "x");
    update(&mut ui, &v, Action::Down);
    typed(&mut ui, &v, "release day");
    assert!(update(&mut ui, &v, Action::Confirm).is_empty());
    match &ui.dialog {
        Some(Dialog::Budget(d)) => {
            assert_eq!(d.error.as_deref(), Some("calls: `x` is not an amount"));
            assert_eq!(d.reason, "release day", "the reason is kept");
        }
        other => panic!("dialog closed: {other:?}"),
    }
    update(&mut ui, &v, Action::Up);
    update(
        &mut ui,
        &v,
        Action::Key(KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE)),
    );
    typed(&mut ui, &v, "200");
    let reqs = update(&mut ui, &v, Action::Confirm);
    assert_eq!(
        reqs,
        vec![Request::Command(Command::RaiseBudget {
            operator: "carol".into(),
            reason: "release day".into(),
            cost: Some(5.0),
            calls: Some(200),
            tokens: None,
        })]
    );
    assert!(ui.dialog.is_none());
}

/// `x` on the budget gate asks a reason and rejects it (`RejectBudget`): the run fails.
#[test]
fn the_budget_gate_is_rejected_with_a_reason() {
    let v = fixtures::budget_exhausted();
    let mut ui = budget_ui(&v);
    assert!(offers(&ui, &v, "x"), "x rejects the budget gate");
    assert!(update(&mut ui, &v, Action::Reject).is_empty());
    assert!(
        matches!(&ui.dialog, Some(Dialog::Gate(d)) if d.budget && d.step_id == "budget"),
        "{:?}",
        ui.dialog
    );
    typed(&mut ui, &v, "not worth more");
    let reqs = update(&mut ui, &v, Action::Confirm);
    assert_eq!(
        reqs,
        vec![Request::Command(Command::RejectBudget {
            operator: "carol".into(),
            reason: "not worth more".into(),
        })]
    );
}

/// An amount and a reason are the core's to require (`nothing_to_raise`,
/// `reason_required`): its refusal opens the dialog again with its words.
#[test]
fn the_budget_dialog_needs_an_amount_and_a_reason() {
    let v = fixtures::budget_exhausted();
    let mut ui = budget_ui(&v);
    update(&mut ui, &v, Action::Approve);
    typed(&mut ui, &v, "2.5");
    let reqs = update(&mut ui, &v, Action::Confirm);
    assert!(
        matches!(&reqs[..], [Request::Command(Command::RaiseBudget { reason, .. })] if reason.is_empty()),
        "{reqs:?}"
    );
    let refusal = Refusal::ReasonRequired {
        to: baton_model::ReasonFor::RaiseBudget,
    };
    update(
        &mut ui,
        &v,
        Action::Outcome(CommandOutcome::Refused(refusal)),
    );
    match &ui.dialog {
        Some(Dialog::Budget(d)) => assert_eq!(
            d.error.as_deref(),
            Some("a reason is required to raise the budget")
        ),
        other => panic!("dialog closed: {other:?}"),
    }
    assert!(update(&mut ui, &v, Action::Back).is_empty());
    assert!(ui.dialog.is_none());
}

/// Issue 28 point 1: `a` in the Waiting tab decides the selected item's gate in its own
/// run, whichever run is on screen; the command names that run.
#[test]
fn the_waiting_tab_approves_a_gate_of_another_run() {
    let v = fixtures::release();
    let mut ui = UiState::new("carol");
    let mut items = fixtures::waiting();
    for w in &mut items {
        w.run_id = "01OTHERRUN".into();
    }
    ui.waiting = Arc::new(items);
    update(&mut ui, &v, Action::GoTab(Tab::Waiting));
    assert_eq!(ui.context(), Context::Tab(Tab::Waiting));
    update(&mut ui, &v, Action::Approve);
    assert!(
        matches!(&ui.dialog, Some(Dialog::Gate(d)) if d.run_id.as_deref() == Some("01OTHERRUN"))
    );
    let out = update(&mut ui, &v, Action::Confirm);
    assert!(
        matches!(&out[..], [Request::CommandOn { run_id, command: Command::Approve { step, .. } }]
            if run_id == "01OTHERRUN" && step == "deploy-prod"),
        "{out:?}"
    );
}

/// Issue 28 point 5: Backspace in a text field takes a whole grapheme cluster: an emoji
/// with its skin tone, a ZWJ family, a letter with its combining accent.
#[test]
fn backspace_takes_a_whole_grapheme_cluster() {
    let bs = KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE);
    let mut s = String::from("ok 👍🏽👨‍👩‍👧e\u{301}");
    super::update::edit_line(&mut s, bs);
    assert_eq!(s, "ok 👍🏽👨‍👩‍👧");
    super::update::edit_line(&mut s, bs);
    assert_eq!(s, "ok 👍🏽");
    super::update::edit_line(&mut s, bs);
    assert_eq!(s, "ok ");
}

/// Issue 28 point 5: in the reason box the cursor moves over a grapheme cluster at once
/// and Backspace takes it whole.
#[test]
fn the_reason_box_moves_and_deletes_by_grapheme_cluster() {
    let key = |c| KeyEvent::new(c, KeyModifiers::NONE);
    let mut t = super::dialogs::new_reason_box(super::dialogs::Decision::Approve);
    t.insert_str("a👍🏽b");
    super::dialogs::reason_key(&mut t, key(KeyCode::Left));
    super::dialogs::reason_key(&mut t, key(KeyCode::Left));
    assert_eq!(t.cursor().1, 1, "before the emoji, not inside it");
    super::dialogs::reason_key(&mut t, key(KeyCode::Right));
    assert_eq!(t.cursor().1, 3);
    super::dialogs::reason_key(&mut t, key(KeyCode::Backspace));
    assert_eq!(t.lines()[0], "ab");
    t.insert_str("e\u{301}");
    super::dialogs::reason_key(&mut t, key(KeyCode::Backspace));
    assert_eq!(t.lines()[0], "ab");
}

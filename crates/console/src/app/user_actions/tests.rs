//! Issue 58 point 7: an `[[action]]` is offered where its scope fits the selection,
//! asks when it says so, is refused when dangerous in a read-only console, and its
//! command is filled from the selection, one argument per value.
use super::super::{Action, Dialog, Request, Tab, UiState, offered, update};
use super::*;
use crate::fixtures;
use crate::keymap::Context;
use std::sync::Arc;

fn actions(text: &str) -> Arc<Vec<UserAction>> {
    let c = baton_link::config::parse(std::path::Path::new("config.toml"), text)
        .unwrap_or_else(|d| panic!("{d}"));
    Arc::new(c.actions)
}

const STEP: &str = "[[action]]\nkey = \"D\"\nscope = \"step\"\ndescription = \"dashboard\"\ncommand = [\"dash\", \"{run}\", \"{step}\", \"{db}\"]\n";
const RUN: &str = "[[action]]\nkey = \"O\"\nscope = \"run\"\ndescription = \"open\"\ncommand = [\"open\", \"{workflow}\", \"{run}\"]\nconfirm = true\noutput = \"log\"\n";
const RUN_STEP: &str = "[[action]]\nkey = \"S\"\nscope = \"run\"\ndescription = \"step notes\"\ncommand = [\"notes\", \"{step}\"]\n";
const DANGER: &str = "[[action]]\nkey = \"K\"\nscope = \"run\"\ndescription = \"kill it\"\ncommand = [\"kill-run\", \"{run}\"]\ndangerous = true\n";
const GATE: &str = "[[action]]\nkey = \"N\"\nscope = \"gate\"\ndescription = \"gate notes\"\ncommand = [\"notes\", \"{step}\"]\n";

fn console(text: &str) -> UiState {
    let mut ui = UiState::new("alice");
    ui.actions = actions(text);
    ui.db = Some("/srv/baton.db".into());
    ui.set_runs(fixtures::shared_runs());
    ui.follow = false;
    ui
}

fn started(r: &[Request]) -> &Prepared {
    match r {
        [Request::RunAction(p)] => p,
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_step_action_runs_on_the_selected_step_with_its_pane() {
    let v = fixtures::release();
    let mut ui = console(STEP);
    ui.tab = Tab::Dag;
    ui.selected = 2;
    let step = v.steps[2].id.clone();
    assert!(offered(&ui, &v, Context::Tab(Tab::Dag), &Action::User(0)));
    let r = update(&mut ui, &v, Action::User(0));
    let p = started(&r);
    assert_eq!(
        p.argv,
        vec![
            "dash".to_string(),
            v.run_id.clone(),
            step.clone(),
            "/srv/baton.db".into()
        ]
    );
    assert_eq!(p.id, 1);
    assert!(p.on.ends_with(&format!("step {step}")), "{}", p.on);
    assert_eq!(ui.overlay, Some(Overlay::ActionOutput(1)));
    assert!(ui.user_runs[0].finished.is_none() && running(&ui));
    // The action log has it, waiting for its end.
    let logged = ui.action_log.last().expect("logged");
    assert_eq!(logged.user_run, Some(1));
    assert!(logged.what.contains("dashboard: `dash "), "{}", logged.what);
    // Its end: the log, the run and the status line.
    let f = Finished {
        id: 1,
        ended: Ended::Exited(0),
        took: Duration::from_millis(1200),
        lines: vec!["ok".into()],
        cut: 0,
    };
    update(&mut ui, &v, Action::UserDone(Box::new(f)));
    assert!(!running(&ui));
    assert!(matches!(
        &ui.action_log.last().and_then(|e| e.result.clone()),
        Some(super::super::action_log::Answer::Done(m)) if m.starts_with("exited 0 after")
    ));
    assert!(
        ui.toast
            .as_ref()
            .is_some_and(|t| t.ok && t.text.contains("dashboard: exited 0"))
    );
}

#[test]
fn a_step_action_is_not_offered_without_a_step_selected() {
    let v = fixtures::release();
    let mut ui = console(STEP);
    ui.tab = Tab::Runs;
    assert!(!offered(&ui, &v, Context::Tab(Tab::Runs), &Action::User(0)));
    assert!(update(&mut ui, &v, Action::User(0)).is_empty());
    assert!(
        ui.toast
            .as_ref()
            .is_some_and(|t| !t.ok && t.text.contains("“dashboard” needs a step selected")),
        "{:?}",
        ui.toast
    );
    // Without a store path `{db}` has no value: not offered even on a step.
    ui.db = None;
    ui.tab = Tab::Dag;
    assert!(!offered(&ui, &v, Context::Tab(Tab::Dag), &Action::User(0)));
}

#[test]
fn a_run_action_on_the_runs_tab_takes_the_selected_run_and_asks_first() {
    let v = fixtures::release();
    let mut ui = console(RUN);
    ui.tab = Tab::Runs;
    ui.run_sel = 1;
    let run = ui.selected_run(ui.store_clock(&v)).cloned().expect("a run");
    assert!(offered(&ui, &v, Context::Global, &Action::User(0)));
    assert!(
        update(&mut ui, &v, Action::User(0)).is_empty(),
        "asks first"
    );
    let Some(Dialog::Confirm(d)) = &ui.dialog else {
        panic!("{:?}", ui.dialog)
    };
    assert!(d.yes, "a plain confirm starts on Yes");
    let r = update(&mut ui, &v, Action::Yes);
    let p = started(&r);
    assert_eq!(
        p.argv,
        vec!["open".to_string(), run.workflow.clone(), run.id.clone()]
    );
    // `output = "log"`: no pane.
    assert_eq!(ui.overlay, None);
    // `l` in the action log opens its output.
    ui.overlay = Some(Overlay::ActionLog);
    assert!(offered(&ui, &v, Context::Overlay, &Action::Log));
    update(&mut ui, &v, Action::Log);
    assert_eq!(ui.overlay, Some(Overlay::ActionOutput(1)));
}

/// A placeholder with no value in the selection: `{step}` on a run selected in the Runs
/// tab is not offered there, and is on the DAG, where a step is selected.
#[test]
fn a_placeholder_the_selection_has_no_value_for_is_not_offered_there() {
    let v = fixtures::release();
    let mut ui = console(RUN_STEP);
    ui.tab = Tab::Runs;
    assert!(!offered(&ui, &v, Context::Global, &Action::User(0)));
    ui.tab = Tab::Dag;
    assert!(offered(&ui, &v, Context::Global, &Action::User(0)));
    ui.tab = Tab::Schedules;
    assert!(!offered(&ui, &v, Context::Global, &Action::User(0)));
}

#[test]
fn a_gate_action_needs_an_open_gate_selected() {
    let v = fixtures::release();
    let mut ui = console(GATE);
    ui.tab = Tab::Approvals;
    assert!(offered(
        &ui,
        &v,
        Context::Tab(Tab::Approvals),
        &Action::User(0)
    ));
    let r = update(&mut ui, &v, Action::User(0));
    assert_eq!(
        started(&r).argv,
        vec!["notes".to_string(), v.gates[0].step_id.clone()]
    );
    // On the DAG, only on the gated step.
    ui.tab = Tab::Dag;
    ui.overlay = None;
    let gated = v.gates[0].step.expect("a step's gate");
    ui.selected = gated;
    assert!(offered(&ui, &v, Context::Tab(Tab::Dag), &Action::User(0)));
    ui.selected = (gated + 1) % v.steps.len();
    assert!(!offered(&ui, &v, Context::Tab(Tab::Dag), &Action::User(0)));
}

#[test]
fn a_dangerous_action_asks_on_no_and_is_refused_in_a_read_only_console() {
    let v = fixtures::release();
    let mut ui = console(DANGER);
    ui.tab = Tab::Dag;
    assert!(update(&mut ui, &v, Action::User(0)).is_empty());
    let Some(Dialog::Confirm(d)) = &ui.dialog else {
        panic!("{:?}", ui.dialog)
    };
    assert!(!d.yes, "a dangerous one starts on No");
    // Enter on No runs nothing.
    assert!(update(&mut ui, &v, Action::Confirm).is_empty());
    assert!(ui.dialog.is_none() && ui.user_runs.is_empty());
    ui.readonly = true;
    assert!(!offered(&ui, &v, Context::Global, &Action::User(0)));
    assert!(update(&mut ui, &v, Action::User(0)).is_empty());
    assert!(ui.dialog.is_none());
    assert!(
        ui.toast
            .as_ref()
            .is_some_and(|t| !t.ok && t.text.contains("read-only console: “kill it” is dangerous")),
        "{:?}",
        ui.toast
    );
    // One that is not dangerous still runs in a read-only console: it writes nothing.
    let mut ui = console(STEP);
    ui.readonly = true;
    ui.tab = Tab::Dag;
    assert!(offered(&ui, &v, Context::Tab(Tab::Dag), &Action::User(0)));
    assert_eq!(update(&mut ui, &v, Action::User(0)).len(), 1);
}

/// What a command printed so far is kept while it runs, then its end replaces it; a
/// late word after the end changes nothing.
#[test]
fn output_so_far_shows_until_the_end_replaces_it() {
    let v = fixtures::release();
    let mut ui = console(STEP);
    ui.tab = Tab::Dag;
    update(&mut ui, &v, Action::User(0));
    let so_far = |lines: &[&str]| Action::UserOutput {
        id: 1,
        lines: lines.iter().map(|l| l.to_string()).collect(),
        cut: 0,
    };
    update(&mut ui, &v, so_far(&["halfway"]));
    assert_eq!(ui.user_runs[0].so_far.0, vec!["halfway".to_string()]);
    let f = Finished {
        id: 1,
        ended: Ended::TimedOut(Duration::from_secs(60)),
        took: Duration::from_secs(60),
        lines: vec!["halfway".into(), "still".into()],
        cut: 0,
    };
    update(&mut ui, &v, Action::UserDone(Box::new(f)));
    update(&mut ui, &v, so_far(&["late"]));
    assert_eq!(ui.user_runs[0].so_far.0, vec!["halfway".to_string()]);
    assert!(
        ui.toast
            .as_ref()
            .is_some_and(|t| !t.ok && t.text.contains("stopped at its timeout of 1m")),
        "{:?}",
        ui.toast
    );
}

/// On the Waiting tab: a gate item's run and step, any run's; an item of no run (an
/// ask) offers no run's action; a budget that stopped no step gives no `{step}`.
#[test]
fn the_waiting_tab_gives_the_selected_items_run_and_step() {
    let v = fixtures::release();
    let mut ui = console(&format!("{GATE}{RUN_STEP}"));
    ui.tab = Tab::Waiting;
    let mut items = fixtures::waiting();
    items.retain(|w| w.kind == WaitKind::Gate);
    let gate = items[0].clone();
    ui.waiting = Arc::new(vec![gate.clone()]);
    let r = update(&mut ui, &v, Action::User(0));
    assert_eq!(
        started(&r).argv,
        vec!["notes".to_string(), gate.step.clone()]
    );
    assert_eq!(started(&r).run_id, gate.run_id);
    let mut budget = gate.clone();
    budget.kind = WaitKind::Budget;
    budget.step = "budget".into();
    ui.waiting = Arc::new(vec![budget]);
    assert!(!offered(
        &ui,
        &v,
        Context::Tab(Tab::Waiting),
        &Action::User(0)
    ));
    assert!(!offered(&ui, &v, Context::Global, &Action::User(1)));
    let mut ask = gate;
    ask.kind = WaitKind::Ask;
    ask.run_id = String::new();
    ui.waiting = Arc::new(vec![ask]);
    assert!(!offered(&ui, &v, Context::Global, &Action::User(1)));
}

/// A run's action on the Approvals and Errors tabs: the run on screen, and the step
/// its selected gate or error is about for `{step}`.
#[test]
fn a_run_action_takes_the_step_of_the_selected_gate_or_error() {
    let v = fixtures::release();
    let mut ui = console(RUN_STEP);
    ui.tab = Tab::Approvals;
    let r = update(&mut ui, &v, Action::User(0));
    assert_eq!(
        started(&r).argv,
        vec!["notes".to_string(), v.gates[0].step_id.clone()]
    );
    ui.overlay = None;
    ui.tab = Tab::Errors;
    let step = ui
        .error_at(&v)
        .and_then(|e| v.errors[e].step.clone())
        .expect("the first error is a step's");
    let r = update(&mut ui, &v, Action::User(0));
    assert_eq!(started(&r).argv, vec!["notes".to_string(), step]);
    ui.overlay = None;
    ui.tab = Tab::Audit;
    assert!(!offered(&ui, &v, Context::Global, &Action::User(0)));
}

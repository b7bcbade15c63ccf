//! `update`: one action applied to the UI state, dispatched by context.
use super::action_log::Answer;
use super::actions::{Action, ConsoleExit, Hit, Request, Tab};
use super::dialogs::{
    ConfirmDialog, ConfirmWhat, Decision, Dialog, budget_dialog, confirm_dialog, gate_dialog,
    open_gate_dialog,
};
use super::log::{log_view, open_error_log, open_log, search_input};
use super::runs::short_id;
use super::state::{Overlay, Toast, UiState};
use super::targets::{acts, copy_target};
use crate::keymap::Context;
use baton_model::{Command, CommandOutcome, Refusal, RunState, RunView};
use crossterm::event::KeyEvent;

pub(super) fn toast(ui: &mut UiState, text: impl Into<String>, ok: bool) {
    ui.toast = Some(Toast {
        text: text.into(),
        ok,
        at: ui.now,
    });
}

/// Send `command` to `run_id` (the run on screen when `None`) and say so until the
/// engine answers: every command the console sends goes this way.
pub(super) fn send(
    ui: &mut UiState,
    run_id: Option<String>,
    command: Command,
    what: &str,
) -> Vec<Request> {
    ui.pending += 1;
    toast(ui, format!("… {what}: sent, waiting for the engine"), true);
    vec![match run_id {
        Some(run_id) => Request::CommandOn { run_id, command },
        None => Request::Command(command),
    }]
}

/// `run X (workflow)` when no engine drives `run_id` (neither this console nor another
/// live one): a command on it makes this console its engine.
pub(super) fn undriven(ui: &UiState, view: &RunView, run_id: &str) -> Option<String> {
    if ui.driven.iter().any(|d| d == run_id) {
        return None;
    }
    let (driven_by, workflow) = if view.run_id == run_id {
        (view.driven_by.as_ref(), view.workflow.as_str())
    } else {
        let r = ui.runs.iter().find(|r| r.id == run_id)?;
        (r.driven_by.as_ref(), r.workflow.as_str())
    };
    driven_by
        .is_none()
        .then(|| format!("{} ({workflow})", short_id(run_id, &ui.run_ids)))
}

/// Apply one action. Pure: no I/O, no clock; what must happen outside comes back as requests.
///
/// An approve, reject or mark refused before any dialog opens is held on screen
/// (`Dialog::Refused`) until Esc or Enter: the reason the operator types on, not
/// knowing, must not run as keys.
pub fn update(ui: &mut UiState, view: &RunView, action: Action) -> Vec<Request> {
    // Enter on a help line runs that line's action, as its key would.
    let action = match action {
        Action::Confirm if ui.context() == Context::Help => match super::help::chosen(ui, view) {
            Some(a) => a,
            None => return Vec::new(),
        },
        a => a,
    };
    let opens_text = (matches!(
        action,
        Action::Approve | Action::Reject | Action::PushBack | Action::Mark
    ) || (ui.tab == Tab::Schedules
        && matches!(action, Action::Pause | Action::Resume | Action::Trigger)))
        && ui.dialog.is_none();
    let before = ui.toast.clone();
    let tab = ui.tab;
    // Enter may leave for the DAG (Esc comes back); a tab key forgets where from.
    let action_kind = match action {
        Action::Enter => Some(true),
        Action::GoTab(_) | Action::NextTab | Action::PrevTab => Some(false),
        _ => None,
    };
    let out = if let Some(named) = waits_for_opening(ui, view, &action) {
        toast(
            ui,
            format!("✘ run {named} is still opening: keys that act on it wait for its view"),
            false,
        );
        Vec::new()
    } else {
        dispatch(ui, view, action)
    };
    for r in &out {
        ui.log_request(&view.run_id, r);
        let target = match r {
            Request::OpenRun(id) => {
                ui.opening = (*id != view.run_id).then(|| id.clone());
                continue;
            }
            Request::Command(c) => {
                ui.note_sent(&view.run_id, c);
                &view.run_id
            }
            Request::CommandOn { run_id, command } => {
                ui.note_sent(run_id, command);
                run_id
            }
            Request::Resume(run_id) => {
                ui.note_resumed(run_id);
                continue;
            }
            Request::Schedule { act, reason, .. } => {
                ui.note_schedule(*act, reason);
                continue;
            }
            _ => continue,
        };
        // Before it happens: acting on a run no engine drives makes this console its engine.
        if let Some(named) = undriven(ui, view, target) {
            // The takeover is on record as this console's resume.
            ui.note_resumed(target);
            if let Some(t) = ui.toast.as_mut() {
                t.text = format!(
                    "{}; no engine drives run {named}: this console takes it over",
                    t.text.trim_end_matches(": sent, waiting for the engine")
                );
            }
        }
    }
    match action_kind {
        Some(true) if ui.tab != tab => ui.came_from = Some(tab),
        Some(false) => ui.came_from = None,
        _ => {}
    }
    // A flash belongs where it was raised: another tab or run takes it away (one this
    // action raised stays).
    let moved = ui.tab != tab || out.iter().any(|r| matches!(r, Request::OpenRun(_)));
    if moved && ui.toast == before {
        ui.toast = None;
    }
    if opens_text
        && ui.dialog.is_none()
        && ui.toast != before
        && let Some(t) = ui.toast.as_ref().filter(|t| !t.ok)
    {
        ui.dialog = Some(Dialog::Refused(t.text.clone()));
    }
    out
}

/// The run opening (its short id) when `action` would act on the run on screen before
/// the opened run's view arrived: it would act on the run shown before.
fn waits_for_opening(ui: &UiState, view: &RunView, action: &Action) -> Option<String> {
    let id = ui.opening_other(view)?;
    let on_screen = ui.dialog.is_none() && ui.tab.spec().of_run;
    (on_screen && acts(action) && *action != Action::NewRun)
        .then(|| short_id(id, &ui.run_ids).to_string())
}

fn dispatch(ui: &mut UiState, view: &RunView, action: Action) -> Vec<Request> {
    // Results from the shell come first: they may arrive in any context.
    match action {
        Action::Outcome(outcome) => return command_outcome(ui, outcome),
        Action::Deleted { run_id, result } => return deleted(ui, &run_id, result),
        Action::ForkPlanned { step, result, .. } => {
            return super::fork::planned(ui, &step, result.map(|p| *p));
        }
        Action::RetryFailedPlanned { run_id, result } => {
            return super::retry_failed::planned(ui, &run_id, result);
        }
        Action::Forked {
            run_id,
            step,
            result,
        } => return forked(ui, &run_id, &step, result),
        Action::Resumed { run_id, result } => return resumed(ui, &run_id, result),
        Action::UserDone(f) => return super::user_actions::finished(ui, *f),
        Action::UserOutput { id, lines, cut } => {
            super::user_actions::output(ui, id, lines, cut);
            return Vec::new();
        }
        Action::RunFormRead { file, result } => return super::run_form::read(ui, &file, result),
        Action::Started { workflow, result } => {
            return super::run_form::started(ui, &workflow, result);
        }
        Action::Diffed { a, b, result } => return super::run_diff::diffed(ui, &a, &b, result),
        Action::Historied {
            run_id,
            workflow,
            step,
            result,
        } => return super::history::answered(ui, run_id, workflow, step, result),
        Action::Noted {
            run_id,
            step,
            result,
        } => return super::note::noted(ui, &run_id, step.as_deref(), result),
        _ => {}
    }
    if ui.readonly && acts(&action) {
        toast(
            ui,
            "✘ read-only console: nothing can be changed from here",
            false,
        );
        return Vec::new();
    }
    // The last outcome stays on the status line until the next one, or Esc.
    if action == Action::Back && ui.dialog.is_none() {
        ui.toast = None;
    }
    if let Some(Dialog::Refused(_)) = ui.dialog {
        if action == Action::Back {
            ui.dialog = None;
        }
        return Vec::new();
    }
    // Esc on the view Enter opened goes back to the list it came from (k9s), once
    // nothing is open on it (a dialog, an overlay, a log, a typed filter).
    let plain_view = !ui.context().is_modal() && ui.overlay.is_none();
    if action == Action::Back
        && plain_view
        && ui.active_filter().is_empty()
        && let Some(t) = ui.came_from.take()
    {
        ui.tab = t;
        return Vec::new();
    }
    match ui.context() {
        Context::GateDialog => gate_dialog(ui, action),
        Context::BudgetDialog => budget_dialog(ui, action),
        Context::Confirm => confirm_dialog(ui, view, action),
        Context::MarkDialog => super::mark::mark_dialog(ui, action),
        Context::ScheduleDialog => super::schedules::schedule_dialog(ui, action),
        Context::HoldDialog => super::hold::hold_dialog(ui, action),
        Context::NoteDialog => super::note::note_dialog(ui, action),
        Context::RunForm => super::run_form::run_form_dialog(ui, action),
        Context::ForkForm => super::fork::fork_dialog(ui, action),
        Context::Help => {
            super::help::help(ui, view, action);
            Vec::new()
        }
        Context::Overlay => overlay(ui, view, action),
        Context::SearchInput => search_input(ui, action),
        Context::Log => log_view(ui, view, action),
        Context::FilterInput => filter_input(ui, view, action),
        Context::JumpInput => super::jump::jump_input(ui, view, action),
        _ => main_view(ui, view, action),
    }
}

/// The engine's answer to a command sent earlier.
fn command_outcome(ui: &mut UiState, outcome: CommandOutcome) -> Vec<Request> {
    ui.pending = ui.pending.saturating_sub(1);
    let answer = match &outcome {
        CommandOutcome::Accepted { message } => Answer::Done(message.clone()),
        CommandOutcome::Refused(r) => Answer::Refused(r.to_string()),
    };
    ui.log_answer(super::action_log::Kind::Command, None, answer);
    let form = ui.sent_from.take();
    match outcome {
        CommandOutcome::Accepted { message } => toast(ui, format!("✔ {message}"), true),
        CommandOutcome::Refused(refusal) => {
            // Refused as typed: the form again, with the core's words under it.
            let again = refusal.fix_the_command() && ui.dialog.is_none();
            if let Some(mut form) = form.filter(|_| again) {
                form.set_error(refusal.to_string());
                ui.dialog = Some(form);
            }
            toast(ui, format!("✘ refused: {refusal}"), false)
        }
    }
    Vec::new()
}

/// The answer to a delete request.
fn deleted(ui: &mut UiState, run_id: &str, result: Result<String, Refusal>) -> Vec<Request> {
    ui.pending = ui.pending.saturating_sub(1);
    ui.log_answer(
        super::action_log::Kind::Delete,
        Some(run_id),
        Answer::of(&result),
    );
    let short = short_id(run_id, &ui.run_ids).to_string();
    match result {
        Ok(message) => {
            if ui.diff_mark.as_deref() == Some(run_id) {
                ui.diff_mark = None;
            }
            toast(ui, format!("✔ deleted run {short}: {message}"), true);
        }
        Err(e) => toast(ui, format!("✘ delete {short}: {e}"), false),
    }
    Vec::new()
}

/// The answer to a fork request.
fn forked(
    ui: &mut UiState,
    run_id: &str,
    step: &str,
    result: Result<String, Refusal>,
) -> Vec<Request> {
    ui.pending = ui.pending.saturating_sub(1);
    ui.log_answer(
        super::action_log::Kind::Resume,
        Some(run_id),
        Answer::of(&result),
    );
    let short = short_id(run_id, &ui.run_ids).to_string();
    match result {
        Ok(said) => {
            super::fork::made(ui);
            // The service opens the fork: show it on its DAG, following.
            ui.tab = Tab::Dag;
            ui.follow = true;
            ui.filter.clear();
            toast(
                ui,
                format!("✔ run {short} forked from {step}: {said}"),
                true,
            )
        }
        Err(e) => {
            toast(ui, format!("✘ fork of run {short} from {step}: {e}"), false);
            super::fork::refused(ui, &e);
        }
    }
    Vec::new()
}

/// The answer to a resume request.
fn resumed(ui: &mut UiState, run_id: &str, result: Result<String, Refusal>) -> Vec<Request> {
    ui.log_answer(
        super::action_log::Kind::Resume,
        Some(run_id),
        Answer::of(&result),
    );
    let short = short_id(run_id, &ui.run_ids);
    match result {
        Ok(said) => {
            // The service opens the resumed run: show it on its DAG, following, once
            // its view is here.
            ui.opening = Some(run_id.to_string());
            ui.tab = Tab::Dag;
            ui.follow = true;
            ui.filter.clear();
            toast(ui, format!("✔ run {short} resumed: {said}"), true)
        }
        Err(e) => toast(ui, format!("✘ resume {short}: {e}"), false),
    }
    Vec::new()
}

/// `t`, wherever it is pressed: every time on screen switches between relative and
/// the wall clock.
pub(super) fn toggle_time(ui: &mut UiState) {
    ui.wall_clock = !ui.wall_clock;
    let text = if ui.wall_clock {
        "times on the wall clock (t: relative)"
    } else {
        "times relative (t: wall clock)"
    };
    toast(ui, text, true);
}

/// How many lines PgUp/PgDn move an overlay (help, notices, the action log).
const OVERLAY_PAGE: usize = 15;

pub(super) fn overlay(ui: &mut UiState, view: &RunView, action: Action) -> Vec<Request> {
    let scrolls = matches!(
        action,
        Action::Up
            | Action::Down
            | Action::PageUp
            | Action::PageDown
            | Action::Top
            | Action::Bottom
    );
    if scrolls && ui.overlay == Some(Overlay::RunDiff) {
        super::run_diff::scroll(ui, &action);
        return Vec::new();
    }
    if ui.overlay == Some(Overlay::History) {
        if scrolls {
            super::history::select(ui, &action);
            return Vec::new();
        }
        if action == Action::Enter {
            return super::history::open(ui, view);
        }
    }
    if scrolls && matches!(ui.overlay, Some(Overlay::ActionOutput(_))) {
        super::user_actions::scroll(ui, &action);
        return Vec::new();
    }
    match action {
        Action::ToggleTime => toggle_time(ui),
        Action::Jump => ui.jump = Some(String::new()),
        // Enter closes every overlay but a step's history (above).
        Action::Back | Action::Enter => {
            ui.overlay = None;
            ui.overlay_scroll = 0;
        }
        Action::Up => ui.overlay_scroll = ui.overlay_scroll.saturating_sub(1),
        Action::Down => ui.overlay_scroll = ui.overlay_scroll.saturating_add(1).min(500),
        // A page as `less` turns one (the views stop at their last line).
        Action::PageUp => ui.overlay_scroll = ui.overlay_scroll.saturating_sub(OVERLAY_PAGE),
        Action::PageDown => {
            ui.overlay_scroll = ui.overlay_scroll.saturating_add(OVERLAY_PAGE).min(500)
        }
        Action::Top => ui.overlay_scroll = 0,
        Action::Bottom => ui.overlay_scroll = 500,
        // In the action log: the newest `[[action]]`'s output.
        Action::Log if ui.overlay == Some(Overlay::ActionLog) => {
            if let Some(id) = ui.user_runs.last().map(|r| r.prepared.id) {
                super::user_actions::open_pane(ui, id);
            }
        }
        Action::Log => {
            if let Some(Overlay::ErrorDetail(i)) = ui.overlay {
                ui.overlay = None;
                open_error_log(ui, view, i);
            }
        }
        Action::Retry => {
            if let Some(Overlay::ErrorDetail(i)) = ui.overlay
                && let Some(step) = view.errors.get(i).and_then(|e| e.step.clone())
            {
                ui.overlay = None;
                return retry(ui, view, &step);
            }
        }
        _ => {}
    }
    Vec::new()
}

/// Typing a filter (`/`) on any list, or the help's search: every key filters at
/// once; each list's selection stays on its item while it is shown (issue 45 point 3).
pub(super) fn filter_input(ui: &mut UiState, view: &RunView, action: Action) -> Vec<Request> {
    let was = match ui.typing_from.take() {
        Some(was) => was,
        None => ui.picked(view),
    };
    match action {
        // A term that would hide every row whatever the data: say so, keep typing.
        Action::Confirm => match ui.filter_problem() {
            Some(problem) => toast(ui, format!("✘ {problem}"), false),
            None => ui.filter_editing = false,
        },
        Action::Back => {
            ui.filter_editing = false;
            ui.active_filter_mut().clear();
        }
        Action::Key(k) => edit_line(ui.active_filter_mut(), k),
        _ => {}
    }
    ui.keep_picked(view, &was);
    if ui.filter_editing {
        ui.typing_from = Some(was);
    }
    Vec::new()
}

/// Where a reason-and-confirm dialog (a hold, a schedule's pause) goes on a key.
pub(super) enum ReasonStep {
    Stay,
    Close,
    Send,
}

/// The one walk of a reason-and-confirm dialog: keys edit the reason, Esc steps back
/// from the confirmation or closes, Enter refuses an empty reason (`required` says
/// why), asks once more, then sends.
pub(super) fn reason_step(
    reason: &mut String,
    error: &mut Option<String>,
    confirming: &mut bool,
    action: Action,
    required: String,
) -> ReasonStep {
    match action {
        Action::Back if *confirming => *confirming = false,
        Action::Back => return ReasonStep::Close,
        Action::Key(k) => {
            edit_line(reason, k);
            *error = None;
            *confirming = false;
        }
        Action::Confirm if reason.trim().is_empty() => *error = Some(required),
        Action::Confirm if !*confirming => *confirming = true,
        Action::Confirm => return ReasonStep::Send,
        _ => {}
    }
    ReasonStep::Stay
}

/// Minimal line editing for every typed text (reasons, notes, inputs, filters,
/// searches): Backspace takes the last grapheme cluster (a whole emoji, a letter with
/// its accent), not a code point; a character past the bound of an operator's text
/// (`bounds::takes_one_more`, what `baton note` takes) is not taken.
pub(super) fn edit_line(s: &mut String, k: KeyEvent) {
    use crossterm::event::{KeyCode, KeyModifiers};
    use unicode_segmentation::UnicodeSegmentation;
    match k.code {
        KeyCode::Backspace => {
            let last = s.grapheme_indices(true).next_back().map_or(0, |(i, _)| i);
            s.truncate(last);
        }
        KeyCode::Char('u') if k.modifiers.contains(KeyModifiers::CONTROL) => s.clear(),
        KeyCode::Char(c)
            if !k.modifiers.contains(KeyModifiers::CONTROL)
                && baton_model::bounds::takes_one_more(s) =>
        {
            s.push(c)
        }
        _ => {}
    }
}

/// `y`: the selection to the clipboard, with a toast saying what was copied.
pub(super) fn copy(ui: &mut UiState, view: &RunView) -> Vec<Request> {
    let ctx = ui.context();
    let Some((what, text)) = copy_target(ui, view, ctx) else {
        toast(ui, "✘ nothing selected to copy", false);
        return Vec::new();
    };
    let shown = crate::views::common::fit(&text.replace('\n', " "), 40);
    toast(ui, format!("✔ copied {what}: {shown}"), true);
    vec![Request::Copy(text)]
}

pub(super) fn retry(ui: &mut UiState, view: &RunView, step: &str) -> Vec<Request> {
    match view.step_index(step).map(|i| &view.steps[i]) {
        Some(s) if s.actions.retry => {
            let command = Command::Retry {
                step: step.to_string(),
                operator: ui.operator.clone(),
            };
            send(ui, None, command, &format!("retry {step}"))
        }
        // The engine would refuse: say why here instead of sending it.
        Some(s) => {
            let why = if run_accepts_commands(view) {
                format!("{step} is {}: it cannot be retried now", s.state)
            } else {
                format!(
                    "the run is {}: `baton resume {}` first",
                    view.state,
                    short_id(&view.run_id, &ui.run_ids)
                )
            };
            toast(ui, format!("✘ {why}"), false);
            Vec::new()
        }
        None => {
            toast(ui, format!("✘ no step {step} in this run"), false);
            Vec::new()
        }
    }
}

/// An interrupted run takes no command until an engine resumes it.
pub(super) fn run_accepts_commands(view: &RunView) -> bool {
    view.state != RunState::Interrupted
}

pub(super) fn main_view(ui: &mut UiState, view: &RunView, action: Action) -> Vec<Request> {
    match action {
        Action::GoTab(t) => ui.tab = t,
        Action::NextTab => ui.tab = Tab::ALL[(ui.tab.index() + 1) % Tab::ALL.len()],
        Action::PrevTab => {
            ui.tab = Tab::ALL[(ui.tab.index() + Tab::ALL.len() - 1) % Tab::ALL.len()]
        }
        Action::ToggleHealth => ui.overlay = Some(Overlay::Health),
        Action::Notices => {
            ui.overlay = Some(Overlay::Notices);
            ui.overlay_scroll = 0;
        }
        Action::ActionLog => {
            ui.overlay = Some(Overlay::ActionLog);
            ui.overlay_scroll = 0;
        }
        Action::Copy => return copy(ui, view),
        // The configuration's own actions, on whatever tab's selection fits them.
        Action::User(i) => return super::user_actions::pressed(ui, view, i),
        Action::Click { col, row } => click(ui, col, row),
        Action::ToggleTime => toggle_time(ui),
        Action::Jump => ui.jump = Some(String::new()),
        Action::Help => ui.overlay = Some(Overlay::Help),
        Action::Quit => return quit(ui),
        // `/` and Esc on every list (the DAG's, the Timeline's and the Runs tab's say more).
        Action::Filter if !ui.tab.spec().filter.own_keys => ui.filter_editing = true,
        Action::Back if !ui.tab.spec().filter.own_keys => ui.active_filter_mut().clear(),
        // The Waiting tab's keys are about its selected item's run, not the one on
        // screen; the Schedules tab's about its selected schedule.
        _ if !ui.tab.spec().run_keys => return (ui.tab.spec().update)(ui, view, action),
        Action::CancelRun => super::runs::ask_cancel(ui, view, &view.run_id, view.state),
        Action::Approve => open_gate_dialog(ui, view, Decision::Approve),
        Action::Reject => open_gate_dialog(ui, view, Decision::Reject),
        Action::PushBack => open_gate_dialog(ui, view, Decision::PushBack),
        Action::Mark => super::mark::open_mark_dialog(ui, view),
        other => return (ui.tab.spec().update)(ui, view, other),
    }
    Vec::new()
}

/// A click on whatever the last frame drew at (`col`, `row`).
fn click(ui: &mut UiState, col: u16, row: u16) {
    match ui.hits.at(col, row) {
        Some(Hit::Tab(t)) => ui.tab = t,
        Some(Hit::Step(i)) => {
            // A step clicked on a tab of steps stays there; elsewhere it opens the DAG.
            if !ui.tab.spec().steps {
                ui.tab = Tab::Dag;
            }
            ui.selected = i;
            ui.follow = false;
        }
        Some(Hit::Gate(i)) => ui.gate_sel = i,
        Some(Hit::Error(i)) => ui.error_sel = i,
        Some(Hit::Audit(i)) => ui.audit_sel = i,
        Some(Hit::Run(i)) => ui.run_sel = i,
        Some(Hit::Waiting(i)) => {
            ui.wait_sel = i;
            ui.wait_gone = None;
        }
        Some(Hit::Schedule(i)) => ui.sched_sel = i,
        // Only drawn in the log, which takes its own clicks.
        Some(Hit::LogLine(_)) | None => {}
    }
}

/// Only runs this console drives stop with it; a run followed from another
/// engine goes on. `on_quit = "detach"` hands them on without asking.
fn quit(ui: &mut UiState) -> Vec<Request> {
    if !ui.driven.is_empty() && ui.on_quit == baton_link::config::OnQuit::Detach {
        return vec![Request::Exit(ConsoleExit::Detach)];
    } else if !ui.driven.is_empty() {
        ui.dialog = Some(Dialog::Confirm(ConfirmDialog {
            what: ConfirmWhat::Quit,
            yes: false,
            // It names `ui.driven` when drawn: the runs driven then.
            runs: Vec::new(),
            button: Default::default(),
        }));
    } else {
        return vec![Request::Exit(ConsoleExit::Quit)];
    }
    Vec::new()
}

/// The Approvals tab's keys, about its selected gate.
pub(super) fn approvals_tab(ui: &mut UiState, view: &RunView, other: Action) -> Vec<Request> {
    ui.move_in_list(view, &other);
    if other == Action::Log
        && let Some(i) = ui.gate_at(view).and_then(|g| view.gates[g].step)
    {
        open_log(ui, i, None)
    }
    Vec::new()
}

/// The Errors tab's keys, about its selected error.
pub(super) fn errors_tab(ui: &mut UiState, view: &RunView, other: Action) -> Vec<Request> {
    ui.move_in_list(view, &other);
    let at = ui.error_at(view);
    let step = at.and_then(|e| view.errors[e].step.clone());
    match (other, at) {
        (Action::Enter, Some(e)) => {
            ui.overlay = Some(Overlay::ErrorDetail(e));
            ui.overlay_scroll = 0;
        }
        (Action::Retry, Some(_)) => match step {
            Some(s) => return retry(ui, view, &s),
            None => toast(ui, "✘ this error belongs to no step", false),
        },
        (Action::Log, Some(e)) => open_error_log(ui, view, e),
        _ => {}
    }
    Vec::new()
}

pub(super) fn move_sel(sel: &mut usize, len: usize, action: &Action) {
    let last = len.saturating_sub(1);
    *sel = match action {
        Action::Up => sel.saturating_sub(1),
        Action::Down => (*sel + 1).min(last),
        Action::PageUp => sel.saturating_sub(10),
        Action::PageDown => (*sel + 10).min(last),
        Action::Top => 0,
        Action::Bottom => last,
        _ => (*sel).min(last),
    };
}

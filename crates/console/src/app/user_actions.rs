//! The operators' own `[[action]]`s (issue 58 point 7; `baton_link::config::UserAction`):
//! which the selection offers (its scope, and a value for every placeholder it uses),
//! the confirmation, the command filled for the selection, and what came of it. Pure:
//! the command runs in the shell (`crate::action_run`), a child of the console under
//! the operator's own account; nothing here writes to the store.
use super::actions::{Request, Tab};
use super::dialogs::{ConfirmDialog, ConfirmWhat, Dialog};
use super::runs::short_id;
use super::state::{Overlay, UiState};
use super::update::toast;
use crate::keymap::Context;
use baton_link::config::{ActionOutput, Placeholder, Scope, UserAction, Values};
use baton_model::inbox::WaitKind;
use baton_model::{RunView, Timestamp};
use std::time::Duration;

/// How many runs (with their output) the console keeps, newest last.
const KEEP: usize = 20;

/// An `[[action]]`'s command filled for a selection, ready to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// Its number in this console (set when it starts).
    pub id: u64,
    /// Its index in the configuration's `[[action]]`s.
    pub action: usize,
    /// Its description.
    pub title: String,
    /// The program and its arguments, each filled on its own.
    pub argv: Vec<String>,
    /// The run it is about (for the action log), and what was selected, in words.
    pub run_id: String,
    pub on: String,
    pub timeout: Duration,
    pub dangerous: bool,
}

impl Prepared {
    /// The command as a shell would need it typed, quoted where needed, for the
    /// confirmation and the logs (never run that way); sanitised for the terminal.
    pub fn shown(&self) -> String {
        let joined = shlex::try_join(self.argv.iter().map(String::as_str))
            .unwrap_or_else(|_| self.argv.join(" "));
        baton_model::sanitize::strip_to_plain(joined.as_bytes())
    }
}

/// How a command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    Exited(i32),
    /// Killed by this signal (not by its timeout).
    Signal(i32),
    /// Still running at its `timeout`: its process group was stopped.
    TimedOut(Duration),
    /// It never ran: why.
    NotStarted(String),
}

impl Ended {
    pub fn ok(&self) -> bool {
        *self == Ended::Exited(0)
    }

    /// `exited 0`, `killed by signal 9`, `stopped at its timeout of 1m00s`, ….
    pub fn words(&self) -> String {
        match self {
            Ended::Exited(c) => format!("exited {c}"),
            Ended::Signal(s) => format!("killed by signal {s}"),
            Ended::TimedOut(t) => format!(
                "stopped at its timeout of {}",
                baton_model::time::human_duration(*t)
            ),
            Ended::NotStarted(why) => format!("did not start: {why}"),
        }
    }
}

/// What the shell reports when a command has ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    pub id: u64,
    pub ended: Ended,
    pub took: Duration,
    /// Its output (stdout and stderr as they came), sanitised: its last lines.
    pub lines: Vec<String>,
    /// Bytes of output before those lines that were not kept.
    pub cut: u64,
}

/// One run of an `[[action]]` in this console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRun {
    pub prepared: Prepared,
    pub started: Option<Timestamp>,
    /// Its output so far while it runs (its last lines, the bytes before not kept).
    pub so_far: (Vec<String>, u64),
    /// `None` while it runs.
    pub finished: Option<Finished>,
}

/// The values the selection on the tab shown gives for `scope`; `None`: nothing of
/// that scope is selected there.
fn selection(ui: &UiState, view: &RunView, scope: Scope) -> Option<Values> {
    let db = ui.db.clone();
    let shown = |step: Option<String>| {
        (!view.run_id.is_empty()).then(|| Values {
            run: Some(view.run_id.clone()),
            step,
            workflow: Some(view.workflow.clone()),
            db: db.clone(),
        })
    };
    let focused = || ui.focus(view).map(|i| view.steps[i].id.clone());
    // A Waiting item of a run (an ask of no run is none); its step, unless it is a
    // budget's that stopped no step in particular.
    let waiting = |w: &baton_model::inbox::Waiting| {
        let no_step = w.step.is_empty() || (w.kind == WaitKind::Budget && w.step == "budget");
        (!w.run_id.is_empty()).then(|| Values {
            run: Some(w.run_id.clone()),
            step: (!no_step).then(|| w.step.clone()),
            workflow: Some(w.workflow.clone()),
            db: db.clone(),
        })
    };
    match (scope, ui.tab) {
        (Scope::Step, Tab::Dag | Tab::Timeline) => shown(Some(focused()?)),
        (Scope::Gate, Tab::Dag | Tab::Approvals) => {
            let g = super::targets::target_gate(ui, view, Context::Tab(ui.tab))?;
            g.step.and(shown(Some(g.step_id.clone())))
        }
        (Scope::Gate, Tab::Waiting) => ui
            .selected_waiting()
            .filter(|w| w.kind == WaitKind::Gate)
            .and_then(waiting),
        (Scope::Run, Tab::Runs) => ui.selected_run(ui.store_clock(view)).map(|r| Values {
            run: Some(r.id.clone()),
            step: None,
            workflow: Some(r.workflow.clone()),
            db: db.clone(),
        }),
        (Scope::Run, Tab::Waiting) => ui.selected_waiting().and_then(waiting),
        (Scope::Run, Tab::Dag | Tab::Timeline) => shown(focused()),
        // The run on screen, with the step its selected gate or error is about.
        (Scope::Run, Tab::Approvals) => shown(
            super::targets::target_gate(ui, view, Context::Tab(ui.tab))
                .filter(|g| g.step.is_some())
                .map(|g| g.step_id.clone()),
        ),
        (Scope::Run, Tab::Errors) => shown(
            super::targets::target_step(ui, view, Context::Tab(ui.tab))
                .map(|i| view.steps[i].id.clone()),
        ),
        (Scope::Run, Tab::Audit) => shown(None),
        _ => None,
    }
}

/// The first of the action's scopes the selection fits, with its values.
fn pick(ui: &UiState, view: &RunView, a: &UserAction) -> Option<Values> {
    a.scopes
        .iter()
        .filter_map(|s| selection(ui, view, *s))
        .find(|v| a.fits(v))
}

/// Whether action `i` would run now: its scope fits the selection, every placeholder
/// it uses has a value, and a dangerous one is not in a read-only console.
pub(crate) fn offered(ui: &UiState, view: &RunView, i: usize) -> bool {
    ui.actions
        .get(i)
        .is_some_and(|a| !(ui.readonly && a.dangerous) && pick(ui, view, a).is_some())
}

/// Its key pressed: refused (said why), asked about, or started.
pub(super) fn pressed(ui: &mut UiState, view: &RunView, i: usize) -> Vec<Request> {
    let Some(a) = ui.actions.get(i).cloned() else {
        return Vec::new();
    };
    if ui.readonly && a.dangerous {
        toast(
            ui,
            format!(
                "✘ read-only console: “{}” is dangerous and is not run from here",
                a.description
            ),
            false,
        );
        return Vec::new();
    }
    let Some(values) = pick(ui, view, &a) else {
        let scopes: Vec<&str> = a.scopes.iter().map(|s| s.name()).collect();
        toast(
            ui,
            format!(
                "✘ “{}” needs a {} selected",
                a.description,
                scopes.join(" or ")
            ),
            false,
        );
        return Vec::new();
    };
    let Some(argv) = a.argv(&values) else {
        return Vec::new();
    };
    let run_id = values.run.clone().unwrap_or_default();
    let mut on = match ui.runs.iter().find(|r| r.id == run_id) {
        Some(r) => format!("run {} ({})", short_id(&run_id, &ui.run_ids), r.workflow),
        None => format!(
            "run {} ({})",
            short_id(&run_id, &ui.run_ids),
            values.workflow.as_deref().unwrap_or("?")
        ),
    };
    // The step only when the command is about it (a run's action on the DAG is not).
    if let Some(s) = values.step.as_ref().filter(|_| a.uses(Placeholder::Step)) {
        on.push_str(&format!(", step {s}"));
    }
    let p = Prepared {
        id: 0,
        action: i,
        title: a.description.clone(),
        argv,
        run_id,
        on,
        timeout: a.timeout,
        dangerous: a.dangerous,
    };
    if a.confirm {
        ui.dialog = Some(Dialog::Confirm(ConfirmDialog {
            what: ConfirmWhat::UserAction(Box::new(p)),
            // A dangerous one starts on No, as every destructive confirmation does.
            yes: !a.dangerous,
            runs: Vec::new(),
            button: Default::default(),
        }));
        return Vec::new();
    }
    start(ui, p)
}

/// Run it: noted, its pane opened (`output = "pane"`), and asked of the shell.
pub(super) fn start(ui: &mut UiState, mut p: Prepared) -> Vec<Request> {
    p.id = ui.user_runs.last().map_or(1, |r| r.prepared.id + 1);
    let pane = ui
        .actions
        .get(p.action)
        .is_none_or(|a| a.output == ActionOutput::Pane);
    if pane {
        ui.overlay = Some(Overlay::ActionOutput(p.id));
        ui.overlay_scroll = 0;
    }
    toast(ui, format!("… {}: running `{}`", p.title, p.shown()), true);
    ui.user_runs.push(UserRun {
        prepared: p.clone(),
        started: ui.now,
        so_far: (Vec::new(), 0),
        finished: None,
    });
    let over = ui.user_runs.len().saturating_sub(KEEP);
    ui.user_runs.drain(..over);
    vec![Request::RunAction(Box::new(p))]
}

/// The shell's word that a command ended: its run, the action log and the status line.
pub(super) fn finished(ui: &mut UiState, f: Finished) -> Vec<Request> {
    let Some(run) = ui.user_runs.iter_mut().find(|r| r.prepared.id == f.id) else {
        return Vec::new();
    };
    let took = baton_model::time::human_duration(f.took);
    let said = format!("{} after {took}", f.ended.words());
    let title = run.prepared.title.clone();
    let ok = f.ended.ok();
    let id = f.id;
    run.finished = Some(f);
    ui.log_action_answer(id, ok, said.clone());
    let mark = if ok { "✔" } else { "✘" };
    let pane = ui.overlay == Some(Overlay::ActionOutput(id));
    let more = if pane { "" } else { " (its output: @, then l)" };
    toast(ui, format!("{mark} {title}: {said}{more}"), ok);
    Vec::new()
}

/// The shell's word on a command still running: its output so far.
pub(super) fn output(ui: &mut UiState, id: u64, lines: Vec<String>, cut: u64) {
    if let Some(r) = ui
        .user_runs
        .iter_mut()
        .find(|r| r.prepared.id == id && r.finished.is_none())
    {
        r.so_far = (lines, cut);
    }
}

/// The run an output pane shows: `id`'s, else the newest.
pub(crate) fn shown_run(ui: &UiState, id: u64) -> Option<&UserRun> {
    ui.user_runs
        .iter()
        .find(|r| r.prepared.id == id)
        .or(ui.user_runs.last())
}

/// Whether any command still runs (the clock then moves on screen).
pub(crate) fn running(ui: &UiState) -> bool {
    ui.user_runs.iter().any(|r| r.finished.is_none())
}

#[cfg(test)]
mod tests;

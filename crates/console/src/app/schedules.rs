//! The Schedules tab (issue 27 point 5): what `baton serve` serves, as `baton
//! schedules` lists it (`session::schedules`, one listing for both), and the files that
//! no longer load. Its keys pause, resume or trigger the selected schedule, each with a
//! typed reason and a confirm, sent to the console's service, which records it as
//! `baton schedule …` does (under the OS account, on the audit chain); Enter opens the
//! schedule's last run; `n` opens the run form of its workflow (`app::run_form`).
use super::actions::{Action, Request, Tab};
use super::dialogs::Dialog;
use super::state::UiState;
use super::update::{ReasonStep, reason_step, toast};
use baton_link::{Act, Listed};

/// What the Schedules tab's selection is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchedulePick<'a> {
    Schedule(&'a Listed),
    /// A workflow file that does not load and serves no schedule: `(file, error)`.
    Broken(&'a str, &'a str),
}

/// Pause, resume or trigger: the reason typed, then Enter twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleDialog {
    pub act: Act,
    /// `WORKFLOW#N` for a pause or resume, the workflow for a trigger.
    pub target: String,
    pub reason: String,
    /// Enter was pressed once: the next Enter sends it.
    pub confirming: bool,
    pub error: Option<String>,
}

impl UiState {
    /// Lines of the Schedules tab: the schedules, then the broken files.
    pub fn schedule_lines(&self) -> usize {
        self.schedules.rows.len() + self.schedules.broken.len()
    }

    /// Line `i` of the Schedules tab: a schedule, or a file that serves none.
    pub fn schedule_line(&self, i: usize) -> Option<SchedulePick<'_>> {
        let b = &self.schedules;
        match b.rows.get(i) {
            Some(l) => Some(SchedulePick::Schedule(l)),
            None => b
                .broken
                .get(i.checked_sub(b.rows.len())?)
                .map(|(f, e)| SchedulePick::Broken(f, e)),
        }
    }

    /// The selected line of the Schedules tab, if the filter shows any.
    pub fn selected_schedule(&self) -> Option<SchedulePick<'_>> {
        self.schedule_line(self.schedule_at()?)
    }
}

pub(super) fn schedules_tab(ui: &mut UiState, action: Action) -> Vec<Request> {
    let shown = ui.shown_schedules();
    super::filter::move_shown(&mut ui.sched_sel, &shown, &action);
    // Its rows are schedules, not runs: `c` would otherwise do nothing, silently.
    if action == Action::CancelRun {
        let why = "✘ a schedule is not cancelled: p pauses it; c cancels a run on the Runs tab";
        toast(ui, why, false);
        return Vec::new();
    }
    if action == Action::NewRun {
        // A file that does not load opens no form: its load error is said instead. A
        // schedule's form starts from the values that schedule runs with.
        let (file, schedule) = match ui.selected_schedule() {
            Some(SchedulePick::Schedule(l)) => (l.row.file.clone(), Some(l.row.index)),
            Some(SchedulePick::Broken(f, _)) => (f.to_string(), None),
            None => {
                toast(ui, "✘ no schedule selected", false);
                return Vec::new();
            }
        };
        return super::run_form::ask(ui, file.into(), schedule);
    }
    let picked = match ui.selected_schedule() {
        Some(SchedulePick::Schedule(l)) => Ok(l.clone()),
        Some(SchedulePick::Broken(f, _)) => Err(format!("{f} does not load: fix it first")),
        None if ui.schedule_lines() > 0 => Err("nothing the filter shows: Esc clears it".into()),
        None => Err("no schedule is served".to_string()),
    };
    let acts = matches!(
        action,
        Action::Enter | Action::Pause | Action::Resume | Action::Trigger
    );
    let l = match picked {
        Ok(l) => l,
        Err(why) => {
            if acts {
                toast(ui, format!("✘ {why}"), false);
            }
            return Vec::new();
        }
    };
    let act = match action {
        Action::Enter => {
            let Some(run) = &l.row.last_run else {
                toast(ui, format!("✘ {} has not started a run yet", l.name), false);
                return Vec::new();
            };
            // The opened run arrives as a new view: start on its DAG, following.
            ui.tab = Tab::Dag;
            ui.follow = true;
            ui.filter.clear();
            (ui.gate_sel, ui.error_sel, ui.audit_sel) = (0, 0, 0);
            return vec![Request::OpenRun(run.run_id.clone())];
        }
        Action::Pause => Act::Pause,
        Action::Resume => Act::Resume,
        Action::Trigger => Act::Trigger,
        _ => return Vec::new(),
    };
    if let Some(why) = refusal(&l, act) {
        toast(ui, format!("✘ {why}"), false);
        return Vec::new();
    }
    let target = match act {
        Act::Trigger => l.row.workflow.clone(),
        Act::Pause | Act::Resume => l.name.clone(),
    };
    ui.dialog = Some(Dialog::Schedule(Box::new(ScheduleDialog {
        act,
        target,
        reason: String::new(),
        confirming: false,
        error: None,
    })));
    Vec::new()
}

/// Why `act` on `l` would change nothing, if so.
fn refusal(l: &Listed, act: Act) -> Option<String> {
    match (act, &l.row.paused) {
        (Act::Pause, Some(p)) => Some(format!(
            "{} is paused already (by {}): r resumes it",
            l.name, p.by
        )),
        (Act::Resume, None) => Some(format!("{} is not paused: p pauses it", l.name)),
        _ => None,
    }
}

/// Whether `action` in the Schedules tab would do something for the selected line.
pub(super) fn offered(ui: &UiState, action: &Action) -> bool {
    let l = match ui.selected_schedule() {
        Some(SchedulePick::Schedule(l)) => Some(l),
        _ => None,
    };
    match action {
        Action::Pause => l.is_some_and(|l| refusal(l, Act::Pause).is_none()),
        Action::Resume => l.is_some_and(|l| refusal(l, Act::Resume).is_none()),
        Action::Trigger => l.is_some(),
        Action::NewRun => ui.selected_schedule().is_some(),
        Action::Enter => l.is_some_and(|l| l.row.last_run.is_some()),
        Action::Copy => ui.selected_schedule().is_some(),
        // A schedule is paused, not cancelled: `c` says so here.
        Action::CancelRun => false,
        _ => true,
    }
}

/// What `y` copies on the Schedules tab: the schedule's name, or the broken file's path.
pub(super) fn copy_target(ui: &UiState) -> Option<(String, String)> {
    match ui.selected_schedule()? {
        SchedulePick::Schedule(l) => Some(("schedule".into(), l.name.clone())),
        SchedulePick::Broken(f, _) => Some(("file".into(), f.to_string())),
    }
}

pub(super) fn schedule_dialog(ui: &mut UiState, action: Action) -> Vec<Request> {
    let Some(Dialog::Schedule(d)) = ui.dialog.as_mut() else {
        return Vec::new();
    };
    let required = format!(
        "a reason is required to {}: it goes on the audit chain",
        d.act.verb()
    );
    match reason_step(
        &mut d.reason,
        &mut d.error,
        &mut d.confirming,
        action,
        required,
    ) {
        ReasonStep::Stay => {}
        ReasonStep::Close => ui.dialog = None,
        ReasonStep::Send => {
            let (act, target) = (d.act, d.target.clone());
            let reason = d.reason.trim().to_string();
            ui.dialog = None;
            ui.pending += 1;
            toast(
                ui,
                format!("… {} {target}: sent, waiting for the store", act.verb()),
                true,
            );
            return vec![Request::Schedule {
                act,
                target,
                reason,
            }];
        }
    }
    Vec::new()
}

#[cfg(test)]
mod tests;

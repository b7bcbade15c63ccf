//! The Runs tab: the store's runs filtered, sorted and acted on.
use super::actions::{Action, Request, Tab};
use super::dialogs::{ConfirmDialog, ConfirmWhat, Dialog};
use super::state::UiState;
use super::update::{move_sel, toast};
use baton_model::RunView;
use baton_model::{RunState, RunSummary, Timestamp};

/// How the Runs tab orders the store's runs (`s` cycles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RunsSort {
    /// Newest first.
    #[default]
    Started,
    /// Longest first.
    Duration,
    /// By state (live ones first), newest first within a state.
    State,
}

impl RunsSort {
    pub fn next(self) -> RunsSort {
        match self {
            RunsSort::Started => RunsSort::Duration,
            RunsSort::Duration => RunsSort::State,
            RunsSort::State => RunsSort::Started,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            RunsSort::Started => "newest first",
            RunsSort::Duration => "longest first",
            RunsSort::State => "by state",
        }
    }
}

/// The listed runs' ids in order: where [`short_id`] finds the ids nearest an id
/// (the longest prefix an id shares with any other is shared with a neighbour in
/// order), so a row's short id costs a binary search, not a pass over every run.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct RunIds(Vec<String>);

impl RunIds {
    pub fn of<R: std::borrow::Borrow<RunSummary>>(runs: &[R]) -> RunIds {
        let mut ids: Vec<String> = runs.iter().map(|r| r.borrow().id.clone()).collect();
        ids.sort_unstable();
        RunIds(ids)
    }
}

/// The run id as a person reads and types it: the shortest prefix no other run in the
/// store starts with, at least 8 characters (`model::run_prefix`, as `baton inbox`
/// prints it), so that what the console shows is a prefix `baton` accepts. The run
/// list is the store's (once its older runs are read).
pub(crate) fn short_id<'a>(id: &'a str, listed: &RunIds) -> &'a str {
    let ids = &listed.0;
    let (before, after) = match ids.binary_search_by(|x| x.as_str().cmp(id)) {
        Ok(i) => (i.checked_sub(1), i + 1),
        Err(i) => (i.checked_sub(1), i),
    };
    let near = [before, Some(after)]
        .into_iter()
        .flatten()
        .filter_map(|i| ids.get(i))
        .map(String::as_str);
    baton_model::run_prefix::prefix(id, near)
}

impl UiState {
    /// The store's runs as the session published them, and their ids in order.
    pub fn set_runs(&mut self, runs: baton_model::SharedRuns) {
        // Most new lists are one run's counts moving: the ids, and so their order, are
        // those already known, and a year of them is not sorted again.
        let same_ids = runs.len() == self.runs.len()
            && runs.iter().zip(self.runs.iter()).all(|(a, b)| a.id == b.id);
        if !same_ids {
            self.run_ids = RunIds::of(&runs);
            // A run gone from the whole list (deleted here or elsewhere) is no diff's
            // mark: a hidden one would make the next `D` a run not found.
            if !self.runs_partial
                && let Some(m) = &self.diff_mark
                && !runs.iter().any(|r| &r.id == m)
            {
                self.diff_mark = None;
            }
        }
        self.runs = runs;
    }

    /// Whether the screen needs every run of the store while only its newest page is
    /// here: the Runs tab lists them, a jump (`:`) looks a run up among them.
    pub fn wants_all_runs(&self) -> bool {
        self.runs_partial && (self.tab == Tab::Runs || self.jump.is_some())
    }

    /// The Runs tab's lines: indices into `runs`, filtered and sorted (`now` ends the
    /// runs still going, for the duration order).
    pub fn visible_runs(&self, now: Timestamp) -> Vec<usize> {
        let f = super::filter::Filter::parse(&self.runs_filter);
        let mut v: Vec<usize> = (0..self.runs.len())
            .filter(|&i| f.matches_on(&*self.runs[i], &self.desk))
            .collect();
        let r = &self.runs;
        let took = |i: usize| r[i].clock_end(now).since(r[i].started_at);
        let live = |i: usize| !r[i].state.is_final() && r[i].state != RunState::Interrupted;
        match self.runs_sort {
            RunsSort::Started => v.sort_by_key(|&i| std::cmp::Reverse(r[i].started_at)),
            RunsSort::Duration => v.sort_by_key(|&i| std::cmp::Reverse(took(i))),
            RunsSort::State => v.sort_by_key(|&i| {
                (
                    !live(i),
                    r[i].state.as_str(),
                    std::cmp::Reverse(r[i].started_at),
                )
            }),
        }
        v
    }

    /// The line of the Runs tab that shows run `id`, if it is shown.
    pub fn run_row(&self, now: Timestamp, id: &str) -> Option<usize> {
        let runs = &self.runs;
        self.visible_runs(now)
            .iter()
            .position(|&i| runs[i].id == id)
    }

    /// What tells each of `runs` from the other runs of its workflow in the store's
    /// list (`model::labels::Apart`): its labels, or else its params that differ
    /// (never a secret's); empty when nothing does. One pass over the list.
    pub(crate) fn told_apart(&self, runs: &[&RunSummary]) -> Vec<String> {
        let workflows: std::collections::HashSet<&str> =
            runs.iter().map(|r| r.workflow.as_str()).collect();
        let apart = baton_model::labels::Apart::new(
            self.runs
                .iter()
                .map(|r| &**r)
                .filter(|r| workflows.contains(r.workflow.as_str())),
        );
        runs.iter().map(|r| apart.of(r)).collect()
    }

    /// [`UiState::told_apart`] of the runs `ids` name, by id (a run not listed: none).
    pub(crate) fn told_apart_ids(&self, ids: &[&str]) -> std::collections::HashMap<String, String> {
        let wanted: std::collections::HashSet<&str> = ids.iter().copied().collect();
        let found: Vec<&RunSummary> = self
            .runs
            .iter()
            .map(|r| &**r)
            .filter(|r| wanted.contains(r.id.as_str()))
            .collect();
        let told = self.told_apart(&found);
        found.iter().map(|r| r.id.clone()).zip(told).collect()
    }

    /// The run the Runs tab's selection is on.
    pub fn selected_run(&self, now: Timestamp) -> Option<&RunSummary> {
        let vis = self.visible_runs(now);
        vis.get(self.run_sel.min(vis.len().saturating_sub(1)))
            .map(|&i| &*self.runs[i])
    }
}

/// The Runs tab's keys: move, filter, sort, delete, open and resume the selected run.
pub(super) fn runs_tab(ui: &mut UiState, view: &RunView, action: Action) -> Vec<Request> {
    let now = ui.store_clock(view);
    let shown = ui.visible_runs(now).len();
    move_sel(&mut ui.run_sel, shown, &action);
    let run = ui.selected_run(now).cloned();
    match (action, run) {
        (Action::Filter, _) => ui.filter_editing = true,
        (Action::Diff, selected) => return super::run_diff::key(ui, selected.as_ref()),
        (Action::Back, selected) => {
            ui.runs_filter.clear();
            // The selection stays on its run, the whole list back around it.
            ui.run_sel = selected.and_then(|s| ui.run_row(now, &s.id)).unwrap_or(0);
        }
        (Action::Sort, selected) => {
            ui.runs_sort = ui.runs_sort.next();
            // The selection stays on its run in the new order.
            ui.run_sel = selected.and_then(|s| ui.run_row(now, &s.id)).unwrap_or(0);
            let label = ui.runs_sort.label();
            toast(ui, format!("runs {label} (s: next order)"), true);
        }
        (Action::Delete, Some(r)) if ui.driven.contains(&r.id) => toast(
            ui,
            format!(
                "✘ this console drives run {}: quit or cancel it first",
                short_id(&r.id, &ui.run_ids)
            ),
            false,
        ),
        (Action::Delete, Some(r)) => {
            ui.dialog = Some(Dialog::Confirm(ConfirmDialog {
                what: ConfirmWhat::DeleteRun,
                yes: false,
                runs: vec![r.id.clone()],
                button: Default::default(),
            }));
        }
        (Action::Enter, Some(r)) => return open_run(ui, r.id),
        // `c` cancels the highlighted run, whichever run is on screen.
        (Action::CancelRun, Some(r)) => ask_cancel(ui, view, &r.id, r.state),
        (Action::CancelRun, None) => toast(ui, "✘ no run selected: nothing to cancel", false),
        (Action::RetryFailed, Some(r)) => return super::retry_failed::ask(ui, r.id),
        (Action::Note, r) => return super::note::on_run(ui, r.as_ref()),
        (Action::Hold, Some(r)) => {
            // The run on screen says what it takes; another is asked to hold, and its
            // engine's refusal says why not.
            let release = r.id == view.run_id && view.actions.release && !view.actions.hold;
            // Named with its workflow: runs of one workflow look alike.
            let named = format!("{} ({})", short_id(&r.id, &ui.run_ids), r.workflow);
            let d = super::hold::HoldDialog::run(&r.id, &named, release);
            return super::hold::ask(ui, d);
        }
        (Action::Resume, Some(r)) if r.state == RunState::Interrupted => {
            let short = short_id(&r.id, &ui.run_ids).to_string();
            toast(
                ui,
                format!(
                    "… resuming run {short} ({}): this console takes it over and becomes its engine",
                    r.workflow
                ),
                true,
            );
            return vec![Request::Resume(r.id)];
        }
        (Action::Resume, Some(r)) => toast(
            ui,
            format!(
                "✘ run {} is {}: only an interrupted run can be resumed",
                short_id(&r.id, &ui.run_ids),
                r.state
            ),
            false,
        ),
        _ => {}
    }
    Vec::new()
}

/// `c` on a run (the Runs tab's selected one, the Waiting tab's item's): the dialog
/// names that run, or why it cannot be cancelled. The run on screen says what it takes;
/// another is cancellable until it ends (one no engine drives is taken over).
pub(super) fn ask_cancel(ui: &mut UiState, view: &RunView, id: &str, state: RunState) {
    let (can, state) = if id == view.run_id {
        (view.actions.cancel, view.state)
    } else {
        (!state.is_final(), state)
    };
    if can {
        ui.dialog = Some(Dialog::Confirm(ConfirmDialog {
            what: ConfirmWhat::CancelRun,
            yes: false,
            runs: vec![id.to_string()],
            button: Default::default(),
        }));
    } else {
        let short = short_id(id, &ui.run_ids);
        let workflow = ui
            .runs
            .iter()
            .find(|r| r.id == id)
            .map_or(String::new(), |r| format!(" ({})", r.workflow));
        let text = format!("✘ run {short}{workflow} is {state}: nothing to cancel");
        toast(ui, text, false);
    }
}

/// Open another run: it arrives as a new view, shown on its DAG, following (the Runs
/// tab's Enter and `:`).
pub(super) fn open_run(ui: &mut UiState, id: String) -> Vec<Request> {
    ui.tab = Tab::Dag;
    ui.follow = true;
    ui.filter.clear();
    (ui.gate_sel, ui.error_sel, ui.audit_sel) = (0, 0, 0);
    vec![Request::OpenRun(id)]
}

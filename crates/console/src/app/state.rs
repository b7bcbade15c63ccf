//! `UiState`: everything the console shows besides the `RunView`.
use super::actions::{Hits, Tab};
use super::dag::matches_filter;
use super::dialogs::Dialog;
use super::log::LogState;
use super::runs::RunsSort;
use crate::keymap::Context;
use crate::layout::{self, DagLayout};
use baton_model::{RunState, RunView, StepState, Timestamp};
use std::sync::Arc;

/// Above this many steps the DAG tab starts in list mode.
pub(crate) const LIST_MODE_ABOVE: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlay {
    Help,
    Health,
    /// Others' decisions seen so far (`!`).
    Notices,
    /// What this console did (`@`).
    ActionLog,
    /// Index into `RunView::errors`.
    ErrorDetail(usize),
    /// An `[[action]]` run's output (its id, `app::user_actions`).
    ActionOutput(u64),
    /// What changed between two runs (`UiState::run_diff`, `app::run_diff`).
    RunDiff,
    /// A step across runs of its workflow (`UiState::history`, `app::history`).
    History,
    /// A console over several stores: each store, where it is and its state (`:stores`).
    Stores,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toast {
    pub text: String,
    pub ok: bool,
    /// When it appeared (the console's clock); it goes after [`TOAST_OK_FOR`] or
    /// [`TOAST_ERROR_FOR`]. `None` in a console without a clock (tests): it stays.
    pub at: Option<Timestamp>,
}

/// How long a success stays on the status line; a refusal stays longer.
pub(crate) const TOAST_OK_FOR: std::time::Duration = std::time::Duration::from_secs(5);
pub(crate) const TOAST_ERROR_FOR: std::time::Duration = std::time::Duration::from_secs(30);

/// Everything the console shows besides the `RunView`.
#[derive(Debug, Default)]
pub struct UiState {
    /// Who commands are sent as (the OS account running baton, see `session::identity`).
    pub operator: String,
    pub tab: Tab,
    /// The store's runs, for the Runs tab (kept current by the event loop through
    /// [`UiState::set_runs`], with `run_ids`).
    pub runs: baton_model::SharedRuns,
    /// `true` while `runs` is the store's newest page only (the rest is being read).
    pub runs_partial: bool,
    /// `runs`' ids in order, for short ids.
    pub run_ids: super::runs::RunIds,
    /// Wall clock for elapsed times and countdowns between view updates; `view.now` if unset.
    pub now: Option<Timestamp>,
    /// `Some(true)`: list, `Some(false)`: graph; `None`: by size.
    pub list_mode: Option<bool>,
    /// The graph zoomed out (`z`): one cell per step.
    pub overview: bool,
    /// Selection follows the running steps until the operator moves it.
    pub follow: bool,
    pub selected: usize,
    pub filter: String,
    pub filter_editing: bool,
    /// The `:` prompt while it is open: a run id's start or a step id.
    pub jump: Option<String>,
    pub gate_sel: usize,
    pub error_sel: usize,
    pub audit_sel: usize,
    /// The selected line of the Runs tab (an index into [`UiState::visible_runs`]).
    pub run_sel: usize,
    /// The run `D` marked in the Runs tab: `D` on another shows what changed.
    pub diff_mark: Option<String>,
    /// The diff of two runs the overlay shows (`Overlay::RunDiff`).
    pub run_diff: Option<Arc<baton_link::RunsDiff>>,
    /// The step's history the overlay shows (`Overlay::History`).
    pub(crate) history: Option<super::history::StepHistory>,
    /// A run opened from a step's history, and that step: selected once its view is here.
    pub(crate) open_on_step: Option<(String, String)>,
    /// The Runs tab's filter (`/`): words of an id, workflow or operator, `state:NAME`,
    /// `wf:NAME`.
    pub runs_filter: String,
    /// The other lists' filters (`/`, the same syntax, `app::filter`).
    pub waiting_filter: String,
    pub gates_filter: String,
    pub errors_filter: String,
    pub audit_filter: String,
    pub schedules_filter: String,
    /// The help's search (`/` in `?`) and its selected key (an index into the keys it
    /// shows), which Enter runs.
    pub help_filter: String,
    pub help_sel: usize,
    /// What was selected when the filter being typed was opened: each keystroke puts
    /// the selections back on it where the filter shows it (issue 45 point 3).
    pub(super) typing_from: Option<super::keep::Picked>,
    /// The keys in force (the shell sets the config's): the help lists and runs them.
    pub keys: Arc<crate::keymap::Keymap>,
    pub runs_sort: RunsSort,
    /// What waits on the operator across every run (kept current by the event loop).
    pub waiting: Arc<Vec<baton_model::inbox::Waiting>>,
    /// The selected line of the Waiting tab.
    pub wait_sel: usize,
    /// The item the Waiting tab's selection was on when it left the list: the
    /// selection stays on it, greyed, until the operator moves (`app::waiting`).
    pub(crate) wait_gone: Option<super::waiting::WaitGone>,
    /// What `baton serve` serves (kept current by the event loop).
    pub schedules: Arc<baton_link::Board>,
    /// The selected line of the Schedules tab.
    pub sched_sel: usize,
    /// Decisions others recorded in the store (`app::notices`), oldest first.
    pub notices: Vec<super::notices::DecisionNotice>,
    /// The newest audit row `notices` has looked at (`session::news`).
    pub news_seen: i64,
    /// This console's own commands, so that their decisions are not news.
    pub(super) sent: Vec<super::notices::Sent>,
    /// How long the shown run's steps took before (`baton_link::Expected`): the
    /// header's estimate goes by them.
    pub expected: Arc<baton_link::Expected>,
    /// The tab `Enter` left for the DAG (a run opened from Runs or Waiting): `Esc` there
    /// goes back to it, as k9s does (issue 45 point 7).
    pub came_from: Option<Tab>,
    /// The run asked to open (Enter, `:`, a schedule's row, `R`, a start from the run
    /// form), until its view arrives ([`UiState::view_arrived`]): meanwhile the header and the run's own tabs say so
    /// instead of showing the run that was on screen, and keys that act on the run on
    /// screen wait for it.
    pub opening: Option<String>,
    /// What this console did (`@`, `app::action_log`), oldest first.
    pub action_log: Vec<super::action_log::Logged>,
    /// The configuration's `[[action]]`s (the shell sets them; `Action::User` indexes them).
    pub actions: Arc<Vec<baton_link::config::UserAction>>,
    /// The store's path, for `{db}` in an `[[action]]` (the shell sets it).
    pub db: Option<String>,
    /// The `[[action]]` runs started here, oldest first (`app::user_actions`).
    pub user_runs: Vec<super::user_actions::UserRun>,
    pub overlay: Option<Overlay>,
    pub overlay_scroll: usize,
    /// The action output pane shows its end, and keeps showing it as output comes,
    /// until scrolled up (as the log follows; `overlay_scroll` is its first row then).
    pub pane_follow: bool,
    pub log: Option<LogState>,
    /// The focused running step's latest output, read by the shell as it arrives
    /// (`(step index, lines)`); the detail pane prefers it to the view's tail.
    pub tail: Option<(usize, Arc<Vec<String>>)>,
    pub dialog: Option<Dialog>,
    pub toast: Option<Toast>,
    /// Times as wall-clock (`14:03:22`) instead of relative (`3m ago`); `t` toggles.
    pub wall_clock: bool,
    /// `baton tui --readonly`: look, never act (no approve, reject, retry, cancel,
    /// resume offered or done).
    pub readonly: bool,
    /// The zone wall-clock times are shown in; the local one when unset (tests fix it).
    pub utc_offset: Option<chrono::FixedOffset>,
    /// Commands sent and not answered yet.
    pub pending: usize,
    /// The dialog the last command was sent from, until its verdict: when the core
    /// refuses the command as given (a reason required, inputs that do not fit), the
    /// dialog opens again as it was, the refusal's words under it.
    pub sent_from: Option<Dialog>,
    /// Where the last frame drew clickable things.
    pub hits: Hits,
    /// The runs this console's process drives, as the session says them now: quitting
    /// interrupts or detaches exactly these. An open quit dialog names them when drawn
    /// and answered; once none is left it stays open and says so (a key meant for it
    /// never lands on the screen behind), and Detach or Interrupt then only quit.
    pub driven: Arc<Vec<String>>,
    /// A store on another host: its name and its link's state, in the header.
    pub store: Option<Arc<baton_link::StoreStatus>>,
    /// A console over several stores: each store's state, and which store each listed
    /// run is on (empty over one store).
    pub desk: Arc<baton_link::Desk>,
    /// Since when this console watches (its link adopted): a gate that opened before
    /// is no news (`signal::desk_notices`).
    pub watching_since: Option<Timestamp>,
    /// What `q` does while this console drives runs (the config's `on_quit`).
    pub on_quit: baton_link::config::OnQuit,
    /// The fanned-out steps opened to their instances (by id), `app::fan`.
    pub expanded: std::collections::BTreeSet<String>,
    /// The DAG layout of the run shown (its id, step count and the steps opened then),
    /// kept by [`UiState::keep_layout`].
    layout: Option<LayoutKey>,
}

/// What a kept layout was computed for, and the layout.
type LayoutKey = (
    String,
    usize,
    std::collections::BTreeSet<String>,
    Arc<DagLayout>,
);

impl UiState {
    /// The run asked to open while `view` is still another run's.
    pub(crate) fn opening_other(&self, view: &RunView) -> Option<&str> {
        self.opening.as_deref().filter(|id| *id != view.run_id)
    }

    /// The view on screen: the run asked to open is open once it is this one.
    pub(crate) fn view_arrived(&mut self, view: &RunView) {
        if self.opening.as_deref() == Some(view.run_id.as_str()) {
            self.opening = None;
        }
        if let Some((run, step)) = self.open_on_step.take() {
            if run == view.run_id && !view.steps.is_empty() {
                self.select_step(view, &step);
            } else if self.opening.is_some() || run == view.run_id {
                // Not here yet (or its steps not yet): kept for its view.
                self.open_on_step = Some((run, step));
            }
        }
    }

    /// Select `step` on the DAG (as `:STEP` does), when the run has it.
    pub(crate) fn select_step(&mut self, view: &RunView, step: &str) {
        if let Some(i) = view.step_index(step) {
            self.tab = super::actions::Tab::Dag;
            self.selected = i;
            self.follow = false;
            self.filter.clear();
        }
    }

    /// A new view came: besides [`UiState::view_arrived`], one of no run ends the wait
    /// too. It is the session's word that it could not show the run asked for (a
    /// history that does not replay, a run deleted, a store not connected), and its
    /// title says why: waiting on would hide that behind `opening run…`.
    pub(crate) fn new_view(&mut self, next: &RunView) {
        if next.run_id.is_empty() {
            self.opening = None;
        }
        self.view_arrived(next);
    }

    pub fn new(operator: impl Into<String>) -> UiState {
        UiState {
            operator: operator.into(),
            follow: true,
            ..UiState::default()
        }
    }

    /// The context the keymap resolves keys in.
    pub fn context(&self) -> Context {
        match (&self.dialog, &self.overlay, &self.log) {
            (Some(Dialog::Gate(_)), _, _) => Context::GateDialog,
            (Some(Dialog::Budget(_)), _, _) => Context::BudgetDialog,
            (Some(Dialog::Confirm(_)), _, _) => Context::Confirm,
            (Some(Dialog::Refused(_)), _, _) => Context::Refused,
            (Some(Dialog::Mark(_)), _, _) => Context::MarkDialog,
            (Some(Dialog::Schedule(_)), _, _) => Context::ScheduleDialog,
            (Some(Dialog::Hold(_)), _, _) => Context::HoldDialog,
            (Some(Dialog::Note(_)), _, _) => Context::NoteDialog,
            (Some(Dialog::RunForm(_)), _, _) => Context::RunForm,
            (Some(Dialog::Fork(_)), _, _) => Context::ForkForm,
            (None, Some(Overlay::Help), _) if self.filter_editing => Context::FilterInput,
            (None, Some(Overlay::Help), _) => Context::Help,
            (None, Some(_), _) => Context::Overlay,
            (None, None, Some(l)) if l.searching => Context::SearchInput,
            (None, None, Some(_)) => Context::Log,
            _ if self.filter_editing => Context::FilterInput,
            _ if self.jump.is_some() => Context::JumpInput,
            _ => Context::Tab(self.tab),
        }
    }

    /// The shown run's clock: stopped at its engine's last sign of life once the run is
    /// known interrupted ([`RunView::clock_at`]).
    pub fn clock(&self, view: &RunView) -> Timestamp {
        view.clock_at(self.store_clock(view))
    }

    /// The wall clock, for what is not the shown run (the store's runs, notices).
    pub fn store_clock(&self, view: &RunView) -> Timestamp {
        self.now.map_or(view.now, |n| n.max(view.now))
    }

    /// The filter being typed or shown: the help's over it, else the tab's.
    pub fn active_filter(&self) -> &str {
        if self.overlay == Some(Overlay::Help) {
            return &self.help_filter;
        }
        (self.tab.spec().filter.text)(self)
    }

    /// The filter being typed, to edit.
    pub fn active_filter_mut(&mut self) -> &mut String {
        if self.overlay == Some(Overlay::Help) {
            return &mut self.help_filter;
        }
        (self.tab.spec().filter.text_mut)(self)
    }

    /// How long step `id` of the run on screen took before, if known.
    pub fn expected(&self, view: &RunView, id: &str) -> Option<std::time::Duration> {
        (self.expected.run_id == view.run_id)
            .then(|| self.expected.ms.get(id))
            .flatten()
            .map(|ms| std::time::Duration::from_millis(*ms))
    }

    /// Why the durations of the run on screen's steps could not be read, if they could
    /// not (`Expected::unread`).
    pub fn expected_unread(&self, view: &RunView) -> Option<&str> {
        (self.expected.run_id == view.run_id)
            .then_some(self.expected.unread.as_deref())
            .flatten()
    }

    /// Drop the toast once it has been shown long enough at `now`; true if it went.
    pub fn expire_toast(&mut self, now: Timestamp) -> bool {
        let old = self.toast.as_ref().is_some_and(|t| {
            let keep = if t.ok { TOAST_OK_FOR } else { TOAST_ERROR_FOR };
            t.at.is_some_and(|at| now.since(at) >= keep)
        });
        if old {
            self.toast = None;
        }
        old
    }

    /// `t` on the wall clock, in the console's zone, with the date when not `now`'s day.
    pub fn wall(&self, t: Timestamp, now: Timestamp) -> String {
        t.wall(now, self.offset(now))
    }

    /// The console's zone at `now`: the local one unless set.
    pub fn offset(&self, now: Timestamp) -> chrono::FixedOffset {
        self.utc_offset.unwrap_or_else(|| now.local_offset())
    }

    /// By size: the workflow's steps (a fanned-out step is one node, whatever its
    /// instances).
    pub fn is_list_mode(&self, view: &RunView) -> bool {
        self.list_mode
            .unwrap_or(baton_model::fan::plan_len(view) > LIST_MODE_ABOVE)
    }

    /// The DAG layout of the view: the one kept for this run, else computed now.
    pub fn layout(&self, view: &RunView) -> Arc<DagLayout> {
        match &self.layout {
            Some((id, n, open, l))
                if *id == view.run_id && *n == view.steps.len() && *open == self.expanded =>
            {
                l.clone()
            }
            _ => Arc::new(dag_layout(view, self)),
        }
    }

    /// Keep the view's layout so that it is computed once per run and per set of opened
    /// steps (the graph does not change otherwise): the shell calls this before
    /// drawing, `update` before moving in the graph.
    pub fn keep_layout(&mut self, view: &RunView) {
        let l = self.layout(view);
        self.layout = Some((
            view.run_id.clone(),
            view.steps.len(),
            self.expanded.clone(),
            l,
        ));
    }

    /// A new view replaces `old`: while following, remember the step followed so far, so
    /// that when nothing is live any more (the gate was rejected, the run ended) the
    /// focus stays where it was instead of jumping to the first step.
    pub fn keep_focus(&mut self, old: &RunView) {
        if self.follow
            && let Some(f) = self.focus(old)
        {
            self.selected = f;
        }
    }

    /// The step the DAG tab focuses: while following, the first running step (else one
    /// waiting for approval, retrying, a ready service, or the first that failed); else
    /// the selection.
    pub fn focus(&self, view: &RunView) -> Option<usize> {
        if view.steps.is_empty() {
            return None;
        }
        if self.follow {
            let live = |st: StepState| {
                view.steps
                    .iter()
                    .position(|s| s.state == st && matches_filter(s, &self.filter))
            };
            // A ready service runs too, but says less than a step at work or a gate.
            if let Some(i) = live(StepState::Running)
                .or_else(|| live(StepState::WaitingApproval))
                .or_else(|| live(StepState::RetryWait))
                .or_else(|| live(StepState::Ready))
                // Nothing at work (a failed run just opened): the first step that
                // failed, where the operator looks first (the selection, if it failed).
                .or_else(|| {
                    let failed = |s: &baton_model::StepView| {
                        (s.state.is_failure() || s.state == StepState::CompensationFailed)
                            && matches_filter(s, &self.filter)
                    };
                    let sel = self.selected.min(view.steps.len() - 1);
                    if failed(&view.steps[sel]) {
                        Some(sel)
                    } else {
                        view.steps.iter().position(failed)
                    }
                })
            {
                return Some(self.node_of(view, i));
            }
        }
        let sel = self.node_of(view, self.selected.min(view.steps.len() - 1));
        if super::fan::rows_match(view, sel, &self.filter) {
            Some(sel)
        } else {
            super::fan::shown_steps(view, self)
                .first()
                .copied()
                .or(Some(sel))
        }
    }
}

/// A run is live while it can still start or finish steps: quitting then interrupts it.
pub(crate) fn run_is_live(view: &RunView) -> bool {
    matches!(
        view.state,
        RunState::Pending | RunState::Running | RunState::Waiting
    )
}

/// The graph's layers and places, with each layer's widest node: the steps the graph
/// draws (`app::fan::graph_steps`: an opened step's instances after it, as its
/// dependants), a step not drawn placed where its fanned-out step is.
fn dag_layout(view: &RunView, ui: &UiState) -> DagLayout {
    let drawn = super::fan::graph_steps(view, ui);
    let mut at = vec![usize::MAX; view.steps.len()];
    for (c, &i) in drawn.iter().enumerate() {
        at[i] = c;
    }
    let needs: Vec<Vec<usize>> = drawn
        .iter()
        .map(|&i| match view.steps[i].parent {
            Some(p) => vec![at[p]],
            None => view.steps[i]
                .needs
                .iter()
                .filter_map(|&d| at.get(d).copied().filter(|&c| c != usize::MAX))
                .collect(),
        })
        .collect();
    let mut l = layout::layout(&needs);
    for slot in l.layers.iter_mut().flatten() {
        slot.step = slot.step.map(|c| drawn[c]);
    }
    let mut place = vec![(0, 0); view.steps.len()];
    for (c, &i) in drawn.iter().enumerate() {
        place[i] = l.place[c];
    }
    if drawn.len() < view.steps.len() {
        for i in 0..view.steps.len() {
            if let (usize::MAX, Some(p)) = (at[i], view.steps[i].parent) {
                place[i] = place[p];
            }
        }
    }
    l.place = place;
    l.label_width = l
        .layers
        .iter()
        .map(|layer| {
            layer
                .iter()
                .filter_map(|s| s.step)
                .map(|i| super::fan::node_width(&view.steps[i]))
                .max()
                .unwrap_or(1)
        })
        .collect();
    l
}

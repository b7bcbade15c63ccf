//! The console's own state (what is selected, which tab, open dialogs) and the pure
//! `update` that turns an operator action into new UI state plus requests for the
//! shell (commands to the engine, open a run, resume, exit).
use super::keymap::Context;
use super::layout::{self, DagLayout};
use crate::model::{
    Command, CommandOutcome, GateView, RunState, RunSummary, RunView, StepState, Timestamp,
};
use crossterm::event::KeyEvent;
use ratatui_textarea::TextArea;
use std::sync::{Arc, Mutex};

/// Above this many steps the DAG tab starts in list mode.
pub const LIST_MODE_ABOVE: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tab {
    #[default]
    Dag,
    Approvals,
    Errors,
    Audit,
    Runs,
}

impl Tab {
    pub const ALL: [Tab; 5] = [Tab::Dag, Tab::Approvals, Tab::Errors, Tab::Audit, Tab::Runs];
    pub fn title(self) -> &'static str {
        match self {
            Tab::Dag => "DAG",
            Tab::Approvals => "Approvals",
            Tab::Errors => "Errors",
            Tab::Audit => "Audit",
            Tab::Runs => "Runs",
        }
    }
    fn index(self) -> usize {
        Tab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }
}

/// What the operator asked for (from the keymap) or what the shell reports back.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Top,
    Bottom,
    GoTab(Tab),
    NextTab,
    PrevTab,
    Enter,
    Approve,
    Reject,
    Retry,
    CancelRun,
    Filter,
    Log,
    ToggleGraph,
    /// Graph: zoom out to one cell per step, the viewport marked (and back).
    Overview,
    ToggleHealth,
    /// Every time in the console: relative (`3m ago`, `+4m12s`) or wall clock.
    ToggleTime,
    /// Put the selected thing on the clipboard (OSC 52).
    Copy,
    /// Runs tab: the next sort order (started, duration, state).
    Sort,
    /// Runs tab: delete the selected run (asks first).
    Delete,
    /// The answer to a delete request.
    Deleted {
        run_id: String,
        result: Result<String, String>,
    },
    /// A left click at a screen cell: selects what was drawn there.
    Click {
        col: u16,
        row: u16,
    },
    Help,
    Quit,
    /// Esc: close or clear whatever is on top.
    Back,
    Resume,
    Follow,
    Wrap,
    /// Show when each log line was written.
    Timestamps,
    /// The log of the step's previous / next attempt.
    PrevAttempt,
    NextAttempt,
    Search,
    SearchNext,
    SearchPrev,
    /// Enter in a dialog or an input line.
    Confirm,
    NewLine,
    Yes,
    No,
    SwitchButton,
    /// A key for a text field (filter, search, reason).
    Key(KeyEvent),
    /// The engine's answer to a command sent earlier.
    Outcome(CommandOutcome),
    /// The answer to a resume request.
    Resumed {
        run_id: String,
        result: Result<(), String>,
    },
}

/// How the console ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsoleExit {
    Quit,
    /// The operator confirmed quitting while steps run: interrupt the run (it stays resumable).
    Interrupt,
}

/// What `update` asks the shell to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    Command(Command),
    /// Delete a run from the store (the session's `runs rm`).
    DeleteRun(String),
    /// Put this text on the clipboard.
    Copy(String),
    OpenRun(String),
    Resume(String),
    Exit(ConsoleExit),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject,
}

#[derive(Debug, Clone)]
pub struct GateDialog {
    pub decision: Decision,
    pub step_id: String,
    pub reason: TextArea<'static>,
    /// Shown under the reason box (e.g. "a reason is required to reject").
    pub error: Option<String>,
}

/// One exhausted limit in the budget dialog: what is used of what, and the raise typed.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetField {
    /// `cost`, `calls` or `tokens` (the names `baton approve RUN --raise` takes).
    pub limit: &'static str,
    pub used: f64,
    pub ceiling: f64,
    /// The amount to raise it by, as typed.
    pub raise: String,
}

/// Raise the budget: every exhausted limit with an amount each, and one reason.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetDialog {
    pub fields: Vec<BudgetField>,
    pub reason: String,
    /// The field being typed in: `fields.len()` is the reason.
    pub focus: usize,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfirmWhat {
    CancelRun,
    Quit,
    /// Delete the run named in the dialog's `runs`.
    DeleteRun,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmDialog {
    pub what: ConfirmWhat,
    /// The selected button; destructive confirmations start on No.
    pub yes: bool,
    /// For a quit: the runs this console drives, which quitting interrupts.
    pub runs: Vec<String>,
}

#[derive(Debug, Clone)]
pub enum Dialog {
    Gate(Box<GateDialog>),
    Budget(Box<BudgetDialog>),
    Confirm(ConfirmDialog),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlay {
    Help,
    Health,
    /// Index into `RunView::errors`.
    ErrorDetail(usize),
}

/// The full-screen log. `update` moves through it knowing only how many lines there are
/// and how many rows show; the shell (`event_loop`) reads the file and keeps `window`
/// covering what is on screen, and runs searches (`find`) over the whole file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogState {
    pub step: usize,
    /// The attempt shown; `None`: the step's latest (a new attempt is followed).
    pub attempt: Option<u32>,
    /// The first line shown while not following.
    pub top: usize,
    /// Show the end and keep showing it as output arrives.
    pub follow: bool,
    pub wrap: bool,
    /// Prefix each line with the time it was written.
    pub timestamps: bool,
    pub search: String,
    pub searching: bool,
    /// The marked line: the current match, or a line clicked (`y` copies it, and the
    /// next search starts from it).
    pub matched: Option<usize>,
    /// A search the shell is asked to run: forward (`n`) or backward (`N`).
    pub find: Option<bool>,
    /// Lines in the log so far (set by the shell).
    pub total: usize,
    /// Rows of text on screen (set by the shell from the terminal's size).
    pub rows: usize,
    /// Lines `window_start..` of the log, as the shell read them.
    pub window_start: usize,
    pub window: std::sync::Arc<Vec<String>>,
    /// When each line of `window` was written, if known (same length or empty).
    pub times: std::sync::Arc<Vec<Option<Timestamp>>>,
    /// Where the lines come from, for the title (a file path or "the recorded tail").
    pub source: Option<String>,
}

impl LogState {
    pub fn new(step: usize, attempt: Option<u32>) -> LogState {
        LogState {
            step,
            attempt,
            top: 0,
            follow: true,
            wrap: false,
            timestamps: false,
            search: String::new(),
            searching: false,
            matched: None,
            find: None,
            total: 0,
            rows: 0,
            window_start: 0,
            window: Default::default(),
            times: Default::default(),
            source: None,
        }
    }

    /// The last `top` there is: the one that shows the last line at the bottom.
    pub fn max_top(&self) -> usize {
        self.total.saturating_sub(self.rows.max(1))
    }

    /// The first line on screen (following: the last page).
    pub fn first_shown(&self) -> usize {
        if self.follow {
            self.max_top()
        } else {
            self.top.min(self.max_top())
        }
    }

    /// The lines the screen needs: at most a screenful from the first shown (a wrapped
    /// line takes at least one row).
    pub fn needed(&self) -> std::ops::Range<usize> {
        let start = self.first_shown();
        start..(start + self.rows.max(1)).min(self.total)
    }

    /// Line `i` of the log, if it is in the window.
    pub fn line(&self, i: usize) -> Option<&str> {
        i.checked_sub(self.window_start)
            .and_then(|j| self.window.get(j))
            .map(String::as_str)
    }

    /// When line `i` was written, if known.
    pub fn time(&self, i: usize) -> Option<Timestamp> {
        i.checked_sub(self.window_start)
            .and_then(|j| self.times.get(j).copied().flatten())
    }

    /// The attempt shown, given the step's latest.
    pub fn attempt_of(&self, latest: u32) -> u32 {
        self.attempt.unwrap_or(latest).min(latest)
    }
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
pub const TOAST_OK_FOR: std::time::Duration = std::time::Duration::from_secs(5);
pub const TOAST_ERROR_FOR: std::time::Duration = std::time::Duration::from_secs(30);

type LayoutCache = Mutex<Option<(String, usize, Arc<DagLayout>)>>;

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

/// Whether a run passes the Runs tab's filter: every word must match.
pub fn run_matches(r: &RunSummary, filter: &str) -> bool {
    filter.split_whitespace().all(|term| {
        let t = term.to_lowercase();
        if let Some(st) = t.strip_prefix("state:") {
            r.state.as_str().starts_with(st)
        } else if let Some(wf) = t.strip_prefix("wf:") {
            r.workflow.to_lowercase().contains(wf)
        } else {
            r.id.to_lowercase().contains(&t)
                || r.workflow.to_lowercase().contains(&t)
                || r.operator.to_lowercase().contains(&t)
        }
    })
}

/// What is wrong with a Runs filter: a `state:` term that starts no run state.
pub fn runs_filter_problem(filter: &str) -> Option<String> {
    filter.split_whitespace().find_map(|term| {
        let st = term.to_lowercase().strip_prefix("state:")?.to_string();
        let known = RunState::ALL.iter().any(|s| s.as_str().starts_with(&st));
        (!known).then(|| {
            let names: Vec<&str> = RunState::ALL.iter().map(|s| s.as_str()).collect();
            format!("no run state starts with `{st}`: {}", names.join(", "))
        })
    })
}

/// Something a click selects, recorded by the views where they draw it (so what is
/// clicked is exactly what is on screen).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hit {
    Tab(Tab),
    Step(usize),
    Gate(usize),
    Error(usize),
    Audit(usize),
    Run(usize),
    /// A line of the full-screen log.
    LogLine(usize),
}

/// Everything the console shows besides the `RunView`.
#[derive(Debug, Default)]
pub struct UiState {
    /// Who commands are sent as (the OS account running baton, see `session::identity`).
    pub operator: String,
    pub tab: Tab,
    /// The store's runs, for the Runs tab (kept current by the event loop).
    pub runs: Arc<Vec<RunSummary>>,
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
    pub gate_sel: usize,
    pub error_sel: usize,
    pub audit_sel: usize,
    /// The selected line of the Runs tab (an index into [`UiState::visible_runs`]).
    pub run_sel: usize,
    /// The Runs tab's filter (`/`): words of an id, workflow or operator, `state:NAME`,
    /// `wf:NAME`.
    pub runs_filter: String,
    pub runs_sort: RunsSort,
    pub overlay: Option<Overlay>,
    pub overlay_scroll: usize,
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
    /// Where the last frame drew clickable things.
    hits: Mutex<Vec<(ratatui::layout::Rect, Hit)>>,
    /// The runs this console's process drives: quitting interrupts exactly these.
    pub driven: Arc<Vec<String>>,
    layout: LayoutCache,
}

impl UiState {
    pub fn new(operator: impl Into<String>) -> UiState {
        UiState {
            operator: operator.into(),
            follow: true,
            wall_clock: crate::config::get().time == crate::config::TimeDisplay::Clock,
            ..UiState::default()
        }
    }

    /// The context the keymap resolves keys in.
    pub fn context(&self) -> Context {
        match (&self.dialog, &self.overlay, &self.log) {
            (Some(Dialog::Gate(_)), _, _) => Context::GateDialog,
            (Some(Dialog::Budget(_)), _, _) => Context::BudgetDialog,
            (Some(Dialog::Confirm(_)), _, _) => Context::Confirm,
            (None, Some(_), _) => Context::Overlay,
            (None, None, Some(l)) if l.searching => Context::SearchInput,
            (None, None, Some(_)) => Context::Log,
            _ if self.filter_editing => Context::FilterInput,
            _ => match self.tab {
                Tab::Dag => Context::Dag,
                Tab::Approvals => Context::Approvals,
                Tab::Errors => Context::Errors,
                Tab::Audit => Context::Audit,
                Tab::Runs => Context::Runs,
            },
        }
    }

    pub fn clock(&self, view: &RunView) -> Timestamp {
        self.now.map_or(view.now, |n| n.max(view.now))
    }

    /// The Runs tab's lines: indices into `runs`, filtered and sorted (`now` ends the
    /// runs still going, for the duration order).
    pub fn visible_runs(&self, now: Timestamp) -> Vec<usize> {
        let mut v: Vec<usize> = (0..self.runs.len())
            .filter(|&i| run_matches(&self.runs[i], &self.runs_filter))
            .collect();
        let r = &self.runs;
        let took = |i: usize| r[i].finished_at.unwrap_or(now).since(r[i].started_at);
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

    /// The run the Runs tab's selection is on.
    pub fn selected_run(&self, now: Timestamp) -> Option<&RunSummary> {
        let vis = self.visible_runs(now);
        vis.get(self.run_sel.min(vis.len().saturating_sub(1)))
            .map(|&i| &self.runs[i])
    }

    /// The filter being typed or shown: the Runs tab's on that tab, else the DAG's.
    pub fn active_filter(&self) -> &str {
        if self.tab == Tab::Runs {
            &self.runs_filter
        } else {
            &self.filter
        }
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

    /// Note that `hit` was drawn in `area` (the views call this as they draw).
    pub fn record_hit(&self, area: ratatui::layout::Rect, hit: Hit) {
        self.hits_mut().push((area, hit));
    }

    /// What the last frame drew at a cell; the last drawn wins (it is on top).
    pub fn hit_at(&self, col: u16, row: u16) -> Option<Hit> {
        let pos = ratatui::layout::Position { x: col, y: row };
        self.hits_mut()
            .iter()
            .rev()
            .find(|(r, _)| r.contains(pos))
            .map(|(_, h)| *h)
    }

    /// What the last frame drew, in drawing order.
    pub fn drawn(&self) -> Vec<Hit> {
        self.hits_mut().iter().map(|(_, h)| *h).collect()
    }

    /// A new frame starts: forget the last one's targets.
    pub fn clear_hits(&self) {
        self.hits_mut().clear();
    }

    fn hits_mut(&self) -> std::sync::MutexGuard<'_, Vec<(ratatui::layout::Rect, Hit)>> {
        match self.hits.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// `t` on the wall clock, in the console's zone, with the date when not `now`'s day.
    pub fn wall(&self, t: Timestamp, now: Timestamp) -> String {
        t.wall(now, self.utc_offset.unwrap_or_else(|| now.local_offset()))
    }

    pub fn is_list_mode(&self, view: &RunView) -> bool {
        self.list_mode.unwrap_or(view.steps.len() > LIST_MODE_ABOVE)
    }

    /// The DAG layout of the view, computed once per run (the graph does not change).
    pub fn layout(&self, view: &RunView) -> Arc<DagLayout> {
        let mut cache = match self.layout.lock() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some((id, n, l)) = cache.as_ref()
            && *id == view.run_id
            && *n == view.steps.len()
        {
            return l.clone();
        }
        let needs: Vec<Vec<usize>> = view.steps.iter().map(|s| s.needs.clone()).collect();
        let mut l = layout::layout(&needs);
        l.label_width = l
            .layers
            .iter()
            .map(|layer| {
                layer
                    .iter()
                    .filter_map(|s| s.step)
                    .map(|i| view.steps[i].id.chars().count())
                    .max()
                    .unwrap_or(1)
            })
            .collect();
        let l = Arc::new(l);
        *cache = Some((view.run_id.clone(), view.steps.len(), l.clone()));
        l
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
    /// waiting for approval, retrying, or a ready service); else the selection.
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
            {
                return Some(i);
            }
        }
        let sel = self.selected.min(view.steps.len() - 1);
        if matches_filter(&view.steps[sel], &self.filter) {
            Some(sel)
        } else {
            visible_steps(view, &self.filter)
                .first()
                .copied()
                .or(Some(sel))
        }
    }
}

/// Filter terms separated by spaces, all must match: `state:NAME` (prefix of the state)
/// or a case-insensitive substring of the step id.
pub fn matches_filter(step: &crate::model::StepView, filter: &str) -> bool {
    filter
        .split_whitespace()
        .all(|term| match term.strip_prefix("state:") {
            Some(st) => step.state.as_str().starts_with(&st.to_ascii_lowercase()),
            None => step.id.to_lowercase().contains(&term.to_lowercase()),
        })
}

/// What is wrong with a filter, if anything: a `state:` term that is the start of no
/// step state.
pub fn filter_problem(filter: &str) -> Option<String> {
    filter.split_whitespace().find_map(|term| {
        let st = term.strip_prefix("state:")?.to_ascii_lowercase();
        let known = StepState::ALL.iter().any(|s| s.as_str().starts_with(&st));
        (!known).then(|| {
            let names: Vec<&str> = StepState::ALL.iter().map(|s| s.as_str()).collect();
            format!("no step state starts with `{st}`: {}", names.join(", "))
        })
    })
}

/// Indices of the steps the filter lets through, in plan order.
pub fn visible_steps(view: &RunView, filter: &str) -> Vec<usize> {
    if filter.trim().is_empty() {
        return (0..view.steps.len()).collect();
    }
    (0..view.steps.len())
        .filter(|&i| matches_filter(&view.steps[i], filter))
        .collect()
}

/// A run is live while it can still start or finish steps: quitting then interrupts it.
pub fn run_is_live(view: &RunView) -> bool {
    matches!(
        view.state,
        RunState::Pending | RunState::Running | RunState::Waiting
    )
}

fn toast(ui: &mut UiState, text: impl Into<String>, ok: bool) {
    ui.toast = Some(Toast {
        text: text.into(),
        ok,
        at: ui.now,
    });
}

fn new_reason_box(decision: Decision) -> TextArea<'static> {
    let mut t = TextArea::default();
    t.set_placeholder_text(match decision {
        Decision::Approve => "why (optional)",
        Decision::Reject => "why (required)",
    });
    // A long reason wraps at words inside the box instead of scrolling out of sight.
    t.set_wrap_mode(ratatui_textarea::WrapMode::WordOrGlyph);
    t
}

/// Apply one action. Pure: no I/O, no clock; what must happen outside comes back as requests.
pub fn update(ui: &mut UiState, view: &RunView, action: Action) -> Vec<Request> {
    // Results from the shell come first: they may arrive in any context.
    match action {
        Action::Outcome(outcome) => {
            ui.pending = ui.pending.saturating_sub(1);
            match outcome {
                CommandOutcome::Accepted { message } => toast(ui, format!("✔ {message}"), true),
                CommandOutcome::Refused { reason } => {
                    toast(ui, format!("✘ refused: {reason}"), false)
                }
            }
            return Vec::new();
        }
        Action::Deleted { run_id, result } => {
            ui.pending = ui.pending.saturating_sub(1);
            let short = short_id(&run_id, &ui.runs);
            match result {
                Ok(message) => toast(ui, format!("✔ deleted run {short}: {message}"), true),
                Err(e) => toast(ui, format!("✘ delete {short}: {e}"), false),
            }
            return Vec::new();
        }
        Action::Resumed { run_id, result } => {
            let short = short_id(&run_id, &ui.runs);
            match result {
                Ok(()) => {
                    // The service opens the resumed run: show it on its DAG, following.
                    ui.tab = Tab::Dag;
                    ui.follow = true;
                    ui.filter.clear();
                    toast(ui, format!("✔ run {short} resumed"), true)
                }
                Err(e) => toast(ui, format!("✘ resume {short}: {e}"), false),
            }
            return Vec::new();
        }
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
    match ui.context() {
        Context::GateDialog => gate_dialog(ui, action),
        Context::BudgetDialog => budget_dialog(ui, action),
        Context::Confirm => confirm_dialog(ui, action),
        Context::Overlay => overlay(ui, view, action),
        Context::SearchInput => search_input(ui, action),
        Context::Log => log_view(ui, view, action),
        Context::FilterInput => filter_input(ui, action),
        _ => main_view(ui, view, action),
    }
}

fn gate_dialog(ui: &mut UiState, action: Action) -> Vec<Request> {
    let Some(Dialog::Gate(d)) = ui.dialog.as_mut() else {
        return Vec::new();
    };
    match action {
        Action::Back => ui.dialog = None,
        Action::NewLine => d.reason.insert_newline(),
        Action::Key(k) => {
            d.reason.input(k);
            d.error = None;
        }
        Action::Confirm => {
            let reason = d.reason.lines().join("\n").trim().to_string();
            let operator = ui.operator.clone();
            let step = d.step_id.clone();
            let command = match d.decision {
                Decision::Approve => Command::Approve {
                    step: step.clone(),
                    operator,
                    reason: (!reason.is_empty()).then_some(reason),
                    signature: None,
                },
                Decision::Reject if reason.is_empty() => {
                    d.error = Some("a reason is required to reject".into());
                    return Vec::new();
                }
                Decision::Reject => Command::Reject {
                    step: step.clone(),
                    operator,
                    reason,
                    signature: None,
                },
            };
            let verb = match d.decision {
                Decision::Approve => "approve",
                Decision::Reject => "reject",
            };
            ui.dialog = None;
            ui.pending += 1;
            toast(
                ui,
                format!("… {verb} {step}: sent, waiting for the engine"),
                true,
            );
            return vec![Request::Command(command)];
        }
        _ => {}
    }
    Vec::new()
}

fn confirm_dialog(ui: &mut UiState, action: Action) -> Vec<Request> {
    let Some(Dialog::Confirm(d)) = ui.dialog.as_mut() else {
        return Vec::new();
    };
    let yes = match action {
        Action::SwitchButton => {
            d.yes = !d.yes;
            return Vec::new();
        }
        Action::Yes => true,
        Action::No | Action::Back => false,
        Action::Confirm => d.yes,
        _ => return Vec::new(),
    };
    let what = d.what;
    let runs = std::mem::take(&mut d.runs);
    ui.dialog = None;
    if !yes {
        return Vec::new();
    }
    match what {
        ConfirmWhat::Quit => vec![Request::Exit(if ui.driven.is_empty() {
            ConsoleExit::Quit
        } else {
            ConsoleExit::Interrupt
        })],
        ConfirmWhat::DeleteRun => match runs.into_iter().next() {
            Some(id) => {
                ui.pending += 1;
                let short = short_id(&id, &ui.runs).to_string();
                toast(ui, format!("… deleting run {short}"), true);
                vec![Request::DeleteRun(id)]
            }
            None => Vec::new(),
        },
        ConfirmWhat::CancelRun => {
            ui.pending += 1;
            toast(ui, "… cancel run: sent, waiting for the engine", true);
            vec![Request::Command(Command::Cancel {
                operator: ui.operator.clone(),
                reason: Some("cancelled from the console".into()),
            })]
        }
    }
}

fn overlay(ui: &mut UiState, view: &RunView, action: Action) -> Vec<Request> {
    match action {
        Action::Back => {
            ui.overlay = None;
            ui.overlay_scroll = 0;
        }
        Action::Up => ui.overlay_scroll = ui.overlay_scroll.saturating_sub(1),
        Action::Down => ui.overlay_scroll = ui.overlay_scroll.saturating_add(1).min(500),
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

fn filter_input(ui: &mut UiState, action: Action) -> Vec<Request> {
    let runs = ui.tab == Tab::Runs;
    match action {
        // A `state:` term that names no state would hide everything: say so, keep typing.
        Action::Confirm => {
            let problem = if runs {
                runs_filter_problem(&ui.runs_filter)
            } else {
                filter_problem(&ui.filter)
            };
            match problem {
                Some(problem) => toast(ui, format!("✘ {problem}"), false),
                None => {
                    ui.filter_editing = false;
                    if runs {
                        ui.run_sel = 0;
                    }
                }
            }
        }
        Action::Back => {
            ui.filter_editing = false;
            if runs {
                ui.runs_filter.clear();
            } else {
                ui.filter.clear();
            }
        }
        Action::Key(k) if runs => edit_line(&mut ui.runs_filter, k),
        Action::Key(k) => edit_line(&mut ui.filter, k),
        _ => {}
    }
    Vec::new()
}

/// Minimal line editing for the filter and search inputs.
fn edit_line(s: &mut String, k: KeyEvent) {
    use crossterm::event::{KeyCode, KeyModifiers};
    match k.code {
        KeyCode::Backspace => {
            s.pop();
        }
        KeyCode::Char('u') if k.modifiers.contains(KeyModifiers::CONTROL) => s.clear(),
        KeyCode::Char(c) if !k.modifiers.contains(KeyModifiers::CONTROL) && s.len() < 200 => {
            s.push(c)
        }
        _ => {}
    }
}

fn search_input(ui: &mut UiState, action: Action) -> Vec<Request> {
    let Some(log) = ui.log.as_mut() else {
        return Vec::new();
    };
    match action {
        Action::Back => {
            log.searching = false;
            log.search.clear();
            log.matched = None;
        }
        Action::Confirm => {
            log.searching = false;
            log.matched = None;
            log.find = Some(true);
        }
        Action::Key(k) => edit_line(&mut log.search, k),
        _ => {}
    }
    Vec::new()
}

/// Where a search starts: the current match, else the line at the top of the screen
/// (forward; so the first match shown is at or after it) or at the bottom (backward).
pub fn search_from(log: &LogState, forward: bool) -> usize {
    match log.matched {
        Some(m) => m,
        None if forward => log.first_shown().checked_sub(1).unwrap_or(log.total),
        None => (log.first_shown() + log.rows).min(log.total),
    }
}

/// Show the match at `line`, a third down the screen (or nothing matched).
pub fn show_match(log: &mut LogState, line: Option<usize>) {
    log.matched = line;
    if let Some(i) = line {
        log.follow = false;
        log.top = i.saturating_sub(log.rows / 3).min(log.max_top());
    }
}

/// `y`: the selection to the clipboard, with a toast saying what was copied.
fn copy(ui: &mut UiState, view: &RunView) -> Vec<Request> {
    let ctx = ui.context();
    let Some((what, text)) = copy_target(ui, view, ctx) else {
        toast(ui, "✘ nothing selected to copy", false);
        return Vec::new();
    };
    let shown = crate::tui::views::common::fit(&text.replace('\n', " "), 40);
    toast(ui, format!("✔ copied {what}: {shown}"), true);
    vec![Request::Copy(text)]
}

fn log_view(ui: &mut UiState, view: &RunView, action: Action) -> Vec<Request> {
    let clicked = match action {
        Action::Copy => return copy(ui, view),
        Action::Click { col, row } => ui.hit_at(col, row),
        _ => None,
    };
    let Some(log) = ui.log.as_mut() else {
        return Vec::new();
    };
    let page = log.rows.saturating_sub(1).max(1);
    let at = log.first_shown();
    let scroll_to = |log: &mut LogState, top: usize| {
        log.top = top.min(log.max_top());
        // Back at the end: follow again, as `less +F` does.
        log.follow = log.top >= log.max_top() && top >= log.max_top();
    };
    match action {
        Action::Back => ui.log = None,
        Action::Up => scroll_to(log, at.saturating_sub(1)),
        Action::PageUp => scroll_to(log, at.saturating_sub(page)),
        Action::Down => scroll_to(log, at + 1),
        Action::PageDown => scroll_to(log, at + page),
        Action::Top => {
            log.top = 0;
            log.follow = false;
        }
        Action::Bottom => log.follow = true,
        Action::Follow => {
            log.follow = !log.follow;
            log.top = at;
        }
        Action::Wrap => log.wrap = !log.wrap,
        Action::Timestamps => log.timestamps = !log.timestamps,
        Action::PrevAttempt | Action::NextAttempt => {
            let latest = view.steps.get(log.step).map_or(0, |s| s.attempts);
            let cur = log.attempt_of(latest);
            let next = if action == Action::NextAttempt {
                (cur + 1).min(latest)
            } else {
                cur.saturating_sub(1).max(1)
            };
            if next != cur && latest > 0 {
                let (step, keep) = (log.step, log.clone());
                let mut fresh = LogState::new(step, (next < latest).then_some(next));
                fresh.wrap = keep.wrap;
                fresh.timestamps = keep.timestamps;
                fresh.search = keep.search;
                *log = fresh;
            }
        }
        Action::Search => {
            log.searching = true;
            log.search.clear();
        }
        Action::SearchNext | Action::SearchPrev => {
            log.find = Some(action == Action::SearchNext);
        }
        Action::Click { .. } => {
            if let Some(Hit::LogLine(i)) = clicked {
                log.matched = Some(i);
            }
        }
        _ => {}
    }
    Vec::new()
}

fn open_log(ui: &mut UiState, step: usize, attempt: Option<u32>) {
    ui.log = Some(LogState::new(step, attempt));
}

/// The log of the attempt an error happened in (not the step's latest).
fn open_error_log(ui: &mut UiState, view: &RunView, error: usize) {
    let Some(e) = view.errors.get(error) else {
        return;
    };
    if let Some(i) = e.step.as_deref().and_then(|s| view.step_index(s)) {
        open_log(ui, i, (e.attempt > 0).then_some(e.attempt));
    }
}

fn retry(ui: &mut UiState, view: &RunView, step: &str) -> Vec<Request> {
    match view.step_index(step).map(|i| &view.steps[i]) {
        Some(s) if s.actions.retry => {
            ui.pending += 1;
            toast(
                ui,
                format!("… retry {step}: sent, waiting for the engine"),
                true,
            );
            vec![Request::Command(Command::Retry {
                step: step.to_string(),
                operator: ui.operator.clone(),
            })]
        }
        // The engine would refuse: say why here instead of sending it.
        Some(s) => {
            let why = if run_accepts_commands(view) {
                format!("{step} is {}: it cannot be retried now", s.state)
            } else {
                format!("the run is {}: `baton resume` first", view.state)
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
fn run_accepts_commands(view: &RunView) -> bool {
    view.state != RunState::Interrupted
}

/// The step an action in `ctx` is about: the focused step, the selected error's or
/// gate's step, or the step of the error shown in detail.
fn target_step(ui: &UiState, view: &RunView, ctx: Context) -> Option<usize> {
    let of_error = |e: usize| {
        view.errors
            .get(e)
            .and_then(|e| e.step.as_deref())
            .and_then(|s| view.step_index(s))
    };
    match ctx {
        Context::Dag => ui.focus(view),
        Context::Errors => of_error(ui.error_sel),
        Context::Overlay => match ui.overlay {
            Some(Overlay::ErrorDetail(e)) => of_error(e),
            _ => None,
        },
        _ => None,
    }
}

/// The gate an approve or reject in `ctx` is about.
fn target_gate<'a>(ui: &UiState, view: &'a RunView, ctx: Context) -> Option<&'a GateView> {
    match ctx {
        Context::Approvals => view
            .gates
            .get(ui.gate_sel.min(view.gates.len().saturating_sub(1))),
        Context::Dag => ui
            .focus(view)
            .and_then(|i| view.gates.iter().find(|g| g.step == Some(i))),
        _ => None,
    }
}

/// Actions that change a run: none of them in a read-only console.
pub fn acts(action: &Action) -> bool {
    matches!(
        action,
        Action::Approve
            | Action::Reject
            | Action::Retry
            | Action::CancelRun
            | Action::Resume
            | Action::Delete
    )
}

/// What `y` copies in `ctx`: a name for the toast and the text. The full run id (the
/// screen shows 8 characters), the step id, an error with its suggestion, an audit row.
pub fn copy_target(ui: &UiState, view: &RunView, ctx: Context) -> Option<(String, String)> {
    match ctx {
        Context::Dag => ui
            .focus(view)
            .map(|i| ("step id".to_string(), view.steps[i].id.clone())),
        Context::Approvals => {
            target_gate(ui, view, ctx).map(|g| ("gate".to_string(), g.step_id.clone()))
        }
        Context::Errors => view.errors.get(ui.error_sel).map(|e| {
            let mut text = format!(
                "{} {} {}: {}",
                e.severity.as_str().to_uppercase(),
                e.kind.as_str(),
                e.step
                    .as_deref()
                    .map_or("run".to_string(), |s| format!("{s}#{}", e.attempt)),
                e.message
            );
            if !e.suggestion.is_empty() {
                text.push_str(&format!("\nsuggestion: {}", e.suggestion));
            }
            ("error".to_string(), text)
        }),
        Context::Audit => view.audit.get(ui.audit_sel).map(|a| {
            let mut text = format!(
                "{} {} {} {}",
                a.at.to_rfc3339(),
                a.actor,
                a.action,
                a.step.as_deref().unwrap_or("–")
            );
            if let Some(r) = &a.reason {
                text.push_str(&format!(" “{r}”"));
            }
            if !a.details.is_empty() {
                text.push_str(&format!(" · {}", a.details));
            }
            ("audit entry".to_string(), text)
        }),
        Context::Runs => ui
            .selected_run(ui.clock(view))
            .map(|r| ("run id".to_string(), r.id.clone())),
        Context::Log => {
            let log = ui.log.as_ref()?;
            let text = |i: usize| log.line(i).map(super::output::plain);
            if let Some(m) = log.matched
                && let Some(t) = text(m)
            {
                return Some((format!("log line {}", m + 1), t));
            }
            // The lines the last frame drew.
            let shown: Vec<String> = ui
                .drawn()
                .into_iter()
                .filter_map(|h| match h {
                    Hit::LogLine(i) => text(i),
                    _ => None,
                })
                .collect();
            (!shown.is_empty()).then(|| {
                (
                    format!(
                        "the log on screen ({})",
                        crate::tui::views::common::count(shown.len(), "line", "lines")
                    ),
                    shown.join("\n"),
                )
            })
        }
        _ => None,
    }
}

/// Whether `action` in `ctx` would do something now: commands only where the view says
/// the engine accepts them. The footer and the help offer only these keys.
pub fn offered(ui: &UiState, view: &RunView, ctx: Context, action: &Action) -> bool {
    if ui.readonly && acts(action) {
        return false;
    }
    match action {
        Action::Log if ctx == Context::Overlay => {
            matches!(ui.overlay, Some(Overlay::ErrorDetail(_)))
        }
        Action::Approve => {
            target_gate(ui, view, ctx).is_some_and(|g| g.actions.approve || g.actions.raise_budget)
        }
        Action::Reject => target_gate(ui, view, ctx).is_some_and(|g| g.actions.reject),
        Action::Retry => target_step(ui, view, ctx).is_some_and(|i| view.steps[i].actions.retry),
        Action::CancelRun => view.actions.cancel,
        Action::Copy => copy_target(ui, view, ctx).is_some(),
        Action::Resume => ui
            .selected_run(ui.clock(view))
            .is_some_and(|r| r.state == RunState::Interrupted),
        Action::Delete => ui
            .selected_run(ui.clock(view))
            .is_some_and(|r| !ui.driven.contains(&r.id) && r.driven_by.is_none()),
        _ => true,
    }
}

fn open_gate_dialog(ui: &mut UiState, view: &RunView, decision: Decision) {
    let ctx = ui.context();
    let Some(g) = target_gate(ui, view, ctx) else {
        let which = ui
            .focus(view)
            .filter(|_| ui.tab == Tab::Dag)
            .map(|i| format!("{} has no open gate", view.steps[i].id))
            .unwrap_or_else(|| "no open gate".into());
        return toast(ui, format!("✘ {which}"), false);
    };
    if g.step.is_none() {
        return match decision {
            Decision::Approve if g.actions.raise_budget => open_budget_dialog(ui, view),
            Decision::Approve => toast(
                ui,
                format!(
                    "✘ the run is {}: the budget cannot be raised now",
                    view.state
                ),
                false,
            ),
            Decision::Reject => toast(
                ui,
                "✘ the budget gate is not rejected: raise the budget (a) or cancel the run (c)",
                false,
            ),
        };
    }
    let allowed = match decision {
        Decision::Approve => g.actions.approve,
        Decision::Reject => g.actions.reject,
    };
    if !allowed {
        return toast(
            ui,
            format!(
                "✘ the gate of {} cannot be decided now (the run is {})",
                g.step_id, view.state
            ),
            false,
        );
    }
    ui.dialog = Some(Dialog::Gate(Box::new(GateDialog {
        decision,
        step_id: g.step_id.clone(),
        reason: new_reason_box(decision),
        error: None,
    })));
}

/// One field per exhausted limit (every limit set, if none is exhausted yet).
fn open_budget_dialog(ui: &mut UiState, view: &RunView) {
    let Some(b) = &view.budget else {
        return toast(ui, "✘ the workflow sets no budget", false);
    };
    let limits = [
        ("cost", b.cost),
        ("calls", b.calls.map(|(u, c)| (u as f64, c as f64))),
        ("tokens", b.tokens.map(|(u, c)| (u as f64, c as f64))),
    ];
    let set = limits
        .iter()
        .filter_map(|&(limit, v)| v.map(|(used, ceiling)| (limit, used, ceiling)));
    let exhausted: Vec<_> = set
        .clone()
        .filter(|(l, _, _)| b.exhausted.iter().any(|e| e == l))
        .collect();
    let chosen = if exhausted.is_empty() {
        set.collect()
    } else {
        exhausted
    };
    let fields = chosen
        .into_iter()
        .map(|(limit, used, ceiling)| BudgetField {
            limit,
            used,
            ceiling,
            raise: String::new(),
        })
        .collect();
    ui.dialog = Some(Dialog::Budget(Box::new(BudgetDialog {
        fields,
        reason: String::new(),
        focus: 0,
        error: None,
    })));
}

/// The raise typed in the budget dialog as one command, or what is wrong with it.
fn budget_command(d: &BudgetDialog, operator: &str) -> Result<Command, String> {
    let (mut cost, mut calls, mut tokens) = (None, None, None);
    for f in &d.fields {
        let t = f.raise.trim();
        if t.is_empty() {
            continue;
        }
        let bad = || format!("{}: `{t}` is not an amount", f.limit);
        match f.limit {
            "cost" => {
                let v: f64 = t.parse().map_err(|_| bad())?;
                if !v.is_finite() || v <= 0.0 {
                    return Err(bad());
                }
                cost = Some(v);
            }
            _ => {
                let v: u64 = t.parse().map_err(|_| bad())?;
                if v == 0 {
                    return Err(bad());
                }
                if f.limit == "calls" {
                    calls = Some(v);
                } else {
                    tokens = Some(v);
                }
            }
        }
    }
    if cost.is_none() && calls.is_none() && tokens.is_none() {
        return Err("type an amount to raise at least one limit by".into());
    }
    let reason = d.reason.trim();
    if reason.is_empty() {
        return Err("a reason is required to raise the budget".into());
    }
    Ok(Command::RaiseBudget {
        operator: operator.to_string(),
        reason: reason.to_string(),
        cost,
        calls,
        tokens,
    })
}

fn budget_dialog(ui: &mut UiState, action: Action) -> Vec<Request> {
    let Some(Dialog::Budget(d)) = ui.dialog.as_mut() else {
        return Vec::new();
    };
    let n = d.fields.len() + 1;
    match action {
        Action::Back => ui.dialog = None,
        Action::Down => d.focus = (d.focus + 1) % n,
        Action::Up => d.focus = (d.focus + n - 1) % n,
        Action::Key(k) => {
            match d.fields.get_mut(d.focus) {
                Some(f) => edit_line(&mut f.raise, k),
                None => edit_line(&mut d.reason, k),
            }
            d.error = None;
        }
        Action::Confirm => match budget_command(d, &ui.operator) {
            Ok(command) => {
                ui.dialog = None;
                ui.pending += 1;
                toast(ui, "… raise the budget: sent, waiting for the engine", true);
                return vec![Request::Command(command)];
            }
            Err(e) => d.error = Some(e),
        },
        _ => {}
    }
    Vec::new()
}

fn main_view(ui: &mut UiState, view: &RunView, action: Action) -> Vec<Request> {
    match action {
        Action::GoTab(t) => ui.tab = t,
        Action::NextTab => ui.tab = Tab::ALL[(ui.tab.index() + 1) % 5],
        Action::PrevTab => ui.tab = Tab::ALL[(ui.tab.index() + 4) % 5],
        Action::ToggleHealth => ui.overlay = Some(Overlay::Health),
        Action::Copy => return copy(ui, view),
        Action::Click { col, row } => match ui.hit_at(col, row) {
            Some(Hit::Tab(t)) => ui.tab = t,
            Some(Hit::Step(i)) => {
                ui.tab = Tab::Dag;
                ui.selected = i;
                ui.follow = false;
            }
            Some(Hit::Gate(i)) => ui.gate_sel = i,
            Some(Hit::Error(i)) => ui.error_sel = i,
            Some(Hit::Audit(i)) => ui.audit_sel = i,
            Some(Hit::Run(i)) => ui.run_sel = i,
            // Only drawn in the log, which takes its own clicks.
            Some(Hit::LogLine(_)) | None => {}
        },
        Action::ToggleTime => {
            ui.wall_clock = !ui.wall_clock;
            let text = if ui.wall_clock {
                "times on the wall clock (t: relative)"
            } else {
                "times relative (t: wall clock)"
            };
            toast(ui, text, true);
        }
        Action::Help => ui.overlay = Some(Overlay::Help),
        Action::Quit => {
            // Only runs this console drives stop with it; a run followed from another
            // engine goes on.
            if !ui.driven.is_empty() {
                ui.dialog = Some(Dialog::Confirm(ConfirmDialog {
                    what: ConfirmWhat::Quit,
                    yes: false,
                    runs: ui.driven.to_vec(),
                }));
            } else {
                return vec![Request::Exit(ConsoleExit::Quit)];
            }
        }
        Action::CancelRun => {
            if view.actions.cancel {
                ui.dialog = Some(Dialog::Confirm(ConfirmDialog {
                    what: ConfirmWhat::CancelRun,
                    yes: false,
                    runs: Vec::new(),
                }));
            } else {
                toast(
                    ui,
                    format!("✘ the run is {}: nothing to cancel", view.state),
                    false,
                );
            }
        }
        Action::Approve => open_gate_dialog(ui, view, Decision::Approve),
        Action::Reject => open_gate_dialog(ui, view, Decision::Reject),
        other => match ui.tab {
            Tab::Dag => return dag(ui, view, other),
            Tab::Approvals => {
                let g = &view.gates;
                move_sel(&mut ui.gate_sel, g.len(), &other);
                if other == Action::Log
                    && let Some(i) = g.get(ui.gate_sel).and_then(|g| g.step)
                {
                    open_log(ui, i, None)
                }
            }
            Tab::Errors => {
                move_sel(&mut ui.error_sel, view.errors.len(), &other);
                let step = view.errors.get(ui.error_sel).and_then(|e| e.step.clone());
                match other {
                    Action::Enter if !view.errors.is_empty() => {
                        ui.overlay = Some(Overlay::ErrorDetail(
                            ui.error_sel.min(view.errors.len() - 1),
                        ));
                        ui.overlay_scroll = 0;
                    }
                    Action::Retry => match step {
                        Some(s) => return retry(ui, view, &s),
                        None => toast(ui, "✘ this error belongs to no step", false),
                    },
                    Action::Log => open_error_log(ui, view, ui.error_sel),
                    _ => {}
                }
            }
            Tab::Audit => move_sel(&mut ui.audit_sel, view.audit.len(), &other),
            Tab::Runs => {
                let now = ui.clock(view);
                let shown = ui.visible_runs(now).len();
                move_sel(&mut ui.run_sel, shown, &other);
                let run = ui.selected_run(now).cloned();
                match (other, run) {
                    (Action::Filter, _) => ui.filter_editing = true,
                    (Action::Back, _) => {
                        ui.runs_filter.clear();
                        ui.run_sel = 0;
                    }
                    (Action::Sort, _) => {
                        ui.runs_sort = ui.runs_sort.next();
                        ui.run_sel = 0;
                        let label = ui.runs_sort.label();
                        toast(ui, format!("runs {label} (s: next order)"), true);
                    }
                    (Action::Delete, Some(r)) if ui.driven.contains(&r.id) => toast(
                        ui,
                        format!(
                            "✘ this console drives run {}: quit or cancel it first",
                            short_id(&r.id, &ui.runs)
                        ),
                        false,
                    ),
                    (Action::Delete, Some(r)) => {
                        ui.dialog = Some(Dialog::Confirm(ConfirmDialog {
                            what: ConfirmWhat::DeleteRun,
                            yes: false,
                            runs: vec![r.id.clone()],
                        }));
                    }
                    (Action::Enter, Some(r)) => {
                        // The opened run arrives as a new view: start on its DAG, following.
                        ui.tab = Tab::Dag;
                        ui.follow = true;
                        ui.filter.clear();
                        (ui.gate_sel, ui.error_sel, ui.audit_sel) = (0, 0, 0);
                        return vec![Request::OpenRun(r.id)];
                    }
                    (Action::Resume, Some(r)) if r.state == RunState::Interrupted => {
                        let short = short_id(&r.id, &ui.runs).to_string();
                        toast(ui, format!("… resuming run {short}"), true);
                        return vec![Request::Resume(r.id)];
                    }
                    (Action::Resume, Some(r)) => toast(
                        ui,
                        format!(
                            "✘ run {} is {}: only an interrupted run can be resumed",
                            short_id(&r.id, &ui.runs),
                            r.state
                        ),
                        false,
                    ),
                    _ => {}
                }
            }
        },
    }
    Vec::new()
}

fn move_sel(sel: &mut usize, len: usize, action: &Action) {
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

fn dag(ui: &mut UiState, view: &RunView, action: Action) -> Vec<Request> {
    let Some(focus) = ui.focus(view) else {
        return Vec::new();
    };
    match action {
        Action::Filter => {
            ui.filter_editing = true;
        }
        Action::Back => {
            if ui.filter.is_empty() {
                ui.follow = true;
            }
            ui.filter.clear();
        }
        Action::ToggleGraph => {
            ui.list_mode = Some(!ui.is_list_mode(view));
            ui.overview = false;
        }
        Action::Overview => {
            ui.overview = !ui.overview || ui.is_list_mode(view);
            if ui.overview {
                ui.list_mode = Some(false);
            }
        }
        Action::Log | Action::Enter => open_log(ui, focus, None),
        Action::Retry => {
            let id = view.steps[focus].id.clone();
            return retry(ui, view, &id);
        }
        Action::Up
        | Action::Down
        | Action::Left
        | Action::Right
        | Action::PageUp
        | Action::PageDown => {
            ui.follow = false;
            ui.selected = if ui.is_list_mode(view) || !ui.filter.trim().is_empty() {
                let vis = visible_steps(view, &ui.filter);
                let mut at = vis.iter().position(|&i| i == focus).unwrap_or(0);
                move_sel(&mut at, vis.len(), &action);
                vis.get(at).copied().unwrap_or(focus)
            } else {
                graph_move(&ui.layout(view), focus, &action)
            };
        }
        _ => {}
    }
    Vec::new()
}

/// Up/down within a layer, left/right to the nearest step in the neighbouring layer.
fn graph_move(l: &DagLayout, from: usize, action: &Action) -> usize {
    let Some(&(layer, row)) = l.place.get(from) else {
        return from;
    };
    let pick = |layer: usize, row: usize, dir: i64| -> Option<usize> {
        let slots = l.layers.get(layer)?;
        // Nearest step slot from `row`, searching in `dir` (0 = both ways).
        let n = slots.len() as i64;
        for d in 0..n.max(1) {
            let cands: &[i64] = if dir == 0 { &[d, -d] } else { &[d * dir] };
            for &c in cands {
                let r = row as i64 + c;
                if (0..n).contains(&r)
                    && let Some(s) = slots[r as usize].step
                {
                    return Some(s);
                }
            }
        }
        None
    };
    let found = match action {
        Action::Up => pick(layer, row.saturating_sub(1), -1).filter(|_| row > 0),
        Action::Down => pick(layer, row + 1, 1),
        Action::PageUp => pick(layer, row.saturating_sub(10), 0),
        Action::PageDown => pick(layer, row + 10, 0),
        Action::Left if layer > 0 => pick(layer - 1, row, 0),
        Action::Right => pick(layer + 1, row, 0),
        _ => None,
    };
    found.unwrap_or(from)
}

/// The run id as a person reads and types it: its first 8 characters, or more where
/// another listed run starts the same (runs started within a second share their first
/// 8), so that what the console shows is a prefix `baton` accepts.
pub fn short_id<'a>(id: &'a str, runs: &[RunSummary]) -> &'a str {
    let shared = runs
        .iter()
        .filter(|r| r.id != id)
        .map(|r| {
            r.id.chars()
                .zip(id.chars())
                .take_while(|(a, b)| a == b)
                .count()
        })
        .max()
        .unwrap_or(0);
    match id.char_indices().nth((shared + 1).max(8)) {
        Some((i, _)) => &id[..i],
        None => id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_id_is_long_enough_to_tell_listed_runs_apart() {
        let mut runs = fixtures::runs();
        runs.truncate(3);
        runs[0].id = "01M83P57AAAAAAAAAAAAAAAAAA".into();
        runs[1].id = "01M83P57ABBBBBBBBBBBBBBBBB".into();
        runs[2].id = "01M83Q00CCCCCCCCCCCCCCCCCC".into();
        assert_eq!(short_id(&runs[0].id, &runs), "01M83P57AA");
        assert_eq!(short_id(&runs[1].id, &runs), "01M83P57AB");
        assert_eq!(short_id(&runs[2].id, &runs), "01M83Q00");
        // Not listed (or nothing listed): 8 characters.
        assert_eq!(short_id("01M83P57ZZZ", &[]), "01M83P57");
        assert_eq!(short_id("short", &runs), "short");
    }
    use crate::tui::fixtures;
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
        ui.runs = Arc::new(fixtures::runs());
        update(&mut ui, &v, Action::GoTab(Tab::Runs));
        (v, ui)
    }

    fn shown(ui: &UiState, v: &RunView) -> Vec<String> {
        ui.visible_runs(ui.clock(v))
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
        // Still going: the interrupted run has gone on for an hour, the live one 7m.
        assert_eq!(shown(&ui, &v)[0], "nightly-etl:interrupted");
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
        assert!(!offered(&ui, &v, Context::Runs, &Action::Delete));
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
        update(
            &mut ui,
            &v,
            Action::Resumed {
                run_id: "01JXQZ0M3D5E7F9G1H2J3K4L5M".into(),
                result: Ok(()),
            },
        );
        assert_eq!(ui.tab, Tab::Dag);
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
        let mut ui = UiState::new("alice");
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
                operator: "alice".into(),
                reason: Some("looks good\nship it".into()),
                signature: None,
            })]
        );
        assert!(ui.dialog.is_none());
        assert_eq!(ui.pending, 1);
        update(
            &mut ui,
            &v,
            Action::Outcome(CommandOutcome::Refused {
                reason: "self-approval is not allowed".into(),
            }),
        );
        let t = ui.toast.clone().unwrap();
        assert!(!t.ok && t.text.contains("self-approval"));
        assert_eq!(ui.pending, 0);
    }

    #[test]
    fn reject_requires_a_reason_and_stays_open() {
        let v = fixtures::release();
        let mut ui = UiState::new("carol");
        ui.tab = Tab::Approvals;
        update(&mut ui, &v, Action::Reject);
        assert!(update(&mut ui, &v, Action::Confirm).is_empty());
        match &ui.dialog {
            Some(Dialog::Gate(d)) => {
                assert_eq!(d.error.as_deref(), Some("a reason is required to reject"))
            }
            other => panic!("dialog closed: {other:?}"),
        }
        typed(&mut ui, &v, "  ");
        assert!(
            update(&mut ui, &v, Action::Confirm).is_empty(),
            "blank is empty"
        );
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
        ui.driven = Arc::new(vec![v.run_id.clone()]);
        update(&mut ui, &v, Action::Quit);
        assert!(matches!(
            &ui.dialog,
            Some(Dialog::Confirm(ConfirmDialog {
                yes: false,
                what: ConfirmWhat::Quit,
                runs,
            })) if runs == &vec![v.run_id.clone()]
        ));
        assert!(
            update(&mut ui, &v, Action::Confirm).is_empty(),
            "Enter on the default does nothing"
        );
        assert!(ui.dialog.is_none());
        update(&mut ui, &v, Action::Quit);
        update(&mut ui, &v, Action::SwitchButton);
        assert_eq!(
            update(&mut ui, &v, Action::Confirm),
            vec![Request::Exit(ConsoleExit::Interrupt)]
        );

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
    fn quitting_a_followed_live_run_neither_asks_nor_interrupts() {
        // A live run another engine drives: this console drives nothing.
        let v = fixtures::release();
        assert!(run_is_live(&v));
        let mut ui = UiState::new("alice");
        assert_eq!(
            update(&mut ui, &v, Action::Quit),
            vec![Request::Exit(ConsoleExit::Quit)]
        );
        assert!(ui.dialog.is_none());
    }

    #[test]
    fn quit_on_a_finished_run_needs_no_confirmation() {
        let v = fixtures::finished_failed();
        let mut ui = UiState::new("alice");
        assert_eq!(
            update(&mut ui, &v, Action::Quit),
            vec![Request::Exit(ConsoleExit::Quit)]
        );
        assert!(update(&mut ui, &v, Action::CancelRun).is_empty());
        assert!(ui.toast.as_ref().is_some_and(|t| !t.ok));
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
        ui.runs = Arc::new(fixtures::runs());
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
        crate::tui::logfile::LogReaders::default().sync(ui, v, rows);
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
        let path = crate::tui::logfile::attempt_path(&v.steps[pkg], 1).unwrap();
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
        ui.runs = Arc::new(fixtures::runs());
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
        crate::tui::keymap::hints(ui.context(), |c, a| offered(ui, v, c, a))
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
        v.steps[cancelled].actions = crate::model::Actions::default();
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
        assert!(!offers(&ui, &v, "x"), "the budget gate is not rejected");
        assert!(update(&mut ui, &v, Action::Reject).is_empty());
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

    #[test]
    fn the_budget_dialog_needs_an_amount_and_a_reason() {
        let v = fixtures::budget_exhausted();
        let mut ui = budget_ui(&v);
        update(&mut ui, &v, Action::Approve);
        assert!(update(&mut ui, &v, Action::Confirm).is_empty());
        typed(&mut ui, &v, "2.5");
        assert!(update(&mut ui, &v, Action::Confirm).is_empty());
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
}

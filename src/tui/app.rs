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
    ToggleHealth,
    Help,
    Quit,
    /// Esc: close or clear whatever is on top.
    Back,
    Resume,
    Follow,
    Wrap,
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
    /// `cost`, `calls` or `tokens` (the names `baton approve RUN budget --raise` takes).
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogState {
    pub step: usize,
    /// Lines scrolled back from the end; 0 with `follow` shows new output as it comes.
    pub back: usize,
    pub follow: bool,
    pub wrap: bool,
    pub search: String,
    pub searching: bool,
    /// The line of the current match.
    pub matched: Option<usize>,
    /// The log file's last lines, loaded by the event loop (I/O stays out of `update`
    /// and `render`); until then, and for steps without a file, the view's tail.
    pub file: Option<std::sync::Arc<Vec<String>>>,
    /// The view version the file was last read at (a following log re-reads on change).
    pub loaded_at: Option<u64>,
}

impl LogState {
    /// The lines the log view shows and searches.
    pub fn lines<'a>(&'a self, view: &'a RunView) -> &'a [String] {
        match &self.file {
            Some(f) => f.as_slice(),
            None => view
                .steps
                .get(self.step)
                .map_or(&[], |s| s.log_tail.as_slice()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toast {
    pub text: String,
    pub ok: bool,
}

type LayoutCache = Mutex<Option<(String, usize, Arc<DagLayout>)>>;

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
    /// Selection follows the running steps until the operator moves it.
    pub follow: bool,
    pub selected: usize,
    pub filter: String,
    pub filter_editing: bool,
    pub gate_sel: usize,
    pub error_sel: usize,
    pub audit_sel: usize,
    pub run_sel: usize,
    pub overlay: Option<Overlay>,
    pub overlay_scroll: usize,
    pub log: Option<LogState>,
    pub dialog: Option<Dialog>,
    pub toast: Option<Toast>,
    /// Commands sent and not answered yet.
    pub pending: usize,
    /// The runs this console's process drives: quitting interrupts exactly these.
    pub driven: Arc<Vec<String>>,
    layout: LayoutCache,
}

impl UiState {
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

    /// The step the DAG tab focuses: the first running step while following, else the selection.
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
            if let Some(i) = live(StepState::Running)
                .or_else(|| live(StepState::WaitingApproval))
                .or_else(|| live(StepState::RetryWait))
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
    });
}

fn new_reason_box(decision: Decision) -> TextArea<'static> {
    let mut t = TextArea::default();
    t.set_placeholder_text(match decision {
        Decision::Approve => "why (optional)",
        Decision::Reject => "why (required)",
    });
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
        Action::Resumed { run_id, result } => {
            let short = short_id(&run_id);
            match result {
                Ok(()) => toast(ui, format!("✔ run {short} resumed"), true),
                Err(e) => toast(ui, format!("✘ resume {short}: {e}"), false),
            }
            return Vec::new();
        }
        _ => {}
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
        Context::SearchInput => search_input(ui, view, action),
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
                },
                Decision::Reject if reason.is_empty() => {
                    d.error = Some("a reason is required to reject".into());
                    return Vec::new();
                }
                Decision::Reject => Command::Reject {
                    step: step.clone(),
                    operator,
                    reason,
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
    match action {
        Action::Confirm => ui.filter_editing = false,
        Action::Back => {
            ui.filter_editing = false;
            ui.filter.clear();
        }
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

fn search_input(ui: &mut UiState, view: &RunView, action: Action) -> Vec<Request> {
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
            let lines = log.clone();
            find_match(log, lines.lines(view), true);
        }
        Action::Key(k) => edit_line(&mut log.search, k),
        _ => {}
    }
    Vec::new()
}

/// Move to the next (or previous) line containing the search, wrapping around, and
/// scroll so it is the last line shown.
fn find_match(log: &mut LogState, lines: &[String], forward: bool) {
    if log.search.is_empty() || lines.is_empty() {
        return;
    }
    let needle = log.search.to_lowercase();
    let n = lines.len();
    let start = log.matched.unwrap_or(if forward { n - 1 } else { 0 });
    for k in 1..=n {
        let i = if forward {
            (start + k) % n
        } else {
            (start + n - k) % n
        };
        if super::output::plain(&lines[i])
            .to_lowercase()
            .contains(&needle)
        {
            log.matched = Some(i);
            log.back = n - 1 - i;
            log.follow = false;
            return;
        }
    }
    log.matched = None;
}

fn log_view(ui: &mut UiState, view: &RunView, action: Action) -> Vec<Request> {
    let Some(log) = ui.log.as_mut() else {
        return Vec::new();
    };
    let n = log.lines(view).len();
    let max_back = n.saturating_sub(1);
    match action {
        Action::Back => ui.log = None,
        Action::Up => {
            log.back = (log.back + 1).min(max_back);
            log.follow = false;
        }
        Action::PageUp => {
            log.back = (log.back + 20).min(max_back);
            log.follow = false;
        }
        Action::Top => {
            log.back = max_back;
            log.follow = false;
        }
        Action::Down | Action::PageDown | Action::Bottom => {
            let by = match action {
                Action::Down => 1,
                Action::PageDown => 20,
                _ => usize::MAX,
            };
            log.back = log.back.saturating_sub(by);
            log.follow = log.back == 0;
        }
        Action::Follow => {
            log.follow = !log.follow;
            if log.follow {
                log.back = 0;
            }
        }
        Action::Wrap => log.wrap = !log.wrap,
        Action::Search => {
            log.searching = true;
            log.search.clear();
        }
        Action::SearchNext | Action::SearchPrev => {
            let lines = log.clone();
            find_match(log, lines.lines(view), action == Action::SearchNext)
        }
        _ => {}
    }
    Vec::new()
}

fn open_log(ui: &mut UiState, step: usize) {
    ui.log = Some(LogState {
        step,
        back: 0,
        follow: true,
        wrap: false,
        search: String::new(),
        searching: false,
        matched: None,
        file: None,
        loaded_at: None,
    });
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

/// Whether `action` in `ctx` would do something now: commands only where the view says
/// the engine accepts them. The footer and the help offer only these keys.
pub fn offered(ui: &UiState, view: &RunView, ctx: Context, action: &Action) -> bool {
    match action {
        Action::Approve => {
            target_gate(ui, view, ctx).is_some_and(|g| g.actions.approve || g.actions.raise_budget)
        }
        Action::Reject => target_gate(ui, view, ctx).is_some_and(|g| g.actions.reject),
        Action::Retry => target_step(ui, view, ctx).is_some_and(|i| view.steps[i].actions.retry),
        Action::CancelRun => view.actions.cancel,
        Action::Resume => ui
            .runs
            .get(ui.run_sel)
            .is_some_and(|r| r.state == RunState::Interrupted),
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
                    open_log(ui, i)
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
                    Action::Log => {
                        if let Some(i) = step.and_then(|s| view.step_index(&s)) {
                            open_log(ui, i)
                        }
                    }
                    _ => {}
                }
            }
            Tab::Audit => move_sel(&mut ui.audit_sel, view.audit.len(), &other),
            Tab::Runs => {
                move_sel(&mut ui.run_sel, ui.runs.len(), &other);
                let run = ui.runs.get(ui.run_sel).cloned();
                match (other, run) {
                    (Action::Enter, Some(r)) => {
                        // The opened run arrives as a new view: start on its DAG, following.
                        ui.tab = Tab::Dag;
                        ui.follow = true;
                        ui.filter.clear();
                        (ui.gate_sel, ui.error_sel, ui.audit_sel) = (0, 0, 0);
                        return vec![Request::OpenRun(r.id)];
                    }
                    (Action::Resume, Some(r)) if r.state == RunState::Interrupted => {
                        toast(ui, format!("… resuming run {}", short_id(&r.id)), true);
                        return vec![Request::Resume(r.id)];
                    }
                    (Action::Resume, Some(r)) => toast(
                        ui,
                        format!(
                            "✘ run {} is {}: only an interrupted run can be resumed",
                            short_id(&r.id),
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
        Action::ToggleGraph => ui.list_mode = Some(!ui.is_list_mode(view)),
        Action::Log | Action::Enter => open_log(ui, focus),
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

/// First 8 characters of a run id (ULIDs are unique enough there for a person).
pub fn short_id(id: &str) -> &str {
    match id.char_indices().nth(8) {
        Some((i, _)) => &id[..i],
        None => id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
    fn log_scrolls_searches_and_follows() {
        let v = fixtures::release();
        let mut ui = UiState::new("alice");
        update(&mut ui, &v, Action::Log);
        let pkg = v.step_index("package").unwrap();
        assert_eq!(ui.log.as_ref().map(|l| l.step), Some(pkg));
        update(&mut ui, &v, Action::Up);
        assert!(!ui.log.as_ref().unwrap().follow);
        update(&mut ui, &v, Action::Search);
        assert_eq!(ui.context(), Context::SearchInput);
        typed(&mut ui, &v, "part-07");
        update(&mut ui, &v, Action::Confirm);
        let l = ui.log.clone().unwrap();
        assert_eq!(l.matched, Some(6));
        assert_eq!(l.back, 30 - 1 - 6);
        update(&mut ui, &v, Action::Follow);
        assert_eq!(ui.log.as_ref().map(|l| (l.follow, l.back)), Some((true, 0)));
        update(&mut ui, &v, Action::Back);
        assert!(ui.log.is_none());
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

//! The default bindings: one row per (context, action), with the keys, the label the
//! footer and the help show, the description, and whether the footer offers it.
use super::Context;
use super::keys::{Key, code, k};
use crate::app::{Action, Tab};
use crossterm::event::KeyCode;
use std::sync::LazyLock;

pub(crate) struct Binding {
    pub context: Context,
    pub keys: &'static [Key],
    /// How the keys are written in the footer and the help.
    pub label: &'static str,
    pub action: Action,
    pub description: &'static str,
    /// Shown in the footer (the rest only in `?`).
    pub hint: bool,
}

macro_rules! b {
    (Tab::$tab:ident, [$($key:expr),+], $label:expr, $action:expr, $desc:expr, $hint:expr) => {
        Binding { context: Context::Tab(Tab::$tab), keys: &[$($key),+], label: $label, action: $action, description: $desc, hint: $hint }
    };
    ($ctx:ident, [$($key:expr),+], $label:expr, $action:expr, $desc:expr, $hint:expr) => {
        Binding { context: Context::$ctx, keys: &[$($key),+], label: $label, action: $action, description: $desc, hint: $hint }
    };
}

use KeyCode::{BackTab, Down, Enter, Esc, Left, PageDown, PageUp, Right, Up};

/// `/` on every list: one syntax (`app::filter`).
pub(super) const FILTER: &str = "filter: words, state:NAME, wf:NAME";
/// Esc on the DAG and the Timeline: the filter goes first, then the selection follows.
pub(super) const FOLLOW: &str = "clear the filter, else follow running steps";
/// Esc on a list: the filter goes first, then back to where Enter came from.
const BACK: &str = "clear the filter, else back to where Enter came from";

/// The views' bindings (the modal contexts' are in `modal_bindings`).
static BINDINGS: &[Binding] = &[
    b!(
        Global,
        [code(KeyCode::Tab)],
        "Tab",
        Action::NextTab,
        "next tab",
        false
    ),
    b!(
        Global,
        [code(BackTab)],
        "S-Tab",
        Action::PrevTab,
        "previous tab",
        false
    ),
    b!(
        Global,
        [k('h')],
        "h",
        Action::ToggleHealth,
        "health: the terms of the score",
        true
    ),
    b!(
        Global,
        [k('y')],
        "y",
        Action::Copy,
        "copy the selection to the clipboard",
        true
    ),
    b!(
        Global,
        [k(':')],
        ":",
        Action::Jump,
        "go to a run, step, workflow or tab; :run FILE; :q",
        false
    ),
    b!(
        Global,
        [k('t')],
        "t",
        Action::ToggleTime,
        "times: relative or wall clock",
        false
    ),
    b!(
        Global,
        [k('c')],
        "c",
        Action::CancelRun,
        "cancel the run (asks first)",
        true
    ),
    b!(
        Global,
        [k('!')],
        "!",
        Action::Notices,
        "notices: decisions others recorded",
        false
    ),
    b!(
        Global,
        [k('@')],
        "@",
        Action::ActionLog,
        "action log: what this console did",
        false
    ),
    b!(Global, [k('?')], "?", Action::Help, "help: every key", true),
    b!(
        Global,
        [k('q')],
        "q",
        Action::Quit,
        "quit (asks first while steps run)",
        true
    ),
    b!(
        Tab::Dag,
        [code(Up), k('k')],
        "↑↓/jk",
        Action::Up,
        "select the step above",
        true
    ),
    b!(
        Tab::Dag,
        [code(Down), k('j')],
        "↑↓/jk",
        Action::Down,
        "select the step below",
        false
    ),
    b!(
        Tab::Dag,
        [code(Left), k('H')],
        "←→/HL",
        Action::Left,
        "previous layer (graph)",
        false
    ),
    b!(
        Tab::Dag,
        [code(Right), k('L')],
        "←→/HL",
        Action::Right,
        "next layer (graph)",
        false
    ),
    b!(
        Tab::Dag,
        [code(PageUp)],
        "PgUp",
        Action::PageUp,
        "page up (list)",
        false
    ),
    b!(
        Tab::Dag,
        [code(PageDown)],
        "PgDn",
        Action::PageDown,
        "page down (list)",
        false
    ),
    b!(
        Tab::Dag,
        [code(Enter), k('l')],
        "l/Enter",
        Action::Log,
        "full-screen log of the step",
        true
    ),
    b!(
        Tab::Dag,
        [k('V')],
        "V",
        Action::AllLogs,
        "every step's log in one view, each line after its step",
        false
    ),
    b!(
        Tab::Dag,
        [k('T')],
        "T",
        Action::History,
        "history: the step across its workflow's runs (durations, p50/p95, failures)",
        false
    ),
    b!(
        Tab::Dag,
        [k('a')],
        "a",
        Action::Approve,
        "approve the step's gate",
        true
    ),
    b!(
        Tab::Dag,
        [k('x')],
        "x",
        Action::Reject,
        "reject the step's gate",
        true
    ),
    b!(
        Tab::Dag,
        [k('b')],
        "b",
        Action::PushBack,
        "push the gate back with feedback",
        true
    ),
    b!(
        Tab::Dag,
        [k('r')],
        "r",
        Action::Retry,
        "retry the step",
        true
    ),
    b!(
        Tab::Dag,
        [k('P')],
        "P",
        Action::Hold,
        "hold (freezing it) or release the step",
        true
    ),
    b!(
        Tab::Dag,
        [k('f')],
        "f",
        Action::RetryFailed,
        "retry every failed step of the run (asks first, listing them)",
        false
    ),
    b!(
        Tab::Runs,
        [k('f')],
        "f",
        Action::RetryFailed,
        "retry every failed step of the run (asks first, listing them)",
        false
    ),
    b!(
        Tab::Dag,
        [k('F')],
        "F",
        Action::Fork,
        "fork the ended run from this step on",
        true
    ),
    b!(
        Tab::Runs,
        [k('P')],
        "P",
        Action::Hold,
        "hold the run's steps that have not started, or release them",
        false
    ),
    b!(
        Tab::Waiting,
        [k('P')],
        "P",
        Action::Hold,
        "release the held step",
        true
    ),
    b!(
        Tab::Dag,
        [k('n')],
        "n",
        Action::Note,
        "note on the step, on record as your OS account",
        false
    ),
    b!(
        Tab::Runs,
        [k('n')],
        "n",
        Action::Note,
        "note on the run, on record as your OS account",
        false
    ),
    b!(
        Tab::Waiting,
        [k('n')],
        "n",
        Action::Note,
        "note on the item's run, on record as your OS account",
        false
    ),
    b!(Tab::Dag, [k('/')], "/", Action::Filter, FILTER, true),
    b!(
        Tab::Dag,
        [k('g')],
        "g",
        Action::ToggleGraph,
        "graph / list",
        true
    ),
    b!(
        Tab::Dag,
        [k('z')],
        "z",
        Action::Overview,
        "zoom out: one cell per step, viewport marked",
        true
    ),
    b!(
        Tab::Dag,
        [k('e')],
        "e",
        Action::Expand,
        "expand: open or close a fanned-out step",
        true
    ),
    b!(Tab::Dag, [code(Esc)], "Esc", Action::Back, FOLLOW, false),
    b!(
        Tab::Approvals,
        [code(Up), k('k')],
        "↑↓/jk",
        Action::Up,
        "previous gate",
        true
    ),
    b!(
        Tab::Approvals,
        [code(Down), k('j')],
        "↑↓/jk",
        Action::Down,
        "next gate",
        false
    ),
    b!(
        Tab::Approvals,
        [k('a'), code(Enter)],
        "a",
        Action::Approve,
        "approve the gate (the budget gate: raise the budget)",
        true
    ),
    b!(
        Tab::Approvals,
        [k('x')],
        "x",
        Action::Reject,
        "reject the gate (reason required; the budget gate: the run fails)",
        true
    ),
    b!(
        Tab::Approvals,
        [k('b')],
        "b",
        Action::PushBack,
        "push the gate back (feedback required): its revised steps run again",
        true
    ),
    b!(
        Tab::Approvals,
        [k('l')],
        "l",
        Action::Log,
        "log of the gated step",
        false
    ),
    b!(
        Tab::Errors,
        [code(Up), k('k')],
        "↑↓/jk",
        Action::Up,
        "previous error",
        true
    ),
    b!(
        Tab::Errors,
        [code(Down), k('j')],
        "↑↓/jk",
        Action::Down,
        "next error",
        false
    ),
    b!(
        Tab::Errors,
        [code(Enter)],
        "Enter",
        Action::Enter,
        "context and log tail",
        true
    ),
    b!(
        Tab::Errors,
        [k('r')],
        "r",
        Action::Retry,
        "retry the error's step",
        true
    ),
    b!(
        Tab::Errors,
        [k('l')],
        "l",
        Action::Log,
        "full log of the error's step",
        false
    ),
    b!(
        Tab::Dag,
        [k('m')],
        "m",
        Action::Mark,
        "mark the step succeeded or failed (reason, confirm)",
        false
    ),
    b!(
        Tab::Errors,
        [k('m')],
        "m",
        Action::Mark,
        "mark the error's step succeeded or failed",
        false
    ),
    b!(
        Tab::Waiting,
        [code(Up), k('k')],
        "↑↓/jk",
        Action::Up,
        "select: the previous item",
        false
    ),
    b!(
        Tab::Waiting,
        [code(Down), k('j')],
        "↑↓/jk",
        Action::Down,
        "select: the next item",
        false
    ),
    b!(
        Tab::Waiting,
        [k('a')],
        "a",
        Action::Approve,
        "approve the gate (a budget: raise it)",
        true
    ),
    b!(
        Tab::Waiting,
        [k('x')],
        "x",
        Action::Reject,
        "reject the gate (reason required; the budget gate: the run fails)",
        true
    ),
    b!(
        Tab::Waiting,
        [k('b')],
        "b",
        Action::PushBack,
        "push the gate back (feedback required): its revised steps run again",
        true
    ),
    b!(
        Tab::Waiting,
        [k('m')],
        "m",
        Action::Mark,
        "mark the step (reason, confirm)",
        true
    ),
    b!(
        Tab::Waiting,
        [code(Enter)],
        "Enter",
        Action::Enter,
        "open: the item's run",
        true
    ),
    b!(
        Tab::Schedules,
        [code(Up), k('k')],
        "↑↓/jk",
        Action::Up,
        "select: the previous schedule",
        false
    ),
    b!(
        Tab::Schedules,
        [code(Down), k('j')],
        "↑↓/jk",
        Action::Down,
        "select: the next schedule",
        false
    ),
    b!(
        Tab::Schedules,
        [k('p')],
        "p",
        Action::Pause,
        "pause the schedule (reason, confirm)",
        true
    ),
    b!(
        Tab::Schedules,
        [k('r')],
        "r",
        Action::Resume,
        "resume the paused schedule (reason, confirm)",
        true
    ),
    b!(
        Tab::Schedules,
        [k('T')],
        "T",
        Action::Trigger,
        "trigger: a run of its workflow now (reason, confirm)",
        true
    ),
    b!(
        Tab::Schedules,
        [k('n')],
        "n",
        Action::NewRun,
        "new run: a form of its workflow's params, then started here",
        true
    ),
    b!(
        Tab::Schedules,
        [code(Enter)],
        "Enter",
        Action::Enter,
        "open: the schedule's last run",
        true
    ),
    b!(
        ScheduleDialog,
        [code(Enter)],
        "Enter",
        Action::Confirm,
        "record it (asks once more)",
        true
    ),
    b!(
        ScheduleDialog,
        [code(Esc)],
        "Esc",
        Action::Back,
        "back",
        true
    ),
    b!(
        HoldDialog,
        [code(Enter)],
        "Enter",
        Action::Confirm,
        "record it (asks once more)",
        true
    ),
    b!(HoldDialog, [code(Esc)], "Esc", Action::Back, "back", true),
    b!(
        NoteDialog,
        [code(Enter)],
        "Enter",
        Action::Confirm,
        "record the note (asks once more)",
        true
    ),
    b!(NoteDialog, [code(Esc)], "Esc", Action::Back, "back", true),
    b!(
        MarkDialog,
        [code(Enter)],
        "Enter",
        Action::Confirm,
        "mark (asks once more)",
        true
    ),
    b!(
        MarkDialog,
        [code(KeyCode::Tab), code(Up), code(Down)],
        "Tab",
        Action::SwitchButton,
        "switch the outcome (succeeded or failed)",
        true
    ),
    b!(MarkDialog, [code(Esc)], "Esc", Action::Back, "back", true),
    b!(Refused, [code(Esc)], "Esc", Action::Back, "close", true),
    b!(
        Tab::Audit,
        [code(Up), k('k')],
        "↑↓/jk",
        Action::Up,
        "scroll up",
        true
    ),
    b!(
        Tab::Audit,
        [code(Down), k('j')],
        "↑↓/jk",
        Action::Down,
        "scroll down",
        false
    ),
    b!(
        Tab::Runs,
        [code(Up), k('k')],
        "↑↓/jk",
        Action::Up,
        "previous run",
        true
    ),
    b!(
        Tab::Runs,
        [code(Down), k('j')],
        "↑↓/jk",
        Action::Down,
        "next run",
        false
    ),
    b!(
        Tab::Runs,
        [code(Enter)],
        "Enter",
        Action::Enter,
        "open the run",
        true
    ),
    b!(
        Tab::Runs,
        [k('R')],
        "R",
        Action::Resume,
        "resume an interrupted run and open it",
        true
    ),
    b!(Tab::Runs, [k('/')], "/", Action::Filter, FILTER, true),
    b!(
        Tab::Runs,
        [k('s')],
        "s",
        Action::Sort,
        "sort: newest first, longest first, by state",
        true
    ),
    b!(
        Tab::Runs,
        [k('d')],
        "d",
        Action::Delete,
        "delete the run and its logs (asks first)",
        true
    ),
    b!(
        Tab::Runs,
        [k('D')],
        "D",
        Action::Diff,
        "diff: mark the run, then D on another shows what changed (workflow text, params)",
        true
    ),
    b!(Tab::Runs, [code(Esc)], "Esc", Action::Back, BACK, false),
    b!(Tab::Approvals, [k('/')], "/", Action::Filter, FILTER, true),
    b!(
        Tab::Approvals,
        [code(Esc)],
        "Esc",
        Action::Back,
        BACK,
        false
    ),
    b!(Tab::Errors, [k('/')], "/", Action::Filter, FILTER, true),
    b!(Tab::Errors, [code(Esc)], "Esc", Action::Back, BACK, false),
    b!(Tab::Audit, [k('/')], "/", Action::Filter, FILTER, true),
    b!(Tab::Audit, [code(Esc)], "Esc", Action::Back, BACK, false),
    b!(Tab::Waiting, [k('/')], "/", Action::Filter, FILTER, true),
    b!(Tab::Waiting, [code(Esc)], "Esc", Action::Back, BACK, false),
    b!(Tab::Schedules, [k('/')], "/", Action::Filter, FILTER, true),
    b!(
        Tab::Schedules,
        [code(Esc)],
        "Esc",
        Action::Back,
        BACK,
        false
    ),
];

/// Every default binding, in table order: the views', the Timeline's, then the modal contexts'.
pub(crate) fn bindings() -> impl Iterator<Item = &'static Binding> + Clone {
    TAB_KEYS
        .iter()
        .chain(BINDINGS)
        .chain(Tab::ALL.iter().flat_map(|t| t.spec().keys))
        .chain(super::modal_bindings::MODAL.iter())
}

/// The number keys, one per tab in the tab line's order (`app::tabs`); a tenth tab has
/// none (`Tab` and `:` still reach it).
static TAB_KEYS: LazyLock<Vec<Binding>> = LazyLock::new(|| {
    Tab::ALL
        .iter()
        .zip(DIGITS)
        .map(|(&t, (keys, label))| Binding {
            context: Context::Global,
            keys,
            label,
            action: Action::GoTab(t),
            description: t.spec().about,
            hint: false,
        })
        .collect()
});

const DIGITS: [(&[Key], &str); 9] = [
    (&[k('1')], "1"),
    (&[k('2')], "2"),
    (&[k('3')], "3"),
    (&[k('4')], "4"),
    (&[k('5')], "5"),
    (&[k('6')], "6"),
    (&[k('7')], "7"),
    (&[k('8')], "8"),
    (&[k('9')], "9"),
];

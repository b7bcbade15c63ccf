//! The default bindings of the log, the inputs, the dialogs, the help and the
//! overlays: the second half of the one key table (`bindings`).
use super::Context;
use super::bindings::Binding;
use super::keys::{ALT_ENTER, code, ctrl, k};
use crate::app::Action;
use crossterm::event::KeyCode;

macro_rules! b {
    ($ctx:ident, [$($key:expr),+], $label:expr, $action:expr, $desc:expr, $hint:expr) => {
        Binding { context: Context::$ctx, keys: &[$($key),+], label: $label, action: $action, description: $desc, hint: $hint }
    };
}

use KeyCode::{BackTab, Down, End, Enter, Esc, Home, Left, PageDown, PageUp, Right, Up};

pub(super) static MODAL: &[Binding] = &[
    // Footer order: what an operator needs first (moving, searching, leaving).
    b!(
        Log,
        [code(Up), k('k')],
        "↑↓/jk",
        Action::Up,
        "scroll: a line up (stops following)",
        true
    ),
    b!(
        Log,
        [code(Down), k('j')],
        "↑↓/jk",
        Action::Down,
        "scroll: a line down (follows again at the end)",
        false
    ),
    // Paging as `less` does: Ctrl-b/f and Space a page, Ctrl-u/d half of one.
    b!(
        Log,
        [code(PageUp), ctrl('b')],
        "PgUp/Ctrl-b",
        Action::PageUp,
        "page up",
        false
    ),
    b!(
        Log,
        [code(PageDown), ctrl('f'), k(' ')],
        "PgDn/Ctrl-f/Space",
        Action::PageDown,
        "page down",
        false
    ),
    b!(
        Log,
        [ctrl('u')],
        "Ctrl-u",
        Action::HalfPageUp,
        "half a page up",
        false
    ),
    b!(
        Log,
        [ctrl('d')],
        "Ctrl-d",
        Action::HalfPageDown,
        "half a page down",
        false
    ),
    b!(
        Log,
        [code(Home), k('g')],
        "g/G",
        Action::Top,
        "top / end: the first line",
        true
    ),
    b!(
        Log,
        [code(End), k('G')],
        "g/G",
        Action::Bottom,
        "the last line, and follow new output",
        true
    ),
    b!(Log, [k('/')], "/", Action::Search, "search", true),
    b!(Log, [k('n')], "n", Action::SearchNext, "next match", true),
    b!(
        Log,
        [k('N')],
        "N",
        Action::SearchPrev,
        "previous match",
        false
    ),
    b!(
        Log,
        [code(Esc), k('q'), k('l')],
        "Esc",
        Action::Back,
        "close the log",
        true
    ),
    b!(
        Log,
        [k('[')],
        "[/]",
        Action::PrevAttempt,
        "attempts: the previous attempt's log",
        true
    ),
    b!(
        Log,
        [k(']')],
        "[/]",
        Action::NextAttempt,
        "attempts: the next attempt's log",
        false
    ),
    b!(
        Log,
        [k('t')],
        "t",
        Action::Timestamps,
        "times: when each line was written",
        true
    ),
    b!(
        Log,
        [k('f')],
        "f",
        Action::Follow,
        "follow new output (on / off)",
        true
    ),
    b!(Log, [k('w')], "w", Action::Wrap, "wrap long lines", true),
    b!(
        Log,
        [k('y')],
        "y",
        Action::Copy,
        "copy the marked line (a match, a clicked line) or else the lines on screen",
        true
    ),
    b!(
        JumpInput,
        [code(Enter)],
        "Enter",
        Action::Confirm,
        "jump there",
        true
    ),
    b!(
        JumpInput,
        [code(Esc)],
        "Esc",
        Action::Back,
        "close the prompt",
        true
    ),
    b!(
        FilterInput,
        [code(Enter)],
        "Enter",
        Action::Confirm,
        "apply the filter",
        true
    ),
    b!(
        FilterInput,
        [code(Esc)],
        "Esc",
        Action::Back,
        "clear the filter",
        true
    ),
    b!(
        SearchInput,
        [code(Enter)],
        "Enter",
        Action::Confirm,
        "search",
        true
    ),
    b!(
        SearchInput,
        [code(Esc)],
        "Esc",
        Action::Back,
        "cancel",
        true
    ),
    b!(
        GateDialog,
        [code(Enter)],
        "Enter",
        Action::Confirm,
        "confirm",
        true
    ),
    b!(
        GateDialog,
        [ALT_ENTER],
        "Alt-Enter",
        Action::NewLine,
        "new line (in the reason)",
        true
    ),
    b!(
        GateDialog,
        [code(KeyCode::Tab)],
        "Tab",
        Action::Down,
        "next field (an approval's inputs, then the reason; ←/→ choose)",
        true
    ),
    b!(
        GateDialog,
        [code(BackTab)],
        "S-Tab",
        Action::Up,
        "previous field",
        false
    ),
    b!(
        GateDialog,
        [ctrl('e')],
        "Ctrl-e",
        Action::Editor,
        "$EDITOR: the field (or the reason) edited whole, for a long or multi-line value",
        true
    ),
    b!(
        GateDialog,
        [code(PageUp)],
        "PgUp/PgDn",
        Action::PageUp,
        "scroll the diff of your changes against the proposal",
        true
    ),
    b!(
        GateDialog,
        [code(PageDown)],
        "PgUp/PgDn",
        Action::PageDown,
        "scroll the diff down",
        false
    ),
    b!(GateDialog, [code(Esc)], "Esc", Action::Back, "cancel", true),
    b!(
        RunForm,
        [code(Enter)],
        "Enter",
        Action::Confirm,
        "start the run (every field checked first, as baton run checks it)",
        true
    ),
    b!(
        RunForm,
        [code(KeyCode::Tab), code(Down)],
        "Tab",
        Action::Down,
        "next field (←/→ choose)",
        true
    ),
    b!(
        RunForm,
        [code(BackTab), code(Up)],
        "S-Tab",
        Action::Up,
        "previous field",
        false
    ),
    b!(RunForm, [code(Esc)], "Esc", Action::Back, "cancel", true),
    b!(
        ForkForm,
        [code(Enter)],
        "Enter",
        Action::Confirm,
        "fork the run (each changed field checked first, as baton fork --param checks it)",
        true
    ),
    b!(
        ForkForm,
        [code(KeyCode::Tab), code(Down)],
        "Tab",
        Action::Down,
        "next field (←/→ choose)",
        true
    ),
    b!(
        ForkForm,
        [code(BackTab), code(Up)],
        "S-Tab",
        Action::Up,
        "previous field",
        false
    ),
    b!(ForkForm, [code(Esc)], "Esc", Action::Back, "cancel", true),
    b!(
        BudgetDialog,
        [code(Enter)],
        "Enter",
        Action::Confirm,
        "raise the budget",
        true
    ),
    b!(
        BudgetDialog,
        [code(KeyCode::Tab), code(Down)],
        "Tab/↓",
        Action::Down,
        "next field",
        true
    ),
    b!(
        BudgetDialog,
        [code(BackTab), code(Up)],
        "S-Tab/↑",
        Action::Up,
        "previous field",
        false
    ),
    b!(
        BudgetDialog,
        [code(Esc)],
        "Esc",
        Action::Back,
        "cancel",
        true
    ),
    b!(
        Confirm,
        [code(Left), code(Right), code(KeyCode::Tab)],
        "←→/Tab",
        Action::SwitchButton,
        "switch button",
        true
    ),
    b!(
        Confirm,
        [code(Enter)],
        "Enter",
        Action::Confirm,
        "choose the selected button",
        true
    ),
    b!(Confirm, [k('y')], "y", Action::Yes, "yes", true),
    b!(
        Confirm,
        [k('d')],
        "d",
        Action::Detach,
        "quit: hand the runs to a background engine",
        true
    ),
    b!(
        Confirm,
        [k('i')],
        "i",
        Action::Interrupt,
        "quit: leave the runs interrupted",
        true
    ),
    b!(
        Confirm,
        [k('n'), code(Esc)],
        "n/Esc",
        Action::No,
        "no",
        true
    ),
    b!(
        Help,
        [code(Up), k('k')],
        "↑↓/jk",
        Action::Up,
        "previous key",
        true
    ),
    b!(
        Help,
        [code(Down), k('j')],
        "↑↓/jk",
        Action::Down,
        "next key",
        false
    ),
    b!(
        Help,
        [code(PageUp)],
        "PgUp/PgDn",
        Action::PageUp,
        "a page",
        false
    ),
    b!(
        Help,
        [code(PageDown), k(' ')],
        "PgUp/PgDn",
        Action::PageDown,
        "a page",
        false
    ),
    b!(
        Help,
        [code(Home), k('g')],
        "Home/End",
        Action::Top,
        "first key",
        false
    ),
    b!(
        Help,
        [code(End), k('G')],
        "Home/End",
        Action::Bottom,
        "last key",
        false
    ),
    b!(
        Help,
        [k('/')],
        "/",
        Action::Filter,
        "search: words of a key, action or tab",
        true
    ),
    b!(
        Help,
        [code(Enter)],
        "Enter",
        Action::Confirm,
        "run: the selected key's action",
        true
    ),
    b!(
        Help,
        [code(Esc), k('q'), k('?')],
        "Esc",
        Action::Back,
        "close (or clear the search)",
        true
    ),
    b!(
        Overlay,
        [code(Up), k('k')],
        "↑↓/jk",
        Action::Up,
        "scroll",
        false
    ),
    b!(
        Overlay,
        [code(Down), k('j')],
        "↑↓/jk",
        Action::Down,
        "scroll",
        false
    ),
    b!(
        Overlay,
        [code(PageUp)],
        "PgUp/PgDn",
        Action::PageUp,
        "a page at a time",
        false
    ),
    b!(
        Overlay,
        [code(PageDown), k(' ')],
        "PgUp/PgDn",
        Action::PageDown,
        "a page at a time",
        false
    ),
    b!(
        Overlay,
        [code(Home), k('g')],
        "Home/End",
        Action::Top,
        "the top",
        false
    ),
    b!(
        Overlay,
        [code(End), k('G')],
        "Home/End",
        Action::Bottom,
        "the end",
        false
    ),
    b!(
        Overlay,
        [k('t')],
        "t",
        Action::ToggleTime,
        "times: relative or wall clock",
        false
    ),
    b!(
        Overlay,
        [k('l')],
        "l",
        Action::Log,
        "log of the error's attempt (error detail); output of the newest [[action]] (action log)",
        true
    ),
    b!(
        Overlay,
        [k('r')],
        "r",
        Action::Retry,
        "retry the step (error detail)",
        true
    ),
    b!(
        Overlay,
        [code(Esc), k('q'), k('?'), k('h')],
        "Esc",
        Action::Back,
        "close",
        true
    ),
    b!(
        Overlay,
        [code(Enter)],
        "Enter",
        Action::Enter,
        "open the selected run on its step (a step's history); else close",
        false
    ),
];

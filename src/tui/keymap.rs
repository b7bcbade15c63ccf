//! The one table of key bindings. It decides what a key does in each context, and the
//! footer hints and the `?` help overlay are generated from it, so they cannot drift.
//!
//! `h` and `l` are health and log (DESIGN §7), so in the graph `H`/`L` (and the arrow
//! keys) move between layers; `j`/`k` move within a layer.
use super::app::{Action, Tab};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// Where the operator is; decides which bindings apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// Every tab, unless a modal context is on top.
    Global,
    Dag,
    Approvals,
    Errors,
    Audit,
    Runs,
    Log,
    /// Typing a DAG filter.
    FilterInput,
    /// Typing a log search.
    SearchInput,
    /// The approve/reject dialog with its reason box.
    GateDialog,
    /// The raise-the-budget dialog: an amount per exhausted limit and a reason.
    BudgetDialog,
    /// A yes/no confirmation.
    Confirm,
    /// Help, health or error-detail overlay.
    Overlay,
}

impl Context {
    /// Modal contexts take every key; the global bindings do not apply under them.
    pub fn is_modal(self) -> bool {
        matches!(
            self,
            Context::Log
                | Context::FilterInput
                | Context::SearchInput
                | Context::GateDialog
                | Context::BudgetDialog
                | Context::Confirm
                | Context::Overlay
        )
    }

    /// Contexts that pass unbound keys to a text field.
    pub fn takes_text(self) -> bool {
        matches!(
            self,
            Context::FilterInput
                | Context::SearchInput
                | Context::GateDialog
                | Context::BudgetDialog
        )
    }

    pub fn title(self) -> &'static str {
        match self {
            Context::Global => "Everywhere",
            Context::Dag => "DAG",
            Context::Approvals => "Approvals",
            Context::Errors => "Errors",
            Context::Audit => "Audit",
            Context::Runs => "Runs",
            Context::Log => "Full log",
            Context::FilterInput => "Filter input",
            Context::SearchInput => "Log search input",
            Context::GateDialog => "Approve / reject dialog",
            Context::BudgetDialog => "Raise the budget dialog",
            Context::Confirm => "Confirmation",
            Context::Overlay => "Overlays",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

const fn k(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        mods: KeyModifiers::NONE,
    }
}
const fn code(code: KeyCode) -> Key {
    Key {
        code,
        mods: KeyModifiers::NONE,
    }
}
const ALT_ENTER: Key = Key {
    code: KeyCode::Enter,
    mods: KeyModifiers::ALT,
};

impl Key {
    fn matches(self, ev: &KeyEvent) -> bool {
        // Shift is part of the character for Char keys ('R') and of BackTab.
        let mods = match ev.code {
            KeyCode::Char(_) | KeyCode::BackTab => ev.modifiers - KeyModifiers::SHIFT,
            _ => ev.modifiers,
        };
        self.code == ev.code && self.mods == mods
    }
}

pub struct Binding {
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
    ($ctx:ident, [$($key:expr),+], $label:expr, $action:expr, $desc:expr, $hint:expr) => {
        Binding { context: Context::$ctx, keys: &[$($key),+], label: $label, action: $action, description: $desc, hint: $hint }
    };
}

use KeyCode::{BackTab, Down, End, Enter, Esc, Home, Left, PageDown, PageUp, Right, Up};

pub static BINDINGS: &[Binding] = &[
    b!(
        Global,
        [k('1')],
        "1",
        Action::GoTab(Tab::Dag),
        "DAG tab",
        false
    ),
    b!(
        Global,
        [k('2')],
        "2",
        Action::GoTab(Tab::Approvals),
        "Approvals tab (open gates)",
        false
    ),
    b!(
        Global,
        [k('3')],
        "3",
        Action::GoTab(Tab::Errors),
        "Errors tab",
        false
    ),
    b!(
        Global,
        [k('4')],
        "4",
        Action::GoTab(Tab::Audit),
        "Audit tab (decisions)",
        false
    ),
    b!(
        Global,
        [k('5')],
        "5",
        Action::GoTab(Tab::Runs),
        "Runs tab (the store's runs)",
        false
    ),
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
        Dag,
        [code(Up), k('k')],
        "↑↓/jk",
        Action::Up,
        "select the step above",
        true
    ),
    b!(
        Dag,
        [code(Down), k('j')],
        "↑↓/jk",
        Action::Down,
        "select the step below",
        false
    ),
    b!(
        Dag,
        [code(Left), k('H')],
        "←→/HL",
        Action::Left,
        "previous layer (graph)",
        false
    ),
    b!(
        Dag,
        [code(Right), k('L')],
        "←→/HL",
        Action::Right,
        "next layer (graph)",
        false
    ),
    b!(
        Dag,
        [code(PageUp)],
        "PgUp",
        Action::PageUp,
        "page up (list)",
        false
    ),
    b!(
        Dag,
        [code(PageDown)],
        "PgDn",
        Action::PageDown,
        "page down (list)",
        false
    ),
    b!(
        Dag,
        [code(Enter), k('l')],
        "l/Enter",
        Action::Log,
        "full-screen log of the step",
        true
    ),
    b!(
        Dag,
        [k('a')],
        "a",
        Action::Approve,
        "approve the step's gate",
        true
    ),
    b!(
        Dag,
        [k('x')],
        "x",
        Action::Reject,
        "reject the step's gate",
        true
    ),
    b!(Dag, [k('r')], "r", Action::Retry, "retry the step", true),
    b!(
        Dag,
        [k('/')],
        "/",
        Action::Filter,
        "filter: id text or state:failed",
        true
    ),
    b!(
        Dag,
        [k('g')],
        "g",
        Action::ToggleGraph,
        "graph / list",
        true
    ),
    b!(
        Dag,
        [code(Esc)],
        "Esc",
        Action::Back,
        "clear filter; follow running steps",
        false
    ),
    b!(
        Approvals,
        [code(Up), k('k')],
        "↑↓/jk",
        Action::Up,
        "previous gate",
        true
    ),
    b!(
        Approvals,
        [code(Down), k('j')],
        "↑↓/jk",
        Action::Down,
        "next gate",
        false
    ),
    b!(
        Approvals,
        [k('a'), code(Enter)],
        "a",
        Action::Approve,
        "approve the gate (the budget gate: raise the budget)",
        true
    ),
    b!(
        Approvals,
        [k('x')],
        "x",
        Action::Reject,
        "reject the gate (reason required)",
        true
    ),
    b!(
        Approvals,
        [k('l')],
        "l",
        Action::Log,
        "log of the gated step",
        false
    ),
    b!(
        Errors,
        [code(Up), k('k')],
        "↑↓/jk",
        Action::Up,
        "previous error",
        true
    ),
    b!(
        Errors,
        [code(Down), k('j')],
        "↑↓/jk",
        Action::Down,
        "next error",
        false
    ),
    b!(
        Errors,
        [code(Enter)],
        "Enter",
        Action::Enter,
        "context and log tail",
        true
    ),
    b!(
        Errors,
        [k('r')],
        "r",
        Action::Retry,
        "retry the error's step",
        true
    ),
    b!(
        Errors,
        [k('l')],
        "l",
        Action::Log,
        "full log of the error's step",
        false
    ),
    b!(
        Audit,
        [code(Up), k('k')],
        "↑↓/jk",
        Action::Up,
        "scroll up",
        true
    ),
    b!(
        Audit,
        [code(Down), k('j')],
        "↑↓/jk",
        Action::Down,
        "scroll down",
        false
    ),
    b!(
        Runs,
        [code(Up), k('k')],
        "↑↓/jk",
        Action::Up,
        "previous run",
        true
    ),
    b!(
        Runs,
        [code(Down), k('j')],
        "↑↓/jk",
        Action::Down,
        "next run",
        false
    ),
    b!(
        Runs,
        [code(Enter)],
        "Enter",
        Action::Enter,
        "open the run",
        true
    ),
    b!(
        Runs,
        [k('R')],
        "R",
        Action::Resume,
        "resume an interrupted run",
        true
    ),
    b!(
        Log,
        [code(Up), k('k')],
        "↑↓/jk",
        Action::Up,
        "scroll up (stops following)",
        true
    ),
    b!(
        Log,
        [code(Down), k('j')],
        "↑↓/jk",
        Action::Down,
        "scroll down",
        false
    ),
    b!(
        Log,
        [code(PageUp)],
        "PgUp/PgDn",
        Action::PageUp,
        "page up",
        false
    ),
    b!(
        Log,
        [code(PageDown)],
        "PgUp/PgDn",
        Action::PageDown,
        "page down",
        false
    ),
    b!(
        Log,
        [code(Home)],
        "Home/End",
        Action::Top,
        "first line",
        false
    ),
    b!(
        Log,
        [code(End)],
        "Home/End",
        Action::Bottom,
        "last line",
        false
    ),
    b!(
        Log,
        [k('f')],
        "f",
        Action::Follow,
        "follow new output",
        true
    ),
    b!(Log, [k('w')], "w", Action::Wrap, "wrap long lines", true),
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
        "new line in the reason",
        true
    ),
    b!(GateDialog, [code(Esc)], "Esc", Action::Back, "cancel", true),
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
        [k('n'), code(Esc)],
        "n/Esc",
        Action::No,
        "no",
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
        [k('r')],
        "r",
        Action::Retry,
        "retry the step (error detail)",
        true
    ),
    b!(
        Overlay,
        [code(Esc), k('q'), k('?'), k('h'), code(Enter)],
        "Esc",
        Action::Back,
        "close",
        true
    ),
];

/// The action a key means in `ctx`: the context's own bindings first, then (outside
/// modal contexts) the global ones; in text contexts any other key goes to the field.
pub fn action_for(ctx: Context, ev: &KeyEvent) -> Option<Action> {
    if ev.kind == KeyEventKind::Release {
        return None;
    }
    let find = |c: Context| {
        BINDINGS
            .iter()
            .find(|b| b.context == c && b.keys.iter().any(|k| k.matches(ev)))
            .map(|b| b.action.clone())
    };
    if ev.modifiers.contains(KeyModifiers::CONTROL) && ev.code == KeyCode::Char('c') {
        // Ctrl-C outside a text field means quit (with the same confirmation as `q`).
        return Some(if ctx.is_modal() {
            Action::Back
        } else {
            Action::Quit
        });
    }
    find(ctx)
        .or_else(|| (!ctx.is_modal()).then(|| find(Context::Global)).flatten())
        .or_else(|| ctx.takes_text().then_some(Action::Key(*ev)))
}

/// Footer hints for `ctx`: (keys, description), one per label, context first; only
/// bindings whose action `offered` allows now (a key that would do nothing is not shown).
pub fn hints(
    ctx: Context,
    offered: impl Fn(Context, &Action) -> bool,
) -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&str, &str)> = Vec::new();
    let mut push = |c: Context| {
        for b in BINDINGS
            .iter()
            .filter(|b| b.context == c && b.hint && offered(c, &b.action))
        {
            if !out.iter().any(|(l, _)| *l == b.label) {
                out.push((b.label, short(b.description)));
            }
        }
    };
    push(ctx);
    if !ctx.is_modal() {
        push(Context::Global);
    }
    out
}

/// The first words of a description, for the footer.
fn short(d: &str) -> &str {
    let cut = d.find([':', '(', ';']).unwrap_or(d.len());
    let d = d[..cut].trim_end();
    match d.split_whitespace().next() {
        Some(w) if d.len() > 14 => w,
        _ => d,
    }
}

/// One row of the help: keys, description, and whether the action may be done now.
pub type HelpRow = (String, &'static str, bool);

/// The help overlay's sections: context title and rows; `offered` says which actions
/// may be done now (the others are shown as unavailable).
pub fn help_sections(
    offered: impl Fn(Context, &Action) -> bool,
) -> Vec<(&'static str, Vec<HelpRow>)> {
    let order = [
        Context::Global,
        Context::Dag,
        Context::Approvals,
        Context::Errors,
        Context::Audit,
        Context::Runs,
        Context::Log,
        Context::GateDialog,
        Context::BudgetDialog,
        Context::Confirm,
        Context::FilterInput,
        Context::SearchInput,
        Context::Overlay,
    ];
    order
        .iter()
        .map(|&c| {
            let rows = BINDINGS
                .iter()
                .filter(|b| b.context == c)
                .map(|b| (keys_text(b.keys), b.description, offered(c, &b.action)))
                .collect();
            (c.title(), rows)
        })
        .collect()
}

/// Every key of a binding spelled out (`↑ k`), for the help.
pub fn keys_text(keys: &[Key]) -> String {
    keys.iter()
        .map(|k| key_name(*k))
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn key_name(k: Key) -> String {
    let base = match k.code {
        KeyCode::Char(' ') => "Space".to_string(),
        KeyCode::Char(c) => c.to_string(),
        KeyCode::Up => "↑".into(),
        KeyCode::Down => "↓".into(),
        KeyCode::Left => "←".into(),
        KeyCode::Right => "→".into(),
        KeyCode::Enter => "Enter".into(),
        KeyCode::Esc => "Esc".into(),
        KeyCode::Tab => "Tab".into(),
        KeyCode::BackTab => "S-Tab".into(),
        KeyCode::PageUp => "PgUp".into(),
        KeyCode::PageDown => "PgDn".into(),
        KeyCode::Home => "Home".into(),
        KeyCode::End => "End".into(),
        other => format!("{other:?}"),
    };
    if k.mods.contains(KeyModifiers::ALT) {
        format!("Alt-{base}")
    } else {
        base
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    #[test]
    fn every_binding_is_in_the_help_and_every_key_resolves_to_it() {
        let help = help_sections(|_, _| true);
        for b in BINDINGS {
            let section = help.iter().find(|(t, _)| *t == b.context.title()).unwrap();
            assert!(
                section.1.iter().any(|(_, d, _)| *d == b.description),
                "{} missing from help",
                b.description
            );
            for k in b.keys {
                let ev = KeyEvent::new(k.code, k.mods);
                let got = action_for(b.context, &ev);
                // The first binding of a key in a context wins; it must be this one or
                // an earlier one with the same action.
                let first = BINDINGS
                    .iter()
                    .find(|x| x.context == b.context && x.keys.contains(k))
                    .unwrap();
                assert_eq!(
                    got,
                    Some(first.action.clone()),
                    "{:?} in {:?}",
                    k,
                    b.context
                );
            }
        }
    }

    #[test]
    fn no_key_is_bound_twice_in_one_context() {
        for a in BINDINGS {
            for b in BINDINGS {
                if std::ptr::eq(a, b) || a.context != b.context {
                    continue;
                }
                for k in a.keys {
                    assert!(!b.keys.contains(k), "{k:?} twice in {:?}", a.context);
                }
            }
        }
    }

    #[test]
    fn footer_hints_come_from_the_table() {
        let h = hints(Context::Approvals, |_, _| true);
        assert!(h.iter().any(|(l, _)| *l == "a"));
        assert!(h.iter().any(|(l, _)| *l == "q"), "globals follow");
        let d = hints(Context::GateDialog, |_, _| true);
        assert!(d.iter().any(|(l, _)| *l == "Alt-Enter"));
        assert!(!d.iter().any(|(l, _)| *l == "q"), "no globals in a modal");
        for (label, _) in h {
            assert!(BINDINGS.iter().any(|b| b.label == label));
        }
        let none = hints(Context::Approvals, |_, a| *a != Action::Approve);
        assert!(
            !none.iter().any(|(l, _)| *l == "a"),
            "not offered, not shown"
        );
    }

    #[test]
    fn text_contexts_pass_other_keys_through_and_modals_block_globals() {
        let ev = key(KeyCode::Char('q'));
        assert_eq!(action_for(Context::GateDialog, &ev), Some(Action::Key(ev)));
        assert_eq!(action_for(Context::Dag, &ev), Some(Action::Quit));
        assert_eq!(action_for(Context::Confirm, &key(KeyCode::Char('1'))), None);
        let alt = KeyEvent::new(KeyCode::Enter, KeyModifiers::ALT);
        assert_eq!(action_for(Context::GateDialog, &alt), Some(Action::NewLine));
        let shift_r = KeyEvent::new(KeyCode::Char('R'), KeyModifiers::SHIFT);
        assert_eq!(action_for(Context::Runs, &shift_r), Some(Action::Resume));
        let backtab = KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT);
        assert_eq!(action_for(Context::Audit, &backtab), Some(Action::PrevTab));
    }
}

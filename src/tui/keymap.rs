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
        [k('y')],
        "y",
        Action::Copy,
        "copy the selection to the clipboard",
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
        [k('z')],
        "z",
        Action::Overview,
        "zoom out: one cell per step, viewport marked",
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
        "resume an interrupted run and open it",
        true
    ),
    b!(
        Runs,
        [k('/')],
        "/",
        Action::Filter,
        "filter: words of an id, workflow or operator; state:NAME; wf:NAME",
        true
    ),
    b!(
        Runs,
        [k('s')],
        "s",
        Action::Sort,
        "sort: newest first, longest first, by state",
        true
    ),
    b!(
        Runs,
        [k('d')],
        "d",
        Action::Delete,
        "delete the run and its logs (asks first)",
        true
    ),
    b!(
        Runs,
        [code(Esc)],
        "Esc",
        Action::Back,
        "clear the filter",
        false
    ),
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
        [k('l')],
        "l",
        Action::Log,
        "log of the error's attempt (error detail)",
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
        [code(Esc), k('q'), k('?'), k('h'), code(Enter)],
        "Esc",
        Action::Back,
        "close",
        true
    ),
];

/// A binding in force: a default from [`BINDINGS`], or one the config's `[keys]` moved.
#[derive(Debug, Clone)]
pub struct Bound {
    pub context: Context,
    pub keys: Vec<Key>,
    pub label: String,
    pub action: Action,
    pub description: &'static str,
    pub hint: bool,
}

/// The bindings in force: the defaults with the user's rebindings applied.
#[derive(Debug, Clone)]
pub struct Keymap {
    bound: Vec<Bound>,
}

/// A rebinding that cannot be applied: which one (its index in the list given) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RebindError {
    pub index: usize,
    pub message: String,
    pub hint: Option<String>,
}

impl Keymap {
    pub fn defaults() -> Keymap {
        Keymap {
            bound: BINDINGS
                .iter()
                .map(|b| Bound {
                    context: b.context,
                    keys: b.keys.to_vec(),
                    label: b.label.to_string(),
                    action: b.action.clone(),
                    description: b.description,
                    hint: b.hint,
                })
                .collect(),
        }
    }

    /// The defaults with `(action name, keys)` rebindings applied, in order. A rebound
    /// action answers to exactly the keys given, in every context it has; those keys no
    /// longer mean anything else there. Two rebindings claiming one key in one context
    /// are an error.
    pub fn with_overrides(overrides: &[(String, Vec<Key>)]) -> Result<Keymap, RebindError> {
        let mut map = Keymap::defaults();
        // (context, key, which override) for every key a rebinding claims.
        let mut claimed: Vec<(Context, Key, usize)> = Vec::new();
        let mut owner: Vec<Option<usize>> = vec![None; map.bound.len()];
        for (i, (name, keys)) in overrides.iter().enumerate() {
            let targets: Vec<usize> = (0..map.bound.len())
                .filter(|&t| action_name(&map.bound[t].action) == Some(name.as_str()))
                .collect();
            if targets.is_empty() {
                let names = action_names();
                return Err(RebindError {
                    index: i,
                    message: format!("`{name}` is not an action of the console"),
                    hint: Some(
                        match crate::workflow::suggest(name, names.iter().copied()) {
                            Some(n) => format!("did you mean `{n}`?"),
                            None => format!("actions: {}", names.join(", ")),
                        },
                    ),
                });
            }
            if keys.is_empty() {
                return Err(RebindError {
                    index: i,
                    message: format!("`{name}` is given no key"),
                    hint: Some(format!(
                        "write {name} = \"x\" or {name} = [\"x\", \"ctrl-x\"]"
                    )),
                });
            }
            for &t in &targets {
                let ctx = map.bound[t].context;
                for k in keys {
                    if let Some((_, _, j)) = claimed
                        .iter()
                        .find(|(c, kk, j)| *c == ctx && kk == k && *j != i)
                    {
                        return Err(RebindError {
                            index: i,
                            message: format!(
                                "`{}` is bound to both `{}` and `{name}` in {}",
                                key_spec(*k),
                                overrides[*j].0,
                                ctx.title()
                            ),
                            hint: Some("give one of them another key".into()),
                        });
                    }
                    if !claimed
                        .iter()
                        .any(|(c, kk, j)| *c == ctx && kk == k && *j == i)
                    {
                        claimed.push((ctx, *k, i));
                    }
                }
                owner[t] = Some(i);
                map.bound[t].keys = keys.clone();
            }
        }
        // A user binding overrides the default on its key, in its context.
        for (t, b) in map.bound.iter_mut().enumerate() {
            let before = b.keys.len();
            b.keys.retain(|k| {
                !claimed
                    .iter()
                    .any(|(c, kk, j)| *c == b.context && kk == k && owner[t] != Some(*j))
            });
            if owner[t].is_some() || b.keys.len() != before {
                b.label = if b.keys.is_empty() {
                    "(unbound)".into()
                } else {
                    b.keys
                        .iter()
                        .map(|k| key_name(*k))
                        .collect::<Vec<_>>()
                        .join("/")
                };
            }
        }
        Ok(map)
    }

    /// The bindings in force, in table order.
    pub fn bound(&self) -> &[Bound] {
        &self.bound
    }

    /// The action a key means in `ctx`: the context's own bindings first, then
    /// (outside modal contexts) the global ones; in text contexts any other key goes
    /// to the field.
    pub fn action_for(&self, ctx: Context, ev: &KeyEvent) -> Option<Action> {
        if ev.kind == KeyEventKind::Release {
            return None;
        }
        let find = |c: Context| {
            self.bound
                .iter()
                .find(|b| b.context == c && b.keys.iter().any(|k| k.matches(ev)))
                .map(|b| b.action.clone())
        };
        if let Some(a) = find(ctx) {
            return Some(a);
        }
        if ev.modifiers.contains(KeyModifiers::CONTROL) && ev.code == KeyCode::Char('c') {
            // Ctrl-C outside a text field means quit (with the same confirmation as
            // `q`); inside a modal it closes it.
            return Some(if ctx.is_modal() {
                Action::Back
            } else {
                Action::Quit
            });
        }
        (!ctx.is_modal())
            .then(|| find(Context::Global))
            .flatten()
            .or_else(|| ctx.takes_text().then_some(Action::Key(*ev)))
    }

    /// Footer hints for `ctx`: (keys, description), one per label, context first; only
    /// bindings whose action `offered` allows now (a key that would do nothing is not
    /// shown), and never an unbound one.
    pub fn hints(
        &self,
        ctx: Context,
        offered: impl Fn(Context, &Action) -> bool,
    ) -> Vec<(&str, &'static str)> {
        let mut out: Vec<(&str, &'static str)> = Vec::new();
        let mut push =
            |c: Context| {
                for b in self.bound.iter().filter(|b| {
                    b.context == c && b.hint && !b.keys.is_empty() && offered(c, &b.action)
                }) {
                    if !out.iter().any(|(l, _)| *l == b.label) {
                        out.push((b.label.as_str(), short(b.description)));
                    }
                }
            };
        push(ctx);
        if !ctx.is_modal() {
            push(Context::Global);
        }
        out
    }

    /// The help overlay's sections: context title and rows; `offered` says which
    /// actions may be done now (the others are shown as unavailable).
    pub fn help_sections(
        &self,
        offered: impl Fn(Context, &Action) -> bool,
    ) -> Vec<(&'static str, Vec<HelpRow>)> {
        HELP_ORDER
            .iter()
            .map(|&c| {
                let rows = self
                    .bound
                    .iter()
                    .filter(|b| b.context == c)
                    .map(|b| {
                        let keys = if b.keys.is_empty() {
                            "(unbound)".to_string()
                        } else {
                            keys_text(&b.keys)
                        };
                        (keys, b.description, offered(c, &b.action))
                    })
                    .collect();
                (c.title(), rows)
            })
            .collect()
    }
}

const HELP_ORDER: [Context; 13] = [
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

static ACTIVE: std::sync::OnceLock<Keymap> = std::sync::OnceLock::new();

/// Put the user's keymap in force for this process (once, before the console starts).
pub fn install(map: Keymap) {
    let _ = ACTIVE.set(map);
}

/// The keymap in force: the installed one, else the defaults.
pub fn active() -> &'static Keymap {
    ACTIVE.get_or_init(Keymap::defaults)
}

/// The action a key means in `ctx`, with the keymap in force.
pub fn action_for(ctx: Context, ev: &KeyEvent) -> Option<Action> {
    active().action_for(ctx, ev)
}

/// Footer hints for `ctx`, with the keymap in force.
pub fn hints(
    ctx: Context,
    offered: impl Fn(Context, &Action) -> bool,
) -> Vec<(&'static str, &'static str)> {
    active().hints(ctx, offered)
}

/// The name an action has in the config's `[keys]` table; none for what is not a key
/// (text typed into a field, the engine's answers).
pub fn action_name(a: &Action) -> Option<&'static str> {
    use crate::tui::app::Tab as T;
    Some(match a {
        Action::Up => "up",
        Action::Down => "down",
        Action::Left => "left",
        Action::Right => "right",
        Action::PageUp => "page_up",
        Action::PageDown => "page_down",
        Action::Top => "top",
        Action::Bottom => "bottom",
        Action::GoTab(T::Dag) => "tab_dag",
        Action::GoTab(T::Approvals) => "tab_approvals",
        Action::GoTab(T::Errors) => "tab_errors",
        Action::GoTab(T::Audit) => "tab_audit",
        Action::GoTab(T::Runs) => "tab_runs",
        Action::NextTab => "next_tab",
        Action::PrevTab => "prev_tab",
        Action::Enter => "open",
        Action::Approve => "approve",
        Action::Reject => "reject",
        Action::Retry => "retry",
        Action::CancelRun => "cancel",
        Action::Filter => "filter",
        Action::Log => "log",
        Action::ToggleGraph => "graph",
        Action::Overview => "overview",
        Action::Timestamps => "timestamps",
        Action::PrevAttempt => "prev_attempt",
        Action::NextAttempt => "next_attempt",
        Action::ToggleHealth => "health",
        Action::ToggleTime => "time",
        Action::Copy => "copy",
        Action::Sort => "sort",
        Action::Delete => "delete",
        Action::Help => "help",
        Action::Quit => "quit",
        Action::Back => "back",
        Action::Resume => "resume",
        Action::Follow => "follow",
        Action::Wrap => "wrap",
        Action::Search => "search",
        Action::SearchNext => "search_next",
        Action::SearchPrev => "search_prev",
        Action::Confirm => "confirm",
        Action::NewLine => "new_line",
        Action::Yes => "yes",
        Action::No => "no",
        Action::SwitchButton => "switch_button",
        Action::Key(_)
        | Action::Click { .. }
        | Action::Outcome(_)
        | Action::Resumed { .. }
        | Action::Deleted { .. } => {
            return None;
        }
    })
}

/// Every action name `[keys]` accepts, in table order.
pub fn action_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for n in BINDINGS.iter().filter_map(|b| action_name(&b.action)) {
        if !names.contains(&n) {
            names.push(n);
        }
    }
    names
}

/// A key as the config writes it: `y`, `R`, `ctrl-c`, `alt-enter`, `shift-tab`, `f5`,
/// `pgdn`, `space`.
pub fn parse_key(spec: &str) -> Result<Key, String> {
    let mut mods = KeyModifiers::NONE;
    let mut rest = spec;
    loop {
        let l = rest.to_ascii_lowercase();
        let (m, n) = if l.starts_with("ctrl-") {
            (KeyModifiers::CONTROL, 5)
        } else if l.starts_with("alt-") {
            (KeyModifiers::ALT, 4)
        } else if l.starts_with("shift-") && l != "shift-tab" {
            (KeyModifiers::SHIFT, 6)
        } else {
            break;
        };
        mods |= m;
        rest = &rest[n..];
    }
    let mut chars = rest.chars();
    let code = match (chars.next(), chars.next()) {
        (Some(c), None) if !c.is_control() && c != ' ' => {
            if mods.contains(KeyModifiers::SHIFT) {
                mods -= KeyModifiers::SHIFT;
                KeyCode::Char(c.to_ascii_uppercase())
            } else {
                KeyCode::Char(c)
            }
        }
        _ => match rest.to_ascii_lowercase().as_str() {
            "enter" | "return" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "tab" => KeyCode::Tab,
            "shift-tab" | "backtab" => KeyCode::BackTab,
            "space" => KeyCode::Char(' '),
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pgup" | "pageup" => KeyCode::PageUp,
            "pgdn" | "pagedown" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "backspace" => KeyCode::Backspace,
            "delete" | "del" => KeyCode::Delete,
            "insert" | "ins" => KeyCode::Insert,
            f if f.len() > 1
                && f.starts_with('f')
                && f[1..].parse::<u8>().is_ok_and(|n| (1..=12).contains(&n)) =>
            {
                KeyCode::F(f[1..].parse().unwrap_or(1))
            }
            _ => {
                return Err(format!("`{spec}` is not a key"));
            }
        },
    };
    Ok(Key { code, mods })
}

/// A key as the config would write it (`ctrl-c`, `R`, `pgdn`).
pub fn key_spec(k: Key) -> String {
    let base = match k.code {
        KeyCode::Char(' ') => "space".to_string(),
        KeyCode::Char(c) => c.to_string(),
        KeyCode::Enter => "enter".into(),
        KeyCode::Esc => "esc".into(),
        KeyCode::Tab => "tab".into(),
        KeyCode::BackTab => "shift-tab".into(),
        KeyCode::PageUp => "pgup".into(),
        KeyCode::PageDown => "pgdn".into(),
        KeyCode::F(n) => format!("f{n}"),
        other => format!("{other:?}").to_ascii_lowercase(),
    };
    let mut out = String::new();
    if k.mods.contains(KeyModifiers::CONTROL) {
        out.push_str("ctrl-");
    }
    if k.mods.contains(KeyModifiers::ALT) {
        out.push_str("alt-");
    }
    out + &base
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

/// The help overlay's sections, with the keymap in force.
pub fn help_sections(
    offered: impl Fn(Context, &Action) -> bool,
) -> Vec<(&'static str, Vec<HelpRow>)> {
    active().help_sections(offered)
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
    let mut out = String::new();
    if k.mods.contains(KeyModifiers::CONTROL) {
        out.push_str("Ctrl-");
    }
    if k.mods.contains(KeyModifiers::ALT) {
        out.push_str("Alt-");
    }
    out + &base
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

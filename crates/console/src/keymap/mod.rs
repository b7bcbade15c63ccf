//! The one table of key bindings. It decides what a key does in each context, and the
//! footer hints and the `?` help overlay are generated from it, so they cannot drift.
//!
//! `h` and `l` are health and log, so in the graph `H`/`L` (and the arrow keys) move
//! between layers; `j`/`k` move within a layer.
//!
//! - `bindings`: the default table (the views'; `modal_bindings` the log's, the
//!   inputs', the dialogs', the help's and the overlays').
//! - `keys`: how keys are written in the config and shown on screen.
//! - `config`: the config's `[keys]` applied to the defaults.
//! - `user`: the config's `[[action]]`s as bindings, their keys checked.
mod bindings;
mod config;
// docs/keys.md, written and checked by its tests only.
#[cfg(test)]
mod doc_table;
mod keys;
mod modal_bindings;
mod timeline_keys;
mod user;

pub(crate) use bindings::{Binding, bindings};
pub use config::checked;
pub(crate) use config::from_config;
pub(crate) use keys::{Key, key_name, key_spec, keys_text, parse_key};
pub(crate) use timeline_keys::TIMELINE as TIMELINE_KEYS;

use super::app::{Action, Tab};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// Where the operator is; decides which bindings apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// Every tab, unless a modal context is on top.
    Global,
    /// A tab's own keys (`app::tabs`).
    Tab(Tab),
    Log,
    /// Typing a DAG filter.
    FilterInput,
    /// Typing a log search.
    SearchInput,
    /// Typing where `:` jumps (a run id's start or a step id).
    JumpInput,
    /// The approve/reject dialog with its reason box.
    GateDialog,
    /// The raise-the-budget dialog: an amount per exhausted limit and a reason.
    BudgetDialog,
    /// Mark a step by hand: outcome, reason, confirm.
    MarkDialog,
    /// Pause, resume or trigger a schedule: reason, confirm.
    ScheduleDialog,
    /// Hold or release a step or a run: reason, confirm.
    HoldDialog,
    /// A note on a run or a step: its text, confirm.
    NoteDialog,
    /// A new run's params (`app::run_form`): fields, then Enter starts it.
    RunForm,
    /// A fork of a run with params (`app::fork`): fields, then Enter forks it.
    ForkForm,
    /// An action refused before its dialog opened, held until Esc: it takes every key,
    /// so a reason typed on runs as none.
    Refused,
    /// A yes/no confirmation.
    Confirm,
    /// The help (`?`): select a key, search (`/`), run it (Enter).
    Help,
    /// Health, notices, the action log or error-detail overlay.
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
                | Context::JumpInput
                | Context::GateDialog
                | Context::BudgetDialog
                | Context::MarkDialog
                | Context::ScheduleDialog
                | Context::HoldDialog
                | Context::NoteDialog
                | Context::RunForm
                | Context::ForkForm
                | Context::Refused
                | Context::Confirm
                | Context::Help
                | Context::Overlay
        )
    }

    /// Contexts that pass unbound keys to a text field.
    pub fn takes_text(self) -> bool {
        matches!(
            self,
            Context::FilterInput
                | Context::SearchInput
                | Context::JumpInput
                | Context::GateDialog
                | Context::BudgetDialog
                | Context::MarkDialog
                | Context::ScheduleDialog
                | Context::HoldDialog
                | Context::NoteDialog
                | Context::RunForm
                | Context::ForkForm
                | Context::Refused
        )
    }

    pub fn title(self) -> &'static str {
        match self {
            Context::Global => "Everywhere",
            Context::Tab(t) => t.title(),
            Context::Log => "Full log",
            Context::FilterInput => "Filter input",
            Context::SearchInput => "Log search input",
            Context::JumpInput => "Jump (:) input",
            Context::GateDialog => "Approve / reject dialog",
            Context::BudgetDialog => "Raise the budget dialog",
            Context::MarkDialog => "Mark dialog",
            Context::ScheduleDialog => "Schedule dialog",
            Context::HoldDialog => "Hold / release dialog",
            Context::NoteDialog => "Note dialog",
            Context::RunForm => "New run form",
            Context::ForkForm => "Fork form",
            Context::Refused => "Refusal",
            Context::Confirm => "Confirmation",
            Context::Help => "Help (?)",
            Context::Overlay => "Overlays",
        }
    }
}

/// A binding in force: a default from [`bindings`], or one the config's `[keys]` moved.
#[derive(Debug, Clone)]
pub struct Bound {
    pub context: Context,
    pub keys: Vec<Key>,
    pub label: String,
    pub action: Action,
    /// The built-in bindings' text, or an `[[action]]`'s own.
    pub description: std::borrow::Cow<'static, str>,
    pub hint: bool,
}

/// The bindings in force: the defaults with the user's rebindings applied.
#[derive(Debug, Clone)]
pub struct Keymap {
    bound: Vec<Bound>,
}

impl Default for Keymap {
    fn default() -> Keymap {
        Keymap::defaults()
    }
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
            bound: bindings()
                .map(|b| Bound {
                    context: b.context,
                    keys: b.keys.to_vec(),
                    label: b.label.to_string(),
                    action: b.action.clone(),
                    description: b.description.into(),
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
                .filter(|&t| action_name(&map.bound[t].action) == name.as_str())
                .collect();
            if targets.is_empty() {
                let names = action_names();
                return Err(RebindError {
                    index: i,
                    message: format!("`{name}` is not an action of the console"),
                    hint: Some(match baton_workflow::suggest(name, names.iter().copied()) {
                        Some(n) => format!("did you mean `{n}`?"),
                        None => format!("actions: {}", names.join(", ")),
                    }),
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
        check_defaults_kept(&map, &owner, &claimed, overrides)?;
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

    /// The keys of `action` in `ctx` as the footer writes them, if it has any.
    pub fn label_of(&self, ctx: Context, action: &Action) -> Option<&str> {
        self.bound
            .iter()
            .find(|b| b.context == ctx && b.action == *action && !b.keys.is_empty())
            .map(|b| b.label.as_str())
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
    /// shown), and never an unbound one. A label that holds two actions (`↑↓/jk`) says
    /// both (`previous/next gate`), never only the first.
    pub fn hints(
        &self,
        ctx: Context,
        offered: impl Fn(Context, &Action) -> bool,
    ) -> Vec<(&str, String)> {
        let mut out: Vec<(&str, String)> = Vec::new();
        // A global binding whose every key `ctx` takes for itself does not work here
        // (`h` is health, but moves left on the graph when `[keys]` says so).
        let shadowed = |b: &Bound| {
            b.context != ctx
                && b.keys.iter().all(|k| {
                    self.bound
                        .iter()
                        .any(|o| o.context == ctx && o.keys.contains(k))
                })
        };
        let mut push = |c: Context| {
            let shown = |b: &&Bound| {
                b.context == c && !b.keys.is_empty() && offered(c, &b.action) && !shadowed(b)
            };
            for b in self.bound.iter().filter(shown).filter(|b| b.hint) {
                if !out.iter().any(|(l, _)| *l == b.label) {
                    let desc = self
                        .bound
                        .iter()
                        .filter(shown)
                        .filter(|o| o.label == b.label)
                        .map(|o| short(&o.description).to_string())
                        .reduce(|a, o| both(&a, &o))
                        .unwrap_or_default();
                    out.push((b.label.as_str(), desc));
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
    ) -> Vec<(&'static str, Vec<HelpRow<'_>>)> {
        help_order()
            .into_iter()
            .map(|c| {
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
                        (keys, b.description.as_ref(), offered(c, &b.action))
                    })
                    .collect();
                (c.title(), rows)
            })
            .collect()
    }
}

/// The help's sections, in order.
/// The help's sections in order: everywhere, each tab's (the tab line's order), then
/// the log's, the dialogs' and the inputs'.
pub(crate) fn help_order() -> Vec<Context> {
    let mut order = vec![Context::Global];
    order.extend(Tab::ALL.iter().map(|&t| Context::Tab(t)));
    order.extend([
        Context::Log,
        Context::GateDialog,
        Context::BudgetDialog,
        Context::MarkDialog,
        Context::ScheduleDialog,
        Context::HoldDialog,
        Context::NoteDialog,
        Context::RunForm,
        Context::ForkForm,
        Context::Refused,
        Context::Confirm,
        Context::FilterInput,
        Context::SearchInput,
        Context::JumpInput,
        Context::Help,
        Context::Overlay,
    ]);
    order
}

/// The name an action has in the config's `[keys]` table (derived from the variant's
/// name, see [`Action`]).
pub(crate) fn action_name(a: &Action) -> &'static str {
    a.into()
}

/// Every action name `[keys]` accepts, in table order.
pub(crate) fn action_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for n in bindings().map(|b| action_name(&b.action)) {
        if !names.contains(&n) {
            names.push(n);
        }
    }
    names
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

/// Two actions' short descriptions as one, sharing their common words: `previous gate`
/// and `next gate` are `previous/next gate`, `scroll up` and `scroll down` are
/// `scroll up/down`; with nothing in common, the first.
fn both(a: &str, b: &str) -> String {
    if a == b {
        return a.to_string();
    }
    let (wa, wb): (Vec<&str>, Vec<&str>) = (a.split(' ').collect(), b.split(' ').collect());
    let n = wa.len().min(wb.len());
    let pre = (0..n).take_while(|&i| wa[i] == wb[i]).count();
    let suf = (0..n - pre)
        .take_while(|&i| wa[wa.len() - 1 - i] == wb[wb.len() - 1 - i])
        .count();
    let mid = |w: &[&str]| w[pre..w.len() - suf].join(" ");
    if pre + suf == 0 || mid(&wa).is_empty() || mid(&wb).is_empty() {
        return if wb.len() > wa.len() { b } else { a }.to_string();
    }
    let words: Vec<String> = wa[..pre]
        .iter()
        .map(|w| w.to_string())
        .chain(Some(format!("{}/{}", mid(&wa), mid(&wb))))
        .chain(wa[wa.len() - suf..].iter().map(|w| w.to_string()))
        .collect();
    words.join(" ")
}

/// One row of the help: keys, description, and whether the action may be done now.
pub(crate) type HelpRow<'a> = (String, &'a str, bool);

/// A user binding that takes a key another action keeps by default in the same
/// context is a conflict, as two user bindings on one key are: the other action
/// would lose its key without a word. A global key is kept in every view that
/// is not modal (issue 45 point 7: `approve = "y"` would take copy's `y` in the
/// DAG, Approvals and Waiting).
fn check_defaults_kept(
    map: &Keymap,
    owner: &[Option<usize>],
    claimed: &[(Context, Key, usize)],
    overrides: &[(String, Vec<Key>)],
) -> Result<(), RebindError> {
    for (t, b) in map.bound.iter().enumerate() {
        if owner[t].is_some() {
            continue;
        }
        for k in &b.keys {
            let here =
                |c: &Context| *c == b.context || (b.context == Context::Global && !c.is_modal());
            if let Some((c, _, j)) = claimed.iter().find(|(c, kk, _)| here(c) && kk == k) {
                let place = c.title();
                let other = action_name(&b.action);
                return Err(RebindError {
                    index: *j,
                    message: format!(
                        "`{}` is bound to both `{other}` (by default) and `{}` in {place}",
                        key_spec(*k),
                        overrides[*j].0,
                    ),
                    hint: Some(format!(
                        "give `{}` another key, or move `{other}` off it ({other} = \"…\")",
                        overrides[*j].0
                    )),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod both_tests {
    #[test]
    fn two_actions_on_one_label_say_both() {
        assert_eq!(
            super::both("previous gate", "next gate"),
            "previous/next gate"
        );
        assert_eq!(super::both("scroll up", "scroll down"), "scroll up/down");
        assert_eq!(super::both("select", "select"), "select");
        assert_eq!(super::both("top / end", "the"), "top / end");
    }
}

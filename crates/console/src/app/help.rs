//! The help (`?`, issue 45 point 7): every key from the one key table, by context,
//! paged; `/` searches it with the filter every list takes (`app::filter`); Enter runs
//! the selected key's action on the tab under the help, as lazygit and k9s do, by
//! handing `update` the binding's own [`Action`] (a key and a help line run the same).
use super::actions::{Action, Tab};
use super::filter::{Filter, Row, has};
use super::state::UiState;
use super::update::{move_sel, toast};
use crate::keymap::{Bound, Context, Keymap, help_order, keys_text};
use baton_model::RunView;

/// One line of the help: a binding in force, its section, whether it may be done now.
#[derive(Debug, Clone)]
pub(crate) struct HelpEntry<'a> {
    pub section: Context,
    pub bound: &'a Bound,
    /// Its keys as the help writes them (`(unbound)` when it has none).
    pub keys: String,
    /// Whether the action would do something now (else shown as `not now`).
    pub now: bool,
}

impl Row for HelpEntry<'_> {
    const NOUN: &'static str = "key";
    const HAS_WORKFLOW: bool = false;
    fn state_names() -> Vec<&'static str> {
        Vec::new()
    }
    fn states(&self) -> Vec<&str> {
        Vec::new()
    }
    fn workflow(&self) -> Option<&str> {
        None
    }
    /// Its keys, what it does, and the section's title (`runs`, `esc`, `filter`).
    fn has_word(&self, w: &str) -> bool {
        has(&self.keys, w)
            || has(&self.bound.description, w)
            || has(self.section.title(), w)
            || has(crate::keymap::action_name(&self.bound.action), w)
    }
}

/// The tab whose keys a context holds.
fn tab_of(c: Context) -> Option<Tab> {
    match c {
        Context::Tab(t) => Some(t),
        _ => None,
    }
}

/// The help's lines the search lets through, in the table's order by section; a
/// read-only console lists nothing that acts.
pub(crate) fn help_entries<'a>(
    keys: &'a Keymap,
    ui: &UiState,
    view: &RunView,
) -> Vec<HelpEntry<'a>> {
    let f = Filter::parse(&ui.help_filter);
    help_order()
        .into_iter()
        .flat_map(|c| keys.bound().iter().filter(move |b| b.context == c))
        .map(|b| HelpEntry {
            section: b.context,
            bound: b,
            keys: if b.keys.is_empty() {
                "(unbound)".to_string()
            } else {
                keys_text(&b.keys)
            },
            now: super::targets::offered(ui, view, b.context, &b.action),
        })
        .filter(|e| !ui.readonly || e.now)
        .filter(|e| f.matches(e))
        .collect()
}

/// The selected help line (an index into [`help_entries`]).
pub(crate) fn help_at(ui: &UiState, shown: usize) -> Option<usize> {
    (shown > 0).then(|| ui.help_sel.min(shown - 1))
}

/// Keys in the help: move the selection, search, clear, close.
pub(super) fn help(ui: &mut UiState, view: &RunView, action: Action) {
    let n = help_entries(&ui.keys.clone(), ui, view).len();
    match action {
        Action::Filter => ui.filter_editing = true,
        Action::Back if !ui.help_filter.is_empty() => {
            ui.help_filter.clear();
            ui.help_sel = 0;
        }
        Action::Back => {
            ui.overlay = None;
            ui.help_sel = 0;
        }
        Action::ToggleTime => super::update::toggle_time(ui),
        other => move_sel(&mut ui.help_sel, n, &other),
    }
}

/// Enter on a help line: the action its binding names, to run on the tab under the
/// help (the help closes; a tab's key moves to its tab first). `None` when the line
/// names a key of a dialog, an input or the log, which runs only there: said why.
pub(super) fn chosen(ui: &mut UiState, view: &RunView) -> Option<Action> {
    let keys = ui.keys.clone();
    let entries = help_entries(&keys, ui, view);
    let e = entries.get(help_at(ui, entries.len())?)?;
    let (section, action, label) = (e.section, e.bound.action.clone(), e.keys.clone());
    let tab = tab_of(section);
    if section != Context::Global && tab.is_none() {
        let why = format!(
            "✘ {label} works in the {} only: open it there",
            section.title()
        );
        toast(ui, why, false);
        return None;
    }
    ui.overlay = None;
    ui.help_filter.clear();
    ui.help_sel = 0;
    if let Some(t) = tab.filter(|&t| t != ui.tab) {
        ui.tab = t;
        ui.came_from = None;
    }
    Some(action)
}

#[cfg(test)]
mod tests;

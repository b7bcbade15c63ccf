//! The configuration's `[[action]]`s as bindings (issue 58 point 7): each on its key in
//! the views its scopes act in, so the footer and the help list it as they list every
//! key. A key another binding has in one of those views is an error naming both, as
//! two `[keys]` on one key are.
use super::{Bound, Context, Keymap, action_name, key_name, parse_key};
use crate::app::{Action, Tab};
use baton_link::config::{At, Scope, UserAction};
use std::borrow::Cow;

/// A problem with one `[[action]]`'s key: where, what, and what would be right.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct KeyProblem {
    pub at: At,
    pub message: String,
    pub hint: Option<String>,
}

/// The views an action's scopes act in: `run` every view (its key is global), `step`
/// the DAG and the Timeline, `gate` the DAG, Approvals and Waiting.
fn contexts(scopes: &[Scope]) -> Vec<Context> {
    if scopes.contains(&Scope::Run) {
        return vec![Context::Global];
    }
    let mut out = Vec::new();
    for s in scopes {
        let tabs: &[Tab] = match s {
            Scope::Step => &[Tab::Dag, Tab::Timeline],
            Scope::Gate => &[Tab::Dag, Tab::Approvals, Tab::Waiting],
            Scope::Run => &[],
        };
        for t in tabs {
            if !out.contains(&Context::Tab(*t)) {
                out.push(Context::Tab(*t));
            }
        }
    }
    out
}

/// Whether a key bound in `a` and in `b` would meet: the same view, or a global key in
/// a view that is not modal.
fn meet(a: Context, b: Context) -> bool {
    a == b || (a == Context::Global && !b.is_modal()) || (b == Context::Global && !a.is_modal())
}

/// What a key the console keeps for itself does: Ctrl-L redraws (before any binding),
/// Ctrl-C quits or closes what is open where nothing binds it.
fn reserved(key: super::Key) -> Option<&'static str> {
    [
        ("ctrl-l", "redraws the screen"),
        ("ctrl-c", "quits or closes a dialog"),
    ]
    .into_iter()
    .find(|(spec, _)| parse_key(spec).is_ok_and(|k| k == key))
    .map(|(_, what)| what)
}

/// What the help says of an action, after its own description.
fn described(a: &UserAction) -> String {
    let how = if a.dangerous {
        ", dangerous: asks first"
    } else if a.confirm {
        ", asks first"
    } else {
        ""
    };
    format!("{} ([[action]]{how})", a.description)
}

impl Keymap {
    /// These bindings with every `[[action]]` added on its key; or each action whose key
    /// is not one or is taken where it acts.
    pub(super) fn with_user_actions(
        mut self,
        actions: &[UserAction],
    ) -> Result<Keymap, Vec<KeyProblem>> {
        let mut problems = Vec::new();
        for (i, a) in actions.iter().enumerate() {
            let (spec, at) = (&a.key.0, a.key.1);
            let key = match parse_key(spec) {
                Ok(k) => k,
                Err(m) => {
                    problems.push(KeyProblem {
                        at,
                        message: m.to_string(),
                        hint: Some(super::config::KEY_HINT.into()),
                    });
                    continue;
                }
            };
            // Keys the loop takes before any binding: never an action's.
            if let Some(what) = reserved(key) {
                problems.push(KeyProblem {
                    at,
                    message: format!("`{spec}` {what} in every view"),
                    hint: Some("give the [[action]] another `key`".into()),
                });
                continue;
            }
            let name = |b: &Bound| match &b.action {
                Action::User(j) => format!(
                    "the [[action]] “{}”",
                    actions.get(*j).map_or("?", |o| o.description.as_str())
                ),
                other => format!("`{}`", action_name(other)),
            };
            let mut taken = None;
            for c in contexts(&a.scopes) {
                if let Some(b) = self
                    .bound
                    .iter()
                    .find(|b| meet(b.context, c) && b.keys.contains(&key))
                {
                    let place = if c == Context::Global { b.context } else { c };
                    taken = Some((name(b), place.title(), matches!(b.action, Action::User(_))));
                    break;
                }
                self.bound.push(Bound {
                    context: c,
                    keys: vec![key],
                    label: key_name(key),
                    action: Action::User(i),
                    description: Cow::Owned(described(a)),
                    hint: true,
                });
            }
            if let Some((other, place, user)) = taken {
                let hint = if user {
                    "give one of them another `key`".to_string()
                } else {
                    let n = other.trim_matches('`');
                    format!(
                        "give the [[action]] another `key`, or move {other} off it ([keys] {n} = \"…\")"
                    )
                };
                problems.push(KeyProblem {
                    at,
                    message: format!(
                        "`{spec}` is bound to both {other} and the [[action]] “{}” in {place}",
                        a.description
                    ),
                    hint: Some(hint),
                });
            }
        }
        if problems.is_empty() {
            Ok(self)
        } else {
            Err(problems)
        }
    }
}

#[cfg(test)]
mod tests;

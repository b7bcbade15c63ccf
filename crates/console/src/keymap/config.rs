//! The configuration's `[keys]` (kept as written by `config`) applied to the default
//! bindings, then its `[[action]]`s added (`user`), with their problems reported at
//! their place in the file.
use super::{Keymap, parse_key};
use baton_link::config::{At, Config, Read};
use baton_workflow::{Diagnostic, Diagnostics};

pub(super) const KEY_HINT: &str = "write a character (`y`, `R`), a name (`enter`, `esc`, `tab`, `space`, `pgdn`, `f5`) or a modifier and a key (`ctrl-c`, `alt-enter`, `shift-tab`)";

/// The console's bindings: the defaults with `[keys]` applied; or every key that is not
/// one and the first rebinding that cannot be applied, each at its place.
pub(crate) fn from_config(c: &Config) -> Result<Keymap, Diagnostics> {
    let file = c.file.clone().unwrap_or_default();
    let problem = |at: At, message: String, hint: Option<String>| Diagnostic {
        file: file.clone(),
        line: at.line,
        col: at.col,
        message,
        hint,
    };
    let mut problems = Vec::new();
    let rebinds: Vec<(String, Vec<super::Key>)> = c
        .keys
        .iter()
        .map(|e| {
            let keys = e
                .keys
                .iter()
                .filter_map(|(spec, at)| match parse_key(spec) {
                    Ok(key) => Some(key),
                    Err(m) => {
                        problems.push(problem(*at, m.to_string(), Some(KEY_HINT.into())));
                        None
                    }
                })
                .collect();
            (e.action.clone(), keys)
        })
        .collect();
    match Keymap::with_overrides(&rebinds).map(|m| m.with_user_actions(&c.actions)) {
        Ok(Ok(map)) if problems.is_empty() => return Ok(map),
        Ok(Ok(_)) => {}
        // `[[action]]` keys against the bindings in force, `[keys]` applied.
        Ok(Err(keys)) => {
            problems.extend(keys.into_iter().map(|k| problem(k.at, k.message, k.hint)))
        }
        Err(e) => problems.push(problem(c.keys[e.index].at, e.message, e.hint)),
    }
    Err(Diagnostics::in_source_order(problems))
}

/// A configuration as read, with the console's checks of it: every problem of both in
/// source order, or the configuration and the keymap it gives.
pub fn checked(read: Read) -> Result<(Config, Keymap), Diagnostics> {
    match (read.problems.is_empty(), from_config(&read.config)) {
        (true, Ok(map)) => Ok((read.config, map)),
        (_, keys) => {
            let mut all = read.problems.0;
            all.extend(keys.err().map(|d| d.0).unwrap_or_default());
            Err(Diagnostics::in_source_order(all))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::{Action, Tab};
    use crate::keymap::{Context, action_names};
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use std::path::Path;

    fn read(text: &str) -> Result<(Config, Keymap), Diagnostics> {
        checked(baton_link::config::read_str(Path::new("config.toml"), text))
    }

    /// The keymap a configuration gives.
    fn keymap(text: &str) -> Keymap {
        read(text).map(|(_, k)| k).unwrap_or_else(|d| panic!("{d}"))
    }

    fn errors(text: &str) -> String {
        read(text).err().map(|d| d.to_string()).unwrap_or_default()
    }

    fn key(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    #[test]
    fn a_user_binding_moves_an_action_and_takes_its_key_from_the_default() {
        let k = &keymap("[keys]\napprove = \"A\"\nquit = [\"Q\", \"ctrl-q\"]\n");
        let shift = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::SHIFT);
        assert_eq!(
            k.action_for(Context::Tab(Tab::Approvals), &shift('A')),
            Some(Action::Approve)
        );
        // `a` no longer approves; the old key is free.
        assert_eq!(k.action_for(Context::Tab(Tab::Approvals), &key('a')), None);
        assert_eq!(
            k.action_for(
                Context::Tab(Tab::Dag),
                &KeyEvent::new(KeyCode::Char('Q'), KeyModifiers::SHIFT)
            ),
            Some(Action::Quit)
        );
        assert_eq!(
            k.action_for(
                Context::Tab(Tab::Dag),
                &KeyEvent::new(KeyCode::Char('q'), KeyModifiers::CONTROL)
            ),
            Some(Action::Quit)
        );
        assert_eq!(k.action_for(Context::Tab(Tab::Dag), &key('q')), None);
        // The footer and the help show the bindings in force.
        let hints = k.hints(Context::Tab(Tab::Approvals), |_, _| true);
        assert!(
            hints
                .iter()
                .any(|(l, d)| *l == "A" && d.starts_with("approve")),
            "{hints:?}"
        );
        assert!(!hints.iter().any(|(l, _)| *l == "a"), "{hints:?}");
        let help = k.help_sections(|_, _| true);
        let approvals = &help.iter().find(|(t, _)| *t == "Approvals").unwrap().1;
        assert!(
            approvals
                .iter()
                .any(|(keys, d, _)| keys == "A" && d.starts_with("approve"))
        );
    }

    #[test]
    fn a_user_binding_overrides_the_default_on_that_key() {
        // `r` retries by default in the errors tab; rebinding `tab_runs` to it there
        // (tab keys are global) leaves retry on `r` in Errors: context bindings win.
        let k = &keymap("[keys]\nretry = \"ctrl-r\"\ntab_runs = \"r\"\n");
        assert_eq!(
            k.action_for(Context::Tab(Tab::Errors), &key('r')),
            Some(Action::GoTab(Tab::Runs))
        );
        assert_eq!(
            k.action_for(
                Context::Tab(Tab::Errors),
                &KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL)
            ),
            Some(Action::Retry)
        );
        assert_eq!(
            k.action_for(Context::Tab(Tab::Dag), &key('5')),
            None,
            "5 is no longer the runs tab"
        );
    }

    #[test]
    fn two_user_bindings_on_one_key_in_one_context_are_an_error() {
        let e = errors("[keys]\napprove = \"y\"\nreject = \"y\"\n");
        assert!(
            e.contains(
                "config.toml:3:1: error: `y` is bound to both `approve` and `reject` in DAG"
            ),
            "{e}"
        );
        let e = errors("[keys]\napprov = \"y\"\n");
        assert!(
            e.contains("`approv` is not an action of the console"),
            "{e}"
        );
        assert!(e.contains("did you mean `approve`?"), "{e}");
        let e = errors("[keys]\napprove = \"hyper-z\"\n");
        assert!(
            e.contains("config.toml:2:11: error: `hyper-z` is not a key"),
            "{e}"
        );
        let e = errors("[keys]\napprove = []\n");
        assert!(e.contains("`approve` is given no key"), "{e}");
    }

    #[test]
    fn a_user_binding_that_takes_a_default_key_in_its_view_is_a_conflict() {
        // `x` rejects (in the DAG and Approvals): approving with it would leave reject
        // keyless.
        let e = errors("[keys]\napprove = \"x\"\n");
        assert!(
            e.contains(
                "config.toml:2:1: error: `x` is bound to both `reject` (by default) and `approve` in DAG"
            ),
            "{e}"
        );
        assert!(e.contains("move `reject` off it"), "{e}");
        // Moving the other action too is no conflict.
        let k = &keymap("[keys]\napprove = \"x\"\nreject = \"ctrl-x\"\n");
        assert_eq!(
            k.action_for(Context::Tab(Tab::Approvals), &key('x')),
            Some(Action::Approve)
        );
    }

    /// Issue 45 point 7: a binding that takes a global key in a view (the doc's old
    /// example, `approve = "y"`, took copy's `y` in the DAG, Approvals and Waiting) is
    /// a conflict, as one on a key of the same view is.
    #[test]
    fn a_user_binding_that_takes_a_global_key_in_its_view_is_a_conflict() {
        let e = errors("[keys]\napprove = \"y\"\n");
        assert!(
            e.contains(
                "config.toml:2:1: error: `y` is bound to both `copy` (by default) and `approve` in"
            ),
            "{e}"
        );
        assert!(e.contains("move `copy` off it"), "{e}");
        let k = &keymap("[keys]\napprove = \"y\"\ncopy = \"Y\"\n");
        assert_eq!(
            k.action_for(Context::Tab(Tab::Approvals), &key('y')),
            Some(Action::Approve)
        );
        // A global binding on a key a view keeps is no theft: the view's action wins
        // there, the new one works everywhere else.
        let k = &keymap("[keys]\nretry = \"ctrl-r\"\ntab_runs = \"r\"\n");
        assert_eq!(
            k.action_for(Context::Tab(Tab::Dag), &key('r')),
            Some(Action::GoTab(Tab::Runs))
        );
    }

    /// Vim's h/l across the graph's layers, when `[keys]` says so: `l` leaves the log
    /// (bound in the graph) and `h` leaves health (global), each moved.
    #[test]
    fn h_and_l_move_between_layers_when_the_config_says_so() {
        let e =
            errors("[keys]\nleft = [\"left\", \"h\"]\nright = [\"right\", \"l\"]\nlog = \"o\"\n");
        assert!(
            e.contains("`h` is bound to both `health` (by default)"),
            "{e}"
        );
        let e = errors(
            "[keys]\nleft = [\"left\", \"h\"]\nright = [\"right\", \"l\"]\nhealth = \"i\"\n",
        );
        assert!(e.contains("`l` is bound to both `log` (by default)"), "{e}");
        let k = &keymap(
            "[keys]\nleft = [\"left\", \"h\"]\nright = [\"right\", \"l\"]\nlog = \"o\"\nhealth = \"i\"\n",
        );
        assert_eq!(
            k.action_for(Context::Tab(Tab::Dag), &key('h')),
            Some(Action::Left)
        );
        assert_eq!(
            k.action_for(Context::Tab(Tab::Dag), &key('l')),
            Some(Action::Right)
        );
        assert_eq!(
            k.action_for(Context::Tab(Tab::Dag), &key('o')),
            Some(Action::Log)
        );
        assert_eq!(
            k.action_for(Context::Tab(Tab::Errors), &key('i')),
            Some(Action::ToggleHealth)
        );
    }

    /// docs/configuration.md names every action `[keys]` accepts.
    #[test]
    fn every_action_is_documented() {
        let doc = include_str!("../../../../docs/configuration.md");
        // The tests' own tab (`app::tabs::probe`) is no user's.
        for name in action_names().into_iter().filter(|n| *n != "tab_probe") {
            assert!(
                doc.contains(&format!("`{name}`")),
                "{name} missing from docs/configuration.md"
            );
        }
    }
    /// Problems of the file and of `[keys]` come together, in source order.
    #[test]
    fn problems_of_the_file_and_of_its_keys_are_reported_together_in_order() {
        let e = errors("colour = 2\n[keys]\napprove = \"y\"\nreject = \"y\"\nwibble = 1\n");
        let at = |needle: &str| e.find(needle).unwrap_or(usize::MAX);
        assert!(
            e.contains("config.toml:5:10: error: `wibble` must be a key or a list of keys"),
            "{e}"
        );
        assert!(at("config.toml:1:1:") < at("config.toml:4:1:"), "{e}");
        assert!(at("config.toml:4:1:") < at("config.toml:5:10:"), "{e}");
    }
}

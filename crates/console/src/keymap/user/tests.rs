use crate::app::{Action, Tab};
use crate::keymap::{Context, Keymap, checked};
use baton_workflow::Diagnostics;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::path::Path;

fn read(text: &str) -> Result<Keymap, Diagnostics> {
    checked(baton_link::config::read_str(Path::new("config.toml"), text)).map(|(_, k)| k)
}

fn errors(text: &str) -> String {
    read(text).err().map(|d| d.to_string()).unwrap_or_default()
}

fn action(key: &str, scope: &str, description: &str) -> String {
    format!(
        "[[action]]\nkey = \"{key}\"\nscope = {scope}\ndescription = \"{description}\"\ncommand = [\"true\", \"{{run}}\"]\n"
    )
}

fn shift(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::SHIFT)
}

#[test]
fn an_action_answers_to_its_key_where_its_scope_acts_and_nowhere_else() {
    let text = action("D", "\"step\"", "dashboard: open the step's board")
        + &action("O", "[\"run\"]", "open in the browser")
        + &action("N", "\"gate\"", "notes");
    let k = read(&text).unwrap_or_else(|d| panic!("{d}"));
    for tab in [Tab::Dag, Tab::Timeline] {
        assert_eq!(
            k.action_for(Context::Tab(tab), &shift('D')),
            Some(Action::User(0))
        );
    }
    // Not on the Runs tab, where `D` is the built-in diff of two runs.
    assert_eq!(
        k.action_for(Context::Tab(Tab::Runs), &shift('D')),
        Some(Action::Diff)
    );
    // `run` acts in every view: its key is global.
    for tab in [Tab::Runs, Tab::Dag, Tab::Waiting, Tab::Errors] {
        assert_eq!(
            k.action_for(Context::Tab(tab), &shift('O')),
            Some(Action::User(1))
        );
    }
    for tab in [Tab::Dag, Tab::Approvals, Tab::Waiting] {
        assert_eq!(
            k.action_for(Context::Tab(tab), &shift('N')),
            Some(Action::User(2))
        );
    }
    assert_eq!(k.action_for(Context::Tab(Tab::Timeline), &shift('N')), None);
    // Not in a dialog or the log.
    assert_eq!(k.action_for(Context::Log, &shift('O')), None);
    // The footer says the description's words up to its `:`; the help all of it.
    let hints = k.hints(Context::Tab(Tab::Dag), |_, _| true);
    assert!(
        hints.iter().any(|(l, d)| *l == "D" && d == "dashboard"),
        "{hints:?}"
    );
    let help = k.help_sections(|_, _| true);
    let dag = &help.iter().find(|(t, _)| *t == "DAG").map(|s| &s.1);
    assert!(
        dag.is_some_and(|rows| rows.iter().any(
            |(keys, d, _)| keys == "D" && *d == "dashboard: open the step's board ([[action]])"
        )),
        "{help:?}"
    );
}

#[test]
fn a_key_a_built_in_has_in_the_same_view_is_an_error_naming_both() {
    let e = errors(&action("l", "\"step\"", "lint"));
    assert!(
        e.contains(
            "config.toml:2:7: error: `l` is bound to both `log` and the [[action]] “lint” in DAG"
        ),
        "{e}"
    );
    assert!(e.contains("move `log` off it ([keys] log = \"…\")"), "{e}");
    // A global key meets every view's: `d` deletes in the Runs tab.
    let e = errors(&action("d", "\"run\"", "describe"));
    assert!(
        e.contains("`d` is bound to both `delete` and the [[action]] “describe” in Runs"),
        "{e}"
    );
    // …and a view's key meets the global ones: `c` cancels everywhere.
    let e = errors(&action("c", "\"gate\"", "comment"));
    assert!(
        e.contains("`c` is bound to both `cancel` and the [[action]] “comment” in DAG"),
        "{e}"
    );
    // Moved off by `[keys]`, the key is free.
    let k = read(&("[keys]\nlog = \"o\"\n".to_string() + &action("l", "\"step\"", "lint")))
        .unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(
        k.action_for(
            Context::Tab(Tab::Dag),
            &KeyEvent::new(KeyCode::Char('l'), KeyModifiers::NONE)
        ),
        Some(Action::User(0))
    );
}

#[test]
fn two_actions_on_one_key_in_one_view_and_a_bad_key_are_errors() {
    let e = errors(&(action("D", "\"step\"", "one") + &action("D", "\"gate\"", "two")));
    assert!(
        e.contains("config.toml:7:7: error: `D` is bound to both the [[action]] “one” and the [[action]] “two” in DAG"),
        "{e}"
    );
    assert!(e.contains("give one of them another `key`"), "{e}");
    let e = errors(&action("ctrl-l", "\"run\"", "x"));
    assert!(
        e.contains("config.toml:2:7: error: `ctrl-l` redraws the screen in every view"),
        "{e}"
    );
    let e = errors(&action("ctrl-c", "\"step\"", "x"));
    assert!(
        e.contains("`ctrl-c` quits or closes a dialog in every view"),
        "{e}"
    );
    let e = errors(&action("hyper-z", "\"run\"", "x"));
    assert!(
        e.contains("config.toml:2:7: error: `hyper-z` is not a key"),
        "{e}"
    );
}

/// docs/configuration.md's examples of `[[action]]` load as they are written.
#[test]
fn the_documented_actions_load() {
    let doc = include_str!("../../../../../docs/configuration.md");
    let section = doc
        .split("## Actions of your own")
        .nth(1)
        .unwrap_or_default();
    let example = section
        .split("```toml\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .unwrap_or_default();
    assert!(example.contains("[[action]]"), "{section}");
    let k = read(example).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(
        k.action_for(Context::Tab(Tab::Dag), &shift('D')),
        Some(Action::User(0))
    );
}

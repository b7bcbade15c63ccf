//! Issue 44 point 2, the console's half: the approve dialog's value edited in the
//! operator's `$EDITOR` (a fake one, a script that rewrites the file), the console
//! giving it the terminal and taking it back, the diff against the proposal on screen
//! before the last Enter; the step receives exactly the edited value, the audit keeps
//! the proposal and the approved value, and `show` says it was changed.
use super::*;

const WF: &str = r#"name = "fix"
[[step]]
id = "draft"
run = '''printf 'sql=SELECT * FROM users\n' >> "$BATON_OUTPUT"'''
[[step]]
id = "apply"
needs = ["draft"]
run = 'printf "%s" "$SQL" > applied'
env = { SQL = "${{ steps.apply.inputs.sql }}" }
[step.gate]
prompt = "Run this statement?"
[step.gate.inputs]
sql = { default = "${{ steps.draft.outputs.sql }}", description = "the statement to run", pattern = '^SELECT' }
"#;

/// The console in tmux with a fake `$EDITOR` (given an argument, as `code --wait`:
/// split into words, no shell) that records what it was given (its arguments, the
/// file's mode and text) and then writes `new.sql` over the file.
pub(super) fn console_with_editor(env: &Env) -> Tmux {
    let dir = env.path();
    let editor = dir.join("fake-editor");
    std::fs::write(
        &editor,
        format!(
            "#!/bin/sh\ncd {d}\nfor f; do :; done\nprintf '%s\\n' \"$@\" > editor-args\nstat -c %a \"$f\" > editor-mode\ncp \"$f\" editor-saw\ncat new.sql > \"$f\"\n",
            d = shell_quote(&dir.to_string_lossy())
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).unwrap();
    let command = format!(
        "cd {} && BATON_DB={} XDG_CONFIG_HOME={} EDITOR={} {} tui ; echo TUI-EXIT=$? ; sleep 30",
        shell_quote(&dir.to_string_lossy()),
        shell_quote(&env.db().to_string_lossy()),
        shell_quote(&env.config_home().to_string_lossy()),
        shell_quote(&format!("{} --wait", editor.display())),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
    );
    Tmux::new(env, 120, 40, &command)
}

/// Quotes, `$`, a backquote and several lines, no final newline: byte for byte.
const EDITED: &str = "SELECT id, \"name\"\nFROM users\nWHERE note = '$HOME' -- `id`\nLIMIT 1";

#[test]
fn a_value_edited_in_the_editor_is_shown_against_the_proposal_and_approved_as_edited() {
    let env = Env::new();
    let wf = env.workflow("fix.toml", WF);
    let dir = env.path().to_path_buf();
    // The first edit is one the gate's pattern refuses.
    std::fs::write(dir.join("new.sql"), "DROP TABLE users").unwrap();
    let engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    env.wait_step(&id, "apply", "waiting_approval", 20);
    let tmux = console_with_editor(&env);
    // The console opens on what waits: the gate is approved from the Waiting tab.
    tmux.wait_for(
        "the Waiting tab",
        |s| s.contains("Waiting ·") && s.contains("Run this statement?"),
        20,
    );
    tmux.keys(&["a"]);
    tmux.wait_for(
        "the proposal rendered in the field",
        |s| s.contains("Approve apply") && s.contains("[SELECT * FROM users▏]"),
        10,
    );
    tmux.keys(&["C-e"]);
    tmux.wait_for(
        "the first edit back in the field",
        |s| s.contains("[DROP TABLE users▏]"),
        20,
    );
    // A value the core refuses: the dialog opens again with its words, the edit kept.
    tmux.keys(&["Enter"]);
    tmux.wait_for("the first diff", |s| s.contains("+ DROP TABLE users"), 10);
    tmux.keys(&["Enter"]);
    tmux.wait_for(
        "the core's refusal, the dialog open again",
        |s| {
            s.contains("Approve apply")
                && s.contains("does not match the pattern")
                && s.contains("[DROP TABLE users▏]")
        },
        20,
    );
    std::fs::write(dir.join("new.sql"), EDITED).unwrap();
    tmux.keys(&["C-e"]);
    tmux.wait_for(
        "the edited value back in the field",
        |s| s.contains("[SELECT id, \"name\" … (4 lines)▏]"),
        20,
    );
    the_editor_was_given_a_private_file_it_started_from_the_last_edit(&dir);
    // Keys still reach the console after the editor (its key reader made again).
    tmux.keys(&["Tab"]);
    tmux.literal("narrowed by hand");
    tmux.wait_for("the reason typed", |s| s.contains("narrowed by hand"), 10);
    tmux.keys(&["Enter"]);
    tmux.wait_for(
        "the diff against the proposal",
        |s| {
            s.contains("You changed what the gate proposed")
                && s.contains("@@ -1 +1,4 @@")
                && s.contains("- SELECT * FROM users")
                && s.contains("+ SELECT id, \"name\"")
                && s.contains("+ WHERE note = '$HOME' -- `id`")
                && s.contains("+ LIMIT 1")
                // Its footer, drawn with it (a capture may fall between two draws).
                && s.contains("PgUp/PgDn scroll")
        },
        10,
    );
    assert_eq!(
        step_field(&env.show(&id), "apply", "state"),
        "waiting_approval",
        "nothing sent before the last Enter"
    );
    tmux.keys(&["Enter"]);
    let out = wait_child(engine, 30);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(
        std::fs::read_to_string(dir.join("applied")).unwrap(),
        EDITED
    );

    the_edited_value_is_on_record_against_the_proposal(&env, &id);
    tmux.keys(&["q"]);
    tmux.wait_for("the console to exit", |s| s.contains("TUI-EXIT=0"), 10);
}

/// The editor was called with `--wait` and a file only this account can read, removed
/// after it; the second edit started from the first.
fn the_editor_was_given_a_private_file_it_started_from_the_last_edit(dir: &std::path::Path) {
    let args = std::fs::read_to_string(dir.join("editor-args")).unwrap();
    let args: Vec<&str> = args.lines().collect();
    assert_eq!(args.len(), 2, "{args:?}");
    assert_eq!(args[0], "--wait");
    let file = std::path::PathBuf::from(args[1]);
    assert_eq!(
        std::fs::read_to_string(dir.join("editor-mode"))
            .unwrap()
            .trim(),
        "600"
    );
    // The second edit started from the first.
    assert_eq!(
        std::fs::read_to_string(dir.join("editor-saw")).unwrap(),
        "DROP TABLE users"
    );
    assert!(!file.exists(), "{} left behind", file.display());
}

/// The vote on the audit chain, `show` and `show --json` hold the edited value and what
/// the gate proposed.
fn the_edited_value_is_on_record_against_the_proposal(env: &Env, id: &str) {
    let audit: serde_json::Value =
        serde_json::from_slice(&env.run(&["audit", id, "--json"]).stdout).unwrap();
    let vote = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["action"] == "approval_vote")
        .expect("the vote");
    assert_eq!(vote["details"]["inputs"]["sql"], EDITED);
    assert_eq!(vote["details"]["proposed"]["sql"], "SELECT * FROM users");
    let human = text(&env.run(&["show", id]).stdout);
    assert!(
        human.contains("(changed from the proposal: sql (was \"SELECT * FROM users\"))"),
        "{human}"
    );
    let show = env.show(id);
    assert_eq!(step_field(&show, "apply", "inputs")["sql"], EDITED);
}

//! Issue 55 point 6, the console's half: a proposal the run drafted (a 120 KB output,
//! the input's default) is edited in `$EDITOR` into a 200 KB value with quotes, `$`
//! and backquotes, approved from the dialog, reaches the step byte for byte (through
//! `$BATON_FILE_SQL`, being over the environment's limit) and is kept whole on record.
use super::edit::console_with_editor;
use super::*;

const WF: &str = r#"name = "big-edit"
[[step]]
id = "draft"
run = '''printf 'sql=' >> "$BATON_OUTPUT"; cat proposal.sql >> "$BATON_OUTPUT"'''
[[step]]
id = "apply"
needs = ["draft"]
run = '''if [ -n "${BATON_FILE_SQL:-}" ]; then cp "$BATON_FILE_SQL" applied; else printf '%s' "$SQL" > applied; fi'''
env = { SQL = "${{ steps.apply.inputs.sql }}" }
[step.gate]
prompt = "Run the drafted migration?"
[step.gate.inputs]
sql = { default = "${{ steps.draft.outputs.sql }}", description = "the migration" }
"#;

#[test]
fn a_drafted_proposal_edited_into_200_kb_is_approved_whole() {
    let env = Env::new();
    let dir = env.path().to_path_buf();
    let proposal = hostile_text("", 120_000, false);
    std::fs::write(dir.join("proposal.sql"), &proposal).unwrap();
    let edited = hostile_text("-- edited by hand\n", 200_000, true);
    std::fs::write(dir.join("new.sql"), &edited).unwrap();
    let wf = env.workflow("big.toml", WF);
    let engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    env.wait_step(&id, "apply", "waiting_approval", 30);
    let tmux = console_with_editor(&env);
    tmux.wait_for(
        "the Waiting tab",
        |s| s.contains("Waiting ·") && s.contains("Run the drafted migration?"),
        20,
    );
    tmux.keys(&["a"]);
    tmux.wait_for(
        "the 120 KB proposal in the field",
        |s| s.contains("Approve apply") && s.contains("[UPDATE t SET a = \"$HOME\""),
        10,
    );
    tmux.keys(&["C-e"]);
    let lines = edited.lines().count();
    tmux.wait_for(
        "the 200 KB edit back in the field",
        |s| s.contains(&format!("[-- edited by hand … ({lines} lines)▏]")),
        20,
    );
    tmux.keys(&["Enter"]);
    tmux.wait_for(
        "the diff against the proposal",
        |s| {
            s.contains("You changed what the gate proposed")
                && s.contains(&format!("@@ -1 +1,{lines} @@"))
        },
        20,
    );
    tmux.keys(&["Enter"]);
    let out = wait_child(engine, 60);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let applied = std::fs::read_to_string(dir.join("applied")).unwrap();
    assert!(
        applied == edited,
        "the edit reached the step whole ({} bytes)",
        applied.len()
    );
    assert!(!dir.join("pwned").exists(), "a value is never shell code");

    let vote = env.audit_rows(&id, "approval_vote").remove(0);
    assert!(vote["details"]["inputs"]["sql"] == edited.as_str());
    assert!(vote["details"]["proposed"]["sql"] == proposal.as_str());
    tmux.keys(&["q"]);
    tmux.wait_for("the console to exit", |s| s.contains("TUI-EXIT=0"), 10);
}

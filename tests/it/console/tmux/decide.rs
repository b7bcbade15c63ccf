//! Issue 45 point 2 (with issue 44 points 1 and 2): the Waiting tab opens the same
//! decision dialog as the Approvals tab, for a gate of any run: typed fields with their
//! type, pattern, description and proposed value (rendered from the run), errors
//! shown whole at 80×24, and a gate this account may not decide refused before any
//! text is typed, saying who may.
use super::*;

const PICK: &str = r#"name = "pick"
[[step]]
id = "list"
run = '''echo 'dbs=["orders","users"]' >> "$BATON_OUTPUT"; echo first=users >> "$BATON_OUTPUT"'''
[[step]]
id = "query"
needs = ["list"]
run = 'printf "%s|%s" "$DB" "$SQL" > picked'
env = { DB = "${{ steps.query.inputs.db }}", SQL = "${{ steps.query.inputs.sql }}" }
[step.gate]
prompt = "Run the query?"
[step.gate.inputs]
db = { type = "enum", values = "${{ steps.list.outputs.dbs }}", default = "${{ steps.list.outputs.first }}" }
sql = { default = "SELECT 1", pattern = '^SELECT', description = "read-only statement" }
"#;

const GUARDED: &str = r#"name = "guarded"
[[step]]
id = "deploy"
run = "true"
[step.gate]
prompt = "Ship it?"
approvers = ["alice"]
"#;

#[test]
fn waiting_decides_any_runs_gate_in_the_one_dialog_at_80x24() {
    let env = Env::new();
    let pick = env.workflow("pick.toml", PICK);
    let guarded = env.workflow("guarded.toml", GUARDED);
    let engine = env.spawn(&["run", pick.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    env.wait_step(&id, "query", "waiting_approval", 20);
    let mut other = env.spawn(&["run", guarded.to_str().unwrap(), "--headless"]);
    wait_until("the second gate", secs(20), || {
        let inbox = text(&env.run(&["inbox"]).stdout);
        if inbox.contains("deploy") {
            Ok(())
        } else {
            Err(inbox)
        }
    });
    let command = format!(
        "cd {} && BATON_DB={} {} tui ; echo TUI-EXIT=$? ; sleep 30",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&env.db().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
    );
    let tmux = Tmux::new(&env, 80, 24, &command);
    tmux.wait_for(
        "the Waiting tab with both gates",
        |s| s.contains("query · gate") && s.contains("deploy") && s.contains("Run the query?"),
        20,
    );
    a_gate_this_account_may_not_decide_is_refused_before_typing(&tmux);
    tmux.keys(&["Up", "a"]);
    tmux.wait_for(
        "the fields with what each is, from the run",
        |s| {
            s.contains("Approve query")
                && s.contains("‹ users ›")
                && s.contains("enum of 2")
                && s.contains("read-only statement · matching ^SELECT")
                && s.contains("proposed \"SELECT 1\"")
        },
        10,
    );
    a_value_the_pattern_refuses_is_refused_in_words_shown_whole(&tmux);
    for _ in 0.."DROP TABLE users".len() {
        tmux.keys(&["BSpace"]);
    }
    tmux.literal("SELECT 2");
    tmux.keys(&["Enter"]);
    tmux.wait_for(
        "the edit against the proposal",
        |s| s.contains("- SELECT 1") && s.contains("+ SELECT 2"),
        10,
    );
    tmux.keys(&["Enter"]);
    let out = wait_child(engine, 30);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(
        std::fs::read_to_string(env.path().join("picked")).unwrap(),
        "users|SELECT 2"
    );
    let human = text(&env.run(&["show", &id]).stdout);
    assert!(
        human.contains("changed from the proposal: sql (was \"SELECT 1\")"),
        "{human}"
    );
    let _ = other.kill();
    let _ = other.wait();
}

/// The gate only alice decides: approving or rejecting it is refused before a word is
/// typed, saying who may.
fn a_gate_this_account_may_not_decide_is_refused_before_typing(tmux: &Tmux) {
    tmux.keys(&["Down", "a"]);
    tmux.wait_for(
        "the refusal naming the approvers",
        |s| s.contains("is not an approver (approvers: alice)"),
        10,
    );
    // Esc alone (Esc then a key at once reads as Alt+key).
    tmux.keys(&["Escape"]);
    tmux.wait_for("the refusal closed", |s| !s.contains("Not now"), 10);
    tmux.keys(&["x"]);
    tmux.wait_for(
        "a rejection refused the same way",
        |s| {
            s.contains("Not now")
                && s.contains("is not an approver (approvers: alice)")
                && !s.contains("Reason (")
        },
        10,
    );
    tmux.keys(&["Escape"]);
    tmux.wait_for("the refusal closed", |s| !s.contains("Not now"), 10);
}

/// A value the pattern refuses: sent as typed (after the edit is shown), the engine's
/// core refuses it, and its words are shown whole, wrapped at 80 columns.
fn a_value_the_pattern_refuses_is_refused_in_words_shown_whole(tmux: &Tmux) {
    tmux.keys(&["Tab"]);
    for _ in 0.."SELECT 1".len() {
        tmux.keys(&["BSpace"]);
    }
    tmux.literal("DROP TABLE users");
    tmux.keys(&["Enter"]);
    tmux.wait_for(
        "the edit against the proposal",
        |s| s.contains("+ DROP TABLE users"),
        10,
    );
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for(
        "the whole error",
        |s| s.contains("pass a value that matches it"),
        20,
    );
    assert!(screen.contains("does not match"), "{screen}");
}

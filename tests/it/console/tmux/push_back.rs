//! Issue 44 point 3 in the console: `b` on an open gate that revises opens the
//! feedback dialog; the push-back runs the revised step again with the feedback, and
//! the Approvals tab shows the reopened gate's round and the revised outputs' diff.
use super::*;

#[test]
fn b_pushes_a_gate_back_and_the_approvals_tab_shows_round_and_diff() {
    let env = Env::new();
    let wf = env.workflow(
        "review.toml",
        r#"name = "review"
[[step]]
id = "draft"
run = '''
n=$(cat draft.count 2>/dev/null || echo 0); n=$((n+1)); echo $n > draft.count
printf '%s|%s\n' "${BATON_ROUND:-1}" "${BATON_FEEDBACK:-none}" >> draft.seen
echo "text=draft $n" >> "$BATON_OUTPUT"
'''
[[step]]
id = "publish"
needs = ["draft"]
run = "true"
gate = { prompt = "Publish it?", revise = ["draft"], rounds = 2 }
"#,
    );
    let engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    env.wait_step(&id, "publish", "waiting_approval", 20);
    let command = format!(
        "cd {} && BATON_DB={} {} tui ; echo TUI-EXIT=$? ; sleep 30",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&env.db().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
    );
    let tmux = Tmux::new(&env, 120, 40, &command);
    tmux.wait_for(
        "the waiting gate in round 1",
        |s| s.contains("Publish it? (round 1 of 2)"),
        20,
    );
    tmux.keys(&["Enter"]);
    tmux.wait_for("the run", |s| s.contains("draft"), 20);
    tmux.keys(&["2"]);
    tmux.wait_for(
        "the gate's round and what b revises",
        |s| s.contains("round     round 1 of 2 · b revises draft"),
        20,
    );
    tmux.keys(&["b"]);
    tmux.wait_for(
        "the push-back dialog",
        |s| s.contains("Push back publish") && s.contains("Feedback (required)"),
        10,
    );
    tmux.literal("make it shorter");
    tmux.keys(&["Enter"]);
    tmux.wait_for(
        "round 2, the last, with the diff of draft's outputs",
        |s| {
            s.contains("round 2 of 2 · the last round: approve or reject")
                && s.contains("-text=draft 1")
                && s.contains("+text=draft 2")
        },
        30,
    );
    assert_eq!(
        std::fs::read_to_string(env.path().join("draft.seen")).unwrap_or_default(),
        "1|none\n2|make it shorter\n"
    );
    // The last round: `b` is not offered, and pressing it says why.
    tmux.keys(&["b"]);
    tmux.wait_for(
        "b refused in the last round, in the words of the CLI",
        |s| s.contains("the gate of `publish` is in its last round (2 of 2): approve or"),
        10,
    );
    // Esc alone (Esc then a key at once reads as Alt+key).
    tmux.keys(&["Escape"]);
    tmux.wait_for("the refusal closed", |s| !s.contains("Not now"), 10);
    // The key is in the keymap table: the help lists it.
    tmux.keys(&["?"]);
    tmux.wait_for(
        "the help's push-back line",
        |s| s.contains("b               push the gate back with feedback"),
        10,
    );
    drop(tmux);
    let mut engine = engine;
    let _ = engine.kill();
    let _ = engine.wait();
}

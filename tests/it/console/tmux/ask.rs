//! Issue 44 point 5 in the console: an ask (`baton ask`, here by another OS account,
//! `nobody`) is listed on the Waiting tab with the gates, and `a` answers it with the
//! gate's dialog; the asker, waiting on the store, exits 0 with the decision.
use super::*;
use std::process::Stdio;

#[test]
fn the_waiting_tab_lists_an_ask_and_approves_it() {
    let env = Env::new();
    env.share_with_nobody();
    let asker = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_baton"))
        .args([
            "ask",
            "--prompt",
            "Drop the staging table?",
            "--json",
            "--timeout",
            "2m",
        ])
        .env("BATON_DB", env.db())
        .current_dir(env.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("baton ask as nobody");
    let tui = format!(
        "cd {} && BATON_DB={} XDG_CONFIG_HOME={} {} tui ; echo TUI-EXIT=$? ; sleep 30",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&env.db().to_string_lossy()),
        shell_quote(&env.config_home().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
    );
    let tmux = Tmux::new(&env, 120, 40, &tui);
    tmux.wait_for("the ask counted", |s| s.contains("Waiting (1)"), 20);
    tmux.keys(&["6"]);
    let screen = tmux.wait_for(
        "the ask on the Waiting tab",
        |s| s.contains("Drop the staging table?"),
        20,
    );
    assert!(screen.contains("ask by nobody"), "who asked: {screen}");
    assert!(screen.contains("· ask"), "its kind: {screen}");
    tmux.keys(&["a"]);
    tmux.wait_for("the approve dialog", |s| s.contains("Approve pid"), 10);
    tmux.literal("staging only");
    tmux.keys(&["Enter"]);
    let out = wait_child(asker, 20);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let d: serde_json::Value = serde_json::from_slice(&out.stdout).expect("ask --json");
    assert_eq!(d["decided_by"], "root");
    assert_eq!(d["reason"], "staging only");
    tmux.wait_for(
        "nothing waits any more",
        |s| s.contains("nothing waits on anyone"),
        20,
    );
}

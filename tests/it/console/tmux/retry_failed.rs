//! `f` in the real console (issue 58 point 5): in the Runs tab it lists what a retry of
//! the run's failed steps would run (the core's answer, as `baton retry RUN --failed`
//! then does), yes runs them in one decision; in the DAG tab, with nothing failed left,
//! the core's refusal.
use super::fork::{dialog_text, listed};
use super::*;
use std::time::Duration;

const WF: &str = r#"
name = "refail"
[[step]]
id = "t"
matrix = { n = [1, 2, 3] }
max_parallel = 1
fail_fast = true
run = 'test -e fixed'

[[step]]
id = "after"
needs = ["t"]
run = "true"

[[step]]
id = "lint"
run = 'test -e fixed'
"#;

#[test]
fn f_lists_the_failed_steps_and_yes_runs_them_again_in_one_decision() {
    let env = Env::new();
    let wf = env.workflow("refail.toml", WF);
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let run = run_id_of(&text(&out.stdout));
    std::fs::write(env.path().join("fixed"), "").unwrap();
    let t = Tmux::tui(&env, 120, 40);
    t.wait_for("the run listed", |s| s.contains("refail"), 20);
    t.keys(&["f"]);
    let title = " Retry the failed steps? ";
    let screen = t.wait_for("the confirm", |s| s.contains(title), 20);
    let shown = dialog_text(&screen, title, "[ No ]");
    let steps = listed(&shown, "runs again: ", ", and the steps skipped");
    assert_eq!(steps, ["lint", "t[1]", "t[2]", "t[3]"], "{screen}");
    t.keys(&["y"]);
    let show = wait_until("the run to succeed", Duration::from_secs(30), || {
        let show = env.show(&run);
        (show["state"] == "succeeded").then_some(show)
    });
    assert_eq!(step_state(&show, "after").as_deref(), Some("succeeded"));
    let rows = env.audit_rows(&run, "retry_failed");
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0]["details"]["steps"], serde_json::json!(steps));

    // On its DAG, nothing failed is left: the core's refusal, in its words. The header
    // names the workflow text the run used (issue 58 point 8), as `show` does.
    t.keys(&["Enter"]);
    t.wait_for("its DAG", |s| s.contains("Graph ·"), 10);
    let hash = show["workflow_hash"].as_str().expect("a hash").to_string();
    t.wait_for(
        "the text's hash in the header",
        |s| s.contains(&format!("text {hash}")),
        10,
    );
    t.keys(&["f"]);
    let screen = t.wait_for("the refusal", |s| s.contains(" Not now "), 20);
    let shown = dialog_text(&screen, " Not now ", "Esc close");
    assert!(
        shown.contains("has no failed, timed-out or fail-fast-cancelled step to retry"),
        "{screen}"
    );
    t.keys(&["Escape"]);
    t.keys(&["q"]);
    wait_until("the console to end", Duration::from_secs(20), || {
        let s = t.screen();
        if s.contains("TUI-EXIT=") {
            return Some(());
        }
        // The run may end after `q`: the dialog then says the console drives no run
        // any more and stays for a key (`quit_ended.rs`); `i` quits either way.
        if s.contains("This console drives") {
            t.keys(&["i"]);
        }
        None
    });
}

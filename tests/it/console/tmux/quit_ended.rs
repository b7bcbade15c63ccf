//! The quit dialog asks what to do with the runs this console drives; a run that ends
//! while it is open leaves nothing to ask about: the dialog says so, stays until a key
//! answers it (a key meant for it never lands on the screen behind), and Detach quits.
use super::*;

/// One step that waits for the file `go` in its directory (a minute at most: a test
/// that died before making it leaves no step waiting for ever).
const WAITS: &str = r#"
name = "waits"
[[step]]
id = "hold"
run = 'n=0; while [ ! -e go ] && [ $n -lt 1200 ]; do sleep 0.05; n=$((n+1)); done'
"#;

#[test]
fn a_quit_dialog_open_when_the_driven_run_ends_says_so_and_detach_quits() {
    let env = Env::new();
    let wf = env.workflow("waits.toml", WAITS);
    let tmux = Tmux::running(&env, &wf, 120, 30);
    tmux.wait_for(
        "the step running",
        |s| s.contains("▶ hold") && s.contains("drives 1 run"),
        20,
    );
    tmux.keys(&["q"]);
    tmux.wait_for("the quit dialog", |s| s.contains("[ Detach ]"), 10);
    std::fs::write(env.path().join("go"), b"").expect("go");
    let screen = tmux.wait_for(
        "the dialog saying no run is driven any more",
        |s| s.contains("drives no run any more") && s.contains("[ Detach ]"),
        20,
    );
    assert!(
        !screen.contains("This console drives run"),
        "no run named:\n{screen}"
    );
    tmux.keys(&["d"]);
    // Its tab line gone: the console has left its screen.
    tmux.wait_for("the console to quit", |s| !s.contains("1 DAG"), 10);
    let runs = env.runs();
    assert_eq!(runs[0]["state"], "succeeded", "{runs}");
}

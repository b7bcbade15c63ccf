//! A fanned-out step in the real console: one node with its counts, `e` opens it to its
//! instances and closes it again, and its detail pane lists them.
use super::*;

#[test]
fn e_opens_and_closes_a_fanned_out_step_and_its_detail_lists_the_instances() {
    let env = Env::new();
    let wf = env.workflow(
        "fan.toml",
        r#"
name = "fan-console"
[[step]]
id = "test"
matrix = { n = ["1", "2", "3", "4"] }
env = { N = "${{ matrix.n }}" }
run = 'test "$N" = 1 || sleep 60'
"#,
    );
    let command = format!(
        "cd {} && BATON_DB={} XDG_CONFIG_HOME={} USER=carol {} run {} ; echo RUN-EXIT=$? ; sleep 30",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&env.db().to_string_lossy()),
        shell_quote(&env.config_home().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
        shell_quote(&wf.to_string_lossy()),
    );
    let tmux = Tmux::new(&env, 120, 40, &command);
    // One node, its counts: one done and succeeded, three at work.
    let screen = tmux.wait_for(
        "the fanned-out step as one node",
        |s| s.contains("test 1/4 ✔1 ◷3"),
        30,
    );
    // The detail pane of the step (followed) lists each instance with its executor.
    for id in ["test[1]", "test[2]", "test[3]", "test[4]"] {
        assert_eq!(
            screen.matches(id).count(),
            1,
            "{id} once, in the detail:\n{screen}"
        );
    }
    assert!(
        screen
            .lines()
            .any(|l| l.contains("test[2]") && l.contains("running") && l.contains("local")),
        "{screen}"
    );
    assert!(
        screen.contains("e expand"),
        "the footer offers the key:\n{screen}"
    );
    tmux.keys(&["e"]);
    // Opened: each instance is a node of the graph too (and still a detail row).
    tmux.wait_for(
        "the instances drawn",
        |s| {
            ["test[1]", "test[2]", "test[3]", "test[4]"]
                .iter()
                .all(|id| s.matches(id).count() == 2)
        },
        10,
    );
    tmux.keys(&["e"]);
    tmux.wait_for(
        "the step closed again",
        |s| {
            s.contains("test 1/4 ✔1 ◷3")
                && ["test[1]", "test[2]", "test[3]", "test[4]"]
                    .iter()
                    .all(|id| s.matches(id).count() == 1)
        },
        10,
    );
    tmux.keys(&["q"]);
    tmux.wait_for(
        "the quit prompt",
        |s| s.contains("This console drives run"),
        10,
    );
    tmux.keys(&["i"]);
    tmux.wait_for("baton to exit", |s| s.contains("RUN-EXIT="), 20);
}

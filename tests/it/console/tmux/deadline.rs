//! Issue 58 point 9 on the real console: a step past its deadline is flagged in the
//! header and its detail says so, while it goes on running; it then ends succeeded,
//! the flag stays, and the record holds one `deadline_missed`.
use super::*;

const WF: &str = r#"
name = "late"
[[step]]
id = "wait"
run = 'while [ ! -f end ]; do sleep 0.05; done'
deadline = { within = "1s" }
"#;

#[test]
fn a_missed_deadline_is_flagged_in_the_header_and_the_step_goes_on() {
    let env = Env::new();
    let wf = env.workflow("late.toml", WF);
    let command = format!(
        "cd {} && BATON_DB={} USER=tester {} run {} ; sleep 30",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&env.db().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
        shell_quote(&wf.to_string_lossy()),
    );
    let t = Tmux::new(&env, 160, 30, &command);
    t.wait_for(
        "the header's flag and the running step's deadline line",
        |s| {
            s.contains(" 1 step deadline missed ")
                && s.contains("within 1.0s of ready · MISSED")
                && s.contains("▶ running")
        },
        30,
    );
    // Nothing was stopped: the step ends as its command says.
    std::fs::write(env.path().join("end"), "").unwrap();
    t.wait_for(
        "the run to succeed, the flag kept",
        |s| s.contains("✔ succeeded") && s.contains(" 1 step deadline missed "),
        30,
    );
    let run = env.wait_run_id();
    assert_eq!(env.show(&run)["state"], "succeeded");
    let events = text(&env.run(&["events", &run, "--json"]).stdout);
    let missed = events
        .lines()
        .filter(|l| l.contains("\"type\":\"deadline_missed\""))
        .count();
    assert_eq!(missed, 1, "{events}");
}

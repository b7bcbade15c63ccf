//! `[[notify]]` (issue 12 point 4, issue 16 point 1): commands run when chosen events
//! happen, with the facts in their environment, in the workflow's directory; a failing
//! or hanging notifier is recorded as a low-severity error and never stops the run.
use crate::helpers::*;

#[test]
fn notifiers_get_the_facts_and_their_failures_are_recorded_not_fatal() {
    let env = Env::new();
    let wf = env.workflow(
        "n.toml",
        r#"name = "notified"
[[step]]
id = "deploy"
run = "true"
gate = { prompt = "Ship it?" }

[[notify]]
on = ["gate_opened", "gate_decided", "run_finished"]
run = 'echo "$BATON_EVENT|$BATON_RUN_ID|$BATON_STEP_ID|$BATON_PROMPT|$BATON_RUN_STATE" >> notes.txt'

[[notify]]
on = ["gate_opened"]
run = 'echo hook down >&2; exit 7'

[[notify]]
on = ["run_finished"]
run = "sleep 30"
timeout = "1s"
"#,
    );
    let engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let run = env.wait_run_id();
    env.wait_step(&run, "deploy", "waiting_approval", 20);
    let o = env.run(&["approve", &run, "deploy", "--reason", "go"]);
    assert!(o.status.success(), "{}", text(&o.stdout));
    let out = wait_child(engine, 30);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the run still succeeds: {}",
        text(&out.stdout)
    );
    let notes = std::fs::read_to_string(env.path().join("notes.txt")).unwrap();
    let lines: Vec<&str> = notes.lines().collect();
    assert_eq!(
        lines,
        vec![
            format!("gate_opened|{run}|deploy|Ship it?|waiting"),
            format!("gate_decided|{run}|deploy|Ship it?|running"),
            format!("run_finished|{run}|||succeeded"),
        ],
        "{notes}"
    );
    let v = env.show(&run);
    let errors: Vec<&serde_json::Value> = v["errors"].as_array().unwrap().iter().collect();
    let failed = errors
        .iter()
        .find(|e| e["message"].as_str().unwrap_or("").contains("exit"))
        .unwrap_or_else(|| panic!("the failing notifier is recorded: {v:#}"));
    assert_eq!(failed["severity"], "low");
    assert_eq!(failed["step"], "deploy");
    assert!(failed["message"].as_str().unwrap().contains("hook down"));
    let timed_out = errors
        .iter()
        .find(|e| e["kind"] == "timeout")
        .unwrap_or_else(|| panic!("the hanging notifier is recorded: {v:#}"));
    assert_eq!(timed_out["severity"], "low");
    assert!(timed_out["step"].is_null(), "a run event: {timed_out}");
}

/// The other events (a gate's 80% warning with its deadline, its timeout as a decision,
/// a failed step); the command runs in the workflow file's directory, not the
/// caller's; a prompt's `$(…)` is text in the environment, never shell code.
#[test]
fn notifiers_hear_warnings_and_failures_in_the_workflows_directory() {
    let env = Env::new();
    std::fs::create_dir_all(env.path().join("flows")).unwrap();
    let wf = env.workflow(
        "flows/warned.toml",
        r#"name = "warned"
[[step]]
id = "wait"
run = "true"
gate = { prompt = "Ship $(touch injected) now?", timeout = "2s", on_timeout = "approve" }

[[step]]
id = "broken"
needs = ["wait"]
run = "exit 3"

[[notify]]
on = ["gate_warning", "gate_decided", "step_failed"]
run = 'echo "$BATON_EVENT|$BATON_STEP_ID|$BATON_PROMPT|$BATON_DEADLINE" >> notes.txt'
"#,
    );
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_ne!(
        out.status.code(),
        Some(0),
        "the run fails: {}",
        text(&out.stdout)
    );
    assert!(
        !env.path().join("notes.txt").exists(),
        "not in the caller's directory"
    );
    let notes = std::fs::read_to_string(env.path().join("flows/notes.txt")).unwrap();
    let lines: Vec<Vec<&str>> = notes.lines().map(|l| l.split('|').collect()).collect();
    let events: Vec<(&str, &str)> = lines.iter().map(|l| (l[0], l[1])).collect();
    assert_eq!(
        events,
        [
            ("gate_warning", "wait"),
            ("gate_decided", "wait"),
            ("step_failed", "broken")
        ],
        "{notes}"
    );
    for l in &lines[..2] {
        assert_eq!(l[2], "Ship $(touch injected) now?", "{notes}");
    }
    // The warning says when the gate times out (the decision is past it).
    let deadline = chrono::DateTime::parse_from_rfc3339(lines[0][3]);
    assert!(deadline.is_ok(), "an RFC 3339 deadline: {notes}");
    assert_eq!((lines[2][2], lines[2][3]), ("", ""), "{notes}");
    for dir in [env.path().to_path_buf(), env.path().join("flows")] {
        assert!(
            !dir.join("injected").exists(),
            "the prompt ran as shell code"
        );
    }
}

//! Issue 57 point 2: `repeat` (Dagu's `repeatPolicy`), run by the real binary: each
//! execution an attempt on record, the step's outputs the last one's, and a resume
//! after the engine was killed (-9) mid-execution running no finished execution again.
use crate::helpers::*;

/// `poll` counts its executions in `count` and says which attempt ran which in
/// `runs`; its second execution waits (for the kill) unless `go` exists. It runs
/// until its output `n` is 4.
const POLL: &str = r#"
name = "repeat"
[[step]]
id = "poll"
run = '''
n=$(( $(cat count 2>/dev/null || echo 0) + 1 ))
echo $n > count
echo "$BATON_ATTEMPT $n" >> runs
echo "n=$n" >> "$BATON_OUTPUT"
if [ $n = 2 ] && [ ! -f go ]; then sleep 60; fi
'''
repeat = { until = "steps.poll.outputs.n == '4'", limit = 10, interval = "200ms" }
[[step]]
id = "after"
needs = ["poll"]
run = "echo got=$N >> $BATON_OUTPUT"
env = { N = "${{ steps.poll.outputs.n }}" }
"#;

fn runs(env: &Env) -> Vec<String> {
    std::fs::read_to_string(env.path().join("runs"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn a_step_repeats_until_its_output_says_done_each_execution_an_attempt() {
    let env = Env::new();
    std::fs::write(env.path().join("go"), "").unwrap();
    let wf = env.workflow("poll.toml", POLL);
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    let printed = text(&out.stdout);
    assert!(out.status.success(), "{printed}\n{}", text(&out.stderr));
    assert!(
        printed.contains("poll retry_wait: repeat until: condition false: steps.poll.outputs.n == '4' (steps.poll.outputs.n = \"1\"); execution 2 of 10 at"),
        "{printed}"
    );
    assert_eq!(runs(&env), ["1 1", "2 2", "3 3", "4 4"]);
    let show = env.show(&run_id_of(&printed));
    assert_eq!(step_state(&show, "poll").as_deref(), Some("succeeded"));
    assert_eq!(step_field(&show, "poll", "attempts"), 4);
    assert_eq!(step_field(&show, "poll", "outputs")["n"], "4");
    assert_eq!(step_field(&show, "after", "outputs")["got"], "4");
}

#[test]
fn a_resume_after_kill_9_mid_execution_runs_no_finished_execution_again() {
    let env = Env::new();
    let wf = env.workflow("poll.toml", POLL);
    let mut engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let run = env.wait_run_id();
    wait_until("execution 2 to run", secs(30), || runs(&env).len() == 2);
    env.wait_step(&run, "poll", "running", 20);
    engine.kill().unwrap();
    let _ = engine.wait();
    std::fs::write(env.path().join("go"), "").unwrap();

    let out = wait_child(env.spawn(&["resume", &run, "--headless"]), 60);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Execution 2 (interrupted) ran again as attempt 3, execution 3 as attempt 4:
    // execution 1 once, every attempt once.
    assert_eq!(runs(&env), ["1 1", "2 2", "3 3", "4 4"]);
    let show = env.show(&run);
    assert_eq!(show["state"], "succeeded");
    assert_eq!(step_field(&show, "poll", "attempts"), 4);
    assert_eq!(step_field(&show, "poll", "outputs")["n"], "4");
}

#[test]
fn a_listed_exit_code_repeats_and_the_limit_fails_it() {
    let env = Env::new();
    let wf = env.workflow(
        "codes.toml",
        r#"
name = "codes"
[[step]]
id = "wait-ready"
run = "echo x >> tries; exit 75"
repeat = { exit_code = [75], limit = 3 }
"#,
    );
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert!(!out.status.success());
    let tries = std::fs::read_to_string(env.path().join("tries")).unwrap();
    assert_eq!(tries.lines().count(), 3);
    let show = env.show(&run_id_of(&text(&out.stdout)));
    assert_eq!(step_state(&show, "wait-ready").as_deref(), Some("failed"));
    assert_eq!(step_field(&show, "wait-ready", "exit_code"), 75);
}

#[test]
fn a_repeat_condition_reading_another_step_is_refused_at_its_line() {
    let env = Env::new();
    let bad = POLL.replace(
        "steps.poll.outputs.n == '4'",
        "steps.after.outputs.got == '4'",
    );
    let wf = env.workflow("bad.toml", &bad);
    let out = env.run(&["validate", wf.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains(
            "bad.toml:12:21: error: `repeat.until` of step `poll` reads `steps.after.outputs.got`"
        ),
        "{err}"
    );
}

//! Issue 25 point 6: a condition's decision is on record. A run killed with kill -9
//! after a condition was evaluated is resumed, with the workflow edited so that the
//! condition would now read true, and the recorded decision stands: the step stays
//! skipped, with the values it read then, and never runs.
use crate::helpers::*;

const WORKFLOW: &str = r#"
name = "cond"
env = { FLAG = "off" }

[[step]]
id = "build"
run = 'echo build >> ledger; echo "kind=$KIND" >> "$BATON_OUTPUT"'
env = { KIND = "snapshot" }

[[step]]
id = "publish"
needs = ["build"]
if = "env.FLAG == 'on' || steps.build.outputs.kind == 'release'"
run = 'echo publish >> ledger'

[[step]]
id = "slow"
needs = ["build"]
run = 'echo slow >> ledger; touch started; while [ ! -f resumed ]; do sleep 0.1; done'

[[step]]
id = "after"
needs = ["publish", "slow"]
when = "none_failed"
run = 'echo after >> ledger'
"#;

#[test]
fn a_resumed_run_keeps_the_decision_a_condition_made_before_the_crash() {
    let env = Env::new();
    let wf = env.workflow("cond.toml", WORKFLOW);
    let (mut child, id) = env.spawn_until(&wf, "slow", "running");
    env.wait_step(&id, "publish", "skipped", 20);
    let started = env.path().join("started");
    wait_until("slow to start", secs(20), || started.exists());
    let before = step_field(&env.show(&id), "publish", "why");
    let why = before.as_str().unwrap_or("").to_string();
    assert!(
        why.starts_with("condition false: env.FLAG == 'on'") && why.contains("env.FLAG = \"off\""),
        "{why}"
    );
    let _ = child.kill(); // SIGKILL, after the condition was decided
    let _ = child.wait();
    // The file now says FLAG = "on": decided again, the condition would be true.
    env.workflow(
        "cond.toml",
        &WORKFLOW.replace("FLAG = \"off\"", "FLAG = \"on\""),
    );
    std::fs::write(env.path().join("resumed"), "").unwrap();
    let out = env.run(&["resume", &id, "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let show = env.show(&id);
    assert_eq!(show["state"], "succeeded");
    assert_eq!(step_state(&show, "publish").as_deref(), Some("skipped"));
    assert_eq!(
        step_field(&show, "publish", "why"),
        before,
        "the recorded reason stands"
    );
    assert_eq!(step_state(&show, "after").as_deref(), Some("succeeded"));
    let ledger = std::fs::read_to_string(env.path().join("ledger")).unwrap_or_default();
    assert!(
        !ledger.contains("publish"),
        "publish ran after the resume: {ledger}"
    );
    assert_eq!(ledger.matches("build").count(), 1, "{ledger}");
    assert_eq!(ledger.matches("after").count(), 1, "{ledger}");
}

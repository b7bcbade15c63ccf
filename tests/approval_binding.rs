//! Issue 4 point 3: an approval is bound to what it approves. If the workflow changes
//! between the approval and the step's start (a crash, an edit, a resume), the approval
//! is void and the gate opens again.
mod common;
use common::*;

fn wf(command: &str) -> String {
    format!(
        r#"
name = "bound"
max_parallel = 1
[[step]]
id = "blocker"
run = 'test -f unblock || sleep 1000'
[[step]]
id = "deploy"
run = '{command}'
gate = {{ prompt = "deploy?" }}
"#
    )
}

#[test]
fn a_changed_command_voids_the_approval_and_reopens_the_gate() {
    let env = Env::new();
    let path = env.workflow("w.toml", &wf("echo v1 > deployed"));
    let child = env.spawn(&["run", path.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    env.wait_step(&id, "blocker", "running", 15);
    env.wait_step(&id, "deploy", "waiting_approval", 15);
    let out = env.run(&["approve", &id, "deploy", "--reason", "v1 is fine"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    env.wait_step(&id, "deploy", "queued", 10);
    let mut child = child;
    child.kill().unwrap();
    child.wait().unwrap();
    // The workflow changes while no engine runs.
    std::fs::write(&path, wf("echo v2-with-a-different-command > deployed")).unwrap();
    std::fs::write(env.path().join("unblock"), "").unwrap();
    let resumed = env.spawn(&["resume", &id, "--headless"]);
    env.wait_step(&id, "deploy", "waiting_approval", 20);
    assert!(
        !env.path().join("deployed").exists(),
        "the voided approval let the changed step run"
    );
    let audit = text(&env.run(&["audit", &id]).stdout);
    assert!(audit.to_lowercase().contains("void"), "{audit}");
    let out = env.run(&["approve", &id, "deploy", "--reason", "v2 reviewed"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let out = wait_child(resumed, 30);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(
        std::fs::read_to_string(env.path().join("deployed"))
            .unwrap()
            .trim(),
        "v2-with-a-different-command"
    );
}

#[test]
fn an_unchanged_workflow_keeps_its_approval_across_a_crash() {
    let env = Env::new();
    let path = env.workflow("w.toml", &wf("echo v1 > deployed"));
    let mut child = env.spawn(&["run", path.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    env.wait_step(&id, "deploy", "waiting_approval", 15);
    let out = env.run(&["approve", &id, "deploy"]);
    assert_eq!(out.status.code(), Some(0));
    env.wait_step(&id, "deploy", "queued", 10);
    child.kill().unwrap();
    child.wait().unwrap();
    std::fs::write(env.path().join("unblock"), "").unwrap();
    let out = env.run(&["resume", &id, "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(
        std::fs::read_to_string(env.path().join("deployed"))
            .unwrap()
            .trim(),
        "v1"
    );
}

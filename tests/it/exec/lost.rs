//! Issue 55 point 2: a remote step whose fate is unknown — its batch job left the
//! scheduler with no exit code — is run again by its retry only if it is idempotent;
//! a non-idempotent one is never started again by a retry policy (the first may still
//! run somewhere): it waits on the desk for a person, as one interrupted by a crash.
//! The scheduler is a stand-in whose `status` never lists the job.
use crate::helpers::*;

#[test]
fn a_lost_job_is_retried_only_when_its_step_is_idempotent() {
    let env = Env::new();
    let wf = env.workflow(
        "w.toml",
        r#"name = "lost"
[executors.gone]
type = "batch"
submit = ["sh", "-c", "echo 4242", "sh", "{script}"]
status = ["sh", "-c", "true", "sh", "{job_id}"]
cancel = ["sh", "-c", "true", "sh", "{job_id}"]
workdir = "jobs"

[[step]]
id = "deploy"
executor = "gone"
idempotent = false
retry = { attempts = 3, delay = "1s" }
run = 'true'

[[step]]
id = "build"
executor = "gone"
retry = { attempts = 2, delay = "1s" }
run = 'true'
"#,
    );
    let child = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    env.wait_step(&id, "deploy", "interrupted", 60);
    wait_until("the idempotent step's retry", secs(60), || {
        step_field(&env.show(&id), "build", "attempts").as_u64() == Some(2)
    });
    let show = env.show(&id);
    assert_eq!(step_field(&show, "deploy", "attempts"), 1, "not run again");
    let record = show["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["step"] == "deploy")
        .cloned()
        .unwrap_or_default();
    assert_eq!(record["kind"], "interrupted", "{show:#}");
    let message = record["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("left the scheduler without an exit code")
            && message.contains("baton mark"),
        "{message}"
    );
    let inbox = text(&env.run(&["inbox"]).stdout);
    assert!(inbox.contains("deploy"), "on the desk:\n{inbox}");
    ok(&env.run(&["cancel", &id]));
    let _ = wait_child(child, 60);
}

//! Issue 75 point 7: an SSH step whose host refuses the connection never started
//! there, so its `retry` applies (as a local step's does), even to a step that is not
//! idempotent, and each error record says it never started. `baton-down` is a closed
//! port on 127.0.0.4 (tests/ssh/hosts.sh).
use super::ssh::{executor, hosts};
use crate::helpers::*;

#[test]
fn a_refused_connection_is_tried_again_by_the_steps_retry_and_said_never_started() {
    let Some(config) = hosts() else { return };
    let env = Env::new().with_own_tmp();
    let retry = "retry = { attempts = 3, delay = \"100ms\" }";
    let wf = env.workflow(
        "w.toml",
        &format!(
            "name = \"ssh-refused\"\n{}\n[[step]]\nid = \"remote\"\nexecutor = \"down\"\nidempotent = false\nrun = 'true'\n{retry}\n\n[[step]]\nid = \"local\"\nrun = 'exit 1'\n{retry}\n",
            executor("down", "baton-down", &config, &env, ""),
        ),
    );
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let id = run_id_of(&text(&out.stdout));
    let show = env.show(&id);
    // The remote step's retry, as the local step's: 3 attempts each.
    assert_eq!(step_field(&show, "local", "attempts"), 3, "{show:#}");
    assert_eq!(step_field(&show, "remote", "attempts"), 3, "{show:#}");
    assert_eq!(step_state(&show, "remote").as_deref(), Some("failed"));
    let errors: Vec<&serde_json::Value> = show["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["step"] == "remote")
        .collect();
    assert_eq!(errors.len(), 3, "{show:#}");
    for (n, e) in errors.iter().enumerate() {
        let msg = e["message"].as_str().unwrap_or("");
        assert!(
            msg.starts_with("never started: ") && msg.contains("does not answer"),
            "{e:#}"
        );
        assert_eq!(e["context"]["never_started"], "true", "{e:#}");
        assert_eq!(e["attempt"], n as u64 + 1, "{e:#}");
        assert_eq!(e["retryable"], true, "{e:#}");
    }
}

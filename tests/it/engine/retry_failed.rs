//! Issue 58 point 5: `baton retry RUN --failed` through the real binary: every failed,
//! timed-out and fail-fast-cancelled step and instance runs again in one decision on
//! the audit chain, and the run then ends as if they had not failed.
use crate::helpers::*;

const WF: &str = r#"
name = "rf"
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
id = "slow"
timeout = "1s"
run = 'test -e fixed || sleep 30'

[[step]]
id = "fine"
run = "true"
"#;

#[test]
fn retry_failed_runs_every_failed_step_again_in_one_audited_decision() {
    let env = Env::new();
    let wf = env.workflow("rf.toml", WF);
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let run = run_id_of(&text(&out.stdout));
    let show = env.show(&run);
    for (id, want) in [
        ("t[1]", "failed"),
        ("t[2]", "cancelled"),
        ("t[3]", "cancelled"),
        ("slow", "failed"),
        ("after", "upstream_failed"),
        ("fine", "succeeded"),
    ] {
        assert_eq!(
            step_state(&show, id).as_deref(),
            Some(want),
            "{id}: {show:#}"
        );
    }
    std::fs::write(env.path().join("fixed"), "").unwrap();
    let retry = env.run(&["retry", &run, "--failed"]);
    let said = format!("{}{}", text(&retry.stdout), text(&retry.stderr));
    assert_eq!(retry.status.code(), Some(0), "{said}");
    assert!(
        said.contains("retrying 4 failed step(s) and instance(s): slow, t[1], t[2], t[3]"),
        "{said}"
    );
    let show = env.show(&run);
    assert_eq!(show["state"], "succeeded", "{show:#}");
    assert_eq!(step_field(&show, "fine", "attempts"), 1, "not run again");
    assert_eq!(step_state(&show, "after").as_deref(), Some("succeeded"));
    // One decision on the audit chain lists them; no step has a retry row of its own.
    let rows = env.audit_rows(&run, "retry_failed");
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(
        rows[0]["details"]["steps"],
        serde_json::json!(["slow", "t[1]", "t[2]", "t[3]"])
    );
    let audit: serde_json::Value =
        serde_json::from_slice(&env.run(&["audit", &run, "--json"]).stdout).expect("JSON");
    let retries = audit
        .as_array()
        .map_or(0, |a| a.iter().filter(|r| r["action"] == "retry").count());
    assert_eq!(retries, 0, "{audit:#}");
    // Nothing failed is left: refused, exit 1, saying so.
    let again = env.run(&["retry", &run, "--failed", "--json"]);
    assert_eq!(again.status.code(), Some(1), "{}", text(&again.stderr));
    let verdict: serde_json::Value = serde_json::from_slice(&again.stdout).expect("JSON");
    assert_eq!(
        verdict["refused"]["code"], "nothing_to_retry",
        "{verdict:#}"
    );
    // A step and --failed together is a usage error.
    let both = env.run(&["retry", &run, "t[1]", "--failed"]);
    assert_eq!(both.status.code(), Some(2));
}

/// Issue 58 point 4: one instance of a fanned-out step retried, its step fails again
/// (the others are still cancelled by `fail_fast`): the next step's record names the
/// need that failed, never itself.
#[test]
fn after_one_instance_is_retried_the_next_step_names_the_need_that_failed() {
    let env = Env::new();
    let wf = env.workflow("one.toml", WF);
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let run = run_id_of(&text(&out.stdout));
    std::fs::write(env.path().join("fixed"), "").unwrap();
    let retry = env.run(&["retry", &run, "t[1]"]);
    assert_eq!(retry.status.code(), Some(1), "{}", text(&retry.stderr));
    let show = env.show(&run);
    assert_eq!(step_state(&show, "t[1]").as_deref(), Some("succeeded"));
    assert_eq!(
        step_state(&show, "after").as_deref(),
        Some("upstream_failed")
    );
    let why = step_field(&show, "after", "why");
    let why = why.as_str().unwrap_or_default();
    assert!(why.starts_with("needs `t"), "{why}");
    assert!(!why.contains("`after`"), "{why}");
}

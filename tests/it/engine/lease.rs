//! Issue 6 point 2: one engine per run. A second `resume` of a live run is refused with
//! a clear message; the lease of an engine that died is taken over.
use crate::helpers::*;

#[test]
fn a_second_engine_is_refused_and_a_dead_ones_lease_is_taken_over() {
    let env = Env::new();
    let wf = env.workflow(
        "w.toml",
        r#"
name = "leased"
[[step]]
id = "slow"
run = 'test -f done || sleep 1000'
"#,
    );
    let mut first = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    env.wait_step(&id, "slow", "running", 15);
    let out = env.run(&["resume", &id, "--headless"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("driven by pid") && err.contains(&first.id().to_string()),
        "names the holder: {err}"
    );
    // The engine dies without releasing its lease: the next resume takes over.
    first.kill().unwrap();
    first.wait().unwrap();
    std::fs::write(env.path().join("done"), "").unwrap();
    let out = env.run(&["resume", &id, "--headless"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_eq!(env.show(&id)["state"], "succeeded");
}

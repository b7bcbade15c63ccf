//! Issue 57 point 2: a failed step allowed to fail reads `succeeded` with
//! `allow_failure = { state = "succeeded" }` (Dagu's `continueOn.markSuccess`), its
//! failure kept on record, run here by the real binary.
use crate::helpers::*;

/// `flaky` writes an output, then fails with code 3, marked succeeded; `after` needs
/// it (all_success) and reads its result as GitHub's `needs` does. `strict` fails
/// allowed to, but reads `failed` (`state = "failed"`, as a bare `allow_failure`).
const MARK: &str = r#"
name = "mark-success"
[[step]]
id = "flaky"
run = "echo made=1 >> $BATON_OUTPUT; echo boom >&2; exit 3"
allow_failure = { state = "succeeded" }
[[step]]
id = "strict"
run = "exit 4"
allow_failure = { state = "failed", if = "${{ params.allow == 'yes' }}" }
[params.allow]
default = "yes"
[[step]]
id = "after"
needs = ["flaky"]
run = "echo result=$R >> $BATON_OUTPUT"
env = { R = "${{ needs.flaky.result }}" }
"#;

#[test]
fn a_failed_step_marked_succeeded_reads_succeeded_with_its_failure_on_record() {
    let env = Env::new();
    let wf = env.workflow("mark.toml", MARK);
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    assert!(
        printed.contains("flaky succeeded: exited with code 3; allowed to fail, marked succeeded"),
        "{printed}"
    );
    let show = env.show(&run_id_of(&printed));
    assert_eq!(show["state"], "succeeded");
    assert_eq!(step_state(&show, "flaky").as_deref(), Some("succeeded"));
    assert_eq!(step_state(&show, "strict").as_deref(), Some("failed"));
    // The failure stays on record: the attempt's exit code, its outputs, its error.
    assert_eq!(step_field(&show, "flaky", "exit_code"), 3);
    assert_eq!(step_field(&show, "flaky", "outputs")["made"], "1");
    let errors = show["errors"].as_array().unwrap();
    let flaky = errors.iter().find(|e| e["step"] == "flaky");
    let flaky = flaky.unwrap_or_else(|| panic!("no error record of flaky: {show:#}"));
    assert_eq!(flaky["kind"], "exit_nonzero");
    assert_eq!(flaky["context"]["exit_code"], "3");
    assert_eq!(flaky["context"]["stderr_tail"], "boom");
    // Its dependant ran and read GitHub's `success`.
    assert_eq!(step_field(&show, "after", "outputs")["result"], "success");

    // Not allowed (the `if` false), the failure is the step's and the run's.
    let out = env.run(&[
        "run",
        wf.to_str().unwrap(),
        "--headless",
        "--param",
        "allow=no",
    ]);
    assert!(!out.status.success());
    let show = env.show(&run_id_of(&text(&out.stdout)));
    assert_eq!(step_state(&show, "strict").as_deref(), Some("failed"));
    assert_eq!(show["state"], "failed");
}

#[test]
fn an_unknown_allow_failure_state_is_refused_at_its_line() {
    let env = Env::new();
    let bad = MARK.replace(r#"{ state = "succeeded" }"#, r#"{ state = "ok" }"#);
    let wf = env.workflow("bad.toml", &bad);
    let out = env.run(&["validate", wf.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("bad.toml:6:27: error: `state` of `allow_failure` of step `flaky` is \"ok\""),
        "{err}"
    );
    assert!(err.contains("write \"succeeded\""), "{err}");
}

//! Issue 57 point 2: a step reads its needs' results as GitHub's `needs` context
//! does (`success`, `failure`, `cancelled`, `skipped`), so GitHub's "required checks"
//! job (re-actors/alls-green: `if: always()`, failing when a need failed) is a plain
//! step, run here by the real binary.
use crate::helpers::*;

/// `lint` exits with `params.lint`; `docs` is skipped by its `if`; `flaky` fails but
/// may (GitHub's `continue-on-error` job reads `success`). `check` runs whatever its
/// needs ended (`all_done`, GitHub's `always()`) and fails when one failed, from its
/// env; `alarm` runs only when a need failed, from its `if`.
const CHECKS: &str = r#"
name = "required-checks"
[params.lint]
default = "0"
[[step]]
id = "lint"
run = "exit ${LINT_EXIT}"
env = { LINT_EXIT = "${{ params.lint }}" }
[[step]]
id = "docs"
run = "true"
if = "params.lint == 'never'"
[[step]]
id = "flaky"
run = "exit 1"
allow_failure = true
[[step]]
id = "check"
needs = ["lint", "docs", "flaky"]
when = "all_done"
run = '''
printf 'results=%s\ndocs=%s\n' "$RESULTS" "$DOCS" >> "$BATON_OUTPUT"
case "$RESULTS" in *'"failure"'*|*'"cancelled"'*) exit 1 ;; esac
'''
env = { RESULTS = "${{ needs.*.result }}", DOCS = "${{ needs.docs.result }}" }
[[step]]
id = "alarm"
needs = ["lint", "docs", "flaky"]
when = "all_done"
if = "contains(needs.*.result, 'failure') && needs.docs.result == 'skipped'"
run = "true"
"#;

/// Run the workflow at `wf` with `args`; whether it succeeded, and each of `ids`'
/// state, and `check`'s outputs `results` and `docs`.
fn run_checks(
    env: &Env,
    wf: &str,
    args: &[&str],
    ids: &[&str],
) -> (bool, Vec<String>, [String; 2]) {
    let out = env.run(&[&["run", wf, "--headless"], args].concat());
    let show = env.show(&run_id_of(&text(&out.stdout)));
    let states = ids
        .iter()
        .map(|id| step_state(&show, id).unwrap_or_else(|| panic!("{id}: {show:#}")))
        .collect();
    let outputs = step_field(&show, "check", "outputs");
    let read = |k: &str| outputs[k].as_str().unwrap_or_default().to_string();
    (
        out.status.success(),
        states,
        [read("results"), read("docs")],
    )
}

#[test]
fn a_required_checks_step_fails_when_a_need_failed_and_reads_skipped_for_a_skipped_one() {
    let env = Env::new();
    let wf = env.workflow("checks.toml", CHECKS);
    let wf = wf.to_str().unwrap();
    let ids = ["lint", "docs", "flaky", "check", "alarm"];

    // All passed (docs skipped, flaky allowed to fail): check succeeds, alarm skipped.
    let (ok, states, read) = run_checks(&env, wf, &[], &ids);
    assert!(ok);
    assert_eq!(
        states,
        ["succeeded", "skipped", "failed", "succeeded", "skipped"]
    );
    assert_eq!(read, [r#"["success","skipped","success"]"#, "skipped"]);

    // A need failed: check fails (and the run with it), as GitHub's job does; alarm
    // runs.
    let (ok, states, read) = run_checks(&env, wf, &["--param", "lint=3"], &ids);
    assert!(!ok);
    assert_eq!(
        states,
        ["failed", "skipped", "failed", "failed", "succeeded"]
    );
    assert_eq!(read, [r#"["failure","skipped","success"]"#, "skipped"]);
}

#[test]
fn reading_the_result_of_a_step_that_is_not_a_need_is_refused_at_its_line() {
    let env = Env::new();
    let bad = CHECKS.replace(
        r#"if = "contains(needs.*.result, 'failure') && needs.docs.result == 'skipped'""#,
        r#"if = "needs.check.result == 'failure'""#,
    );
    let wf = env.workflow("bad.toml", &bad);
    let out = env.run(&["validate", wf.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("bad.toml:30:7: error: step `alarm` reads `needs.check.result`, but `check` is not one of its needs"),
        "{err}"
    );
    assert!(
        err.contains("add \"check\" to the `needs` of `alarm`"),
        "{err}"
    );
}

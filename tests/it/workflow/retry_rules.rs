//! Issue 78 point 5: a step's `retry` retries on the exit codes it lists
//! (`exit_code`), never on those of `never_exit_code`, and only while its `if` over the
//! failed attempt holds (`attempt.exit_code`, its own outputs), run by the real binary;
//! `validate` refuses a wrong rule at its line.
use crate::helpers::*;

/// `deploy` exits with the codes in `codes` one per attempt (75: a network blip, 1: a
/// failed migration), writing `kind=` as its output; each attempt leaves a line in
/// `tries`.
fn deploy(codes: &str, retry: &str) -> String {
    format!(
        r#"
name = "deploy"
[[step]]
id = "deploy"
run = '''
n=$(( $(wc -l < tries 2>/dev/null || echo 0) + 1 ))
echo $n >> tries
code=$(echo "{codes}" | cut -d' ' -f$n)
echo "kind=k$n" >> "$BATON_OUTPUT"
exit $code
'''
retry = {retry}
"#
    )
}

fn tries(env: &Env) -> usize {
    std::fs::read_to_string(env.path().join("tries"))
        .unwrap_or_default()
        .lines()
        .count()
}

#[test]
fn a_network_blip_is_retried_and_a_failed_migration_never() {
    let env = Env::new();
    let retry = r#"{ attempts = 5, delay = "10ms", exit_code = [75], never_exit_code = [1] }"#;
    let wf = env.workflow("blip.toml", &deploy("75 75 0", retry));
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        tries(&env),
        3,
        "two blips retried, the third attempt succeeded"
    );

    let env = Env::new();
    let wf = env.workflow("migrate.toml", &deploy("75 1 0", retry));
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    let printed = text(&out.stdout);
    assert!(!out.status.success(), "{printed}");
    assert_eq!(tries(&env), 2, "the blip retried, the failed migration not");
    assert!(
        printed.contains(
            "exited with code 1; not retried: exit code 1 is one of its retry.never_exit_code [1]"
        ),
        "{printed}"
    );
    let show = env.show(&run_id_of(&printed));
    assert_eq!(step_state(&show, "deploy").as_deref(), Some("failed"));
    assert_eq!(step_field(&show, "deploy", "exit_code"), 1);

    // A code `exit_code` does not list is not retried either.
    let env = Env::new();
    let wf = env.workflow("other.toml", &deploy("3 0", retry));
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert!(!out.status.success());
    assert_eq!(tries(&env), 1);
    let printed = text(&out.stdout);
    assert!(
        printed.contains("not retried: exit code 3 is not one of its retry.exit_code [75]"),
        "{printed}"
    );
}

#[test]
fn a_retry_condition_reads_the_failed_attempt_code_and_outputs() {
    let env = Env::new();
    let retry = r#"{ attempts = 5, delay = "10ms", if = "attempt.exit_code == 75 && steps.deploy.outputs.kind != 'k2'" }"#;
    let wf = env.workflow("cond.toml", &deploy("75 75 0", retry));
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    let printed = text(&out.stdout);
    assert!(!out.status.success(), "{printed}");
    assert_eq!(tries(&env), 2, "attempt 2 wrote kind=k2: not retried");
    assert!(
        printed.contains("not retried: retry.if: condition false: attempt.exit_code == 75 && steps.deploy.outputs.kind != 'k2' (attempt.exit_code = \"75\", steps.deploy.outputs.kind = \"k2\")"),
        "{printed}"
    );
}

#[test]
fn validate_refuses_a_wrong_retry_rule_at_its_line() {
    let env = Env::new();
    let cases = [
        (
            r#"{ attempts = 3, exit_code = [75, 300] }"#,
            "bad.toml:12:42: error: `retry.exit_code` of step `deploy` lists 300",
        ),
        (
            r#"{ attempts = 3, exit_code = [75], never_exit_code = [75] }"#,
            "error: `retry` of step `deploy` lists exit code 75 in both `exit_code` and `never_exit_code`",
        ),
        (
            r#"{ attempts = 3, if = "steps.other.outputs.x == '1'" }"#,
            "bad.toml:12:31: error: `retry.if` of step `deploy` reads `steps.other.outputs.x`",
        ),
        (
            r#"{ attempts = 3, never_exit_code = "1" }"#,
            "`retry.never_exit_code` of step `deploy`",
        ),
    ];
    for (retry, want) in cases {
        let wf = env.workflow("bad.toml", &deploy("1", retry));
        let out = env.run(&["validate", wf.to_str().unwrap()]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{retry}: {err}");
        assert!(err.contains(want), "{retry}: {err}");
    }
    let wf = env.workflow(
        "defaults.toml",
        "name = \"d\"\n[defaults]\nretry = { attempts = 2, if = \"attempt.exit_code == 1\" }\n[[step]]\nid = \"a\"\nrun = \"true\"\n",
    );
    let out = env.run(&["validate", wf.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("defaults.toml:3:25: error: `defaults.retry` has `if`"),
        "{err}"
    );
    let wf = env.workflow(
        "if.toml",
        "name = \"d\"\n[[step]]\nid = \"a\"\nrun = \"true\"\nif = \"attempt.exit_code == 1\"\n",
    );
    let out = env.run(&["validate", wf.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("reads `attempt.exit_code`"),
        "{}",
        text(&out.stderr)
    );
}

/// `repeat = { until_exit_code = [0] }` (Dagu's `repeat: until` with `exitCode`) runs a
/// step again until its code comes; with another test beside it, validate refuses it.
#[test]
fn a_repeat_until_an_exit_code_runs_until_the_code_comes() {
    let env = Env::new();
    let wf = env.workflow(
        "until.toml",
        &deploy(
            "1 75 0 1",
            r#"{ attempts = 1 }
repeat = { until_exit_code = [0], limit = 5 }"#,
        ),
    );
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    let printed = text(&out.stdout);
    assert!(out.status.success(), "{printed}");
    assert_eq!(tries(&env), 3, "1 and 75 ran it again, 0 ended it");
    assert!(
        printed.contains("repeat: exited with code 1, none of its until_exit_code"),
        "{printed}"
    );
    let bad = env.workflow(
        "both.toml",
        &deploy(
            "0",
            r#"{ attempts = 1 }
repeat = { until_exit_code = [0], exit_code = [1] }"#,
        ),
    );
    let out = env.run(&["validate", bad.to_str().unwrap()]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("both.toml:13:12: error: `repeat` of step `deploy` has `until_exit_code` and another test"),
        "{err}"
    );
}

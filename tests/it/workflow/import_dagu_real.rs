//! Issue 78 points 4, 5 and 7: Dagu's own integration-test DAGs (tests/fixtures/import/
//! dagu/intg-*.yaml, each citing its test and commit), imported and run by the real
//! binary, end as Dagu's tests expect: `retry_policy.exit_code` as `retry.exit_code`,
//! `repeat_policy` with `repeat: until` and an `exit_code` as `until_exit_code`.
use crate::helpers::*;
use std::path::Path;

/// `baton import dagu FIXTURE -o NAME.toml` in `env`, then `baton run` of it: its exit
/// code, its `show`, the import's report.
fn import_and_run(env: &Env, name: &str) -> (Option<i32>, serde_json::Value, String) {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import/dagu")
        .join(name);
    let out = env.path().join("dag.toml");
    let o = env.run(&[
        "import",
        "dagu",
        file.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let report = text(&o.stderr);
    let run = env.run(&["run", out.to_str().unwrap(), "--headless"]);
    let printed = text(&run.stdout);
    let show = env.show(&run_id_of(&printed));
    (run.status.code(), show, report)
}

/// The run's only step: its state and attempts.
fn only_step(show: &serde_json::Value) -> (String, u64) {
    let s = &show["steps"][0];
    (
        s["state"].as_str().unwrap_or_default().to_string(),
        s["attempts"].as_u64().unwrap_or_default(),
    )
}

#[test]
fn dagu_repeat_until_an_exit_code_runs_until_the_code_comes() {
    let env = Env::new();
    let (code, show, _) = import_and_run(&env, "intg-repeat-until-exit-code.yaml");
    assert_eq!(code, Some(0), "{show}");
    assert_eq!(show["state"], "succeeded");
    // TestRepeatPolicy_UntilWithExitCode: exactly 3 executions, the step succeeded.
    assert_eq!(only_step(&show), ("succeeded".to_string(), 3));
}

#[test]
fn dagu_repeat_on_an_exit_code_runs_while_the_code_comes() {
    let env = Env::new();
    let (code, show, _) = import_and_run(&env, "intg-repeat-on-exit-code.yaml");
    assert_eq!(code, Some(0), "{show}");
    // TestRepeatPolicy_OnExitCode: succeeded after at least 3 executions.
    let (state, attempts) = only_step(&show);
    assert_eq!(state, "succeeded");
    assert!(attempts >= 3, "{attempts}");
}

#[test]
fn dagu_retry_policy_exit_code_retries_the_listed_code_with_backoff() {
    let env = Env::new();
    let started = std::time::Instant::now();
    let (code, show, report) = import_and_run(&env, "intg-retry-backoff-boolean.yaml");
    assert!(!report.contains("retry_policy.exit_code"), "{report}");
    assert_ne!(code, Some(0));
    // TestRetryPolicy_WithBackoffBoolean: failed after 3 retries, waits 1 s, 2 s, 4 s.
    assert_eq!(only_step(&show), ("failed".to_string(), 4));
    assert!(started.elapsed() >= std::time::Duration::from_secs(6));
}

/// The same policy over a code it does not list: Dagu retries only the codes of
/// `exit_code`, and so does the import: one attempt.
#[test]
fn dagu_retry_policy_exit_code_does_not_retry_another_code() {
    let env = Env::new();
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import/dagu/intg-retry-backoff-boolean.yaml");
    let yaml = std::fs::read_to_string(file)
        .unwrap()
        .replace("command: \"false\"", "command: sh -c 'exit 2'");
    let dag = env.path().join("exit2.yaml");
    std::fs::write(&dag, yaml).unwrap();
    let out = env.path().join("exit2.toml");
    let o = env.run(&[
        "import",
        "dagu",
        dag.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let run = env.run(&["run", out.to_str().unwrap(), "--headless"]);
    let printed = text(&run.stdout);
    assert!(
        printed.contains("not retried: exit code 2 is not one of its retry.exit_code [1]"),
        "{printed}"
    );
    let show = env.show(&run_id_of(&printed));
    assert_eq!(only_step(&show), ("failed".to_string(), 1));
}

/// A step's outputs in `show`, by its position.
fn output(show: &serde_json::Value, step: usize, key: &str) -> String {
    show["steps"][step]["outputs"][key]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// cfg_test.go SpecialVars: DAG_RUN_STEP_NAME, DAG_NAME and DAG_RUN_ID are set as Dagu
/// sets them; Dagu's log files' variables are reported at their line (baton keeps a
/// step's log itself), so those two outputs are the one difference.
#[test]
fn dagu_special_variables_are_set_and_its_log_files_reported() {
    let env = Env::new();
    let (code, show, report) = import_and_run(&env, "intg-special-vars.yaml");
    assert_eq!(code, Some(0), "{show}");
    assert!(
        report.contains("intg-special-vars.yaml:3: step `step-1`: `$DAG_RUN_LOG_FILE`: not set")
            && report.contains(
                "intg-special-vars.yaml:5: step `step-2`: `$DAG_RUN_STEP_STDOUT_FILE`: not set"
            ),
        "{report}"
    );
    assert_eq!(output(&show, 2, "OUT3"), "step-3");
    assert_eq!(output(&show, 3, "OUT4"), "intg-special-vars");
    assert_eq!(output(&show, 4, "OUT5"), show["id"].as_str().unwrap());
}

/// cfg_test.go Workdir: `~/` and `$HOME` in the DAG's env, read by `working_dir`, are
/// the home directory, as Dagu expands them.
#[test]
fn dagu_home_and_variables_in_env_and_working_dir_are_expanded() {
    let env = Env::new();
    let (code, show, report) = import_and_run(&env, "intg-workdir.yaml");
    assert_eq!(code, Some(0), "{show}\n{report}");
    let home = std::env::var("HOME").unwrap();
    let canon = |p: &str| std::fs::canonicalize(p).unwrap();
    assert_eq!(canon(&output(&show, 0, "OUT1")), canon(&home));
    assert_eq!(canon(&output(&show, 1, "OUT2")), canon(&home));
}

/// cfg_test.go TestCallSubDAG: a child's output read as `${OUT1.outputs.OUT}` is the
/// child run's output, which its step hands on; the child after `---` imported beside
/// the parent as the report says, the run ends with OUT2 = "foo", as Dagu's test expects.
#[test]
fn dagus_call_sub_dag_reads_the_childs_output() {
    let env = Env::new();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import/dagu/intg-call-sub-dag.yaml");
    let text_of = std::fs::read_to_string(fixture).unwrap();
    let (_, child) = text_of.split_once("\n---\n").unwrap();
    let sub = env.path().join("sub.yaml");
    std::fs::write(&sub, child).unwrap();
    let to = env.path().join("sub.toml");
    let o = env.run(&[
        "import",
        "dagu",
        sub.to_str().unwrap(),
        "-o",
        to.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let (code, show, report) = import_and_run(&env, "intg-call-sub-dag.yaml");
    assert_eq!(code, Some(0), "{show}\n{report}");
    assert_eq!(output(&show, 1, "OUT2"), "foo", "{show}");
    assert!(
        report.contains(
            "intg-call-sub-dag.yaml:6: step `step-2`: `${OUT1.outputs.OUT}`: the child run's output `OUT`"
        ),
        "{report}"
    );
}

/// Dagu's DAGs whose tests assert their outputs (`dag.AssertOutputs`): each imported and
/// run, every output Dagu's test names has its value (an empty one: no step gave it).
#[test]
fn dagu_dags_give_the_outputs_their_tests_expect() {
    let cases: [(&str, &[(&str, &str)]); 3] = [
        (
            "intg-complex-dependencies.yaml",
            &[
                ("START", "start"),
                ("BRANCH1", "branch1"),
                ("BRANCH2", "branch2"),
                ("MERGE", "merge"),
                ("FINAL", "final"),
            ],
        ),
        (
            "intg-skipped-preconditions.yaml",
            &[
                ("OUT_RUN", "executed"),
                ("OUT_SKIP1", ""),
                ("OUT_SKIP2", "should execute"),
            ],
        ),
        (
            "intg-step-level-env.yaml",
            &[
                ("OUT1", "step1_value"),
                ("OUT2", "dag_value2"),
                ("OUT3", "dynamic value"),
            ],
        ),
    ];
    for (name, want) in cases {
        let env = Env::new();
        let (code, show, report) = import_and_run(&env, name);
        assert_eq!(code, Some(0), "{name}: {show}\n{report}");
        let steps = show["steps"].as_array().unwrap();
        for (key, value) in want {
            let got: Vec<&str> = steps
                .iter()
                .filter_map(|s| s["outputs"][*key].as_str())
                .collect();
            let got = got.first().copied().unwrap_or("");
            assert_eq!(got, *value, "{name}: {key}\n{show}");
        }
    }
}

/// repeat_test.go TestRepeatPolicy_BackwardCompatibilityTrue: `repeat: true` with a
/// limit of 4 runs the step exactly 4 times, and it succeeds.
#[test]
fn dagu_repeat_true_runs_to_its_limit() {
    let env = Env::new();
    let (code, show, _) = import_and_run(&env, "intg-repeat-with-limit.yaml");
    assert_eq!(code, Some(0), "{show}");
    assert_eq!(only_step(&show), ("succeeded".to_string(), 4));
}

//! Fan-out through the real binary: a matrix's instances under their ids in `show`,
//! `logs` and `retry`; a `for_each` killed with -9 and resumed runs no succeeded
//! instance again and ends with the same instances.
use crate::helpers::*;
use serde_json::Value;
use std::time::Duration;

fn ids(show: &Value) -> Vec<String> {
    show["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn matrix_instances_are_steps_every_command_names() {
    let env = Env::new();
    let wf = env.workflow(
        "m.toml",
        r#"
name = "m"
[[step]]
id = "test"
matrix = { py = ["3.11", "3.12"], os = ["linux"] }
env = { PY = "${{ matrix.py }}" }
run = 'echo "python $PY"; test "$PY" != 3.12 || test -e fixed'
"#,
    );
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let run = run_id_of(&text(&out.stdout));
    let show = env.show(&run);
    let got = ids(&show);
    for want in ["test", "test[3.11,linux]", "test[3.12,linux]"] {
        assert!(got.contains(&want.to_string()), "{want} in {got:?}");
    }
    assert_eq!(
        step_state(&show, "test[3.11,linux]").as_deref(),
        Some("succeeded")
    );
    assert_eq!(
        step_state(&show, "test[3.12,linux]").as_deref(),
        Some("failed")
    );
    assert_eq!(step_state(&show, "test").as_deref(), Some("failed"));
    let logs = env.run(&["logs", &run, "test[3.12,linux]"]);
    assert!(
        text(&logs.stdout).contains("python 3.12"),
        "{}",
        text(&logs.stdout)
    );
    std::fs::write(env.path().join("fixed"), "").unwrap();
    let retry = env.run(&["retry", &run, "test[3.12,linux]"]);
    assert_eq!(
        retry.status.code(),
        Some(0),
        "{}{}",
        text(&retry.stdout),
        text(&retry.stderr)
    );
    let show = env.show(&run);
    assert_eq!(show["state"], "succeeded", "{show:#}");
    assert_eq!(step_state(&show, "test").as_deref(), Some("succeeded"));
}

/// Issue 57 point 2: GitHub's `continue-on-error: ${{ matrix.python == '3.14' }}` as
/// `allow_failure`, through the real binary: the 3.14 cell fails and the run succeeds,
/// its dependant runs; `--param strict=true` makes the same failure fail the run.
#[test]
fn an_allow_failure_condition_lets_one_matrix_cell_fail() {
    let env = Env::new();
    let wf = env.workflow(
        "c.toml",
        r#"
name = "c"
[params.strict]
type = "bool"
default = "false"
[[step]]
id = "test"
matrix = { python = ["3.12", "3.14"] }
env = { PY = "${{ matrix.python }}" }
run = 'test "$PY" != 3.14'
allow_failure = "${{ matrix.python == '3.14' && !params.strict }}"
[[step]]
id = "report"
needs = ["test"]
run = "true"
"#,
    );
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let show = env.show(&run_id_of(&text(&out.stdout)));
    assert_eq!(step_state(&show, "test[3.14]").as_deref(), Some("failed"));
    assert_eq!(
        step_state(&show, "test[3.12]").as_deref(),
        Some("succeeded")
    );
    assert_eq!(step_state(&show, "report").as_deref(), Some("succeeded"));
    assert_eq!(show["state"], "succeeded", "{show:#}");
    let out = env.run(&[
        "run",
        wf.to_str().unwrap(),
        "--headless",
        "--param",
        "strict=true",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let show = env.show(&run_id_of(&text(&out.stdout)));
    assert_eq!(
        step_state(&show, "report").as_deref(),
        Some("upstream_failed")
    );
}

#[test]
fn a_for_each_killed_and_resumed_runs_no_succeeded_instance_again() {
    let env = Env::new();
    let wf = env.workflow(
        "f.toml",
        r#"
name = "f"
max_parallel = 2
[[step]]
id = "list"
run = 'echo "list start" >> ledger; echo "files=[1,2,3,4,5,6,7,8,9,10,11,12]" >> "$BATON_OUTPUT"'
[[step]]
id = "each"
needs = ["list"]
for_each = "${{ steps.list.outputs.files }}"
env = { N = "${{ item }}" }
run = 'echo "$BATON_STEP_ID start" >> ledger; sleep 0.3'
"#,
    );
    let mut ledger = StartLedger::new(&env);
    let child = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let run = env.wait_run_id();
    env.wait_step(&run, "each[3]", "succeeded", 30);
    let mut child = child;
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
    let before = env.show(&run);
    let instances_before: Vec<String> = ids(&before)
        .into_iter()
        .filter(|i| i.starts_with("each["))
        .collect();
    assert_eq!(instances_before.len(), 12);
    let now = ledger.check("after the kill");
    ledger.freeze(&before, &now);
    let out = env.run(&["resume", &run, "--headless"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    ledger.check("after the resume");
    let after = env.show(&run);
    assert_eq!(after["state"], "succeeded", "{after:#}");
    let instances_after: Vec<String> = ids(&after)
        .into_iter()
        .filter(|i| i.starts_with("each["))
        .collect();
    assert_eq!(instances_after, instances_before, "the same instances");
    wait_until(
        "every instance to have started",
        Duration::from_secs(5),
        || (ledger.starts().len() == 13).then_some(()),
    );
}

#[test]
fn plan_lists_a_matrix_s_instance_ids() {
    let env = Env::new();
    let wf = env.workflow(
        "p.toml",
        r#"
name = "p"
[params.pythons]
type = "list"
default = "3.11,3.12"
[[step]]
id = "test"
run = "true"
matrix = { python = "${{ params.pythons }}", os = ["linux", "macos"], exclude = [ { python = "3.11", os = "macos" } ] }
"#,
    );
    let out = env.run(&["plan", wf.to_str().unwrap()]);
    assert!(
        text(&out.stdout)
            .contains("3 instances: test[3.11,linux] test[3.12,linux] test[3.12,macos]"),
        "{}",
        text(&out.stdout)
    );
    let out = env.run(&[
        "plan",
        wf.to_str().unwrap(),
        "--param",
        r#"pythons=["3.13"]"#,
    ]);
    assert!(
        text(&out.stdout).contains("2 instances: test[3.13,linux] test[3.13,macos]"),
        "{}",
        text(&out.stdout)
    );
}

/// Issue 26 point 4: `show`, `show --json` and `runs` report each instance under its
/// step, the step with its instances' counts (the core's, as the console shows them).
#[test]
fn show_and_runs_report_instances_under_their_step_with_counts() {
    let env = Env::new();
    let wf = env.workflow(
        "g.toml",
        r#"
name = "g"
[[step]]
id = "lint"
run = "true"
[[step]]
id = "test"
needs = ["lint"]
matrix = { n = ["1", "2", "3"] }
env = { N = "${{ matrix.n }}" }
run = 'test "$N" != 2 || test -e fixed'
[[step]]
id = "after"
needs = ["test"]
run = "true"
"#,
    );
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let run = run_id_of(&text(&out.stdout));
    let shown = env.run(&["show", &run]);
    let t = text(&shown.stdout);
    let at = |prefix: &str| {
        t.lines()
            .position(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("a line starting {prefix:?} in:\n{t}"))
    };
    let (step, first, last, after) = (
        at("test (3/3 ✔2 ✘1)"),
        at("  test[1]"),
        at("  test[3]"),
        at("after"),
    );
    assert!(step < first && first < last && last < after, "{t}");
    let json = env.show(&run);
    assert_eq!(
        ids(&json),
        ["lint", "test", "test[1]", "test[2]", "test[3]", "after"]
    );
    assert_eq!(
        json["steps"][1]["fan_out"],
        serde_json::json!({"total": 3, "done": 3, "succeeded": 2, "failed": 1, "active": 0, "marked": 0})
    );
    assert_eq!(json["steps"][3]["instance_of"], "test");
    assert_eq!(json["steps"][3]["state"], "failed");
    assert!(json["steps"][0]["fan_out"].is_null());
    let runs = env.run(&["runs"]);
    let table = text(&runs.stdout);
    assert!(
        table.contains("FAN-OUT") && table.contains("test 3/3 ✔2 ✘1"),
        "{table}"
    );
    let listed = env.runs();
    assert_eq!(
        listed[0]["fan_out"],
        serde_json::json!([{"step": "test", "total": 3, "done": 3, "succeeded": 2, "failed": 1, "active": 0, "marked": 0}])
    );
    // `retry RUN STEP` on the fanned-out step runs its failed instance again, only it.
    std::fs::write(env.path().join("fixed"), "").unwrap();
    let retry = env.run(&["retry", &run, "test"]);
    assert_eq!(
        retry.status.code(),
        Some(0),
        "{}{}",
        text(&retry.stdout),
        text(&retry.stderr)
    );
    let json = env.show(&run);
    assert_eq!(json["state"], "succeeded", "{json:#}");
    let attempts = |i: usize| json["steps"][i]["attempts"].as_u64();
    assert_eq!(
        (attempts(2), attempts(3), attempts(4)),
        (Some(1), Some(2), Some(1)),
        "only test[2] ran again"
    );
    assert_eq!(
        json["steps"][1]["fan_out"],
        serde_json::json!({"total": 3, "done": 3, "succeeded": 3, "failed": 0, "active": 0, "marked": 0})
    );
}

/// A `type = "list"` parameter holds a list: a JSON object is refused before the run
/// starts (exit 2), saying what to write.
#[test]
fn a_list_parameter_refuses_a_json_object() {
    let env = Env::new();
    let wf = env.workflow(
        "l.toml",
        r#"
name = "l"
[params.pythons]
type = "list"
default = "3.11"
[[step]]
id = "test"
run = "true"
matrix = { python = "${{ params.pythons }}" }
"#,
    );
    let out = env.run(&[
        "run",
        wf.to_str().unwrap(),
        "--headless",
        "--param",
        r#"pythons={"a": 1}"#,
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("pythons") && err.contains("JSON object, not a list"),
        "{err}"
    );
    assert!(!env.db().exists(), "no run made, not even a store");
}

/// Issue 42 point 1: after `fail_fast` stopped a matrix, `retry` of the failed
/// instance ends (the others it cancelled still fail the step, and `after` with it);
/// `retry` of the step takes up the cancelled ones and the run succeeds.
#[test]
fn a_retried_instance_after_fail_fast_ends_its_run() {
    let env = Env::new();
    let wf = env.workflow(
        "ff.toml",
        r#"
name = "ff"
max_parallel = 4
[[step]]
id = "t"
matrix = { n = [1, 2, 3] }
fail_fast = true
env = { N = "${{ matrix.n }}" }
run = 'if [ "$N" = 1 ]; then test -e fixed; else sleep 30; fi'
[[step]]
id = "after"
needs = ["t"]
run = "true"
"#,
    );
    let out = wait_child(env.spawn(&["run", wf.to_str().unwrap(), "--headless"]), 60);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let run = run_id_of(&text(&out.stdout));
    let show = env.show(&run);
    assert_eq!(step_state(&show, "t[2]").as_deref(), Some("cancelled"));
    std::fs::write(env.path().join("fixed"), "").unwrap();
    let out = wait_child(env.spawn(&["retry", &run, "t[1]"]), 60);
    let show = env.show(&run);
    assert_eq!(step_state(&show, "t[1]").as_deref(), Some("succeeded"));
    assert_eq!(step_state(&show, "t").as_deref(), Some("failed"));
    assert_eq!(
        step_state(&show, "after").as_deref(),
        Some("upstream_failed")
    );
    assert_eq!(show["state"], "failed", "{}", text(&out.stdout));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    // Resume of the ended run ends at once.
    wait_child(env.spawn(&["resume", &run, "--headless"]), 60);
    // The cancelled ones retried through their step: everything runs.
    std::fs::write(
        &wf,
        std::fs::read_to_string(&wf)
            .unwrap()
            .replace("sleep 30", "true"),
    )
    .unwrap();
    let out = wait_child(env.spawn(&["retry", &run, "t"]), 60);
    let show = env.show(&run);
    assert_eq!(show["state"], "succeeded", "{}{show:#}", text(&out.stderr));
    assert_eq!(step_state(&show, "after").as_deref(), Some("succeeded"));
}

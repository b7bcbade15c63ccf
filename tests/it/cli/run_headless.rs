//! Issue 3 point 8: the real binary on real workflows in temp dirs.
use crate::helpers::*;

#[test]
fn outputs_and_params_arrive_in_env_and_first_line_names_the_run() {
    let env = Env::new();
    let wf = env.workflow(
        "w.toml",
        r#"
name = "pass-along"
[params.version]
type = "string"
required = true
pattern = '^\d+\.\d+\.\d+$'
[env]
REGION = "eu-west-1"

[[step]]
id = "build"
run = 'echo "artifact=app-$VERSION.tar" >> "$BATON_OUTPUT"'
env = { VERSION = "${{ params.version }}" }

[[step]]
id = "ship"
needs = ["build"]
run = 'test "$ART" = "app-1.2.3.tar" && test "$REGION" = eu-west-1 && test -n "$BATON_RUN_ID" && test "$BATON_STEP_ID" = ship && test "$BATON_ATTEMPT" = 1 && echo "seen=$ART" >> "$BATON_OUTPUT"'
env = { ART = "${{ steps.build.outputs.artifact }}" }
"#,
    );
    let out = env.run(&[
        "run",
        wf.to_str().unwrap(),
        "--headless",
        "--param",
        "version=1.2.3",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{}",
        text(&out.stderr)
    );
    let id = run_id_of(&stdout);
    assert!(stdout.lines().next().unwrap().ends_with(" pass-along"));
    assert!(
        stdout.contains(" ship succeeded"),
        "one line per transition:\n{stdout}"
    );
    let show = env.show(&id[..8]);
    assert_eq!(show["state"], "succeeded");
    assert_eq!(
        step_field(&show, "ship", "outputs")["seen"],
        "app-1.2.3.tar"
    );
}

#[test]
fn a_bad_param_is_refused_before_anything_runs() {
    let env = Env::new();
    let wf = env.workflow(
        "w.toml",
        "name = \"p\"\n[params.version]\ntype = \"string\"\npattern = '^\\d+$'\n[[step]]\nid = \"a\"\nrun = \"touch ran\"\n",
    );
    let out = env.run(&[
        "run",
        wf.to_str().unwrap(),
        "--headless",
        "--param",
        "version=abc",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("version"),
        "{}",
        text(&out.stderr)
    );
    assert!(!env.path().join("ran").exists());
}

#[test]
fn an_invalid_workflow_exits_2_with_file_line_col() {
    let env = Env::new();
    let wf = env.workflow(
        "bad.toml",
        "name = \"x\"\n[[step]]\nid = \"a\"\nneeds = [\"nope\"]\nrun = \"true\"\n",
    );
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("bad.toml:4:"), "{err}");
}

#[test]
fn retries_count_attempts_and_failure_exits_1_with_an_error_record() {
    let env = Env::new();
    let wf = env.workflow(
        "w.toml",
        r#"
name = "retries"
[[step]]
id = "flaky"
run = 'n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; test $n -ge 3'
retry = { attempts = 3, delay = "10ms", backoff = "fixed" }

[[step]]
id = "broken"
run = 'echo boom >&2; exit 7'
retry = { attempts = 2, delay = "10ms" }
"#,
    );
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let id = run_id_of(&text(&out.stdout));
    let show = env.show(&id);
    assert_eq!(step_field(&show, "flaky", "state"), "succeeded");
    assert_eq!(step_field(&show, "flaky", "attempts"), 3);
    assert_eq!(step_field(&show, "broken", "state"), "failed");
    assert_eq!(step_field(&show, "broken", "attempts"), 2);
    assert_eq!(step_field(&show, "broken", "exit_code"), 7);
    let errors = show["errors"].as_array().unwrap();
    let e = errors
        .iter()
        .find(|e| e["step"] == "broken")
        .expect("error record for broken");
    assert_eq!(e["kind"], "exit_nonzero");
    // Quality: flaky succeeded after a retry (0.5), broken failed (0) → 0.25.
    // Health: 100 − 50 × ½ (flaky's retry) − 50 (broken) − 2 open high records
    // (broken's two attempts) × 10 = 5; flaky's record closed when it succeeded.
    assert_eq!(show["quality"].as_f64(), Some(0.25), "{show:#}");
    assert_eq!(show["health"].as_f64(), Some(5.0), "{show:#}");
    // The history reads back (resume and the console replay it), retries included.
    let store = baton::store::Store::open(&env.db()).unwrap();
    let events = store.events(&id).unwrap();
    let retries = events
        .iter()
        .filter(|e| matches!(e.kind, baton::model::EventKind::RetryScheduled { .. }))
        .count();
    assert_eq!(retries, 3, "flaky twice, broken once");
}

#[test]
fn a_timeout_kills_the_whole_process_group() {
    let env = Env::new();
    let wf = env.workflow(
        "w.toml",
        r#"
name = "timeout"
[[step]]
id = "hang"
run = 'sleep 1000 & echo $! > grandchild.pid; sleep 1000'
timeout = "1s"
"#,
    );
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(1));
    let id = run_id_of(&text(&out.stdout));
    let show = env.show(&id);
    assert_eq!(step_field(&show, "hang", "state"), "failed");
    let e = show["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["step"] == "hang")
        .unwrap()
        .clone();
    assert_eq!(e["kind"], "timeout");
    let pid: i32 = std::fs::read_to_string(env.path().join("grandchild.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // The grandchild must be gone (allow the SIGKILL grace to pass).
    wait_until("the grandchild to be gone", secs(10), || {
        !process_alive(pid)
    });
}

#[test]
fn trigger_rules_fire() {
    let env = Env::new();
    let wf = env.workflow(
        "w.toml",
        r#"
name = "triggers"
[[step]]
id = "bad"
run = "exit 1"
[[step]]
id = "after-bad"
needs = ["bad"]
run = "true"
[[step]]
id = "cleanup"
needs = ["bad"]
when = "all_done"
run = "true"
[[step]]
id = "page"
needs = ["bad"]
when = "any_failed"
run = "true"
[[step]]
id = "good"
run = "true"
[[step]]
id = "page-good"
needs = ["good"]
when = "any_failed"
run = "true"
[[step]]
id = "downstream"
needs = ["after-bad"]
run = "true"
"#,
    );
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(1));
    let show = env.show(&run_id_of(&text(&out.stdout)));
    for (s, want) in [
        ("bad", "failed"),
        // Airflow's states: a failed need makes `upstream_failed`, and so does a need
        // that is itself `upstream_failed`; a rule not met on success is `skipped`.
        ("after-bad", "upstream_failed"),
        ("downstream", "upstream_failed"),
        ("cleanup", "succeeded"),
        ("page", "succeeded"),
        ("good", "succeeded"),
        ("page-good", "skipped"),
    ] {
        assert_eq!(step_field(&show, s, "state"), want, "{s}");
    }
}

#[test]
fn cancel_from_a_second_process_kills_running_steps() {
    let env = Env::new();
    let wf = env.workflow(
        "w.toml",
        r#"
name = "long"
[[step]]
id = "slow"
run = 'sleep 1000 & echo $! > child.pid; wait'
[[step]]
id = "after"
needs = ["slow"]
run = "touch after-ran"
"#,
    );
    let child = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    env.wait_step(&id, "slow", "running", 10);
    let out = env.run(&["cancel", &id[..10], "--reason", "test"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).starts_with("accepted"),
        "{}",
        text(&out.stdout)
    );
    let out = wait_child(child, 20);
    assert_eq!(out.status.code(), Some(1));
    let show = env.show(&id);
    assert_eq!(show["state"], "cancelled");
    assert_eq!(step_field(&show, "slow", "state"), "cancelled");
    assert_eq!(step_field(&show, "after", "state"), "cancelled");
    assert!(!env.path().join("after-ran").exists());
    let pid: i32 = std::fs::read_to_string(env.path().join("child.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let alive = process_alive(pid);
    assert!(!alive, "a grandchild survived the cancel");
}

#[test]
fn events_jsonl_and_logs_and_prefix_lookup() {
    let env = Env::new();
    let wf = env.workflow(
        "w.toml",
        "name = \"logs\"\n[[step]]\nid = \"hello\"\nrun = \"echo hello-out; echo hello-err >&2\"\n",
    );
    let out = env.run(&[
        "run",
        wf.to_str().unwrap(),
        "--headless",
        "--events",
        "events.jsonl",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let id = run_id_of(&text(&out.stdout));
    let lines = std::fs::read_to_string(env.path().join("events.jsonl")).unwrap();
    let types: Vec<String> = lines
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).expect("json line")["type"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(types.first().map(String::as_str), Some("run_started"));
    assert_eq!(types.last().map(String::as_str), Some("run_finished"));
    let logs = env.run(&["logs", &id[..6], "hello"]);
    assert_eq!(logs.status.code(), Some(0), "{}", text(&logs.stderr));
    let l = text(&logs.stdout);
    assert!(l.contains("hello-out") && l.contains("hello-err"), "{l}");
    let runs = env.runs();
    assert_eq!(runs[0]["id"], id.as_str());
    assert_eq!(runs[0]["workflow"], "logs");
    assert_eq!(runs[0]["state"], "succeeded");
    let started = runs[0]["started_at"].as_str().expect("RFC 3339 text");
    assert!(
        chrono::DateTime::parse_from_rfc3339(started).is_ok(),
        "{started}"
    );
}

#[test]
fn storage_error_exits_3() {
    let env = Env::new();
    let wf = env.workflow(
        "w.toml",
        "name = \"s\"\n[[step]]\nid = \"a\"\nrun = \"true\"\n",
    );
    std::fs::create_dir_all(env.db().parent().unwrap()).unwrap();
    std::fs::write(
        env.db(),
        b"this is not a database, just text that is long enough to not be empty",
    )
    .unwrap();
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
}

/// New-user review: a headless run that stopped at a gate said nothing of what to type.
/// It now says, unless the gate is passed at once (`--auto-approve`).
#[test]
fn a_gate_that_waits_says_what_to_type_and_one_passed_at_once_does_not() {
    let env = Env::new();
    let wf = env.workflow(
        "w.toml",
        "name = \"w\"\n[[step]]\nid = \"ship\"\nrun = \"true\"\ngate = { prompt = \"Ship?\", timeout = \"1s\" }\n",
    );
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    let printed = text(&out.stdout);
    let id = run_id_of(&printed);
    assert!(
        printed.contains(&format!(
            "ship waiting: `baton approve {id} ship --reason …` or `baton reject {id} ship --reason …`"
        )),
        "{printed}"
    );
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless", "--auto-approve"]);
    let printed = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{printed}");
    assert!(!printed.contains("waiting:"), "{printed}");
}

/// Review: `logs --attempt 1` of a built-in step (which writes no log file) said the
/// step had not run.
#[test]
fn logs_of_an_attempt_that_wrote_no_file_is_an_empty_log_not_an_error() {
    let env = Env::new();
    let wf = env.workflow(
        "w.toml",
        "name = \"w\"\n[[step]]\nid = \"nap\"\nuses = \"builtin.noop\"\n",
    );
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let id = run_id_of(&text(&out.stdout));
    let out = env.run(&["logs", &id, "nap", "--attempt", "1"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("no output recorded for step `nap` attempt 1"),
        "{err}"
    );
    let out = env.run(&["logs", &id, "nap", "--attempt", "2"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

//! Issue 4: gates, operator commands across processes, audit chain, budgets, compensation.
//! A headless engine runs in the background; commands come from the foreground.
use crate::helpers::*;
use std::process::Child;
use std::time::Duration;

const GATED: &str = r#"
name = "gated"
[[step]]
id = "build"
run = 'echo version=2.0.1 >> "$BATON_OUTPUT"'

[[step]]
id = "deploy"
needs = ["build"]
run = 'echo "deploying $V" > deployed'
env = { V = "${{ steps.build.outputs.version }}" }
gate = { prompt = "Ship ${{ steps.build.outputs.version }}?", approvers = ["Nobody", " root "], quorum = 2 }

[[step]]
id = "announce"
needs = ["deploy"]
run = "true"
"#;

fn start(env: &Env, wf: &str, extra: &[&str]) -> (Child, String) {
    let path = env.workflow("w.toml", wf);
    let mut args = vec!["run", path.to_str().unwrap(), "--headless"];
    args.extend_from_slice(extra);
    let child = env.spawn(&args);
    let id = env.wait_run_id();
    (child, id)
}

fn cmd(env: &Env, args: &[&str]) -> (i32, String) {
    let out = env.run(args);
    (
        out.status.code().unwrap_or(-1),
        format!("{}{}", text(&out.stdout), text(&out.stderr)),
    )
}

#[test]
fn approvers_quorum_and_refusals_are_enforced_and_audited() {
    let env = Env::new();
    env.share_with_nobody();
    let (child, id) = start(&env, GATED, &[]);
    env.wait_step(&id, "deploy", "waiting_approval", 15);
    // Who decides is the OS account: a typed name is refused outright.
    let (code, out) = cmd(&env, &["approve", &id, "deploy", "--operator", "alice"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("operating-system account"), "{out}");
    // `nobody` votes (approvers are matched trimmed and case-insensitively).
    let out = env.run_as_nobody(&["approve", &id, "deploy", "--reason", "looks good"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // Same account twice does not make a quorum.
    let out = env.run_as_nobody(&["approve", &id, "deploy"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("already approved"));
    assert!(
        !env.path().join("deployed").exists(),
        "deploy ran before quorum"
    );
    let (code, out) = cmd(&env, &["approve", &id, "deploy", "--reason", "ok"]);
    assert_eq!(code, 0, "{out}");
    let out = wait_child(child, 30);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(
        std::fs::read_to_string(env.path().join("deployed"))
            .unwrap()
            .trim(),
        "deploying 2.0.1"
    );
    // Refused attempts are recorded, with their reasons.
    let audit = env.run(&["audit", &id, "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&audit.stdout).expect("audit json");
    let s = rows.to_string();
    assert!(
        s.contains("\"nobody\"") && s.contains("looks good") && s.contains("\"root\""),
        "{s}"
    );
    // Gate decided: further approvals are refused as already decided / not open.
    let verify = env.run(&["audit", "verify", &id]);
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify.stdout));
}

#[test]
fn reject_needs_a_reason_and_dependants_follow_trigger_rules() {
    let env = Env::new();
    let wf = r#"
name = "rejectable"
[[step]]
id = "gate"
gate = { prompt = "Go?" }
[[step]]
id = "after"
needs = ["gate"]
run = "touch after-ran"
[[step]]
id = "on-fail"
needs = ["gate"]
when = "any_failed"
run = "touch on-fail-ran"
"#;
    let (child, id) = start(&env, wf, &[]);
    env.wait_step(&id, "gate", "waiting_approval", 15);
    let (code, _) = cmd(&env, &["reject", &id, "gate", "--reason", ""]);
    assert_eq!(code, 2, "an empty reason is a usage error");
    let (code, out) = cmd(&env, &["reject", &id, "gate", "--reason", "not today"]);
    assert_eq!(code, 0, "{out}");
    let out = wait_child(child, 30);
    assert_eq!(out.status.code(), Some(1));
    let show = env.show(&id);
    assert_eq!(step_field(&show, "gate", "state"), "rejected");
    // A rejected need is a failure for the rules, as in Airflow (issue 25 point 2).
    assert_eq!(step_field(&show, "after", "state"), "upstream_failed");
    assert_eq!(step_field(&show, "on-fail", "state"), "succeeded");
    assert!(!env.path().join("after-ran").exists());
    let audit = text(&env.run(&["audit", &id]).stdout);
    assert!(
        audit.contains("root") && audit.contains("not today"),
        "{audit}"
    );
}

#[test]
fn gate_timeout_applies_the_policy_as_the_engine() {
    let env = Env::new();
    let wf = r#"
name = "timeouts"
[[step]]
id = "auto-yes"
gate = { prompt = "?", timeout = "300ms", on_timeout = "approve" }
run = "touch yes-ran"
[[step]]
id = "auto-no"
gate = { prompt = "?", timeout = "300ms", on_timeout = "reject" }
run = "touch no-ran"
"#;
    let (child, id) = start(&env, wf, &[]);
    let out = wait_child(child, 30);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let show = env.show(&id);
    assert_eq!(step_field(&show, "auto-yes", "state"), "succeeded");
    assert_eq!(step_field(&show, "auto-no", "state"), "rejected");
    assert!(env.path().join("yes-ran").exists() && !env.path().join("no-ran").exists());
    let kinds: Vec<String> = show["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect();
    assert!(kinds.contains(&"gate_timeout".to_string()), "{kinds:?}");
    let audit = text(&env.run(&["audit", &id]).stdout);
    assert!(
        audit.contains("engine"),
        "the decision is the engine's: {audit}"
    );
}

/// GATED with a gate anyone may approve: what `--auto-approve` passes.
fn open_gated() -> String {
    GATED.replace(r#", approvers = ["Nobody", " root "], quorum = 2"#, "")
}

#[test]
fn auto_approve_is_recorded_as_the_account_that_passed_it() {
    let env = Env::new();
    let (child, id) = start(&env, &open_gated(), &["--auto-approve"]);
    let out = wait_child(child, 30);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let audit = env.run(&["audit", &id, "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&audit.stdout).expect("audit json");
    let approved: Vec<&serde_json::Value> = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "approved")
        .collect();
    assert_eq!(approved.len(), 1, "{rows:#}");
    assert_eq!(
        approved[0]["actor"], "root",
        "not `auto`, nor $USER: {rows:#}"
    );
}

#[test]
fn audit_verify_names_a_row_altered_with_plain_sql() {
    let env = Env::new();
    let (child, id) = start(&env, &open_gated(), &["--auto-approve"]);
    assert_eq!(wait_child(child, 30).status.code(), Some(0));
    assert_eq!(env.run(&["audit", "verify"]).status.code(), Some(0));
    let conn = rusqlite::Connection::open(env.db()).unwrap();
    let victim: i64 = conn
        .query_row(
            "SELECT id FROM audit WHERE run_id = ?1 ORDER BY id LIMIT 1 OFFSET 2",
            [&id],
            |r| r.get(0),
        )
        .unwrap();
    conn.execute("UPDATE audit SET reason = 'forged' WHERE id = ?1", [victim])
        .unwrap();
    drop(conn);
    let out = env.run(&["audit", "verify", &id]);
    assert_eq!(out.status.code(), Some(1));
    let s = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        s.contains(&victim.to_string()),
        "verify must name row {victim}: {s}"
    );
}

#[test]
fn retry_rearms_a_failed_step_and_its_skipped_dependants_only() {
    let env = Env::new();
    let wf = r#"
name = "retry-me"
[[step]]
id = "ok"
run = "echo x >> ok-count"
[[step]]
id = "flaky"
needs = ["ok"]
run = "test -f fixed"
[[step]]
id = "after"
needs = ["flaky"]
run = "touch after-ran"
[[step]]
id = "hold"
gate = { prompt = "keep the engine alive" }
"#;
    let (child, id) = start(&env, wf, &[]);
    env.wait_step(&id, "flaky", "failed", 15);
    env.wait_step(&id, "after", "upstream_failed", 15);
    std::fs::write(env.path().join("fixed"), "").unwrap();
    let (code, out) = cmd(&env, &["retry", &id, "flaky"]);
    assert_eq!(code, 0, "{out}");
    env.wait_step(&id, "after", "succeeded", 15);
    let (code, out) = cmd(&env, &["retry", &id, "ok"]);
    assert_eq!(code, 1, "a succeeded step is not re-run: {out}");
    let (code, out) = cmd(&env, &["approve", &id, "hold"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(wait_child(child, 30).status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(env.path().join("ok-count"))
            .unwrap()
            .lines()
            .count(),
        1
    );
    let show = env.show(&id);
    assert_eq!(step_field(&show, "flaky", "attempts"), 2);
}

#[test]
fn mark_sets_an_outcome_with_a_reason() {
    let env = Env::new();
    let wf = r#"
name = "mark-me"
[[step]]
id = "broken"
run = "exit 1"
[[step]]
id = "after"
needs = ["broken"]
run = "touch after-ran"
[[step]]
id = "hold"
gate = { prompt = "keep the engine alive" }
"#;
    let (child, id) = start(&env, wf, &[]);
    env.wait_step(&id, "broken", "failed", 15);
    let (code, out) = cmd(
        &env,
        &[
            "mark",
            &id,
            "broken",
            "--state",
            "succeeded",
            "--reason",
            "fixed by hand",
        ],
    );
    assert_eq!(code, 0, "{out}");
    // Marked succeeded, the step's skipped dependants re-arm and run.
    env.wait_step(&id, "after", "succeeded", 15);
    assert!(env.path().join("after-ran").exists());
    let (code, out) = cmd(&env, &["approve", &id, "hold"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(wait_child(child, 30).status.code(), Some(0));
    let show = env.show(&id);
    assert_eq!(step_field(&show, "broken", "state"), "succeeded");
    // Marking needs a real reason: a blank one is a usage error.
    let (code, _) = cmd(
        &env,
        &["mark", &id, "broken", "--state", "failed", "--reason", " "],
    );
    assert_eq!(code, 2);
    let audit = text(&env.run(&["audit", &id]).stdout);
    assert!(audit.contains("fixed by hand"), "{audit}");
}

#[test]
fn budget_stops_new_steps_until_raised() {
    let env = Env::new();
    let wf = r#"
name = "budgeted"
max_parallel = 1
budget = { cost = 2.0 }
[[step]]
id = "one"
run = 'echo cost=1.5 >> "$BATON_USAGE"'
[[step]]
id = "two"
needs = ["one"]
cost = 1.0
run = "touch two-ran"
"#;
    let (child, id) = start(&env, wf, &[]);
    env.wait_step(&id, "one", "succeeded", 15);
    // The engine's decision to stop is on record before anything else could start.
    wait_until(
        "the budget_exceeded record",
        Duration::from_secs(15),
        || {
            env.show(&id)["errors"]
                .as_array()
                .is_some_and(|e| e.iter().any(|e| e["kind"] == "budget_exceeded"))
        },
    );
    assert!(
        !env.path().join("two-ran").exists(),
        "two started beyond the budget"
    );
    let (code, out) = cmd(
        &env,
        &["approve", &id, "--raise", "cost=5", "--reason", "worth it"],
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(wait_child(child, 30).status.code(), Some(0));
    assert!(env.path().join("two-ran").exists());
    let audit = text(&env.run(&["audit", &id]).stdout);
    assert!(audit.contains("worth it"), "{audit}");
}

/// A step named `budget` is a step like any other: approving it does not reach the
/// budget gate, which has its own flag (`--raise`).
#[test]
fn a_gated_step_named_budget_is_approved_by_name() {
    let env = Env::new();
    let wf = r#"
name = "named-budget"
[[step]]
id = "budget"
run = "touch budget-ran"
gate = { prompt = "spend it?" }
"#;
    let (child, id) = start(&env, wf, &[]);
    env.wait_step(&id, "budget", "waiting_approval", 15);
    let (code, out) = cmd(&env, &["approve", &id, "budget", "--reason", "yes"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(wait_child(child, 30).status.code(), Some(0));
    assert!(env.path().join("budget-ran").exists());
    // And the budget flag needs no step.
    let (code, out) = cmd(&env, &["approve", &id, "budget", "--raise", "cost=1"]);
    assert_eq!(code, 2, "--raise takes no STEP: {out}");
}

#[test]
fn compensation_undoes_succeeded_steps_in_reverse_order() {
    let env = Env::new();
    let wf = r#"
name = "saga"
max_parallel = 1
[[step]]
id = "a"
run = "true"
compensate = "echo undo-a >> undo.log"
[[step]]
id = "b"
needs = ["a"]
run = "true"
compensate = "echo undo-b >> undo.log; exit 1"
[[step]]
id = "c"
needs = ["b"]
run = "true"
compensate = "echo undo-c >> undo.log"
[[step]]
id = "d"
needs = ["c"]
run = "exit 1"
"#;
    let (child, id) = start(&env, wf, &[]);
    let out = wait_child(child, 30);
    assert_eq!(out.status.code(), Some(1));
    let undo = std::fs::read_to_string(env.path().join("undo.log")).unwrap();
    assert_eq!(
        undo.lines().collect::<Vec<_>>(),
        ["undo-c", "undo-b", "undo-a"]
    );
    let show = env.show(&id);
    assert_eq!(step_field(&show, "a", "state"), "compensated");
    assert_eq!(step_field(&show, "b", "state"), "compensation_failed");
    assert_eq!(step_field(&show, "c", "state"), "compensated");
    let e = show["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "compensation_failed")
        .expect("record")
        .clone();
    assert_eq!(e["severity"], "critical");
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("undone: a, c") && stdout.contains("not undone (compensation failed): b"),
        "summary says what was undone and what was not: {stdout}"
    );
}

//! Issue 57 point 2: a step with `workflow = "child.toml"` runs that file as a child
//! run on the same store, linked both ways on record; its result is the step's, its
//! gates are on the desk naming the parent, and a cancel of the parent cancels it.
use super::child_crash::runs_of;
use crate::helpers::*;
use serde_json::Value;
use std::time::Duration;

const PARENT: &str = r#"
name = "parent"
[params]
env = { default = "dev" }
[[step]]
id = "pre"
run = "echo pre >> marks"
[[step]]
id = "sub"
needs = ["pre"]
workflow = "child.toml"
params = { target = "${{ params.env }}" }
[[step]]
id = "post"
needs = ["sub"]
run = "echo \"post $CHILD\" >> marks"
env = { CHILD = "${{ steps.sub.outputs.child_run }}" }
"#;

fn child(steps: &str) -> String {
    format!("name = \"child\"\n[params]\ntarget = {{ required = true }}\n{steps}")
}

/// The one run of workflow `name` in the store.
fn only_run_of(env: &Env, name: &str) -> String {
    let runs = env.runs();
    let ids: Vec<&str> = runs
        .as_array()
        .expect("runs --json is an array")
        .iter()
        .filter(|r| r["workflow"] == name)
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert_eq!(ids.len(), 1, "one run of {name}: {runs:#}");
    ids[0].to_string()
}

fn marks(env: &Env) -> Vec<String> {
    std::fs::read_to_string(env.path().join("marks"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn a_child_that_succeeds_is_the_steps_success_and_both_ends_name_each_other() {
    let env = Env::new();
    env.workflow(
        "child.toml",
        &child("[[step]]\nid = \"a\"\nrun = 'echo \"a $BATON_PARAM_TARGET\" >> marks'\n"),
    );
    let wf = env.workflow("parent.toml", PARENT);
    let out = env.run(&[
        "run",
        wf.to_str().unwrap(),
        "--headless",
        "--param",
        "env=prod",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let (parent, kid) = (only_run_of(&env, "parent"), only_run_of(&env, "child"));
    // The param reached the child; the child's id reached the parent's next step.
    assert_eq!(
        marks(&env),
        vec!["pre".to_string(), "a prod".into(), format!("post {kid}")]
    );
    let p = env.show(&parent);
    assert_eq!(step_field(&p, "sub", "child_run"), Value::from(kid.clone()));
    assert_eq!(step_state(&p, "sub").as_deref(), Some("succeeded"));
    let c = env.show(&kid);
    assert_eq!(c["parent"]["run"], Value::from(parent.clone()));
    assert_eq!(c["parent"]["step"], "sub");
    assert_eq!(c["parent"]["attempt"], 1);
    assert_eq!(c["state"], "succeeded");
    let shown = text(&env.run(&["show", &parent]).stdout);
    assert!(
        shown.contains(&format!("step sub runs child run {kid}")),
        "{shown}"
    );
    let shown = text(&env.run(&["show", &kid]).stdout);
    assert!(
        shown.contains(&format!("child of run {parent} step sub (attempt 1)")),
        "{shown}"
    );
}

#[test]
fn a_child_that_fails_fails_its_step_with_a_record_naming_the_child_and_its_step() {
    let env = Env::new();
    env.workflow(
        "child.toml",
        &child("[[step]]\nid = \"a\"\nrun = \"true\"\n[[step]]\nid = \"boom\"\nneeds = [\"a\"]\nrun = \"exit 3\"\n"),
    );
    let wf = env.workflow("parent.toml", PARENT);
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let (parent, kid) = (only_run_of(&env, "parent"), only_run_of(&env, "child"));
    let p = env.show(&parent);
    assert_eq!(step_state(&p, "sub").as_deref(), Some("failed"));
    assert_eq!(step_state(&p, "post").as_deref(), Some("upstream_failed"));
    let record = p["errors"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["step"] == "sub"))
        .cloned()
        .unwrap_or_else(|| panic!("no error record of sub: {p:#}"));
    let said = format!("child run {kid} failed: step boom failed");
    let message = record["message"].as_str().unwrap_or_default();
    assert!(message.starts_with(&said), "{record:#}");
    assert!(
        message.ends_with("the step exited with code 1"),
        "{record:#}"
    );
    let shown = text(&env.run(&["show", &parent]).stdout);
    assert!(shown.contains(&said), "{shown}");
    assert_eq!(env.show(&kid)["state"], "failed");
}

#[test]
fn a_childs_gate_is_on_the_desk_naming_the_parent_and_is_approved_as_any_gate() {
    let env = Env::new();
    env.workflow(
        "child.toml",
        &child("[[step]]\nid = \"ship\"\nrun = \"echo ship >> marks\"\ngate = { prompt = \"ship it?\" }\n"),
    );
    let wf = env.workflow("parent.toml", PARENT);
    let engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let kid = wait_until("the child run", secs(20), || runs_of(&env, "child").pop());
    env.wait_step(&kid, "ship", "waiting_approval", 20);
    let parent = only_run_of(&env, "parent");
    let out = env.run(&["inbox", "--json"]);
    let items: Value = serde_json::from_slice(&out.stdout).expect("inbox --json is JSON");
    let item = items
        .as_array()
        .and_then(|a| a.iter().find(|i| i["run_id"] == kid.as_str()))
        .cloned()
        .unwrap_or_else(|| panic!("the child's gate is not in the inbox: {items:#}"));
    assert_eq!(item["step"], "ship");
    assert_eq!(item["parent"]["run"], Value::from(parent.clone()));
    assert_eq!(item["parent"]["step"], "sub");
    let listed = text(&env.run(&["inbox"]).stdout);
    assert!(listed.contains("child of"), "{listed}");
    assert!(
        listed.contains(&format!("child run of run {parent} step sub")),
        "{listed}"
    );
    ok(&env.run(&["approve", &kid, "ship", "--reason", "looks right"]));
    let done = wait_child(engine, 30);
    assert_eq!(done.status.code(), Some(0), "{}", text(&done.stderr));
    assert_eq!(
        marks(&env),
        vec!["pre".to_string(), "ship".into(), format!("post {kid}")]
    );
}

#[test]
fn cancelling_the_parent_cancels_its_child() {
    let env = Env::new();
    env.workflow(
        "child.toml",
        &child("[[step]]\nid = \"long\"\nrun = \"echo long >> marks; sleep 60\"\n"),
    );
    let wf = env.workflow("parent.toml", PARENT);
    let engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let kid = wait_until("the child run", secs(20), || runs_of(&env, "child").pop());
    env.wait_step(&kid, "long", "running", 20);
    let parent = only_run_of(&env, "parent");
    ok(&env.run(&["cancel", &parent, "--reason", "not today"]));
    let done = wait_child(engine, 30);
    assert_ne!(done.status.code(), Some(0), "{}", text(&done.stderr));
    assert_eq!(env.show(&parent)["state"], "cancelled");
    wait_until("the child cancelled", Duration::from_secs(20), || {
        let c = env.show(&kid);
        if c["state"] == "cancelled" {
            Ok(())
        } else {
            Err(format!("{c:#}"))
        }
    });
    assert_eq!(marks(&env), vec!["pre".to_string(), "long".into()]);
}

#[test]
fn retrying_a_step_whose_child_failed_runs_the_childs_failed_steps_again() {
    let env = Env::new();
    env.workflow(
        "child.toml",
        &child("[[step]]\nid = \"a\"\nrun = \"echo a >> marks\"\n[[step]]\nid = \"b\"\nneeds = [\"a\"]\nrun = \"test -f ready && echo b >> marks\"\n"),
    );
    let wf = env.workflow("parent.toml", PARENT);
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let (parent, kid) = (only_run_of(&env, "parent"), only_run_of(&env, "child"));
    assert_eq!(env.show(&kid)["state"], "failed");
    std::fs::write(env.path().join("ready"), "").expect("write ready");
    let out = env.run(&["retry", &parent, "sub"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    wait_until("the parent to succeed", secs(30), || {
        env.show(&parent)["state"] == "succeeded"
    });
    // The same child, its failed step run again and its succeeded one kept.
    assert_eq!(runs_of(&env, "child"), vec![kid.clone()]);
    let c = env.show(&kid);
    assert_eq!(c["state"], "succeeded");
    assert_eq!(step_field(&c, "a", "attempts"), 1);
    assert_eq!(step_field(&c, "b", "attempts"), 2);
    assert_eq!(step_field(&env.show(&parent), "sub", "attempts"), 2);
    assert_eq!(
        marks(&env),
        vec![
            "pre".to_string(),
            "a".into(),
            "b".into(),
            format!("post {kid}")
        ]
    );
}

#[test]
fn a_parent_that_is_no_run_of_the_store_makes_no_child() {
    let env = Env::new();
    let first = env.finished_run();
    let wf = env.workflow(
        "child.toml",
        &child("[[step]]\nid = \"a\"\nrun = \"echo a >> marks\"\n"),
    );
    let out = env.run(&[
        "run",
        wf.to_str().unwrap(),
        "--headless",
        "--param",
        "target=x",
        "--parent",
        "01nosuchrun/deploy",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("01nosuchrun"),
        "{}",
        text(&out.stderr)
    );
    assert!(runs_of(&env, "child").is_empty());
    assert!(marks(&env).is_empty());
    let out = env.run(&[
        "run",
        wf.to_str().unwrap(),
        "--headless",
        "--parent",
        "nostep",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("expected RUN/STEP"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(runs_of(&env, "one"), vec![first]);
}

/// `run --auto-approve` reaches the child (its gates without approvers are approved as
/// the parent's are), and examples/ship.toml runs its child so.
#[test]
fn auto_approve_reaches_the_child() {
    let env = Env::new();
    let example = |f: &str| {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(f);
        std::fs::copy(&p, env.path().join(f)).expect("copy the example");
    };
    example("ship.toml");
    example("ship-deploy.toml");
    let wf = env.path().join("ship.toml");
    let out = env.run(&[
        "run",
        wf.to_str().unwrap(),
        "--headless",
        "--param",
        "env=staging",
        "--auto-approve",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let kid = only_run_of(&env, "ship-deploy");
    let c = env.show(&kid);
    assert_eq!(c["state"], "succeeded");
    assert_eq!(step_state(&c, "rollout").as_deref(), Some("succeeded"));
    let rollout = text(&env.run(&["logs", &kid, "rollout"]).stdout);
    assert!(
        rollout.contains("rolling out 1.4.2 to staging"),
        "{rollout}"
    );
}

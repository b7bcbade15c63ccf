//! Issue 10 point 6, reduced by issue 23: one read model. Every per-run reader (the
//! console, `show`, `logs`) reads the run through `session::inspect`; what still reads
//! it another way is the store's projection behind `baton runs` (and metrics) and the
//! audit rows. Realistic runs go through the real binary (retries, gates approved,
//! rejected and timed out, a budget raised, a saga, a cancel, a resume after a kill);
//! then `runs` must score them as the console's view does, and the console's Audit tab
//! must name every decision as `baton audit --json` does.
use crate::helpers::*;
use baton::model::{RunView, Timestamp};
use baton::store::Store;
use serde_json::Value;
use std::process::Child;
use std::time::Duration;

fn start(env: &Env, wf: &str) -> (Child, String) {
    let path = env.workflow("w.toml", wf);
    let child = env.spawn(&["run", path.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    (child, id)
}

fn ok(env: &Env, args: &[&str]) {
    let out = env.run(args);
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// Wait (bounded) until `show --json` satisfies `cond`.
fn wait_show(env: &Env, id: &str, what: &str, cond: impl Fn(&Value) -> bool) {
    wait_until(what, Duration::from_secs(20), || {
        let v = env.show(id);
        if cond(&v) {
            Ok(())
        } else {
            Err(format!("{v:#}"))
        }
    });
}

/// The console's view of a run it follows: what `baton tui` shows (the session's
/// `Follow`: the events replayed into a core, the state as every reader says it).
fn console_view(store: &Store, id: &str, now: Timestamp) -> RunView {
    let mut follow = baton::session::Follow::default();
    follow.open(store, id);
    follow.view_at(store, now).expect("the run replays")
}

/// What still reads a run apart from its replayed core agrees with it: the store's
/// projection behind `baton runs` (health, steps done) and `baton audit`'s rows.
/// (`show`, `show --json` and the console all read the run through
/// `session::inspect`, so they cannot disagree; `show --json` is checked here only as
/// the binary prints it.)
fn assert_readers_agree(env: &Env, id: &str) {
    let store = Store::open_read_only(&env.db()).unwrap();
    let now = Timestamp::now();
    let view = console_view(&store, id, now);
    let show = env.show(id);
    let shown: Vec<(String, String, u64)> = show["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                r["state"].as_str().unwrap().to_string(),
                r["attempts"].as_u64().unwrap(),
            )
        })
        .collect();
    let viewed: Vec<(String, String, u64)> = view
        .steps
        .iter()
        .map(|s| (s.id.clone(), s.state.to_string(), u64::from(s.attempts)))
        .collect();
    assert_eq!(shown, viewed, "steps of run {id}");
    assert_eq!(show["health"].as_f64(), Some(view.health.score), "health");
    assert_eq!(show["state"], view.state.as_str(), "run state");
    // `baton runs` scores the run from the projection, with the same function.
    let listed = store.list_runs().unwrap();
    let listed = listed.iter().find(|r| r.id == id).unwrap();
    assert_eq!(listed.health, Some(view.health.score), "runs health");
    assert_eq!(listed.state, view.state, "runs state");
    let done = view.steps.iter().filter(|s| s.state.is_final()).count();
    assert_eq!(listed.steps_done, done, "steps done");
    assert_eq!(listed.steps_total, viewed.len(), "steps listed");
    // The Audit tab names each decision as `baton audit` does.
    let out = env.run(&["audit", id, "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let cli: Vec<(String, String, Option<String>, Option<String>)> = rows
        .iter()
        .map(|r| {
            (
                r["action"].as_str().unwrap().to_string(),
                r["actor"].as_str().unwrap().to_string(),
                r["step"].as_str().map(str::to_string),
                r["reason"].as_str().map(str::to_string),
            )
        })
        .collect();
    let tab: Vec<(String, String, Option<String>, Option<String>)> = view
        .audit
        .iter()
        .map(|a| {
            (
                a.action.to_string(),
                a.actor.clone(),
                a.step.clone(),
                a.reason.clone(),
            )
        })
        .collect();
    assert_eq!(tab, cli, "audit of run {id}");
}

fn attempts_of(show: &Value, step: &str) -> u64 {
    step_field(show, step, "attempts").as_u64().unwrap_or(0)
}

#[test]
fn retries_automatic_and_by_an_operator() {
    let env = Env::new();
    let wf = r#"
name = "retries"
[[step]]
id = "flaky"
run = 'echo x >> tries; [ "$(wc -l < tries)" -ge 2 ]'
retry = { attempts = 3, delay = "100ms" }
[[step]]
id = "broken"
run = "test -f fixed"
[[step]]
id = "after"
needs = ["broken"]
run = "true"
[[step]]
id = "hold"
gate = { prompt = "keep the engine alive" }
"#;
    let (child, id) = start(&env, wf);
    wait_show(&env, &id, "settled", |v| {
        step_state(v, "flaky").as_deref() == Some("succeeded")
            && step_state(v, "after").as_deref() == Some("upstream_failed")
    });
    assert_readers_agree(&env, &id);
    // A retry that fails again: the first failure's record is closed by the retry.
    ok(&env, &["retry", &id, "broken"]);
    wait_show(&env, &id, "failed twice", |v| {
        attempts_of(v, "broken") == 2 && step_state(v, "broken").as_deref() == Some("failed")
    });
    assert_readers_agree(&env, &id);
    std::fs::write(env.path().join("fixed"), "").unwrap();
    ok(&env, &["retry", &id, "broken"]);
    env.wait_step(&id, "after", "succeeded", 20);
    ok(&env, &["approve", &id, "hold"]);
    assert_eq!(wait_child(child, 30).status.code(), Some(0));
    assert_readers_agree(&env, &id);
}

#[test]
fn gates_approved_rejected_and_timed_out() {
    let env = Env::new();
    env.share_with_nobody();
    let wf = r#"
name = "gates"
[[step]]
id = "build"
run = 'echo version=2.0.1 >> "$BATON_OUTPUT"'
[[step]]
id = "deploy"
needs = ["build"]
run = "true"
gate = { prompt = "Ship?", approvers = ["root", "nobody"], quorum = 2 }
[[step]]
id = "migrate"
needs = ["build"]
run = "true"
gate = { prompt = "Migrate?" }
[[step]]
id = "notify"
needs = ["build"]
run = "true"
gate = { prompt = "Tell?", timeout = "1s", on_timeout = "reject" }
"#;
    let (child, id) = start(&env, wf);
    env.wait_step(&id, "deploy", "waiting_approval", 20);
    env.wait_step(&id, "migrate", "waiting_approval", 20);
    // A vote, one refused (the same account again), then the second account's vote.
    ok(&env, &["approve", &id, "deploy"]);
    let out = env.run(&["approve", &id, "deploy"]);
    assert_eq!(out.status.code(), Some(1));
    let out = env.run_as_nobody(&["approve", &id, "deploy"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    ok(&env, &["reject", &id, "migrate", "--reason", "not today"]);
    env.wait_step(&id, "notify", "rejected", 20);
    assert_eq!(wait_child(child, 30).status.code(), Some(1));
    assert_readers_agree(&env, &id);
}

#[test]
fn budget_raised_then_a_saga() {
    let env = Env::new();
    let wf = r#"
name = "budget-saga"
max_parallel = 1
budget = { cost = 2.0 }
[[step]]
id = "one"
run = 'echo cost=1.5 >> "$BATON_USAGE"'
compensate = "true"
[[step]]
id = "two"
needs = ["one"]
cost = 1.0
run = "true"
compensate = "exit 3"
[[step]]
id = "three"
needs = ["two"]
run = "exit 1"
"#;
    let (child, id) = start(&env, wf);
    env.wait_step(&id, "one", "succeeded", 20);
    wait_show(&env, &id, "waiting at the budget", |v| {
        v["state"] == "waiting"
    });
    assert_readers_agree(&env, &id);
    ok(
        &env,
        &["approve", &id, "--raise", "cost=5", "--reason", "worth it"],
    );
    assert_eq!(wait_child(child, 30).status.code(), Some(1));
    let show = env.show(&id);
    assert_eq!(step_field(&show, "one", "state"), "compensated");
    assert_eq!(step_field(&show, "two", "state"), "compensation_failed");
    assert_readers_agree(&env, &id);
}

#[test]
fn cancel_kills_a_running_step() {
    let env = Env::new();
    let wf = r#"
name = "cancel-me"
[[step]]
id = "quick"
run = "true"
[[step]]
id = "slow"
needs = ["quick"]
run = "sleep 30"
[[step]]
id = "later"
needs = ["slow"]
run = "true"
"#;
    let (child, id) = start(&env, wf);
    env.wait_step(&id, "slow", "running", 20);
    ok(&env, &["cancel", &id]);
    assert_eq!(wait_child(child, 30).status.code(), Some(1));
    assert_readers_agree(&env, &id);
}

#[test]
fn resume_after_the_engine_was_killed() {
    let env = Env::new();
    let wf = r#"
name = "resume-me"
[[step]]
id = "first"
run = "true"
[[step]]
id = "long"
needs = ["first"]
run = 'if [ -f marker ]; then exit 0; fi; touch marker; exec sleep 30'
[[step]]
id = "last"
needs = ["long"]
run = "true"
"#;
    let (mut child, id) = start(&env, wf);
    env.wait_step(&id, "long", "running", 20);
    child.kill().unwrap();
    child.wait().unwrap();
    // The dead engine's run, as both readers see it (a running step runs to `now`).
    assert_readers_agree(&env, &id);
    let resumed = env.spawn(&["resume", &id, "--headless"]);
    assert_eq!(wait_child(resumed, 40).status.code(), Some(0));
    let show = env.show(&id);
    assert_eq!(step_field(&show, "long", "attempts"), 2);
    assert_readers_agree(&env, &id);
}

//! Issue 43 point 4: `baton fork RUN --from STEP`. A new run of a finished run's
//! recorded workflow in which STEP and every step after it run again (succeeded ones
//! too) and every other step keeps the old run's recorded outcome and outputs without
//! running: counter files prove which steps ran; both runs name each other; a gate
//! after STEP asks again; a kill -9 of the fork's engine and a resume run nothing
//! reused and nothing twice.
use crate::helpers::*;
use serde_json::Value;
use std::path::Path;

/// `a` → `b` → `c`, and `d` beside them. Each step appends a line to its counter
/// file; `a` writes an output `c` reads, `b` reads the param `tag`.
const DIAMOND: &str = r#"
name = "forky"
[params.tag]
type = "string"
default = "one"
[[step]]
id = "a"
run = 'echo run >> count_a; echo "v=from-a-$(wc -l < count_a | tr -d " ")" >> "$BATON_OUTPUT"'
[[step]]
id = "b"
needs = ["a"]
env = { TAG = "${{ params.tag }}" }
run = 'echo run >> count_b; echo "tag=$TAG" >> "$BATON_OUTPUT"'
[[step]]
id = "c"
needs = ["b"]
env = { V = "${{ steps.a.outputs.v }}", TAG = "${{ steps.b.outputs.tag }}" }
run = 'echo "$V $TAG" >> count_c'
[[step]]
id = "d"
run = 'echo run >> count_d'
"#;

fn count(dir: &Path, name: &str) -> usize {
    std::fs::read_to_string(dir.join(name))
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

fn lines(dir: &Path, name: &str) -> Vec<String> {
    std::fs::read_to_string(dir.join(name))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// A finished run of `DIAMOND`: the env and the run's id.
fn finished_diamond() -> (Env, String) {
    let env = Env::new();
    let wf = env.workflow("forky.toml", DIAMOND);
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let run = run_id_of(&text(&out.stdout));
    (env, run)
}

/// The newest run that is not `old` (the fork).
fn fork_id(env: &Env, old: &str) -> String {
    let runs = env.runs();
    runs.as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["id"].as_str())
        .find(|id| *id != old)
        .expect("a fork run")
        .to_string()
}

#[test]
fn a_fork_from_the_middle_reruns_the_step_and_what_follows_and_reuses_the_rest() {
    let (env, old) = finished_diamond();
    let dir = env.path();
    assert_eq!(
        [
            count(dir, "count_a"),
            count(dir, "count_b"),
            count(dir, "count_d")
        ],
        [1, 1, 1]
    );
    let out = env.run(&["fork", &old, "--from", "b", "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // `b` succeeded in the old run and ran again; `a` and `d` did not.
    assert_eq!(count(dir, "count_a"), 1, "a is upstream of b: reused");
    assert_eq!(count(dir, "count_d"), 1, "d does not depend on b: reused");
    assert_eq!(count(dir, "count_b"), 2, "b runs again");
    // `c` read `a`'s reused output.
    assert_eq!(lines(dir, "count_c"), ["from-a-1 one", "from-a-1 one"]);
    let new = fork_id(&env, &old);
    let show = env.show(&new);
    assert_eq!(show["state"], "succeeded");
    for (id, reused) in [("a", true), ("b", false), ("c", false), ("d", true)] {
        let s = step(&show, id);
        assert_eq!(s["state"], "succeeded", "{id}");
        let want = if reused {
            Value::from(old.as_str())
        } else {
            Value::Null
        };
        assert_eq!(s["reused_from"], want, "{id}");
    }
    assert_eq!(step_field(&show, "a", "outputs")["v"], "from-a-1");
    assert_eq!(step_field(&show, "a", "attempts"), 0);
    // The reused outcome is on record in the fork's own history, with where it came from.
    let events = env.run(&["events", &new, "--json"]);
    let events = text(&events.stdout);
    let reused: Vec<Value> = events
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["type"] == "step_reused")
        .collect();
    let ids: Vec<&str> = reused.iter().filter_map(|e| e["step"].as_str()).collect();
    assert_eq!(ids, ["a", "d"], "{events}");
    assert_eq!(reused[0]["from_run"], old.as_str());
    assert_eq!(reused[0]["from_attempt"], 1);
    assert_eq!(reused[0]["outputs"]["v"], "from-a-1");
}

#[test]
fn a_fork_takes_params_over_the_old_runs_and_refuses_unknown_ones() {
    let (env, old) = finished_diamond();
    let dir = env.path();
    let out = env.run(&[
        "fork",
        &old,
        "--from",
        "c",
        "--param",
        "tag=two",
        "--headless",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // `b` was reused with its recorded output (`tag=one`); the param is the fork's.
    assert_eq!(count(dir, "count_b"), 1);
    assert_eq!(lines(dir, "count_c"), ["from-a-1 one", "from-a-1 one"]);
    let new = fork_id(&env, &old);
    let out = env.run(&[
        "fork",
        &new,
        "--from",
        "b",
        "--param",
        "tag=three",
        "--headless",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(count(dir, "count_b"), 2);
    assert_eq!(lines(dir, "count_c").last().unwrap(), "from-a-1 three");
    let bad = env.run(&[
        "fork",
        &old,
        "--from",
        "b",
        "--param",
        "nope=1",
        "--dry-run",
    ]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad.stderr));
    assert!(text(&bad.stderr).contains("nope"), "{}", text(&bad.stderr));
}

#[test]
fn a_dry_run_lists_what_reruns_and_what_is_reused_and_writes_nothing() {
    let (env, old) = finished_diamond();
    let out = env.run(&["fork", &old, "--from", "b", "--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(said.contains("runs again: b, c\n"), "{said}");
    assert!(said.contains("  a succeeded (attempt 1)\n"), "{said}");
    assert!(said.contains("  d succeeded (attempt 1)\n"), "{said}");
    let out = env.run(&["fork", &old, "--from", "b", "--dry-run", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(doc["from_run"], old.as_str());
    assert_eq!(doc["from_step"], "b");
    assert_eq!(doc["rerun"], serde_json::json!(["b", "c"]));
    let reused: Vec<&str> = doc["reused"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["step"].as_str())
        .collect();
    assert_eq!(reused, ["a", "d"]);
    assert_eq!(doc["reused"][0]["outputs"]["v"], "from-a-1");
    assert_eq!(
        env.runs().as_array().unwrap().len(),
        1,
        "a dry run writes no run"
    );
    assert_eq!(count(env.path(), "count_b"), 1);
}

#[test]
fn the_fork_and_its_origin_name_each_other() {
    let (env, old) = finished_diamond();
    let out = env.run(&["fork", &old, "--from", "b", "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let new = fork_id(&env, &old);
    let show = env.show(&new);
    assert_eq!(show["forked_from"]["run"], old.as_str());
    assert_eq!(show["forked_from"]["step"], "b");
    let origin = env.show(&old);
    assert_eq!(origin["forked_into"][0]["run"], new.as_str());
    assert_eq!(origin["forked_into"][0]["step"], "b");
    let t = text(&env.run(&["show", &new]).stdout);
    assert!(t.contains(&format!("forked from run {old} at b")), "{t}");
    assert!(
        t.contains(&format!("a succeeded: reused from run {old}")),
        "{t}"
    );
    let t = text(&env.run(&["show", &old]).stdout);
    assert!(t.contains(&format!("forked into run {new} at b")), "{t}");
}

#[test]
fn a_gate_after_the_step_asks_again() {
    let env = Env::new();
    let wf = env.workflow(
        "gated.toml",
        r#"
name = "gated"
[[step]]
id = "build"
run = 'echo run >> count_build'
[[step]]
id = "deploy"
needs = ["build"]
run = 'echo run >> count_deploy'
gate = { prompt = "ship?" }
"#,
    );
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let old = run_id_of(&text(&out.stdout));
    let mut child = env.spawn(&["fork", &old, "--from", "build", "--headless"]);
    let new = wait_until("the fork", secs(10), || {
        let runs = env.runs();
        runs.as_array()?
            .iter()
            .filter_map(|r| r["id"].as_str())
            .find(|id| *id != old)
            .map(str::to_string)
    });
    env.wait_step(&new, "deploy", "waiting_approval", 20);
    assert_eq!(count(env.path(), "count_build"), 2);
    assert_eq!(
        count(env.path(), "count_deploy"),
        1,
        "not before its approval"
    );
    let out = env.run(&["approve", &new, "deploy", "--reason", "again"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let _ = wait_child_ok(&mut child);
    assert_eq!(count(env.path(), "count_deploy"), 2);
    assert_eq!(env.show(&new)["state"], "succeeded");
}

fn wait_child_ok(child: &mut std::process::Child) -> std::process::ExitStatus {
    wait_until("the engine to end", secs(30), || {
        child.try_wait().ok().flatten()
    })
}

#[test]
fn refusals_are_typed_and_exit_2() {
    let env = Env::new();
    let wf = env.workflow(
        "fails.toml",
        r#"
name = "fails"
[[step]]
id = "a"
run = 'exit 3'
[[step]]
id = "b"
needs = ["a"]
run = 'true'
[[step]]
id = "slow"
run = 'while [ ! -e go ] && [ -e $PWD ]; do sleep 0.05; done'
"#,
    );
    let mut child = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let run = env.wait_run_id();
    env.wait_step(&run, "slow", "running", 20);
    // A run still running is not forked (only finished runs, as GitHub's re-run).
    let out = env.run(&["fork", &run, "--from", "a", "--dry-run"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("only a finished run"),
        "{}",
        text(&out.stderr)
    );
    std::fs::write(env.path().join("go"), "").unwrap();
    let _ = wait_child_ok(&mut child);
    let out = env.run(&["fork", &run, "--from", "nope", "--dry-run"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no step named `nope`"),
        "{}",
        text(&out.stderr)
    );
    // `b`'s upstream `a` failed: `b` would never run in the fork.
    let out = env.run(&["fork", &run, "--from", "b", "--dry-run", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("`a`") && err.contains("failed"), "{err}");
    let out = env.run(&["fork", "01nosuchrun", "--from", "a", "--dry-run"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    // Forking from the failed step itself reruns it.
    let out = env.run(&["fork", &run, "--from", "a", "--dry-run", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["rerun"], serde_json::json!(["a", "b"]));
    assert_eq!(doc["reused"][0]["step"], "slow");
}

#[test]
fn kill_dash_nine_of_the_forks_engine_then_resume_runs_nothing_reused_and_nothing_twice() {
    let env = Env::new();
    let wf = env.workflow(
        "slow.toml",
        r#"
name = "slow"
[[step]]
id = "a"
run = 'echo run >> count_a'
[[step]]
id = "b"
needs = ["a"]
run = 'echo run >> count_b'
[[step]]
id = "c"
needs = ["b"]
run = 'echo start >> count_c; while [ ! -e go ] && [ -e $PWD ]; do sleep 0.05; done; echo end >> ends_c'
"#,
    );
    std::fs::write(env.path().join("go"), "").unwrap();
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let old = run_id_of(&text(&out.stdout));
    std::fs::remove_file(env.path().join("go")).unwrap();
    let mut child = env.spawn(&["fork", &old, "--from", "b", "--headless"]);
    let new = wait_until("the fork", secs(10), || {
        let runs = env.runs();
        runs.as_array()?
            .iter()
            .filter_map(|r| r["id"].as_str())
            .find(|id| *id != old)
            .map(str::to_string)
    });
    env.wait_step(&new, "c", "running", 20);
    child.kill().unwrap(); // SIGKILL: the engine dies mid-run
    let _ = child.wait();
    // The resume stops what the dead engine left running, then runs `c` again.
    let mut resumed = env.spawn(&["resume", &new, "--headless"]);
    wait_until("c's second attempt", secs(20), || {
        let show = env.show(&new);
        let c = step(&show, "c");
        (c["state"] == "running" && c["attempts"] == 2).then_some(())
    });
    std::fs::write(env.path().join("go"), "").unwrap();
    assert!(wait_child_ok(&mut resumed).success());
    let show = env.show(&new);
    assert_eq!(show["state"], "succeeded", "{show:#}");
    assert_eq!(
        count(env.path(), "count_a"),
        1,
        "a is reused: it never runs"
    );
    assert_eq!(count(env.path(), "count_b"), 2, "b ran once in each run");
    // `c` was killed with the engine and ran again on resume (idempotent): it started
    // twice in the fork and ended once in each run.
    assert_eq!(count(env.path(), "count_c"), 3);
    assert_eq!(count(env.path(), "ends_c"), 2);
    assert_eq!(step(&show, "a")["reused_from"], old.as_str());
    assert_eq!(show["forked_from"]["run"], old.as_str());
}

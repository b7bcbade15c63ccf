//! Issue 29: `runs --json` reports each run's golden signals from the runs' rows, kept
//! by the projection as the runs went on, never by replaying a run: they are the
//! replayed runs' (`show`), for runs that succeeded after a retry, failed, passed a
//! gate, wait at one, fanned out, were cancelled or interrupted.
use crate::helpers::*;
use baton::model::{RunState, Timestamp};
use baton::store::Store;

const PLAIN: &str = r#"
name = "plain"
[[step]]
id = "a"
run = "true"
[[step]]
id = "b"
needs = ["a"]
run = 'if [ ! -e b.try ]; then touch b.try; exit 1; fi'
retry = { attempts = 2, delay = "10ms" }
[[step]]
id = "c"
needs = ["a"]
run = "sleep 0.05"
"#;

const FAILED: &str = r#"
name = "failed"
[[step]]
id = "upload"
run = 'echo refused >&2; exit 3'
[[step]]
id = "prune"
needs = ["upload"]
run = "true"
"#;

const GATED: &str = r#"
name = "gated"
[[step]]
id = "build"
run = "true"
[[step]]
id = "deploy"
needs = ["build"]
run = "true"
gate = { prompt = "Deploy?" }
"#;

const FANNED: &str = r#"
name = "fanned"
[[step]]
id = "test"
matrix = { py = ["3.11", "3.12", "3.13"] }
env = { PY = "${{ matrix.py }}" }
run = 'test "$PY" != 3.12'
"#;

const LONG: &str = r#"
name = "long"
[[step]]
id = "first"
run = "true"
[[step]]
id = "wait"
needs = ["first"]
run = "sleep 60"
"#;

#[test]
fn runs_json_reports_the_signals_the_replayed_runs_give() {
    let env = Env::new();
    let run = |name: &str, workflow: &str, extra: &[&str], code: i32| {
        let wf = env.workflow(name, workflow);
        let mut args = vec!["run", wf.to_str().unwrap(), "--headless"];
        args.extend_from_slice(extra);
        let out = env.run(&args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{name}: {}",
            text(&out.stderr)
        );
    };
    run("plain.toml", PLAIN, &[], 0);
    run("failed.toml", FAILED, &[], 1);
    run("gated.toml", GATED, &["--auto-approve"], 0);
    run("fanned.toml", FANNED, &[], 1);
    // A run started in the background, once `step` is in `state`: its engine and id.
    let start = |wf: &std::path::Path, step: &str, state: &str| {
        let ids = || -> Vec<String> {
            env.runs()
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| r["id"].as_str().map(str::to_string))
                .collect()
        };
        let before = ids();
        let engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
        let id = wait_until("the new run to appear", secs(10), || {
            ids().into_iter().find(|id| !before.contains(id))
        });
        env.wait_step(&id, step, state, 20);
        (engine, id)
    };
    // Cancelled while a step runs.
    let long = env.workflow("long.toml", LONG);
    let (engine, cancelled) = start(&long, "wait", "running");
    let out = env.run(&["cancel", &cancelled]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    wait_child(engine, 30);
    // Interrupted: its engine killed while a step runs.
    let (mut engine, interrupted) = start(&long, "wait", "running");
    engine.kill().expect("kill -9 the engine");
    let _ = engine.wait();
    wait_until("the run to read interrupted", secs(30), || {
        env.runs()
            .as_array()
            .into_iter()
            .flatten()
            .any(|r| r["id"] == interrupted.as_str() && r["state"] == "interrupted")
    });
    // Waiting at a gate, its engine alive: a run that goes on.
    let gated = env.workflow("gated.toml", GATED);
    let (mut waiting, _) = start(&gated, "deploy", "waiting_approval");

    let store = Store::open_existing(&env.db()).expect("open the store");
    let runs = store.list_runs().expect("list runs");
    let states: Vec<RunState> = runs.iter().map(|r| r.state).collect();
    for s in [
        RunState::Succeeded,
        RunState::Failed,
        RunState::Cancelled,
        RunState::Interrupted,
        RunState::Waiting,
    ] {
        assert!(states.contains(&s), "{s} among {states:?}");
    }
    let now = Timestamp::now();
    let kept = store
        .run_signals(&runs, now)
        .expect("signals from the rows");
    for (r, got) in runs.iter().zip(kept) {
        let replayed = baton::session::inspect(&store, &r.id, now)
            .expect("replay")
            .signals;
        assert_eq!(
            got,
            Some(replayed),
            "run {} ({}, {})",
            r.id,
            r.workflow,
            r.state
        );
    }
    let failed = runs.iter().position(|r| r.workflow == "failed").unwrap();
    let plain = runs.iter().position(|r| r.workflow == "plain").unwrap();
    let listed = env.runs();
    let signals = |i: usize| &listed[i]["signals"];
    assert_eq!(signals(failed)["error_rate"], 1.0, "{listed:#}");
    assert_eq!(signals(plain)["error_rate"], 0.25, "{listed:#}");
    assert!(signals(plain)["p95_ms"].as_u64().is_some(), "{listed:#}");
    // What the command prints: a finished run's (its rate no longer moves) is `show`'s.
    for r in listed.as_array().expect("an array") {
        if r["finished_at"].is_null() {
            continue;
        }
        let id = r["id"].as_str().expect("an id");
        assert_eq!(r["signals"], env.show(id)["signals"], "run {id}");
    }
    let _ = waiting.kill();
    let _ = waiting.wait();
}

//! Found by the chaos campaign (seed 77, tests/it/chaos/hands.rs): a step wrote one of
//! its `[secrets]` (read from a file) to `$BATON_OUTPUT`, its engine was killed with -9
//! mid-attempt, and the engine that took the run over kept the lost attempt's outputs
//! before it knew the step's secrets: the value was stored unmasked. The takeover reads
//! the step's secrets from the same sources first: an output holding one is refused as
//! on a finished attempt, and nothing in the store holds the value.
use crate::helpers::*;

const SECRET: &str = "file-91fc5e0d7a";

const WF: &str = r#"name = "release"
[secrets]
TOKEN = { file = "token" }
[[step]]
id = "prep"
idempotent = false
secrets = ["TOKEN"]
run = '''printf 'seen=%s\nplain=ok\n' "$TOKEN" >> "$BATON_OUTPUT"; printf 'said %s\n' "$TOKEN" >> "$BATON_SUMMARY"; touch wrote; sleep 1000'''
"#;

/// Whether an event whose JSON holds `part` is on record.
fn recorded(env: &Env, part: &str) -> bool {
    let Ok(c) = rusqlite::Connection::open(env.db()) else {
        return false;
    };
    c.query_row(
        "SELECT count(*) FROM events WHERE json LIKE ?1",
        [format!("%{part}%")],
        |r| r.get::<_, i64>(0),
    )
    .is_ok_and(|n| n > 0)
}

/// Every file under `dir` whose bytes hold `needle`.
fn files_holding(dir: &std::path::Path, needle: &[u8]) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            found.extend(files_holding(&p, needle));
        } else if std::fs::read(&p).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle)) {
            found.push(p);
        }
    }
    found
}

/// A run of `release` whose engine was killed with -9 once `prep` wrote its outputs
/// (the secret among them) and its process is on record: its id.
fn killed_after_the_output(env: &Env) -> String {
    std::fs::write(env.path().join("token"), format!("{SECRET}\n")).unwrap();
    let wf = env.workflow("release.toml", WF);
    let mut engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    wait_until(
        "the step's output written and its process on record",
        secs(20),
        || env.path().join("wrote").exists() && recorded(env, "step_process"),
    );
    let _ = engine.kill(); // SIGKILL: nothing of the engine's clean-up runs
    let _ = engine.wait();
    id
}

/// `baton resume` until it recorded `prep` interrupted, then stopped: the run's record.
fn resumed_to_interrupted(env: &Env, id: &str) -> serde_json::Value {
    let mut resumed = env.spawn(&["resume", id, "--headless"]);
    let show = wait_until("the takeover to record prep interrupted", secs(30), || {
        let show = env.show(id);
        let done = recorded(env, "run_resumed")
            && step_state(&show, "prep").as_deref() == Some("interrupted");
        if done {
            Ok(show)
        } else {
            Err(format!("{show:#}"))
        }
    });
    let _ = resumed.kill();
    let _ = resumed.wait();
    show
}

#[test]
fn a_takeover_refuses_a_lost_attempts_output_holding_a_file_secret_and_stores_none() {
    let env = Env::new();
    let id = killed_after_the_output(&env);
    let show = resumed_to_interrupted(&env, &id);
    let outputs = step_field(&show, "prep", "outputs");
    assert_eq!(outputs["plain"], "ok", "the plain output is kept: {show:#}");
    assert!(outputs.get("seen").is_none(), "{show:#}");
    let refused = show["errors"].as_array().is_some_and(|e| {
        e.iter().any(|e| {
            e["message"]
                .as_str()
                .is_some_and(|m| m.contains("output `seen` contains a secret"))
        })
    });
    assert!(refused, "refused as on a finished attempt: {show:#}");
    let leaked = files_holding(&env.path().join("state"), SECRET.as_bytes());
    assert!(leaked.is_empty(), "the secret is stored in {leaked:?}");
}

/// The secret's file gone before the takeover: nothing the lost attempt left can be
/// checked, so nothing of it is kept (and the value is stored nowhere).
#[test]
fn a_takeover_that_cannot_read_the_steps_secret_keeps_none_of_its_outputs() {
    let env = Env::new();
    let id = killed_after_the_output(&env);
    std::fs::remove_file(env.path().join("token")).unwrap();
    let show = resumed_to_interrupted(&env, &id);
    assert!(!recorded(&env, "step_outputs_kept"), "{show:#}");
    let leaked = files_holding(&env.path().join("state"), SECRET.as_bytes());
    assert!(leaked.is_empty(), "the secret is stored in {leaked:?}");
}

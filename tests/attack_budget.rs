//! Issue 24, findings 5, 7 and 8, reproduced from outside with the real binary: a
//! cached step served across a changed secret, budgets (`calls=` in `$BATON_USAGE`,
//! the error records of a budget stop, budget use in `show` and the metrics), and
//! `baton events` following a run another process drives.
mod common;
use common::*;
use serde_json::Value;
use std::fs;
use std::time::{Duration, Instant};

fn ledger(env: &Env) -> Vec<String> {
    fs::read_to_string(env.path().join("ledger"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

const SECRET_CACHED: &str = r#"
name = "deploy-with-token"
secrets = ["API_TOKEN"]

[[step]]
id = "fetch"
cache = true
run = 'echo fetch >> ledger; test -n "$API_TOKEN"'
"#;

fn run_with_token(env: &Env, token: &str) -> String {
    let out = env
        .cmd()
        .env("API_TOKEN", token)
        .args(["run", "secret.toml", "--headless"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run baton");
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{}", text(&out.stderr));
    stdout
}

/// Finding 5: a step that reads a secret from the environment it inherits ran with the
/// old secret; after the secret changed, it must run again, not be served from the
/// cache of the old one. The same secret again is still a hit, and the store never
/// holds either value.
#[test]
fn a_changed_secret_misses_the_cache() {
    let env = Env::new();
    env.workflow("secret.toml", SECRET_CACHED);
    run_with_token(&env, "token-one-41ff");
    assert_eq!(ledger(&env).len(), 1);
    let second = run_with_token(&env, "token-two-77aa");
    assert_eq!(
        ledger(&env).len(),
        2,
        "the step was served from the cache of a run with another secret:\n{second}"
    );
    let third = run_with_token(&env, "token-two-77aa");
    assert_eq!(ledger(&env).len(), 2, "the same secret must still hit:\n{third}");
    assert!(third.contains("cached"), "{third}");
    let db = fs::read(env.db()).unwrap();
    for v in ["token-one-41ff", "token-two-77aa"] {
        assert!(
            !db.windows(v.len()).any(|w| w == v.as_bytes()),
            "the store holds the secret {v}"
        );
    }
}

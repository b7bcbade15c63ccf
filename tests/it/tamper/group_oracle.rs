//! Issue 42 point 6, in a group store through the real binary: a secret enters a cache
//! key under a key no other member has (the account's own secret, outside the store),
//! and the store keeps no member's log text (`attempts.log_tail`): the starter reads
//! its tail from its own log file, another member reads none.
use crate::helpers::*;

const SECRET_STEP: &str = r#"
name = "s"
[params.token]
type = "string"
secret = true
[[step]]
id = "use"
cache = true
env = { T = "${{ params.token }}" }
run = "echo private-log-text"
"#;

/// A run as the account whose state is `state_home`: its id, and whether its step was
/// answered from the cache.
fn cached(env: &Env, state_home: &str) -> (String, bool) {
    let wf = env.path().join("s.toml");
    let out = env
        .cmd()
        .env("XDG_STATE_HOME", env.path().join(state_home))
        .args([
            "run",
            wf.to_str().unwrap(),
            "--headless",
            "--param",
            "token=s3cr3t",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let run = run_id_of(&text(&out.stdout));
    let hit = step_field(&env.show(&run), "use", "cached") == true;
    (run, hit)
}

#[test]
fn a_group_store_keys_secrets_outside_it_and_keeps_no_log_text() {
    let env = Env::new();
    env.share_with_nobody();
    env.workflow("s.toml", SECRET_STEP);
    let (first, hit) = cached(&env, "alice-state");
    assert!(!hit);
    assert!(
        cached(&env, "alice-state").1,
        "the account's own entry answers it"
    );
    // Another account's secret (another member), the same store and the same guess:
    // no key it can compute finds the entry.
    assert!(
        !cached(&env, "bob-state").1,
        "a member cannot confirm the guess"
    );

    let c = rusqlite::Connection::open(env.db()).unwrap();
    let tails: Vec<Option<String>> = c
        .prepare("SELECT log_tail FROM attempts")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(!tails.is_empty());
    for t in &tails {
        assert!(
            !t.as_deref()
                .unwrap_or_default()
                .contains("private-log-text"),
            "{tails:?}"
        );
    }
    // The starter's console still shows its step's last lines, read from its own
    // log file (0600: another member's console shows none).
    let store = baton::store::Store::open_existing(&env.db()).unwrap();
    let view = baton::session::inspect(&store, &first, baton::model::Timestamp::now()).unwrap();
    let step = view.steps.iter().find(|s| s.id == "use").unwrap();
    assert_eq!(step.log_tail, ["private-log-text"]);
}

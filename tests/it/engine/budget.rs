//! Issue 24, findings 5, 7 and 8, reproduced from outside with the real binary: a
//! cached step served across a changed secret, budgets (`calls=` in `$BATON_USAGE`,
//! the error records of a budget stop, budget use in `show` and the metrics), and
//! `baton events` following a run another process drives.
use crate::helpers::*;
use serde_json::Value;
use std::fs;
use std::time::Duration;

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
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
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
    assert_eq!(
        ledger(&env).len(),
        2,
        "the same secret must still hit:\n{third}"
    );
    assert!(third.contains("cached"), "{third}");
    let db = fs::read(env.db()).unwrap();
    for v in ["token-one-41ff", "token-two-77aa"] {
        assert!(
            !db.windows(v.len()).any(|w| w == v.as_bytes()),
            "the store holds the secret {v}"
        );
    }
}

fn errors_of(show: &Value, kind: &str) -> Vec<Value> {
    show["errors"]
        .as_array()
        .map(|a| a.iter().filter(|e| e["kind"] == kind).cloned().collect())
        .unwrap_or_default()
}

const CALLS: &str = r#"
name = "calls"
budget = { calls = 3 }

[[step]]
id = "agent"
# No newline: the line is read when the step ends (the live follower counts whole
# lines only), so the ceiling stops `report`'s start, which these tests are about,
# and not `agent` while it runs (tests/it/engine/live_usage.rs).
run = 'printf calls=3 >> "$BATON_USAGE"'

[[step]]
id = "report"
needs = ["agent"]
run = "echo report >> ledger"
"#;

/// Finding 7: `calls=3` in `$BATON_USAGE` counts three calls (not the one attempt),
/// so the ceiling of 3 stops the next step; the stop is an error record (open until
/// the budget is raised) and the use is in `show` and `show --json`.
#[test]
fn reported_calls_count_and_a_budget_stop_is_on_record() {
    let env = Env::new();
    env.workflow("calls.toml", CALLS);
    let child = env.spawn(&["run", "calls.toml", "--headless"]);
    let id = env.wait_run_id();
    let show = wait_until("the budget gate", Duration::from_secs(30), || {
        let v = env.show(&id);
        (!errors_of(&v, "budget_exceeded").is_empty()).then_some(v)
    });
    assert_eq!(
        step_state(&show, "report").as_deref(),
        Some("queued"),
        "{show:#}"
    );
    assert!(ledger(&env).is_empty(), "report ran past the ceiling");
    let rec = &errors_of(&show, "budget_exceeded")[0];
    assert_eq!(rec["step"], "report");
    assert_eq!(rec["open"], true);
    assert_eq!(rec["context"]["dimension"], "calls", "{rec:#}");
    assert!(
        rec["suggestion"]
            .as_str()
            .unwrap()
            .contains(&format!("`baton approve {id} --raise calls=3 --reason …`")),
        "{rec:#}"
    );
    assert_eq!(show["budget"]["calls"]["used"], 3.0, "{show:#}");
    assert_eq!(show["budget"]["calls"]["limit"], 3.0);
    assert_eq!(show["budget"]["exhausted"][0], "calls");
    let text_show = text(&env.run(&["show", &id]).stdout);
    assert!(
        text_show.contains("budget: cost 0 (no ceiling), calls 3 of 3"),
        "{text_show}"
    );

    let out = env.run(&["approve", &id, "--raise", "calls=1", "--reason", "one more"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let out = wait_child(child, 30);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let show = env.show(&id);
    assert_eq!(ledger(&env), ["report"]);
    let rec = &errors_of(&show, "budget_exceeded")[0];
    assert_eq!(
        rec["open"], false,
        "raising the budget closes the stop: {rec:#}"
    );
    assert_eq!(show["budget"]["calls"]["used"], 4.0);
    assert_eq!(show["budget"]["calls"]["limit"], 4.0);
}

/// Finding 7: a budget stop that ends in a cancel leaves its record (not `errors: []`).
#[test]
fn a_cancelled_budget_stop_keeps_its_record() {
    let env = Env::new();
    env.workflow("calls.toml", CALLS);
    let child = env.spawn(&["run", "calls.toml", "--headless"]);
    let id = env.wait_run_id();
    wait_until("the budget gate", Duration::from_secs(30), || {
        let v = env.show(&id);
        (!errors_of(&v, "budget_exceeded").is_empty()).then_some(v)
    });
    let out = env.run(&["cancel", &id]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    wait_child(child, 30);
    let show = env.show(&id);
    assert_eq!(show["state"], "cancelled");
    let recs = errors_of(&show, "budget_exceeded");
    assert_eq!(recs.len(), 1, "{show:#}");
    assert_eq!(recs[0]["open"], true);
}

/// Finding 7: a step held back by its pool's rate gets a `rate_limited` record (low,
/// closed once it starts), replayed like every record.
#[test]
fn a_step_held_by_a_rate_is_on_record() {
    let env = Env::new();
    let wf = env.workflow(
        "rate.toml",
        r#"
name = "rate"
[pools.api]
capacity = 2
rate = "1/s"
burst = 1

[[step]]
id = "one"
pool = "api"
run = "true"

[[step]]
id = "two"
pool = "api"
run = "true"
"#,
    );
    let out = wait_child(env.spawn(&["run", wf.to_str().unwrap(), "--headless"]), 30);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let id = run_id_of(&text(&out.stdout));
    let show = env.show(&id);
    let recs = errors_of(&show, "rate_limited");
    assert_eq!(recs.len(), 1, "{show:#}");
    assert_eq!(recs[0]["severity"], "low");
    assert_eq!(recs[0]["open"], false);
    assert_eq!(recs[0]["context"]["pool"], "api");
    assert!(
        commands_in(&recs[0]).is_empty(),
        "advice, not a command: {:#}",
        recs[0]
    );
}

fn commands_in(rec: &Value) -> Vec<String> {
    baton::model::suggest::commands(rec["suggestion"].as_str().unwrap_or_default())
}

const GATED: &str = r#"
name = "gated"
[[step]]
id = "build"
run = "echo built"
[[step]]
id = "deploy"
needs = ["build"]
run = "true"
gate = { prompt = "Ship it?" }
"#;

/// Finding 8: `baton events RUN --follow --json`, in another process than the engine,
/// prints every event of the run from the first, in order, and ends by itself when
/// the run ends; `--from` starts at a sequence number; without `--json`, the
/// headless lines.
#[test]
fn events_of_a_run_another_process_drives_are_followed_to_the_end() {
    let env = Env::new();
    env.workflow("gated.toml", GATED);
    let engine = env.spawn(&["run", "gated.toml", "--headless"]);
    let id = env.wait_run_id();
    env.wait_step(&id, "deploy", "waiting_approval", 30);
    let mut follower = env.spawn(&["events", &id[..8], "--follow", "--json"]);
    let stdout = follower.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let mut lines = Vec::new();
    // The follower prints the history up to the open gate, and goes on waiting.
    while !lines.iter().any(|l: &String| l.contains("\"gate_opened\"")) {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the follower printed the gate's opening");
        lines.push(line);
    }
    assert!(
        follower.try_wait().unwrap().is_none(),
        "the follower stopped at the gate"
    );
    let out = env.run(&["approve", &id, "deploy", "--reason", "go"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let engine = wait_child(engine, 30);
    assert_eq!(engine.status.code(), Some(0));
    let out = wait_child(follower, 30);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    reader.join().unwrap();
    lines.extend(rx.try_iter());
    let events: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).expect("one JSON object a line"))
        .collect();
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
    assert_eq!(events[0]["type"], "run_started");
    assert!(events.iter().all(|e| e["run"] == id.as_str()));
    assert!(events.iter().any(|e| e["type"] == "gate_approved"));
    assert_eq!(
        events.last().unwrap()["type"],
        "run_finished",
        "{events:#?}"
    );

    let from = env.run(&["events", &id, "--json", "--from", "3"]);
    let first: Value = serde_json::from_str(text(&from.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(first["seq"], 3);
    assert_eq!(text(&from.stdout).lines().count(), events.len() - 2);

    let lines = text(&env.run(&["events", &id]).stdout);
    assert!(lines.contains("deploy waiting_approval"), "{lines}");
    assert!(lines.contains("deploy succeeded"), "{lines}");
}

#[test]
fn events_of_an_unknown_run_is_a_usage_error() {
    let env = Env::new();
    env.finished_run();
    let out = env.run(&["events", "zzzz"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

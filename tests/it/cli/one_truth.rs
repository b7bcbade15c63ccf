//! One truth in every view (issue 76 point 2), on the real binary: a failure a handler
//! dealt with is a failure in `show`, `show --json`, `runs` and the metrics, and the
//! run never reads healthy; a mark shows where it changed a count; a run whose gate
//! was rejected reads rejected; an ask's refusal is said as an ask's.
use crate::helpers::*;
use serde_json::Value;

/// Eight steps: a deploy whose smoke test fails and a `one_failed` rollback that runs.
/// The score alone would be 100 − 12.5 × ½ − 10 = 83.75 (the issue's `84 healthy`).
const ROLLED_BACK: &str = r#"
name = "deploy"
[[step]]
id = "a"
run = "true"
[[step]]
id = "b"
run = "true"
[[step]]
id = "c"
run = "true"
[[step]]
id = "d"
run = "true"
[[step]]
id = "e"
run = "true"
[[step]]
id = "ship"
needs = ["a", "b", "c", "d", "e"]
run = "true"
[[step]]
id = "smoke"
needs = ["ship"]
run = "exit 1"
[[step]]
id = "rollback"
needs = ["smoke"]
when = "one_failed"
run = "true"
"#;

const FAN: &str = r#"
name = "fan"
[[step]]
id = "shard"
matrix = { n = ["1", "2", "3", "4"] }
env = { N = "${{ matrix.n }}" }
run = 'test "$N" != 3'
"#;

const GATED: &str = r#"
name = "gated"
[[step]]
id = "build"
run = "true"
[[step]]
id = "ship"
needs = ["build"]
run = "true"
gate = { prompt = "Ship?" }
"#;

/// `baton_run_health{workflow="W",run="R"} V` → V.
fn metric_health(metrics: &str, run: &str) -> Option<f64> {
    metrics
        .lines()
        .filter(|l| l.starts_with("baton_run_health{") && l.contains(&format!("run=\"{run}\"")))
        .find_map(|l| l.rsplit(' ').next()?.parse().ok())
}

/// `runs --json`'s row of `id`.
fn listed(env: &Env, id: &str) -> Value {
    env.runs()
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("run {id} not listed"))
}

#[test]
fn a_rolled_back_deploy_reads_failed_and_never_healthy_in_every_view() {
    let env = Env::new();
    let wf = env.workflow("deploy.toml", ROLLED_BACK);
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let id = run_id_of(&text(&out.stdout));
    let show = env.show(&id);
    assert_eq!(show["state"], "failed", "{show}");
    assert_eq!(step_state(&show, "rollback").as_deref(), Some("succeeded"));
    // The handled failure counts: one of eight decided, said to be handled.
    assert_eq!(show["failed_share"].as_f64(), Some(1.0 / 8.0), "{show}");
    assert_eq!(show["failed_handled"], 1, "{show}");
    let health = show["health"].as_f64().unwrap();
    assert!(health < 80.0, "{show}");
    assert_eq!(show["health_label"], "degraded", "{show}");
    // `runs` and the metrics give the same figure.
    assert_eq!(listed(&env, &id)["health"].as_f64(), Some(health));
    let metrics = text(&env.run(&["metrics"]).stdout);
    assert_eq!(metric_health(&metrics, &id), Some(health), "{metrics}");
    // `show` says it in words.
    let printed = text(&env.run(&["show", &id]).stdout);
    assert!(printed.contains("health 79 degraded"), "{printed}");
    assert!(printed.contains("(1 failure handled)"), "{printed}");
    assert!(
        printed.contains("failed: 12% of the steps decided")
            || printed.contains("failed: 13% of the steps decided"),
        "{printed}"
    );
    assert!(
        printed.contains("; 1 handled (allow_failure or a failure handler)"),
        "{printed}"
    );
    assert!(!printed.contains("failed: 0%"), "{printed}");
}

#[test]
fn a_failed_instance_marked_succeeded_shows_the_hand_where_it_changed_a_count() {
    let env = Env::new();
    let wf = env.workflow("fan.toml", FAN);
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let id = run_id_of(&text(&out.stdout));
    let out = env.run(&[
        "mark",
        &id,
        "shard[3]",
        "--state",
        "succeeded",
        "--reason",
        "checked",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let show = wait_until("the mark recorded", secs(20), || {
        let s = env.show(&id);
        (s["state"] == "succeeded").then_some(s)
    });
    // Five steps (the parent and its four instances), one marked: 100 − 20 × ½.
    assert_eq!(show["marked"], 1, "{show}");
    let health = show["health"].as_f64().unwrap();
    assert_eq!(health, 90.0, "{show}");
    let term = show["health_terms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["label"] == "marked succeeded by hand")
        .cloned()
        .unwrap_or_default();
    assert_eq!(term["count"], 1, "{show}");
    let fan = &step(&show, "shard")["fan_out"];
    assert_eq!(fan["succeeded"], 4, "{show}");
    assert_eq!(fan["marked"], 1, "{show}");
    // `runs` (from the run's summary) counts it alike, the hand beside ✔4.
    let row = listed(&env, &id);
    assert_eq!(row["health"].as_f64(), Some(health), "{row}");
    assert_eq!(row["fan_out"][0]["marked"], 1, "{row}");
    let table = text(&env.run(&["runs"]).stdout);
    assert!(table.contains("shard 4/4 ✔4 (1 marked)"), "{table}");
    let printed = text(&env.run(&["show", &id]).stdout);
    assert!(printed.contains("shard (4/4 ✔4 (1 marked))"), "{printed}");
    assert!(
        printed.contains("(1 marked succeeded by hand)"),
        "{printed}"
    );
    let metrics = text(&env.run(&["metrics"]).stdout);
    assert_eq!(metric_health(&metrics, &id), Some(health), "{metrics}");
}

#[test]
fn a_run_whose_gate_was_rejected_reads_rejected_not_failed() {
    let env = Env::new();
    let wf = env.workflow("gated.toml", GATED);
    let engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    env.wait_step(&id, "ship", "waiting_approval", 20);
    let out = env.run(&["reject", &id, "ship", "--reason", "not today"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let done = wait_child(engine, 20);
    assert_eq!(done.status.code(), Some(1), "{}", text(&done.stderr));
    let show = env.show(&id);
    // Its state stays failed for scripts; every view reads it rejected.
    assert_eq!(show["state"], "failed", "{show}");
    assert_eq!(show["rejected"], true, "{show}");
    let row = listed(&env, &id);
    assert_eq!(row["rejected"], true, "{row}");
    let table = text(&env.run(&["runs"]).stdout);
    let line = table.lines().find(|l| l.contains(&id)).unwrap_or_default();
    assert!(line.contains("rejected"), "{table}");
    assert!(!line.contains("failed"), "{table}");
    let printed = text(&env.run(&["show", &id]).stdout);
    assert!(
        printed.starts_with(&format!("run {id}  gated  rejected")),
        "{printed}"
    );
    // A run whose step failed reads failed.
    let wf = env.workflow("deploy.toml", ROLLED_BACK);
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    let failed = run_id_of(&text(&out.stdout));
    assert_eq!(listed(&env, &failed)["rejected"], false);
    assert_eq!(env.show(&failed)["rejected"], false);
}

#[test]
fn an_asks_self_approval_refusal_names_the_asker_not_a_run() {
    let env = Env::new();
    let asker = env
        .cmd()
        .args(["ask", "--prompt", "drop the table?", "--timeout", "60s"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn baton ask");
    let id = wait_until("the ask in the inbox", secs(10), || {
        let out = env.run(&["inbox", "--json"]);
        let v: Value = serde_json::from_slice(&out.stdout).ok()?;
        v.as_array()?
            .iter()
            .find(|w| w["kind"] == "ask")
            .and_then(|w| w["ask"].as_str().map(String::from))
    });
    let own = env.run(&["approve", &id, "--reason", "mine"]);
    assert_eq!(own.status.code(), Some(1), "{}", text(&own.stdout));
    let said = format!("{}{}", text(&own.stdout), text(&own.stderr));
    assert!(said.contains("asked this"), "{said}");
    assert!(!said.contains("started this run"), "{said}");
    assert!(said.contains(&format!("(ask {id})")), "{said}");
    // The inbox's why-not reads alike.
    let inbox = text(&env.run(&["inbox", "--json"]).stdout);
    assert!(inbox.contains("asked this"), "{inbox}");
    assert!(!inbox.contains("started this run"), "{inbox}");
    let out = env.run(&["reject", &id, "--reason", "no"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let done = wait_child(asker, 10);
    assert_eq!(done.status.code(), Some(1), "{}", text(&done.stderr));
}

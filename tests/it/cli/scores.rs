//! Honest scores (issue 28 point 7), on the real binary: one failure with the steps it
//! kept from starting, a failure `allow_failure` dealt with, one a failure handler dealt
//! with, and a gate that timed out. `show --json`, `runs --json` and `metrics` give each
//! run the same health, and `failed_share` counts the steps that never started and the
//! failures dealt with.
use crate::helpers::*;
use serde_json::Value;

const CHAIN: &str = r#"
name = "chain"
[[step]]
id = "one"
run = "exit 3"
[[step]]
id = "two"
needs = ["one"]
run = "true"
[[step]]
id = "three"
needs = ["two"]
run = "true"
[[step]]
id = "four"
needs = ["three"]
run = "true"
"#;

const ALLOWED: &str = r#"
name = "allowed"
[[step]]
id = "lint"
run = "exit 1"
allow_failure = true
[[step]]
id = "build"
run = "true"
"#;

const HANDLED: &str = r#"
name = "handled"
[[step]]
id = "deploy"
run = "exit 1"
[[step]]
id = "rollback"
needs = ["deploy"]
when = "one_failed"
run = "true"
"#;

const TIMED_OUT: &str = r#"
name = "timedout"
[[step]]
id = "build"
run = "true"
[[step]]
id = "ship"
needs = ["build"]
run = "true"
gate = { prompt = "Ship?", timeout = "1s", on_timeout = "reject" }
"#;

/// `baton_run_health{workflow="W",run="R"} V` → V.
fn metric_health(metrics: &str, run: &str) -> Option<f64> {
    metrics
        .lines()
        .filter(|l| l.starts_with("baton_run_health{") && l.contains(&format!("run=\"{run}\"")))
        .find_map(|l| l.rsplit(' ').next()?.parse().ok())
}

#[test]
fn show_runs_and_metrics_score_each_run_alike_and_count_steps_never_started() {
    let env = Env::new();
    let mut ids = Vec::new();
    for (name, wf) in [
        ("chain", CHAIN),
        ("allowed", ALLOWED),
        ("handled", HANDLED),
        ("timedout", TIMED_OUT),
    ] {
        let path = env.workflow(&format!("{name}.toml"), wf);
        let out = env.run(&["run", path.to_str().unwrap(), "--headless"]);
        assert!(out.status.code().is_some(), "{name}: {}", text(&out.stderr));
        ids.push((name, run_id_of(&text(&out.stdout))));
    }
    let runs: Value = env.runs();
    let metrics = text(&env.run(&["metrics"]).stdout);
    for (name, id) in &ids {
        let show = env.show(id);
        let health = show["health"].as_f64().unwrap();
        let listed = runs
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id.as_str())
            .unwrap();
        assert_eq!(
            listed["health"].as_f64(),
            Some(health),
            "{name}: runs --json"
        );
        assert_eq!(
            metric_health(&metrics, id),
            Some(health),
            "{name}: metrics\n{metrics}"
        );
        let failed = show["failed_share"].as_f64();
        match *name {
            // One failed, three never started because of it: all four, and health as
            // the formula says: 100 − 25 − 3 × 12.5 − 10 (the open exit error).
            "chain" => {
                assert_eq!(failed, Some(1.0), "{show}");
                assert_eq!(health, 27.5, "{show}");
            }
            // Failures the workflow dealt with are failures, said to be handled; they
            // cost half a step, and the run never reads healthy (see
            // docs/architecture.md, "How the scores are counted").
            "allowed" | "handled" => {
                assert_eq!(failed, Some(0.5), "{name}: {show}");
                assert_eq!(show["failed_handled"], 1, "{name}: {show}");
                assert!((50.0..80.0).contains(&health), "{name}: {show}");
            }
            // The gate timed out: its step is a failure.
            "timedout" => {
                assert_eq!(failed, Some(0.5), "{show}");
                assert!(health < 80.0, "{show}");
            }
            _ => unreachable!(),
        }
        // `show` says it too, in words.
        let printed = text(&env.run(&["show", id]).stdout);
        let pct = format!(
            "failed: {:.0}% of the steps decided",
            failed.unwrap() * 100.0
        );
        assert!(printed.contains(&pct), "{name}: {printed}");
    }
}

/// The reproduction's shape: an allowed failure, then a step that runs until the test
/// lets it end (at most 60 s), then one more.
const ALLOWED_THEN_RUNNING: &str = r#"
name = "allowed_then_running"
[[step]]
id = "a"
run = "exit 1"
allow_failure = true
[[step]]
id = "b"
needs = ["a"]
run = "for i in $(seq 600); do [ -e GO ] && exit 0; sleep 0.1; done; exit 1"
[[step]]
id = "c"
needs = ["b"]
run = "true"
"#;

/// While a run goes on, `runs --json` and `metrics` (the run's summary) score an allowed
/// failure as `show --json` does: dealt with, 100 − 33.3 × ½ − 10 (the open exit error),
/// not as a failure (56.67) until the run ends.
#[test]
fn runs_and_metrics_score_an_allowed_failure_as_show_does_while_the_run_goes_on() {
    let env = Env::new();
    let go = env.path().join("go");
    let wf = ALLOWED_THEN_RUNNING.replace("GO", go.to_str().unwrap());
    let path = env.workflow("hl.toml", &wf);
    let (child, id) = env.spawn_until(&path, "b", "running");
    let health = wait_until("runs and metrics to agree with show", secs(20), || {
        let show = env.show(&id);
        let health = show["health"].as_f64().ok_or(format!("{show:#}"))?;
        let runs = env.runs();
        let listed = runs
            .as_array()
            .and_then(|a| a.iter().find(|r| r["id"] == id.as_str()))
            .and_then(|r| r["health"].as_f64());
        let metrics = text(&env.run(&["metrics"]).stdout);
        let seen = (listed, metric_health(&metrics, &id));
        if seen == (Some(health), Some(health)) {
            Ok(health)
        } else {
            Err(format!("show {health}, runs and metrics {seen:?}"))
        }
    });
    assert!(
        (health - (100.0 - 100.0 / 6.0 - 10.0)).abs() < 0.01,
        "{health}"
    );
    // All of that while `b` still ran: it ends only once `go` exists.
    assert_eq!(step_state(&env.show(&id), "b").as_deref(), Some("running"));
    std::fs::write(&go, "").expect("write go");
    let out = wait_child(child, 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listed = env.runs()[0]["health"].as_f64();
    assert_eq!(listed, env.show(&id)["health"].as_f64());
}

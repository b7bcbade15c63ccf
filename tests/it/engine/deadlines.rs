//! Issue 58 point 9, deadline alerts with the real binary: a step past its `within` is
//! reported once (`deadline_missed` on record, its `[[notify]]` told once, counted in
//! the metrics) and still succeeds, a run done in time never reports its own; an
//! engine killed (-9) before a deadline reports it when it resumes after it, and an
//! engine resumed again does not report it twice.
use crate::helpers::*;
use serde_json::Value;

/// The `deadline_missed` events of `run`, as `baton events --json` writes them.
fn missed(env: &Env, run: &str) -> Vec<Value> {
    let out = env.run(&["events", run, "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["type"] == "deadline_missed")
        .collect()
}

/// The lines a notifier appended to `file` in the test's directory (none: empty).
fn told(env: &Env, file: &str) -> Vec<String> {
    std::fs::read_to_string(env.path().join(file))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn a_step_past_its_deadline_is_reported_once_and_still_succeeds() {
    let env = Env::new();
    let wf = env.workflow(
        "late.toml",
        r#"name = "late"
deadline = { within = "1h" }

[[step]]
id = "slow"
run = "sleep 4"
deadline = { within = "2s", notify = ["pager"] }

[[notify]]
name = "pager"
run = 'echo "$BATON_EVENT|$BATON_STEP_ID|$BATON_PROMPT|$BATON_DEADLINE" >> pager.txt'

[[notify]]
on = ["gate_opened"]
run = 'echo "$BATON_EVENT" >> other.txt'
"#,
    );
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    // The headless line says it, and that nothing is stopped.
    assert!(
        text(&out.stdout)
            .contains("slow deadline missed: not done within 2.0s of ready; nothing is stopped"),
        "{}",
        text(&out.stdout)
    );
    let run = run_id_of(&text(&out.stdout));
    let events = missed(&env, &run);
    assert_eq!(events.len(), 1, "once: {events:?}");
    assert_eq!(events[0]["step"], "slow");
    assert_eq!(events[0]["rule"], "within 2.0s of ready");
    // The step was killed by nothing: it ran its 4 seconds and succeeded.
    let v = env.show(&run);
    assert_eq!(
        step_state(&v, "slow").as_deref(),
        Some("succeeded"),
        "{v:#}"
    );
    assert_eq!(v["state"], "succeeded");
    // The run's own deadline (1h) was met: never reported, and `show --json` says so.
    let deadlines = v["deadlines"].as_array().expect("deadlines");
    assert_eq!(deadlines.len(), 2, "{v:#}");
    assert!(deadlines[0]["step"].is_null() && deadlines[0]["met"] == true);
    assert!(deadlines[0]["missed"].is_null());
    assert_eq!(deadlines[1]["step"], "slow");
    assert!(deadlines[1]["missed"].is_string(), "{v:#}");
    // The block the deadline names was told once, with the facts; the other never.
    let pager = told(&env, "pager.txt");
    assert_eq!(pager.len(), 1, "{pager:?}");
    let facts: Vec<&str> = pager[0].split('|').collect();
    assert_eq!(
        &facts[..3],
        [
            "deadline_missed",
            "slow",
            "slow deadline missed: not done within 2.0s of ready; nothing is stopped"
        ]
    );
    let due = events[0]["due"].as_i64().expect("due, in ms");
    let told_due = chrono::DateTime::parse_from_rfc3339(facts[3]).expect("RFC 3339");
    assert_eq!(told_due.timestamp_millis(), due);
    assert!(told(&env, "other.txt").is_empty());
    // `show` and the metrics count it.
    let shown = text(&env.run(&["show", &run]).stdout);
    assert!(
        shown.contains("deadline slow: within 2.0s of ready; MISSED"),
        "{shown}"
    );
    assert!(shown.contains("deadline run: within 1h00m; met"), "{shown}");
    let metrics = text(&env.run(&["metrics"]).stdout);
    assert!(
        metrics.contains("baton_deadlines_missed_total{workflow=\"late\",of=\"step\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("baton_deadlines_missed_total{workflow=\"late\",of=\"run\"} 0"),
        "{metrics}"
    );
}

#[test]
fn an_engine_down_at_the_deadline_reports_it_on_resume_and_never_twice() {
    let env = Env::new();
    let wf = env.workflow(
        "overnight.toml",
        r#"name = "overnight"
deadline = { within = "3s", notify = ["pager"] }

[[step]]
id = "load"
run = "sleep 6"

[[notify]]
name = "pager"
run = 'echo "$BATON_EVENT|$BATON_STEP_ID|$BATON_DEADLINE" >> pager.txt'
"#,
    );
    let mut engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let run = env.wait_run_id();
    env.wait_step(&run, "load", "running", 20);
    // Killed before its deadline: nothing on record yet.
    let _ = engine.kill();
    let _ = engine.wait();
    assert!(missed(&env, &run).is_empty(), "not yet due");
    let started = env.show(&run)["started_at"].as_str().unwrap().to_string();
    let due =
        chrono::DateTime::parse_from_rfc3339(&started).unwrap() + chrono::Duration::seconds(3);
    wait_until(
        "the run's deadline to pass while no engine runs",
        secs(20),
        || chrono::Utc::now() > due,
    );
    assert!(missed(&env, &run).is_empty(), "no engine, no report");
    let shown = text(&env.run(&["show", &run]).stdout);
    assert!(
        shown.contains("passed while no engine ran: reported on resume"),
        "`show` says the time passed, not only when it was due:\n{shown}"
    );
    // The engine that resumes after it reports it, with the deadline's time.
    let mut engine = env.spawn(&["resume", &run, "--headless"]);
    let events = wait_until(
        "the resumed engine to report the deadline",
        secs(30),
        || {
            let m = missed(&env, &run);
            (!m.is_empty()).then_some(m)
        },
    );
    assert_eq!(events.len(), 1);
    assert!(events[0]["step"].is_null(), "the run's: {:?}", events[0]);
    assert_eq!(events[0]["due"].as_i64(), Some(due.timestamp_millis()));
    wait_until("the pager to be told", secs(20), || {
        told(&env, "pager.txt").len() == 1
    });
    // Killed again, then resumed to the end: nothing more is reported or told.
    let _ = engine.kill();
    let _ = engine.wait();
    let out = env.run(&["resume", &run, "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(env.show(&run)["state"], "succeeded");
    assert_eq!(missed(&env, &run).len(), 1, "not twice");
    let pager = told(&env, "pager.txt");
    assert_eq!(pager.len(), 1, "one message: {pager:?}");
    assert!(pager[0].starts_with("deadline_missed||"), "{pager:?}");
}

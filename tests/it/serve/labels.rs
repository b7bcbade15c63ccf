//! Issue 76 point 3: a schedule's `labels` are the labels each of its runs starts
//! with (on record as `run_labelled`, listed and filtered by `baton runs --label`); a
//! bad one is a load error at its place, as `baton run --label` refuses it.
use super::*;

const EVERY_SECOND: &str = r#"name = "heartbeat"

[[schedule]]
cron = "* * * * * *"
labels = { team = "infra", kind = "heartbeat" }

[[step]]
id = "beat"
run = "true"
"#;

#[test]
fn a_schedule_s_runs_start_with_its_labels() {
    let mut s = Served::new();
    s.write("heartbeat.toml", EVERY_SECOND);
    let (child, log) = s.start(&[]);
    wait_log(&log, "loaded", 30);
    let id = wait_until("a run of the schedule", secs(30), || {
        let out = s.env.run(&["runs", "--json", "--label", "kind=heartbeat"]);
        let runs: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        runs[0]["id"].as_str().map(str::to_string)
    });
    term(child);
    let show = s.env.show(&id);
    assert_eq!(
        show["labels"],
        serde_json::json!({"team": "infra", "kind": "heartbeat"}),
        "{show:#}"
    );
    assert_eq!(s.env.audit_rows(&id, "labelled").len(), 1);
}

#[test]
fn a_bad_label_of_a_schedule_is_a_load_error_at_its_place() {
    let env = Env::new();
    let bad = EVERY_SECOND.replace("kind = \"heartbeat\"", "\"bad key\" = \"x\"");
    let wf = env.workflow("heartbeat.toml", &bad);
    let out = env.run(&["validate", wf.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(said.contains("heartbeat.toml:5:"), "{said}");
    assert!(said.contains("label key `bad key`"), "{said}");
    let typed = EVERY_SECOND.replace("kind = \"heartbeat\"", "kind = 3");
    let wf = env.workflow("typed.toml", &typed);
    let out = env.run(&["validate", wf.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
}

//! Issue 75 point 2 through the real binary: a step that is not idempotent and declares
//! artifacts, interrupted by a kill -9 of its engine after it made one of them, is
//! marked succeeded: the mark keeps the file its attempt left (its reader is handed it),
//! the reader of the one it never made is held for a person naming it and the command
//! that gives it, never failed with `template_error`, and a mark with `--artifact
//! NAME=PATH` gives it and the run goes on; the step never runs twice.
use crate::helpers::*;

const WF: &str = r#"name = "marked"
[[step]]
id = "train"
idempotent = false
run = '''echo ran >> train.runs; printf 'weights' > m.bin; touch wrote; sleep 1000'''
artifacts = { model = "m.bin", report = "report.txt" }
[[step]]
id = "eval"
needs = ["train"]
uses_artifacts = ["train.model"]
run = 'cat "$BATON_ARTIFACT_TRAIN_MODEL" > got'
[[step]]
id = "publish"
needs = ["train"]
uses_artifacts = ["train.report"]
run = 'cat "$BATON_ARTIFACT_TRAIN_REPORT" > published'
"#;

/// Whether an event whose JSON holds `kind` is on record.
fn recorded(env: &Env, kind: &str) -> bool {
    let Ok(c) = rusqlite::Connection::open(env.db()) else {
        return false;
    };
    c.query_row(
        "SELECT count(*) FROM events WHERE json LIKE ?1",
        [format!("%{kind}%")],
        |r| r.get::<_, i64>(0),
    )
    .is_ok_and(|n| n > 0)
}

/// The one error record on `train` saying `report.txt` was not kept from its attempt,
/// `open` or closed; an open one gives the command that gives the file.
fn not_kept_on_record(show: &serde_json::Value, open: bool) {
    let said: Vec<&serde_json::Value> = (show["errors"].as_array().into_iter().flatten())
        .filter(|e| {
            e["step"] == "train"
                && e["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("was not kept") && m.contains("report.txt"))
        })
        .collect();
    assert_eq!(said.len(), 1, "{show:#}");
    assert_eq!(said[0]["open"], open, "{show:#}");
    let gives = said[0]["suggestion"]
        .as_str()
        .is_some_and(|s| s.contains("--artifact NAME=PATH"));
    assert!(gives || !open, "{show:#}");
}

#[test]
fn a_mark_after_a_crash_keeps_the_artifacts_left_and_a_missing_one_holds_its_reader() {
    let env = Env::new();
    let wf = env.workflow("marked.toml", WF);
    let mut engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    wait_until(
        "the step's file made and its process on record",
        secs(20),
        || env.path().join("wrote").exists() && recorded(&env, "step_process"),
    );
    let _ = engine.kill(); // SIGKILL: nothing of the engine's clean-up runs
    let _ = engine.wait();

    let resumed = env.spawn(&["resume", &id, "--headless"]);
    wait_until("the takeover to record train interrupted", secs(30), || {
        let show = env.show(&id);
        show["driven_by"].is_string()
            && recorded(&env, "run_resumed")
            && step_state(&show, "train").as_deref() == Some("interrupted")
    });
    let out = env.run(&[
        "mark",
        &id,
        "train",
        "--state",
        "succeeded",
        "--reason",
        "it trained before the crash",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    // `eval` is handed the model the attempt left; `publish` waits for the report.
    env.wait_step(&id, "eval", "succeeded", 30);
    assert_eq!(
        std::fs::read(env.path().join("got")).unwrap(),
        b"weights",
        "eval read the file the interrupted attempt made"
    );
    env.wait_step(&id, "publish", "held", 30);
    let show = env.show(&id);
    assert!(
        show["errors"]
            .as_array()
            .is_none_or(|e| e.iter().all(|e| e["kind"] != "template_error")),
        "no template error: {show:#}"
    );
    // Why the report was not kept is on record, on `train`, naming the file.
    not_kept_on_record(&show, true);
    let kept = step_field(&show, "train", "artifacts");
    assert_eq!(kept.as_array().map(Vec::len), Some(1), "{show:#}");
    assert_eq!(kept[0]["name"], "model", "{show:#}");
    let inbox = text(&env.run(&["inbox"]).stdout);
    assert!(
        inbox.contains("`steps.train.artifacts.report` is missing"),
        "{inbox}"
    );
    assert!(!env.path().join("published").exists());
    let runs = std::fs::read_to_string(env.path().join("train.runs")).unwrap();
    assert_eq!(runs.lines().count(), 1, "train ran once");

    let give = format!("baton mark {id} train --state succeeded --artifact report=PATH");
    assert!(inbox.contains(&give), "{inbox}");

    // An artifact the step does not declare is refused at the command.
    std::fs::write(env.path().join("rep.txt"), "the report, rebuilt").unwrap();
    let mark_with = |artifact: &str| {
        env.run(&[
            "mark",
            &id,
            "train",
            "--state",
            "succeeded",
            "--artifact",
            artifact,
            "--reason",
            "the report, rebuilt by hand",
        ])
    };
    let out = mark_with("nope=rep.txt");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("`train` declares no artifact `nope`"),
        "{}",
        text(&out.stderr)
    );
    // Given with a second mark: kept by its digest, and `publish` is handed it.
    let out = mark_with("report=rep.txt");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let done = wait_child(resumed, 60);
    assert_eq!(done.status.code(), Some(0), "{}", text(&done.stderr));
    assert_eq!(
        std::fs::read_to_string(env.path().join("published")).unwrap(),
        "the report, rebuilt"
    );
    let show = env.show(&id);
    let kept = step_field(&show, "train", "artifacts");
    assert_eq!(kept.as_array().map(Vec::len), Some(2), "{show:#}");
    // Given, the record of what was not kept closes.
    not_kept_on_record(&show, false);
    let runs = std::fs::read_to_string(env.path().join("train.runs")).unwrap();
    assert_eq!(runs.lines().count(), 1, "train ran once");
    let verify = env.run(&["audit", "verify", &id]);
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify.stdout));
}

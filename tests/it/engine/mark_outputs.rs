//! Issue 55 point 5 through the real binary: a step that is not idempotent, interrupted
//! by a kill -9 of its engine after it wrote an output, is marked succeeded: the mark
//! keeps that output (the takeover read it where the record says the attempt's
//! `$BATON_OUTPUT` is), the step reading an output it still lacks is held for a person
//! (in `baton inbox`, naming the output and the command that supplies it), never
//! failed with `template_error`, and a mark with `--output-file` supplies it and the
//! run goes on, the step never having run twice.
use crate::helpers::*;

const WF: &str = r#"name = "marked"
[[step]]
id = "deploy"
idempotent = false
run = '''echo ran >> deploy.runs; printf 'version=v1\n' >> "$BATON_OUTPUT"; touch wrote; sleep 1000'''
[[step]]
id = "use"
needs = ["deploy"]
env = { V = "${{ steps.deploy.outputs.version }}", U = "${{ steps.deploy.outputs.url }}" }
run = '''printf '%s|%s' "$V" "$U" > used'''
"#;

/// Whether an event of `kind` is on record.
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

/// The run's record once the engine that took it over recorded deploy interrupted (not
/// only read so of a run whose engine is gone, or of one a takeover holds before its
/// first commit).
fn recorded_interrupted(env: &Env, id: &str) -> Result<serde_json::Value, String> {
    let show = env.show(id);
    if show["driven_by"].is_string()
        && recorded(env, "run_resumed")
        && step_state(&show, "deploy").as_deref() == Some("interrupted")
    {
        Ok(show)
    } else {
        Err(format!("{show:#}"))
    }
}

/// Whether the attempt's process is on record (its `$BATON_OUTPUT` with it).
fn process_recorded(env: &Env) -> bool {
    recorded(env, "step_process")
}

#[test]
fn a_mark_after_a_crash_keeps_the_outputs_and_a_missing_one_waits_for_a_person() {
    let env = Env::new();
    let wf = env.workflow("marked.toml", WF);
    let mut engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    wait_until(
        "the step's output written and its process on record",
        secs(20),
        || env.path().join("wrote").exists() && process_recorded(&env),
    );
    let _ = engine.kill(); // SIGKILL: nothing of the engine's clean-up runs
    let _ = engine.wait();

    let resumed = env.spawn(&["resume", &id, "--headless"]);
    let show = wait_until(
        "the takeover to record deploy interrupted",
        secs(30),
        || recorded_interrupted(&env, &id),
    );
    assert_eq!(
        step_field(&show, "deploy", "outputs")["version"],
        "v1",
        "the output written before the crash is kept: {show:#}"
    );
    let out = env.run(&[
        "mark",
        &id,
        "deploy",
        "--state",
        "succeeded",
        "--reason",
        "it deployed before the crash",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    // `use` reads `url`, which `deploy` never wrote: held for a person, not failed.
    env.wait_step(&id, "use", "held", 30);
    let show = env.show(&id);
    assert!(
        show["errors"]
            .as_array()
            .is_none_or(|e| e.iter().all(|e| e["kind"] != "template_error")),
        "no template error: {show:#}"
    );
    let supply = format!("baton mark {id} deploy --state succeeded --output url=… --reason …");
    let inbox = text(&env.run(&["inbox"]).stdout);
    assert!(
        inbox.contains("`steps.deploy.outputs.url` is missing"),
        "{inbox}"
    );
    assert!(inbox.contains(&supply), "{inbox}");

    // A name `$BATON_OUTPUT` would not take is refused at the command.
    let out = env.run(&[
        "mark",
        &id,
        "deploy",
        "--state",
        "succeeded",
        "--output",
        "no good=x",
        "--reason",
        "r",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("output `no good` is not a name $BATON_OUTPUT takes"),
        "{}",
        text(&out.stderr)
    );
    let url = "https://app.example/?q='$HOME'&x=`id`";
    std::fs::write(env.path().join("url.txt"), url).unwrap();
    let out = env.run(&[
        "mark",
        &id,
        "deploy",
        "--state",
        "succeeded",
        "--output-file",
        "url=url.txt",
        "--reason",
        "the url it printed",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let done = wait_child(resumed, 60);
    assert_eq!(done.status.code(), Some(0), "{}", text(&done.stderr));
    assert_eq!(
        std::fs::read_to_string(env.path().join("used")).unwrap(),
        format!("v1|{url}")
    );
    let runs = std::fs::read_to_string(env.path().join("deploy.runs")).unwrap();
    assert_eq!(runs.lines().count(), 1, "deploy ran once");
    let marks = env.audit_rows(&id, "mark");
    assert_eq!(marks.len(), 2, "{marks:#?}");
    assert_eq!(marks[1]["details"]["outputs"]["url"], url, "on record");
    let verify = env.run(&["audit", "verify", &id]);
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify.stdout));
}

/// A run of `build` (idempotent) and `ship` (not), both running: its engine and id.
fn two_steps_running(env: &Env) -> (std::process::Child, String) {
    let wf = env.workflow(
        "two.toml",
        r#"name = "two"
[[step]]
id = "build"
run = "touch build.started; sleep 1000"
[[step]]
id = "ship"
idempotent = false
run = "touch ship.started; sleep 1000"
"#,
    );
    let engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    wait_until("both steps started", secs(20), || {
        env.path().join("build.started").exists() && env.path().join("ship.started").exists()
    });
    (engine, id)
}

/// An interrupted step that is idempotent waits for `baton resume` (which runs it
/// again), and the inbox says so; a step that is not waits for a mark or a retry.
#[test]
fn the_inbox_offers_resume_for_an_interrupted_idempotent_step() {
    let env = Env::new();
    let (engine, id) = two_steps_running(&env);
    // SAFETY: a plain kill(2) of the engine this test started.
    unsafe { libc::kill(engine.id() as i32, libc::SIGTERM) };
    let out = wait_child(engine, 30);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out.stderr));
    env.wait_step(&id, "build", "interrupted", 10);
    let inbox: serde_json::Value =
        serde_json::from_slice(&env.run(&["inbox", "--json"]).stdout).unwrap();
    let commands = |step: &str| -> Vec<String> {
        inbox
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["step"] == step)
            .unwrap_or_else(|| panic!("{step} is not in the inbox: {inbox:#}"))["commands"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap_or_default().to_string())
            .collect()
    };
    let resume = format!("baton resume {id}");
    assert_eq!(commands("build").first(), Some(&resume), "{inbox:#}");
    assert!(!commands("ship").contains(&resume), "{inbox:#}");
    assert!(
        commands("ship").contains(&format!(
            "baton mark {id} ship --state succeeded --reason …"
        )),
        "{inbox:#}"
    );
}

/// The same after a kill -9 (found by the chaos campaign, tests/it/chaos): the steps
/// the dead engine left running read interrupted, and the inbox offers their resume
/// (it listed neither: they were recorded running, and only the readers' liveness
/// says interrupted).
#[test]
fn the_inbox_offers_resume_for_the_steps_of_an_engine_killed_with_dash_nine() {
    let env = Env::new();
    let (mut engine, id) = two_steps_running(&env);
    env.wait_step(&id, "ship", "running", 10);
    let _ = engine.kill(); // SIGKILL
    let _ = engine.wait();
    env.wait_step(&id, "build", "interrupted", 10);
    let inbox: serde_json::Value =
        serde_json::from_slice(&env.run(&["inbox", "--json"]).stdout).unwrap();
    // WAITS says what moves it on: `resume` where resume runs it again, `mark` where
    // only a person can say what it did.
    let item = |step: &str| {
        let kind = if step == "build" { "resume" } else { "mark" };
        inbox
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["step"] == step && w["kind"] == kind)
            .unwrap_or_else(|| panic!("{step} is not in the inbox: {inbox:#}"))
            .clone()
    };
    assert_eq!(
        item("build")["commands"][0],
        format!("baton resume {id}").as_str(),
        "{inbox:#}"
    );
    let mark = format!("baton mark {id} ship --state succeeded --reason …");
    assert!(
        item("ship")["commands"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| *c == mark.as_str()),
        "{inbox:#}"
    );
    // The steps the dead engine left are stopped.
    let out = env.run(&["cancel", &id]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
}

/// The takeover reads the lost attempt's `$BATON_OUTPUT` whichever root the dead engine
/// made it in: one resumed with a `TMPDIR` (its own files root there) still keeps the
/// output a killed engine without one wrote in its `XDG_RUNTIME_DIR`.
#[test]
fn a_takeover_with_another_tmpdir_keeps_the_outputs_the_killed_engine_wrote() {
    let env = Env::new();
    let wf = env.workflow("marked.toml", WF);
    let mut engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    wait_until(
        "the step's output written and its process on record",
        secs(20),
        || env.path().join("wrote").exists() && process_recorded(&env),
    );
    let _ = engine.kill(); // SIGKILL: nothing of the engine's clean-up runs
    let _ = engine.wait();

    let tmp = env.path().join("tmp");
    std::fs::create_dir_all(&tmp).expect("the resume's TMPDIR");
    let mut resumed = env
        .cmd()
        .args(["resume", &id, "--headless"])
        .env("TMPDIR", &tmp)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn the resume");
    let show = wait_until(
        "the takeover to record deploy interrupted",
        secs(30),
        || recorded_interrupted(&env, &id),
    );
    let _ = resumed.kill();
    let _ = resumed.wait();
    assert_eq!(
        step_field(&show, "deploy", "outputs")["version"],
        "v1",
        "the output written before the crash is kept: {show:#}"
    );
}

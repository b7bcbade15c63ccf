//! `baton approve RUN STEP --input NAME=VALUE`: a wrong, missing or unknown input is
//! refused at the command line (exit 2) before anything is recorded; a right one is in
//! the audit, `show` and `show --json`, and the gated step reads it.
use crate::helpers::*;

const WF: &str = r#"name = "router"
[[step]]
id = "ship"
run = "printf '%s %s' \"$MODEL\" \"$TAG\" > picked"
env = { MODEL = "${{ steps.ship.inputs.model }}", TAG = "${{ steps.ship.inputs.tag }}" }
[step.gate]
prompt = "Which model?"
[step.gate.inputs]
model = { type = "enum", values = ["pro", "pro-1.5", "flash"], default = "pro" }
tag = { type = "string", required = true, pattern = '^v\d+$' }
"#;

#[test]
fn approve_checks_the_inputs_before_anything_is_recorded_and_records_them() {
    let env = Env::new();
    let wf = env.workflow("router.toml", WF);
    let engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    env.wait_step(&id, "ship", "waiting_approval", 20);

    for (args, says) in [
        (vec![], "input `tag` is required: pass --input tag="),
        (
            vec!["--input", "tag=1.0"],
            "does not match the pattern ^v\\d+$",
        ),
        (
            vec!["--input", "tag=v1", "--input", "model=ultra"],
            "\"ultra\" is not one of \"pro\", \"pro-1.5\", \"flash\"",
        ),
        (
            vec!["--input", "tag=v1", "--input", "modle=pro"],
            "unknown input `modle`: did you mean `model`?",
        ),
    ] {
        let mut a = vec!["approve", id.as_str(), "ship"];
        a.extend(args);
        let out = env.run(&a);
        assert_eq!(out.status.code(), Some(2), "{a:?}: {}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains(says),
            "{a:?}: {}",
            text(&out.stderr)
        );
    }
    // The inbox's command to decide names the input an approval must give (`tag`:
    // required, no default), and not the one with a default.
    let inbox = text(&env.run(&["inbox"]).stdout);
    assert!(
        inbox.contains(&format!("baton approve {id} ship --input tag=… --reason …")),
        "{inbox}"
    );
    let audit = text(&env.run(&["audit", &id]).stdout);
    assert!(
        !audit.contains("approval_vote"),
        "nothing recorded:\n{audit}"
    );
    assert!(!audit.contains("refused"), "not even a refusal:\n{audit}");

    let out = env.run(&[
        "approve",
        &id,
        "ship",
        "--input",
        "tag=v7",
        "--input",
        "model=flash",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let done = wait_child(engine, 30);
    assert_eq!(done.status.code(), Some(0), "{}", text(&done.stdout));
    assert_eq!(
        std::fs::read_to_string(env.path().join("picked")).unwrap(),
        "flash v7"
    );
    let audit = text(&env.run(&["audit", &id, "--json"]).stdout);
    assert!(
        audit.contains("\"inputs\":{\"model\":\"flash\",\"tag\":\"v7\"}"),
        "{audit}"
    );
    let show = env.show(&id);
    assert_eq!(step_field(&show, "ship", "inputs")["model"], "flash");
    let human = text(&env.run(&["show", &id]).stdout);
    assert!(
        human.contains("approved ship with inputs: model=flash, tag=v7"),
        "{human}"
    );
}

/// The headless waiting line, as the engine prints it and `baton events` reads it
/// back, gives the approve command with the inputs an approval must give (required,
/// no default), as `baton inbox` does: it works as copied.
#[test]
fn the_waiting_line_names_the_required_inputs() {
    let env = Env::new();
    let wf = env.workflow("router.toml", WF);
    let mut engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    env.wait_step(&id, "ship", "waiting_approval", 20);
    let want = format!("`baton approve {id} ship --input tag=… --reason …`");
    let events = text(&env.run(&["events", &id]).stdout);
    assert!(events.contains(&want), "{events}");
    let _ = engine.kill();
    let out = engine.wait_with_output().expect("engine output");
    let printed = text(&out.stdout);
    assert!(printed.contains(&want), "{printed}");
}

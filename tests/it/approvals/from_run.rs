//! Issue 44 point 1, through the real binary: a gate input's `default` and `values`
//! are templates over params and the gate's ancestors' outputs, rendered when the gate
//! opens; `approve` checks against what was rendered, the step gets the rendered value
//! (never the template), and `validate` checks the references at FILE:LINE:COL.
use crate::helpers::*;

const SHARDS: &str = r#"name = "shards"
[params.region]
default = "eu"
[[step]]
id = "list"
run = '''echo 'dbs=["orders","users"]' >> "$BATON_OUTPUT"; echo first=users >> "$BATON_OUTPUT"'''
[[step]]
id = "pick"
needs = ["list"]
run = 'printf "%s|%s" "$DB" "$SQL" > picked'
env = { DB = "${{ steps.pick.inputs.db }}", SQL = "${{ steps.pick.inputs.sql }}" }
[step.gate.inputs]
db = { type = "enum", values = "${{ steps.list.outputs.dbs }}", default = "${{ steps.list.outputs.first }}" }
sql = { default = "SELECT 1 -- ${{ params.region }}" }
"#;

#[test]
fn inputs_take_their_choices_and_defaults_from_the_run() {
    let env = Env::new();
    let wf = env.workflow("shards.toml", SHARDS);
    let plan = text(&env.run(&["plan", wf.to_str().unwrap()]).stdout);
    assert!(
        plan.contains("asks db: enum() values from ${{ steps.list.outputs.dbs }} default from ${{ steps.list.outputs.first }}"),
        "{plan}"
    );
    let engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    env.wait_step(&id, "pick", "waiting_approval", 20);

    // Another process's `approve` checks against the choices this opening rendered.
    let out = env.run(&["approve", &id, "pick", "--input", "db=nope"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("\"nope\" is not one of \"orders\", \"users\""),
        "{}",
        text(&out.stderr)
    );
    // The opening on the audit chain says what it offered.
    let audit = text(&env.run(&["audit", &id, "--json"]).stdout);
    assert!(
        audit.contains(r#""inputs":{"db":{"default":"users","values":["orders","users"]},"sql":{"default":"SELECT 1 -- eu"}}"#),
        "{audit}"
    );

    let out = env.run(&["approve", &id, "pick"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let done = wait_child(engine, 30);
    assert_eq!(done.status.code(), Some(0), "{}", text(&done.stdout));
    assert_eq!(
        std::fs::read_to_string(env.path().join("picked")).unwrap(),
        "users|SELECT 1 -- eu"
    );
    let human = text(&env.run(&["show", &id]).stdout);
    assert!(
        human.contains("approved pick with inputs: db=users, sql=SELECT 1 -- eu"),
        "{human}"
    );
}

#[test]
fn a_list_the_run_did_not_make_fails_the_step_and_passes_no_template_on() {
    let env = Env::new();
    let made = SHARDS.replace(r#"dbs=["orders","users"]"#, "dbs=orders");
    assert_ne!(made, SHARDS);
    let wf = env.workflow("shards.toml", &made);
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let id = run_id_of(&text(&out.stdout));
    let show = env.show(&id);
    assert_eq!(step_state(&show, "pick").as_deref(), Some("failed"));
    let events = text(&env.run(&["events", &id]).stdout);
    assert!(
        events.contains("pick error template_error [high]: gate input: input `db`: its values render to \"orders\", which is not a JSON list of strings"),
        "{events}"
    );
    assert!(
        !events.contains("gate:"),
        "the gate never opened:\n{events}"
    );
    assert!(!env.path().join("picked").exists(), "the step never ran");
}

#[test]
fn validate_checks_the_references_at_file_line_col() {
    let env = Env::new();
    let wf = env.workflow(
        "bad.toml",
        r#"name = "bad"
[[step]]
id = "a"
run = 'echo v=1 >> "$BATON_OUTPUT"'
[[step]]
id = "b"
run = "true"
[step.gate.inputs]
x = { default = "${{ steps.a.outputs.v }}" }
y = { type = "enum", values = "${{ steps.nope.outputs.v }}" }
z = { default = "${{ steps.b.inputs.x }}" }
w = { default = "${{ params.region }}" }
u = { type = "string", values = "${{ steps.a.outputs.v }}" }
"#,
    );
    let out = env.run(&["validate", wf.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    let file = wf.to_str().unwrap();
    for want in [
        format!(
            "{file}:9:17: error: step `b` reads `steps.a.outputs.v`, but `a` is not among its ancestors"
        ),
        format!("{file}:10:31: error: template refers to step \"nope\", which is not a step"),
        format!(
            "{file}:11:17: error: the `default` of an input of `b`'s gate reads the gate's own input `x`"
        ),
        format!("{file}:12:17: error: template refers to unknown parameter `region`"),
        format!(
            "{file}:13:33: error: input `u` of the gate of step `b` has `values` but is not an enum"
        ),
    ] {
        assert!(err.contains(&want), "want {want}\n{err}");
    }
}

/// An engine killed (-9) while the gate is open: the resumed run asks what the opening
/// rendered (recorded with it), the list step does not run again, and the step gets
/// the approved choice.
#[test]
fn a_killed_engine_resumes_with_the_choices_its_opening_rendered() {
    let env = Env::new();
    let made = SHARDS.replace(
        r#"echo first=users >> "$BATON_OUTPUT"'''"#,
        r#"echo first=users >> "$BATON_OUTPUT"; echo ran >> list-ran'''"#,
    );
    assert_ne!(made, SHARDS);
    let wf = env.workflow("shards.toml", &made);
    let mut engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    env.wait_step(&id, "pick", "waiting_approval", 20);
    engine.kill().unwrap();
    engine.wait().unwrap();
    let resumed = env.spawn(&["resume", &id, "--headless"]);
    // The resumed engine holds the run before the approvals arrive.
    wait_until("the resume", secs(20), || {
        let events = text(&env.run(&["events", &id]).stdout);
        if events.contains("resumed") {
            Ok(())
        } else {
            Err(events)
        }
    });
    let out = env.run(&["approve", &id, "pick", "--input", "db=mongo"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("\"mongo\" is not one of \"orders\", \"users\""),
        "{}",
        text(&out.stderr)
    );
    let out = env.run(&["approve", &id, "pick", "--input", "db=orders"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let done = wait_child(resumed, 30);
    assert_eq!(done.status.code(), Some(0), "{}", text(&done.stdout));
    assert_eq!(
        std::fs::read_to_string(env.path().join("picked")).unwrap(),
        "orders|SELECT 1 -- eu"
    );
    assert_eq!(
        std::fs::read_to_string(env.path().join("list-ran")).unwrap(),
        "ran\n",
        "the list step ran once"
    );
}

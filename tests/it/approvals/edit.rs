//! Issue 44 point 2, the command line: an approver edits the proposed values before
//! approving (`--input`, `--input-file`); the step receives exactly the approved
//! values; the audit keeps the proposal and the approved values and `show` says which
//! were changed.
use crate::helpers::*;

const WF: &str = r#"name = "fix"
[[step]]
id = "draft"
run = '''printf 'sql=SELECT * FROM users\n' >> "$BATON_OUTPUT"'''
[[step]]
id = "apply"
needs = ["draft"]
run = 'printf "%s" "$SQL" > applied; printf "%s" "$LIMIT" > limit'
env = { SQL = "${{ steps.apply.inputs.sql }}", LIMIT = "${{ steps.apply.inputs.limit }}" }
[step.gate.inputs]
sql = { default = "${{ steps.draft.outputs.sql }}", description = "the statement to run" }
limit = { type = "int", default = 10 }
"#;

#[test]
fn an_input_file_replaces_the_proposal_and_the_record_says_so() {
    let env = Env::new();
    let wf = env.workflow("fix.toml", WF);
    let engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    env.wait_step(&id, "apply", "waiting_approval", 20);

    // Several lines, quotes and a `$`: passed on byte for byte, never as shell code.
    let fixed = "SELECT id, \"name\"\nFROM users\nWHERE note = '$HOME';\n";
    std::fs::write(env.path().join("fix.sql"), fixed).unwrap();
    let out = env.run(&["approve", &id, "apply", "--input-file", "sql=missing.sql"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--input-file sql=missing.sql: No such file"),
        "{}",
        text(&out.stderr)
    );
    let out = env.run(&[
        "approve",
        &id,
        "apply",
        "--input",
        "sql=x",
        "--input-file",
        "sql=fix.sql",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("given by both --input and --input-file"));

    let out = env.run(&[
        "approve",
        &id,
        "apply",
        "--input-file",
        "sql=fix.sql",
        "--reason",
        "only the columns we need",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let done = wait_child(engine, 30);
    assert_eq!(done.status.code(), Some(0), "{}", text(&done.stdout));
    assert_eq!(
        std::fs::read_to_string(env.path().join("applied")).unwrap(),
        fixed
    );
    assert_eq!(
        std::fs::read_to_string(env.path().join("limit")).unwrap(),
        "10"
    );

    let audit: serde_json::Value =
        serde_json::from_slice(&env.run(&["audit", &id, "--json"]).stdout).unwrap();
    let vote = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["action"] == "approval_vote")
        .expect("the vote");
    let details = &vote["details"];
    assert_eq!(details["inputs"]["sql"], fixed);
    assert_eq!(details["proposed"]["sql"], "SELECT * FROM users");
    assert!(details["proposed"].get("limit").is_none(), "{details}");

    let human = text(&env.run(&["show", &id]).stdout);
    assert!(
        human.contains("(changed from the proposal: sql (was \"SELECT * FROM users\"))"),
        "{human}"
    );
    let show = env.show(&id);
    assert_eq!(
        step_field(&show, "apply", "changed_inputs")["sql"],
        "SELECT * FROM users"
    );
}

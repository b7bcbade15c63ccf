//! Issue 55 point 6, the command line: an approval input holds what an output holds
//! (1 MiB). A proposal the run drafted (a 200 KB output, the input's default), an
//! `--input` of 120 KB and an `--input-file` of 200 KB, with quotes, `$` and
//! backquotes, are approved and reach the step byte for byte (in the environment
//! under its limit, through `$BATON_FILE_<NAME>` above it) and are kept whole on
//! record.
use crate::helpers::*;

/// Reads each input from where it came: its file when `$BATON_FILE_<NAME>` is set,
/// else the variable itself; and says which.
const WF: &str = r#"name = "big-inputs"
[[step]]
id = "draft"
run = '''printf 'sql=' >> "$BATON_OUTPUT"; cat proposal.sql >> "$BATON_OUTPUT"'''
[[step]]
id = "apply"
needs = ["draft"]
run = '''
put() { if [ -n "$2" ]; then cp "$2" "got.$1"; echo file > "how.$1"; else printf '%s' "$3" > "got.$1"; echo env > "how.$1"; fi; }
put sql "${BATON_FILE_SQL:-}" "${SQL:-}"
put note "${BATON_FILE_NOTE:-}" "${NOTE:-}"
put patch "${BATON_FILE_PATCH:-}" "${PATCH:-}"
'''
env = { SQL = "${{ steps.apply.inputs.sql }}", NOTE = "${{ steps.apply.inputs.note }}", PATCH = "${{ steps.apply.inputs.patch }}" }
[step.gate]
prompt = "Run the drafted migration?"
[step.gate.inputs]
sql = { default = "${{ steps.draft.outputs.sql }}", description = "the migration" }
note = { default = "none" }
patch = { default = "none" }
"#;

#[test]
fn a_proposal_an_input_and_an_input_file_as_big_as_an_output_are_approved_whole() {
    let env = Env::new();
    let proposal = hostile_text("", 200_000, false);
    std::fs::write(env.path().join("proposal.sql"), &proposal).unwrap();
    let note = hostile_text("", 120_000, true);
    let patch = hostile_text("", 200_000, true);
    std::fs::write(env.path().join("patch.diff"), &patch).unwrap();
    let wf = env.workflow("big.toml", WF);
    let engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    env.wait_step(&id, "apply", "waiting_approval", 30);

    // More than an output holds is refused at the command, naming the bound.
    std::fs::write(env.path().join("huge"), "y".repeat((1 << 20) + 1)).unwrap();
    let out = env.run(&["approve", &id, "apply", "--input-file", "patch=huge"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("more than 1048576 bytes (1 MiB, what a step's output holds)"),
        "{}",
        text(&out.stderr)
    );

    let arg = format!("note={note}");
    let out = env.run(&[
        "approve",
        &id,
        "apply",
        "--input",
        &arg,
        "--input-file",
        "patch=patch.diff",
        "--reason",
        "as drafted",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let done = wait_child(engine, 60);
    assert_eq!(done.status.code(), Some(0), "{}", text(&done.stdout));
    let got = |name: &str| std::fs::read_to_string(env.path().join(format!("got.{name}"))).unwrap();
    let how = |name: &str| std::fs::read_to_string(env.path().join(format!("how.{name}"))).unwrap();
    assert!(
        got("sql") == proposal,
        "the proposal reached the step whole"
    );
    assert!(got("note") == note, "the --input reached the step whole");
    assert!(
        got("patch") == patch,
        "the --input-file reached the step whole"
    );
    assert!(
        !env.path().join("pwned").exists(),
        "a value is never shell code"
    );
    // Under the environment's limit in the environment, above it by file.
    assert_eq!(how("note").trim(), "env");
    assert_eq!(how("sql").trim(), "file");
    assert_eq!(how("patch").trim(), "file");

    // Kept whole on record: the vote in the audit, the step's inputs in `show`.
    let vote = env.audit_rows(&id, "approval_vote").remove(0);
    let inputs = &vote["details"]["inputs"];
    assert!(inputs["sql"] == proposal.as_str());
    assert!(inputs["note"] == note.as_str());
    assert!(inputs["patch"] == patch.as_str());
    let show = env.show(&id);
    assert!(step_field(&show, "apply", "inputs")["patch"] == patch.as_str());
    let verify = env.run(&["audit", "verify", &id]);
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify.stdout));
}

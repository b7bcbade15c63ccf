//! Issue 44 point 4, through the real binary: a gate's `auto` rules decide when it
//! opens (actor `policy`, the rule named on the chain), `plan` and `validate` list
//! them, and `validate` refuses a rule that would approve a signed gate.
use crate::helpers::*;

const AGENT: &str = r#"name = "agent"
[params.cmd]
default = "ls"
[tools.shell]
run = 'sh -c "$CMD" > ran'
params = { CMD = { type = "string", required = true } }
[[step]]
id = "think"
run = 'echo "cmd=${BATON_PARAM_CMD}" >> "$BATON_OUTPUT"'
[[step]]
id = "exec"
needs = ["think"]
uses = "shell"
with = { CMD = "${{ steps.think.outputs.cmd }}" }
[step.gate]
auto = [
  { if = "starts_with(with.CMD, 'rm ')", decide = "reject", reason = "never delete" },
  { if = "with.CMD == 'echo hi'", decide = "approve", reason = "harmless" },
]
"#;

#[test]
fn plan_and_validate_list_the_rules() {
    let env = Env::new();
    let wf = env.workflow("agent.toml", AGENT);
    let out = env.run(&["validate", wf.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(
        said.contains("  auto: exec rule 1: if starts_with(with.CMD, 'rm ') then reject (never delete)\n  auto: exec rule 2: if with.CMD == 'echo hi' then approve (harmless)\n"),
        "{said}"
    );
    let plan = text(&env.run(&["plan", wf.to_str().unwrap()]).stdout);
    assert!(
        plan.contains("    auto rule 2: if with.CMD == 'echo hi' then approve (harmless)"),
        "{plan}"
    );
}

#[test]
fn a_rule_approves_or_rejects_as_policy_and_the_chain_names_it() {
    let env = Env::new();
    let wf = env.workflow("agent.toml", AGENT);
    let out = env.run(&[
        "run",
        wf.to_str().unwrap(),
        "--headless",
        "--param",
        "cmd=echo hi",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(
        std::fs::read_to_string(env.path().join("ran")).unwrap(),
        "hi\n"
    );
    let id = run_id_of(&text(&out.stdout));
    let audit = text(&env.run(&["audit", &id, "--json"]).stdout);
    assert!(audit.contains(r#""actor":"policy""#), "{audit}");
    assert!(
        audit.contains(
            "rule 2: harmless; condition true: with.CMD == 'echo hi' (with.CMD = \\\"echo hi\\\")"
        ),
        "{audit}"
    );
    let verify = env.run(&["audit", "verify"]);
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify.stderr));

    let out = env.run(&[
        "run",
        wf.to_str().unwrap(),
        "--headless",
        "--param",
        "cmd=rm -rf nothing",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let id = run_id_of(&text(&out.stdout));
    let show = env.show(&id);
    assert_eq!(step_state(&show, "exec").as_deref(), Some("rejected"));
    let human = text(&env.run(&["show", &id]).stdout);
    assert!(
        human.contains("rejected by policy: rule 1: never delete"),
        "{human}"
    );
}

#[test]
fn validate_refuses_a_rule_that_would_approve_a_signed_gate() {
    let env = Env::new();
    std::fs::write(
        env.path().join("allowed_signers"),
        "alice@example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOv3IGzOfDk1vYGUzgh1wHpvPfvXGqS4TIRs2xNH+LGx\n",
    )
    .unwrap();
    let wf = env.workflow(
        "signed.toml",
        r#"name = "signed"
[approvals]
allowed_signers = "allowed_signers"
[[step]]
id = "deploy"
run = "true"
if = "with.X == 'a'"
[step.gate]
approvers = ["alice@example.com"]
signed = true
auto = [{ if = "run.id != ''", decide = "approve" }, { if = "with.X == ''", decide = "reject" }]
"#,
    );
    let out = env.run(&["validate", wf.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    let file = wf.to_str().unwrap();
    for want in [
        format!("{file}:7:7: error: `if` of step `deploy` reads `with.X`"),
        format!(
            "{file}:11:41: error: rule 1 of the `auto` of the gate of step `deploy` approves a signed gate"
        ),
        format!(
            "{file}:11:62: error: `if` of rule 2 of the `auto` of the gate of step `deploy` reads `with.X`, which the step's `with` does not set"
        ),
    ] {
        assert!(err.contains(&want), "want {want}\n{err}");
    }
}

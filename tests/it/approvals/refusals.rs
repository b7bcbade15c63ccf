//! Issue 40 point 3: a refused command says one wording (the core's `Refusal`) and, with
//! `--json`, a stable code a script reads; the audit shows the code of every refusal
//! it records. A command wrong as given (no reason) is refused by the core, exit 2,
//! before anything is recorded.
use crate::helpers::*;

const WF: &str = r#"
name = "refusable"
[[step]]
id = "gate"
gate = { prompt = "Go?" }
"#;

fn json_line(out: &std::process::Output) -> serde_json::Value {
    let stdout = text(&out.stdout);
    let line = stdout.lines().next().unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[test]
fn scripts_read_the_refusal_code_from_json_and_the_audit() {
    let env = Env::new();
    let wf = env.workflow("w.toml", WF);
    let engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    env.wait_step(&id, "gate", "waiting_approval", 20);

    // No reason: the core's refusal, exit 2 as a usage error, code `reason_required`.
    let out = env.run(&["reject", &id, "gate", "--reason", " ", "--json"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let v = json_line(&out);
    assert_eq!(v["run_id"], id.as_str(), "{v}");
    assert_eq!(v["refused"]["code"], "reason_required", "{v}");
    assert_eq!(v["refused"]["message"], "a reason is required to reject");
    // The same words without --json, on stderr as usage errors are.
    let out = env.run(&["reject", &id, "gate", "--reason", ""]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("refused: a reason is required to reject"),
        "{}",
        text(&out.stderr)
    );

    // A refusal on the run's state: exit 1, its code, and on record with it.
    let out = env.run(&["retry", &id, "gate", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let v = json_line(&out);
    assert_eq!(v["refused"]["code"], "not_retryable", "{v}");
    assert_eq!(
        v["refused"]["message"],
        "`gate` is waiting_approval; only failed, rejected, cancelled or interrupted steps can be retried"
    );
    let out = env.run(&["approve", &id, "nope", "--json"]);
    assert_eq!(json_line(&out)["refused"]["code"], "no_such_step");

    let audit: serde_json::Value =
        serde_json::from_str(&text(&env.run(&["audit", &id, "--json"]).stdout)).unwrap();
    let refused: Vec<&serde_json::Value> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "command_refused")
        .collect();
    let codes: Vec<&str> = refused
        .iter()
        .map(|r| r["refused"]["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["not_retryable", "no_such_step"], "{audit:#}");
    assert_eq!(
        refused[1]["refused"]["message"],
        "no step named `nope` in this run"
    );
    assert_eq!(refused[1]["details"]["code"], "no_such_step");
    // The decision refused and its subject (issue 56 point 4).
    assert_eq!(
        (
            &refused[0]["refused"]["decision"],
            &refused[0]["refused"]["subject"]
        ),
        (
            &serde_json::json!("retry"),
            &serde_json::json!(format!("run {id} step gate"))
        ),
        "{audit:#}"
    );
    assert_eq!(refused[1]["refused"]["decision"], "approve", "{audit:#}");
    let table = text(&env.run(&["audit", &id]).stdout);
    assert!(
        table.contains("command_refused approve (no_such_step)"),
        "{table}"
    );
    assert!(
        table.contains("command_refused retry (not_retryable)"),
        "{table}"
    );

    // Accepted, as JSON too; the engine goes on to the run's end.
    let out = env.run(&["reject", &id, "gate", "--reason", "not today", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(json_line(&out)["accepted"]["message"], "rejected `gate`");
    assert_eq!(wait_child(engine, 30).status.code(), Some(1));
}

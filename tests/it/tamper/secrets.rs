//! Issue 11, tried as an attacker: secrets kept raw in the `commands` table, secret
//! outputs passed on as `***`, unset declared secrets, a typed tool parameter fed a
//! wrong value through a template, the audit key in a step's environment, and a step's
//! `dir` changed after its approval.
use crate::helpers::*;

fn all(out: &std::process::Output) -> String {
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

const SECRET: &str = "s3cr3t-token-9f2b";

#[test]
fn a_secret_typed_into_a_reason_is_not_kept_in_the_commands_table() {
    let env = Env::new();
    let (child, id) = env.waiting_at_two_gates_with_secret(SECRET);
    let reason = format!("the token {SECRET} was rotated");
    let out = env.run(&["approve", &id, "deploy", "--reason", &reason]);
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    let out = env.run(&["reject", &id, "other", "--reason", &reason]);
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    assert_eq!(wait_child(child, 30).status.code(), Some(1));
    let conn = rusqlite::Connection::open(env.db()).unwrap();
    let rows: Vec<String> = conn
        .prepare("SELECT json || coalesce(outcome, '') FROM commands")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rows.len(), 2);
    for row in &rows {
        assert!(
            !row.contains(SECRET),
            "a command row keeps the secret: {row}"
        );
        assert!(row.contains("the token *** was rotated"), "{row}");
    }
}

#[test]
fn an_output_holding_a_secret_is_withheld_and_named_not_passed_on_as_stars() {
    let env = Env::new();
    let wf = env.workflow(
        "w.toml",
        r#"
name = "outputs"
secrets = ["API_TOKEN"]
[[step]]
id = "leak"
run = 'echo "token=$API_TOKEN" >> "$BATON_OUTPUT"; echo "fine=ok" >> "$BATON_OUTPUT"'
[[step]]
id = "use"
needs = ["leak"]
run = 'echo "got $T" > used'
env = { T = "${{ steps.leak.outputs.token }}" }
"#,
    );
    let out = env
        .cmd()
        .args(["run", wf.to_str().unwrap(), "--headless"])
        .env("API_TOKEN", SECRET)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", all(&out));
    let id = run_id_of(&text(&out.stdout));
    let show = env.show(&id);
    assert_eq!(step_state(&show, "leak").as_deref(), Some("succeeded"));
    let outputs = step_field(&show, "leak", "outputs");
    assert_eq!(outputs["fine"], "ok");
    assert!(outputs.get("token").is_none(), "{outputs}");
    // The consumer never sees `***`: the output is missing to it.
    assert!(!env.path().join("used").exists());
    assert_eq!(step_state(&show, "use").as_deref(), Some("failed"));
    let errors = show["errors"].as_array().unwrap();
    let named = errors
        .iter()
        .find(|e| {
            e["message"]
                .as_str()
                .unwrap_or("")
                .contains("output `token` contains a secret")
        })
        .unwrap_or_else(|| panic!("no record names the withheld output: {show:#}"));
    assert_eq!(named["severity"], "low", "{named:#}");
    assert!(
        errors
            .iter()
            .any(|e| e["kind"] == "template_error" && e["step"] == "use"),
        "{show:#}"
    );
}

#[test]
fn an_unset_declared_secret_is_an_error_before_the_run_is_created() {
    let env = Env::new();
    let wf = env.workflow(
        "w.toml",
        "name = \"s\"\nsecrets = [\"API_TOKEN\", \"OTHER\"]\n[[step]]\nid = \"a\"\nrun = 'touch ran'\n",
    );
    for value in [None, Some("")] {
        let mut cmd = env.cmd();
        cmd.args(["run", wf.to_str().unwrap(), "--headless"])
            .env("OTHER", "set")
            .env_remove("API_TOKEN");
        if let Some(v) = value {
            cmd.env("API_TOKEN", v);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", all(&out));
        assert!(
            text(&out.stderr).contains("not set in baton's environment: API_TOKEN"),
            "{}",
            all(&out)
        );
    }
    assert!(!env.path().join("ran").exists());
    assert!(!env.db().exists(), "no run (not even a store) was created");
}

#[test]
fn a_typed_tool_parameter_fed_a_wrong_value_through_a_template_fails_the_step() {
    let env = Env::new();
    let wf = env.workflow(
        "w.toml",
        r#"
name = "typed"
[tools.scale]
run = 'echo "scaling to $N" > scaled'
params = { N = { type = "int", required = true } }
[[step]]
id = "count"
run = 'echo "n=abc" >> "$BATON_OUTPUT"'
[[step]]
id = "scale"
needs = ["count"]
uses = "scale"
with = { N = "${{ steps.count.outputs.n }}" }
"#,
    );
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(1), "{}", all(&out));
    assert!(
        !env.path().join("scaled").exists(),
        "the step ran with N=abc"
    );
    let id = run_id_of(&text(&out.stdout));
    let show = env.show(&id);
    let rec = show["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["step"] == "scale")
        .unwrap_or_else(|| panic!("{show:#}"))
        .clone();
    assert_eq!(rec["kind"], "template_error", "{rec:#}");
    let msg = rec["message"].as_str().unwrap();
    for part in ["N", "\"abc\"", "steps.count.outputs.n", "int"] {
        assert!(msg.contains(part), "`{part}` missing from: {msg}");
    }
}

#[test]
fn the_audit_key_never_reaches_a_step_or_its_log() {
    let env = Env::new();
    let key = "audit-key-7c1d-do-not-leak";
    let wf = env.workflow(
        "w.toml",
        "name = \"k\"\n[[step]]\nid = \"dump\"\nrun = 'env > envdump; env'\n",
    );
    let out = env
        .cmd()
        .args(["run", wf.to_str().unwrap(), "--headless"])
        .env("BATON_AUDIT_KEY", key)
        .env("BATON_AUDIT_KEY_ID", "k1")
        .env("BATON_AUDIT_KEYS", format!("old={key}-old"))
        .env("BATON_ENGINE_PARAM_pw", "engine-param-secret")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    let id = run_id_of(&text(&out.stdout));
    let dump = std::fs::read_to_string(env.path().join("envdump")).unwrap();
    assert!(
        dump.contains("BATON_RUN_ID="),
        "the step did get its own env: {dump}"
    );
    for leaked in ["BATON_AUDIT_KEY", key, "engine-param-secret"] {
        assert!(
            !dump.contains(leaked),
            "`{leaked}` reached the step: {dump}"
        );
    }
    let logs = text(&env.run(&["logs", &id, "dump"]).stdout);
    assert!(!logs.contains(key), "{logs}");
}

fn in_dir(dir: &str) -> String {
    format!(
        r#"
name = "dirs"
max_parallel = 1
[[step]]
id = "blocker"
run = 'test -f unblock || sleep 1000'
[[step]]
id = "deploy"
dir = "{dir}"
run = './deploy.sh'
gate = {{ prompt = "run ./deploy.sh?" }}
"#
    )
}

#[test]
fn a_dir_changed_after_the_approval_voids_it() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    for (d, what) in [("safe", "safe"), ("evil", "evil")] {
        let dir = env.path().join(d);
        std::fs::create_dir(&dir).unwrap();
        let script = dir.join("deploy.sh");
        std::fs::write(&script, format!("#!/bin/sh\necho {what} >> ../ran\n")).unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = env.workflow("w.toml", &in_dir("safe"));
    let mut child = env.spawn(&["run", path.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    env.wait_step(&id, "deploy", "waiting_approval", 15);
    let out = env.run(&[
        "approve",
        &id,
        "deploy",
        "--reason",
        "safe/deploy.sh is fine",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    env.wait_step(&id, "deploy", "queued", 10);
    child.kill().unwrap();
    child.wait().unwrap();
    // While no engine runs, the step is pointed at another directory.
    std::fs::write(&path, in_dir("evil")).unwrap();
    std::fs::write(env.path().join("unblock"), "").unwrap();
    let mut resumed = env.spawn(&["resume", &id, "--headless"]);
    env.wait_step(&id, "deploy", "waiting_approval", 20);
    assert!(
        !env.path().join("ran").exists(),
        "evil/deploy.sh ran under the approval of safe/deploy.sh"
    );
    let audit = text(&env.run(&["audit", &id]).stdout);
    assert!(audit.to_lowercase().contains("void"), "{audit}");
    resumed.kill().unwrap();
    resumed.wait().unwrap();
}

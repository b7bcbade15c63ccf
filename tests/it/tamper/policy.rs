//! Issue 56 point 3, through the real binary: the gate policy documented in
//! docs/workflow/gates.md ("Gate policy"), run as written there. It declares its tool
//! and validates without a warning; it approves a read-only command, and a command an
//! agent chains, separates, substitutes or breaks onto a new line behind one is not
//! approved by it: the step waits for a person and nothing of it runs. `validate`
//! warns of an approving rule that tests shell text with `starts_with` or `contains`,
//! and says an undeclared tool once.
use crate::helpers::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

/// The first TOML block of docs/workflow/gates.md under "## Gate policy", as written.
fn documented() -> String {
    let doc = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/workflow/gates.md");
    let doc = std::fs::read_to_string(doc).expect("docs/workflow/gates.md");
    let section = &doc[doc.find("\n## Gate policy\n").expect("the section")..];
    let start = section.find("```toml\n").expect("a toml block") + "```toml\n".len();
    let len = section[start..].find("\n```").expect("the block's end");
    section[start..start + len + 1].to_string()
}

/// An env with the documented workflow and its `agent.sh`, which proposes what
/// `$PROPOSED` says (the agent's output, `cmd=…`).
fn agent(text: &str) -> (Env, PathBuf) {
    let env = Env::new();
    let wf = env.workflow("agent.toml", text);
    let script = env.workflow("agent.sh", "#!/bin/sh\nprintf 'cmd=%s\\n' \"$PROPOSED\"\n");
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    (env, wf)
}

/// The runs' ids, newest first (none before the store exists, or while it is made).
fn run_ids(env: &Env) -> Vec<String> {
    if !env.db().exists() {
        return Vec::new();
    }
    let out = env.run(&["runs", "--json"]);
    let runs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    runs.as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["id"].as_str().map(str::to_string))
        .collect()
}

fn start(env: &Env, wf: &Path, proposed: &str, extra: &[&str]) -> (Child, String) {
    let before = run_ids(env).len();
    let child = env
        .cmd()
        .args(["run", wf.to_str().unwrap(), "--headless"])
        .args(extra)
        .env("PROPOSED", proposed)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn baton run");
    let id = wait_until("the run to appear", secs(15), || {
        let ids = run_ids(env);
        (ids.len() > before).then(|| ids[0].clone())
    });
    (child, id)
}

#[test]
fn the_documented_policy_declares_its_tool_and_validates_without_a_warning() {
    let (env, wf) = agent(&documented());
    let out = env.run(&["validate", wf.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "", "no warning");
    let said = text(&out.stdout);
    assert!(
        said.contains("auto: exec rule 2: if argv(with.CMD) == 'ls'"),
        "{said}"
    );
}

#[test]
fn the_documented_policy_approves_a_read_only_command() {
    let (env, wf) = agent(&documented());
    let (child, id) = start(&env, &wf, "  'ls' ", &[]);
    let out = wait_child(child, 30);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let audit = text(&env.run(&["audit", &id, "--json"]).stdout);
    assert!(audit.contains(r#""actor":"policy""#), "{audit}");
    assert!(audit.contains("rule 2: read-only"), "{audit}");
}

/// Each command starts with one the policy approves, and does more: the gate waits
/// for alice, nothing of it ran, and no rule decided.
#[test]
fn the_documented_policy_is_not_fooled_by_shell() {
    let doc = documented();
    let (env, wf) = agent(&doc);
    std::fs::write(env.path().join("victim"), "keep").unwrap();
    for proposed in [
        "git status && touch pwned",
        "git status; rm -rf victim",
        "git status $(touch pwned)",
        "ls `touch pwned`",
    ] {
        waits_for_a_person(&env, &wf, proposed, &[]);
    }
    // An output is one line, so a newline comes through a param: the same rules.
    let by_param = format!(
        "{}\n[params.cmd]\ntype = \"string\"\n",
        doc.replace("${{ steps.think.outputs.cmd }}", "${{ params.cmd }}")
    );
    assert_ne!(
        by_param,
        format!("{doc}\n[params.cmd]\ntype = \"string\"\n")
    );
    // Another file, so another workflow name: a store refuses a second file naming
    // a workflow it has.
    let by_param = by_param.replacen("name = \"", "name = \"by-param-", 1);
    let wf = env.workflow("by-param.toml", &by_param);
    let proposed = "git status\ntouch pwned";
    waits_for_a_person(
        &env,
        &wf,
        proposed,
        &["--param", &format!("cmd={proposed}")],
    );
}

fn waits_for_a_person(env: &Env, wf: &Path, proposed: &str, extra: &[&str]) {
    let (mut child, id) = start(env, wf, proposed, extra);
    env.wait_step(&id, "exec", "waiting_approval", 20);
    let audit = text(&env.run(&["audit", &id, "--json"]).stdout);
    assert!(
        !audit.contains(r#""actor":"policy""#),
        "{proposed:?}: no rule decided: {audit}"
    );
    assert!(audit.contains("gate_opened"), "{proposed:?}: {audit}");
    assert!(!env.path().join("pwned").exists(), "{proposed:?} ran");
    assert_eq!(
        std::fs::read_to_string(env.path().join("victim")).unwrap(),
        "keep",
        "{proposed:?} ran"
    );
    child.kill().unwrap();
    let _ = child.wait();
}

#[test]
fn validate_warns_of_an_approving_text_test_and_says_an_undeclared_tool_once() {
    let doc = documented();
    // The policy as the issue found it: a prefix test over the shell text.
    let text_test = doc.replace(
        "argv(with.CMD) == 'git status'",
        "starts_with(with.CMD, 'git status')",
    );
    assert_ne!(text_test, doc);
    let (env, wf) = agent(&text_test);
    let out = env.run(&["validate", wf.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "a warning: {}",
        text(&out.stderr)
    );
    let err = text(&out.stderr);
    let line = text_test
        .lines()
        .position(|l| l.contains("starts_with(with.CMD"))
        .unwrap()
        + 1;
    let col = text_test
        .lines()
        .nth(line - 1)
        .unwrap()
        .find("with.CMD, 'git")
        .unwrap()
        + 1;
    let file = wf.to_str().unwrap();
    let want = format!(
        "{file}:{line}:{col}: warning: `if` of rule 2 of the `auto` of the gate of step `exec` approves by `starts_with(with.CMD, …)`"
    );
    assert!(err.contains(&want), "want {want}\n{err}");
    assert_eq!(err.matches("warning:").count(), 1, "{err}");
    assert!(
        err.contains("argv(with.CMD) == 'git status'"),
        "the hint: {err}"
    );
    let json = env.run(&["validate", wf.to_str().unwrap(), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v[0]["ok"], true, "{v:#}");
    assert_eq!(v[0]["warnings"][0]["line"], line, "{v:#}");
    assert_eq!(v[0]["warnings"][0]["col"], col, "{v:#}");

    // The issue's second finding: the tool left undeclared is one error, at `uses`.
    let start = doc.find("[tools.shell]").unwrap();
    let end = start + doc[start..].find("\n\n").unwrap() + 2;
    let undeclared = format!("{}{}", &doc[..start], &doc[end..]);
    let wf = env.workflow("undeclared.toml", &undeclared);
    let out = env.run(&["validate", wf.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert_eq!(err.matches("error:").count(), 1, "{err}");
    assert!(
        err.contains("step `exec` uses tool \"shell\", which is not declared"),
        "{err}"
    );
    assert!(!err.contains("does not `uses` a tool"), "{err}");
}

//! Issue 44 point 5: `baton ask`, through the real binary. The asker (root) and the
//! approver (`nobody`, another OS account on a group store) are two processes; the
//! asker waits on the store, no engine involved; a step's ask is that step's and
//! survives its engine's kill -9; a killed asker leaves its ask on record.
use crate::helpers::{Env, process_alive, secs, text, wait_child, wait_until};
use serde_json::Value;
use std::process::{Child, Stdio};

/// The open asks `baton inbox --json` lists.
fn asks(env: &Env) -> Vec<Value> {
    let out = env.run(&["inbox", "--json"]);
    assert!(out.status.success(), "inbox: {}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("inbox --json");
    v.as_array()
        .unwrap()
        .iter()
        .filter(|w| w["kind"] == "ask")
        .cloned()
        .collect()
}

/// The pid of the `baton ask` whose prompt holds `prompt`.
fn asker_pid(prompt: &str) -> i32 {
    let out = std::process::Command::new("pgrep")
        .args(["-f", &format!("ask --prompt {prompt}")])
        .output()
        .expect("pgrep");
    text(&out.stdout)
        .lines()
        .next()
        .and_then(|l| l.trim().parse().ok())
        .expect("the asker's pid")
}

fn spawn_ask(env: &Env, args: &[&str]) -> Child {
    env.cmd()
        .arg("ask")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn baton ask")
}

/// The one open ask, once the inbox lists it.
fn the_ask(env: &Env) -> Value {
    wait_until("the ask in the inbox", secs(10), || {
        asks(env).into_iter().next()
    })
}

#[test]
fn an_ask_waits_on_the_store_and_another_account_approves_it_with_inputs() {
    let env = Env::new();
    env.share_with_nobody();
    let asker = spawn_ask(
        &env,
        &[
            "--prompt",
            "run DROP TABLE users?",
            "--input",
            "table=string:[a-z_]+",
            "--json",
            "--timeout",
            "60s",
        ],
    );
    let w = the_ask(&env);
    let id = w["ask"].as_str().unwrap().to_string();
    assert!(id.starts_with("ask-"), "{w}");
    assert_eq!(w["prompt"], "run DROP TABLE users?");
    // A store-level ask names the asking account and process, from the OS.
    assert_eq!(w["workflow"], "ask by root", "{w}");
    assert!(
        w["step"]
            .as_str()
            .unwrap()
            .starts_with(&format!("pid {} on ", asker.id())),
        "{w}"
    );
    assert_eq!(
        w["mine"], false,
        "the asker may not approve its own ask: {w}"
    );
    // The asking account may not approve its own ask, as a gate's starter may not.
    let own = env.run(&["approve", &id, "--input", "table=users", "--json"]);
    assert_eq!(own.status.code(), Some(1), "{}", text(&own.stdout));
    assert!(
        text(&own.stdout).contains("\"self_approval\""),
        "{}",
        text(&own.stdout)
    );
    // A value that does not fit the input is refused, nothing recorded.
    let bad = env.run_as_nobody(&["approve", &id, "--input", "table=Users;--"]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad.stderr));
    let ok = env.run_as_nobody(&[
        "approve",
        &id,
        "--input",
        "table=users",
        "--reason",
        "backed up",
    ]);
    assert!(
        ok.status.success(),
        "{} {}",
        text(&ok.stdout),
        text(&ok.stderr)
    );
    let out = wait_child(asker, 10);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let d: Value = serde_json::from_slice(&out.stdout).expect("ask --json");
    assert_eq!(d["state"], "approved");
    assert_eq!(d["decided_by"], "nobody");
    assert_eq!(d["reason"], "backed up");
    assert_eq!(d["inputs"]["table"], "users");
    // On the audit chain as a gate's decision is, and the chain checks out.
    let audit = text(&env.run(&["audit", "--json"]).stdout);
    assert!(audit.contains(&id) && audit.contains("approved"), "{audit}");
    let verify = env.run(&["audit", "verify"]);
    assert!(verify.status.success(), "{}", text(&verify.stdout));
    assert!(asks(&env).is_empty(), "a decided ask waits on nobody");
}

#[test]
fn a_rejection_exits_1_and_no_decision_in_time_exits_3() {
    let env = Env::new();
    env.share_with_nobody();
    let asker = spawn_ask(&env, &["--prompt", "force-push main?"]);
    let id = the_ask(&env)["ask"].as_str().unwrap().to_string();
    let no = env.run_as_nobody(&["reject", &id, "--reason", "not on main"]);
    assert!(no.status.success(), "{}", text(&no.stderr));
    let out = wait_child(asker, 10);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout).trim(), "rejected by nobody: not on main");
    // A second answer to a decided ask is refused.
    let late = env.run_as_nobody(&["approve", &id, "--json"]);
    assert_eq!(late.status.code(), Some(1));
    assert!(
        text(&late.stdout).contains("\"ask_closed\""),
        "{}",
        text(&late.stdout)
    );

    let asker = spawn_ask(&env, &["--prompt", "anyone?", "--timeout", "1s", "--json"]);
    let out = wait_child(asker, 10);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let d: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(d["state"], "expired");
}

#[test]
fn a_killed_asker_leaves_its_ask_on_record_as_abandoned() {
    let env = Env::new();
    env.share_with_nobody();
    let mut asker = spawn_ask(&env, &["--prompt", "rm -rf build?"]);
    let id = the_ask(&env)["ask"].as_str().unwrap().to_string();
    let pid = asker.id() as i32;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let _ = asker.wait();
    assert!(!process_alive(pid));
    assert!(
        asks(&env).is_empty(),
        "nobody waits for an abandoned ask's answer"
    );
    let late = env.run_as_nobody(&["approve", &id, "--json"]);
    assert_eq!(late.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&late.stdout).unwrap();
    assert_eq!(v["refused"]["code"], "ask_closed");
    assert!(
        v["refused"]["message"]
            .as_str()
            .unwrap()
            .contains("abandoned"),
        "{v}"
    );
}

#[test]
fn a_step_s_ask_is_the_step_s_and_is_the_same_ask_after_its_engine_is_killed() {
    let env = Env::new();
    env.share_with_nobody();
    let wf = env.workflow(
        "ask.toml",
        &format!(
            "name = \"asking\"\n[[step]]\nid = \"migrate\"\nrun = \"'{}' ask --prompt 'apply the migration?'\"\n",
            env!("CARGO_BIN_EXE_baton")
        ),
    );
    let engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let run = env.wait_run_id();
    let w = the_ask(&env);
    assert_eq!(
        (w["run_id"].as_str(), w["step"].as_str()),
        (Some(run.as_str()), Some("migrate")),
        "{w}"
    );
    assert_eq!(w["workflow"], "asking");
    let id = w["ask"].as_str().unwrap().to_string();
    let first_asker = asker_pid("apply the migration");
    // kill -9 of the engine while the step's ask is open; resume runs the step again,
    // which asks the same question: the same ask.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(engine.id() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let _ = wait_child(engine, 10);
    let resumed = env.spawn(&["resume", &run, "--headless"]);
    // The resumed engine stops what the killed one left running (the first asker) and
    // runs the step again, whose `baton ask` takes the same ask over; an answer given
    // meanwhile (first asker stopped, next not yet asking: abandoned) is refused and
    // records nothing; one given before reaches the next attempt.
    // `approve RUN STEP` answers the step's ask.
    wait_until("the step's ask answered", secs(20), || {
        let ok = env.run_as_nobody(&["approve", &run, "migrate", "--reason", "go"]);
        if ok.status.success() {
            Ok(())
        } else {
            Err(format!("{}{}", text(&ok.stdout), text(&ok.stderr)))
        }
    });
    wait_until("the first asker gone", secs(20), || {
        !process_alive(first_asker)
    });
    let out = wait_child(resumed, 20);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    // The decision is in the run's audit trail, under the step.
    let audit = text(&env.run(&["audit", &run, "--json"]).stdout);
    assert!(
        audit.contains("migrate") && audit.contains(&id),
        "the same ask {id}: {audit}"
    );
}

/// A retry after an attempt whose ask was rejected (the attempt ended: failed) asks
/// anew: the old rejection is not its answer.
#[test]
fn a_retried_step_asks_again_and_is_not_answered_by_the_last_attempts_rejection() {
    let env = Env::new();
    env.share_with_nobody();
    let wf = env.workflow(
        "retry.toml",
        &format!(
            "name = \"asking\"\n[[step]]\nid = \"migrate\"\nretry = {{ attempts = 2 }}\nrun = \"'{}' ask --prompt 'apply it?'\"\n",
            env!("CARGO_BIN_EXE_baton")
        ),
    );
    let engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let run = env.wait_run_id();
    let first = the_ask(&env)["ask"].as_str().unwrap().to_string();
    let no = env.run_as_nobody(&["reject", &first, "--reason", "not yet"]);
    assert!(
        no.status.success(),
        "{}{}",
        text(&no.stdout),
        text(&no.stderr)
    );
    // The second attempt's ask: a new one, open, on the inbox.
    let second = wait_until("the retry's own ask", secs(30), || {
        asks(&env)
            .into_iter()
            .find(|w| w["ask"].as_str() != Some(first.as_str()))
    });
    assert_eq!(second["run_id"].as_str(), Some(run.as_str()), "{second}");
    let yes = env.run_as_nobody(&[
        "approve",
        second["ask"].as_str().unwrap(),
        "--reason",
        "now",
    ]);
    assert!(
        yes.status.success(),
        "{}{}",
        text(&yes.stdout),
        text(&yes.stderr)
    );
    let out = wait_child(engine, 30);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
}

#[test]
fn the_documented_pre_tool_hook_asks_for_matching_commands_only() {
    let env = Env::new();
    env.share_with_nobody();
    let hook = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/hooks/pretool-ask.sh");
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_baton"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run_hook = |json: &str| {
        let mut c = std::process::Command::new(hook);
        c.env("BATON_DB", env.db())
            .env("PATH", &path)
            .env("BATON_ASK_TIMEOUT", "60s")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().expect("the hook runs");
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(json.as_bytes())
            .unwrap();
        child
    };
    // A harmless command passes at once, asking nobody.
    let out = wait_child(
        run_hook(r#"{"tool_name":"Bash","tool_input":{"command":"ls -la"}}"#),
        10,
    );
    assert!(
        out.status.success() && out.stdout.is_empty(),
        "{}",
        text(&out.stdout)
    );
    assert!(asks(&env).is_empty());
    // A matching one waits for a person; approved → allow.
    let hook_run =
        run_hook(r#"{"tool_name":"Bash","tool_input":{"command":"psql -c 'DROP TABLE users'"}}"#);
    let w = the_ask(&env);
    assert!(
        w["prompt"].as_str().unwrap().contains("DROP TABLE users"),
        "{w}"
    );
    let id = w["ask"].as_str().unwrap().to_string();
    assert!(
        env.run_as_nobody(&["approve", &id, "--reason", "ok"])
            .status
            .success()
    );
    let out = wait_child(hook_run, 10);
    let v: Value = serde_json::from_slice(&out.stdout).expect("hook JSON");
    assert_eq!(
        v["hookSpecificOutput"]["permissionDecision"], "allow",
        "{v}"
    );
    // Rejected → deny, with who and why.
    let hook_run = run_hook(r#"{"tool_name":"Bash","tool_input":{"command":"rm -rf /srv"}}"#);
    let id = the_ask(&env)["ask"].as_str().unwrap().to_string();
    assert!(
        env.run_as_nobody(&["reject", &id, "--reason", "no"])
            .status
            .success()
    );
    let out = wait_child(hook_run, 10);
    let v: Value = serde_json::from_slice(&out.stdout).expect("hook JSON");
    assert_eq!(v["hookSpecificOutput"]["permissionDecision"], "deny", "{v}");
    assert_eq!(
        v["hookSpecificOutput"]["permissionDecisionReason"],
        "rejected by nobody: no"
    );
}

/// Issue 58 point 3: the ask's short id as `baton inbox` prints it works with `approve`
/// (and `reject`) as a run's does; `ask --json` names its approvers whatever became
/// of the ask, an expired one too, and who voted apart.
#[test]
fn the_inbox_short_id_answers_an_ask_and_its_json_keeps_its_approvers() {
    let env = Env::new();
    env.share_with_nobody();
    let asker = spawn_ask(
        &env,
        &[
            "--prompt",
            "rotate the keys?",
            "--approvers",
            "nobody",
            "--json",
            "--timeout",
            "60s",
        ],
    );
    let id = the_ask(&env)["ask"].as_str().unwrap().to_string();
    let inbox = text(&env.run(&["inbox"]).stdout);
    let short = inbox
        .lines()
        .find(|l| l.contains("rotate the keys?"))
        .and_then(|l| l.split_whitespace().find(|w| w.starts_with("ask-")))
        .unwrap_or_else(|| panic!("the ask's row in {inbox}"))
        .to_string();
    assert!(
        short.len() < id.len() && id.starts_with(&short),
        "{short} {id}"
    );
    let yes = env.run_as_nobody(&["approve", &short, "--reason", "go"]);
    assert!(yes.status.success(), "{}", text(&yes.stderr));
    let out = wait_child(asker, 10);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let d: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(d["approvers"], serde_json::json!(["nobody"]), "{d}");
    assert_eq!(d["votes"], serde_json::json!(["nobody"]), "{d}");
    // A prefix that names no ask is refused as no such ask.
    let none = env.run_as_nobody(&["reject", "ask-zzzz", "--reason", "x", "--json"]);
    assert_eq!(none.status.code(), Some(1), "{}", text(&none.stderr));
    assert!(
        text(&none.stdout).contains("\"no_ask\""),
        "{}",
        text(&none.stdout)
    );

    let asker = spawn_ask(
        &env,
        &[
            "--prompt",
            "anyone?",
            "--approvers",
            "nobody",
            "--timeout",
            "1s",
            "--json",
        ],
    );
    let out = wait_child(asker, 10);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let d: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(d["state"], "expired");
    assert_eq!(d["approvers"], serde_json::json!(["nobody"]), "{d}");
    assert_eq!(d["votes"], serde_json::json!([]), "{d}");
}

//! Issue 4 point 3: an approval is bound to what it approves. If the workflow changes
//! between the approval and the step's start (a crash, an edit, a resume), the approval
//! is void and the gate opens again.
use crate::helpers::*;

/// A blocker (running until the file `unblock` exists), then `deploy` running `command`
/// behind `gate` (both as written), after the blocker when `after` (else it only waits
/// for the one slot, and its gate opens while the blocker runs).
fn behind_blocker(after: bool, command: &str, gate: &str) -> String {
    let needs = if after { "needs = [\"blocker\"]\n" } else { "" };
    format!(
        r#"
name = "bound"
max_parallel = 1
[[step]]
id = "blocker"
run = 'test -f unblock || sleep 1000'
[[step]]
id = "deploy"
{needs}run = '{command}'
{gate}
"#
    )
}

fn wf(command: &str) -> String {
    behind_blocker(false, command, r#"gate = { prompt = "deploy?" }"#)
}

#[test]
fn a_changed_command_voids_the_approval_and_reopens_the_gate() {
    let env = Env::new();
    let path = env.workflow("w.toml", &wf("echo v1 > deployed"));
    let child = env.spawn(&["run", path.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    env.wait_step(&id, "blocker", "running", 15);
    env.wait_step(&id, "deploy", "waiting_approval", 15);
    let out = env.run(&["approve", &id, "deploy", "--reason", "v1 is fine"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    env.wait_step(&id, "deploy", "queued", 10);
    let mut child = child;
    child.kill().unwrap();
    child.wait().unwrap();
    // The workflow changes while no engine runs.
    std::fs::write(&path, wf("echo v2-with-a-different-command > deployed")).unwrap();
    std::fs::write(env.path().join("unblock"), "").unwrap();
    let resumed = env.spawn(&["resume", &id, "--headless"]);
    env.wait_step(&id, "deploy", "waiting_approval", 20);
    assert!(
        !env.path().join("deployed").exists(),
        "the voided approval let the changed step run"
    );
    let audit = text(&env.run(&["audit", &id]).stdout);
    assert!(audit.to_lowercase().contains("void"), "{audit}");
    let out = env.run(&["approve", &id, "deploy", "--reason", "v2 reviewed"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let out = wait_child(resumed, 30);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(
        std::fs::read_to_string(env.path().join("deployed"))
            .unwrap()
            .trim(),
        "v2-with-a-different-command"
    );
}

#[test]
fn an_unchanged_workflow_keeps_its_approval_across_a_crash() {
    let env = Env::new();
    let path = env.workflow("w.toml", &wf("echo v1 > deployed"));
    let mut child = env.spawn(&["run", path.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    env.wait_step(&id, "deploy", "waiting_approval", 15);
    let out = env.run(&["approve", &id, "deploy"]);
    assert_eq!(out.status.code(), Some(0));
    env.wait_step(&id, "deploy", "queued", 10);
    child.kill().unwrap();
    child.wait().unwrap();
    std::fs::write(env.path().join("unblock"), "").unwrap();
    let out = env.run(&["resume", &id, "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(
        std::fs::read_to_string(env.path().join("deployed"))
            .unwrap()
            .trim(),
        "v1"
    );
}

/// A gated step after a blocker, with `gate` as written.
fn gated(gate: &str) -> String {
    behind_blocker(true, "echo ran > deployed", gate)
}

/// Security review: the gate's rules came from the file as it was at takeover, so whoever
/// could edit the file while no engine ran chose who approves. A run keeps its gates.
#[test]
fn a_gate_whose_approvers_were_edited_while_no_engine_ran_cannot_be_approved() {
    let env = Env::new();
    let strict = r#"gate = { prompt = "deploy?", approvers = ["nobody-else"] }"#;
    let path = env.workflow("w.toml", &gated(strict));
    std::fs::write(env.path().join("unblock"), "").unwrap();
    let mut child = env.spawn(&["run", path.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    env.wait_step(&id, "deploy", "waiting_approval", 15);
    child.kill().unwrap();
    child.wait().unwrap();
    let out = env.run(&["approve", &id, "deploy", "--reason", "me"]);
    assert_ne!(out.status.code(), Some(0), "not an approver, yet approved");
    // The starter, not an approver, rewrites the gate to let anyone (himself) approve.
    let loose = r#"gate = { prompt = "deploy?", allow_self_approval = true }"#;
    std::fs::write(&path, gated(loose)).unwrap();
    let out = env.run(&["approve", &id, "deploy", "--reason", "edited"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("w.toml:")
            && err.contains("step `deploy` changed")
            && err.contains("gate: approvers [nobody-else]")
            && err.contains("gate: approvers [], quorum 1, self-approval allowed"),
        "{err}"
    );
    assert!(!env.path().join("deployed").exists(), "the step ran");
    let show = env.show(&id);
    assert_eq!(
        step_state(&show, "deploy").as_deref(),
        Some("waiting_approval")
    );
    // Stopping the run still works, on the workflow it started with.
    let out = env.run(&["cancel", &id, "--reason", "not like this"]);
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(said.contains("accepted: cancelling"), "{said}");
    assert_eq!(
        step_state(&env.show(&id), "deploy").as_deref(),
        Some("cancelled")
    );
    assert!(!env.path().join("deployed").exists());
}

#[test]
fn a_gate_removed_or_made_to_approve_itself_before_it_opened_is_refused_on_resume() {
    let gate = r#"gate = { prompt = "deploy?", timeout = "1h", on_timeout = "reject" }"#;
    let edits = [
        ("removed", String::new()),
        (
            "approves on a short timeout",
            r#"gate = { prompt = "deploy?", timeout = "1s", on_timeout = "approve" }"#.into(),
        ),
    ];
    for (what, edited) in edits {
        let env = Env::new();
        let path = env.workflow("w.toml", &gated(gate));
        let mut child = env.spawn(&["run", path.to_str().unwrap(), "--headless"]);
        let id = env.wait_run_id();
        env.wait_step(&id, "blocker", "running", 15);
        child.kill().unwrap();
        child.wait().unwrap();
        std::fs::write(&path, gated(&edited)).unwrap();
        std::fs::write(env.path().join("unblock"), "").unwrap();
        let out = env.run(&["resume", &id, "--headless"]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "gate {what}: {err}");
        assert!(err.contains("step `deploy` changed"), "gate {what}: {err}");
        assert!(
            !env.path().join("deployed").exists(),
            "gate {what}: the step ran"
        );
        // Put back as it was, the run goes on to its gate.
        std::fs::write(&path, gated(gate)).unwrap();
        let resumed = env.spawn(&["resume", &id, "--headless"]);
        env.wait_step(&id, "deploy", "waiting_approval", 20);
        let out = env.run(&["reject", &id, "deploy", "--reason", "done"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        wait_child(resumed, 30);
        assert!(!env.path().join("deployed").exists());
    }
}

#[test]
fn an_edited_prompt_keeps_the_gate_and_the_run() {
    let env = Env::new();
    let path = env.workflow("w.toml", &gated(r#"gate = { prompt = "deploy?" }"#));
    let mut child = env.spawn(&["run", path.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    env.wait_step(&id, "blocker", "running", 15);
    child.kill().unwrap();
    child.wait().unwrap();
    std::fs::write(&path, gated(r#"gate = { prompt = "deploy now, really?" }"#)).unwrap();
    std::fs::write(env.path().join("unblock"), "").unwrap();
    let resumed = env.spawn(&["resume", &id, "--headless"]);
    env.wait_step(&id, "deploy", "waiting_approval", 20);
    let out = env.run(&["approve", &id, "deploy", "--reason", "ok"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = wait_child(resumed, 30);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(env.path().join("deployed").exists());
}

/// Review of the fix above: renaming the gated step, dropping the need on a pending
/// approval, or raising the budget in the file also got a step past its approval.
#[test]
fn a_run_keeps_its_steps_their_needs_and_its_budget_too() {
    let approval = r#"
name = "shape"
budget = { cost = 1 }
[[step]]
id = "approval"
gate = { prompt = "go?", approvers = ["nobody-else"] }
[[step]]
id = "deploy"
needs = ["approval"]
run = 'echo ran > deployed'
"#;
    let edits = [
        (
            "renamed",
            approval.replace("id = \"deploy\"", "id = \"deploy2\""),
            "step `deploy2` is new",
        ),
        (
            "need dropped",
            approval.replace("needs = [\"approval\"]\n", ""),
            "step `deploy` changed",
        ),
        (
            "budget raised",
            approval.replace("cost = 1", "cost = 100"),
            "the budget changed",
        ),
        (
            "compensation added",
            approval.replace(
                "run = 'echo ran > deployed'",
                "run = 'echo ran > deployed'\ncompensate = 'echo undone > deployed'",
            ),
            "step `deploy` changed",
        ),
        (
            "notifier added",
            format!("{approval}\n[[notify]]\non = [\"gate_opened\"]\nrun = 'echo x > deployed'\n"),
            "its `[[notify]]` commands changed",
        ),
    ];
    for (what, edited, said) in edits {
        let env = Env::new();
        let path = env.workflow("w.toml", approval);
        let mut child = env.spawn(&["run", path.to_str().unwrap(), "--headless"]);
        let id = env.wait_run_id();
        env.wait_step(&id, "approval", "waiting_approval", 15);
        child.kill().unwrap();
        child.wait().unwrap();
        std::fs::write(&path, &edited).unwrap();
        let out = env.run(&["resume", &id, "--headless"]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{what}: {err}");
        assert!(err.contains(said), "{what}: {err}");
        assert!(
            !env.path().join("deployed").exists(),
            "{what}: the step ran"
        );
    }
    // Approvers listed in another order or case are the same gate.
    let env = Env::new();
    let two = approval.replace("[\"nobody-else\"]", "[\"alice\", \"Bob\"]");
    let path = env.workflow("w.toml", &two);
    let mut child = env.spawn(&["run", path.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    env.wait_step(&id, "approval", "waiting_approval", 15);
    child.kill().unwrap();
    child.wait().unwrap();
    std::fs::write(
        &path,
        two.replace("[\"alice\", \"Bob\"]", "[\"bob\", \"alice\"]"),
    )
    .unwrap();
    let resumed = env.spawn(&["resume", &id, "--headless"]);
    env.wait_step(&id, "approval", "waiting_approval", 20);
    let out = env.run(&["cancel", &id]);
    assert!(
        text(&out.stdout).contains("cancel"),
        "{}",
        text(&out.stderr)
    );
    wait_child(resumed, 30);
}

/// Second review: the recorded text is stored with the run's secrets masked, so a file
/// holding a secret's value (here, in a step's name) read as changed, and its masked
/// text named another step: every takeover was refused. Unchanged, masked alike, it is
/// the same file.
#[test]
fn an_unchanged_file_holding_a_secrets_value_is_still_the_same_file() {
    let env = Env::new();
    let wf = r#"
name = "secretive"
secrets = ["SHIP_TOKEN"]
[[step]]
id = "blocker"
run = 'test -f unblock || sleep 1000'
[[step]]
id = "ship-it"
needs = ["blocker"]
run = 'echo ran > deployed'
gate = { prompt = "go?" }
"#;
    let path = env.workflow("w.toml", wf);
    let with_secret = |args: &[&str]| {
        let mut c = env.cmd();
        c.env("SHIP_TOKEN", "ship").args(args);
        c
    };
    let mut child = with_secret(&["run", path.to_str().unwrap(), "--headless"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let id = env.wait_run_id();
    env.wait_step(&id, "blocker", "running", 15);
    child.kill().unwrap();
    child.wait().unwrap();
    std::fs::write(env.path().join("unblock"), "").unwrap();
    let resumed = with_secret(&["resume", &id, "--headless"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    env.wait_step(&id, "ship-it", "waiting_approval", 20);
    let out = with_secret(&["approve", &id, "ship-it", "--reason", "ok"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = wait_child(resumed, 30);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(env.path().join("deployed").exists());
}

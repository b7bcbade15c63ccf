//! Deciding gates from the console: typed reasons, following a headless run, driving a
//! run whose engine died, a read-only console, and signing through ssh-agent.
use super::*;

#[test]
fn approve_a_gate_with_keystrokes_and_a_typed_reason() {
    let env = Env::new();
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/hello.toml");
    let command = format!(
        "cd {} && BATON_DB={} USER=tester TERM=xterm-256color {} run {} ; echo BATON-EXIT=$? ; sleep 30",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&env.db().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
        shell_quote(example)
    );
    let tmux = Tmux::new(&env, 120, 40, &command);
    // The console opens and the run reaches its gate.
    tmux.wait_for(
        "an open gate",
        |s| s.contains("waiting_approval") || s.contains("⏸"),
        30,
    );
    tmux.keys(&["2"]);
    tmux.wait_for("the approvals tab", |s| s.contains("Approvals"), 10);
    tmux.keys(&["a"]);
    tmux.wait_for(
        "the approve dialog",
        |s| s.to_lowercase().contains("reason"),
        10,
    );
    tmux.literal("ship it from tmux");
    tmux.keys(&["Enter"]);
    tmux.wait_for(
        "the run to succeed",
        |s| s.contains("succeeded") && !s.contains("waiting_approval"),
        30,
    );
    tmux.keys(&["q"]);
    let screen = tmux.wait_for("baton to exit", |s| s.contains("BATON-EXIT="), 15);
    assert!(
        screen.contains("BATON-EXIT=0"),
        "exit code 0 expected:\n{screen}"
    );
    assert!(tmux.alive());

    let runs = env.runs();
    let id = runs[0]["id"].as_str().unwrap().to_string();
    assert_eq!(runs[0]["state"], "succeeded");
    let show = env.show(&id);
    for s in show["steps"].as_array().unwrap() {
        assert_eq!(s["state"], "succeeded", "{s}");
    }
    let audit = env.run(&["audit", &id]);
    let audit = text(&audit.stdout);
    assert!(
        audit.contains("ship it from tmux"),
        "the typed reason is on record:\n{audit}"
    );
    // The OS account (tests run as root), not `USER=tester`.
    assert!(
        audit.contains("root") && !audit.contains("tester"),
        "with the operator:\n{audit}"
    );
}

#[test]
fn baton_tui_follows_a_headless_run_and_approves_it_through_the_store() {
    let env = Env::new();
    let wf = env.workflow(
        "remote.toml",
        "name = \"remote\"\n[[step]]\nid = \"prepare\"\nrun = \"true\"\n[[step]]\nid = \"ship\"\nneeds = [\"prepare\"]\nrun = \"touch shipped\"\ngate = { prompt = \"Ship it?\" }\n",
    );
    let engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    env.wait_step(&id, "ship", "waiting_approval", 20);
    let command = format!(
        "cd {} && BATON_DB={} USER=carol {} tui ; echo TUI-EXIT=$? ; sleep 30",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&env.db().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
    );
    let tmux = Tmux::new(&env, 120, 40, &command);
    // The Runs tab lists the live run; Enter opens it.
    tmux.wait_for(
        "the run list",
        |s| s.contains(&id[..12]) || s.contains("remote"),
        20,
    );
    tmux.keys(&["Enter"]);
    tmux.keys(&["2"]);
    tmux.wait_for("the open gate", |s| s.contains("Ship it?"), 20);
    tmux.keys(&["a"]);
    tmux.wait_for(
        "the approve dialog",
        |s| s.to_lowercase().contains("reason"),
        10,
    );
    tmux.literal("approved from another process");
    tmux.keys(&["Enter"]);
    let out = wait_child(engine, 30);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(env.path().join("shipped").exists());
    tmux.wait_for(
        "the followed run to finish",
        |s| s.contains("succeeded"),
        20,
    );
    tmux.keys(&["q"]);
    tmux.wait_for("the console to exit", |s| s.contains("TUI-EXIT=0"), 10);
    let audit = text(&env.run(&["audit", &id]).stdout);
    assert!(
        audit.contains("root")
            && !audit.contains("carol")
            && audit.contains("approved from another process"),
        "{audit}"
    );
}

/// Issue 10 point 3: acting on a run no engine drives makes `baton tui` its engine,
/// in-process; the quit prompt then names exactly that run, and quitting interrupts it.
#[test]
fn baton_tui_drives_a_run_whose_engine_died_and_its_quit_prompt_names_it() {
    let env = Env::new();
    let wf = env.workflow(
        "orphan.toml",
        "name = \"orphan\"\n[[step]]\nid = \"prepare\"\nrun = \"true\"\n[[step]]\nid = \"ship\"\nneeds = [\"prepare\"]\nrun = \"touch shipped\"\ngate = { prompt = \"Ship it?\" }\n[[step]]\nid = \"soak\"\nneeds = [\"ship\"]\nrun = \"sleep 60\"\n",
    );
    let mut engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    env.wait_step(&id, "ship", "waiting_approval", 20);
    engine.kill().expect("kill -9 the engine");
    let _ = engine.wait();
    let command = format!(
        "cd {} && BATON_DB={} USER=carol {} tui ; echo TUI-EXIT=$? ; sleep 30",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&env.db().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
    );
    let tmux = Tmux::new(&env, 120, 40, &command);
    tmux.wait_for("the run list", |s| s.contains("orphan"), 20);
    tmux.keys(&["Enter"]);
    tmux.keys(&["2"]);
    tmux.wait_for("the open gate", |s| s.contains("Ship it?"), 20);
    tmux.keys(&["a"]);
    tmux.wait_for(
        "the approve dialog",
        |s| s.to_lowercase().contains("reason"),
        10,
    );
    tmux.literal("engine is gone, approving here");
    tmux.keys(&["Enter"]);
    tmux.wait_for(
        "the console to take the run over",
        |s| s.contains("this console now drives the orphan run"),
        20,
    );
    env.wait_step(&id, "soak", "running", 20);
    assert!(env.path().join("shipped").exists());
    tmux.keys(&["q"]);
    let short = &id[..8];
    tmux.wait_for(
        "a quit prompt naming the driven run",
        |s| s.contains("This console drives run") && s.contains(short),
        10,
    );
    tmux.keys(&["i"]);
    tmux.wait_for("the console to exit", |s| s.contains("TUI-EXIT="), 20);
    let v = env.show(&id);
    assert_eq!(v["state"], "interrupted", "{v:#}");
    assert_eq!(step_field(&v, "soak", "state"), "interrupted");
    let audit = text(&env.run(&["audit", &id]).stdout);
    assert!(audit.contains("engine is gone, approving here"), "{audit}");
}

/// Issue 12 point 9: `baton tui --readonly` follows a run but offers no action in its
/// footer or help, and an action key changes nothing (the gate stays open).
#[test]
fn a_read_only_console_looks_but_never_acts() {
    let env = Env::new();
    let wf = env.workflow(
        "remote.toml",
        "name = \"remote\"\n[[step]]\nid = \"ship\"\nrun = \"touch shipped\"\ngate = { prompt = \"Ship it?\" }\n",
    );
    let mut engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    env.wait_step(&id, "ship", "waiting_approval", 20);
    let command = format!(
        "cd {} && BATON_DB={} XDG_CONFIG_HOME={} USER=carol {} tui --readonly ; echo TUI-EXIT=$? ; sleep 30",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&env.db().to_string_lossy()),
        shell_quote(&env.config_home().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
    );
    let tmux = Tmux::new(&env, 120, 40, &command);
    tmux.wait_for("the run list", |s| s.contains("remote"), 20);
    tmux.keys(&["Enter", "2"]);
    let s = tmux.wait_for("the open gate", |s| s.contains("Ship it?"), 20);
    // Issue 28 point 8: the header says the console only looks.
    assert!(
        s.lines().take(3).any(|l| l.contains("read-only")),
        "no read-only badge in the header:\n{s}"
    );
    let footer = s.lines().last().unwrap_or_default().to_string();
    assert!(
        !footer.contains("approve") && !footer.contains("reject"),
        "{footer}"
    );
    assert!(!footer.contains("cancel"), "{footer}");
    tmux.keys(&["a"]);
    tmux.wait_for("the refusal", |s| s.contains("read-only console"), 10);
    assert!(!tmux.screen().to_lowercase().contains("reason (optional)"));
    // The refusal holds the screen (a reason typed on runs as no key) until Esc.
    tmux.keys(&["Escape"]);
    tmux.wait_for("the refusal closed", |s| !s.contains("Not now"), 10);
    tmux.keys(&["?"]);
    let help = tmux.wait_for("the help", |s| s.contains("Help"), 10);
    for word in [
        "approve the",
        "reject the",
        "retry the",
        "cancel the run",
        "resume an",
    ] {
        assert!(!help.contains(word), "{word} offered in the help:\n{help}");
    }
    tmux.keys(&["Escape"]);
    tmux.wait_for("the help to close", |s| !s.contains("Help ·"), 10);
    tmux.keys(&["q"]);
    tmux.wait_for("the console to exit", |s| s.contains("TUI-EXIT=0"), 10);
    let show = env.show(&id);
    assert_eq!(
        step_state(&show, "ship").as_deref(),
        Some("waiting_approval")
    );
    let _ = engine.kill();
    let _ = engine.wait();
}

/// Issue 11 point 2: the console signs a decision on a signed gate through ssh-agent.
/// With no approver's key in the agent the approval is refused on screen and nothing is
/// decided; once the approver's key is added, the same keystrokes approve, the vote is
/// the key's principal with its signature on record, and `audit verify` checks it.
#[test]
fn the_console_signs_a_signed_gate_through_ssh_agent() {
    let env = Env::new();
    let alice = ssh_keygen(env.path(), "alice", "ed25519");
    let mallory = ssh_keygen(env.path(), "mallory", "ed25519");
    let (alice_pub, mallory_pub) = (ssh_public(&alice), ssh_public(&mallory));
    std::fs::write(
        env.path().join("allowed_signers"),
        format!("alice@example.com {alice_pub}\nmallory@example.com {mallory_pub}\n"),
    )
    .unwrap();
    env.workflow(
        "w.toml",
        r#"name = "signed"
[approvals]
allowed_signers = "allowed_signers"
[[step]]
id = "deploy"
run = "touch deployed"
gate = { prompt = "Ship?", approvers = ["alice@example.com"], signed = true }
"#,
    );
    let agent = SshAgent::start(env.path().join("agent.sock"));
    // Only a key that approves nothing, at first.
    agent.add(&mallory);
    let command = format!(
        "cd {} && SSH_AUTH_SOCK={} BATON_DB={} TERM=xterm-256color {} run w.toml ; echo BATON-EXIT=$? ; sleep 30",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&agent.sock.to_string_lossy()),
        shell_quote(&env.db().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
    );
    let tmux = Tmux::new(&env, 120, 40, &command);
    tmux.wait_for("the open gate", |s| s.contains("⏸"), 30);
    let approve = |reason: &str| {
        tmux.keys(&["2"]);
        tmux.wait_for("the approvals tab", |s| s.contains("Ship?"), 10);
        tmux.keys(&["a"]);
        tmux.wait_for(
            "the approve dialog",
            |s| s.to_lowercase().contains("reason"),
            10,
        );
        tmux.literal(reason);
        tmux.keys(&["Enter"]);
    };
    approve("mallory tries");
    tmux.wait_for(
        "the refusal naming the agent's keys",
        |s| s.contains("ssh-agent") || s.contains("ssh-add"),
        15,
    );
    let id = env.wait_run_id();
    assert_eq!(
        step_state(&env.show(&id), "deploy").as_deref(),
        Some("waiting_approval"),
        "nothing decided without an approver's signature"
    );
    // Dismiss whatever is still open, then approve with alice's key in the agent.
    tmux.keys(&["Escape"]);
    agent.add(&alice);
    approve("alice signs in the console");
    tmux.wait_for(
        "the run to succeed",
        |s| s.contains("succeeded") && !s.contains("⏸"),
        30,
    );
    tmux.keys(&["q"]);
    let screen = tmux.wait_for("baton to exit", |s| s.contains("BATON-EXIT="), 15);
    assert!(screen.contains("BATON-EXIT=0"), "{screen}");
    drop(agent);

    let out = env.run(&["audit", &id, "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let vote = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["reason"] == "alice signs in the console")
        .unwrap_or_else(|| panic!("the console's vote is on record: {rows:#}"));
    assert_eq!(vote["actor"], "alice@example.com", "{vote:#}");
    assert!(
        vote.to_string().contains("BEGIN SSH SIGNATURE"),
        "the vote carries its signature: {vote:#}"
    );
    let out = env.run(&["audit", "verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
}

//! Issue 44 point 5 in the console: an ask (`baton ask`, here by another OS account,
//! `nobody`) is listed on the Waiting tab with the gates, and `a` answers it with the
//! gate's dialog; the asker, waiting on the store, exits 0 with the decision. An ask
//! is listed and titled by its question (issue 58 point 3).
use super::*;
use std::process::Stdio;

#[test]
fn the_waiting_tab_lists_an_ask_and_approves_it() {
    let env = Env::new();
    env.share_with_nobody();
    let asker = env
        .baton_as_nobody(&[
            "ask",
            "--prompt",
            "Drop the staging table?",
            "--json",
            "--timeout",
            "2m",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("baton ask as nobody");
    let tmux = Tmux::tui(&env, 120, 40);
    tmux.wait_for("the ask counted", |s| s.contains("Waiting (1)"), 20);
    tmux.keys(&["6"]);
    let screen = tmux.wait_for(
        "the ask on the Waiting tab",
        |s| s.contains("Drop the staging table?"),
        20,
    );
    assert!(screen.contains("ask by nobody"), "who asked: {screen}");
    // Issue 58 point 3: listed and titled by its question, its asker as detail.
    let row = screen
        .lines()
        .find(|l| l.contains(" ask ") && l.contains("Drop the staging table?"))
        .unwrap_or_else(|| panic!("a row named by the question: {screen}"));
    assert!(!row.contains("pid "), "{row}");
    assert!(
        screen.contains("Drop the staging table? · ask"),
        "its detail titled by it: {screen}"
    );
    assert!(
        screen.contains("asked by nobody · pid "),
        "the asker as detail: {screen}"
    );
    tmux.keys(&["a"]);
    tmux.wait_for(
        "the approve dialog",
        |s| s.contains("Approve “Drop the staging table?”"),
        10,
    );
    tmux.literal("staging only");
    tmux.keys(&["Enter"]);
    let out = wait_child(asker, 20);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let d: serde_json::Value = serde_json::from_slice(&out.stdout).expect("ask --json");
    assert_eq!(d["decided_by"], "root");
    assert_eq!(d["reason"], "staging only");
    tmux.wait_for(
        "nothing waits any more",
        // The decided item keeps the selection, greyed, until the operator moves it
        // (issue 76 point 1): the count says nothing waits.
        |s| s.contains("Waiting · 0 across"),
        20,
    );
}

/// A step's ask is shown under the step: from the Waiting tab, Enter opens its run's
/// DAG, where the step (still running: its process waits) says what it asks.
#[test]
fn a_step_s_ask_is_shown_under_the_step_in_the_dag() {
    let env = Env::new();
    let wf = env.workflow(
        "ask.toml",
        &format!(
            "name = \"asking\"\n[[step]]\nid = \"migrate\"\nrun = \"'{}' ask --prompt 'apply the migration?' --timeout 2m\"\n",
            env!("CARGO_BIN_EXE_baton")
        ),
    );
    let engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let run = env.wait_run_id();
    let tmux = Tmux::tui(&env, 120, 40);
    // The asking account is this one: the tab lists it, though not for it to decide.
    tmux.wait_for("the console", |s| s.contains("6 Waiting"), 20);
    tmux.keys(&["6"]);
    tmux.wait_for("the step's ask", |s| s.contains("apply the migration?"), 20);
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for(
        "the run's DAG with the step's ask",
        |s| s.contains("Graph ·") && s.contains("migrate") && s.contains("apply the migration?"),
        20,
    );
    assert!(
        screen.contains("asks"),
        "the detail pane says it asks: {screen}"
    );
    // Cancelling the run stops the step and its asker.
    let out = env.run(&["cancel", &run, "--reason", "done looking"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let _ = wait_child(engine, 20);
}

/// A store-level ask has no workflow and no `[[notify]]`: the console rings the bell
/// and sends its desktop notification (OSC 9, OSC 777) when one appears that this
/// account may answer (read from the bytes the console writes, through `pipe-pane`).
#[test]
fn a_new_store_level_ask_rings_the_console_s_bell_and_desktop_notification() {
    let env = Env::new();
    env.share_with_nobody();
    let piped = env.path().join("pane.bytes");
    let ready = env.path().join("piped");
    let tui = format!(
        "cd {} && while [ ! -e {} ]; do sleep 0.05; done; BATON_DB={} XDG_CONFIG_HOME={} TERM=xterm-256color {} tui ; echo TUI-EXIT=$? ; sleep 30",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&ready.to_string_lossy()),
        shell_quote(&env.db().to_string_lossy()),
        shell_quote(&env.config_home().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
    );
    let tmux = Tmux::new(&env, 120, 40, &tui);
    let st = Command::new("tmux")
        .args(["-L", &tmux.socket, "pipe-pane", "-O", "-t", "main"])
        .arg(format!("cat >> {}", shell_quote(&piped.to_string_lossy())))
        .status()
        .expect("pipe-pane");
    assert!(st.success());
    std::fs::write(&ready, "").unwrap();
    tmux.wait_for("the console", |s| s.contains("6 Waiting"), 20);
    let bytes = || String::from_utf8_lossy(&std::fs::read(&piped).unwrap_or_default()).into_owned();
    assert!(!bytes().contains('\x07'), "nothing to ring for yet");
    let asker = env
        .baton_as_nobody(&[
            "ask",
            "--prompt",
            "Rotate the signing key?",
            "--timeout",
            "2m",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("baton ask as nobody");
    wait_until("the ask's notification", secs(20), || {
        let b = bytes();
        b.contains("\x07\x1b]9;baton: ask by nobody: Rotate the signing key?")
            && b.contains("\x1b]777;notify;baton: ask by nobody;Rotate the signing key?")
    });
    let id = ask_id(&env);
    let no = env.run(&["reject", &id, "--reason", "not today"]);
    assert!(no.status.success(), "{}", text(&no.stderr));
    let out = wait_child(asker, 20);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
}

/// The console reads the asks when they move in the store, not for each frame: an ask
/// another process (`nobody`'s `baton ask`, for a step of the run this console drives)
/// adds still shows under its step while the run's frames go on, and goes once it is
/// answered, the step still running.
#[test]
fn an_ask_from_another_process_shows_under_a_driven_step_and_goes_once_answered() {
    let env = Env::new();
    env.share_with_nobody();
    let wf = env.workflow(
        "wait.toml",
        "name = \"waiting\"\n[[step]]\nid = \"wait\"\nrun = 'while [ ! -e end ] && [ -e $PWD ]; do sleep 0.05; done'\n",
    );
    let tui = format!(
        "cd {} && BATON_DB={} XDG_CONFIG_HOME={} USER=tester {} run {} ; echo RUN-EXIT=$? ; sleep 30",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&env.db().to_string_lossy()),
        shell_quote(&env.config_home().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
        shell_quote(&wf.to_string_lossy()),
    );
    let tmux = Tmux::new(&env, 120, 40, &tui);
    let run = env.wait_run_id();
    env.wait_step(&run, "wait", "running", 20);
    tmux.wait_for("the driven run's graph", |s| s.contains("wait"), 20);
    let asker = env
        .baton_as_nobody(&["ask", "--prompt", "Flush the cache?", "--timeout", "2m"])
        .env("BATON_RUN_ID", &run)
        .env("BATON_STEP_ID", "wait")
        .env("BATON_ATTEMPT", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("baton ask as nobody");
    tmux.wait_for(
        "the ask under its step",
        |s| s.contains("Flush the cache?"),
        20,
    );
    let id = ask_id(&env);
    let ok = env.run(&["approve", &id, "--reason", "flush it"]);
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    let out = wait_child(asker, 20);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let screen = tmux.wait_for(
        "the answered ask gone from the step",
        |s| !s.contains("Flush the cache?"),
        20,
    );
    assert!(screen.contains("wait"), "the step still shown: {screen}");
    assert_eq!(
        step_state(&env.show(&run), "wait").as_deref(),
        Some("running"),
        "the step runs on"
    );
    std::fs::write(env.path().join("end"), "").unwrap();
    tmux.wait_for("the run's end", |s| s.contains("succeeded"), 30);
}

/// The id of the ask the inbox lists, once it does.
fn ask_id(env: &Env) -> String {
    wait_until("the ask's id", secs(10), || {
        let out = env.run(&["inbox", "--json"]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        v.as_array()?
            .iter()
            .find_map(|w| w["ask"].as_str().map(str::to_string))
    })
}

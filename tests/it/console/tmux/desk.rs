//! The on-call operator's desk (issue 28): the Waiting tab across runs, acting on an
//! interrupted run from it, a refused action that holds what is typed after it, the
//! mark dialog, others' decisions as notices, and dialogs that name the run.
use super::*;

fn tui(env: &Env) -> String {
    format!(
        "cd {} && BATON_DB={} XDG_CONFIG_HOME={} USER=carol {} tui ; echo TUI-EXIT=$? ; sleep 30",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&env.db().to_string_lossy()),
        shell_quote(&env.config_home().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
    )
}

/// Points 1 and 2: `baton tui` opens on what waits, across runs; `a` on the gate of a
/// run whose engine was stopped (interrupted on record) takes it over and approves it.
#[test]
fn the_waiting_tab_comes_first_and_approves_an_interrupted_runs_gate() {
    let env = Env::new();
    let done = env.workflow(
        "done.toml",
        "name = \"finished-one\"\n[[step]]\nid = \"x\"\nrun = \"true\"\n",
    );
    let out = env.run(&["run", done.to_str().unwrap(), "--headless"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let wf = env.workflow(
        "ship.toml",
        "name = \"shipper\"\n[[step]]\nid = \"ship\"\nrun = \"touch shipped\"\ngate = { prompt = \"Ship the release?\", timeout = \"1h\" }\n",
    );
    let engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let id = wait_until("the shipper run", secs(20), || {
        env.runs()
            .as_array()?
            .iter()
            .find(|r| r["workflow"] == "shipper")
            .and_then(|r| r["id"].as_str().map(str::to_string))
    });
    env.wait_step(&id, "ship", "waiting_approval", 20);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(engine.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let _ = wait_child(engine, 20);
    assert_eq!(env.show(&id)["state"], "interrupted");
    let tmux = Tmux::new(&env, 120, 40, &tui(&env));
    let screen = tmux.wait_for(
        "the Waiting tab first",
        |s| s.contains("Waiting ·") && s.contains("Ship the release?"),
        20,
    );
    assert!(
        screen.contains("shipper") && screen.contains("ship"),
        "{screen}"
    );
    assert!(screen.contains("left"), "the time left: {screen}");
    assert!(
        screen.contains("interrupted: deciding makes this console its engine"),
        "{screen}"
    );
    // Issue 45 point 6: the wait stopped with the engine, and stays stopped.
    let waited = |s: &str| {
        s.lines()
            .find(|l| l.contains("│waiting"))
            .unwrap_or_default()
            .to_string()
    };
    let before = waited(&screen);
    assert!(before.contains("no engine since"), "{screen}");
    let shown = std::time::Instant::now();
    wait_until("two seconds on the console's clock", secs(10), || {
        shown.elapsed() >= secs(2)
    });
    assert_eq!(waited(&tmux.screen()), before, "the wait does not grow");
    tmux.keys(&["a"]);
    tmux.wait_for("the approve dialog", |s| s.contains("Approve ship"), 10);
    tmux.literal("engine stopped, approving from the desk");
    tmux.keys(&["Enter"]);
    tmux.wait_for(
        "the console to take the run over",
        |s| s.contains("this console now drives the shipper run"),
        20,
    );
    wait_until("the approved step to run", secs(20), || {
        env.path().join("shipped").exists()
    });
    tmux.wait_for(
        "nothing waits any more",
        // The decided item keeps the selection, greyed, until the operator moves it
        // (issue 76 point 1): the count says nothing waits.
        |s| s.contains("Waiting · 0 across"),
        20,
    );
    let v = env.show(&id);
    assert_eq!(v["state"], "succeeded", "{v:#}");
    let audit = text(&env.run(&["audit", &id]).stdout);
    assert!(
        audit.contains("engine stopped, approving from the desk"),
        "{audit}"
    );
    tmux.keys(&["q"]);
    tmux.wait_for("the console to exit", |s| s.contains("TUI-EXIT=0"), 20);
}

/// The Waiting tab reads a run's items again only when its events or its liveness
/// change: an engine killed with -9 writes no event, and its run's gate still turns
/// `interrupted` on the open console.
#[test]
fn the_waiting_tab_shows_a_run_interrupted_when_its_engine_dies_without_a_word() {
    let env = Env::new();
    let wf = env.workflow(
        "ship.toml",
        "name = \"shipper\"\n[[step]]\nid = \"ship\"\nrun = \"touch shipped\"\ngate = { prompt = \"Ship the release?\", timeout = \"1h\" }\n",
    );
    let (mut engine, id) = env.spawn_until(&wf, "ship", "waiting_approval");
    let tmux = Tmux::new(&env, 120, 40, &tui(&env));
    let interrupted = "interrupted: deciding makes this console its engine";
    let screen = tmux.wait_for(
        "the gate in the Waiting tab",
        |s| s.contains("Waiting ·") && s.contains("Ship the release?"),
        20,
    );
    assert!(!screen.contains(interrupted), "{screen}");
    let events = || text(&env.run(&["events", &id]).stdout);
    let before = events();
    let _ = engine.kill();
    let _ = engine.wait();
    tmux.wait_for("the run shown interrupted", |s| s.contains(interrupted), 20);
    assert_eq!(events(), before, "no event was written");
    tmux.keys(&["q"]);
    tmux.wait_for("the console to exit", |s| s.contains("TUI-EXIT=0"), 20);
}

/// Point 2: an approve refused before any dialog opens holds the screen: the reason
/// typed after it (`quit now` starts with `q`) runs as no key, and Esc closes it.
#[test]
fn a_refused_approve_holds_what_is_typed_after_it() {
    let env = Env::new();
    let wf = env.workflow(
        "plain.toml",
        "name = \"plain\"\n[[step]]\nid = \"only\"\nrun = \"true\"\n",
    );
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let tmux = Tmux::new(&env, 120, 40, &tui(&env));
    tmux.wait_for("the runs tab", |s| s.contains("Runs ·"), 20);
    tmux.keys(&["1"]);
    tmux.wait_for("the DAG", |s| s.contains("only"), 10);
    tmux.keys(&["a"]);
    tmux.wait_for("the refusal held", |s| s.contains("Not now"), 10);
    tmux.literal("quit now");
    // Still held: no quit, no help, the refusal on screen.
    let screen = tmux.wait_for("the refusal still held", |s| s.contains("Not now"), 10);
    assert!(!screen.contains("TUI-EXIT"), "{screen}");
    tmux.keys(&["Escape"]);
    tmux.wait_for("the refusal closed", |s| !s.contains("Not now"), 10);
    tmux.keys(&["q"]);
    tmux.wait_for("the console to exit", |s| s.contains("TUI-EXIT=0"), 20);
}

/// Point 2: a step that waits for a person after its engine died (not idempotent) is in
/// the Waiting tab; `m` marks it with a reason and a confirm, taking the run over.
#[test]
fn the_console_marks_a_step_with_a_reason_and_a_confirm() {
    let env = Env::new();
    let wf = env.workflow(
        "migrate.toml",
        "name = \"migrator\"\n[[step]]\nid = \"migrate\"\nidempotent = false\nrun = \"sleep 60\"\n",
    );
    let (mut engine, id) = env.spawn_until(&wf, "migrate", "running");
    engine.kill().expect("kill -9 the engine");
    let _ = engine.wait();
    let tmux = Tmux::new(&env, 120, 40, &tui(&env));
    tmux.wait_for(
        "the step to mark in the Waiting tab",
        |s| s.contains("Waiting ·") && s.contains("migrate") && s.contains("mark"),
        20,
    );
    tmux.keys(&["m"]);
    tmux.wait_for("the mark dialog", |s| s.contains("Mark migrate"), 10);
    // Sent without a reason: the core's refusal opens the dialog again, its words
    // under the reason.
    tmux.keys(&["Enter"]);
    tmux.wait_for(
        "the confirm",
        |s| s.contains("Enter again to record it"),
        10,
    );
    tmux.keys(&["Enter"]);
    tmux.wait_for(
        "a reason is asked for",
        |s| s.contains("a reason is required to mark a step"),
        20,
    );
    tmux.literal("rolled it back by hand");
    tmux.keys(&["Enter"]);
    tmux.wait_for(
        "the confirm",
        |s| s.contains("Enter again to record it"),
        10,
    );
    tmux.keys(&["Enter"]);
    wait_until("the step marked", secs(30), || {
        let v = env.show(&id);
        (step_state(&v, "migrate").as_deref() == Some("failed")).then_some(())
    });
    let audit = text(&env.run(&["audit", &id]).stdout);
    assert!(audit.contains("rolled it back by hand"), "{audit}");
    tmux.keys(&["q"]);
    tmux.wait_for(
        "the quit or exit",
        |s| s.contains("TUI-EXIT") || s.contains("Quit"),
        20,
    );
}

/// Point 4: a decision made from another shell is a notice with who, what and why,
/// kept in the `!` list; the cancel dialog names the run and its workflow.
#[test]
fn a_decision_from_another_shell_is_a_notice_and_cancel_names_the_run() {
    let env = Env::new();
    let wf = env.workflow(
        "two.toml",
        "name = \"two-gates\"\n[[step]]\nid = \"first\"\nrun = \"true\"\ngate = { prompt = \"First?\" }\n[[step]]\nid = \"second\"\nrun = \"sleep 60\"\n",
    );
    let (_engine, id) = env.spawn_until(&wf, "first", "waiting_approval");
    let tmux = Tmux::new(&env, 120, 40, &tui(&env));
    tmux.wait_for("the Waiting tab", |s| s.contains("First?"), 20);
    tmux.keys(&["Enter"]);
    tmux.wait_for("the run's DAG", |s| s.contains("second"), 10);
    let out = env.run(&["reject", &id, "first", "--reason", "not on a Friday"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    tmux.wait_for(
        "the notice",
        |s| s.contains("rejected first") && s.contains("not on a Friday"),
        20,
    );
    tmux.keys(&["!"]);
    tmux.wait_for(
        "the notices list",
        |s| s.contains("Notices · 1") && s.contains("not on a Friday"),
        10,
    );
    tmux.keys(&["Escape"]);
    tmux.wait_for("the list closed", |s| !s.contains("Notices ·"), 10);
    tmux.keys(&["c"]);
    let short = &id[..8];
    tmux.wait_for(
        "a cancel dialog naming the run",
        |s| s.contains("Cancel the run?") && s.contains(short) && s.contains("two-gates"),
        10,
    );
    tmux.keys(&["Escape"]);
    // Esc and `q` sent at once read as Alt-q: the dialog closed first.
    tmux.wait_for("the dialog closed", |s| !s.contains("Cancel the run?"), 10);
    tmux.keys(&["q"]);
    tmux.wait_for("the console to exit", |s| s.contains("TUI-EXIT=0"), 20);
}

//! An on-call shift without surprises (issue 45): engine or viewer always visible, a
//! takeover said before and after and never written over the screen, and leaving (`q`,
//! a lost terminal) hands the runs this console drives to a background engine.
use super::*;

/// A step that waits for a file (a shell loop, so a killed engine leaves it running),
/// then one that leaves a mark.
const WAITS_FOR_GO: &str = "name = \"handover\"\n[[step]]\nid = \"wait\"\nrun = \"while [ ! -e go ] && [ -e $PWD ]; do sleep 0.1; done\"\n[[step]]\nid = \"after\"\nneeds = [\"wait\"]\nrun = \"touch finished\"\n";

fn tui(env: &Env) -> String {
    format!(
        "cd {} && BATON_DB={} XDG_CONFIG_HOME={} USER=carol {} tui ; echo TUI-EXIT=$? ; sleep 30",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&env.db().to_string_lossy()),
        shell_quote(&env.config_home().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
    )
}

/// The run started headless and its engine killed (-9) while its step runs: the
/// step's shell is left behind, the run interrupted.
fn interrupted_run(env: &Env) -> String {
    let wf = env.workflow("handover.toml", WAITS_FOR_GO);
    let (mut engine, id) = env.spawn_until(&wf, "wait", "running");
    engine.kill().expect("kill -9 the engine");
    let _ = engine.wait();
    id
}

/// The run ends with the background engine (the console has gone): `go` lets its step
/// finish.
fn finishes_in_the_background(env: &Env, id: &str) {
    std::fs::write(env.path().join("go"), "").unwrap();
    wait_until("the run to succeed in the background", secs(60), || {
        (env.show(id)["state"] == "succeeded").then_some(())
    });
    assert!(env.path().join("finished").exists());
}

/// Point 1: the header says viewer, then `drives 1 run` once `R` took an interrupted
/// run over; the takeover says what it did (the previous engine's leftover process
/// stopped) on the status line, not over the screen; `q` offers detach and `d` hands
/// the run to a background engine that finishes it after the console has gone.
#[test]
fn a_takeover_shows_in_the_header_and_q_detaches_the_run_to_a_background_engine() {
    let env = Env::new();
    let id = interrupted_run(&env);
    let tmux = Tmux::new(&env, 160, 40, &tui(&env));
    tmux.wait_for("the runs", |s| s.contains("interrupted"), 20);
    tmux.keys(&["5"]);
    let screen = tmux.wait_for("the Runs tab", |s| s.contains("Runs ·"), 10);
    assert!(screen.contains("viewer"), "{screen}");
    tmux.keys(&["R"]);
    let screen = tmux.wait_for(
        "the header to say this console drives the run",
        |s| s.contains("drives 1 run") && s.contains("this console now drives the handover run"),
        30,
    );
    // What the takeover did is on the status line, with the rest of its message.
    let said: Vec<&str> = screen
        .lines()
        .filter(|l| l.contains("process group(s) left running"))
        .collect();
    assert!(
        said.len() == 1 && said[0].contains("resumed"),
        "the takeover's note on the status line only:\n{screen}"
    );
    tmux.keys(&["q"]);
    let screen = tmux.wait_for("the quit dialog", |s| s.contains("[ Detach ]"), 10);
    assert!(
        screen.contains("[ Interrupt ]") && screen.contains("[ Stay ]"),
        "{screen}"
    );
    tmux.keys(&["d"]);
    let screen = tmux.wait_for("the console to exit", |s| s.contains("TUI-EXIT="), 30);
    assert!(screen.contains("TUI-EXIT=0"), "{screen}");
    assert!(
        screen.contains("handed to a background engine (pid"),
        "{screen}"
    );
    finishes_in_the_background(&env, &id);
}

/// Point 1: a lost terminal (SIGHUP to `baton run`'s console) hands the run on, as the
/// detach does, instead of interrupting it.
#[test]
fn sighup_to_a_console_hands_its_run_to_a_background_engine() {
    let env = Env::new();
    let wf = env.workflow("hangup.toml", WAITS_FOR_GO);
    let command = console_run(&env, &wf);
    let tmux = Tmux::new(&env, 120, 30, &command);
    tmux.wait_for(
        "the console driving its run",
        |s| s.contains("drives 1 run"),
        30,
    );
    let id = env.wait_run_id();
    env.wait_step(&id, "wait", "running", 20);
    hang_up(&wf.to_string_lossy());
    let screen = tmux.wait_for("baton to exit", |s| s.contains("BATON-EXIT="), 30);
    assert!(
        screen.contains("handed to a background engine (pid"),
        "{screen}"
    );
    finishes_in_the_background(&env, &id);
}

/// Point 1: `on_quit = "interrupt"` keeps the old way: a hangup interrupts the run.
#[test]
fn on_quit_interrupt_makes_a_hangup_interrupt_the_run() {
    let env = Env::new();
    env.config("on_quit = \"interrupt\"\n");
    let wf = env.workflow("hangup.toml", WAITS_FOR_GO);
    let command = console_run(&env, &wf);
    let tmux = Tmux::new(&env, 120, 30, &command);
    tmux.wait_for(
        "the console driving its run",
        |s| s.contains("drives 1 run"),
        30,
    );
    let id = env.wait_run_id();
    env.wait_step(&id, "wait", "running", 20);
    hang_up(&wf.to_string_lossy());
    let screen = tmux.wait_for("baton to exit", |s| s.contains("BATON-EXIT="), 30);
    assert!(screen.contains("BATON-EXIT=129"), "{screen}");
    assert_eq!(env.show(&id)["state"], "interrupted");
}

/// Point 1: `baton resume RUN --detach` drives the run in the background and returns.
#[test]
fn resume_detach_drives_the_run_in_the_background() {
    let env = Env::new();
    let id = interrupted_run(&env);
    let out = env.run(&["resume", &id, "--detach"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(said.contains("driven in the background (pid"), "{said}");
    finishes_in_the_background(&env, &id);
}

/// Point 3: the Runs tab's selection is the run, not the row: a run started from
/// another shell lands above it and Enter still opens the run that was selected.
#[test]
fn a_new_run_above_the_selection_leaves_it_on_the_same_run() {
    let env = Env::new();
    for name in ["alpha", "beta"] {
        let wf = env.workflow(
            &format!("{name}.toml"),
            &format!("name = \"{name}\"\n[[step]]\nid = \"only\"\nrun = \"true\"\n"),
        );
        let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let tmux = Tmux::new(&env, 120, 30, &tui(&env));
    // Both rows listed before the key, or it moves in a list of one.
    tmux.wait_for(
        "the Runs tab listing both runs",
        |s| s.contains("Runs ·") && s.contains("alpha") && s.contains("beta"),
        20,
    );
    // Newest first: beta, then alpha; the selection goes to alpha.
    tmux.keys(&["Down"]);
    let gamma = env.workflow(
        "gamma.toml",
        "name = \"gamma\"\n[[step]]\nid = \"only\"\nrun = \"true\"\n",
    );
    let out = env.run(&["run", gamma.to_str().unwrap(), "--headless"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    tmux.wait_for("the new run in the list", |s| s.contains("gamma"), 20);
    tmux.keys(&["Enter"]);
    // The DAG tab comes at once, the run's view when the session has read it: until
    // then the header and the tab say the run is opening (docs/console.md), never the
    // run shown before (beta).
    tmux.wait_for(
        "the run selected (alpha) opened on its DAG",
        |s| {
            let header = s.lines().next().unwrap_or_default();
            (s.contains("Graph ·") || s.contains("List ·"))
                && header.contains("alpha")
                && !header.contains("opening")
                && !header.contains("beta")
                && !header.contains("gamma")
        },
        20,
    );
    tmux.keys(&["q"]);
    tmux.wait_for("the console to exit", |s| s.contains("TUI-EXIT=0"), 20);
}

//! The Runs tab: opening another run, filtering and deleting, resuming an interrupted
//! run.
use super::*;

/// Runs → Enter opens another run in `baton run`'s console too.
#[test]
fn baton_run_console_opens_another_run_from_the_runs_tab() {
    let env = Env::new();
    let other = env.workflow(
        "earlier.toml",
        "name = \"earlier-run\"\n[[step]]\nid = \"only\"\nrun = \"true\"\n",
    );
    let o = env.run(&["run", other.to_str().unwrap(), "--headless"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let wf = env.workflow(
        "current.toml",
        "name = \"current-run\"\n[[step]]\nid = \"wait\"\nrun = \"sleep 60\"\n",
    );
    let command = format!(
        "cd {} && BATON_DB={} USER=carol {} run {} ; echo RUN-EXIT=$? ; sleep 30",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&env.db().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
        shell_quote(&wf.to_string_lossy()),
    );
    let tmux = Tmux::new(&env, 120, 40, &command);
    tmux.wait_for(
        "the console on the new run",
        |s| s.contains("current-run"),
        20,
    );
    tmux.keys(&["5"]);
    tmux.wait_for("the runs tab", |s| s.contains("earlier-run"), 10);
    // Newest first: the earlier run is the second row.
    tmux.keys(&["Down"]);
    tmux.keys(&["Enter"]);
    tmux.wait_for(
        "the earlier run opened",
        |s| s.contains("earlier-run") && s.contains("only"),
        10,
    );
    // Quitting still names the run this console drives, not the one on screen.
    tmux.keys(&["q"]);
    tmux.wait_for(
        "the quit prompt",
        |s| s.contains("This console drives run"),
        10,
    );
    tmux.keys(&["i"]);
    let screen = tmux.wait_for("baton to exit", |s| s.contains("RUN-EXIT="), 20);
    assert!(screen.contains("RUN-EXIT=130"), "{screen}");
    cancel_current(&env);
}

/// Interrupted, the console's run leaves its step for `baton resume` to adopt (frozen,
/// anchored): the test ends the run as an operator would, which stops what its engine
/// left, so that nothing of it outlives the test.
fn cancel_current(env: &Env) {
    let runs = env.runs();
    let current = (runs.as_array().into_iter().flatten())
        .find(|r| r["workflow"] == "current-run")
        .and_then(|r| r["id"].as_str())
        .map(str::to_string)
        .expect("the interrupted run is listed");
    // Driven to its end in this process, which exits with the run's (cancelled) code.
    let out = env.run(&["cancel", &current, "--reason", "the test is over"]);
    let show = env.show(&current);
    assert_eq!(
        show["state"],
        "cancelled",
        "{}\n{show:#}",
        text(&out.stderr)
    );
}

/// Issue 12 point 8: the Runs tab filters, and deletes a run through the session (as
/// `baton runs rm`), after asking.
#[test]
fn the_runs_tab_filters_and_deletes_a_run_after_asking() {
    let env = Env::new();
    let a = env.workflow(
        "a.toml",
        "name = \"alpha\"\n[[step]]\nid = \"x\"\nrun = \"true\"\n",
    );
    let b = env.workflow(
        "b.toml",
        "name = \"beta\"\n[[step]]\nid = \"y\"\nrun = \"true\"\n",
    );
    for wf in [&a, &b] {
        let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let command = format!(
        "cd {} && BATON_DB={} XDG_CONFIG_HOME={} USER=carol {} tui ; echo TUI-EXIT=$? ; sleep 30",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&env.db().to_string_lossy()),
        shell_quote(&env.config_home().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
    );
    let tmux = Tmux::new(&env, 120, 40, &command);
    tmux.wait_for(
        "both runs",
        |s| s.contains("alpha") && s.contains("beta"),
        20,
    );
    tmux.keys(&["/"]);
    tmux.literal("wf:alp");
    tmux.keys(&["Enter"]);
    tmux.wait_for(
        "only alpha",
        |s| {
            let rows: Vec<&str> = s
                .lines()
                .filter(|l| l.starts_with('│') && l.contains("succeeded"))
                .collect();
            s.contains("(1 match)") && rows.len() == 1 && rows[0].contains("alpha")
        },
        10,
    );
    tmux.keys(&["d"]);
    tmux.wait_for("the question", |s| s.contains("Delete the run?"), 10);
    tmux.keys(&["y"]);
    // The flash may already be gone: the console opens the run left when the one it
    // showed is deleted, and a flash clears with a change of run.
    tmux.wait_for(
        "the deletion",
        |s| s.contains("deleted run") || s.contains("Runs · 1 in the store"),
        20,
    );
    let runs = env.runs();
    let names: Vec<&str> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["workflow"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["beta"]);
    tmux.keys(&["q"]);
    tmux.wait_for("the console to exit", |s| s.contains("TUI-EXIT=0"), 10);
}

/// Issue 12 point 8: `R` on an interrupted run in the Runs tab resumes it (through the
/// session, this console driving it) and opens it on its DAG; the run then finishes.
#[test]
fn r_in_the_runs_tab_resumes_an_interrupted_run_and_opens_it() {
    let env = Env::new();
    let wf = env.workflow(
        "resumable.toml",
        "name = \"resumable\"\n[[step]]\nid = \"first\"\nrun = \"test -e go || sleep 60\"\n[[step]]\nid = \"second\"\nneeds = [\"first\"]\nrun = \"touch resumed-done\"\n",
    );
    let engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    env.wait_step(&id, "first", "running", 20);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(engine.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let _ = wait_child(engine, 20);
    assert_eq!(env.show(&id)["state"], "interrupted");
    // The step finishes at once when it runs again.
    std::fs::write(env.path().join("go"), "").unwrap();
    let command = format!(
        "cd {} && BATON_DB={} USER=carol {} tui ; echo TUI-EXIT=$? ; sleep 30",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&env.db().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
    );
    let tmux = Tmux::new(&env, 120, 40, &command);
    tmux.wait_for("the interrupted run", |s| s.contains("interrupted"), 20);
    tmux.keys(&["5"]);
    tmux.wait_for("the runs tab", |s| s.contains("Runs ·"), 10);
    tmux.keys(&["R"]);
    tmux.wait_for(
        "the resumed run on its DAG",
        |s| (s.contains("Graph ·") || s.contains("List ·")) && !s.contains("Runs ·"),
        20,
    );
    wait_until("the second step to run", secs(30), || {
        env.path().join("resumed-done").exists()
    });
    tmux.wait_for("the run to succeed", |s| s.contains("succeeded"), 30);
    let v = env.show(&id);
    assert_eq!(v["state"], "succeeded", "{v:#}");
    tmux.keys(&["q"]);
    tmux.wait_for("the console to exit", |s| s.contains("TUI-EXIT=0"), 20);
}

/// Issue 29 point 1: a console that drives a run on a store of more than one page of
/// runs opens on the newest page and does not read the rest beside the run; the Runs
/// tab asks for it, and the whole list comes while the run goes on.
#[test]
fn a_console_driving_a_run_reads_the_whole_history_when_the_runs_tab_asks() {
    use baton::model::Timestamp;
    use baton::session::RUN_LIST_FIRST_PAGE as FIRST_PAGE;
    use baton::store::{NewRun, Store};
    let env = Env::new();
    let wf = env.workflow(
        "current.toml",
        "name = \"current-run\"\n[[step]]\nid = \"wait\"\nrun = \"sleep 60\"\n",
    );
    let mut s = Store::open(&env.db()).unwrap();
    let old = FIRST_PAGE + 5;
    for i in 0..old {
        s.create_run(&NewRun {
            id: format!("01old{i:05}"),
            workflow: "old".into(),
            source_path: "old.toml".into(),
            source_text: "name = \"old\"\n".into(),
            params_json: "{}".into(),
            operator: "carol".into(),
            started_at: Timestamp(1_000 + i as i64),
            parent: None,
            steps: vec!["a".into()],
        })
        .unwrap();
    }
    drop(s);
    // Ended long ago, as a year of history is.
    let c = rusqlite::Connection::open(env.db()).unwrap();
    c.execute(
        "UPDATE runs SET state = 'succeeded', finished_at = started_at + 1000,
             steps_total = 1, steps_done = 1, health = 100",
        [],
    )
    .unwrap();
    let command = format!(
        "cd {} && BATON_DB={} USER=carol {} run {} ; sleep 30",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&env.db().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
        shell_quote(&wf.to_string_lossy()),
    );
    let tmux = Tmux::new(&env, 120, 40, &command);
    tmux.wait_for("the console on the run", |s| s.contains("current-run"), 20);
    tmux.keys(&["5"]);
    let whole = format!("Runs · {} in the store", old + 1);
    tmux.wait_for(
        "every run, while the run goes on",
        |s| s.contains(&whole),
        20,
    );
    // Interrupted (`q`, `y`), then ended: the console's run outlives no test.
    tmux.keys(&["q"]);
    tmux.wait_for(
        "the quit prompt",
        |s| s.contains("This console drives run"),
        10,
    );
    tmux.keys(&["i"]);
    wait_until("the console's run to read interrupted", secs(20), || {
        let runs = env.runs();
        (runs.as_array().into_iter().flatten())
            .any(|r| r["workflow"] == "current-run" && r["state"] == "interrupted")
    });
    cancel_current(&env);
}

/// Issue 76 point 1: `c` on the Runs tab cancels the highlighted run, not the one on
/// screen. Two live runs of one workflow; the console shows the newer one, the older is
/// highlighted: the dialog names the older one, and `y` cancels it, the newer going on.
#[test]
fn c_in_the_runs_tab_cancels_the_highlighted_run_not_the_one_on_screen() {
    let env = Env::new();
    let wf = env.workflow(
        "twin.toml",
        "name = \"twin\"\n[[step]]\nid = \"wait\"\nrun = \"while [ -e $PWD ] && [ ! -e go ]; do sleep 0.1; done\"\n",
    );
    let (mut first_engine, first) = env.spawn_until(&wf, "wait", "running");
    let mut second_engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let second = wait_until("the second run", secs(20), || {
        let runs = env.runs();
        (runs.as_array().into_iter().flatten())
            .filter_map(|r| r["id"].as_str())
            .find(|id| *id != first)
            .map(str::to_string)
    });
    env.wait_step(&second, "wait", "running", 20);
    let command = format!(
        "cd {} && BATON_DB={} XDG_CONFIG_HOME={} USER=carol {} tui ; echo TUI-EXIT=$? ; sleep 30",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&env.db().to_string_lossy()),
        shell_quote(&env.config_home().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
    );
    // `baton tui` opens on the newest run: the second.
    let tmux = Tmux::new(&env, 140, 40, &command);
    tmux.wait_for("the second run on screen", |s| s.contains(&second[..8]), 20);
    tmux.keys(&["5"]);
    tmux.wait_for(
        "both runs listed",
        |s| s.contains(&first[..8]) && s.contains(&second[..8]),
        10,
    );
    // Newest first: the first run is the second row.
    tmux.keys(&["Down"]);
    tmux.keys(&["c"]);
    let screen = tmux.wait_for("the question", |s| s.contains("Cancel the run?"), 10);
    let asked: String = screen.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        asked.contains(&format!("Cancel run {}", &first[..8])) && asked.contains("(twin, running"),
        "{screen}"
    );
    tmux.keys(&["y"]);
    wait_until("the highlighted run cancelled", secs(30), || {
        (env.show(&first)["state"] == "cancelled").then_some(())
    });
    assert_eq!(
        env.show(&second)["state"],
        "running",
        "the run on screen goes on"
    );
    tmux.keys(&["q"]);
    // The rest ends as an operator would.
    std::fs::write(env.path().join("go"), "").unwrap();
    wait_until("the second run to end", secs(30), || {
        (env.show(&second)["state"] == "succeeded").then_some(())
    });
    let _ = first_engine.wait();
    let _ = second_engine.wait();
}

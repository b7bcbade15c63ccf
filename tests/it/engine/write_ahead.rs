//! Issues 14 and 62: what a step's process can see of the store when it starts. Each
//! step checks by reading the store (`baton show`) as its first act:
//! - every step starts only once its start is committed (issue 62: no start overlaps
//!   its commit any more, idempotent or not);
//! - a dependant starts only once its needs' success is committed;
//! - a gated step starts only once its approval is committed.
//!
//! And kill -9 between a group's commit and its spawns: resume runs each step once.
use crate::helpers::*;
use serde_json::Value;
use std::fmt::Write as _;

/// The command a step runs: record what the store says of the run, as JSON, in
/// `seen/<step>.json` (values come from the environment, never into the script).
fn look(env: &Env) -> String {
    format!(
        r#"BATON_DB='{}' '{}' show "$BATON_RUN_ID" --json > "seen/$BATON_STEP_ID.json""#,
        env.db().display(),
        env!("CARGO_BIN_EXE_baton")
    )
}

fn seen(env: &Env, step: &str) -> Value {
    let p = env.path().join("seen").join(format!("{step}.json"));
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).expect("show --json is JSON")
}

#[test]
fn every_step_sees_itself_running_and_its_needs_succeeded() {
    let env = Env::new();
    std::fs::create_dir_all(env.path().join("seen")).unwrap();
    let cmd = look(&env);
    // Two layers of four, two at a time: most steps of the second layer start when a
    // slot frees, long after their needs' success was committed (the path on which a
    // start may overlap its commit); `last` starts right after its needs end.
    let mut w = String::from("name = \"write-ahead\"\nmax_parallel = 2\n");
    for i in 0..4 {
        let _ = write!(w, "\n[[step]]\nid = \"a{i}\"\nrun = '''{cmd}'''\n");
    }
    for i in 0..4 {
        let _ = write!(
            w,
            "\n[[step]]\nid = \"b{i}\"\nneeds = [\"a{i}\", \"a{}\"]\nrun = '''{cmd}'''\n",
            (i + 1) % 4
        );
        if i % 2 == 0 {
            w.push_str("idempotent = false\n");
        }
    }
    let _ = write!(
        w,
        "\n[[step]]\nid = \"last\"\nneeds = [\"b0\", \"b1\", \"b2\", \"b3\"]\nidempotent = false\nrun = '''{cmd}'''\n"
    );
    let wf = env.workflow("wa.toml", &w);
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let needs = |step: &str| -> Vec<String> {
        match step {
            "last" => (0..4).map(|i| format!("b{i}")).collect(),
            _ => {
                let i: usize = step[1..].parse().unwrap();
                vec![format!("a{i}"), format!("a{}", (i + 1) % 4)]
            }
        }
    };
    for step in ["a0", "a1", "a2", "a3", "b0", "b1", "b2", "b3", "last"] {
        let v = seen(&env, step);
        let needs = if step.starts_with('a') {
            Vec::new()
        } else {
            needs(step)
        };
        for need in needs {
            assert_eq!(
                step_state(&v, &need).as_deref(),
                Some("succeeded"),
                "{step} started before the success of {need} was committed: {v:#}"
            );
        }
        assert_eq!(
            step_state(&v, step).as_deref(),
            Some("running"),
            "{step} started before its start was committed: {v:#}"
        );
    }
}

#[test]
fn a_gated_step_sees_its_approval_committed() {
    let env = Env::new();
    std::fs::create_dir_all(env.path().join("seen")).unwrap();
    let cmd = look(&env);
    let w = format!(
        "name = \"gated\"\n\n[[step]]\nid = \"a\"\nrun = 'true'\n\n[[step]]\nid = \"deploy\"\nneeds = [\"a\"]\ngate = {{ prompt = \"go?\" }}\nrun = '''{cmd}'''\n"
    );
    let wf = env.workflow("gated.toml", &w);
    let child = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    env.wait_step(&id, "deploy", "waiting_approval", 30);
    let out = env.run(&["approve", &id, "deploy", "--reason", "write-ahead test"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = wait_child(child, 30);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // Running in the store when it starts: the batch that approved it is committed.
    let v = seen(&env, "deploy");
    assert_eq!(
        step_state(&v, "deploy").as_deref(),
        Some("running"),
        "{v:#}"
    );
}

/// The crash test's promise on a DAG of short steps, where most starts overlap their
/// commit: kill -9 the engine at random moments, resume, and check that no step recorded
/// as succeeded ever starts again, the run ends succeeded, and the audit chain verifies.
#[test]
fn kill_dash_nine_while_starts_overlap_their_commits_never_reruns_succeeded_steps() {
    use rand::{Rng, SeedableRng};
    use std::time::Duration;
    let mut rng = rand::rngs::StdRng::seed_from_u64(14);
    let env = Env::new();
    let mut w = String::from("name = \"fast\"\nmax_parallel = 2\n");
    let cmd = r#"echo "$BATON_STEP_ID start" >> ledger; sleep 0.05"#;
    for layer in 0..8 {
        for i in 0..20 {
            let _ = write!(w, "\n[[step]]\nid = \"s{layer}_{i}\"\nrun = '{cmd}'\n");
            if layer > 0 {
                let _ = writeln!(
                    w,
                    "needs = [\"s{}_{i}\", \"s{}_{}\"]",
                    layer - 1,
                    layer - 1,
                    (i + 1) % 20
                );
            }
        }
    }
    let wf = env.workflow("fast.toml", &w);
    let mut ledger = StartLedger::new(&env);
    let mut run_id: Option<String> = None;
    let mut mid_run = 0;
    for i in 0..8 {
        let mut child = match &run_id {
            None => env.spawn(&["run", wf.to_str().unwrap(), "--headless"]),
            Some(id) => env.spawn(&["resume", id, "--headless"]),
        };
        let id = run_id.get_or_insert_with(|| env.wait_run_id()).clone();
        std::thread::sleep(Duration::from_millis(rng.random_range(100..400)));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let show = env.show(&id);
        let now = ledger.check(&format!("crash {i}"));
        ledger.freeze(&show, &now);
        if show["state"] == "succeeded" {
            break;
        }
        mid_run += 1;
    }
    let id = run_id.expect("a run");
    if env.show(&id)["state"] != "succeeded" {
        let out = wait_child(env.spawn(&["resume", &id, "--headless"]), 120);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    let show = env.show(&id);
    assert_eq!(show["state"], "succeeded", "{show:#}");
    ledger.check("after the last resume");
    assert!(
        mid_run >= 3,
        "only {mid_run} crashes landed mid-run: make the DAG longer"
    );
    let verify = env.run(&["audit", "verify", &id]);
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify.stdout));
}

/// Issue 62, the crash between a group's commit and its spawns: `a`'s end makes three
/// steps ready at once (`max_parallel = 3`), so `a`'s success and their three starts are
/// one transaction; the engine dies (SIGKILL, the `committed` failpoint) right after
/// it, before any of their processes exists. The store has all three started (read
/// back as interrupted); resume
/// runs each of them once, `a` not again, and the run ends succeeded.
#[test]
fn kill_dash_nine_between_a_groups_commit_and_its_spawns_runs_each_step_once() {
    let env = Env::new();
    let cmd = r#"echo "$BATON_STEP_ID" >> ledger"#;
    let mut w =
        format!("name = \"group\"\nmax_parallel = 3\n\n[[step]]\nid = \"a\"\nrun = '{cmd}'\n");
    for b in ["b1", "b2", "b3"] {
        let _ = write!(
            w,
            "\n[[step]]\nid = \"{b}\"\nneeds = [\"a\"]\nrun = '{cmd}'\n"
        );
    }
    let _ = write!(
        w,
        "\n[[step]]\nid = \"c\"\nneeds = [\"b1\", \"b2\", \"b3\"]\nrun = '{cmd}'\n"
    );
    let wf = env.workflow("group.toml", &w);
    died_at(&env, &[], &wf, "committed:b2");
    let ledger = || -> Vec<String> {
        let mut lines: Vec<String> = std::fs::read_to_string(env.path().join("ledger"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect();
        lines.sort();
        lines
    };
    assert_eq!(ledger(), ["a"], "no process of the group started");
    let id = env.wait_run_id();
    let show = env.show(&id);
    // Recorded running; read back as interrupted, its engine being gone.
    for b in ["b1", "b2", "b3"] {
        let step = show["steps"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["id"] == b));
        let step = step.unwrap_or_else(|| panic!("{b} in {show:#}"));
        assert_eq!(step["state"], "interrupted", "{b}: {show:#}");
        assert!(
            step["started_at"].is_string(),
            "{b}'s start was committed with the group: {show:#}"
        );
    }
    assert_eq!(step_state(&show, "a").as_deref(), Some("succeeded"));
    let out = wait_child(env.spawn(&["resume", &id, "--headless"]), 60);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(env.show(&id)["state"], "succeeded");
    assert_eq!(ledger(), ["a", "b1", "b2", "b3", "c"], "each step ran once");
    let verify = env.run(&["audit", "verify", &id]);
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify.stdout));
}

/// kill -9 right after a local step's process was started (on the engine's own thread,
/// the `started` failpoint: its pid not recorded): resume stops that process and does
/// not start the step again (not idempotent: it waits for a person), so it ran once.
#[test]
fn kill_dash_nine_right_after_a_local_spawn_then_resume_never_starts_it_again() {
    let env = Env::new();
    let wf = env.workflow(
        "once.toml",
        "name = \"once\"\n\n[[step]]\nid = \"s\"\nidempotent = false\n\
         run = 'echo $$ >> pids; echo start >> ledger; sleep 60; echo end >> ledger'\n",
    );
    died_at(&env, &[], &wf, "started:s");
    let read = |name: &str| std::fs::read_to_string(env.path().join(name)).unwrap_or_default();
    // Started before the engine died: it runs on, its engine gone.
    let pid: i32 = wait_until("the step's process to run", secs(30), || {
        read("pids").trim().parse::<i32>().map_err(|_| read("pids"))
    });
    let id = env.wait_run_id();
    let resume = env.spawn(&["resume", &id, "--headless"]);
    env.wait_step(&id, "s", "interrupted", 30);
    wait_until("the run to wait for a person", secs(30), || {
        let show = env.show(&id);
        if show["state"] == "waiting" {
            Ok(())
        } else {
            Err(format!("{show:#}"))
        }
    });
    wait_until("the dead engine's process to be stopped", secs(30), || {
        !process_alive(pid)
    });
    let show = env.show(&id);
    assert_eq!(step_field(&show, "s", "attempts"), 1, "{show:#}");
    assert_eq!(read("ledger"), "start\n", "it ran once: {show:#}");
    assert_eq!(read("pids").lines().count(), 1, "one process: {show:#}");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(resume.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    wait_child(resume, 60);
}

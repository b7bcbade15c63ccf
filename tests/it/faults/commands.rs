//! Commands that mean what they say (issue 16, point 5): a command has a deadline, its
//! submitter's wait; one no engine took by then is never applied later, even when the
//! submitter was killed while it waited. An engine sees commands submitted just before
//! it starts.
use crate::helpers::*;
use std::time::{Duration, Instant};

const GATED: &str = r#"
name = "gated"
[[step]]
id = "prep"
run = "true"
[[step]]
id = "deploy"
needs = ["prep"]
run = "echo deployed > deployed.txt"
gate = { prompt = "go?" }
"#;

fn signal(pid: u32, sig: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), sig).expect("signal");
}

/// (status, outcome json) of the newest command of the store.
fn last_command(env: &Env) -> Option<(String, Option<String>)> {
    let conn = rusqlite::Connection::open(env.db()).ok()?;
    conn.query_row(
        "SELECT status, outcome FROM commands ORDER BY id DESC LIMIT 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .ok()
}

#[test]
fn a_command_whose_submitter_was_killed_never_applies_later() {
    let env = Env::new();
    let wf = env.workflow("gated.toml", GATED);
    let mut engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let run = env.wait_run_id();
    env.wait_step(&run, "deploy", "waiting_approval", 20);
    // The engine is alive (its lease is fresh) but takes nothing while stopped.
    signal(engine.id(), nix::sys::signal::Signal::SIGSTOP);
    let mut approve = env.spawn(&["approve", &run, "deploy", "--reason", "go", "--wait", "2s"]);
    wait_until("the command to be submitted", secs(10), || {
        last_command(&env).is_some_and(|(status, _)| status == "pending")
    });
    approve.kill().expect("kill -9 the submitter");
    let _ = approve.wait();
    // Past the submitter's deadline, the engine comes back.
    let killed_at = Instant::now();
    wait_until("the deadline to pass", secs(10), || {
        killed_at.elapsed() > Duration::from_millis(2200)
    });
    signal(engine.id(), nix::sys::signal::Signal::SIGCONT);
    wait_until("the engine to refuse the expired command", secs(20), || {
        last_command(&env).is_some_and(|(status, _)| status == "refused")
    });
    let (_, outcome) = last_command(&env).expect("the command");
    assert!(outcome.unwrap_or_default().contains("expired"));
    assert_eq!(
        step_field(&env.show(&run), "deploy", "state"),
        "waiting_approval",
        "the expired approval did not apply"
    );
    assert!(!env.path().join("deployed.txt").exists());
    let _ = engine.kill();
    let _ = engine.wait();
}

#[test]
fn a_command_the_live_engine_does_not_take_in_time_is_refused_and_withdrawn() {
    let env = Env::new();
    let wf = env.workflow("gated.toml", GATED);
    let engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let run = env.wait_run_id();
    env.wait_step(&run, "deploy", "waiting_approval", 20);
    signal(engine.id(), nix::sys::signal::Signal::SIGSTOP);
    let o = env.run(&["approve", &run, "deploy", "--wait", "300ms"]);
    let all = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{all}");
    assert!(
        all.contains("did not take the command within 300ms") && all.contains("will never apply"),
        "{all}"
    );
    signal(engine.id(), nix::sys::signal::Signal::SIGCONT);
    // The engine goes on and never applies it: approve now, for real, and it is the
    // only approval on record.
    let o = env.run(&["approve", &run, "deploy", "--reason", "now"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    let out = wait_child(engine, 30);
    assert_eq!(out.status.code(), Some(0));
    let audit = text(&env.run(&["audit", &run, "--json"]).stdout);
    let audit: serde_json::Value = serde_json::from_str(&audit).expect("audit --json");
    let votes: Vec<&serde_json::Value> = audit
        .as_array()
        .expect("rows")
        .iter()
        .filter(|r| r["action"] == "approval_vote")
        .collect();
    assert_eq!(votes.len(), 1, "{audit:#}");
    assert_eq!(votes[0]["reason"], "now");
}

/// A gate whose step was removed from the workflow while its run waited can still be
/// rejected (and such a run cancelled): those commands run on the recorded workflow.
#[test]
fn a_gate_whose_step_vanished_from_the_workflow_can_still_be_rejected() {
    let env = Env::new();
    let wf = env.workflow("gated.toml", GATED);
    let mut engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let run = env.wait_run_id();
    env.wait_step(&run, "deploy", "waiting_approval", 20);
    engine.kill().expect("kill -9 the engine");
    let _ = engine.wait();
    std::fs::write(
        &wf,
        "name = \"gated\"\n[[step]]\nid = \"prep\"\nrun = \"true\"\n",
    )
    .expect("rewrite the workflow");
    // Approving it cannot work: the step is gone from the file.
    let o = env.run(&["approve", &run, "deploy"]);
    assert_ne!(o.status.code(), Some(0), "{}", text(&o.stdout));
    let o = env.run(&["reject", &run, "deploy", "--reason", "step was removed"]);
    let all = format!("{}{}", text(&o.stdout), text(&o.stderr));
    assert_eq!(o.status.code(), Some(1), "the run ends failed: {all}");
    assert!(all.contains("accepted: rejected `deploy`"), "{all}");
    let v = env.show(&run);
    assert_eq!(v["state"], "failed", "{v:#}");
    assert_eq!(step_field(&v, "deploy", "state"), "rejected");
}

/// Commands arrive without polling delays (issue 10, point 5): with the engine's store
/// poll set to ten minutes, an approval from another process still applies at once,
/// through the wake socket beside the database.
#[test]
fn an_approval_wakes_the_engine_without_waiting_for_its_poll() {
    let env = Env::new();
    let wf = env.workflow("gated.toml", GATED);
    let engine = env
        .cmd()
        .args(["run", wf.to_str().unwrap(), "--headless"])
        .env("BATON_COMMAND_POLL_MS", "600000")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let run = env.wait_run_id();
    env.wait_step(&run, "deploy", "waiting_approval", 20);
    let o = env.run(&["approve", &run, "deploy", "--reason", "go", "--wait", "5s"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    let out = wait_child(engine, 30);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(env.path().join("deployed.txt").exists());
    // The socket goes with its engine.
    let sock = env
        .db()
        .with_file_name("baton.db.wake")
        .join(format!("{run}.sock"));
    assert!(!sock.exists(), "{}", sock.display());
}

/// `--auto-approve` survives a crash: the run records it, and a plain `resume` keeps
/// approving (a crashed headless run no longer waits at its gate forever); `resume
/// --auto-approve` turns it on for a run started without it. Both are audited.
#[test]
fn auto_approve_is_restored_on_resume_and_can_be_turned_on_by_it() {
    let slow_then_gate = "name = \"auto\"\n[[step]]\nid = \"slow\"\nrun = 'if [ -f once ]; then true; else touch once; sleep 60; fi'\n[[step]]\nid = \"deploy\"\nneeds = [\"slow\"]\nrun = \"touch deployed\"\ngate = { prompt = \"go?\" }\n";
    for (run_flag, resume_flag) in [(true, false), (false, true)] {
        let env = Env::new();
        let wf = env.workflow("auto.toml", slow_then_gate);
        let mut args = vec!["run", wf.to_str().unwrap(), "--headless"];
        if run_flag {
            args.push("--auto-approve");
        }
        let mut engine = env.spawn(&args);
        let run = env.wait_run_id();
        env.wait_step(&run, "slow", "running", 20);
        engine.kill().expect("kill -9 the engine");
        let _ = engine.wait();
        let mut resume = vec!["resume", run.as_str(), "--headless"];
        if resume_flag {
            resume.push("--auto-approve");
        }
        let child = env.spawn(&resume);
        let out = wait_child(child, 30);
        assert_eq!(
            out.status.code(),
            Some(0),
            "run --auto-approve {run_flag}, resume --auto-approve {resume_flag}: {}",
            text(&out.stdout)
        );
        assert!(env.path().join("deployed").exists());
        let audit = text(&env.run(&["audit", &run, "--json"]).stdout);
        // Approved as the account that passed the flag (tests run as root), never `auto`.
        assert!(audit.contains("\"actor\":\"root\""), "{audit}");
        assert!(!audit.contains("\"actor\":\"auto\""), "{audit}");
        assert!(
            audit.contains("\"auto_approve\":true"),
            "the flag is on record: {audit}"
        );
    }
}

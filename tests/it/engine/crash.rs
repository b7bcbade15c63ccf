//! Issue 6 point 3: kill -9 the engine at random moments during a 60-step workflow with
//! a gate, resume after each crash, and check that no step recorded as succeeded starts
//! again, the gated step never ran without its approval, the run ends succeeded, the
//! database is intact and the audit chain verifies.
//! `BATON_CRASH_ITERATIONS` raises the number of crashes (default 20).
use crate::helpers::*;
use rand::{Rng, SeedableRng};
use std::fmt::Write as _;
use std::time::Duration;

fn workflow() -> String {
    let mut w = String::from("name = \"crashy\"\nmax_parallel = 2\n");
    let cmd =
        r#"echo "$BATON_STEP_ID start" >> ledger; sleep 0.5; echo "$BATON_STEP_ID end" >> ledger"#;
    for layer in 0..6 {
        for i in 0..10 {
            let id = format!("s{layer}_{i}");
            let _ = write!(w, "\n[[step]]\nid = \"{id}\"\nrun = '{cmd}'\n");
            if layer > 0 {
                let _ = writeln!(
                    w,
                    "needs = [\"s{}_{}\", \"s{}_{}\"]",
                    layer - 1,
                    i,
                    layer - 1,
                    (i + 1) % 10
                );
            }
        }
        if layer == 2 {
            let _ = write!(
                w,
                "\n[[step]]\nid = \"deploy\"\nneeds = [\"s2_0\"]\nrun = '{cmd}'\ngate = {{ prompt = \"deploy?\" }}\n"
            );
        }
    }
    w
}

#[test]
fn kill_dash_nine_and_resume_never_reruns_succeeded_steps_or_unapproved_gates() {
    let iterations: usize = std::env::var("BATON_CRASH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let seed: u64 = std::env::var("BATON_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let env = Env::new();
    let wf = env.workflow("crashy.toml", &workflow());
    let mut run_id: Option<String> = None;
    let mut ledger = StartLedger::new(&env);
    let mut approved = false;
    let mut crashes = 0;
    for i in 0..iterations {
        let child = match &run_id {
            None => env.spawn(&["run", wf.to_str().unwrap(), "--headless"]),
            Some(id) => env.spawn(&["resume", id, "--headless"]),
        };
        let id = run_id.get_or_insert_with(|| env.wait_run_id()).clone();
        std::thread::sleep(Duration::from_millis(rng.random_range(100..600)));
        if !approved && i >= iterations / 3 {
            let show = env.show(&id);
            if step_state(&show, "deploy").as_deref() == Some("waiting_approval") {
                let out = env.run(&["approve", &id, "deploy", "--reason", "crash test"]);
                approved = out.status.code() == Some(0);
                assert!(
                    !ledger.starts().contains_key("deploy"),
                    "deploy started before it was approved (iteration {i})"
                );
                std::thread::sleep(Duration::from_millis(rng.random_range(0..300)));
            }
        }
        let mut child = child;
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        crashes += 1;
        let show = env.show(&id);
        assert_ne!(
            show["state"], "succeeded",
            "the run finished before crash {i}: make the workflow longer"
        );
        let now = ledger.check(&format!("iteration {i}"));
        if !approved {
            assert!(
                !now.contains_key("deploy"),
                "deploy ran without approval (iteration {i})"
            );
        }
        ledger.freeze(&show, &now);
    }
    assert_eq!(crashes, iterations, "the workflow must outlast the crashes");
    let id = run_id.expect("a run");
    // Approve now if the crashes never gave the chance, then let the run finish.
    let mut child = env.spawn(&["resume", &id, "--headless"]);
    if !approved {
        env.wait_step(&id, "deploy", "waiting_approval", 60);
        assert!(!ledger.starts().contains_key("deploy"));
        let out = env.run(&["approve", &id, "deploy", "--reason", "finally"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    }
    wait_until("the final resume to finish", secs(120), || {
        child.try_wait().ok().flatten().is_some()
    });
    let show = env.show(&id);
    assert_eq!(show["state"], "succeeded", "{show:#}");
    let now = ledger.check("after the last resume");
    assert!(
        now.get("deploy").copied().unwrap_or(0) >= 1,
        "deploy ran after its approval"
    );
    let conn = rusqlite::Connection::open(env.db()).unwrap();
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    let verify = env.run(&["audit", "verify", &id]);
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify.stdout));
    let _ = child.wait();
}

/// A process that left its step's group (`setsid`) survives the engine's kill -9 and is
/// not in any recorded group; resume still finds it by the run id in its environment
/// and stops it before the step runs again.
#[test]
fn resume_stops_what_the_dead_engine_left_running_even_outside_its_groups() {
    let env = Env::new();
    let wf = env.workflow(
        "escape.toml",
        r#"
name = "escape"
[[step]]
id = "a"
run = 'setsid sleep 1000 & echo $! >> escaped.pids; sleep 1000'
"#,
    );
    let pids = |env: &Env| -> Vec<i32> {
        std::fs::read_to_string(env.path().join("escaped.pids"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    };
    let mut engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    wait_until("the step's escaped process", secs(20), || {
        pids(&env).len() == 1
    });
    let escaped = pids(&env)[0];
    let _ = engine.kill(); // SIGKILL: nothing of the engine's clean-up runs
    let _ = engine.wait();
    assert!(
        process_alive(escaped),
        "setsid took it out of the step's group"
    );

    let resumed = env.spawn(&["resume", &id, "--headless"]);
    wait_until("the escaped process to be stopped", secs(20), || {
        !process_alive(escaped)
    });
    // The step runs again (it is idempotent by default) and escapes again: stop it all.
    wait_until("the step's second run", secs(20), || pids(&env).len() == 2);
    let out = env.run(&["cancel", &id]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = wait_child(resumed, 30);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("left running by the previous engine"),
        "{}",
        text(&out.stderr)
    );
    for pid in pids(&env) {
        // SAFETY: a plain kill(2) of the test's own leftover.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}

//! Issue 24, findings 1, 2, 3, 16 and 19: what an attacker and a careful operator found
//! with the real binary (finding 4, the Slurm log, is in `tests/slurm.rs`).
use crate::helpers::*;
use serde_json::Value;
use std::time::Duration;

/// A run whose engine was killed (-9) while `deploy` waited at its gate.
fn orphaned_gate(env: &Env, deploy: &str) -> String {
    let wf = env.workflow(
        "gated.toml",
        &format!(
            "name = \"gated\"\n[[step]]\nid = \"build\"\nrun = \"true\"\n[[step]]\nid = \"deploy\"\nneeds = [\"build\"]\nrun = '{deploy}'\ngate = {{ prompt = \"ship?\" }}\n"
        ),
    );
    let (mut child, run) = env.spawn_until(&wf, "deploy", "waiting_approval");
    child.kill().expect("kill -9 the engine");
    let _ = child.wait();
    run
}

fn errors_of_kind(show: &Value, kind: &str) -> Vec<Value> {
    show["errors"]
        .as_array()
        .map(|a| a.iter().filter(|e| e["kind"] == kind).cloned().collect())
        .unwrap_or_default()
}

// ---- 1: a cancel starts nothing ---------------------------------------------------

#[test]
fn cancel_of_an_interrupted_run_never_starts_its_idempotent_step_again() {
    let env = Env::new();
    let run = interrupted_deploy(&env);
    let o = env.run(&["cancel", &run, "--reason", "abandoned"]);
    let all = format!("{}{}", text(&o.stdout), text(&o.stderr));
    assert_eq!(o.status.code(), Some(1), "the run ends cancelled: {all}");
    assert!(all.contains("accepted: cancelling"), "{all}");
    cancelled_without_a_second_start(&env, &run);
}

/// A run whose engine was killed (-9) while its idempotent `deploy` ran; the ledger
/// has one `start` line per start of `deploy`.
fn interrupted_deploy(env: &Env) -> String {
    let wf = env.workflow(
        "deploy.toml",
        "name = \"deploy\"\n[[step]]\nid = \"deploy\"\nrun = 'echo start >> ledger; sleep 60'\n[[step]]\nid = \"after\"\nneeds = [\"deploy\"]\nrun = 'echo after >> ledger'\n",
    );
    let (mut child, run) = env.spawn_until(&wf, "deploy", "running");
    wait_until("the step's first start", Duration::from_secs(10), || {
        std::fs::read_to_string(env.path().join("ledger")).is_ok_and(|l| l.contains("start"))
    });
    child.kill().expect("kill -9 the engine");
    let _ = child.wait();
    run
}

/// The run ended cancelled and `deploy` started once, ever.
fn cancelled_without_a_second_start(env: &Env, run: &str) {
    let v = env.show(run);
    assert_eq!(v["state"], "cancelled", "{v:#}");
    assert_eq!(step_field(&v, "deploy", "state"), "cancelled", "{v:#}");
    assert_eq!(
        step_field(&v, "deploy", "attempts"),
        1,
        "the cancel started attempt 2: {v:#}"
    );
    assert_eq!(step_field(&v, "after", "state"), "cancelled", "{v:#}");
    let ledger = std::fs::read_to_string(env.path().join("ledger")).unwrap_or_default();
    assert_eq!(ledger, "start\n", "started again by the cancel");
}

#[test]
fn a_cancel_recorded_for_the_next_engine_is_decided_before_anything_starts() {
    let env = Env::new();
    let run = interrupted_deploy(&env);
    let o = env.run(&["cancel", &run, "--reason", "abandoned", "--no-drive"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    let child = env.spawn(&["resume", &run, "--headless"]);
    let o = wait_child(child, 30);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stdout));
    cancelled_without_a_second_start(&env, &run);
}

// ---- 2: a command claimed by an engine that died ------------------------------------

/// Record `approve --no-drive`, then leave its row as an engine leaves it when it dies
/// right after claiming it (before its verdict). Returns the row's id.
fn claimed_by_a_dead_engine(env: &Env, run: &str) -> i64 {
    let o = env.run(&["approve", run, "deploy", "--no-drive", "--reason", "go"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let conn = rusqlite::Connection::open(env.db()).unwrap();
    let id: i64 = conn
        .query_row("SELECT max(id) FROM commands", [], |r| r.get(0))
        .unwrap();
    conn.execute("UPDATE commands SET status = 'claimed' WHERE id = ?1", [id])
        .unwrap();
    id
}

fn command_status(env: &Env, id: i64) -> String {
    let conn = rusqlite::Connection::open(env.db()).unwrap();
    conn.query_row("SELECT status FROM commands WHERE id = ?1", [id], |r| {
        r.get(0)
    })
    .unwrap()
}

#[test]
fn a_command_claimed_by_a_dead_engine_is_decided_by_the_next_one() {
    let env = Env::new();
    let run = orphaned_gate(&env, "touch deployed.txt");
    let id = claimed_by_a_dead_engine(&env, &run);
    let child = env.spawn(&["resume", &run, "--headless"]);
    let o = wait_child(child, 30);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    let v = env.show(&run);
    assert_eq!(step_field(&v, "deploy", "state"), "succeeded", "{v:#}");
    assert!(env.path().join("deployed.txt").exists());
    assert_eq!(command_status(&env, id), "accepted");
    let audit = text(&env.run(&["audit", &run]).stdout);
    assert!(audit.contains("approved"), "{audit}");
}

#[test]
fn a_claimed_command_whose_proof_was_used_up_is_refused_on_record() {
    let env = Env::new();
    let run = orphaned_gate(&env, "touch deployed.txt");
    let id = claimed_by_a_dead_engine(&env, &run);
    // The dead engine had checked (and so used up) the row's proof.
    let proofs = env.db().with_file_name("baton.db.proofs");
    for f in std::fs::read_dir(&proofs).unwrap() {
        std::fs::remove_file(f.unwrap().path()).unwrap();
    }
    let mut engine = env.spawn(&["resume", &run, "--headless"]);
    wait_until("the command's verdict", Duration::from_secs(20), || {
        command_status(&env, id) == "refused"
    });
    let audit = text(&env.run(&["audit", &run]).stdout);
    let _ = engine.kill();
    let _ = engine.wait();
    assert!(
        audit.contains("stopped before committing its decision")
            && audit.contains("hand it in again"),
        "{audit}"
    );
    assert!(!env.path().join("deployed.txt").exists());
}

// ---- 3: a compensation that failed --------------------------------------------------

#[test]
fn a_failed_compensation_reads_unhealthy_and_its_suggestion_resolves_it() {
    let env = Env::new();
    let wf = env.workflow(
        "saga.toml",
        "name = \"saga\"\n[[step]]\nid = \"deploy\"\nrun = \"true\"\ncompensate = \"exit 3\"\n[[step]]\nid = \"wait\"\nneeds = [\"deploy\"]\nrun = \"sleep 60\"\n",
    );
    let (child, run) = env.spawn_until(&wf, "wait", "running");
    let o = env.run(&["cancel", &run, "--reason", "stop"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    let o = wait_child(child, 30);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stdout));
    let v = env.show(&run);
    assert_eq!(v["state"], "cancelled", "{v:#}");
    assert_eq!(step_field(&v, "deploy", "state"), "compensation_failed");
    assert_ne!(v["health_label"], "healthy", "{v:#}");
    let open = errors_of_kind(&v, "compensation_failed");
    assert_eq!(open.len(), 1, "{v:#}");
    assert_eq!(open[0]["open"], true);
    assert_eq!(open[0]["severity"], "critical");
    // The suggestion's command, as printed, with a reason for its `…`.
    let suggestion = open[0]["suggestion"].as_str().unwrap().to_string();
    let command = suggestion
        .split('`')
        .find(|part| part.starts_with("baton "))
        .unwrap_or_else(|| panic!("no command in {suggestion:?}"));
    let (head, reason) = command
        .split_once(" --reason ")
        .unwrap_or_else(|| panic!("no reason asked for in {command:?}"));
    assert_eq!(reason, "…", "{command:?}");
    let mut args: Vec<&str> = head.split_whitespace().skip(1).collect();
    args.extend(["--reason", "rolled back by hand"]);
    let o = env.run(&args);
    let all = format!("{}{}", text(&o.stdout), text(&o.stderr));
    assert_eq!(o.status.code(), Some(0), "{args:?}: {all}");
    assert!(all.contains("accepted: marked `deploy` failed"), "{all}");
    let v = env.show(&run);
    assert_eq!(v["state"], "cancelled", "the run stays as it ended: {v:#}");
    assert_eq!(step_field(&v, "deploy", "state"), "failed");
    assert!(
        errors_of_kind(&v, "compensation_failed")
            .iter()
            .all(|e| e["open"] == false),
        "{v:#}"
    );
    let audit = text(&env.run(&["audit", &run]).stdout);
    assert!(audit.contains("rolled back by hand"), "{audit}");
}

// ---- 16: the first headless line ------------------------------------------------------

#[test]
fn the_first_headless_line_is_sanitised_in_a_pipe() {
    let env = Env::new();
    let wf = env.workflow(
        "evil.toml",
        "name = \"evil\\u001b]0;pwned\\u0007\\u001b[2J\\u202e\"\n[[step]]\nid = \"a\"\nrun = \"true\"\n",
    );
    let o = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}{}", text(&o.stderr));
    let first = out.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("run ") && first.contains("evil"),
        "{first:?}"
    );
    for bad in ['\u{1b}', '\u{7}'] {
        assert!(!out.contains(bad), "raw {bad:?} in {out:?}");
    }
}

// ---- 19: --events through a planted link; baton's plumbing in a step's environment --

#[test]
fn events_never_follow_a_symlink_planted_where_the_file_goes() {
    let env = Env::new();
    let profile = env.path().join("profile");
    std::fs::write(&profile, "export PATH=/usr/bin\n").unwrap();
    let shared = env.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    let events = shared.join("events.jsonl");
    std::os::unix::fs::symlink(&profile, &events).unwrap();
    let wf = env.workflow(
        "one.toml",
        "name = \"one\"\n[[step]]\nid = \"a\"\nrun = \"true\"\n",
    );
    let o = env.run(&[
        "run",
        wf.to_str().unwrap(),
        "--headless",
        "--events",
        events.to_str().unwrap(),
    ]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("symbolic link"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&profile).unwrap(),
        "export PATH=/usr/bin\n"
    );
    // A file of one's own is appended to, run after run.
    let own = env.path().join("own.jsonl");
    for _ in 0..2 {
        let o = env.run(&[
            "run",
            wf.to_str().unwrap(),
            "--headless",
            "--events",
            own.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    }
    let lines = std::fs::read_to_string(&own).unwrap();
    assert_eq!(
        lines.matches("\"run_started\"").count(),
        2,
        "two runs' events: {lines}"
    );
}

/// The variables a step is documented to get (docs/workflow-format.md), and `BATON_DB`,
/// which the operator (here the test) set for themself.
fn documented(name: &str) -> bool {
    matches!(
        name,
        "BATON_RUN_ID"
            | "BATON_STEP_ID"
            | "BATON_ATTEMPT"
            | "BATON_ALTERNATIVE"
            | "BATON_OUTPUT"
            | "BATON_USAGE"
            | "BATON_SUMMARY"
            | "BATON_LABELS"
            | "BATON_SLOT"
            | "BATON_DB"
    ) || name.starts_with("BATON_PARAM_")
}

#[test]
fn a_step_of_a_detached_engine_sees_none_of_batons_plumbing() {
    let env = Env::new();
    let run = orphaned_gate(&env, "env > step-env.txt");
    let o = env
        .cmd()
        .args(["approve", &run, "deploy", "--reason", "go", "--detach"])
        // Baton's own knobs, set for baton: none may reach the step.
        .env("BATON_COMMAND_POLL_MS", "100")
        .env("BATON_NO_WAKE", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    env.wait_step(&run, "deploy", "succeeded", 30);
    let seen = std::fs::read_to_string(env.path().join("step-env.txt")).unwrap();
    let names: Vec<&str> = seen
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, _)| k))
        .filter(|k| k.starts_with("BATON_"))
        .collect();
    assert!(names.contains(&"BATON_RUN_ID"), "{names:?}");
    let leaked: Vec<&&str> = names.iter().filter(|n| !documented(n)).collect();
    assert!(leaked.is_empty(), "baton's plumbing in a step: {leaked:?}");
}

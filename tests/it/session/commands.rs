//! Commands on any run (issue 10, point 2): `retry`, `mark`, `approve`, `reject` and
//! `cancel` work on runs no engine drives (finished, or interrupted with their engine
//! dead), taking the run over; a command that cannot apply is refused at once with the
//! reason and the run's state, never after a timeout and never with circular advice.
use crate::helpers::*;
use std::process::Output;

const FLAKY: &str = r#"
name = "flaky-once"
[[step]]
id = "build"
run = 'if [ -f ok ]; then echo fixed; else touch ok; echo broken; exit 1; fi'
[[step]]
id = "ship"
needs = ["build"]
run = "echo shipped"
"#;

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

fn out(o: &Output) -> String {
    format!("{}{}", text(&o.stdout), text(&o.stderr))
}

/// A finished, failed headless run: `build` failed, `ship` upstream_failed.
fn failed_run(env: &Env) -> String {
    let wf = env.workflow("flaky.toml", FLAKY);
    let o = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    let run = run_id_of(&text(&o.stdout));
    let v = env.show(&run);
    assert_eq!(v["state"], "failed");
    assert_eq!(step_field(&v, "ship", "state"), "upstream_failed");
    run
}

/// A run waiting at its gate whose engine was killed with SIGKILL.
fn orphaned_gate(env: &Env) -> String {
    let wf = env.workflow("gated.toml", GATED);
    let mut child = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let run = env.wait_run_id();
    env.wait_step(&run, "deploy", "waiting_approval", 20);
    child.kill().expect("kill -9 the engine");
    let _ = child.wait();
    run
}

#[test]
fn retry_after_a_failed_run_reopens_it_and_rearms_downstream() {
    let env = Env::new();
    let run = failed_run(&env);
    let o = env.run(&["retry", &run, "build"]);
    let all = out(&o);
    assert_eq!(o.status.code(), Some(0), "{all}");
    assert!(all.contains("accepted: retrying `build`"), "{all}");
    assert!(all.contains("continuing it here"), "{all}");
    let v = env.show(&run);
    assert_eq!(v["state"], "succeeded", "{v:#}");
    assert_eq!(step_field(&v, "build", "state"), "succeeded");
    assert_eq!(step_field(&v, "build", "attempts"), 2);
    assert_eq!(step_field(&v, "ship", "state"), "succeeded");
    // The run is no longer driven: the lease was given back.
    let again = env.run(&["retry", &run, "build"]);
    let again_text = out(&again);
    assert_eq!(again.status.code(), Some(1), "{again_text}");
    assert!(
        again_text.contains("refused: `build` is succeeded")
            && again_text.contains(&format!("(run {run} is succeeded)")),
        "{again_text}"
    );
    assert!(
        !again_text.contains("within"),
        "refused at once: {again_text}"
    );
}

#[test]
fn mark_on_a_failed_run_reopens_it_and_runs_the_dependants() {
    let env = Env::new();
    let run = failed_run(&env);
    let o = env.run(&[
        "mark",
        &run,
        "build",
        "--state",
        "succeeded",
        "--reason",
        "built by hand",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let v = env.show(&run);
    assert_eq!(v["state"], "succeeded", "{v:#}");
    assert_eq!(step_field(&v, "build", "attempts"), 1, "marked, not re-run");
    assert_eq!(step_field(&v, "ship", "state"), "succeeded");
    // Issue 42 point 11: everywhere its state shows, the step says it was marked.
    let me = v["operator"].as_str().unwrap_or_default().to_string();
    let marked = step_field(&v, "build", "marked");
    assert_eq!(marked["state"], "succeeded", "{marked:#}");
    assert_eq!(marked["by"], me.as_str());
    assert_eq!(marked["reason"], "built by hand");
    assert!(
        marked["at"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{marked:#}"
    );
    assert!(step_field(&v, "ship", "marked").is_null());
    let shown = out(&env.run(&["show", &run]));
    assert!(
        shown.contains(&format!("build marked succeeded by {me}: built by hand")),
        "{shown}"
    );
    assert!(shown.contains("succeeded (marked)"), "{shown}");
}

#[test]
fn a_command_that_cannot_apply_is_refused_at_once_with_the_state() {
    let env = Env::new();
    let run = failed_run(&env);
    for (args, says) in [
        (vec!["cancel", &run], "the run already finished (failed)"),
        (vec!["retry", &run, "nope"], "no step named `nope`"),
        (vec!["approve", &run, "build"], "step `build` has no gate"),
    ] {
        let o = env.run(&args);
        let all = out(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {all}");
        assert!(all.contains(says), "{args:?}: {all}");
        assert!(
            all.contains(&format!("run {run} is failed")),
            "{args:?}: {all}"
        );
        assert!(!all.contains("within"), "{args:?}: {all}");
    }
    // Nothing changed, and no engine was left holding the run.
    let v = env.show(&run);
    assert_eq!(v["state"], "failed");
    assert_eq!(step_field(&v, "build", "attempts"), 1);
}

#[test]
fn resume_of_a_finished_run_points_to_retry_which_works() {
    let env = Env::new();
    let run = failed_run(&env);
    let o = env.run(&["resume", &run, "--headless"]);
    let all = out(&o);
    assert_eq!(o.status.code(), Some(1), "{all}");
    assert!(all.contains(&format!("`baton retry {run} STEP`")), "{all}");
    let o = env.run(&["retry", &run, "build"]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
}

#[test]
fn a_late_reject_on_a_dead_engines_gate_applies_and_a_second_is_refused() {
    let env = Env::new();
    let run = orphaned_gate(&env);
    let o = env.run(&["reject", &run, "deploy", "--reason", "not today"]);
    let all = out(&o);
    // The run ends failed (rejected): the command's process drove it to its end.
    assert_eq!(o.status.code(), Some(1), "{all}");
    assert!(all.contains("accepted: rejected `deploy`"), "{all}");
    let v = env.show(&run);
    assert_eq!(step_field(&v, "deploy", "state"), "rejected", "{v:#}");
    assert!(!env.path().join("deployed.txt").exists());
    let o = env.run(&["reject", &run, "deploy", "--reason", "again"]);
    let all = out(&o);
    assert_eq!(o.status.code(), Some(1), "{all}");
    assert!(
        all.contains("refused: the gate of `deploy` was already decided (rejected)"),
        "{all}"
    );
}

#[test]
fn approve_on_a_dead_engines_gate_with_detach_runs_in_the_background() {
    let env = Env::new();
    let run = orphaned_gate(&env);
    let o = env.run(&["approve", &run, "deploy", "--reason", "go", "--detach"]);
    let all = out(&o);
    assert_eq!(o.status.code(), Some(0), "{all}");
    assert!(all.contains("accepted: approved `deploy`"), "{all}");
    assert!(all.contains("driven in the background by pid"), "{all}");
    env.wait_step(&run, "deploy", "succeeded", 30);
    assert!(env.path().join("deployed.txt").exists());
    // Its output went to a file beside the run's logs.
    let log = all
        .lines()
        .find_map(|l| l.split("its output: ").nth(1))
        .expect("log path printed");
    wait_until("the engine log to say deploy succeeded", secs(20), || {
        let text = std::fs::read_to_string(log.trim()).unwrap_or_default();
        if text.contains("deploy") && text.contains("succeeded") {
            Ok(())
        } else {
            Err(text)
        }
    });
}

#[test]
fn no_drive_records_the_command_for_the_next_engine() {
    let env = Env::new();
    let run = orphaned_gate(&env);
    let o = env.run(&["approve", &run, "deploy", "--no-drive"]);
    let all = out(&o);
    assert_eq!(o.status.code(), Some(0), "{all}");
    assert!(all.contains("recorded:"), "{all}");
    // Nothing ran yet.
    assert_eq!(
        step_field(&env.show(&run), "deploy", "state"),
        "waiting_approval"
    );
    let o = env.run(&["resume", &run, "--headless"]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert_eq!(step_field(&env.show(&run), "deploy", "state"), "succeeded");
}

#[test]
fn cancel_of_an_interrupted_run_applies_without_its_engine() {
    let env = Env::new();
    let run = orphaned_gate(&env);
    let o = env.run(&["cancel", &run, "--reason", "abandoned"]);
    let all = out(&o);
    assert_eq!(o.status.code(), Some(1), "the run ends cancelled: {all}");
    assert!(all.contains("accepted: cancelling"), "{all}");
    let v = env.show(&run);
    assert_eq!(v["state"], "cancelled", "{v:#}");
}

#[test]
fn inputs_are_checked_before_a_run_is_created() {
    let env = Env::new();
    let wf = env.workflow(
        "typed.toml",
        "name = \"typed\"\n[params.n]\ntype = \"int\"\ndefault = 1\n[[step]]\nid = \"a\"\nrun = \"true\"\n",
    );
    let wf = wf.to_str().unwrap();
    for args in [
        vec!["run", wf, "--headless", "--theme", "no-such-theme"],
        vec!["run", wf, "--headless", "--param", "n=abc"],
        vec!["run", wf, "--headless", "--param", "nope=1"],
        vec![
            "run",
            wf,
            "--headless",
            "--events",
            "/nonexistent-dir/x.jsonl",
        ],
    ] {
        let o = env.run(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", out(&o));
        // Checked before the store is even opened: not a run, not a database.
        assert!(!env.db().exists(), "{args:?} left a store behind");
    }
}

/// `retry` on a cancelled run reopens it and re-arms the steps cancelled with it.
#[test]
fn retry_after_a_cancelled_run_reopens_it() {
    let env = Env::new();
    let wf = env.workflow(
        "c.toml",
        "name = \"c\"\n[[step]]\nid = \"slow\"\nrun = 'if [ -f once ]; then true; else touch once; sleep 60; fi'\n[[step]]\nid = \"after\"\nneeds = [\"slow\"]\nrun = \"touch after-ran\"\n",
    );
    let engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let run = env.wait_run_id();
    env.wait_step(&run, "slow", "running", 20);
    let o = env.run(&["cancel", &run, "--reason", "wrong time"]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert_eq!(wait_child(engine, 30).status.code(), Some(1));
    assert_eq!(env.show(&run)["state"], "cancelled");
    let o = env.run(&["retry", &run, "slow"]);
    let all = out(&o);
    assert_eq!(o.status.code(), Some(0), "{all}");
    assert!(all.contains("1 downstream step(s) re-armed"), "{all}");
    let v = env.show(&run);
    assert_eq!(v["state"], "succeeded", "{v:#}");
    assert!(env.path().join("after-ran").exists());
}

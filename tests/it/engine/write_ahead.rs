//! Issue 14 point 2: what a step's process can see of the store when it starts. Some
//! idempotent steps start while the commit that records their start is still being
//! written (it overlaps their start); none of that may loosen the promises below, which
//! each step checks by reading the store (`baton show`) as its first act:
//! - a step that is not idempotent starts only once its start is committed;
//! - a dependant starts only once its needs' success is committed;
//! - a gated step starts only once its approval is committed.
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
fn a_step_sees_its_needs_succeeded_and_a_non_idempotent_step_sees_itself_running() {
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
    for (step, idempotent) in [
        ("b0", false),
        ("b1", true),
        ("b2", false),
        ("b3", true),
        ("last", false),
    ] {
        let v = seen(&env, step);
        for need in needs(step) {
            assert_eq!(
                step_state(&v, &need).as_deref(),
                Some("succeeded"),
                "{step} started before the success of {need} was committed: {v:#}"
            );
        }
        if !idempotent {
            assert_eq!(
                step_state(&v, step).as_deref(),
                Some("running"),
                "{step} (not idempotent) started before its start was committed: {v:#}"
            );
        }
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

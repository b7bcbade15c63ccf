//! Issue 61, the chaos campaign's open finding (seed 105, docs/simulator.md): a waiting
//! run replaced past `max_pending` is cancelled by the replacing run through a command
//! to its engine. That engine was stopped (SIGSTOP) through the 10 s the command
//! waits, so the cancel was withdrawn as not taken, and the run, out of the line,
//! waited `queued` for a group it could never hold. Now its engine learns from the
//! store that it was replaced (`Store::admit_queued`) and ends the run itself,
//! cancelled on record; the replacing run and the holder go on as before.
use crate::helpers::*;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// One waiting run at most; each run's `build` records its run and waits for `go`.
const WORKFLOW: &str = r#"
name = "deploy"
concurrency = { group = "prod", on_conflict = "queue", max_pending = 1 }

[[step]]
id = "build"
run = '''
echo "$BATON_RUN_ID" >> ran
until [ -e go ]; do sleep 0.1; done
'''
"#;

fn signal(child: &std::process::Child, sig: Signal) {
    kill(Pid::from_raw(child.id() as i32), sig).expect("signal the engine");
}

/// The run ids of `baton runs`, other than `known`.
fn new_run(env: &Env, known: &[&str]) -> Option<String> {
    env.runs()
        .as_array()?
        .iter()
        .filter_map(|r| r["id"].as_str())
        .find(|id| !known.contains(id))
        .map(str::to_string)
}

/// The state of `run`'s cancel commands once decided (`refused`, `accepted`).
fn cancel_statuses(env: &Env, run: &str) -> Vec<String> {
    let conn = rusqlite::Connection::open(env.db()).expect("open the store");
    let mut q = conn
        .prepare("SELECT status FROM commands WHERE run_id = ?1 AND status != 'pending'")
        .expect("a query");
    q.query_map([run], |r| r.get(0))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("statuses")
}

#[test]
fn a_run_replaced_while_its_engine_was_stopped_ends_itself_once_continued() {
    let env = Env::new();
    let wf = env.workflow("deploy.toml", WORKFLOW);
    let wf_arg = wf.to_str().unwrap();
    let (holder, a) = env.spawn_until(&wf, "build", "running");
    let waiting = env.spawn(&["run", wf_arg, "--headless"]);
    let b = wait_until("the waiting run", secs(20), || new_run(&env, &[&a]));
    wait_until("the waiting run queued", secs(20), || {
        (env.show(&b)["state"] == "queued").then_some(())
    });
    signal(&waiting, Signal::SIGSTOP);
    // The newest run replaces it (max_pending = 1); its cancel waits 10 s for the
    // stopped engine, then is withdrawn as not taken.
    let newest = env.spawn(&["run", wf_arg, "--headless"]);
    let c = wait_until("the newest run", secs(20), || new_run(&env, &[&a, &b]));
    wait_until("the replacing run's cancel withdrawn", secs(40), || {
        (cancel_statuses(&env, &b) == ["refused"]).then_some(())
    });
    // Not ended on record by anyone yet; readers show it cancelled already: the store
    // took it out of the line for good (issue 75 point 7).
    assert_eq!(env.show(&b)["state"], "cancelled");
    // Continued, the engine finds its run replaced, ends it and exits.
    signal(&waiting, Signal::SIGCONT);
    let out = wait_child(waiting, 60);
    let shown = env.show(&b);
    assert_eq!(shown["state"], "cancelled", "{shown:#}");
    assert_ne!(
        out.status.code(),
        Some(0),
        "a cancelled run's engine says so"
    );
    let rows = env.audit_rows(&b, "cancel");
    assert_eq!(rows.len(), 1, "one cancel on record: {rows:#?}");
    assert_eq!(rows[0]["actor"], "engine", "{rows:#?}");
    let reason = rows[0]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("replaced in concurrency group `prod`"),
        "the reason says why: {reason}"
    );
    // The holder and the replacing run go on as before, one after the other; the
    // replaced run's build never ran.
    std::fs::write(env.path().join("go"), "").expect("write go");
    for engine in [holder, newest] {
        let out = wait_child(engine, 60);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    assert_eq!(env.show(&c)["state"], "succeeded");
    let ran = std::fs::read_to_string(env.path().join("ran")).expect("ran");
    assert_eq!(ran.lines().collect::<Vec<_>>(), [a.as_str(), c.as_str()]);
}

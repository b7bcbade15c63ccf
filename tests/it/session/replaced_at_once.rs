//! Issue 75 point 7: a waiting run a newer one replaces in its concurrency group's line
//! (`max_pending`) reads `cancelled` in `baton runs` and `baton show` as soon as the
//! replacing run is recorded: the store takes it out of the line in that run's
//! transaction, and every reader reads that. Before, it read `queued` until its own
//! engine took the replacing run's cancel (up to 10 s in a burst of 20, for ever while
//! that engine was stopped).
use crate::helpers::*;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

/// One waiting run at most; each run's `build` waits for `go`.
const WORKFLOW: &str = r#"
name = "deploy"
concurrency = { group = "prod", on_conflict = "queue", max_pending = 1 }

[[step]]
id = "build"
run = 'until [ -e go ]; do sleep 0.1; done'
"#;

fn signal(child: &std::process::Child, sig: Signal) {
    kill(Pid::from_raw(child.id() as i32), sig).expect("signal the engine");
}

/// `baton runs --json` once it lists a run other than `known`: that run's id and the
/// listing it is in.
fn listing_with_new_run(env: &Env, known: &[&str]) -> Option<(String, Value)> {
    let runs = env.runs();
    let new = runs
        .as_array()?
        .iter()
        .filter_map(|r| r["id"].as_str())
        .find(|id| !known.contains(id))?
        .to_string();
    Some((new, runs))
}

fn state_in(runs: &Value, run: &str) -> String {
    runs.as_array()
        .and_then(|rs| rs.iter().find(|r| r["id"] == run))
        .and_then(|r| r["state"].as_str())
        .unwrap_or_else(|| panic!("run {run} is listed: {runs:#}"))
        .to_string()
}

#[test]
fn a_replaced_waiting_run_reads_cancelled_as_soon_as_the_replacing_run_is_recorded() {
    let env = Env::new();
    let wf = env.workflow("deploy.toml", WORKFLOW);
    let wf_arg = wf.to_str().unwrap();
    let (holder, a) = env.spawn_until(&wf, "build", "running");
    let waiting = env.spawn(&["run", wf_arg, "--headless"]);
    let (b, _) = wait_until("the waiting run", secs(20), || {
        listing_with_new_run(&env, &[&a])
    });
    wait_until("the waiting run queued", secs(20), || {
        (env.show(&b)["state"] == "queued").then_some(())
    });
    // Its engine cannot take the replacing run's cancel while stopped: what readers
    // show is the store's replacement alone.
    signal(&waiting, Signal::SIGSTOP);
    let newest = env.spawn(&["run", wf_arg, "--headless"]);
    let (c, runs) = wait_until("the replacing run listed", secs(20), || {
        listing_with_new_run(&env, &[&a, &b])
    });
    // The very listing that first shows the replacing run shows the replaced one
    // cancelled (one transaction made the one and replaced the other).
    assert_eq!(state_in(&runs, &b), "cancelled", "{runs:#}");
    assert_eq!(state_in(&runs, &c), "queued", "{runs:#}");
    assert_eq!(state_in(&runs, &a), "running", "{runs:#}");
    assert_eq!(env.show(&b)["state"], "cancelled");
    let queued = env.run(&["runs", "--state", "queued", "--json"]);
    let queued: Value = serde_json::from_slice(&queued.stdout).expect("runs --json");
    let ids: Vec<&str> = queued
        .as_array()
        .map(|rs| rs.iter().filter_map(|r| r["id"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        ids,
        [c.as_str()],
        "only the replacing run waits: {queued:#}"
    );
    // Continued, its engine records the end every reader already showed, and the line
    // goes on: the holder, then the replacing run.
    signal(&waiting, Signal::SIGCONT);
    let out = wait_child(waiting, 60);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(env.show(&b)["state"], "cancelled");
    assert_eq!(
        env.audit_rows(&b, "cancel").len(),
        1,
        "its cancel is on record"
    );
    std::fs::write(env.path().join("go"), "").expect("write go");
    for engine in [holder, newest] {
        let out = wait_child(engine, 60);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    assert_eq!(env.show(&c)["state"], "succeeded");
}

/// Twenty runs at once into a line of one: once all are listed, no listing shows
/// more than one waiting; the nineteen replaced read `cancelled` (before, they read
/// `queued` for about 10 s, while each replacing run's cancel waited on an engine
/// that was itself still cancelling the one before it).
#[test]
fn a_burst_never_lists_more_waiting_runs_than_its_line_holds() {
    const BURST: usize = 20;
    let env = Env::new();
    let wf = env.workflow("deploy.toml", WORKFLOW);
    let wf_arg = wf.to_str().unwrap();
    let (holder, a) = env.spawn_until(&wf, "build", "running");
    let engines: Vec<_> = (0..BURST)
        .map(|_| env.spawn(&["run", wf_arg, "--headless"]))
        .collect();
    let runs = wait_until("every run of the burst listed", secs(60), || {
        let runs = env.runs();
        (runs.as_array().map_or(0, Vec::len) == BURST + 1).then_some(runs)
    });
    let count = |runs: &Value, state: &str| {
        runs.as_array()
            .map_or(0, |rs| rs.iter().filter(|r| r["state"] == state).count())
    };
    for look in [runs, env.runs()] {
        assert_eq!(count(&look, "queued"), 1, "{look:#}");
        assert_eq!(count(&look, "cancelled"), BURST - 1, "{look:#}");
        assert_eq!(state_in(&look, &a), "running", "{look:#}");
    }
    std::fs::write(env.path().join("go"), "").expect("write go");
    let mut succeeded = 0;
    for engine in std::iter::once(holder).chain(engines) {
        if wait_child(engine, 120).status.code() == Some(0) {
            succeeded += 1;
        }
    }
    assert_eq!(succeeded, 2, "the holder and the one run left waiting");
}

//! docs/simulator.md, `--mix cli` seeds 18, 20, 56, 79 (issue 61 point 6): a takeover
//! whose command ends the run (`baton cancel` of a run whose engine died) takes the
//! run's lease but not its concurrency group. From that lease to the commit that ends
//! the run, the run read as it was recorded (`waiting`) and live, beside the group's
//! holder: `runs` and `show` said two runs of the group were active. The lease is now
//! marked as an unsettled takeover's (`leases.taking_over`) and the run reads
//! `interrupted` until that commit; a `kill -9` there leaves it so, for the next
//! `baton cancel` to end.
use crate::helpers::*;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Stdio};

/// A gated deploy in the group `prod`: a run holds the group while it waits at the gate.
const WORKFLOW: &str = r#"
name = "deploy"
concurrency = { group = "prod", on_conflict = "queue" }

[[step]]
id = "deploy"
run = "echo ran >> ran.log"
gate = { prompt = "ship it?" }
"#;

/// Run `first` of the group left at its gate by a `kill -9` of its engine, and run
/// `second`, whose engine (returned, to be stopped) took the group meanwhile.
struct Group {
    first: String,
    second: String,
    engine: Child,
}

fn a_dead_holder_and_the_next(env: &Env) -> Group {
    let wf = env.workflow("w.toml", WORKFLOW);
    let (mut dead, first) = env.spawn_until(&wf, "deploy", "waiting_approval");
    dead.kill().expect("kill -9 the first engine");
    let died = wait_child(dead, 20);
    assert_eq!(died.status.signal(), Some(9), "the first engine was killed");
    let engine = env.spawn(&["run", wf.to_str().expect("a UTF-8 path"), "--headless"]);
    let second = wait_until("the second run", secs(20), || {
        let runs = env.runs();
        runs.as_array()?
            .iter()
            .filter_map(|r| r["id"].as_str())
            .find(|id| *id != first)
            .map(str::to_string)
    });
    env.wait_step(&second, "deploy", "waiting_approval", 20);
    Group {
        first,
        second,
        engine,
    }
}

/// The runs `runs --json` and `show --json` read active (pending, running, waiting,
/// queued), each reader's list.
fn active(env: &Env, g: &Group) -> (Vec<String>, Vec<String>) {
    let is_active = |s: &serde_json::Value| {
        matches!(
            s.as_str(),
            Some("pending" | "running" | "waiting" | "queued")
        )
    };
    let runs = env.runs();
    let listed = runs
        .as_array()
        .expect("runs --json is a list")
        .iter()
        .filter(|r| is_active(&r["state"]))
        .filter_map(|r| r["id"].as_str().map(str::to_string))
        .collect();
    let shown = [&g.first, &g.second]
        .into_iter()
        .filter(|run| is_active(&env.show(run)["state"]))
        .cloned()
        .collect();
    (listed, shown)
}

/// The lease row of `run`: its holder and whether an unsettled takeover holds it.
fn lease(env: &Env, run: &str) -> Option<(String, bool)> {
    let raw = rusqlite::Connection::open(env.db()).expect("the store's file");
    raw.query_row(
        "SELECT holder, taking_over FROM leases WHERE run_id = ?1",
        [run],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .ok()
}

/// The second run's engine is stopped when the test ends, however it ends.
impl Drop for Group {
    fn drop(&mut self) {
        let _ = self.engine.kill();
        let _ = self.engine.wait();
    }
}

/// The held cancel goes on when the test ends, however it ends.
struct Release(std::path::PathBuf);

impl Drop for Release {
    fn drop(&mut self) {
        let _ = std::fs::write(&self.0, b"");
    }
}

/// Nothing of either run ran.
fn nothing_ran(env: &Env) {
    let ran = std::fs::read_to_string(env.path().join("ran.log")).unwrap_or_default();
    assert!(ran.is_empty(), "no deploy ran: {ran:?}");
}

/// `baton cancel RUN` taking the run over: it ends the run, exit 1, cancelled.
fn cancelled(env: &Env, run: &str) {
    super::ended_takeover::cancelled_by_a_takeover(env, run);
    assert_eq!(env.show(run)["state"], "cancelled");
}

#[test]
fn a_cancel_taking_a_run_over_never_shows_it_active_beside_its_groups_holder() {
    let env = Env::new();
    let g = a_dead_holder_and_the_next(&env);
    assert_eq!(
        active(&env, &g),
        (vec![g.second.clone()], vec![g.second.clone()])
    );
    // The cancel takes the first run over and holds before anything is committed.
    let hold = env.path().join("go");
    let release = Release(hold.clone());
    let cancel = env
        .cmd()
        .env("BATON_FAILPOINT", "ending-held:command")
        .env("BATON_FAILPOINT_HOLD", &hold)
        .args(["cancel", &g.first, "--reason", "stop"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn baton cancel");
    let waiting = env.path().join("go.waiting");
    wait_until("the cancel at its failpoint", secs(20), || {
        waiting.exists().then_some(())
    });
    let (holder, taking_over) = lease(&env, &g.first).expect("the cancel's lease");
    assert!(
        holder.starts_with(&format!("pid {} on ", cancel.id())),
        "the cancel holds the lease: {holder}"
    );
    assert!(taking_over, "marked as an unsettled takeover's");
    // Every reader, several times over the window: one active run, the group's holder.
    for _ in 0..3 {
        assert_eq!(
            active(&env, &g),
            (vec![g.second.clone()], vec![g.second.clone()]),
            "the first run reads interrupted while its cancel is under way"
        );
    }
    let shown = env.show(&g.first);
    assert_eq!(shown["state"], "interrupted", "{shown:#}");
    assert_eq!(shown["driven_by"], holder.as_str(), "driven by the cancel");
    drop(release);
    let out = wait_child(cancel, 30);
    assert_eq!(
        out.status.code(),
        Some(1),
        "cancelled: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_eq!(env.show(&g.first)["state"], "cancelled");
    assert_eq!(
        active(&env, &g),
        (vec![g.second.clone()], vec![g.second.clone()])
    );
    nothing_ran(&env);
}

#[test]
fn a_cancel_killed_before_its_commit_leaves_the_run_interrupted_for_the_next() {
    let env = Env::new();
    let g = a_dead_holder_and_the_next(&env);
    let out = env
        .cmd()
        .env("BATON_FAILPOINT", "ending:command")
        .args(["cancel", &g.first, "--reason", "stop"])
        .stdin(Stdio::null())
        .output()
        .expect("run baton cancel");
    assert_eq!(
        out.status.signal(),
        Some(9),
        "the cancel died at its failpoint: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    // Its lease is left marked; nothing of the cancel was committed.
    let (_, taking_over) = lease(&env, &g.first).expect("the dead cancel's lease");
    assert!(taking_over, "left marked as an unsettled takeover's");
    assert_eq!(env.show(&g.first)["state"], "interrupted");
    assert_eq!(
        active(&env, &g),
        (vec![g.second.clone()], vec![g.second.clone()])
    );
    // The next cancel takes the run over and ends it.
    cancelled(&env, &g.first);
    assert_eq!(
        active(&env, &g),
        (vec![g.second.clone()], vec![g.second.clone()])
    );
    let verify = env.run(&["audit", "verify", &g.first]);
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify.stdout));
    nothing_ran(&env);
}

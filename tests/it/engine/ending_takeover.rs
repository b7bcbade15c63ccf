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
/// A macro, so that [`WITH_HANDLER`] is this text and one step more.
macro_rules! gated_deploy {
    () => {
        r#"
name = "deploy"
concurrency = { group = "prod", on_conflict = "queue" }

[[step]]
id = "deploy"
run = "echo ran >> ran.log"
gate = { prompt = "ship it?" }
"#
    };
}
const WORKFLOW: &str = gated_deploy!();

/// Run `first` of the group left at its gate by a `kill -9` of its engine, and run
/// `second`, whose engine (returned, to be stopped) took the group meanwhile.
struct Group {
    first: String,
    second: String,
    engine: Child,
}

fn a_dead_holder_and_the_next(env: &Env) -> Group {
    dead_holder_and_next_of(env, WORKFLOW)
}

/// [`a_dead_holder_and_the_next`] of the workflow `text`.
fn dead_holder_and_next_of(env: &Env, text: &str) -> Group {
    let wf = env.workflow("w.toml", text);
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

/// `baton cancel` of the first run, taking it over and held at `ending-held:command`
/// before anything is committed: the process, and what releases it (dropped: released).
fn held_cancel(env: &Env, g: &Group) -> (std::process::Child, Release) {
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
    (cancel, release)
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
    let (cancel, release) = held_cancel(&env, &g);
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

/// The gated deploy with an `on_cancel` handler, `unlock`, which runs until the file
/// `handler-go` exists (at most 60 s) and then says so in `handled.log`.
const WITH_HANDLER: &str = concat!(
    gated_deploy!(),
    r#"
[[step]]
id = "unlock"
on_cancel = true
run = "i=0; while [ ! -e handler-go ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; echo handled >> handled.log"
"#
);

/// The group's rows as recorded: the run that holds it (`active` 1), if any.
fn group_row_holder(env: &Env) -> Option<String> {
    let raw = rusqlite::Connection::open(env.db()).expect("the store's file");
    raw.query_row(
        "SELECT run_id FROM group_members WHERE grp = 'prod' AND active = 1",
        [],
        |r| r.get(0),
    )
    .ok()
}

/// One active run of the group, the second, and the first read as `want` with its
/// handler `unlock` in `handler`, over several reads.
fn only_the_second_active(env: &Env, g: &Group, want: &str, handler: &str) {
    for _ in 0..3 {
        assert_eq!(
            active(env, g),
            (vec![g.second.clone()], vec![g.second.clone()]),
            "one active run of the group while the first's handler runs"
        );
        let shown = env.show(&g.first);
        assert_eq!(shown["state"], want, "{shown:#}");
        assert_eq!(step_state(&shown, "unlock").as_deref(), Some(handler));
        assert_eq!(
            step_state(&env.show(&g.second), "deploy").as_deref(),
            Some("waiting_approval")
        );
    }
}

/// Review finding (the takeover's mark cleared at its first commit): a cancel taking
/// over a killed run whose `on_cancel` handler runs. The first commit of the cancel is
/// the one that records the run `cancelled` (its handler starts only once the run is
/// cancelled and nothing of it runs), so from the mark to the handler's end the run
/// reads `interrupted`, then `cancelled` with its handler's step `running`, never
/// active beside the group's holder; the group stays the holder's throughout. A
/// `kill -9` of the cancel while its handler runs leaves it so, and `baton resume`
/// runs the handler again to the run's end.
#[test]
fn a_cancel_whose_on_cancel_handler_runs_never_reads_two_active_runs_of_the_group() {
    let env = Env::new();
    let g = dead_holder_and_next_of(&env, WITH_HANDLER);
    let (mut cancel, _release) = held_cancel(&env, &g);
    let _handler = Release(env.path().join("handler-go"));
    assert!(lease(&env, &g.first).is_some_and(|(_, marked)| marked));
    only_the_second_active(&env, &g, "interrupted", "pending");
    // Its first commit: the run cancelled, its handler started (and held).
    std::fs::write(env.path().join("go"), b"").expect("release the cancel");
    wait_until("the handler running", secs(30), || {
        (step_state(&env.show(&g.first), "unlock").as_deref() == Some("running")).then_some(())
    });
    assert!(
        lease(&env, &g.first).is_some_and(|(_, marked)| !marked),
        "settled"
    );
    only_the_second_active(&env, &g, "cancelled", "running");
    assert_eq!(group_row_holder(&env).as_deref(), Some(g.second.as_str()));
    // Killed while its handler runs: the run is cancelled on record, its handler
    // interrupted; still one active run, the holder's group untouched.
    cancel.kill().expect("kill -9 the cancel");
    let died = wait_child(cancel, 20);
    assert_eq!(died.status.signal(), Some(9), "the cancel was killed");
    let shown = env.show(&g.first);
    assert_eq!(shown["state"], "cancelled", "{shown:#}");
    assert_eq!(
        active(&env, &g),
        (vec![g.second.clone()], vec![g.second.clone()])
    );
    assert_eq!(group_row_holder(&env).as_deref(), Some(g.second.as_str()));
    // `baton resume` runs the handler again (idempotent) to the run's end.
    std::fs::write(env.path().join("handler-go"), b"").expect("let the handler end");
    let resumed = env.run(&["resume", &g.first, "--headless"]);
    let said = format!("{}{}", text(&resumed.stdout), text(&resumed.stderr));
    assert!(resumed.status.signal().is_none(), "{said}");
    let shown = env.show(&g.first);
    assert_eq!(shown["state"], "cancelled", "{said}\n{shown:#}");
    assert_eq!(
        step_state(&shown, "unlock").as_deref(),
        Some("succeeded"),
        "{shown:#}"
    );
    let handled = std::fs::read_to_string(env.path().join("handled.log")).unwrap_or_default();
    assert!(
        handled.contains("handled"),
        "the handler ran to its end: {handled:?}"
    );
    assert_eq!(
        active(&env, &g),
        (vec![g.second.clone()], vec![g.second.clone()])
    );
    nothing_ran(&env);
}

//! Issue 57 point 2: a child run is crash-safe like any step. The engine is killed
//! with SIGKILL while its child run waits at a gate (after the child's first step
//! ran); `baton resume` of the parent runs its interrupted step again, which finds the
//! child by its recorded link and drives it on: no second child, and each step of
//! either run ran exactly once (counted in a file every step appends to).
use crate::helpers::*;
use serde_json::Value;

const PARENT: &str = r#"
name = "parent"
[[step]]
id = "pre"
run = "echo pre >> marks"
[[step]]
id = "sub"
needs = ["pre"]
workflow = "child.toml"
[[step]]
id = "post"
needs = ["sub"]
run = "echo post >> marks"
"#;

pub(crate) const CHILD: &str = r#"
name = "child"
[[step]]
id = "a"
run = "echo a >> marks"
[[step]]
id = "ship"
needs = ["a"]
run = "echo ship >> marks"
gate = { prompt = "ship it?" }
"#;

/// What [`CHILD`] gains to leave a stamp file once it is cancelled.
const ON_CANCEL_STAMP: &str = r#"
[[step]]
id = "undo"
on_cancel = true
run = "echo undone > cancelled.stamp"
"#;

/// The runs of workflow `name`, newest first (none before the store exists).
pub(crate) fn runs_of(env: &Env, name: &str) -> Vec<String> {
    if !env.db().exists() {
        return Vec::new();
    }
    let out = env.run(&["runs", "--json"]);
    let runs: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    runs.as_array()
        .map(|a| {
            a.iter()
                .filter(|r| r["workflow"] == name)
                .filter_map(|r| r["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The pid in a lease holder's name (`pid N on HOST`).
pub(crate) fn holder_pid(holder: &Value) -> Option<i32> {
    holder
        .as_str()?
        .strip_prefix("pid ")?
        .split(' ')
        .next()?
        .parse()
        .ok()
}

pub(crate) fn kill_nine(pid: i32) {
    let status = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -9 {pid}");
}

/// The child's engine once it waits at the gate: its pid.
fn child_waiting(env: &Env) -> (String, i32) {
    let kid = wait_until("the child run", secs(20), || runs_of(env, "child").pop());
    env.wait_step(&kid, "ship", "waiting_approval", 20);
    let pid = wait_until("the child's engine", secs(10), || {
        holder_pid(&env.show(&kid)["driven_by"])
    });
    (kid, pid)
}

/// A parent run whose engine is killed (`kill -9`: no chance to record anything) while
/// its child (workflow `child`) waits at the gate: the parent's id, the child's, and
/// its engine's pid.
pub(crate) fn parent_killed_mid_child(env: &Env, child: &str) -> (String, String, i32) {
    env.workflow("child.toml", child);
    let wf = env.workflow("parent.toml", PARENT);
    let mut engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let (kid, child_engine) = child_waiting(env);
    let parent = runs_of(env, "parent").pop().expect("the parent run");
    engine.kill().expect("kill -9 the engine");
    let _ = engine.wait();
    (parent, kid, child_engine)
}

fn crash_mid_child_and_resume(kill_the_child_engine_too: bool) {
    let env = Env::new();
    let (parent, kid, child_engine) = parent_killed_mid_child(&env, CHILD);
    if kill_the_child_engine_too {
        kill_nine(child_engine);
    }
    assert_eq!(env.show(&parent)["state"], "interrupted");
    let resumed = env.spawn(&["resume", &parent, "--headless"]);
    // The parent's step runs again and drives the same child on, under a new engine.
    let pid = wait_until("the child driven again", secs(30), || {
        let c = env.show(&kid);
        let pid = holder_pid(&c["driven_by"]).filter(|&p| p != child_engine);
        match (pid, c["state"].as_str()) {
            (Some(p), Some("waiting")) => Ok(p),
            _ => Err(format!("{c:#}")),
        }
    });
    assert!(process_alive(pid));
    assert!(
        !process_alive(child_engine),
        "the earlier child engine still runs"
    );
    let p = env.show(&parent);
    assert_eq!(step_field(&p, "sub", "attempts"), 2, "{p:#}");
    assert_eq!(step_field(&p, "sub", "child_run"), Value::from(kid.clone()));
    ok(&env.run(&["approve", &kid, "ship", "--reason", "after the crash"]));
    let done = wait_child(resumed, 60);
    assert_eq!(done.status.code(), Some(0), "{}", text(&done.stderr));
    assert_eq!(env.show(&parent)["state"], "succeeded");
    assert_eq!(env.show(&kid)["state"], "succeeded");
    assert_eq!(runs_of(&env, "child"), vec![kid], "a second child was made");
    let marks = std::fs::read_to_string(env.path().join("marks")).expect("marks");
    assert_eq!(
        marks.lines().collect::<Vec<_>>(),
        vec!["pre", "a", "ship", "post"],
        "each step runs exactly once"
    );
}

#[test]
fn kill_dash_nine_of_the_parents_engine_mid_child_makes_no_second_child() {
    crash_mid_child_and_resume(false);
}

#[test]
fn kill_dash_nine_of_both_engines_mid_child_reruns_no_finished_step() {
    crash_mid_child_and_resume(true);
}

/// A parent whose engine died, cancelled (`baton cancel` takes it over): the takeover
/// stops its child's engine, a leftover of the dead engine's step, then cancels the
/// child itself, as the operator (its `on_cancel` handler runs), before it commits the
/// parent's step's end, so none of the child's steps starts once the parent's step
/// ended (docs/workflow/child-workflows.md, "Cancel").
#[test]
fn cancelling_a_parent_whose_engine_died_stops_its_child_s_engine_first() {
    let env = Env::new();
    let (parent, kid, child_engine) =
        parent_killed_mid_child(&env, &format!("{CHILD}{ON_CANCEL_STAMP}"));
    assert!(process_alive(child_engine), "the child's engine lives on");
    let cancel = env.spawn(&["cancel", &parent, "--reason", "its engine died"]);
    let out = wait_child(cancel, 60);
    // The run it drove to its end ended cancelled: a cancelled run's exit code.
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(&format!("cancelling child run {kid} of run {parent} first")),
        "{}",
        text(&out.stderr)
    );
    assert!(
        !process_alive(child_engine),
        "the child's engine outlived its parent's cancel: {}",
        text(&out.stderr)
    );
    let p = env.show(&parent);
    assert_eq!(p["state"], "cancelled", "{p:#}");
    let c = env.show(&kid);
    assert_eq!(c["state"], "cancelled", "{c:#}");
    assert_eq!(step_field(&c, "undo", "state"), "succeeded", "{c:#}");
    let stamp = std::fs::read_to_string(env.path().join("cancelled.stamp"));
    assert_eq!(
        stamp.ok().as_deref(),
        Some("undone\n"),
        "the child's on_cancel handler ran"
    );
    // The child's cancel is the operator's, under the cancelling process's account.
    let audit = env.run(&["audit", &kid]);
    let me = nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map(|u| u.name)
        .expect("this process's account");
    let said = text(&audit.stdout);
    assert!(
        said.lines()
            .any(|l| l.contains("cancel") && l.contains(&me)),
        "the child's cancel names {me}: {said}"
    );
    let marks = std::fs::read_to_string(env.path().join("marks")).expect("marks");
    assert_eq!(
        marks.lines().collect::<Vec<_>>(),
        vec!["pre", "a"],
        "no step of either run started after the cancel"
    );
    for run in [&parent, &kid] {
        let verify = env.run(&["audit", "verify", run]);
        assert_eq!(verify.status.code(), Some(0), "{}", text(&verify.stdout));
    }
}

//! Issue 75 point 1: a killed child engine does not let two deploys overlap. The
//! child's engine is the parent's step process; `kill -9` of it alone fails the
//! parent's step while the child's own `ship` still runs, in a process group of its
//! own. The parent's engine stops that leftover (found by the child run's id) before
//! it records the step's end, so the run waiting in the parent's concurrency group
//! starts its `ship` only once the first one is gone.
use super::child_crash::runs_of;
use crate::helpers::*;
use serde_json::Value;

const PARENT: &str = r#"
name = "parent"
concurrency = { group = "prod" }
[[step]]
id = "deploy"
workflow = "child.toml"
"#;

/// `ship` notes its pid under its run's id and runs until `go` exists.
const CHILD: &str = r#"
name = "child"
[[step]]
id = "ship"
run = 'echo $$ > "ship-$BATON_RUN_ID.pid"; while [ ! -e go ]; do sleep 0.05; done'
"#;

/// The pid in a lease holder's name (`pid N on HOST`).
fn holder_pid(holder: &Value) -> Option<i32> {
    holder
        .as_str()?
        .strip_prefix("pid ")?
        .split(' ')
        .next()?
        .parse()
        .ok()
}

/// The pid the `ship` of child run `kid` noted, once it runs.
fn ship_pid(env: &Env, kid: &str) -> Option<i32> {
    std::fs::read_to_string(env.path().join(format!("ship-{kid}.pid")))
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[test]
fn a_killed_child_engine_s_leftover_step_ends_before_the_group_s_next_run_starts() {
    let env = Env::new();
    env.workflow("child.toml", CHILD);
    let wf = env.workflow("parent.toml", PARENT);
    let wf = wf.to_str().unwrap();
    let first = env.spawn(&["run", wf, "--headless"]);
    let kid = wait_until("the first child run", secs(20), || {
        runs_of(&env, "child").pop()
    });
    let ship = wait_until("the first ship", secs(20), || ship_pid(&env, &kid));
    // The second run waits in the group.
    let second = env.spawn(&["run", wf, "--headless"]);
    wait_until("the second run queued", secs(20), || {
        (runs_of(&env, "parent").len() == 2).then_some(())
    });
    let engine = wait_until("the child's engine", secs(10), || {
        holder_pid(&env.show(&kid)["driven_by"])
    });
    let killed = std::process::Command::new("kill")
        .args(["-9", &engine.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    // The second run's child starts its ship only after the first ship is gone.
    let other = wait_until("the second child run", secs(30), || {
        runs_of(&env, "child").into_iter().find(|r| *r != kid)
    });
    let second_ship = wait_until("the second ship", secs(30), || {
        let pid = ship_pid(&env, &other);
        if pid.is_some() {
            assert!(
                !process_alive(ship),
                "the second run's ship started while the first ({ship}) still ran"
            );
        }
        pid
    });
    assert!(process_alive(second_ship));
    std::fs::write(env.path().join("go"), "").unwrap();
    let out = wait_child(first, 30);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let out = wait_child(second, 30);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let parent = runs_of(&env, "parent").pop().unwrap();
    let log = text(&env.run(&["logs", &parent, "deploy"]).stdout);
    assert!(
        log.contains(&format!(
            "stopped 1 process group(s) child run {kid} left running"
        )),
        "{log}"
    );
}

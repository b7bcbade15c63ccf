//! Issue 26 point 5: `[pools.NAME] scope = "store"` counts over every run in the store,
//! through the real binary: two runs started together never hold the pool at once, a
//! waiting step names the run that holds it, and a killed engine frees its slot once
//! its step's process ended (issue 41 point 1).
use crate::helpers::*;
use std::path::Path;

/// Two steps of the store-wide pool `deploy` (capacity 1), each writing its start and
/// end to `ledger`; `work` runs for `secs`.
fn workflow(env: &Env, secs: &str) -> std::path::PathBuf {
    env.workflow(
        "pooled.toml",
        &format!(
            r#"
name = "pooled"
[pools.deploy]
capacity = 1
scope = "store"
[[step]]
id = "work"
pool = "deploy"
run = 'echo "$BATON_RUN_ID start" >> ledger; sleep {secs}; echo "$BATON_RUN_ID end" >> ledger'
"#
        ),
    )
}

fn ledger(env: &Env) -> Vec<String> {
    std::fs::read_to_string(env.path().join("ledger"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn spawn_run(env: &Env, wf: &Path) -> std::process::Child {
    env.spawn(&["run", wf.to_str().unwrap(), "--headless"])
}

/// The run (other than `not`) whose `work` waits for the pool, and what it says.
fn waiting(env: &Env, not: Option<&str>) -> (String, String) {
    wait_until("a step waiting for the shared pool", secs(30), || {
        let out = env.run(&["runs", "--json"]);
        let runs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        for r in runs.as_array().cloned().unwrap_or_default() {
            let id = r["id"].as_str().unwrap_or_default().to_string();
            if Some(id.as_str()) == not {
                continue;
            }
            let shown = env.show(&id);
            if let Some(w) = step(&shown, "work")["waiting_for"].as_str() {
                return Ok((id, w.to_string()));
            }
        }
        Err(format!("{runs:#}"))
    })
}

#[test]
fn two_runs_of_a_store_wide_pool_never_hold_it_at_once() {
    let env = Env::new();
    let wf = workflow(&env, "1");
    let a = spawn_run(&env, &wf);
    let b = spawn_run(&env, &wf);
    let (run, why) = waiting(&env, None);
    assert!(
        why.contains("pool `deploy`") && why.contains("held by run"),
        "{why}"
    );
    assert!(!why.contains(&run), "a run does not wait for itself: {why}");
    let human = text(&env.run(&["show", &run]).stdout);
    assert!(human.contains("work: waiting for pool `deploy`"), "{human}");
    for out in [wait_child(a, 60), wait_child(b, 60)] {
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    let lines = ledger(&env);
    assert_eq!(lines.len(), 4, "{lines:#?}");
    let first = lines[0].split(' ').next().unwrap_or_default();
    assert_eq!(
        lines[1],
        format!("{first} end"),
        "the pool was held twice: {lines:#?}"
    );
}

/// Issue 41 point 1: a killed engine's slot is held while its step's process lives on
/// (the waiting step names the dead holder; the holder's step reads interrupted with
/// its pid), and handed over once that process ended, never beside it.
#[test]
fn a_killed_engine_frees_its_slot_once_its_process_ended() {
    let env = Env::new();
    let wf = workflow(
        &env,
        "0; while [ ! -e release ] && [ -e $PWD ]; do sleep 0.05; done",
    );
    let (mut holder, held_by) = env.spawn_until(&wf, "work", "running");
    let other = spawn_run(&env, &wf);
    let (run, why) = waiting(&env, Some(&held_by));
    assert!(why.contains(&format!("held by run {held_by}")), "{why}");
    holder.kill().expect("kill -9 the holder's engine");
    let _ = holder.wait();
    wait_until(
        "the dead holder's step to show its process",
        secs(30),
        || {
            let s = env.show(&held_by);
            (s["state"] == "interrupted" && step(&s, "work")["left_running"]["pid"].is_i64())
                .then_some(())
                .ok_or_else(|| format!("{s:#}"))
        },
    );
    let (_, why) = waiting(&env, Some(&held_by));
    assert!(why.contains(&format!("held by run {held_by}")), "{why}");
    assert_eq!(ledger(&env).len(), 1, "{:#?}", ledger(&env));
    std::fs::write(env.path().join("release"), "").unwrap();
    // The process ends: the slot is free and the other run takes it.
    let out = wait_child(other, 60);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines = ledger(&env);
    assert_eq!(
        lines,
        [
            format!("{held_by} start"),
            format!("{held_by} end"),
            format!("{run} start"),
            format!("{run} end")
        ],
    );
}

/// Issue 42 point 2: a matrix step of a store-wide pool takes no slot itself; its
/// instances take one each, so capacity 2 runs two of them at once, and capacity 1
/// runs every one of them in turn.
#[test]
fn a_matrix_in_a_store_wide_pool_runs_capacity_instances_at_once() {
    for capacity in [1, 2] {
        let env = Env::new();
        let wf = env.workflow(
            "m.toml",
            &format!(
                r#"
name = "m"
max_parallel = 4
[pools.deploy]
capacity = {capacity}
scope = "store"
[[step]]
id = "ship"
pool = "deploy"
matrix = {{ region = ["eu", "us", "ap"] }}
run = 'echo "$BATON_STEP_ID start" >> ledger; while [ ! -e go ] && [ -e $PWD ]; do sleep 0.05; done'
"#
            ),
        );
        let child = spawn_run(&env, &wf);
        wait_until("instances to start", secs(30), || {
            let n = ledger(&env).len();
            if n == capacity {
                Ok(())
            } else {
                Err(format!("{n} started"))
            }
        });
        let run = env.wait_run_id();
        let show = env.show(&run);
        let running = show["steps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["state"] == "running")
            .count();
        assert_eq!(running, capacity, "{show:#}");
        std::fs::write(env.path().join("go"), "").unwrap();
        let out = wait_child(child, 60);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert_eq!(ledger(&env).len(), 3, "every instance ran");
    }
}

//! Issue 43 points 2 and 3 with real processes: a step's `$BATON_USAGE` is read while
//! it runs (`show --json`, `show`, the metrics), and the run reaching a budget's
//! ceiling freezes the step that reached it (its whole group stopped), opens the
//! budget gate, bounds the overshoot by the lines written before the freeze; a raise
//! continues it, a cancel kills it, and kill -9 of the engine while it is frozen
//! leaves the gate, the hold and the frozen processes standing (the next engine adopts
//! them).
use crate::helpers::*;
use baton::procs;
use serde_json::Value;
use std::path::Path;

/// Issue 43's example: `tokens = 1000`; the step writes 600, waits (for `go`), then
/// 600 more, then waits (for `end`).
const SIX_HUNDRED_TWICE: &str = r#"
name = "six-hundred-twice"
budget = { tokens = 1000 }

[[step]]
id = "agent"
timeout = "5m"
run = '''
echo tokens=600 >> "$BATON_USAGE"
while [ ! -f go ]; do sleep 0.02; done
echo tokens=600 >> "$BATON_USAGE"
echo second > wrote
while [ ! -f end ]; do sleep 0.02; done
'''

[[step]]
id = "report"
needs = ["agent"]
run = "echo report >> ledger"
"#;

/// Writes `tokens=100` 300 times (long enough to be frozen on a loaded machine), one every 10 ms (a subshell, so its group has
/// several processes), adding a line to `progress` after each.
pub(super) const LOOP: &str = r#"
name = "loop"
budget = { tokens = 1000 }

[[step]]
id = "agent"
timeout = "5m"
run = '''
( i=0
  while [ $i -lt 300 ]; do
    i=$((i+1)); echo tokens=100 >> "$BATON_USAGE"; echo $i >> progress
    sleep 0.01
  done ) &
wait
'''

[[step]]
id = "report"
needs = ["agent"]
run = "echo report >> ledger"
"#;

pub(super) fn tokens_used(show: &Value) -> f64 {
    show["budget"]["tokens"]["used"].as_f64().unwrap_or(-1.0)
}

/// The lines the step has written (each followed by its line in `progress`).
pub(super) fn progress(dir: &Path) -> u64 {
    std::fs::read_to_string(dir.join("progress"))
        .map(|s| s.matches('\n').count() as u64)
        .unwrap_or(0)
}

/// `(state, parent)` of a process, from `/proc/PID/stat` (fields 3 and 4).
fn stat(pid: i32) -> Option<(char, i32)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest: Vec<&str> = s[s.rfind(')')? + 1..].split_whitespace().collect();
    Some((rest.first()?.chars().next()?, rest.get(1)?.parse().ok()?))
}

pub(super) fn stopped(pid: i32) -> bool {
    stat(pid).is_some_and(|(s, _)| s == 'T')
}

/// Every process of the group is stopped: `T`, or `D` waiting on a `vfork` child that
/// is (`sh` forks `sleep` with vfork: stopped between the fork and the exec, the child
/// holds its parent in `D` until it runs again).
fn all_stopped(pids: &[i32]) -> bool {
    let stats: Vec<(i32, Option<(char, i32)>)> = pids.iter().map(|&p| (p, stat(p))).collect();
    !pids.is_empty()
        && stats.iter().all(|(pid, st)| match st {
            Some(('T', _)) => true,
            Some(('D', _)) => stats
                .iter()
                .any(|(_, c)| matches!(c, Some(('T', parent)) if parent == pid)),
            _ => false,
        })
}

fn agent_processes(run: &str) -> Vec<i32> {
    procs::run_processes(run)
        .into_iter()
        .filter(|p| p.step == "agent")
        .map(|p| p.pid)
        .collect()
}

/// Waits until the engine froze `agent` at the ceiling and every process of its
/// group is stopped; returns the show and the pids.
pub(super) fn frozen_at_the_ceiling(env: &Env, run: &str) -> (Value, Vec<i32>) {
    let show = wait_until("the ceiling to freeze agent", secs(30), || {
        let v = env.show(run);
        (step_field(&v, "agent", "hold")["budget"] == true).then_some(v)
    });
    let pids = wait_until("agent's group to stop", secs(10), || {
        let pids = agent_processes(run);
        if all_stopped(&pids) {
            Ok(pids)
        } else {
            let states: Vec<String> = pids
                .iter()
                .map(|p| std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default())
                .collect();
            Err(format!("{states:?}"))
        }
    });
    (show, pids)
}

fn budget_records(show: &Value) -> Vec<Value> {
    show["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|e| e["kind"] == "budget_exceeded")
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

/// Point 2: 600 of 1000 while the step runs (not 0 until it ends), in `show --json`
/// (the run's budget, the step's usage, the pace and the time left), text `show` and
/// the metrics. Point 3: the next 600 reach the ceiling while it runs: it is frozen at
/// once, the budget gate opens on it, `report` does not start; a cancel kills it.
#[test]
fn usage_is_read_as_it_is_written_and_the_ceiling_freezes_the_step() {
    let env = Env::new();
    let wf = env.workflow("wf.toml", SIX_HUNDRED_TWICE);
    let engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let run = env.wait_run_id();
    let show = wait_until("600 tokens while agent runs", secs(30), || {
        let v = env.show(&run);
        (tokens_used(&v) == 600.0).then_some(v)
    });
    assert_eq!(step_state(&show, "agent").as_deref(), Some("running"));
    assert_eq!(
        step_field(&show, "agent", "usage")["tokens"],
        600,
        "{show:#}"
    );
    let burn = show["budget"]["burn"].as_array().expect("a pace");
    let tokens = burn.iter().find(|b| b["dimension"] == "tokens").unwrap();
    assert!(tokens["per_minute"].as_f64().unwrap() > 0.0, "{burn:?}");
    assert!(tokens["left_ms"].as_u64().unwrap() > 0, "{burn:?}");
    let text_show = text(&env.run(&["show", &run]).stdout);
    assert!(text_show.contains("tokens 600 of 1000"), "{text_show}");
    assert!(
        text_show.contains("agent: running, used so far: cost 0, tokens 600, calls 0"),
        "{text_show}"
    );
    assert!(text_show.contains("pace: "), "{text_show}");
    let metrics = text(&env.run(&["metrics", &run]).stdout);
    assert!(
        metrics.contains(&format!(
            r#"baton_run_budget_used{{workflow="six-hundred-twice",run="{run}",dimension="tokens"}} 600"#
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains("baton_run_budget_seconds_left{"),
        "{metrics}"
    );

    std::fs::write(env.path().join("go"), "").unwrap();
    let (show, pids) = frozen_at_the_ceiling(&env, &run);
    assert!(env.path().join("wrote").exists());
    assert_eq!(tokens_used(&show), 1200.0, "{show:#}");
    assert_eq!(step_state(&show, "agent").as_deref(), Some("running"));
    assert_eq!(show["state"], "waiting");
    let hold = step_field(&show, "agent", "hold");
    assert_eq!(
        (hold["frozen"].clone(), hold["by"].clone()),
        (true.into(), "engine".into())
    );
    let recs = budget_records(&show);
    assert_eq!(recs.len(), 1, "{show:#}");
    assert_eq!(recs[0]["step"], "agent");
    assert_eq!(recs[0]["open"], true);
    assert_eq!(recs[0]["context"]["dimension"], "tokens");
    assert_eq!(show["budget"]["exhausted"][0], "tokens");
    let inbox: Value = serde_json::from_slice(&env.run(&["inbox", "--json"]).stdout).unwrap();
    assert!(
        inbox
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["run_id"] == run.as_str() && w["kind"] == "budget"),
        "{inbox:#}"
    );
    ok(&env.run(&["cancel", &run]));
    let done = wait_child(engine, 60);
    assert_eq!(done.status.code(), Some(1), "a cancelled run exits 1");
    wait_until("the frozen group to be killed", secs(30), || {
        pids.iter().all(|&p| !process_alive(p))
    });
    let show = env.show(&run);
    assert_eq!(show["state"], "cancelled", "{show:#}");
    assert_eq!(step_state(&show, "report").as_deref(), Some("cancelled"));
    assert!(!env.path().join("ledger").exists(), "report never ran");
}

/// Point 3 with a step that writes a line every 10 ms: frozen at the ceiling with
/// its group stopped; what it spent past the ceiling is no more than the lines it
/// wrote before the freeze; `approve --raise` continues it where it stopped and the
/// run ends with every line counted.
#[test]
fn a_raise_continues_the_step_the_ceiling_froze() {
    let env = Env::new();
    let wf = env.workflow("loop.toml", LOOP);
    let engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let run = env.wait_run_id();
    let (show, pids) = frozen_at_the_ceiling(&env, &run);
    let written = progress(env.path());
    let used = tokens_used(&show);
    assert!(used >= 1000.0, "{show:#}");
    // `progress` is written after each line: one more line may be in the file.
    assert!(
        used <= (written + 1) as f64 * 100.0,
        "counted {used}, only {written} lines written"
    );
    assert!(written < 300, "frozen before the end: {written}");
    ok(&env.run(&[
        "approve",
        &run,
        "--raise",
        "tokens=100000",
        "--reason",
        "go on",
    ]));
    wait_until("agent's group to run again", secs(10), || {
        pids.iter().all(|&p| !stopped(p))
    });
    let done = wait_child(engine, 120);
    assert_eq!(done.status.code(), Some(0), "{}", text(&done.stdout));
    let show = env.show(&run);
    assert_eq!(progress(env.path()), 300);
    assert_eq!(tokens_used(&show), 30_000.0, "every line counted once");
    assert_eq!(
        step_field(&show, "agent", "attempts"),
        1,
        "continued, not rerun"
    );
    assert!(budget_records(&show).iter().all(|r| r["open"] == false));
    assert_eq!(
        std::fs::read_to_string(env.path().join("ledger")).unwrap(),
        "report\n"
    );
}

/// kill -9 of the engine while the step is frozen at the ceiling, then resume. The
/// step's processes outlive their engine, still frozen (the group's anchor keeps it
/// from being orphaned: no SIGHUP+SIGCONT from the kernel), and the resumed
/// engine adopts them: the same pids, still stopped, using no CPU, attempt 1 still,
/// the budget gate and what the step spent standing. A raise continues it: every
/// line it writes is counted once, and its exit is recorded.
#[test]
fn after_kill_9_at_the_ceiling_the_frozen_step_is_adopted_and_the_gate_stands() {
    let env = Env::new();
    let wf = env.workflow("loop.toml", LOOP);
    let mut engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let run = env.wait_run_id();
    let (_, mut pids) = frozen_at_the_ceiling(&env, &run);
    pids.sort_unstable();
    crate::engine::hold::wait_anchored(&pids);
    engine.kill().expect("kill -9");
    let _ = engine.wait();
    // What the dead engine recorded (lines read between the freeze's decision and
    // the group's stop included).
    let used = tokens_used(&env.show(&run));
    assert!(used >= 1000.0);
    let resumed = env.spawn(&["resume", &run, "--headless"]);
    let driver = format!("pid {} ", resumed.id());
    wait_until("the resumed engine to drive the run", secs(30), || {
        env.show(&run)["driven_by"]
            .as_str()
            .is_some_and(|d| d.starts_with(&driver))
    });
    let mut now = agent_processes(&run);
    now.sort_unstable();
    assert_eq!(now, pids, "the same processes after resume");
    assert!(all_stopped(&pids), "still stopped");
    let cpu = |pids: &[i32]| -> u64 {
        pids.iter()
            .filter_map(|&p| {
                let s = std::fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
                let rest: Vec<&str> = s[s.rfind(')')? + 1..].split_whitespace().collect();
                Some(rest.get(11)?.parse::<u64>().ok()? + rest.get(12)?.parse::<u64>().ok()?)
            })
            .sum()
    };
    let (spent, written) = (cpu(&pids), progress(env.path()));
    // The window in which a running loop would use CPU and write on: not a wait for a
    // condition (nothing is to happen), the span the test observes.
    std::thread::sleep(std::time::Duration::from_millis(700));
    assert_eq!(cpu(&pids), spent, "a frozen process uses no CPU");
    assert_eq!(progress(env.path()), written, "nor writes");
    let show = env.show(&run);
    let hold = step_field(&show, "agent", "hold");
    assert_eq!(hold["budget"], true, "{show:#}");
    assert_eq!(hold["frozen"], true, "{show:#}");
    assert_eq!(step_state(&show, "agent").as_deref(), Some("running"));
    assert_eq!(tokens_used(&show), used, "what it spent stays spent");
    assert!(
        budget_records(&show).iter().any(|r| r["open"] == true),
        "the gate is still open: {show:#}"
    );
    assert_eq!(show["state"], "waiting");
    assert_eq!(step_field(&show, "agent", "attempts"), 1);
    ok(&env.run(&[
        "approve",
        &run,
        "--raise",
        "tokens=100000",
        "--reason",
        "after the crash",
    ]));
    let done = wait_child(resumed, 120);
    assert_eq!(done.status.code(), Some(0), "{}", text(&done.stdout));
    let show = env.show(&run);
    assert_eq!(progress(env.path()), 300);
    assert_eq!(tokens_used(&show), 30_000.0, "every line counted once");
    assert_eq!(
        step_field(&show, "agent", "attempts"),
        1,
        "continued, not rerun"
    );
    assert_eq!(
        step_field(&show, "agent", "exit_code"),
        0,
        "its exit on record"
    );
    assert_eq!(
        std::fs::read_to_string(env.path().join("ledger")).unwrap(),
        "report\n"
    );
}

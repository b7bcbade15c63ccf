//! Issue 43 point 1: `baton hold` and `baton release` on real processes. A step that
//! counts in a loop (in a subshell, so its group has two processes) is frozen: every
//! process of its group stopped, no CPU used while frozen, nothing it would have
//! written lost once released. Holds go through the same ways as other commands: to
//! the engine that drives the run, or taking an undriven run over.
use crate::helpers::*;
use baton::procs;
use std::path::Path;
use std::time::Duration;

/// Counts to 400, writing each number to its log and to `progress`; a busy inner loop
/// makes it use CPU all the time it runs.
const COUNTER: &str = r#"
name = "counter"
[[step]]
id = "count"
timeout = "5m"
run = '''
( i=0
  while [ $i -lt 400 ]; do
    i=$((i+1)); echo "n $i"; echo $i > progress
    j=0; while [ $j -lt 3000 ]; do j=$((j+1)); done
  done ) &
wait
'''
"#;

fn progress(dir: &Path) -> u64 {
    std::fs::read_to_string(dir.join("progress"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// `(state, utime + stime)` of a process from `/proc/PID/stat` (fields 3, 14 and 15).
pub(crate) fn stat(pid: i32) -> Option<(char, u64)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest: Vec<&str> = s[s.rfind(')')? + 1..].split_whitespace().collect();
    let state = rest.first()?.chars().next()?;
    let cpu = rest.get(11)?.parse::<u64>().ok()? + rest.get(12)?.parse::<u64>().ok()?;
    Some((state, cpu))
}

/// Every one of `pids` is stopped: `T`, or `D` in a `vfork` whose child (one of them) is
/// stopped before its exec (dash starts a command so; the parent stops once that child
/// runs again), as tests/it/exec/ssh_freeze.rs and live_usage.rs allow.
pub(crate) fn all_frozen(pids: &[i32]) -> bool {
    let m: Vec<(i32, char, i32)> = pids
        .iter()
        .filter_map(|&p| procs::read_stat(p).map(|(s, pp, _)| (p, s, pp)))
        .collect();
    m.len() == pids.len()
        && m.iter().all(|&(pid, s, _)| {
            s == 'T' || (s == 'D' && m.iter().any(|&(_, cs, pp)| cs == 'T' && pp == pid))
        })
}

/// The step's live processes: a child that ended just before its group was frozen
/// stays a zombie (its stopped parent cannot reap it), neither running nor stopped.
fn step_processes(run: &str) -> Vec<i32> {
    procs::run_processes(run)
        .into_iter()
        .filter(|p| p.step == "count")
        .map(|p| p.pid)
        .filter(|&p| stat(p).is_some_and(|s| s.0 != 'Z'))
        .collect()
}

#[test]
fn hold_freezes_the_whole_group_and_release_continues_it_with_its_output_whole() {
    let env = Env::new();
    let wf = env.workflow("counter.toml", COUNTER);
    let engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let run = env.wait_run_id();
    wait_until("the step to count", secs(30), || progress(env.path()) >= 5);
    let out = env.run(&["hold", &run, "count", "--reason", "look at it first"]);
    ok(&out);
    // Every process of the step's group stops (the shell and its counting subshell).
    let pids = wait_until("the group to stop", secs(10), || {
        let pids = step_processes(&run);
        let all = pids.len() >= 2 && all_frozen(&pids);
        if all {
            Ok(pids)
        } else {
            Err(format!("{pids:?}"))
        }
    });
    let cpu = |pids: &[i32]| {
        pids.iter()
            .filter_map(|&p| stat(p))
            .map(|s| s.1)
            .sum::<u64>()
    };
    let (before, counted) = (cpu(&pids), progress(env.path()));
    // The window in which a running counter would use CPU and count on: not a wait
    // for a condition (nothing is to happen), the span the test observes.
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(cpu(&pids), before, "a frozen process uses no CPU");
    assert_eq!(progress(env.path()), counted, "nor counts");
    let show = env.show(&run);
    assert_eq!(step_state(&show, "count").as_deref(), Some("running"));
    let hold = step_field(&show, "count", "hold");
    assert_eq!(hold["frozen"], true, "{show:#}");
    assert_eq!(hold["reason"], "look at it first");
    assert_eq!(show["state"], "waiting", "a frozen step waits for a person");
    let inbox = env.run(&["inbox", "--json"]);
    let items: serde_json::Value = serde_json::from_slice(&inbox.stdout).unwrap();
    assert!(
        items
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["kind"] == "held" && w["step"] == "count" && w["run_id"] == run.as_str()),
        "{items:#}"
    );
    ok(&env.run(&["release", &run, "count", "--reason", "go on"]));
    wait_until("the group to run again", secs(10), || {
        pids.iter().all(|&p| stat(p).is_none_or(|s| s.0 != 'T'))
    });
    wait_until("the count to go on", secs(30), || {
        progress(env.path()) > counted
    });
    let done = wait_child(engine, 120);
    assert_eq!(done.status.code(), Some(0), "{}", text(&done.stderr));
    let show = env.show(&run);
    assert_eq!(step_state(&show, "count").as_deref(), Some("succeeded"));
    let log = step_field(&show, "count", "log_path");
    let log = std::fs::read_to_string(log.as_str().unwrap()).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    let want: Vec<String> = (1..=400).map(|i| format!("n {i}")).collect();
    assert_eq!(lines, want, "every number once, in order");
    let audit = env.run(&["audit", &run]);
    let audit = text(&audit.stdout);
    assert!(
        audit.contains("hold") && audit.contains("release"),
        "{audit}"
    );
}

/// A held step that has not started does not start, on an undriven run taken over by
/// `hold --detach` and on the run that background engine drives (`release`).
#[test]
fn hold_and_release_work_on_undriven_and_driven_runs() {
    let env = Env::new();
    let wf = env.workflow(
        "gated.toml",
        r#"
name = "gated"
[[step]]
id = "ask"
run = "true"
gate = { prompt = "go?" }
[[step]]
id = "after"
needs = ["ask"]
run = "echo after ran > after.txt"
"#,
    );
    let (mut engine, run) = env.spawn_until(&wf, "ask", "waiting_approval");
    let _ = engine.kill(); // SIGKILL: the run is undriven now
    let _ = engine.wait();
    let out = env.run(&["hold", &run, "after", "--reason", "not today", "--detach"]);
    ok(&out);
    env.wait_step(&run, "after", "held", 20);
    ok(&env.run(&["approve", &run, "ask", "--reason", "fine"]));
    env.wait_step(&run, "ask", "succeeded", 20);
    let show = env.show(&run);
    assert_eq!(
        step_state(&show, "after").as_deref(),
        Some("held"),
        "{show:#}"
    );
    assert!(
        !env.path().join("after.txt").exists(),
        "a held step does not start"
    );
    // The metrics count it (held is a step state like any other).
    let metrics = text(&env.run(&["metrics", &run]).stdout);
    assert!(
        metrics.contains(r#"baton_steps{workflow="gated",state="held"} 1"#),
        "{metrics}"
    );
    ok(&env.run(&["release", &run, "--reason", "today after all"]));
    wait_until("the run to succeed", secs(30), || {
        env.show(&run)["state"] == "succeeded"
    });
    assert!(env.path().join("after.txt").exists());
    let refused = env.run(&["release", &run, "after", "--reason", "again"]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused.stdout));
}

/// The CPU time (utime + stime) the processes have used so far.
fn cpu(pids: &[i32]) -> u64 {
    pids.iter().filter_map(|&p| stat(p)).map(|s| s.1).sum()
}

/// The step's processes once every one of them is stopped (at least `min`).
fn stopped_group(run: &str, min: usize) -> Vec<i32> {
    wait_until("the group to stop", secs(10), || {
        let pids = step_processes(run);
        let all = pids.len() >= min && all_frozen(&pids);
        if all {
            Ok(pids)
        } else {
            Err(format!("{pids:?}"))
        }
    })
}

/// Waits until the frozen group's anchor (`exec::anchor`: a member that is no step
/// process, whose parent outlives the engine) has joined it: from then on a kill -9 of
/// the engine leaves the group frozen.
pub(crate) fn wait_anchored(pids: &[i32]) {
    let pgrp = procs::read_stat(pids[0]).map_or(0, |s| s.2);
    wait_until("the frozen group's anchor", secs(10), || {
        procs::group_members(pgrp).len() > pids.len()
    });
}

/// Resumes the run and waits until the new engine drives it.
fn resume(env: &Env, run: &str) -> std::process::Child {
    let resumed = env.spawn(&["resume", run, "--headless"]);
    let driver = format!("pid {} ", resumed.id());
    wait_until("the resumed engine to drive the run", secs(30), || {
        env.show(run)["driven_by"]
            .as_str()
            .is_some_and(|d| d.starts_with(&driver))
    });
    resumed
}

/// kill -9 of the engine while a local step is frozen: its processes outlive it,
/// still frozen (the group's anchor keeps it from being orphaned: the kernel sends it
/// no SIGHUP+SIGCONT), and the resumed engine adopts them, not killed as leftovers: the
/// same pids, still stopped, using no CPU, attempt 1 still. Released, they count on;
/// the log holds every number once, in order (what was written into the pipe before
/// the crash included), and the exit is recorded.
#[test]
fn after_kill_9_a_frozen_local_step_stays_frozen_and_is_adopted() {
    let env = Env::new();
    let wf = env.workflow("counter.toml", COUNTER);
    let mut engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let run = env.wait_run_id();
    wait_until("the step to count", secs(30), || progress(env.path()) >= 1);
    let counting = std::time::Instant::now();
    wait_until("the step to count", secs(30), || progress(env.path()) >= 5);
    ok(&env.run(&["hold", &run, "count", "--reason", "over a crash"]));
    let mut pids = stopped_group(&run, 2);
    pids.sort_unstable();
    wait_anchored(&pids);
    let by = step_field(&env.show(&run), "count", "hold")["by"].clone();
    assert!(by.is_string(), "held under the OS account");
    engine.kill().expect("kill -9");
    let _ = engine.wait();
    let resumed = resume(&env, &run);
    // The same processes, still frozen, none stopped as a leftover.
    let mut now = step_processes(&run);
    now.sort_unstable();
    assert_eq!(now, pids, "the same processes after resume");
    assert!(all_frozen(&pids), "still stopped");
    let (used, counted) = (cpu(&pids), progress(env.path()));
    // The window in which a running counter would use CPU and count on: not a wait
    // for a condition (nothing is to happen), the span the test observes.
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(cpu(&pids), used, "a frozen process uses no CPU");
    assert_eq!(progress(env.path()), counted, "nor counts");
    let show = env.show(&run);
    assert_eq!(step_state(&show, "count").as_deref(), Some("running"));
    let hold = step_field(&show, "count", "hold");
    assert_eq!(hold["frozen"], true, "{show:#}");
    assert_eq!(hold["by"], by, "{show:#}");
    assert_eq!(step_field(&show, "count", "attempts"), 1, "not run again");
    ok(&env.run(&["release", &run, "count", "--reason", "go"]));
    let lived = counting.elapsed();
    wait_until("the count to go on", secs(30), || {
        progress(env.path()) > counted
    });
    let done = wait_child(resumed, 120);
    assert_eq!(done.status.code(), Some(0), "{}", text(&done.stderr));
    let show = env.show(&run);
    assert_eq!(step_state(&show, "count").as_deref(), Some("succeeded"));
    assert_eq!(
        step_field(&show, "count", "attempts"),
        1,
        "continued, not rerun"
    );
    assert_eq!(
        step_field(&show, "count", "exit_code"),
        0,
        "its exit on record"
    );
    // Its duration is its whole life, frozen time and the crash included, not the part
    // since the adoption (issue 55 point 7).
    let duration = step_field(&show, "count", "duration_ms")
        .as_u64()
        .unwrap_or(0);
    assert!(
        u128::from(duration) >= lived.as_millis(),
        "lasted {duration} ms, but ran at least {lived:?}"
    );
    let log = step_field(&show, "count", "log_path");
    let log = std::fs::read_to_string(log.as_str().unwrap()).unwrap();
    let want: Vec<String> = (1..=400).map(|i| format!("n {i}")).collect();
    assert_eq!(
        log.lines().collect::<Vec<_>>(),
        want,
        "every number once, in order"
    );
}

/// An adopted step's exit status is its own: released after the crash, a frozen step
/// that exits 7 is recorded failed with code 7, its late output in its log.
#[test]
fn an_adopted_step_that_fails_is_recorded_with_its_exit_code() {
    let env = Env::new();
    let wf = env.workflow(
        "fails.toml",
        r#"
name = "fails"
[[step]]
id = "count"
run = '''
echo 1 > progress
while [ ! -f go ]; do sleep 0.02; done
echo "late line"
exit 7
'''
"#,
    );
    let mut engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let run = env.wait_run_id();
    wait_until("the step to start", secs(30), || progress(env.path()) >= 1);
    ok(&env.run(&["hold", &run, "count", "--reason", "over a crash"]));
    let pids = stopped_group(&run, 1);
    wait_anchored(&pids);
    engine.kill().expect("kill -9");
    let _ = engine.wait();
    std::fs::write(env.path().join("go"), "").unwrap();
    let resumed = resume(&env, &run);
    assert!(all_frozen(&pids));
    ok(&env.run(&["release", &run, "count", "--reason", "go"]));
    let done = wait_child(resumed, 120);
    assert_eq!(done.status.code(), Some(1), "{}", text(&done.stderr));
    let show = env.show(&run);
    assert_eq!(step_state(&show, "count").as_deref(), Some("failed"));
    assert_eq!(step_field(&show, "count", "exit_code"), 7, "{show:#}");
    assert_eq!(step_field(&show, "count", "attempts"), 1);
    let log = step_field(&show, "count", "log_path");
    let log = std::fs::read_to_string(log.as_str().unwrap()).unwrap();
    assert_eq!(log, "late line\n");
}

/// Issue 55: a frozen group's anchor does not outlive the step's processes. Frozen, its
/// engine killed (-9), the step's processes then killed one by one (not as a group):
/// the anchor's member, alone in the group, goes, and the anchor with it.
#[test]
fn an_anchor_goes_once_its_step_s_processes_are_gone() {
    let env = Env::new();
    let wf = env.workflow("counter.toml", COUNTER);
    let mut engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let run = env.wait_run_id();
    wait_until("the step to count", secs(30), || progress(env.path()) >= 5);
    ok(&env.run(&["hold", &run, "count", "--reason", "then gone"]));
    let pids = stopped_group(&run, 2);
    wait_anchored(&pids);
    let pgrp = procs::read_stat(pids[0]).map_or(0, |s| s.2);
    engine.kill().expect("kill -9");
    let _ = engine.wait();
    for &pid in &pids {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    wait_until("the anchor's member and the anchor to go", secs(10), || {
        let left = procs::group_members(pgrp);
        (left.is_empty() && anchors_of(pgrp).is_empty()).then_some(())
    });
}

//! A frozen local step adopted after a kill -9 of its engine (`exec/adopt.rs`) whose
//! tracing the system refuses: its release is refused (`trace_refused`) and it stays
//! frozen, sent nothing; a cancel still kills it, on record as cancelled, never as a
//! spawn that failed.
//!
//! How tracing is refused here, for real: the machine lets root trace (no Yama,
//! `CAP_SYS_PTRACE`), so the step's main process is given another tracer first,
//! `strace -p`, after the crash and before the resume. A process has one tracer; the
//! kernel refuses the resumed engine's `PTRACE_SEIZE` with EPERM, as it would under
//! Yama or without the capability. strace keeps a group-stop a stop (`PTRACE_LISTEN`),
//! so the step stays frozen under it until someone continues it.
use super::hold::{all_frozen, stat, wait_anchored};
use crate::helpers::*;
use baton::procs;
use std::process::{Child, Command, Stdio};

/// Starts, then waits for `go` (there before the release): let run, it would exit 7 at
/// once.
const WAITS_FOR_GO: &str = r#"
name = "untraced"
[[step]]
id = "count"
run = '''
echo 1 > progress
while [ ! -f go ]; do sleep 0.02; done
echo "late line"
exit 7
'''
"#;

/// The step's main process (its group's leader) and its live processes, once every one
/// of them is stopped.
fn frozen_leader(run: &str) -> (i32, Vec<i32>) {
    frozen_leader_of(run, "count")
}

/// [`frozen_leader`] of step `step`.
fn frozen_leader_of(run: &str, step: &str) -> (i32, Vec<i32>) {
    wait_until("the step's group to stop", secs(10), || {
        let pids: Vec<i32> = procs::run_processes(run)
            .into_iter()
            .filter(|p| p.step == step)
            .map(|p| p.pid)
            .filter(|&p| stat(p).is_some_and(|s| s.0 != 'Z'))
            .collect();
        let leader = pids
            .iter()
            .copied()
            .find(|&p| procs::read_stat(p).is_some_and(|s| s.2 == p));
        match leader {
            Some(l) if all_frozen(&pids) => Ok((l, pids)),
            _ => Err(format!("{pids:?}")),
        }
    })
}

/// The pid tracing `pid` (`TracerPid` in its status), 0 for none.
fn tracer_of(pid: i32) -> i32 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("TracerPid:"))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Stopped, traced or not (`T`, or `t` under a tracer); or `D` in a `vfork` whose
/// child is stopped before its exec (`hold::all_frozen`: the hold's stop caught the
/// shell starting a command, and it stays so until that child runs again).
fn stopped(pid: i32) -> bool {
    match stat(pid).map(|s| s.0) {
        Some('T' | 't') => true,
        Some('D') => procs::group_members(pid).into_iter().any(|c| {
            procs::read_stat(c)
                .is_some_and(|(s, parent, _)| matches!(s, 'T' | 't') && parent == pid)
        }),
        _ => false,
    }
}

/// `strace -p pid`: another tracer on the step's main process, attached once its
/// status says so.
fn other_tracer(pid: i32) -> Child {
    let strace = Command::new("strace")
        .args(["-qq", "-o", "/dev/null", "-p", &pid.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("strace (the other tracer) is installed");
    let by = strace.id() as i32;
    wait_until("strace to trace the step", secs(10), || {
        tracer_of(pid) == by
    });
    strace
}

/// Resumes the run and waits until the new engine drives it.
fn resume(env: &Env, run: &str) -> Child {
    let resumed = env.spawn(&["resume", run, "--headless"]);
    let driver = format!("pid {} ", resumed.id());
    wait_until("the resumed engine to drive the run", secs(30), || {
        env.show(run)["driven_by"]
            .as_str()
            .is_some_and(|d| d.starts_with(&driver))
    });
    resumed
}

/// The run's `command_refused` events with `code`.
fn refused_on_record(env: &Env, run: &str, code: &str) -> usize {
    let out = env.run(&["events", run, "--json"]);
    ok(&out);
    text(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["type"] == "command_refused" && e["code"] == code)
        .count()
}

/// The step held (with `hold`'s further arguments), frozen, its engine killed -9,
/// another tracer on its main process, `go` written: `(run, leader, strace)`.
fn frozen_crashed_and_traced(env: &Env, more: &[&str]) -> (String, i32, Child) {
    let wf = env.workflow("untraced.toml", WAITS_FOR_GO);
    let mut engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let run = env.wait_run_id();
    wait_until("the step to start", secs(30), || {
        env.path().join("progress").exists()
    });
    let mut hold = vec!["hold", &run, "count", "--reason", "over a crash"];
    hold.extend_from_slice(more);
    ok(&env.run(&hold));
    let (leader, pids) = frozen_leader(&run);
    wait_anchored(&pids);
    engine.kill().expect("kill -9");
    let _ = engine.wait();
    let strace = other_tracer(leader);
    std::fs::write(env.path().join("go"), "").unwrap();
    (run, leader, strace)
}

/// Frozen, kill -9 of the engine, another tracer on the step, resume (adopted), then
/// `release`: refused with `trace_refused`, saying why and what to do; the step stays
/// frozen (sent no SIGCONT: it would have found `go` and exited), held, running,
/// attempt 1, and the refusal is on record. A cancel then kills it (signals need no
/// trace): the step is cancelled, not failed as a spawn.
/// Cancel the resumed run, wait for its engine to end (exit 1: cancelled) and return
/// what `show` says then, `count` cancelled.
fn cancel_resumed(env: &Env, run: &str, resumed: Child) -> serde_json::Value {
    ok(&env.run(&["cancel", run, "--reason", "stop it"]));
    let done = wait_child(resumed, 120);
    assert_eq!(done.status.code(), Some(1), "{}", text(&done.stderr));
    let show = env.show(run);
    assert_eq!(
        step_state(&show, "count").as_deref(),
        Some("cancelled"),
        "{show:#}"
    );
    show
}

/// Stop the other tracer and reap it.
fn end_tracer(mut tracer: Child) {
    let _ = tracer.kill();
    let _ = tracer.wait();
}

#[test]
fn a_release_of_an_adopted_step_that_cannot_be_traced_is_refused_and_it_stays_frozen() {
    let env = Env::new();
    let (run, leader, strace) = frozen_crashed_and_traced(&env, &[]);
    let resumed = resume(&env, &run);
    let show = env.show(&run);
    assert_eq!(step_state(&show, "count").as_deref(), Some("running"));
    assert_eq!(
        step_field(&show, "count", "hold")["frozen"],
        true,
        "{show:#}"
    );

    let refused = env.run(&["release", &run, "count", "--reason", "go"]);
    let said = format!("{}{}", text(&refused.stdout), text(&refused.stderr));
    assert_eq!(refused.status.code(), Some(1), "{said}");
    assert!(said.contains("`count` stays frozen"), "{said}");
    assert!(said.contains("Operation not permitted"), "why: {said}");
    assert!(
        said.contains(&format!("baton cancel {run}")),
        "what to do: {said}"
    );
    // Its answer came after the engine's try: had it sent SIGCONT, the step would be
    // running now (strace continues a stop on SIGCONT), not stopped.
    assert!(stopped(leader), "still frozen: {:?}", stat(leader));
    assert_eq!(tracer_of(leader), strace.id() as i32, "still the other's");
    let show = env.show(&run);
    assert_eq!(step_state(&show, "count").as_deref(), Some("running"));
    let hold = step_field(&show, "count", "hold");
    assert_eq!(hold["frozen"], true, "still held: {show:#}");
    assert_eq!(step_field(&show, "count", "attempts"), 1);
    assert_eq!(refused_on_record(&env, &run, "trace_refused"), 1);
    // A run-level release names it too: refused the same way.
    let again = env.run(&["release", &run, "--reason", "all of them"]);
    assert_eq!(again.status.code(), Some(1), "{}", text(&again.stdout));
    assert!(stopped(leader), "still frozen");

    let show = cancel_resumed(&env, &run, resumed);
    assert_eq!(show["state"], "cancelled", "{show:#}");
    let all = show.to_string();
    assert!(!all.contains("spawn_failed"), "{show:#}");
    assert!(!all.contains("cannot be seen"), "{show:#}");
    assert!(stat(leader).is_none_or(|s| s.0 == 'Z'), "killed");
    end_tracer(strace);
}

/// The same, without a resume first: `baton release` would take the interrupted run
/// over (`session::jobs`: its main process traced by another already) and is refused
/// the same way, the step still frozen; `baton cancel` taking it over kills it.
#[test]
fn a_release_taking_the_run_over_is_refused_the_same_way() {
    let env = Env::new();
    let (run, leader, strace) = frozen_crashed_and_traced(&env, &[]);
    let refused = env.run(&["release", &run, "count", "--reason", "go"]);
    let said = format!("{}{}", text(&refused.stdout), text(&refused.stderr));
    assert_eq!(refused.status.code(), Some(1), "{said}");
    assert!(said.contains("`count` stays frozen"), "{said}");
    assert!(said.contains("traces it already"), "why: {said}");
    assert!(stopped(leader), "still frozen: {:?}", stat(leader));
    let show = env.show(&run);
    assert_eq!(
        step_field(&show, "count", "hold")["frozen"],
        true,
        "{show:#}"
    );
    // Refused before the run is taken over, as any command refused so: nothing of it
    // is recorded, the run stays interrupted as it was.
    assert_eq!(show["state"], "interrupted", "{show:#}");
    let cancel = env.run(&["cancel", &run, "--reason", "stop it"]);
    assert_eq!(cancel.status.code(), Some(1), "{}", text(&cancel.stdout));
    let show = env.show(&run);
    assert_eq!(show["state"], "cancelled", "{show:#}");
    assert_eq!(
        step_state(&show, "count").as_deref(),
        Some("cancelled"),
        "{show:#}"
    );
    assert!(!show.to_string().contains("spawn_failed"), "{show:#}");
    assert!(stat(leader).is_none_or(|s| s.0 == 'Z'), "killed");
    end_tracer(strace);
}

/// A release the engine decides itself (`hold --until`, passed after the resume) is
/// not traced ahead: its thaw is refused (nothing sent, still frozen) and the engine
/// holds the step again on record, saying why (`Input::ThawRefused`).
#[test]
fn a_hold_that_expires_on_an_untraceable_adopted_step_holds_it_again() {
    let env = Env::new();
    let (run, leader, strace) = frozen_crashed_and_traced(&env, &["--until", "6s"]);
    let resumed = resume(&env, &run);
    let hold = wait_until("the engine to hold it again", secs(30), || {
        let hold = step_field(&env.show(&run), "count", "hold");
        if hold["by"] == "engine" {
            Ok(hold)
        } else {
            Err(hold.to_string())
        }
    });
    assert_eq!(hold["frozen"], true, "{hold}");
    let why = hold["reason"].as_str().unwrap_or_default();
    assert!(why.contains("tracing its process was refused"), "{why}");
    assert!(stopped(leader), "still frozen: {:?}", stat(leader));
    assert_eq!(tracer_of(leader), strace.id() as i32);
    let show = env.show(&run);
    assert_eq!(step_state(&show, "count").as_deref(), Some("running"));
    assert_eq!(step_field(&show, "count", "attempts"), 1);
    cancel_resumed(&env, &run, resumed);
    end_tracer(strace);
}

/// Two steps, each starting then waiting for `go`; `count` exits 7, `other` 0.
const TWO_WAIT_FOR_GO: &str = r#"
name = "untraced-two"
[[step]]
id = "count"
run = '''
echo 1 > progress
while [ ! -f go ]; do sleep 0.02; done
exit 7
'''

[[step]]
id = "other"
run = '''
echo 1 > other-progress
while [ ! -f go ]; do sleep 0.02; done
exit 0
'''
"#;

/// Two steps frozen over a kill -9, another tracer on one (`count`), resume: a
/// release naming both is refused (nothing let run); a release of the whole run lets
/// the traceable one run (it ends, succeeded) and keeps the other frozen, its answer
/// naming it and why; a cancel then kills it.
#[test]
fn a_run_wide_release_lets_the_others_run_and_keeps_the_untraceable_one_frozen() {
    let env = Env::new();
    let wf = env.workflow("two.toml", TWO_WAIT_FOR_GO);
    let mut engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let run = env.wait_run_id();
    wait_until("both steps to start", secs(30), || {
        env.path().join("progress").exists() && env.path().join("other-progress").exists()
    });
    ok(&env.run(&["hold", &run, "count", "other", "--reason", "over a crash"]));
    let (leader, pids) = frozen_leader(&run);
    let (other_leader, other_pids) = frozen_leader_of(&run, "other");
    wait_anchored(&pids);
    wait_anchored(&other_pids);
    engine.kill().expect("kill -9");
    let _ = engine.wait();
    let strace = other_tracer(leader);
    std::fs::write(env.path().join("go"), "").unwrap();
    let resumed = resume(&env, &run);

    let named = env.run(&["release", &run, "count", "other", "--reason", "go"]);
    let said = format!("{}{}", text(&named.stdout), text(&named.stderr));
    assert_eq!(named.status.code(), Some(1), "{said}");
    assert!(said.contains("`count` stays frozen"), "{said}");
    assert!(
        stopped(other_leader),
        "nothing let run: {:?}",
        stat(other_leader)
    );

    let all = env.run(&["release", &run, "--reason", "all that can"]);
    let said = format!("{}{}", text(&all.stdout), text(&all.stderr));
    assert_eq!(all.status.code(), Some(0), "{said}");
    assert!(said.contains("released 1 step(s)"), "{said}");
    assert!(said.contains("`count` stays frozen"), "{said}");
    assert!(said.contains("Operation not permitted"), "why: {said}");
    env.wait_step(&run, "other", "succeeded", 30);
    assert!(stopped(leader), "still frozen: {:?}", stat(leader));
    assert_eq!(tracer_of(leader), strace.id() as i32, "still the other's");
    let show = env.show(&run);
    assert_eq!(step_state(&show, "count").as_deref(), Some("running"));
    assert_eq!(
        step_field(&show, "count", "hold")["frozen"],
        true,
        "{show:#}"
    );

    let show = cancel_resumed(&env, &run, resumed);
    assert_eq!(step_state(&show, "other").as_deref(), Some("succeeded"));
    end_tracer(strace);
}

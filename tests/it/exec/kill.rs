//! Stopping attempts: timeout and cancel take the whole process group, grandchildren
//! and TERM-ignoring children included; leftovers of a finished step are cleared;
//! resume kills a group a dead engine left behind.

use crate::helpers::{job, live_members, secs, wait_until};
use baton::exec::{KillReason, kill_stale_group, spawn};
use baton::model::StepOutcome;
use std::os::unix::process::CommandExt;
use std::time::{Duration, Instant};

/// Wait until the group has `n` processes. It blocks the test's runtime, which has
/// nothing to do meanwhile: the processes are the kernel's.
fn wait_for_members(pgid: i32, n: usize) {
    wait_until(
        &format!("group {pgid} to have {n} processes"),
        secs(5),
        || live_members(pgid).len() >= n,
    );
}

#[tokio::test]
async fn timeout_kills_the_whole_group() {
    let tmp = tempfile::tempdir().unwrap();
    let running = spawn(job(tmp.path(), "t", "sleep 1000 & sleep 1000; wait"))
        .await
        .unwrap();
    let pgid = running.pgid();
    wait_for_members(pgid, 3);
    running
        .kill_handle()
        .terminate(Duration::from_secs(5), KillReason::Timeout);
    let f = running.wait().await;
    assert_eq!(f.outcome, StepOutcome::TimedOut);
    assert_eq!(
        live_members(pgid),
        Vec::<i32>::new(),
        "no grandchild survives"
    );
}

#[tokio::test]
async fn cancel_escalates_to_sigkill_for_children_that_ignore_term() {
    let tmp = tempfile::tempdir().unwrap();
    let cmd = "trap '' TERM; sleep 1000 & sh -c 'trap \"\" TERM; sleep 1000' & wait";
    let running = spawn(job(tmp.path(), "c", cmd)).await.unwrap();
    let pgid = running.pgid();
    wait_for_members(pgid, 4);
    let start = Instant::now();
    let grace = Duration::from_millis(300);
    running.kill_handle().terminate(grace, KillReason::Cancel);
    // The first request wins: a later one changes neither reason nor grace.
    running
        .kill_handle()
        .terminate(Duration::ZERO, KillReason::Timeout);
    let f = running.wait().await;
    assert_eq!(f.outcome, StepOutcome::Killed);
    assert!(
        start.elapsed() >= grace,
        "SIGKILL only after the grace period"
    );
    assert_eq!(live_members(pgid), Vec::<i32>::new());
}

#[tokio::test]
async fn leftovers_of_a_finished_step_are_cleared() {
    let tmp = tempfile::tempdir().unwrap();
    // The background sleep keeps stdout open; the step is still done when sh exits.
    let running = spawn(job(tmp.path(), "bg", "sleep 1000 & echo started"))
        .await
        .unwrap();
    let pgid = running.pgid();
    let f = running.wait().await;
    assert_eq!(f.outcome, StepOutcome::Exited { exit_code: 0 });
    assert_eq!(live_members(pgid), Vec::<i32>::new());
    assert!(crate::helpers::log_text(f.log_path.as_ref().unwrap()).contains("started"));
}

#[tokio::test]
async fn tail_is_readable_while_running() {
    let tmp = tempfile::tempdir().unwrap();
    let running = spawn(job(
        tmp.path(),
        "live",
        "echo one; echo two >&2; sleep 1000",
    ))
    .await
    .unwrap();
    let tail = running.tail();
    let kill = running.kill_handle();
    // Its output is read while it is waited for, as the engine waits for each attempt.
    let waited = tokio::spawn(running.wait());
    for _ in 0..500 {
        if tail.lines().len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut lines = tail.lines();
    lines.sort();
    assert_eq!(lines, vec!["one", "two"]);
    assert!(!waited.is_finished(), "read while it still runs");
    kill.terminate(Duration::from_millis(100), KillReason::Shutdown);
    assert_eq!(waited.await.unwrap().outcome, StepOutcome::Killed);
}

#[test]
fn stale_groups_of_a_dead_engine_are_killed() {
    let mut leader = std::process::Command::new("sh")
        .args(["-c", "trap '' TERM; sleep 1000 & sleep 1000 & wait"])
        .process_group(0)
        .spawn()
        .unwrap();
    let pgid = leader.id() as i32;
    wait_for_members(pgid, 3);
    assert_eq!(live_members(pgid).len(), 3);
    assert!(kill_stale_group(pgid, Duration::from_millis(200)).unwrap());
    leader.wait().unwrap();
    assert_eq!(live_members(pgid), Vec::<i32>::new());
    assert!(
        !kill_stale_group(pgid, Duration::from_millis(200)).unwrap(),
        "nothing left"
    );
}

/// An attempt dropped unwaited (an aborted task), its kill handle still held by another
/// thread that pauses, continues and terminates it meanwhile: its group is killed, its
/// leader reaped (no zombie of ours left), and the handle then says the group is gone.
#[tokio::test]
async fn an_attempt_dropped_unwaited_is_killed_and_reaped_while_its_kill_handle_is_used() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let tmp = tempfile::tempdir().unwrap();
    let running = spawn(job(tmp.path(), "dropped", "sleep 1000 & sleep 1000; wait"))
        .await
        .unwrap();
    let pgid = running.pgid();
    wait_for_members(pgid, 3);
    let kill = running.kill_handle();
    let stop = Arc::new(AtomicBool::new(false));
    let going = Arc::new(AtomicBool::new(false));
    let racer = {
        let (kill, stop, going) = (kill.clone(), stop.clone(), going.clone());
        std::thread::spawn(move || {
            let mut calls = 0;
            while !stop.load(Ordering::SeqCst) {
                let _ = kill.pause(calls % 2 == 0);
                kill.terminate(Duration::ZERO, KillReason::Cancel);
                calls += 1;
                going.store(true, Ordering::SeqCst);
            }
            calls
        })
    };
    // Dropped while the racer uses the handle, not before its thread first runs.
    wait_until("the racer to run", secs(20), || {
        going.load(Ordering::SeqCst)
    });
    drop(running);
    let ours = || {
        std::fs::read_to_string(format!("/proc/{pgid}/stat")).is_ok_and(|s| {
            let after = &s[s.rfind(')').map_or(0, |i| i + 2)..];
            after.split_whitespace().nth(1) == Some(&std::process::id().to_string())
        })
    };
    wait_until("the leader to be reaped", secs(20), || !ours());
    wait_until("its group to be gone", secs(20), || {
        live_members(pgid).is_empty()
    });
    stop.store(true, Ordering::SeqCst);
    assert!(racer.join().unwrap() > 0);
    assert_eq!(kill.pause(true).ok(), Some(false), "nothing left to pause");
}

// A step that prints without pause does not hold the runtime that reads it: the test's
// own task runs beside it and stops it, a timeout's kill. Bounded: were the runtime
// held, a watchdog thread ends the flood after 20 s (and the test fails).
#[tokio::test]
async fn a_step_that_prints_without_pause_leaves_the_runtime_to_others() {
    let tmp = tempfile::tempdir().unwrap();
    let running = spawn(job(tmp.path(), "flood", "cat /dev/zero"))
        .await
        .unwrap();
    let (pgid, kill) = (running.pgid(), running.kill_handle());
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        let held = finished.recv_timeout(Duration::from_secs(20)).is_err();
        if held {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pgid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        held
    });
    let waited = tokio::spawn(running.wait());
    // Back here only if the reads of the flood let the runtime go.
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    kill.terminate(Duration::from_secs(1), KillReason::Timeout);
    let f = waited.await.unwrap();
    let _ = done.send(());
    assert!(!watchdog.join().unwrap(), "the flood held the runtime");
    assert_eq!(f.outcome, StepOutcome::TimedOut);
    assert_eq!(live_members(pgid), Vec::<i32>::new());
}

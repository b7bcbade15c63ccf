//! Process groups: every attempt runs in its own group, so a timeout, a cancel or a
//! resume can stop the step together with everything it started.
use crate::ExecError;
use baton_procs as procs;
use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::{Pid, getpgrp};
use std::time::{Duration, Instant};

/// How often a group is checked while baton waits for it to go.
pub const POLL: Duration = Duration::from_millis(10);
/// After SIGKILL, how long to wait for the kernel to remove the group.
pub const KILL_SETTLE: Duration = Duration::from_secs(2);

/// Sends `sig` to the group; `Ok(false)` when the group no longer exists.
pub fn signal_group(pgid: i32, sig: Signal) -> Result<bool, ExecError> {
    if pgid <= 1 || pgid == getpgrp().as_raw() {
        return Err(ExecError::RefusedPgid(pgid));
    }
    match killpg(Pid::from_raw(pgid), sig) {
        Ok(()) => Ok(true),
        Err(Errno::ESRCH) => Ok(false),
        Err(source) => Err(ExecError::Signal { pgid, source }),
    }
}

/// The processes of a group that are still running (zombies waiting for their parent
/// to reap them are not: they cannot run or hold anything but a pid).
pub use baton_procs::group_members;

/// Resume's backstop: the process groups of every live process (of this user: others'
/// environments are unreadable) whose environment says a step of `run_id` started it,
/// that is a step's process or anything it started, even one that left the step's
/// group (`setsid`) or whose group id the dead engine never got to record
/// (`baton_procs`, which the store reads too). Skips baton itself, its ancestors and
/// its own group, and the processes of Slurm jobs (marked `BATON_SLURM_JOB`: resume
/// re-attaches to the job instead). Empty where there is no `/proc`.
pub fn run_process_groups(run_id: &str) -> Vec<i32> {
    run_groups_look(run_id).0
}

/// This process and its ancestors: never a run's leftover.
fn own_line() -> Vec<i32> {
    let me = std::process::id() as i32;
    let mut ancestors = vec![me];
    let mut pid = me;
    while let Some((_, ppid, _)) = procs::read_stat(pid) {
        if ppid <= 1 || ancestors.contains(&ppid) {
            break;
        }
        ancestors.push(ppid);
        pid = ppid;
    }
    ancestors
}

/// [`run_process_groups`], and whether some process was in the middle of an exec (not
/// told yet whether it is the run's: `baton_procs::RunLook::unsettled`; or the run's,
/// `RunLook::execing`). A group is named by a member whose exec is through: a stop
/// signals a group only once a member's environment names the run
/// ([`group_belongs_to`]), so a group known only by a member mid-exec is looked at
/// again rather than counted as stopped.
fn run_groups_look(run_id: &str) -> (Vec<i32>, bool) {
    let own_group = getpgrp().as_raw();
    let ancestors = own_line();
    let look = procs::look_for_run(run_id);
    let mut groups: Vec<i32> = look
        .found
        .into_iter()
        .filter(|p| !p.slurm_job && !ancestors.contains(&p.pid) && !look.execing.contains(&p.pid))
        .map(|p| p.pgrp)
        .filter(|&pgrp| pgrp > 1 && pgrp != own_group)
        .collect();
    groups.sort_unstable();
    groups.dedup();
    let unsettled = (look.unsettled.iter())
        .chain(&look.execing)
        .any(|p| !ancestors.contains(p));
    (groups, unsettled)
}

/// The most looks [`stop_run_groups`] takes at `/proc` that find groups to stop.
const LOOKS: usize = 8;
/// How long [`stop_run_groups`] waits, at most, for the execs under way to be through
/// (one is a fraction of a millisecond; a loaded machine can leave it unscheduled for
/// a while).
const SETTLE: Duration = Duration::from_secs(2);

/// Each look at `/proc` for `run_id`'s process groups ([`run_process_groups`], less
/// `keep`) hands what it found to `stop`, until two looks in a row find none and no
/// process in the middle of an exec (at most [`LOOKS`] that find some): such a process
/// carries no environment until its exec is through, so its group cannot be told the
/// run's yet, and it is looked at again, after [`POLL`], until its exec is through or
/// [`SETTLE`] passed. A process a stop moves out
/// of its group before the signal lands is found by the next look. How many groups
/// were handed over.
pub fn stop_run_groups(run_id: &str, keep: &[i32], mut stop: impl FnMut(&[i32])) -> usize {
    let settle_by = Instant::now() + SETTLE;
    let mut stopped = 0;
    let mut looks = 0;
    let mut found_none = 0;
    while looks < LOOKS {
        let (mut groups, unsettled) = run_groups_look(run_id);
        groups.retain(|g| !keep.contains(g));
        if !groups.is_empty() {
            found_none = 0;
            looks += 1;
            stop(&groups);
            stopped += groups.len();
        } else if unsettled && Instant::now() < settle_by {
            found_none = 0;
            std::thread::sleep(POLL);
        } else {
            found_none += 1;
            if found_none == 2 {
                break;
            }
        }
    }
    stopped
}

/// Whether the group is one of `run_id`'s: one of its live members carries the run's
/// id in its environment (every step's process does, and what it starts inherits it).
/// A recorded group id may have been reused by an unrelated group once the step's
/// group was gone (a reboot, a PID namespace): that one has no such member and is left
/// alone. Another user's process (environment unreadable) is never ours.
pub fn group_belongs_to(pgid: i32, run_id: &str) -> bool {
    procs::group_runs_for(pgid, run_id)
}

/// Whether anything of the group still runs. Cheap when it is gone (one `kill(2)`).
pub fn group_alive(pgid: i32) -> bool {
    match killpg(Pid::from_raw(pgid), None) {
        Err(Errno::ESRCH) => false,
        _ if std::path::Path::new("/proc/self/stat").exists() => !group_members(pgid).is_empty(),
        _ => true,
    }
}

/// Resume: kills a group that a dead engine left behind. SIGTERM, then SIGKILL after
/// `grace`. Returns whether anything was there. Blocks for up to `grace` + 2 s: call it
/// before the runtime starts or through `spawn_blocking`. Refuses pgid <= 1 and our own.
///
/// The pgid comes from the store; the kernel does not reuse a pid while its group
/// exists, but once the group is gone an unrelated group could take the id.
pub fn kill_stale_group(pgid: i32, grace: Duration) -> Result<bool, ExecError> {
    if pgid <= 1 || pgid == getpgrp().as_raw() {
        return Err(ExecError::RefusedPgid(pgid));
    }
    if !group_alive(pgid) || !signal_group(pgid, Signal::SIGTERM)? {
        return Ok(false);
    }
    // A group left frozen by a hold takes its SIGTERM once it runs again.
    let _ = signal_group(pgid, Signal::SIGCONT);
    let deadline = Instant::now() + grace;
    while group_alive(pgid) && Instant::now() < deadline {
        std::thread::sleep(POLL);
    }
    if group_alive(pgid) {
        signal_group(pgid, Signal::SIGKILL)?;
        let settle = Instant::now() + KILL_SETTLE;
        while group_alive(pgid) && Instant::now() < settle {
            std::thread::sleep(POLL);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// Whether `pid` still runs as `run`'s (its exec through, carrying the run's id) or
    /// is in the middle of an exec (not told yet).
    fn runs_as(pid: i32, run: &str) -> bool {
        let running = procs::read_stat(pid).is_some_and(|s| baton_model::procs::runs(s.0));
        running
            && procs::environ(pid)
                .is_some_and(|e| e.is_empty() || baton_model::procs::carries_run(&e, run))
    }

    /// A run's process starts children in a tight loop, each of which writes its pid
    /// and leaves its parent's group (`setsid`) as it execs `sleep`, niced while two
    /// threads keep the cores busy, so that its exec (no environment to read until it
    /// is through) lasts over several looks. Once the looks end, none of them runs.
    #[test]
    fn a_child_in_the_middle_of_its_exec_is_stopped_with_its_parent() {
        const CHILDREN: usize = 100;
        if !std::path::Path::new("/proc/self/environ").exists() {
            return; // no `/proc` here: nothing is found
        }
        let dir = tempfile::tempdir().expect("a temporary directory");
        let pids = dir.path().join("pids");
        let run = format!("01execing{}", std::process::id());
        // A bounded loop: the niced children are slow to start while the parent is not.
        let script = format!(
            "i=0; while [ $i -lt {CHILDREN} ]; do i=$((i+1)); \
             nice -n 19 sh -c 'echo $$ >> {}; exec setsid sleep 60' & done; wait",
            pids.display()
        );
        let mut parent = std::process::Command::new("setsid")
            .args(["sh", "-c", &script])
            .env("BATON_RUN_ID", &run)
            .env("BATON_STEP_ID", "ship")
            .spawn()
            .expect("spawn the parent");
        // The looks begin with half the children on their way.
        let deadline = Instant::now() + Duration::from_secs(20);
        let written = || {
            std::fs::read_to_string(&pids)
                .unwrap_or_default()
                .lines()
                .count()
        };
        while written() < CHILDREN / 2 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        let busy = AtomicBool::new(true);
        let stopped = std::thread::scope(|scope| {
            for _ in 0..2 {
                scope.spawn(|| {
                    while busy.load(Ordering::Relaxed) {
                        std::hint::spin_loop();
                    }
                });
            }
            let n = stop_run_groups(&run, &[], |groups| {
                for &g in groups {
                    let _ = kill_stale_group(g, Duration::ZERO);
                }
            });
            busy.store(false, Ordering::Relaxed);
            n
        });
        let _ = parent.kill();
        let _ = parent.wait();
        let text = std::fs::read_to_string(&pids).unwrap_or_default();
        let children: Vec<i32> = text.lines().filter_map(|l| l.parse().ok()).collect();
        // A child the looks missed is `sleep 60` once its exec is through.
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut left: Vec<i32> = children.clone();
        while !left.is_empty() && Instant::now() < deadline {
            left.retain(|&pid| runs_as(pid, &run));
            std::thread::sleep(POLL);
        }
        for &pid in &left {
            let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        assert!(stopped >= 1, "the parent's group was stopped");
        assert!(
            left.is_empty(),
            "{} of {} children run on after {stopped} groups were stopped: {left:?}",
            left.len(),
            children.len()
        );
    }

    #[test]
    fn refuses_init_and_its_own_group() {
        let own = getpgrp().as_raw();
        for pgid in [0, 1, -5, own] {
            assert!(matches!(
                kill_stale_group(pgid, Duration::ZERO),
                Err(ExecError::RefusedPgid(_))
            ));
            assert!(signal_group(pgid, Signal::SIGTERM).is_err());
        }
    }
}

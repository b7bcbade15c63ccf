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
    let me = std::process::id() as i32;
    let own_group = getpgrp().as_raw();
    let mut ancestors = vec![me];
    let mut pid = me;
    while let Some((_, ppid, _)) = procs::read_stat(pid) {
        if ppid <= 1 || ancestors.contains(&ppid) {
            break;
        }
        ancestors.push(ppid);
        pid = ppid;
    }
    let mut groups: Vec<i32> = procs::run_processes(run_id)
        .into_iter()
        .filter(|p| !p.slurm_job && !ancestors.contains(&p.pid))
        .map(|p| p.pgrp)
        .filter(|&pgrp| pgrp > 1 && pgrp != own_group)
        .collect();
    groups.sort_unstable();
    groups.dedup();
    groups
}

/// The most looks [`stop_run_groups`] takes at `/proc`.
const LOOKS: usize = 8;

/// Each look at `/proc` for `run_id`'s process groups ([`run_process_groups`], less
/// `keep`) hands what it found to `stop`, until two looks in a row find none (at most
/// [`LOOKS`]): a process in the middle of an exec carries no environment for a moment
/// (the kernel fills it in after the new program is mapped), so one look can miss it.
/// How many groups were handed over.
pub fn stop_run_groups(run_id: &str, keep: &[i32], mut stop: impl FnMut(&[i32])) -> usize {
    let mut stopped = 0;
    let mut found_none = 0;
    for _ in 0..LOOKS {
        let mut groups = run_process_groups(run_id);
        groups.retain(|g| !keep.contains(g));
        if groups.is_empty() {
            found_none += 1;
            if found_none == 2 {
                break;
            }
            continue;
        }
        found_none = 0;
        stop(&groups);
        stopped += groups.len();
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

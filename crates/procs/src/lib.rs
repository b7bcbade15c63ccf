//! What this host's `/proc` says of a run's processes: the one reading that resume
//! (`exec`: the leftovers it stops) and the store (`store::slots`: whether a dead
//! holder's work still runs, so its concurrency group or store-wide pool slot is not
//! handed over yet) both make. The parsing is pure and lives in the vocabulary
//! (`baton_model::procs`); this crate opens the files. Only this user's processes can
//! be read (the kernel hides others' environments); without `/proc` nothing is found.
use baton_model::procs::{
    carries_run, runs, stat_fields, stat_mid_exec, status_field as field, step_env,
};
use std::os::unix::fs::MetadataExt;

pub use baton_model::procs::RunProcess;

/// `(state, ppid, pgrp)` of a process now.
pub fn read_stat(pid: i32) -> Option<(char, i32, i32)> {
    stat_fields(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// The value of `key` in process `pid`'s `/proc/PID/status` (`TracerPid`, `CapEff`…),
/// trimmed; none when it is gone, not readable, or has no such line.
pub fn status_field(pid: i32, key: &str) -> Option<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    field(&status, key).map(str::to_string)
}

/// A process's environment, `NAME=VALUE` entries each ended by a NUL (`None` when it is
/// gone or not this user's).
pub fn environ(pid: i32) -> Option<Vec<u8>> {
    std::fs::read(format!("/proc/{pid}/environ")).ok()
}

fn pids() -> impl Iterator<Item = i32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
}

/// The processes of a group that are still running.
pub fn group_members(pgid: i32) -> Vec<i32> {
    pids()
        .filter(|&pid| read_stat(pid).is_some_and(|(state, _, pgrp)| pgrp == pgid && runs(state)))
        .collect()
}

/// One look at this host's processes for a run's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunLook {
    /// Every live process (readable by this user) that a step of the run started, oldest
    /// pid first: those carrying its id, and those in the middle of an exec whose parent
    /// is one of them (its child, so the run's).
    pub found: Vec<RunProcess>,
    /// The pids of those of [`RunLook::found`] in the middle of an exec: their group
    /// cannot be told the run's by its members' environments until the exec is through.
    pub execing: Vec<i32>,
    /// The pids of the other processes of this user in the middle of an exec: their
    /// environment is not in place yet, so whether they are the run's is not told until
    /// their exec is through.
    pub unsettled: Vec<i32>,
}

/// A process of this user in the middle of an exec: `(pid, ppid, pgrp)`.
fn mid_exec(pid: i32, own_uid: Option<u32>) -> Option<(i32, i32, i32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (state, ppid, pgrp) = stat_fields(&stat)?;
    // Its `/proc` directory is owned by its effective user (root while an exec of a
    // set-uid program is under way): another user's process is never the run's.
    let uid = std::fs::metadata(format!("/proc/{pid}")).ok()?.uid();
    (runs(state) && stat_mid_exec(&stat) && own_uid == Some(uid)).then_some((pid, ppid, pgrp))
}

/// Look at every process of this host for `run_id`'s ([`RunLook`]). A process in the
/// middle of an exec reads no environment for a moment (its new memory has none yet):
/// it is the run's when its parent is, and is otherwise named as not told yet.
pub fn look_for_run(run_id: &str) -> RunLook {
    let own_uid = std::fs::metadata("/proc/self").ok().map(|m| m.uid());
    let mut found = Vec::new();
    let mut execing = Vec::new();
    for pid in pids() {
        let Some(environ) = environ(pid) else {
            continue;
        };
        if environ.is_empty() {
            execing.extend(mid_exec(pid, own_uid));
            continue;
        }
        let Some(env) = step_env(&environ).filter(|e| e.run == run_id.as_bytes()) else {
            continue;
        };
        if let Some((_, _, pgrp)) = read_stat(pid).filter(|s| runs(s.0)) {
            found.push(RunProcess {
                pid,
                pgrp,
                step: env.step,
                slurm_job: env.slurm_job,
            });
        }
    }
    // A child of the run's (or of such a child, an exec chain) is the run's; the
    // looking process's own children are not (it may carry the id, run by a step).
    let me = std::process::id() as i32;
    let mut found_execing = Vec::new();
    loop {
        let before = execing.len();
        execing.retain(|&(pid, ppid, pgrp)| {
            let parent = found.iter().find(|p| p.pid == ppid && ppid != me).cloned();
            let Some(parent) = parent else {
                return true;
            };
            found.push(RunProcess {
                pid,
                pgrp,
                ..parent
            });
            found_execing.push(pid);
            false
        });
        if execing.len() == before {
            break;
        }
    }
    found.sort_by_key(|p| p.pid);
    RunLook {
        found,
        execing: found_execing,
        unsettled: execing.into_iter().map(|(pid, _, _)| pid).collect(),
    }
}

/// Every live process of this host (readable by this user) that a step of `run_id`
/// started, oldest pid first ([`RunLook::found`]).
pub fn run_processes(run_id: &str) -> Vec<RunProcess> {
    look_for_run(run_id).found
}

/// Whether a live member of group `pgid` carries `run_id` in its environment (a
/// recorded group id may have been reused once the step's group was gone).
pub fn group_runs_for(pgid: i32, run_id: &str) -> bool {
    group_members(pgid)
        .into_iter()
        .any(|pid| environ(pid).is_some_and(|env| carries_run(&env, run_id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_of_this_process_status_is_read() {
        if !std::path::Path::new("/proc/self/status").exists() {
            return; // no `/proc` here
        }
        let me = std::process::id() as i32;
        let pid = status_field(me, "Pid");
        assert_eq!(pid, Some(me.to_string()));
        assert_eq!(status_field(me, "NoSuchKey"), None);
        assert_eq!(status_field(-1, "Pid"), None, "no such process");
    }

    #[test]
    fn a_step_process_is_found_by_its_run_and_step_and_no_other() {
        let run = format!("01procstest{}", std::process::id());
        let Ok(mut child) = std::process::Command::new("sleep")
            .arg("30")
            .env("BATON_RUN_ID", &run)
            .env("BATON_STEP_ID", "deploy")
            .spawn()
        else {
            return; // no `sleep` here: nothing to find
        };
        let pid = child.id() as i32;
        // The child's environment is readable once its exec is through.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut found = run_processes(&run);
        while found.is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
            found = run_processes(&run);
        }
        let other = run_processes(&format!("{run}x"));
        let in_its_group = group_runs_for(found.first().map_or(0, |p| p.pgrp), &run);
        let _ = child.kill();
        let _ = child.wait();
        if std::path::Path::new("/proc/self/environ").exists() {
            assert_eq!(found.len(), 1, "{found:?}");
            assert_eq!((found[0].pid, found[0].step.as_str()), (pid, "deploy"));
            assert!(!found[0].slurm_job);
            assert!(other.is_empty(), "{other:?}");
            assert!(in_its_group, "its group carries the run");
        }
        assert!(run_processes(&run).is_empty(), "a reaped process is gone");
    }
}

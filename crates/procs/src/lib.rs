//! What this host's `/proc` says of a run's processes: the one reading that resume
//! (`exec`: the leftovers it stops) and the store (`store::slots`: whether a dead
//! holder's work still runs, so its concurrency group or store-wide pool slot is not
//! handed over yet) both make. The parsing is pure and lives in the vocabulary
//! (`baton_model::procs`); this crate opens the files. Only this user's processes can
//! be read (the kernel hides others' environments); without `/proc` nothing is found.
use baton_model::procs::{carries_run, runs, stat_fields, status_field as field, step_env};

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

/// Every live process of this host (readable by this user) that a step of `run_id`
/// started, oldest pid first.
pub fn run_processes(run_id: &str) -> Vec<RunProcess> {
    let mut found: Vec<RunProcess> = pids()
        .filter_map(|pid| {
            let env = step_env(&environ(pid)?)?;
            if env.run != run_id.as_bytes() {
                return None;
            }
            let (state, _, pgrp) = read_stat(pid)?;
            runs(state).then_some(RunProcess {
                pid,
                pgrp,
                step: env.step,
                slurm_job: env.slurm_job,
            })
        })
        .collect();
    found.sort_by_key(|p| p.pid);
    found
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

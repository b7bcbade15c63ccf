//! What this host's `/proc` says of a run's processes: the one reading that resume
//! (`exec`: the leftovers it stops) and the store (`store::slots`: whether a dead
//! holder's work still runs, so its concurrency group or store-wide pool slot is not
//! handed over yet) both make. Every step's process carries `BATON_RUN_ID` and
//! `BATON_STEP_ID` in its environment, and whatever it starts inherits them, so this
//! finds a step's process group, a process that left it (`setsid`), and one whose group
//! id a dead engine never got to record. Only this user's processes can be read (the
//! kernel hides others' environments); without `/proc` nothing is found.

/// A live process that a step of a run started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunProcess {
    pub pid: i32,
    pub pgrp: i32,
    /// `BATON_STEP_ID`: the step (or instance) whose attempt started it.
    pub step: String,
    /// A Slurm job's process (`BATON_SLURM_JOB`), or a step's on an SSH host that is
    /// this machine (`BATON_SSH_ATTEMPT`): its executor's, not a local attempt's group.
    pub slurm_job: bool,
}

/// `(state, ppid, pgrp)` from `/proc/<pid>/stat` (the command name may hold spaces
/// and parentheses).
pub fn stat_fields(stat: &str) -> Option<(char, i32, i32)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid, fields.next()?.parse().ok()?))
}

/// `(state, ppid, pgrp)` of a process now.
pub fn read_stat(pid: i32) -> Option<(char, i32, i32)> {
    stat_fields(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Whether a process in this state can still run (a zombie waiting for its parent to
/// reap it holds nothing but its pid).
fn runs(state: char) -> bool {
    state != 'Z' && state != 'X'
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

/// What a process's environment says: `(run, step, slurm_job)`, for a process a step
/// started (`None` for any other, or one whose environment cannot be read).
fn step_of(pid: i32) -> Option<(Vec<u8>, String, bool)> {
    let env = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    let (mut run, mut step, mut job) = (None, None, false);
    for v in env.split(|b| *b == 0) {
        if let Some(r) = v.strip_prefix(b"BATON_RUN_ID=") {
            run = Some(r.to_vec());
        } else if let Some(s) = v.strip_prefix(b"BATON_STEP_ID=") {
            step = Some(String::from_utf8_lossy(s).into_owned());
        } else if v.starts_with(b"BATON_SLURM_JOB=") || v.starts_with(b"BATON_SSH_ATTEMPT=") {
            // A job's process, or a step's on an SSH host that is this machine (ssh
            // to localhost): its executor follows it (resume re-attaches to it), so it
            // is never a local leftover.
            job = true;
        }
    }
    Some((run?, step?, job))
}

/// Every live process of this host (readable by this user) that a step of `run_id`
/// started, oldest pid first.
pub fn run_processes(run_id: &str) -> Vec<RunProcess> {
    let mut found: Vec<RunProcess> = pids()
        .filter_map(|pid| {
            let (run, step, slurm_job) = step_of(pid)?;
            if run != run_id.as_bytes() {
                return None;
            }
            let (state, _, pgrp) = read_stat(pid)?;
            runs(state).then_some(RunProcess {
                pid,
                pgrp,
                step,
                slurm_job,
            })
        })
        .collect();
    found.sort_by_key(|p| p.pid);
    found
}

/// Whether a live member of group `pgid` carries `run_id` in its environment (a
/// recorded group id may have been reused once the step's group was gone).
pub fn group_runs_for(pgid: i32, run_id: &str) -> bool {
    let needle = format!("BATON_RUN_ID={run_id}");
    group_members(pgid).into_iter().any(|pid| {
        std::fs::read(format!("/proc/{pid}/environ"))
            .map(|env| env.split(|b| *b == 0).any(|kv| kv == needle.as_bytes()))
            .unwrap_or(false)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_with_odd_names_parse() {
        assert_eq!(
            stat_fields("123 (a) b (c)) S 1 456 456 0 -1"),
            Some(('S', 1, 456))
        );
        assert_eq!(stat_fields("garbage"), None);
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
        let _ = child.kill();
        let _ = child.wait();
        if std::path::Path::new("/proc/self/environ").exists() {
            assert_eq!(found.len(), 1, "{found:?}");
            assert_eq!((found[0].pid, found[0].step.as_str()), (pid, "deploy"));
            assert!(!found[0].slurm_job);
            assert!(other.is_empty(), "{other:?}");
        }
        assert!(run_processes(&run).is_empty(), "a reaped process is gone");
    }
}

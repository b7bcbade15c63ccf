//! What this host's `/proc` says of a run's processes, read (pure): the fields of a
//! process's `stat` line and what its environment says of the step that started it.
//! The reading itself (`/proc` walked, files opened) is `baton-procs`'s, the one
//! reading that resume (`exec`: the leftovers it stops) and the store (`store::slots`:
//! whether a dead holder's work still runs, so its concurrency group or store-wide pool
//! slot is not handed over yet) both make. Every step's process carries `BATON_RUN_ID`
//! and `BATON_STEP_ID` in its environment, and whatever it starts inherits them, so
//! this finds a step's process group, a process that left it (`setsid`), and one whose
//! group id a dead engine never got to record.

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

/// What a process's environment says of the step that started it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepEnv {
    /// `BATON_RUN_ID`, as its bytes.
    pub run: Vec<u8>,
    /// `BATON_STEP_ID`.
    pub step: String,
    /// Its executor follows it (`BATON_SLURM_JOB`, `BATON_SSH_ATTEMPT`).
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

/// Whether a process in this state can still run (a zombie waiting for its parent to
/// reap it holds nothing but its pid).
pub fn runs(state: char) -> bool {
    state != 'Z' && state != 'X'
}

/// What an environment (`/proc/<pid>/environ`: `NAME=value` entries, each ended by a
/// NUL) says of the step that started its process; `None` for a process no step
/// started.
pub fn step_env(environ: &[u8]) -> Option<StepEnv> {
    let (mut run, mut step, mut job) = (None, None, false);
    for v in environ.split(|b| *b == 0) {
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
    Some(StepEnv {
        run: run?,
        step: step?,
        slurm_job: job,
    })
}

/// Whether an environment carries `run_id` as its `BATON_RUN_ID` (a recorded group id
/// may have been reused once the step's group was gone).
pub fn carries_run(environ: &[u8], run_id: &str) -> bool {
    let needle = format!("BATON_RUN_ID={run_id}");
    environ.split(|b| *b == 0).any(|kv| kv == needle.as_bytes())
}

/// The value of `key` in a `/proc/PID/status` text (`TracerPid`, `CapEff`…),
/// trimmed; none when the text has no such line.
pub fn status_field<'a>(status: &'a str, key: &str) -> Option<&'a str> {
    status.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k == key).then(|| v.trim())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_field_is_found_by_its_whole_key() {
        let status = "Name:\tsleep\nTracerPid:\t4242\nCapEff:\t000001ffffffffff\n";
        assert_eq!(status_field(status, "TracerPid"), Some("4242"));
        assert_eq!(status_field(status, "CapEff"), Some("000001ffffffffff"));
        assert_eq!(status_field(status, "Tracer"), None, "a whole key only");
        assert_eq!(status_field(status, "CapInh"), None);
    }

    #[test]
    fn stat_lines_with_odd_names_parse() {
        assert_eq!(
            stat_fields("123 (a) b (c)) S 1 456 456 0 -1"),
            Some(('S', 1, 456))
        );
        assert_eq!(stat_fields("garbage"), None);
    }

    #[test]
    fn a_zombie_or_a_dead_process_does_not_run() {
        assert!(runs('S') && runs('R') && runs('T') && runs('D'));
        assert!(!runs('Z') && !runs('X'));
    }

    #[test]
    fn a_step_environment_names_its_run_and_step() {
        let env = b"PATH=/bin\0BATON_RUN_ID=01run\0BATON_STEP_ID=deploy\0HOME=/h\0";
        assert_eq!(
            step_env(env),
            Some(StepEnv {
                run: b"01run".to_vec(),
                step: "deploy".into(),
                slurm_job: false,
            })
        );
        for marker in ["BATON_SLURM_JOB=42", "BATON_SSH_ATTEMPT=3"] {
            let env = format!("BATON_STEP_ID=s\0{marker}\0BATON_RUN_ID=r\0");
            let found = step_env(env.as_bytes()).map(|s| s.slurm_job);
            assert_eq!(found, Some(true), "{marker}");
        }
    }

    #[test]
    fn an_environment_without_a_run_or_a_step_is_no_step_s() {
        assert_eq!(step_env(b"BATON_RUN_ID=r\0PATH=/bin\0"), None);
        assert_eq!(step_env(b"BATON_STEP_ID=s\0"), None);
        assert_eq!(step_env(b""), None);
    }

    #[test]
    fn only_the_exact_run_id_is_carried() {
        let env = b"A=1\0BATON_RUN_ID=01run\0B=2\0";
        assert!(carries_run(env, "01run"));
        assert!(!carries_run(env, "01ru"));
        assert!(!carries_run(env, "01runx"));
        assert!(!carries_run(b"XBATON_RUN_ID=01run\0", "01run"));
    }
}

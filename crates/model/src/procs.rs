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

/// Whether a `/proc/<pid>/stat` line is of a process in the middle of an exec: its new
/// memory is mapped but its environment not yet placed in it (`env_end`, field 51, is
/// 0 until the loader writes it), so its `environ` reads empty for a moment, as a
/// kernel thread's (flag `PF_KTHREAD`, field 9), which has no memory of its own and is
/// not one. A process whose environment is empty for good (`env -i`) has its `env_end`.
/// Read only for a process whose `environ` is readable: the kernel shows the memory
/// fields as 0 to whoever may not read them.
pub fn stat_mid_exec(stat: &str) -> bool {
    const PF_KTHREAD: u64 = 0x0020_0000;
    let Some(close) = stat.rfind(')') else {
        return false;
    };
    // Fields 3 (the state) onwards.
    let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok());
    match (field(9), field(51)) {
        (Some(flags), Some(env_end)) => flags & PF_KTHREAD == 0 && env_end == 0,
        // A kernel older than 3.5 shows no `env_end`: nothing is told.
        _ => false,
    }
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

    /// A stat line with `flags` at field 9 and `env_end` at field 51.
    fn stat_line(flags: u64, env_end: u64) -> String {
        let mut fields = vec!["0".to_string(); 52];
        fields[0] = "42".into();
        fields[1] = "(sl eep)".into();
        fields[2] = "R".into();
        fields[8] = flags.to_string();
        fields[50] = env_end.to_string();
        fields.join(" ")
    }

    #[test]
    fn only_a_process_without_its_environment_yet_is_mid_exec() {
        assert!(stat_mid_exec(&stat_line(0x0040_0000, 0)));
        assert!(
            !stat_mid_exec(&stat_line(0x0040_0000, 0x7ffd_0000)),
            "env_end placed"
        );
        assert!(
            !stat_mid_exec(&stat_line(0x0020_8040, 0)),
            "a kernel thread"
        );
        assert!(
            !stat_mid_exec("42 (old) R 1 42 42 0 -1 4194560"),
            "no env_end shown"
        );
        assert!(!stat_mid_exec("garbage"));
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

//! Pure: Slurm's job states and `squeue` lines, and what they mean to baton.
use baton_model::StepOutcome;

/// The `squeue --format` this module parses: id, state, reason, submit, start, comment.
pub(crate) const SQUEUE_FORMAT: &str = "%i|%T|%r|%V|%S|%k";

/// One job as `squeue` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobStatus {
    pub job_id: String,
    /// `PENDING`, `RUNNING`, `COMPLETED`, … (Slurm's long names).
    pub state: String,
    /// Why it waits or ended (`Resources`, `Priority`, `None`, …).
    pub reason: String,
    /// `2024-05-01T12:00:00`, or `N/A`.
    pub submitted: String,
    pub started: String,
    /// baton's `--comment`: `<step>.<attempt>`.
    pub comment: String,
}

impl JobStatus {
    /// Why the job waits or ended, if Slurm gives a reason (`None` is none).
    pub fn reason(&self) -> Option<&str> {
        match self.reason.as_str() {
            "" | "None" | "(null)" => None,
            r => Some(r),
        }
    }

    /// `RUNNING`, or `PENDING (Resources)` when Slurm gives a reason.
    pub fn describe(&self) -> String {
        baton_model::view::describe_job(&self.state, self.reason())
    }
}

/// Parse `squeue -h -o SQUEUE_FORMAT` output; lines that do not parse are skipped.
pub(crate) fn parse_squeue(text: &str) -> Vec<JobStatus> {
    text.lines()
        .filter_map(|line| {
            let mut f = line.trim().splitn(6, '|');
            let job_id = f.next()?.trim();
            if job_id.is_empty() || !job_id.bytes().all(|b| b.is_ascii_digit() || b == b'_') {
                return None;
            }
            Some(JobStatus {
                job_id: job_id.to_string(),
                state: f.next()?.trim().to_string(),
                reason: f.next().unwrap_or("").trim().to_string(),
                submitted: f.next().unwrap_or("").trim().to_string(),
                started: f.next().unwrap_or("").trim().to_string(),
                comment: f.next().unwrap_or("").trim().to_string(),
            })
        })
        .collect()
}

/// `<step>.<attempt>` from baton's job comment.
pub(crate) fn parse_comment(comment: &str) -> Option<(&str, u32)> {
    let (step, attempt) = comment.rsplit_once('.')?;
    Some((step, attempt.parse().ok()?))
}

/// What a state says about the job's life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Waiting to run (PENDING, CONFIGURING, REQUEUED, SUSPENDED, …).
    Queued,
    Running,
    /// The job ended; `outcome` is what baton records unless the exit-code file says
    /// more (for `Completed`/`Failed`: the script's own exit code).
    Ended(End),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum End {
    /// COMPLETED: the script's exit code (0 unless the file says otherwise).
    Completed,
    /// FAILED: the script's exit code (the file), non-zero.
    Failed,
    /// TIMEOUT (Slurm's `--time` passed).
    Timeout,
    /// CANCELLED (by baton or by someone with `scancel`).
    Cancelled,
    /// OUT_OF_MEMORY: killed by the kernel's OOM handling, as SIGKILL.
    OutOfMemory,
    /// NODE_FAIL, PREEMPTED, BOOT_FAIL, DEADLINE, REVOKED, …: the infrastructure, not
    /// the step; retryable by the step's policy.
    Infrastructure(String),
}

/// Slurm's job state (long or short name; a trailing `+` or ` by UID` is ignored).
pub(crate) fn phase(state: &str) -> Phase {
    let s = state
        .split_whitespace()
        .next()
        .unwrap_or("")
        .trim_end_matches('+');
    match s {
        "PENDING" | "PD" | "CONFIGURING" | "CF" | "REQUEUED" | "RQ" | "REQUEUE_HOLD" | "RH"
        | "REQUEUE_FED" | "RF" | "RESV_DEL_HOLD" | "RD" | "SUSPENDED" | "S" | "STOPPED" | "ST"
        | "RESIZING" | "RS" => Phase::Queued,
        "RUNNING" | "R" | "COMPLETING" | "CG" | "SIGNALING" | "SI" | "STAGE_OUT" | "SO" => {
            Phase::Running
        }
        "COMPLETED" | "CD" => Phase::Ended(End::Completed),
        "FAILED" | "F" => Phase::Ended(End::Failed),
        "TIMEOUT" | "TO" => Phase::Ended(End::Timeout),
        "CANCELLED" | "CA" => Phase::Ended(End::Cancelled),
        "OUT_OF_MEMORY" | "OOM" => Phase::Ended(End::OutOfMemory),
        // NODE_FAIL, PREEMPTED, BOOT_FAIL, DEADLINE, REVOKED, SPECIAL_EXIT, and any
        // state a newer Slurm adds: the job is over and the step is not to blame.
        other => Phase::Ended(End::Infrastructure(other.to_string())),
    }
}

/// The outcome baton records for an ended job. `exit_code` is the script's, from its
/// exit-code file (absent when the script never got to write it); `killed` is baton's
/// own kill request, which decides as for a local step.
pub(crate) fn outcome(
    end: &End,
    exit_code: Option<i32>,
    killed: Option<StepOutcome>,
) -> StepOutcome {
    if let Some(k) = killed {
        return k;
    }
    match end {
        End::Completed => StepOutcome::Exited {
            exit_code: exit_code.unwrap_or(0),
        },
        End::Failed => StepOutcome::Exited {
            exit_code: exit_code.filter(|c| *c != 0).unwrap_or(1),
        },
        End::Timeout => StepOutcome::TimedOut,
        End::Cancelled => StepOutcome::Signalled { signal: 15 },
        End::OutOfMemory => StepOutcome::Signalled { signal: 9 },
        End::Infrastructure(state) => StepOutcome::Lost {
            reason: format!("the Slurm job ended {state}"),
        },
    }
}

/// A job no longer in `squeue` (gone after MinJobAge) with no exit-code file: what
/// `sacct -n -P -o State,ExitCode` says, if accounting answers.
pub(crate) fn parse_sacct(text: &str) -> Option<(End, Option<i32>)> {
    let line = text.lines().find(|l| !l.trim().is_empty())?;
    let (state, code) = line.trim().split_once('|')?;
    let code = code.split(':').next().and_then(|c| c.parse().ok());
    match phase(state) {
        Phase::Ended(end) => Some((end, code)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn squeue_lines_parse() {
        let out = "123|PENDING|Resources|2024-05-01T12:00:00|N/A|build.1\n\
                   garbage\n\
                   124|RUNNING|None|2024-05-01T12:00:00|2024-05-01T12:00:03|test.2\n";
        let jobs = parse_squeue(out);
        assert_eq!(jobs.len(), 2);
        assert_eq!(jobs[0].job_id, "123");
        assert_eq!(jobs[0].describe(), "PENDING (Resources)");
        assert_eq!(jobs[1].describe(), "RUNNING");
        assert_eq!(jobs[1].started, "2024-05-01T12:00:03");
        assert_eq!(parse_comment(&jobs[1].comment), Some(("test", 2)));
        assert_eq!(parse_comment("a.b.3"), Some(("a.b", 3)));
        assert_eq!(parse_comment("nodot"), None);
    }

    #[test]
    fn every_state_has_a_phase() {
        for s in ["PENDING", "PD", "REQUEUED", "SUSPENDED", "CONFIGURING"] {
            assert_eq!(phase(s), Phase::Queued, "{s}");
        }
        for s in ["RUNNING", "COMPLETING", "R"] {
            assert_eq!(phase(s), Phase::Running, "{s}");
        }
        assert_eq!(phase("COMPLETED"), Phase::Ended(End::Completed));
        assert_eq!(phase("FAILED"), Phase::Ended(End::Failed));
        assert_eq!(phase("TIMEOUT"), Phase::Ended(End::Timeout));
        assert_eq!(phase("CANCELLED by 0"), Phase::Ended(End::Cancelled));
        assert_eq!(phase("CANCELLED+"), Phase::Ended(End::Cancelled));
        assert_eq!(phase("OUT_OF_MEMORY"), Phase::Ended(End::OutOfMemory));
        for s in ["NODE_FAIL", "PREEMPTED", "BOOT_FAIL", "DEADLINE"] {
            assert_eq!(phase(s), Phase::Ended(End::Infrastructure(s.into())));
        }
    }

    #[test]
    fn outcomes_follow_the_state_then_the_exit_code() {
        assert_eq!(
            outcome(&End::Completed, Some(0), None),
            StepOutcome::Exited { exit_code: 0 }
        );
        assert_eq!(
            outcome(&End::Failed, Some(3), None),
            StepOutcome::Exited { exit_code: 3 }
        );
        assert_eq!(
            outcome(&End::Failed, None, None),
            StepOutcome::Exited { exit_code: 1 }
        );
        // A timed-out job's exit code is 0:0; only the state says TIMEOUT.
        assert_eq!(outcome(&End::Timeout, Some(0), None), StepOutcome::TimedOut);
        assert_eq!(
            outcome(&End::OutOfMemory, None, None),
            StepOutcome::Signalled { signal: 9 }
        );
        assert!(matches!(
            outcome(&End::Infrastructure("NODE_FAIL".into()), None, None),
            StepOutcome::Lost { .. }
        ));
        // baton's own kill decides, as for a local step.
        assert_eq!(
            outcome(&End::Cancelled, None, Some(StepOutcome::TimedOut)),
            StepOutcome::TimedOut
        );
    }

    #[test]
    fn sacct_lines_parse() {
        assert_eq!(parse_sacct("FAILED|2:0\n"), Some((End::Failed, Some(2))));
        assert_eq!(parse_sacct("RUNNING|0:0\n"), None);
        assert_eq!(parse_sacct(""), None);
    }
}

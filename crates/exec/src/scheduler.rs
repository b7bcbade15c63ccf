//! Pure: what the Slurm and batch executors make of a scheduler's answers about a job
//! (its state, its exit-code file, accounting, how long `status` has said it is gone),
//! the very functions their waits call. Public for the simulator (`crates/sim`), which
//! plays the schedulers and must read their answers as the executors do.
use crate::slurm::state::{self, End, Phase};
use baton_model::StepOutcome;
use std::time::Duration;

/// [`batch_gone_for`] before baton asked a stop.
const GONE_FOR: Duration = Duration::from_secs(10);

/// A Slurm job `squeue` lists in `state`: `None` while it is still the scheduler's
/// (queued, requeued, held, suspended, running), else the outcome baton records, from
/// its exit-code file (`exit_code`) and baton's own stop (`killed`), which decides.
pub fn slurm_listed(
    state: &str,
    exit_code: Option<i32>,
    killed: Option<StepOutcome>,
) -> Option<StepOutcome> {
    match state::phase(state) {
        Phase::Ended(end) => Some(state::outcome(&end, exit_code, killed)),
        Phase::Queued | Phase::Running => None,
    }
}

/// A Slurm job `squeue` no longer lists: its exit-code file's code, else what
/// accounting says (`sacct`: its `State|ExitCode` output, `None` when it does not
/// answer), else baton's own stop, else lost.
pub fn slurm_gone(
    job_id: &str,
    exit_code: Option<i32>,
    sacct: Option<&str>,
    killed: Option<StepOutcome>,
) -> StepOutcome {
    gone(
        job_id,
        exit_code,
        sacct.and_then(state::parse_sacct),
        killed,
    )
}

/// [`slurm_gone`] with accounting's answer parsed.
pub(crate) fn gone(
    job_id: &str,
    exit_code: Option<i32>,
    accounted: Option<(End, Option<i32>)>,
    killed: Option<StepOutcome>,
) -> StepOutcome {
    match (exit_code, accounted) {
        (Some(code), _) => state::outcome(&End::Completed, Some(code), killed),
        (None, Some((end, code))) => state::outcome(&end, code, killed),
        (None, None) => killed.unwrap_or(StepOutcome::Lost {
            reason: format!("Slurm job {job_id} vanished without an exit code (no accounting)"),
        }),
    }
}

/// How long a batch scheduler's `status` must keep saying the job is gone, without an
/// exit code, before the attempt is lost (a scheduler that restarts or does not answer
/// for a moment says so too); once baton has cancelled the job (`asked`), the first
/// such answer is enough.
pub fn batch_gone_for(asked: bool) -> Duration {
    match asked {
        true => Duration::ZERO,
        false => GONE_FOR,
    }
}

/// The first lines that mean the job left the scheduler: Snakemake's cluster-generic
/// `success` and `failed`, and `completed`, `done` (any case). Its `running` (like
/// `pending`, a state word, anything else) means the scheduler still has the job.
const LEFT_WORDS: [&str; 4] = ["success", "failed", "completed", "done"];

/// Whether a batch `status` whose first line is `line` (exit 0) says the job left the
/// scheduler; any other word (a state: `r`, `qw`, `Rq`, `hqw`, `running`) says the
/// scheduler still has it.
pub fn batch_left(line: &str) -> bool {
    LEFT_WORDS.iter().any(|w| line.eq_ignore_ascii_case(w))
}

/// A batch job's end: baton's own stop decides, else its exit-code file, else it left
/// the scheduler without one (lost).
pub fn batch_end(job_id: &str, exit_code: Option<i32>, killed: Option<StepOutcome>) -> StepOutcome {
    match (killed, exit_code) {
        (Some(k), _) => k,
        (None, Some(c)) => StepOutcome::Exited { exit_code: c },
        (None, None) => StepOutcome::Lost {
            reason: format!(
                "job {job_id} left the scheduler without an exit code (`status` no longer lists it, or says it ended): cancelled outside baton, killed at a limit, or its node was lost"
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_requeued_or_held_slurm_job_is_still_the_schedulers() {
        for s in [
            "REQUEUED",
            "REQUEUE_HOLD",
            "PENDING",
            "SUSPENDED",
            "RUNNING",
        ] {
            assert_eq!(slurm_listed(s, None, None), None, "{s}");
        }
        assert!(matches!(
            slurm_listed("NODE_FAIL", None, None),
            Some(StepOutcome::Lost { .. })
        ));
        assert_eq!(
            slurm_listed("PREEMPTED", None, Some(StepOutcome::Killed)),
            Some(StepOutcome::Killed)
        );
    }

    #[test]
    fn a_job_gone_without_an_exit_code_is_lost_unless_baton_stopped_it() {
        assert!(matches!(
            slurm_gone("7", None, None, None),
            StepOutcome::Lost { .. }
        ));
        assert!(matches!(
            slurm_gone("7", None, Some("NODE_FAIL|0:0\n"), None),
            StepOutcome::Lost { .. }
        ));
        assert_eq!(
            slurm_gone("7", Some(0), None, None),
            StepOutcome::Exited { exit_code: 0 }
        );
        assert!(matches!(
            batch_end("7", None, None),
            StepOutcome::Lost { .. }
        ));
        assert_eq!(
            batch_end("7", None, Some(StepOutcome::Killed)),
            StepOutcome::Killed
        );
        assert_eq!(batch_gone_for(true), Duration::ZERO);
        assert!(batch_left("Success") && !batch_left("Rq") && !batch_left("hqw"));
        assert_eq!(batch_gone_for(false), Duration::from_secs(10));
    }
}

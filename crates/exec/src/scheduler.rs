//! Pure: what the Slurm and batch executors make of a scheduler's answers about a job
//! (its state, its exit-code file, accounting, how long `status` has said it is gone),
//! the very functions their waits call. Public for the simulator (`crates/sim`), which
//! plays the schedulers and must read their answers as the executors do.
use crate::slurm::state::{self, End, Phase};
use baton_model::{StepOutcome, Timestamp};
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

/// How long a batch scheduler's `status` must keep saying the job is gone (exit 0 with
/// nothing printed, or a word of [`batch_left`]), without an exit code, before the
/// attempt is lost (a scheduler that restarts may list nothing for a moment); once
/// baton has cancelled the job (`asked`), the first such answer is enough. A `status`
/// that fails is no answer ([`BatchSaid::NoAnswer`]) and never counts here.
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

/// What one batch `status` said of the job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchSaid {
    /// Exit 0 with a first line that is a state: the scheduler still has the job.
    Listed(String),
    /// Exit 0 with nothing printed: the scheduler no longer has it.
    Gone,
    /// Exit 0 with a first line that says the job ended (`success`, `failed`, …: a
    /// cluster-generic status script's words): gone, and the word is shown.
    Left(String),
    /// It failed (a non-zero exit), did not answer in time or could not be run: the
    /// scheduler said nothing of the job (its master restarting, `qstat` failing).
    NoAnswer,
}

/// What a `status` that exited (`ok`: with 0) and printed `stdout` said: its first line
/// that is not blank (plain, at most 80 characters) when it exited 0, else no answer.
pub fn batch_said(ok: bool, stdout: &str) -> BatchSaid {
    if !ok {
        return BatchSaid::NoAnswer;
    }
    match stdout.lines().map(str::trim).find(|l| !l.is_empty()) {
        Some(line) => {
            let line: String = baton_model::sanitize::strip_to_plain(line.as_bytes())
                .chars()
                .take(80)
                .collect();
            match batch_left(&line) {
                true => BatchSaid::Left(line),
                false => BatchSaid::Listed(line),
            }
        }
        None => BatchSaid::Gone,
    }
}

/// The state shown while `status` has not answered since `since` (its last word for
/// the job, if any, else `unknown`): (state, reason).
pub fn batch_unanswered(last: Option<&str>, since: Timestamp) -> (String, String) {
    (
        last.unwrap_or("unknown").to_string(),
        format!("`status` not answering since {}", since.slot_text()),
    )
}

/// A batch attempt's wait, answer by answer: how long `status` has said the job is
/// gone, since when it has not answered, and its last word. Pure; the executor and the
/// simulator fold the same answers through it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchFollow {
    /// When `status` first said gone, of the answers since it last listed the job.
    gone_since: Option<Duration>,
    /// When it stopped answering (wall clock), if it does not answer now.
    unanswered_since: Option<Timestamp>,
    /// Its last state word for the job.
    last: Option<String>,
}

/// What one answer changes of a [`BatchFollow`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heard {
    /// The job left the scheduler for long enough: take a last look at its exit-code
    /// file and end the attempt ([`batch_end`]).
    pub end: bool,
    /// The state to show now: (state, reason).
    pub shown: Option<(String, Option<String>)>,
}

impl BatchFollow {
    /// Fold `said`, heard at `at` (a monotonic clock) and `wall`; `asked`: the scheduler
    /// took baton's stop (its `cancel` exited 0). A failing `status` only says since
    /// when it has not answered: it never ends the attempt, however long it lasts, and
    /// leaves the count of "gone" as it was, unless the scheduler took baton's stop
    /// (then it is the job gone: a job cancelled with `qdel` fails `qstat -j`).
    pub fn heard(
        &mut self,
        said: BatchSaid,
        (at, wall): (Duration, Timestamp),
        asked: bool,
    ) -> Heard {
        let mut failing = false;
        let (gone, shown) = match said {
            BatchSaid::Listed(line) => {
                self.gone_since = None;
                self.unanswered_since = None;
                self.last = Some(line.clone());
                (false, Some((line, None)))
            }
            BatchSaid::Gone => {
                self.unanswered_since = None;
                (true, None)
            }
            BatchSaid::Left(word) => {
                self.unanswered_since = None;
                self.last = Some(word.clone());
                (true, Some((word, None)))
            }
            // The scheduler took baton's `cancel`: a `status` that fails now says the
            // job is gone (`qstat -j` of a deleted job fails), as an empty answer does.
            BatchSaid::NoAnswer if asked => {
                self.unanswered_since = None;
                failing = true;
                (true, None)
            }
            BatchSaid::NoAnswer => {
                let since = *self.unanswered_since.get_or_insert(wall);
                let (state, reason) = batch_unanswered(self.last.as_deref(), since);
                (false, Some((state, Some(reason))))
            }
        };
        let end = gone && {
            let since = *self.gone_since.get_or_insert(at);
            // Failures after a taken `cancel` count for the whole window: the job may
            // still be ending while its scheduler restarts.
            at.saturating_sub(since) >= batch_gone_for(asked && !failing)
        };
        Heard { end, shown }
    }

    /// `status` said the job is gone and has not listed it since: ask it often.
    pub fn gone(&self) -> bool {
        self.gone_since.is_some()
    }

    /// Since when `status` has not answered, if it does not now.
    pub fn unanswered_since(&self) -> Option<Timestamp> {
        self.unanswered_since
    }
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

    #[test]
    fn a_status_says_listed_left_gone_or_nothing() {
        for listed in [
            "running",
            "pending",
            "RUNNING",
            "r",
            "qw",
            "PENDING (Priority)",
        ] {
            assert_eq!(batch_said(true, listed), BatchSaid::Listed(listed.into()));
        }
        for left in [
            "success",
            "failed",
            "completed",
            "done",
            "COMPLETED",
            " Failed \n",
        ] {
            assert_eq!(batch_said(true, left), BatchSaid::Left(left.trim().into()));
        }
        // The first line that is not blank decides; a word is a whole line.
        assert_eq!(
            batch_said(true, "\n\nfailed\nrunning\n"),
            BatchSaid::Left("failed".into())
        );
        assert_eq!(
            batch_said(true, "failed_over_node"),
            BatchSaid::Listed("failed_over_node".into())
        );
        // Exit 0 with nothing printed: gone. A failure is no answer, whatever it printed.
        assert_eq!(batch_said(true, "  \n"), BatchSaid::Gone);
        assert_eq!(batch_said(false, ""), BatchSaid::NoAnswer);
        assert_eq!(batch_said(false, "running"), BatchSaid::NoAnswer);
        assert_eq!(batch_said(false, "failed"), BatchSaid::NoAnswer);
    }

    fn at(s: u64) -> (Duration, Timestamp) {
        (
            Duration::from_secs(s),
            Timestamp(1_800_000_000_000 + s as i64 * 1_000),
        )
    }

    #[test]
    fn a_status_that_fails_never_ends_the_wait_and_says_since_when() {
        let mut f = BatchFollow::default();
        let h = f.heard(BatchSaid::Listed("r".into()), at(0), false);
        assert_eq!(
            h,
            Heard {
                end: false,
                shown: Some(("r".into(), None))
            }
        );
        // An hour of failures: no end; the state shown keeps its word and says since when.
        let first = f.heard(BatchSaid::NoAnswer, at(5), false);
        let since = "`status` not answering since 2027-01-15T08:00:05Z".to_string();
        assert_eq!(
            first,
            Heard {
                end: false,
                shown: Some(("r".into(), Some(since.clone())))
            }
        );
        for s in [10, 16, 60, 3_600] {
            let h = f.heard(BatchSaid::NoAnswer, at(s), false);
            assert_eq!(h.shown, first.shown, "the same state: shown once");
            assert!(!h.end, "{s}");
        }
        assert!(!f.gone());
        assert_eq!(f.unanswered_since(), Some(at(5).1));
        // It answers again: the job is listed; the failures counted for nothing.
        let h = f.heard(BatchSaid::Listed("r".into()), at(3_601), false);
        assert_eq!(h.shown, Some(("r".into(), None)));
        assert_eq!(f.unanswered_since(), None);
        // Once the scheduler took baton's `cancel` (it exited 0), a failing status is
        // the job gone (`qstat -j` of a deleted job), for as long as an empty answer
        // before a stop: 10 s.
        assert!(!f.heard(BatchSaid::NoAnswer, at(3_602), true).end);
        assert!(!f.heard(BatchSaid::NoAnswer, at(3_611), true).end);
        assert!(f.heard(BatchSaid::NoAnswer, at(3_612), true).end);
        // Before any word: `unknown`.
        let mut g = BatchFollow::default();
        let h = g.heard(BatchSaid::NoAnswer, at(1), false);
        assert_eq!(h.shown.map(|s| s.0), Some("unknown".into()));
    }

    #[test]
    fn gone_for_ten_seconds_ends_the_wait_once_asked_at_once() {
        let mut f = BatchFollow::default();
        assert!(!f.heard(BatchSaid::Gone, at(0), false).end);
        // A failure between two "gone" answers neither resets nor ends the count.
        assert!(!f.heard(BatchSaid::NoAnswer, at(5), false).end);
        assert!(!f.heard(BatchSaid::Gone, at(9), false).end);
        assert!(f.gone());
        let h = f.heard(BatchSaid::Left("failed".into()), at(10), false);
        assert_eq!(
            h,
            Heard {
                end: true,
                shown: Some(("failed".into(), None))
            }
        );
        // Listed again: the count starts over.
        let mut g = BatchFollow::default();
        g.heard(BatchSaid::Gone, at(0), false);
        g.heard(BatchSaid::Listed("Rq".into()), at(5), false);
        assert!(!g.gone());
        assert!(!g.heard(BatchSaid::Gone, at(12), false).end);
        // Once baton asked a stop, the first "gone" ends it.
        let mut h = BatchFollow::default();
        assert!(h.heard(BatchSaid::Gone, at(0), true).end);
    }
}

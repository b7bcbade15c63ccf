//! The state table against the sets the code relied on before it was one table: each
//! question names, in words, the states it holds for, and no other.
use super::StepState::{self, *};

fn holds(f: fn(StepState) -> bool) -> Vec<StepState> {
    StepState::ALL.iter().copied().filter(|&s| f(s)).collect()
}

/// A question, and the states it holds for.
type Case = (&'static str, fn(StepState) -> bool, &'static [StepState]);

const CASES: &[Case] = &[
    (
        "is_final",
        StepState::is_final,
        &[
            Succeeded,
            Failed,
            Skipped,
            UpstreamFailed,
            Rejected,
            Cancelled,
            Compensated,
            CompensationFailed,
        ],
    ),
    (
        "is_success",
        StepState::is_success,
        &[Succeeded, Compensating, Compensated, CompensationFailed],
    ),
    ("has_process", StepState::has_process, &[Running, Ready]),
    (
        "satisfies_needs",
        StepState::satisfies_needs,
        &[
            Ready,
            Succeeded,
            Compensating,
            Compensated,
            CompensationFailed,
        ],
    ),
    ("is_failure", StepState::is_failure, &[Failed, Rejected]),
    (
        "counts_as_failed",
        StepState::counts_as_failed,
        &[Failed, UpstreamFailed, Rejected, Cancelled],
    ),
    (
        "is_not_run",
        StepState::is_not_run,
        &[Skipped, UpstreamFailed],
    ),
    (
        "is_unstarted",
        StepState::is_unstarted,
        &[Pending, WaitingApproval, Queued, RetryWait],
    ),
    (
        "precedes_attempt",
        StepState::precedes_attempt,
        &[Pending, WaitingApproval, Queued],
    ),
    (
        "on_the_way",
        StepState::on_the_way,
        &[Queued, Running, Succeeded],
    ),
    (
        "waits_on_someone",
        StepState::waits_on_someone,
        &[
            WaitingApproval,
            Running,
            Interrupted,
            CompensationFailed,
            Held,
        ],
    ),
    (
        "is_retryable",
        StepState::is_retryable,
        &[Failed, Rejected, Cancelled, Interrupted],
    ),
    (
        "is_busy",
        StepState::is_busy,
        &[Running, Ready, Compensating, Compensated],
    ),
    (
        "is_mark_target",
        StepState::is_mark_target,
        &[Succeeded, Failed],
    ),
    (
        "is_stopped",
        StepState::is_stopped,
        &[Skipped, UpstreamFailed, Cancelled],
    ),
    (
        "is_active",
        StepState::is_active,
        &[
            WaitingApproval,
            Queued,
            Running,
            Ready,
            RetryWait,
            Compensating,
            Held,
        ],
    ),
    (
        "awaits_mark",
        StepState::awaits_mark,
        &[Interrupted, CompensationFailed],
    ),
    (
        "is_under_way",
        StepState::is_under_way,
        &[WaitingApproval, Queued, Running],
    ),
    (
        "ended_badly",
        StepState::ended_badly,
        &[Failed, Rejected, Interrupted, CompensationFailed],
    ),
];

#[test]
fn each_question_holds_for_its_states_only() {
    for (name, f, want) in CASES {
        assert_eq!(holds(*f), *want, "{name}");
    }
}

#[test]
fn every_state_has_its_own_glyph() {
    let mut glyphs: Vec<&str> = StepState::ALL.iter().map(|s| s.glyph()).collect();
    glyphs.sort_unstable();
    glyphs.dedup();
    assert_eq!(glyphs.len(), StepState::ALL.len());
}

//! How a run reads in every view (`show`, the header, `runs`, the Runs tab and its
//! strip): its state, except that a run that failed only because a gate was rejected
//! reads `rejected`. A person's no is not a broken step: the operator looking for
//! what to fix skips it, and the one looking for who stopped a release finds it.
use crate::state::{RunState, StepState};

/// The word a rejected run reads, where a failed one reads `failed`.
pub const REJECTED: &str = "rejected";

/// The run failed, a step of it was rejected (a gate said no, or its timeout did),
/// and no step failed otherwise (failed, or its compensation failed): it reads
/// rejected. Steps that never started because of the rejection, or were cancelled,
/// change nothing.
pub fn reads_rejected(state: RunState, steps: impl IntoIterator<Item = StepState>) -> bool {
    if state != RunState::Failed {
        return false;
    }
    let (mut rejected, mut failed) = (false, false);
    for s in steps {
        rejected |= s == StepState::Rejected;
        failed |= failed_otherwise(s);
    }
    rejected && !failed
}

/// The step failed on its own (or its compensation did), not by a person's no: every
/// state named, so a new one is decided here (docs/architecture.md, "States and exit
/// codes").
fn failed_otherwise(s: StepState) -> bool {
    use StepState as S;
    match s {
        S::Failed | S::CompensationFailed => true,
        S::Pending
        | S::WaitingApproval
        | S::Queued
        | S::Running
        | S::Ready
        | S::RetryWait
        | S::Succeeded
        | S::Skipped
        | S::UpstreamFailed
        | S::Rejected
        | S::Cancelled
        | S::Interrupted
        | S::Compensating
        | S::Compensated
        | S::Held => false,
    }
}

/// `rejected`, or the state's own word.
pub fn word(state: RunState, rejected: bool) -> &'static str {
    if rejected && state == RunState::Failed {
        REJECTED
    } else {
        state.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use StepState::*;

    #[test]
    fn a_failed_run_reads_rejected_only_when_no_step_failed_otherwise() {
        let f = RunState::Failed;
        assert!(reads_rejected(f, [Succeeded, Rejected, UpstreamFailed]));
        assert!(reads_rejected(f, [Rejected, Cancelled]));
        assert!(!reads_rejected(f, [Rejected, Failed]));
        assert!(!reads_rejected(f, [Rejected, CompensationFailed]));
        assert!(!reads_rejected(f, [Failed, UpstreamFailed]));
        // Only a failed run: a reopened or cancelled one reads its state.
        assert!(!reads_rejected(RunState::Running, [Rejected]));
        assert!(!reads_rejected(RunState::Cancelled, [Rejected]));
        assert_eq!(word(f, true), "rejected");
        assert_eq!(word(f, false), "failed");
        assert_eq!(word(RunState::Succeeded, true), "succeeded");
    }
}

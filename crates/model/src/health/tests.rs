use super::*;
use crate::{ErrorKind, Timestamp};
use proptest::prelude::*;

fn s(state: StepState, attempts: u32) -> StepScore {
    StepScore {
        state,
        attempts,
        timed_out: false,
        dealt_with: false,
        marked: false,
    }
}

fn err(kind: ErrorKind) -> ErrorRecord {
    ErrorRecord::builder(kind, "x").build(Timestamp(0))
}

#[test]
fn quality_weights_retries_half_and_ignores_skips() {
    let h = compute(
        [
            s(StepState::Succeeded, 1),
            s(StepState::Succeeded, 2),
            s(StepState::Failed, 3),
            s(StepState::Skipped, 0),
        ],
        &[],
    );
    assert_eq!(h.quality, Some(0.5));
    // 100 − 25 × ½ (the retry) − 25 × 1 (the failure).
    assert_eq!(h.score, 62.5);
    assert_eq!(h.label, HealthLabel::Degraded);
}

#[test]
fn one_failed_step_of_four_is_degraded_not_zero() {
    // Three succeeded, one failed with its open exit error: 100 − 25 − 10.
    let h = compute(
        [
            s(StepState::Succeeded, 1),
            s(StepState::Succeeded, 1),
            s(StepState::Succeeded, 1),
            s(StepState::Failed, 1),
        ],
        &[err(ErrorKind::ExitNonzero)],
    );
    assert_eq!(h.score, 65.0);
    assert_eq!(h.label, HealthLabel::Degraded);
    assert_eq!(h.quality, Some(0.75));
    // The first of a chain of four failed: the three that never started cost half a
    // step each (they are the failure's consequence, charged to it once): 100 − 25 −
    // 37.5 − 10.
    let h = compute(
        [
            s(StepState::Failed, 1),
            s(StepState::UpstreamFailed, 0),
            s(StepState::UpstreamFailed, 0),
            s(StepState::UpstreamFailed, 0),
        ],
        &[err(ErrorKind::ExitNonzero)],
    );
    assert_eq!(h.score, 27.5);
    assert_eq!(h.label, HealthLabel::Critical);
    assert_eq!(h.quality, Some(0.0));
}

#[test]
fn a_timed_out_gate_costs_its_step_and_a_medium_error() {
    let gate = StepScore {
        timed_out: true,
        ..s(StepState::Rejected, 0)
    };
    let h = compute(
        [s(StepState::Succeeded, 1), gate, s(StepState::Pending, 0)],
        &[err(ErrorKind::GateTimeout)],
    );
    // 100 − 33.3 − 3.
    assert!((h.score - 63.67).abs() < 0.01, "{}", h.score);
    assert_eq!(h.label, HealthLabel::Degraded);
}

#[test]
fn a_failure_dealt_with_costs_half_a_failure() {
    let handled = StepScore {
        dealt_with: true,
        ..s(StepState::Failed, 1)
    };
    assert_eq!(tally(handled), Some(Tally::DealtWith));
    let h = compute(
        [
            handled,
            s(StepState::Succeeded, 1),
            s(StepState::Succeeded, 1),
            s(StepState::Succeeded, 1),
        ],
        &[],
    );
    // 100 − 25 × ½ = 87.5, held below healthy: a run with a failed step never reads
    // healthy, handled or not; the failure counts as failed, said to be handled.
    assert_eq!(h.score, FAILED_AT_MOST);
    assert_eq!(h.label, HealthLabel::Degraded);
    assert_eq!(h.quality, Some(0.875));
    assert_eq!(h.failed_share, Some(0.25));
    assert_eq!(h.handled, 1);
}

#[test]
fn a_run_with_a_failed_step_is_never_healthy_and_the_terms_say_why() {
    // One handled failure of twenty with its open exit error: 100 − 2.5 − 10 = 87.5,
    // capped at 79 by a term of its own.
    let handled = StepScore {
        dealt_with: true,
        ..s(StepState::Failed, 1)
    };
    let mut steps = vec![handled];
    steps.extend(std::iter::repeat_n(s(StepState::Succeeded, 1), 19));
    let h = compute(steps.clone(), &[err(ErrorKind::ExitNonzero)]);
    assert_eq!(h.score, FAILED_AT_MOST);
    assert_eq!(h.label, HealthLabel::Degraded);
    let cap = h.terms.iter().find(|t| t.label == CAP_LABEL).unwrap();
    assert_eq!((cap.count, cap.value), (1, -8.5));
    let sum: f64 = h.terms.iter().map(|t| t.value * t.count as f64).sum();
    assert!((100.0 + sum - h.score).abs() < 1e-9);
    // An unhandled failure alike; the same run with no failure is healthy, uncapped.
    steps[0] = s(StepState::Failed, 1);
    assert_eq!(compute(steps.clone(), &[]).score, FAILED_AT_MOST);
    steps[0] = s(StepState::Succeeded, 1);
    let h = compute(steps, &[]);
    assert_eq!((h.score, h.label), (100.0, HealthLabel::Healthy));
    assert_eq!(
        h.terms.iter().find(|t| t.label == CAP_LABEL).unwrap().count,
        0
    );
}

#[test]
fn a_step_marked_succeeded_shows_its_hand_in_the_scores() {
    let marked = StepScore {
        marked: true,
        ..s(StepState::Succeeded, 1)
    };
    assert_eq!(tally(marked), Some(Tally::Marked));
    // Four steps, one marked: 100 − 25 × ½, quality (1 + 1 + 1 + ½) / 4, no failure.
    let h = compute(
        [
            marked,
            s(StepState::Succeeded, 1),
            s(StepState::Succeeded, 1),
            s(StepState::Succeeded, 1),
        ],
        &[],
    );
    assert_eq!(h.score, 87.5);
    assert_eq!(h.quality, Some(0.875));
    assert_eq!(h.marked, 1);
    assert_eq!(h.failed_share, Some(0.0));
    let term = h
        .terms
        .iter()
        .find(|t| t.label == "marked succeeded by hand");
    assert_eq!(term.map(|t| t.count), Some(1));
    // A mark that the step failed is a failure like any other.
    let marked_failed = StepScore {
        marked: true,
        ..s(StepState::Failed, 1)
    };
    assert_eq!(tally(marked_failed), Some(Tally::Bad));
}

#[test]
fn open_errors_are_penalised_and_floored_at_zero() {
    let e = |sev| {
        ErrorRecord::builder(ErrorKind::ExitNonzero, "x")
            .severity(sev)
            .build(Timestamp(0))
    };
    let h = compute(
        [s(StepState::Succeeded, 1)],
        &[e(Severity::High), e(Severity::Medium)],
    );
    assert_eq!(h.score, 87.0);
    assert_eq!(h.label, HealthLabel::Healthy);
    let many: Vec<_> = (0..6).map(|_| e(Severity::Critical)).collect();
    let h = compute([s(StepState::Succeeded, 1)], &many);
    assert_eq!(h.score, 0.0);
    assert_eq!(h.label, HealthLabel::Critical);
    let mut closed = e(Severity::Critical);
    closed.open = false;
    assert_eq!(
        compute([s(StepState::Succeeded, 1)], &[closed]).score,
        100.0
    );
}

#[test]
fn a_compensation_that_failed_is_no_success() {
    assert_eq!(tally(s(StepState::CompensationFailed, 1)), Some(Tally::Bad));
    // One of four whose compensation failed, with its critical record: 100 − 25 − 20.
    let h = compute(
        [
            s(StepState::CompensationFailed, 1),
            s(StepState::Compensated, 1),
            s(StepState::Failed, 1),
            s(StepState::Cancelled, 1),
        ],
        &[err(ErrorKind::CompensationFailed)],
    );
    assert_eq!(h.score, 30.0);
    assert_eq!(h.label, HealthLabel::Critical);
}

#[test]
fn nothing_finished_is_full_health_with_no_quality() {
    let h = compute([s(StepState::Pending, 0)], &[]);
    assert_eq!(h.quality, None);
    assert_eq!(h.score, 100.0);
    assert_eq!(compute([], &[]).score, 100.0);
}

#[test]
fn the_terms_add_up_to_the_score() {
    let h = compute(
        [
            s(StepState::Succeeded, 2),
            s(StepState::Failed, 1),
            s(StepState::UpstreamFailed, 0),
        ],
        &[err(ErrorKind::ExitNonzero)],
    );
    let sum: f64 = h.terms.iter().map(|t| t.value * t.count as f64).sum();
    assert!((100.0 + sum - h.score).abs() < 1e-9);
}

fn any_step() -> impl Strategy<Value = StepScore> {
    (
        proptest::sample::select(StepState::ALL.to_vec()),
        0u32..4,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(state, attempts, timed_out, dealt_with, marked)| StepScore {
                state,
                attempts,
                timed_out,
                dealt_with,
                marked,
            },
        )
}

fn any_errors() -> impl Strategy<Value = Vec<ErrorRecord>> {
    proptest::collection::vec(
        (
            proptest::sample::select(vec![
                Severity::Low,
                Severity::Medium,
                Severity::High,
                Severity::Critical,
            ]),
            any::<bool>(),
        ),
        0..8,
    )
    .prop_map(|v| {
        v.into_iter()
            .map(|(sev, open)| {
                let mut e = ErrorRecord::builder(ErrorKind::ExitNonzero, "x")
                    .severity(sev)
                    .build(Timestamp(0));
                e.open = open;
                e
            })
            .collect()
    })
}

#[test]
fn failed_share_counts_the_steps_that_never_started() {
    use StepState::*;
    // fetch ✔, compile ✘, package never started: two of three, not one of two attempts.
    let h = compute([s(Succeeded, 1), s(Failed, 1), s(UpstreamFailed, 0)], &[]);
    assert_eq!(h.failed_share, Some(2.0 / 3.0));
    // Not yet decided, skipped by a condition or cancelled: not counted either way.
    let h = compute(
        [
            s(Succeeded, 1),
            s(Failed, 1),
            s(Pending, 0),
            s(Skipped, 0),
            s(Cancelled, 0),
        ],
        &[],
    );
    assert_eq!(h.failed_share, Some(0.5));
    // A failure dealt with is a failure here (said to be handled), as are a timed-out
    // gate and a failed compensation.
    let dealt = StepScore {
        dealt_with: true,
        ..s(Failed, 1)
    };
    let h = compute([s(Succeeded, 1), dealt], &[]);
    assert_eq!((h.failed_share, h.handled), (Some(0.5), 1));
    let timed_out = StepScore {
        timed_out: true,
        ..s(Rejected, 0)
    };
    assert_eq!(
        compute(
            [
                s(Succeeded, 1),
                timed_out,
                s(CompensationFailed, 1),
                s(Succeeded, 2)
            ],
            &[]
        )
        .failed_share,
        Some(0.5)
    );
    assert_eq!(compute([s(Running, 1)], &[]).failed_share, None);
}

proptest! {
    #[test]
    fn scores_stay_in_bounds(steps in proptest::collection::vec(any_step(), 0..40), errors in any_errors()) {
        let h = compute(steps, &errors);
        prop_assert!((0.0..=100.0).contains(&h.score), "{}", h.score);
        if let Some(q) = h.quality {
            prop_assert!((0.0..=1.0).contains(&q), "{q}");
        }
        if let Some(f) = h.failed_share {
            prop_assert!((0.0..=1.0).contains(&f), "{f}");
        }
        let sum: f64 = h.terms.iter().map(|t| t.value * t.count as f64).sum();
        // The terms add up to the score, but for the floor at 0.
        prop_assert!(100.0 + sum - h.score <= 1e-9, "{} {}", sum, h.score);
    }

    #[test]
    fn a_failed_step_is_never_healthy_nor_uncounted(steps in proptest::collection::vec(any_step(), 1..40), errors in any_errors()) {
        let h = compute(steps.clone(), &errors);
        let failed = steps.iter().filter(|s| tally(**s).is_some_and(Tally::is_failure)).count();
        if failed > 0 {
            prop_assert!(h.label != HealthLabel::Healthy, "{}", h.score);
            prop_assert!(h.failed_share.unwrap_or(0.0) > 0.0);
        }
    }

    #[test]
    fn one_more_failure_never_raises_health(
        steps in proptest::collection::vec(any_step(), 1..40),
        errors in any_errors(),
        pick in any::<proptest::sample::Index>(),
    ) {
        let before = compute(steps.clone(), &errors).score;
        // A step turned into a failure…
        let mut turned = steps.clone();
        turned[pick.index(steps.len())] = s(StepState::Failed, 1);
        prop_assert!(compute(turned, &errors).score <= before + 1e-9);
        // …or one more failed step.
        let mut added = steps.clone();
        added.push(s(StepState::Failed, 1));
        prop_assert!(compute(added, &errors).score <= before + 1e-9);
    }

    #[test]
    fn all_succeeded_first_time_is_100(n in 1usize..200) {
        let h = compute(std::iter::repeat_n(s(StepState::Succeeded, 1), n), &[]);
        prop_assert_eq!(h.score, 100.0);
        prop_assert_eq!(h.quality, Some(1.0));
        prop_assert_eq!(h.label, HealthLabel::Healthy);
    }
}

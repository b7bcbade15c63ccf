//! Quality (0..1) and health (0..100) of a run (docs/architecture.md, "Errors, quality and health"), with the terms that
//! explain the score.
use super::error::{ErrorRecord, Severity};
use super::state::StepState;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthLabel {
    Healthy,
    Degraded,
    Critical,
}

impl HealthLabel {
    pub fn as_str(self) -> &'static str {
        match self {
            HealthLabel::Healthy => "healthy",
            HealthLabel::Degraded => "degraded",
            HealthLabel::Critical => "critical",
        }
    }
}

/// One line of the explanation: `"succeeded after retry: 2 × 0.5"`, `"open high errors: -10 × 1"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthTerm {
    pub label: String,
    pub count: usize,
    /// Contribution: weight per step for quality terms, points for penalties (negative).
    pub value: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Health {
    /// `None` while no step has finished (nothing to judge yet): shown as 1.0/100.
    pub quality: Option<f64>,
    pub score: f64,
    pub label: HealthLabel,
    pub terms: Vec<HealthTerm>,
}

/// What health needs to know of one step: its state and how many attempts it took.
#[derive(Debug, Clone, Copy)]
pub struct StepScore {
    pub state: StepState,
    pub attempts: u32,
    pub timed_out: bool,
}

/// How a step counts towards quality.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tally {
    /// Weight 1.
    FirstTry,
    /// Weight 0.5.
    AfterRetry,
    /// Failed, rejected or timed out: weight 0.
    Bad,
}

/// A step's place in the quality score; `None` while it does not count (not finished,
/// skipped, cancelled).
pub fn tally(s: StepScore) -> Option<Tally> {
    // Its work stands though the run asked for it undone: never a success.
    if s.state == StepState::CompensationFailed {
        Some(Tally::Bad)
    } else if s.state.is_success() {
        Some(if s.attempts > 1 {
            Tally::AfterRetry
        } else {
            Tally::FirstTry
        })
    } else if s.state.is_failure() || s.timed_out {
        Some(Tally::Bad)
    } else {
        None
    }
}

/// Quality and health of a run from its steps and error records (every reader's figure:
/// the console, `show`, `runs`).
pub fn compute(steps: impl IntoIterator<Item = StepScore>, errors: &[ErrorRecord]) -> Health {
    let (mut first_try, mut retried, mut bad) = (0usize, 0usize, 0usize);
    for s in steps {
        match tally(s) {
            Some(Tally::FirstTry) => first_try += 1,
            Some(Tally::AfterRetry) => retried += 1,
            Some(Tally::Bad) => bad += 1,
            None => {}
        }
    }
    let counted = first_try + retried + bad;
    let quality = (counted > 0).then(|| (first_try as f64 + 0.5 * retried as f64) / counted as f64);
    let mut terms = vec![
        HealthTerm {
            label: "succeeded first time".into(),
            count: first_try,
            value: 1.0,
        },
        HealthTerm {
            label: "succeeded after retry".into(),
            count: retried,
            value: 0.5,
        },
        HealthTerm {
            label: "failed, rejected or timed out".into(),
            count: bad,
            value: 0.0,
        },
    ];
    let mut score = 100.0 * quality.unwrap_or(1.0);
    for sev in [Severity::Critical, Severity::High, Severity::Medium] {
        let n = errors
            .iter()
            .filter(|e| e.open && e.severity == sev)
            .count();
        terms.push(HealthTerm {
            label: format!("open {sev} errors"),
            count: n,
            value: -sev.penalty(),
        });
        score -= sev.penalty() * n as f64;
    }
    let score = score.max(0.0);
    let label = if score >= 80.0 {
        HealthLabel::Healthy
    } else if score >= 50.0 {
        HealthLabel::Degraded
    } else {
        HealthLabel::Critical
    };
    Health {
        quality,
        score,
        label,
        terms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ErrorKind, Timestamp};

    fn s(state: StepState, attempts: u32) -> StepScore {
        StepScore {
            state,
            attempts,
            timed_out: false,
        }
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
        assert_eq!(h.score, 50.0);
        assert_eq!(h.label, HealthLabel::Degraded);
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
        let h = compute(
            [
                s(StepState::CompensationFailed, 1),
                s(StepState::Cancelled, 1),
            ],
            &[],
        );
        assert_eq!(h.quality, Some(0.0));
        assert_eq!(h.label, HealthLabel::Critical);
    }

    #[test]
    fn nothing_finished_is_full_health_with_no_quality() {
        let h = compute([s(StepState::Pending, 0)], &[]);
        assert_eq!(h.quality, None);
        assert_eq!(h.score, 100.0);
    }
}

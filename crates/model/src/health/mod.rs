//! Quality (0..1) and health (0..100) of a run (docs/architecture.md, "Errors, quality and health"), with the terms that
//! explain the score.
use super::error::{ErrorRecord, Severity};
use super::state::StepState;
use serde::{Deserialize, Serialize};

pub mod outcome;

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum HealthLabel {
    Healthy,
    Degraded,
    Critical,
}

impl HealthLabel {
    pub fn as_str(self) -> &'static str {
        self.into()
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
    /// The share (0..1) of the judged steps that failed (failed, rejected, timed out,
    /// compensation failed), a failure dealt with included, or never started because a
    /// need failed: the header's and `show`'s `failed %`. Steps not yet decided,
    /// skipped by a condition or cancelled are not counted. `None` while no step is
    /// judged.
    #[serde(default)]
    pub failed_share: Option<f64>,
    /// Of the failed steps, those `allow_failure` or a failure handler dealt with: said
    /// beside the failed share ("1 handled"), never taken out of it.
    #[serde(default)]
    pub handled: usize,
    /// Steps that read succeeded because an operator marked them so (`baton mark`).
    #[serde(default)]
    pub marked: usize,
}

impl Health {
    /// What the scores counted that a handler or a person did, said beside them:
    /// `1 failure handled, 2 marked succeeded by hand`; empty when neither.
    pub fn hands(&self) -> String {
        let mut parts = Vec::new();
        if self.handled > 0 {
            let s = if self.handled == 1 { "" } else { "s" };
            parts.push(format!("{} failure{s} handled", self.handled));
        }
        if self.marked > 0 {
            parts.push(format!("{} marked succeeded by hand", self.marked));
        }
        parts.join(", ")
    }
}

/// The lowest score that reads healthy.
pub const HEALTHY_FROM: f64 = 80.0;

/// The highest score of a run with a failed step (handled or not, or one that never
/// started because a need failed): below [`HEALTHY_FROM`], so such a run never reads
/// healthy.
pub const FAILED_AT_MOST: f64 = HEALTHY_FROM - 1.0;

/// What health needs to know of one step: its state, how many attempts it took, and
/// whether its failure was dealt with (`allow_failure`, or a failure handler that ran).
#[derive(Debug, Clone, Copy)]
pub struct StepScore {
    pub state: StepState,
    pub attempts: u32,
    pub timed_out: bool,
    /// Failed, but `allow_failure` or a dependant with a failure trigger
    /// (`when = "one_failed"`/`"all_failed"`) that succeeded took it in hand.
    pub dealt_with: bool,
    /// Succeeded because an operator marked it so (`baton mark --state succeeded`), not
    /// by an attempt of its own.
    pub marked: bool,
}

/// How a step counts towards the scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::EnumIter)]
pub enum Tally {
    /// Succeeded on its first attempt.
    FirstTry,
    /// Succeeded after a retry.
    AfterRetry,
    /// Marked succeeded by an operator: the hand shows in the scores.
    Marked,
    /// Failed, and `allow_failure` or a failure handler dealt with it.
    DealtWith,
    /// Failed, rejected, timed out, or its compensation failed.
    Bad,
    /// Never started because a need failed (`upstream_failed`).
    NeverStarted,
}

impl Tally {
    /// The share of a step this outcome costs health (0 = nothing lost, 1 = all of it).
    pub fn cost(self) -> f64 {
        match self {
            Tally::FirstTry => 0.0,
            Tally::AfterRetry | Tally::Marked | Tally::DealtWith | Tally::NeverStarted => 0.5,
            Tally::Bad => 1.0,
        }
    }

    /// A step that failed (handled or not) or never started because one did: the run
    /// it is in reads failed in every view.
    pub fn is_failure(self) -> bool {
        matches!(self, Tally::DealtWith | Tally::Bad | Tally::NeverStarted)
    }

    /// Its weight in quality (the finished steps' mean), `None` when quality leaves it
    /// out (it never ran).
    pub fn quality_weight(self) -> Option<f64> {
        match self {
            Tally::FirstTry => Some(1.0),
            Tally::AfterRetry | Tally::Marked | Tally::DealtWith => Some(0.5),
            Tally::Bad => Some(0.0),
            Tally::NeverStarted => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Tally::FirstTry => "succeeded first time",
            Tally::AfterRetry => "succeeded after retry",
            Tally::Marked => "marked succeeded by hand",
            Tally::DealtWith => "failed, allowed or handled",
            Tally::Bad => "failed, rejected or timed out",
            Tally::NeverStarted => "never started (a need failed)",
        }
    }
}

/// A step's place in the scores; `None` while it costs nothing and is not judged (not
/// finished, skipped by a condition, cancelled, interrupted).
pub fn tally(s: StepScore) -> Option<Tally> {
    // Its work stands though the run asked for it undone: never a success.
    if s.state == StepState::CompensationFailed {
        Some(Tally::Bad)
    } else if s.state.is_success() {
        Some(if s.marked && s.state == StepState::Succeeded {
            Tally::Marked
        } else if s.attempts > 1 {
            Tally::AfterRetry
        } else {
            Tally::FirstTry
        })
    } else if s.state == StepState::Failed && s.dealt_with {
        Some(Tally::DealtWith)
    } else if s.state.is_failure() || s.timed_out {
        Some(Tally::Bad)
    } else if s.state == StepState::UpstreamFailed {
        Some(Tally::NeverStarted)
    } else {
        None
    }
}

/// Quality and health of a run from its steps and error records (every reader's figure:
/// the console, `show`, `runs`, the metrics). Pure; the formula is in
/// docs/architecture.md ("Errors, quality and health"):
///
/// - health = 100 − Σ over steps (100 / steps × cost) − Σ over open errors (penalty),
///   floored at 0; a step costs 0 (first try), ½ (after a retry, marked succeeded by
///   hand, a failure dealt with, never started because a need failed) or 1 (failed,
///   rejected, timed out, compensation failed), so one failed step of four costs 25;
///   a run with a failed step (dealt with or not) scores at most [`FAILED_AT_MOST`];
/// - quality = the mean weight of the finished steps (1, ½, ½, ½, 0 as above).
pub fn compute(steps: impl IntoIterator<Item = StepScore>, errors: &[ErrorRecord]) -> Health {
    use strum::IntoEnumIterator;
    let mut total = 0usize;
    let mut counts = [0usize; 6];
    for s in steps {
        total += 1;
        if let Some(t) = tally(s) {
            counts[t as usize] += 1;
        }
    }
    let share = if total == 0 {
        0.0
    } else {
        100.0 / total as f64
    };
    let (mut weighed, mut judged, mut failed) = (0.0, 0usize, 0usize);
    let mut score = 100.0;
    let mut terms = Vec::new();
    for t in Tally::iter() {
        let n = counts[t as usize];
        if let Some(w) = t.quality_weight() {
            weighed += w * n as f64;
            judged += n;
        }
        if t.is_failure() {
            failed += n;
        }
        score -= share * t.cost() * n as f64;
        terms.push(HealthTerm {
            label: t.label().into(),
            count: n,
            value: -share * t.cost(),
        });
    }
    let quality = (judged > 0).then(|| weighed / judged as f64);
    let decided = judged + counts[Tally::NeverStarted as usize];
    let failed_share = (decided > 0).then(|| failed as f64 / decided as f64);
    score -= error_terms(errors, &mut terms);
    let score = capped(score.max(0.0), failed > 0, &mut terms, Tally::iter().len());
    Health {
        quality,
        score,
        label: label_of(score),
        terms,
        failed_share,
        handled: counts[Tally::DealtWith as usize],
        marked: counts[Tally::Marked as usize],
    }
}

/// The open errors' terms, pushed onto `terms`; their points, to take off the score.
fn error_terms(errors: &[ErrorRecord], terms: &mut Vec<HealthTerm>) -> f64 {
    let mut points = 0.0;
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
        points += sev.penalty() * n as f64;
    }
    points
}

/// The label of the term that holds a run with a failed step below healthy.
pub const CAP_LABEL: &str = "a step failed: at most 79";

/// The score as shown: a perfect run's rounding kept at 100, and a run with a failed
/// step held at [`FAILED_AT_MOST`], the points the cap took said in a term inserted
/// at `at` (after the steps' terms, before the errors').
fn capped(score: f64, failed: bool, terms: &mut Vec<HealthTerm>, at: usize) -> f64 {
    // Rounding of the shares must never leave a perfect run at 99.999….
    let score = if score > 99.999 { 100.0 } else { score };
    let cut = if failed {
        (score - FAILED_AT_MOST).max(0.0)
    } else {
        0.0
    };
    terms.insert(
        at.min(terms.len()),
        HealthTerm {
            label: CAP_LABEL.into(),
            count: usize::from(cut > 0.0),
            value: -cut,
        },
    );
    score - cut
}

/// Healthy from [`HEALTHY_FROM`], degraded from 50, critical below.
pub fn label_of(score: f64) -> HealthLabel {
    if score >= HEALTHY_FROM {
        HealthLabel::Healthy
    } else if score >= 50.0 {
        HealthLabel::Degraded
    } else {
        HealthLabel::Critical
    }
}

#[cfg(test)]
mod tests;

//! The store's metrics as plain data: what `baton metrics` and the exporters of
//! `baton run --metrics-file/--metrics-listen` render (`crate::metrics::exposition`).
//! Read from the store by `Store::metrics`; nothing here depends on the clock, so the
//! same store always gives the same figures.
use super::state::StepState;
use std::collections::BTreeMap;

/// Upper bounds (ms) of the step duration buckets: 50 ms to an hour.
pub const STEP_DURATION_BOUNDS_MS: &[u64] = &[
    50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 120_000, 300_000, 600_000,
    1_800_000, 3_600_000,
];

/// Upper bounds (ms) of the gate wait buckets: a second to a day.
pub const GATE_WAIT_BOUNDS_MS: &[u64] = &[
    1_000, 5_000, 15_000, 30_000, 60_000, 300_000, 900_000, 1_800_000, 3_600_000, 7_200_000,
    14_400_000, 43_200_000, 86_400_000,
];

/// Everything the exposition shows. Keys are label values; maps keep the output sorted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metrics {
    /// Runs by workflow and state (every state of a workflow present, zeros too, so
    /// that a series does not vanish when its last run leaves the state).
    pub runs: BTreeMap<(String, &'static str), u64>,
    /// Steps by workflow and state (every state, as `runs`).
    pub steps: BTreeMap<(String, &'static str), u64>,
    /// Attempts started, by workflow.
    pub attempts_started: BTreeMap<String, u64>,
    /// Attempts that ended, by workflow and outcome.
    pub attempts_finished: BTreeMap<(String, AttemptOutcome), u64>,
    /// Error records by (workflow, kind, severity).
    pub errors: BTreeMap<(String, String, String), ErrorCounts>,
    /// Durations of the attempts that ended, by workflow.
    pub step_durations: BTreeMap<String, Histogram>,
    /// Time from a gate's opening to its decision, by workflow and decision.
    pub gate_waits: BTreeMap<(String, String), Histogram>,
    /// `deadline_missed` events by workflow and whose deadline (`run` or `step`).
    pub deadlines_missed: BTreeMap<(String, &'static str), u64>,
    /// Health, quality and, for live runs, queue depth and running steps.
    pub run_gauges: Vec<RunGauges>,
    /// The schedules `baton serve` serves.
    pub schedules: Vec<ScheduleGauges>,
    /// The workflow files a serve serves that do not load now.
    pub load_errors: Vec<String>,
    /// Webhook deliveries refused, by workflow, trigger and reason (empty workflow and
    /// trigger: a delivery naming none served).
    pub trigger_refusals: BTreeMap<(String, String, String), u64>,
}

/// A served schedule's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleGauges {
    pub workflow: String,
    /// `WORKFLOW#N`.
    pub schedule: String,
    /// The first slot not decided yet (after the latest recorded one): the next fire.
    pub next: Option<super::Timestamp>,
    /// The latest slot that started a run.
    pub last_fire: Option<super::Timestamp>,
    /// What became of the latest slot (`started`, `skipped`, `missed`, …).
    pub last_outcome: Option<String>,
    pub paused: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ErrorCounts {
    pub total: u64,
    /// Not yet resolved (a retry or an override closes a record).
    pub open: u64,
}

/// How an attempt ended. Never changes once set, so the counters only grow.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
)]
#[strum(serialize_all = "snake_case")]
pub enum AttemptOutcome {
    Succeeded,
    Failed,
    Cancelled,
    Interrupted,
}

impl AttemptOutcome {
    pub const ALL: &'static [AttemptOutcome] = <AttemptOutcome as strum::VariantArray>::VARIANTS;

    pub fn parse(s: &str) -> Option<AttemptOutcome> {
        s.parse().ok()
    }

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The outcome of an attempt whose row holds `state` (the step's state the last
    /// time an event named this attempt), `None` while it has not ended. A succeeded
    /// attempt's row may later say `compensating`/`compensated`: it still succeeded.
    /// Succeeded and failed count as the core's golden signals count finished and
    /// failed attempts (running → succeeded | failed | retry_wait).
    pub fn of_attempt_state(state: StepState) -> Option<AttemptOutcome> {
        match state {
            StepState::Succeeded
            | StepState::Compensating
            | StepState::Compensated
            | StepState::CompensationFailed => Some(AttemptOutcome::Succeeded),
            // A held attempt's row: its retries ran out, or it was held before the next.
            StepState::Failed | StepState::RetryWait | StepState::Held => {
                Some(AttemptOutcome::Failed)
            }
            StepState::Cancelled => Some(AttemptOutcome::Cancelled),
            StepState::Interrupted => Some(AttemptOutcome::Interrupted),
            StepState::Pending
            | StepState::WaitingApproval
            | StepState::Queued
            | StepState::Running
            | StepState::Ready
            | StepState::Skipped
            | StepState::UpstreamFailed
            | StepState::Rejected => None,
        }
    }
}

/// A run's gauges. Queue depth and running are `Some` only for live runs.
#[derive(Debug, Clone, PartialEq)]
pub struct RunGauges {
    pub run: String,
    pub workflow: String,
    /// 0..100.
    pub health: f64,
    /// 0..1; `None` while no step has finished.
    pub quality: Option<f64>,
    pub queue_depth: Option<u64>,
    pub running: Option<u64>,
    /// Budget use of a run whose workflow sets a `budget`: (dimension, used, ceiling),
    /// the replayed core's figures (`session::inspect::add_budgets`).
    pub budget: Vec<(&'static str, f64, Option<f64>)>,
    /// Its pace and the time left to each ceiling at it (`model::burn`).
    pub burn: Vec<crate::burn::Burn>,
}

/// A histogram with fixed bucket bounds, in milliseconds (exact integer comparisons;
/// the exposition converts to seconds).
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    pub bounds_ms: &'static [u64],
    /// Observations per bucket, not cumulative; one more than `bounds_ms` (`+Inf`).
    pub counts: Vec<u64>,
    pub sum_ms: u64,
}

impl Histogram {
    pub fn new(bounds_ms: &'static [u64]) -> Histogram {
        Histogram {
            bounds_ms,
            counts: vec![0; bounds_ms.len() + 1],
            sum_ms: 0,
        }
    }

    /// Count one observation in the first bucket whose bound is at least `ms`
    /// (Prometheus buckets are `le`: less than or equal).
    pub fn observe(&mut self, ms: u64) {
        let i = Histogram::bucket(self.bounds_ms, ms);
        self.counts[i] += 1;
        self.sum_ms = self.sum_ms.saturating_add(ms);
    }

    /// The index in `counts` of the bucket `ms` falls in, of buckets bounded by
    /// `bounds_ms` (`bounds_ms.len()`: `+Inf`).
    pub fn bucket(bounds_ms: &[u64], ms: u64) -> usize {
        bounds_ms.partition_point(|&b| b < ms)
    }

    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// `(upper bound in ms or None for +Inf, cumulative count)`, as exposed.
    pub fn cumulative(&self) -> Vec<(Option<u64>, u64)> {
        let mut total = 0;
        self.counts
            .iter()
            .enumerate()
            .map(|(i, n)| {
                total += n;
                (self.bounds_ms.get(i).copied(), total)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_less_or_equal_and_cumulative() {
        let mut h = Histogram::new(&[100, 1_000]);
        for ms in [0, 100, 101, 1_000, 5_000] {
            h.observe(ms);
        }
        assert_eq!(h.counts, vec![2, 2, 1]);
        assert_eq!(
            h.cumulative(),
            vec![(Some(100), 2), (Some(1_000), 4), (None, 5)]
        );
        assert_eq!(h.count(), 5);
        assert_eq!(h.sum_ms, 6_201);
    }

    #[test]
    fn an_attempt_that_succeeded_stays_succeeded_through_compensation() {
        for s in [
            StepState::Succeeded,
            StepState::Compensating,
            StepState::Compensated,
        ] {
            assert_eq!(
                AttemptOutcome::of_attempt_state(s),
                Some(AttemptOutcome::Succeeded)
            );
        }
        assert_eq!(
            AttemptOutcome::of_attempt_state(StepState::RetryWait),
            Some(AttemptOutcome::Failed)
        );
        assert_eq!(AttemptOutcome::of_attempt_state(StepState::Running), None);
    }
}

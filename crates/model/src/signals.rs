//! A run's golden signals (rate, errors, latency, saturation): ONE computation for the
//! engine core's view (`show`, the console) and for the run's row that the projection
//! keeps as the run goes on (`runs --json`, no replay), so the two never disagree.
use super::state::StepState;
use super::time::Timestamp;
use super::view::GoldenSignals;

/// What a run's golden signals are computed from: the core holds these as it folds
/// the run's events, the store keeps them on the run's row (`store::run_counts`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SignalFacts {
    /// When the run started (its `run_started` event); `None`: not yet.
    pub started_at: Option<Timestamp>,
    /// When it finished (its `run_finished` event), until it is reopened.
    pub finished_at: Option<Timestamp>,
    /// Attempts that ended (see [`attempt_end`]), and of those, the failed ones.
    pub attempts_finished: u64,
    pub attempts_failed: u64,
    /// Percentiles of every finished attempt's duration ([`percentile`]).
    pub p50_ms: Option<u64>,
    pub p95_ms: Option<u64>,
    /// Steps queued, and steps a process runs for (`StepState::has_process`).
    pub queue_depth: usize,
    pub running: usize,
}

/// How a step's transition `old` → `new` counts for the signals: `Some(failed)` when
/// an attempt ended there (a process ran and it succeeded, failed or waits to retry).
pub fn attempt_end(old: StepState, new: StepState) -> Option<bool> {
    if !old.has_process() {
        return None;
    }
    match new {
        StepState::Succeeded => Some(false),
        // Held because its retries ran out (`exhausted = "hold"`): it failed.
        StepState::Failed | StepState::RetryWait | StepState::Held => Some(true),
        StepState::Pending
        | StepState::WaitingApproval
        | StepState::Queued
        | StepState::Running
        | StepState::Ready
        | StepState::Skipped
        | StepState::UpstreamFailed
        | StepState::Rejected
        | StepState::Cancelled
        | StepState::Interrupted
        | StepState::Compensating
        | StepState::Compensated
        | StepState::CompensationFailed => None,
    }
}

/// The `p` (0..1) percentile of `sorted` (ascending): the nearest-rank value.
pub fn percentile(sorted: &[u64], p: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let idx = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    Some(sorted[idx])
}

/// The p50 and p95 of `sorted` durations (ascending), as the signals report them.
pub fn latency(sorted: &[u64]) -> (Option<u64>, Option<u64>) {
    (percentile(sorted, 0.5), percentile(sorted, 0.95))
}

/// The signals as of `now` (a run that goes on: its rate over the time so far).
pub fn golden(f: &SignalFacts, now: Timestamp) -> GoldenSignals {
    let elapsed = f
        .started_at
        .map(|s| f.finished_at.unwrap_or(now).since(s).as_secs_f64())
        .unwrap_or(0.0);
    GoldenSignals {
        finished_per_sec: if elapsed > 0.0 {
            f.attempts_finished as f64 / elapsed
        } else {
            0.0
        },
        error_rate: if f.attempts_finished > 0 {
            f.attempts_failed as f64 / f.attempts_finished as f64
        } else {
            0.0
        },
        p50_ms: f.p50_ms,
        p95_ms: f.p95_ms,
        queue_depth: f.queue_depth,
        running: f.running,
    }
}

/// A run whose engine is gone runs nothing (`liveness::stop_clocks`).
pub fn engine_gone(s: &mut GoldenSignals) {
    s.running = 0;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attempt_ends_when_its_process_does() {
        use StepState::*;
        assert_eq!(attempt_end(Running, Succeeded), Some(false));
        assert_eq!(attempt_end(Ready, Failed), Some(true));
        assert_eq!(attempt_end(Running, RetryWait), Some(true));
        assert_eq!(attempt_end(Running, Cancelled), None);
        assert_eq!(
            attempt_end(Queued, Succeeded),
            None,
            "a cache hit ran nothing"
        );
        assert_eq!(attempt_end(RetryWait, Failed), None, "counted once");
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        assert_eq!(latency(&[]), (None, None));
        assert_eq!(latency(&[7]), (Some(7), Some(7)));
        let d: Vec<u64> = (1..=20).collect();
        assert_eq!(latency(&d), (Some(10), Some(19)));
    }

    #[test]
    fn the_rate_runs_to_now_until_the_run_finishes() {
        let mut f = SignalFacts {
            started_at: Some(Timestamp(1_000)),
            attempts_finished: 4,
            attempts_failed: 1,
            ..SignalFacts::default()
        };
        let s = golden(&f, Timestamp(3_000));
        assert_eq!(s.finished_per_sec, 2.0);
        assert_eq!(s.error_rate, 0.25);
        f.finished_at = Some(Timestamp(2_000));
        assert_eq!(golden(&f, Timestamp(9_000)).finished_per_sec, 4.0);
        assert_eq!(
            golden(&SignalFacts::default(), Timestamp(9)).finished_per_sec,
            0.0
        );
    }
}

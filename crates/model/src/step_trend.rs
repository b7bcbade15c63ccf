//! A step's history across runs of its workflow (`baton history WORKFLOW STEP`, the
//! console's history view): how long it took in each of the newest runs, its p50 and
//! p95, how often it failed and the runs where it was slowest. The store reads the
//! rows (`Store::step_runs`, the newest runs only); this folds them, the one computation
//! both front ends show.
use crate::{StepState, Timestamp};

/// Runs read when no number is given: about a week of a run an hour.
pub const DEFAULT_RUNS: u32 = 200;
/// The most runs a history reads, whatever is asked: its cost is bounded by this, not by
/// the store's length.
pub const MAX_RUNS: u32 = 10_000;
/// The slowest runs named.
pub const SLOWEST: usize = 5;

/// The step in one run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StepRun {
    pub run_id: String,
    pub started_at: Timestamp,
    pub state: StepState,
    pub attempts: u32,
    /// Its last attempt's run time, once it ended.
    pub duration_ms: Option<u64>,
}

/// The fold of a step's runs, newest first.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StepTrend {
    pub runs: Vec<StepRun>,
    pub p50_ms: Option<u64>,
    pub p95_ms: Option<u64>,
    /// Runs where the step ended succeeded or failed, and of them failed.
    pub ended: usize,
    pub failed: usize,
    /// Indices into `runs` of the slowest, slowest first.
    pub slowest: Vec<usize>,
}

/// Whether a step in this state ran to an outcome that counts in the failure rate and
/// the durations (a success or a failure of its own). The match names every state, so
/// a new one is decided here.
pub fn counts(state: StepState) -> bool {
    use StepState::*;
    match state {
        Succeeded | Failed => true,
        Pending | WaitingApproval | Queued | Running | Ready | RetryWait | Skipped
        | UpstreamFailed | Rejected | Cancelled | Interrupted | Compensating | Compensated
        | CompensationFailed | Held => false,
    }
}

impl StepTrend {
    /// Fold `runs` (newest first).
    pub fn of(runs: Vec<StepRun>) -> StepTrend {
        let ended = runs.iter().filter(|r| counts(r.state)).count();
        let failed = runs.iter().filter(|r| r.state == StepState::Failed).count();
        let mut timed: Vec<(u64, usize)> = runs
            .iter()
            .enumerate()
            .filter(|(_, r)| counts(r.state))
            .filter_map(|(i, r)| r.duration_ms.map(|d| (d, i)))
            .collect();
        let mut sorted: Vec<u64> = timed.iter().map(|&(d, _)| d).collect();
        sorted.sort_unstable();
        // Slowest first; of equal times, the newest.
        timed.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        StepTrend {
            p50_ms: percentile(&sorted, 50),
            p95_ms: percentile(&sorted, 95),
            ended,
            failed,
            slowest: timed.iter().take(SLOWEST).map(|&(_, i)| i).collect(),
            runs,
        }
    }

    /// The failure rate in percent, when the step ended at least once.
    pub fn failure_pct(&self) -> Option<f64> {
        (self.ended > 0).then(|| self.failed as f64 * 100.0 / self.ended as f64)
    }

    /// The sparkline of the durations, oldest on the left, at most `width` cells (the
    /// newest runs when there are more); a run without a time is a space.
    pub fn sparkline(&self, width: usize) -> String {
        let shown: Vec<Option<u64>> = self
            .runs
            .iter()
            .take(width)
            .rev()
            .map(|r| r.duration_ms.filter(|_| counts(r.state)))
            .collect();
        sparkline(&shown)
    }
}

/// The nearest-rank percentile `p` of `sorted`.
fn percentile(sorted: &[u64], p: usize) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// One cell a value, `▁` (the least) to `█` (the most); none is a space.
pub fn sparkline(values: &[Option<u64>]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = values.iter().flatten().copied().max().unwrap_or(0);
    let min = values.iter().flatten().copied().min().unwrap_or(0);
    values
        .iter()
        .map(|v| match v {
            None => ' ',
            Some(_) if max == min => BARS[3],
            Some(v) => {
                let k = ((v - min) as u128 * 7 / (max - min) as u128) as usize;
                BARS[k.min(7)]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(i: u64, state: StepState, ms: Option<u64>) -> StepRun {
        StepRun {
            run_id: format!("R{i}"),
            started_at: Timestamp::from_millis(i as i64),
            state,
            attempts: 1,
            duration_ms: ms,
        }
    }

    #[test]
    fn percentiles_failure_rate_and_the_slowest_runs() {
        // Newest first: R10 … R1; R5 failed, R3 is still running.
        let runs: Vec<StepRun> = (1..=10)
            .rev()
            .map(|i| match i {
                5 => run(i, StepState::Failed, Some(900)),
                3 => run(i, StepState::Running, None),
                _ => run(i, StepState::Succeeded, Some(i * 100)),
            })
            .collect();
        let t = StepTrend::of(runs);
        assert_eq!((t.ended, t.failed), (9, 1));
        assert_eq!(t.failure_pct().map(|p| p.round()), Some(11.0));
        // 100 200 400 600 700 800 900 900 1000: p50 the 5th, p95 the 9th.
        assert_eq!((t.p50_ms, t.p95_ms), (Some(700), Some(1000)));
        let slow: Vec<&str> = t
            .slowest
            .iter()
            .map(|&i| t.runs[i].run_id.as_str())
            .collect();
        assert_eq!(slow, ["R10", "R9", "R5", "R8", "R7"]);
        // Oldest on the left; the running one is a gap.
        assert_eq!(t.sparkline(100), "▁▁ ▃▇▄▅▆▇█");
        assert_eq!(t.sparkline(3).chars().count(), 3);
    }

    #[test]
    fn no_runs_no_figures() {
        let t = StepTrend::of(Vec::new());
        assert_eq!((t.p50_ms, t.p95_ms, t.failure_pct()), (None, None, None));
        assert_eq!(t.sparkline(10), "");
        assert_eq!(sparkline(&[Some(5), Some(5)]), "▄▄");
    }
}

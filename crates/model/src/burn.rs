//! How fast a run spends its budget, and how long its ceiling lasts at that pace (issue
//! 43 point 2). Pure: the samples carry the times of the events they were folded
//! from, and every reading takes `now`, so a test drives it with a fake clock.
use crate::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::time::Duration;

/// The rate is the use over this much of the recent past (or since the first sample,
/// when the run is younger).
pub const WINDOW: Duration = Duration::from_secs(60);
/// At most this many samples are kept, whatever the window holds (a step writing a
/// line every millisecond does not grow the core).
pub const MAX_SAMPLES: usize = 512;

/// The dimensions, in the order of [`Totals`].
pub const DIMENSIONS: [&str; 3] = ["cost", "calls", "tokens"];

/// The run's use at one moment: cost, calls, tokens.
pub type Totals = [f64; 3];

/// The run's use at the moments it changed, over the last [`WINDOW`] (plus the one
/// sample just before it, the rate's base).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Samples {
    q: VecDeque<(Timestamp, Totals)>,
}

/// One dimension's pace, as `show --json`, the metrics and the console give it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Burn {
    /// `cost`, `calls` or `tokens`.
    pub dimension: String,
    /// Use per minute over the window.
    pub per_minute: f64,
    /// Time until the ceiling at that pace; `None` without a ceiling or a pace, `0`
    /// once it is reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub left_ms: Option<u64>,
}

impl Samples {
    /// The use changed to `totals` at `at` (samples come in time order).
    pub fn push(&mut self, at: Timestamp, totals: Totals) {
        if self.q.back().is_some_and(|(_, t)| *t == totals) {
            return;
        }
        self.q.push_back((at, totals));
        // Keep one sample at or before the window's start: the base of the rate.
        let start = Timestamp::from_millis(at.millis() - WINDOW.as_millis() as i64);
        while self.q.len() > 1 && self.q[1].0 <= start {
            self.q.pop_front();
        }
        while self.q.len() > MAX_SAMPLES {
            self.q.pop_front();
        }
    }

    /// Use per second of dimension `d` over the window before `now`: the latest use
    /// less the use at the window's start (or at the first sample), over that time.
    /// `None` before two moments are known apart.
    pub fn rate(&self, d: usize, now: Timestamp) -> Option<f64> {
        let (_, last) = self.q.back()?;
        let start = Timestamp::from_millis(now.millis() - WINDOW.as_millis() as i64);
        let base = self
            .q
            .iter()
            .rev()
            .find(|(at, _)| *at <= start)
            .or_else(|| self.q.front())?;
        let from = base.0.max(start);
        let secs = now.since(from).as_secs_f64();
        (secs > 0.0).then(|| ((last[d] - base.1[d]) / secs).max(0.0))
    }

    /// Each dimension's pace and the time left to `limits` at it.
    pub fn burns(&self, used: Totals, limits: [Option<f64>; 3], now: Timestamp) -> Vec<Burn> {
        (0..3)
            .filter_map(|d| {
                let rate = self.rate(d, now)?;
                Some(Burn {
                    dimension: DIMENSIONS[d].to_string(),
                    per_minute: rate * 60.0,
                    left_ms: limits[d].and_then(|l| time_left(used[d], l, rate)),
                })
            })
            .collect()
    }
}

/// How long until `used` reaches `limit` at `per_sec`: zero once it has, `None` when
/// nothing is being spent.
pub fn time_left(used: f64, limit: f64, per_sec: f64) -> Option<u64> {
    if used >= limit {
        return Some(0);
    }
    if per_sec <= 0.0 || !per_sec.is_finite() {
        return None;
    }
    let ms = (limit - used) / per_sec * 1000.0;
    Some(if ms >= u64::MAX as f64 {
        u64::MAX
    } else {
        ms.ceil() as u64
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_millis(1_000_000 + s * 1000)
    }

    #[test]
    fn the_rate_is_the_use_over_the_window_on_a_fake_clock() {
        let mut s = Samples::default();
        assert_eq!(s.rate(2, at(0)), None);
        s.push(at(0), [0.0, 1.0, 0.0]);
        assert_eq!(s.rate(2, at(0)), None, "no time has passed");
        s.push(at(10), [0.5, 1.0, 600.0]);
        // 600 tokens in 10 s: 60/s; 400 left of 1000 at 60/s is 6.67 s.
        assert_eq!(s.rate(2, at(10)), Some(60.0));
        let b = s.burns([0.5, 1.0, 600.0], [None, None, Some(1000.0)], at(10));
        assert_eq!(b[2].dimension, "tokens");
        assert_eq!(b[2].per_minute, 3600.0);
        assert_eq!(b[2].left_ms, Some(6667));
        assert_eq!(b[1].per_minute, 0.0, "calls did not move");
        assert_eq!(b[1].left_ms, None, "no ceiling");
        // Nothing more spent: the pace falls as time goes on.
        assert_eq!(s.rate(2, at(20)), Some(30.0));
    }

    #[test]
    fn the_window_forgets_the_old_pace() {
        let mut s = Samples::default();
        s.push(at(0), [0.0; 3]);
        s.push(at(1), [0.0, 0.0, 10_000.0]);
        // 100 s later, 60 tokens over the last 60 s: the burst is past the window.
        s.push(at(100), [0.0, 0.0, 10_060.0]);
        assert_eq!(s.rate(2, at(100)), Some(1.0));
        assert_eq!(s.q.len(), 2, "one base sample, then the window: {:?}", s.q);
    }

    #[test]
    fn samples_stay_bounded_and_equal_totals_are_not_kept() {
        let mut s = Samples::default();
        for i in 0..10_000 {
            s.push(Timestamp::from_millis(i), [0.0, 0.0, i as f64]);
            s.push(Timestamp::from_millis(i), [0.0, 0.0, i as f64]);
        }
        assert!(s.q.len() <= MAX_SAMPLES);
        assert!(s.rate(2, Timestamp::from_millis(10_000)).unwrap() > 900.0);
    }

    #[test]
    fn time_left_at_the_ceiling_and_without_a_pace() {
        assert_eq!(time_left(1200.0, 1000.0, 5.0), Some(0));
        assert_eq!(time_left(1000.0, 1000.0, 0.0), Some(0));
        assert_eq!(time_left(0.0, 1000.0, 0.0), None);
        assert_eq!(time_left(0.0, 1000.0, f64::NAN), None);
        assert_eq!(time_left(500.0, 1000.0, 100.0), Some(5000));
        assert_eq!(time_left(0.0, f64::MAX, f64::MIN_POSITIVE), Some(u64::MAX));
    }
}

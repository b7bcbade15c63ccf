//! Retry delays: fixed, linear or exponential backoff from `delay`, capped by
//! `max_delay`, with optional jitter derived from (seed, step, attempt) so a replay
//! computes exactly the same time.
use baton_workflow::{Backoff, RetryPolicy};
use std::time::Duration;

/// Delay before the retry that follows failed attempt number `failed` (1-based,
/// counted from the policy's start: the first retry follows `failed = 1`).
pub(crate) fn delay(policy: &RetryPolicy, failed: u32, seed: u64, step: usize) -> Duration {
    let base = policy.delay.as_millis().min(u64::MAX as u128) as u64;
    let n = failed.max(1) as u64;
    let raw = match policy.backoff {
        Backoff::Fixed => base,
        Backoff::Linear => base.saturating_mul(n),
        Backoff::Exponential => {
            let shift = (n - 1).min(62) as u32;
            base.saturating_mul(1u64 << shift)
        }
    };
    let cap = policy.max_delay.as_millis().min(u64::MAX as u128) as u64;
    let capped = if cap > 0 { raw.min(cap) } else { raw };
    let ms = if policy.jitter {
        jittered(capped, unit(seed, step as u64, failed as u64))
    } else {
        capped
    };
    Duration::from_millis(ms)
}

/// Uniform in [50%, 100%] of `ms`: never longer than the capped delay, never under half.
fn jittered(ms: u64, u: f64) -> u64 {
    let half = ms / 2;
    half + ((ms - half) as f64 * u).round() as u64
}

/// A deterministic number in [0, 1] from the three inputs (splitmix64).
fn unit(seed: u64, step: u64, attempt: u64) -> f64 {
    let mut z = seed
        ^ step.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ attempt.wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / ((1u64 << 53) - 1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(backoff: Backoff, jitter: bool) -> RetryPolicy {
        RetryPolicy {
            attempts: 10,
            backoff,
            delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(10),
            jitter,
            hold_when_exhausted: false,
        }
    }

    #[test]
    fn backoff_shapes_and_cap() {
        let ms = |b, n| delay(&policy(b, false), n, 0, 0).as_millis();
        assert_eq!(
            (1..=5).map(|n| ms(Backoff::Fixed, n)).collect::<Vec<_>>(),
            [1000; 5]
        );
        assert_eq!(
            (1..=5).map(|n| ms(Backoff::Linear, n)).collect::<Vec<_>>(),
            [1000, 2000, 3000, 4000, 5000]
        );
        assert_eq!(
            (1..=6)
                .map(|n| ms(Backoff::Exponential, n))
                .collect::<Vec<_>>(),
            [1000, 2000, 4000, 8000, 10000, 10000]
        );
        assert_eq!(
            ms(Backoff::Exponential, 200),
            10000,
            "huge attempt numbers saturate"
        );
    }

    #[test]
    fn jitter_is_bounded_and_deterministic() {
        let p = policy(Backoff::Exponential, true);
        let mut distinct = std::collections::BTreeSet::new();
        for seed in 0..200u64 {
            for n in 1..6 {
                let full = delay(&policy(Backoff::Exponential, false), n, seed, 3);
                let d = delay(&p, n, seed, 3);
                assert!(
                    d <= full && d >= full / 2,
                    "{d:?} outside [{:?}, {full:?}]",
                    full / 2
                );
                assert_eq!(d, delay(&p, n, seed, 3));
                distinct.insert(d.as_millis());
            }
        }
        assert!(distinct.len() > 50, "jitter should spread delays");
        assert_ne!(delay(&p, 1, 1, 0), delay(&p, 1, 2, 0));
    }
}

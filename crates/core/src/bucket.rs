//! Token bucket for a pool's `rate`, in integer arithmetic so replay is exact: the level
//! is kept in units of 1/`count` token-periods (`per_ms` units = one token).
use baton_model::Timestamp;
use baton_workflow::Rate;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Bucket {
    count: u64,
    per_ms: u64,
    cap: u64,
    level: u64,
    last: Option<Timestamp>,
}

impl Bucket {
    /// A full bucket of `burst` tokens refilled at `rate`.
    pub(crate) fn new(rate: Rate, burst: u32) -> Bucket {
        let per_ms = (rate.per.as_millis().min(u64::MAX as u128) as u64).max(1);
        let cap = per_ms.saturating_mul(burst.max(1) as u64);
        Bucket {
            count: rate.count.max(1) as u64,
            per_ms,
            cap,
            level: cap,
            last: None,
        }
    }

    fn level_at(&self, now: Timestamp) -> u64 {
        match self.last {
            None => self.level,
            Some(last) => {
                let dt = now.0.saturating_sub(last.0).max(0) as u64;
                self.level
                    .saturating_add(dt.saturating_mul(self.count))
                    .min(self.cap)
            }
        }
    }

    pub(crate) fn available(&self, now: Timestamp) -> bool {
        self.level_at(now) >= self.per_ms
    }

    /// Take one token at `now` (the caller checked `available`; taking from an empty
    /// bucket floors it at zero).
    pub(crate) fn take(&mut self, now: Timestamp) {
        let level = self.level_at(now);
        self.level = level.saturating_sub(self.per_ms);
        self.last = Some(match self.last {
            Some(l) if l > now => l,
            _ => now,
        });
    }

    /// When the next token is there (`now` if one already is).
    pub(crate) fn next_token(&self, now: Timestamp) -> Timestamp {
        let level = self.level_at(now);
        if level >= self.per_ms {
            return now;
        }
        let missing = self.per_ms - level;
        let wait = missing.div_ceil(self.count);
        Timestamp(now.0.saturating_add(wait as i64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn burst_then_refill_at_rate() {
        // 2 per second, burst 3.
        let mut b = Bucket::new(
            Rate {
                count: 2,
                per: Duration::from_secs(1),
            },
            3,
        );
        let t0 = Timestamp(10_000);
        for _ in 0..3 {
            assert!(b.available(t0));
            b.take(t0);
        }
        assert!(!b.available(t0));
        assert_eq!(b.next_token(t0), Timestamp(10_500));
        assert!(!b.available(Timestamp(10_499)));
        assert!(b.available(Timestamp(10_500)));
        b.take(Timestamp(10_500));
        assert_eq!(b.next_token(Timestamp(10_500)), Timestamp(11_000));
        // Long idle: refills to the burst, not beyond.
        let later = Timestamp(100_000);
        for _ in 0..3 {
            assert!(b.available(later));
            b.take(later);
        }
        assert!(!b.available(later));
    }
}

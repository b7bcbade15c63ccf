//! Durations with their p50 and p95 kept as they come and go, in O(log n) each: a
//! run's summary is saved with every commit, and a sorted list (an insert moves half of
//! it) made each step of a 100,000-step run cost more than one of a 1,000-step run.
//! The percentiles are `signals::percentile`'s (nearest rank) of the same values.
use std::collections::BTreeMap;

/// Where one percentile stands: at value `at`, with `below` values smaller than it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Mark {
    at: Option<u64>,
    below: u64,
}

/// A multiset of durations and its p50 and p95.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Ranked {
    counts: BTreeMap<u64, u64>,
    n: u64,
    marks: [Mark; 2],
}

const PS: [f64; 2] = [0.5, 0.95];

impl Ranked {
    pub(crate) fn insert(&mut self, ms: u64) {
        *self.counts.entry(ms).or_default() += 1;
        self.n += 1;
        for i in 0..PS.len() {
            let m = &mut self.marks[i];
            match m.at {
                None => {
                    *m = Mark {
                        at: Some(ms),
                        below: 0,
                    }
                }
                Some(at) if ms < at => m.below += 1,
                Some(_) => {}
            }
            self.settle(i);
        }
    }

    /// Take one `ms` away (nothing if there is none).
    pub(crate) fn remove(&mut self, ms: u64) {
        let Some(c) = self.counts.get_mut(&ms) else {
            return;
        };
        *c -= 1;
        let gone = *c == 0;
        if gone {
            self.counts.remove(&ms);
        }
        self.n -= 1;
        for i in 0..PS.len() {
            let mut m = self.marks[i];
            match m.at {
                Some(at) if ms < at => m.below -= 1,
                Some(at) if ms == at && gone => {
                    // Onto a value still there: the next one has as many below it.
                    m = match self.counts.range(at..).next() {
                        Some((&v, _)) => Mark {
                            at: Some(v),
                            below: m.below,
                        },
                        None => match self.counts.range(..at).next_back() {
                            Some((&v, &c)) => Mark {
                                at: Some(v),
                                below: m.below - c,
                            },
                            None => Mark::default(),
                        },
                    };
                }
                _ => {}
            }
            self.marks[i] = m;
            self.settle(i);
        }
    }

    /// Move mark `i` to the value at its rank (a step or two after a change).
    fn settle(&mut self, i: usize) {
        if self.n == 0 {
            self.marks[i] = Mark::default();
            return;
        }
        let k = ((self.n as f64 * PS[i]).ceil() as u64).clamp(1, self.n) - 1;
        let m = &mut self.marks[i];
        while let Some(at) = m.at {
            let here = self.counts.get(&at).copied().unwrap_or(0);
            if k < m.below {
                let Some((&v, &c)) = self.counts.range(..at).next_back() else {
                    break;
                };
                *m = Mark {
                    at: Some(v),
                    below: m.below - c,
                };
            } else if k >= m.below + here {
                let Some((&v, _)) = self.counts.range(at + 1..).next() else {
                    break;
                };
                *m = Mark {
                    at: Some(v),
                    below: m.below + here,
                };
            } else {
                break;
            }
        }
    }

    /// (p50, p95), as `signals::latency` gives them of the values sorted.
    pub(crate) fn latency(&self) -> (Option<u64>, Option<u64>) {
        (self.marks[0].at, self.marks[1].at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn keeps_the_percentiles_of_the_sorted_values(
            ops in prop::collection::vec((any::<bool>(), 0..40u64), 0..300)
        ) {
            let mut r = Ranked::default();
            let mut sorted: Vec<u64> = Vec::new();
            for (add, ms) in ops {
                if add || sorted.is_empty() {
                    r.insert(ms);
                    let i = sorted.partition_point(|&x| x <= ms);
                    sorted.insert(i, ms);
                } else {
                    // Take away a value that is there (or one that is not, sometimes).
                    let v = if ms % 5 == 0 { ms } else { sorted[ms as usize % sorted.len()] };
                    r.remove(v);
                    if let Ok(i) = sorted.binary_search(&v) {
                        sorted.remove(i);
                    }
                }
                prop_assert_eq!(r.latency(), crate::signals::latency(&sorted));
            }
        }
    }
}

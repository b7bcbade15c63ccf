//! Retry delays: fixed, linear or exponential backoff from `delay`, capped by
//! `max_delay`, with optional jitter derived from (seed, step, attempt) so a replay
//! computes exactly the same time.
use baton_workflow::{Backoff, RetryExits, RetryPolicy};
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

/// Why a failed attempt's retry rules (`exit_code`, `never_exit_code`, `if`) keep it
/// from being retried, its attempts aside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Its exit code is one of `never_exit_code`.
    Never(i32),
    /// `exit_code` lists codes and it exited with none of them (`None`: it did not
    /// exit: a signal, a timeout, a lost job).
    NotListed(Option<i32>),
    /// The retry's `if` is false.
    Condition,
}

impl Refusal {
    /// For the step's reason, `read`: the condition's record when it was decided.
    pub(crate) fn say(&self, exits: &RetryExits, read: Option<&str>) -> String {
        match self {
            Refusal::Never(c) => {
                format!(
                    "exit code {c} is one of its retry.never_exit_code {}",
                    exits.never
                )
            }
            Refusal::NotListed(Some(c)) => {
                format!(
                    "exit code {c} is not one of its retry.exit_code {}",
                    exits.only
                )
            }
            Refusal::NotListed(None) => format!(
                "it did not exit with a code, and its retry retries only exit codes {}",
                exits.only
            ),
            Refusal::Condition => format!("retry.if: {}", read.unwrap_or("false")),
        }
    }
}

/// Whether a failed attempt that exited with `code` may be retried by its rules:
/// `never_exit_code` first, then `exit_code` (when it lists any), then the `if`
/// (`holds` decides it; asked only when the codes let it through). `None`: it may.
pub(crate) fn refused<C>(
    exits: &RetryExits,
    code: Option<i32>,
    cond: Option<&C>,
    holds: impl FnOnce(&C) -> bool,
) -> Option<Refusal> {
    if let Some(c) = code.filter(|c| exits.never.contains(*c)) {
        return Some(Refusal::Never(c));
    }
    if !exits.only.is_empty() && !code.is_some_and(|c| exits.only.contains(c)) {
        return Some(Refusal::NotListed(code));
    }
    match cond {
        Some(c) if !holds(c) => Some(Refusal::Condition),
        _ => None,
    }
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

    fn exits(only: &[i32], never: &[i32]) -> RetryExits {
        RetryExits {
            only: only.iter().copied().collect(),
            never: never.iter().copied().collect(),
        }
    }

    #[test]
    fn exit_codes_choose_which_failures_are_retried() {
        let deploy = exits(&[75], &[]);
        let ask = |code| refused(&deploy, code, None::<&()>, |_| unreachable!());
        assert_eq!(ask(Some(75)), None, "the network blip is retried");
        assert_eq!(ask(Some(1)), Some(Refusal::NotListed(Some(1))));
        assert_eq!(
            ask(None),
            Some(Refusal::NotListed(None)),
            "a signal is no code"
        );
        let migrate = exits(&[], &[1]);
        let ask = |code| refused(&migrate, code, None::<&()>, |_| unreachable!());
        assert_eq!(
            ask(Some(1)),
            Some(Refusal::Never(1)),
            "a failed migration never"
        );
        assert_eq!(ask(Some(2)), None);
        assert_eq!(ask(None), None, "never_exit_code alone retries a timeout");
        let blank = RetryExits::default();
        assert_eq!(refused(&blank, Some(9), None::<&()>, |_| true), None);
    }

    #[test]
    fn the_condition_is_asked_only_once_the_codes_let_the_attempt_through() {
        let e = exits(&[75], &[1]);
        assert_eq!(
            refused(&e, Some(1), Some(&()), |_| panic!("not asked")),
            Some(Refusal::Never(1))
        );
        assert_eq!(refused(&e, Some(75), Some(&()), |_| true), None);
        assert_eq!(
            refused(&e, Some(75), Some(&()), |_| false),
            Some(Refusal::Condition)
        );
        let said = Refusal::Condition.say(&e, Some("condition false: x"));
        assert_eq!(said, "retry.if: condition false: x");
        assert_eq!(
            Refusal::Never(1).say(&e, None),
            "exit code 1 is one of its retry.never_exit_code [1]"
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

    /// The reason the last state change of the run's only step gave.
    fn last_reason(sim: &crate::testkit::Sim) -> String {
        sim.core
            .events()
            .iter()
            .rev()
            .find_map(|e| match &e.kind {
                baton_model::EventKind::StepStateChanged { reason, .. } => reason.clone(),
                _ => None,
            })
            .unwrap_or_default()
    }

    /// The engine's decision: a step that retries on 75 and never on 1, and only while
    /// its output says the failure was transient.
    #[test]
    fn the_core_retries_only_what_the_rules_let_through() {
        use crate::testkit::*;
        use baton_model::{StepOutcome, StepState};
        let policy = RetryPolicy {
            attempts: 5,
            delay: secs(1),
            ..RetryPolicy::default()
        };
        let mut c = baton_workflow::condition::parse(
            "attempt.exit_code == 2 || steps.a.outputs.kind == 'transient'",
        )
        .unwrap();
        c.resolve_steps(|_| 0);
        let p = plan()
            .step("a")
            .with(|s| {
                s.retry = policy;
                s.retry_rules = Some(Box::new(baton_workflow::RetryRules {
                    exits: exits(&[75, 2], &[1]),
                    condition: Some(c),
                }));
            })
            .build();
        let mut sim = Sim::new(p.clone(), cfg());
        let blip = StepOutcome::Exited { exit_code: 75 };
        sim.finish("a", blip.clone(), vec![("kind", "transient")]);
        assert_eq!(sim.state("a"), StepState::RetryWait, "75, transient");
        sim.tick_at(1000);
        sim.finish("a", blip, vec![("kind", "quota")]);
        assert_eq!(sim.state("a"), StepState::Failed, "75, but not transient");
        let why = last_reason(&sim);
        assert!(
            why.contains("not retried: retry.if: condition false"),
            "{why}"
        );
        assert!(why.contains(r#"steps.a.outputs.kind = "quota""#), "{why}");
        let mut sim = Sim::new(p.clone(), cfg());
        sim.exit("a", 1);
        assert_eq!(sim.state("a"), StepState::Failed, "never on 1");
        let why = last_reason(&sim);
        assert!(
            why.ends_with("not retried: exit code 1 is one of its retry.never_exit_code [1]"),
            "{why}"
        );
        let mut sim = Sim::new(p, cfg());
        sim.exit("a", 2);
        assert_eq!(sim.state("a"), StepState::RetryWait, "2 by its exit code");
        sim.tick_at(1000);
        sim.exit("a", 3);
        assert_eq!(sim.state("a"), StepState::Failed, "3 is not listed");
    }
}

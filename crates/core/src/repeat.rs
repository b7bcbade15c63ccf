//! A step's `repeat` (Dagu's `repeatPolicy`): whether an execution that ended is
//! followed by another. Pure: the core reads the condition's values and the clock.
use baton_workflow::condition::Condition;
use baton_workflow::{Repeat, RepeatMode};

/// How execution `n` (1-based) of a step with `r` ended.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ended {
    pub(crate) n: u32,
    /// Its exit code, when its process exited.
    pub(crate) exit_code: Option<i32>,
    /// It succeeded (exit 0, its outputs valid).
    pub(crate) succeeded: bool,
}

/// Whether the step runs again after `ended`: never past `limit` executions; with
/// `exit_code`, while the code is one listed (whatever it is); with a condition, after
/// a success only, while it holds (`while`) or until it does (`until`). `holds`
/// decides the condition (not asked otherwise).
pub(crate) fn again(r: &Repeat, ended: Ended, holds: impl FnOnce(&Condition) -> bool) -> bool {
    if r.limit.is_some_and(|l| ended.n >= l) {
        return false;
    }
    if !r.exit_codes.is_empty() {
        // An execution that did not exit (a signal, a timeout) ends it either way.
        return ended
            .exit_code
            .is_some_and(|c| r.exit_codes.contains(&c) == (r.mode == RepeatMode::While));
    }
    match &r.condition {
        Some(c) if ended.succeeded => holds(c) == (r.mode == RepeatMode::While),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn repeat(mode: RepeatMode, cond: Option<&str>, codes: &[i32], limit: Option<u32>) -> Repeat {
        Repeat {
            mode,
            condition: cond.map(|c| baton_workflow::condition::parse(c).unwrap()),
            exit_codes: codes.to_vec(),
            limit,
            interval: Duration::ZERO,
        }
    }

    fn ended(n: u32, code: i32) -> Ended {
        Ended {
            n,
            exit_code: Some(code),
            succeeded: code == 0,
        }
    }

    #[test]
    fn while_repeats_as_long_as_the_condition_holds_and_until_until_it_does() {
        let w = repeat(RepeatMode::While, Some("params.x == '1'"), &[], None);
        assert!(again(&w, ended(1, 0), |_| true));
        assert!(!again(&w, ended(1, 0), |_| false));
        let u = repeat(RepeatMode::Until, Some("params.x == '1'"), &[], None);
        assert!(!again(&u, ended(7, 0), |_| true));
        assert!(again(&u, ended(7, 0), |_| false));
    }

    #[test]
    fn a_failed_execution_ends_a_conditional_repeat_without_asking() {
        let u = repeat(RepeatMode::Until, Some("params.x == '1'"), &[], None);
        assert!(!again(&u, ended(1, 2), |_| panic!("not asked")));
    }

    #[test]
    fn exit_codes_repeat_while_listed_whatever_the_code() {
        let r = repeat(RepeatMode::While, None, &[75, 0], None);
        assert!(again(&r, ended(1, 75), |_| unreachable!()));
        assert!(again(&r, ended(1, 0), |_| unreachable!()));
        assert!(!again(&r, ended(1, 1), |_| unreachable!()));
        let signalled = Ended {
            n: 1,
            exit_code: None,
            succeeded: false,
        };
        assert!(!again(&r, signalled, |_| unreachable!()));
    }

    #[test]
    fn until_exit_codes_repeat_until_a_listed_code_comes() {
        let r = repeat(RepeatMode::Until, None, &[0], None);
        assert!(again(&r, ended(1, 75), |_| unreachable!()));
        assert!(again(&r, ended(2, 1), |_| unreachable!()));
        assert!(!again(&r, ended(3, 0), |_| unreachable!()));
        let signalled = Ended {
            n: 1,
            exit_code: None,
            succeeded: false,
        };
        assert!(!again(&r, signalled, |_| unreachable!()));
    }

    #[test]
    fn the_limit_counts_every_execution() {
        let r = repeat(RepeatMode::While, None, &[75], Some(3));
        assert!(again(&r, ended(2, 75), |_| true));
        assert!(!again(&r, ended(3, 75), |_| true));
    }
}

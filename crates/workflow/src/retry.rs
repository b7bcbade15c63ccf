//! Which failed attempts a step's `retry` tries again: by exit code (`exit_code`, the
//! codes it retries on; `never_exit_code`, those it never retries on: Dagu's
//! `retryPolicy.exitCode`), and by its `if` over the last attempt (Argo's
//! `retryStrategy.expression`, in the step's rare part). What the engine decides from
//! them is in the core (`baton_core`'s `retry`). They are the step's own (a step's
//! `retry` table, not `[defaults]` nor a `fallback` entry's), in its rare part: a
//! plan's step stays small.
use std::fmt;

/// A set of exit codes 0..=255 (a process's exit status has eight bits): a bit each.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct ExitSet([u64; 4]);

impl ExitSet {
    pub const EMPTY: ExitSet = ExitSet([0; 4]);

    /// `code` added; a code outside 0..=255 is never a process's exit status and is
    /// left out (the loader refuses it first).
    pub fn with(mut self, code: i32) -> Self {
        if let Ok(c) = u8::try_from(code) {
            self.0[usize::from(c / 64)] |= 1 << (c % 64);
        }
        self
    }

    pub fn contains(&self, code: i32) -> bool {
        u8::try_from(code).is_ok_and(|c| self.0[usize::from(c / 64)] & (1 << (c % 64)) != 0)
    }

    pub fn is_empty(&self) -> bool {
        self.0 == [0; 4]
    }

    /// The codes, lowest first.
    pub fn codes(&self) -> impl Iterator<Item = i32> + '_ {
        (0..=255).filter(|c| self.contains(*c))
    }
}

impl FromIterator<i32> for ExitSet {
    fn from_iter<I: IntoIterator<Item = i32>>(iter: I) -> Self {
        iter.into_iter().fold(ExitSet::default(), ExitSet::with)
    }
}

impl fmt::Debug for ExitSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.codes()).finish()
    }
}

impl fmt::Display for ExitSet {
    /// As written in a workflow: `[75, 76]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let codes: Vec<String> = self.codes().map(|c| c.to_string()).collect();
        write!(f, "[{}]", codes.join(", "))
    }
}

/// A retry's exit-code rules: `exit_code` (empty: any failure is retried) and
/// `never_exit_code` (checked first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RetryExits {
    pub only: ExitSet,
    pub never: ExitSet,
}

impl RetryExits {
    pub fn is_blank(&self) -> bool {
        self.only.is_empty() && self.never.is_empty()
    }
}

/// A step's retry rules (kept in its rare part: most steps have none).
#[derive(Debug, Clone, Default)]
pub struct RetryRules {
    pub exits: RetryExits,
    /// `if`: the `if` language over `attempt.exit_code`, the step's own outputs (the
    /// failed attempt's), params and `run.id`.
    pub condition: Option<super::condition::Condition>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exit_set_holds_each_code_of_a_byte_and_nothing_else() {
        let s: ExitSet = [0, 1, 63, 64, 75, 255, 256, -1].into_iter().collect();
        assert_eq!(s.codes().collect::<Vec<_>>(), [0, 1, 63, 64, 75, 255]);
        assert!(!s.contains(256) && !s.contains(-1) && !s.contains(2));
        assert_eq!(s.to_string(), "[0, 1, 63, 64, 75, 255]");
        assert!(ExitSet::default().is_empty());
    }
}

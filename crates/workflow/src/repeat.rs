//! `repeat`: a step that runs again after it ended, while (or until) a condition
//! holds or while its exit code is one listed (Dagu's `repeatPolicy`). What the
//! engine decides from it is in the core (`crates/core/src/repeat.rs`).
use super::condition::Condition;
use std::time::Duration;

/// Whether the step runs again while its test holds, or until it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepeatMode {
    While,
    Until,
}

impl RepeatMode {
    pub fn as_str(self) -> &'static str {
        match self {
            RepeatMode::While => "while",
            RepeatMode::Until => "until",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Repeat {
    pub mode: RepeatMode,
    /// `while`/`until = "COND"`: the `if` language over params and the step's own
    /// outputs (`steps.ID.outputs.KEY`, the last execution's), decided after each
    /// execution that succeeded.
    pub condition: Option<Condition>,
    /// `exit_code = [..]`: it runs again while its exit code is one of them (Dagu's
    /// `exitCode`), a listed non-zero code then no failure; with `mode` `Until`
    /// (`until_exit_code`), until it is one of them, an unlisted code then no failure.
    pub exit_codes: Vec<i32>,
    /// Executions in all (the first one included); none: no bound.
    pub limit: Option<u32>,
    /// The wait between an execution's end and the next one's start.
    pub interval: Duration,
}

//! What became of a command on a run, printed once: a line for a person, or with
//! `--json` one object whose `refused.code` a script reads (`model::Refusal::code`;
//! the message is the refusal's one wording, as the line says it).
use super::exit;
use crate::model::{Refusal, RunState};
use crate::session::{self, SessionError};
use serde_json::json;

/// How a verdict is printed: `--json` or lines.
#[derive(Debug, Clone, Copy)]
pub struct Verdict {
    pub json: bool,
}

impl Verdict {
    /// Accepted: `line` for a person (exit 0 is the caller's to decide).
    pub fn accepted(self, run_id: &str, message: &str, line: &str) {
        if self.json {
            let v = json!({ "run_id": run_id, "accepted": { "message": message } });
            crate::stdio::outln!("{v}");
        } else {
            crate::stdio::outln!("{line}");
        }
    }

    /// Refused: the refusal's words, and its exit code (2 when the command as given
    /// can never apply, else 1). `state`: the run's state, when known.
    pub fn refused(self, run_id: &str, state: Option<RunState>, refusal: &Refusal) -> i32 {
        if self.json {
            let v = json!({ "run_id": run_id, "run_state": state, "refused": refusal.json() });
            crate::stdio::outln!("{v}");
        } else {
            // An ask (`baton ask`) has no run: it is named as the ask it is.
            let line = match state {
                _ if crate::model::ask::is_ask_id(run_id) => {
                    format!("refused: {refusal} (ask {run_id})")
                }
                Some(state) => format!("refused: {refusal} (run {run_id} is {state})"),
                None => format!("refused: {refusal} (run {run_id})"),
            };
            // A command wrong as given is a usage error, said where usage errors are.
            if refusal.fix_the_command() {
                crate::stdio::errln!("error: {line}");
            } else {
                crate::stdio::outln!("{line}");
            }
        }
        exit::refused(refusal)
    }

    /// Recorded for an engine to come (`for_starter`: that account's).
    pub fn recorded(self, run_id: &str, id: i64, for_starter: Option<&str>, line: &str) {
        if self.json {
            let v = json!({ "run_id": run_id, "recorded": { "command": id, "for": for_starter } });
            crate::stdio::outln!("{v}");
        } else {
            crate::stdio::outln!("{line}");
        }
    }

    /// An error from the session: a refusal as [`Verdict::refused`], the rest as
    /// every command reports it.
    pub fn error(self, e: &SessionError) -> i32 {
        match e {
            SessionError::Refused {
                run_id,
                state,
                refusal,
            } => self.refused(run_id, Some(*state), refusal),
            other => session::report(other),
        }
    }
}

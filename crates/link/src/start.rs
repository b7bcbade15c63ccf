//! A new run from the console (issue 58 point 6) and two runs' differences (point 8),
//! as the session answers the console's requests for them.
use baton_model::InputView;
use std::path::PathBuf;

/// A workflow's params as the console's run form asks for them, read by the session
/// from the file as `baton run FILE` reads it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RunForm {
    /// The file as it was named (the run records its canonical path).
    pub file: PathBuf,
    pub workflow: String,
    /// The schedule (by number) whose form this is, if any.
    pub schedule: Option<u32>,
    /// Its `[params]`, in the workflow's order.
    pub params: Vec<FormParam>,
    /// The labels the schedule starts its runs with (the form's labels field starts
    /// from them); none without a schedule.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub labels: baton_model::labels::Labels,
}

/// What a start from the run form made: a run, started (or queued), or skipped by its
/// concurrency group (made and ended at once: no success to mark).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Started {
    /// `started run 01J… of release`, and what its group decided.
    pub message: String,
    /// Its concurrency group skipped it (`on_conflict = "skip"`).
    pub skipped: bool,
    /// The run made, which the service then shows (empty from a baton that did not say
    /// it).
    #[serde(default)]
    pub run_id: String,
}

/// One of a workflow's params in the run form.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FormParam {
    /// Its type, default, pattern and description, as a gate's input is shown.
    pub input: InputView,
    /// `secret = true`: typed hidden, never drawn.
    pub secret: bool,
    /// The value the schedule whose form this is runs it with (its `params`): the
    /// field starts from it; `input.default` stays the workflow's.
    pub scheduled: Option<String>,
}

/// What changed between two runs (`baton diff A B`), as the Runs tab shows it: none
/// when they recorded the same workflow text and params.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RunsDiff {
    /// The `---` side.
    pub a: String,
    /// The `+++` side.
    pub b: String,
    pub lines: Vec<baton_model::run_diff::Line>,
}

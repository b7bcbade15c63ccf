//! A new run from the console (issue 58 point 6) and two runs' differences (point 8),
//! as the session answers the console's requests for them.
use baton_model::InputView;
use std::path::PathBuf;

/// A workflow's params as the console's run form asks for them, read by the session
/// from the file as `baton run FILE` reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunForm {
    /// The file as it was named (the run records its canonical path).
    pub file: PathBuf,
    pub workflow: String,
    /// Its `[params]`, in the workflow's order.
    pub params: Vec<FormParam>,
}

/// One of a workflow's params in the run form.
#[derive(Debug, Clone, PartialEq)]
pub struct FormParam {
    /// Its type, default, pattern and description, as a gate's input is shown.
    pub input: InputView,
    /// `secret = true`: typed hidden, never drawn.
    pub secret: bool,
}

/// What changed between two runs (`baton diff A B`), as the Runs tab shows it: none
/// when they recorded the same workflow text and params.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunsDiff {
    /// The `---` side.
    pub a: String,
    /// The `+++` side.
    pub b: String,
    pub lines: Vec<baton_model::run_diff::Line>,
}

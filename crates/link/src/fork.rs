//! What a fork (or a retry of the failed steps) would do, as the console's confirm
//! shows it before it is asked.

/// What a fork would do, by step id, as the console's fork dialog lists it: the core's
/// own plan (`session::fork::plan`, as `baton fork --dry-run` prints it), never a copy
/// of its rules.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Preview {
    pub run: String,
    pub step: String,
    /// The steps that run again, in plan order.
    pub rerun: Vec<String>,
    /// The steps kept as recorded, in the order the fork records them (a fanned-out
    /// step's instances before it).
    pub reused: Vec<String>,
    /// Another account's run (group store): its starter, whom the dialog names and the
    /// confirmed fork passes on as `--from-run-of`.
    pub starter: Option<String>,
}

/// What `baton retry RUN --failed` would take up, as the console's confirm lists it:
/// the core's own answer (`Core::failed_retry`), never a copy of its rules.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RetryPreview {
    pub run: String,
    /// The failed, timed-out and fail-fast-cancelled steps and instances that run again.
    pub steps: Vec<String>,
    /// Interrupted steps left to be retried or marked one by one.
    pub left: Vec<String>,
}

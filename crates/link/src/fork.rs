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
    /// The run's workflow, as its record names it.
    #[serde(default)]
    pub workflow: String,
    /// The recorded workflow's `[params]`, in its order, each with the run's value: the
    /// dialog's fields start from them, and a changed one goes into the fork as `baton
    /// fork --param` puts it.
    #[serde(default)]
    pub params: Vec<ForkParam>,
}

/// One of a forked run's params as the fork dialog asks for it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ForkParam {
    /// Its type, pattern and description as declared; a secret's default is left out.
    pub input: baton_model::InputView,
    /// `secret = true`: never stored, so not carried: given again (typed hidden).
    pub secret: bool,
    /// The run's value, as recorded; `None` for a secret (the store holds no value of
    /// it, and none crosses to the console).
    pub recorded: Option<String>,
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

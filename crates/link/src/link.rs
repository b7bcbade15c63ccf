//! The link itself: what the console is sent (watched values, newest wins) and what it
//! asks (requests, each with a channel for its answer).
use baton_model::{Command, CommandOutcome, Refusal, RunView, SharedRuns};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, watch};

/// What the console is connected to: the shown run's live view, the store's run list,
/// the runs this console drives, and where its requests go.
pub struct ConsoleLink {
    pub view: watch::Receiver<Arc<RunView>>,
    pub runs: watch::Receiver<SharedRuns>,
    /// `false` while `runs` is the newest page only and the rest is being read (set
    /// before the whole list is sent).
    pub runs_complete: watch::Receiver<bool>,
    /// Ids of the runs this console's process drives (quitting interrupts exactly these).
    pub driven: watch::Receiver<Arc<Vec<String>>>,
    /// What waits on this console's operator across every run (`session::inbox`).
    pub waiting: watch::Receiver<Arc<Vec<baton_model::inbox::Waiting>>>,
    /// The schedules `baton serve` serves (`session::schedules`).
    pub schedules: watch::Receiver<Arc<crate::Board>>,
    /// The decisions recorded in the store since the console opened, every run's
    /// (`session::news`), newest last.
    pub news: watch::Receiver<Arc<Vec<crate::News>>>,
    /// How long the shown run's steps took before: its ETA goes by them.
    pub expected: watch::Receiver<Arc<Expected>>,
    pub requests: mpsc::Sender<ConsoleRequest>,
    /// An ended run's log times, read from the store when a log is opened.
    pub log_times: Option<baton_model::logtimes::StoredTimes>,
    /// A store on another host: its name and whether its link is up (`None`, and no
    /// sender, for a store on this machine). On a console over several stores, the
    /// shown run's store.
    pub store: watch::Receiver<Option<Arc<StoreStatus>>>,
    /// A console over several stores (`baton tui --store A --store B`, `--all-stores`):
    /// each store's state and which store each listed run is on (empty: one store).
    pub desk: watch::Receiver<Arc<crate::Desk>>,
}

/// A store reached through a link, as the console's header and Stores list show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreStatus {
    /// Its `[[store]]` name.
    pub name: String,
    /// Where it is: the host `ssh` reaches, or the file of a store on this machine.
    pub host: String,
    pub state: LinkState,
}

/// Where a store's link stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkState {
    Connected,
    /// Trying again after a drop or a failed try.
    Connecting,
    /// Not connected, and why (ssh's or the remote baton's words); tried again at
    /// `retry_at`.
    Down {
        why: String,
        retry_at: Option<baton_model::Timestamp>,
    },
    /// The other side will not speak with this baton (another version: both named);
    /// tried again at `retry_at` (it may be upgraded meanwhile).
    Refused {
        why: String,
        retry_at: Option<baton_model::Timestamp>,
    },
}

impl LinkState {
    /// `connected`, `connecting`, `reconnecting in 4s: WHY`, `refused: WHY`, at `now`.
    pub fn describe(&self, now: baton_model::Timestamp) -> String {
        let again = |at: &Option<baton_model::Timestamp>| match at {
            Some(at) => format!("reconnecting in {}s", ((at.0 - now.0).max(0) + 999) / 1000),
            None => "reconnecting".to_string(),
        };
        match self {
            LinkState::Connected => "connected".into(),
            LinkState::Connecting => "connecting…".into(),
            LinkState::Down { why, retry_at } => format!("{}: {why}", again(retry_at)),
            LinkState::Refused { why, retry_at } => {
                format!("refused ({}): {why}", again(retry_at))
            }
        }
    }

    pub fn is_connected(&self) -> bool {
        *self == LinkState::Connected
    }
}

/// How long a run's steps took in its workflow's newest successful run (ms by step
/// id; empty when it never succeeded): the console's estimate of the time the run has
/// left goes by them (`model::eta`).
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Expected {
    pub run_id: String,
    pub ms: BTreeMap<String, u64>,
    /// Why the durations could not be read from the store, when they could not: the
    /// estimate then says so instead of reading `unknown` as if no run had succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unread: Option<String>,
}

#[derive(Debug)]
pub enum ConsoleRequest {
    /// A command on `run_id`, or on the run on screen when `None`.
    Command {
        run_id: Option<String>,
        command: Command,
        reply: oneshot::Sender<CommandOutcome>,
    },
    /// Show another run.
    OpenRun(String),
    /// Read every run of a large store now (the Runs tab or a jump needs them), not
    /// only once the runs this console drives have ended.
    ReadAllRuns,
    /// Drive an interrupted run here, and show it: what the takeover did, or why not.
    Resume {
        run_id: String,
        reply: oneshot::Sender<Result<String, Refusal>>,
    },
    /// What a fork of a run from a step would do, as `baton fork --dry-run` says it (the
    /// core's plan: what runs again, what is reused), or the core's refusal. Nothing is
    /// written: the console's fork dialog shows it before `Fork` is asked.
    ForkPlan {
        run_id: String,
        step: String,
        reply: oneshot::Sender<Result<crate::ForkPreview, Refusal>>,
    },
    /// What `baton retry RUN --failed` would run again (the core's answer), or its
    /// refusal. Nothing is written: the console's confirm lists it first.
    RetryFailedPlan {
        run_id: String,
        reply: oneshot::Sender<Result<crate::RetryPreview, Refusal>>,
    },
    /// Fork a finished run from a step (as `baton fork RUN --from STEP`) and drive the
    /// fork here, showing it: what it reruns and reuses, or why not.
    Fork {
        run_id: String,
        step: String,
        /// Another account's run: its starter, as the confirmed dialog named it
        /// (`baton fork --from-run-of`).
        from_run_of: Option<String>,
        /// The params the dialog changed (and the secrets given again), on top of the
        /// run's recorded ones exactly as `baton fork --param` puts them.
        params: Vec<(String, String)>,
        reply: oneshot::Sender<Result<String, Refusal>>,
    },
    /// Delete a finished or interrupted run (as `baton runs rm`): what was deleted, or
    /// why not.
    DeleteRun {
        run_id: String,
        reply: oneshot::Sender<Result<String, Refusal>>,
    },
    /// The params of the workflow in `file`, for the run form (its load error, in the
    /// loader's words, when it does not load), each with its default, or the value the
    /// file's `schedule` (its number, `nightly#2`'s 2) gives it. Nothing is written.
    RunForm {
        file: std::path::PathBuf,
        schedule: Option<u32>,
        reply: oneshot::Sender<Result<crate::RunForm, Refusal>>,
    },
    /// Start a run of `file` with `params` exactly as `baton run FILE --param …` does
    /// (the same checks, the operator's OS account on record) and drive it here,
    /// showing it: what was started (or that its group skipped it), or why not.
    StartRun {
        file: std::path::PathBuf,
        params: Vec<(String, String)>,
        reply: oneshot::Sender<Result<crate::Started, Refusal>>,
    },
    /// What changed between runs `a` and `b` (as `baton diff A B`). Nothing is written.
    DiffRuns {
        a: String,
        b: String,
        reply: oneshot::Sender<Result<crate::RunsDiff, Refusal>>,
    },
    /// Step `step`'s history across the newest runs of `workflow` (as `baton history
    /// WORKFLOW STEP` reads it: `model::step_trend::DEFAULT_RUNS` runs at most). `run_id`
    /// is the run on screen, which says on a console over several stores whose store
    /// to read. Nothing is written.
    StepHistory {
        run_id: String,
        workflow: String,
        step: String,
        reply: oneshot::Sender<Result<baton_model::step_trend::StepTrend, Refusal>>,
    },
    /// A note on a run (on its step `step`, if given), recorded as `baton note`
    /// records it (`session::note::add`: under the OS account of the process that
    /// writes it): that account, or why not.
    Note {
        run_id: String,
        step: Option<String>,
        text: String,
        reply: oneshot::Sender<Result<String, Refusal>>,
    },
    /// Pause, resume or trigger a schedule, as `baton schedule …` does, under this
    /// console's operator.
    Schedule {
        act: crate::Act,
        target: String,
        reason: String,
        reply: oneshot::Sender<CommandOutcome>,
    },
}

//! What the operator asks for, what `update` asks of the shell, and what a click can hit.
use baton_model::{Command, CommandOutcome, Refusal};
use crossterm::event::KeyEvent;
use ratatui::layout::Rect;

pub use super::tabs::Tab;

/// What the operator asked for (from the keymap) or what the shell reports back. The
/// name an action has in the config's `[keys]` is its variant's in snake case, or the
/// one given here.
#[derive(Debug, Clone, PartialEq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum Action {
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    /// Open the `:` prompt: jump to a run or a step by id.
    Jump,
    /// Half a page (`less`'s Ctrl-u/Ctrl-d).
    HalfPageUp,
    HalfPageDown,
    Top,
    Bottom,
    #[strum(transparent)]
    GoTab(Tab),
    NextTab,
    PrevTab,
    #[strum(serialize = "open")]
    Enter,
    Approve,
    Reject,
    /// Push the gate back with feedback: its `revise` steps run again (`baton push-back`).
    PushBack,
    Retry,
    /// Runs and DAG: run every failed step of the run again (asks first; `baton retry
    /// RUN --failed`).
    RetryFailed,
    /// Set a step's outcome by hand (a reason and a confirm; `baton mark`).
    Mark,
    /// Hold the selected step (a running one is frozen) or release a held one; in the
    /// Runs tab, the selected run; in the Waiting tab, release the held item
    /// (`baton hold`/`release`).
    Hold,
    /// DAG: fork the finished run from the selected step (asks first; `baton fork`).
    Fork,
    /// A note on the highlighted run (Runs, Waiting) or step (DAG), on record under
    /// the OS account (`baton note`; `app::note`).
    Note,
    #[strum(serialize = "cancel")]
    CancelRun,
    Filter,
    Log,
    /// DAG: every step's log of the run in one view, merged (`logmerge`).
    AllLogs,
    /// DAG: the selected step across the newest runs of its workflow (`baton history`;
    /// `app::history`).
    History,
    #[strum(serialize = "graph")]
    ToggleGraph,
    /// Graph: zoom out to one cell per step, the viewport marked (and back).
    Overview,
    /// DAG: open a fanned-out step to its instances, or close it again (`app::fan`).
    Expand,
    #[strum(serialize = "health")]
    ToggleHealth,
    /// The decisions others recorded (`!`).
    Notices,
    /// What this console did (`@`, as lazygit's command log).
    ActionLog,
    /// Every time in the console: relative (`3m ago`, `+4m12s`) or wall clock.
    #[strum(serialize = "time")]
    ToggleTime,
    /// Put the selected thing on the clipboard (OSC 52).
    Copy,
    /// Runs tab: the next sort order (started, duration, state).
    Sort,
    /// Runs tab: delete the selected run (asks first).
    Delete,
    /// An `[[action]]` of the configuration (its index there): its command on the
    /// selection (`app::user_actions`).
    #[strum(serialize = "user_action")]
    User(usize),
    /// The shell's word on an `[[action]]` still running: its output so far (sanitised,
    /// its last lines) and the bytes before them not kept.
    UserOutput {
        id: u64,
        lines: Vec<String>,
        cut: u64,
    },
    /// The shell's answer: an `[[action]]`'s command ended, or could not start.
    UserDone(Box<super::user_actions::Finished>),
    /// Schedules tab: pause the selected schedule (a reason, a confirm).
    Pause,
    /// Schedules tab: start a run of the selected schedule's workflow now (a reason, a
    /// confirm).
    Trigger,
    /// Schedules tab: the run form of the selected schedule's workflow (its params,
    /// defaults filled in), which starts a run this console drives (`app::run_form`).
    NewRun,
    /// Runs tab: mark the selected run, then on another show what changed between their
    /// workflow texts and params (`baton diff`; `app::run_diff`).
    Diff,
    /// The answer to `Request::RunForm`: the workflow's params, or why it does not load.
    RunFormRead {
        file: std::path::PathBuf,
        result: Result<baton_link::RunForm, Refusal>,
    },
    /// The answer to `Request::StartRun`: what was started (the service shows it), or
    /// why not.
    Started {
        workflow: String,
        result: Result<baton_link::Started, Refusal>,
    },
    /// The answer to `Request::StepHistory`.
    Historied {
        run_id: String,
        workflow: String,
        step: String,
        result: Result<baton_model::step_trend::StepTrend, Refusal>,
    },
    /// The answer to `Request::DiffRuns`.
    Diffed {
        a: String,
        b: String,
        result: Result<baton_link::RunsDiff, Refusal>,
    },
    /// The answer to `Request::Note`: the account it is on record as, or why not.
    Noted {
        run_id: String,
        step: Option<String>,
        result: Result<String, Refusal>,
    },
    /// The answer to a delete request.
    Deleted {
        run_id: String,
        result: Result<String, Refusal>,
    },
    /// A left click at a screen cell: selects what was drawn there.
    Click {
        col: u16,
        row: u16,
    },
    Help,
    Quit,
    /// Esc: close or clear whatever is on top.
    Back,
    Resume,
    Follow,
    Wrap,
    /// Show when each log line was written.
    Timestamps,
    /// The log of the step's previous / next attempt.
    PrevAttempt,
    NextAttempt,
    Search,
    SearchNext,
    SearchPrev,
    /// The approve dialog: edit the field (or the reason) in `$EDITOR` (issue 44 point 2).
    Editor,
    /// What the editor left (the shell's answer to `Request::Edit`).
    Edited(Result<String, crate::editor::EditorError>),
    /// Enter in a dialog or an input line.
    Confirm,
    NewLine,
    Yes,
    No,
    /// Leave, handing the runs this console drives to a background engine.
    Detach,
    /// Leave, the runs this console drives left interrupted (the quit dialog's `i`:
    /// its `y` is Yes to quitting, which detaches, as everywhere `y` is the safe Yes).
    Interrupt,
    SwitchButton,
    /// A key for a text field (filter, search, reason).
    Key(KeyEvent),
    /// The engine's answer to a command sent earlier.
    Outcome(CommandOutcome),
    /// The answer to `F` (`Request::ForkPlan`): what a fork of `run_id` from `step` would
    /// do, in the core's words, or why there is none.
    ForkPlanned {
        run_id: String,
        step: String,
        /// Boxed: a preview with its params would make every `Action` as large.
        result: Result<Box<super::fork::ForkPreview>, Refusal>,
    },
    /// The answer to `f` (`Request::RetryFailedPlan`): what a retry of the run's failed
    /// steps would run, in the core's words, or why nothing.
    RetryFailedPlanned {
        run_id: String,
        result: Result<super::retry_failed::RetryPreview, Refusal>,
    },
    /// The answer to a fork request: the fork's id and what it did, or why not.
    Forked {
        run_id: String,
        step: String,
        result: Result<String, Refusal>,
    },
    /// The answer to a resume request.
    Resumed {
        run_id: String,
        /// What the takeover did (`this console now drives …`), or why not.
        result: Result<String, Refusal>,
    },
}

/// How the console ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsoleExit {
    Quit,
    /// The operator confirmed quitting while steps run: interrupt the run (it stays resumable).
    Interrupt,
    /// Hand each run this console drives to a background engine, then quit.
    Detach,
}

/// What `update` asks the shell to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// A command on the run on screen.
    Command(Command),
    /// A command on another run (from the Waiting tab), taken over as the CLI does.
    CommandOn {
        run_id: String,
        command: Command,
    },
    /// Delete a run from the store (the session's `runs rm`).
    DeleteRun(String),
    /// Put a note on a run or one of its steps (the session's `baton note`); the answer
    /// comes back as `Action::Noted`.
    Note {
        run_id: String,
        step: Option<String>,
        text: String,
    },
    /// Pause, resume or trigger a schedule (the session's `baton schedule …`).
    Schedule {
        act: baton_link::Act,
        target: String,
        reason: String,
    },
    /// Put this text on the clipboard.
    Copy(String),
    /// Edit this text in the operator's editor, the terminal handed over meanwhile; the
    /// answer comes back as `Action::Edited`.
    Edit(String),
    OpenRun(String),
    Resume(String),
    /// What a fork of a run from a step would do (the session's `baton fork --dry-run`);
    /// the answer comes back as `Action::ForkPlanned`.
    ForkPlan {
        run_id: String,
        step: String,
    },
    /// What `baton retry RUN --failed` would run again; the answer comes back as
    /// `Action::RetryFailedPlanned`.
    RetryFailedPlan {
        run_id: String,
    },
    /// Fork a finished run from a step (`baton fork`); this console drives the fork.
    Fork {
        run_id: String,
        step: String,
        /// Another account's run: its starter, named in the confirmed dialog.
        from_run_of: Option<String>,
        /// The params the fork form changed, as `baton fork --param` gives them.
        params: Vec<(String, String)>,
    },
    /// Run an `[[action]]`'s command, a child of this console; the answer comes back as
    /// `Action::UserDone`.
    RunAction(Box<super::user_actions::Prepared>),
    /// The params of the workflow in `file`, for the run form (`Action::RunFormRead`);
    /// from a schedule, its number (the form starts from the values it runs with).
    RunForm {
        file: std::path::PathBuf,
        schedule: Option<u32>,
    },
    /// Start a run of `file` with `params` (as `baton run FILE --param …`); this console
    /// drives it and shows it (`Action::Started`).
    StartRun {
        file: std::path::PathBuf,
        workflow: String,
        params: Vec<(String, String)>,
    },
    /// What changed between runs `a` and `b` (as `baton diff A B`; `Action::Diffed`).
    DiffRuns {
        a: String,
        b: String,
    },
    /// A step across the newest runs of its workflow (`baton history`'s read;
    /// `Action::Historied`). `run_id` is the run on screen (its store, on a desk).
    StepHistory {
        run_id: String,
        workflow: String,
        step: String,
    },
    Exit(ConsoleExit),
}

/// Something a click selects, recorded by the views where they draw it (so what is
/// clicked is exactly what is on screen).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hit {
    Tab(Tab),
    Step(usize),
    Gate(usize),
    Error(usize),
    Audit(usize),
    Run(usize),
    /// A line of the Waiting tab.
    Waiting(usize),
    /// A line of the Schedules tab.
    Schedule(usize),
    /// A line of the full-screen log.
    LogLine(usize),
}

/// Where a frame drew clickable things, in drawing order: the views fill it as they draw,
/// the shell keeps the last frame's in `UiState::hits`, and a click picks from it. With
/// them, how far the action output pane could scroll in that frame (its keys go by it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hits {
    drawn: Vec<(Rect, Hit)>,
    pane_max_top: Option<usize>,
}

impl Hits {
    /// Note that `hit` was drawn in `area`.
    pub fn record(&mut self, area: Rect, hit: Hit) {
        self.drawn.push((area, hit));
    }

    /// What was drawn at a cell; the last drawn wins (it is on top).
    pub fn at(&self, col: u16, row: u16) -> Option<Hit> {
        let pos = ratatui::layout::Position { x: col, y: row };
        self.drawn
            .iter()
            .rev()
            .find(|(r, _)| r.contains(pos))
            .map(|(_, h)| *h)
    }

    /// Note that the action output pane was drawn, `max_top` its last first row (the
    /// one that shows its last row at the bottom).
    pub fn pane_drawn(&mut self, max_top: usize) {
        self.pane_max_top = Some(max_top);
    }

    /// The action output pane's last first row, if the frame drew it.
    pub fn pane_max_top(&self) -> Option<usize> {
        self.pane_max_top
    }

    /// What was drawn, in drawing order.
    pub fn drawn(&self) -> impl Iterator<Item = Hit> + '_ {
        self.drawn.iter().map(|(_, h)| *h)
    }
}

//! The full-screen log: its state, scrolling, attempts and search.
use super::actions::{Action, Hit, Request};
use super::state::UiState;
use super::update::{copy, edit_line};
use baton_model::{RunView, Timestamp};

/// The full-screen log. `update` moves through it knowing only how many lines there are
/// and how many rows show; the shell (`event_loop`) reads the file and keeps `window`
/// covering what is on screen, and runs searches (`find`) over the whole file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogState {
    pub step: usize,
    /// Every step's log, merged (`logmerge`); `step` and `attempt` then unused.
    pub all: bool,
    /// The attempt shown; `None`: the step's latest (a new attempt is followed).
    pub attempt: Option<u32>,
    /// The first line shown while not following.
    pub top: usize,
    /// Show the end and keep showing it as output arrives.
    pub follow: bool,
    pub wrap: bool,
    /// Prefix each line with the time it was written.
    pub timestamps: bool,
    pub search: String,
    pub searching: bool,
    /// The marked line: the current match, or a line clicked (`y` copies it, and the
    /// next search starts from it).
    pub matched: Option<usize>,
    /// A search the shell is asked to run: forward (`n`) or backward (`N`).
    pub find: Option<bool>,
    /// Lines in the log so far (set by the shell).
    pub total: usize,
    /// Rows of text on screen (set by the shell from the terminal's size).
    pub rows: usize,
    /// Lines `window_start..` of the log, as the shell read them.
    pub window_start: usize,
    pub window: std::sync::Arc<Vec<String>>,
    /// When each line of `window` was written, if known (same length or empty).
    pub times: std::sync::Arc<Vec<Option<Timestamp>>>,
    /// Where the lines come from, for the title (a file path or "the recorded tail").
    pub source: Option<String>,
}

impl LogState {
    pub fn new(step: usize, attempt: Option<u32>) -> LogState {
        LogState {
            step,
            all: false,
            attempt,
            top: 0,
            follow: true,
            wrap: false,
            timestamps: false,
            search: String::new(),
            searching: false,
            matched: None,
            find: None,
            total: 0,
            rows: 0,
            window_start: 0,
            window: Default::default(),
            times: Default::default(),
            source: None,
        }
    }

    /// Every step's log of the run, merged.
    pub fn all() -> LogState {
        LogState {
            all: true,
            ..LogState::new(0, None)
        }
    }

    /// The last `top` there is: the one that shows the last line at the bottom.
    pub fn max_top(&self) -> usize {
        self.total.saturating_sub(self.rows.max(1))
    }

    /// The first line on screen (following: the last page).
    pub fn first_shown(&self) -> usize {
        if self.follow {
            self.max_top()
        } else {
            self.top.min(self.max_top())
        }
    }

    /// The lines the screen needs: at most a screenful from the first shown (a wrapped
    /// line takes at least one row).
    pub fn needed(&self) -> std::ops::Range<usize> {
        let start = self.first_shown();
        start..(start + self.rows.max(1)).min(self.total)
    }

    /// Line `i` of the log, if it is in the window.
    pub fn line(&self, i: usize) -> Option<&str> {
        i.checked_sub(self.window_start)
            .and_then(|j| self.window.get(j))
            .map(String::as_str)
    }

    /// When line `i` was written, if known.
    pub fn time(&self, i: usize) -> Option<Timestamp> {
        i.checked_sub(self.window_start)
            .and_then(|j| self.times.get(j).copied().flatten())
    }

    /// The attempt shown, given the step's latest.
    pub fn attempt_of(&self, latest: u32) -> u32 {
        self.attempt.unwrap_or(latest).min(latest)
    }
}

pub(super) fn search_input(ui: &mut UiState, action: Action) -> Vec<Request> {
    let Some(log) = ui.log.as_mut() else {
        return Vec::new();
    };
    match action {
        Action::Back => {
            log.searching = false;
            log.search.clear();
            log.matched = None;
        }
        Action::Confirm => {
            log.searching = false;
            log.matched = None;
            log.find = Some(true);
        }
        Action::Key(k) => edit_line(&mut log.search, k),
        _ => {}
    }
    Vec::new()
}

/// Where a search starts: the current match, else the line at the top of the screen
/// (forward; so the first match shown is at or after it) or at the bottom (backward).
pub(crate) fn search_from(log: &LogState, forward: bool) -> usize {
    match log.matched {
        Some(m) => m,
        None if forward => log.first_shown().checked_sub(1).unwrap_or(log.total),
        None => (log.first_shown() + log.rows).min(log.total),
    }
}

/// Show the match at `line`, a third down the screen (or nothing matched).
pub(crate) fn show_match(log: &mut LogState, line: Option<usize>) {
    log.matched = line;
    if let Some(i) = line {
        log.follow = false;
        log.top = i.saturating_sub(log.rows / 3).min(log.max_top());
    }
}

pub(super) fn log_view(ui: &mut UiState, view: &RunView, action: Action) -> Vec<Request> {
    let clicked = match action {
        Action::Copy => return copy(ui, view),
        Action::Click { col, row } => ui.hits.at(col, row),
        _ => None,
    };
    let Some(log) = ui.log.as_mut() else {
        return Vec::new();
    };
    let page = log.rows.saturating_sub(1).max(1);
    let at = log.first_shown();
    let scroll_to = |log: &mut LogState, top: usize| {
        log.top = top.min(log.max_top());
        // Back at the end: follow again, as `less +F` does.
        log.follow = log.top >= log.max_top() && top >= log.max_top();
    };
    match action {
        Action::Back => ui.log = None,
        Action::Up => scroll_to(log, at.saturating_sub(1)),
        Action::PageUp => scroll_to(log, at.saturating_sub(page)),
        Action::Down => scroll_to(log, at + 1),
        Action::PageDown => scroll_to(log, at + page),
        Action::HalfPageUp => scroll_to(log, at.saturating_sub(page.div_ceil(2))),
        Action::HalfPageDown => scroll_to(log, at + page.div_ceil(2)),
        Action::Top => {
            log.top = 0;
            log.follow = false;
        }
        Action::Bottom => log.follow = true,
        Action::Follow => {
            log.follow = !log.follow;
            log.top = at;
        }
        Action::Wrap => log.wrap = !log.wrap,
        Action::Timestamps => log.timestamps = !log.timestamps,
        Action::PrevAttempt | Action::NextAttempt if !log.all => {
            let latest = view.steps.get(log.step).map_or(0, |s| s.attempts);
            let cur = log.attempt_of(latest);
            let next = if action == Action::NextAttempt {
                (cur + 1).min(latest)
            } else {
                cur.saturating_sub(1).max(1)
            };
            if next != cur && latest > 0 {
                let (step, keep) = (log.step, log.clone());
                let mut fresh = LogState::new(step, (next < latest).then_some(next));
                fresh.wrap = keep.wrap;
                fresh.timestamps = keep.timestamps;
                fresh.search = keep.search;
                *log = fresh;
            }
        }
        Action::Search => {
            log.searching = true;
            log.search.clear();
        }
        Action::SearchNext | Action::SearchPrev => {
            log.find = Some(action == Action::SearchNext);
        }
        Action::Click { .. } => {
            if let Some(Hit::LogLine(i)) = clicked {
                log.matched = Some(i);
            }
        }
        _ => {}
    }
    Vec::new()
}

/// Every step's log in one view.
pub(super) fn open_all_logs(ui: &mut UiState) {
    ui.log = Some(LogState::all());
}

pub(super) fn open_log(ui: &mut UiState, step: usize, attempt: Option<u32>) {
    ui.log = Some(LogState::new(step, attempt));
}

/// The log of the attempt an error happened in (not the step's latest).
pub(super) fn open_error_log(ui: &mut UiState, view: &RunView, error: usize) {
    let Some(e) = view.errors.get(error) else {
        return;
    };
    if let Some(i) = e.step.as_deref().and_then(|s| view.step_index(s)) {
        open_log(ui, i, (e.attempt > 0).then_some(e.attempt));
    }
}

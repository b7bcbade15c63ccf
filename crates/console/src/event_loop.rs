//! The imperative shell of the console: terminal setup/teardown, one `tokio::select!`
//! over key events, view changes, command replies, signals and a slow tick (only while
//! the run is live, for elapsed times and countdowns). It redraws only when the view's
//! version moved or the UI changed, so an idle console sleeps (woken once a second to
//! look at its terminal, a `poll(2)` and no draw: `hangup`).
use super::app::{Action, ConsoleExit, Request, Tab, UiState, run_is_live, update};
use super::console_config::ConsoleConfig;
use super::logfile::LogReaders;
use super::signal;
use super::views::log::text_rows;
use super::views::render;
use baton_model::{RunView, Timestamp};
use crossterm::event::{Event, EventStream};
use futures::stream::{Stream, StreamExt};
use ratatui::Terminal;
use ratatui::backend::Backend;
use std::sync::Arc;
use std::time::Duration;

pub use baton_link::{ConsoleLink, ConsoleRequest};

mod hangup;
mod requests;
use requests::Replies;

#[derive(Debug, thiserror::Error)]
pub enum TuiError {
    #[error("terminal error: {0}")]
    Terminal(#[from] std::io::Error),
    #[error("drawing failed: {0}")]
    Draw(String),
}

/// How often a growing log on screen is checked (new output shows within this).
const LOG_POLL: Duration = Duration::from_millis(100);

/// Restores the terminal when dropped (also on early return and unwinding); ratatui's
/// `try_init` installs a panic hook that restores it before the panic message prints.
struct TerminalGuard {
    mouse: bool,
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        if self.mouse {
            let _ = crossterm::execute!(std::io::stdout(), crossterm::event::DisableMouseCapture);
        }
        // Not `restore`: it prints its failure with `eprintln!`, which panics (and the
        // process aborts, before the runs it drives are handed on) when the terminal
        // has gone, as it has after a hang-up.
        let _ = ratatui::try_restore();
    }
}

/// The console's terminal, dropped only while it is there: ratatui's drop shows the
/// cursor and, failing (the terminal hung up), says so with `eprintln!`, which panics on
/// a stderr that is gone too and aborts the process before the runs it drives are handed
/// to a background engine. Gone, it is left undropped (the process is ending).
struct Screen<B: ratatui::backend::Backend>(Option<Terminal<B>>);

impl<B: ratatui::backend::Backend> Drop for Screen<B> {
    fn drop(&mut self) {
        if let Some(mut terminal) = self.0.take()
            && terminal.show_cursor().is_err()
        {
            std::mem::forget(terminal);
        }
    }
}

/// Run the console on the real terminal until the operator quits, with the caller's UI
/// state: its operator (the OS account the session found: the console never looks it
/// up, it is built without the session), first tab, ….
pub async fn run_console_with(
    link: ConsoleLink,
    config: ConsoleConfig,
    ui: UiState,
) -> Result<ConsoleExit, TuiError> {
    // The guard first, so a half-done setup (raw mode on, no alternate screen) is undone too.
    let mouse = config.mouse;
    let _guard = TerminalGuard { mouse };
    // Raw mode, the alternate screen and the panic hook as ratatui sets them up; the
    // frames go through a writer that sends only the colours this terminal shows.
    drop(ratatui::try_init()?);
    let writer = super::term::palette::SgrWriter::new(std::io::stdout(), config.caps.color);
    let terminal = Terminal::new(ratatui::backend::CrosstermBackend::new(writer))?;
    let mut screen = Screen(Some(terminal));
    let Some(terminal) = screen.0.as_mut() else {
        return Ok(ConsoleExit::Quit);
    };
    if mouse {
        crossterm::execute!(std::io::stdout(), crossterm::event::EnableMouseCapture)?;
    }
    let signals = Signals::watching_the_terminal()?;
    let mut out = std::io::stdout();
    drive(
        terminal,
        TermKeys::new(mouse),
        link,
        config,
        ui,
        signals,
        &mut out,
    )
    .await
}

/// Where the loop's keys come from, and how the terminal is handed to another program
/// (the operator's editor) and taken back.
pub(crate) trait KeySource: Stream<Item = std::io::Result<Event>> + Unpin {
    /// Before another program takes the terminal: stop reading keys (a reader left
    /// running would take the editor's), leave the alternate screen and raw mode.
    fn suspend(&mut self) -> std::io::Result<()> {
        Ok(())
    }
    /// After: the console's terminal modes again, and a new reader.
    fn resume(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Keys sent by a test.
impl KeySource for futures::channel::mpsc::UnboundedReceiver<std::io::Result<Event>> {}

/// The terminal's keys: crossterm's `EventStream`, dropped while another program has
/// the terminal and made again after (a stream kept would read the editor's keys, and
/// the console would lose the keys typed after).
pub(crate) struct TermKeys {
    stream: Option<EventStream>,
    mouse: bool,
}

impl TermKeys {
    pub(crate) fn new(mouse: bool) -> TermKeys {
        TermKeys {
            stream: Some(EventStream::new()),
            mouse,
        }
    }
}

impl Stream for TermKeys {
    type Item = std::io::Result<Event>;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        match self.stream.as_mut() {
            Some(s) => s.poll_next_unpin(cx),
            // Suspended: `resume` makes a new stream before the loop polls again.
            None => std::task::Poll::Pending,
        }
    }
}

impl KeySource for TermKeys {
    fn suspend(&mut self) -> std::io::Result<()> {
        self.stream = None;
        let mut out = std::io::stdout();
        if self.mouse {
            crossterm::execute!(out, crossterm::event::DisableMouseCapture)?;
        }
        crossterm::execute!(
            out,
            crossterm::terminal::LeaveAlternateScreen,
            crossterm::cursor::Show
        )?;
        crossterm::terminal::disable_raw_mode()
    }
    fn resume(&mut self) -> std::io::Result<()> {
        // Keys are read again whatever else fails: a console that cannot read them
        // could not be told to quit.
        self.stream = Some(EventStream::new());
        crossterm::terminal::enable_raw_mode()?;
        let mut out = std::io::stdout();
        crossterm::execute!(out, crossterm::terminal::EnterAlternateScreen)?;
        if self.mouse {
            crossterm::execute!(out, crossterm::event::EnableMouseCapture)?;
        }
        Ok(())
    }
}

/// SIGTERM, SIGHUP and SIGINT (from `kill`; Ctrl-C in raw mode is a key) end the console.
/// So does the terminal gone with no SIGHUP sent ([`hangup`]).
pub(crate) struct Signals {
    term: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    tty: Option<hangup::TtyWatch>,
}

impl Signals {
    pub(crate) fn new() -> std::io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
            int: signal(SignalKind::interrupt())?,
            tty: None,
        })
    }
    /// The same, and the console's own terminal looked at: a real console's.
    fn watching_the_terminal() -> std::io::Result<Signals> {
        Ok(Signals {
            tty: hangup::TtyWatch::of_this_process(),
            ..Signals::new()?
        })
    }
    /// Forget the Ctrl-Cs the terminal sent while an editor had it (not raw then: the
    /// key became SIGINT to the editor and to this console alike); SIGTERM and SIGHUP
    /// stay, and end the console at its next turn.
    fn forget_interrupts(&mut self) {
        use futures::FutureExt;
        while self.int.recv().now_or_never().is_some() {}
    }

    async fn any(&mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.hup.recv() => {}
            _ = self.int.recv() => {}
            _ = hangup::tty_gone(&mut self.tty) => {}
        }
    }
}

/// The loop itself, over any backend and event stream (tests drive it with
/// `TestBackend` and a channel of key events).
pub(crate) async fn drive<B, S>(
    terminal: &mut Terminal<B>,
    mut events: S,
    mut link: ConsoleLink,
    config: ConsoleConfig,
    mut ui: UiState,
    mut signals: Signals,
    out: &mut (dyn std::io::Write + Send),
) -> Result<ConsoleExit, TuiError>
where
    B: Backend,
    S: KeySource,
{
    let mut view: Arc<RunView> = link.view.borrow_and_update().clone();
    adopt(&mut ui, &mut link, &config);
    let mut replies = Replies::new();
    let mut tick = skipping_interval(Duration::from_secs(1));
    let mut open = Open::default();
    let mut dirty = true;
    let mut drawn: Option<u64> = None;
    // Logs on screen are read from the last offset this often while they may grow.
    let mut log_poll = skipping_interval(LOG_POLL);
    let mut logs = LogReaders::new(link.log_times.clone());
    // The screen last drawn (the tab, or the full-screen log): another one is drawn on
    // a cleared terminal, so nothing of the last one is left.
    let mut screen = None;
    let mut asked_all_runs = false;
    // What each list's selection is on: new rows, gone rows and new orders keep it there.
    let mut picked = ui.picked(&view);
    loop {
        ui.now = Some(Timestamp::now());
        // Every turn: a run asked to open that is on screen already is open.
        ui.view_arrived(&view);
        ui.keep_picked(&view, &picked);
        picked = ui.picked(&view);
        asked_all_runs = asked_all_runs || ask_all_runs(&ui, &link);
        let rows = text_rows(terminal.size().map_or(0, |s| s.height));
        dirty |= logs.sync(&mut ui, &view, rows);
        dirty |= ui.expire_toast(Timestamp::now());
        if dirty || drawn != Some(view.version) {
            draw(terminal, &mut ui, &view, &config, &mut screen)?;
            dirty = false;
            drawn = Some(view.version);
        }
        let mut requests = Vec::new();
        // Biased: signals, then answers to commands, then keys, then view updates, so a
        // busy engine cannot starve the operator's keys.
        tokio::select! {
            biased;
            _ = signals.any() => return Ok(ConsoleExit::Interrupt),
            Some(a) = replies.next(), if !replies.is_empty() => {
                // At the clock of its arrival (an answer slower than a flash's time
                // would otherwise take its flash away at once).
                requests = act(&mut ui, &view, a);
                picked = ui.picked(&view);
                dirty = true;
            }
            ev = events.next() => match input(ev, &config, &ui)? {
                Input::Act(a) => {
                    requests = act(&mut ui, &view, a);
                    picked = ui.picked(&view);
                    dirty = true;
                }
                Input::Clear => {
                    clear(terminal)?;
                    dirty = true;
                }
                Input::Redraw => dirty = true,
                Input::Nothing => {}
                Input::Ended => return Ok(ConsoleExit::Quit),
            },
            r = link.view.changed(), if open.view => match r {
                Ok(()) => {
                    let next = link.view.borrow_and_update().clone();
                    next_view(&mut ui, &view, &next, &config, out);
                    dirty = true;
                    view = next;
                }
                // The engine is gone: keep showing its last view.
                Err(_) => open.view = false,
            },
            r = link.runs.changed(), if open.runs => match r {
                Ok(()) => {
                    runs_changed(&mut ui, &mut link);
                    dirty = true;
                }
                Err(_) => open.runs = false,
            },
            r = link.driven.changed(), if open.driven => dirty |= take(r.is_ok(), &mut link.driven, &mut ui.driven, &mut open.driven),
            r = link.waiting.changed(), if open.waiting => {
                dirty |= waiting_changed(r.is_ok(), &mut ui, &mut link, &mut open.waiting, &config, out);
            }
            r = link.schedules.changed(), if open.schedules => dirty |= take(r.is_ok(), &mut link.schedules, &mut ui.schedules, &mut open.schedules),
            r = link.expected.changed(), if open.expected => dirty |= take(r.is_ok(), &mut link.expected, &mut ui.expected, &mut open.expected),
            r = link.store.changed(), if open.store => dirty |= take(r.is_ok(), &mut link.store, &mut ui.store, &mut open.store),
            r = link.desk.changed(), if open.desk => dirty |= take(r.is_ok(), &mut link.desk, &mut ui.desk, &mut open.desk),
            // Decisions recorded anywhere in the store: others' are notices (and rung).
            r = link.news.changed(), if open.news => {
                dirty |= news_changed(r.is_ok(), (&mut ui, &mut link, &mut open.news), &config, out);
            }
            _ = tick.tick(), if needs_tick(&ui, &view) => dirty = true,
            // The next turn's `sync` reads what was appended.
            _ = log_poll.tick(), if LogReaders::watching(&ui, &view) => {}
        }
        let mut requests = std::collections::VecDeque::from(requests);
        while let Some(req) = requests.pop_front() {
            match req {
                Request::Exit(e) => return Ok(e),
                Request::Edit(text) => {
                    // In the foreground, the terminal handed over: the loop waits here
                    // (an engine this console drives goes on in its own tasks).
                    let edited = edit_in_editor(&mut events, &text).await;
                    signals.forget_interrupts();
                    clear(terminal)?;
                    dirty = true;
                    requests.extend(edited_back(&mut ui, &view, edited));
                }
                Request::Copy(text) => emit(out, &signal::clipboard_bytes(&text)),
                other => replies.send(&link.requests, other),
            }
        }
    }
}

/// Every run of the store, asked for when the screen wants them (the Runs tab, a jump):
/// the session reads them on a thread and sends the whole list. Whether it was asked.
fn ask_all_runs(ui: &UiState, link: &ConsoleLink) -> bool {
    ui.wants_all_runs() && link.requests.try_send(ConsoleRequest::ReadAllRuns).is_ok()
}

/// Which of the link's channels still have a sender: a closed one keeps its last value.
struct Open {
    view: bool,
    runs: bool,
    driven: bool,
    waiting: bool,
    schedules: bool,
    expected: bool,
    news: bool,
    store: bool,
    desk: bool,
}

impl Default for Open {
    fn default() -> Self {
        Open {
            view: true,
            runs: true,
            driven: true,
            waiting: true,
            schedules: true,
            expected: true,
            news: true,
            store: true,
            desk: true,
        }
    }
}

/// Whether the screen moves with the clock: a live run, a gate's deadline, a toast
/// (the tick takes it away), the Waiting inbox, the Schedules tab's `in 3m`.
fn needs_tick(ui: &UiState, view: &RunView) -> bool {
    run_is_live(view)
        || view.gates.iter().any(|g| g.deadline.is_some())
        || ui.toast.is_some()
        || !ui.waiting.is_empty()
        || ui.tab == Tab::Schedules
        || crate::app::running(ui)
        || ui.desk.stores.iter().any(|s| !s.state.is_connected())
}

/// An action taken at the clock of the moment it arrived: a flash it raises lasts its
/// time from now, not from before the wait.
fn act(ui: &mut UiState, view: &RunView, a: Action) -> Vec<Request> {
    ui.now = Some(Timestamp::now());
    update(ui, view, a)
}

/// The Waiting inbox changed: taken (see `take`), and a question newly asked of this
/// operator rung.
fn waiting_changed(
    changed: bool,
    ui: &mut UiState,
    link: &mut ConsoleLink,
    open: &mut bool,
    config: &ConsoleConfig,
    out: &mut (dyn std::io::Write + Send),
) -> bool {
    let before = Arc::clone(&ui.waiting);
    let dirty = take(changed, &mut link.waiting, &mut ui.waiting, open);
    let on = &config.notifications;
    for n in signal::ask_notices(&before, &ui.waiting, on) {
        emit(out, &signal::notice_bytes(&n, "", on));
    }
    // Over several stores: a gate opening on any store's run rings, naming its store
    // (the desk read now: it names the stores of the rows just joined).
    let desk = Arc::clone(&link.desk.borrow());
    let shown = link.view.borrow().run_id.clone();
    let since = ui.watching_since.unwrap_or(Timestamp(i64::MAX));
    for (n, workflow) in signal::desk_notices((&before, &ui.waiting), &desk, &shown, since, on) {
        emit(out, &signal::notice_bytes(&n, &workflow, on));
    }
    dirty
}

/// An interval that skips the ticks it missed rather than bursting them.
fn skipping_interval(period: Duration) -> tokio::time::Interval {
    let mut i = tokio::time::interval(period);
    i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    i
}

/// What a terminal event asks of the loop.
enum Input {
    /// An action for `update`, then a redraw.
    Act(Action),
    /// A cleared terminal and a frame drawn whole (the redraw key).
    Clear,
    /// A redraw (a key bound to nothing here, a resize).
    Redraw,
    Nothing,
    /// The event stream ended: the console quits.
    Ended,
}

fn input(
    ev: Option<std::io::Result<Event>>,
    config: &ConsoleConfig,
    ui: &UiState,
) -> Result<Input, TuiError> {
    Ok(match ev {
        Some(Ok(Event::Key(k))) if is_redraw(&k) => Input::Clear,
        Some(Ok(Event::Key(k))) => match config.keys.action_for(ui.context(), &k) {
            Some(a) => Input::Act(a),
            None => Input::Redraw,
        },
        // `mouse = false`: capture is off, and a stray report is ignored too.
        Some(Ok(Event::Mouse(m))) if config.mouse => match mouse_action(m) {
            Some(a) => Input::Act(a),
            None => Input::Nothing,
        },
        Some(Ok(Event::Resize(..))) => Input::Redraw,
        Some(Ok(_)) => Input::Nothing,
        Some(Err(e)) => return Err(e.into()),
        None => Input::Ended,
    })
}

/// The runs list changed: it, whether it is whole yet, and the runs this console drives.
fn runs_changed(ui: &mut UiState, link: &mut ConsoleLink) {
    ui.set_runs(link.runs.borrow_and_update().clone());
    ui.runs_partial = !*link.runs_complete.borrow();
    ui.driven = link.driven.borrow_and_update().clone();
}

/// The editor's text (or why there is none) back to the dialog that asked for it.
fn edited_back(
    ui: &mut UiState,
    view: &RunView,
    edited: Result<String, crate::editor::EditorError>,
) -> Vec<Request> {
    ui.now = Some(Timestamp::now());
    update(ui, view, Action::Edited(edited))
}

/// The link's first values and the config's choices, on the console's state.
fn adopt(ui: &mut UiState, link: &mut ConsoleLink, config: &ConsoleConfig) {
    ui.wall_clock = config.time == baton_link::config::TimeDisplay::Clock;
    ui.on_quit = config.on_quit;
    // The help lists the keys in force and runs them (`app::help`).
    ui.keys = Arc::new(config.keys.clone());
    ui.actions = config.actions.clone();
    ui.set_runs(link.runs.borrow_and_update().clone());
    ui.runs_partial = !*link.runs_complete.borrow();
    ui.driven = link.driven.borrow_and_update().clone();
    ui.waiting = link.waiting.borrow_and_update().clone();
    ui.schedules = link.schedules.borrow_and_update().clone();
    ui.store = link.store.borrow_and_update().clone();
    ui.desk = link.desk.borrow_and_update().clone();
    ui.watching_since = Some(Timestamp::now());
}

/// One frame drawn, on a cleared terminal when the screen (the tab, or the full-screen
/// log) is another than the last one drawn.
fn draw<B: Backend>(
    terminal: &mut Terminal<B>,
    ui: &mut UiState,
    view: &RunView,
    config: &ConsoleConfig,
    screen: &mut Option<(Tab, bool)>,
) -> Result<(), TuiError> {
    let now_showing = Some((ui.tab, ui.log.is_some()));
    if *screen != now_showing {
        clear(terminal)?;
        *screen = now_showing;
    }
    ui.now = Some(Timestamp::now());
    ui.keep_layout(view);
    let mut hits = Default::default();
    terminal
        .draw(|f| hits = render(f, view, ui, config))
        .map_err(|e| TuiError::Draw(e.to_string()))?;
    ui.hits = hits;
    Ok(())
}

/// A left click selects; the wheel moves the selection.
fn mouse_action(m: crossterm::event::MouseEvent) -> Option<Action> {
    use crossterm::event::{MouseButton, MouseEventKind};
    match m.kind {
        MouseEventKind::Down(MouseButton::Left) => Some(Action::Click {
            col: m.column,
            row: m.row,
        }),
        MouseEventKind::ScrollUp => Some(Action::Up),
        MouseEventKind::ScrollDown => Some(Action::Down),
        _ => None,
    }
}

/// A new view of the run: the focus kept on its step, and what changed rung.
fn next_view(
    ui: &mut UiState,
    view: &RunView,
    next: &RunView,
    config: &ConsoleConfig,
    out: &mut (dyn std::io::Write + Send),
) {
    if next.run_id == view.run_id {
        ui.keep_focus(view);
    }
    ui.new_view(next);
    let on = &config.notifications;
    for n in signal::notices(view, next, on) {
        emit(out, &signal::notice_bytes(&n, &next.workflow, on));
    }
}

/// The news changed (`changed`; else its sender is gone): taken and rung (see `news`).
fn news_changed(
    changed: bool,
    (ui, link, open): (&mut UiState, &mut ConsoleLink, &mut bool),
    config: &ConsoleConfig,
    out: &mut (dyn std::io::Write + Send),
) -> bool {
    if !changed {
        *open = false;
        return false;
    }
    let rows = link.news.borrow_and_update().clone();
    news(ui, &rows, config, out);
    true
}

/// Decisions recorded anywhere in the store: others' are notices (and rung).
fn news(
    ui: &mut UiState,
    rows: &[baton_link::News],
    config: &ConsoleConfig,
    out: &mut (dyn std::io::Write + Send),
) {
    let on = &config.notifications;
    for d in ui.note_news(rows) {
        if on.decision {
            let n = signal::Notice::Decision { text: d.text() };
            emit(out, &signal::notice_bytes(&n, &d.workflow, on));
        }
    }
}

/// `text` edited in the operator's editor, the terminal handed to it and taken back
/// (also when the editor could not be run).
async fn edit_in_editor<S: KeySource>(
    events: &mut S,
    text: &str,
) -> Result<String, crate::editor::EditorError> {
    use crate::editor::{EditorError, edit, editor_argv};
    let argv = editor_argv(|k| std::env::var(k).ok())?;
    let terminal = |e: std::io::Error| EditorError::Terminal { why: e.to_string() };
    if let Err(e) = events.suspend() {
        // Half handed over: take it back before saying so.
        let _ = events.resume();
        return Err(terminal(e));
    }
    let edited = edit(text, &argv).await;
    events.resume().map_err(terminal)?;
    edited
}

/// What a watched value's change brings: the new value into `slot` (and a redraw), or,
/// once its sender is gone, that channel closed (the last value stays shown).
fn take<T: Clone>(
    changed: bool,
    rx: &mut tokio::sync::watch::Receiver<T>,
    slot: &mut T,
    open: &mut bool,
) -> bool {
    if changed {
        *slot = rx.borrow_and_update().clone();
    } else {
        *open = false;
    }
    changed
}

/// Clear the screen and have the next frame drawn whole. Not `Terminal::clear`: it asks
/// the terminal where its cursor is, and the answer, read from the keyboard's stream,
/// races the key reader (the console then stops, "cursor position could not be read").
/// A blank frame after the clear makes ratatui's next diff send every cell.
fn clear<B: Backend>(terminal: &mut Terminal<B>) -> Result<(), TuiError> {
    let failed = |e: B::Error| TuiError::Draw(e.to_string());
    terminal
        .backend_mut()
        .clear_region(ratatui::backend::ClearType::All)
        .map_err(failed)?;
    terminal.draw(|_| {}).map_err(failed)?;
    Ok(())
}

/// Ctrl-L: the whole screen drawn again, as in a shell or `less` (whatever else wrote
/// on the terminal is gone).
fn is_redraw(k: &crossterm::event::KeyEvent) -> bool {
    use crossterm::event::{KeyCode, KeyEventKind, KeyModifiers};
    k.code == KeyCode::Char('l')
        && k.modifiers == KeyModifiers::CONTROL
        && k.kind != KeyEventKind::Release
}

/// Write escape sequences beside the frame. A terminal that cannot take them (gone,
/// full) costs the operator a bell, never the console.
fn emit(out: &mut (dyn std::io::Write + Send), bytes: &[u8]) {
    let _ = out.write_all(bytes).and_then(|()| out.flush());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;
    use baton_model::{Command, CommandOutcome};
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use ratatui::backend::TestBackend;
    use tokio::sync::{mpsc, watch};

    fn key(c: KeyCode) -> std::io::Result<Event> {
        Ok(Event::Key(KeyEvent::new(c, KeyModifiers::NONE)))
    }

    fn screen(t: &Terminal<TestBackend>) -> String {
        let b = t.backend().buffer();
        let mut s = String::new();
        for y in 0..b.area.height {
            for x in 0..b.area.width {
                s.push_str(b[(x, y)].symbol());
            }
            s.push('\n');
        }
        s
    }

    #[tokio::test]
    async fn approve_with_keys_reaches_the_engine_and_the_outcome_shows() {
        let (_vtx, vrx) = watch::channel(Arc::new(fixtures::release()));
        let (_rtx, rrx) = watch::channel(fixtures::shared_runs());
        let (_dtx, drx) = watch::channel(Arc::new(Vec::new()));
        let (qtx, mut qrx) = mpsc::channel(8);
        let (ktx, krx) = futures::channel::mpsc::unbounded();
        let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
        let link = ConsoleLink {
            view: vrx,
            runs: rrx,
            runs_complete: tokio::sync::watch::channel(true).1,
            driven: drx,
            waiting: tokio::sync::watch::channel(Arc::new(Vec::new())).1,
            schedules: tokio::sync::watch::channel(Arc::new(Default::default())).1,
            news: tokio::sync::watch::channel(Arc::new(Vec::new())).1,
            expected: tokio::sync::watch::channel(Arc::new(Default::default())).1,
            requests: qtx,
            log_times: None,
            store: tokio::sync::watch::channel(None).1,
            desk: tokio::sync::watch::channel(Default::default()).1,
        };
        // A fake engine: accept the approval, then let the operator quit.
        let engine = tokio::spawn(async move {
            let req = qrx.recv().await.unwrap();
            let ConsoleRequest::Command { command, reply, .. } = req else {
                panic!("{req:?}")
            };
            reply
                .send(CommandOutcome::Accepted {
                    message: "approved deploy-prod (2 of 2 votes)".into(),
                })
                .unwrap();
            command
        });
        let feeder = ktx.clone();
        for k in [
            KeyCode::Char('2'),
            KeyCode::Char('a'),
            KeyCode::Char('o'),
            KeyCode::Char('k'),
            KeyCode::Enter,
        ] {
            feeder.unbounded_send(key(k)).unwrap();
        }
        let mut sink = std::io::sink();
        let drive_fut = drive(
            &mut terminal,
            krx,
            link,
            ConsoleConfig::with_theme(crate::Theme::monochrome()),
            UiState::new("carol"),
            Signals::new().unwrap(),
            &mut sink,
        );
        let mut drive_fut = Box::pin(drive_fut);
        let command = tokio::select! {
            c = engine => c.unwrap(),
            r = &mut drive_fut => panic!("console ended early: {r:?}"),
        };
        assert_eq!(
            command,
            Command::Approve {
                step: "deploy-prod".into(),
                operator: "carol".into(),
                reason: Some("ok".into()),
                signature: None,
                inputs: Default::default(),
            }
        );
        // The reply is ready before the key stream ends; replies are served first.
        drop(feeder);
        drop(ktx);
        let exit = drive_fut.await.unwrap();
        assert_eq!(exit, ConsoleExit::Quit);
        assert!(
            screen(&terminal).contains("approved deploy-prod (2 of 2 votes)"),
            "{}",
            screen(&terminal)
        );
    }

    /// The console is driven with its settings as a value: the config's `[keys]` and
    /// its time mode, no global.
    #[tokio::test]
    async fn the_console_takes_its_keys_and_times_from_its_config() {
        let path = std::path::Path::new("config.toml");
        let c = baton_link::config::parse(path, "time = \"clock\"\n[keys]\nquit = \"Q\"\n")
            .unwrap_or_else(|d| panic!("{d}"));
        let config = ConsoleConfig::from_config(&c, crate::Theme::monochrome())
            .unwrap_or_else(|d| panic!("{d}"));
        let (_vtx, vrx) = watch::channel(Arc::new(fixtures::finished_failed()));
        let (_rtx, rrx) = watch::channel(fixtures::shared_runs());
        let (_dtx, drx) = watch::channel(Arc::new(Vec::new()));
        let (qtx, _qrx) = mpsc::channel(8);
        let (ktx, krx) = futures::channel::mpsc::unbounded();
        // `q` no longer quits; `t` turns the clock (on from the config) off; `Q` quits.
        for k in ['q', 't', 'Q'] {
            ktx.unbounded_send(key(KeyCode::Char(k))).unwrap();
        }
        let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
        let link = ConsoleLink {
            view: vrx,
            runs: rrx,
            runs_complete: tokio::sync::watch::channel(true).1,
            driven: drx,
            waiting: tokio::sync::watch::channel(Arc::new(Vec::new())).1,
            schedules: tokio::sync::watch::channel(Arc::new(Default::default())).1,
            news: tokio::sync::watch::channel(Arc::new(Vec::new())).1,
            expected: tokio::sync::watch::channel(Arc::new(Default::default())).1,
            requests: qtx,
            log_times: None,
            store: tokio::sync::watch::channel(None).1,
            desk: tokio::sync::watch::channel(Default::default()).1,
        };
        let mut sink = std::io::sink();
        // The key stream stays open (`ktx` lives): only `Q` can end the console.
        let drive_fut = drive(
            &mut terminal,
            krx,
            link,
            config,
            UiState::new("carol"),
            Signals::new().unwrap(),
            &mut sink,
        );
        let exit = tokio::time::timeout(Duration::from_secs(10), drive_fut)
            .await
            .unwrap_or_else(|_| panic!("`Q` did not quit"))
            .unwrap();
        assert_eq!(exit, ConsoleExit::Quit);
        drop(ktx);
        let shown = screen(&terminal);
        assert!(shown.contains("times relative (t: wall clock)"), "{shown}");
    }

    /// A writer the test can read while the console holds it.
    #[derive(Clone, Default)]
    struct Shared(Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl Shared {
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
        }
    }

    #[tokio::test]
    async fn y_copies_the_run_id_and_a_new_gate_rings_and_notifies() {
        use base64::Engine as _;
        let mut first = fixtures::release();
        let gate = first.gates.remove(0);
        let (vtx, vrx) = watch::channel(Arc::new(first.clone()));
        let (_rtx, rrx) = watch::channel(fixtures::shared_runs());
        let (_dtx, drx) = watch::channel(Arc::new(Vec::new()));
        let (qtx, _qrx) = mpsc::channel(8);
        let (ktx, krx) = futures::channel::mpsc::unbounded();
        let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
        let link = ConsoleLink {
            view: vrx,
            runs: rrx,
            runs_complete: tokio::sync::watch::channel(true).1,
            driven: drx,
            waiting: tokio::sync::watch::channel(Arc::new(Vec::new())).1,
            schedules: tokio::sync::watch::channel(Arc::new(Default::default())).1,
            news: tokio::sync::watch::channel(Arc::new(Vec::new())).1,
            expected: tokio::sync::watch::channel(Arc::new(Default::default())).1,
            requests: qtx,
            log_times: None,
            store: tokio::sync::watch::channel(None).1,
            desk: tokio::sync::watch::channel(Default::default()).1,
        };
        for k in [KeyCode::Char('5'), KeyCode::Char('y')] {
            ktx.unbounded_send(key(k)).unwrap();
        }
        let out = Shared::default();
        let seen = out.clone();
        let mut writer = out.clone();
        let console = drive(
            &mut terminal,
            krx,
            link,
            ConsoleConfig::with_theme(crate::Theme::monochrome()),
            UiState::new("carol"),
            Signals::new().unwrap(),
            &mut writer,
        );
        let check = async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            let run_id = fixtures::runs()[0].id.clone();
            let b64 = base64::engine::general_purpose::STANDARD.encode(&run_id);
            while !seen.text().contains(&format!("\x1b]52;c;{b64}\x07")) {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "no OSC 52: {:?}",
                    seen.text()
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            // The gate opens in the engine: a bell and both notification sequences.
            vtx.send(Arc::new(fixtures::release())).unwrap();
            let title = format!("baton: release: gate {}", gate.step_id);
            while !seen.text().contains(&format!("\x1b]777;notify;{title};")) {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "no OSC 777: {:?}",
                    seen.text()
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let t = seen.text();
            assert!(
                t.contains('\x07') && t.contains(&format!("\x1b]9;{title}: ")),
                "{t:?}"
            );
            drop(ktx);
            vtx
        };
        let (exit, _vtx) = tokio::join!(console, check);
        assert_eq!(exit.unwrap(), ConsoleExit::Quit);
        assert!(
            screen(&terminal).contains("copied run id"),
            "{}",
            screen(&terminal)
        );
    }
}

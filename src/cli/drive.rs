//! How a run this process drives is shown: the console (through the session's console
//! service) on a terminal, else headless lines. Shared by `run`, `resume`, the operator
//! commands that take a run over, and the background engine.
use super::exit;
use crate::console::{self, ConsoleConfig, Theme, UiState};
use crate::console::{ColorDepth, TermEnv};
use crate::engine::Sinks;
use crate::exec::ShutdownSignals;
use crate::link::ConsoleLink;
use crate::metrics::export::Exports;
use crate::session::Ready;
use crate::session::{self, SessionError, drive_headless, run_exit_code};
use crate::session::{Ended, Service, Stop};
use crate::store::Store;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::oneshot;

pub use crate::session::db_path;

/// How to show a run, checked before the run is created (a bad `--theme` or `--events`
/// leaves nothing behind).
pub struct Display {
    /// The console's settings; `None` for headless.
    pub console: Option<ConsoleConfig>,
    /// `--events FILE|-`, opened.
    pub events: Option<Box<dyn Write + Send>>,
    pub events_to_stdout: bool,
    pub operator: String,
    pub db_path: PathBuf,
    /// `--param`s, for runs the console takes over.
    pub params: Vec<(String, String)>,
    /// `--metrics-file` and `--metrics-listen`, checked and bound.
    pub metrics: Exports,
}

/// Whether the console should open: stdout is a terminal that can hold one (not
/// `TERM=dumb`, a terminfo entry) and `--headless` is absent.
pub fn wants_console(headless: bool) -> bool {
    !headless
        && std::io::stdout().is_terminal()
        && std::io::stdin().is_terminal()
        && TermEnv::read().usable().is_ok()
}

impl Display {
    pub fn new(
        headless: bool,
        theme: Option<&str>,
        events: Option<&str>,
        operator: String,
        db_path: PathBuf,
        params: Vec<(String, String)>,
    ) -> Result<Display, SessionError> {
        // Checked even when headless: a bad `--theme` is a usage error wherever it goes.
        let console = load_console(theme).map_err(|e| SessionError::Usage(e.to_string()))?;
        let console = wants_console(headless).then_some(console);
        let events_out =
            match events {
                Some(spec) => Some(open_events(spec).map_err(|e| {
                    SessionError::Usage(format!("cannot open --events {spec}: {e}"))
                })?),
                None => None,
            };
        Ok(Display {
            console,
            events: events_out,
            events_to_stdout: events == Some("-"),
            operator,
            db_path,
            params,
            metrics: Exports::default(),
        })
    }

    /// Headless, whatever the terminal (a command that takes a run over, the background engine).
    pub fn headless(operator: String, db_path: PathBuf) -> Display {
        Display {
            console: None,
            events: None,
            events_to_stdout: false,
            operator,
            db_path,
            params: Vec::new(),
            metrics: Exports::default(),
        }
    }
}

fn open_events(spec: &str) -> std::io::Result<Box<dyn Write + Send>> {
    if spec == "-" {
        Ok(Box::new(std::io::stdout()))
    } else {
        // It may be in a directory others write: never through a link planted there.
        let f = crate::files::open_no_follow(
            std::path::Path::new(spec),
            crate::files::Open::Append,
            0o600,
        )?;
        Ok(Box::new(std::io::BufWriter::new(f)))
    }
}

/// Why the console could not start or ended badly (a usage error before it starts: a
/// theme or a config that is wrong).
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error(transparent)]
    Theme(#[from] crate::console::ThemeError),
    #[error(transparent)]
    Config(#[from] crate::workflow::Diagnostics),
    #[error("cannot install signal handlers: {0}")]
    Signals(std::io::Error),
    #[error(transparent)]
    Tui(#[from] console::TuiError),
    #[error("the console service failed: {0}")]
    Service(tokio::task::JoinError),
}

/// The console's settings from the configuration in force, with the theme `--theme`
/// names (see [`load_theme`]), for this terminal: its colours (none: the monochrome
/// theme) and whether only ASCII.
pub fn load_console(theme: Option<&str>) -> Result<ConsoleConfig, ConsoleError> {
    let config = crate::config::get();
    let caps = TermEnv::read().caps(config);
    let mut theme = load_theme(theme)?;
    if caps.color == ColorDepth::Mono {
        theme = Theme::monochrome();
    }
    let console = ConsoleConfig::from_config(config, theme)?;
    Ok(console.on(caps))
}

/// The named theme (`--theme`, else the config's `theme`, else `default`; an unknown
/// name is an error even under `NO_COLOR`), or the monochrome one when `NO_COLOR` is set.
pub fn load_theme(name: Option<&str>) -> Result<Theme, crate::console::ThemeError> {
    let name = name
        .or(crate::config::get().theme.as_deref())
        .unwrap_or("default");
    let theme = Theme::load(name)?;
    if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        return Ok(Theme::monochrome());
    }
    Ok(theme)
}

/// The store's path as an `[[action]]`'s `{db}`: absolute (the action may change
/// directory); none when it is not UTF-8 text (the actions that use it are not offered).
pub fn db_value(db: &std::path::Path) -> Option<String> {
    let path = std::path::absolute(db).unwrap_or_else(|_| db.to_path_buf());
    path.to_str().map(str::to_string)
}

/// Drive `ready` (its lease held by this process) to the end, in the console or
/// headless. Returns the process exit code.
pub fn drive(store: Store, ready: Ready, mut display: Display) -> i32 {
    let rt = match session::runtime() {
        Ok(rt) => rt,
        Err(e) => return session::report(&e),
    };
    let exports = std::mem::take(&mut display.metrics).start(&rt, &display.db_path);
    let code = drive_on(&rt, store, ready, display);
    exports.finish();
    code
}

fn drive_on(rt: &tokio::runtime::Runtime, store: Store, ready: Ready, display: Display) -> i32 {
    let run_id = ready.run_id.clone();
    let workflow = ready.workflow.clone();
    match display.console {
        None => {
            // With `--events -` the JSON lines own stdout and the human lines go to stderr.
            // Headless lines carry names, reasons and outputs: sanitised (`Sanitised`),
            // the first (`run ID NAME`, a name from the workflow file) as every other.
            // Buffered: the driver flushes once per commit, so a wake-up's lines go out
            // in one write, not one (and one terminal check) per line.
            let mut lines: Box<dyn Write + Send> = if display.events_to_stdout {
                Box::new(std::io::BufWriter::new(crate::stdio::Sanitised::new(
                    std::io::stderr(),
                )))
            } else {
                Box::new(std::io::BufWriter::new(crate::stdio::Sanitised::new(
                    std::io::stdout(),
                )))
            };
            // A closed stdout is not the run's failure (see docs/commands.md, "Exit codes").
            let _ = writeln!(lines, "run {run_id} {workflow}").and_then(|()| lines.flush());
            let sinks = Sinks {
                lines: Some(lines),
                events: display.events,
            };
            match rt.block_on(drive_headless(store, ready, sinks)) {
                Ok(out) => run_exit_code(out.state, out.signal_exit),
                Err(e) => {
                    crate::stdio::errln!("error: {e}");
                    exit::STORAGE
                }
            }
        }
        Some(config) => {
            // The console reads the store through its own connection.
            drop(store);
            let result = rt.block_on(async {
                let (mut service, link) =
                    Service::new(&display.db_path, &display.operator, display.params.clone())?;
                service.adopt(ready)?;
                let mut ui = UiState::new(display.operator.clone());
                ui.db = db_value(&display.db_path);
                Ok::<_, SessionError>(console(service, link, config, ui).await)
            });
            match result {
                Ok(Ok((signal, mut outcomes))) => {
                    let state = match outcomes.remove(&run_id) {
                        Some(Ended::Driven(Ok(out))) => out.state,
                        Some(Ended::Driven(Err(e))) => {
                            crate::stdio::errln!("error: {e}");
                            return exit::STORAGE;
                        }
                        // Handed on: it goes on, so this process did its part.
                        Some(Ended::Detached(handed)) => {
                            print_ended(
                                &display.db_path,
                                Outcomes::from([(run_id, Ended::Detached(handed))]),
                            );
                            print_ended(&display.db_path, outcomes);
                            return exit::OK;
                        }
                        None => Store::open(&display.db_path)
                            .and_then(|s| s.run(&run_id))
                            .map(|r| r.state)
                            .unwrap_or(crate::model::RunState::Interrupted),
                    };
                    // The runs this console took over besides its own.
                    print_ended(&display.db_path, outcomes);
                    crate::stdio::outln!(
                        "run {run_id} {}: {state}",
                        crate::sanitize::for_terminal(&workflow)
                    );
                    run_exit_code(state, signal)
                }
                Ok(Err(e)) => {
                    crate::stdio::errln!("error: {e}");
                    exit::FAILED
                }
                Err(e) => session::report(&e),
            }
        }
    }
}

/// Print how each run a console drove ended, with its workflow, and how to resume one
/// that quitting interrupted (issue 28 point 4).
pub fn print_ended(db: &std::path::Path, outcomes: Outcomes) {
    let store = Store::open_existing(db).ok();
    for (id, out) in outcomes {
        let workflow = store
            .as_ref()
            .and_then(|s| s.run(&id).ok())
            .map(|r| crate::sanitize::for_terminal(&r.workflow))
            .unwrap_or_default();
        match out {
            Ended::Driven(Ok(o)) if o.state == crate::model::RunState::Interrupted => {
                crate::stdio::outln!(
                    "run {id} {workflow}: interrupted; `baton resume {id}` continues it"
                )
            }
            Ended::Driven(Ok(o)) => crate::stdio::outln!("run {id} {workflow}: {}", o.state),
            Ended::Driven(Err(e)) => crate::stdio::errln!("error: run {id} {workflow}: {e}"),
            Ended::Detached(Ok((pid, log))) => crate::stdio::outln!(
                "run {id} {workflow}: handed to a background engine (pid {pid}); its output goes to {}; `baton tui` follows it",
                log.display()
            ),
            Ended::Detached(Err(e)) => crate::stdio::errln!(
                "error: run {id} {workflow} could not be handed on: {e}; it is interrupted: `baton resume {id}` continues it"
            ),
        }
    }
}

/// How each run a console session drove ended, by run id.
pub type Outcomes = std::collections::BTreeMap<String, Ended>;

/// Run the console against the session's service until the operator quits or a signal
/// arrives; then the runs this console drives are stopped, or handed to a background
/// engine when the operator chose detach or the terminal hung up (unless `on_quit =
/// "interrupt"`). Returns the signal's exit code, if one ended it, and how each driven
/// run ended.
pub async fn console(
    service: Service,
    link: ConsoleLink,
    config: ConsoleConfig,
    ui: UiState,
) -> Result<(Option<i32>, Outcomes), ConsoleError> {
    // Installed before the console so a signal is seen here too and decides the exit code.
    let mut signals = ShutdownSignals::install().map_err(ConsoleError::Signals)?;
    let (stop_tx, stop_rx) = oneshot::channel();
    let serving = tokio::spawn(service.serve(stop_rx));
    // A lost terminal (SIGHUP: the window closed, SSH dropped) hands the runs on.
    let hangup_detaches = config.on_quit != crate::config::OnQuit::Interrupt;
    // A closed terminal does not always reach this process as SIGHUP (its input just
    // ends, or the shell going with it sends SIGTERM): a stop once the terminal is gone
    // is its loss too.
    let lost = || hangup_detaches && terminal_gone();
    let by_signal = |sig: crate::exec::ShutdownSignal| Stop {
        signal: Some(sig.exit_code()),
        detach: (hangup_detaches && sig == crate::exec::ShutdownSignal::Hangup) || lost(),
        cancel: false,
    };
    let console = console::run_console_with(link, config, ui);
    let ended: Result<Stop, ConsoleError> = tokio::select! {
        biased;
        // The console future is dropped here, which restores the terminal.
        sig = signals.recv() => Ok(by_signal(sig)),
        r = console => match r {
            // The console listens for signals too (and its input ends with the
            // terminal), so it may have stopped first: the signal still decides.
            Ok(exit) => {
                let sig = tokio::time::timeout(Duration::from_millis(100), signals.recv())
                    .await
                    .ok();
                Ok(match sig {
                    Some(sig) => by_signal(sig),
                    None => Stop {
                        signal: None,
                        // Its input ended with the terminal: a hang-up without the signal.
                        detach: exit == console::ConsoleExit::Detach || lost(),
                        cancel: false,
                    },
                })
            }
            Err(e) => Err(e.into()),
        },
    };
    // A console that failed reading a terminal that has gone (EIO, before the hang-up
    // is seen) lost it all the same.
    let stop = match &ended {
        Ok(stop) => *stop,
        Err(_) => Stop {
            signal: None,
            detach: lost(),
            cancel: false,
        },
    };
    let _ = stop_tx.send(stop);
    let outcomes = serving.await.map_err(ConsoleError::Service)?;
    ended.map(|stop| (stop.signal, outcomes))
}

/// Whether this process's controlling terminal is gone (hung up: `/dev/tty` cannot be
/// opened any more).
fn terminal_gone() -> bool {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .is_err()
}

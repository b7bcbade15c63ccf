//! Shared by `run` and `resume`: drive a core to its end, headless or in the console.
use super::exit;
use crate::engine::core::{Core, Effect};
use crate::engine::driver::{DriveOutcome, Driver, Sinks};
use crate::exec::signals::{ShutdownSignals, shutdown_signal};
use crate::model::{RunState, RunSummary};
use crate::store::Store;
use crate::tui::{self, ConsoleExit, ConsoleLink, Theme, UiState};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};

/// Who holds a run's lease: this process.
pub fn lease_holder() -> String {
    let host = nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "localhost".into());
    format!("pid {} on {host}", std::process::id())
}

pub use crate::model::LEASE_STALE;

pub struct DriveOptions {
    pub headless: bool,
    /// `--events FILE|-`.
    pub events: Option<String>,
    pub theme: Option<String>,
    pub operator: String,
    pub db_path: PathBuf,
}

/// Whether the console should open: stdout is a terminal and `--headless` is absent.
pub fn wants_console(headless: bool) -> bool {
    !headless && std::io::stdout().is_terminal() && std::io::stdin().is_terminal()
}

fn open_events(spec: &str) -> std::io::Result<Box<dyn Write + Send>> {
    if spec == "-" {
        Ok(Box::new(std::io::stdout()))
    } else {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(spec)?;
        Ok(Box::new(std::io::BufWriter::new(f)))
    }
}

/// Build the sinks for headless output. With `--events -` the JSON lines own stdout and
/// the human lines go to stderr.
fn sinks(opts: &DriveOptions, console: bool) -> Result<Sinks, String> {
    let events = match &opts.events {
        Some(spec) => {
            Some(open_events(spec).map_err(|e| format!("cannot open --events {spec}: {e}"))?)
        }
        None => None,
    };
    let lines: Option<Box<dyn Write + Send>> = if console {
        None
    } else if opts.events.as_deref() == Some("-") {
        Some(Box::new(std::io::stderr()))
    } else {
        Some(Box::new(std::io::stdout()))
    };
    Ok(Sinks { lines, events })
}

/// Run the driver to the end. Returns the process exit code.
pub fn drive(
    store: Store,
    core: Core,
    initial: Vec<Effect>,
    run_id: &str,
    workflow: &str,
    opts: DriveOptions,
) -> i32 {
    let console = wants_console(opts.headless);
    let theme = if console {
        match load_theme(opts.theme.as_deref()) {
            Ok(t) => Some(t),
            Err(e) => {
                eprintln!("error: {e}");
                return exit::USAGE;
            }
        }
    } else {
        None
    };
    let sinks = match sinks(&opts, console) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    let first_line = format!("run {run_id} {workflow}");
    if !console {
        if opts.events.as_deref() == Some("-") {
            eprintln!("{first_line}");
        } else {
            println!("{first_line}");
        }
    }
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let holder = lease_holder();
    let driver = Driver::new(core, store, run_id.to_string(), holder, sinks);
    let result = rt.block_on(async move {
        match theme {
            None => {
                let shutdown = async {
                    match shutdown_signal().await {
                        Ok(sig) => Some(sig.exit_code()),
                        // Without signal handlers the run can still end normally.
                        Err(_) => std::future::pending().await,
                    }
                };
                driver
                    .run(initial, shutdown)
                    .await
                    .map_err(|e| e.to_string())
            }
            Some(theme) => run_with_console(driver, initial, theme, &opts).await,
        }
    });
    match result {
        Ok(DriveOutcome { state, signal_exit }) => {
            if console {
                println!("run {run_id} {workflow}: {state}");
            }
            match (signal_exit, state) {
                (Some(code), _) => code,
                (None, RunState::Interrupted) => exit::INTERRUPTED,
                (None, s) => s.exit_code(),
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            exit::STORAGE
        }
    }
}

/// The engine's runtime: two workers (the machine budget of DESIGN §8); on failure the
/// error is printed and the exit code returned.
pub fn runtime() -> Result<tokio::runtime::Runtime, i32> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("error: cannot start the runtime: {e}");
            exit::FAILED
        })
}

pub fn load_theme(name: Option<&str>) -> Result<Theme, String> {
    if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        return Ok(Theme::monochrome());
    }
    Theme::load(name.unwrap_or("default")).map_err(|e| e.to_string())
}

async fn run_with_console(
    mut driver: Driver,
    initial: Vec<Effect>,
    theme: Theme,
    opts: &DriveOptions,
) -> Result<DriveOutcome, String> {
    // Installed before the console so a signal is seen here too and decides the exit code.
    let mut signals =
        ShutdownSignals::install().map_err(|e| format!("cannot install signal handlers: {e}"))?;
    let (view_tx, view_rx) = watch::channel(Arc::new(driver.view()));
    let (req_tx, req_rx) = mpsc::channel(32);
    driver.attach_console(view_tx, req_rx);
    let (runs_tx, runs_rx) = watch::channel(Arc::new(Vec::<RunSummary>::new()));
    let runs_task = tokio::spawn(refresh_runs(opts.db_path.clone(), runs_tx));
    let (quit_tx, quit_rx) = oneshot::channel::<Option<i32>>();
    let shutdown = async move { quit_rx.await.unwrap_or(None) };
    let drive = tokio::spawn(driver.run(initial, shutdown));
    let link = ConsoleLink {
        view: view_rx,
        runs: runs_rx,
        requests: req_tx,
    };
    let console =
        tui::event_loop::run_console_with(link, theme, UiState::new(opts.operator.clone()));
    let outcome = tokio::select! {
        biased;
        // The console future is dropped here, which restores the terminal.
        sig = signals.recv() => {
            let _ = quit_tx.send(Some(sig.exit_code()));
            Ok(Some(sig.exit_code()))
        }
        r = console => match r {
            Ok(exit) => {
                // The console listens for signals too (and its input ends with the
                // terminal), so it may have stopped first: the signal still decides.
                let sig = tokio::time::timeout(Duration::from_millis(100), signals.recv())
                    .await
                    .ok()
                    .map(|s| s.exit_code());
                if sig.is_some() || exit == ConsoleExit::Interrupt {
                    let _ = quit_tx.send(sig);
                }
                Ok(sig)
            }
            Err(e) => {
                let _ = quit_tx.send(None);
                Err(e.to_string())
            }
        },
    };
    runs_task.abort();
    let mut driven = drive
        .await
        .map_err(|e| format!("engine task failed: {e}"))?
        .map_err(|e| e.to_string())?;
    // The driver may have seen the console hang up before the quit: the signal decides.
    if let Ok(Some(code)) = outcome {
        driven.signal_exit = Some(code);
    }
    outcome.map(|_| driven)
}

/// Keep the console's Runs tab fresh from a second connection to the store.
async fn refresh_runs(db: PathBuf, tx: watch::Sender<Arc<Vec<RunSummary>>>) {
    let Ok(store) = Store::open(&db) else { return };
    loop {
        if let Ok(runs) = store.list_runs()
            && tx.send(Arc::new(runs)).is_err()
        {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// `--db`, else `$BATON_DB`, else the XDG default.
pub fn db_path(db: Option<&Path>) -> PathBuf {
    db.map(Path::to_path_buf)
        .unwrap_or_else(Store::default_path)
}

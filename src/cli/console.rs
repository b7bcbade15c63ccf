//! `baton tui`: the console over every run in the store, live and past. A run driven by
//! another process is followed through the store (its events, replayed) and controlled
//! through the `commands` table; an interrupted run can be resumed from here.
use super::control::{WAIT, submit_and_wait};
use super::db::{DbOpt, fail};
use super::drive::load_theme;
use super::exit;
use super::run::operator_name;
use crate::engine::core::{Core, RunConfig};
use crate::engine::driver::set_log_paths;
use crate::model::health;
use crate::model::view::GoldenSignals;
use crate::model::{CommandOutcome, RunState, RunSummary, RunView, Timestamp};
use crate::store::Store;
use crate::tui::event_loop::read_tail;
use crate::tui::event_loop::run_console_with;
use crate::tui::{ConsoleLink, ConsoleRequest, Tab, Theme, UiState};
use crate::workflow;
use clap::Args;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  baton tui            # pick a run with 5, open it with Enter; R resumes an interrupted run"
)]
pub struct TuiArgs {
    #[command(flatten)]
    pub db: DbOpt,
    #[arg(long)]
    pub theme: Option<String>,
    /// Who decides (default: $USER).
    #[arg(long)]
    pub operator: Option<String>,
}

/// How often the store is checked for new events and runs.
const FOLLOW_EVERY: Duration = Duration::from_millis(150);
/// A running step's tail in a followed run: the end of its log file.
const FOLLOW_TAIL_BYTES: u64 = 16 * 1024;
const FOLLOW_TAIL_LINES: usize = 200;

pub fn exec(a: TuiArgs) -> i32 {
    if !std::io::stdout().is_terminal() {
        eprintln!("error: baton tui needs a terminal (use `baton runs` / `baton show` in scripts)");
        return exit::USAGE;
    }
    let theme = match load_theme(a.theme.as_deref()) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    let store = match a.db.open() {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let rt = match super::drive::runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let operator = operator_name(a.operator.as_deref());
    match rt.block_on(console(store, theme, operator, a.db.path())) {
        Ok(()) => exit::OK,
        Err(e) => {
            eprintln!("error: {e}");
            exit::FAILED
        }
    }
}

async fn console(
    store: Store,
    theme: Theme,
    operator: String,
    db_path: PathBuf,
) -> Result<(), String> {
    let runs = store.list_runs().map_err(|e| e.to_string())?;
    let mut follow = Follow::default();
    if let Some(newest) = runs.first() {
        follow.open(&store, &newest.id);
    }
    let (view_tx, view_rx) =
        watch::channel(Arc::new(follow.view(&store).unwrap_or_else(empty_view)));
    let (runs_tx, runs_rx) = watch::channel(Arc::new(runs));
    let (req_tx, req_rx) = mpsc::channel(32);
    let follower = tokio::spawn(follow_store(
        store,
        follow,
        view_tx,
        runs_tx,
        req_rx,
        db_path,
        operator.clone(),
    ));
    let link = ConsoleLink {
        view: view_rx,
        runs: runs_rx,
        requests: req_tx,
    };
    let mut ui = UiState::new(operator);
    ui.tab = Tab::Runs;
    let result = run_console_with(link, theme, ui).await;
    follower.abort();
    result.map(|_| ()).map_err(|e| e.to_string())
}

/// The run on screen, rebuilt from its events and kept current as new ones arrive.
#[derive(Default)]
struct Follow {
    run_id: Option<String>,
    core: Option<Core>,
    error: Option<String>,
}

impl Follow {
    fn open(&mut self, store: &Store, run_id: &str) {
        self.run_id = Some(run_id.to_string());
        self.core = None;
        self.error = None;
        match rebuild(store, run_id) {
            Ok(core) => self.core = Some(core),
            Err(e) => self.error = Some(e),
        }
    }

    /// Apply events that arrived since the last look; true when something changed.
    fn update(&mut self, store: &Store) -> bool {
        let (Some(run_id), Some(core)) = (self.run_id.clone(), self.core.as_mut()) else {
            return false;
        };
        let seen = core.events().last().map_or(0, |e| e.seq);
        let Ok(events) = store.events_after(&run_id, seen) else {
            return false;
        };
        if events.is_empty() {
            return false;
        }
        for ev in &events {
            if core.follow(ev).is_err() {
                // Out of step (should not happen): rebuild from scratch.
                self.open(store, &run_id);
                return true;
            }
        }
        true
    }

    fn view(&self, store: &Store) -> Option<RunView> {
        let mut view = self.core.as_ref()?.view(Timestamp::now());
        set_log_paths(&store.log_dir(&view.run_id), &mut view);
        fill_tails(store, &mut view);
        Some(view)
    }
}

/// The detail pane's output tail for a run driven by another process: a running step's
/// from its log file (the engine writes it as output arrives), a finished one's as the
/// engine recorded it.
fn fill_tails(store: &Store, view: &mut RunView) {
    let recorded = store.attempt_tails(&view.run_id).unwrap_or_default();
    for sv in &mut view.steps {
        if sv.state == crate::model::StepState::Running {
            if let Some(lines) = sv
                .log_path
                .as_deref()
                .and_then(|p| read_tail(p, FOLLOW_TAIL_BYTES).ok())
            {
                let skip = lines.len().saturating_sub(FOLLOW_TAIL_LINES);
                sv.log_tail = lines.into_iter().skip(skip).collect();
            }
        } else if let Some(tail) = recorded.get(&sv.id).filter(|t| !t.is_empty()) {
            sv.log_tail = tail.lines().map(str::to_string).collect();
        }
    }
}

fn rebuild(store: &Store, run_id: &str) -> Result<Core, String> {
    let record = store.run(run_id).map_err(|e| e.to_string())?;
    let plan =
        workflow::load_str(&record.source_text, &record.source_path).map_err(|d| d.to_string())?;
    let params = serde_json::from_str(&record.params_json).unwrap_or_default();
    let cfg = RunConfig {
        run_id: run_id.to_string(),
        operator: record.operator,
        params,
        secret_values: Vec::new(),
        seed: 0,
        auto_approve: false,
        max_parallel: None,
    };
    let events = store.events(run_id).map_err(|e| e.to_string())?;
    Core::replay(Arc::new(plan), cfg, &events).map_err(|e| e.to_string())
}

async fn follow_store(
    store: Store,
    mut follow: Follow,
    view_tx: watch::Sender<Arc<RunView>>,
    runs_tx: watch::Sender<Arc<Vec<RunSummary>>>,
    mut requests: mpsc::Receiver<ConsoleRequest>,
    db_path: PathBuf,
    operator: String,
) {
    let mut tick = tokio::time::interval(FOLLOW_EVERY);
    let mut version = store.data_version().unwrap_or(0);
    loop {
        tokio::select! {
            req = requests.recv() => match req {
                None => return,
                Some(ConsoleRequest::OpenRun(id)) => {
                    follow.open(&store, &id);
                    let _ = view_tx.send(Arc::new(follow.view(&store).unwrap_or_else(empty_view)));
                }
                Some(ConsoleRequest::Command { command, reply }) => {
                    let Some(run_id) = follow.run_id.clone() else {
                        let _ = reply.send(CommandOutcome::Refused { reason: "no run is open".into() });
                        continue;
                    };
                    let db = db_path.clone();
                    tokio::task::spawn_blocking(move || {
                        let outcome = Store::open(&db)
                            .and_then(|mut s| submit_and_wait(&mut s, &run_id, &command, WAIT))
                            .unwrap_or_else(|e| CommandOutcome::Refused { reason: e.to_string() });
                        let _ = reply.send(outcome);
                    });
                }
                Some(ConsoleRequest::Resume { run_id, reply }) => {
                    let _ = reply.send(spawn_resume(&db_path, &run_id, &operator));
                }
            },
            _ = tick.tick() => {
                let v = store.data_version().unwrap_or(version);
                if v != version {
                    version = v;
                    if let Ok(runs) = store.list_runs() {
                        let _ = runs_tx.send(Arc::new(runs));
                    }
                    if follow.update(&store)
                        && let Some(view) = follow.view(&store)
                    {
                        let _ = view_tx.send(Arc::new(view));
                    }
                } else if follow.core.as_ref().is_some_and(|c| !c.run_state().is_final()) {
                    // Countdowns and elapsed times move even without new events.
                    if let Some(view) = follow.view(&store) {
                        let _ = view_tx.send(Arc::new(view));
                    }
                }
            }
        }
    }
}

/// Resume an interrupted run in a background engine (`baton resume --headless`) that
/// outlives this console; the console follows it through the store like any other.
fn spawn_resume(db: &std::path::Path, run_id: &str, operator: &str) -> Result<(), String> {
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the baton binary: {e}"))?;
    let mut child = std::process::Command::new(exe)
        .args([
            "resume",
            run_id,
            "--headless",
            "--operator",
            operator,
            "--db",
        ])
        .arg(db)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot start the engine: {e}"))?;
    // Reap it when it ends, so no zombie is left while the console runs.
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    Ok(())
}

/// What the console shows before any run exists.
fn empty_view() -> RunView {
    RunView {
        run_id: String::new(),
        workflow: "no runs yet: `baton run WORKFLOW` starts one".into(),
        description: None,
        state: RunState::Pending,
        operator: String::new(),
        started_at: None,
        finished_at: None,
        now: Timestamp::now(),
        health: health::compute([], &[]),
        budget: None,
        steps: Vec::new(),
        gates: Vec::new(),
        errors: Vec::new(),
        audit: Vec::new(),
        signals: GoldenSignals::default(),
        actions: Default::default(),
        version: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::driver::{Driver, Sinks};
    use crate::store::NewRun;

    /// A run driven elsewhere (here: a driver that has finished) shows each step's
    /// recorded output in the follower's view, not an empty tail.
    #[test]
    fn a_followed_run_shows_the_steps_recorded_output() {
        let tmp = tempfile::tempdir().unwrap();
        let wf = tmp.path().join("w.toml");
        let text = "name = \"w\"\n[[step]]\nid = \"a\"\nrun = 'echo first; echo tail-of-a'\n[[step]]\nid = \"b\"\nneeds = [\"a\"]\nrun = \"true\"\n";
        std::fs::write(&wf, text).unwrap();
        let plan = Arc::new(workflow::load_file(&wf).unwrap());
        let db = tmp.path().join("b.db");
        let mut store = Store::open(&db).unwrap();
        let run_id = "01followtest".to_string();
        store
            .create_run(&NewRun {
                id: run_id.clone(),
                workflow: "w".into(),
                source_path: wf.clone(),
                source_text: text.into(),
                params_json: "{}".into(),
                operator: "t".into(),
                started_at: Timestamp::now(),
                steps: vec!["a".into(), "b".into()],
            })
            .unwrap();
        let cfg = RunConfig {
            run_id: run_id.clone(),
            operator: "t".into(),
            params: Default::default(),
            secret_values: vec![],
            seed: 1,
            auto_approve: false,
            max_parallel: None,
        };
        let mut core = Core::new(plan, cfg);
        let initial = core.start(Timestamp::now());
        let driver = Driver::new(core, store, run_id.clone(), "t".into(), Sinks::default());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let out = rt
            .block_on(driver.run(initial, std::future::pending()))
            .unwrap();
        assert_eq!(out.state, RunState::Succeeded);

        let reader = Store::open(&db).unwrap();
        let mut follow = Follow::default();
        follow.open(&reader, &run_id);
        let view = follow.view(&reader).unwrap();
        assert_eq!(view.steps[0].log_tail, vec!["first", "tail-of-a"]);
        assert!(view.steps[1].log_tail.is_empty(), "b printed nothing");
        assert!(!follow.update(&reader), "nothing new since the replay");
    }
}

//! An engine hosted in this process: the run's lease, the processes a dead engine left
//! behind, and a driver on this process's runtime, either in the foreground (headless
//! lines until the run ends) or as a task a console talks to.
use super::SessionError;
use super::prepare::Ready;
use baton_engine::{CommandRequest, DriveOutcome, Driver, DriverError, Sinks, Stop};
use baton_exec::ShutdownSignals;
use baton_model::{RunView, Timestamp};
use baton_store::Store;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

pub(crate) use baton_model::LEASE_STALE;

/// Who holds a run's lease: this process (`pid N on HOST`, so that another process on
/// the same host can tell when it died).
pub fn lease_holder() -> String {
    baton_store::lease_holder_name()
}

/// The engine's runtime: one thread (the driver's loop, which also starts local
/// processes), and a blocking pool for what may block (stopping stale groups).
pub fn runtime() -> Result<tokio::runtime::Runtime, SessionError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| SessionError::System(format!("cannot start the runtime: {e}")))
}

/// `baton serve`'s runtime: its loop runs on the thread that calls `block_on`, and the
/// runs it drives (each engine a task), the HTTP answers and the blocking work on two
/// worker threads of their own, so that 200 engines starting at one slot neither queue
/// behind the loop nor hold it up (issue 41 point 5).
pub fn serve_runtime() -> Result<tokio::runtime::Runtime, SessionError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| SessionError::System(format!("cannot start the runtime: {e}")))
}

/// Whatever a dead engine's steps left running goes first, found by the run id in its
/// environment: this also catches a process that left its step's group, and a group
/// whose id the engine died before recording. Returns how many groups were stopped.
/// The groups in `keep` (frozen attempts the new engine adopts) stay.
fn stop_leftovers(run_id: &str, keep: &[i32]) -> usize {
    baton_exec::stop_run_groups(run_id, keep, |groups| {
        baton_engine::kill_stale(run_id, groups)
    })
}

/// Whether a takeover stops what `ready`'s last engine left running (`None`: it does
/// not, its engine let the run go), and the process groups it keeps then (the frozen
/// attempts the new engine adopts): one decision for both worlds (the simulator's
/// hosts stop their attempts by it).
pub fn leftovers_kept(ready: &Ready) -> Option<Vec<i32>> {
    ready.stale.then(|| ready.core.adopted_groups())
}

/// What a takeover clears before it drives `ready`, when a dead engine drove it last
/// (`ready.stale`): the processes its steps left (not an adopted attempt's) and its
/// temporary files (outputs not read yet may hold secrets in clear; an adopted
/// attempt's stay, it reads them when it ends). How many process groups were stopped.
/// Public for the simulator (crates/sim), which drives a takeover's `Ready` itself.
pub fn clear_leftovers(ready: &Ready) -> usize {
    let Some(adopted) = leftovers_kept(ready) else {
        return 0;
    };
    let n = stop_leftovers(&ready.run_id, &adopted);
    let keep: Vec<_> = adopted
        .iter()
        .filter_map(|&g| baton_exec::adopt::attempt_dir(g))
        .collect();
    baton_exec::leftovers::remove_run_temp_dirs(&ready.run_id, &keep);
    n
}

/// The driver for `ready`, with what taking the run over did that its caller should
/// say (a headless engine on stderr; a console on its status line, never over its
/// screen).
fn driver(
    store: Store,
    ready: Ready,
    sinks: Sinks,
) -> (Driver, Vec<baton_engine::Effect>, Option<String>) {
    let n = clear_leftovers(&ready);
    driver_cleared(store, ready, sinks, n)
}

/// [`driver`] once [`clear_leftovers`] stopped `n` process groups.
fn driver_cleared(
    store: Store,
    ready: Ready,
    sinks: Sinks,
    n: usize,
) -> (Driver, Vec<baton_engine::Effect>, Option<String>) {
    let note = (n > 0)
        .then(|| format!("stopped {n} process group(s) left running by the previous engine"));
    let mut driver = Driver::new(ready.core, store, ready.run_id, lease_holder(), sinks);
    driver.announce(&ready.committed);
    (driver, ready.initial, note)
}

/// Drive the run here until it ends or a shutdown signal arrives (headless).
pub async fn drive_headless(
    store: Store,
    ready: Ready,
    sinks: Sinks,
) -> Result<DriveOutcome, SessionError> {
    let mut ready = ready;
    // No console reads this engine's views: the steps' timelines are not kept.
    ready.core.forget_history();
    // A child run's engine stopped by its parent's cancel cancels the child.
    let parent = store.parent_of(&ready.run_id).ok().flatten();
    let db = store.path().to_path_buf();
    let since = Timestamp::now();
    let run_id = ready.run_id.clone();
    let mut store = store;
    let n = clear_leftovers(&ready);
    // Its children's engines are gone now; a cancel of it ends them before its own end.
    cancel_children(&mut store, &ready).await?;
    let (driver, initial, note) = driver_cleared(store, ready, sinks, n);
    if let Some(note) = note {
        crate::stdio::errln!("{note}");
    }
    // Installed before the driver runs: its first wake-up may start hundreds of
    // processes on this thread before it first waits for a signal, and a SIGINT or
    // SIGTERM then must stop the run and its steps, not kill baton and leave them.
    let signals = ShutdownSignals::install();
    let shutdown = async move {
        match signals {
            Ok(mut signals) => {
                let sig = signals.recv().await;
                let mut stop = Stop::from(Some(sig.exit_code()));
                stop.cancel = parent.as_ref().is_some_and(|p| {
                    Store::open_existing(&db)
                        .is_ok_and(|s| crate::child::parent_cancelling(&s, p, since))
                });
                stop
            }
            // Without signal handlers the run can still end normally.
            Err(_) => std::future::pending().await,
        }
    };
    let out = driver
        .run(initial, shutdown)
        .await
        .map_err(|DriverError::Store(e)| SessionError::Store(e))?;
    sweep_ended(&run_id, &out);
    Ok(out)
}

/// The children a takeover that cancels `ready` cancels first
/// (`child::cancel::to_cancel`), each taken over by this process's OS account and
/// driven here to its end (its `on_cancel` handlers and compensations run, its own
/// children first), while `ready`'s lease is renewed; so the parent's step ends after
/// its child did, as with a live parent. What to do with each is
/// `child::cancel::attempt`'s (through `Waiting::look`, which renews the lease while
/// another engine holds the child); this schedules it: a look again after
/// [`LOOK_AGAIN`] on the runtime's clock, a drive with its heartbeat. A child left
/// unended by its drive stops the cancel here.
async fn cancel_children(store: &mut Store, ready: &Ready) -> Result<(), SessionError> {
    use crate::child::cancel::{Attempted, Waiting};
    let children = crate::child::cancel::to_cancel(store, ready)?;
    if children.is_empty() {
        return Ok(());
    }
    let operator = crate::identity::os_account()?;
    for child in children {
        let mut waiting = Waiting::new((&child, &ready.run_id), &operator);
        let taken = loop {
            match waiting.look(store)? {
                Attempted::Taken(taken) => break Some(taken),
                Attempted::Ended => break None,
                Attempted::Driven { .. } => tokio::time::sleep(LOOK_AGAIN).await,
                Attempted::Left(err) => {
                    let line = crate::child::cancel::left_line(&child, &ready.run_id, &err);
                    crate::stdio::errln!("{line}");
                    break None;
                }
            }
        };
        let Some(taken) = taken else {
            continue;
        };
        crate::stdio::errln!(
            "cancelling child run {child} of run {} first: its engine was the dead engine's step",
            ready.run_id
        );
        let own = Store::open_existing(store.path())?;
        let mut drive = Box::pin(drive_headless(own, *taken, Sinks::default()));
        let mut beat = tokio::time::interval(baton_engine::wake::hold::HEARTBEAT);
        let out = loop {
            tokio::select! {
                out = &mut drive => break out?,
                _ = beat.tick() => {
                    store.heartbeat(&ready.run_id, &lease_holder(), Timestamp::now())?;
                }
            }
        };
        if !out.state.is_final() {
            return Err(SessionError::System(format!(
                "child run {child} was left {}, not cancelled: run {} is not cancelled; `baton cancel {}` again",
                out.state, ready.run_id, ready.run_id
            )));
        }
    }
    Ok(())
}

/// How soon a parent's cancel looks again at a child another engine holds.
const LOOK_AGAIN: std::time::Duration = std::time::Duration::from_millis(100);

/// Once the run ended, whatever temporary directory of it is left goes: an attempt
/// adopted from an engine that detached ran in that engine's files directory, which
/// this engine does not own (it removes the attempt's own directory, not its run's).
fn sweep_ended(run_id: &str, out: &DriveOutcome) {
    if out.state.is_final() {
        baton_exec::leftovers::remove_run_temp_dirs(run_id, &[]);
    }
}

/// An engine running as a task of this process, driven on behalf of a console.
pub(crate) struct Hosted {
    pub run_id: String,
    pub view: watch::Receiver<Arc<RunView>>,
    /// What taking the run over did, for the console to say (`driver`).
    pub note: Option<String>,
    commands: mpsc::Sender<CommandRequest>,
    stop: Option<oneshot::Sender<Stop>>,
    done: JoinHandle<Result<DriveOutcome, DriverError>>,
}

impl Hosted {
    /// Start driving `ready` on the current runtime (it must be inside one); what the
    /// takeover did is said on stderr (`baton serve`).
    pub(crate) fn spawn(store: Store, ready: Ready) -> Hosted {
        let hosted = Hosted::spawn_quietly(store, ready);
        if let Some(note) = &hosted.note {
            crate::stdio::errln!("{note}");
        }
        hosted
    }

    /// Like [`Hosted::spawn`], keeping what the takeover did in `note` for a console
    /// to show: a line on stderr would be written over its screen.
    pub(crate) fn spawn_quietly(store: Store, ready: Ready) -> Hosted {
        let run_id = ready.run_id.clone();
        let (mut driver, initial, note) = driver(store, ready, Sinks::default());
        let (view_tx, view) = watch::channel(Arc::new(driver.view()));
        let (commands, commands_rx) = mpsc::channel(32);
        driver.attach_console(view_tx, commands_rx);
        let (stop, stop_rx) = oneshot::channel::<Stop>();
        // The host going away without a word is a quit.
        let shutdown = async move { stop_rx.await.unwrap_or_default() };
        let swept = run_id.clone();
        let done = tokio::spawn(async move {
            let out = driver.run(initial, shutdown).await;
            if let Ok(o) = &out {
                sweep_ended(&swept, o);
            }
            out
        });
        Hosted {
            run_id,
            view,
            note,
            commands,
            stop: Some(stop),
            done,
        }
    }

    /// A sender for commands, for a caller that answers asynchronously.
    pub(crate) fn commands(&self) -> mpsc::Sender<CommandRequest> {
        self.commands.clone()
    }

    /// The engine let go of its view: it is ending (`finish` returns soon).
    pub(crate) fn view_closed(&self) -> bool {
        self.view.has_changed().is_err()
    }

    /// The run ended (or the engine failed): `finish` returns at once.
    pub(crate) fn is_done(&self) -> bool {
        self.done.is_finished()
    }

    /// Ask the engine to stop: running steps are killed and the run is interrupted
    /// (resumable), or with `stop.detach` the run is interrupted with its running steps
    /// left alive for the next engine. `stop.signal` is the code of the signal that
    /// asked, if any.
    pub(crate) fn stop(&mut self, stop: Stop) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(stop);
        }
    }

    /// Wait for the engine to end.
    pub(crate) async fn finish(self) -> Result<DriveOutcome, SessionError> {
        match self.done.await {
            Ok(Ok(outcome)) => Ok(outcome),
            Ok(Err(DriverError::Store(e))) => Err(SessionError::Store(e)),
            Err(e) => Err(SessionError::System(format!("the engine task failed: {e}"))),
        }
    }
}

//! The imperative shell around `engine::core`: executes the core's effects with tokio,
//! commits every wake-up's events in ONE store transaction before any effect they
//! decide runs (write-ahead, without exception: a step's start is committed before its
//! process exists; a commit that nothing waits for may join the next, `deferred`), feeds completions, timers, commands from the store and
//! from the console back in as inputs, and publishes `RunView` snapshots.
use super::core::{Core, Effect, Input, ProbeResult, SpawnSpec, StepExit};
use super::printer;
use baton_exec::{self as exec, KillReason, ShellJob};
use baton_model::mask::Masker;
use baton_model::{
    CommandOutcome, Event, FastMap, OutputProblem, RunState, RunView, StepOutcome, Timestamp, Usage,
};
use baton_store::{AttemptLog, Store, StoreError};
use baton_workflow::Builtin;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};

mod asks;
mod cached;
mod commands;
mod deferred;
mod doors;
mod handover;
mod pool_slots;
mod reopen;
pub use handover::{Stop, stop_input};
pub use pool_slots::{slot_answer, slot_ask, store_pools};
pub use reopen::hold_group_to_reopen;
mod fence;
mod spawn;
mod waits;
use waits::{instant_at, recv_command, sleep_until, woken};

/// How often the store is polled for commands from other processes (PRAGMA
/// data_version): the fallback when no wake-up arrives (see `store::wake`).
const COMMAND_POLL: Duration = Duration::from_millis(100);
/// Tests and benchmarks set a longer poll (milliseconds) to show the wake path alone.
const COMMAND_POLL_ENV: &str = "BATON_COMMAND_POLL_MS";
/// Minimum gap between two published views (a 10,000-step view is not free).
const VIEW_EVERY: Duration = Duration::from_millis(40);
/// SIGTERM → SIGKILL grace for killed process groups.
pub(crate) const KILL_GRACE: Duration = Duration::from_secs(3);
/// Longest a fact waits for a commit: a process id, or a wake-up's events that nothing
/// waits for (`deferred::Durable::may_wait`: idempotent steps starting and succeeding).
/// They usually ride along with the next wake-up's commit; this bounds the window in
/// which a crash loses them (resume redoes those steps, and finds their groups by
/// `BATON_RUN_ID`).
const COMMIT_WAIT: Duration = Duration::from_millis(2);

#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where a driver sends what it sees, besides the store.
#[derive(Default)]
pub struct Sinks {
    /// Human lines (headless).
    pub lines: Option<Box<dyn Write + Send>>,
    /// JSON lines (`--events`).
    pub events: Option<Box<dyn Write + Send>>,
}

/// A command handed to this engine in-process (the console, or a session that took the
/// run over), answered on `reply` once the core has decided.
#[derive(Debug)]
pub struct CommandRequest {
    pub command: baton_model::Command,
    pub reply: oneshot::Sender<CommandOutcome>,
}

/// How the drive ended.
#[derive(Debug, Clone, PartialEq)]
pub struct DriveOutcome {
    pub state: RunState,
    /// The signal that stopped the engine, if any (exit code 128 + n).
    pub signal_exit: Option<i32>,
}

/// What arrives in the driver's inbox from the tasks it started.
enum Msg {
    /// A thaw of an adopted attempt not carried out: tracing it was refused.
    ThawRefused { key: (usize, u32), why: String },
    /// A shell attempt's process is running (started off the driver's thread).
    Started {
        key: (usize, u32),
        compensation: bool,
        placement: exec::Placement,
        kill: exec::KillHandle,
        tail: exec::TailHandle,
    },
    /// What the cluster says of a running attempt's job, when it changes.
    JobState {
        key: (usize, u32),
        state: String,
        reason: Option<String>,
    },
    /// What a running attempt has written to `$BATON_USAGE` so far, summed.
    Usage { key: (usize, u32), usage: Usage },
    /// A check of a service's probe answered.
    Probed {
        key: (usize, u32),
        probe: baton_model::ProbeKind,
        checked: exec::probe::Checked,
    },
    /// The `[secrets]` values read for a step as it starts: the core masks them.
    SecretsRead(Vec<String>),
    /// An attempt's artifacts kept in the store, or why not (`Effect::Collect`).
    Collected {
        key: (usize, u32),
        result: Result<Vec<baton_model::ArtifactRecord>, super::core::ArtifactsNotKept>,
        /// What went wrong sending its files ahead (`send_ahead::Notes`), never fatal.
        notes: Vec<String>,
    },
    /// A `[[notify]]` command ended (`failure`: how and why, if it failed).
    Notified {
        step: Option<usize>,
        event: &'static str,
        failure: Option<(baton_model::ErrorKind, String)>,
    },
    /// An attempt (or compensation) ended; its log goes to the store and the view.
    Exited {
        key: (usize, u32),
        log: Option<(String, PathBuf, Vec<String>)>,
        input: Input,
        /// Malformed `$BATON_OUTPUT`/`$BATON_USAGE` lines, log write failures.
        problems: Vec<OutputProblem>,
    },
}

struct Live {
    kill: Option<exec::KillHandle>,
    tail: Option<exec::TailHandle>,
    cancel: Option<oneshot::Sender<KillReason>>,
    /// A freeze (`Effect::Freeze`: true) or thaw (false) decided before its handle was
    /// known: applied as soon as it is. A thaw matters for an adopted attempt, which
    /// starts frozen (`exec::adopt`); for a fresh one it is a harmless SIGCONT.
    frozen: Option<bool>,
}

pub struct Driver {
    core: Core,
    store: Store,
    run_id: String,
    lease_holder: String,
    inbox_tx: mpsc::UnboundedSender<Msg>,
    inbox_rx: mpsc::UnboundedReceiver<Msg>,
    live: FastMap<(usize, u32), Live>,
    /// Each step's last ended attempt's tail, for the view: only a tail with lines (most
    /// steps of a large DAG print nothing), and no path (the view's is made from the log
    /// directory), so that a run keeps nothing per quiet step as it grows.
    logs: FastMap<usize, Vec<String>>,
    /// Logs of attempts that ended, recorded with the next commit (the one that
    /// carries their exit events).
    pending_logs: Vec<AttemptLog>,
    /// The run's log directory (`Store::log_dir`), looked up once.
    log_dir: PathBuf,
    /// Events recording facts, not decisions (a started process's id, idempotent steps
    /// starting and succeeding: `deferred::Durable::may_wait`), that wait for the next
    /// commit instead of paying for one of their own; and since when (`COMMIT_WAIT`).
    unsaved: Vec<Event>,
    unsaved_since: Option<Instant>,
    /// Processes reported started since the last wake-up, for the core.
    started: Vec<Input>,
    /// The plan's executors, and the rotations of steps spread over several
    /// (`crate::hands`: the one dispatch to them).
    executors: crate::hands::Executors,
    /// Shared private directory for the attempts' output/usage files; made on the
    /// first shell attempt, removed when the driver goes.
    files_dir: Option<exec::FilesDir>,
    /// The wake-up whose local starts are being made, and how many so far
    /// (`spawn::start_here`).
    starts_here: (u64, u32),
    sinks: Sinks,
    view_tx: Option<watch::Sender<Arc<RunView>>>,
    commands_rx: Option<mpsc::Receiver<CommandRequest>>,
    console_replies: HashMap<i64, oneshot::Sender<CommandOutcome>>,
    next_console_id: i64,
    /// The store's `PRAGMA data_version` when its commands were last claimed (`None`:
    /// not yet).
    data_version: Option<i64>,
    /// A command's text was masked in the store: its unmasked copy may still be in the
    /// write-ahead log until a checkpoint empties it (`Store::scrub_wal`).
    wal_unscrubbed: bool,
    /// The verdicts on the store's commands decided since the last commit: written in
    /// the commit of their decisions (`Store::commit_decided`).
    verdicts: Vec<(i64, CommandOutcome)>,
    view_dirty: bool,
    last_view: Instant,
    /// `[[notify]]` commands still running, and each gate's prompt for them.
    notifying: usize,
    notify_prompts: HashMap<String, String>,
    /// Each `[[notify]]` entry's last command: the next waits for it, so that an entry
    /// hears its events in the order they happened (a gate's decision before the run's
    /// end), while a slow entry holds up no other.
    notify_last: Vec<Option<tokio::task::JoinHandle<()>>>,
    /// The steps' asks as last seen (`asks.rs`); `None` until first looked at.
    asks_seen: Option<HashMap<String, baton_model::ask::AskState>>,
    /// The store's asks counter (`Store::asks_rev`) when the run's asks were last read:
    /// they are read again only once it moved.
    asks_rev: Option<i64>,
    /// Cached steps' attempts between their start and their end (`cached.rs`).
    cache: cached::CacheState,
    /// Slots of store-wide pools the core waits for (`pool_slots.rs`).
    slot_asks: Vec<super::core::SlotRequest>,
    /// Which commits may wait for the next one (`deferred`).
    durable: deferred::Durable,
    /// When the store last checked that the run holds its lease and group (`fence`).
    fenced_at: Instant,
    /// Artifacts' copies sent ahead to their readers' hosts, until taken
    /// (`send_ahead`); the rest released when the driver goes.
    sent: crate::send_ahead::Sent,
    /// This wake-up looks at the store (its poll's tick): `wake::Gather::looks`.
    looking: bool,
    /// What the inbox, the timers and the console handed in for this wake-up.
    brought: Vec<Input>,
}

impl Driver {
    pub fn new(
        mut core: Core,
        mut store: Store,
        run_id: String,
        lease_holder: String,
        sinks: Sinks,
    ) -> Self {
        // Best effort: a store that cannot change its wait keeps the shorter one.
        let _ = store.wait_as_engine();
        // Best effort: a store that cannot start its checkpoints' thread keeps running
        // them on this one, as SQLite does by default.
        let _ = store.checkpoint_aside();
        // A local step's `baton ask` writes to this store (`SpawnSpec::local_env`).
        core.locate_store(store.path().to_path_buf());
        // A group store's directory is any member's: local steps' copies lie in this
        // account's own stage, which nobody else can write or rename.
        if let Some(stage) = baton_store::account_stage(store.path()) {
            core.locate_stage(stage);
        }
        let (inbox_tx, inbox_rx) = mpsc::unbounded_channel();
        let log_dir = store.log_dir(&run_id);
        let executors = exec::Backends::builtin().for_plan(core.plan(), &run_id);
        let executors = crate::hands::Executors::new(executors);
        let durable = deferred::Durable::new(core.plan());
        crate::wake::hold::take(&mut store, &run_id, &lease_holder, core.plan());
        Driver {
            durable,
            fenced_at: Instant::now(),
            sent: crate::send_ahead::Sent::default(),
            executors,
            log_dir,
            core,
            store,
            run_id,
            lease_holder,
            inbox_tx,
            inbox_rx,
            live: FastMap::default(),
            logs: FastMap::default(),
            pending_logs: Vec::new(),
            unsaved: Vec::new(),
            unsaved_since: None,
            started: Vec::new(),
            files_dir: None,
            starts_here: (0, 0),
            sinks,
            view_tx: None,
            commands_rx: None,
            console_replies: HashMap::new(),
            next_console_id: -1,
            data_version: None,
            wal_unscrubbed: false,
            verdicts: Vec::new(),
            view_dirty: true,
            last_view: Instant::now() - VIEW_EVERY,
            notifying: 0,
            notify_prompts: HashMap::new(),
            notify_last: Vec::new(),
            asks_seen: None,
            asks_rev: None,
            cache: cached::CacheState::default(),
            slot_asks: Vec::new(),
            looking: false,
            brought: Vec::new(),
        }
    }

    /// Make the plan's executors with `backends` instead of the built-in kinds (an
    /// embedder's own kind, a test's fake): before the run starts.
    pub fn use_backends(&mut self, backends: &exec::Backends) {
        let executors = backends.for_plan(self.core.plan(), &self.run_id);
        self.executors = crate::hands::Executors::new(executors);
    }

    /// Attach an in-process client (the session serving a console): views go out on
    /// `view`, commands come in on `requests`. When the client hangs up (the sender is
    /// dropped) an unfinished run is interrupted, as on a signal. The driver still ends
    /// when the run does: a later command reopens the run through the session.
    pub fn attach_console(
        &mut self,
        view: watch::Sender<Arc<RunView>>,
        requests: mpsc::Receiver<CommandRequest>,
    ) {
        self.view_tx = Some(view);
        self.commands_rx = Some(requests);
        self.view_dirty = true;
    }

    /// Show events committed before this driver took over (with the run's creation).
    pub fn announce(&mut self, events: &[Event]) {
        self.emit(events);
        self.view_dirty = true;
    }

    pub fn view(&self) -> RunView {
        self.decorate(self.core.view(Timestamp::now()))
    }

    /// Drive the run until it finishes (or its in-process client hangs up), or until
    /// `shutdown` resolves: then running groups are killed and the run is recorded as
    /// interrupted, or (`Stop::detach`) they are handed to the next engine alive.
    pub async fn run<F>(
        mut self,
        initial: Vec<Effect>,
        shutdown: F,
    ) -> Result<DriveOutcome, DriverError>
    where
        F: std::future::Future<Output = Stop>,
    {
        match self.drive(initial, shutdown).await {
            Ok(outcome) => Ok(outcome),
            Err(e) => {
                self.abandon().await;
                Err(e)
            }
        }
    }

    /// The store failed (gone, replaced, full…): nothing more can be recorded, so
    /// nothing more may run. Stop what runs (TERM, then KILL after the grace) and wait
    /// for it, bounded, without writing anything.
    async fn abandon(&mut self) {
        for live in self.live.values_mut() {
            if let Some(k) = &live.kill {
                k.terminate(KILL_GRACE, KillReason::Cancel);
            }
            if let Some(c) = live.cancel.take() {
                let _ = c.send(KillReason::Cancel);
            }
        }
        let deadline = tokio::time::Instant::now() + KILL_GRACE + Duration::from_secs(2);
        while !self.live.is_empty() {
            match tokio::time::timeout_at(deadline, self.inbox_rx.recv()).await {
                Ok(Some(Msg::Exited { key, .. })) => {
                    self.live.remove(&key);
                }
                // Started after the failure: stop it too.
                Ok(Some(Msg::Started { kill, .. })) => {
                    kill.terminate(KILL_GRACE, KillReason::Cancel)
                }
                // Nothing can be recorded any more: a notifier's result is dropped.
                Ok(Some(
                    Msg::Notified { .. }
                    | Msg::JobState { .. }
                    | Msg::Probed { .. }
                    | Msg::SecretsRead(_)
                    | Msg::Collected { .. }
                    | Msg::Usage { .. }
                    | Msg::ThawRefused { .. },
                )) => {}
                Ok(None) | Err(_) => break,
            }
        }
    }

    /// Before the loop: the engine's first wake-up of the run (`crate::wake::start`:
    /// the initial effects, then the commands already waiting, submitted before this
    /// engine started or for it: a background engine started to serve them).
    fn start_driving(&mut self, initial: Vec<Effect>) -> Result<(), DriverError> {
        // Not read yet: the commands waiting are claimed now, whatever the store's
        // version (`poll_commands`).
        self.data_version = None;
        crate::wake::start(self, initial)?;
        self.notice_asks()?;
        self.publish(true);
        Ok(())
    }

    /// The poll's tick: this wake-up looks at the store (its admission, commands and
    /// slots, gathered by `wake::wake_up`), the WAL, and the lease's heartbeat.
    fn on_poll(&mut self, last_heartbeat: &mut Instant) -> Result<(), DriverError> {
        self.looking = true;
        self.scrub_wal();
        let mut beating = fence::Beating {
            driver: self,
            last: last_heartbeat,
        };
        crate::wake::hold::renew(&mut beating)
    }

    async fn drive<F>(
        &mut self,
        initial: Vec<Effect>,
        shutdown: F,
    ) -> Result<DriveOutcome, DriverError>
    where
        F: std::future::Future<Output = Stop>,
    {
        let looped = self.drive_loop(initial, shutdown).await;
        // On every way out, an error's too: no copy sent ahead stays held for a reader
        // that will not take it (a later engine adopts none it did not send).
        self.release_untaken().await;
        let signal_exit = looped?;
        // Nothing recorded stays behind when the driver goes.
        self.execute(Vec::new())?;
        self.commit(&mut Vec::new())?;
        // Let go of, as every engine lets go of a run it drove to its end or stops
        // driving (`wake::hold`). Best effort: a lease left behind goes stale and can
        // be taken over anyway.
        let idle = self.live.is_empty() && self.notifying == 0;
        let run = crate::wake::Run {
            store: &mut self.store,
            run_id: &self.run_id,
            core: &mut self.core,
        };
        let holding = (self.lease_holder.as_str(), self.log_dir.as_path());
        let _ = crate::wake::hold::finish_if_done(
            run,
            holding,
            idle,
            crate::wake::hold::Leaving::Stopping,
        );
        self.publish(true);
        Ok(DriveOutcome {
            state: self.core.run_state(),
            signal_exit,
        })
    }

    /// The driver's loop, until the run ended, the engine stopped or handed it over:
    /// the signal that stopped it, if one did.
    async fn drive_loop<F>(
        &mut self,
        initial: Vec<Effect>,
        shutdown: F,
    ) -> Result<Option<i32>, DriverError>
    where
        F: std::future::Future<Output = Stop>,
    {
        self.start_driving(initial)?;
        let mut shutdown = waits::OnWake::new(shutdown);
        let every = std::env::var(COMMAND_POLL_ENV)
            .ok()
            .and_then(|v| v.parse().ok())
            .map_or(COMMAND_POLL, Duration::from_millis);
        let mut poll = tokio::time::interval(every);
        let waker = baton_store::wake::WakeListener::bind(self.store.path(), &self.run_id);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut last_heartbeat = Instant::now();
        let mut signal_exit: Option<i32> = None;
        let mut stopping = false;
        let mut detaching = false;
        // Once stopping, wait for the killed groups to exit, but not forever.
        let mut stop_deadline: Option<Instant> = None;
        loop {
            // Notifiers of the last events (run_finished) finish before the engine goes.
            let idle = self.live.is_empty() && self.notifying == 0;
            let finished = crate::wake::hold::done(&self.core, idle);
            let overdue = stop_deadline.is_some_and(|d| Instant::now() >= d);
            if finished || overdue {
                break;
            }
            if stopping && stop_deadline.is_none() {
                stop_deadline = Some(Instant::now() + KILL_GRACE + Duration::from_secs(2));
            }
            let wake = self.core.next_wakeup().map(instant_at);
            let view_due =
                (self.view_dirty && self.view_tx.is_some()).then(|| self.last_view + VIEW_EVERY);
            let flush_due = self.unsaved_since.map(|t| t + COMMIT_WAIT);
            let mut inputs = Vec::new();
            // A stop joins after what the inbox holds (`wake::brought`).
            let mut stop_in = None;
            let mut flush = false;
            tokio::select! {
                Some(msg) = self.inbox_rx.recv() => self.receive(msg, &mut inputs)?,
                _ = sleep_until(wake), if wake.is_some() => inputs.push(Input::Tick),
                _ = sleep_until(view_due), if view_due.is_some() => {}
                _ = sleep_until(flush_due), if flush_due.is_some() => flush = true,
                _ = sleep_until(stop_deadline), if stop_deadline.is_some() => {}
                _ = woken(&waker) => self.poll_commands(&mut inputs)?,
                _ = poll.tick() => self.on_poll(&mut last_heartbeat)?,
                req = recv_command(&mut self.commands_rx) => match req {
                    Some(req) => self.command_request(req, &mut inputs),
                    // The client hung up: stop serving; an unfinished run is interrupted.
                    None => {
                        self.commands_rx = None;
                        if !self.core.is_finished() && !stopping {
                            stopping = true;
                            stop_in = Some(Input::Shutdown { reason: "console closed".into() });
                        }
                    }
                },
                stop = &mut shutdown, if !stopping => {
                    stopping = true;
                    signal_exit = stop.signal;
                    detaching = stop.detach;
                    stop_in = Some(handover::stop_input(&stop, self.core.operator()));
                }
            }
            // Group commit: everything already waiting goes into the same wake-up,
            // decided before a stop.
            while let Ok(msg) = self.inbox_rx.try_recv() {
                self.receive(msg, &mut inputs)?;
            }
            // Before the inputs: an exit in this same wake-up must find its process
            // recorded as started, not stale.
            self.absorb_started()?;
            // The one wake-up (`crate::wake::wake_up`): the store's inputs when this
            // is a poll, then what was handed in; decided, committed, acted on.
            self.brought = crate::wake::brought(inputs, stop_in);
            let woke = crate::wake::wake_up(self);
            self.looking = false;
            if !woke? && flush {
                self.execute(Vec::new())?;
            }
            if flush {
                self.commit(&mut Vec::new())?;
            }
            self.publish(false);
            // Frozen for the hand-over: nothing of theirs is this engine's to wait for.
            if detaching {
                self.hand_over_live().await;
                break;
            }
        }
        Ok(signal_exit)
    }

    /// Commit the events, then run the effects they decided: the one wake-up's
    /// (`crate::wake::execute`), through this driver's doors (`doors.rs`).
    fn execute(&mut self, effects: Vec<Effect>) -> Result<(), DriverError> {
        crate::wake::execute(self, effects)
    }

    /// Commit `events` (after the process ids waiting for a commit) with the logs of
    /// the attempts that ended, then show them. Nothing acts before this returns.
    fn commit(&mut self, events: &mut Vec<Event>) -> Result<(), DriverError> {
        if events.is_empty()
            && self.pending_logs.is_empty()
            && self.unsaved.is_empty()
            && self.verdicts.is_empty()
        {
            return Ok(());
        }
        let mut batch = std::mem::take(&mut self.unsaved);
        // Earlier sequence numbers than this wake-up's events: they go first.
        batch.append(events);
        self.unsaved_since = None;
        let logs = std::mem::take(&mut self.pending_logs);
        // The core has folded every event it emitted: the batch ends at its last.
        debug_assert!(batch.last().is_none_or(|e| e.seq == self.core.last_seq()));
        let verdicts = std::mem::take(&mut self.verdicts);
        let run = crate::wake::Run {
            store: &mut self.store,
            run_id: &self.run_id,
            core: &mut self.core,
        };
        crate::wake::record(run, (&batch, &logs), &verdicts)?;
        self.fenced();
        self.cache_committed(&batch);
        self.emit(&batch);
        self.view_dirty = true;
        Ok(())
    }

    /// The processes started since the last wake-up: the core records their ids; the
    /// events wait for the next commit (see `COMMIT_WAIT`).
    fn absorb_started(&mut self) -> Result<(), DriverError> {
        if !self.started.is_empty() {
            let now = Timestamp::now();
            let started = std::mem::take(&mut self.started);
            let mut follow_up = Vec::new();
            for effect in started.into_iter().flat_map(|i| self.core.handle(i, now)) {
                match effect {
                    Effect::Persist(e) => self.unsaved.push(e),
                    other => follow_up.push(other),
                }
            }
            if !self.unsaved.is_empty() && self.unsaved_since.is_none() {
                self.unsaved_since = Some(Instant::now());
            }
            self.view_dirty = true;
            // A decision that acts (a service without a readiness probe is ready once
            // its process runs: its dependants start) is committed before it acts.
            let acts = follow_up
                .iter()
                .any(|e| !matches!(e, Effect::KillStale { .. } | Effect::Probe(_)));
            if acts {
                self.commit(&mut Vec::new())?;
            }
            for effect in follow_up {
                if let Effect::KillStale { pgid } = effect {
                    // A process that came up for a step no longer running: stopping it
                    // may take the grace period, which the driver does not wait out.
                    let run_id = self.run_id.clone();
                    tokio::task::spawn_blocking(move || kill_stale(&run_id, &[pgid]));
                } else {
                    self.act(effect)?;
                }
            }
        }
        Ok(())
    }

    /// Start the `[[notify]]` commands that `events` call for.
    fn notify(&mut self, events: &[Event]) {
        if self.core.plan().notify.is_empty() {
            return;
        }
        let notices: Vec<_> = events
            .iter()
            .filter_map(|e| super::notify::notice(e, &mut self.notify_prompts))
            .collect();
        self.fire(notices);
    }

    /// Start the `[[notify]]` commands that `notices` call for, each entry's in order.
    fn fire(&mut self, notices: Vec<super::notify::Notice>) {
        let plan = Arc::clone(self.core.plan());
        for notice in notices {
            let notice = notice.with_summary(&self.log_dir);
            let step = notice
                .step
                .as_deref()
                .and_then(|s| plan.steps.iter().position(|p| p.id == s));
            self.notify_last.resize_with(plan.notify.len(), || None);
            for (i, n) in plan.notify.iter().enumerate() {
                if !super::notify::hears(&plan, i, &notice) {
                    continue;
                }
                self.notifying += 1;
                let (n, notice, tx) = (n.clone(), notice.clone(), self.inbox_tx.clone());
                let (run_id, state, dir) = (
                    self.run_id.clone(),
                    self.core.run_state(),
                    plan.base_dir.clone(),
                );
                let before = self.notify_last[i].take();
                self.notify_last[i] = Some(tokio::spawn(async move {
                    if let Some(before) = before {
                        let _ = before.await;
                    }
                    let failure = super::notify::run(&n, &notice, &run_id, state, &dir)
                        .await
                        .err();
                    let _ = tx.send(Msg::Notified {
                        step,
                        event: notice.event.as_str(),
                        failure,
                    });
                }));
            }
        }
    }

    fn emit(&mut self, events: &[Event]) {
        self.notify(events);
        let plan = Arc::clone(self.core.plan());
        if let Some(out) = self.sinks.lines.as_mut() {
            // The line's bytes as they are: `writeln!` would take it through the
            // formatter (0.4 k instructions a step for three lines).
            for line in printer::lines(&self.run_id, events, Some(&plan)) {
                let _ = out.write_all(line.as_bytes());
                let _ = out.write_all(b"\n");
            }
            let _ = out.flush();
        }
        if let Some(out) = self.sinks.events.as_mut() {
            for e in events {
                let _ = writeln!(out, "{}", printer::json_line(&self.run_id, e));
            }
            let _ = out.flush();
        }
    }

    fn receive(&mut self, msg: Msg, inputs: &mut Vec<Input>) -> Result<(), DriverError> {
        match msg {
            Msg::ThawRefused { key, why } => inputs.push(Input::ThawRefused {
                step: key.0,
                attempt: key.1,
                why,
            }),
            Msg::Started {
                key,
                compensation,
                placement,
                kill,
                tail,
            } => {
                // Came up after a pause (stopped past its lease): still ours to run?
                let fenced = self.fresh_fence();
                if let Some(live) = self.live.get_mut(&key) {
                    // Held (or released) before its process was known: now.
                    let refused = live.frozen.and_then(|stop| spawn::freeze(&kill, stop));
                    if let Some(why) = refused {
                        live.frozen = Some(true);
                        inputs.push(Input::ThawRefused {
                            step: key.0,
                            attempt: key.1,
                            why,
                        });
                    }
                    live.kill = Some(kill);
                    live.tail = Some(tail);
                }
                if !compensation {
                    self.started.push(spawn::started_input(key, placement));
                }
                // Not: `abandon` stops it, now that its handle is known.
                fenced?;
            }
            Msg::Probed {
                key,
                probe,
                checked,
            } => inputs.push(Input::ProbeResult(ProbeResult {
                step: key.0,
                attempt: key.1,
                probe,
                ok: checked.ok,
                detail: checked.detail,
            })),
            Msg::SecretsRead(values) => self.core.learn_secrets(values),
            Msg::Collected { key, result, notes } => spawn::collected(key, result, notes, inputs),
            Msg::Usage { key, usage } => inputs.push(Input::Usage {
                step: key.0,
                attempt: key.1,
                usage,
            }),
            Msg::JobState { key, state, reason } => inputs.push(Input::JobState {
                step: key.0,
                attempt: key.1,
                state,
                reason,
            }),
            Msg::Notified {
                step,
                event,
                failure,
            } => {
                self.notifying = self.notifying.saturating_sub(1);
                if let Some((kind, message)) = failure {
                    inputs.push(Input::NotifierFailed {
                        step,
                        kind,
                        event: event.to_string(),
                        message,
                    });
                }
            }
            Msg::Exited {
                key,
                log,
                input,
                mut problems,
            } => {
                self.live.remove(&key);
                // A step that asked ends once its ask is decided: the decision is
                // told before the step's end and what follows it.
                self.notice_asks()?;
                self.cache_saw_exit(key, &input, &mut problems);
                if let Some((step_id, path, tail)) = log {
                    self.pending_logs.push(AttemptLog {
                        step_id,
                        attempt: key.1,
                        path,
                        tail: tail.join("\n"),
                    });
                    keep_tail(&mut self.logs, key.0, tail);
                }
                if !problems.is_empty() {
                    // Before the exit: recorded on the attempt that had them.
                    inputs.push(Input::OutputProblems {
                        step: key.0,
                        attempt: key.1,
                        problems,
                    });
                }
                inputs.push(input);
            }
        }
        Ok(())
    }

    fn decorate(&self, mut view: RunView) -> RunView {
        for ((step, _), live) in &self.live {
            if let (Some(tail), Some(sv)) = (&live.tail, view.steps.get_mut(*step)) {
                sv.log_tail = tail.lines();
            }
        }
        for (step, tail) in &self.logs {
            if let Some(sv) = view.steps.get_mut(*step)
                && sv.log_tail.is_empty()
            {
                sv.log_tail = tail.clone();
            }
        }
        set_log_paths(&self.log_dir, &mut view);
        view
    }

    fn publish(&mut self, force: bool) {
        let Some(tx) = &self.view_tx else { return };
        if !force && (!self.view_dirty || self.last_view.elapsed() < VIEW_EVERY) {
            return;
        }
        let view = self.view();
        let _ = tx.send(Arc::new(view));
        self.view_dirty = false;
        self.last_view = Instant::now();
    }
}

/// What the view keeps of an attempt of `step` that ended with `tail`: its lines, or, for
/// an attempt that printed nothing, no entry at all (an earlier attempt's lines go, as
/// the view shows the latest attempt's). A quiet run keeps nothing per step.
fn keep_tail(logs: &mut FastMap<usize, Vec<String>>, step: usize, tail: Vec<String>) {
    if tail.is_empty() {
        logs.remove(&step);
    } else {
        logs.insert(step, tail);
    }
}

/// Each step's current attempt writes `<log dir>/<step>.<attempt>.log`: the console's
/// full-screen log reads it from there (steps without a process have no file).
pub fn set_log_paths(log_dir: &Path, view: &mut RunView) {
    for sv in view.steps.iter_mut().filter(|s| s.attempts > 0) {
        sv.log_path = Some(log_dir.join(baton_model::log_file_name(&sv.id, sv.attempts)));
    }
}

/// Kill every stale group of `run_id` at once (each may take the grace period), best
/// effort: a group may be long gone. A recorded group id that now belongs to something
/// else (its members do not carry the run's id) is left alone.
pub fn kill_stale(run_id: &str, pgids: &[i32]) {
    let ours: Vec<i32> = pgids
        .iter()
        .copied()
        .filter(|&pgid| exec::group_belongs_to(pgid, run_id))
        .collect();
    let pgids = ours.as_slice();
    let kill_all = || {
        std::thread::scope(|scope| {
            for &pgid in pgids {
                scope.spawn(move || exec::kill_stale_group(pgid, KILL_GRACE));
            }
        })
    };
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(kill_all),
        _ => kill_all(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_attempts_that_printed_keep_a_tail() {
        let mut logs = FastMap::default();
        // A step that printed nothing keeps no entry.
        keep_tail(&mut logs, 0, Vec::new());
        assert!(logs.is_empty());
        keep_tail(&mut logs, 1, vec!["first".to_string()]);
        assert_eq!(logs.get(&1), Some(&vec!["first".to_string()]));
        // A later attempt's lines replace the earlier's.
        keep_tail(&mut logs, 1, vec!["second".to_string()]);
        assert_eq!(logs.get(&1), Some(&vec!["second".to_string()]));
        // A later attempt that printed nothing leaves no earlier lines behind.
        keep_tail(&mut logs, 1, Vec::new());
        assert!(logs.is_empty());
    }
}

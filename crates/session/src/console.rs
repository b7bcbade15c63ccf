//! The service behind the console, the same for `baton run` and `baton tui`: it shows
//! one run at a time (driven here, or followed through the store), answers the
//! console's requests, and makes this process the engine of any run the operator acts
//! on that no live engine drives (approve, reject, retry, mark, cancel, resume).
use super::SessionError;
use super::ask_book::AskBook;
use super::command::{self, Applied, Delivery};
use super::follow::{Follow, empty_view};
use super::host::Hosted;
use super::prepare::Ready;
use super::run_list::RunList;
use baton_engine::{CommandRequest, DriveOutcome};
use baton_model::{Command, CommandOutcome, Refusal, RunView, SharedRuns};
use baton_store::Store;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};

mod history;
mod start;

/// The link a console is connected to this service with, and the requests it sends
/// (data of their own crate: the console is built against `baton-link`, not this one).
pub(crate) use baton_link::{ConsoleLink, ConsoleRequest, Expected};

/// How often the store is checked for new events and runs.
const FOLLOW_EVERY: Duration = Duration::from_millis(150);
/// How often the run list is read even when nothing was written.
const RUNS_EVERY: Duration = Duration::from_secs(1);

/// Work finished off the service's thread, coming back to it.
enum Back {
    /// A run this console now drives; `reply` gets the command's verdict.
    TakenOver {
        ready: Box<Ready>,
        message: Option<String>,
        reply: Reply,
    },
    /// A run this console started (`start`), with the params it was given.
    Started {
        ready: Box<Ready>,
        message: String,
        reply: oneshot::Sender<Result<String, Refusal>>,
        params: Vec<(String, String)>,
    },
}

enum Reply {
    Command(oneshot::Sender<CommandOutcome>),
    Resume(oneshot::Sender<Result<String, Refusal>>),
}

/// How the console asks its service to stop (`Service::serve`): with `detach`, each
/// run this console drives goes to a background engine (as `--detach` does) with its
/// running steps alive, instead of being left interrupted.
pub use baton_engine::Stop;

/// How a run this console drove ended when it stopped.
#[derive(Debug)]
pub enum Ended {
    /// Driven here to its end, or interrupted with the console.
    Driven(Result<DriveOutcome, SessionError>),
    /// Handed to a background engine: its pid and the file its output goes to.
    Detached(Result<(u32, PathBuf), SessionError>),
}

pub struct Service {
    db: PathBuf,
    store: Store,
    operator: String,
    /// `--param`s given to this process: a run taken over may need its secrets again.
    params: Vec<(String, String)>,
    /// The params of each run this console started from its run form, for the same.
    started_with: BTreeMap<String, Vec<(String, String)>>,
    current: Option<String>,
    follow: Follow,
    driven: BTreeMap<String, Hosted>,
    outcomes: BTreeMap<String, Result<DriveOutcome, SessionError>>,
    view_tx: watch::Sender<Arc<RunView>>,
    runs_tx: watch::Sender<SharedRuns>,
    driven_tx: watch::Sender<Arc<Vec<String>>>,
    requests: mpsc::Receiver<ConsoleRequest>,
    back_tx: mpsc::UnboundedSender<Back>,
    back_rx: mpsc::UnboundedReceiver<Back>,
    data_version: i64,
    /// The run list as last read (only what changed is read again).
    run_list: RunList,
    runs_complete_tx: watch::Sender<bool>,
    runs_read_at: std::time::Instant,
    waiting: super::inbox::Feed,
    schedules: super::schedules::Feed,
    news: super::news::Feed,
    expected_tx: watch::Sender<Arc<Expected>>,
    /// Opened with `--readonly`: the store read-only, every command and resume refused.
    read_only: bool,
    /// The open asks of the run on screen's steps, as last shown.
    shown_asks: std::collections::BTreeMap<String, baton_model::view::AskNote>,
    /// The open asks as last read (again only when they moved in the store).
    asks: AskBook,
    /// The notes on the run on screen as last read (`baton note`, the console's `n`):
    /// a run driven here shows them too, though its engine's view has none.
    shown_notes: Vec<baton_model::note::NoteView>,
}

impl Service {
    /// A service over the store at `db`, and the link a console connects to it with.
    pub fn new(
        db: &Path,
        operator: &str,
        params: Vec<(String, String)>,
    ) -> Result<(Service, ConsoleLink), SessionError> {
        Self::with_store(db, Store::open_existing(db)?, operator, params, false)
    }

    /// A service that only looks: the store opened read-only, commands and resumes
    /// refused (`baton tui --readonly`).
    pub fn read_only(db: &Path, operator: &str) -> Result<(Service, ConsoleLink), SessionError> {
        Self::with_store(db, Store::open_read_only(db)?, operator, Vec::new(), true)
    }

    fn with_store(
        db: &Path,
        store: Store,
        operator: &str,
        params: Vec<(String, String)>,
        read_only: bool,
    ) -> Result<(Service, ConsoleLink), SessionError> {
        let run_list = RunList::first_page(&store, db)?;
        let runs = run_list.runs().to_vec();
        let (runs_complete_tx, runs_complete) = watch::channel(run_list.complete());
        let (view_tx, view) = watch::channel(Arc::new(empty_view(
            "no runs yet: `baton run WORKFLOW` starts one",
        )));
        let (runs_tx, runs_rx) = watch::channel(Arc::new(runs));
        let (driven_tx, driven) = watch::channel(Arc::new(Vec::new()));
        let (requests_tx, requests) = mpsc::channel(32);
        let (back_tx, back_rx) = mpsc::unbounded_channel();
        let data_version = store.data_version()?;
        let mut asks = AskBook::default();
        asks.refresh(&store);
        let (waiting, waiting_rx) = super::inbox::Feed::new(&store, operator);
        let (schedules, schedules_rx) = super::schedules::Feed::new(&store);
        let (news, news_rx) = super::news::Feed::new(&store, operator);
        let (expected_tx, expected_rx) = watch::channel(Arc::new(Expected::default()));
        let service = Service {
            db: db.to_path_buf(),
            store,
            operator: operator.to_string(),
            params,
            started_with: BTreeMap::new(),
            current: None,
            follow: Follow::default(),
            driven: BTreeMap::new(),
            outcomes: BTreeMap::new(),
            view_tx,
            runs_tx,
            driven_tx,
            requests,
            back_tx,
            back_rx,
            data_version,
            run_list,
            runs_complete_tx,
            read_only,
            runs_read_at: std::time::Instant::now(),
            shown_asks: std::collections::BTreeMap::new(),
            shown_notes: Vec::new(),
            asks,
            waiting,
            schedules,
            news,
            expected_tx,
        };
        let link = ConsoleLink {
            view,
            runs: runs_rx,
            runs_complete,
            driven,
            waiting: waiting_rx,
            schedules: schedules_rx,
            news: news_rx,
            expected: expected_rx,
            requests: requests_tx,
            log_times: Some(stored_log_times(db)),
            // A store on this machine: no link to stand anywhere.
            store: watch::channel(None).1,
            desk: watch::channel(Arc::new(baton_link::Desk::default())).1,
        };
        Ok((service, link))
    }

    /// Drive `ready` here (a run this process just created) and show it.
    pub fn adopt(&mut self, ready: Ready) -> Result<(), SessionError> {
        let store = Store::open(&self.db)?;
        let hosted = Hosted::spawn(store, ready);
        let id = hosted.run_id.clone();
        self.driven.insert(id.clone(), hosted);
        self.publish_driven();
        self.open(&id);
        Ok(())
    }

    /// Show the run an operator most likely came for (`model::opening_run`: one
    /// waiting for a person, one whose engine is gone, the one going longest, or
    /// the newest), if the store has any.
    pub fn open_opening_run(&mut self) {
        let pick = {
            let runs = self.runs_tx.borrow();
            let states: Vec<_> = runs.iter().map(|r| r.state).collect();
            baton_model::opening_run(&states).map(|i| runs[i].id.clone())
        };
        if let Some(id) = pick {
            self.open(&id);
        }
    }

    /// Serve the console until `stop` resolves (or the console hangs up). Then every
    /// run this console drives is stopped (interrupted, resumable) or, when `stop`
    /// says detach, handed to a background engine with its running steps alive; the
    /// result is how each run this service drove ended.
    pub async fn serve(mut self, stop: oneshot::Receiver<Stop>) -> BTreeMap<String, Ended> {
        let mut tick = tokio::time::interval(FOLLOW_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        tokio::pin!(stop);
        let signal = loop {
            let mut shown = self
                .current
                .as_ref()
                .and_then(|id| self.driven.get(id))
                .map(|h| h.view.clone());
            tokio::select! {
                s = &mut stop => break s.unwrap_or_default(),
                req = self.requests.recv() => match req {
                    Some(req) => self.request(req),
                    // The console has gone: how to stop (detach or not) comes next.
                    None => break (&mut stop).await.unwrap_or_default(),
                },
                Some(back) = self.back_rx.recv() => self.back(back),
                changed = changed(&mut shown) => {
                    if changed {
                        self.publish_view();
                    } else {
                        self.reap().await;
                    }
                }
                _ = tick.tick() => self.refresh().await,
            }
        };
        for hosted in self.driven.values_mut() {
            hosted.stop(signal);
        }
        let driven = std::mem::take(&mut self.driven);
        let mut ended: BTreeMap<String, Ended> = std::mem::take(&mut self.outcomes)
            .into_iter()
            .map(|(id, o)| (id, Ended::Driven(o)))
            .collect();
        for (id, hosted) in driven {
            let out = hosted.finish().await;
            let handed = match &out {
                // Interrupted here: a background engine takes it from where it stopped.
                Ok(o) if signal.detach && o.state == baton_model::RunState::Interrupted => {
                    let params = self.started_with.get(&id).unwrap_or(&self.params).clone();
                    let (db, operator) = (self.db.clone(), self.operator.clone());
                    let run = id.clone();
                    let r = tokio::task::spawn_blocking(move || {
                        let mut store = Store::open(&db)?;
                        command::hand_to_background(&mut store, &run, &params, &operator)
                    })
                    .await
                    .unwrap_or_else(|e| Err(SessionError::System(format!("detach failed: {e}"))));
                    Some(r)
                }
                _ => None,
            };
            ended.insert(
                id,
                match handed {
                    Some(r) => Ended::Detached(r),
                    None => Ended::Driven(out),
                },
            );
        }
        ended
    }

    /// One arm per request kind, each a call; a read-only console refuses what
    /// would write.
    fn request(&mut self, req: ConsoleRequest) {
        match req {
            ConsoleRequest::OpenRun(id) => self.open(&id),
            ConsoleRequest::ReadAllRuns => self.run_list.read_rest(),
            ConsoleRequest::Command { reply, .. } if self.read_only => {
                let _ = reply.send(CommandOutcome::Refused(Refusal::ReadOnly));
            }
            ConsoleRequest::Resume { reply, .. } | ConsoleRequest::Fork { reply, .. }
                if self.read_only =>
            {
                let _ = reply.send(Err(Refusal::ReadOnly));
            }
            ConsoleRequest::StartRun { reply, .. } if self.read_only => {
                let _ = reply.send(Err(Refusal::ReadOnly));
            }
            ConsoleRequest::DeleteRun { reply, .. } | ConsoleRequest::Note { reply, .. }
                if self.read_only =>
            {
                let _ = reply.send(Err(Refusal::ReadOnly));
            }
            ConsoleRequest::Schedule { reply, .. } if self.read_only => {
                let _ = reply.send(CommandOutcome::Refused(Refusal::ReadOnly));
            }
            ConsoleRequest::Schedule {
                act,
                target,
                reason,
                reply,
            } => self.schedule(act, target, reason, reply),
            ConsoleRequest::DeleteRun { run_id, reply } => self.delete_run(run_id, reply),
            ConsoleRequest::Note {
                run_id,
                step,
                text,
                reply,
            } => {
                let db = self.db.clone();
                tokio::task::spawn_blocking(move || {
                    let done = super::note::add_to(&db, &run_id, step.as_deref(), &text);
                    let _ = reply.send(done.map_err(|e| refusal(&e)));
                });
            }
            ConsoleRequest::Command {
                run_id: Some(id),
                command,
                reply,
            } if baton_model::ask::is_ask_id(&id) => self.answer_ask(id, command, reply),
            ConsoleRequest::Command {
                run_id,
                command,
                reply,
            } => self.command(run_id, command, reply),
            ConsoleRequest::ForkPlan {
                run_id,
                step,
                reply,
            } => self.fork_plan(run_id, step, reply),
            ConsoleRequest::RetryFailedPlan { run_id, reply } => {
                self.retry_failed_plan(run_id, reply)
            }
            ConsoleRequest::Fork {
                run_id,
                step,
                from_run_of,
                params,
                reply,
            } => self.fork(run_id, step, from_run_of, params, reply),
            ConsoleRequest::Resume { run_id, reply } => self.resume(run_id, reply),
            ConsoleRequest::RunForm {
                file,
                schedule,
                reply,
            } => self.run_form(file, schedule, reply),
            ConsoleRequest::StartRun {
                file,
                params,
                reply,
            } => self.start_run(file, params, reply),
            ConsoleRequest::DiffRuns { a, b, reply } => self.diff_runs(a, b, reply),
            ConsoleRequest::StepHistory {
                workflow,
                step,
                reply,
                ..
            } => self.step_history(workflow, step, reply),
        }
    }

    /// A schedule's act, the CLI's way (`session::schedules`), off the service's thread.
    fn schedule(
        &self,
        act: baton_link::Act,
        target: String,
        reason: String,
        reply: oneshot::Sender<CommandOutcome>,
    ) {
        let (db, actor) = (self.db.clone(), self.operator.clone());
        tokio::task::spawn_blocking(move || {
            let done = Store::open(&db)
                .map_err(SessionError::from)
                .and_then(|mut s| super::schedules::decide(&mut s, act, &target, &actor, &reason));
            let _ = reply.send(match done {
                Ok(message) => CommandOutcome::Accepted { message },
                Err(e) => CommandOutcome::Refused(refusal(&e)),
            });
        });
    }

    fn delete_run(&self, run_id: String, reply: oneshot::Sender<Result<String, Refusal>>) {
        if self.driven.contains_key(&run_id) {
            let _ = reply.send(Err(Refusal::DrivenHere));
            return;
        }
        // The store refuses a run a live engine drives, inside its transaction.
        let (db, actor) = (self.db.clone(), self.operator.clone());
        tokio::task::spawn_blocking(move || {
            let result = Store::open(&db)
                .and_then(|mut s| s.delete_run(&run_id, &actor, "deleted from the console"))
                .map(|d| {
                    format!(
                        "{}, {}, {} events; audit row {}",
                        d.workflow, d.state, d.events, d.audit_row
                    )
                })
                .map_err(|e| refusal(&e.into()));
            let _ = reply.send(result);
        });
    }

    /// An ask's answer (`baton ask`): recorded in the store as `baton approve ask-…`
    /// records it, off the service's thread.
    fn answer_ask(&self, id: String, command: Command, reply: oneshot::Sender<CommandOutcome>) {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || {
            let done = Store::open(&db)
                .map_err(|e| Refusal::CannotApply { why: e.to_string() })
                .and_then(|mut s| super::ask::answer(&mut s, &id, &command));
            let _ = reply.send(match done {
                Ok(message) => CommandOutcome::Accepted { message },
                Err(r) => CommandOutcome::Refused(r),
            });
        });
    }

    /// A command on a run: to its engine when it is driven here, else off the
    /// service's thread (`off_thread`).
    fn command(
        &self,
        run_id: Option<String>,
        command: Command,
        reply: oneshot::Sender<CommandOutcome>,
    ) {
        let Some(run_id) = run_id.or_else(|| self.current.clone()) else {
            let _ = reply.send(CommandOutcome::Refused(Refusal::NoRunOpen));
            return;
        };
        if let Some(hosted) = self.driven.get(&run_id) {
            let tx = hosted.commands();
            let db = self.db.clone();
            tokio::spawn(async move {
                // A decision on a signed gate is signed through ssh-agent first.
                let signed =
                    tokio::task::spawn_blocking(move || sign_for_console(&db, &run_id, command))
                        .await
                        .unwrap_or_else(|e| Err(Refusal::SigningFailed { why: e.to_string() }));
                let command = match signed {
                    Ok(c) => c,
                    Err(reason) => {
                        let _ = reply.send(CommandOutcome::Refused(reason));
                        return;
                    }
                };
                if let Err(e) = tx.send(CommandRequest { command, reply }).await {
                    let _ =
                        e.0.reply
                            .send(CommandOutcome::Refused(Refusal::EngineStopped));
                }
            });
            return;
        }
        self.off_thread(run_id, Some(command), Reply::Command(reply));
    }

    /// A read, the same as `baton fork --dry-run`'s, off the service's thread.
    fn fork_plan(
        &self,
        run_id: String,
        step: String,
        reply: oneshot::Sender<Result<baton_link::ForkPreview, Refusal>>,
    ) {
        let operator = self.operator.clone();
        self.read_off_thread(reply, move |store| {
            super::fork::preview(store, &run_id, &step, &operator)
        });
    }

    /// A read of the store (nothing written), off the service's thread: its answer, or
    /// what went wrong as a refusal.
    fn read_off_thread<T: Send + 'static>(
        &self,
        reply: oneshot::Sender<Result<T, Refusal>>,
        read: impl FnOnce(&Store) -> Result<T, SessionError> + Send + 'static,
    ) {
        let (db, read_only) = (self.db.clone(), self.read_only);
        tokio::task::spawn_blocking(move || {
            let opened = if read_only {
                Store::open_read_only(&db)
            } else {
                Store::open_existing(&db)
            };
            let answer = opened.map_err(SessionError::from).and_then(|s| read(&s));
            let _ = reply.send(answer.map_err(|e| refusal(&e)));
        });
    }

    /// What `retry --failed` would run again, off the service's thread.
    fn retry_failed_plan(
        &self,
        run_id: String,
        reply: oneshot::Sender<Result<baton_link::RetryPreview, Refusal>>,
    ) {
        self.read_off_thread(reply, move |store| {
            super::fork::retry_preview(store, &run_id)
        });
    }

    fn resume(&mut self, run_id: String, reply: oneshot::Sender<Result<String, Refusal>>) {
        if self.driven.contains_key(&run_id) {
            let _ = reply.send(Err(Refusal::DrivenHere));
            self.open(&run_id);
            return;
        }
        self.off_thread(run_id, None, Reply::Resume(reply));
    }

    /// Make the fork off the service's thread; it comes back to be driven here.
    fn fork(
        &self,
        run_id: String,
        step: String,
        from_run_of: Option<String>,
        changed: Vec<(String, String)>,
        reply: oneshot::Sender<Result<String, Refusal>>,
    ) {
        let db = self.db.clone();
        // This console's own `--param`s, then what the dialog changed on top: both as
        // `baton fork --param` gives them.
        let params: Vec<(String, String)> = self.params.iter().cloned().chain(changed).collect();
        let operator = self.operator.clone();
        let back = self.back_tx.clone();
        tokio::task::spawn_blocking(move || {
            let made = Store::open(&db)
                .map_err(SessionError::from)
                .and_then(|mut store| {
                    let of = from_run_of.as_deref();
                    super::fork::checked_source(&mut store, &run_id, &step, &operator, of)?;
                    let plan = super::fork::plan(&store, &run_id, &step)?;
                    let loaded = super::fork::load(&store, &run_id, &params, &operator)?;
                    let made = super::concurrency::create(
                        &mut store,
                        loaded,
                        &super::host::lease_holder(),
                        Some(&plan),
                    )?;
                    Ok((plan, made))
                });
            match made {
                Ok((plan, made)) => {
                    let mut message = format!(
                        "run {} runs again {}, reuses {} step{} of run {}",
                        made.ready.run_id,
                        plan.rerun.join(", "),
                        plan.reused.len(),
                        if plan.reused.len() == 1 { "" } else { "s" },
                        plan.from_run
                    );
                    if let Some(said) = made.said() {
                        message = format!("{said}; {message}");
                    }
                    let ready = made.ready;
                    let _ = back.send(Back::TakenOver {
                        ready: Box::new(ready),
                        message: Some(message),
                        reply: Reply::Resume(reply),
                    });
                }
                Err(e) => {
                    let _ = reply.send(Err(refusal(&e)));
                }
            }
        });
    }

    /// Route a command (or a resume) on a run this console does not drive, off the
    /// service's thread: a live engine elsewhere answers through the store; a run no
    /// engine drives is taken over and comes back to be driven here.
    fn off_thread(&self, run_id: String, command: Option<Command>, reply: Reply) {
        let db = self.db.clone();
        let params = self.params.clone();
        let operator = self.operator.clone();
        let back = self.back_tx.clone();
        tokio::task::spawn_blocking(move || {
            let result = Store::open(&db)
                .map_err(SessionError::from)
                .and_then(|mut store| match command {
                    Some(command) => {
                        let command = match sign_for_console(&db, &run_id, command) {
                            Ok(c) => c,
                            Err(refusal) => {
                                return Err(SessionError::Refused {
                                    state: store.run(&run_id)?.state,
                                    run_id: run_id.clone(),
                                    refusal: Box::new(refusal),
                                });
                            }
                        };
                        command::apply(
                            &mut store,
                            &run_id,
                            command,
                            &Delivery::Foreground,
                            &params,
                            command::WAIT,
                        )
                    }
                    None => {
                        command::take_over(&mut store, &run_id, &params, &operator, None, false)
                            .map(|(ready, _)| Applied::TakenOver {
                                ready: Box::new(ready),
                                message: String::new(),
                            })
                    }
                });
            match (result, reply) {
                (Ok(Applied::TakenOver { ready, message }), reply) => {
                    let message = (!message.is_empty()).then_some(message);
                    let _ = back.send(Back::TakenOver {
                        ready,
                        message,
                        reply,
                    });
                }
                (Ok(Applied::ByEngine { outcome, .. }), Reply::Command(reply))
                | (Ok(Applied::Detached { outcome, .. }), Reply::Command(reply)) => {
                    let _ = reply.send(outcome);
                }
                (Ok(Applied::RecordedForStarter { starter, .. }), Reply::Command(reply)) => {
                    let _ = reply.send(CommandOutcome::Accepted {
                        message: format!(
                            "recorded for `{starter}`'s engine: {}",
                            command::starter_only(&run_id, &starter)
                        ),
                    });
                }
                (Ok(_), Reply::Command(reply)) => {
                    let _ = reply.send(CommandOutcome::Accepted {
                        message: "recorded for the next engine".into(),
                    });
                }
                (Ok(_), Reply::Resume(reply)) => {
                    let _ = reply.send(Err(Refusal::DrivenElsewhere));
                }
                (Err(e), Reply::Command(reply)) => {
                    let _ = reply.send(CommandOutcome::Refused(refusal(&e)));
                }
                (Err(e), Reply::Resume(reply)) => {
                    let _ = reply.send(Err(refusal(&e)));
                }
            }
        });
    }

    fn back(&mut self, back: Back) {
        let (ready, message, reply) = match back {
            Back::TakenOver {
                ready,
                message,
                reply,
            } => (ready, message, reply),
            Back::Started {
                ready,
                message,
                reply,
                params,
            } => return self.started(ready, message, reply, params),
        };
        let run_id = ready.run_id.clone();
        let workflow = ready.workflow.clone();
        // Quietly: what the takeover did goes to the console's status line, never as a
        // line written over its screen.
        let hosted = Store::open(&self.db).map(|store| Hosted::spawn_quietly(store, *ready));
        match (hosted, reply) {
            (Ok(hosted), reply) => {
                let taken = format!(
                    "this console now drives the {} run (q offers to detach it)",
                    baton_model::sanitize::for_terminal(&workflow)
                );
                let said: Vec<String> = [message, hosted.note.clone(), Some(taken)]
                    .into_iter()
                    .flatten()
                    .filter(|m| !m.is_empty())
                    .collect();
                self.driven.insert(run_id.clone(), hosted);
                self.publish_driven();
                match reply {
                    Reply::Command(reply) => {
                        let _ = reply.send(CommandOutcome::Accepted {
                            message: said.join("; "),
                        });
                    }
                    Reply::Resume(reply) => {
                        let _ = reply.send(Ok(said.join("; ")));
                    }
                }
                self.open(&run_id);
            }
            (Err(e), Reply::Command(reply)) => {
                let _ = reply.send(CommandOutcome::Refused(Refusal::CannotApply {
                    why: e.to_string(),
                }));
            }
            (Err(e), Reply::Resume(reply)) => {
                let _ = reply.send(Err(Refusal::CannotApply { why: e.to_string() }));
            }
        }
    }

    fn open(&mut self, run_id: &str) {
        self.current = Some(run_id.to_string());
        // Read once per run opened: the steps' durations before, for its estimate.
        let workflow = self
            .run_list
            .runs()
            .iter()
            .find(|r| r.id == run_id)
            .map(|r| r.workflow.clone());
        let read = workflow.map(|w| self.store.step_durations(&w, run_id));
        let (ms, unread) = match read {
            Some(Ok(ms)) => (ms, None),
            Some(Err(e)) => (Default::default(), Some(e.to_string())),
            None => Default::default(),
        };
        let _ = self.expected_tx.send(Arc::new(Expected {
            run_id: run_id.to_string(),
            ms,
            unread,
        }));
        if self.driven.contains_key(run_id) {
            self.follow.close();
        } else {
            self.follow.open(&self.store, run_id);
        }
        self.shown_notes = self.store.notes(run_id).unwrap_or_default();
        self.publish_view();
    }

    /// Engines whose runs ended hand their run back to following.
    async fn reap(&mut self) {
        let done: Vec<String> = self
            .driven
            .iter()
            .filter(|(_, h)| h.is_done() || h.view_closed())
            .map(|(id, _)| id.clone())
            .collect();
        if done.is_empty() {
            return;
        }
        for id in done {
            if let Some(hosted) = self.driven.remove(&id) {
                self.outcomes.insert(id.clone(), hosted.finish().await);
            }
            if self.current.as_deref() == Some(id.as_str()) {
                self.follow.open(&self.store, &id);
            }
        }
        self.publish_driven();
        self.publish_view();
    }

    async fn refresh(&mut self) {
        self.reap().await;
        let v = self.store.data_version().unwrap_or(self.data_version);
        let changed = v != self.data_version;
        self.data_version = v;
        // What changed since the last read, and the runs still going (their counts
        // move without their row changing); these also every second without a write:
        // an engine that dies writes nothing, and its runs must still turn
        // `interrupted` on screen.
        // The whole list is read once nothing here drives a run (a console that drives
        // one reads it when the operator asks for it: `ReadAllRuns`).
        if self.driven.is_empty() {
            self.run_list.read_rest();
        }
        let waiting_for_rest = !self.run_list.complete();
        if changed {
            self.news.refresh(&self.store);
        }
        let mut moved = (changed || waiting_for_rest)
            && self.run_list.read_changes(&self.store).unwrap_or(false);
        if waiting_for_rest && self.run_list.complete() {
            let _ = self.runs_complete_tx.send(true);
        }
        if changed || self.runs_read_at.elapsed() >= RUNS_EVERY {
            self.runs_read_at = std::time::Instant::now();
            moved |= self.run_list.read_live(&self.store).unwrap_or(false);
            self.waiting.refresh(&self.store);
            self.schedules.refresh(&self.store);
        }
        if moved {
            let _ = self.runs_tx.send(Arc::new(self.run_list.runs().to_vec()));
        }
        // An ask of one of its steps (`baton ask`) is not in the run's history: a
        // change of the store shows or clears it (the asks read again only when they
        // moved there).
        if changed {
            self.asks.refresh(&self.store);
        }
        if changed && (self.asks_moved() | self.notes_moved()) {
            self.publish_view();
        }
        let following = self
            .current
            .as_ref()
            .is_some_and(|id| !self.driven.contains_key(id));
        if following {
            let moved = changed && self.follow.update(&self.store);
            // Countdowns and elapsed times move even without new events.
            if moved || self.follow.is_live() {
                self.publish_view();
            }
        }
    }

    /// Whether the open asks of the run on screen changed since last shown.
    fn asks_moved(&mut self) -> bool {
        let Some(id) = self.current.as_deref() else {
            return false;
        };
        let now = self.asks.of_run(id, baton_model::Timestamp::now());
        let moved = now != self.shown_asks;
        self.shown_asks = now;
        moved
    }

    /// Whether the notes on the run on screen changed since last read (a note is no
    /// event: its run's view moves only by this).
    fn notes_moved(&mut self) -> bool {
        let Some(id) = self.current.as_deref() else {
            return false;
        };
        // Busy and the like: the next change reads them again.
        let Ok(now) = self.store.notes(id) else {
            return false;
        };
        let moved = now != self.shown_notes;
        self.shown_notes = now;
        moved
    }

    fn publish_view(&mut self) {
        let Some(id) = self.current.clone() else {
            return;
        };
        let view = match self.driven.get_mut(&id) {
            // Marked seen, so that the next wait is for a newer view.
            Some(hosted) => hosted.view.borrow_and_update().clone(),
            None => match self.follow.view(&self.store) {
                Some(view) => Arc::new(view),
                None => Arc::new(empty_view(&format!(
                    "run {id} cannot be shown: {}",
                    self.follow.error().unwrap_or("unknown error")
                ))),
            },
        };
        // An engine's view has no notes (they are the store's): those last read.
        let view = if view.notes.is_empty() && !self.shown_notes.is_empty() && view.run_id == id {
            let mut v = (*view).clone();
            v.notes = self.shown_notes.clone();
            Arc::new(v)
        } else {
            view
        };
        let _ = self.view_tx.send(with_asks(view, &self.asks));
    }

    fn publish_driven(&self) {
        let ids: Vec<String> = self.driven.keys().cloned().collect();
        let _ = self.driven_tx.send(Arc::new(ids));
    }
}

/// The reason shown in the console for a command that could not apply.
/// The console's decisions on a signed gate are signed through ssh-agent (the agent's
/// first key listed under an approver); others pass as they are.
pub(crate) fn sign_for_console(
    db: &Path,
    run_id: &str,
    command: Command,
) -> Result<Command, Refusal> {
    if !matches!(command, Command::Approve { .. } | Command::Reject { .. }) {
        return Ok(command);
    }
    let failed = |e: SessionError| Refusal::SigningFailed { why: e.to_string() };
    let store = Store::open_read_only(db).map_err(|e| failed(e.into()))?;
    super::signing::sign_command(&store, run_id, command, None).map_err(failed)
}

/// The refusal a console shows for a command that could not apply: the core's (or
/// the session's) own, or what went wrong on the way.
pub(crate) fn refusal(e: &SessionError) -> Refusal {
    match e {
        SessionError::Refused { refusal, .. } => (**refusal).clone(),
        other => Refusal::CannotApply {
            why: other.to_string(),
        },
    }
}

/// True when the shown engine's view moved; false when that engine is gone. Pending
/// when no run driven here is shown.
async fn changed(rx: &mut Option<watch::Receiver<Arc<RunView>>>) -> bool {
    match rx {
        Some(rx) => rx.changed().await.is_ok(),
        None => std::future::pending().await,
    }
}

/// Reads an ended run's log times from the store at `db`, on a connection of its own
/// (one key lookup, when the console opens a log; none is an empty answer: the log
/// then shows no times, as a log written without them).
fn stored_log_times(db: &Path) -> baton_model::logtimes::StoredTimes {
    let db = db.to_path_buf();
    baton_model::logtimes::StoredTimes::new(move |run, step, attempt| {
        Store::open_read_only(&db)
            .and_then(|s| s.log_times(run, step, attempt))
            .unwrap_or_default()
    })
}

/// `view` with its steps' open asks (`baton ask`) under them, from the asks last read
/// (`book`: no read of the store per frame); the view as it is, not copied, when none
/// of its steps asks.
fn with_asks(view: Arc<RunView>, book: &AskBook) -> Arc<RunView> {
    let asks = book.of_run(&view.run_id, baton_model::Timestamp::now());
    if asks.is_empty() && view.steps.iter().all(|s| s.ask.is_none()) {
        return view;
    }
    let mut v = (*view).clone();
    for s in &mut v.steps {
        s.ask = asks.get(&s.id).cloned().map(Box::new);
    }
    Arc::new(v)
}

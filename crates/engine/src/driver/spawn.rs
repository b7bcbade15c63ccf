//! Acting on the core's effects: starting attempts (local processes, builtins, jobs,
//! compensations, probes), killing them, and turning their ends into the core's inputs.
use super::*;
use crate::hands::{Call, Spawning};
use baton_workflow::Secret;
use exec::Freezing;

impl Driver {
    /// Act on one effect: which hand it goes to is the one wake-up's
    /// (`crate::wake::act`), through this driver's hands (`doors.rs`).
    pub(super) fn act(&mut self, effect: Effect) -> Result<(), DriverError> {
        crate::wake::act(self, effect)
    }

    /// Keep an attempt's artifacts in the store, off the driver's thread.
    pub(super) fn collect(&mut self, req: baton_core::CollectRequest) {
        let tx = self.inbox_tx.clone();
        let db = self.store.path().to_path_buf();
        // A step on a host: its files come over the executor's channel.
        let channel = self.executors.of_step(&self.core, req.step).files();
        let aheads = self.aheads(&req);
        tokio::task::spawn_blocking(move || {
            let result =
                crate::artifact_files::collect_retrying(&db, &req, channel.as_deref(), &aheads)
                    .map_err(|e| baton_core::ArtifactsNotKept(e.to_string()));
            let _ = tx.send(Msg::Collected {
                key: (req.step, req.attempt),
                result,
                notes: aheads.notes.take(),
            });
        });
    }

    /// Check a service's readiness probe, off the driver's thread.
    pub(super) fn probe(&mut self, req: baton_core::ProbeRequest) {
        let tx = self.inbox_tx.clone();
        let masker = masker(&self.core);
        tokio::spawn(async move {
            let checked =
                exec::probe::check(&req.check, req.timeout, &req.dir, &req.env, &masker).await;
            let _ = tx.send(Msg::Probed {
                key: (req.step, req.attempt),
                probe: req.probe,
                checked,
            });
        });
    }

    /// Stop a live attempt (TERM, then KILL after the grace).
    pub(super) fn kill_live(&mut self, step: usize, attempt: u32) {
        if let Some(live) = self.live.get_mut(&(step, attempt)) {
            if let Some(k) = &live.kill {
                k.terminate(KILL_GRACE, KillReason::Cancel);
            }
            if let Some(c) = live.cancel.take() {
                let _ = c.send(KillReason::Cancel);
            }
        }
    }

    /// Cancel a job on the executor named `executor`.
    pub(super) fn cancel_job(&mut self, executor: &str, job_id: &str) {
        if let Some(e) = self.executors.named(executor) {
            tokio::spawn(Arc::clone(e).cancel_job(job_id));
        }
    }

    /// A hold's freeze (`stop`) or release of a live attempt: at once if its process
    /// is known, else as soon as it is (`Msg::Started`).
    pub(super) fn hold_live(&mut self, key: (usize, u32), stop: bool) {
        if let Some(live) = self.live.get_mut(&key) {
            live.frozen = Some(stop);
            let refused = live.kill.as_ref().and_then(|k| freeze(k, stop));
            if let Some(why) = refused {
                live.frozen = Some(true);
                let _ = self.inbox_tx.send(Msg::ThawRefused { key, why });
            }
        }
    }

    /// Start an attempt (or follow the job of one a previous engine started: `job`)
    /// where the one dispatch (`crate::hands::spawning`) sends it.
    pub(super) fn spawn(
        &mut self,
        spec: SpawnSpec,
        compensation: bool,
        job: Option<crate::wake::Reattach>,
    ) {
        let spawning = crate::hands::spawning(
            &mut self.executors,
            &self.core,
            (spec, compensation, job),
            || crate::hands::Setting {
                run_id: self.run_id.clone(),
                log_dir: self.log_dir.clone(),
                masker: masker(&self.core),
                files_dir: files_dir(&mut self.files_dir, &self.run_id),
                start_here: start_here(&mut self.starts_here),
            },
        );
        match spawning {
            Spawning::Builtin {
                key,
                compensation,
                builtin,
                with,
            } => {
                let masker = masker(&self.core);
                self.spawn_builtin(key, (builtin, with), masker, compensation);
            }
            Spawning::Shell(shell) => self.spawn_shell(*shell),
        }
    }

    /// An attempt live before its handle is known: a kill decided meanwhile reaches
    /// its task through the receiver returned.
    fn await_start(
        &mut self,
        key: (usize, u32),
        frozen: Option<bool>,
    ) -> oneshot::Receiver<KillReason> {
        let (cancel_tx, cancel_rx) = oneshot::channel::<KillReason>();
        let live = Live {
            kill: None,
            tail: None,
            cancel: Some(cancel_tx),
            frozen,
        };
        self.live.insert(key, live);
        cancel_rx
    }

    /// Run a builtin step in a task of its own; its end comes back as `Msg::Exited`.
    fn spawn_builtin(
        &mut self,
        key: (usize, u32),
        (builtin, with): (Builtin, std::collections::BTreeMap<String, String>),
        masker: Masker,
        compensation: bool,
    ) {
        let tx = self.inbox_tx.clone();
        let cancel_rx = self.await_start(key, None);
        tokio::spawn(async move {
            let cancel = async move {
                match cancel_rx.await {
                    Ok(reason) => reason,
                    Err(_) => std::future::pending().await,
                }
            };
            let f = exec::run_builtin(builtin, &with, &masker, cancel).await;
            let _ = tx.send(bare_exit(
                key,
                compensation,
                f.outcome,
                f.duration_ms,
                f.stderr_tail,
            ));
        });
    }

    /// Start (or re-attach to) a shell attempt on the executor its dispatch chose, and
    /// follow it in a task of its own ([`follow`]).
    fn spawn_shell(&mut self, shell: crate::hands::Shell) {
        let crate::hands::Shell {
            key,
            compensation,
            step_id,
            backend: executor,
            call,
            job,
            timeout,
            handed,
        } = shell;
        let mut started = Started {
            key,
            compensation,
            step_id,
            copies: None,
        };
        // A local process is ordered right here (`Backend::start`: its own thread
        // starts it, `exec::local::launcher`); write-ahead holds: the events deciding
        // this spawn are committed.
        // Held frozen on record: frozen again through its new handle
        // (a suspended Slurm job, an adopted local group: idempotent).
        let frozen = match call {
            Call::Reattach { frozen: true, .. } => Some(true),
            _ => None,
        };
        let cancel_rx = self.await_start(key, frozen);
        // Only an attempt handed copies has a hold on them (most have none).
        let holder = (!handed.is_empty())
            .then(|| baton_model::artifact_paths::holder(&job.run_id, &job.step_id, job.attempt));
        if let Some(holder) = &holder {
            started.copies = Some(HandedCopies {
                executor: Arc::clone(&executor),
                dir: job.dir.clone(),
                handed: handed.clone(),
                holder: holder.clone(),
            });
        }
        // Started now, not when this task first runs (after the driver's next
        // await).
        let starting: exec::BoxFuture<Result<Box<dyn exec::Attempt>, _>> = match call {
            Call::Reattach { job_id, frozen } => {
                let attempt = executor.reattach(job, &job_id, frozen);
                // Its handle known at once: a release claimed in this same
                // wake-up (`baton release` taking the run over) traces an
                // adopted attempt ahead through it (`commands::trace_ahead`).
                if let (Ok(a), Some(live)) = (&attempt, self.live.get_mut(&key)) {
                    live.kill = Some(a.kill_handle());
                }
                Box::pin(std::future::ready(attempt))
            }
            Call::Start => {
                let plan = self.core.plan();
                let secrets: Vec<Secret> = plan.secrets_of(key.0).into_iter().cloned().collect();
                if let Some(holder) = holder {
                    let db = self.store.path().to_path_buf();
                    let read = (secrets, plan.base_dir.clone(), self.inbox_tx.clone());
                    let handed = (db, handed, holder, self.sent.clone());
                    Box::pin(start_handed(executor, job, timeout, handed, read))
                } else if secrets.is_empty() {
                    executor.start(job, timeout)
                } else {
                    let read = (secrets, plan.base_dir.clone(), self.inbox_tx.clone());
                    Box::pin(start_with_secrets(executor, job, timeout, read))
                }
            }
        };
        let following = follow(starting, cancel_rx, self.inbox_tx.clone(), started);
        drop(tokio::spawn(following));
    }

    /// Where step `req.step`'s artifacts may be sent ahead while they are kept: the
    /// hosts and directories of the readers still to start that run on an executor whose
    /// channel takes copies ahead (`send_ahead`, issue 60 point 3), one target per host
    /// and directory, with how many readers will be handed it there.
    fn aheads(&mut self, req: &baton_core::CollectRequest) -> crate::send_ahead::Aheads {
        let mut targets = Vec::new();
        for (name, _) in &req.artifacts {
            let mut to: Vec<crate::send_ahead::Target> = Vec::new();
            for (_, executor, dir) in self.core.readers_to_come(req.step, name) {
                let Some(e) = executor.and_then(|i| self.executors.by_index(i)).cloned() else {
                    continue;
                };
                let Some(channel) = Arc::clone(&e).files().filter(|c| c.sends_ahead()) else {
                    continue;
                };
                if e.is_local() {
                    continue;
                }
                match to
                    .iter_mut()
                    .find(|t| t.executor == e.name() && t.dir == dir)
                {
                    Some(t) => t.readers += 1,
                    None => to.push(crate::send_ahead::Target {
                        channel,
                        executor: e.name().to_string(),
                        dir,
                        readers: 1,
                    }),
                }
            }
            if !to.is_empty() {
                targets.push((name.clone(), to));
            }
        }
        crate::send_ahead::Aheads {
            targets,
            run_id: self.run_id.clone(),
            step_id: req.step_id.clone(),
            sent: self.sent.clone(),
            notes: crate::send_ahead::Notes::default(),
        }
    }

    /// No copy sent ahead stays behind for a reader that never took it (off the
    /// driver's thread: it waits for the hosts).
    pub(super) fn release_untaken(&self) -> impl std::future::Future<Output = ()> + use<> {
        let sent = self.sent.clone();
        async move {
            let _ = tokio::task::spawn_blocking(move || sent.release_untaken()).await;
        }
    }
}

/// Most local starts of one wake-up made on the engine's own thread: the rest go to
/// the launching thread. A start there takes about 0.2 ms of that thread, and a
/// wake-up that frees 200 steps held the runtime (its console, its metrics) for
/// about 0.3 s; the steps a DAG frees one or two at a time start with no thread
/// woken between.
const STARTS_HERE: u32 = 8;

/// Whether this shell start may be made on the engine's thread: among the first
/// [`STARTS_HERE`] of its wake-up (`count`: the wake-up's number and its starts so far).
fn start_here(count: &mut (u64, u32)) -> bool {
    let wake_up = crate::wake::wake_ups_here();
    if count.0 != wake_up {
        *count = (wake_up, 0);
    }
    count.1 += 1;
    count.1 <= STARTS_HERE
}

/// What an attempt's output is masked with: the run's secrets and every value read
/// for a step so far (the core's, which holds at least the spec's).
fn masker(core: &Core) -> Masker {
    Masker::new(core.masked_values().to_vec())
}

/// The run's shared files directory, made on its first shell attempt; `None` if it
/// cannot be made (each attempt then makes its own, and reports the failure if that
/// fails too).
fn files_dir(made: &mut Option<exec::FilesDir>, run_id: &str) -> Option<exec::FilesDir> {
    if made.is_none() {
        *made = exec::FilesDir::create(run_id).ok();
    }
    made.clone()
}

/// Read the step's `[secrets]` entries as it starts, then start it with them in its
/// environment (after its own `env`: they win) and in its masker. The core learns the
/// values first (`Msg::SecretsRead`), before anything the attempt says can reach it.
/// A secret that cannot be read fails the start, naming it (`ExecError::Secret`).
async fn start_with_secrets(
    executor: Arc<dyn exec::Backend>,
    mut job: ShellJob,
    timeout: Option<Duration>,
    (secrets, dir, tx): (Vec<Secret>, PathBuf, mpsc::UnboundedSender<Msg>),
) -> Result<Box<dyn exec::Attempt>, exec::ExecError> {
    let read = exec::secrets::read_all(&secrets, &dir).await?;
    let values: Vec<String> = read.iter().map(|(_, v)| v.clone()).collect();
    let _ = tx.send(Msg::SecretsRead(values.clone()));
    job.masker = Masker::new(job.masker.secrets().iter().cloned().chain(values));
    job.env.extend(read);
    executor.start(job, timeout).await
}

/// Start an attempt once the artifacts it is handed are copied from the store and
/// checked (off the driver's thread: a file may be large); one that cannot be handed
/// fails its start, saying which.
async fn start_handed(
    executor: Arc<dyn exec::Backend>,
    job: ShellJob,
    timeout: Option<Duration>,
    (db, handed, holder, sent): HandedIn,
    read: (Vec<Secret>, PathBuf, mpsc::UnboundedSender<Msg>),
) -> Result<Box<dyn exec::Attempt>, exec::ExecError> {
    use crate::artifact_files::{Target, stage_claimed};
    let step = job.step_id.clone();
    let dir = job.dir.clone();
    // A step on a host is handed its files over the executor's channel; a job's
    // working directory is on a filesystem this machine shares.
    // (The core gave a step of this machine the store's path, any other a path
    // relative to its working directory: `core::decide::artifacts::handed_path`.)
    let local = executor.is_local();
    let name = executor.name().to_string();
    let run_id = job.run_id.clone();
    let channel = Arc::clone(&executor).files();
    let staged = tokio::task::spawn_blocking(move || {
        handed.iter().try_for_each(|h| {
            let (to, claim) = match &channel {
                _ if local => (Target::Here, None),
                // A copy sent ahead there while its maker's was kept (`send_ahead`).
                Some(c) => (
                    Target::Channel(c.as_ref(), &dir),
                    sent.claim((&name, c.sends_ahead()), &dir, (&run_id, h)),
                ),
                None => (Target::SharedDir(&dir), None),
            };
            stage_claimed(&db, h, (&step, &holder), &to, claim.as_ref()).map_err(|e| e.to_string())
        })
    })
    .await
    .unwrap_or_else(|e| Err(format!("copying the step's artifacts stopped: {e}")));
    if let Err(message) = staged {
        return Err(exec::ExecError::Spawn {
            message,
            log_path: None,
        });
    }
    if read.0.is_empty() {
        executor.start(job, timeout).await
    } else {
        start_with_secrets(executor, job, timeout, read).await
    }
}

/// What an attempt is handed: the store, the copies, its hold's name, and the copies
/// sent ahead this run.
type HandedIn = (
    PathBuf,
    Vec<baton_core::Handed>,
    String,
    crate::send_ahead::Sent,
);

/// Who a shell attempt is, as its task reports it: its key, whether it compensates,
/// its step's id (its log's name), and the copies it is handed on another executor.
pub(super) struct Started {
    key: (usize, u32),
    compensation: bool,
    step_id: String,
    copies: Option<HandedCopies>,
}

/// The copies an attempt is handed (held for `holder`), released once it ended.
pub(super) struct HandedCopies {
    executor: Arc<dyn exec::Backend>,
    dir: PathBuf,
    handed: Vec<baton_core::Handed>,
    holder: String,
}

impl HandedCopies {
    /// Off the driver's thread (a host's answer may take a while); a copy that cannot
    /// be released stays where it is, which is only disk: nothing is recorded.
    async fn release(self) {
        use crate::artifact_files::{Target, release};
        if self.executor.is_local() {
            return;
        }
        let channel = Arc::clone(&self.executor).files();
        let _ = tokio::task::spawn_blocking(move || {
            for h in &self.handed {
                let to = match &channel {
                    Some(c) => Target::Channel(c.as_ref(), &self.dir),
                    None => Target::SharedDir(&self.dir),
                };
                let _ = release(h, &self.holder, &to);
            }
        })
        .await;
    }
}

/// Follow a shell attempt from its start to its end, sending the driver its handle
/// (`Msg::Started`), its job's states, its usage, and its end (`Msg::Exited`).
async fn follow(
    starting: exec::BoxFuture<Result<Box<dyn exec::Attempt>, exec::ExecError>>,
    cancel_rx: oneshot::Receiver<KillReason>,
    tx: mpsc::UnboundedSender<Msg>,
    started: Started,
) {
    let Started {
        key,
        compensation,
        step_id,
        copies,
    } = started;
    let running = match starting.await {
        Ok(running) => running,
        Err(e) => {
            if let Some(c) = copies {
                c.release().await;
            }
            let f = e.into_finished();
            let _ = tx.send(bare_exit(key, compensation, f.outcome, 0, f.stderr_tail));
            return;
        }
    };
    exec::failpoint::die_at("started", &step_id);
    let kill = running.kill_handle();
    let tail = running.tail();
    let _ = tx.send(Msg::Started {
        key,
        compensation,
        placement: running.placement(),
        kill: kill.clone(),
        tail: tail.clone(),
    });
    let f = wait_attempt(running, &kill, cancel_rx, &tx, (key, compensation)).await;
    // Handed to the next engine alive (detach): its end is that engine's.
    if kill.let_go() {
        return;
    }
    // Its outputs were read with its end: what it was handed can go.
    if let Some(c) = copies {
        c.release().await;
    }
    let (step, attempt) = key;
    let log = f
        .log_path
        .filter(|_| !compensation)
        .map(|p| (step_id, p, tail.lines()));
    let problems = if compensation {
        Vec::new()
    } else {
        let lost = f.log_errors.into_iter().map(OutputProblem::LogLost);
        let ignored = f.output_errors.into_iter().map(OutputProblem::Ignored);
        let cut = f.cut_output.into_iter().map(OutputProblem::Cut);
        lost.chain(ignored).chain(cut).collect()
    };
    let exit = StepExit {
        step,
        attempt,
        outcome: f.outcome,
        duration_ms: f.duration_ms,
        outputs: f.outputs,
        usage: f.usage,
        stderr_tail: f.stderr_tail,
    };
    let input = exit_input(exit, compensation);
    let _ = tx.send(Msg::Exited {
        key,
        log,
        input,
        problems,
    });
}

/// Wait for a running attempt's end, meanwhile killing it when the driver asks
/// (`cancel_rx`) and sending its job's states and its usage as they come.
async fn wait_attempt(
    running: Box<dyn exec::Attempt>,
    kill: &exec::KillHandle,
    cancel_rx: oneshot::Receiver<KillReason>,
    tx: &mpsc::UnboundedSender<Msg>,
    (key, compensation): ((usize, u32), bool),
) -> exec::Finished {
    let mut states = running.job_states();
    let mut follower = (!compensation)
        .then(|| running.usage_follower())
        .flatten()
        .map(|f| {
            // First read one period in: a step that ends sooner (most of
            // a big DAG's) costs a timer, not a read of a missing file.
            let poll = exec::usage_follow::POLL;
            let mut every = tokio::time::interval_at(tokio::time::Instant::now() + poll, poll);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            (f, every)
        });
    let wait = running.wait();
    tokio::pin!(wait);
    let mut cancel_rx = Some(cancel_rx);
    loop {
        tokio::select! {
            // The end first: an attempt over at its first look (most short steps) costs
            // no poll of the others (the usage's timer is never set).
            biased;
            f = &mut wait => break f,
            // A kill decided before the driver saw the handle arrives here.
            r = async {
                match cancel_rx.as_mut() {
                    Some(c) => c.await.ok(),
                    None => std::future::pending().await,
                }
            }, if cancel_rx.is_some() => {
                cancel_rx = None;
                if let Some(reason) = r {
                    kill.terminate(KILL_GRACE, reason);
                    break wait.await;
                }
            }
            (state, reason) = async {
                match states.as_mut() {
                    Some(s) => s.next().await,
                    None => std::future::pending().await,
                }
            }, if states.is_some() => {
                let _ = tx.send(Msg::JobState { key, state, reason });
            }
            // `$BATON_USAGE` as it grows (issue 43 point 2).
            usage = async {
                match follower.as_mut() {
                    Some((f, every)) => {
                        every.tick().await;
                        f.poll()
                    }
                    None => std::future::pending().await,
                }
            }, if follower.is_some() => {
                if let Some(usage) = usage {
                    let _ = tx.send(Msg::Usage { key, usage });
                }
            }
        }
    }
}

/// What the core hears of a started attempt: its process group, or its job.
pub(super) fn started_input((step, attempt): (usize, u32), placement: exec::Placement) -> Input {
    match placement {
        exec::Placement::Process { pgid, output } => Input::ProcessStarted {
            step,
            attempt,
            pgid,
            output,
        },
        exec::Placement::Job { executor, job_id } => Input::JobStarted {
            step,
            attempt,
            executor,
            job_id,
        },
    }
}

/// What the core hears of an attempt's end: a compensation's reports only how it
/// ended (its outputs and usage are not the step's).
fn exit_input(exit: StepExit, compensation: bool) -> Input {
    if compensation {
        Input::CompensationExited {
            step: exit.step,
            outcome: exit.outcome,
            duration_ms: exit.duration_ms,
            stderr_tail: exit.stderr_tail,
        }
    } else {
        Input::StepExited(exit)
    }
}

/// The `Exited` message of an attempt that leaves nothing but its outcome: a builtin,
/// or a process that never started (no log, outputs or usage).
fn bare_exit(
    (step, attempt): (usize, u32),
    compensation: bool,
    outcome: StepOutcome,
    duration_ms: u64,
    stderr_tail: String,
) -> Msg {
    Msg::Exited {
        key: (step, attempt),
        log: None,
        input: exit_input(
            StepExit {
                step,
                attempt,
                outcome,
                duration_ms,
                outputs: Vec::new(),
                usage: Usage::default(),
                stderr_tail,
            },
            compensation,
        ),
        problems: Vec::new(),
    }
}

/// Freeze (`stop`) or continue a held attempt: a local group is signalled here, on the
/// driver's thread (a hold's effect is due at once, issue 43 point 5); a Slurm job's
/// `scontrol` runs in a task of its own. A group already gone is no failure: its end
/// is on its way to the core.
/// An adopted local attempt's thaw that tracing its process refused (`exec::adopt`:
/// nothing sent, it stays frozen) returns why, for the core (`Input::ThawRefused`).
pub(super) fn freeze(kill: &exec::KillHandle, stop: bool) -> Option<String> {
    match kill.start_freeze(stop) {
        Freezing::Done(Err(e @ exec::ExecError::TraceRefused { .. })) => Some(e.to_string()),
        Freezing::Done(_) => None,
        Freezing::Later(freezing) => {
            tokio::spawn(async move {
                let _ = freezing.await;
            });
            None
        }
    }
}

/// An attempt's collection as the core's inputs (pushed onto `inputs`): what went wrong sending its files
/// ahead (each a low error on the attempt, never fatal), then the collection's end,
/// whose success closes them.
pub(super) fn collected(
    (step, attempt): (usize, u32),
    result: Result<Vec<baton_model::ArtifactRecord>, baton_core::ArtifactsNotKept>,
    notes: Vec<String>,
    inputs: &mut Vec<Input>,
) {
    if !notes.is_empty() {
        inputs.push(Input::OutputProblems {
            step,
            attempt,
            problems: notes.into_iter().map(OutputProblem::Ignored).collect(),
        });
    }
    inputs.push(Input::ArtifactsCollected {
        step,
        attempt,
        result,
    });
}

//! Commands on any run. A run a live engine drives gets the command through the store's
//! `commands` table and that engine's verdict; a run no engine drives (interrupted,
//! waiting at a gate with its engine gone, or finished) is taken over: this process
//! takes its lease, rebuilds it from its events, applies the command and, when the
//! core accepts it, continues the run like `baton resume`. A command that cannot apply
//! is refused at once with the reason and the run's state.
mod names;

use super::SessionError;
use super::host::lease_holder;
use super::prepare::{PlanSource, Ready, rebuild, take_lease};
use baton_core::{Effect, Input};
use baton_exec::Backends;
use baton_model::{Command, CommandOutcome, Refusal, RunState, Timestamp};
use baton_store::{Store, StoreError};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How long a submitter waits for a live engine to take a command, by default.
pub const WAIT: Duration = Duration::from_secs(10);

/// The live engine that drives `run_id`, if any (see [`baton_model::liveness`]).
pub(crate) fn live_holder(store: &Store, run_id: &str) -> Result<Option<String>, SessionError> {
    Ok(store.run_liveness(run_id)?.driven_by)
}

/// Take an undriven run over: its lease for this process, its core rebuilt from the
/// current workflow, resumed if its engine died, and `command` applied. Nothing is
/// written here: the returned effects are committed by the driver before they act.
/// On refusal the lease is given back and nothing happened.
///
/// Without a command a finished run is refused unless `allow_finished` (an engine
/// started to serve the commands waiting in the store).
pub fn take_over(
    store: &mut Store,
    run_id: &str,
    given: &[(String, String)],
    operator: &str,
    command: Option<Command>,
    allow_finished: bool,
) -> Result<(Ready, Option<String>), SessionError> {
    take_over_with(
        store,
        run_id,
        given,
        operator,
        command,
        allow_finished,
        false,
    )
}

/// [`take_over`], turning auto-approval on for the rest of the run
/// (`resume --auto-approve`; recorded with the resume).
pub fn take_over_with(
    store: &mut Store,
    run_id: &str,
    given: &[(String, String)],
    operator: &str,
    command: Option<Command>,
    allow_finished: bool,
    auto_approve: bool,
) -> Result<(Ready, Option<String>), SessionError> {
    let holder = lease_holder();
    let ask = Ask {
        given,
        holder: &holder,
        operator,
        command,
        allow_finished,
        auto_approve,
        leased: false,
    };
    take_over_by(store, run_id, ask, &Backends::builtin())
}

/// [`take_over`] by the engine `holder` names (a process of its own: `pid N on
/// HOST`), of a run whose executors are of the kinds `backends` makes: what a dead
/// engine left running on them is asked of those (the simulator's engines and hosts,
/// `crates/sim`, many in one process); the CLI's takeover is this process's, on the
/// built-in kinds. The lease is the engine's from the start, as a resume's is its
/// process's: the engine that drives the run next holds it, no hand-over between.
pub fn take_over_on(
    store: &mut Store,
    (run_id, holder): (&str, &str),
    operator: &str,
    command: Option<Command>,
    backends: &Backends,
) -> Result<(Ready, Option<String>), SessionError> {
    simulated(store, (run_id, holder, operator, command), backends, false)
}

/// [`take_over_on`] after its first call: engine `holder` already took the run's lease
/// as a takeover's (`Store::take_over_lease`), and the rest (the rebuild, the group
/// held again, the mark settled) comes now. The simulator cuts a takeover there
/// (`crates/sim`); a takeover never takes a live lease again, not even its own
/// engine's.
pub fn take_over_leased_on(
    store: &mut Store,
    (run_id, holder): (&str, &str),
    operator: &str,
    command: Option<Command>,
    backends: &Backends,
) -> Result<(Ready, Option<String>), SessionError> {
    simulated(store, (run_id, holder, operator, command), backends, true)
}

/// The one body of [`take_over_on`] and [`take_over_leased_on`].
fn simulated(
    store: &mut Store,
    (run_id, holder, operator, command): (&str, &str, &str, Option<Command>),
    backends: &Backends,
    leased: bool,
) -> Result<(Ready, Option<String>), SessionError> {
    let ask = Ask {
        given: &[],
        holder,
        operator,
        command,
        allow_finished: false,
        auto_approve: false,
        leased,
    };
    take_over_by(store, run_id, ask, backends)
}

/// What a takeover is asked to do.
struct Ask<'a> {
    given: &'a [(String, String)],
    /// The engine that takes the run over and drives it: its lease's holder.
    holder: &'a str,
    operator: &'a str,
    command: Option<Command>,
    allow_finished: bool,
    auto_approve: bool,
    /// The lease is taken already, by this process ([`take_over_leased_on`]).
    leased: bool,
}

fn take_over_by(
    store: &mut Store,
    run_id: &str,
    ask: Ask<'_>,
    backends: &Backends,
) -> Result<(Ready, Option<String>), SessionError> {
    if let Some(starter) = other_starter(store, run_id, ask.operator)? {
        return Err(SessionError::Refused {
            run_id: run_id.to_string(),
            state: store.run(run_id)?.state,
            refusal: Box::new(Refusal::StarterOnly {
                starter_only: starter_only(run_id, &starter),
            }),
        });
    }
    let holder = ask.holder;
    // Marked as a takeover's until it settles: meanwhile the run reads as its last
    // engine left it, never active beside its group's holder (`Lease::taking_over`).
    if !ask.leased {
        take_lease(store, run_id, holder)?;
    }
    let stops = matches!(ask.command, Some(Command::Cancel { .. }));
    // Its steps' rows brought up to its events before it is read (a dead engine may
    // have left them behind: `Store::catch_up`), under the guard that lets the lease go.
    let result = store
        .catch_up(run_id)
        .map_err(SessionError::from)
        .and_then(|()| apply_in_memory(store, run_id, ask, backends))
        .and_then(|taken| {
            // A command that ends the run (a cancel, a reject of its last gate) takes no
            // group: stopping a run never waits for it. Its lease stays marked until the
            // commit that ends it (`store::fence`), so the run never reads as it was
            // recorded (`running`, `waiting`, `queued`) beside the group's holder.
            if stops || taken.0.core.run_state().is_final() {
                // A crash test's moment: the run taken over to end, nothing committed.
                baton_exec::failpoint::die_at("ending", "command");
                baton_exec::failpoint::hold_at("ending-held", "command");
            } else {
                super::concurrency::hold_again(store, run_id, holder, &taken.0.core)?;
            }
            Ok(taken)
        });
    if result.is_err() {
        let _ = store.release_lease(run_id, holder);
    }
    result
}

fn apply_in_memory(
    store: &Store,
    run_id: &str,
    ask: Ask<'_>,
    backends: &Backends,
) -> Result<(Ready, Option<String>), SessionError> {
    let Ask {
        given,
        holder: _,
        operator,
        command,
        allow_finished,
        auto_approve,
        leased: _,
    } = ask;
    // Driving uses the workflow as it is now (approvals bound to a changed step are
    // void). When the file no longer fits the history (a gated step was removed, the
    // file broke), the commands that only stop things still apply, on the workflow
    // the run was started with: a gate that vanished can always be rejected, a run
    // always cancelled.
    let mut core = match rebuild(store, run_id, PlanSource::Current, given, true) {
        Ok(core) => core,
        Err(SessionError::Replay { .. } | SessionError::Diagnostics(_))
            if matches!(
                command,
                Some(Command::Reject { .. } | Command::Cancel { .. })
            ) =>
        {
            rebuild(store, run_id, PlanSource::Recorded, given, true)?
        }
        Err(e) => return Err(e),
    };
    let recorded = core.run_state();
    // No engine holds it: whatever it says, an unfinished run is interrupted; so is
    // one decided but not finished (its on_cancel steps or compensations still to
    // run when its engine died).
    let state = if recorded.is_final() && core.is_finished() {
        recorded
    } else {
        RunState::Interrupted
    };
    if command.is_none() && state.is_final() && !allow_finished {
        return Err(SessionError::Refused {
            run_id: run_id.to_string(),
            state,
            refusal: Box::new(Refusal::NothingToResume {
                run: run_id.to_string(),
            }),
        });
    }
    let now = Timestamp::now();
    if auto_approve {
        core.enable_auto_approve();
    }
    let log_dir = store.log_dir(run_id);
    let mut initial = super::jobs::adopt(&mut core, run_id, now, (backends, &log_dir))?;
    // A cancel recorded for this engine (`--no-drive`, or for the starter) is claimed as
    // soon as it drives: nothing starts before it is decided.
    let waiting = match &command {
        Some(_) => None,
        None => store.waiting_cancel(run_id)?,
    };
    let next = command.as_ref().or(waiting.as_ref());
    initial.extend(core.resume_before(operator, next, now));
    let mut message = None;
    if let Some(command) = command {
        let fx = core.handle(Input::Command { id: None, command }, now);
        match verdict(&fx) {
            Some(CommandOutcome::Accepted { message: m }) => message = Some(m),
            Some(CommandOutcome::Refused(refusal)) => {
                return Err(SessionError::Refused {
                    run_id: run_id.to_string(),
                    state,
                    refusal: Box::new(refusal),
                });
            }
            None => {
                return Err(SessionError::System(
                    "the engine gave no verdict on the command".into(),
                ));
            }
        }
        initial.extend(fx);
    }
    let workflow = core.plan().name.clone();
    Ok((
        Ready {
            run_id: run_id.to_string(),
            workflow,
            core,
            initial,
            committed: Vec::new(),
            stale: !recorded.is_final(),
        },
        message,
    ))
}

fn verdict(fx: &[Effect]) -> Option<CommandOutcome> {
    fx.iter().find_map(|e| match e {
        Effect::CommandDone { id: None, outcome } => Some(outcome.clone()),
        _ => None,
    })
}

/// How an undriven run continues once a command applies.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    /// This process drives the run to its end (headless lines, the run's exit code).
    Foreground,
    /// A background engine drives it; its output goes to a file beside the logs.
    Detach,
    /// Only record the command; the next engine to drive the run applies it.
    NoDrive,
}

/// The account that drives a run runs its steps (and its compensations, with that
/// account's home, keys and agent): only the account that started the run takes it
/// over. `Some(starter)` when `operator` is not that account: its command is recorded
/// for the starter's engine instead ([`apply`]), its `resume` refused.
fn other_starter(
    store: &Store,
    run_id: &str,
    operator: &str,
) -> Result<Option<String>, SessionError> {
    let starter = store.run(run_id)?.operator;
    Ok((!baton_model::same_actor(operator, &starter)).then_some(starter))
}

/// Why only `starter` takes run `run_id` over: the one sentence every front end says.
pub fn starter_only(run_id: &str, starter: &str) -> String {
    format!(
        "the account that drives a run runs its steps, so only `{starter}`, who started run {run_id}, takes it over (`baton resume {run_id}` as `{starter}`)"
    )
}

/// What became of a command.
pub enum Applied {
    /// A live engine (in another process) gave its verdict.
    ByEngine {
        holder: String,
        outcome: CommandOutcome,
    },
    /// No engine held the run: this process took it over; drive `ready` now.
    TakenOver { ready: Box<Ready>, message: String },
    /// A background engine took the run over and gave its verdict.
    Detached {
        pid: u32,
        log: PathBuf,
        outcome: CommandOutcome,
    },
    /// Recorded for the next engine (`--no-drive`).
    Recorded { id: i64 },
    /// Recorded for the engine of the run's starter: no engine held the run, and this
    /// account does not drive another's run (see [`other_starter`]).
    RecordedForStarter { id: i64, starter: String },
}

/// Apply `command` to the run `run_ref` (a unique id prefix) however it is driven.
pub fn apply(
    store: &mut Store,
    run_ref: &str,
    command: Command,
    delivery: &Delivery,
    given: &[(String, String)],
    wait: Duration,
) -> Result<Applied, SessionError> {
    apply_for(store, run_ref, command, delivery, given, wait, None)
}

/// [`apply`] of a console's decision sent over `baton link` with its `request` id: the
/// command reaches the run only as a row of the `commands` table, which keeps the id
/// in its transaction (`store::coord::link_requests`); a request the console's check
/// settled first is refused. With [`Delivery::Detach`] every way a run is driven goes
/// through that table.
pub fn apply_for(
    store: &mut Store,
    run_ref: &str,
    command: Command,
    delivery: &Delivery,
    given: &[(String, String)],
    wait: Duration,
    request: Option<&str>,
) -> Result<Applied, SessionError> {
    let run_id = store.resolve_run(run_ref)?;
    let operator = command.operator().to_string();
    let command = mask_before_writing(store, &run_id, command, given)?;
    // Twice at most: an engine that ends between the look and the hand-over leaves the
    // run undriven, and the second look finds that.
    for _ in 0..2 {
        // What needs no takeover, decided once for every delivery (`hand_in_live`).
        let handed = match delivery {
            Delivery::NoDrive => {
                hand_in_no_drive(store, &run_id, &command, wait, request).map(Some)
            }
            Delivery::Foreground | Delivery::Detach => {
                hand_in_live(store, &run_id, &command, wait, request)
            }
        };
        match handed {
            Ok(Some(HandedIn::ForEngine { holder, id })) => {
                match engine_answer(store, (&run_id, holder), id, wait, request)? {
                    Some(applied) => return Ok(applied),
                    None => continue,
                }
            }
            Ok(Some(HandedIn::Recorded { id })) => return Ok(Applied::Recorded { id }),
            Ok(Some(HandedIn::Labelled(outcome))) => {
                let holder = lease_holder();
                return Ok(Applied::ByEngine { holder, outcome });
            }
            Ok(None) => {}
            Err(SessionError::Driven { .. }) => continue,
            Err(e) => return Err(e),
        }
        if let Some(starter) = other_starter(store, &run_id, &operator)? {
            names::check(store, &run_id, &command)?;
            let id = store.submit_command_for(&run_id, &command, None, request)?;
            return Ok(Applied::RecordedForStarter { id, starter });
        }
        // This process takes the run over: to drive it (`Foreground`), or to decide
        // here, at once, what a background engine then applies for real (`Detach`).
        let taken = take_over(
            store,
            &run_id,
            given,
            &operator,
            Some(command.clone()),
            false,
        );
        let ready = match taken {
            Ok((ready, message)) if !matches!(delivery, Delivery::Detach) => {
                return Ok(Applied::TakenOver {
                    ready: Box::new(ready),
                    message: message.unwrap_or_default(),
                });
            }
            Ok((ready, _)) => ready,
            Err(SessionError::Driven { .. }) => continue,
            Err(e) => return Err(e),
        };
        drop(ready);
        store.release_lease(&run_id, &lease_holder())?;
        let id = store.submit_command_for(&run_id, &command, Some(deadline(wait)), request)?;
        let (pid, log) = spawn_detached(store, &run_id, given)?;
        let outcome = background_verdict(store, (id, &run_id), wait, (pid, &log))?;
        return Ok(Applied::Detached { pid, log, outcome });
    }
    Err(SessionError::System(format!(
        "run {run_id} changed hands while the command was being delivered; try again"
    )))
}

/// What a command delivered without driving its run ([`Delivery::NoDrive`]: `baton
/// <command> --no-drive`, the cancels a new run's admission asks) became, decided at
/// once by [`hand_in_no_drive`]; nothing waited for.
#[derive(Debug, Clone, PartialEq)]
pub enum HandedIn {
    /// Row `id` for the live engine `holder`, its deadline the wait from now: its
    /// verdict comes when that engine takes it.
    ForEngine { holder: String, id: i64 },
    /// No engine drives the run: row `id` recorded, with no deadline, for the engine
    /// that drives it next.
    Recorded { id: i64 },
    /// No engine drives the run: a label change recorded as its event at once.
    Labelled(CommandOutcome),
}

/// The one decision of a command delivered without driving its run: handed to the
/// live engine that drives run `run_id` (deadline `wait` from now), else recorded for
/// the run's next engine. `baton <command> --no-drive` and a new run's follow-up
/// cancels then wait for the engine's answer on the real clock ([`apply_for`]); the
/// deterministic simulator's engines answer on its own schedule. `Driven`: an engine
/// took the run between the look and the record; look again.
pub fn hand_in_no_drive(
    store: &mut Store,
    run_id: &str,
    command: &Command,
    wait: Duration,
    request: Option<&str>,
) -> Result<HandedIn, SessionError> {
    if let Some(handed) = hand_in_live(store, run_id, command, wait, request)? {
        return Ok(handed);
    }
    names::check(store, run_id, command)?;
    let id = store.submit_command_for(run_id, command, None, request)?;
    Ok(HandedIn::Recorded { id })
}

/// The part of every delivery that takes no run over, decided once: a row for the live
/// engine that drives run `run_id` (`ForEngine`, its deadline `wait` from now), else a
/// label change recorded as the run's event (`Labelled`); `None`: neither, the caller
/// records the command or takes the run over. [`apply_for`], [`hand_in_no_drive`] and
/// the simulator's operators hand commands in through it. `Driven`: an engine took the
/// run between the look and the record; look again.
pub fn hand_in_live(
    store: &mut Store,
    run_id: &str,
    command: &Command,
    wait: Duration,
    request: Option<&str>,
) -> Result<Option<HandedIn>, SessionError> {
    if let Some(holder) = live_holder(store, run_id)? {
        let id = hand_in(store, run_id, command, wait, request)?;
        return Ok(Some(HandedIn::ForEngine { holder, id }));
    }
    // A label change on a run no engine drives is a record, not driving.
    if matches!(command, Command::Label { .. }) && request.is_none() {
        return label_undriven(store, run_id, command).map(|o| Some(HandedIn::Labelled(o)));
    }
    Ok(None)
}

/// A label change on run `run_id`, which no engine drives, recorded as its event: by
/// whoever may command the run, without a takeover or its secrets again. `Driven`
/// when an engine holds the run after all (the command goes to it).
fn label_undriven(
    store: &mut Store,
    run_id: &str,
    command: &Command,
) -> Result<CommandOutcome, SessionError> {
    if let Some(outcome) = super::label::record_undriven(store, run_id, command)? {
        return Ok(outcome);
    }
    let holder = live_holder(store, run_id)?.unwrap_or_default();
    Err(SessionError::Driven {
        run_id: run_id.to_string(),
        holder,
    })
}

/// The live engine `holder`'s answer to command `id` of run `run_id`, waited for on
/// the real clock: `None` when it was not taken and no engine drives the run now (look
/// again).
fn engine_answer(
    store: &mut Store,
    (run_id, holder): (&str, String),
    id: i64,
    wait: Duration,
    request: Option<&str>,
) -> Result<Option<Applied>, SessionError> {
    match await_taken(store, run_id, id, wait)? {
        Waited::Verdict(outcome) => Ok(Some(Applied::ByEngine { holder, outcome })),
        // The engine is gone now: the run is undriven; look again.
        Waited::NotTaken if live_holder(store, run_id)?.is_none() => {
            // A crash test's moment: a link's decision withdrawn, before it is handed in
            // again (a check may read the withdrawal meanwhile).
            if request.is_some() {
                baton_exec::failpoint::hold_at("link-retry", "command");
            }
            Ok(None)
        }
        Waited::NotTaken => {
            let refusal = Refusal::NotTaken {
                holder: holder.clone(),
                wait: baton_model::time::human_duration(wait),
            };
            Ok(Some(Applied::ByEngine {
                holder,
                outcome: CommandOutcome::Refused(refusal),
            }))
        }
    }
}

/// The verdict on command `id` of run `run_id` of the background engine `pid` (its
/// output in `log`): within `wait`, or the command withdrawn as not taken (unless it
/// was taken meanwhile: then its verdict, or that none came).
fn background_verdict(
    store: &mut Store,
    (id, run_id): (i64, &str),
    wait: Duration,
    (pid, log): (u32, &std::path::Path),
) -> Result<CommandOutcome, SessionError> {
    if let Some(outcome) = wait_for_verdict(store, id, wait)? {
        return Ok(outcome);
    }
    let refusal = Refusal::NotTakenInBackground {
        pid,
        wait: baton_model::time::human_duration(wait),
        log: log.display().to_string(),
    };
    if store.withdraw_command(id, &refusal)? {
        return Ok(CommandOutcome::Refused(refusal));
    }
    Ok(
        wait_for_verdict(store, id, wait)?.unwrap_or(CommandOutcome::Refused(Refusal::NoAnswer {
            run: run_id.to_string(),
        })),
    )
}

/// The command with the run's secrets this process knows masked (see
/// [`super::prepare::submitter_masker`]): what may be written to the store. A signed
/// decision is kept as signed, so one whose reason holds a secret is refused here.
fn mask_before_writing(
    store: &Store,
    run_id: &str,
    command: Command,
    given: &[(String, String)],
) -> Result<Command, SessionError> {
    let masker = super::prepare::submitter_masker(store, run_id, given);
    if masker.is_empty() {
        return Ok(command);
    }
    let masked = command.masked(&masker);
    if masked != command && command.is_signed() {
        return Err(SessionError::Refused {
            run_id: run_id.to_string(),
            state: store.run(run_id)?.state,
            refusal: Box::new(Refusal::SecretInSignedReason),
        });
    }
    Ok(masked)
}

/// Hand an undriven run to a background engine (`baton resume --detach`, a console's
/// detach): checked as a takeover here (who may, whether it can go on), then the lease
/// let go and `baton resume RUN --headless` started in its own process group. Returns
/// its pid and the file its output goes to.
pub fn hand_to_background(
    store: &mut Store,
    run_id: &str,
    given: &[(String, String)],
    operator: &str,
) -> Result<(u32, PathBuf), SessionError> {
    let (ready, _) = take_over(store, run_id, given, operator, None, false)?;
    drop(ready);
    store.release_lease(run_id, &lease_holder())?;
    spawn_detached(store, run_id, given)
}

/// Set in the environment of the background engine a command's `--detach` starts.
pub const SERVE_ENV: &str = "BATON_ENGINE_SERVE";

/// Start `baton resume RUN --headless` in the background as the engine that serves the
/// waiting commands, in its own session, its output in a file beside the run's logs.
fn spawn_detached(
    store: &Store,
    run_id: &str,
    given: &[(String, String)],
) -> Result<(u32, PathBuf), SessionError> {
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe()
        .map_err(|e| SessionError::System(format!("cannot find the baton binary: {e}")))?;
    let dir = store.log_dir(run_id);
    let name = format!("engine.{}.log", Timestamp::now().0);
    let log = dir.join(&name);
    // Only in the run's own directory, never through a symlink (`own_files`).
    let out = baton_exec::own_files::append(&dir, &name)
        .map_err(|e| SessionError::System(format!("cannot open {}: {e}", log.display())))?;
    let err = out
        .try_clone()
        .map_err(|e| SessionError::System(format!("cannot open {}: {e}", log.display())))?;
    let mut cmd = std::process::Command::new(exe);
    cmd.args(["resume", run_id, "--headless", "--db"])
        .arg(store.path())
        .env(SERVE_ENV, "1");
    for (k, v) in given {
        // Through the environment, not argv: a secret param must not show in `ps`.
        cmd.env(format!("BATON_ENGINE_PARAM_{k}"), v);
    }
    let child = cmd
        .stdin(std::process::Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0)
        .spawn()
        .map_err(|e| SessionError::System(format!("cannot start the background engine: {e}")))?;
    let pid = child.id();
    // Not waited for: it outlives this process (init reaps it).
    drop(child);
    Ok((pid, log))
}

/// The params a detached engine was handed through its environment.
pub fn detached_params() -> Vec<(String, String)> {
    std::env::vars()
        .filter_map(|(k, v)| {
            k.strip_prefix("BATON_ENGINE_PARAM_")
                .map(|name| (name.to_string(), v))
        })
        .collect()
}

/// What a submitter's wait came to.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Waited {
    Verdict(CommandOutcome),
    /// No engine took it in time; it was withdrawn and will never apply.
    NotTaken,
}

/// A command for the engine driving run `run_id`, waiting for nothing: its row, its
/// deadline `wait` from now (a command no engine takes by then is withdrawn, so it
/// cannot apply by surprise when an engine comes back later). Its id, for
/// [`await_taken`].
pub(crate) fn hand_in(
    store: &mut Store,
    run_id: &str,
    command: &Command,
    wait: Duration,
    request: Option<&str>,
) -> Result<i64, SessionError> {
    Ok(store.submit_command_for(run_id, command, Some(deadline(wait)), request)?)
}

/// The wait for a command [`hand_in`] handed in, on the real clock: command `id` of run
/// `run_id`, handed in with its deadline `wait` from then, answered by the engine that
/// takes it, or withdrawn as not taken.
pub(crate) fn await_taken(
    store: &mut Store,
    run_id: &str,
    id: i64,
    wait: Duration,
) -> Result<Waited, SessionError> {
    if let Some(outcome) = wait_for_verdict(store, id, wait)? {
        return Ok(Waited::Verdict(outcome));
    }
    let holder = live_holder(store, run_id)?.unwrap_or_else(|| "none".into());
    let not_taken = Refusal::NotTaken {
        holder,
        wait: baton_model::time::human_duration(wait),
    };
    if store.withdraw_command(id, &not_taken)? {
        return Ok(Waited::NotTaken);
    }
    // An engine took it: its verdict is the one on record, so wait for it (an engine
    // that died holding it never answers: say so, and where to look).
    Ok(Waited::Verdict(
        wait_for_verdict(store, id, wait)?.unwrap_or(CommandOutcome::Refused(Refusal::NoAnswer {
            run: run_id.to_string(),
        })),
    ))
}

/// A command's deadline: its submitter waits this long, then withdraws it; should the
/// submitter die first, the deadline still stops a later engine from applying it.
fn deadline(wait: Duration) -> Timestamp {
    Timestamp(Timestamp::now().0 + wait.as_millis() as i64)
}

/// The command's outcome, or `None` when none came within `wait`.
fn wait_for_verdict(
    store: &Store,
    id: i64,
    wait: Duration,
) -> Result<Option<CommandOutcome>, StoreError> {
    let start = Instant::now();
    loop {
        if let Some(outcome) = store.command_outcome(id)? {
            return Ok(Some(outcome));
        }
        if start.elapsed() >= wait {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

//! One wake-up of an engine for one run, the same code in every world: what came in is
//! gathered (a queued run's turn, the commands claimed, the pool slots asked for), the
//! core decides one input at a time, the events are committed in one transaction, then
//! acted on. Synchronous and deterministic: its world comes through the doors of
//! [`Engine`] (the clock, the store's commit, the executors' hands, how it dies),
//! which the tokio driver (`driver.rs`) and the simulator (`crates/sim`) each give, so
//! that the simulator proves the engine's own wake-up, not a copy of it; whether it
//! dies at a moment is the one fault door's answer (`baton_model::faults`), in both.
use crate::driver::hold_group_to_reopen;
use baton_core::{
    CollectRequest, Core, Effect, Input, ProbeRequest, SlotRequest, SpawnAction, SpawnSpec,
    StepExit,
};
use baton_exec::ExecError;
use baton_model::faults;
use baton_model::{CommandOutcome, Event, StepOutcome, Timestamp, Usage};
use baton_store::slots::Turn;
use baton_store::{AttemptLog, Store, StoreError};
use baton_workflow::Builtin;

pub mod hold;
pub mod path;
mod step;
use path::{Piece, traced};
pub use step::{Next, Stepper, execute};

thread_local! {
    /// This thread's wake-ups through [`execute`] (`wake_ups_here`).
    static WAKE_UPS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// How many wake-ups this thread made through [`execute`]: how a test sees that a
/// world's wake-ups (the driver's, the simulator's) are this code's, not a copy's.
pub fn wake_ups_here() -> u64 {
    WAKE_UPS.with(std::cell::Cell::get)
}

/// Most events in one store transaction (a wave of no-op steps decides many at once).
pub const COMMIT_MAX_EVENTS: usize = 4096;

/// One run as a wake-up sees it: its engine's store connection, its id, its core.
pub struct Run<'a> {
    pub store: &'a mut Store,
    pub run_id: &'a str,
    pub core: &'a mut Core,
}

/// A moment of a wake-up at which its engine may die, as the fault door
/// (`baton_model::faults`) is asked it ([`Moment::points`]): the crash tests'
/// `BATON_FAILPOINT`, the simulator's crashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moment<'a> {
    /// The core decided; nothing of it is committed.
    Decided,
    /// The wake-up's events are committed (`verdicts`: with verdicts on commands);
    /// nothing is acted on.
    Committed { verdicts: bool },
    /// Committed, and step `step_id`'s start is about to be acted on (each start of
    /// the group, before any acts).
    Starting { step_id: &'a str },
    /// A takeover that ended the run claimed the commands waiting; the commit that
    /// ends it is not made ([`start`]).
    Claimed,
}

impl Moment<'_> {
    /// The fault door's points of this moment, `(point, step)`, in the order asked:
    /// `uncommitted:wake-up`, `unacted:wake-up` (then `decided:command` when verdicts
    /// were committed), `committed:STEP`; no allocation (asked a few times a step).
    pub fn points(&self) -> impl Iterator<Item = (&str, &str)> {
        let (first, then) = match *self {
            Moment::Decided => (("uncommitted", "wake-up"), None),
            Moment::Committed { verdicts } => (
                ("unacted", "wake-up"),
                verdicts.then_some(("decided", "command")),
            ),
            Moment::Starting { step_id } => (("committed", step_id), None),
            Moment::Claimed => (("claimed", "command"), None),
        };
        std::iter::once(first).chain(then)
    }
}

/// Ask the fault door whether the engine dies at `moment`; its world says how.
fn fault<E: Engine>(w: &mut E, moment: Moment<'_>) -> Result<(), E::Error> {
    for (point, step) in moment.points() {
        if faults::dies_at(faults::Point::Named { point, step }) {
            return Err(w.die(moment));
        }
    }
    Ok(())
}

/// The world of a wake-up: what it reads and what it changes outside its core.
pub trait Engine {
    type Error: From<StoreError>;
    /// The run this wake-up is for (an error: the engine no longer drives it).
    fn run(&mut self) -> Result<Run<'_>, Self::Error>;
    /// The clock door: the time the core decides at.
    fn now(&mut self) -> Timestamp;
    /// A verdict on a store command: written in the commit of its decision.
    fn verdict(&mut self, id: i64, outcome: CommandOutcome);
    /// Whether verdicts wait for the next commit.
    fn has_verdicts(&self) -> bool;
    /// The store door: commit `events` (taken) with the verdicts waiting and whatever
    /// else waits for the next commit, in one transaction.
    fn commit(&mut self, events: &mut Vec<Event>) -> Result<(), Self::Error>;
    /// Group commit: `events`, which no action, verdict or end waits for, kept
    /// (taken) to join a later commit, when the world lets them wait; `false` commits
    /// them now.
    fn defer(&mut self, events: &mut Vec<Event>) -> bool;
    /// The engine dies at `moment`, as the fault door said: a process kills itself,
    /// a simulated engine's wake-up stops with the error given back.
    fn die(&mut self, moment: Moment<'_>) -> Self::Error;
    /// The executors' hands: groups a dead engine left behind, killed before anything
    /// runs again.
    fn kill_stale(&mut self, pgids: &[i32]);
    /// The executors' hands: the group's acting begins, on `actions` (what the
    /// commit decided, in order), each then acted on by [`Engine::act`].
    fn acting(&mut self, _actions: &[Effect]) -> Result<(), Self::Error> {
        Ok(())
    }
    /// The executors' hands: act on one effect the committed events decided.
    fn act(&mut self, action: Effect) -> Result<(), Self::Error>;
    /// The executors' hands: every effect of the group acted on.
    fn acted(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// Where a wake-up's inputs come from, in the order [`gather`] takes them: the store's
/// (a queued run's turn, the command rows, the pool slots), then what the world
/// brought (the executors' news, a timer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Admission,
    Commands,
    Slots,
    World,
}

/// The order of a wake-up's gathering, in every world: the driver's at each poll, the
/// simulator's one store call at a time (`--mix interleave`) or all at once.
pub const GATHERED: [Source; 4] = [
    Source::Admission,
    Source::Commands,
    Source::Slots,
    Source::World,
];

thread_local! {
    /// This thread's whole wake-ups begun, each a [`Stepper`] (`woken_up_here`).
    static WOKEN_UP: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// How many whole wake-ups (gathered, decided, committed, acted on) this thread began,
/// each a [`Stepper`] ([`wake_up`] steps one to its end): a test's proof that a world
/// gathers in the one order.
pub fn woken_up_here() -> u64 {
    WOKEN_UP.with(std::cell::Cell::get)
}

/// The doors a wake-up gathers its inputs through, besides its [`Engine`]'s.
pub trait Gather: Engine {
    /// Whether this wake-up looks at the store (the driver: at its poll, every
    /// 100 ms; the simulator: at each).
    fn looks(&self) -> bool;
    /// The run's command rows, claimed ([`claim`], with the world's trace hand).
    fn claim(&mut self) -> Result<Vec<Input>, Self::Error>;
    /// The pool slots the core waits for (`None`: the run is no longer driven).
    fn waiting_slots(&mut self) -> Option<&mut Vec<SlotRequest>>;
    /// What the world brought since the last wake-up: the executors' news, a tick.
    fn brought(&mut self) -> Vec<Input>;
    /// A queued run's turn as the world hears it (the simulator's bug put back loses
    /// a replacement).
    fn turn(&mut self, turn: Option<Input>) -> Option<Input> {
        turn
    }
}

/// What the world brought for a wake-up, in the order the core decides it: the news
/// already in (attempts' starts and exits) before a stop handed in beside it (a signal,
/// a quit, the console closed, a detach). An attempt whose exit came before the stop
/// ends as it ended, not interrupted by the stop, so its step never runs again on
/// resume. The driver's loop and the simulator's doors order each wake-up's inputs
/// through this.
pub fn brought(mut news: Vec<Input>, stop: Option<Input>) -> Vec<Input> {
    news.extend(stop);
    news
}

/// One waiting pool slot asked for (one store call); an ask the store answers "not
/// yet" waits for the next gathering.
pub fn ask_waiting<G: Gather>(g: &mut G, r: SlotRequest) -> Result<Option<Input>, G::Error> {
    traced(Piece::Gather(Source::Slots));
    let Some((input, again)) = ask_slot(g.run()?, &r)? else {
        return Ok(None);
    };
    if again && let Some(waiting) = g.waiting_slots() {
        waiting.push(r);
    }
    Ok(Some(input))
}

/// One whole wake-up: what came in gathered, decided at one instant, committed, then
/// acted on; `false` (nothing done) when nothing came in. A [`Stepper`] stepped to its
/// end: the simulator's interleaved engines step the same one a store call at a time.
pub fn wake_up<G: Gather>(g: &mut G) -> Result<bool, G::Error> {
    let mut s = Stepper::new();
    while s.step(g)? {}
    Ok(s.next() == Next::Done)
}

/// An engine's first wake-up of a run it just took (a new run's, a takeover's): the
/// effects its start decided (`initial`, its events not yet committed) committed and
/// acted on, then the commands waiting (submitted before it drove the run, or for it)
/// claimed and decided at once, not at the next change of the store. The driver's
/// start and the simulator's, every takeover and every new run.
///
/// A takeover whose command ended the run decides the commands waiting in the commit
/// that ends it: claimed after that commit, a row whose engine died before its verdict
/// would be taken by no engine again (none drives an ended run). Claimed before it and
/// the engine killed, the run has not ended on record and its next engine takes them
/// again (docs/simulator.md, seed 79).
pub fn start<G: Gather>(g: &mut G, mut initial: Vec<Effect>) -> Result<(), G::Error> {
    traced(Piece::Start);
    if g.run()?.core.is_finished() {
        traced(Piece::Gather(Source::Commands));
        let waiting = g.claim()?;
        if !waiting.is_empty() {
            fault(g, Moment::Claimed)?;
        }
        let now = g.now();
        initial.extend(decide_all(g, waiting, now)?);
        if !g.run()?.core.is_finished() {
            // A test's moment: a command reopened the finished run, which holds its
            // group again, its takeover settled (`reopen`), nothing committed.
            baton_exec::failpoint::hold_at("reopen-held", "command");
        }
        return execute(g, initial);
    }
    execute(g, initial)?;
    traced(Piece::Gather(Source::Commands));
    let waiting = g.claim()?;
    if waiting.is_empty() {
        return Ok(());
    }
    let now = g.now();
    let effects = decide_all(g, waiting, now)?;
    execute(g, effects)
}

/// A wake-up's decisions recorded in one transaction: its events (with the logs of the
/// attempts they end), the core's summary after them, and the verdicts on the commands
/// it decided. The driver's commit and each simulated engine's.
pub fn record(
    run: Run<'_>,
    (events, logs): (&[Event], &[AttemptLog]),
    verdicts: &[(i64, CommandOutcome)],
) -> Result<(), StoreError> {
    let summary = run.core.state_summary();
    (run.store).commit_decided(run.run_id, (events, logs), &summary, verdicts)
}

/// The lease renewed (and the store checked to be the same file): every 2 s, by the
/// driver and by each simulated engine. An error: the run is lost, or the store is.
pub fn heartbeat(run: Run<'_>, holder: &str, now: Timestamp) -> Result<(), StoreError> {
    // An idle engine (a gate open for hours) notices a vanished store too.
    run.store.check_identity()?;
    run.store.heartbeat(run.run_id, holder, now)
}

/// The engine lets go of a run it drove to its end or stops driving: an ended run's
/// log times folded onto its attempts' rows (best effort: left behind, the file is
/// read as before and `gc` removes it), then its lease released.
pub fn let_go(run: Run<'_>, holder: &str, log_dir: &std::path::Path) -> Result<(), StoreError> {
    if run.core.is_finished() {
        let _ = run.store.fold_log_times(run.run_id, log_dir);
    }
    run.store.release_lease(run.run_id, holder)
}

/// A queued run asks the store for its group (one store call): its turn's input, if
/// it has one.
pub fn admission(run: Run<'_>) -> Result<Option<Input>, StoreError> {
    if !run.core.waits_for_group() {
        return Ok(None);
    }
    Ok(match run.store.admit_queued(run.run_id)? {
        Turn::Waits => None,
        Turn::Holds(group) => Some(Input::Admitted {
            reason: format!("concurrency group `{group}` is free: this run holds it"),
        }),
        Turn::Replaced(group) => Some(Input::Replaced { group }),
    })
}

/// The run's command rows, claimed (one engine, once) with each one's proof checked:
/// each row's text masked in the store (the submitter does not know the run's
/// secrets; the engine does), the write-ahead log emptied of the text as written once
/// one was (`wal_unscrubbed` keeps a scrub a reader delayed), and each release of an
/// adopted frozen attempt traced ahead by `trace` (the executors' hand: `None`, not
/// re-attached; `Some(Err(why))`, refused: the core records why) so the core refuses a release nobody can see
/// the end of.
pub fn claim(
    run: Run<'_>,
    wal_unscrubbed: &mut bool,
    trace: &mut dyn FnMut(usize, u32) -> Option<Result<(), ExecError>>,
) -> Result<Vec<Input>, StoreError> {
    let mut inputs = Vec::new();
    for claimed in run.store.claim_commands(run.run_id)? {
        let baton_store::Claimed {
            id,
            command,
            unproven,
        } = claimed;
        let masked = run.core.mask_command(&command);
        if masked != command {
            run.store.rewrite_command(id, &masked)?;
            *wal_unscrubbed = true;
        }
        inputs.push(match unproven {
            Some(reason) => Input::UnprovenCommand {
                id,
                command,
                reason: Box::new(reason),
            },
            None => {
                trace_ahead(run.core, &command, trace);
                Input::Command {
                    id: Some(id),
                    command,
                }
            }
        });
    }
    // Before the verdict: the submitter, once answered, finds no copy of its text.
    scrub_wal(run.store, wal_unscrubbed);
    Ok(inputs)
}

/// Empty the write-ahead log of a command's unmasked text, once a command was masked;
/// a reader in the way only delays it to the next try.
pub fn scrub_wal(store: &mut Store, wal_unscrubbed: &mut bool) {
    if *wal_unscrubbed && store.scrub_wal().unwrap_or(false) {
        *wal_unscrubbed = false;
    }
}

/// Before the core decides a release: each adopted frozen attempt it would let run is
/// traced now, and the core told which could not be.
pub fn trace_ahead(
    core: &mut Core,
    command: &baton_model::Command,
    trace: &mut dyn FnMut(usize, u32) -> Option<Result<(), ExecError>>,
) {
    for (step, attempt) in core.adopted_to_release(command) {
        // Not re-attached (its group was gone): its end is on its way to the core.
        let Some(traced) = trace(step, attempt) else {
            continue;
        };
        core.trace_refused(step, attempt, traced.err().map(|e| e.to_string()));
    }
}

/// One pool slot asked for (one store call), if the core still wants it: the core's
/// input for the store's answer, and whether to ask again later (full, or no token).
pub fn ask_slot(run: Run<'_>, r: &SlotRequest) -> Result<Option<(Input, bool)>, StoreError> {
    if !run.core.wants_slot(r.step, r.attempt) {
        return Ok(None);
    }
    let ask = crate::slot_ask(run.core.plan(), run.run_id, r);
    Ok(Some(crate::slot_answer(r, run.store.take_pool_slot(&ask)?)))
}

/// One input decided: a command that would reopen the finished run holds its group
/// first (`driver::reopen`).
pub fn decide(run: Run<'_>, input: Input, now: Timestamp) -> Result<Vec<Effect>, StoreError> {
    traced(Piece::Decide);
    let input = hold_group_to_reopen(run.store, run.run_id, run.core, input, now)?;
    Ok(run.core.handle(input, now))
}

/// A wake-up's inputs decided one by one, all at `now`.
pub fn decide_all<E: Engine>(
    w: &mut E,
    inputs: Vec<Input>,
    now: Timestamp,
) -> Result<Vec<Effect>, E::Error> {
    let mut effects = Vec::new();
    for input in inputs {
        effects.extend(decide(w.run()?, input, now)?);
    }
    Ok(effects)
}

/// How long a fence check stands for acting: well inside the lease's life
/// (`LEASE_STALE`, 15 s), so that no other engine can have judged this one gone since.
pub const FENCE_FRESH_MS: u64 = 5_000;

/// The executors' hands an engine acts through on what a commit decided: the driver's
/// real back ends (`driver/doors.rs`), the simulator's simulated hosts. Which effect
/// goes to which hand, and the fence before a start, are [`act`]'s, in both worlds.
pub trait Hands {
    type Error: From<StoreError>;
    /// The run's store connection (a verdict decided outside a wake-up's commit).
    fn store(&mut self) -> &mut Store;
    /// Milliseconds since the store last checked the run's fence (a commit, a
    /// heartbeat, a check), on this world's clock.
    fn since_fenced(&mut self) -> u64;
    /// The fence checked now (`Store::check_fence`); an error: the run is lost.
    fn check_fence(&mut self) -> Result<(), Self::Error>;
    /// Start an attempt (`compensation`: a compensation's).
    fn spawn(&mut self, spec: SpawnSpec, compensation: bool) -> Result<(), Self::Error>;
    /// Follow the job of an attempt a previous engine started.
    fn reattach(&mut self, spec: SpawnSpec, job: Reattach) -> Result<(), Self::Error>;
    /// Stop an attempt.
    fn kill(&mut self, step: usize, attempt: u32) -> Result<(), Self::Error>;
    /// Cancel a job on its executor.
    fn cancel_job(&mut self, executor: String, job_id: String);
    /// Freeze (`true`) or thaw an attempt.
    fn hold(&mut self, step: usize, attempt: u32, frozen: bool);
    /// Check a service's readiness.
    fn probe(&mut self, req: ProbeRequest);
    /// Keep an attempt's artifacts.
    fn collect(&mut self, req: CollectRequest);
    /// The pool slots the core waits for, asked for at each gathering (`None`: the
    /// run is no longer driven).
    fn slot_asks(&mut self) -> Option<&mut Vec<SlotRequest>>;
    /// Answer an in-process command (a negative id).
    fn reply(&mut self, id: i64, outcome: CommandOutcome);
}

/// What [`Hands::reattach`] follows: the job a previous engine started.
pub struct Reattach {
    pub executor: String,
    pub job_id: String,
    /// Adopted frozen (a hold's), to stay so until its release.
    pub frozen: bool,
}

/// Before acting on a decision (a start) or on a process that came up: the fence is
/// checked again unless it was moments ago. Fails once the run lost its lease or group.
pub fn fresh_fence<H: Hands>(h: &mut H) -> Result<(), H::Error> {
    if h.since_fenced() > FENCE_FRESH_MS {
        h.check_fence()?;
    }
    Ok(())
}

/// Act on one effect a commit decided, through the world's hands: a start decided
/// before a pause (stopped past its lease) goes only if the run still holds its lease
/// and group.
pub fn act<H: Hands>(h: &mut H, effect: Effect) -> Result<(), H::Error> {
    if matches!(
        effect,
        Effect::Spawn(_) | Effect::Compensate(_) | Effect::Reattach { .. }
    ) {
        fresh_fence(h)?;
    }
    match effect {
        // Committed already; stale groups are killed as a batch in `execute`.
        Effect::Persist(_) | Effect::KillStale { .. } => {}
        Effect::Spawn(spec) => h.spawn(spec, false)?,
        Effect::Compensate(spec) => h.spawn(spec, true)?,
        Effect::Reattach {
            spec,
            executor,
            job_id,
            frozen,
        } => h.reattach(
            spec,
            Reattach {
                executor,
                job_id,
                frozen,
            },
        )?,
        Effect::Kill { step, attempt } => h.kill(step, attempt)?,
        Effect::CancelJob { executor, job_id } => h.cancel_job(executor, job_id),
        Effect::Freeze { step, attempt } => h.hold(step, attempt, true),
        Effect::Thaw { step, attempt } => h.hold(step, attempt, false),
        Effect::Probe(req) => h.probe(req),
        Effect::Collect(req) => h.collect(req),
        Effect::AskSlot(r) => {
            if let Some(asks) = h.slot_asks()
                && !asks.contains(&r)
            {
                asks.push(r);
            }
        }
        Effect::CommandDone { id, outcome } => match id {
            Some(id) if id < 0 => h.reply(id, outcome),
            // A store command's verdict goes with its decision's commit (`execute`);
            // one decided elsewhere is written here. NotFound: the sender gave up
            // waiting and withdrew it; the core's decision is in the event log either way.
            Some(id) => match h.store().complete_command(id, &outcome) {
                Ok(()) | Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            },
            None => {}
        },
    }
    Ok(())
}

fn is_noop(spec: &SpawnSpec) -> bool {
    matches!(
        &spec.action,
        SpawnAction::Builtin {
            builtin: Builtin::Noop,
            ..
        }
    )
}

/// A no-op's end: it has no side effect, so it ends as it starts.
fn noop_exit(spec: &SpawnSpec) -> Input {
    Input::StepExited(StepExit {
        step: spec.step,
        attempt: spec.attempt,
        outcome: StepOutcome::Exited { exit_code: 0 },
        duration_ms: 0,
        outputs: Vec::new(),
        usage: Usage::default(),
        stderr_tail: String::new(),
    })
}

#[cfg(test)]
#[path = "wake_tests.rs"]
mod tests;

//! The simulated world's doors of the engine's own wake-up (`baton_engine::wake`): the
//! seed's clock, the engine's store connection (its commit cut where the seed says,
//! through the fault door, `crate::faults`), the simulated executors' hands, and how
//! an engine dies where the seed armed the fault door. The wake-up itself
//! is the engine's code; what is here is the world it meets. When engines wake is
//! `crate::drive`'s.
use crate::world::World;
use crate::{Bug, Mix, SimError};
use baton_core::{Effect, Input, SlotRequest};
use baton_engine::wake::{self, Moment, Next, Source};
use baton_model::{CommandOutcome, Event, Timestamp};
use baton_store::{CommitCut, StoreError};
use rand::Rng;

/// Where a wake-up's engine dies, if it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Crash {
    /// The core decided; nothing was committed or done.
    BeforeCommit,
    /// The events are committed; nothing was acted on (a spawn never happened). With
    /// [`crate::Mix::Spawns`], some of the group's spawns happened, not all (issue 62:
    /// kill -9 between the group's commit and each of its spawns).
    AfterCommit,
}

/// Why a wake-up stopped before its end.
pub(crate) enum Stop {
    /// The engine died (said when).
    Died(String),
    /// The engine no longer holds the run (its lease or its group went to another).
    Lost(StoreError),
    /// The engine no longer drives the run.
    Gone,
    Failed(SimError),
}

impl From<StoreError> for Stop {
    fn from(err: StoreError) -> Stop {
        Stop::Failed(err.into())
    }
}

impl From<SimError> for Stop {
    fn from(err: SimError) -> Stop {
        Stop::Failed(err)
    }
}

/// Engine `e`'s world, for one wake-up of `run`.
pub(crate) struct Doors<'w> {
    pub world: &'w mut World,
    pub e: usize,
    pub run: String,
    verdicts: Vec<(i64, CommandOutcome)>,
    /// Where the seed has this wake-up's engine die, if it does.
    pub crash: Option<Crash>,
    /// Where the seed cuts the commit's transaction, if it does.
    pub cut: Option<CommitCut>,
    /// `--mix spawns`' death amid the group's acts: before the effect of this index
    /// (the group's length: after them all), having made `made` of its `spawns`.
    dies_at: Option<Amid>,
    /// The group's effects acted on so far.
    acted: usize,
    /// What the commit is, as a crash inside it is told.
    pub commit_said: String,
    /// What was handed in for this wake-up (a stop), decided after the world's news
    /// (`wake::brought`).
    handed: Option<Input>,
    /// Attempts to ask the core about as it decided this wake-up (`with_engine`).
    watched: Vec<(usize, u32)>,
    /// Which of `watched` the core stopped with the engine, read before a run it
    /// finished is let go of.
    with_engine: Option<Vec<bool>>,
}

impl<'w> Doors<'w> {
    pub(crate) fn new(world: &'w mut World, e: usize, run: &str) -> Doors<'w> {
        // Its pieces of the one wake-up are this engine process's on this run, when a
        // test traces them (`wake::path::by`): each checked apart.
        let incarnation = world.engines[e].incarnation;
        wake::path::by(|| format!("engine {e} ({incarnation}) {run}"));
        Doors {
            world,
            e,
            run: run.to_string(),
            verdicts: Vec::new(),
            crash: None,
            cut: None,
            dies_at: None,
            acted: 0,
            commit_said: "wake-up's commit".into(),
            handed: None,
            watched: Vec::new(),
            with_engine: None,
        }
    }

    /// Where in `actions` the engine dies: before a spawn chosen by the seed (none,
    /// some or all but the last of the group's spawns happen).
    fn die_amid_spawns(&mut self, actions: &[Effect]) {
        let spawns: Vec<usize> = (actions.iter().enumerate())
            .filter(|(_, f)| matches!(f, Effect::Spawn(_)))
            .map(|(i, _)| i)
            .collect();
        let made = match spawns.len() {
            0 => 0,
            n => self.world.rng.random_range(0..n),
        };
        self.dies_at = Some(Amid {
            before: spawns.get(made).copied().unwrap_or(actions.len()),
            made,
            spawns: spawns.len(),
        });
    }

    /// The death amid the group's acts, if it is due before the next effect (or, at
    /// the group's end, after them all): what is done of the group stays done.
    fn dies_amid(&mut self) -> Result<(), Stop> {
        match self.dies_at {
            Some(Amid {
                before,
                made,
                spawns,
            }) if before == self.acted => {
                self.world.finish_if_done(self.e, &self.run)?;
                Err(Stop::Died(format!(
                    "after its commit, {made} of its {spawns} spawns made"
                )))
            }
            _ => Ok(()),
        }
    }
}

impl Doors<'_> {
    /// Which of the watched attempts the core stopped with the engine
    /// (`Core::stopped_with_engine`); none of a run no longer driven.
    fn read_stopped(&mut self) {
        let core = (self.world.engines[self.e].runs.get(&self.run)).map(|d| &d.core);
        let read = (self.watched.iter())
            .map(|&(step, attempt)| core.is_some_and(|c| c.stopped_with_engine(step, attempt)))
            .collect();
        self.with_engine = Some(read);
    }

    /// `stop` handed in for this wake-up beside what the world brought, and the
    /// attempts to ask the core about as it decided it.
    pub(crate) fn hand_in(&mut self, stop: Input, watched: &[(usize, u32)]) {
        self.handed = Some(stop);
        self.watched = watched.to_vec();
    }

    /// Which of the watched attempts the core stopped with the engine: as read before
    /// a run it finished was let go of, else read now.
    pub(crate) fn stopped_with_engine(&mut self) -> Option<Vec<bool>> {
        if self.with_engine.is_none() {
            self.read_stopped();
        }
        self.with_engine.take()
    }
}

/// Where an engine dies amid its group's acts (`--mix spawns`).
#[derive(Clone, Copy)]
struct Amid {
    before: usize,
    made: usize,
    spawns: usize,
}

impl wake::Engine for Doors<'_> {
    type Error = Stop;

    fn run(&mut self) -> Result<wake::Run<'_>, Stop> {
        self.world.engines[self.e].run(&self.run).ok_or(Stop::Gone)
    }

    fn now(&mut self) -> Timestamp {
        Timestamp(self.world.now)
    }

    fn verdict(&mut self, id: i64, outcome: CommandOutcome) {
        self.verdicts.push((id, outcome));
    }

    fn has_verdicts(&self) -> bool {
        !self.verdicts.is_empty()
    }

    fn commit(&mut self, events: &mut Vec<Event>) -> Result<(), Stop> {
        let events = std::mem::take(events);
        let verdicts = std::mem::take(&mut self.verdicts);
        let run = self.world.engines[self.e]
            .run(&self.run)
            .ok_or(Stop::Gone)?;
        // A commit of nothing makes no transaction: no cut is left armed for a later one.
        if let Some(at) = self.cut.take().filter(|_| !events.is_empty()) {
            crate::faults::cut_next_commit(at);
        }
        // The engine's own record of a wake-up (`wake::record`), the driver's commit's too.
        // Each attempt's log with its end, as the driver hands it (`Msg::Exited`).
        let logs = crate::steps_rows::logs_of(&events);
        let committed = wake::record(run, (&events, &logs), &verdicts);
        crate::faults::disarm_cut();
        match committed {
            Ok(()) => {
                self.world.engines[self.e].fenced(&self.run, self.world.now);
                Ok(())
            }
            Err(StoreError::Cut { at }) => {
                Err(Stop::Died(format!("in its {}, {at}", self.commit_said)))
            }
            Err(err) if err.run_lost() => Err(Stop::Lost(err)),
            Err(err) => Err(err.into()),
        }
    }

    /// The simulated engines commit every wake-up's events: the 2 ms a fact may wait
    /// for the next commit is shorter than any step of the simulated clock.
    fn defer(&mut self, _events: &mut Vec<Event>) -> bool {
        false
    }

    /// Where the seed armed the fault door (`World::woken`).
    fn die(&mut self, moment: Moment<'_>) -> Stop {
        Stop::Died(match moment {
            Moment::Decided => "before its commit".into(),
            Moment::Committed { .. } => "after its commit, before acting".into(),
            Moment::Starting { step_id } => format!("after its commit, before starting {step_id}"),
            Moment::Claimed => "after claiming its commands, before its commit".into(),
        })
    }

    /// No group is left behind by a simulated engine's host.
    fn kill_stale(&mut self, _pgids: &[i32]) {}

    /// With `--mix spawns` a death after the commit comes amid the group's acts
    /// (`World::woken`).
    fn acting(&mut self, actions: &[Effect]) -> Result<(), Stop> {
        if self.crash == Some(Crash::AfterCommit) {
            self.die_amid_spawns(actions);
        }
        Ok(())
    }

    /// One effect, through the engine's own acting (`wake::act`) on this world's
    /// hands (`executor::Hands`).
    fn act(&mut self, action: Effect) -> Result<(), Stop> {
        self.dies_amid()?;
        self.acted += 1;
        let mut hands = crate::executor::Hands {
            world: self.world,
            e: self.e,
            run: &self.run,
        };
        wake::act(&mut hands, action)
    }

    /// A run whose core finished is let go once its group is acted on.
    fn acted(&mut self) -> Result<(), Stop> {
        self.dies_amid()?;
        self.read_stopped();
        Ok(self.world.finish_if_done(self.e, &self.run)?)
    }
}

/// What a simulated engine gathers: every wake-up looks at the store; what the world
/// brought is its attempts' starts and ends due, and a tick when the core's next
/// wake-up is due (no store call).
impl wake::Gather for Doors<'_> {
    fn looks(&self) -> bool {
        true
    }

    fn claim(&mut self) -> Result<Vec<Input>, Stop> {
        Ok(self.world.gather_commands(self.e, &self.run)?)
    }

    fn waiting_slots(&mut self) -> Option<&mut Vec<SlotRequest>> {
        let driven = self.world.engines[self.e].runs.get_mut(&self.run)?;
        Some(&mut driven.slot_asks)
    }

    fn brought(&mut self) -> Vec<Input> {
        let now = self.world.now;
        let w = &mut *self.world;
        let faults = w.faults();
        let mut news = w.executors.due((&self.run, self.e), now, faults);
        if let Some(driven) = w.engines[self.e].runs.get(&self.run)
            && driven.core.next_wakeup().is_some_and(|t| t.0 <= now)
        {
            news.push(Input::Tick);
        }
        wake::brought(news, self.handed.take())
    }

    fn turn(&mut self, turn: Option<Input>) -> Option<Input> {
        match turn {
            // The bug put back: the replaced run waits on, as before seed 105.
            Some(Input::Replaced { .. }) if self.world.config.bug == Some(Bug::IgnoreReplaced) => {
                None
            }
            turn => turn,
        }
    }
}

/// Engine `e` as its heartbeat meets it (`wake::hold::renew`): the simulated clock,
/// the runs it took, and a lost run dropped ([`World::stop_driving`]).
pub(crate) struct Holding<'w> {
    pub world: &'w mut World,
    pub e: usize,
}

impl wake::hold::Holds for Holding<'_> {
    type Error = SimError;

    fn holder(&self) -> String {
        self.world.engines[self.e].holder()
    }

    fn since_beat(&self) -> std::time::Duration {
        let since = self.world.now - self.world.engines[self.e].last_beat;
        std::time::Duration::from_millis(since.max(0).unsigned_abs())
    }

    fn beating(&mut self) -> Timestamp {
        self.world.engines[self.e].last_beat = self.world.now;
        Timestamp(self.world.now)
    }

    fn held(&self) -> Vec<String> {
        self.world.engines[self.e].runs.keys().cloned().collect()
    }

    fn run<'a>(&'a mut self, run_id: &'a str) -> Option<wake::Run<'a>> {
        self.world.engines[self.e].run(run_id)
    }

    fn fenced(&mut self, run_id: &str) {
        self.world.engines[self.e].fenced(run_id, self.world.now);
    }

    fn lost(&mut self, run_id: &str, err: StoreError) -> Result<(), SimError> {
        self.world.stop_driving(self.e, run_id, &err)
    }
}

impl World {
    /// `wake` (of the engine's own code, `wake`) for engine `e`'s run `run`, through
    /// this world's doors, the seed's crash armed in the fault door it asks.
    pub(crate) fn woken<T>(
        &mut self,
        e: usize,
        run: &str,
        crash: Option<Crash>,
        wake: impl FnOnce(&mut Doors<'_>) -> Result<T, Stop>,
    ) -> Result<T, Stop> {
        // With `--mix spawns` the act door dies amid the group's spawns instead.
        match crash {
            Some(Crash::BeforeCommit) => crate::faults::die_at_wake("uncommitted"),
            Some(Crash::AfterCommit) if self.config.mix != Mix::Spawns => {
                crate::faults::die_at_wake("unacted")
            }
            _ => {}
        }
        let mut doors = Doors::new(self, e, run);
        doors.crash = crash;
        let woken = wake(&mut doors);
        crate::faults::disarm();
        woken
    }

    /// What a wake-up that stopped leaves: a dead engine, a run no longer driven.
    pub(crate) fn stopped(
        &mut self,
        e: usize,
        run: &str,
        woken: Result<(), Stop>,
    ) -> Result<bool, SimError> {
        match woken {
            Ok(()) => Ok(true),
            Err(Stop::Died(when)) => self.crash(e, &when).map(|()| false),
            Err(Stop::Lost(err)) => self.stop_driving(e, run, &err).map(|()| false),
            Err(Stop::Gone) => Ok(false),
            Err(Stop::Failed(err)) => Err(err),
        }
    }
}

/// What the next step of a wake-up does, as a death before it is told.
fn said(next: Next) -> &'static str {
    match next {
        Next::Gather(Source::Admission) => "asking for its group",
        Next::Gather(Source::Commands) => "claiming its commands",
        Next::Gather(Source::Slots) => "asking for a pool slot",
        Next::Gather(Source::World) => "gathering its attempts' news",
        Next::Decide => "deciding an input",
        Next::Commit => "its commit",
        Next::Act | Next::Idle | Next::Done => "acting on an effect",
    }
}

impl World {
    /// `--mix interleave`: whether the engine dies (3 %) before the next step of its
    /// wake-up in progress (`next`), and how that is told.
    pub(crate) fn dies_between_calls(&mut self, next: Option<Next>) -> Option<String> {
        if self.cuts.random_range(0..100) >= 3 {
            return None;
        }
        let before = next.map_or("", said);
        Some(format!(
            "between two store calls of its wake-up, before {before}"
        ))
    }

    /// `--mix interleave`: where the seed cuts a commit about to be stepped (`before`
    /// the step): inside its transaction (2 %), before its witness (2 %).
    pub(crate) fn interleaved_cut(&mut self, before: Next) -> Option<CommitCut> {
        match before {
            Next::Commit => match self.cuts.random_range(0..100) {
                0..2 => Some(CommitCut::InTransaction),
                2..4 => Some(CommitCut::BeforeWitness),
                _ => None,
            },
            _ => None,
        }
    }
}

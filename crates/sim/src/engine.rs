//! The simulated engines: each one a process with its own store connection driving
//! the real core of every run it holds the lease of, one wake-up at a time, each the
//! engine's own (`baton_engine::wake`: what came in gathered, the core's decisions
//! committed in one transaction, then acted on, through `doors.rs`). Any wake-up may
//! end in a crash before or after its commit (the fault door, `faults.rs`): the
//! engine's runs and its host's attempts are gone, and the runs lapse to `interrupted`
//! once their lease is stale, for a resume (`session::command::take_over`).
use crate::world::World;
use crate::{Bug, SimError};
use baton_core::{Core, Input, SlotRequest};
use baton_engine::wake;
use baton_store::Store;
use rand::Rng;
use std::collections::BTreeMap;

/// One engine process.
pub(crate) struct Engine {
    pub id: usize,
    /// How many times it crashed: its holder name changes with each new process.
    pub incarnation: u32,
    pub store: Store,
    pub runs: BTreeMap<String, Driven>,
    pub last_beat: i64,
    /// Stopped (SIGSTOP) until this simulated time: it neither beats nor wakes
    /// ([`crate::Mix::Stalls`]).
    pub stalled_until: i64,
    /// Its wake-up in progress ([`crate::Mix::Interleave`]).
    pub wake: Option<crate::interleave::Wake>,
    /// The pid of the `baton serve` whose runs this engine drives (`--mix serves`:
    /// the serve is its runs' engine, its lease holder `pid N on sim-serve-K`).
    pub serve_pid: Option<u32>,
    /// A command's text was masked in the store: its copy may still be in the WAL.
    pub wal_unscrubbed: bool,
}

/// A run an engine drives.
pub(crate) struct Driven {
    pub core: Core,
    pub slot_asks: Vec<SlotRequest>,
    /// When the store last checked the run's fence (a commit, a heartbeat), on the
    /// simulated clock: a start acted on later checks it again (`wake::fresh_fence`).
    pub fenced_at: i64,
}

impl Driven {
    /// A run its engine just took, fenced at `now`.
    pub(crate) fn new(core: Core, now: i64) -> Driven {
        Driven {
            core,
            slot_asks: Vec::new(),
            fenced_at: now,
        }
    }
}

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

impl Engine {
    pub(crate) fn open(
        id: usize,
        db: &std::path::Path,
        mix: crate::Mix,
    ) -> Result<Engine, SimError> {
        Ok(Engine {
            id,
            incarnation: 0,
            store: crate::rewrites::open_store(db, mix)?,
            runs: BTreeMap::new(),
            last_beat: 0,
            stalled_until: 0,
            wake: None,
            serve_pid: None,
            wal_unscrubbed: false,
        })
    }

    /// Its lease holder: a process on a host of its own, so that only its heartbeat
    /// says whether it lives (`model::liveness`), on the simulated clock.
    pub(crate) fn holder(&self) -> String {
        match self.serve_pid {
            Some(pid) => format!("pid {pid} on sim-serve-{}", self.id - crate::world::ENGINES),
            None => format!("pid {} on sim-engine-{}", 100 + self.incarnation, self.id),
        }
    }

    /// Whether it is stopped at `now`. What a new process does (a command's takeover)
    /// goes to one that is not ([`World::awake`]).
    pub(crate) fn stalled(&self, now: i64) -> bool {
        now < self.stalled_until
    }

    /// It holds `run`'s lease now: it takes the run as every engine does
    /// (`wake::hold::take`: its writes to the run fenced), unless the bug put back
    /// leaves them unfenced.
    pub(crate) fn drives(&mut self, run: &str, plan: &baton_workflow::Plan, bug: Option<Bug>) {
        if bug != Some(Bug::Unfenced) {
            let holder = self.holder();
            wake::hold::take(&mut self.store, run, &holder, plan);
        }
    }

    /// It takes `run` ([`Engine::drives`]) and drives `core` from `now`.
    pub(crate) fn take(&mut self, run: &str, core: Core, (now, bug): (i64, Option<Bug>)) {
        self.drives(run, core.plan(), bug);
        self.runs.insert(run.to_string(), Driven::new(core, now));
    }

    /// The store checked `run_id`'s fence at `now` (a commit, a heartbeat).
    pub(crate) fn fenced(&mut self, run_id: &str, now: i64) {
        if let Some(driven) = self.runs.get_mut(run_id) {
            driven.fenced_at = now;
        }
    }

    /// Its run `run_id` as a wake-up sees it (`None`: it does not drive it).
    pub(crate) fn run<'a>(&'a mut self, run_id: &'a str) -> Option<wake::Run<'a>> {
        let driven = self.runs.get_mut(run_id)?;
        Some(wake::Run {
            store: &mut self.store,
            run_id,
            core: &mut driven.core,
        })
    }
}

impl World {
    /// Engine `e`, or (it is stopped) the next one that is not: a new process is never
    /// a stopped one. `None` while every engine is stopped.
    pub(crate) fn awake(&self, e: usize) -> Option<usize> {
        // The CLI's engines; a serve's engine is its own process's.
        let n = crate::world::ENGINES;
        if e >= n {
            return (!self.engines[e].stalled(self.now)).then_some(e);
        }
        (0..n)
            .map(|i| (e + i) % n)
            .find(|&i| !self.engines[i].stalled(self.now))
    }
}

/// The id of the `n`th run a scenario starts.
pub(crate) fn run_id(n: u32) -> String {
    format!("r{n:03}")
}

/// The events among a core's effects, and the rest: the session's own split of a
/// new run's first effects.
pub(crate) use baton_session::split_persisted as split;

impl World {
    /// One wake-up of engine `e` for one of its runs (chosen by the seed).
    pub(crate) fn wake(&mut self, e: usize, crash: Option<Crash>) -> Result<(), SimError> {
        let runs: Vec<String> = self.engines[e].runs.keys().cloned().collect();
        if runs.is_empty() || self.engines[e].stalled(self.now) {
            return Ok(());
        }
        let run = runs[self.rng.random_range(0..runs.len())].clone();
        self.wake_run(e, &run, crash)
    }

    /// One wake-up of engine `e` for `run`: the engine's own (`wake::wake_up`), through
    /// this world's doors (`doors.rs`), the seed's crash armed in the fault door.
    pub(crate) fn wake_run(
        &mut self,
        e: usize,
        run: &str,
        crash: Option<Crash>,
    ) -> Result<(), SimError> {
        // One wake-up at a time: the one in progress ends first.
        self.finish_wake(e)?;
        if !self.engines[e].runs.contains_key(run) {
            return Ok(());
        }
        let woken = self.woken(e, run, crash, |d| wake::wake_up(d));
        if !matches!(woken, Ok(false)) {
            self.steps += 1;
        }
        self.stopped(e, run, woken.map(drop)).map(drop)
    }

    /// The run's command rows, claimed with each one's proof checked (one store call).
    pub(crate) fn gather_commands(&mut self, e: usize, run: &str) -> Result<Vec<Input>, SimError> {
        let obey_all = self.config.bug == Some(Bug::ObeyUnproven);
        let dropped = self.reclaimable(run)?;
        let World {
            engines, executors, ..
        } = self;
        let engine = &mut engines[e];
        let Some(driven) = engine.runs.get_mut(run) else {
            return Ok(Vec::new());
        };
        // An adopted attempt is traced ahead of its release when its host still has it.
        let mut trace = |step, attempt| {
            let key = (run.to_string(), step, attempt);
            executors.attempts.contains_key(&key).then_some(Ok(()))
        };
        let run_ = wake::Run {
            store: &mut engine.store,
            run_id: run,
            core: &mut driven.core,
        };
        let claimed = wake::claim(run_, &mut engine.wal_unscrubbed, &mut trace)?;
        Ok(claimed
            .into_iter()
            .filter(|i| !matches!(i, Input::Command { id: Some(id), .. } | Input::UnprovenCommand { id, .. } if dropped.contains(id)))
            .map(|i| match i {
                // The bug put back: a row whose proof failed is obeyed.
                Input::UnprovenCommand { id, command, .. } if obey_all => Input::Command {
                    id: Some(id),
                    command,
                },
                i => i,
            })
            .collect())
    }

    /// Engine `e` lets go of `run` once its drive is over (`wake::hold::finish_if_done`,
    /// the engine's own; a simulated engine's attempts and notifiers tell it nothing
    /// more once its core finished).
    pub(crate) fn finish_if_done(&mut self, e: usize, run: &str) -> Result<(), SimError> {
        if self.leave(e, run, wake::hold::Leaving::IfDone)? {
            self.history
                .push(format!("  {run}: finished, lease released"));
        }
        Ok(())
    }

    /// Engine `e` lets go of `run` as `leaving` says (`wake::hold::finish_if_done`);
    /// `false`: it drives on, or did not drive it.
    pub(crate) fn leave(
        &mut self,
        e: usize,
        run: &str,
        leaving: wake::hold::Leaving,
    ) -> Result<bool, SimError> {
        let engine = &mut self.engines[e];
        let (holder, log_dir) = (engine.holder(), engine.store.log_dir(run));
        let Some(run_) = engine.run(run) else {
            return Ok(false);
        };
        let left = wake::hold::finish_if_done(run_, (&holder, &log_dir), true, leaving)?;
        if left {
            engine.runs.remove(run);
        }
        Ok(left)
    }

    /// Engine `e` dies: its runs are dropped, its host's attempts lost; a new process
    /// (a new holder) takes its place with nothing in memory.
    pub(crate) fn crash(&mut self, e: usize, when: &str) -> Result<(), SimError> {
        self.steps += 1;
        let lost = self.executors.lose_host_of(e);
        let engine = &mut self.engines[e];
        let runs: Vec<String> = engine.runs.keys().cloned().collect();
        engine.runs.clear();
        engine.wake = None;
        engine.incarnation += 1;
        engine.stalled_until = 0;
        engine.store = crate::rewrites::open_store(&self.db, self.config.mix)?;
        self.seat_engine(e)?;
        self.history.push(format!(
            "  engine {e} crashed {when}: runs {runs:?} dropped, {lost} attempt(s) lost with its host"
        ));
        Ok(())
    }

    /// Every engine not stopped renews its leases as every engine does
    /// (`wake::hold::renew`, through `doors::Holding`): a run the store says it lost
    /// is dropped.
    pub(crate) fn beat(&mut self) -> Result<(), SimError> {
        for e in 0..self.engines.len() {
            if !self.engines[e].stalled(self.now) {
                wake::hold::renew(&mut crate::doors::Holding { world: self, e })?;
            }
        }
        Ok(())
    }

    /// Engine `e` no longer holds `run` (`err` says why): it stops driving it, and
    /// what it started there is stopped (`Driver::abandon`).
    pub(crate) fn stop_driving(
        &mut self,
        e: usize,
        run: &str,
        err: &baton_store::StoreError,
    ) -> Result<(), SimError> {
        let engine = &mut self.engines[e];
        engine.runs.remove(run);
        if engine.wake.as_ref().is_some_and(|w| w.run == run) {
            engine.wake = None;
        }
        let delay = self.stop_delay(self.config.mix.remote());
        self.executors.abandon((run, e), (self.now, delay));
        self.history
            .push(format!("  engine {e} stops driving {run}: {err}"));
        Ok(())
    }

    /// Engine `e` drives `ready` (a run `take_over` made ready under the engine's
    /// holder): the takeover's events are committed, then acted on.
    pub(crate) fn adopt(&mut self, e: usize, ready: baton_session::Ready) -> Result<(), SimError> {
        let run = ready.run_id.clone();
        // What the run's last engine left running goes first, as a takeover's
        // `stop_leftovers` stops it (a stopped engine's attempts live on until then).
        self.executors.stop_leftovers(&run);
        if ready.core.waits_for_group() {
            self.requeued.insert(run.clone());
        }
        let taking = (self.now, self.config.bug);
        self.engines[e].take(&run, ready.core, taking);
        let said = format!("takeover's commit of {run}");
        if self.start_driving(e, &run, ready.initial, (None, &said))? {
            self.history.push(format!("  {run}: driven by engine {e}"));
        }
        Ok(())
    }

    /// A new run of workflow `w` made by engine `e` (`baton run`): in its concurrency
    /// group as the store decides in one transaction, or plainly. `racy`: the group's
    /// holder as read before the burst ([`Bug::RacyAdmission`]).
    pub(crate) fn start_run(
        &mut self,
        e: usize,
        w: usize,
        racy: Option<&Option<String>>,
        fork: Option<&baton_core::ForkPlan>,
    ) -> Result<(), SimError> {
        // `baton run` (or `baton fork`) is a new process: never a stopped one.
        let Some(e) = self.awake(e) else {
            return Ok(());
        };
        self.steps += 1;
        self.next_run += 1;
        let run_id = run_id(self.next_run);
        // Its engine's account (`--mix accounts`: a member's engine starts its runs).
        let spec = baton_session::NewRunSpec {
            workflow: self.workflows[w].path.clone(),
            operator: self.engine_user(e),
            ..Default::default()
        };
        // The session's own new run (`baton run`'s), its id and seed the scenario's.
        let mut loaded = baton_session::load_new(spec)?;
        crate::faults::next_run(&run_id, self.config.seed ^ u64::from(self.next_run));
        // The bug put back: the group read free before the burst, the run made plainly.
        if matches!(racy, Some(None)) {
            std::sync::Arc::make_mut(&mut loaded.plan).concurrency = None;
        }
        let engine = &mut self.engines[e];
        let holder = engine.holder();
        // Every decision `baton run` (`baton fork`) makes, through the one session
        // entry; only the waiting for the answers of the cancels it asks is this world's.
        let baton_session::Admitting {
            made,
            replaced,
            asks,
        } = baton_session::admit_run(&mut engine.store, loaded, &holder, fork)?;
        let said = made
            .admitted
            .as_ref()
            .map_or("started".into(), |(_, a)| format!("{a:?}"));
        let (core, rest) = (made.ready.core, made.ready.initial);
        engine.take(&run_id, core, (self.now, self.config.bug));
        self.runs.push((run_id.clone(), w));
        self.history.push(format!(
            "  {run_id} ({}) by engine {e}: {said}, replacing {replaced:?}",
            self.workflows[w].name
        ));
        // Handed in as `baton run` hands them in, their verdicts given later by this
        // world's engines (`baton run` waits up to 10 s of real time for each:
        // `session::concurrency::follow_through`).
        if self.cli_cut() {
            self.cli_cancels(e, asks);
        } else {
            for (old, cancel) in asks {
                self.hand_in_ask(e, &old, &cancel)?;
            }
        }
        self.start_driving(e, &run_id, rest, (None, "first commit"))
            .map(drop)
    }

    /// One cancel a new run's admission asks, handed in by engine `e`'s `baton run`
    /// through the session's one decision (`session::concurrency::hand_in_ask`): a row
    /// for the live engine that drives `run`, else recorded for its next engine. Only
    /// when its answer comes is this world's: its verdict is read later.
    pub(crate) fn hand_in_ask(
        &mut self,
        e: usize,
        run: &str,
        cancel: &baton_model::Command,
    ) -> Result<(), SimError> {
        use baton_session::command::HandedIn;
        let name = crate::operator::command_name(cancel);
        let said = match baton_session::hand_in_ask(&mut self.engines[e].store, run, cancel) {
            Ok(Some(HandedIn::ForEngine { id, .. })) => {
                self.pending.push((id, format!("{name} on {run}")));
                format!("row #{id} for its engine")
            }
            Ok(Some(HandedIn::Recorded { id })) => {
                self.pending.push((id, format!("{name} on {run}")));
                format!("row #{id} recorded for its next engine")
            }
            Ok(Some(HandedIn::Labelled(outcome))) => format!("{outcome:?}"),
            Ok(None) => "refused".into(),
            // A rewritten record (`--mix rewrites`, `accounts`): refused, not obeyed.
            Err(err) if self.refused_as_rewritten(run, &err) => {
                crate::operator::session_refusal(&err)
            }
            Err(err) => return Err(err.into()),
        };
        self.history.push(format!("  {name} on {run}: {said}"));
        Ok(())
    }
}

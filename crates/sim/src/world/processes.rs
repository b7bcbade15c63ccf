//! The simulated engine processes: which process holds which run (its lease, its core),
//! when one is stopped (SIGSTOP, `--mix stalls`) and what it leaves when it dies or
//! loses a run. Each drives the real core of every run it holds the lease of through
//! the engine's own wake-up (`baton_engine::wake`), when `crate::drive` wakes it. A
//! dead engine's runs lapse to `interrupted` once their lease is stale, for a resume
//! (`session::command::take_over`).
use crate::world::World;
use crate::{Bug, SimError};
use baton_core::{Core, SlotRequest};
use baton_engine::wake;
use baton_store::Store;
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
    pub wake: Option<crate::drive::Wake>,
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
        // `clear_leftovers` stops it (a stopped engine's attempts live on until then).
        self.executors.clear_leftovers(&ready);
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
}

//! One scenario: the store in a temporary directory, the engines, the executors, the
//! operators and the simulated clock, all driven by one seed.
use crate::executor::Executors;
use crate::faults::clock;
use crate::history::History;
use crate::invariants::Checker;
use crate::workflows::{self, Workflow};
use crate::{Config, Mix, Outcome, SimError, Violation};
use baton_model::Timestamp;
use baton_store::Store;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::path::PathBuf;

mod claims;
pub(crate) mod doors;
pub(crate) mod processes;
pub(crate) mod runs;

use doors::Crash;
use processes::Engine;

/// How many engine processes share the store.
pub(crate) const ENGINES: usize = 3;
/// The simulated clock starts here (2030-01-01), the same for every seed.
pub(crate) const T0: i64 = 1_893_456_000_000;
/// How many rounds [`World::settle`] gives the world after the last action: 60
/// simulated seconds, past a lapsed lease (15 s) and the time a command waits.
const SETTLE_ROUNDS: usize = 30;
/// Rounds in a row that recorded no event after which the world is settled: 18 s,
/// past a lapsed lease (15 s).
const QUIET_ROUNDS: usize = 8;
/// Where scenarios keep their store when it exists (a tmpfs).
const SHM: &str = "/dev/shm";

pub(crate) struct World {
    pub config: Config,
    pub rng: SmallRng,
    pub now: i64,
    pub db: PathBuf,
    pub workflows: Vec<Workflow>,
    /// The operators' CLI processes' connection.
    pub ops: Store,
    /// A plain SQLite connection: for forged rows and for the checks' reads.
    pub raw: rusqlite::Connection,
    pub engines: Vec<Engine>,
    pub executors: Executors,
    /// The seed's second stream: what schedules and asks choose, so that a scenario
    /// of runs only ([`crate::Mix::RunsOnly`]) draws what it always drew.
    pub extra: SmallRng,
    /// The seed's third stream: which engine is stopped, when and for how long
    /// ([`crate::Mix::Stalls`]).
    pub stalls: SmallRng,
    /// The seed's fourth stream: the commands added after the regression seeds were
    /// kept (push-back, retry of the failed steps, fork), so that what the three other
    /// streams draw is unchanged ([`crate::Mix::RunsOnly`] draws nothing from it).
    pub more: SmallRng,
    /// The seed's fifth stream: how late stops reach remote jobs, and detaches
    /// ([`crate::Mix::Remote`]).
    pub remote: SmallRng,
    /// The seed's sixth stream: where wake-ups pause and engines die amid them
    /// ([`crate::Mix::Interleave`]).
    pub cuts: SmallRng,
    /// The CLI processes between two store calls ([`crate::Mix::Cli`]).
    pub clis: crate::clis::Clis,
    /// The seed's seventh stream: which account makes each operator's call
    /// ([`crate::Mix::Accounts`]).
    pub who: SmallRng,
    /// The accounts operators act as ([`crate::Mix::Accounts`]; none in other mixes).
    pub accounts: Vec<crate::accounts::Account>,
    /// The account that made each proven decision, by its tag (`op-N`).
    pub made_by: std::collections::BTreeMap<String, String>,
    /// The last audit row [`World::check_accounts`] read.
    pub audit_seen: i64,
    /// An ask answered by an account not among its approvers: reported by the next
    /// check.
    pub answer_broke: Option<String>,
    /// The seed's eighth stream: the operators' pauses, resumes and backfills
    /// ([`crate::Mix::Schedules`]).
    pub sched: SmallRng,
    /// The serve of the deploy's schedule ([`crate::Mix::Schedules`]).
    pub served: Option<crate::cron::Served>,
    /// The keys operators sign decisions with ([`crate::Mix::Signed`]).
    pub signing: Option<crate::signed::Signing>,
    /// A slot started against what was decided: reported by the next check.
    pub schedule_broke: Option<String>,
    /// What the simulated host answers a takeover, and the executor kinds it is made
    /// with ([`crate::remote`]).
    pub hosts: crate::remote::HostsView,
    pub backends: baton_exec::Backends,
    /// A detach that stopped a remote job on record: reported by the next check.
    pub detach_broke: Option<String>,
    /// A takeover against what the documents promise (of a run a live engine drove):
    /// reported by the next check, with its invariant.
    pub takeover_broke: Option<(&'static str, String)>,
    /// [`crate::Bug::ResumeDriven`]: the takeover in progress takes the run's lease
    /// whatever its heartbeat says.
    pub take_any: bool,
    /// The next takeover's lease is its engine's already (a takeover cut between its
    /// lease and the rest: `session::command::take_over_leased_on`).
    pub leased: bool,
    /// The runs a takeover's process left between its lease and its settle, dying
    /// (`--mix cli`): that process's lease holder and when it died.
    pub dead_takers: std::collections::BTreeMap<String, (String, i64)>,
    /// The records rewritten ([`crate::Mix::Rewrites`]), to put back at the end.
    pub rewritten: Vec<crate::rewrites::Rewritten>,
    /// The times of the trigger rows forged into `schedule_slots`.
    pub forged_slots: std::collections::BTreeSet<i64>,
    /// The asks opened.
    pub asks: Vec<crate::asks::Asked>,
    /// Every run made, with its workflow's index.
    pub runs: Vec<(String, usize)>,
    /// Rows handed to live engines whose verdict is not read yet.
    pub pending: Vec<(i64, String)>,
    /// Queued runs whose engine died and that a resume queued again: the documents
    /// do not count them against `max_pending` ("Not guaranteed").
    pub requeued: std::collections::BTreeSet<String>,
    /// This process's OS account: every proven command is made under it.
    pub user: String,
    pub history: History,
    pub checker: Checker,
    pub steps: u64,
    pub next_run: u32,
    pub tags: u32,
    pub violation: Option<Violation>,
    pub actions_run: usize,
    // Last: the directory outlives every connection into it.
    _dir: tempfile::TempDir,
}

/// The scenario's directory: in memory when the machine has it, where the store's
/// syncs cost nothing.
pub(crate) fn scenario_dir() -> Result<tempfile::TempDir, SimError> {
    let base = match std::path::Path::new(SHM).is_dir() {
        true => PathBuf::from(SHM),
        false => std::env::temp_dir(),
    };
    tempfile::Builder::new()
        .prefix("baton-sim-")
        .tempdir_in(&base)
        .map_err(|e| SimError::Io {
            path: base,
            error: e,
        })
}

impl World {
    pub(crate) fn new(config: Config) -> Result<World, SimError> {
        let mut rng = SmallRng::seed_from_u64(config.seed);
        clock(Some(Timestamp(T0)));
        let dir = scenario_dir()?;
        let db = dir.path().join("store").join("baton.db");
        let user = baton_session::os_account()?;
        let accounts = crate::accounts::for_mix(config.mix, &user, dir.path(), &db)?;
        let max_pending = rng.random_range(1..=2);
        let serving = crate::serving::Shape::of(config.mix, config.seed);
        let signing = crate::signed::open(config.mix, dir.path(), &user, config.seed)?;
        let workflows = workflows::write_all(
            dir.path(),
            max_pending,
            (
                config.mix != Mix::RunsOnly,
                crate::workflows::remote_kind(config.mix, config.seed),
                serving.lines.clone(),
                crate::signed::workflow_lines(config.mix, &user),
                config.mix == Mix::Executors,
            ),
        )?;
        let ops = crate::rewrites::open_store(&db, config.mix)?;
        let raw = rusqlite::Connection::open(&db)?;
        raw.busy_timeout(std::time::Duration::from_secs(5))?;
        // The CLI's engines, then (`--mix serves`) each serve's own: a serve drives the
        // runs it starts and resumes.
        let engines = (0..ENGINES + crate::serving::serve_engines(config.mix))
            .map(|i| Engine::open(i, &db, config.mix))
            .collect::<Result<_, _>>()?;
        let mut history = History::new(dir.path());
        history.push(format!(
            "seed {} actions {} bug {:?} max_pending {max_pending}",
            config.seed, config.actions, config.bug
        ));
        let extra = SmallRng::seed_from_u64(config.seed ^ 0x5c4e_d01e_a5c5_0000);
        let stalls = SmallRng::seed_from_u64(config.seed ^ 0x57a1_1ed0_0000_0000);
        let more = SmallRng::seed_from_u64(config.seed ^ 0x0f0c_bac4_0000_0000);
        let remote = SmallRng::seed_from_u64(config.seed ^ 0x2e3a_07e0_0000_0000);
        let cuts = SmallRng::seed_from_u64(config.seed ^ 0x1e7e_a5e0_0000_0000);
        let who = SmallRng::seed_from_u64(config.seed ^ 0x0a11_ce0b_0000_0000);
        let sched = SmallRng::seed_from_u64(config.seed ^ 0xc204_5c4e_0000_0000);
        let served = crate::cron::Served::open((dir.path(), &db), config.mix, serving)?;
        let hosts = crate::remote::HostsView::default();
        let backends = crate::remote::backends(&hosts);
        let mut world = World {
            config,
            rng,
            now: T0,
            db,
            workflows,
            ops,
            raw,
            engines,
            executors: Executors::new(&config),
            extra,
            stalls,
            more,
            remote,
            cuts,
            clis: crate::clis::Clis::new(config.mix, config.seed),
            who,
            accounts,
            made_by: Default::default(),
            audit_seen: 0,
            answer_broke: None,
            sched,
            served,
            signing,
            schedule_broke: None,
            hosts,
            backends,
            detach_broke: None,
            takeover_broke: None,
            take_any: false,
            leased: false,
            dead_takers: Default::default(),
            rewritten: Vec::new(),
            forged_slots: Default::default(),
            asks: Vec::new(),
            runs: Vec::new(),
            pending: Vec::new(),
            requeued: Default::default(),
            user,
            history,
            checker: Checker::default(),
            steps: 0,
            next_run: 0,
            tags: 0,
            violation: None,
            actions_run: 0,
            _dir: dir,
        };
        world.seat_operators()?;
        for e in 0..ENGINES {
            world.seat_engine(e)?;
        }
        if config.mix != Mix::RunsOnly {
            world.serve_workflows()?;
        }
        if world.served.is_some() {
            world.serve_schedule()?;
        }
        Ok(world)
    }

    /// Run the scenario's actions, each followed by every check, until one breaks.
    pub(crate) fn play(&mut self) -> Result<(), SimError> {
        for action in 1..=self.config.actions {
            self.now += self.rng.random_range(0..2_500);
            clock(Some(Timestamp(self.now)));
            self.stall()?;
            self.maybe_rewrite()?;
            self.maybe_detach()?;
            self.cli_turn()?;
            self.act(action)?;
            self.schedules_turn()?;
            self.signed_turn()?;
            self.beat()?;
            self.collect_verdicts()?;
            self.actions_run = action;
            if let Some(v) = self.check(action)? {
                self.history.push(format!(
                    "BROKEN {} after action {action}: {}",
                    v.invariant, v.detail
                ));
                self.violation = Some(v);
                return Ok(());
            }
        }
        self.restore_runs_rows()?;
        self.settle()?;
        self.restore_rewrites()?;
        let last = self.config.actions;
        if let Some(v) = self
            .check(last)?
            .map_or_else(|| self.check_at_end(last), |v| Ok(Some(v)))?
        {
            self.history
                .push(format!("BROKEN {} once settled: {}", v.invariant, v.detail));
            self.violation = Some(v);
        }
        Ok(())
    }

    /// After the last action the world calms down, as the chaos campaign's end does:
    /// every stopped engine is continued, and for [`SETTLE_ROUNDS`] rounds of two
    /// simulated seconds at most (until [`QUIET_ROUNDS`] in a row recorded nothing) each
    /// engine beats and wakes each of its runs, and the runs no engine drives are
    /// resumed. Nothing new is asked or decided, so what waits on a
    /// person waits on; the end's checks then read what is left.
    fn settle(&mut self) -> Result<(), SimError> {
        self.history
            .push("settle: every engine continued".to_string());
        for engine in &mut self.engines {
            engine.stalled_until = 0;
        }
        self.finish_clis()?;
        for e in 0..self.engines.len() {
            self.finish_wake(e)?;
        }
        self.settle_rounds(true)?;
        // A round resumes one run an engine: an engine that died holding twenty runs
        // can leave some never tried when the rounds end. Each is resumed once now
        // (its account's), and the world calms down again without more resumes.
        let mut left = Vec::new();
        for e in 0..ENGINES {
            for run in self.resumable(e)? {
                if !left.contains(&run) {
                    left.push(run.clone());
                    self.resume_run(e, &run)?;
                }
            }
        }
        if !left.is_empty() {
            self.history
                .push(format!("settle: resumed once more {left:?}"));
            self.settle_rounds(false)?;
        }
        Ok(())
    }

    /// Rounds of [`World::settle`]: each engine beats and wakes each of its runs, and
    /// (`resume`) each engine resumes one run no engine drives.
    fn settle_rounds(&mut self, resume: bool) -> Result<(), SimError> {
        let mut quiet = 0;
        for round in 0..SETTLE_ROUNDS {
            // Settled: nothing happened for longer than a lease lives (a crashed
            // engine's runs are resumable after that), so nothing more will.
            if quiet > QUIET_ROUNDS {
                break;
            }
            let before = self.recorded()?;
            self.now += 2_000;
            clock(Some(Timestamp(self.now)));
            self.beat()?;
            for e in 0..self.engines.len() {
                let runs: Vec<String> = self.engines[e].runs.keys().cloned().collect();
                for run in runs {
                    self.wake_run(e, &run, None)?;
                }
            }
            if resume {
                for e in 0..ENGINES {
                    self.resume((round + e) % ENGINES)?;
                }
            }
            self.collect_verdicts()?;
            quiet = if self.recorded()? == before {
                quiet + 1
            } else {
                0
            };
        }
        Ok(())
    }

    fn act(&mut self, action: usize) -> Result<(), SimError> {
        let roll = self.rng.random_range(0..100);
        let e = self.rng.random_range(0..ENGINES);
        self.history.push(format!(
            "#{action} t+{} roll {roll} engine {e}",
            self.now - T0
        ));
        match roll {
            0..12 => self.burst(),
            12..62 => {
                let crash = match self.rng.random_range(0..100) {
                    0..3 => Some(Crash::BeforeCommit),
                    3..6 => Some(Crash::AfterCommit),
                    _ => None,
                };
                match self.config.mix {
                    Mix::Interleave | Mix::Cli => self.wake_interleaved(e),
                    _ => self.wake(e, crash),
                }
            }
            62..78 => self.operate(),
            78..81 => self.crash(e, "while idle"),
            81..90 => self.resume(e),
            _ if self.config.mix == Mix::RunsOnly => Ok(()),
            90..92 => self.trigger(),
            92..94 => self.serve_triggers(),
            _ => self.ask_action(),
        }
    }

    /// With [`Mix::Stalls`]: now and then an engine is stopped past its lease (16 to
    /// 30 s), to be continued where it was, from the seed's stream of stalls.
    fn stall(&mut self) -> Result<(), SimError> {
        if self.config.mix != Mix::Stalls || self.stalls.random_range(0..100) >= 3 {
            return Ok(());
        }
        let e = self.stalls.random_range(0..ENGINES);
        let ms = self.stalls.random_range(16_000..30_000);
        let engine = &mut self.engines[e];
        if engine.stalled(self.now) {
            return Ok(());
        }
        engine.stalled_until = self.now + ms;
        self.steps += 1;
        self.history.push(format!(
            "  engine {e} stopped for {ms} ms (SIGSTOP), then continued"
        ));
        Ok(())
    }

    /// How many events the store holds: what settling watches for a quiet round (a
    /// resume refused again records nothing).
    fn recorded(&self) -> Result<i64, SimError> {
        Ok(self
            .raw
            .query_row("SELECT count(*) FROM events", [], |r| r.get(0))?)
    }

    /// One to three runs of one workflow at once, each made by an engine chosen by
    /// the seed (a burst of `baton run`).
    fn burst(&mut self) -> Result<(), SimError> {
        let w = self.rng.random_range(0..self.workflows.len());
        let n = self.rng.random_range(1..=3);
        let racy = match (self.config.bug, self.workflows[w].max_pending) {
            (Some(crate::Bug::RacyAdmission), Some(_)) => {
                Some(self.ops.group_holder(workflows::GROUP)?)
            }
            _ => None,
        };
        for _ in 0..n {
            let e = self.rng.random_range(0..ENGINES);
            self.start_run(e, w, racy.as_ref(), None)?;
        }
        Ok(())
    }

    pub(crate) fn outcome(&self) -> Outcome {
        Outcome {
            config: self.config,
            digest: self.history.digest(),
            actions: self.actions_run,
            steps: self.steps,
            events: self.checker.events,
            history: self.history.lines().to_vec(),
            violation: self.violation.clone(),
            workflows: Vec::new(),
        }
    }

    /// The scenario's directory.
    pub(crate) fn dir(&self) -> &std::path::Path {
        self._dir.path()
    }
}

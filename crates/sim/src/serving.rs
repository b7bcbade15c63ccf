//! `--mix serves` (issue 61 point 1: "several engines and CLI processes over one store
//! […], any of which can die at any point"): everything of `--mix schedules`, with the
//! serve a process of its own that dies (`kill -9`) at any point of its tick and starts
//! again after a while, its missed slots then following the schedule's `catch_up`
//! (drawn by the seed: `none`, `latest`, or `all` with `max_catch_up = 2`), and a second
//! `baton serve` on another host that tries now and then to serve the same store:
//! refused while the first holds the store's serve lease (`@serve`), serving once that
//! lease lapsed. A serve may be left between its decision of the due slots and their
//! record while the others act, or stopped there (SIGSTOP) past its lease: the other
//! serve takes the store over and fires, then the first, continued, records and
//! starts what it decided before its next heartbeat tells it that it lost the lease,
//! as `baton serve`'s loop does. Each serve decides on its own cursor and proven pauses
//! (a `ServeState` of its own host's) with the serve's own code
//! (`session::prove_pauses`, `session::schedule_facts`, `model::schedule::decide`,
//! `Store::record_slots`, `session::backfill_proved`). A serve is its runs' engine (an
//! engine of its own, under the serve's lease holder name): its runs die and stop with
//! it, and a serve that starts resumes the runs of slots left unfinished as `baton
//! serve`'s `resume_unfinished` does. What it draws comes from a ninth stream of the
//! seed.
use crate::cron::{Decided, Served};
use crate::world::World;
use crate::{Mix, SimError};
use baton_model::schedule::{CatchUp, Fate};
use baton_model::{LEASE_STALE, Timestamp};
use baton_session::SERVE_LEASE;
use baton_store::LeaseOutcome;
use baton_store::schedules::ServeState;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};

/// The serve processes of `--mix serves`.
const SERVES: usize = 2;

/// The engines of the serves' own processes, after the CLI's (`--mix serves`: a serve
/// drives the runs it starts and resumes): serve `k`'s is engine `ENGINES + k`.
pub(crate) fn serve_engines(mix: Mix) -> usize {
    match mix {
        Mix::Serves => SERVES,
        _ => 0,
    }
}

/// Serve `k`'s engine.
fn engine_of(k: usize) -> usize {
    crate::world::ENGINES + k
}
/// `max_catch_up` of the deploy's schedule when its `catch_up` is `all`.
pub(crate) const MAX_CATCH_UP: u32 = 3;
/// How often a serve renews its lease (`baton serve`'s `HEARTBEAT`).
const HEARTBEAT_MS: i64 = 2_000;

/// One `baton serve` process, on a host of its own.
pub(crate) struct ServeProc {
    /// What this serve decided and proved (its cursor, the pauses it proved), in its
    /// host's state directory: read again from there when it starts again.
    pub(crate) state: ServeState,
    /// When it began watching (its `awake_since`): slots due before it were missed.
    pub(crate) started: Timestamp,
    pub(crate) alive: bool,
    dir: PathBuf,
    /// Its lease holder name (`pid N on sim-serve-K`): a new pid at every start.
    holder: String,
    last_beat: i64,
    stalled_until: i64,
    /// When a dead serve starts again (or a refused one tries again).
    restart_at: i64,
    /// A decision of due slots not recorded yet: the serve is between those two calls.
    pending: Option<Decided>,
}

impl ServeProc {
    /// The serve of `--mix schedules`, or serve `k` of `--mix serves`; serve 0 serves
    /// from the start, the others try later.
    pub(crate) fn open(
        k: usize,
        dir: &Path,
        db: &Path,
        restart_at: i64,
    ) -> Result<ServeProc, SimError> {
        let dir = match k {
            0 => dir.join("serve-state"),
            k => dir.join(format!("serve-state-{k}")),
        };
        Ok(ServeProc {
            state: ServeState::open(&dir, db)?,
            started: Timestamp(crate::world::T0),
            alive: k == 0,
            dir,
            holder: format!("pid {} on sim-serve-{k}", 200 + k),
            last_beat: crate::world::T0,
            stalled_until: 0,
            restart_at,
            pending: None,
        })
    }
}

/// What `--mix schedules` and `--mix serves` make of a scenario: the lines of the
/// deploy's schedule after its cron and overlap (`None`: no schedule), its
/// `catch_up` and `max_catch_up`, and the ninth stream of the seed.
pub(crate) struct Shape {
    pub(crate) lines: Option<String>,
    pub(crate) catch_up: (CatchUp, u32),
    pub(crate) rng: SmallRng,
}

impl Shape {
    pub(crate) fn of(mix: Mix, seed: u64) -> Shape {
        let mut rng = SmallRng::seed_from_u64(seed ^ 0x5e2e_5e2e_0000_0000);
        let catch_up = match (mix, rng.random_range(0..4)) {
            (Mix::Serves, 0) => (CatchUp::None, MAX_CATCH_UP),
            (Mix::Serves, 1) => (CatchUp::Latest, MAX_CATCH_UP),
            (Mix::Serves, _) => (CatchUp::All, MAX_CATCH_UP),
            // The documented default.
            _ => (CatchUp::None, baton_model::schedule::DEFAULT_MAX_CATCH_UP),
        };
        let lines = match mix {
            Mix::Serves => Some(format!(
                "catch_up = \"{}\"\nmax_catch_up = {}\n",
                <&str>::from(catch_up.0),
                catch_up.1
            )),
            Mix::Schedules => Some(String::new()),
            _ => None,
        };
        Shape {
            lines,
            catch_up,
            rng,
        }
    }
}

/// The serves of a scenario: one serving from the start (`--mix schedules`), or
/// [`SERVES`] of which the first serves from the start (`--mix serves`).
pub(crate) fn procs(
    mix: Mix,
    dir: &Path,
    db: &Path,
    rng: &mut SmallRng,
) -> Result<Vec<ServeProc>, SimError> {
    let n = if mix == Mix::Serves { SERVES } else { 1 };
    (0..n)
        .map(|k| {
            let at = match k {
                0 => 0,
                _ => crate::world::T0 + rng.random_range(5_000..60_000),
            };
            ServeProc::open(k, dir, db, at)
        })
        .collect()
}

impl World {
    /// The first serve takes the store's serve lease as it starts (`--mix serves`);
    /// each serve's engine holds its runs' leases under the serve's own name.
    pub(crate) fn first_serve_lease(&mut self, served: &Served) -> Result<(), SimError> {
        for k in 0..served.procs.len() {
            self.engines[engine_of(k)].serve_pid = Some(200 + k as u32);
        }
        let p = &served.procs[0];
        self.ops
            .acquire_lease(SERVE_LEASE, &p.holder, Timestamp(self.now), LEASE_STALE)?;
        Ok(())
    }

    /// After an action (`--mix serves`): each serve's tick, one at a time.
    pub(crate) fn serves_turn(&mut self, served: &mut Served) -> Result<(), SimError> {
        for k in 0..served.procs.len() {
            self.serve_tick(served, k)?;
        }
        Ok(())
    }

    /// Serve `k`'s tick: a dead one starts again when its time came; a stopped one
    /// does nothing; one continued (or left between its two calls) records and
    /// starts what it decided first, and that is its tick; any other renews its lease
    /// (stopping once it lost it), takes the backfilled slots due, decides the due
    /// slots, and records and starts them, or is left between the two, or dies.
    fn serve_tick(&mut self, served: &mut Served, k: usize) -> Result<(), SimError> {
        let now = self.now;
        let p = &mut served.procs[k];
        if !p.alive {
            if now >= p.restart_at {
                self.serve_start(served, k)?;
            }
            return Ok(());
        }
        if p.stalled_until > now {
            return Ok(());
        }
        self.serve_drives(k)?;
        let p = &mut served.procs[k];
        if let Some(d) = p.pending.take() {
            self.serve_record(served, k, d)?;
            return Ok(());
        }
        if now - p.last_beat >= HEARTBEAT_MS {
            p.last_beat = now;
            match self.ops.heartbeat(SERVE_LEASE, &p.holder, Timestamp(now)) {
                Ok(()) => {}
                Err(baton_store::StoreError::LeaseLost { holder, .. }) => {
                    let by = holder.unwrap_or_else(|| "no one".into());
                    let until = served.rng.random_range(2_000..30_000);
                    return self.serve_gone(
                        served,
                        k,
                        &format!("lost the store's serve lease (to {by}); stopping"),
                        until,
                    );
                }
                Err(e) => return Err(e.into()),
            }
        }
        if served.rng.random_range(0..100) < 3 {
            return self.serve_killed(served, k, "before its tick");
        }
        self.fire_backfills(served, k)?;
        let Some(d) = self.decide_due(served, k)? else {
            return Ok(());
        };
        if d.slots.is_empty() {
            return Ok(());
        }
        match served.rng.random_range(0..100) {
            0..3 => self.serve_killed(served, k, "between its decision and its record"),
            3..13 => {
                let ms = served.rng.random_range(16_000..30_000);
                let p = &mut served.procs[k];
                p.stalled_until = now + ms;
                p.pending = Some(d);
                // The whole process is stopped: its runs' driving too.
                self.engines[engine_of(k)].stalled_until = now + ms;
                self.history.push(format!(
                    "  serve {k} stopped for {ms} ms (SIGSTOP) between its decision and its record"
                ));
                Ok(())
            }
            13..25 => {
                served.procs[k].pending = Some(d);
                self.history
                    .push(format!("  serve {k} between its decision and its record"));
                Ok(())
            }
            _ => self.serve_record(served, k, d),
        }
    }

    /// The decided slots recorded and, those recorded now that start, started; the
    /// serve may die between the two (the slots recorded without their runs: at most
    /// once, never twice).
    fn serve_record(&mut self, served: &mut Served, k: usize, d: Decided) -> Result<(), SimError> {
        let fresh = self.record_decided(served, k, &d)?;
        let starts = (d.slots.iter().zip(&fresh)).any(|((_, f), n)| *n && *f == Fate::Start);
        if starts && served.rng.random_range(0..100) < 3 {
            return self.serve_killed(served, k, "between its slots' record and their runs");
        }
        self.start_decided(served, k, &d, &fresh)
    }

    /// `baton serve` started again on serve `k`'s host: it takes the store's serve
    /// lease, or is refused while another serve holds it.
    fn serve_start(&mut self, served: &mut Served, k: usize) -> Result<(), SimError> {
        self.steps += 1;
        let now = Timestamp(self.now);
        let pid: u32 = served.rng.random_range(1_000..60_000);
        let holder = format!("pid {pid} on sim-serve-{k}");
        match self
            .ops
            .acquire_lease(SERVE_LEASE, &holder, now, LEASE_STALE)?
        {
            LeaseOutcome::HeldBy { holder: by, .. } => {
                let again = served.rng.random_range(2_000..8_000);
                served.procs[k].restart_at = self.now + again;
                self.history.push(format!(
                    "  serve {k} refused: another `baton serve` ({by}) serves this store"
                ));
            }
            LeaseOutcome::Acquired => {
                self.engines[engine_of(k)].serve_pid = Some(pid);
                let p = &mut served.procs[k];
                // Its memory is gone: what it kept is read again from its host's file.
                p.state = ServeState::open(&p.dir, &self.db)?;
                p.started = now;
                p.alive = true;
                p.holder = holder;
                p.last_beat = self.now;
                p.pending = None;
                self.history.push(format!(
                    "  serve {k} started ({}), catch_up {}",
                    served.procs[k].holder,
                    <&str>::from(served.catch_up.0)
                ));
                self.serve_resumes(k)?;
            }
        }
        Ok(())
    }

    /// As `baton serve` starts (`resume_unfinished`): each run of a slot that is not
    /// finished (`Store::unfinished_slot_runs`) is taken over and driven by this
    /// serve (the session's takeover, as `take_over_with` makes it), or left to the
    /// live engine that drives it (`Driven`), or refused as the takeover says.
    fn serve_resumes(&mut self, k: usize) -> Result<(), SimError> {
        let e = engine_of(k);
        for (_, _, run) in self.engines[e].store.unfinished_slot_runs()? {
            if self.engines[e].runs.contains_key(&run) {
                continue;
            }
            self.steps += 1;
            self.take_any = self.config.bug == Some(crate::Bug::ResumeDriven);
            let taken = self.take_over((Some(e), e), &run, None);
            self.take_any = false;
            match taken {
                Ok((ready, _)) => {
                    self.history.push(format!("  serve {k} resumes {run}"));
                    self.adopt(e, ready)?;
                }
                Err(baton_session::SessionError::Driven { holder, .. }) => self.history.push(
                    format!("  serve {k}: {run} is driven by {holder}; left to it"),
                ),
                Err(
                    err @ (baton_session::SessionError::Refused { .. }
                    | baton_session::SessionError::Unanswered { .. }),
                ) => self.history.push(format!(
                    "  serve {k} cannot resume {run}: {}",
                    crate::operator::session_refusal(&err)
                )),
                Err(err) => return Err(err.into()),
            }
        }
        Ok(())
    }

    /// Serve `k`'s engine wakes each of its runs (`--mix serves`): the serve drives
    /// them as `baton run --headless` would, each its own task beside the serve's loop.
    fn serve_drives(&mut self, k: usize) -> Result<(), SimError> {
        let e = engine_of(k);
        if e >= self.engines.len() {
            return Ok(());
        }
        let runs: Vec<String> = self.engines[e].runs.keys().cloned().collect();
        for run in runs {
            self.wake_run(e, &run, None)?;
        }
        Ok(())
    }

    /// Serve `k` killed (`kill -9`): its memory lost, its lease left to lapse; it
    /// starts again after up to 40 s, the slots due meanwhile missed.
    fn serve_killed(&mut self, served: &mut Served, k: usize, when: &str) -> Result<(), SimError> {
        let down = served.rng.random_range(0..40_000);
        self.serve_gone(served, k, &format!("killed (kill -9) {when}"), down)
    }

    fn serve_gone(
        &mut self,
        served: &mut Served,
        k: usize,
        why: &str,
        down: i64,
    ) -> Result<(), SimError> {
        self.steps += 1;
        let p = &mut served.procs[k];
        p.alive = false;
        p.pending = None;
        p.stalled_until = 0;
        p.restart_at = self.now + down;
        self.history.push(format!("  serve {k} {why}"));
        // The runs it drove go with it: they lapse to interrupted, for the next serve.
        if engine_of(k) < self.engines.len() {
            self.crash(engine_of(k), &format!("with serve {k}"))?;
        }
        Ok(())
    }
}

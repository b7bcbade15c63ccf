//! Simulated executors: an attempt the core spawned gets a fate from the seed (it exits
//! 0 or 1 after a while, hangs until its timeout or a kill, or is lost with its host).
//! Nothing here starts a process or sends a signal: pgids are made up and never used.
//!
//! A remote attempt (a step on an SSH executor, `--mix remote`) is a job on a host of
//! its own: it outlives the engine that started it, is followed by the engines that
//! re-attach to it, and a stop reaches it over the connection, late when the
//! connection stalls ([`Remote`]).
use crate::world::doors::Stop;
use baton_core::{Input, SpawnSpec, StepExit};
use baton_engine::hands::{self, Spawning};
use baton_model::{StepOutcome, Usage};
use rand::Rng;
use rand::rngs::SmallRng;
use std::collections::BTreeMap;

/// (run, step index, attempt).
pub(crate) type AttemptKey = (String, usize, u32);

/// A simulated attempt.
#[derive(Debug, Clone)]
pub(crate) struct Attempt {
    /// The engine whose host runs it (a crash of that engine loses it).
    pub engine: usize,
    /// Its step takes a slot of the store-wide pool.
    pub in_pool: bool,
    pub pgid: i32,
    /// `ProcessStarted` was told to the engine.
    pub reported: bool,
    /// When it ends, and how (`None`: it hangs until killed).
    pub ends: Option<(i64, StepOutcome)>,
    pub frozen: bool,
    /// Its process is gone (its end may not be told yet).
    pub ended: bool,
    /// It writes usage lines (its workflow has a budget): what it wrote so far.
    pub tokens: Option<u64>,
    /// A job on a host of its own (`--mix remote`).
    pub remote: Option<Remote>,
    /// What `--mix executors` adds: a stop ignored, queue states, outputs.
    pub extra: Option<crate::jobs::Extra>,
}

/// What is known of a remote attempt: its job, who follows it, and what happened on
/// its host (the ground truth the record is checked against).
#[derive(Debug, Clone)]
pub(crate) struct Remote {
    pub job_id: String,
    /// The engines following it: the one that started it, then those that re-attach.
    pub followers: Vec<usize>,
    /// Its end was told to a follower (told again to one that re-attaches).
    pub end_told: bool,
    /// When it exits on its own, and with what code (`None`: it hangs, or its host is
    /// lost).
    pub natural: Option<(i64, i32)>,
    /// When a stop reached it on its host (a kill, a timeout, its host lost).
    pub stopped_at: Option<i64>,
    /// When a TERM it ignores reached its group (`--mix executors`): it lives on to
    /// `stopped_at` (the KILL), but a stop reached it, so its end is not its own.
    pub term_at: Option<i64>,
}

/// How a remote attempt ended on its host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HostEnd {
    /// It ran to its end and exited with this code.
    Ran(i32),
    /// A stop reached it first.
    Stopped,
}

impl Remote {
    /// Whether its process still lives on its host at `now`.
    pub(crate) fn alive(&self, now: i64) -> bool {
        self.end_at().is_none_or(|t| t > now)
    }

    fn end_at(&self) -> Option<i64> {
        match (self.natural.map(|(t, _)| t), self.stopped_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// How it ended on its host by `now`, if it did.
    pub(crate) fn host_end(&self, now: i64) -> Option<HostEnd> {
        let end = self.end_at().filter(|t| *t <= now)?;
        Some(match self.natural {
            Some((t, code)) if t == end && self.term_at.is_none_or(|s| s > t) => HostEnd::Ran(code),
            _ => HostEnd::Stopped,
        })
    }
}

/// A remote attempt's spawn: `Some(ms)` when it ends that long past its step's
/// timeout (drawn from the remote stream by the world).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slow(pub Option<i64>);

/// How a simulated executor goes wrong on purpose ([`crate::Bug`]).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Faults {
    /// A frozen attempt goes on (`Bug::IgnoreFreeze`).
    pub ignore_freeze: bool,
    /// A stop sent is told as the attempt's end at once (`Bug::StopIsTheEnd`).
    pub stop_is_the_end: bool,
    /// A remote attempt's job is never told, nor found by a takeover (`Bug::ForgetJob`).
    pub forget_job: bool,
    /// A stop is told as the attempt's end once its TERM is sent, whatever the process
    /// does (`Bug::TermIsTheEnd`).
    pub term_is_the_end: bool,
    /// An attempt's outputs are read from one file per step (`Bug::StaleOutputs`).
    pub stale_outputs: bool,
}

/// The tokens each usage line of attempt `pgid` reports: 100 to 399, from its pgid
/// (not from the seed's streams, which the regression seeds' scenarios must keep).
pub(crate) fn line_tokens(pgid: i32) -> u64 {
    100 + (pgid.unsigned_abs() as u64 * 37) % 300
}

/// The most one line reports: what a step may spend past a ceiling per line it
/// writes before its freeze takes (docs/workflow/budget.md).
pub(crate) const LINE_MAX: u64 = 399;

/// Every attempt of the scenario, by key.
#[derive(Default)]
pub(crate) struct Executors {
    pub attempts: BTreeMap<AttemptKey, Attempt>,
    next_pgid: i32,
    /// What `--mix executors` adds ([`crate::jobs`]); `None` in the other mixes.
    pub jobs: Option<crate::jobs::Jobs>,
    /// (run, step index) of attempts that got a stop they ignore, or a remote one whose
    /// stop is still on its way: the core does not freeze a step being stopped
    /// (`can_freeze`), so it writes on until its KILL, or until the stop lands.
    pub stopped_deaf: std::collections::BTreeSet<(String, usize)>,
    /// Each engine process's executors of a run it drives, as its driver holds them:
    /// by (run, engine, incarnation).
    dispatch: BTreeMap<(String, usize, u32), hands::Executors>,
}

impl Executors {
    /// The executors of a scenario of `config`: with `--mix executors`, what that mix
    /// adds ([`crate::jobs`]).
    pub(crate) fn new(config: &crate::Config) -> Executors {
        Executors {
            jobs: (config.mix == crate::Mix::Executors)
                .then(|| crate::jobs::Jobs::new(config.seed, config.bug)),
            ..Executors::default()
        }
    }

    /// The attempt `spec` starts on `engine`'s host, its fate drawn from `rng`.
    pub(crate) fn spawn(
        &mut self,
        rng: &mut SmallRng,
        (run, engine, in_pool, budgeted): (&str, usize, bool, bool),
        (spec, remote): (&SpawnSpec, Option<Slow>),
        now: i64,
    ) -> String {
        self.next_pgid += 1;
        let lasts = rng.random_range(500..8_000);
        let timeout = spec.timeout.map(|t| t.as_millis() as i64);
        let roll = rng.random_range(0..100);
        let (ends, fate) = match roll {
            0..60 => (
                Some((now + lasts, StepOutcome::Exited { exit_code: 0 })),
                "exits 0",
            ),
            60..80 => (
                Some((now + lasts, StepOutcome::Exited { exit_code: 1 })),
                "exits 1",
            ),
            80..90 => (timeout.map(|t| (now + t, StepOutcome::TimedOut)), "hangs"),
            _ => (
                Some((
                    now + lasts / 2,
                    StepOutcome::Lost {
                        reason: "its host was lost".into(),
                    },
                )),
                "is lost",
            ),
        };
        // A natural end past the timeout is the timeout's; a remote one that ends just
        // past it ([`Slow`]) races the timeout's stop on its way.
        let (ends, fate) = match (ends, timeout, remote) {
            (_, Some(t), Some(Slow(Some(past)))) => (
                Some((now + t + past, StepOutcome::Exited { exit_code: 0 })),
                "ends just past its timeout",
            ),
            (Some((at, _)), Some(t), _) if at > now + t => {
                (Some((now + t, StepOutcome::TimedOut)), fate)
            }
            (e, _, _) => (e, fate),
        };
        let remote = remote.is_some();
        let key = (run.to_string(), spec.step, spec.attempt);
        let pgid = 40_000 + self.next_pgid;
        let job_id = format!("job-{pgid}");
        // `--mix executors` only: drawn from its own stream.
        let mut extra = (self.jobs.as_mut()).map(|j| j.draw(&key, spec, (remote, now)));
        let (ends, fate) = match extra.as_mut() {
            Some(x) => crate::jobs::shape(x, (ends, fate), (now, &job_id)),
            None => (ends, fate),
        };
        // A job its scheduler forgot ended then, whatever its executor tells later.
        let forgot = extra.as_ref().and_then(crate::sched::forgot_at);
        let remote = remote.then(|| Remote {
            job_id,
            followers: vec![engine],
            end_told: false,
            natural: match (&ends, forgot) {
                (_, Some(_)) => None,
                (Some((at, StepOutcome::Exited { exit_code })), None) => Some((*at, *exit_code)),
                _ => None,
            },
            term_at: None,
            stopped_at: match (&ends, forgot) {
                (_, Some(at)) => Some(at),
                (
                    Some((
                        at,
                        StepOutcome::Lost { .. }
                        | StepOutcome::TimedOut
                        | StepOutcome::SpawnFailed { .. }
                        | StepOutcome::Unreached { .. },
                    )),
                    None,
                ) => Some(*at),
                _ => None,
            },
        });
        let on = match (&remote, &extra) {
            (_, Some(x)) if x.kind != crate::jobs::Kind::Local => {
                format!(" on {:?}{}", x.kind, x.says())
            }
            (_, Some(x)) => x.says(),
            (Some(_), None) => " on its host".to_string(),
            (None, None) => String::new(),
        };
        self.attempts.insert(
            key,
            Attempt {
                engine,
                in_pool,
                pgid,
                // A launch that never reached its host has no job to tell.
                reported: extra.as_ref().is_some_and(|x| x.unreached),
                ends,
                frozen: false,
                ended: false,
                tokens: budgeted.then_some(0),
                remote,
                extra,
            },
        );
        format!("{} attempt {} {fate}{on}", spec.step_id, spec.attempt)
    }

    /// `Effect::Kill`: a local process group ends at once, killed. A remote attempt's
    /// stop lands `delay` ms later (a stalled connection): if the job exits on its own
    /// first, its end is its own exit (docs/executors.md: "never `cancelled` or
    /// `timeout` for a step that ran to its end"), unless `faults.stop_is_the_end`.
    pub(crate) fn kill(
        &mut self,
        (run, step, attempt): (&str, usize, u32),
        (now, delay): (i64, i64),
        faults: Faults,
    ) {
        let Some(a) = self.attempts.get_mut(&(run.to_string(), step, attempt)) else {
            return;
        };
        if a.ended {
            return;
        }
        let (deaf, queued) =
            (a.extra.as_ref()).map_or((false, None), |x| (x.deaf, x.queue_until(now + delay)));
        if let Some(x) = a.extra.as_mut() {
            x.stop_sent = true;
        }
        if deaf {
            self.stopped_deaf.insert((run.to_string(), step));
        }
        // A job its scheduler forgot before the stop: baton's stop decides its record.
        if let (Some(x), Some(r)) = (a.extra.as_ref(), a.remote.as_ref())
            && !r.end_told
            && let Some(ends) = crate::sched::stop_after_forgotten(x, (&r.job_id, &a.ends, now))
        {
            a.ends = ends;
            return;
        }
        let Some(r) = a.remote.as_mut() else {
            if a.extra.is_some() {
                return crate::jobs::kill_local(a, now, faults.term_is_the_end);
            }
            a.ends = Some((now, StepOutcome::Killed));
            a.frozen = false;
            a.ended = true;
            return;
        };
        // A frozen job stays stopped (writing nothing) until its stop lands.
        if !r.alive(now) {
            return;
        }
        let lands =
            (self.jobs.as_ref()).map_or(now + delay, |j| j.stop_ends((deaf, queued), now + delay));
        r.stopped_at = Some(r.stopped_at.map_or(lands, |t| t.min(lands)));
        // Being stopped, it is not frozen (`can_freeze`): until the stop lands over a
        // stalled connection, it writes on.
        if lands > now {
            self.stopped_deaf.insert((run.to_string(), step));
        }
        if let Some(j) = &self.jobs {
            // The TERM reached its group when it landed, heard or not.
            let term = (now + delay).max(j.unanswered_until);
            r.term_at = Some(r.term_at.map_or(term, |t| t.min(term)));
        }
        let told_at_once = faults.stop_is_the_end || faults.term_is_the_end;
        a.ends = match (told_at_once, r.host_end(i64::MAX)) {
            (true, _) => Some((now, StepOutcome::Killed)),
            (false, Some(HostEnd::Ran(code))) => r
                .natural
                .map(|(t, _)| (t, StepOutcome::Exited { exit_code: code })),
            // A job that ignored its TERM and exited on its own before the KILL is
            // stopped, told when it exited.
            (false, _) if self.jobs.is_some() => {
                Some((r.end_at().unwrap_or(lands), StepOutcome::Killed))
            }
            (false, _) => Some((lands, StepOutcome::Killed)),
        };
    }

    pub(crate) fn freeze(&mut self, run: &str, step: usize, attempt: u32, frozen: bool) {
        if let Some(a) = self.attempts.get_mut(&(run.to_string(), step, attempt)) {
            a.frozen = frozen;
        }
    }

    /// What `run`'s attempts have to tell its engine now: starts, a usage line of each
    /// running attempt that writes them (none while frozen, unless `ignore_freeze`:
    /// [`crate::Bug::IgnoreFreeze`]), then ends that are due (a frozen attempt does not
    /// end). Told ends are forgotten.
    pub(crate) fn due(&mut self, (run, e): (&str, usize), now: i64, faults: Faults) -> Vec<Input> {
        let mut out = Vec::new();
        let mut done = Vec::new();
        let answers = self.jobs.as_ref().is_none_or(|j| j.answers(now));
        let outage = self.jobs.as_ref().and_then(|j| j.outage_since(now));
        for ((r, step, attempt), a) in self.attempts.range_mut(run_range(run)) {
            if r != run {
                break;
            }
            // A remote attempt is told to the engines that follow it, its end once.
            if let Some(remote) = &a.remote
                && (!remote.followers.contains(&e) || remote.end_told)
            {
                continue;
            }
            // A batch `status` that fails in the scheduler's outage, as its executor
            // reads it (an end only with `Bug::OutageIsGone`).
            if crate::sched::tell_outage(a, (*step, *attempt), (outage, now), &mut out) {
                continue;
            }
            // `--mix executors`: an end told while the process lives on, gone once it
            // exits; nothing comes from a host that does not answer.
            if let Some(x) = &a.extra
                && (x.told || (a.remote.is_some() && !answers && !x.unreached))
            {
                if !a.lingers(now) && x.told {
                    done.push((r.clone(), *step, *attempt));
                }
                continue;
            }
            out.extend(a.start_to_tell((*step, *attempt), faults));
            if a.remote.is_some()
                && !faults.forget_job
                && let Some(state) = crate::jobs::queue_state(a, (*step, *attempt), now)
            {
                out.push(state);
            }
            // A requeue's states; one read as the job's end is told as its end.
            if a.remote.is_some()
                && let Some(told) = crate::sched::requeue_told(a, (*step, *attempt), now)
            {
                let end = matches!(told, Input::StepExited(_));
                out.push(told);
                if end {
                    continue;
                }
            }
            if let Some(t) = a.tokens.as_mut()
                && !a.ended
                && (!a.frozen || faults.ignore_freeze)
                && !a
                    .extra
                    .as_ref()
                    .is_some_and(|x| x.queued_at(now) || x.unreached)
            {
                *t += line_tokens(a.pgid);
                out.push(Input::Usage {
                    step: *step,
                    attempt: *attempt,
                    usage: Usage {
                        tokens: *t,
                        ..Usage::default()
                    },
                });
            }
            // A stopped remote job ends frozen or not.
            let stopping = a.remote.as_ref().is_some_and(|r| r.stopped_at.is_some());
            match &a.ends {
                Some((at, outcome)) if *at <= now && (!a.frozen || stopping) => {
                    a.ended = true;
                    out.push(Input::StepExited(StepExit {
                        step: *step,
                        attempt: *attempt,
                        outcome: outcome.clone(),
                        duration_ms: 10,
                        outputs: (self.jobs.as_ref()).map_or_else(Vec::new, |j| {
                            j.told_outputs(
                                &(r.clone(), *step, *attempt),
                                outcome,
                                faults.stale_outputs,
                            )
                        }),
                        usage: Usage {
                            tokens: a.tokens.unwrap_or(0),
                            ..Usage::default()
                        },
                        stderr_tail: String::new(),
                    }));
                    let lingers = a.lingers(now);
                    match a.remote.as_mut() {
                        // Its host keeps its end: an engine that re-attaches reads it.
                        Some(remote) => remote.end_told = true,
                        // Its process lives on past the end told (`Bug::TermIsTheEnd`).
                        None if lingers => {
                            if let Some(x) = a.extra.as_mut() {
                                x.told = true;
                            }
                        }
                        None => done.push((r.clone(), *step, *attempt)),
                    }
                }
                _ => {}
            }
        }
        for k in done {
            self.attempts.remove(&k);
        }
        out
    }

    /// Everything running on `engine`'s host is lost with it (a crash): gone at once,
    /// never told to anyone. Returns how many.
    /// A remote attempt lives on its own host: only its follower is gone.
    pub(crate) fn lose_host_of(&mut self, engine: usize) -> usize {
        let before = self.attempts.len();
        self.attempts
            .retain(|_, a| a.engine != engine || a.remote.is_some());
        for a in self.attempts.values_mut() {
            if let Some(r) = a.remote.as_mut() {
                r.followers.retain(|f| *f != engine);
            }
        }
        before - self.attempts.len()
    }

    /// A takeover's `stop_leftovers`, as the session decides it
    /// (`session::leftovers_kept`): when a dead engine drove `ready`'s run last, its
    /// processes on the engines' hosts die but for the groups the new engine adopts;
    /// its remote jobs run on (the takeover re-attaches to those on record).
    pub(crate) fn clear_leftovers(&mut self, ready: &baton_session::Ready) {
        if let Some(keep) = baton_session::leftovers_kept(ready) {
            let run = ready.run_id.as_str();
            self.attempts
                .retain(|(r, _, _), a| r != run || a.remote.is_some() || keep.contains(&a.pgid));
        }
    }

    /// `run`'s processes on the engines' hosts die; its remote jobs run on.
    fn stop_leftovers(&mut self, run: &str) {
        self.attempts
            .retain(|(r, _, _), a| r != run || a.remote.is_some());
    }

    /// Engine `e` no longer holds `run` (`Driver::abandon`): it stops what it started
    /// there; a remote job it follows gets its stop over the connection.
    pub(crate) fn abandon(&mut self, (run, e): (&str, usize), (now, delay): (i64, i64)) {
        self.stop_leftovers(run);
        let followed: Vec<AttemptKey> = self
            .attempts
            .iter()
            .filter(|((r, _, _), a)| {
                r == run && a.remote.as_ref().is_some_and(|x| x.followers.contains(&e))
            })
            .map(|(k, _)| k.clone())
            .collect();
        for (r, step, attempt) in followed {
            self.kill((&r, step, attempt), (now, delay), Faults::default());
            if let Some(x) = self
                .attempts
                .get_mut(&(r, step, attempt))
                .and_then(|a| a.remote.as_mut())
            {
                x.followers.retain(|f| *f != e);
            }
        }
    }

    /// The attempts whose process runs now in the store-wide pool. A stalled engine's
    /// host is paused with it (`Mix::Stalls`): its attempts do not run meanwhile. (On
    /// one host a stopped engine's steps run on, but `left_running` sees them there
    /// and they keep their slots; the simulator's engines are on hosts of their own,
    /// where only a heartbeat tells.)
    pub(crate) fn pool_running(
        &self,
        paused: impl Fn(usize) -> bool,
        now: i64,
    ) -> Vec<&AttemptKey> {
        self.attempts
            .iter()
            .filter(|(_, a)| a.in_pool && a.runs(now, &paused))
            .map(|(k, _)| k)
            .collect()
    }

    /// The attempts whose process lives now, by key (a stalled engine's host is
    /// paused: its processes do not run).
    pub(crate) fn running(
        &self,
        paused: impl Fn(usize) -> bool,
        now: i64,
    ) -> impl Iterator<Item = &AttemptKey> {
        self.attempts
            .iter()
            .filter(move |(_, a)| a.runs(now, &paused))
            .map(|(k, _)| k)
    }
}

impl Executors {
    /// `Effect::Reattach`: engine `e` follows the remote job again (after a crash, a
    /// detach, a takeover); an end it had is told again. `false`: no such job.
    pub(crate) fn reattach(
        &mut self,
        (run, step, attempt): (&str, usize, u32),
        (job_id, e): (&str, usize),
        frozen: bool,
    ) -> bool {
        let Some(a) = self.attempts.get_mut(&(run.to_string(), step, attempt)) else {
            return false;
        };
        let Some(r) = a.remote.as_mut().filter(|r| r.job_id == job_id) else {
            return false;
        };
        if !r.followers.contains(&e) {
            r.followers.push(e);
        }
        r.end_told = false;
        a.reported = true;
        a.frozen = frozen;
        true
    }

    /// `Effect::CancelJob`: a job no attempt waits for gets a stop.
    pub(crate) fn cancel_job(&mut self, job_id: &str, (now, delay): (i64, i64)) {
        let key = self
            .attempts
            .iter()
            .find(|(_, a)| a.remote.as_ref().is_some_and(|r| r.job_id == job_id))
            .map(|(k, _)| k.clone());
        if let Some((run, step, attempt)) = key {
            self.kill((&run, step, attempt), (now, delay), Faults::default());
        }
    }

    /// What `run` has running on the hosts now, as a takeover's `left_behind` asks
    /// (step index, attempt, job id); nothing with `faults.forget_job`.
    pub(crate) fn left_behind(
        &self,
        run: &str,
        now: i64,
        faults: Faults,
    ) -> Vec<(usize, u32, String)> {
        if faults.forget_job {
            return Vec::new();
        }
        self.attempts
            .range(run_range(run))
            .take_while(|((r, _, _), _)| r == run)
            .filter_map(|((_, step, attempt), a)| {
                let r = a.remote.as_ref().filter(|r| r.alive(now))?;
                Some((*step, *attempt, r.job_id.clone()))
            })
            .collect()
    }
}

impl Attempt {
    /// Its start, the first time it is asked: its process group, or its job's id (none
    /// with `faults.forget_job`).
    fn start_to_tell(&mut self, (step, attempt): (usize, u32), faults: Faults) -> Option<Input> {
        if self.reported {
            return None;
        }
        self.reported = true;
        match &self.remote {
            Some(_) if faults.forget_job => None,
            Some(remote) => Some(Input::JobStarted {
                step,
                attempt,
                executor: crate::remote::EXECUTOR.into(),
                job_id: remote.job_id.clone(),
            }),
            None => Some(Input::ProcessStarted {
                step,
                attempt,
                pgid: self.pgid,
                output: None,
            }),
        }
    }

    /// Its process runs at `now`: a remote job until it ends on its host; a local one
    /// until its end, unless its engine's host is paused.
    fn runs(&self, now: i64, paused: &impl Fn(usize) -> bool) -> bool {
        match &self.remote {
            Some(r) => r.alive(now) && !crate::sched::in_gap(self, now),
            None => (!self.ended || self.lingers(now)) && !paused(self.engine),
        }
    }

    /// Its process lives at `now`, paused or not: a remote job until it ends on its
    /// host, a local one until its end is told or (its end told early) it exits.
    pub(crate) fn lives(&self, now: i64) -> bool {
        match &self.remote {
            Some(r) => r.alive(now) && !crate::sched::in_gap(self, now),
            None => !self.ended || self.lingers(now),
        }
    }

    /// Its end was told while its process lives on until a later time (`--mix
    /// executors`, [`crate::Bug::TermIsTheEnd`]).
    pub(crate) fn lingers(&self, now: i64) -> bool {
        (self.extra.as_ref())
            .and_then(|x| x.lives_until)
            .is_some_and(|t| t > now)
    }
}

fn run_range(run: &str) -> std::ops::RangeFrom<AttemptKey> {
    (run.to_string(), 0, 0)..
}

/// Engine `e`'s hands on `run`'s attempts: what the engine's own acting
/// (`baton_engine::wake::act`) reaches in this world, the simulated hosts.
pub(crate) struct Hands<'w> {
    pub world: &'w mut crate::world::World,
    pub e: usize,
    pub run: &'w str,
}

impl Hands<'_> {
    /// The engine's run and its executors as its driver holds them (`None`: it no
    /// longer drives the run).
    fn executors(&mut self) -> Option<(&baton_core::Core, &mut hands::Executors)> {
        let w = &mut *self.world;
        let engine = &w.engines[self.e];
        let core = &engine.runs.get(self.run)?.core;
        let key = (self.run.to_string(), self.e, engine.incarnation);
        let executors = (w.executors.dispatch.entry(key))
            .or_insert_with(|| hands::Executors::new(w.backends.for_plan(core.plan(), self.run)));
        Some((core, executors))
    }

    /// The engine's own dispatch of a start or a re-attach (`hands::spawning`, the
    /// driver's) on its run's executors (`World::backends`, as `Backends::for_plan`
    /// makes them): whether the executor it chose runs the attempt as a job on a host
    /// of its own ([`crate::remote::job_on`]).
    fn dispatch(
        &mut self,
        spec: SpawnSpec,
        compensation: bool,
        reattach: Option<baton_engine::wake::Reattach>,
    ) -> Result<bool, Stop> {
        let (run, mix) = (self.run, self.world.config.mix);
        let (core, executors) = self.executors().ok_or(Stop::Gone)?;
        // The simulated hosts write no logs nor files.
        let setting = || hands::Setting {
            run_id: run.to_string(),
            log_dir: std::path::PathBuf::new(),
            masker: baton_model::mask::Masker::new(core.masked_values().to_vec()),
            files_dir: None,
            start_here: true,
        };
        Ok(
            match hands::spawning(executors, core, (spec, compensation, reattach), setting) {
                Spawning::Shell(shell) => {
                    crate::remote::job_on(core.plan(), shell.backend.as_ref(), mix)
                }
                Spawning::Builtin { .. } => false,
            },
        )
    }
}

impl baton_engine::wake::Hands for Hands<'_> {
    type Error = Stop;

    fn store(&mut self) -> &mut baton_store::Store {
        &mut self.world.engines[self.e].store
    }

    fn since_fenced(&mut self) -> u64 {
        let driven = self.world.engines[self.e].runs.get(self.run);
        let fenced_at = driven.map_or(self.world.now, |d| d.fenced_at);
        u64::try_from(self.world.now - fenced_at).unwrap_or(0)
    }

    fn check_fence(&mut self) -> Result<(), Stop> {
        let now = self.world.now;
        let engine = &mut self.world.engines[self.e];
        match engine.store.check_fence(self.run) {
            Ok(()) => {
                engine.fenced(self.run, now);
                Ok(())
            }
            Err(err) if err.run_lost() => Err(Stop::Lost(err)),
            Err(err) => Err(err.into()),
        }
    }

    fn spawn(&mut self, spec: SpawnSpec, compensation: bool) -> Result<(), Stop> {
        let remote = self.dispatch(spec.clone(), compensation, None)?;
        let (now, run) = (self.world.now, self.run);
        let w = &mut *self.world;
        let driven = w.engines[self.e].runs.get(run);
        let plan = driven.ok_or(Stop::Gone)?.core.plan();
        let in_pool = plan.steps[spec.step]
            .pool
            .is_some_and(|p| plan.pools[p].scope == baton_workflow::PoolScope::Store);
        let budgeted = plan.budget.is_some();
        let remote = remote.then(|| w.slow());
        let said = w.executors.spawn(
            &mut w.rng,
            (run, self.e, in_pool, budgeted),
            (&spec, remote),
            now,
        );
        w.history.push(format!("  {run}: {said}"));
        Ok(())
    }

    fn reattach(&mut self, spec: SpawnSpec, job: baton_engine::wake::Reattach) -> Result<(), Stop> {
        let (step, attempt, step_id) = (spec.step, spec.attempt, spec.step_id.clone());
        let (job_id, frozen) = (job.job_id.clone(), job.frozen);
        // A job only an executor that runs jobs on a host has.
        let on_host = self.dispatch(spec, false, Some(job))?;
        let (w, run, e) = (&mut *self.world, self.run, self.e);
        let key = (run, step, attempt);
        let found = on_host && w.executors.reattach(key, (&job_id, e), frozen);
        w.history.push(format!(
            "  {run}: engine {e} re-attaches to {step_id} attempt {attempt} ({job_id}{})",
            if found { "" } else { ", not on its host" }
        ));
        Ok(())
    }

    fn kill(&mut self, step: usize, attempt: u32) -> Result<(), Stop> {
        let (now, run) = (self.world.now, self.run);
        let w = &mut *self.world;
        let delay = w.stop_delay(w.is_remote(run, step));
        let faults = w.faults();
        w.executors.kill((run, step, attempt), (now, delay), faults);
        // The bug put back: the stop's end is handled at once, as the engine that
        // takes its TERM for the end would.
        if faults.term_is_the_end {
            w.wake_run(self.e, run, None)?;
        }
        Ok(())
    }

    fn cancel_job(&mut self, executor: String, job_id: String) {
        // As the driver's: a job on an executor the run does not have goes unasked.
        let has = self
            .executors()
            .and_then(|(_, x)| x.named(&executor))
            .is_some();
        if !has {
            self.world.history.push(format!(
                "  {}: job {job_id} not cancelled: no executor {executor}",
                self.run
            ));
            return;
        }
        let now = self.world.now;
        let w = &mut *self.world;
        let delay = w.stop_delay(true);
        w.executors.cancel_job(&job_id, (now, delay));
        w.history
            .push(format!("  {}: job {job_id} cancelled", self.run));
    }

    fn hold(&mut self, step: usize, attempt: u32, frozen: bool) {
        (self.world.executors).freeze(self.run, step, attempt, frozen);
    }

    /// Not simulated: the scenario's workflows have no services.
    fn probe(&mut self, _req: baton_core::ProbeRequest) {}

    /// Not simulated here: artifacts are `--mix hands`' (`hands/artifacts.rs`).
    fn collect(&mut self, _req: baton_core::CollectRequest) {}

    fn slot_asks(&mut self) -> Option<&mut Vec<baton_core::SlotRequest>> {
        let driven = self.world.engines[self.e].runs.get_mut(self.run)?;
        Some(&mut driven.slot_asks)
    }

    /// A simulated engine has no console in its process.
    fn reply(&mut self, _id: i64, _outcome: baton_model::CommandOutcome) {}
}

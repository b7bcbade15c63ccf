//! Simulated executors: an attempt the core spawned gets a fate from the seed (it exits
//! 0 or 1 after a while, hangs until its timeout or a kill, or is lost with its host).
//! Nothing here starts a process or sends a signal: pgids are made up and never used.
use baton_core::{Input, SpawnSpec, StepExit};
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
}

impl Executors {
    /// The attempt `spec` starts on `engine`'s host, its fate drawn from `rng`.
    pub(crate) fn spawn(
        &mut self,
        rng: &mut SmallRng,
        (run, engine, in_pool, budgeted): (&str, usize, bool, bool),
        spec: &SpawnSpec,
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
        // A natural end past the timeout is the timeout's.
        let ends = match (ends, timeout) {
            (Some((at, _)), Some(t)) if at > now + t => Some((now + t, StepOutcome::TimedOut)),
            (e, _) => e,
        };
        self.attempts.insert(
            (run.to_string(), spec.step, spec.attempt),
            Attempt {
                engine,
                in_pool,
                pgid: 40_000 + self.next_pgid,
                reported: false,
                ends,
                frozen: false,
                ended: false,
                tokens: budgeted.then_some(0),
            },
        );
        format!("{} attempt {} {fate}", spec.step_id, spec.attempt)
    }

    /// `Effect::Kill`: the process group ends at once, killed.
    pub(crate) fn kill(&mut self, run: &str, step: usize, attempt: u32, now: i64) {
        if let Some(a) = self.attempts.get_mut(&(run.to_string(), step, attempt))
            && !a.ended
        {
            a.ends = Some((now, StepOutcome::Killed));
            a.frozen = false;
            a.ended = true;
        }
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
    pub(crate) fn due(&mut self, run: &str, now: i64, ignore_freeze: bool) -> Vec<Input> {
        let mut out = Vec::new();
        let mut done = Vec::new();
        for ((r, step, attempt), a) in self.attempts.range_mut(run_range(run)) {
            if r != run {
                break;
            }
            if !a.reported {
                a.reported = true;
                out.push(Input::ProcessStarted {
                    step: *step,
                    attempt: *attempt,
                    pgid: a.pgid,
                    output: None,
                });
            }
            if let Some(t) = a.tokens.as_mut()
                && !a.ended
                && (!a.frozen || ignore_freeze)
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
            match &a.ends {
                Some((at, outcome)) if *at <= now && !a.frozen => {
                    a.ended = true;
                    out.push(Input::StepExited(StepExit {
                        step: *step,
                        attempt: *attempt,
                        outcome: outcome.clone(),
                        duration_ms: 10,
                        outputs: Vec::new(),
                        usage: Usage {
                            tokens: a.tokens.unwrap_or(0),
                            ..Usage::default()
                        },
                        stderr_tail: String::new(),
                    }));
                    done.push((r.clone(), *step, *attempt));
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
    pub(crate) fn lose_host_of(&mut self, engine: usize) -> usize {
        let before = self.attempts.len();
        self.attempts.retain(|_, a| a.engine != engine);
        before - self.attempts.len()
    }

    /// `run`'s attempts stop being told to `engine` (it lost the run): they die.
    pub(crate) fn drop_run(&mut self, run: &str) {
        self.attempts.retain(|(r, _, _), _| r != run);
    }

    /// The attempts whose process runs now in the store-wide pool. A stalled engine's
    /// host is paused with it (`Mix::Stalls`): its attempts do not run meanwhile. (On
    /// one host a stopped engine's steps run on, but `left_running` sees them there
    /// and they keep their slots; the simulator's engines are on hosts of their own,
    /// where only a heartbeat tells.)
    pub(crate) fn pool_running(&self, paused: impl Fn(usize) -> bool) -> Vec<&AttemptKey> {
        self.attempts
            .iter()
            .filter(|(_, a)| a.in_pool && !a.ended && !paused(a.engine))
            .map(|(k, _)| k)
            .collect()
    }
}

fn run_range(run: &str) -> std::ops::RangeFrom<AttemptKey> {
    (run.to_string(), 0, 0)..
}

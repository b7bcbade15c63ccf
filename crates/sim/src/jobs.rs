//! What `--mix executors` adds to the simulated executors, drawn from the seed's eleventh
//! stream (the other mixes draw nothing from it, so their histories are unchanged):
//! attempts that ignore their stop signal and end only on the escalation the real
//! executor makes (local and SSH: SIGTERM, SIGKILL after the grace; Slurm: `scancel
//! --signal=TERM`, a plain `scancel` after the grace; a batch scheduler's `cancel`
//! ends a job whatever it does), outputs each attempt writes to `$BATON_OUTPUT` and the
//! downstream step reads, a scheduler's queue states (a job pending in the queue, held
//! there, then running), launches that never reached their host, and a host or cluster
//! that stops answering for a while. The promises these add are checked here too.
use crate::executor::{Attempt, AttemptKey};
use crate::world::World;
use baton_core::Input;
use baton_model::{EventKind, StepOutcome};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;

/// SIGTERM → SIGKILL grace of a stopped attempt (the engine's `KILL_GRACE`, 3 s), and
/// the time between a Slurm job's soft `scancel` and its hard one.
pub(crate) const GRACE: i64 = 3_000;
/// The output key every attempt writes, and the one half of them add.
pub(crate) const VERSION: &str = "version";
const NOTE: &str = "note";
/// The env a consuming step reads its upstream's output into: `UPSTREAM_<STEP>`.
pub(crate) const UPSTREAM: &str = "UPSTREAM_";

/// Where the remote steps run in `--mix executors` (by the seed: one in four each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Kind {
    #[default]
    Local,
    Ssh,
    Slurm,
    Batch,
}

impl Kind {
    /// One kind in four by the seed's low bits, mixed with the next ones: the CI budget
    /// gives this mix the seeds of one residue mod 16 (all of one residue mod 4), which
    /// by `seed % 4` alone were all SSH.
    pub(crate) fn of(seed: u64) -> Kind {
        match (seed ^ (seed >> 4)) % 4 {
            0 => Kind::Local,
            1 => Kind::Ssh,
            2 => Kind::Slurm,
            _ => Kind::Batch,
        }
    }

    /// A scheduler: its jobs wait in a queue and have states.
    fn queues(self) -> bool {
        matches!(self, Kind::Slurm | Kind::Batch)
    }
}

/// What an attempt of `--mix executors` does besides its fate.
#[derive(Debug, Clone, Default)]
pub(crate) struct Extra {
    /// Where it runs: [`Kind::Local`] for a step on this machine.
    pub kind: Kind,
    /// It ignores its stop signal (SIGTERM, `scancel --signal=TERM`, a CONT after a
    /// freeze): it ends only on the escalation.
    pub deaf: bool,
    /// It waits in the scheduler's queue until then, its status saying this reason.
    pub queued: Option<(i64, &'static str)>,
    /// The queue states told: 1 pending, 2 running.
    pub states_told: u8,
    /// Its launch never reached its host: no job, a spawn failure told.
    pub unreached: bool,
    /// Its process lives on until then although its end was told
    /// ([`crate::Bug::TermIsTheEnd`]).
    pub lives_until: Option<i64>,
    /// Its end was told while its process lives on.
    pub told: bool,
    /// What its scheduler will do to it on its own ([`crate::sched`]), until its run
    /// is known; then what it did.
    pub act: Option<crate::sched::Act>,
    pub acted: Option<crate::sched::Acted>,
    /// baton sent it a stop (a kill, a cancel, its timeout).
    pub stop_sent: bool,
    /// The bug put back, for the executor's reading of its scheduler.
    pub bug: Option<crate::Bug>,
    /// The scheduler's outage (its start) the batch executor's reading below is of.
    pub outage: Option<i64>,
    /// What the batch executor made of its `status` answers in that outage.
    pub follow: baton_exec::scheduler::BatchFollow,
}

/// A consumer's read of its upstream's output, checked once the record is read.
#[derive(Debug, Clone)]
pub(crate) struct Read {
    pub run: String,
    pub consumer: String,
    pub attempt: u32,
    pub upstream: String,
    pub value: String,
}

/// The executors mix's state: its stream, the kind of its remote steps, the host's
/// outages, what each attempt wrote (kept after the attempt is told), and the reads
/// not checked yet.
pub(crate) struct Jobs {
    rng: SmallRng,
    pub kind: Kind,
    /// The remote host (or cluster) does not answer before then, since then.
    pub unanswered_until: i64,
    pub unanswered_from: i64,
    pub wrote: BTreeMap<AttemptKey, BTreeMap<String, String>>,
    pub reads: Vec<Read>,
    /// The scheduler's own acts on its jobs (the thirteenth stream).
    acts: crate::sched::Acts,
    bug: Option<crate::Bug>,
}

impl Jobs {
    pub(crate) fn new(seed: u64, bug: Option<crate::Bug>) -> Jobs {
        Jobs {
            rng: SmallRng::seed_from_u64(seed ^ 0xe8ec_0702_0000_0000),
            kind: Kind::of(seed),
            unanswered_until: 0,
            unanswered_from: 0,
            wrote: BTreeMap::new(),
            reads: Vec::new(),
            acts: crate::sched::Acts::new(seed),
            bug,
        }
    }

    /// Whether the remote host answers at `now`.
    pub(crate) fn answers(&self, now: i64) -> bool {
        self.kind == Kind::Local || now >= self.unanswered_until
    }

    /// Since when the remote host has not answered, if it does not at `now`.
    pub(crate) fn outage_since(&self, now: i64) -> Option<i64> {
        (!self.answers(now)).then_some(self.unanswered_from)
    }

    /// What the attempt `key` of `spec` does besides its fate (`job`: it runs on the
    /// remote executor).
    pub(crate) fn draw(
        &mut self,
        key: &AttemptKey,
        spec: &baton_core::SpawnSpec,
        (job, now): (bool, i64),
    ) -> Extra {
        let deaf = self.rng.random_range(0..100) < 25;
        let queued = (job && self.kind.queues() && self.rng.random_range(0..100) < 50).then(|| {
            let reason = match self.rng.random_range(0..3) {
                0 => "Priority",
                1 => "Resources",
                _ => "JobHeldUser",
            };
            (now + self.rng.random_range(500..6_000), reason)
        });
        let unreached = job && (!self.answers(now) || self.rng.random_range(0..100) < 4);
        let tag = format!("{}.{}.{}", key.0, spec.step_id, key.2);
        let mut writes = BTreeMap::from([(VERSION.to_string(), tag.clone())]);
        if self.rng.random_range(0..2) == 0 {
            writes.insert(NOTE.to_string(), tag);
        }
        self.wrote.insert(key.clone(), writes);
        if let Some((name, value)) = spec.env.iter().find(|(k, _)| k.starts_with(UPSTREAM)) {
            self.reads.push(Read {
                run: key.0.clone(),
                consumer: spec.step_id.clone(),
                attempt: key.2,
                upstream: name[UPSTREAM.len()..].to_lowercase(),
                value: value.clone(),
            });
        }
        let act = (job && self.kind.queues() && !unreached)
            .then(|| self.acts.draw())
            .flatten();
        Extra {
            kind: if job { self.kind } else { Kind::Local },
            deaf,
            queued,
            unreached,
            act,
            bug: self.bug,
            ..Extra::default()
        }
    }

    /// With `--mix executors`: now and then (3 % of actions) the remote host or
    /// cluster stops answering for 5 to 40 s.
    pub(crate) fn outage(&mut self, now: i64) -> Option<i64> {
        if self.kind == Kind::Local || !self.answers(now) || self.rng.random_range(0..100) >= 3 {
            return None;
        }
        let ms = self.rng.random_range(5_000..40_000);
        self.unanswered_from = now;
        self.unanswered_until = now + ms;
        Some(ms)
    }

    /// When a stop sent at `sent` that reaches the job `lands` ends it: on landing, or
    /// (it ignores its TERM) on the escalation after the grace; a batch scheduler's
    /// `cancel` ends it whatever it does. Nothing lands while the host does not answer.
    /// A job still in the queue when the stop lands leaves it at once.
    pub(crate) fn stop_ends(&self, (deaf, queued): (bool, Option<(i64, &str)>), lands: i64) -> i64 {
        let lands = lands.max(self.unanswered_until);
        let in_queue = queued.is_some_and(|(t, _)| lands < t);
        match (deaf && !in_queue, self.kind) {
            (true, Kind::Local | Kind::Ssh | Kind::Slurm) => lands + GRACE,
            _ => lands,
        }
    }

    /// The outputs an attempt's end tells: what it wrote if it ran to its exit; with
    /// `stale` ([`crate::Bug::StaleOutputs`]), over what the step's earlier attempts
    /// wrote (one `$BATON_OUTPUT` per step, not per attempt).
    pub(crate) fn told_outputs(
        &self,
        key: &AttemptKey,
        outcome: &StepOutcome,
        stale: bool,
    ) -> Vec<(String, String)> {
        if !matches!(outcome, StepOutcome::Exited { .. }) {
            return Vec::new();
        }
        let mut out = BTreeMap::new();
        if stale {
            let (run, step, attempt) = key;
            for ((r, s, a), w) in &self.wrote {
                if r == run && s == step && a < attempt {
                    out.extend(w.clone());
                }
            }
        }
        out.extend(self.wrote.get(key).cloned().unwrap_or_default());
        out.into_iter().collect()
    }
}

impl Extra {
    /// It waits in the scheduler's queue at `now` (first, or requeued).
    pub(crate) fn queued_at(&self, now: i64) -> bool {
        self.queue_until(now).is_some()
    }

    /// Until when it waits in the queue at `now`, and why, if it does.
    pub(crate) fn queue_until(&self, now: i64) -> Option<(i64, &'static str)> {
        match (self.queued, crate::sched::requeue_gap(self)) {
            (Some((t, reason)), _) if now < t => Some((t, reason)),
            (_, Some((at, back))) if at <= now && now < back => Some((back, "requeued")),
            _ => None,
        }
    }
}

/// An attempt's fate as `extra` changes it: a launch that never reached its host
/// fails to start at once; a job that waits in the queue starts (and ends) that much
/// later; a step that ignores its TERM outlives its timeout by the grace (a batch
/// scheduler's `cancel` ends it at once).
pub(crate) fn shape(
    x: &mut Extra,
    (ends, fate): (Option<(i64, StepOutcome)>, &'static str),
    (now, job_id): (i64, &str),
) -> (Option<(i64, StepOutcome)>, &'static str) {
    if x.unreached {
        let message = "the launch never reached its host".to_string();
        return (
            Some((now, StepOutcome::SpawnFailed { message })),
            "never reaches its host",
        );
    }
    let wait = x.queued.map_or(0, |(t, _)| t - now);
    let grace = match x.deaf && x.kind != Kind::Batch {
        true => GRACE,
        false => 0,
    };
    let ends = ends.map(|(at, outcome)| match outcome {
        StepOutcome::TimedOut => (at + wait + grace, outcome),
        other => (at + wait, other),
    });
    // What its scheduler does to it on its own, once its run is known.
    let ends = match x.act {
        Some(_) => crate::sched::apply(x, ends, (now + wait, job_id)),
        None => ends,
    };
    (ends, fate)
}

impl Extra {
    /// What the history says of it besides its fate.
    pub(crate) fn says(&self) -> String {
        let mut s = String::new();
        if let Some((t, reason)) = self.queued {
            s.push_str(&format!(
                ", queued until t+{} ({reason})",
                t - crate::world::T0
            ));
        }
        if self.deaf && !self.unreached {
            s.push_str(", ignores its stop signal");
        }
        s.push_str(&crate::sched::says(self));
        s
    }
}

/// `Effect::Kill` of a local attempt of `--mix executors`: TERM (and CONT) now; one
/// that ignores it ends on the KILL after the grace (or on its own exit before), the
/// record told only then, unless `early` ([`crate::Bug::TermIsTheEnd`]): its end told
/// now while its process lives on.
pub(crate) fn kill_local(a: &mut Attempt, now: i64, early: bool) {
    let deaf = a.extra.as_ref().is_some_and(|x| x.deaf);
    let exits = match deaf {
        true => (a.ends.as_ref()).map_or(now + GRACE, |(t, _)| (*t).min(now + GRACE)),
        false => now,
    };
    a.frozen = false;
    if deaf && !early {
        a.ends = Some((exits, StepOutcome::Killed));
        return;
    }
    a.ends = Some((now, StepOutcome::Killed));
    a.ended = true;
    if let Some(x) = a.extra.as_mut() {
        x.lives_until = Some(exits);
    }
}

/// docs/workflow/budget.md: "a job of a generic batch system (`type = "batch"`: its
/// scheduler's suspend is not one baton knows) cannot be frozen: the gate opens and it
/// runs on": the steps there, whose spending past the ceiling has no bound.
pub(crate) fn runs_on_past_the_gate(
    plan: &baton_workflow::Plan,
) -> std::collections::BTreeSet<String> {
    (plan.steps.iter())
        .filter(|s| {
            s.executor
                .and_then(|x| plan.executors.get(x))
                .is_some_and(|x| matches!(x.kind, baton_workflow::ExecutorKind::Batch(_)))
        })
        .map(|s| s.id.clone())
        .collect()
}

/// The queue state to tell of a job attempt now, if one is due: `PENDING` (its
/// reason) while it waits in the queue, then `RUNNING` once.
pub(crate) fn queue_state(
    a: &mut Attempt,
    (step, attempt): (usize, u32),
    now: i64,
) -> Option<Input> {
    let x = a.extra.as_mut()?;
    let (until, reason) = x.queued?;
    let (state, reason, told) = match (now < until, x.states_told) {
        (true, 0) => ("PENDING", Some(reason.to_string()), 1),
        (false, 0 | 1) => ("RUNNING", None, 2),
        _ => return None,
    };
    x.states_told = told;
    Some(Input::JobState {
        step,
        attempt,
        state: state.to_string(),
        reason,
    })
}

/// One step's outputs: key → value.
type Values = BTreeMap<String, String>;

/// What a run's events tell the outputs' checks: each attempt's recorded outputs, and
/// what a reader of each step reads now (the step's last `step_finished`, a fork's
/// `step_reused`, outputs kept after a crash, an operator's `mark` over them).
#[derive(Debug, Default)]
pub(crate) struct Outputs {
    pub by_attempt: BTreeMap<(String, u32), BTreeMap<String, String>>,
    pub on_record: BTreeMap<String, BTreeMap<String, String>>,
    /// What each step's record held from each event on: (seq, outputs).
    held: BTreeMap<String, Vec<(u64, Values)>>,
    /// When each attempt started: the seq of its `running` transition.
    started: BTreeMap<(String, u32), u64>,
}

impl Outputs {
    /// What event `seq` (of `kind`) changes.
    pub(crate) fn learn(&mut self, seq: u64, kind: &EventKind) {
        if let EventKind::StepStateChanged {
            step,
            state: baton_model::StepState::Running,
            attempt,
            ..
        } = kind
        {
            self.started.insert((step.clone(), *attempt), seq);
        }
        let Some(step) = self.learn_record(kind) else {
            return;
        };
        let now = self.on_record.get(&step).cloned().unwrap_or_default();
        self.held.entry(step).or_default().push((seq, now));
    }

    /// What step `step` (a consumer's upstream) had on record when attempt `attempt` of
    /// `consumer` started (`None`: its start is not read yet); the outputs then, if any.
    pub(crate) fn when_started(
        &self,
        (consumer, attempt): (&str, u32),
        step: &str,
    ) -> Option<Option<&BTreeMap<String, String>>> {
        let start = *self.started.get(&(consumer.to_string(), attempt))?;
        Some(
            (self.held.get(step))
                .and_then(|h| h.iter().rev().find(|(seq, _)| *seq < start))
                .map(|(_, o)| o),
        )
    }

    /// The record's outputs as `kind` changes them; the step changed, if any.
    fn learn_record(&mut self, kind: &EventKind) -> Option<String> {
        match kind {
            EventKind::StepFinished {
                step,
                attempt,
                outputs,
                ..
            } => {
                self.by_attempt
                    .insert((step.clone(), *attempt), outputs.clone());
                self.on_record.insert(step.clone(), outputs.clone());
            }
            EventKind::StepReused { step, outputs, .. }
            | EventKind::StepOutputsKept { step, outputs, .. } => {
                self.on_record.insert(step.clone(), outputs.clone());
            }
            EventKind::StepMarked { step, outputs, .. } => {
                let o = self.on_record.entry(step.clone()).or_default();
                o.extend(outputs.clone());
            }
            _ => return None,
        }
        match kind {
            EventKind::StepFinished { step, .. }
            | EventKind::StepReused { step, .. }
            | EventKind::StepOutputsKept { step, .. }
            | EventKind::StepMarked { step, .. } => Some(step.clone()),
            _ => None,
        }
    }
}

impl World {
    /// docs/executors.md: "the step ends when its own shell exits" (a stop is TERM,
    /// then KILL after the grace): no attempt is recorded ended while its process
    /// still lives on its host (a stalled engine's paused processes count: they live).
    pub(crate) fn a_step_ends_when_its_process_exits(&self) -> Option<String> {
        for ((run, step, attempt), a) in &self.executors.attempts {
            if !a.lives(self.now) {
                continue;
            }
            let Some(t) = self.checker.track(run) else {
                continue;
            };
            let Some(id) = self.step_id(run, *step) else {
                continue;
            };
            if let Some(outcome) = t.finished.get(&(id.clone(), *attempt)) {
                return Some(format!(
                    "run {run} step {id} attempt {attempt} is recorded ended ({outcome:?}) while its process still runs"
                ));
            }
        }
        None
    }

    /// docs/workflow-format.md: "`${{ steps.<id>.outputs.<key> }}`" reads the step's
    /// `$BATON_OUTPUT` values: every output an attempt is recorded with is one that
    /// attempt wrote (never an earlier attempt's, nor a lost one's), and a step reads
    /// its upstream's outputs as recorded when it starts.
    pub(crate) fn check_outputs(&mut self) -> Option<(&'static str, String)> {
        let jobs = self.executors.jobs.as_mut()?;
        let reads = std::mem::take(&mut jobs.reads);
        for (run, w) in &self.runs {
            let Some(t) = self.checker.track(run) else {
                continue;
            };
            let plan = &self.workflows[*w].plan;
            for ((step, attempt), told) in &t.outputs.by_attempt {
                let Some(i) = plan.step_index(step) else {
                    continue;
                };
                let wrote = jobs.wrote.get(&(run.clone(), i, *attempt));
                let alien: Vec<_> = told
                    .iter()
                    .filter(|(k, v)| wrote.and_then(|w| w.get(*k)) != Some(*v))
                    .collect();
                if !alien.is_empty() {
                    return Some((
                        "an_attempts_outputs_are_its_own",
                        format!(
                            "run {run} step {step} attempt {attempt} is recorded with outputs it did not write: {alien:?} (it wrote {wrote:?})"
                        ),
                    ));
                }
            }
        }
        // Each read against the record as it was when its attempt started; one whose
        // start is not read yet waits for the next check.
        let mut later = Vec::new();
        for r in reads {
            let then = (self.checker.track(&r.run)).and_then(|t| {
                t.outputs
                    .when_started((&r.consumer, r.attempt), &r.upstream)
            });
            let Some(then) = then else {
                later.push(r);
                continue;
            };
            let on_record = then.and_then(|o| o.get(VERSION));
            if on_record != Some(&r.value) {
                return Some((
                    "a_step_reads_the_outputs_on_record",
                    format!(
                        "run {} step {} attempt {} started reading {}'s {VERSION} `{}`, the record said {on_record:?} when it started",
                        r.run, r.consumer, r.attempt, r.upstream, r.value
                    ),
                ));
            }
            self.history.push(format!(
                "  {} {} attempt {} read {}'s {VERSION} `{}`, as recorded",
                r.run, r.consumer, r.attempt, r.upstream, r.value
            ));
        }
        if let Some(jobs) = self.executors.jobs.as_mut() {
            jobs.reads.extend(later);
        }
        None
    }

    /// With `--mix executors`: the remote host's outages (from the eleventh stream).
    pub(crate) fn maybe_outage(&mut self) {
        let now = self.now;
        let Some(jobs) = self.executors.jobs.as_mut() else {
            return;
        };
        if let Some(ms) = jobs.outage(now) {
            self.steps += 1;
            self.history
                .push(format!("  the remote host stops answering for {ms} ms"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(deaf: bool, ends: Option<(i64, StepOutcome)>) -> Attempt {
        Attempt {
            engine: 0,
            in_pool: false,
            pgid: 40_001,
            reported: true,
            ends,
            frozen: true,
            ended: false,
            tokens: None,
            remote: None,
            extra: Some(Extra {
                deaf,
                ..Extra::default()
            }),
        }
    }

    #[test]
    fn a_local_attempt_deaf_to_its_term_ends_on_the_kill_after_the_grace() {
        let mut a = local(true, None);
        kill_local(&mut a, 1_000, false);
        assert_eq!(a.ends, Some((1_000 + GRACE, StepOutcome::Killed)));
        assert!(!a.ended && !a.frozen, "TERM and CONT: it runs on, unfrozen");
        assert!(a.lives(1_000 + GRACE - 1));
        // A second stop does not put its end off; its own exit before the KILL wins.
        kill_local(&mut a, 2_000, false);
        assert_eq!(a.ends, Some((1_000 + GRACE, StepOutcome::Killed)));
        let mut b = local(true, Some((1_500, StepOutcome::Exited { exit_code: 0 })));
        kill_local(&mut b, 1_000, false);
        assert_eq!(b.ends, Some((1_500, StepOutcome::Killed)));
        let mut c = local(false, None);
        kill_local(&mut c, 1_000, false);
        assert!(
            c.ended && !c.lives(1_000),
            "one that hears its TERM ends at once"
        );
    }

    #[test]
    fn the_bug_tells_the_end_at_the_term_while_the_process_lives_on() {
        let mut a = local(true, None);
        kill_local(&mut a, 1_000, true);
        assert_eq!(a.ends, Some((1_000, StepOutcome::Killed)));
        assert!(a.ended && a.lives(1_000 + GRACE - 1) && !a.lives(1_000 + GRACE));
    }

    #[test]
    fn a_stop_lands_as_each_scheduler_ends_a_job() {
        let mut jobs = Jobs::new(1, None);
        assert_eq!(jobs.kind, Kind::Ssh);
        assert_eq!(jobs.stop_ends((true, None), 100), 100 + GRACE);
        assert_eq!(jobs.stop_ends((false, None), 100), 100);
        // Still in the queue when the stop lands: it leaves the queue at once.
        assert_eq!(jobs.stop_ends((true, Some((500, "Priority"))), 100), 100);
        // Nothing lands while the host does not answer.
        jobs.unanswered_until = 4_000;
        assert!(!jobs.answers(3_999) && jobs.answers(4_000));
        assert_eq!(jobs.stop_ends((false, None), 100), 4_000);
        // A batch scheduler's `cancel` ends a job whatever it does with its TERM.
        let batch = Jobs::new(3, None);
        assert_eq!(batch.kind, Kind::Batch);
        assert_eq!(batch.stop_ends((true, None), 100), 100);
    }

    #[test]
    fn outputs_on_record_are_the_last_end_s_and_a_mark_goes_over_them() {
        let map = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let finished = |attempt: u32, outputs: BTreeMap<String, String>| EventKind::StepFinished {
            step: "build".into(),
            attempt,
            outcome: StepOutcome::Exited { exit_code: 0 },
            duration_ms: 1,
            outputs,
            usage: baton_model::Usage::default(),
        };
        let mut o = Outputs::default();
        o.learn(1, &finished(1, map(&[("version", "a1"), ("note", "a1")])));
        o.learn(2, &finished(2, map(&[("version", "a2")])));
        assert_eq!(
            o.on_record["build"],
            map(&[("version", "a2")]),
            "replaced, not merged"
        );
        assert_eq!(o.by_attempt[&("build".to_string(), 1)]["note"], "a1");
        o.learn(
            3,
            &EventKind::StepMarked {
                step: "build".into(),
                state: baton_model::StepState::Succeeded,
                actor: "root".into(),
                reason: "by hand".into(),
                outputs: map(&[("note", "marked")]),
            },
        );
        assert_eq!(
            o.on_record["build"],
            map(&[("version", "a2"), ("note", "marked")])
        );
        // A reader is checked against what the record held when it started: `ship`
        // attempt 1 started after attempt 2 of `build` ended, before the mark.
        let mut p = Outputs::default();
        p.learn(1, &finished(2, map(&[("version", "a2")])));
        let ship = EventKind::StepStateChanged {
            step: "ship".into(),
            state: baton_model::StepState::Running,
            attempt: 1,
            reason: None,
        };
        assert_eq!(
            p.when_started(("ship", 1), "build"),
            None,
            "not started yet"
        );
        p.learn(2, &ship);
        p.learn(
            3,
            &EventKind::StepMarked {
                step: "build".into(),
                state: baton_model::StepState::Succeeded,
                actor: "root".into(),
                reason: "by hand".into(),
                outputs: map(&[("version", "marked")]),
            },
        );
        assert_eq!(p.on_record["build"]["version"], "marked");
        assert_eq!(
            p.when_started(("ship", 1), "build"),
            Some(Some(&map(&[("version", "a2")]))),
            "what the record held when ship started, not what it holds now"
        );
        // A stale file: what attempt 1 wrote and attempt 2 did not comes along.
        let mut jobs = Jobs::new(0, None);
        let key = |a: u32| ("r001".to_string(), 0, a);
        jobs.wrote
            .insert(key(1), map(&[("version", "a1"), ("note", "a1")]));
        jobs.wrote.insert(key(2), map(&[("version", "a2")]));
        let ok = StepOutcome::Exited { exit_code: 0 };
        let own = jobs.told_outputs(&key(2), &ok, false);
        assert_eq!(own, vec![("version".to_string(), "a2".to_string())]);
        let stale = jobs.told_outputs(&key(2), &ok, true);
        assert!(
            stale.contains(&("note".to_string(), "a1".to_string())),
            "{stale:?}"
        );
        assert!(
            jobs.told_outputs(&key(2), &StepOutcome::Killed, false)
                .is_empty()
        );
    }
}

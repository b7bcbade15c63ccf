//! What a scheduler does to a job on its own (`--mix executors`, jobs on Slurm or a
//! batch scheduler), drawn from the seed's thirteenth stream so that the rest of the
//! mix draws what it drew: it **forgets** the job (its node lost, or its own state: the
//! job leaves the queue without an exit code, its processes gone), or **requeues** it
//! while it runs (preempted, or `scontrol requeuehold` / `qmod -rj` then `qhold`: its
//! processes killed, the job back in the queue, run again from its start once the
//! scheduler, or a person's release, lets it). What the engine is told of each is what
//! the real executors make of the scheduler's answers (`baton_exec::scheduler`): a
//! requeued job's state is read as Slurm's `squeue` or a batch `status` gives it, and a
//! forgotten job's end as `sacct`, the exit-code file and `status` leave it. The
//! promises these add are checked here too.
use crate::executor::Attempt;
use crate::jobs::{Extra, Kind};
use crate::world::World;
use baton_core::{Input, StepExit};
use baton_exec::scheduler;
use baton_model::{Event, EventKind, StepOutcome, StepState, Timestamp, Usage};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// How long after a job left the queue the executor's next look sees it gone.
const POLL: i64 = 500;

/// What the scheduler does to one job, drawn when it is submitted; when, as a part of
/// its run (per mille), since its run's length is known only once its fate is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Act {
    /// It forgets the job at that point of its run; `accounted`: accounting keeps its
    /// end (`NODE_FAIL`), else nothing says what became of it.
    Forgets { permille: i64, accounted: bool },
    /// It requeues the job at that point of its run, for `gap` ms; `held`: held there
    /// until a person releases it (`REQUEUE_HOLD`, `JobHeldUser`), else run again when
    /// the scheduler lets it (`REQUEUED`, `BeginTime`).
    Requeues { permille: i64, gap: i64, held: bool },
}

/// The thirteenth stream of the seed.
pub(crate) struct Acts(SmallRng);

impl Acts {
    pub(crate) fn new(seed: u64) -> Acts {
        Acts(SmallRng::seed_from_u64(seed ^ 0x5c4e_d0ac_7500_0000))
    }

    /// The scheduler's act on a job just submitted, if any: one job in sixteen is
    /// forgotten, one in eight requeued (half of those held for a while).
    pub(crate) fn draw(&mut self) -> Option<Act> {
        let roll = self.0.random_range(0..1_000);
        let permille = self.0.random_range(50..950);
        match roll {
            0..62 => Some(Act::Forgets {
                permille,
                accounted: self.0.random_bool(0.5),
            }),
            62..187 => {
                let held = self.0.random_bool(0.5);
                let gap = match held {
                    true => self.0.random_range(5_000..25_000),
                    false => self.0.random_range(1_000..6_000),
                };
                Some(Act::Requeues {
                    permille,
                    gap,
                    held,
                })
            }
            _ => None,
        }
    }
}

/// What became of the act once the job's run is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Acted {
    /// The job left the queue then, without an exit code.
    Forgot { at: i64, accounted: bool },
    /// The job was requeued at `at` and runs again from `back`; the states told of it
    /// (0: none, 1: its requeue, 2: running again).
    Requeued {
        at: i64,
        back: i64,
        held: bool,
        told: u8,
    },
}

/// `ends` (when the job ends, its run starting at `runs_from`) as the act drawn changes
/// it: a forgotten job ends, told by its executor when it next looks (a batch `status`
/// must say it is gone for 10 s); a requeued one ends as late as it had run and waited.
/// A job lost with its host, or whose launch failed, is left as it is.
pub(crate) fn apply(
    x: &mut Extra,
    ends: Option<(i64, StepOutcome)>,
    (runs_from, job_id): (i64, &str),
) -> Option<(i64, StepOutcome)> {
    let act = x.act.take()?;
    let (end, outcome) = match ends {
        Some((end, o)) if end > runs_from && !matches!(o, StepOutcome::Lost { .. }) => (end, o),
        other => return other,
    };
    let at = runs_from + (end - runs_from) * act_permille(act) / 1_000;
    match act {
        Act::Forgets { accounted, .. } => {
            x.acted = Some(Acted::Forgot { at, accounted });
            let told = at + POLL + told_after(x.kind, false);
            Some((told, forgotten(x, job_id, None)))
        }
        Act::Requeues { gap, held, .. } => {
            let back = at + gap;
            x.acted = Some(Acted::Requeued {
                at,
                back,
                held,
                told: 0,
            });
            Some((end + (at - runs_from) + gap, outcome))
        }
    }
}

fn act_permille(act: Act) -> i64 {
    match act {
        Act::Forgets { permille, .. } | Act::Requeues { permille, .. } => permille,
    }
}

/// How long the executor waits, once the scheduler no longer has the job, before it
/// says so: a batch `status` must say it for [`scheduler::batch_gone_for`].
fn told_after(kind: Kind, asked: bool) -> i64 {
    match kind {
        Kind::Batch => scheduler::batch_gone_for(asked).as_millis() as i64,
        _ => 0,
    }
}

/// What the real executor records of a job that left the queue without an exit code
/// (`killed`: baton's own stop, asked before it saw it gone); with
/// [`crate::Bug::ForgottenIsDone`], a success.
fn forgotten(x: &Extra, job_id: &str, killed: Option<StepOutcome>) -> StepOutcome {
    if x.bug == Some(crate::Bug::ForgottenIsDone) && killed.is_none() {
        return StepOutcome::Exited { exit_code: 0 };
    }
    let accounted = matches!(
        x.acted,
        Some(Acted::Forgot {
            accounted: true,
            ..
        })
    );
    match x.kind {
        Kind::Batch => scheduler::batch_end(job_id, None, killed),
        _ => scheduler::slurm_gone(job_id, None, accounted.then_some("NODE_FAIL|0:0"), killed),
    }
}

/// When the forgotten job's processes ended, if it was forgotten.
pub(crate) fn forgot_at(x: &Extra) -> Option<i64> {
    match x.acted {
        Some(Acted::Forgot { at, .. }) => Some(at),
        _ => None,
    }
}

/// The requeue's gap (its processes dead, the job in the queue), if requeued.
pub(crate) fn requeue_gap(x: &Extra) -> Option<(i64, i64)> {
    match x.acted {
        Some(Acted::Requeued { at, back, .. }) => Some((at, back)),
        _ => None,
    }
}

/// A stop of baton's that finds its job already gone from the queue (its end not told
/// yet): baton's stop decides what is recorded, told at once (a batch `status`'s first
/// "gone" is enough once baton asked). `None`: the job was not forgotten by then.
pub(crate) fn stop_after_forgotten(
    x: &Extra,
    (job_id, ends, now): (&str, &Option<(i64, StepOutcome)>, i64),
) -> Option<Option<(i64, StepOutcome)>> {
    let at = forgot_at(x).filter(|at| *at <= now)?;
    let told = at.max(now) + POLL + told_after(x.kind, true);
    Some(match ends {
        Some((t, _)) if *t <= told => ends.clone(),
        _ => Some((told, forgotten(x, job_id, Some(StepOutcome::Killed)))),
    })
}

/// The state the scheduler gives a requeued job, as the executor kind shows it:
/// Slurm's `squeue` state and reason, or a Grid Engine `qstat` word.
fn requeue_state(kind: Kind, held: bool) -> (&'static str, Option<&'static str>) {
    match (kind, held) {
        (Kind::Batch, false) => ("Rq", None),
        (Kind::Batch, true) => ("hRq", None),
        (_, false) => ("REQUEUED", Some("BeginTime")),
        (_, true) => ("REQUEUE_HOLD", Some("JobHeldUser")),
    }
}

/// The requeue's states to tell of `a` now, if one is due: its requeued state when its
/// executor looks during the gap, then `RUNNING` once it runs again; each read as the
/// real executor reads it (`scheduler::slurm_listed`, `scheduler::batch_left`): a
/// state that reads as the job's end is told as its end (never, but with
/// [`crate::Bug::RequeueIsTheEnd`], which reads a requeue as Slurm's `PREEMPTED`).
pub(crate) fn requeue_told(
    a: &mut Attempt,
    (step, attempt): (usize, u32),
    now: i64,
) -> Option<Input> {
    let x = a.extra.as_mut()?;
    let Some(Acted::Requeued {
        at,
        back,
        held,
        told,
    }) = x.acted
    else {
        return None;
    };
    let (state, reason, next) = match told {
        0 if at <= now && now < back => {
            let (s, r) = requeue_state(x.kind, held);
            (s, r, 1)
        }
        1 if back <= now => ("RUNNING", None, 2),
        _ => return None,
    };
    x.acted = Some(Acted::Requeued {
        at,
        back,
        held,
        told: next,
    });
    let job_id = a.remote.as_ref().map_or("", |r| r.job_id.as_str());
    let ended = match (x.kind, x.bug == Some(crate::Bug::RequeueIsTheEnd)) {
        (_, true) if next == 1 => scheduler::slurm_listed("PREEMPTED", None, None),
        (Kind::Batch, _) => {
            scheduler::batch_left(state).then(|| scheduler::batch_end(job_id, None, None))
        }
        _ => scheduler::slurm_listed(state, None, None),
    };
    let Some(outcome) = ended else {
        return Some(Input::JobState {
            step,
            attempt,
            state: state.to_string(),
            reason: reason.map(str::to_string),
        });
    };
    // Read as its end: told so, while the scheduler has the job still.
    a.ended = true;
    if let Some(r) = a.remote.as_mut() {
        r.end_told = true;
    }
    Some(Input::StepExited(StepExit {
        step,
        attempt,
        outcome,
        duration_ms: 10,
        outputs: Vec::new(),
        usage: Usage {
            tokens: a.tokens.unwrap_or(0),
            ..Usage::default()
        },
        stderr_tail: String::new(),
    }))
}

/// The scheduler's word for `x`'s job at `now`: its requeue's state in the gap,
/// `PENDING` while it waits in the queue, else `RUNNING`.
fn state_at(x: &Extra, now: i64) -> &'static str {
    match x.acted {
        Some(Acted::Requeued { at, back, held, .. }) if at <= now && now < back => {
            requeue_state(x.kind, held).0
        }
        _ if x.queued.is_some_and(|(t, _)| now < t) => "PENDING",
        _ => "RUNNING",
    }
}

/// A batch job's `status` while its scheduler does not answer (`outage`: since then),
/// and once it answers again: what the real executor makes of a `status` that fails
/// (`scheduler::batch_said`, folded by `scheduler::BatchFollow`) is what the engine is
/// told. The state shown says since when it has not answered, and its word again once
/// it answers; nothing ends the attempt. With [`crate::Bug::OutageIsGone`], a failing
/// `status` is read as gone, as baton did: 10 s into the outage (at once after baton's
/// stop) a job still running is told lost. `None`: nothing to tell now.
pub(crate) fn outage_told(
    a: &mut Attempt,
    (step, attempt): (usize, u32),
    (outage, now): (Option<i64>, i64),
) -> Option<Input> {
    let job_id = a.remote.as_ref()?.job_id.clone();
    let running = a.ends.as_ref().is_none_or(|(t, _)| *t > now);
    let x = a
        .extra
        .as_mut()
        .filter(|x| x.kind == Kind::Batch && !x.unreached)?;
    if !a.reported || a.ended {
        return None;
    }
    let wall = |t: i64| {
        (
            std::time::Duration::from_millis(t.max(0) as u64),
            Timestamp(t),
        )
    };
    let Some(from) = outage else {
        // It answers again: the job is listed.
        x.follow.unanswered_since()?;
        let heard = x.follow.heard(
            scheduler::BatchSaid::Listed(state_at(x, now).into()),
            wall(now),
            x.stop_sent,
        );
        return shown(heard.shown?, (step, attempt));
    };
    let bug = x.bug == Some(crate::Bug::OutageIsGone);
    let failing = match bug {
        true => scheduler::BatchSaid::Gone,
        false => scheduler::batch_said(false, ""),
    };
    // A `cancel` in the outage fails as its `status` does: the scheduler took no stop
    // (the bug's executor counted any stop asked).
    let taken = bug && x.stop_sent;
    let mut first = None;
    if x.outage != Some(from) {
        x.outage = Some(from);
        x.follow = scheduler::BatchFollow::default();
        let before = scheduler::BatchSaid::Listed(state_at(x, from).into());
        x.follow.heard(before, wall(from), taken);
        first = x.follow.heard(failing.clone(), wall(from), taken).shown;
    }
    let heard = x.follow.heard(failing, wall(now), taken);
    if !(heard.end && running) {
        return shown(first?, (step, attempt));
    }
    // Read as the job's end while it runs on.
    let killed = x.stop_sent.then_some(StepOutcome::Killed);
    a.ended = true;
    if let Some(r) = a.remote.as_mut() {
        r.end_told = true;
    }
    Some(Input::StepExited(StepExit {
        step,
        attempt,
        outcome: scheduler::batch_end(&job_id, None, killed),
        duration_ms: 10,
        outputs: Vec::new(),
        usage: Usage {
            tokens: a.tokens.unwrap_or(0),
            ..Usage::default()
        },
        stderr_tail: String::new(),
    }))
}

/// [`outage_told`] into `out`; `true`: told as the attempt's end.
pub(crate) fn tell_outage(
    a: &mut Attempt,
    key: (usize, u32),
    when: (Option<i64>, i64),
    out: &mut Vec<Input>,
) -> bool {
    let Some(told) = outage_told(a, key, when) else {
        return false;
    };
    let end = matches!(told, Input::StepExited(_));
    out.push(told);
    end
}

/// The state shown, as the engine is told it.
fn shown(
    (state, reason): (String, Option<String>),
    (step, attempt): (usize, u32),
) -> Option<Input> {
    Some(Input::JobState {
        step,
        attempt,
        state,
        reason,
    })
}

/// What the history says of the act.
pub(crate) fn says(x: &Extra) -> String {
    let t = |at: i64| at - crate::world::T0;
    match x.acted {
        Some(Acted::Forgot { at, accounted }) => format!(
            ", forgotten by its scheduler at t+{} ({})",
            t(at),
            if accounted {
                "NODE_FAIL"
            } else {
                "no accounting"
            }
        ),
        Some(Acted::Requeued { at, back, held, .. }) => format!(
            ", requeued at t+{} ({}) until t+{}",
            t(at),
            if held {
                "held, then released"
            } else {
                "preempted"
            },
            t(back)
        ),
        None => String::new(),
    }
}

impl World {
    /// docs/executors.md: a job "that left the scheduler without an exit code
    /// (cancelled by someone, killed at a limit, its node lost), recorded as lost once
    /// `status` has said so", and workflow-format.md: "NODE_FAIL, PREEMPTED, … →
    /// `interrupted`, retryable by the step's `retry`", "a timeout or cancel is recorded
    /// as such whatever the job's end": each attempt whose job its scheduler forgot is
    /// recorded lost (never with an exit code), or stopped if baton stopped it first.
    pub(crate) fn a_lost_job_is_recorded_lost(&self) -> Option<String> {
        for ((run, step, attempt), a) in &self.executors.attempts {
            let Some(x) = a.extra.as_ref().filter(|x| forgot_at(x).is_some()) else {
                continue;
            };
            let Some(id) = self.step_id(run, *step) else {
                continue;
            };
            let Some(t) = self.checker.track(run) else {
                continue;
            };
            let recorded = t.finished.get(&(id.clone(), *attempt));
            let stopped = x.stop_sent;
            match recorded {
                None | Some(StepOutcome::Lost { .. }) => {}
                Some(StepOutcome::Killed | StepOutcome::TimedOut) if stopped => {}
                Some(other) => {
                    return Some(format!(
                        "run {run} step {id} attempt {attempt}: its job left the scheduler without an exit code{}, and it is recorded {other:?}",
                        if stopped {
                            ""
                        } else {
                            " (baton sent it no stop)"
                        }
                    ));
                }
            }
        }
        None
    }

    /// README: "nothing finished runs twice after a crash", read from the hosts: no job
    /// starts again (a requeued job run again from its start) after its step was
    /// recorded succeeded, unless a person reopened the step since.
    pub(crate) fn a_succeeded_step_never_starts_again(&self) -> Option<String> {
        for ((run, step, attempt), a) in &self.executors.attempts {
            let Some((_, back)) = a.extra.as_ref().and_then(requeue_gap) else {
                continue;
            };
            if back > self.now || !a.remote.as_ref().is_some_and(|r| r.alive(back)) {
                continue;
            }
            let Some(id) = self.step_id(run, *step) else {
                continue;
            };
            let succeeded = (self.checker.track(run))
                .and_then(|t| t.succeeded_at.get(&id))
                .filter(|at| **at < back);
            if let Some(at) = succeeded {
                return Some(format!(
                    "run {run} step {id} attempt {attempt}'s job starts again at t+{} (requeued), after the step was recorded succeeded at t+{}",
                    back - crate::world::T0,
                    at - crate::world::T0
                ));
            }
        }
        None
    }
}

/// Whether `key`'s job is in its requeue's gap at `now` (its processes dead, the job
/// in the queue).
pub(crate) fn in_gap(a: &Attempt, now: i64) -> bool {
    a.extra
        .as_ref()
        .and_then(requeue_gap)
        .is_some_and(|(at, back)| at <= now && now < back)
}

/// docs/executors.md, of a step whose outcome is unknown ("The same holds for a Slurm or
/// batch job that is lost"): "an idempotent step is retried by its `retry`; a
/// non-idempotent one is never started again by a retry policy (the first may still
/// run on a host that comes back) and waits on the desk for a person, `baton mark` once
/// you know what happened or `baton retry`": a step not idempotent whose attempt was
/// recorded lost starts again only after a person reopened it on record (a retry, a
/// mark, a push-back's rerun).
pub(crate) fn a_lost_step_waits_for_a_person(
    t: &crate::invariants::Track,
    ev: &Event,
) -> Option<String> {
    match &ev.kind {
        EventKind::StepStateChanged {
            step,
            state: StepState::Running,
            attempt,
            ..
        } if t.lost_waiting.contains(step) => Some(format!(
            "step {step} (idempotent = false) starts attempt {attempt} (event {}) after its last attempt was lost, with no person's retry or mark on record",
            ev.seq
        )),
        _ => None,
    }
}

/// What `ev` changes of the steps [`a_lost_step_waits_for_a_person`] watches.
pub(crate) fn learn_lost(
    t: &mut crate::invariants::Track,
    ev: &Event,
    plan: &baton_workflow::Plan,
) {
    match &ev.kind {
        EventKind::StepFinished {
            step,
            outcome: StepOutcome::Lost { .. },
            ..
        } if plan
            .step_index(step)
            .is_some_and(|i| !plan.steps[i].idempotent) =>
        {
            t.lost_waiting.insert(step.clone());
        }
        EventKind::StepRetried { step, rearmed, .. } => {
            for s in std::iter::once(step).chain(rearmed) {
                t.lost_waiting.remove(s);
            }
        }
        EventKind::StepMarked { step, .. } => {
            t.lost_waiting.remove(step);
        }
        EventKind::GatePushedBack { rerun, .. } => {
            for s in rerun {
                t.lost_waiting.remove(s);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(kind: Kind, act: Act, bug: Option<crate::Bug>) -> Extra {
        Extra {
            kind,
            act: Some(act),
            bug,
            ..Extra::default()
        }
    }

    #[test]
    fn a_forgotten_job_ends_when_it_left_and_is_told_lost_as_each_executor_reads_it() {
        let ok = Some((11_000, StepOutcome::Exited { exit_code: 0 }));
        let act = Act::Forgets {
            permille: 500,
            accounted: true,
        };
        let mut slurm = job(Kind::Slurm, act, None);
        let (told, outcome) = apply(&mut slurm, ok.clone(), (1_000, "job-1")).expect("an end");
        assert_eq!(forgot_at(&slurm), Some(6_000), "half-way through its run");
        assert_eq!(told, 6_000 + POLL);
        assert!(matches!(outcome, StepOutcome::Lost { reason } if reason.contains("NODE_FAIL")));
        // A batch `status` must say it is gone for 10 s first.
        let mut batch = job(Kind::Batch, act, None);
        let (told, outcome) = apply(&mut batch, ok.clone(), (1_000, "job-2")).expect("an end");
        assert_eq!(told, 6_000 + POLL + 10_000);
        assert!(matches!(outcome, StepOutcome::Lost { .. }));
        // baton's stop after it left decides, told at once.
        let ends = Some((told, outcome));
        let stopped = stop_after_forgotten(&batch, ("job-2", &ends, 7_000)).expect("forgotten");
        assert_eq!(stopped, Some((7_000 + POLL, StepOutcome::Killed)));
        assert_eq!(stop_after_forgotten(&batch, ("job-2", &ends, 5_000)), None);
        // The bug put back: a success.
        let mut done = job(Kind::Slurm, act, Some(crate::Bug::ForgottenIsDone));
        let (_, outcome) = apply(&mut done, ok, (1_000, "job-3")).expect("an end");
        assert_eq!(outcome, StepOutcome::Exited { exit_code: 0 });
    }

    #[test]
    fn a_requeued_job_ends_later_and_its_states_are_followed_unless_read_as_its_end() {
        let act = Act::Requeues {
            permille: 250,
            gap: 3_000,
            held: true,
        };
        let ok = Some((5_000, StepOutcome::Exited { exit_code: 0 }));
        let attempt = |x: Extra| Attempt {
            engine: 0,
            in_pool: false,
            pgid: 1,
            reported: true,
            ends: None,
            frozen: false,
            ended: false,
            tokens: None,
            remote: None,
            extra: Some(x),
        };
        let mut x = job(Kind::Slurm, act, None);
        let ends = apply(&mut x, ok.clone(), (1_000, "job-1"));
        // Requeued at 2 000 (a quarter of its 4 s), back at 5 000, then its whole run.
        assert_eq!(requeue_gap(&x), Some((2_000, 5_000)));
        assert_eq!(
            ends,
            Some((5_000 + 1_000 + 3_000, StepOutcome::Exited { exit_code: 0 }))
        );
        let mut a = attempt(x);
        assert!(!in_gap(&a, 1_999) && in_gap(&a, 2_000) && !in_gap(&a, 5_000));
        assert_eq!(
            requeue_told(&mut a, (0, 1), 1_500),
            None,
            "not requeued yet"
        );
        let held = requeue_told(&mut a, (0, 1), 2_500);
        assert!(
            matches!(&held, Some(Input::JobState { state, reason, .. })
                if state == "REQUEUE_HOLD" && reason.as_deref() == Some("JobHeldUser")),
            "{held:?}"
        );
        assert_eq!(requeue_told(&mut a, (0, 1), 3_000), None, "told once");
        let back = requeue_told(&mut a, (0, 1), 5_000);
        assert!(matches!(&back, Some(Input::JobState { state, .. }) if state == "RUNNING"));
        assert!(!a.ended);
        // The bug put back: the requeue is told as the job's end.
        let mut x = job(Kind::Slurm, act, Some(crate::Bug::RequeueIsTheEnd));
        apply(&mut x, ok, (1_000, "job-2"));
        let mut a = attempt(x);
        let end = requeue_told(&mut a, (0, 1), 2_500);
        assert!(
            matches!(&end, Some(Input::StepExited(e)) if matches!(e.outcome, StepOutcome::Lost { .. }))
        );
        assert!(a.ended);
    }

    #[test]
    fn a_batch_status_that_fails_shows_since_when_and_ends_nothing_unless_the_bug() {
        let attempt = |bug: Option<crate::Bug>| Attempt {
            engine: 0,
            in_pool: false,
            pgid: 1,
            reported: true,
            ends: None,
            frozen: false,
            ended: false,
            tokens: None,
            remote: Some(crate::executor::Remote {
                job_id: "job-1".into(),
                followers: vec![0],
                end_told: false,
                natural: None,
                stopped_at: None,
                term_at: None,
            }),
            extra: Some(Extra {
                kind: Kind::Batch,
                bug,
                ..Extra::default()
            }),
        };
        let mut a = attempt(None);
        let told = outage_told(&mut a, (0, 1), (Some(1_000), 2_000));
        assert!(
            matches!(&told, Some(Input::JobState { state, reason: Some(r), .. })
                if state == "RUNNING" && r.contains("not answering since")),
            "{told:?}"
        );
        // An hour into the outage: nothing more, never an end.
        assert_eq!(outage_told(&mut a, (0, 1), (Some(1_000), 3_600_000)), None);
        assert!(!a.ended);
        // It answers again: its word, once.
        let back = outage_told(&mut a, (0, 1), (None, 3_700_000));
        assert!(
            matches!(&back, Some(Input::JobState { reason: None, .. })),
            "{back:?}"
        );
        assert_eq!(outage_told(&mut a, (0, 1), (None, 3_700_500)), None);
        // The bug put back: 10 s into the outage, the running job is told lost.
        let mut b = attempt(Some(crate::Bug::OutageIsGone));
        assert_eq!(outage_told(&mut b, (0, 1), (Some(1_000), 10_999)), None);
        let end = outage_told(&mut b, (0, 1), (Some(1_000), 11_000));
        assert!(
            matches!(&end, Some(Input::StepExited(e)) if matches!(e.outcome, StepOutcome::Lost { .. })),
            "{end:?}"
        );
        assert!(b.ended && b.remote.as_ref().is_some_and(|r| r.alive(11_000)));
    }
}

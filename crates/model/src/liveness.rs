//! Whether a run's engine is alive: the one reading of a run's lease (issue 10 point 4).
//!
//! The store records the state the engine last committed; an engine killed with
//! `kill -9` leaves `running` (or `waiting`) behind. Every reader (`runs`, `show`, the
//! console, `runs rm`, `gc`, the taking of a lease) asks [`liveness`] instead: a run that
//! is not finished and whose lease is missing, held by a dead process on this host, or
//! not renewed for [`LEASE_STALE`] reads `interrupted`; so does one whose lease a
//! takeover holds that has not settled yet ([`Lease::taking_over`]). Pure: the clock and
//! the process check are passed in, so it is tested on a fake clock.
use super::state::{RunState, StepState};
use super::time::Timestamp;
use super::view::RunView;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How long a lease lives without a heartbeat (the driver beats every 2 s) before its
/// engine counts as gone: the run reads `interrupted` and another engine may take it.
pub const LEASE_STALE: Duration = Duration::from_secs(15);

/// A run's lease as stored (table `leases`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// `pid N on HOST` (see [`parse_holder`]).
    pub holder: String,
    pub heartbeat_at: Timestamp,
    /// Taken by a takeover (`baton resume`, a command on a run no engine drives) that
    /// has not settled yet: the run's group not held again (a run that goes on) or its
    /// end not committed (a command that ends it: a cancel, a reject). Until then the
    /// run reads as its last engine left it, `interrupted`, and holds nothing by this
    /// lease (docs/simulator.md, `--mix cli` seeds 18, 20, 56, 79): it never reads
    /// active beside its group's holder. The lease still excludes every other taker.
    pub taking_over: bool,
}

/// What a reader should say about a run now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Liveness {
    /// The recorded state, or `Interrupted` when its engine is gone.
    pub state: RunState,
    /// The live engine driving the run (its lease holder), if any.
    pub driven_by: Option<String>,
}

/// Whether `lease` still stands at `now`: renewed within `stale_after` and not held by a
/// process known to be dead. `holder_alive` answers `Some(false)` only for a holder
/// known dead (a process of this host that is gone), `None` when it cannot tell
/// (another host).
pub fn lease_is_live(
    lease: &Lease,
    now: Timestamp,
    stale_after: Duration,
    holder_alive: impl Fn(&str) -> Option<bool>,
) -> bool {
    now.since(lease.heartbeat_at) <= stale_after && holder_alive(&lease.holder) != Some(false)
}

/// Whether a takeover (`baton resume`, a command on a run no engine drives) may take
/// a run whose lease is `current`: only when no live lease holds it, whoever its
/// holder. One its own process holds live means that process drives the run already
/// (a console's resume racing its own takeover of the run): taken again, its lease
/// would be marked as an unsettled takeover's (the run read `interrupted`, holding no
/// group, under its own engine), the run driven twice, and a refusal of the second
/// takeover would give back the lease the first one's engine holds. It is refused as
/// driven, like any live holder's (the store's `acquire_lease` renews a holder's own
/// lease: an engine's, never a takeover's).
pub fn may_take_over(
    current: Option<&Lease>,
    now: Timestamp,
    stale_after: Duration,
    holder_alive: impl Fn(&str) -> Option<bool>,
) -> bool {
    !current.is_some_and(|l| lease_is_live(l, now, stale_after, holder_alive))
}

/// What a reader shows for a run recorded in `recorded`, with `lease` (if any) at `now`.
///
/// `driven_by` names the holder of a live lease whatever the state (a console left open
/// on a finished run still drives it: it may retry a step). A finished run reads as
/// recorded; an unfinished one reads as recorded while a live lease holds it that no
/// unsettled takeover holds ([`Lease::taking_over`]), and `interrupted` otherwise (a
/// new run is created with its lease in one transaction, so no run is ever unfinished
/// without a lease while its engine lives).
pub fn liveness(
    recorded: RunState,
    lease: Option<&Lease>,
    now: Timestamp,
    holder_alive: impl Fn(&str) -> Option<bool>,
) -> Liveness {
    let driven_by = lease
        .filter(|l| lease_is_live(l, now, LEASE_STALE, holder_alive))
        .map(|l| l.holder.clone());
    let state = match recorded {
        RunState::Succeeded
        | RunState::Failed
        | RunState::Cancelled
        | RunState::Skipped
        | RunState::Interrupted => recorded,
        RunState::Pending | RunState::Queued | RunState::Running | RunState::Waiting => {
            if driven_by.is_some() && !lease.is_some_and(|l| l.taking_over) {
                recorded
            } else {
                RunState::Interrupted
            }
        }
    };
    Liveness { state, driven_by }
}

/// Work a run whose engine is gone left running (issue 41 point 1): a step's process
/// on this host (found by `baton_procs`) or the batch job of a step's unfinished
/// attempt. While any is left, the run keeps its concurrency group and its slots of
/// store-wide pools: two holders' work never runs at once. A takeover (`baton resume`,
/// a command that resumes it) stops the processes first, or re-attaches to the job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LeftRunning {
    /// A process a step started (the lowest pid of its group's, or any it left).
    Process { step: String, pid: i32 },
    /// The batch job of a step's unfinished attempt: the cluster may still run it.
    Job {
        step: String,
        executor: String,
        job_id: String,
    },
    /// A step's attempt launched on another machine whose job never reached the
    /// record: only a takeover, asking the executor, can say whether it runs.
    Launching { step: String, executor: String },
}

impl LeftRunning {
    pub fn step(&self) -> &str {
        match self {
            LeftRunning::Process { step, .. }
            | LeftRunning::Job { step, .. }
            | LeftRunning::Launching { step, .. } => step,
        }
    }

    /// `pid 4242`, `slurm job 77`.
    pub fn what(&self) -> String {
        match self {
            LeftRunning::Process { pid, .. } => format!("pid {pid}"),
            LeftRunning::Job {
                executor, job_id, ..
            } => format!("{executor} job {job_id}"),
            LeftRunning::Launching { executor, .. } => {
                format!("launched on {executor}, its job not on record")
            }
        }
    }
}

/// Why a run waits for a group or slot that `holder` holds although its engine is
/// gone: what it left running, and what would free it. The one wording every reader
/// shows (the queued run's view, a queued step's pool wait).
pub fn held_by_leftovers(holder: &str, left: &[LeftRunning]) -> String {
    let what: Vec<String> = left
        .iter()
        .map(|l| format!("`{}` ({})", l.step(), l.what()))
        .collect();
    // A launch not on record never ends by itself: only a takeover can tell.
    let launch_only = left
        .iter()
        .all(|l| matches!(l, LeftRunning::Launching { .. }));
    let close = if launch_only {
        format!(
            "held until `baton resume {holder}` asks its host and takes the run over (`baton cancel {holder}` stops it)"
        )
    } else {
        format!(
            "handed over once it ends (`baton resume {holder}` stops it and takes the run over, `baton cancel {holder}` stops it)"
        )
    };
    format!(
        "run {holder}'s engine is gone but its step {} still runs: {close}",
        what.join(", ")
    )
}

/// A run known interrupted, as every reader shows it (issue 28 point 3): its clocks
/// stop at `last_sign` (the engine's last heartbeat or event), and the steps it was
/// running read `interrupted`, their duration up to then, until a resume decides them.
/// Pure, applied once by the read model (`session::inspect`) to the replayed view.
pub fn stop_clocks(view: &mut RunView, last_sign: Timestamp) {
    if view.state != RunState::Interrupted {
        return;
    }
    let at = last_sign.min(view.now);
    view.engine_gone_at = Some(at);
    for s in &mut view.steps {
        if s.state.has_process() {
            s.duration_ms = s.started_at.map(|st| at.since(st).as_millis() as u64);
            s.state = StepState::Interrupted;
        }
    }
    super::fan::recount(view);
    super::signals::engine_gone(&mut view.signals);
}

/// Parse a holder `pid N on HOST` into (pid, host); `None` for any other form.
pub fn parse_holder(holder: &str) -> Option<(i32, &str)> {
    let rest = holder.strip_prefix("pid ")?;
    let (pid, host) = rest.split_once(" on ")?;
    Some((pid.trim().parse().ok()?, host.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Timestamp = Timestamp(1_700_000_000_000);
    const HOLDER: &str = "pid 42 on elsewhere";

    fn lease(beat: Timestamp) -> Lease {
        Lease {
            holder: HOLDER.into(),
            heartbeat_at: beat,
            taking_over: false,
        }
    }

    fn at(secs: u64) -> Timestamp {
        T0.add(Duration::from_secs(secs))
    }

    fn unknown(_: &str) -> Option<bool> {
        None
    }

    #[test]
    fn a_live_lease_keeps_the_recorded_state_and_names_its_holder() {
        for recorded in [RunState::Pending, RunState::Running, RunState::Waiting] {
            let l = liveness(recorded, Some(&lease(at(10))), at(12), unknown);
            assert_eq!(l.state, recorded);
            assert_eq!(l.driven_by.as_deref(), Some(HOLDER));
        }
    }

    #[test]
    fn a_lease_on_another_host_lapses_after_the_stale_limit_exactly() {
        let l = lease(at(100));
        let state = |now| liveness(RunState::Running, Some(&l), now, unknown).state;
        assert_eq!(state(at(100)), RunState::Running);
        assert_eq!(state(at(115)), RunState::Running);
        assert_eq!(
            state(at(115).add(Duration::from_millis(1))),
            RunState::Interrupted
        );
        assert_eq!(
            liveness(RunState::Waiting, Some(&l), at(200), unknown).driven_by,
            None
        );
    }

    #[test]
    fn a_dead_holder_on_this_host_is_interrupted_at_once() {
        let dead = |h: &str| (h == HOLDER).then_some(false);
        let l = liveness(RunState::Waiting, Some(&lease(at(1))), at(1), dead);
        assert_eq!(
            l,
            Liveness {
                state: RunState::Interrupted,
                driven_by: None
            }
        );
        let alive = |_: &str| Some(true);
        let l = liveness(RunState::Running, Some(&lease(at(1))), at(1), alive);
        assert_eq!(l.state, RunState::Running);
    }

    #[test]
    fn a_run_an_unsettled_takeover_holds_reads_interrupted_and_driven_until_it_settles() {
        let alive = |_: &str| Some(true);
        let taking = Lease {
            taking_over: true,
            ..lease(at(5))
        };
        for recorded in [
            RunState::Pending,
            RunState::Queued,
            RunState::Running,
            RunState::Waiting,
        ] {
            let l = liveness(recorded, Some(&taking), at(5), alive);
            assert_eq!(
                (l.state, l.driven_by.as_deref()),
                (RunState::Interrupted, Some(HOLDER)),
                "{recorded:?}"
            );
        }
        for recorded in [RunState::Cancelled, RunState::Failed, RunState::Interrupted] {
            let l = liveness(recorded, Some(&taking), at(5), alive);
            assert_eq!(l.state, recorded);
        }
        // Settled: as recorded again.
        let settled = liveness(RunState::Running, Some(&lease(at(5))), at(5), alive);
        assert_eq!(settled.state, RunState::Running);
    }

    #[test]
    fn a_takeover_takes_no_live_lease_not_even_its_own() {
        let alive = |_: &str| Some(true);
        let dead = |_: &str| Some(false);
        let driving = lease(at(5));
        let taking = Lease {
            taking_over: true,
            ..lease(at(5))
        };
        // Live, driven or being taken over (by this process or another): refused.
        assert!(!may_take_over(Some(&driving), at(6), LEASE_STALE, alive));
        assert!(!may_take_over(Some(&taking), at(6), LEASE_STALE, alive));
        // None, lapsed, or its holder dead: taken.
        assert!(may_take_over(None, at(6), LEASE_STALE, alive));
        assert!(may_take_over(Some(&driving), at(60), LEASE_STALE, alive));
        assert!(may_take_over(Some(&taking), at(6), LEASE_STALE, dead));
    }

    #[test]
    fn an_unfinished_run_without_a_lease_is_interrupted() {
        for recorded in [RunState::Pending, RunState::Running, RunState::Waiting] {
            assert_eq!(
                liveness(recorded, None, at(1), unknown).state,
                RunState::Interrupted
            );
        }
    }

    #[test]
    fn finished_and_interrupted_runs_keep_their_state_and_may_still_be_driven() {
        let alive = |_: &str| Some(true);
        for recorded in [
            RunState::Succeeded,
            RunState::Failed,
            RunState::Cancelled,
            RunState::Interrupted,
        ] {
            let l = liveness(recorded, Some(&lease(at(5))), at(5), alive);
            assert_eq!((l.state, l.driven_by.as_deref()), (recorded, Some(HOLDER)));
            let l = liveness(recorded, Some(&lease(at(5))), at(50), unknown);
            assert_eq!((l.state, l.driven_by), (recorded, None));
            assert_eq!(liveness(recorded, None, at(99), unknown).state, recorded);
        }
    }

    #[test]
    fn leftovers_are_worded_with_their_step_and_what_runs() {
        let left = [
            LeftRunning::Process {
                step: "deploy".into(),
                pid: 4242,
            },
            LeftRunning::Job {
                step: "train".into(),
                executor: "slurm".into(),
                job_id: "77".into(),
            },
        ];
        assert_eq!(
            held_by_leftovers("R1", &left),
            "run R1's engine is gone but its step `deploy` (pid 4242), `train` (slurm job 77) still runs: handed over once it ends (`baton resume R1` stops it and takes the run over, `baton cancel R1` stops it)"
        );
    }

    #[test]
    fn holders_parse() {
        assert_eq!(parse_holder("pid 12 on box"), Some((12, "box")));
        assert_eq!(parse_holder("pid x on box"), None);
        assert_eq!(parse_holder("an engine somewhere"), None);
    }
}

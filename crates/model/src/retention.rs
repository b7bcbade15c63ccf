//! Which runs may be deleted (`baton runs rm`, `baton gc`): pure rules over a run's
//! [`Liveness`], so the commands and their tests agree.
use super::liveness::Liveness;
use super::state::RunState;
use super::time::Timestamp;
use std::time::Duration;

/// Why `run_id` cannot be deleted now; `None` when it can (finished or interrupted,
/// and no live engine holds it).
pub fn deletion_refusal(run_id: &str, l: &Liveness) -> Option<String> {
    if let Some(holder) = &l.driven_by {
        return Some(format!(
            "run {run_id} is driven by a live engine ({holder}); stop it or `baton cancel {run_id}` first"
        ));
    }
    match l.state {
        RunState::Succeeded
        | RunState::Failed
        | RunState::Cancelled
        | RunState::Skipped
        | RunState::Interrupted => None,
        // Unfinished without a live engine reads `interrupted`: this is a reader's
        // snapshot racing a new engine; let the operator look again.
        RunState::Pending | RunState::Queued | RunState::Running | RunState::Waiting => Some(
            format!("run {run_id} is {}; try again in a moment", l.state),
        ),
    }
}

/// Whether `gc --older-than OLDER_THAN` deletes a run that ended at `ended_at` (for an
/// interrupted run: its last recorded activity). Interrupted runs are kept unless
/// `include_interrupted`: `baton resume` may still continue them.
pub fn collectable(
    l: &Liveness,
    ended_at: Timestamp,
    now: Timestamp,
    older_than: Duration,
    include_interrupted: bool,
) -> bool {
    let eligible = match l.state {
        RunState::Succeeded | RunState::Failed | RunState::Cancelled | RunState::Skipped => true,
        RunState::Interrupted => include_interrupted,
        RunState::Pending | RunState::Queued | RunState::Running | RunState::Waiting => false,
    };
    eligible && l.driven_by.is_none() && now.since(ended_at) >= older_than
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Timestamp = Timestamp(1_700_000_000_000);
    const DAY: Duration = Duration::from_secs(86_400);

    fn l(state: RunState, driven_by: Option<&str>) -> Liveness {
        Liveness {
            state,
            driven_by: driven_by.map(str::to_string),
        }
    }

    #[test]
    fn a_driven_or_unfinished_run_is_refused_naming_the_holder() {
        let why = deletion_refusal("r1", &l(RunState::Succeeded, Some("pid 7 on box"))).unwrap();
        assert!(why.contains("pid 7 on box"), "{why}");
        assert!(deletion_refusal("r1", &l(RunState::Pending, None)).is_some());
        for s in [
            RunState::Succeeded,
            RunState::Failed,
            RunState::Cancelled,
            RunState::Interrupted,
        ] {
            assert_eq!(deletion_refusal("r1", &l(s, None)), None, "{s}");
        }
    }

    #[test]
    fn gc_takes_finished_runs_past_the_age_and_interrupted_ones_only_when_asked() {
        let old = Timestamp(NOW.0 - 2 * DAY.as_millis() as i64);
        let young = Timestamp(NOW.0 - 1000);
        let done = l(RunState::Failed, None);
        assert!(collectable(&done, old, NOW, DAY, false));
        assert!(!collectable(&done, young, NOW, DAY, false));
        // Exactly at the limit counts as old enough.
        assert!(collectable(
            &done,
            Timestamp(NOW.0 - DAY.as_millis() as i64),
            NOW,
            DAY,
            false
        ));
        let gone = l(RunState::Interrupted, None);
        assert!(!collectable(&gone, old, NOW, DAY, false));
        assert!(collectable(&gone, old, NOW, DAY, true));
        assert!(!collectable(&gone, young, NOW, DAY, true));
        let driven = l(RunState::Succeeded, Some("pid 1 on box"));
        assert!(!collectable(&driven, old, NOW, DAY, true));
        assert!(!collectable(
            &l(RunState::Running, None),
            old,
            NOW,
            DAY,
            true
        ));
    }
}

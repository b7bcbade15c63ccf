//! Which run a console opens on when none is named (`baton tui`): the one an operator
//! most likely came for, not merely the newest (under a per-minute schedule the newest
//! is always a heartbeat that just ended).
use crate::RunState;

/// Of a run list's states (newest first), the index of the run to open: the newest
/// waiting for a person; else the newest interrupted (its engine is gone); else the
/// one going longest (a deploy of an hour, not the heartbeat of a second); else the
/// newest.
pub fn opening_run(states: &[RunState]) -> Option<usize> {
    let newest_in = |state: RunState| states.iter().position(|s| *s == state);
    newest_in(RunState::Waiting)
        .or_else(|| newest_in(RunState::Interrupted))
        .or_else(|| states.iter().rposition(|s| !s.is_final()))
        .or_else(|| (!states.is_empty()).then_some(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use RunState::*;

    #[test]
    fn a_person_s_wait_then_a_gone_engine_then_the_longest_going_then_the_newest() {
        // Newest first: a heartbeat that just succeeded, then two runs going.
        assert_eq!(opening_run(&[Succeeded, Running, Running]), Some(2));
        assert_eq!(
            opening_run(&[Succeeded, Interrupted, Running, Running]),
            Some(1)
        );
        assert_eq!(
            opening_run(&[Succeeded, Interrupted, Waiting, Running]),
            Some(2)
        );
        assert_eq!(opening_run(&[Succeeded, Failed]), Some(0));
        assert_eq!(opening_run(&[]), None);
    }
}

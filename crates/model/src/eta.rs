//! The time a run has left (issue 45 point 6): from how long its steps took before
//! (`expected`, their durations in the workflow's last successful run), along the
//! longest chain of needs still to run, never from counts of steps (a 900 s migration
//! is not "38.6 s left" because the steps before it were quick). `Unknown` where a
//! duration is not known, a step is held, or the engine is gone; a gate (now or ahead)
//! adds the time a person takes to decide, which nobody knows: `AfterDecisions`.
use super::state::{RunState, StepState};
use super::time::Timestamp;
use super::view::{Eta, RunView};
use std::time::Duration;

/// The time `view` has left at `now`, each step's duration as `expected` says.
pub(crate) fn eta(
    view: &RunView,
    now: Timestamp,
    expected: &dyn Fn(&str) -> Option<Duration>,
) -> Eta {
    let steps = &view.steps;
    if view.state.is_final() || steps.iter().all(|s| s.state.is_final()) {
        return Eta::None;
    }
    if view.state == RunState::Interrupted {
        return Eta::Unknown;
    }
    // One step whose time is not known makes the whole unknown: found without
    // allocating (the header asks on every frame, of runs of 100,000 steps).
    if (0..steps.len()).any(|i| own_left(view, i, now, expected).is_none()) {
        return Eta::Unknown;
    }
    // Each step's end from now, needs first: a stack, not recursion (a chain of
    // 100,000 steps).
    let mut end: Vec<Option<Option<Duration>>> = vec![None; steps.len()];
    for root in 0..steps.len() {
        let mut stack = vec![(root, false)];
        while let Some((i, ready)) = stack.pop() {
            if end[i].is_some() {
                continue;
            }
            if !ready {
                stack.push((i, true));
                stack.extend(
                    steps[i]
                        .needs
                        .iter()
                        .filter(|&&j| j < steps.len() && end[j].is_none())
                        .map(|&j| (j, false)),
                );
                continue;
            }
            let after = steps[i]
                .needs
                .iter()
                .filter_map(|&j| end.get(j).copied().flatten())
                .try_fold(Duration::ZERO, |m, e| e.map(|e| m.max(e)));
            let own = own_left(view, i, now, expected);
            end[i] = Some(after.and_then(|a| own.map(|o| a + o)));
        }
    }
    let decides = steps.iter().any(|s| {
        s.state == StepState::WaitingApproval || (s.state == StepState::Pending && s.has_gate)
    });
    end.into_iter()
        .map(|e| e.flatten())
        .try_fold(Duration::ZERO, |m, e| e.map(|e| m.max(e)))
        .map_or(Eta::Unknown, |d| {
            if decides {
                Eta::AfterDecisions(d)
            } else {
                Eta::About(d)
            }
        })
}

/// How long step `i` has left once its needs are done.
fn own_left(
    view: &RunView,
    i: usize,
    now: Timestamp,
    expected: &dyn Fn(&str) -> Option<Duration>,
) -> Option<Duration> {
    let s = &view.steps[i];
    if s.state.is_final() || s.state == StepState::Ready || s.fan.is_some() {
        // Done; a service that is up; a fanned-out step, whose instances are counted.
        return Some(Duration::ZERO);
    }
    let took = expected(&s.id)?;
    match s.state {
        // Past its usual time: it may end any moment.
        StepState::Running => {
            Some(took.saturating_sub(s.started_at.map_or(Duration::ZERO, |t| now.since(t))))
        }
        StepState::RetryWait => Some(took + s.retry_at.map_or(Duration::ZERO, |r| r.since(now))),
        // At a gate, now or ahead: its run time once a person decides (when, nobody
        // knows: the estimate says so).
        StepState::Pending | StepState::Queued | StepState::WaitingApproval => Some(took),
        StepState::Ready
        | StepState::Succeeded
        | StepState::Failed
        | StepState::Skipped
        | StepState::UpstreamFailed
        | StepState::Rejected
        | StepState::Cancelled
        | StepState::Interrupted
        | StepState::Compensating
        | StepState::Compensated
        | StepState::CompensationFailed
        | StepState::Held => None,
    }
}

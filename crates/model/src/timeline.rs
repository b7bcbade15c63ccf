//! A step's time as spans (issue 45 point 8): what its recorded transitions say it did
//! when. The core keeps every step's transitions ([`Transition`], from its
//! `step_state_changed` events, replayed the same in every reader) and the view carries
//! them (`StepView::history`); [`segments`] reads them as queue waits, attempts, gate
//! waits, retry backoffs and holds. The console's Timeline tab lays these out on a
//! time axis.
use super::state::StepState;
use super::time::Timestamp;
use serde::{Deserialize, Serialize};

/// One recorded transition of a step: the state it entered, for which attempt, when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    pub state: StepState,
    pub attempt: u32,
    pub at: Timestamp,
}

/// A span a running attempt was frozen (`baton hold`, `P`, or the engine at a budget's
/// ceiling: its process group stopped, its timeout's clock with it), from its
/// `step_held` to its `step_released` (`to` is `None` while it still is).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Freeze {
    pub attempt: u32,
    pub from: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Timestamp>,
}

impl Freeze {
    /// How long it was frozen up to `now` (a freeze still on counts to `now`).
    pub fn length(&self, now: Timestamp) -> std::time::Duration {
        self.to.unwrap_or(now).max(self.from).since(self.from)
    }
}

/// What a step was doing over a span of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentKind {
    /// Queued: its needs were met (or its gate approved), waiting for a slot.
    Queue,
    /// An attempt's run time (a ready service runs on), and how it ended.
    Attempt { attempt: u32, end: AttemptEnd },
    /// Its gate was open, waiting for a person (or a policy, or its timeout).
    Gate,
    /// Between a failed attempt and the next: the retry's backoff.
    Backoff,
    /// Held (`baton hold`) before it started.
    Held,
}

/// How an attempt ended, as the timeline tells attempts apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptEnd {
    Succeeded,
    /// Failed, timed out, cancelled or interrupted: anything but a success.
    Failed,
    /// Still running at the end of the history (or where its engine stopped).
    Running,
}

/// A span of a step's time: `from` to `to`, doing `kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub kind: SegmentKind,
    pub from: Timestamp,
    pub to: Timestamp,
}

/// The spans a step's `history` (oldest first) describes, oldest first. A span still
/// open at the last transition (the step runs, waits in its queue or at its gate) ends
/// at `end`: the clock, which for a run whose engine is gone stops at its last sign of
/// life. Nothing is ever drawn past `end`.
pub fn segments(history: &[Transition], end: Timestamp) -> Vec<Segment> {
    let mut out = Vec::new();
    for (n, t) in history.iter().enumerate() {
        let after = &history[n + 1..];
        // A span lasts until the next transition; an attempt until the first that is
        // not `ready` (a ready service's attempt goes on).
        let until = |skip_ready: bool| {
            after
                .iter()
                .find(|x| !(skip_ready && x.state == StepState::Ready))
                .map_or(end, |x| x.at)
                .min(end)
        };
        let (kind, to) = match t.state {
            StepState::Queued => (SegmentKind::Queue, until(false)),
            StepState::WaitingApproval => (SegmentKind::Gate, until(false)),
            StepState::RetryWait => (SegmentKind::Backoff, until(false)),
            StepState::Held => (SegmentKind::Held, until(false)),
            StepState::Running => {
                let attempt = t.attempt;
                let end = attempt_end(after);
                (SegmentKind::Attempt { attempt, end }, until(true))
            }
            // `ready` is part of its attempt; a final state is no span.
            StepState::Pending
            | StepState::Ready
            | StepState::Succeeded
            | StepState::Failed
            | StepState::Skipped
            | StepState::UpstreamFailed
            | StepState::Rejected
            | StepState::Cancelled
            | StepState::Interrupted
            | StepState::Compensating
            | StepState::Compensated
            | StepState::CompensationFailed => continue,
        };
        if t.at <= to {
            out.push(Segment {
                kind,
                from: t.at,
                to,
            });
        }
    }
    out
}

/// How an attempt ended, from the transitions `after` its start: by the first that is
/// not `ready`.
fn attempt_end(after: &[Transition]) -> AttemptEnd {
    match after.iter().find(|x| x.state != StepState::Ready) {
        None => AttemptEnd::Running,
        Some(x) if x.state == StepState::Succeeded => AttemptEnd::Succeeded,
        // Compensating follows a success: the attempt had succeeded.
        Some(x) if x.state == StepState::Compensating => AttemptEnd::Succeeded,
        Some(_) => AttemptEnd::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Timestamp = Timestamp(1_700_000_000_000);

    fn t(state: StepState, attempt: u32, secs: i64) -> Transition {
        Transition {
            state,
            attempt,
            at: Timestamp(T0.0 + secs * 1000),
        }
    }

    fn at(secs: i64) -> Timestamp {
        Timestamp(T0.0 + secs * 1000)
    }

    fn seg(kind: SegmentKind, from: i64, to: i64) -> Segment {
        Segment {
            kind,
            from: at(from),
            to: at(to),
        }
    }

    fn attempt(attempt: u32, end: AttemptEnd) -> SegmentKind {
        SegmentKind::Attempt { attempt, end }
    }

    /// A gate, a failed attempt, a backoff, a second attempt that succeeds: every span
    /// in order, each attempt told apart by its number and its end.
    #[test]
    fn a_gated_step_retried_once_is_its_waits_and_both_attempts() {
        use StepState::*;
        let h = [
            t(WaitingApproval, 0, 0),
            t(Queued, 0, 10),
            t(Running, 1, 12),
            t(RetryWait, 1, 20),
            t(Queued, 2, 23),
            t(Running, 2, 24),
            t(Succeeded, 2, 30),
        ];
        assert_eq!(
            segments(&h, at(100)),
            vec![
                seg(SegmentKind::Gate, 0, 10),
                seg(SegmentKind::Queue, 10, 12),
                seg(attempt(1, AttemptEnd::Failed), 12, 20),
                seg(SegmentKind::Backoff, 20, 23),
                seg(SegmentKind::Queue, 23, 24),
                seg(attempt(2, AttemptEnd::Succeeded), 24, 30),
            ]
        );
    }

    /// A running attempt grows with the clock, and stops where the clock stops (an
    /// engine's last sign of life): never past `end`.
    #[test]
    fn an_open_attempt_ends_at_the_clock() {
        use StepState::*;
        let h = [t(Queued, 0, 0), t(Running, 1, 2)];
        assert_eq!(
            segments(&h, at(9)),
            vec![
                seg(SegmentKind::Queue, 0, 2),
                seg(attempt(1, AttemptEnd::Running), 2, 9)
            ]
        );
        assert_eq!(
            segments(&h, at(15))[1],
            seg(attempt(1, AttemptEnd::Running), 2, 15)
        );
    }

    /// A service that became ready runs on: one attempt until it stops.
    #[test]
    fn a_ready_service_is_one_attempt() {
        use StepState::*;
        let h = [
            t(Queued, 0, 0),
            t(Running, 1, 1),
            t(Ready, 1, 3),
            t(Succeeded, 1, 40),
        ];
        assert_eq!(
            segments(&h, at(50)),
            vec![
                seg(SegmentKind::Queue, 0, 1),
                seg(attempt(1, AttemptEnd::Succeeded), 1, 40)
            ]
        );
    }
}

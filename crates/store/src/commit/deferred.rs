//! The steps' and attempts' patches an engine's commits leave unwritten: its events
//! are committed at once, their `steps` and `attempts` rows a few commits later, in
//! one write of a patch per row however many events moved it (four pages a commit
//! otherwise: docs/performance/throughput.md, "What the projection costs a commit").
//!
//! While patches are pending the run's watermark (`read::catch_up`) says where its
//! rows stop, so every reader folds the events past it, or brings the rows up first;
//! an engine that dies leaves them to the next reader. The patches are kept with what
//! the commit knows of its run (`commit::known`), only while nothing else wrote the
//! store; a commit that does not hold them brings the rows up from the events
//! (`catch_up`) before it appends.
//!
//! An attempt's log (`log_path`, `log_tail`) waits with them: the commit that records
//! it keeps it on its batch's first event's row (`read::catch_up::logs`), which a kill
//! cannot separate from the events. A batch without events writes the rows at once.
//!
//! The run's summary's row waits with them (the attempts ended counted here until it
//! is written), the summary riding on each batch's last event meanwhile
//! (`read::summaries`); a batch that moves the summary's flags writes the rows.
use crate::read::project::{AttemptOps, Projection, StepOps};
use baton_model::state_summary::StateSummary;
use baton_model::{StepState, Timestamp};
use std::collections::HashMap;
use std::time::Duration;

/// The most events whose rows wait: the patches are written at this many.
pub(crate) const MOST_EVENTS: usize = 500;

/// How long the first of them waits at most (checked at each commit), on the world's
/// clock (`Timestamp::now`: the wall in production, the seed's in the simulator, so a
/// seed writes its rows at the same commits on any machine).
pub(crate) const LONGEST: Duration = Duration::from_secs(1);

/// The patches of the events after the run's watermark, folded as `project::fold`
/// folds a batch: one per touched row, in the order first touched.
#[derive(Debug, Clone, Default)]
pub(crate) struct Deferred {
    /// The run's watermark they start after (`None`: nothing pending, no watermark).
    from: Option<u64>,
    events: usize,
    since: Option<Timestamp>,
    steps: Vec<(String, StepOps)>,
    step_at: HashMap<String, usize>,
    attempts: Vec<((String, u32), AttemptOps<'static>)>,
    attempt_at: HashMap<(String, u32), usize>,
    /// A pending log has a tail: the rows' write empties the carriers
    /// (`catch_up::logs_held`), so a tail is kept once. Carriers of paths alone stay:
    /// no reader reads one before the watermark, and rewriting them rewrites every
    /// event page since the last write.
    tails: bool,
    /// The attempts the events ended (finished, failed), which the run's summary's row
    /// does not count yet: its row waits with the patches (`read::summaries`).
    ended: (u64, u64),
    /// The flags (waiting, fanned) the summary's row holds as this holder's commit
    /// wrote it (`None`: read from the row).
    flags: Option<(bool, bool)>,
}

impl Deferred {
    /// Nothing pending: the rows hold every event (no watermark).
    pub(crate) fn is_empty(&self) -> bool {
        self.events == 0
    }

    /// The run's watermark the patches start after (`None`: nothing pending).
    pub(crate) fn from(&self) -> Option<u64> {
        self.from
    }

    /// The watermark is set at `seq`, where the patches start.
    pub(crate) fn starts_at(&mut self, seq: u64) {
        self.from = Some(seq);
    }

    /// A batch's patches, after those pending: its logs' only if it has events, on
    /// whose rows they are kept (the caller writes those of a batch without).
    pub(crate) fn add(&mut self, p: &Projection<'_>, events: usize) {
        if events > 0 && self.since.is_none() {
            self.since = Some(Timestamp::now());
        }
        self.events += events;
        for (step, ops) in &p.steps {
            match self.step_at.get(*step) {
                Some(&i) => self.steps[i].1.then(ops.clone()),
                None => {
                    self.step_at.insert((*step).to_string(), self.steps.len());
                    self.steps.push(((*step).to_string(), ops.clone()));
                }
            }
        }
        for ((step, attempt), ops) in &p.attempts {
            let ops = if events > 0 {
                self.tails |= has_tail(ops);
                ops.owned()
            } else {
                ops.without_log()
            };
            if ops.state.is_none() && ops.finish.is_none() && ops.log.is_none() {
                continue;
            }
            let key = ((*step).to_string(), *attempt);
            match self.attempt_at.get(&key) {
                Some(&i) => self.attempts[i].1.then(ops),
                None => {
                    self.attempt_at.insert(key.clone(), self.attempts.len());
                    self.attempts.push((key, ops));
                }
            }
        }
    }

    /// Whether a pending log has a tail, kept on its batch's first event's row.
    pub(crate) fn tails(&self) -> bool {
        self.tails
    }

    /// The state the pending patches leave a step's row in, if they move it.
    pub(crate) fn state(&self, step: &str) -> Option<StepState> {
        let i = *self.step_at.get(step)?;
        self.steps[i].1.state.and_then(StepState::parse)
    }

    /// Whether the patches are written with a batch of `events` more: as many events
    /// as [`MOST_EVENTS`], or the first of them as old as [`LONGEST`].
    pub(crate) fn due_with(&self, events: usize) -> bool {
        self.events + events >= MOST_EVENTS
            || self.since.is_some_and(|t| waited(t, Timestamp::now()))
    }

    /// The attempts ended that the summary's row does not count yet, with `more`.
    pub(crate) fn ended_with(&self, more: (u64, u64)) -> (u64, u64) {
        (self.ended.0 + more.0, self.ended.1 + more.1)
    }

    /// A waiting batch ended `more` attempts: the summary's row counts them later.
    pub(crate) fn count_ended(&mut self, more: (u64, u64)) {
        self.ended = self.ended_with(more);
    }

    /// The flags the summary's row holds, as this holder wrote it.
    pub(crate) fn flags(&self) -> Option<(bool, bool)> {
        self.flags
    }

    /// The summary's row was written with `flags`.
    pub(crate) fn wrote_flags(&mut self, flags: (bool, bool)) {
        self.flags = Some(flags);
    }

    /// The patches as one batch's projection, to write (`project::write_steps`).
    pub(crate) fn projection(&self) -> Projection<'_> {
        Projection {
            steps: self
                .steps
                .iter()
                .map(|(s, ops)| (s.as_str(), ops.clone()))
                .collect(),
            attempts: self
                .attempts
                .iter()
                .map(|((s, a), ops)| ((s.as_str(), *a), ops.clone()))
                .collect(),
            ..Projection::default()
        }
    }
}

/// Whether patches pending since `since` have waited [`LONGEST`] at `now` (a clock
/// gone back: written now, as a lease's heartbeat is).
fn waited(since: Timestamp, now: Timestamp) -> bool {
    !(0..LONGEST.as_millis() as i64).contains(&(now.0 - since.0))
}

/// The run idles as of a batch (`summary`, the core's): no step of it has a process
/// or waits in line to start one, so its engine may commit nothing for a long while
/// (a gate, a timer, a hold, its end): its rows are written now.
pub(crate) fn idles(summary: &StateSummary) -> bool {
    !summary.tallies.steps.iter().any(|(state, n)| {
        *n > 0 && StepState::parse(state).is_some_and(|s| s.has_process() || s == StepState::Queued)
    })
}

/// Whether an attempt's patch records a log with a tail (not its path alone).
pub(crate) fn has_tail(ops: &AttemptOps<'_>) -> bool {
    ops.log.as_ref().is_some_and(|(_, tail)| !tail.is_empty())
}

#[cfg(test)]
#[path = "deferred_tests.rs"]
mod tests;

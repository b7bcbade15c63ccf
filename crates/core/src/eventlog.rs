//! What the core remembers of the events it emitted or followed: how many there were and
//! the latest (its sequence number and time are all a decision reads). The history
//! itself is the store's; the core keeps it only in unit tests, which replay from it.
//! (A 100,000-step run emits half a million events: kept here they were ~90 MB.)
use baton_model::{Event, Timestamp};

#[derive(Debug, Clone, Default)]
pub(super) struct EventLog {
    count: usize,
    /// The latest event's sequence number and time: all that is read of it (kept
    /// whole, it was a copy of every event the core emitted).
    last: Option<(u64, Timestamp)>,
    #[cfg(test)]
    history: Vec<Event>,
}

impl EventLog {
    pub(super) fn len(&self) -> usize {
        self.count
    }

    pub(super) fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The latest event's (seq, at).
    pub(super) fn last(&self) -> Option<(u64, Timestamp)> {
        self.last
    }

    pub(super) fn push(&mut self, ev: &Event) {
        self.count += 1;
        #[cfg(test)]
        self.history.push(ev.clone());
        self.last = Some((ev.seq, ev.at));
    }

    #[cfg(test)]
    pub(super) fn history(&self) -> &[Event] {
        &self.history
    }
}

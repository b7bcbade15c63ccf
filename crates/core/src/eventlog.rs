//! What the core remembers of the events it emitted or followed: how many there were and
//! the latest (its sequence number and time are all a decision reads). The history
//! itself is the store's; the core keeps it only in unit tests, which replay from it.
//! (A 100,000-step run emits half a million events: kept here they were ~90 MB.)
use baton_model::Event;

#[derive(Debug, Clone, Default)]
pub(super) struct EventLog {
    count: usize,
    last: Option<Event>,
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

    pub(super) fn last(&self) -> Option<&Event> {
        self.last.as_ref()
    }

    pub(super) fn push(&mut self, ev: Event) {
        self.count += 1;
        #[cfg(test)]
        self.history.push(ev.clone());
        self.last = Some(ev);
    }

    #[cfg(test)]
    pub(super) fn history(&self) -> &[Event] {
        &self.history
    }
}

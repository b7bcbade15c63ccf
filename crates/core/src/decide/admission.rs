//! A run in a concurrency group: how it opens (running, queued or skipped, as the
//! store decided: `session::concurrency`) and its admission once the group is free.
//! The core only records the decision; the store's transaction makes it.
use super::*;

impl Core {
    /// Start a new run as `opening` says: [`Opening::Run`] is [`Core::start`];
    /// [`Opening::Queue`] records the run `queued` and starts nothing until
    /// [`Input::Admitted`]; [`Opening::Skip`] ends it at once, `skipped`, every step
    /// skipped with the reason.
    pub fn start_as(&mut self, opening: Opening, now: Timestamp) -> Vec<Effect> {
        let (state, reason) = match opening {
            Opening::Run => return self.start(now),
            Opening::Queue { reason } => (RunState::Queued, reason),
            Opening::Skip { reason } => (RunState::Skipped, reason),
        };
        let mut fx = Vec::new();
        if !self.events.is_empty() {
            return fx;
        }
        self.emit(self.run_started(), now, &mut fx);
        self.record_fork(now, &mut fx);
        self.record_start_labels(now, &mut fx);
        if state == RunState::Skipped {
            self.stop_all(StepState::Skipped, &reason, now, &mut fx);
        }
        let kind = EventKind::RunStateChanged {
            state,
            reason: Some(reason),
        };
        self.emit(kind, now, &mut fx);
        self.settle(now, &mut fx);
        fx
    }

    /// The group is free and this queued run holds it now: it starts.
    pub(super) fn admitted(&mut self, reason: String, now: Timestamp, fx: &mut Fx) {
        if !self.queued || self.cancel_requested || self.finished {
            return;
        }
        let kind = EventKind::RunStateChanged {
            state: RunState::Running,
            reason: Some(reason),
        };
        self.emit(kind, now, fx);
    }

    /// A newer run replaced this queued one in its group's line: it can never hold the
    /// group, so it ends, cancelled, under `engine` with the reason. The replacing run
    /// also sends a cancel (`session::concurrency::follow_up`); whichever comes first
    /// is the one on record, so a cancel that never arrived (this engine stopped while
    /// it waited, its sender killed) still ends the run.
    pub(super) fn replaced(&mut self, group: &str, now: Timestamp, fx: &mut Fx) {
        if !self.waits_for_group() || self.cancel_requested {
            return;
        }
        let reason = format!(
            "replaced in concurrency group `{group}`: a newer run took its place in line (max_pending)"
        );
        let kind = EventKind::CancelRequested {
            actor: "engine".into(),
            reason: Some(reason.clone()),
        };
        self.emit(kind, now, fx);
        self.stop_all(StepState::Cancelled, &reason, now, fx);
    }

    /// Recorded `queued` and not admitted yet (the driver asks the store for the group).
    pub fn waits_for_group(&self) -> bool {
        self.queued && !self.finished && self.decided.is_none()
    }

    /// Waiting for its group: nothing is scheduled (a cancel still ends it).
    pub(super) fn held_by_group(&self) -> bool {
        self.queued && !self.cancel_requested
    }
}

//! A run another engine drives (or none), rebuilt from its events and kept current as
//! new ones arrive: what the console shows of a run it does not drive.
use super::prepare::{PlanSource, rebuild};
use baton_core::Core;
use baton_model::health;
use baton_model::view::GoldenSignals;
use baton_model::{RunState, RunView, Timestamp};
use baton_store::Store;

/// The run on screen, rebuilt from its events.
#[derive(Default)]
pub struct Follow {
    run_id: Option<String>,
    core: Option<Core>,
    error: Option<String>,
}

impl Follow {
    pub fn run_id(&self) -> Option<&str> {
        self.run_id.as_deref()
    }

    /// Why the run could not be rebuilt, if it could not.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    pub fn open(&mut self, store: &Store, run_id: &str) {
        self.run_id = Some(run_id.to_string());
        self.core = None;
        self.error = None;
        // The recorded text only: the console shows commands and environments, which
        // the file as it is now could show unmasked (see `inspect::replayed`).
        match rebuild(store, run_id, PlanSource::Recorded, &[], false) {
            Ok(core) => self.core = Some(core),
            Err(e) => self.error = Some(e.to_string()),
        }
    }

    pub fn close(&mut self) {
        *self = Follow::default();
    }

    /// Whether the followed run can still change by itself.
    pub fn is_live(&self) -> bool {
        self.core
            .as_ref()
            .is_some_and(|c| !c.run_state().is_final())
    }

    /// Apply events that arrived since the last look; true when something changed
    /// (a tampered history drops the run: [`Follow::error`] says why).
    pub fn update(&mut self, store: &Store) -> bool {
        let (Some(run_id), Some(core)) = (self.run_id.clone(), self.core.as_mut()) else {
            return false;
        };
        let seen = core.last_seq();
        let events = match store.events_after(&run_id, seen) {
            Ok(events) => events,
            // A history that is not what was committed is not shown (nor obeyed).
            Err(e @ baton_store::StoreError::Tampered { .. }) => {
                self.core = None;
                self.error = Some(e.to_string());
                return true;
            }
            // Busy and the like: the next look tries again.
            Err(_) => return false,
        };
        if events.is_empty() {
            return false;
        }
        for ev in &events {
            if core.follow(ev).is_err() {
                // Out of step (should not happen): rebuild from scratch.
                self.open(store, &run_id);
                return true;
            }
        }
        true
    }

    pub fn view(&self, store: &Store) -> Option<RunView> {
        self.view_at(store, Timestamp::now())
    }

    /// What the console shows of the followed run at `now`: the replayed core's view
    /// with what the store knows beside it, as [`super::inspect::inspect`] reads it.
    pub fn view_at(&self, store: &Store, now: Timestamp) -> Option<RunView> {
        Some(super::inspect::read(store, self.core.as_ref()?, now))
    }

    /// What of the followed run at `now` says what waits on a person in it
    /// (`inspect::read_waiting`): no log, no look at this host's processes.
    pub(crate) fn waiting_at(&self, store: &Store, now: Timestamp) -> Option<RunView> {
        Some(super::inspect::read_waiting(
            store,
            self.core.as_ref()?,
            now,
        ))
    }
}

/// What the console shows before any run exists, or when a run cannot be rebuilt.
pub(crate) fn empty_view(title: &str) -> RunView {
    RunView {
        run_id: String::new(),
        workflow: title.to_string(),
        description: None,
        state: RunState::Pending,
        driven_by: None,
        waiting_for: None,
        operator: String::new(),
        labels: Default::default(),
        source_path: Default::default(),
        workflow_hash: None,
        started_at: None,
        finished_at: None,
        summary: None,
        forked_from: None,
        forked_into: Vec::new(),
        triggers: Default::default(),
        parent: None,
        now: Timestamp::now(),
        engine_gone_at: None,
        health: health::compute([], &[]),
        budget: None,
        deadlines: Vec::new(),
        steps: Vec::new(),
        gates: Vec::new(),
        errors: Vec::new(),
        audit: Vec::new(),
        notes: Vec::new(),
        signals: GoldenSignals::default(),
        version: 0,
        actions: Default::default(),
    }
}

//! Folds of the run's own events: its start, resumes, states, fork link, cancel, end.
use super::*;
use baton_model::EventKind;

impl Core {
    /// Fold `RunStarted`: who started it and how, its deadline, its first steps.
    pub(super) fn fold_run_started(&mut self, ev: &Event) {
        let EventKind::RunStarted {
            operator,
            seed,
            auto_approve,
            slot,
            zone,
            ..
        } = &ev.kind
        else {
            return;
        };
        self.zone = zone.clone();
        self.arm_deadlines(ev.at, zone.as_deref());
        let (at, seed, auto_approve, slot) = (ev.at, *seed, *auto_approve, *slot);
        if self.cfg.slot != slot {
            // A replay learns the slot here: the run `env` may read it.
            self.cfg.slot = slot;
            self.run_env = resolve_run_env(&self.plan, &self.cfg);
        }
        self.operator = operator.clone();
        self.auto_actor = operator.clone();
        self.auto_recorded = auto_approve;
        self.seed = seed;
        self.cfg.auto_approve = auto_approve;
        self.started_at = Some(at);
        self.deadline = self.plan.timeout.map(|d| at.add(d));
        if let Some(d) = self.deadline {
            self.timers.insert((d, Timer::RunDeadline));
        }
        for i in 0..self.steps.len() {
            if self.steps[i].unsettled_needs == 0 {
                self.to_eval.push_back(i);
            }
        }
    }

    pub(super) fn fold_run_resumed(&mut self, auto_approve: bool, operator: &str) {
        // Turned on by this resume: the resumer passed the flag.
        if auto_approve && !self.auto_recorded {
            self.auto_actor = operator.to_string();
        }
        self.auto_recorded = auto_approve;
        self.cfg.auto_approve = auto_approve;
    }

    pub(super) fn fold_run_state(&mut self, state: RunState) {
        // Queued for its concurrency group until it runs or ends; an engine
        // stopping meanwhile leaves it queued.
        self.queued = match state {
            RunState::Queued => true,
            RunState::Interrupted => self.queued,
            _ => false,
        };
        if state.is_final() {
            self.decided = Some(state);
            self.budget_gate = None;
        } else if matches!(state, RunState::Running | RunState::Waiting) {
            if self.run_state.is_final() {
                // Reopened by an operator (retry/mark after the run had finished);
                // a cancelled run's cancel is over.
                self.finished = false;
                self.finished_at = None;
                self.cancel_requested = false;
                self.budget_rejected = None;
            }
            if self.run_state != RunState::Interrupted {
                self.decided = None;
            }
        }
        self.run_state = state;
    }

    pub(super) fn fold_forked(&mut self, from_run: &str, from_step: &str) {
        self.forked_from = Some(baton_model::view::ForkLink {
            run: from_run.to_string(),
            step: from_step.to_string(),
        });
    }

    pub(super) fn fold_cancel_requested(&mut self) {
        self.cancel_requested = true;
        self.budget_gate = None;
    }

    pub(super) fn fold_run_finished(&mut self, at: Timestamp, state: RunState, summary: &str) {
        self.watch_run_done(at);
        self.finished = true;
        self.finished_at = Some(at);
        self.summary = Some(summary.to_string());
        self.run_state = state;
        self.decided = Some(state);
    }
}

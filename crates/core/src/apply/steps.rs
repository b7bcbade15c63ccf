//! Folds of what a step did besides moving between states (`transition.rs` moves it):
//! its ending, outputs, reuse, fallbacks, retries, marks and errors.
use super::*;
use baton_model::EventKind;
use std::collections::BTreeMap;

impl Core {
    /// Fold `StepStateChanged`: the transition, and what it says of the step.
    pub(super) fn fold_step_state(&mut self, ev: &Event) {
        let EventKind::StepStateChanged {
            step,
            state,
            attempt,
            reason,
        } = &ev.kind
        else {
            return;
        };
        let Some(i) = self.step_index(step) else {
            return;
        };
        let state = *state;
        match reason.clone().filter(|_| state.is_not_run()) {
            Some(why) => self.steps[i].more.why = Some(why),
            None => {
                if let Some(m) = self.steps[i].more.written() {
                    m.why = None;
                }
            }
        }
        // A mark describes the state it set, and no later one.
        if self.steps[i]
            .more
            .marked
            .as_ref()
            .is_some_and(|m| m.state != state)
        {
            self.steps[i].more.marked = None;
        }
        if self.passes_signed_gate_unapproved(i, state) {
            self.passage_unsigned = Some((ev.seq, step.clone()));
        }
        self.fold_left_running(i, state);
        self.set_state(i, state, *attempt, ev.at);
    }

    pub(super) fn fold_fanned_out(
        &mut self,
        step: &str,
        instances: &[(String, serde_json::Value)],
    ) {
        if let Some(i) = self.step_index(step) {
            self.grow(i, instances);
        }
    }

    pub(super) fn fold_cached(&mut self, step: &str, from_run: &str) {
        if let Some(i) = self.step_index(step) {
            self.steps[i].more.cached_from = Some(from_run.to_string());
            // Nothing ran: the call and declared cost counted at its start are given back.
            self.used_calls = self.used_calls.saturating_sub(1);
            self.used_cost = (self.used_cost - self.plan.steps[i].cost).max(0.0);
        }
    }

    pub(super) fn fold_outputs_kept(&mut self, step: &str, outputs: &BTreeMap<String, String>) {
        if let Some(i) = self.step_index(step) {
            self.steps[i].outputs = outputs.clone();
        }
    }

    /// Fold `StepReused`: the outcome a fork's step keeps from the run it came from.
    pub(super) fn fold_reused(&mut self, ev: &Event) {
        let EventKind::StepReused {
            step,
            from_run,
            from_attempt,
            state,
            outputs,
            artifacts,
        } = &ev.kind
        else {
            return;
        };
        self.fold_artifacts(step, *from_attempt, artifacts, Some(from_run));
        if let Some(i) = self.step_index(step) {
            let s = &mut self.steps[i];
            s.more.reused = Some(Box::new((from_run.clone(), *from_attempt)));
            s.outputs = outputs.clone();
            s.exit_code = (*state == StepState::Succeeded).then_some(0);
        }
    }

    /// Fold `StepFinished`: how the attempt ended, what it output and used.
    pub(super) fn fold_finished(&mut self, ev: &Event) {
        let EventKind::StepFinished {
            step,
            attempt,
            outcome,
            duration_ms,
            outputs,
            usage,
            ..
        } = &ev.kind
        else {
            return;
        };
        let Some(i) = self.step_index(step) else {
            return;
        };
        let (duration_ms, usage) = (*duration_ms, *usage);
        let s = &mut self.steps[i];
        s.exit_code = None;
        s.signal = None;
        s.timed_out = false;
        match outcome {
            StepOutcome::Exited { exit_code } => s.exit_code = Some(*exit_code),
            StepOutcome::Signalled { signal } => s.signal = Some(*signal),
            StepOutcome::TimedOut => s.timed_out = true,
            StepOutcome::Killed
            | StepOutcome::SpawnFailed { .. }
            | StepOutcome::Unreached { .. }
            | StepOutcome::Lost { .. } => {}
        }
        s.duration_ms = Some(duration_ms);
        s.outputs = outputs.clone();
        s.pgid = None;
        s.output_file = None;
        if let Some(m) = s.more.written() {
            m.job = None;
        }
        self.durations.push(duration_ms);
        let ok = *outcome == StepOutcome::Exited { exit_code: 0 };
        self.fold_finished_artifacts(i, *attempt, ok);
        // What was read while it ran gives way to the whole file's sum.
        self.fold_usage(i, usage, false);
        self.budget_gate_passes_on(i, step);
    }

    pub(super) fn fold_fell_back(&mut self, step: &str, attempt: u32, alternative: u32) {
        if let Some(i) = self.step_index(step) {
            let s = &mut self.steps[i];
            s.alternative = alternative;
            s.attempt_base = attempt;
        }
    }

    /// A retry, or with `repetition` the next execution of a `repeat`: its retries
    /// count from its first attempt, `next`.
    pub(super) fn fold_retry_scheduled(
        &mut self,
        step: &str,
        due: Timestamp,
        (next, repetition): (u32, Option<u32>),
    ) {
        if let Some(i) = self.step_index(step) {
            if let Some(n) = repetition {
                self.steps[i].execution = n;
                self.steps[i].attempt_base = next.saturating_sub(1);
            }
            if let Some(old) = self.steps[i].retry_at.take() {
                self.timers.remove(&(old, Timer::Retry(i)));
            }
            self.steps[i].retry_at = Some(due);
            self.timers.insert((due, Timer::Retry(i)));
        }
    }

    pub(super) fn fold_error(&mut self, error: &ErrorRecord) {
        let n = self.errors.len();
        self.error_ids.insert(error.id.clone(), n);
        if let Some(i) = error.step.as_deref().and_then(|s| self.step_index(s)) {
            if error.open {
                self.steps[i].more.open_errors.push(n);
            }
            self.steps[i].last_error = Some(n);
        }
        self.errors.push(error.clone());
    }

    pub(super) fn fold_retried(&mut self, step: &str) {
        if let Some(i) = self.step_index(step) {
            let s = &mut self.steps[i];
            s.attempt_base = s.attempts;
            s.alternative = 0;
            if s.gate.decided == Some(Decision::Rejected) {
                s.gate.decided = None;
            }
        }
    }

    /// Fold `StepMarked`: the mark, and the outputs it gave.
    pub(super) fn fold_marked(&mut self, ev: &Event) {
        let EventKind::StepMarked {
            step,
            state,
            actor,
            reason,
            outputs,
        } = &ev.kind
        else {
            return;
        };
        if let Some(i) = self.step_index(step) {
            // Given outputs go over those the step recorded (kept from a crash).
            for (k, v) in outputs {
                self.steps[i].outputs.insert(k.clone(), v.clone());
            }
            self.steps[i].more.marked = Some(Box::new(baton_model::view::MarkView {
                state: *state,
                by: actor.clone(),
                reason: reason.clone(),
                at: ev.at,
            }));
        }
    }
}

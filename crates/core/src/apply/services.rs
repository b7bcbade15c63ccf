//! Folds of a service's process, probes and stop, and its probe and readiness clocks.
use super::*;
use baton_model::EventKind;

impl Core {
    pub(super) fn fold_process(
        &mut self,
        at: Timestamp,
        step: &str,
        pgid: i32,
        output: Option<&String>,
    ) {
        if let Some(i) = self.step_index(step) {
            self.steps[i].pgid = Some(pgid);
            self.steps[i].output_file = output.cloned();
            // A service is checked from the moment its process exists.
            if self.steps[i].state == StepState::Running && self.plan.steps[i].service.is_some() {
                self.probe_timer(i, Some(at));
            }
        }
    }

    /// Fold `StepProbed`: the service's last check and its run of failures.
    pub(super) fn fold_probed(&mut self, ev: &Event) {
        let EventKind::StepProbed {
            step,
            probe,
            check,
            ok,
            detail,
            failures,
            ..
        } = &ev.kind
        else {
            return;
        };
        if let Some(i) = self.step_index(step) {
            let sv = &mut self.steps[i].service;
            sv.live_failures = *failures;
            sv.recorded = Some((*probe, *ok, detail.clone()));
            sv.last = Some(ProbeView {
                probe: *probe,
                check: check.clone(),
                ok: *ok,
                detail: detail.clone(),
                failures: *failures,
                at: ev.at,
            });
        }
    }

    pub(super) fn fold_service_stopping(&mut self, step: &str, reason: &str) {
        if let Some(i) = self.step_index(step) {
            self.steps[i].service.stopping = Some(reason.to_string());
        }
    }

    /// Set (or clear) when a service's next probe check is due.
    pub(crate) fn probe_timer(&mut self, i: usize, at: Option<Timestamp>) {
        // Clearing what is clear writes nothing: a write makes the step's sparse
        // service state (`Sparse`), ~240 bytes a step for the whole run (issue 62
        // point 5: every ended step of 100,000 no-ops made one).
        if at.is_none() && self.steps[i].service.probe_at.is_none() {
            return;
        }
        if let Some(t) = std::mem::replace(&mut self.steps[i].service.probe_at, at) {
            self.timers.remove(&(t, Timer::Probe(i)));
        }
        if let Some(t) = at {
            self.timers.insert((t, Timer::Probe(i)));
        }
    }

    /// Set (or clear) the end of a service's time to become ready.
    pub(super) fn ready_deadline(&mut self, i: usize, at: Option<Timestamp>) {
        // As `probe_timer`: clearing what is clear writes nothing.
        if at.is_none() && self.steps[i].service.ready_deadline.is_none() {
            return;
        }
        if let Some(t) = std::mem::replace(&mut self.steps[i].service.ready_deadline, at) {
            self.timers.remove(&(t, Timer::ReadyDeadline(i)));
        }
        if let Some(t) = at {
            self.timers.insert((t, Timer::ReadyDeadline(i)));
        }
    }
}

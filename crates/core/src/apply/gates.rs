//! Folds of a gate's life: opened, warned, voted on, approved, rejected, voided.
use super::*;
use baton_model::EventKind;
use baton_workflow::{Values, resolve_values};
use decide::Vote;

impl Core {
    /// Fold `GateOpened`: a fresh gate, and its warning and deadline clocks.
    pub(super) fn fold_gate_opened(&mut self, ev: &Event) {
        let EventKind::GateOpened {
            step,
            prompt,
            deadline,
            digest,
            signed,
            inputs,
            ..
        } = &ev.kind
        else {
            return;
        };
        let Some(i) = self.step_index(step) else {
            return;
        };
        self.remove_gate_timers(i);
        let timeout = self.plan.steps[i].gate.as_ref().and_then(|g| g.timeout);
        let at = ev.at;
        let g = &mut self.steps[i].gate;
        **g = GateRt {
            opened_seq: ev.seq,
            opened_at: at,
            deadline: *deadline,
            warn_at: None,
            warned: false,
            prompt: prompt.clone(),
            digest: digest.clone(),
            votes: Vec::new(),
            keys: Vec::new(),
            signed: *signed,
            unbacked: false,
            approved: None,
            decided: None,
            inputs: None,
            rendered: inputs.clone(),
            proposed: None,
        };
        if let (Some(d), Some(t)) = (*deadline, timeout) {
            let warn = at.add(t.mul_f64(0.8));
            g.warn_at = Some(warn);
            self.timers.insert((warn, Timer::GateWarn(i)));
            self.timers.insert((d, Timer::GateDeadline(i)));
        }
    }

    pub(super) fn fold_gate_warning(&mut self, step: &str) {
        if let Some(i) = self.step_index(step) {
            self.steps[i].gate.warned = true;
            if let Some(w) = self.steps[i].gate.warn_at.take() {
                self.timers.remove(&(w, Timer::GateWarn(i)));
            }
        }
    }

    /// Fold `ApprovalGiven`: the vote, if it counts.
    pub(super) fn fold_approval(&mut self, ev: &Event) {
        let EventKind::ApprovalGiven {
            step,
            actor,
            reason,
            digest,
            signature,
            inputs,
            proposed,
        } = &ev.kind
        else {
            return;
        };
        let Some(i) = self.step_index(step) else {
            return;
        };
        // On a signed gate a vote counts only if its signature holds, whoever
        // wrote it into the history.
        let counted = if self.steps[i].gate.signed {
            let vote = Vote {
                actor,
                reason: reason.as_deref(),
                digest,
                inputs,
            };
            self.vote_holds(i, &vote, signature.as_ref()).map(Some)
        } else {
            Some(None)
        };
        if let Some(key) = counted {
            let g = &mut self.steps[i].gate;
            g.votes.push((actor.clone(), reason.clone()));
            g.keys.extend(key);
            g.inputs.get_or_insert_with(|| inputs.clone());
            g.proposed.get_or_insert_with(|| proposed.clone());
        }
    }

    pub(super) fn fold_gate_approved(&mut self, step: &str) {
        let Some(i) = self.step_index(step) else {
            return;
        };
        let quorum = self.plan.steps[i]
            .gate
            .as_ref()
            .map_or(1, |g| g.quorum.max(1));
        let g = &mut self.steps[i].gate;
        if g.signed && (g.votes.len() as u32) < quorum {
            g.unbacked = true;
        } else {
            g.approved = Some(g.digest.clone());
            g.decided = Some(Decision::Approved);
            if g.inputs.is_none() {
                // Approved with no vote (on timeout): the inputs' defaults.
                let defaults = resolve_values(&self.input_specs(i), &[], Values::Inputs).ok();
                self.steps[i].gate.inputs = Some(defaults.unwrap_or_default());
            }
        }
    }

    pub(super) fn fold_gate_rejected(&mut self, step: &str) {
        if let Some(i) = self.step_index(step) {
            let g = &mut self.steps[i].gate;
            g.approved = None;
            g.decided = Some(Decision::Rejected);
        }
    }

    pub(super) fn fold_gate_voided(&mut self, step: &str) {
        if let Some(i) = self.step_index(step) {
            let g = &mut self.steps[i].gate;
            g.approved = None;
            g.decided = None;
        }
    }

    pub(super) fn remove_gate_timers(&mut self, i: usize) {
        let g = &mut self.steps[i].gate;
        if let Some(w) = g.warn_at.take() {
            self.timers.remove(&(w, Timer::GateWarn(i)));
        }
        if let Some(d) = g.deadline {
            self.timers.remove(&(d, Timer::GateDeadline(i)));
        }
    }
}

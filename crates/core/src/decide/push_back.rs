//! Pushing a gate back (issue 44 point 3): the gated step does not run; the steps its
//! `revise` names, and every step between them and the gate, run again as the gate's
//! next round with the reason as `$BATON_FEEDBACK`; the gate opens again once they
//! succeeded, until its `rounds` are used.
use super::*;
use baton_model::{GateRound, ReasonFor, Refusal};

/// What a push-back left on a step: on the gated step the round its gate is in, on a
/// revised step the round and feedback its next attempts run with and its outputs of
/// the round before (what the reopened gate's diff compares against).
#[derive(Debug, Clone, Default)]
pub(crate) struct RevisionRt {
    /// The gated step: the round its gate is in (0 before any push-back: round 1).
    pub(crate) round: u32,
    /// A revised step: the round it runs in and the reason it runs again.
    pub(crate) feedback: Option<(u32, String)>,
    /// A revised step: its outputs when it was pushed back.
    pub(crate) prior: BTreeMap<String, String>,
}

impl Core {
    /// The round step `i`'s gate is in (1 until it was pushed back).
    pub(crate) fn gate_round(&self, i: usize) -> u32 {
        self.steps[i]
            .more
            .revision
            .as_ref()
            .map_or(1, |r| r.round.max(1))
    }

    /// `round N of M` for a gate that can be pushed back; none for one that cannot.
    pub(crate) fn round_of(&self, i: usize) -> Option<GateRound> {
        let g = self.plan.steps[i].gate.as_ref()?;
        (!g.revise.is_empty()).then(|| GateRound {
            n: self.gate_round(i),
            of: g.rounds.max(1),
        })
    }

    /// The round and feedback step `i`'s next attempt runs with, if a push-back re-ran it.
    pub(crate) fn feedback_of(&self, i: usize) -> Option<&(u32, String)> {
        self.steps[i].more.revision.as_ref()?.feedback.as_ref()
    }

    /// Whether a push-back of step `i`'s gate would be taken now, whoever gives it.
    pub(crate) fn may_push_back(&self, i: usize) -> Result<(), Refusal> {
        self.check_gate(i)?;
        let step = self.id(i);
        let Some(g) = self.plan.steps[i].gate.as_ref() else {
            return Err(Refusal::NoGate { step });
        };
        if g.revise.is_empty() {
            return Err(Refusal::NoRevise { step });
        }
        if self.gate_round(i) >= g.rounds {
            return Err(Refusal::RoundsUsed {
                step,
                rounds: g.rounds,
            });
        }
        Ok(())
    }

    /// `baton push-back RUN STEP --reason T`: checked as a reject is (an open gate, a
    /// reason, the gate's approvers; on a signed gate a signature over the push-back's
    /// message by an approver's key, whose principal is the actor), then the next
    /// round begins.
    pub(super) fn push_back(
        &mut self,
        step: &str,
        operator: &str,
        reason: &str,
        signature: Option<&str>,
        now: Timestamp,
        fx: &mut Fx,
    ) -> Result<String, Refusal> {
        let i = self.lookup(step)?;
        self.check_gate(i)?;
        if reason.trim().is_empty() {
            return Err(Refusal::ReasonRequired {
                to: ReasonFor::PushBack,
            });
        }
        self.may_push_back(i)?;
        let (actor, signature) = self.decider(
            i,
            baton_signing::Verdict::PushBack,
            reason,
            signature,
            operator,
        )?;
        let operator = actor.as_str();
        let rounds = self.plan.steps[i].gate.as_ref().map_or(1, |g| g.rounds);
        let round = GateRound {
            n: self.gate_round(i) + 1,
            of: rounds,
        };
        let rerun = self.rerun_order(i);
        let reason = self.mask(reason);
        let kind = EventKind::GatePushedBack {
            step: step.to_string(),
            actor: operator.to_string(),
            reason: reason.clone(),
            round,
            rerun: rerun.iter().map(|&s| self.id(s)).collect(),
            signature,
        };
        self.emit(kind, now, fx);
        self.set(
            i,
            StepState::Pending,
            Some(format!("pushed back by {operator}: waits for {round}")),
            now,
            fx,
        );
        // Ancestors first: each step re-armed waits for the re-armed steps it needs.
        for &s in &rerun {
            self.set(
                s,
                StepState::Pending,
                Some(format!("{round}: revise (pushed back by {operator})")),
                now,
                fx,
            );
        }
        let names: Vec<String> = rerun.iter().map(|&s| self.id(s)).collect();
        Ok(format!(
            "pushed back `{step}`: {round} runs {} again",
            names.join(", ")
        ))
    }

    /// The steps a push-back of step `i`'s gate runs again, each after the ones it needs.
    pub(crate) fn rerun_order(&self, i: usize) -> Vec<usize> {
        let rerun = self.plan.revised_by(i);
        // Layer by layer: each step after the steps it needs.
        let mut ordered: Vec<usize> = Vec::with_capacity(rerun.len());
        for layer in &self.plan.layers {
            let mut here: Vec<usize> = layer
                .iter()
                .copied()
                .filter(|s| rerun.binary_search(s).is_ok())
                .collect();
            here.sort_unstable();
            ordered.extend(here);
        }
        ordered
    }

    /// Folding `gate_pushed_back`: the gate's round, and on each re-run step the round,
    /// the feedback, and the outputs the next round is compared with.
    pub(crate) fn fold_pushed_back(
        &mut self,
        step: &str,
        round: u32,
        reason: &str,
        rerun: &[String],
    ) {
        let Some(i) = self.step_index(step) else {
            return;
        };
        let rerun: Vec<usize> = rerun.iter().filter_map(|s| self.step_index(s)).collect();
        self.steps[i]
            .more
            .revision
            .get_or_insert_with(Box::default)
            .round = round;
        for s in rerun {
            let prior = self.steps[s].outputs.clone();
            let st = &mut self.steps[s];
            st.attempt_base = st.attempts;
            st.alternative = 0;
            let r = st.more.revision.get_or_insert_with(Box::default);
            r.feedback = Some((round, reason.to_string()));
            r.prior = prior;
        }
    }

    /// The revised steps' outputs against the round before, as a unified diff (`---`
    /// the previous round, `+++` this one), masked; empty before any push-back.
    pub(crate) fn revision_diff(&self, i: usize) -> String {
        if self.gate_round(i) < 2 {
            return String::new();
        }
        let mut out = String::new();
        for s in self.plan.revised_by(i) {
            let Some(r) = self.steps[s].more.revision.as_ref() else {
                continue;
            };
            let text = |m: &BTreeMap<String, String>| {
                m.iter()
                    .map(|(k, v)| format!("{k}={}\n", self.mask(v)))
                    .collect::<String>()
            };
            let (old, new) = (text(&r.prior), text(&self.steps[s].outputs));
            let id = self.id(s);
            if old == new {
                out.push_str(&format!("{id}: outputs unchanged\n"));
                continue;
            }
            let diff = similar::TextDiff::from_lines(&old, &new);
            let unified = diff
                .unified_diff()
                .header(
                    &format!("{id} (round before)"),
                    &format!("{id} (this round)"),
                )
                .to_string();
            out.push_str(&baton_model::sanitize::for_terminal(&unified));
        }
        out
    }
}

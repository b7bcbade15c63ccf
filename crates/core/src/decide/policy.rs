//! A gate's `auto` rules (issue 44 point 4): evaluated when the gate opens (and again
//! on a resume that finds it open and unvoted: the values it reads are recorded, so
//! it decides the same), over params, the ancestors' outputs and the step's `with`.
//! The first rule that holds decides, on the chain as actor `policy` with the rule
//! named in the reason; when none holds a person is asked. A signed gate is never
//! approved by a rule (only signatures pass it), and a rule approves only with the
//! inputs' defaults.
use super::*;
use baton_workflow::condition::Name;
use baton_workflow::{AutoDecide, Values, resolve_values};

use baton_model::history::POLICY;

/// The reason a rule's decision is recorded with: `rule N: REASON; condition true: …`
/// (what `RunView::policy_decisions` and the Approvals tab show).
fn policy_reason(n: usize, reason: &str, evaluation: &str) -> String {
    if reason.is_empty() {
        format!("rule {n}; {evaluation}")
    } else {
        format!("rule {n}: {reason}; {evaluation}")
    }
}

impl Core {
    /// Decide step `i`'s open gate by its `auto` rules; `true` when one decided.
    pub(super) fn apply_policy(&mut self, i: usize, now: Timestamp, fx: &mut Fx) -> bool {
        let plan = Arc::clone(&self.plan);
        let Some(g) = plan.steps[i].gate.as_deref() else {
            return false;
        };
        for (k, rule) in g.auto.iter().enumerate() {
            // A signed gate is passed by signatures only, whatever a plan says.
            if rule.decide == AutoDecide::Approve && g.signed {
                continue;
            }
            let e = rule.condition.eval(|n| match n {
                Name::With(key) => self.with_value(i, key),
                Name::NeedsResults => Some(self.needs_results(i)),
                _ => self.read_name(n),
            });
            if !e.result {
                continue;
            }
            let evaluation = e.record(&rule.condition.text, |v| self.mask(v));
            let reason = policy_reason(k + 1, &self.mask(&rule.reason), &evaluation);
            match rule.decide {
                AutoDecide::Approve => {
                    // A required input has no default to approve with: a person gives it.
                    let Ok(inputs) = resolve_values(&self.input_specs(i), &[], Values::Inputs)
                    else {
                        return false;
                    };
                    self.pass_gate(i, POLICY, reason, inputs, now, fx);
                }
                AutoDecide::Reject => self.reject_gate(i, POLICY, reason, None, now, fx),
            }
            return true;
        }
        false
    }
}

//! A step's `if`, decided once its trigger rule holds. The decision is on record: a
//! false condition is the step's `skipped` with the expression and the values it read;
//! a true one lets it go on (queued or its gate), so a replay or a resume never decides
//! it again.
use super::*;
use baton_workflow::condition::Name;

impl Core {
    /// Whether step `i` may go on; a false condition skips it here.
    pub(super) fn condition_holds(&mut self, i: usize, now: Timestamp, fx: &mut Fx) -> bool {
        let plan = Arc::clone(&self.plan);
        let Some(c) = &plan.steps[i].condition else {
            return true;
        };
        let e = c.eval(|n| match n {
            Name::NeedsResults => Some(self.needs_results(i)),
            n => self.read_name(n),
        });
        if !e.result {
            let why = e.record(&c.text, |v| self.mask(v));
            self.set(i, StepState::Skipped, Some(why), now, fx);
        }
        e.result
    }

    /// A name's value now (as text; `None`: it has none).
    pub(super) fn read_name(&self, n: &Name) -> Option<String> {
        match n {
            Name::Param(p) => self.cfg.params.get(p).cloned(),
            Name::Env(e) => self.run_env.get(e).and_then(|v| v.as_ref().ok().cloned()),
            Name::RunId => Some(self.cfg.run_id.clone()),
            Name::RunSlot => Some(self.cfg.slot_text()),
            Name::StepOutput { step, key, .. } => self
                .steps
                .get(*step)
                .and_then(|s| s.outputs.get(key).cloned()),
            Name::StepInput { step, key, .. } => self.approval_input(*step, key),
            Name::StepState { step, .. } => {
                self.steps.get(*step).map(|s| s.state.as_str().to_string())
            }
            Name::NeedResult { step, .. } => self.github_result(*step).map(str::to_string),
            // Read only by a gate's `auto` rules and `allow_failure`, which look them
            // up themselves; `needs.*.result` by the step's `if` (above) and its gate's `auto`.
            // `attempt.exit_code`: a retry's `if` only, which supplies it (`retry::wanted`).
            Name::With(_) | Name::Matrix(_) | Name::NeedsResults | Name::AttemptExitCode => None,
        }
    }

    /// GitHub's `needs.<id>.result` of step `step` (`StepState::github_result`).
    pub(crate) fn github_result(&self, step: usize) -> Option<&'static str> {
        let s = self.steps.get(step)?;
        s.state.github_result(self.failure_allowed(step))
    }

    /// `needs.*.result` of step `i`: its needs' results as a JSON list, in `needs`
    /// order (an unsettled need reads as "").
    pub(crate) fn needs_results(&self, i: usize) -> String {
        let all: Vec<&str> = self.plan.steps[i]
            .needs
            .iter()
            .map(|&n| self.github_result(n).unwrap_or(""))
            .collect();
        serde_json::to_string(&all).unwrap_or_default()
    }
}

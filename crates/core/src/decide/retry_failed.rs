//! `baton retry RUN --failed` (Argo's `argo retry`, GitHub's "Re-run failed jobs"):
//! every failed, timed-out and fail-fast-cancelled step and instance taken up again in
//! one decision. An interrupted step is left to a person, as `retry STEP` asks of it
//! one by one: its attempt may have done its work.
use super::*;
use baton_model::refusal::left_one_by_one;

/// What `retry --failed` would take up now, by id: the core's answer, which the
/// console's confirm lists and the command then does.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FailedRetry {
    /// The steps and instances run again, in plan order.
    pub steps: Vec<String>,
    /// Interrupted steps left to be retried or marked one by one.
    pub left: Vec<String>,
}

impl Core {
    /// What `retry --failed` takes up now: refused as the command would be.
    pub fn failed_retry(&self, now: Timestamp) -> Result<FailedRetry, Refusal> {
        self.can_command()?;
        let (take, left) = self.failed_targets();
        let names = |v: &[usize]| v.iter().map(|&i| self.id(i)).collect::<Vec<_>>();
        if take.is_empty() {
            return Err(Refusal::NothingToRetry {
                run: self.cfg.run_id.clone(),
                left: names(&left),
            });
        }
        self.check_reopen(now)?;
        Ok(FailedRetry {
            steps: names(&take),
            left: names(&left),
        })
    }

    /// The steps `retry --failed` runs again and the interrupted ones it leaves.
    fn failed_targets(&self) -> (Vec<usize>, Vec<usize>) {
        let mut take = Vec::new();
        let mut left = Vec::new();
        for i in 0..self.steps.len() {
            // A fanned-out step settles with its instances: they are taken up, not it.
            if self.fans.contains_key(&i) {
                continue;
            }
            let st = self.steps[i].state;
            // Held because its retries ran out: failed, waiting for a person.
            let exhausted = st == StepState::Held
                && self.steps[i]
                    .more
                    .hold
                    .as_ref()
                    .is_some_and(|h| h.exhausted);
            if st == StepState::Failed || exhausted || self.cancelled_by_fail_fast(i) {
                take.push(i);
            } else if st == StepState::Interrupted {
                left.push(i);
            }
        }
        (take, left)
    }

    /// An instance cancelled because a sibling failed under its step's `fail_fast`
    /// (read from the states, so a replayed run tells it as the live one did).
    fn cancelled_by_fail_fast(&self, i: usize) -> bool {
        let Some(parent) = self.plan.steps[i].instance.as_ref().map(|x| x.parent) else {
            return false;
        };
        self.steps[i].state == StepState::Cancelled
            && self.plan.steps[parent]
                .fanout
                .as_ref()
                .is_some_and(|f| f.fail_fast)
            && self
                .instances_of(parent)
                .any(|k| self.steps[k].state == StepState::Failed)
    }

    /// `baton retry RUN --failed`: one `failed_retried` decision listing them, then
    /// each step's own retry (re-arming what it skipped).
    pub(super) fn on_retry_failed(
        &mut self,
        operator: &str,
        now: Timestamp,
        fx: &mut Fx,
    ) -> Result<String, Refusal> {
        let plan = self.failed_retry(now)?;
        let (take, _) = self.failed_targets();
        self.reopen(format!("{operator} retried the failed steps"), now, fx);
        let kind = EventKind::FailedRetried {
            actor: operator.to_string(),
            steps: plan.steps.clone(),
            left: plan.left.clone(),
        };
        self.emit(kind, now, fx);
        let mut rearmed = 0;
        for k in take {
            rearmed += self.retry_one(k, operator, true, now, fx);
        }
        Ok(format!(
            "retrying {} failed step(s) and instance(s): {}; {rearmed} downstream step(s) re-armed{}",
            plan.steps.len(),
            plan.steps.join(", "),
            left_one_by_one(&self.cfg.run_id, &plan.left)
        ))
    }
}

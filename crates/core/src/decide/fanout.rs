//! Fan-out decisions: a `matrix`/`for_each` step fans out when it would start (after
//! its gate), its instances run within its `max_parallel`, `fail_fast` stops them on
//! the first failure, and the step settles with their aggregate state.
use super::*;
use baton_workflow::fanout::{self, FanSource, FanoutError};

impl Core {
    /// In `schedule`, for a step about to start: a fanned-out step decides and records
    /// its instances instead (`true`: handled). A `for_each` output that is not a JSON
    /// array, or too long, fails the step; no instance at all skips it.
    pub(super) fn fan_out(&mut self, i: usize, now: Timestamp, fx: &mut Fx) -> bool {
        let plan = Arc::clone(&self.plan);
        let Some(f) = plan.steps[i].fanout.as_deref() else {
            return false;
        };
        let id = self.id(i);
        let (made, none) = match &f.source {
            FanSource::Matrix(m) => (
                fanout::matrix_instances(&id, m, &self.cfg.params, f.max_instances),
                "the matrix has no combination (every one is excluded)".to_string(),
            ),
            FanSource::ForEach { step, step_id, key } => {
                let reads = format!("steps.{step_id}.outputs.{key}");
                let made = match self.output_of(*step, key) {
                    Some(out) => fanout::for_each_instances(&id, &reads, &out, f.max_instances),
                    None => Err(match self.output_cut(*step, key) {
                        Some(why) => FanoutError::OutputCut(why),
                        None => FanoutError::NoValue {
                            reads: reads.clone(),
                            step: step_id.clone(),
                            key: key.clone(),
                        },
                    }),
                };
                (made, format!("for_each: `{reads}` is an empty array"))
            }
        };
        let instances = match made {
            Ok(v) => v,
            Err(m) => {
                // What a marked step still lacks holds it for a person, never fails it.
                if !self.hold_for_marked_output(i, now, fx) {
                    self.fail_template(i, m.into(), now, fx);
                }
                return true;
            }
        };
        let n = instances.len();
        self.emit(
            EventKind::StepFannedOut {
                step: id,
                instances,
            },
            now,
            fx,
        );
        if n == 0 {
            self.set(i, StepState::Skipped, Some(none), now, fx);
        } else {
            let why = format!(
                "fanned out into {n} instance{}",
                if n == 1 { "" } else { "s" }
            );
            self.set(i, StepState::Pending, Some(why), now, fx);
        }
        true
    }

    /// In `eval_ready`, for a step whose needs are settled (`true`: handled): a
    /// fanned-out step whose instances have all settled takes their aggregate state;
    /// an instance beyond its step's `max_parallel` waits for one to finish.
    pub(super) fn fan_ready(&mut self, i: usize, now: Timestamp, fx: &mut Fx) -> bool {
        if self.fans.contains_key(&i) {
            // Pushed early by its trigger rule: it waits for every instance all the same.
            if self.steps[i].unsettled_needs == 0 {
                self.fan_settle(i, now, fx);
            }
            return true;
        }
        let Some(p) = self.plan.steps[i].instance.as_ref().map(|x| x.parent) else {
            return false;
        };
        let limit = self.plan.steps[p]
            .fanout
            .as_ref()
            .and_then(|f| f.max_parallel);
        match (limit, self.fans.get_mut(&p)) {
            (Some(m), Some(f)) if f.active >= m => {
                f.held.push_back(i);
                true
            }
            _ => false,
        }
    }

    /// Every instance has settled: the step fails if one failed (each instance is a
    /// need of its dependants: `all_success` waits for all of them), succeeds if one
    /// succeeded and none failed, and is skipped otherwise.
    fn fan_settle(&mut self, p: usize, now: Timestamp, fx: &mut Fx) {
        let Some(c) = self.fans.get(&p).map(|f| f.counts) else {
            return;
        };
        let (n, ok, failed) = (c.total, c.succeeded, c.failed);
        let others = n - ok - failed;
        if failed > 0 {
            let why = if self.failure_allowed(p) {
                format!("{failed} of {n} instances failed, each allowed to (allow_failure)")
            } else {
                format!("{failed} of {n} instances failed or were cancelled")
            };
            self.set(p, StepState::Failed, Some(why), now, fx);
        } else if ok == 0 {
            let why = format!("all {n} instances were skipped");
            self.set(p, StepState::Skipped, Some(why), now, fx);
        } else {
            let why = match others {
                0 => format!("all {n} instances succeeded"),
                _ => format!("{ok} of {n} instances succeeded, {others} skipped"),
            };
            self.succeed(p, Some(why), now, fx);
        }
    }

    /// `fail_fast = true`: on an instance's failure, the step's instances not finished
    /// are cancelled (running ones killed, recorded `cancelled` when they end).
    pub(super) fn fail_fast(&mut self, now: Timestamp, fx: &mut Fx) {
        let due: Vec<usize> = self
            .fans
            .iter()
            .filter(|(p, f)| {
                f.failed > 0
                    && !f.stopped
                    && self.plan.steps[**p]
                        .fanout
                        .as_ref()
                        .is_some_and(|x| x.fail_fast)
            })
            .map(|(p, _)| *p)
            .collect();
        for p in due {
            if let Some(f) = self.fans.get_mut(&p) {
                f.stopped = true;
                f.held.clear();
            }
            let first = self
                .instances_of(p)
                .find(|&k| self.steps[k].state.is_failure())
                .map(|k| self.id(k))
                .unwrap_or_default();
            let why = format!("fail_fast: `{first}` failed");
            for k in self.instances_of(p) {
                let st = self.steps[k].state;
                if st == StepState::Running {
                    if !self.steps[k].kill_sent {
                        self.steps[k].kill_sent = true;
                        fx.push(Effect::Kill {
                            step: k,
                            attempt: self.steps[k].attempts,
                        });
                    }
                } else if !settled(st) && st != StepState::Ready {
                    self.set(k, StepState::Cancelled, Some(why.clone()), now, fx);
                }
            }
        }
    }

    /// Need `d` as a trigger rule counts it: a fanned-out step that has settled is its
    /// instances; any other step (or one still waiting) itself.
    pub(super) fn as_needs(&self, d: usize) -> std::ops::Range<usize> {
        let r = self.instances_of(d);
        if r.is_empty() || !settled(self.steps[d].state) {
            d..d + 1
        } else {
            r
        }
    }

    /// A killed instance's end: `fail_fast` stopped it (not the run's cancel).
    pub(super) fn stopped_by_fail_fast(&self, i: usize) -> bool {
        self.steps[i].kill_sent
            && !self.steps[i].timeout_kill
            && self.plan.steps[i]
                .instance
                .as_ref()
                .and_then(|x| self.fans.get(&x.parent))
                .is_some_and(|f| f.stopped)
    }
}

impl Core {
    /// What a retry of step `i` takes up again: the step itself, or for a fanned-out
    /// step each of its instances that can be retried (failed, rejected, cancelled or
    /// interrupted), each recorded as its own retry.
    pub(super) fn retry_targets(
        &self,
        i: usize,
        now: Timestamp,
    ) -> Result<Vec<usize>, baton_model::Refusal> {
        self.can_retry(i, now)?;
        if !self.fans.contains_key(&i) {
            return Ok(vec![i]);
        }
        let ks: Vec<usize> = self
            .instances_of(i)
            .filter(|&k| self.can_retry(k, now).is_ok())
            .collect();
        if ks.is_empty() {
            return Err(baton_model::Refusal::NoInstanceToRetry { step: self.id(i) });
        }
        Ok(ks)
    }
}

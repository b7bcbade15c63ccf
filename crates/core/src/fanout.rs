//! A fanned-out step's instances in the core. The step itself (the parent) stays in the
//! plan; when it would start, the core decides its instances once (`decide/fanout.rs`)
//! and records them (`StepFannedOut`). Folding that event appends one plan step and one
//! `StepRt` per instance at the end (indices of existing steps never move), each a
//! copy of the parent with its value, and makes the parent wait for all of them as if
//! they were its needs: it settles when they have, with their aggregate state, and its
//! dependants wait for it. An instance is thus an ordinary step for everything else
//! (retry, timeout, cache, executor, pools, commands, logs), and a replay that folds
//! the same event makes the same instances.
use super::*;
use baton_model::fan::FanCounts;
use baton_workflow::TemplateRef;
use baton_workflow::fanout::{self, Instance};
use std::ops::Range;

/// A fanned-out step's instances and how many of them are under way.
#[derive(Debug, Clone)]
pub(super) struct FanRt {
    /// Plan indices of the instances, in instance order.
    pub instances: Range<usize>,
    /// Instances past `pending` and not settled (what `max_parallel` bounds).
    pub active: usize,
    /// Ready instances held back by the step's `max_parallel`, oldest first.
    pub held: VecDeque<usize>,
    /// Instances that failed (what `fail_fast` looks at).
    pub failed: usize,
    /// `fail_fast` stopped the others (a decision, not folded: a resumed run stops
    /// what is left again).
    pub stopped: bool,
    /// Where its instances are (`model::fan`): kept here as they move, so neither a
    /// view nor the step's settling counts them again.
    pub counts: FanCounts,
}

impl Core {
    /// Fold `StepFannedOut`: the parent's instances appended to the plan and the state.
    pub(super) fn grow(&mut self, parent: usize, instances: &[(String, serde_json::Value)]) {
        let start = self.plan.steps.len();
        let end = start + instances.len();
        let plan = Arc::make_mut(&mut self.plan);
        let template = plan.steps[parent].clone();
        let matrix = matches!(
            template.fanout.as_deref().map(|f| &f.source),
            Some(fanout::FanSource::Matrix(_))
        );
        let layer = plan.layers.iter().position(|l| l.contains(&parent));
        plan.steps.reserve(instances.len());
        for (k, (id, value)) in instances.iter().enumerate() {
            let mut s = template.clone();
            s.id = id.clone();
            s.index = start + k;
            s.needs = Vec::new();
            s.gate = None;
            s.fanout = None;
            // The step's deadline is the whole step's: its instances report none.
            s.deadline = None;
            s.instance = Some(Box::new(Instance {
                parent,
                value: value.clone(),
                matrix,
            }));
            plan.steps.push(s);
            plan.dependants.push(vec![parent]);
            if let Some(l) = layer {
                plan.layers[l].push(start + k);
            }
        }
        // Each instance undoes its own work: the step itself has nothing to compensate.
        plan.steps[parent].compensate = None;
        let params = &self.cfg.params;
        decide_allow_failure(&mut self.plan, start..end, |s, r| match r {
            TemplateRef::Param(p) => params.get(p).cloned(),
            TemplateRef::Matrix(k) => fanout::read(s.instance.as_deref()?, Some(k)),
            _ => None,
        });
        self.steps.reserve(instances.len());
        for (k, (id, _)) in instances.iter().enumerate() {
            self.steps.push(StepRt::fresh(0));
            self.ids.insert(id.clone(), start + k);
            self.dependants.push(vec![parent]);
            self.to_eval.push_back(start + k);
        }
        self.counts[si(StepState::Pending)] += instances.len();
        self.unsettled += instances.len();
        self.steps[parent].unsettled_needs += instances.len();
        self.fans.insert(
            parent,
            FanRt {
                instances: start..end,
                active: 0,
                held: VecDeque::new(),
                failed: 0,
                stopped: false,
                counts: FanCounts::pending(instances.len()),
            },
        );
    }

    /// Step `i` may fail without failing anything: `allow_failure` as decided for it
    /// (for a matrix, per instance), or a fanned-out step whose failed instances all
    /// may (GitHub: a `continue-on-error` cell does not fail the workflow). Every
    /// instance the step's counts call failed is looked at, a cancelled one too (a
    /// `fail_fast` stop, or a cancel): it is never an allowed failure.
    pub(super) fn failure_allowed(&self, i: usize) -> bool {
        if self.plan.steps[i].allow_failure {
            return true;
        }
        let r = self.instances_of(i);
        !r.is_empty()
            && r.filter(|&n| self.steps[n].state.counts_as_failed())
                .all(|n| self.counts_as_allowed(n, self.steps[n].state))
    }

    /// A failure of step `i` in state `st` that `allow_failure` allows (only `failed`:
    /// a rejection or a cancel is not the step's own failure).
    pub(super) fn counts_as_allowed(&self, i: usize, st: StepState) -> bool {
        st == StepState::Failed && self.plan.steps[i].allow_failure
    }

    /// Keep an instance's parent's counts as the instance moves from `old` to `new`;
    /// a settled instance lets a held one go.
    pub(super) fn fan_moved(&mut self, i: usize, old: StepState, new: StepState) {
        let Some(parent) = self.plan.steps[i].instance.as_ref().map(|x| x.parent) else {
            return;
        };
        // An allowed failure does not stop the others (GitHub's fail-fast skips a
        // `continue-on-error` cell's failure).
        let failing = |st: StepState| st.is_failure() && !self.counts_as_allowed(i, st);
        let (was_failing, is_failing) = (failing(old), failing(new));
        let Some(f) = self.fans.get_mut(&parent) else {
            return;
        };
        f.counts.moved(old, new);
        let active = |s: StepState| s != StepState::Pending && !settled(s);
        match (active(old), active(new)) {
            (false, true) => f.active += 1,
            (true, false) => {
                f.active -= 1;
                // One held back may go: the oldest still pending (a cancel, or a
                // retry that went straight on, left the others it held here).
                while let Some(next) = f.held.pop_front() {
                    if self.steps[next].state == StepState::Pending {
                        self.to_eval.push_back(next);
                        break;
                    }
                }
            }
            _ => {}
        }
        match (was_failing, is_failing) {
            (false, true) => f.failed += 1,
            (true, false) => f.failed -= 1,
            _ => {}
        }
        // Every failure retried: the next one stops the others again, as the first did.
        // Not while one it stopped is still ending (its end is told by `stopped`).
        let rearm = (f.failed == 0 && f.stopped).then(|| f.instances.clone());
        if let Some(mut instances) = rearm
            && !instances.any(|k| self.steps[k].kill_sent && self.steps[k].state.has_process())
            && let Some(f) = self.fans.get_mut(&parent)
        {
            f.stopped = false;
        }
    }

    /// The fanned-out step of instance `i`, if it has settled (an operator's retry or
    /// mark of the instance re-arms it).
    pub(super) fn settled_parent(&self, i: usize) -> Option<usize> {
        let p = self.plan.steps.get(i)?.instance.as_ref()?.parent;
        settled(self.steps[p].state).then_some(p)
    }

    /// The instances of a fanned-out step (empty before it fanned out).
    pub(super) fn instances_of(&self, i: usize) -> Range<usize> {
        self.fans.get(&i).map_or(0..0, |f| f.instances.clone())
    }

    /// What `${{ steps.STEP.outputs.KEY }}` reads: the step's output, or for a
    /// fanned-out step a JSON array of its instances' (`null` where one has none).
    pub(super) fn output_of(&self, step: usize, key: &str) -> Option<String> {
        match self.fans.get(&step) {
            Some(f) => Some(fanout::gathered(
                f.instances.clone().map(|n| self.steps[n].outputs.get(key)),
            )),
            None => self.steps.get(step)?.outputs.get(key).cloned(),
        }
    }

    /// One template reference as step `i` reads it. The parent of a fanned-out step has
    /// no instance values: it shows them as written (its gate digest binds to that).
    pub(super) fn template_value(&self, i: usize, r: &TemplateRef) -> Option<String> {
        match r {
            TemplateRef::StepOutput { step, key, .. } => self.output_of(*step, key),
            TemplateRef::StepInput { step, key, .. } => self.approval_input(*step, key),
            TemplateRef::StepArtifact { step, step_id, key } => {
                self.artifact_path(i, (*step, step_id), key)
            }
            TemplateRef::NeedResult { step, .. } => self.github_result(*step).map(str::to_string),
            TemplateRef::NeedsResults => Some(self.needs_results(i)),
            TemplateRef::Param(p) => self.cfg.params.get(p).cloned(),
            TemplateRef::Env(e) => self.run_env.get(e)?.as_ref().ok().cloned(),
            TemplateRef::RunId => Some(self.cfg.run_id.clone()),
            TemplateRef::RunSlot => Some(self.cfg.slot_text()),
            TemplateRef::Matrix(k) => self.instance_value(i, r, Some(k)),
            TemplateRef::Item(k) => self.instance_value(i, r, k.as_deref()),
        }
    }

    fn instance_value(&self, i: usize, r: &TemplateRef, key: Option<&str>) -> Option<String> {
        let step = self.plan.steps.get(i)?;
        match &step.instance {
            Some(inst) => fanout::read(inst, key),
            None if step.fanout.is_some() => Some(format!("${{{{ {r} }}}}")),
            None => None,
        }
    }
}

/// Set `allow_failure` of the plan's steps in `range` that have `allow_failure_when`
/// (not a fanned-out step itself: its instances decide), each reading its refs with
/// `lookup`. The plan is copied only if one has.
pub(super) fn decide_allow_failure(
    plan: &mut Arc<Plan>,
    range: Range<usize>,
    lookup: impl Fn(&baton_workflow::Step, &TemplateRef) -> Option<String>,
) {
    let decided: Vec<(usize, bool)> = range
        .filter_map(|i| {
            let s = &plan.steps[i];
            (s.allow_failure_decided() && s.fanout.is_none())
                .then(|| (i, s.allows_failure(|r| lookup(s, r))))
        })
        .collect();
    if decided.is_empty() {
        return;
    }
    let plan = Arc::make_mut(plan);
    for (i, allowed) in decided {
        plan.steps[i].allow_failure = allowed;
    }
}

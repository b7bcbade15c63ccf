//! A mark keeps what the step made (issue 55 point 5). A local attempt's
//! `$BATON_OUTPUT` is on record (`StepProcess::output`); the engine that takes a run
//! over after a crash reads what the lost attempt wrote there before the file goes
//! (`left_outputs`, `keep_outputs`: `StepOutputsKept`), so `mark … --state succeeded`
//! keeps it. A mark may give outputs (`--output`, `--output-file`) over those; a step
//! that reads an output a marked step still lacks is held for a person, the hold
//! naming the output and the command that supplies it, never failed into a retry; a
//! mark of the step again with that output releases it.
use super::hold::{Hold, HoldFor};
use super::*;
use baton_model::Refusal;
use baton_model::history::ENGINE;
use baton_workflow::TemplateRef;
use baton_workflow::fanout::FanSource;

use baton_model::output_name::is_output_name;

impl Core {
    /// On a takeover, before [`Core::resume_before`]: the running local attempts the
    /// dead engine left, not adopted, whose `$BATON_OUTPUT` is on record, for the
    /// session to read: `(step, attempt, path)`.
    pub fn left_outputs(&self) -> Vec<(usize, u32, String)> {
        (0..self.steps.len())
            .filter_map(|i| {
                let s = &self.steps[i];
                let left = s.state == StepState::Running
                    && s.more.job.is_none()
                    && !self.adopted.contains(&i);
                let path = s.output_file.clone().filter(|_| left)?;
                Some((i, s.attempts, path))
            })
            .collect()
    }

    /// `text` with the run's known secrets masked: what a lost attempt left (its
    /// `$BATON_SUMMARY`), read by the session on a takeover.
    pub fn masked(&self, text: &str) -> String {
        self.mask(text)
    }

    /// On a takeover, before [`Core::resume_before`]: what `attempt` of `step` wrote
    /// to its `$BATON_OUTPUT` before the crash (`raw`, as parsed), recorded as its
    /// outputs; one holding a secret is withheld and refused on record by the same
    /// check as a finished attempt's (`withhold_secrets`, `withhold_outputs`). The
    /// session has the core learn the step's `[secrets]` first (`Core::learn_secrets`).
    pub fn keep_outputs(
        &mut self,
        step: usize,
        attempt: u32,
        raw: Vec<(String, String)>,
        now: Timestamp,
    ) -> Vec<Effect> {
        let mut fx = Vec::new();
        let Some(s) = self.steps.get(step) else {
            return fx;
        };
        if self.events.is_empty() || s.attempts != attempt || s.state != StepState::Running {
            return fx;
        }
        let raw: BTreeMap<&str, &str> = raw.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let (outputs, withheld) = self.withhold_secrets(&raw);
        if !outputs.is_empty() {
            let kind = EventKind::StepOutputsKept {
                step: self.id(step),
                attempt,
                outputs,
            };
            self.emit(kind, now, &mut fx);
        }
        self.withhold_outputs(step, &withheld, now, &mut fx);
        fx
    }

    /// A mark's outputs: names `$BATON_OUTPUT` takes, values that hold no secret (an
    /// output is kept on record), and only with `succeeded`.
    pub(super) fn check_mark_outputs(
        &self,
        state: StepState,
        outputs: &BTreeMap<String, String>,
    ) -> Result<(), Refusal> {
        let mut problems = Vec::new();
        if !outputs.is_empty() && state != StepState::Succeeded {
            problems.push("outputs are given with `--state succeeded` only".to_string());
        }
        for (k, v) in outputs {
            if !is_output_name(k) {
                problems.push(format!(
                    "output `{}` is not a name $BATON_OUTPUT takes: [A-Za-z_][A-Za-z0-9_.-]*",
                    self.mask(k)
                ));
            } else if self.holds_secret(v) {
                problems.push(format!(
                    "output `{k}` holds one of the run's secrets; an output is kept on record, so it cannot hold one"
                ));
            }
        }
        match problems.is_empty() {
            true => Ok(()),
            false => Err(Refusal::InputInvalid { problems }),
        }
    }

    /// A mark that gives outputs or artifacts (`gives`) to a step already marked
    /// succeeded: it supplies what its readers miss.
    pub(super) fn supplies_marked(&self, i: usize, state: StepState, gives: bool) -> bool {
        state == StepState::Succeeded && gives && self.marked_succeeded(i)
    }

    /// Step `x` was marked succeeded (what it lacks, its readers wait for a person).
    pub(super) fn marked_succeeded(&self, x: usize) -> bool {
        self.steps
            .get(x)
            .is_some_and(|s| s.state == StepState::Succeeded && s.more.marked.is_some())
    }

    /// Step `c` is held by the engine (not by an operator, nor for retries or the
    /// budget): a mark that supplies what it reads releases it.
    pub(super) fn held_by_engine(&self, c: usize) -> bool {
        self.steps[c].state == StepState::Held
            && self.steps[c]
                .more
                .hold
                .as_ref()
                .is_some_and(|h| h.by == ENGINE && !h.exhausted && !h.budget)
    }

    /// Record `outputs` for marked step `i` and release the steps held for one of its
    /// outputs: each is evaluated again (held again if one is still missing).
    pub(super) fn supply_outputs(
        &mut self,
        i: usize,
        operator: &str,
        reason: &str,
        outputs: &BTreeMap<String, String>,
        now: Timestamp,
        fx: &mut Fx,
    ) -> String {
        let step = self.id(i);
        let kind = EventKind::StepMarked {
            step: step.clone(),
            state: StepState::Succeeded,
            actor: operator.to_string(),
            reason: self.mask(reason),
            outputs: outputs.clone(),
        };
        self.emit(kind, now, fx);
        let waiting: Vec<usize> = (0..self.steps.len())
            .filter(|&c| self.held_for_outputs_of(c, i))
            .collect();
        let why = format!("{operator} gave `{step}` its outputs");
        for &c in &waiting {
            self.release_one(c, ENGINE, &why, now, fx);
        }
        format!(
            "gave `{step}` its outputs; {} waiting step(s) released",
            waiting.len()
        )
    }

    /// Step `c` is held by the engine (not by an operator, nor for retries or the
    /// budget) and reads an output of step `x`.
    fn held_for_outputs_of(&self, c: usize, x: usize) -> bool {
        self.held_by_engine(c) && self.output_refs(c).any(|(step, _)| step == x)
    }

    /// The outputs step `c`'s next attempt reads, its gate's prompt and inputs and
    /// its `for_each` included: `(step, key)` each.
    fn output_refs(&self, c: usize) -> impl Iterator<Item = (usize, &str)> {
        let step = &self.plan.steps[c];
        let each = step.fanout.iter().filter_map(|f| match &f.source {
            FanSource::ForEach { step, key, .. } => Some((*step, key.as_str())),
            FanSource::Matrix(_) => None,
        });
        let runs = step.alternative(self.steps[c].alternative);
        let gate = step.gate.iter().flat_map(|g| {
            let inputs = g.inputs.iter().filter_map(|s| s.from_run.as_deref());
            std::iter::once(&g.prompt)
                .chain(inputs.flat_map(|t| t.default.iter().chain(t.values.iter())))
        });
        runs.env
            .values()
            .chain(runs.with.values())
            .chain(gate)
            .flat_map(|t| t.refs())
            .filter_map(|r| match r {
                TemplateRef::StepOutput { step, key, .. } => Some((*step, key.as_str())),
                _ => None,
            })
            .chain(each)
    }

    /// Step `i` could not be resolved: when what it misses is an output of a step
    /// marked succeeded, it is held for a person (`true`), its hold naming the output
    /// and the command that supplies it; else it fails as a template error would.
    pub(super) fn hold_for_marked_output(&mut self, i: usize, now: Timestamp, fx: &mut Fx) -> bool {
        // An artifact it lacks holds it the same way (`marked_artifacts`).
        if self.hold_for_marked_artifact(i, now, fx) {
            return true;
        }
        let missing = self
            .output_refs(i)
            .find(|&(x, key)| self.marked_succeeded(x) && self.output_of(x, key).is_none());
        let Some((x, key)) = missing else {
            return false;
        };
        let (x, key) = (self.id(x), key.to_string());
        let reason = format!(
            "`steps.{x}.outputs.{key}` is missing: `{x}` was marked succeeded without it; give it with `baton mark {run} {x} --state succeeded --output {key}=… --reason …` (or --output-file {key}=PATH), and this step starts",
            run = self.cfg.run_id
        );
        let hold = Hold {
            actor: ENGINE,
            reason: &reason,
            until: None,
            what: HoldFor::Operator,
        };
        self.hold_one(i, hold, now, fx);
        true
    }
}

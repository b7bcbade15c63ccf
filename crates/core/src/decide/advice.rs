//! Error records and their suggestions: every record goes through `record`, whose
//! suggestion `model::suggest` decides from the record's kind and the run as it is now.
use super::*;
use baton_model::suggest::{self, Cause, Closed, Situation};

impl Core {
    /// Record an error; `cause` and `will_retry` are what the suggestion needs beyond
    /// the record's kind and the run's state.
    pub(super) fn record(
        &mut self,
        b: ErrorRecordBuilder,
        cause: Cause,
        will_retry: bool,
        now: Timestamp,
        fx: &mut Fx,
    ) {
        let mut rec = b.run(self.cfg.run_id.clone()).build(now);
        if self.error_ids.contains_key(&rec.id) {
            let base = rec.id.clone();
            let mut n = 2;
            while self.error_ids.contains_key(&format!("{base}.{n}")) {
                n += 1;
            }
            rec.id = format!("{base}.{n}");
        }
        let step = rec.step.as_deref().and_then(|s| self.ids.get(s).copied());
        rec.suggestion = self.mask(&self.advise(step, rec.kind, cause, will_retry, now));
        rec.message = self.mask(&rec.message);
        for v in rec.context.values_mut() {
            *v = self.masker.mask(v).into_owned();
        }
        self.emit(EventKind::ErrorRecorded { error: rec }, now, fx);
    }

    /// The facts of the run that decide what can be done about a record on step `i`
    /// (or on the run), handed to `model::suggest`.
    fn advise(
        &self,
        i: Option<usize>,
        kind: ErrorKind,
        cause: Cause,
        will_retry: bool,
        now: Timestamp,
    ) -> String {
        let params: Vec<(String, String)> = self
            .cfg
            .params
            .iter()
            .map(|(k, v)| {
                let shown = if self.holds_secret(v) { "…" } else { v };
                (k.clone(), shown.to_string())
            })
            .collect();
        let step = i.map(|i| self.id(i));
        // Absolute (its directory is), so the command works from any directory.
        let workflow = match self.plan.source.file_name() {
            Some(f) => self.plan.base_dir.join(f),
            None => self.plan.source.clone(),
        };
        let workflow = workflow.display().to_string();
        let action = i.map(|i| &self.plan.steps[i].action);
        let s = Situation {
            run: &self.cfg.run_id,
            step: step.as_deref(),
            workflow: &workflow,
            params: &params,
            cause,
            closed: self.closed(i, now),
            will_retry,
            log: matches!(
                action,
                Some(Action::Shell { .. } | Action::Tool { .. } | Action::Workflow { .. })
            ) && i.is_some_and(|i| self.steps[i].attempts > 0),
            builtin: match action {
                Some(Action::Builtin(b)) => Some(b.name()),
                _ => None,
            },
            idempotent: i.is_none_or(|i| self.plan.steps[i].idempotent),
            step_timeout: i
                .and_then(|i| self.plan.steps[i].timeout)
                .map(human_duration),
            run_timeout: self.plan.timeout.map(human_duration),
        };
        suggest::suggest(kind, &s)
    }

    /// The `[secrets]` entry of step `i` a failed start names: `exec::secrets::SecretError`
    /// says ``secret `NAME` (from …)``, and the engine reports it as it is.
    pub(super) fn secret_behind(&self, i: usize, msg: &str) -> Option<String> {
        self.plan
            .secrets_of(i)
            .into_iter()
            .find(|s| msg.contains(&format!("secret `{}` (from ", s.name)))
            .map(|s| s.name.clone())
    }

    /// Why `retry` and `mark` will not reopen the run once step `i` has settled, as
    /// `check_reopen` will refuse them: the run's timeout passed, or its work is undone
    /// (its compensations ran, or will when it ends: a step with `compensate` succeeded,
    /// or may still succeed, not needing `i`).
    fn closed(&self, i: Option<usize>, now: Timestamp) -> Option<Closed> {
        if self.deadline.is_some_and(|d| now >= d) {
            return Some(Closed::TimedOut);
        }
        if !self.saga {
            return None;
        }
        let lost = i.map(|i| self.needing(i)).unwrap_or_default();
        let lost = |j: usize| lost.get(j).copied().unwrap_or(false);
        let undone = self.compensation_ran
            || (0..self.steps.len()).any(|j| {
                self.plan.steps[j].compensate.is_some()
                    && match self.steps[j].state {
                        StepState::Succeeded => true,
                        s => !settled(s) && Some(j) != i && !lost(j),
                    }
            });
        undone.then_some(Closed::Undone)
    }

    /// The steps that cannot succeed once `i` failed: its dependants needing its
    /// success (`when = "all_success"`), and theirs (a mark per step).
    fn needing(&self, i: usize) -> Vec<bool> {
        let mut out = vec![false; self.steps.len()];
        let mut todo = vec![i];
        while let Some(n) = todo.pop() {
            for &d in &self.dependants[n] {
                if self.plan.steps[d].when == Trigger::AllSuccess && !out[d] {
                    out[d] = true;
                    todo.push(d);
                }
            }
        }
        out
    }

    /// The run param behind a `with` value that does not fit its tool parameter, when
    /// no step output enters it: then a retry fails the same way, only a new run with
    /// another value helps.
    pub(super) fn param_behind(&self, i: usize) -> Option<String> {
        let runs = self.plan.steps[i].alternative(self.steps[i].alternative);
        for (k, t) in runs.with {
            let Ok(v) = self.render(i, t) else { continue };
            if self.check_with(runs.action, k, t, &v).is_ok() {
                continue;
            }
            if t.refs()
                .any(|r| matches!(r, TemplateRef::StepOutput { .. }))
            {
                return None;
            }
            return t.refs().find_map(|r| match r {
                TemplateRef::Param(p) => Some(p.clone()),
                _ => None,
            });
        }
        None
    }
}

//! A mark keeps the artifacts the step's attempt left (issue 75 point 2). `mark …
//! --state succeeded` of a step that declares artifacts has each one it lacks collected
//! from where its last attempt made them (`Effect::Collect`, one artifact a request:
//! one the attempt never made does not keep the others out); those found are put on
//! record (`artifacts_stored`, for that attempt). A step that reads an artifact a
//! marked step still lacks is held for a person, naming it, never failed with
//! `template_error`; once the file is kept, it is released.
use super::hold::{Hold, HoldFor};
use super::*;
use crate::io::CollectRequest;
use baton_model::ArtifactRecord;
use baton_model::history::ENGINE;

impl Core {
    /// Step `i` was just marked succeeded: each artifact it declares and lacks is
    /// collected from its last attempt's directory.
    pub(super) fn collect_marked(&mut self, i: usize, fx: &mut Fx) {
        let Some(declared) = self.declared(i) else {
            return;
        };
        let attempt = self.steps[i].attempts;
        if attempt == 0 {
            return;
        }
        for (name, glob) in declared {
            if self.kept_named(i, &name).is_some() {
                continue;
            }
            fx.push(Effect::Collect(CollectRequest {
                step: i,
                step_id: self.id(i),
                attempt,
                dir: self.step_dir(i),
                artifacts: vec![(name, glob)],
            }));
        }
    }

    fn kept_named(&self, i: usize, name: &str) -> Option<&ArtifactRecord> {
        let a = self.steps.get(i)?.more.artifacts.as_deref()?;
        a.kept.iter().find(|r| r.name == name)
    }

    /// The driver collected (or could not) a file of marked step `i`'s `attempt`:
    /// `false` when `i` is not such a step. A file found is put on record with those
    /// kept already, and the steps held for one of `i`'s artifacts are released (each
    /// is evaluated again: held again if another is still missing).
    pub(super) fn on_marked_collected(
        &mut self,
        i: usize,
        attempt: u32,
        result: &Result<Vec<ArtifactRecord>, String>,
        now: Timestamp,
        fx: &mut Fx,
    ) -> bool {
        let s = &self.steps[i];
        if s.state != StepState::Succeeded || s.more.marked.is_none() || s.attempts != attempt {
            return false;
        }
        // What the attempt did not leave stays missing: its readers wait for a person.
        let Ok(found) = result else {
            return true;
        };
        let mut artifacts: Vec<ArtifactRecord> = s
            .more
            .artifacts
            .as_deref()
            .map(|a| a.kept.clone())
            .unwrap_or_default();
        artifacts.retain(|r| !found.iter().any(|f| f.name == r.name));
        artifacts.extend(found.iter().cloned());
        let step = self.id(i);
        let kind = EventKind::ArtifactsStored {
            step: step.clone(),
            attempt,
            artifacts,
        };
        self.emit(kind, now, fx);
        let waiting: Vec<usize> = (0..self.steps.len())
            .filter(|&c| self.held_for_artifacts_of(c, i))
            .collect();
        let why = format!("`{step}`'s artifacts kept after its mark");
        for &c in &waiting {
            self.release_one(c, ENGINE, &why, now, fx);
        }
        true
    }

    /// Step `c` is held by the engine (not by an operator, nor for retries or the
    /// budget) and reads an artifact of step `x`.
    fn held_for_artifacts_of(&self, c: usize, x: usize) -> bool {
        let held = self.steps[c].state == StepState::Held
            && self.steps[c]
                .more
                .hold
                .as_ref()
                .is_some_and(|h| h.by == ENGINE && !h.exhausted && !h.budget);
        held && self.plan.steps[c]
            .artifacts
            .as_deref()
            .is_some_and(|a| a.uses.iter().any(|u| u.step == x))
    }

    /// Step `i` could not be resolved: when what it misses is an artifact of a step
    /// marked succeeded, it is held for a person (`true`), its hold naming the artifact.
    pub(super) fn hold_for_marked_artifact(
        &mut self,
        i: usize,
        now: Timestamp,
        fx: &mut Fx,
    ) -> bool {
        let Some(a) = self.plan.steps[i].artifacts.as_deref() else {
            return false;
        };
        let missing = a.uses.iter().find(|u| {
            self.steps.get(u.step).is_some_and(|s| {
                s.state == StepState::Succeeded
                    && s.more.marked.is_some()
                    && self.kept_named(u.step, &u.name).is_none()
            })
        });
        let Some(u) = missing else {
            return false;
        };
        let glob = self
            .declared(u.step)
            .and_then(|d| d.into_iter().find(|(n, _)| *n == u.name).map(|(_, g)| g));
        let reason = format!(
            "`steps.{x}.artifacts.{name}` is missing: `{x}` was marked succeeded and its attempt left no `{glob}` in {dir}; this step waits for a person (mark it, or cancel the run)",
            x = u.step_id,
            name = u.name,
            glob = glob.unwrap_or_default(),
            dir = self.step_dir(u.step).display(),
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

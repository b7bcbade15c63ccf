//! A mark keeps the artifacts the step's attempt left (issue 75 point 2). `mark …
//! --state succeeded` of a step that declares artifacts has each one it lacks collected
//! from where its last attempt made them (`Effect::Collect`, one artifact a request:
//! one the attempt never made does not keep the others out); those found are put on
//! record (`artifacts_stored`, for that attempt). A step that reads an artifact a
//! marked step still lacks is held for a person, naming it and the command that gives
//! it (`--artifact NAME=PATH`), never failed with `template_error`; once the file is
//! kept, it is released.
use super::hold::{Hold, HoldFor};
use super::*;
use crate::io::{ArtifactsNotKept, CollectRequest};
use baton_model::ArtifactRecord;
use baton_model::Refusal;
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
        result: &Result<Vec<ArtifactRecord>, ArtifactsNotKept>,
        now: Timestamp,
        fx: &mut Fx,
    ) -> bool {
        if !self.marked_succeeded(i) || self.steps[i].attempts != attempt {
            return false;
        }
        // What the attempt did not leave stays missing: its readers wait for a person,
        // and why it was not kept is on record (`show`, the Errors tab).
        let found = match result {
            Ok(found) => found,
            Err(why) => {
                let message = format!(
                    "`{}` was marked succeeded, but an artifact it declares was not kept from its attempt {attempt}: {why}",
                    self.id(i)
                );
                let b = self
                    .step_error(i, ErrorKind::OutputInvalid, message)
                    .severity(Severity::Medium)
                    .retryable(false)
                    .context("attempt", attempt);
                self.record(b, Cause::MarkedArtifact, false, now, fx);
                return true;
            }
        };
        self.store_marked(i, attempt, found, now, fx);
        true
    }

    /// Put `found` on record for marked step `i` over those it has, and release the
    /// steps held for one of its artifacts.
    pub(super) fn store_marked(
        &mut self,
        i: usize,
        attempt: u32,
        found: &[ArtifactRecord],
        now: Timestamp,
        fx: &mut Fx,
    ) {
        let s = &self.steps[i];
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
        self.close_kept(i, now, fx);
        let waiting: Vec<usize> = (0..self.steps.len())
            .filter(|&c| self.held_for_artifacts_of(c, i))
            .collect();
        let why = format!("`{step}`'s artifacts kept after its mark");
        for &c in &waiting {
            self.release_one(c, ENGINE, &why, now, fx);
        }
    }

    /// Once marked step `i` holds every artifact it declares, the records of those it
    /// lacked close (they no longer count against the run's health).
    fn close_kept(&mut self, i: usize, now: Timestamp, fx: &mut Fx) {
        let lacks = (self.declared(i).unwrap_or_default().iter())
            .any(|(name, _)| self.kept_named(i, name).is_none());
        let open = &self.steps[i].more.open_errors;
        if lacks || open.is_empty() {
            return;
        }
        let ids = open.iter().map(|&n| self.errors[n].id.clone()).collect();
        let kind = EventKind::ErrorsClosed {
            step: self.id(i),
            ids,
        };
        self.emit(kind, now, fx);
    }

    /// A mark's artifacts (`--artifact NAME=PATH`): only with `succeeded`, each one the
    /// step declares, named by a SHA-256.
    pub(super) fn check_mark_artifacts(
        &self,
        i: usize,
        state: StepState,
        given: &[ArtifactRecord],
    ) -> Result<(), Refusal> {
        if given.is_empty() {
            return Ok(());
        }
        let declared: Vec<String> = self
            .declared(i)
            .unwrap_or_default()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        let mut problems = Vec::new();
        if state != StepState::Succeeded {
            problems.push("artifacts are given with `--state succeeded` only".to_string());
        }
        for r in given {
            if !declared.contains(&r.name) {
                problems.push(format!(
                    "`{}` declares no artifact `{}` (it declares: {})",
                    self.id(i),
                    self.mask(&r.name),
                    if declared.is_empty() {
                        "none".to_string()
                    } else {
                        declared.join(", ")
                    }
                ));
            } else if r.sha256.len() != 64 || !r.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                problems.push(format!("artifact `{}` is not named by a SHA-256", r.name));
            }
        }
        match problems.is_empty() {
            true => Ok(()),
            false => Err(Refusal::InputInvalid { problems }),
        }
    }

    /// Record `given` for marked step `i` (after its mark is on record), releasing its
    /// readers held for one; `said`: what the mark did so far.
    pub(super) fn supply_artifacts(
        &mut self,
        i: usize,
        given: &[ArtifactRecord],
        said: String,
        now: Timestamp,
        fx: &mut Fx,
    ) -> String {
        if given.is_empty() {
            return said;
        }
        let attempt = self.steps[i].attempts;
        self.store_marked(i, attempt, given, now, fx);
        let names: Vec<&str> = given.iter().map(|r| r.name.as_str()).collect();
        format!("{said}; kept artifact(s) {}", names.join(", "))
    }

    /// Step `c` is held by the engine (not by an operator, nor for retries or the
    /// budget) and reads an artifact of step `x`.
    fn held_for_artifacts_of(&self, c: usize, x: usize) -> bool {
        self.held_by_engine(c)
            && self.plan.steps[c]
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
        let missing = a
            .uses
            .iter()
            .find(|u| self.marked_succeeded(u.step) && self.kept_named(u.step, &u.name).is_none());
        let Some(u) = missing else {
            return false;
        };
        let glob = self
            .declared(u.step)
            .and_then(|d| d.into_iter().find(|(n, _)| *n == u.name).map(|(_, g)| g));
        let reason = format!(
            "`steps.{x}.artifacts.{name}` is missing: `{x}` was marked succeeded and no `{glob}` was kept from its attempt in {dir} (its error record says why); give it with `baton mark {run} {x} --state succeeded --artifact {name}=PATH --reason …`, and this step starts",
            run = self.cfg.run_id,
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

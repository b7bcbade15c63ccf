//! Artifacts (issue 60). An attempt of a step with `artifacts` that exited 0 is not yet
//! a success: the driver keeps its files in the store (`Effect::Collect`), and the step
//! succeeds once they are on record (`artifacts_stored`), or fails with a record that
//! names the file that was missing, ambiguous or changed. Its `step_finished` alone on
//! record (the engine died while copying) has the files collected again on resume,
//! never the step run again. A step that reads artifacts is handed them
//! (`SpawnSpec::artifacts`) at the path its templates and `BATON_ARTIFACT_*` name.
use super::exits::Ended;
use super::*;
use crate::io::{ArtifactsNotKept, CollectRequest, Handed};
use baton_model::ArtifactRecord;
use baton_model::artifact_paths;
use baton_workflow::ArtifactUse;

/// What an attempt is handed, and the variables that name each.
pub(super) type HandedEnv = (Vec<Handed>, Vec<(String, String)>);

/// A step's artifacts as the core knows them.
#[derive(Debug, Clone, Default)]
pub(crate) struct ArtifactsRt {
    /// The artifacts on record (its latest `artifacts_stored`, or a fork's reuse).
    pub(crate) kept: Vec<ArtifactRecord>,
    /// The run and attempt that made them (`None`: this run).
    pub(crate) from_run: Option<String>,
    pub(crate) attempt: u32,
    /// The attempt that exited 0 and waits for its files to be kept.
    pub(crate) collecting: Option<u32>,
}

impl Core {
    fn artifacts_rt(&mut self, i: usize) -> &mut ArtifactsRt {
        self.steps[i]
            .more
            .artifacts
            .get_or_insert_with(Box::default)
    }

    /// The files step `i` declares, if it declares any.
    pub(super) fn declared(&self, i: usize) -> Option<Vec<(String, String)>> {
        let a = self.plan.steps.get(i)?.artifacts.as_deref()?;
        (!a.produces.is_empty()).then(|| {
            a.produces
                .iter()
                .map(|(n, g)| (n.clone(), g.clone()))
                .collect()
        })
    }

    /// Fold of `step_finished`: an attempt of a step with artifacts that exited 0
    /// waits for them (a failure decided with it moves the step on, which clears it).
    pub(crate) fn fold_finished_artifacts(&mut self, i: usize, attempt: u32, ok: bool) {
        if ok && self.declared(i).is_some() {
            self.artifacts_rt(i).collecting = Some(attempt);
        }
    }

    /// Fold of a transition: a step that leaves `running` waits for no files.
    pub(crate) fn fold_left_running(&mut self, i: usize, state: StepState) {
        if state != StepState::Running
            && let Some(a) = self.steps[i]
                .more
                .written()
                .and_then(|m| m.artifacts.as_deref_mut())
        {
            a.collecting = None;
        }
    }

    /// Fold of `artifacts_stored`.
    pub(crate) fn fold_stored(&mut self, ev: &Event) {
        if let EventKind::ArtifactsStored {
            step,
            attempt,
            artifacts,
        } = &ev.kind
        {
            self.fold_artifacts(step, *attempt, artifacts, None);
        }
    }

    /// Fold of kept artifacts (`from_run`: a fork's `step_reused`).
    pub(crate) fn fold_artifacts(
        &mut self,
        step: &str,
        attempt: u32,
        kept: &[ArtifactRecord],
        from_run: Option<&str>,
    ) {
        let Some(i) = self.step_index(step) else {
            return;
        };
        let a = self.artifacts_rt(i);
        a.kept = kept.to_vec();
        a.attempt = attempt;
        a.from_run = from_run.map(str::to_string);
        a.collecting = None;
    }

    /// Step `i`'s artifacts as its view shows them.
    pub(crate) fn artifact_views(&self, i: usize) -> Vec<baton_model::view::ArtifactView> {
        let Some(a) = self.steps.get(i).and_then(|s| s.more.artifacts.as_deref()) else {
            return Vec::new();
        };
        let run = a
            .from_run
            .clone()
            .unwrap_or_else(|| self.cfg.run_id.clone());
        a.kept
            .iter()
            .map(|r| baton_model::view::ArtifactView {
                record: r.clone(),
                run: run.clone(),
                attempt: a.attempt,
            })
            .collect()
    }

    /// The artifacts step `i` has on record: what a fork reuses.
    pub fn artifacts_of(&self, i: usize) -> Vec<ArtifactRecord> {
        self.steps
            .get(i)
            .and_then(|s| s.more.artifacts.as_deref())
            .map(|a| a.kept.clone())
            .unwrap_or_default()
    }

    /// Step `i`'s attempt `attempt` exited 0 with nothing else wrong: keep its files
    /// first (`true`), or it has none to keep (`false`: it succeeds now).
    pub(super) fn collect(&mut self, i: usize, attempt: u32, fx: &mut Fx) -> bool {
        let Some(artifacts) = self.declared(i) else {
            return false;
        };
        // A cache hit put the cached run's on record for this attempt already.
        if self.steps[i]
            .more
            .artifacts
            .as_deref()
            .is_some_and(|a| a.attempt == attempt && a.from_run.is_none() && !a.kept.is_empty())
        {
            return false;
        }
        fx.push(Effect::Collect(CollectRequest {
            step: i,
            step_id: self.id(i),
            attempt,
            dir: self.step_dir(i),
            artifacts,
        }));
        true
    }

    /// On resume: a step whose attempt exited 0 while its files were being kept has
    /// them collected again (the files are still where it made them).
    pub(super) fn collect_again(&mut self, i: usize, fx: &mut Fx) -> bool {
        let s = &self.steps[i];
        let waiting = s.more.artifacts.as_deref().and_then(|a| a.collecting);
        match waiting {
            Some(attempt)
                if s.state == StepState::Running && attempt == s.attempts && !self.stopping() =>
            {
                self.collect(i, attempt, fx)
            }
            _ => false,
        }
    }

    /// The driver kept the files of step `i`'s attempt `attempt`, or could not.
    pub(super) fn on_collected(
        &mut self,
        i: usize,
        attempt: u32,
        result: Result<Vec<ArtifactRecord>, ArtifactsNotKept>,
        now: Timestamp,
        fx: &mut Fx,
    ) {
        if i >= self.steps.len() || self.on_marked_collected(i, attempt, &result, now, fx) {
            return;
        }
        let s = &self.steps[i];
        let waiting = s.more.artifacts.as_deref().and_then(|a| a.collecting);
        if s.state != StepState::Running || waiting != Some(attempt) {
            return;
        }
        match result {
            Ok(artifacts) => {
                let kind = EventKind::ArtifactsStored {
                    step: self.id(i),
                    attempt,
                    artifacts,
                };
                self.emit(kind, now, fx);
                self.succeed(i, None, now, fx);
            }
            Err(why) => {
                let ended = Ended {
                    attempt,
                    alternative: (!self.plan.steps[i].fallback.is_empty())
                        .then_some(self.steps[i].alternative),
                    duration_ms: self.steps[i].duration_ms.unwrap_or(0),
                    tail: String::new(),
                    outcome: StepOutcome::Exited { exit_code: 0 },
                };
                let failed = (ErrorKind::OutputInvalid, self.mask(&why.0));
                self.attempt_failed(i, &ended, failed, None, now, fx);
            }
        }
    }

    /// The artifact `u` names, as run on record keeps it.
    fn kept(&self, u: &ArtifactUse) -> Option<&ArtifactRecord> {
        let a = self.steps.get(u.step)?.more.artifacts.as_deref()?;
        a.kept.iter().find(|r| r.name == u.name)
    }

    /// Where step `reader` of this run finds artifact `name` of step `producer`; `None`
    /// when it is not on record (its step did not make it) or the store is not known.
    pub(crate) fn artifact_path(
        &self,
        reader: usize,
        (producer, step_id): (usize, &str),
        name: &str,
    ) -> Option<String> {
        let u = ArtifactUse {
            step: producer,
            step_id: step_id.to_string(),
            name: name.to_string(),
        };
        let rec = self.kept(&u)?;
        let path = self.handed_path(reader, rec)?;
        Some(path.to_string_lossy().into_owned())
    }

    /// Where step `reader` finds `rec`: the staged copy for a step of this machine (in
    /// the store's stage, or the engine account's own, [`Core::locate_stage`]), a path
    /// relative to its working directory for one that runs on another executor (copied
    /// there over that executor's channel); `None`: the store is not known.
    fn handed_path(&self, reader: usize, rec: &ArtifactRecord) -> Option<std::path::PathBuf> {
        let remote = self
            .executor_of(reader)
            .and_then(|e| self.plan.executors.get(e))
            .is_some_and(|e| !matches!(e.kind, baton_workflow::ExecutorKind::Local));
        if remote {
            return Some(artifact_paths::remote_path(rec));
        }
        if let Some(stage) = &self.stage {
            return Some(artifact_paths::stage_path_under(
                stage,
                &self.cfg.run_id,
                rec,
            ));
        }
        let db = self.cfg.store.as_deref()?;
        Some(artifact_paths::stage_path(db, &self.cfg.run_id, rec))
    }

    /// The steps that will be handed step `i`'s artifact `name` and have not started
    /// (pending, waiting for approval, queued), each with its executor (an index of the
    /// plan's) and the directory it will run in: where the driver may send the file
    /// ahead while it keeps it (issue 60 point 3).
    pub fn readers_to_come(
        &self,
        i: usize,
        name: &str,
    ) -> Vec<(usize, Option<usize>, std::path::PathBuf)> {
        let reads =
            |a: &baton_workflow::Artifacts| a.uses.iter().any(|u| u.step == i && u.name == name);
        self.plan
            .steps
            .iter()
            .enumerate()
            .filter(|(j, s)| {
                s.artifacts.as_deref().is_some_and(reads)
                    && self
                        .steps
                        .get(*j)
                        .is_some_and(|r| r.state.precedes_attempt())
            })
            .map(|(j, _)| (j, self.executor_of(j), self.step_dir(j)))
            .collect()
    }

    /// What step `i`'s attempt is handed, and the variables that name each
    /// (`BATON_ARTIFACT_<STEP>_<NAME>`); `Err`: one it reads is not on record.
    pub(super) fn handed(&self, i: usize) -> Result<HandedEnv, HandError> {
        let Some(a) = self.plan.steps[i].artifacts.as_deref() else {
            return Ok((Vec::new(), Vec::new()));
        };
        let mut handed: Vec<Handed> = Vec::new();
        let mut env = Vec::new();
        for u in &a.uses {
            let label = format!("{}.{}", u.step_id, u.name);
            let Some(rec) = self.kept(u) else {
                return Err(HandError::NotKept {
                    label,
                    step: u.step_id.clone(),
                });
            };
            let Some(dest) = self.handed_path(i, rec) else {
                return Err(HandError::NoStore { label });
            };
            env.push((u.env_name(), dest.to_string_lossy().into_owned()));
            if !handed.iter().any(|h| h.dest == dest) {
                handed.push(Handed {
                    label,
                    sha256: rec.sha256.clone(),
                    size: rec.size,
                    dest,
                });
            }
        }
        Ok((handed, env))
    }
}

/// Why an artifact a step reads cannot be handed to it (the step fails with it, a
/// template error).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum HandError {
    #[error(
        "artifact `{label}` is not on record: `{step}` did not keep it (it did not run, or was marked); retry `{step}` so that it keeps one"
    )]
    NotKept { label: String, step: String },
    #[error(
        "artifact `{label}`: the run's store is not known, so there is no copy to hand it (run the workflow with a store, --db)"
    )]
    NoStore { label: String },
}

//! The driver's side of cached steps: before a cached attempt starts, gather the facts
//! (input and product hashes, the stored entry), let `engine::cache` decide, and either
//! answer the core from the cache (no process starts) or start the step and record its
//! result once the core has called it a success.
use super::{Driver, Msg};
use crate::cache_files::{self as files, CacheFileError};
use baton_core::cache::{self, Decision, KeyFacts, ProductSeen};
use baton_core::{CacheHit, CacheRequest, Input, SpawnSpec, StepExit};
use baton_model::artifact_paths::object_path;
use baton_model::{
    ArtifactRecord, Event, EventKind, OutputProblem, StepOutcome, StepState, Timestamp,
};
use baton_store::CacheEntry;
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::PathBuf;

type Key = (usize, u32);

/// Why the cache could not be consulted (the step then runs, and says so).
#[derive(Debug, thiserror::Error)]
enum LookUpError {
    #[error(transparent)]
    Store(#[from] baton_store::StoreError),
    #[error(transparent)]
    Files(#[from] CacheFileError),
}

/// What the driver keeps about cached attempts between their start and their end.
#[derive(Default)]
pub(super) struct CacheState {
    salt: Option<Vec<u8>>,
    /// Attempts that missed: recorded when the core calls them succeeded.
    pending: HashMap<Key, Pending>,
    /// Why a cached attempt could not use the cache, reported with its exit.
    problems: HashMap<Key, Vec<OutputProblem>>,
}

struct Pending {
    key: String,
    workflow: String,
    step: String,
    dir: PathBuf,
    produces: Vec<PathBuf>,
    /// The attempt's raw outputs, once it exited.
    outputs: Option<Vec<(String, String)>>,
}

/// A lookup's result, with what acting on it needs.
enum Found {
    Hit {
        entry: CacheEntry,
        restore: Vec<(PathBuf, String)>,
    },
    Miss,
}

impl Driver {
    /// A cached attempt: answered from the cache, or started (and remembered).
    pub(super) fn consult_cache(&mut self, mut spec: SpawnSpec) {
        let Some(req) = spec.cache.take() else {
            return self.spawn(spec, false, None);
        };
        let at = (spec.step, spec.attempt);
        let looked = self.look_up(&spec, &req);
        let (key, found) = match looked {
            Ok(v) => v,
            Err(e) => {
                self.cache
                    .problems
                    .entry(at)
                    .or_default()
                    .push(OutputProblem::Ignored(format!("cache not consulted: {e}")));
                return self.spawn(spec, false, None);
            }
        };
        match found {
            Found::Hit { entry, restore } => match self.restore(&spec, &restore) {
                Ok(restored) => match self.cached_artifacts(&spec, &entry) {
                    Ok(artifacts) => self.answer(&spec, key, entry, (restored, artifacts)),
                    Err(e) => {
                        self.cache
                            .problems
                            .entry(at)
                            .or_default()
                            .push(OutputProblem::Ignored(format!("cache hit not used: {e}")));
                        self.remember(&spec, &req, key);
                        self.spawn(spec, false, None);
                    }
                },
                Err(e) => {
                    self.cache
                        .problems
                        .entry(at)
                        .or_default()
                        .push(OutputProblem::Ignored(format!("cache hit not used: {e}")));
                    self.remember(&spec, &req, key);
                    self.spawn(spec, false, None);
                }
            },
            Found::Miss => {
                self.remember(&spec, &req, key);
                self.spawn(spec, false, None);
            }
        }
    }

    fn salt(&mut self) -> Result<Vec<u8>, baton_store::StoreError> {
        if let Some(s) = &self.cache.salt {
            return Ok(s.clone());
        }
        let s = self.store.cache_secret_key()?;
        self.cache.salt = Some(s.clone());
        Ok(s)
    }

    /// The key, and whether its entry answers the attempt (`cache::decide`).
    fn look_up(
        &mut self,
        spec: &SpawnSpec,
        req: &CacheRequest,
    ) -> Result<(String, Found), LookUpError> {
        let salt = self.salt()?;
        let inputs = files::input_hashes(&spec.dir, &req.spec.inputs)?;
        let key = cache::cache_key(&KeyFacts {
            workflow: &req.workflow,
            step: &spec.step_id,
            action: &req.action,
            env: &spec.env,
            run_id: &self.run_id,
            inputs: &inputs,
            produces: &req.spec.produces,
            secrets: &spec.secret_values,
            salt: &salt,
        });
        if !req.consult {
            return Ok((key, Found::Miss));
        }
        let entry = self.store.cache_get(&key)?;
        let cache_dir = self.store.cache_dir();
        let mut seen = Vec::new();
        for (path, sha) in entry.iter().flat_map(|e| e.products.iter()) {
            let current = files::hash_file(&files::product_path(&spec.dir, path))?;
            seen.push(ProductSeen {
                path: path.clone(),
                current,
                stored: files::object_exists(&cache_dir, sha),
            });
        }
        let found = match (cache::decide(entry.as_ref(), &seen), entry) {
            (Decision::Hit { restore }, Some(entry)) => Found::Hit { entry, restore },
            (Decision::Hit { .. }, None) | (Decision::Miss { .. }, _) => Found::Miss,
        };
        Ok((key, found))
    }

    fn restore(
        &self,
        spec: &SpawnSpec,
        restore: &[(PathBuf, String)],
    ) -> Result<Vec<String>, CacheFileError> {
        let cache_dir = self.store.cache_dir();
        for (path, sha) in restore {
            files::restore_object(&cache_dir, sha, &files::product_path(&spec.dir, path))?;
        }
        Ok(restore
            .iter()
            .map(|(p, _)| p.to_string_lossy().into_owned())
            .collect())
    }

    /// The artifacts the cached run's step kept, for a step that declares artifacts
    /// (none for one that does not); `Err`: one is no longer on record or its content
    /// no longer in the store (`gc` took it), so the hit cannot answer the attempt.
    fn cached_artifacts(
        &self,
        spec: &SpawnSpec,
        entry: &CacheEntry,
    ) -> Result<Vec<ArtifactRecord>, baton_core::ArtifactsNotKept> {
        let declared: Vec<String> = self
            .core
            .plan()
            .steps
            .get(spec.step)
            .and_then(|s| s.artifacts.as_deref())
            .map(|a| a.produces.keys().cloned().collect())
            .unwrap_or_default();
        if declared.is_empty() {
            return Ok(Vec::new());
        }
        let kept = self
            .store
            .step_artifacts(&entry.run_id, &entry.step)
            .map_err(|e| baton_core::ArtifactsNotKept(e.to_string()))?;
        for name in &declared {
            let Some(rec) = kept.iter().find(|r| &r.name == name) else {
                return Err(baton_core::ArtifactsNotKept(format!(
                    "run {} has no artifact `{name}` of step `{}` on record",
                    entry.run_id, entry.step
                )));
            };
            let object = object_path(self.store.path(), &rec.sha256);
            if !object.is_file() {
                return Err(baton_core::ArtifactsNotKept(format!(
                    "artifact `{name}` of run {} (sha256 {}) is no longer in the store",
                    entry.run_id, rec.sha256
                )));
            }
        }
        Ok(kept
            .into_iter()
            .filter(|r| declared.contains(&r.name))
            .collect())
    }

    /// Answer the core from the cache: the attempt's log says where its result came from.
    fn answer(
        &mut self,
        spec: &SpawnSpec,
        key: String,
        entry: CacheEntry,
        (restored, artifacts): (Vec<String>, Vec<ArtifactRecord>),
    ) {
        let mut lines = vec![
            format!(
                "cached: not run; outputs from run {} (step {}, recorded {})",
                entry.run_id,
                entry.step,
                entry.created.to_rfc3339()
            ),
            format!("cache key {key}"),
        ];
        lines.push(if restored.is_empty() {
            "products unchanged".to_string()
        } else {
            format!("restored from the cache: {}", restored.join(", "))
        });
        for a in &artifacts {
            lines.push(format!(
                "artifact {} = {} restored from the store (sha256 {}, {} bytes)",
                a.name, a.path, a.sha256, a.size
            ));
        }
        let name = baton_model::log_file_name(&spec.step_id, spec.attempt);
        let path = self.log_dir.join(&name);
        let written = baton_exec::own_files::append(&self.log_dir, &name)
            .and_then(|mut f| f.write_all(format!("{}\n", lines.join("\n")).as_bytes()));
        let problems = match written {
            Ok(()) => Vec::new(),
            Err(e) => vec![OutputProblem::LogLost(baton_exec::log_write_failed(
                &path, e,
            ))],
        };
        let input = Input::CacheHit(CacheHit {
            step: spec.step,
            attempt: spec.attempt,
            from_run: entry.run_id,
            key,
            outputs: entry.outputs.into_iter().collect(),
            restored,
            artifacts,
        });
        let _ = self.inbox_tx.send(Msg::Exited {
            key: (spec.step, spec.attempt),
            log: Some((spec.step_id.clone(), path, lines)),
            input,
            problems,
        });
    }

    fn remember(&mut self, spec: &SpawnSpec, req: &CacheRequest, key: String) {
        self.cache.pending.insert(
            (spec.step, spec.attempt),
            Pending {
                key,
                workflow: req.workflow.clone(),
                step: spec.step_id.clone(),
                dir: spec.dir.clone(),
                produces: req.spec.produces.clone(),
                outputs: None,
            },
        );
    }

    /// An attempt ended: keep a cached one's raw outputs; add why it did not use the cache.
    pub(super) fn cache_saw_exit(
        &mut self,
        at: Key,
        input: &Input,
        problems: &mut Vec<OutputProblem>,
    ) {
        problems.extend(self.cache.problems.remove(&at).unwrap_or_default());
        if let (
            Some(p),
            Input::StepExited(StepExit {
                outcome: StepOutcome::Exited { exit_code: 0 },
                outputs,
                ..
            }),
        ) = (self.cache.pending.get_mut(&at), input)
        {
            p.outputs = Some(outputs.clone());
        }
    }

    /// After a commit: record the entries of cached attempts the core called succeeded;
    /// forget those that ended otherwise.
    pub(super) fn cache_committed(&mut self, batch: &[Event]) {
        if self.cache.pending.is_empty() {
            return;
        }
        for e in batch {
            let EventKind::StepStateChanged {
                step,
                state,
                attempt,
                ..
            } = &e.kind
            else {
                continue;
            };
            if *state == StepState::Running {
                continue;
            }
            let Some(i) = self.core.plan().step_index(step) else {
                continue;
            };
            let Some(p) = self.cache.pending.remove(&(i, *attempt)) else {
                continue;
            };
            if *state == StepState::Succeeded
                && let Some(entry) = self.cache_entry(p)
            {
                // Best effort: a cache that cannot be written makes later runs slower,
                // never this one wrong.
                let _ = self.store.cache_put(&entry);
            }
        }
    }

    /// The entry of a succeeded attempt; `None` when a declared product is missing.
    /// An output holding a secret is left out, as the core withholds it from consumers
    /// (a cache hit then gives what a real run gives: no such output).
    fn cache_entry(&self, p: Pending) -> Option<CacheEntry> {
        let outputs: BTreeMap<String, String> = p
            .outputs?
            .into_iter()
            .filter(|(_, v)| !self.core.holds_secret(v))
            .collect();
        let cache_dir = self.store.cache_dir();
        let mut products = Vec::new();
        for rel in &p.produces {
            let sha = files::store_object(&cache_dir, &files::product_path(&p.dir, rel)).ok()??;
            products.push((rel.clone(), sha));
        }
        Some(CacheEntry {
            key: p.key,
            workflow: p.workflow,
            step: p.step,
            run_id: self.run_id.clone(),
            outputs,
            products,
            created: Timestamp::now(),
        })
    }
}

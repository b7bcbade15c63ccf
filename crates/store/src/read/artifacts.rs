//! Artifacts on record (issue 60): the projection keeps each artifact a run's step
//! kept in `artifacts` (schema `ARTIFACTS`), so that `gc` and `runs rm` know which
//! contents of the store's `artifacts/objects/` some kept run still names, without
//! replaying every run. The files themselves are the engine's
//! (`model::artifact_paths` says where).
use crate::{Store, StoreError};
use baton_model::artifact_paths::{artifacts_dir, stage_dir};
use baton_model::{ArtifactRecord, Event, EventKind};
use rusqlite::{Connection, params};
use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

/// In a commit's transaction: the artifacts an `artifacts_stored` or a fork's
/// `step_reused` puts on record for its step (replacing an earlier attempt's).
pub(crate) fn project(tx: &Connection, run_id: &str, ev: &Event) -> Result<(), StoreError> {
    let (step, attempt, from_run, artifacts): (&str, u32, &str, &[ArtifactRecord]) = match &ev.kind
    {
        EventKind::ArtifactsStored {
            step,
            attempt,
            artifacts,
        } => (step, *attempt, run_id, artifacts),
        EventKind::StepReused {
            step,
            from_run,
            from_attempt,
            artifacts,
            ..
        } if !artifacts.is_empty() => (step, *from_attempt, from_run, artifacts),
        _ => return Ok(()),
    };
    tx.prepare_cached("DELETE FROM artifacts WHERE run_id = ?1 AND step = ?2")?
        .execute(params![run_id, step])?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO artifacts (run_id, step, name, path, sha256, size, from_run, attempt)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for a in artifacts {
        insert.execute(params![
            run_id,
            step,
            a.name,
            a.path,
            a.sha256,
            i64::try_from(a.size).unwrap_or(i64::MAX),
            from_run,
            attempt
        ])?;
    }
    Ok(())
}

/// What [`Store::collect_artifact_garbage`] removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArtifactGarbage {
    /// Contents no run on record names any more.
    pub objects: usize,
    /// Bytes they held.
    pub bytes: u64,
    /// Handed copies of runs no longer on record.
    pub stages: usize,
}

impl Store {
    /// The artifacts run `run_id`'s step `step` has on record (what a cache hit of the
    /// step in a later run restores), in name order.
    pub fn step_artifacts(
        &self,
        run_id: &str,
        step: &str,
    ) -> Result<Vec<ArtifactRecord>, StoreError> {
        let r = (|| {
            let mut st = self.conn.prepare_cached(
                "SELECT name, path, sha256, size FROM artifacts
                 WHERE run_id = ?1 AND step = ?2 ORDER BY name",
            )?;
            let rows = st.query_map(params![run_id, step], |r| {
                Ok(ArtifactRecord {
                    name: r.get(0)?,
                    path: r.get(1)?,
                    sha256: r.get(2)?,
                    size: u64::try_from(r.get::<_, i64>(3)?).unwrap_or(0),
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })();
        self.ctx(r)
    }

    /// The contents some run on record names (its artifacts' SHA-256s).
    pub fn artifact_digests(&self) -> Result<HashSet<String>, StoreError> {
        let r = (|| {
            let mut st = self
                .conn
                .prepare_cached("SELECT DISTINCT sha256 FROM artifacts")?;
            let rows = st.query_map([], |r| r.get::<_, String>(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })();
        self.ctx(r)
    }

    /// Remove the artifact contents no run on record names, the copies handed to the
    /// steps of runs no longer on record, and temporary files a killed engine left
    /// (`baton gc`, `baton runs rm`). While an engine drives a run of the store, a
    /// content or temporary file younger than an hour stays: that run may be keeping
    /// it and put it on record in a moment.
    pub fn collect_artifact_garbage(&self) -> Result<ArtifactGarbage, StoreError> {
        let driven = self.list_runs()?.iter().any(|r| r.driven_by.is_some());
        let keep = self.artifact_digests()?;
        let runs: HashSet<String> = self.runs_ended_at()?.into_keys().collect();
        let dir = artifacts_dir(&self.path);
        let mut out = ArtifactGarbage::default();
        for file in files_in(&dir.join("objects")) {
            let name = file.file_name().to_string_lossy().into_owned();
            let Ok(meta) = file.metadata() else { continue };
            let young = driven
                && meta
                    .modified()
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_none_or(|age| age < YOUNG);
            if young || keep.contains(&name) {
                continue;
            }
            if fs::remove_file(file.path()).is_ok() {
                out.objects += 1;
                out.bytes += meta.len();
            }
        }
        if let Ok(stages) = fs::read_dir(dir.join("stage")) {
            for run in stages.flatten() {
                let id = run.file_name().to_string_lossy().into_owned();
                if !runs.contains(&id) && fs::remove_dir_all(stage_dir(&self.path, &id)).is_ok() {
                    out.stages += 1;
                }
            }
        }
        // This account's own copies of the store's runs (each member removes theirs).
        if let Some(own) = account_stage(&self.path) {
            for run in fs::read_dir(&own).into_iter().flatten().flatten() {
                let id = run.file_name().to_string_lossy().into_owned();
                if !runs.contains(&id) && fs::remove_dir_all(run.path()).is_ok() {
                    out.stages += 1;
                }
            }
        }
        Ok(out)
    }
}

/// Where this account's engine hands the local steps of the store at `db` their
/// copies, when the store's directory is one other accounts can write (a group store:
/// any member could rename `artifacts/` as a whole and put another tree in its place):
/// `stage/KEY/` in this account's state directory ([`crate::starter_seal::state_dir`],
/// KEY naming the store by its path), which only this account can write. `None`: the
/// store's own `artifacts/stage/`, in a directory only its owner writes.
pub fn account_stage(db: &Path) -> Option<PathBuf> {
    use sha2::Digest;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::MetadataExt;
    let dir = match db.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if fs::metadata(dir).ok()?.mode() & 0o022 == 0 {
        return None;
    }
    let real = fs::canonicalize(dir)
        .unwrap_or_else(|_| dir.to_path_buf())
        .join(db.file_name().unwrap_or_default());
    let digest = sha2::Sha256::digest(real.as_os_str().as_bytes());
    let key: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    Some(crate::starter_seal::state_dir().join("stage").join(key))
}

/// How long a content no run names yet is left alone (a live run keeping it).
const YOUNG: std::time::Duration = std::time::Duration::from_secs(3600);

/// The files of `objects/` and of its fan-out directories.
fn files_in(objects: &std::path::Path) -> Vec<fs::DirEntry> {
    let mut out = Vec::new();
    for e in fs::read_dir(objects).into_iter().flatten().flatten() {
        match e.file_type() {
            Ok(t) if t.is_dir() => {
                out.extend(fs::read_dir(e.path()).into_iter().flatten().flatten());
            }
            Ok(t) if t.is_file() => out.push(e),
            _ => {}
        }
    }
    out.retain(|e| e.file_type().is_ok_and(|t| t.is_file()));
    out
}

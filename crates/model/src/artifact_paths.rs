//! Where a store keeps artifacts (issue 60), beside its database: each content once,
//! named by its SHA-256 (`artifacts/objects/ab/abcdef…`), and the copies a run's steps
//! are handed (`artifacts/stage/RUN/SHA/FILE`), which `runs rm` removes with the run.
//! In a store whose directory other accounts can write (a group store), a run's local
//! copies lie in the engine account's own state directory instead
//! (`store::account_stage`): [`stage_path_under`] that directory.
//! A step on another executor is handed its copy in its own working directory
//! (`.baton-artifacts/SHA/FILE`).
use super::event::ArtifactRecord;
use std::path::{Path, PathBuf};

/// `artifacts/` beside the store's database file `db`.
pub fn artifacts_dir(db: &Path) -> PathBuf {
    match db.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.join("artifacts"),
        _ => PathBuf::from("artifacts"),
    }
}

/// Where the content with SHA-256 `sha` is kept.
pub fn object_path(db: &Path, sha: &str) -> PathBuf {
    let fan = sha.get(..2).unwrap_or("00");
    artifacts_dir(db).join("objects").join(fan).join(sha)
}

/// The directory of the copies run `run_id`'s steps are handed.
pub fn stage_dir(db: &Path, run_id: &str) -> PathBuf {
    artifacts_dir(db).join("stage").join(run_id)
}

/// Where a step of run `run_id` finds artifact `rec`: its file name under its digest,
/// so a path names one content (a cached reader's key, a gate's digest bind to it).
pub fn stage_path(db: &Path, run_id: &str, rec: &ArtifactRecord) -> PathBuf {
    stage_path_under(&artifacts_dir(db).join("stage"), run_id, rec)
}

/// [`stage_path`] under the stage directory `stage` (`RUN/SHA/FILE` in it).
pub fn stage_path_under(stage: &Path, run_id: &str, rec: &ArtifactRecord) -> PathBuf {
    stage.join(run_id).join(&rec.sha256).join(rec.file_name())
}

/// Where a step that runs on another executor (an SSH host, a batch or Slurm job)
/// finds artifact `rec`: relative to its working directory, into which baton copies it
/// over that executor's own channel before the step starts.
pub fn remote_path(rec: &ArtifactRecord) -> PathBuf {
    Path::new(REMOTE_DIR)
        .join(&rec.sha256)
        .join(rec.file_name())
}

/// The directory, in a remote step's working directory, of the artifacts it is handed.
pub const REMOTE_DIR: &str = ".baton-artifacts";

/// Who holds a handed copy on another executor: an attempt (`RUN.STEP.ATTEMPT`, only
/// `[A-Za-z0-9._-]`), whose hold is a hard link `.held-HOLDER` beside the copy, dropped
/// once the attempt ended; the copy goes with its last hold.
pub fn holder(run_id: &str, step_id: &str, attempt: u32) -> String {
    hold_name(&format!("{run_id}.{step_id}.{attempt}"))
}

/// `raw` as a hold's name on a host: every character outside `[A-Za-z0-9._-]` made `_`
/// (the host scripts take it as a file name's tail).
pub fn hold_name(raw: &str) -> String {
    raw.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_lie_beside_the_database() {
        let rec = ArtifactRecord {
            name: "model".into(),
            path: "out/m.ckpt".into(),
            sha256: "abcd".into(),
            size: 3,
        };
        let db = Path::new("/s/baton.db");
        assert_eq!(
            object_path(db, "abcd"),
            Path::new("/s/artifacts/objects/ab/abcd")
        );
        assert_eq!(
            stage_path(db, "r1", &rec),
            Path::new("/s/artifacts/stage/r1/abcd/m.ckpt")
        );
        assert_eq!(artifacts_dir(Path::new("x.db")), Path::new("artifacts"));
        assert_eq!(remote_path(&rec), Path::new(".baton-artifacts/abcd/m.ckpt"));
        assert_eq!(holder("r1", "eval/x y", 2), "r1.eval_x_y.2");
    }
}

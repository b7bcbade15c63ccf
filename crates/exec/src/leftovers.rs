//! Temporary directories a dead engine left behind (`$BATON_OUTPUT`/`$BATON_USAGE`
//! files of its attempts, possibly holding unmasked outputs): resume reads what a
//! lost attempt wrote to its `$BATON_OUTPUT` (`read_outputs`), then removes them
//! before the run continues.
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

/// What a dead engine's attempt of run `run_id` wrote to its `$BATON_OUTPUT` at
/// `path` (as recorded: `StepProcess::output`), parsed: read before
/// [`remove_run_temp_dirs`] removes it. Nothing when the file is absent, or when
/// `path` is not where baton puts a `$BATON_OUTPUT` of this run (an `output` file in a
/// `baton-<run>-…` directory under a root an engine of this account may have chosen:
/// `files_dir::every_root`, as [`remove_run_temp_dirs`] sweeps).
pub fn read_outputs(run_id: &str, path: &str) -> Vec<(String, String)> {
    let path = Path::new(path);
    if !is_ours(run_id, path) {
        return Vec::new();
    }
    let mut errors = Vec::new();
    let Some((text, more)) = crate::local::shell::read_bounded(path, "$BATON_OUTPUT", &mut errors)
    else {
        return Vec::new();
    };
    let masker = baton_model::mask::Masker::default();
    super::outputs::parse_read_outputs(&text, more, &masker).0
}

/// What a dead engine's attempt whose `$BATON_OUTPUT` is `output` (as [`read_outputs`]
/// takes it) wrote to its `$BATON_SUMMARY`, kept beside its log `log` as a finished
/// attempt's is (`summary::keep`): read before [`remove_run_temp_dirs`] removes it.
pub fn keep_summary(
    run_id: &str,
    output: &str,
    log: &Path,
    mask: &dyn Fn(&str) -> String,
) -> Result<bool, super::summary::SummaryError> {
    let output = Path::new(output);
    match super::summary::beside_output(output).filter(|_| is_ours(run_id, output)) {
        Some(from) => super::summary::keep(&from, log, mask),
        None => Ok(false),
    }
}

/// Whether `path` is where baton puts a `$BATON_OUTPUT` of run `run_id`.
fn is_ours(run_id: &str, path: &Path) -> bool {
    let prefix = format!("baton-{}-", crate::job::clean(run_id));
    let plain = path.is_absolute()
        && path
            .components()
            .all(|c| matches!(c, Component::RootDir | Component::Normal(_)))
        && path.file_name().is_some_and(|n| n == "output");
    plain
        && super::files_dir::every_root().iter().any(|root| {
            path.strip_prefix(root)
                .ok()
                .and_then(|rest| rest.components().next())
                .is_some_and(|c| c.as_os_str().to_string_lossy().starts_with(&prefix))
        })
}

/// Remove this user's `baton-<run>-…` directories under the files root and every other
/// root an engine of another environment may have chosen (`files_dir::every_root`: the
/// temp dir, `XDG_RUNTIME_DIR`, `/dev/shm`) (the run's files directory and any
/// attempt's own). Only real directories owned by this user are
/// touched, never a symlink; nor one that is or holds a directory in `keep` (an
/// adopted attempt's, `adopt.rs`). Returns what was removed.
pub fn remove_run_temp_dirs(run_id: &str, keep: &[PathBuf]) -> Vec<PathBuf> {
    let prefix = format!("baton-{}-", crate::job::clean(run_id));
    let me = nix::unistd::geteuid().as_raw();
    super::files_dir::every_root()
        .iter()
        .filter_map(|root| std::fs::read_dir(root).ok())
        .flatten()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
        .filter(|p| std::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir() && m.uid() == me))
        .filter(|p| !keep.iter().any(|k| k.starts_with(p)))
        .filter(|p| {
            // The run's directory is unlistable while in use (see `FilesDir`).
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o700));
            std::fs::remove_dir_all(p).is_ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_only_the_runs_directories() {
        let run = format!("01leftovertest{}", std::process::id());
        let tmp = crate::files_root();
        let ours = tmp.join(format!("baton-{run}-deadbeef"));
        let attempt = tmp.join(format!("baton-{run}-build-1-cafe0001"));
        let other = tmp.join(format!("baton-{run}x-deadbeef"));
        for d in [&ours, &attempt, &other] {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(ours.join("build.1.out"), "token=secret\n").unwrap();
        let mut removed = remove_run_temp_dirs(&run, &[]);
        removed.sort();
        let mut want = vec![ours.clone(), attempt.clone()];
        want.sort();
        assert_eq!(removed, want);
        assert!(!ours.exists() && !attempt.exists());
        assert!(other.exists(), "another run's directory stays");
        std::fs::remove_dir_all(other).unwrap();
    }

    #[test]
    fn reads_a_lost_attempts_outputs_only_where_baton_puts_them() {
        let run = format!("01leftoverout{}", std::process::id());
        let dir = crate::files_root().join(format!("baton-{run}-cafe0002"));
        std::fs::create_dir_all(&dir).unwrap();
        let output = dir.join("output");
        std::fs::write(&output, "version=v1\nnot a line\nurl=x\n").unwrap();
        let path = output.display().to_string();
        assert_eq!(
            read_outputs(&run, &path),
            vec![("version".into(), "v1".into()), ("url".into(), "x".into())]
        );
        assert!(read_outputs("01another", &path).is_empty(), "another run's");
        let usage = dir.join("usage");
        std::fs::write(&usage, "version=v2\n").unwrap();
        assert!(read_outputs(&run, &usage.display().to_string()).is_empty());
        let twisted = format!(
            "{}/../{}/output",
            dir.display(),
            dir.file_name().unwrap().to_string_lossy()
        );
        assert!(read_outputs(&run, &twisted).is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(read_outputs(&run, &path).is_empty(), "gone: nothing");
    }
}

//! Temporary directories a dead engine left behind (`$BATON_OUTPUT`/`$BATON_USAGE`
//! files of its attempts, possibly holding unmasked outputs): resume removes them
//! before the run continues.
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

/// Remove this user's `baton-<run>-…` directories under the files root (and the temp
/// dir, where an engine with another `TMPDIR` made them) (the run's files
/// directory and any attempt's own). Only real directories owned by this user are
/// touched, never a symlink; nor one that is or holds a directory in `keep` (an
/// adopted attempt's, `adopt.rs`). Returns what was removed.
pub fn remove_run_temp_dirs(run_id: &str, keep: &[PathBuf]) -> Vec<PathBuf> {
    let prefix = format!("baton-{}-", super::shell::clean(run_id));
    let me = nix::unistd::geteuid().as_raw();
    let mut roots = vec![super::files_dir::files_root(), std::env::temp_dir()];
    roots.dedup();
    roots
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
}

//! Programs are looked up in `PATH` once per run, not once per step: `execvp` in the
//! child tries every `PATH` entry before the right one (eight failed `execve`s per step
//! on a typical `PATH`), which is measurable on a DAG of short steps.
//!
//! Only names without `/` and only a `PATH` of absolute entries are cached (a relative
//! entry depends on the step's directory). A cached program that has gone away is
//! looked up again. Left alone: a program installed mid-run into an earlier `PATH`
//! entry than the cached one is not seen by that run.
use baton_model::FastMap;
use std::ffi::{OsStr, OsString};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};

/// By `PATH`, then by program: a step's look-up borrows both (no key made), and its
/// answer is shared (no path copied).
type Cache = FastMap<OsString, FastMap<String, Arc<Path>>>;

static CACHE: LazyLock<Mutex<Cache>> = LazyLock::new(Mutex::default);

/// The absolute path `program` runs from, for `path_var` (the step's `PATH`), if it can
/// be cached; `None`: let `execvp` search.
pub(crate) fn resolve(program: &str, path_var: Option<&OsStr>) -> Option<Arc<Path>> {
    if program.is_empty() || program.contains('/') {
        return None;
    }
    let path_var = path_var?;
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(found) = cache.get(path_var).and_then(|p| p.get(program)) {
        return Some(found.clone());
    }
    let found: Arc<Path> = search(program, path_var)?.into();
    (cache.entry(path_var.to_os_string()).or_default()).insert(program.to_string(), found.clone());
    Some(found)
}

/// Forget `program` (it could not be started from where it was found).
pub(crate) fn forget(program: &str, path_var: Option<&OsStr>) {
    if let Some(path_var) = path_var {
        let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(programs) = cache.get_mut(path_var) {
            programs.remove(program);
        }
    }
}

/// What `execvp` would run: the first regular file with an execute bit along `PATH`.
/// `None` if an entry is relative or empty (it means the current directory).
fn search(program: &str, path_var: &OsStr) -> Option<PathBuf> {
    let dirs: Vec<PathBuf> = std::env::split_paths(path_var).collect();
    if dirs.iter().any(|d| !d.is_absolute()) {
        return None;
    }
    dirs.iter()
        .map(|d| d.join(program))
        .find(|candidate| is_executable(candidate))
}

/// The same search, uncached, for a `PATH` with relative entries: they (and an empty
/// entry, the current directory) are taken from `dir`, the step's directory, where the
/// process starts.
pub(crate) fn search_from(program: &str, path_var: &OsStr, dir: &Path) -> Option<PathBuf> {
    if program.is_empty() || program.contains('/') {
        return None;
    }
    std::env::split_paths(path_var)
        .map(|d| dir.join(d).join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::OpenOptionsExt;

    fn exe(dir: &Path, name: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o755)
            .open(&p)
            .unwrap();
        p
    }

    #[test]
    fn finds_the_first_executable_along_path_and_remembers_it() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let name = "baton-lookup-test-prog";
        // Not executable in the first dir: skipped, as execvp would.
        std::fs::write(a.path().join(name), "").unwrap();
        let want = exe(b.path(), name);
        let path = std::env::join_paths([a.path(), b.path()]).unwrap();
        assert_eq!(resolve(name, Some(&path)).as_deref(), Some(want.as_path()));
        // Cached: still answered after the file is gone, until forgotten.
        std::fs::remove_file(&want).unwrap();
        assert_eq!(resolve(name, Some(&path)).as_deref(), Some(want.as_path()));
        forget(name, Some(&path));
        assert_eq!(resolve(name, Some(&path)), None);
    }

    #[test]
    fn names_with_a_slash_and_relative_path_entries_are_left_to_execvp() {
        let a = tempfile::tempdir().unwrap();
        exe(a.path(), "prog");
        let abs = std::env::join_paths([a.path()]).unwrap();
        assert_eq!(resolve("./prog", Some(&abs)), None);
        assert_eq!(resolve("", Some(&abs)), None);
        let rel = std::env::join_paths([Path::new("bin"), a.path()]).unwrap();
        assert_eq!(resolve("prog", Some(&rel)), None);
        assert_eq!(resolve("prog", None), None);
    }
}

//! One workflow name, one file. A workflow's name is what every list, metric,
//! schedule, concurrency group and `--workflow` filter goes by, so a second file
//! naming a workflow the store already runs from another file would merge two
//! workflows in all of them: its run is refused (exit 2), naming both files and what
//! to do. A file that moved, or that no longer names the workflow, frees the name.
//! Another account's file is that member's own copy of the team's workflow (each
//! member of a group store runs it from a checkout of their own): one workflow.
use super::SessionError;
use baton_store::Store;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Refuses a run of `name` from `file` when the store has runs of `name` from another
/// file that still names it.
pub(crate) fn check(store: &Store, name: &str, file: &Path) -> Result<(), SessionError> {
    let here = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf());
    let Some(other) = store.other_source_of(name, &here.to_string_lossy())? else {
        return Ok(());
    };
    if !still_names(Path::new(&other), name) || !same_owner(&here, Path::new(&other)) {
        return Ok(());
    }
    Err(SessionError::Usage(format!(
        "workflow `{name}` in {} is another workflow of the same name as the one this store runs from {other}: a name is what runs, metrics, schedules and `--workflow` go by, so two files cannot share it; give one of them another `name = \"…\"` (or move the file: a run of a file that no longer names `{name}` frees the name)",
        here.display()
    )))
}

/// Whether the workflow file at `path` (read bounded, as a run reads it) names `name`.
fn still_names(path: &Path, name: &str) -> bool {
    let Ok(text) = baton_workflow::read_source(path) else {
        return false;
    };
    baton_workflow::load_str(&text, path).is_ok_and(|p| p.name == name)
}

/// Whether both files belong to one account (an unreadable one is taken as another's).
fn same_owner(a: &Path, b: &Path) -> bool {
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.uid() == b.uid(),
        _ => false,
    }
}

//! How each file of the served directory last arrived, as the directory's watcher saw
//! it (issue 55 point 4): renamed into place (whole: the writer finished it elsewhere)
//! or written here (maybe half: the writer may pause and go on). `stat` cannot tell
//! the two apart: a rename leaves the file's times as its writer left them.
use notify::event::{CreateKind, EventKind, ModifyKind, RemoveKind, RenameMode};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// The last thing the watcher saw happen to a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arrival {
    /// Renamed (or moved) into the directory, nothing written since.
    Renamed,
    /// Created or written here, or gone: whole only once quiet.
    Written,
}

/// What one watcher event says of the files it names (pure): each file's name and how
/// it arrived. Reads and renames out of the directory say nothing of a file's content
/// there.
pub(super) fn arrivals_of(kind: &EventKind, paths: &[PathBuf]) -> Vec<(OsString, Arrival)> {
    let name = |p: &PathBuf| p.file_name().map(OsString::from);
    let of = |p: Option<&PathBuf>, a: Arrival| p.and_then(name).map(|n| (n, a));
    match kind {
        EventKind::Modify(ModifyKind::Name(RenameMode::To)) => {
            of(paths.first(), Arrival::Renamed).into_iter().collect()
        }
        // From one name to the other: the target arrived whole, the source is gone.
        EventKind::Modify(ModifyKind::Name(RenameMode::Both)) => {
            of(paths.get(1), Arrival::Renamed).into_iter().collect()
        }
        // Out of the directory, or times and modes only: nothing of the content here.
        EventKind::Modify(ModifyKind::Name(RenameMode::From) | ModifyKind::Metadata(_))
        | EventKind::Access(_) => Vec::new(),
        // A rename whose direction is unknown counts as a write: whole only once quiet.
        EventKind::Create(CreateKind::File | CreateKind::Any | CreateKind::Other)
        | EventKind::Modify(_)
        | EventKind::Remove(RemoveKind::File | RemoveKind::Any | RemoveKind::Other)
        | EventKind::Any
        | EventKind::Other => paths
            .iter()
            .filter_map(|p| of(Some(p), Arrival::Written))
            .collect(),
        EventKind::Create(_) | EventKind::Remove(_) => Vec::new(),
    }
}

/// What the watcher saw since the catalog last looked, shared with the watcher's
/// thread.
#[derive(Debug, Clone, Default)]
pub(crate) struct Arrivals(Arc<Mutex<BTreeMap<OsString, Arrival>>>);

impl Arrivals {
    /// The watcher saw `event`: the last arrival of each file it names wins.
    pub(crate) fn note(&self, event: &notify::Event) {
        let seen = arrivals_of(&event.kind, &event.paths);
        if seen.is_empty() {
            return;
        }
        if let Ok(mut m) = self.0.lock() {
            m.extend(seen);
        }
    }

    /// Everything noted since the last call.
    pub(crate) fn take(&self) -> BTreeMap<OsString, Arrival> {
        self.0
            .lock()
            .map(|mut m| std::mem::take(&mut *m))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::DataChange;

    fn paths(ps: &[&str]) -> Vec<PathBuf> {
        ps.iter().map(PathBuf::from).collect()
    }

    #[test]
    fn a_rename_into_place_is_whole_and_a_write_after_it_is_not() {
        let to = EventKind::Modify(ModifyKind::Name(RenameMode::To));
        assert_eq!(
            arrivals_of(&to, &paths(&["/w/a.toml"])),
            vec![(OsString::from("a.toml"), Arrival::Renamed)]
        );
        let both = EventKind::Modify(ModifyKind::Name(RenameMode::Both));
        assert_eq!(
            arrivals_of(&both, &paths(&["/w/.a.tmp", "/w/a.toml"])),
            vec![(OsString::from("a.toml"), Arrival::Renamed)]
        );
        let from = EventKind::Modify(ModifyKind::Name(RenameMode::From));
        assert!(arrivals_of(&from, &paths(&["/w/a.toml"])).is_empty());
        for written in [
            EventKind::Create(CreateKind::File),
            EventKind::Modify(ModifyKind::Data(DataChange::Any)),
            EventKind::Modify(ModifyKind::Any),
            EventKind::Remove(RemoveKind::File),
        ] {
            assert_eq!(
                arrivals_of(&written, &paths(&["/w/a.toml"])),
                vec![(OsString::from("a.toml"), Arrival::Written)],
                "{written:?}"
            );
        }
        let arrivals = Arrivals::default();
        arrivals.note(&notify::Event::new(to).add_path("/w/a.toml".into()));
        arrivals.note(
            &notify::Event::new(EventKind::Modify(ModifyKind::Data(DataChange::Content)))
                .add_path("/w/a.toml".into()),
        );
        let seen = arrivals.take();
        assert_eq!(seen.get(&OsString::from("a.toml")), Some(&Arrival::Written));
        assert!(arrivals.take().is_empty());
    }
}

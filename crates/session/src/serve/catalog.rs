//! The workflows a serve serves: every `*.toml` in its directory, each kept with the
//! text it loaded from. A file that no longer loads keeps its previous version serving
//! (its error is printed and recorded); a file that is gone stops serving. The files
//! are loaded off the serve's thread (`loader`): a scan only `stat`s them and hands
//! the whole, changed ones over; their results come back through [`Catalog::apply`].
//! What the directory's watcher saw (`arrivals`) tells a file renamed into place,
//! whole at once, from one written here, whole only once quiet (`loader::settle`).
use super::arrivals::{Arrival, Arrivals};
use super::loader::{self, Done, Job, Loader, Outcome, Settle, Sig};
use baton_model::Timestamp;
use baton_store::Store;
use baton_store::schedules::Served;
use baton_workflow::Plan;
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

/// A workflow file as served.
pub(crate) struct Entry {
    pub plan: Arc<Plan>,
    /// The text `plan` was loaded from: a run it starts records this text.
    pub text: String,
    /// The file's text now does not load: why (`FILE:LINE:COL: error: …`).
    pub error: Option<String>,
}

/// What one scan changed, for the serve's lines.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Changes {
    /// Changed files waiting to be whole before they load.
    pub settling: Vec<String>,
    /// New files waiting to be whole before they load.
    pub arriving: Vec<String>,
    pub loaded: Vec<String>,
    pub failed: Vec<(String, String)>,
    pub removed: Vec<String>,
}

#[derive(Default)]
pub(crate) struct Catalog {
    pub dir: PathBuf,
    /// By canonical file path (the key of its schedules in the store).
    pub entries: BTreeMap<String, Entry>,
    /// Files that never loaded: their error.
    pub broken: BTreeMap<String, String>,
    /// Each file's version last loaded or refused: not read again until it changes.
    done: BTreeMap<String, Sig>,
    /// A changed file's version and when a scan first saw it (it may be half written).
    settling: BTreeMap<String, (Sig, Instant)>,
    /// Files the loader has now.
    loading: BTreeMap<String, Sig>,
    /// What the watcher saw since the last scan.
    pub arrivals: Arrivals,
    /// Files (by name) the watcher saw renamed into place, nothing written since.
    renamed: BTreeSet<OsString>,
}

impl Catalog {
    pub(crate) fn new(dir: &Path) -> Catalog {
        Catalog {
            dir: dir.to_path_buf(),
            ..Catalog::default()
        }
    }

    /// Whether every file in the directory is loaded as it is now.
    /// Whether a file is settling or loading: the directory is read again soon.
    pub(crate) fn busy(&self) -> bool {
        !self.settling.is_empty() || !self.loading.is_empty()
    }

    pub(crate) fn not_ready(&self) -> Option<String> {
        let failing: Vec<&str> = self
            .entries
            .iter()
            .filter(|(_, e)| e.error.is_some())
            .map(|(f, _)| f.as_str())
            .chain(self.broken.keys().map(String::as_str))
            .collect();
        let pending: Vec<&str> = self
            .loading
            .keys()
            .chain(self.settling.keys())
            .map(String::as_str)
            .collect();
        match (failing.is_empty(), pending.is_empty()) {
            (true, true) => None,
            (false, _) => Some(format!(
                "workflows that do not load: {}",
                failing.join(", ")
            )),
            (true, false) => Some(format!("loading the workflows: {}", pending.join(", "))),
        }
    }

    /// Look at the directory again (`stat` only): hand each new or changed file that
    /// is whole to `loader`, forget the files that are gone.
    pub(crate) fn scan(&mut self, store: &mut Store, loader: &Loader) -> Changes {
        let mut changes = Changes::default();
        let files = workflow_files(&self.dir);
        let present: std::collections::HashSet<String> =
            files.iter().map(|(k, _)| k.clone()).collect();
        let (now, wall) = (Instant::now(), SystemTime::now());
        for (name, arrival) in self.arrivals.take() {
            match arrival {
                Arrival::Renamed => self.renamed.insert(name),
                Arrival::Written => self.renamed.remove(&name),
            };
        }
        for (key, path) in files {
            let Some(sig) = loader::sig_of(&path) else {
                continue;
            };
            if self.loading.contains_key(&key) {
                continue; // looked at again once its load is back
            }
            let seen = self.settling.get(&key).copied();
            let renamed_in = path.file_name().is_some_and(|n| self.renamed.contains(n));
            let done = self.done.get(&key).copied();
            match loader::settle(done, seen, sig, renamed_in, now, wall) {
                Settle::Unchanged => {
                    self.settling.remove(&key);
                }
                Settle::Settling => {
                    if seen.is_none_or(|(s, _)| s != sig) {
                        if self.done.contains_key(&key) {
                            changes.settling.push(key.clone());
                        } else if seen.is_none() {
                            changes.arriving.push(key.clone());
                        }
                        self.settling.insert(key, (sig, now));
                    }
                }
                Settle::Load => {
                    // The next version of it arrives on its own.
                    if let Some(n) = path.file_name() {
                        self.renamed.remove(n);
                    }
                    self.settling.remove(&key);
                    self.loading.insert(key.clone(), sig);
                    loader.load(Job { key, path, sig });
                }
            }
        }
        let gone: Vec<String> = self
            .entries
            .keys()
            .chain(self.broken.keys())
            .chain(self.done.keys())
            .filter(|k| !present.contains(*k))
            .cloned()
            .collect();
        for key in gone {
            self.done.remove(&key);
            self.settling.remove(&key);
            let served = self.entries.remove(&key).is_some() | self.broken.remove(&key).is_some();
            if !served {
                continue;
            }
            if let Err(e) = store
                .unserve_file(&key)
                .and_then(|()| store.unserve_triggers(&key))
            {
                crate::stdio::errln!("warning: cannot record that {key} is gone: {e}");
            }
            changes.removed.push(key);
        }
        self.settling.retain(|k, _| present.contains(k));
        changes
    }

    /// A load the loader finished: serve it (and record it), or its error.
    pub(crate) fn apply(&mut self, store: &mut Store, done: Done, now: Timestamp) -> Changes {
        let mut changes = Changes::default();
        let Done {
            key, sig, outcome, ..
        } = done;
        self.loading.remove(&key);
        if loader::sig_of(Path::new(&key)).is_none() {
            return changes; // gone meanwhile
        }
        self.done.insert(key.clone(), sig);
        match outcome {
            Outcome::Loaded { text, plan } => {
                let served = self.entries.iter().map(|(f, e)| (f.as_str(), &*e.plan));
                if let Some(c) = super::events::cycle(served, &key, &plan) {
                    let error = format!(
                        "{key}: error: its [[trigger]]s close a cycle of workflows, each run starting the next forever: {}",
                        c.join(" → ")
                    );
                    self.failed(store, &key, error, now, &mut changes);
                    return changes;
                }
                record(store, &key, &plan, now);
                self.broken.remove(&key);
                self.entries.insert(
                    key.clone(),
                    Entry {
                        plan,
                        text,
                        error: None,
                    },
                );
                changes.loaded.push(key);
            }
            Outcome::Failed(error) => self.failed(store, &key, error, now, &mut changes),
        }
        changes
    }

    fn failed(
        &mut self,
        store: &mut Store,
        key: &str,
        error: String,
        now: Timestamp,
        changes: &mut Changes,
    ) {
        let error = error.trim_end().to_string();
        let _ = store.record_load(key, None, Some(&error), now);
        match self.entries.get_mut(key) {
            Some(e) => e.error = Some(error.clone()),
            None => {
                self.broken.insert(key.to_string(), error.clone());
            }
        }
        changes.failed.push((key.to_string(), error));
    }
}

/// Record the file's schedules and its good load.
fn record(store: &mut Store, key: &str, plan: &Plan, now: Timestamp) {
    let served: Vec<Served<'_>> = plan
        .schedules
        .iter()
        .map(|s| Served {
            file: key,
            index: s.index,
            workflow: &plan.name,
            cron: &s.cadence.expr,
            timezone: s.cadence.zone.name(),
            catch_up: s.catch_up.as_str(),
            overlap: s.overlap.as_str(),
        })
        .collect();
    let r = store
        .serve_schedules(key, &served, now)
        .and_then(|()| store.record_load(key, Some(&plan.name), None, now));
    if let Err(e) = r {
        crate::stdio::errln!("warning: cannot record the schedules of {key}: {e}");
    }
    super::events::serve(store, key, plan, now);
}

/// The `*.toml` files directly in `dir`, by canonical path, in name order.
pub(super) fn workflow_files(dir: &Path) -> Vec<(String, PathBuf)> {
    let Ok(read) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, PathBuf)> = read
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
        .map(|p| {
            let key = std::fs::canonicalize(&p).unwrap_or_else(|_| p.clone());
            (key.to_string_lossy().into_owned(), p)
        })
        .collect();
    out.sort();
    out
}

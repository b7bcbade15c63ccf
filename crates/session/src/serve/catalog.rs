//! The workflows a serve serves: every `*.toml` in its directory, each kept with the
//! text it loaded from. A file that no longer loads keeps its previous version serving
//! (its error is printed and recorded); a file that is gone stops serving.
use baton_model::Timestamp;
use baton_store::Store;
use baton_store::schedules::Served;
use baton_workflow::{self as workflow, Plan};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A workflow file as served.
pub struct Entry {
    pub plan: Arc<Plan>,
    /// The text `plan` was loaded from: a run it starts records this text.
    pub text: String,
    /// The file's text now does not load: why (`FILE:LINE:COL: error: …`).
    pub error: Option<String>,
    /// What the file held when last read (so an unchanged file is not loaded again).
    seen: String,
}

/// What one scan changed, for the serve's lines.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    pub loaded: Vec<String>,
    pub failed: Vec<(String, String)>,
    pub removed: Vec<String>,
}

#[derive(Default)]
pub struct Catalog {
    pub dir: PathBuf,
    /// By canonical file path (the key of its schedules in the store).
    pub entries: BTreeMap<String, Entry>,
    /// Files that never loaded: their error, and the text it is about.
    pub broken: BTreeMap<String, (String, String)>,
}

impl Catalog {
    pub fn new(dir: &Path) -> Catalog {
        Catalog {
            dir: dir.to_path_buf(),
            ..Catalog::default()
        }
    }

    /// Whether every file in the directory is loaded as it is now.
    pub fn not_ready(&self) -> Option<String> {
        let failing: Vec<&str> = self
            .entries
            .iter()
            .filter(|(_, e)| e.error.is_some())
            .map(|(f, _)| f.as_str())
            .chain(self.broken.keys().map(String::as_str))
            .collect();
        (!failing.is_empty()).then(|| format!("workflows that do not load: {}", failing.join(", ")))
    }

    /// Read the directory again: load what is new or changed, record it in the store.
    pub fn scan(&mut self, store: &mut Store, now: Timestamp) -> Changes {
        let mut changes = Changes::default();
        let files = workflow_files(&self.dir);
        let present: Vec<String> = files.iter().map(|(k, _)| k.clone()).collect();
        for (key, path) in files {
            let text = match workflow::read_source(&path) {
                Ok(t) => t,
                Err(d) => {
                    self.failed(store, &key, d.to_string(), String::new(), now, &mut changes);
                    continue;
                }
            };
            let unchanged = match (self.entries.get(&key), self.broken.get(&key)) {
                (Some(e), _) => e.seen == text,
                (None, Some((_, seen))) => *seen == text,
                (None, None) => false,
            };
            if unchanged {
                continue;
            }
            match workflow::load_str(&text, Path::new(&key)) {
                Ok(plan) => {
                    let plan = Arc::new(plan);
                    record(store, &key, &plan, now);
                    self.broken.remove(&key);
                    self.entries.insert(
                        key.clone(),
                        Entry {
                            plan,
                            text: text.clone(),
                            error: None,
                            seen: text,
                        },
                    );
                    changes.loaded.push(key);
                }
                Err(d) => {
                    self.failed(store, &key, d.to_string(), text, now, &mut changes);
                }
            }
        }
        let gone: Vec<String> = self
            .entries
            .keys()
            .chain(self.broken.keys())
            .filter(|k| !present.contains(k))
            .cloned()
            .collect();
        for key in gone {
            self.entries.remove(&key);
            self.broken.remove(&key);
            if let Err(e) = store.unserve_file(&key) {
                crate::stdio::errln!("warning: cannot record that {key} is gone: {e}");
            }
            changes.removed.push(key);
        }
        changes
    }

    fn failed(
        &mut self,
        store: &mut Store,
        key: &str,
        error: String,
        text: String,
        now: Timestamp,
        changes: &mut Changes,
    ) {
        let error = error.trim_end().to_string();
        let _ = store.record_load(key, None, Some(&error), now);
        match self.entries.get_mut(key) {
            Some(e) => {
                e.error = Some(error.clone());
                e.seen = text;
            }
            None => {
                self.broken.insert(key.to_string(), (error.clone(), text));
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
}

/// The `*.toml` files directly in `dir`, by canonical path, in name order.
pub fn workflow_files(dir: &Path) -> Vec<(String, PathBuf)> {
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

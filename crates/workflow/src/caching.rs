//! `cache`, `inputs` and `produces`: which steps may be skipped when nothing they depend
//! on changed (`engine::cache` computes the key and decides). Read after the steps are
//! resolved, so the checks know each step's action and directory.
use super::diag::{Reporter, StepLabel};
use super::plan::{Action, CacheSpec, Step};
use super::tree::{Entry, Node, Span, Val};
use std::path::{Component, Path, PathBuf};

pub(crate) struct CacheReader<'r, 's> {
    pub r: &'r mut Reporter<'s>,
}

fn get<'n>(entries: &'n [Entry], key: &str) -> Option<&'n Node> {
    entries.iter().find(|e| e.key == key).map(|e| &e.node)
}

impl CacheReader<'_, '_> {
    /// Read each `[[step]]` table's keys (and `[defaults] cache`) into `steps[i].cache`.
    /// `steps` are the resolved steps in file order, one per `[[step]]` table.
    pub(crate) fn apply(&mut self, top: &[Entry], steps: &mut [Step], base_dir: &Path) {
        let default = get(top, "defaults")
            .and_then(Node::entries)
            .and_then(|d| get(d, "cache"))
            .and_then(|n| self.boolean(n, "`cache` in `defaults`"))
            .unwrap_or(false);
        let Some(Val::Array(items)) = get(top, "step").map(|n| &n.val) else {
            return;
        };
        let tables = items.iter().filter_map(Node::entries);
        for (fields, step) in tables.zip(steps.iter_mut()) {
            if let Some(c) = self.step(fields, step, default, base_dir) {
                step.cache = Some(Box::new(c));
            }
        }
    }

    fn step(
        &mut self,
        f: &[Entry],
        step: &Step,
        default: bool,
        base_dir: &Path,
    ) -> Option<CacheSpec> {
        let label = StepLabel(&step.id);
        let own = get(f, "cache").map(|n| (self.boolean(n, &format!("`cache` of {label}")), n));
        // One complaint per mistake: a malformed `cache` or list is not also "no effect".
        let bad_cache = matches!(own, Some((None, _)));
        let list = |l: &mut Self, key: &str| {
            let before = l.r.diags.len();
            let n = get(f, key)?;
            let items = l.list(n, key, &label);
            Some((items, n, bad_cache || l.r.diags.len() > before))
        };
        let inputs = list(self, "inputs");
        let produces = list(self, "produces");
        let has_action = step.action != Action::None;
        let on = match own {
            Some((Some(true), n)) if !has_action => {
                self.r.error(
                    &n.span,
                    format!("`cache = true` on {label}, which runs nothing"),
                    "a pure approval step has nothing to cache: remove `cache`, or give the step `run`/`uses`",
                );
                false
            }
            Some((v, _)) => v.unwrap_or(false),
            // The default applies only to steps that run something.
            None => default && has_action,
        };
        if !on {
            for (what, n) in [("inputs", &inputs), ("produces", &produces)] {
                if let Some((_, n, false)) = n {
                    self.r.error(
                        &n.span,
                        format!("`{what}` of {label} has no effect: the step is not cached"),
                        "add `cache = true` to the step (or `cache = true` under [defaults])",
                    );
                }
            }
            return None;
        }
        let dir = step.dir.clone().unwrap_or_else(|| base_dir.to_path_buf());
        let mut spec = CacheSpec::default();
        for (glob, span) in inputs.map(|(l, ..)| l).unwrap_or_default() {
            if let Err(e) = globset::Glob::new(&glob) {
                self.r.error(
                    &span,
                    format!("`inputs` of {label}: `{glob}` is not a valid glob ({})", e.kind()),
                    "write globs such as \"src/**/*.c\" or \"Makefile\", relative to the step's directory",
                );
            } else if Path::new(&glob).is_absolute() {
                self.r.error(
                    &span,
                    format!("`inputs` of {label}: `{glob}` is an absolute path"),
                    "write input globs relative to the step's directory, so the workflow can move",
                );
            } else {
                spec.inputs.push(glob);
            }
        }
        for (file, span) in produces.map(|(l, ..)| l).unwrap_or_default() {
            let path = PathBuf::from(&file);
            match inside(base_dir, &dir.join(&path)) {
                Some(_) if !path.is_absolute() && !file.ends_with('/') => spec.produces.push(path),
                _ if file.ends_with('/') || file.is_empty() => self.r.error(
                    &span,
                    format!("`produces` of {label}: `{file}` is not a file"),
                    "list the files the step makes, one by one (e.g. \"build/app\")",
                ),
                _ => self.r.error(
                    &span,
                    format!("`produces` of {label}: `{file}` is outside the workflow's directory"),
                    "a product is written back on a cache hit, so it must lie in the workflow's directory or below; write it relative to the step's directory, without leaving it through `..`",
                ),
            }
        }
        Some(spec)
    }

    fn boolean(&mut self, n: &Node, what: &str) -> Option<bool> {
        match n.val {
            Val::Bool(b) => Some(b),
            _ => {
                self.r.error(
                    &n.span,
                    format!("{what} must be a boolean, found {}", n.kind()),
                    "write it as true or false (without quotes)",
                );
                None
            }
        }
    }

    fn list(&mut self, n: &Node, key: &str, label: &StepLabel) -> Vec<(String, Span)> {
        let example = if key == "inputs" {
            "inputs = [\"src/**/*.c\", \"Makefile\"]"
        } else {
            "produces = [\"build/app\"]"
        };
        let Val::Array(items) = &n.val else {
            self.r.error(
                &n.span,
                format!(
                    "`{key}` of {label} must be an array of strings, found {}",
                    n.kind()
                ),
                format!("write it as {example}"),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items {
            match &item.val {
                Val::Str(s) => out.push((s.to_string(), item.span.clone())),
                _ => self.r.error(
                    &item.span,
                    format!(
                        "each entry of `{key}` of {label} must be a string, found {}",
                        item.kind()
                    ),
                    format!("write it as {example}"),
                ),
            }
        }
        out
    }
}

/// `path` with `.` and `..` folded lexically, if it stays under `root` (no file is read:
/// products need not exist yet).
fn inside(root: &Path, path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    (out.starts_with(root) && out != root).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_stay_inside_the_workflow_directory() {
        let root = Path::new("/w");
        assert!(inside(root, Path::new("/w/build/app")).is_some());
        assert!(inside(root, Path::new("/w/sub/../app")).is_some());
        assert!(inside(root, Path::new("/w/../etc/passwd")).is_none());
        assert!(inside(root, Path::new("/etc/passwd")).is_none());
        assert!(inside(root, Path::new("/w")).is_none());
    }
}

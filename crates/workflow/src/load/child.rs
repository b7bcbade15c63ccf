//! `workflow = "deploy.toml"` and its `params`: a step that runs another workflow file
//! as a child run (docs/workflow/child-workflows.md). The child file is loaded here,
//! with the parent, so that a child that does not load, a cycle of files or a param
//! the child does not take is the parent's load error at its `FILE:LINE:COL`.
use super::*;
use crate::params::{Values, resolve_values};

/// The keys a child-run step cannot have: where and how it runs is its child's.
const NOT_WITH_WORKFLOW: &[(&str, &str)] = &[
    ("run", "a step runs a command or a child workflow, not both"),
    (
        "uses",
        "a step calls a tool or runs a child workflow, not both",
    ),
    ("with", "a child workflow's values are its `params`"),
    (
        "executor",
        "a child run's steps say where they run, in its own file",
    ),
    (
        "requires",
        "a child run's steps say where they run, in its own file",
    ),
    ("service", "a child run is not a service"),
    (
        "cache",
        "a child run's steps say what they cache, in its own file",
    ),
    ("matrix", "run one child per step: write a step per child"),
    ("for_each", "run one child per step: write a step per child"),
    ("fallback", "a child run's steps have their own fallbacks"),
    (
        "compensate",
        "a child run's steps have their own compensations",
    ),
    ("repeat", "a child run is run once per step"),
];

/// A step's `workflow` and its `params`, as written, each with where.
#[derive(Default)]
pub(super) struct RawChild<'n> {
    pub workflow: Option<(&'n str, Span)>,
    pub params: Option<(Vec<TextEntry<'n>>, Span)>,
}

/// The name a file has in a chain of loads: its canonical path when it exists, so that
/// `./a.toml` and `sub/../a.toml` are one file.
pub(super) fn identity(path: &Path) -> PathBuf {
    std::fs::canonicalize(path)
        .or_else(|_| std::path::absolute(path))
        .unwrap_or_else(|_| path.to_path_buf())
}

impl Loader<'_, '_> {
    /// A step's `workflow` and `params` as written; the keys a child-run step cannot
    /// have, and `params` without `workflow`, are errors.
    pub(super) fn child_keys<'n>(&mut self, f: &'n [Entry], label: &str) -> RawChild<'n> {
        let workflow = get(f, "workflow").and_then(|n| {
            let s = self.string(n, &format!("`workflow` of {label}"))?;
            Some((s, n.span.clone()))
        });
        let params = get(f, "params").map(|n| {
            let entries = self.text_table(n, &format!("`params` of {label}"), false);
            (entries, n.span.clone())
        });
        if let (None, Some(e)) = (get(f, "workflow"), get_entry(f, "params")) {
            self.err(
                &e.key_span,
                format!("{label} has `params` but no `workflow`"),
                "`params` are a child workflow's: add workflow = \"child.toml\", or use `env` for a `run` step",
            );
        }
        if get(f, "workflow").is_some() {
            for (key, why) in NOT_WITH_WORKFLOW {
                if let Some(e) = get_entry(f, key) {
                    self.err(
                        &e.key_span,
                        format!("{label} has `workflow` and `{key}`"),
                        format!("{why}: remove `{key}`"),
                    );
                }
            }
        }
        RawChild { workflow, params }
    }

    /// The child-run action of a step with `workflow` (`None`: it has none). The file
    /// is read relative to this workflow's directory; a run replayed from its record
    /// does not read it again (the child's own record is what its run goes by).
    pub(super) fn child_action(
        &mut self,
        s: &RawStep<'_>,
        label: &str,
        base_dir: &Path,
    ) -> Option<Action> {
        let (written, span) = s.child.workflow.as_ref()?;
        let path = base_dir.join(written);
        let action = Action::Workflow {
            path: path.clone(),
            written: (*written).to_string(),
        };
        if self.recorded_signers.is_some() {
            return Some(action);
        }
        let me = identity(&path);
        if let Some(at) = self.chain.iter().position(|p| *p == me) {
            let cycle: Vec<String> = self.chain[at..]
                .iter()
                .chain(std::iter::once(&me))
                .map(|p| p.display().to_string())
                .collect();
            self.err(
                span,
                format!("`workflow` of {label} makes a cycle: {}", cycle.join(" → ")),
                "a workflow cannot run itself, directly or through its children: name another file",
            );
            return Some(action);
        }
        let child = match crate::source::read_source(&path) {
            Ok(text) => load_in_chain(&text, &path, SignersFrom::File, self.chain.clone()),
            Err(d) => Err(d),
        };
        match child {
            Ok(plan) => self.check_child_params(s, label, &plan, span),
            Err(d) => {
                let first = d.0.first().map(ToString::to_string).unwrap_or_default();
                let more = match d.0.len() {
                    0 | 1 => String::new(),
                    n => format!(" (and {} more)", n - 1),
                };
                self.err(
                    span,
                    format!("`workflow` of {label}: `{written}` does not load: {first}{more}"),
                    format!(
                        "fix {} (`baton validate` it), or name another file, relative to this workflow's directory",
                        path.display()
                    ),
                );
            }
        }
        Some(action)
    }

    /// A child's param not declared `secret` given a value read from a secret param: the
    /// child run masks it (its parent's step says it holds a secret), but the child's
    /// file does not say so, and that child run alone would keep it in clear.
    fn warn_secret_handed(
        &mut self,
        key: &str,
        value: &str,
        at: &Span,
        label: &str,
        spec: &ParamSpec,
        child: &Plan,
    ) {
        if spec.secret {
            return;
        }
        let reads = |name: &str| {
            let needle = format!("params.{name}");
            value.match_indices(&needle).any(|(i, _)| {
                !value[i + needle.len()..]
                    .starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            })
        };
        let Some(secret) = self.secret_params.iter().find(|n| reads(n)).cloned() else {
            return;
        };
        self.r.warn(
            at,
            format!(
                "`params.{key}` of {label} is given the secret param `{secret}`, and {} does not declare `{key}` secret: the child run masks it, but a run of that file alone would keep it in clear",
                child.source.display()
            ),
            format!("declare it secret there: [params.{key}] secret = true"),
        );
    }

    /// The step's `params` against the params the child declares: each given one
    /// declared, a literal value one the child takes, each required one given.
    fn check_child_params(&mut self, s: &RawStep<'_>, label: &str, child: &Plan, at: &Span) {
        let given = s
            .child
            .params
            .as_ref()
            .map_or(&[][..], |(p, _)| p.as_slice());
        let declared: Vec<&str> = child.params.iter().map(|p| p.name.as_str()).collect();
        for e in given {
            let Some(spec) = child.params.iter().find(|p| p.name == e.key) else {
                self.err(
                    &e.key_span,
                    format!(
                        "`params` of {label}: `{}` is not a param of {}",
                        e.key,
                        child.source.display()
                    ),
                    did_you_mean(e.key, &declared, "params"),
                );
                continue;
            };
            // A template's value is checked when the child run is made.
            if e.value.contains("${{") {
                self.warn_secret_handed(e.key, &e.value, &e.span, label, spec, child);
                continue;
            }
            let one = [(e.key.to_string(), e.value.clone())];
            if let Err(why) = resolve_values(std::slice::from_ref(spec), &one, Values::Params) {
                self.err(
                    &e.span,
                    format!("`params` of {label}: {why}"),
                    "give a value the child's param takes",
                );
            }
        }
        for p in &child.params {
            if p.required && p.default.is_none() && !given.iter().any(|e| e.key == p.name) {
                self.err(
                    at,
                    format!(
                        "{label} does not give param `{}`, which {} requires",
                        p.name,
                        child.source.display()
                    ),
                    format!("add params = {{ {} = \"…\" }}", p.name),
                );
            }
        }
    }
}

#[cfg(test)]
#[path = "child_tests.rs"]
mod tests;

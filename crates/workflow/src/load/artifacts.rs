//! `artifacts = { NAME = "path or glob" }` and `uses_artifacts = ["STEP.NAME"]`: files a
//! step makes that baton keeps, and the files of earlier steps a step is handed. Read
//! with the step (`RawArtifacts`), resolved to indices with the other step references
//! (each use is a `StepRef`, so the graph check says when the producer is not an
//! ancestor), and checked against the step's routing (one executor, never a spread).
use super::resolve::Site;
use super::*;
use std::path::Component;

/// A step's `artifacts` and `uses_artifacts` as written.
pub(super) struct RawArtifacts<'n> {
    /// `(name, path or glob, where the entry is)`.
    pub declared: Vec<(&'n str, String, Span)>,
    /// `"STEP.NAME"`, where it is written.
    pub uses: Vec<(&'n str, Span)>,
    /// Where `artifacts` is written (its key), if it is.
    pub key: Option<Span>,
}

/// What a step with `artifacts` cannot also be: each keeps one attempt's files apart
/// (a fan-out's instances, a service that never ends, a repetition, a child run).
const NOT_WITH: &[(&str, &str)] = &[
    (
        "matrix",
        "each instance would make its own file under one name",
    ),
    (
        "for_each",
        "each instance would make its own file under one name",
    ),
    (
        "service",
        "a service runs on while its dependants run: it has no end to collect at",
    ),
    (
        "repeat",
        "each execution would replace the last one's files",
    ),
    (
        "workflow",
        "a child run's steps declare their own artifacts",
    ),
];

impl Loader<'_, '_> {
    /// Read `artifacts` and `uses_artifacts` of a step; `None` when it has neither.
    pub(super) fn raw_artifacts<'n>(
        &mut self,
        f: &'n [Entry],
        label: &str,
    ) -> Option<Box<RawArtifacts<'n>>> {
        let declared_node = get_entry(f, "artifacts");
        let uses_node = get(f, "uses_artifacts");
        if declared_node.is_none() && uses_node.is_none() {
            return None;
        }
        let mut raw = RawArtifacts {
            declared: Vec::new(),
            uses: Vec::new(),
            key: declared_node.map(|e| e.key_span.clone()),
        };
        if let Some(e) = declared_node {
            self.declared_artifacts(e, f, label, &mut raw);
        }
        if let Some(n) = uses_node {
            raw.uses = self.string_list(
                n,
                &format!("`uses_artifacts` of {label}"),
                "uses_artifacts = [\"train.model\"]",
            );
        }
        Some(Box::new(raw))
    }

    fn declared_artifacts<'n>(
        &mut self,
        e: &'n Entry,
        f: &[Entry],
        label: &str,
        raw: &mut RawArtifacts<'n>,
    ) {
        let what = format!("`artifacts` of {label}");
        for (key, why) in NOT_WITH {
            if let Some(other) = get_entry(f, key) {
                self.err(
                    &other.key_span,
                    format!("{label} has `artifacts` and `{key}`"),
                    format!("{why}: remove one of them"),
                );
            }
        }
        if get(f, "run").is_none() && get(f, "uses").is_none() {
            self.err(
                &e.key_span,
                format!("{label} declares `artifacts` but runs nothing"),
                "artifacts are files a command makes: give the step `run` or `uses`, or remove `artifacts`",
            );
        }
        let Some(entries) = self.table(&e.node, &what, "artifacts = { model = \"out/*.ckpt\" }")
        else {
            return;
        };
        for a in entries {
            if !is_name(&a.key, true) {
                self.err(
                    &a.key_span,
                    format!("artifact name `{}` in {label} is invalid", a.key),
                    "use letters, digits, '_' and '-', starting with a letter or '_'",
                );
                continue;
            }
            let Some(glob) = self.string(&a.node, &format!("artifact `{}` of {label}", a.key))
            else {
                continue;
            };
            if let Some(why) = bad_artifact_path(glob) {
                self.err(
                    &a.node.span,
                    format!("artifact `{}` of {label}: `{glob}` {why}", a.key),
                    "write a path or glob relative to the step's directory, e.g. \"out/*.ckpt\"",
                );
                continue;
            }
            raw.declared
                .push((a.key.as_str(), glob.to_string(), a.node.span.clone()));
        }
    }

    /// Step `at.i`'s `uses_artifacts`, resolved: each `STEP.NAME` names another step
    /// and an artifact it declares (the graph check then wants `STEP` an ancestor).
    pub(super) fn artifact_uses(
        &mut self,
        at: &Site<'_, '_, '_>,
        label: &str,
        refs: &mut Vec<StepRef>,
    ) -> Vec<ArtifactUse> {
        let Some(raw) = at.raw[at.i].artifacts.as_deref() else {
            return Vec::new();
        };
        let mut out: Vec<ArtifactUse> = Vec::new();
        for (text, span) in &raw.uses {
            let Some((step_id, name)) = text.split_once('.') else {
                self.err(
                    span,
                    format!("`uses_artifacts` of {label}: `{text}` is not STEP.NAME"),
                    "name the step that declares the artifact and the artifact's name, e.g. \"train.model\"",
                );
                continue;
            };
            if let Some(u) = self.artifact_ref(at, label, (step_id, name), span, refs)
                && !out.contains(&u)
            {
                out.push(u);
            }
        }
        out
    }

    /// One reference to artifact `name` of step `step_id` by step `at.i` (from
    /// `uses_artifacts` or a template), checked and recorded for the graph check.
    pub(super) fn artifact_ref(
        &mut self,
        at: &Site<'_, '_, '_>,
        label: &str,
        (step_id, name): (&str, &str),
        span: &Span,
        refs: &mut Vec<StepRef>,
    ) -> Option<ArtifactUse> {
        let Some(&target) = at.index.get(step_id) else {
            let ids: Vec<&str> = at
                .raw
                .iter()
                .filter_map(|s| s.id.as_ref().map(|(id, _)| *id))
                .collect();
            self.err(
                span,
                format!("{label} uses an artifact of \"{step_id}\", which is not a step"),
                did_you_mean(step_id, &ids, "step ids"),
            );
            return None;
        };
        if target == at.i {
            self.err(
                span,
                format!("{label} uses its own artifact `{name}`"),
                "an artifact exists only once its step succeeded; inside the step, read the file itself",
            );
            return None;
        }
        let declared: Vec<&str> = at.raw[target]
            .artifacts
            .as_deref()
            .map(|a| a.declared.iter().map(|(n, ..)| *n).collect())
            .unwrap_or_default();
        if !declared.contains(&name) {
            let hint = match did_you_mean(name, &declared, &format!("artifacts of `{step_id}`")) {
                h if h.starts_with("did you mean") => h,
                h => format!("{h}; declare it on `{step_id}`: artifacts = {{ {name} = \"path\" }}"),
            };
            self.err(
                span,
                format!("step `{step_id}` declares no artifact `{name}`"),
                hint,
            );
            return None;
        }
        refs.push(StepRef {
            from: at.i,
            target,
            key: name.to_string(),
            read: Read::Artifact,
            span: span.clone(),
        });
        Some(ArtifactUse {
            step: target,
            step_id: step_id.to_string(),
            name: name.to_string(),
        })
    }

    /// A step that makes or is handed artifacts runs on one known executor (never
    /// spread by `requires`): baton moves its files over that executor's channel.
    pub(super) fn artifacts_placed(&mut self, raw: &[RawStep<'_>], steps: &[Step]) {
        for (r, step) in raw.iter().zip(steps) {
            let Some(a) = &step.artifacts else { continue };
            if r.requires.is_empty() {
                continue;
            }
            let span = r
                .artifacts
                .as_deref()
                .and_then(|x| {
                    x.key
                        .clone()
                        .or_else(|| x.uses.first().map(|(_, s)| s.clone()))
                })
                .unwrap_or_else(|| r.span.clone());
            let what = if a.produces.is_empty() {
                "uses artifacts"
            } else {
                "declares artifacts"
            };
            self.err(
                &span,
                format!(
                    "step `{}` {what} but runs on the executors its `requires` picks",
                    step.id
                ),
                "artifacts move over one executor's channel (docs/workflow-format.md, Artifacts): name the executor with `executor = \"NAME\"` instead of `requires`",
            );
        }
    }
}

/// Why `glob` cannot name an artifact: empty, absolute, leaving the step's directory,
/// or not a valid glob.
fn bad_artifact_path(glob: &str) -> Option<String> {
    if glob.is_empty() || glob.ends_with('/') {
        return Some("is not a file".into());
    }
    let path = Path::new(glob);
    if path.is_absolute() {
        return Some("is an absolute path".into());
    }
    if path.components().any(|c| c == Component::ParentDir) {
        return Some("leaves the step's directory through `..`".into());
    }
    globset::Glob::new(glob)
        .err()
        .map(|e| format!("is not a valid glob ({})", e.kind()))
}

/// The artifacts step `target`'s templates read (`${{ steps.ID.artifacts.NAME }}`),
/// resolved by the template check, added to `uses` (each once).
pub(super) fn template_uses<'t>(
    templates: impl Iterator<Item = &'t Template>,
    uses: &mut Vec<ArtifactUse>,
) {
    for t in templates {
        for r in t.refs() {
            if let TemplateRef::StepArtifact { step, step_id, key } = r {
                let u = ArtifactUse {
                    step: *step,
                    step_id: step_id.clone(),
                    name: key.clone(),
                };
                if !uses.contains(&u) {
                    uses.push(u);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::bad_artifact_path;

    #[test]
    fn artifact_paths_stay_in_the_step_directory() {
        assert_eq!(bad_artifact_path("out/*.ckpt"), None);
        assert_eq!(bad_artifact_path("model.bin"), None);
        assert!(bad_artifact_path("/etc/passwd").is_some());
        assert!(bad_artifact_path("../x").is_some());
        assert!(bad_artifact_path("out/").is_some());
        assert!(bad_artifact_path("").is_some());
        assert!(bad_artifact_path("a[").is_some());
    }
}

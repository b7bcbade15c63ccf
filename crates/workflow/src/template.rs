//! Templates `${{ steps.<id>.outputs.<key> }}`, `${{ steps.<id>.artifacts.<name> }}`, `${{ params.<name> }}`, `${{ env.<NAME> }}`,
//! `${{ run.id }}`, parsed once at load time into segments.
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TemplateRef {
    /// `steps.<id>.outputs.<key>`; `step` is the index in `Plan::steps`.
    StepOutput {
        step: usize,
        step_id: String,
        key: String,
    },
    /// `steps.<id>.inputs.<name>`: a value the approver of `<id>`'s gate supplied;
    /// `step` is the index in `Plan::steps`.
    StepInput {
        step: usize,
        step_id: String,
        key: String,
    },
    /// `steps.<id>.artifacts.<name>`: where the step that reads it finds the file step
    /// `<id>` declared as artifact `<name>` (a path on the reader's executor).
    StepArtifact {
        step: usize,
        step_id: String,
        key: String,
    },
    /// `needs.<id>.result`: GitHub's result of the need `<id>` (`success`, `failure`,
    /// `cancelled`, `skipped`); `step` is the index in `Plan::steps`.
    NeedResult {
        step: usize,
        step_id: String,
    },
    /// `needs.*.result`: the results of all the step's needs, a JSON list.
    NeedsResults,
    Param(String),
    Env(String),
    RunId,
    /// `run.slot`: the schedule's slot the run was started for (empty if none).
    RunSlot,
    /// `matrix.<key>` in an instance of a matrix step.
    Matrix(String),
    /// `item` (`None`) or `item.<key>` in an instance of a `for_each` step.
    Item(Option<String>),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TemplateSegment {
    Literal(String),
    Ref(TemplateRef),
}

/// A string with zero or more references. A template with no references is a literal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Template {
    pub segments: Vec<TemplateSegment>,
}

impl Template {
    pub fn literal(s: impl Into<String>) -> Self {
        Template {
            segments: vec![TemplateSegment::Literal(s.into())],
        }
    }

    pub fn refs(&self) -> impl Iterator<Item = &TemplateRef> {
        self.segments.iter().filter_map(|s| match s {
            TemplateSegment::Ref(r) => Some(r),
            TemplateSegment::Literal(_) => None,
        })
    }

    /// Resolve every reference with `lookup`; the first reference it cannot resolve is
    /// returned as the error (its display form, e.g. `steps.build.outputs.version`).
    pub fn render(
        &self,
        mut lookup: impl FnMut(&TemplateRef) -> Option<String>,
    ) -> Result<String, Unresolved> {
        let mut out = String::new();
        for seg in &self.segments {
            match seg {
                TemplateSegment::Literal(s) => out.push_str(s),
                TemplateSegment::Ref(r) => match lookup(r) {
                    Some(v) => out.push_str(&v),
                    None => return Err(Unresolved(r.clone())),
                },
            }
        }
        Ok(out)
    }
}

/// The first reference a template could not resolve; shown as written
/// (`steps.build.outputs.version`), the caller says what it was for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unresolved(pub TemplateRef);

/// Why a text is not a template; each says what would be right.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// `at`: the text from the `${{` on, cut to 40 characters.
    #[error("unclosed template: \"${{{{\" at \"{at}\" has no matching \"}}}}\"")]
    Unclosed { at: String },
    #[error("empty template \"${{{{ }}}}\": write one of {forms}", forms = REF_FORMS)]
    Empty,
    #[error("invalid template reference \"{0}\": expected {forms}", forms = REF_FORMS)]
    BadRef(String),
}

impl std::fmt::Display for TemplateRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TemplateRef::StepOutput { step_id, key, .. } => {
                write!(f, "steps.{step_id}.outputs.{key}")
            }
            TemplateRef::StepInput { step_id, key, .. } => {
                write!(f, "steps.{step_id}.inputs.{key}")
            }
            TemplateRef::StepArtifact { step_id, key, .. } => {
                write!(f, "steps.{step_id}.artifacts.{key}")
            }
            TemplateRef::NeedResult { step_id, .. } => write!(f, "needs.{step_id}.result"),
            TemplateRef::NeedsResults => f.write_str("needs.*.result"),
            TemplateRef::Param(p) => write!(f, "params.{p}"),
            TemplateRef::Env(e) => write!(f, "env.{e}"),
            TemplateRef::RunId => f.write_str("run.id"),
            TemplateRef::RunSlot => f.write_str("run.slot"),
            TemplateRef::Matrix(k) => write!(f, "matrix.{k}"),
            TemplateRef::Item(None) => f.write_str("item"),
            TemplateRef::Item(Some(k)) => write!(f, "item.{k}"),
        }
    }
}

impl std::fmt::Display for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for seg in &self.segments {
            match seg {
                TemplateSegment::Literal(s) => f.write_str(s)?,
                TemplateSegment::Ref(r) => write!(f, "${{{{ {r} }}}}")?,
            }
        }
        Ok(())
    }
}

/// Step index of a `StepOutput` reference that `parse_template` has not resolved yet; the
/// loader replaces it with the step's index during validation.
pub const UNRESOLVED_STEP: usize = usize::MAX;

const REF_FORMS: &str = "steps.<id>.outputs.<key>, steps.<id>.inputs.<name>, steps.<id>.artifacts.<name>, needs.<id>.result, needs.*.result, params.<name>, env.<NAME>, run.id, run.slot, matrix.<key> or item[.<key>]";

/// Parse `text` into literal and reference segments. Step references are left with
/// `step = UNRESOLVED_STEP`; the loader resolves them.
pub fn parse_template(text: &str) -> Result<Template, TemplateError> {
    let mut segments = Vec::new();
    let mut literal = String::new();
    let mut rest = text;
    while let Some(open) = rest.find("${{") {
        literal.push_str(&rest[..open]);
        let after = &rest[open + 3..];
        let Some(close) = after.find("}}") else {
            return Err(TemplateError::Unclosed {
                at: shorten(&rest[open..]),
            });
        };
        let expr = after[..close].trim();
        let r = parse_ref(expr)?;
        if !literal.is_empty() {
            segments.push(TemplateSegment::Literal(std::mem::take(&mut literal)));
        }
        segments.push(TemplateSegment::Ref(r));
        rest = &after[close + 2..];
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        segments.push(TemplateSegment::Literal(literal));
    }
    Ok(Template { segments })
}

fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

fn parse_ref(expr: &str) -> Result<TemplateRef, TemplateError> {
    if expr.is_empty() {
        return Err(TemplateError::Empty);
    }
    let parts: Vec<&str> = expr.split('.').collect();
    let bad = || TemplateError::BadRef(shorten(expr));
    match parts.as_slice() {
        ["run", "id"] => Ok(TemplateRef::RunId),
        ["run", "slot"] => Ok(TemplateRef::RunSlot),
        ["matrix", key] if is_name(key, true) => Ok(TemplateRef::Matrix(key.to_string())),
        ["item"] => Ok(TemplateRef::Item(None)),
        ["item", key] if is_name(key, true) => Ok(TemplateRef::Item(Some(key.to_string()))),
        ["params", name] if is_name(name, true) => Ok(TemplateRef::Param(name.to_string())),
        ["env", name] if is_name(name, false) => Ok(TemplateRef::Env(name.to_string())),
        ["needs", id, "result"] if is_step_id(id) => Ok(TemplateRef::NeedResult {
            step: UNRESOLVED_STEP,
            step_id: id.to_string(),
        }),
        ["needs", "*", "result"] => Ok(TemplateRef::NeedsResults),
        ["steps", id, "outputs", key] if is_step_id(id) && is_name(key, true) => {
            Ok(TemplateRef::StepOutput {
                step: UNRESOLVED_STEP,
                step_id: id.to_string(),
                key: key.to_string(),
            })
        }
        ["steps", id, "artifacts", key] if is_step_id(id) && is_name(key, true) => {
            Ok(TemplateRef::StepArtifact {
                step: UNRESOLVED_STEP,
                step_id: id.to_string(),
                key: key.to_string(),
            })
        }
        ["steps", id, "inputs", key] if is_step_id(id) && is_name(key, true) => {
            Ok(TemplateRef::StepInput {
                step: UNRESOLVED_STEP,
                step_id: id.to_string(),
                key: key.to_string(),
            })
        }
        _ => Err(bad()),
    }
}

/// `[A-Za-z_][A-Za-z0-9_]*`, plus `-` when `dash` is allowed.
pub(crate) fn is_name(s: &str, dash: bool) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || (dash && c == '-'))
}

/// Step ids: `[a-z0-9_-]{1,64}`.
pub(crate) fn is_step_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_only() {
        assert_eq!(
            parse_template("plain $HOME {{x}}").unwrap(),
            Template::literal("plain $HOME {{x}}")
        );
        assert_eq!(parse_template("").unwrap(), Template::default());
    }

    #[test]
    fn references_in_text() {
        let t = parse_template(
            "v${{ steps.build.outputs.version }}-${{params.env}} ${{ env.HOME }}${{ run.id }}",
        )
        .unwrap();
        assert_eq!(
            t.segments,
            vec![
                TemplateSegment::Literal("v".into()),
                TemplateSegment::Ref(TemplateRef::StepOutput {
                    step: UNRESOLVED_STEP,
                    step_id: "build".into(),
                    key: "version".into()
                }),
                TemplateSegment::Literal("-".into()),
                TemplateSegment::Ref(TemplateRef::Param("env".into())),
                TemplateSegment::Literal(" ".into()),
                TemplateSegment::Ref(TemplateRef::Env("HOME".into())),
                TemplateSegment::Ref(TemplateRef::RunId),
            ]
        );
        // Display round-trips to the canonical form.
        assert_eq!(
            t.to_string(),
            "v${{ steps.build.outputs.version }}-${{ params.env }} ${{ env.HOME }}${{ run.id }}"
        );
    }

    #[test]
    fn needs_results_are_references() {
        let t = parse_template("${{ needs.*.result }}/${{needs.lint.result}}").unwrap();
        assert_eq!(
            t.segments,
            vec![
                TemplateSegment::Ref(TemplateRef::NeedsResults),
                TemplateSegment::Literal("/".into()),
                TemplateSegment::Ref(TemplateRef::NeedResult {
                    step: UNRESOLVED_STEP,
                    step_id: "lint".into(),
                }),
            ]
        );
        assert_eq!(
            t.to_string(),
            "${{ needs.*.result }}/${{ needs.lint.result }}"
        );
        assert!(parse_template("${{ needs.lint.outputs }}").is_err());
        assert!(parse_template("${{ needs.*.state }}").is_err());
    }

    #[test]
    fn malformed_templates_explain() {
        assert!(
            parse_template("a ${{ params.x")
                .unwrap_err()
                .to_string()
                .contains("unclosed")
        );
        assert!(
            parse_template("${{ }}")
                .unwrap_err()
                .to_string()
                .contains("empty template")
        );
        assert!(
            parse_template("${{ steps.build.version }}")
                .unwrap_err()
                .to_string()
                .contains("expected steps.<id>.outputs.<key>")
        );
        assert!(parse_template("${{ params.a b }}").is_err());
        assert!(parse_template("${{ steps.Build.outputs.v }}").is_err());
        assert!(parse_template("${{ secrets.X }}").is_err());
        assert!(parse_template("${{ steps.ship.input.tag }}").is_err());
    }

    #[test]
    fn an_approval_input_reads_back_in_its_canonical_form() {
        let t = parse_template("${{steps.ship.inputs.tag}}").unwrap();
        assert_eq!(
            t.segments,
            vec![TemplateSegment::Ref(TemplateRef::StepInput {
                step: UNRESOLVED_STEP,
                step_id: "ship".into(),
                key: "tag".into()
            })]
        );
        assert_eq!(t.to_string(), "${{ steps.ship.inputs.tag }}");
    }

    #[test]
    fn render_resolves_or_names_the_missing_reference() {
        let t = parse_template("hi ${{ params.who }}").unwrap();
        assert_eq!(t.render(|_| Some("bob".into())), Ok("hi bob".into()));
        assert_eq!(t.render(|_| None).unwrap_err().to_string(), "params.who");
    }
}

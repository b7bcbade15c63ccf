//! Templates `${{ steps.<id>.outputs.<key> }}`, `${{ params.<name> }}`, `${{ env.<NAME> }}`,
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
    Param(String),
    Env(String),
    RunId,
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
    ) -> Result<String, String> {
        let mut out = String::new();
        for seg in &self.segments {
            match seg {
                TemplateSegment::Literal(s) => out.push_str(s),
                TemplateSegment::Ref(r) => match lookup(r) {
                    Some(v) => out.push_str(&v),
                    None => return Err(r.to_string()),
                },
            }
        }
        Ok(out)
    }
}

impl std::fmt::Display for TemplateRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TemplateRef::StepOutput { step_id, key, .. } => {
                write!(f, "steps.{step_id}.outputs.{key}")
            }
            TemplateRef::Param(p) => write!(f, "params.{p}"),
            TemplateRef::Env(e) => write!(f, "env.{e}"),
            TemplateRef::RunId => f.write_str("run.id"),
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

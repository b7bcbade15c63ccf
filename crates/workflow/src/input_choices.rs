//! A gate input's `default` and `values` made by the run (issue 44 point 1): rendered
//! from params and the gate's ancestors' outputs when the gate opens, checked as a
//! literal default is at load time, and folded back into the input's declaration so
//! that the approve checker, the console and the signed message all see one thing.
use super::plan::{ParamSpec, ParamType};
use super::template::{Template, TemplateRef};
use baton_model::RenderedInput;
use baton_model::bounds::{MAX_INPUT_VALUE, MAX_OPERATOR_TEXT};
use std::collections::BTreeMap;

/// At most this many choices from a JSON list: a dialog offers them one by one.
pub const MAX_CHOICES: usize = 1_000;

/// Why a gate's inputs could not be rendered: the gate cannot open (its step fails
/// with this message, as a prompt that cannot render does).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChoiceError {
    #[error("input `{input}`: `{what}` reads `{reference}`, which has no value")]
    Unresolved {
        input: String,
        what: &'static str,
        reference: String,
    },
    #[error(
        "input `{input}`: its values render to {got}, which is not a JSON list of strings (write the output as e.g. [\"eu-1\", \"us-2\"])"
    )]
    NotAList { input: String, got: String },
    #[error("input `{input}`: its values render to an empty list, so there is nothing to choose")]
    Empty { input: String },
    #[error(
        "input `{input}`: its values render to {n} choices, more than the {MAX_CHOICES} a gate offers"
    )]
    TooMany { input: String, n: usize },
    #[error("input `{input}`: its values list \"{value}\" twice")]
    Repeated { input: String, value: String },
    #[error("input `{input}`: its default renders to {value}: {why}")]
    BadDefault {
        input: String,
        value: String,
        why: String,
    },
}

/// Render the templates of `specs` with `lookup` (the core's template values). Only the
/// inputs that have templates are in the result.
pub fn render(
    specs: &[ParamSpec],
    mut lookup: impl FnMut(&TemplateRef) -> Option<String>,
) -> Result<BTreeMap<String, RenderedInput>, ChoiceError> {
    let mut out = BTreeMap::new();
    for spec in specs {
        let Some(t) = spec.from_run.as_deref() else {
            continue;
        };
        let mut text = |tpl: &Template, what: &'static str| {
            tpl.render(&mut lookup)
                .map_err(|reference| ChoiceError::Unresolved {
                    input: spec.name.clone(),
                    what,
                    reference: reference.to_string(),
                })
        };
        let values = match &t.values {
            Some(tpl) => Some(choices(&spec.name, &text(tpl, "values")?)?),
            None => None,
        };
        let default = match &t.default {
            Some(tpl) => Some(text(tpl, "default")?),
            None => None,
        };
        let r = RenderedInput { default, values };
        // The default is checked against the choices rendered with it.
        let made = with_rendered(
            std::slice::from_ref(spec),
            &BTreeMap::from([(spec.name.clone(), r.clone())]),
        );
        if let Some(m) = made.first()
            && let Some(d) = &m.default
        {
            check_default(m, d)?;
        }
        out.insert(spec.name.clone(), r);
    }
    Ok(out)
}

/// What an input takes from the run, as written (` values from ${{ … }}`, ` default
/// from ${{ … }}`): for `plan`, `validate` and the shape of a run.
pub fn written(spec: &ParamSpec) -> String {
    let Some(t) = spec.from_run.as_deref() else {
        return String::new();
    };
    let mut out = String::new();
    if let Some(v) = &t.values {
        out.push_str(&format!(" values from {v}"));
    }
    if let Some(d) = &t.default {
        out.push_str(&format!(" default from {d}"));
    }
    out
}

/// `specs` as this opening of the gate asks them: each rendered default and list of
/// choices in place of its template. An input with a template that was not rendered
/// (an opening recorded before templates existed) stays without a default.
pub fn with_rendered(
    specs: &[ParamSpec],
    rendered: &BTreeMap<String, RenderedInput>,
) -> Vec<ParamSpec> {
    specs
        .iter()
        .map(|s| {
            let mut s = s.clone();
            if let Some(r) = rendered.get(&s.name) {
                if let Some(v) = &r.values {
                    s.ty = ParamType::Enum(v.clone());
                }
                if r.default.is_some() {
                    s.default = r.default.clone();
                }
            }
            s
        })
        .collect()
}

/// A rendered default is held to what a literal one is at load time: its type (an
/// enum's choices included) and its pattern.
fn check_default(spec: &ParamSpec, value: &str) -> Result<(), ChoiceError> {
    let bad = |why: String| ChoiceError::BadDefault {
        input: spec.name.clone(),
        value: shown(value),
        why,
    };
    if value.len() > MAX_INPUT_VALUE {
        return Err(bad(format!(
            "it is {} bytes long, more than the {MAX_INPUT_VALUE} (1 MiB) an input holds",
            value.len()
        )));
    }
    spec.ty.check(value).map_err(|e| bad(e.to_string()))?;
    if let Some(re) = &spec.pattern
        && !re.is_match(value)
    {
        return Err(bad(format!(
            "it does not match the pattern {}",
            re.as_str()
        )));
    }
    Ok(())
}

/// An enum's choices from a rendered JSON list: strings as they are, numbers and
/// booleans as their text; anything else, an empty list or a repeated choice is an error.
pub fn choices(input: &str, text: &str) -> Result<Vec<String>, ChoiceError> {
    let not_list = || ChoiceError::NotAList {
        input: input.to_string(),
        got: shown(text),
    };
    let list: Vec<serde_json::Value> = serde_json::from_str(text).map_err(|_| not_list())?;
    if list.is_empty() {
        return Err(ChoiceError::Empty {
            input: input.to_string(),
        });
    }
    if list.len() > MAX_CHOICES {
        return Err(ChoiceError::TooMany {
            input: input.to_string(),
            n: list.len(),
        });
    }
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for v in list {
        let s = match v {
            serde_json::Value::String(s) => s,
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            _ => return Err(not_list()),
        };
        if s.is_empty() || s.contains('\0') || too_long(&s) {
            return Err(not_list());
        }
        if out.contains(&s) {
            return Err(ChoiceError::Repeated {
                input: input.to_string(),
                value: s,
            });
        }
        out.push(s);
    }
    Ok(out)
}

/// A choice over the bound of an operator's text (a choice is a name to pick, not a
/// proposal).
fn too_long(s: &str) -> bool {
    s.len() > MAX_OPERATOR_TEXT && s.chars().count() > MAX_OPERATOR_TEXT
}

/// A rendered text quoted for a message, cut to a line.
fn shown(text: &str) -> String {
    let one: String = text.chars().take(60).collect();
    let cut = if one.len() < text.len() { "…" } else { "" };
    format!("{:?}{cut}", one)
}

#[cfg(test)]
#[path = "input_choices_tests.rs"]
mod tests;

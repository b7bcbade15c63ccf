//! Typed values checked against their declarations: `--param NAME=VALUE` against the
//! workflow's `[params]`, and an approval's `--input NAME=VALUE` against its gate's
//! `inputs` (the same types, one checker).
use super::diag::suggest;
use super::plan::{ParamSpec, ParamType, Plan};
use std::collections::BTreeMap;

/// What the values are, for the messages: `parameter` given with `--param`, or a gate's
/// `input` given with `--input`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Values {
    Params,
    Inputs,
}

impl Values {
    fn noun(self) -> &'static str {
        match self {
            Values::Params => "parameter",
            Values::Inputs => "input",
        }
    }

    fn flag(self) -> &'static str {
        match self {
            Values::Params => "--param",
            Values::Inputs => "--input",
        }
    }

    fn none(self) -> &'static str {
        match self {
            Values::Params => "this workflow takes no parameters",
            Values::Inputs => "this gate takes no inputs",
        }
    }
}

/// Check the run's `--param` values against the workflow's parameters
/// ([`resolve_values`]).
pub fn resolve_params(
    plan: &Plan,
    given: &[(String, String)],
) -> Result<BTreeMap<String, String>, Problems> {
    resolve_values(&plan.params, given, Values::Params)
}

/// An input's pattern that is not a regular expression (`baton ask --input`).
#[derive(Debug, thiserror::Error)]
#[error("the pattern of input `{name}` is not a valid regular expression: {why}")]
pub struct BadPattern {
    name: String,
    why: String,
}

/// An input as `baton ask --input` declares it (`model::ask::parse_input`), as the
/// checker of `--param` and `--input` takes it: a string's pattern matches the whole
/// value. `Err`: the pattern is not a regular expression, saying why.
pub fn spec_of_input(v: &baton_model::InputView) -> Result<ParamSpec, BadPattern> {
    let ty = match v.ty.as_str() {
        "int" => ParamType::Int,
        "bool" => ParamType::Bool,
        "enum" => ParamType::Enum(v.values.clone()),
        "list" => ParamType::List,
        _ => ParamType::String,
    };
    let pattern = v
        .pattern
        .as_deref()
        .map(|p| {
            regex::Regex::new(&format!("^(?:{p})$")).map_err(|e| BadPattern {
                name: v.name.clone(),
                why: e
                    .to_string()
                    .lines()
                    .last()
                    .unwrap_or_default()
                    .trim()
                    .to_string(),
            })
        })
        .transpose()?;
    Ok(ParamSpec {
        name: v.name.clone(),
        ty,
        required: v.required,
        default: v.default.clone(),
        pattern,
        secret: false,
        description: v.description.clone(),
        from_run: None,
    })
}

/// A declared parameter or gate input as a form asks for it (the console's approve
/// dialog and run form): the reverse of [`spec_of_input`], its pattern as written.
pub fn input_of_spec(p: &ParamSpec) -> baton_model::InputView {
    let (ty, values) = match &p.ty {
        ParamType::String => ("string", Vec::new()),
        ParamType::Int => ("int", Vec::new()),
        ParamType::Bool => ("bool", Vec::new()),
        ParamType::Enum(v) => ("enum", v.clone()),
        ParamType::List => ("list", Vec::new()),
    };
    baton_model::InputView {
        name: p.name.clone(),
        ty: ty.to_string(),
        values,
        required: p.required,
        default: p.default.clone(),
        pattern: p.pattern.as_ref().map(|r| r.as_str().to_string()),
        description: p.description.clone(),
    }
}

/// What is wrong with a value: one that must be given and was not, apart (each front
/// end says how to give it: `--param` on the CLI, a field typed in the console's
/// form), or any other problem, a full sentence (`Display`: the CLI's words).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A required value with no default, not given.
    Required {
        what: Values,
        name: String,
        /// A value of its type, for the CLI's example (`--param version=…`).
        example: String,
        /// `of type string matching ^\d+$`.
        of_type: String,
    },
    Other(String),
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Required {
                what,
                name,
                example,
                of_type,
            } => write!(
                f,
                "{} `{name}` is required: pass {} {name}={example} ({of_type})",
                what.noun(),
                what.flag()
            ),
            Problem::Other(s) => f.write_str(s),
        }
    }
}

impl Problem {
    /// The problem in a form's words: a required value is typed there, not passed.
    pub fn in_form(&self) -> String {
        match self {
            Problem::Required {
                what,
                name,
                of_type,
                ..
            } => format!(
                "{} `{name}` is required: type a value ({of_type})",
                what.noun()
            ),
            Problem::Other(s) => s.clone(),
        }
    }
}

/// Every problem of the values given ([`resolve_values`]), each a [`Problem`] for a
/// front end to word; `Display`: the CLI's sentences, joined by `; `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.joined("; "))]
pub struct Problems(Vec<Problem>);

impl Problems {
    pub fn iter(&self) -> std::slice::Iter<'_, Problem> {
        self.0.iter()
    }

    /// Each problem's sentence, in the CLI's words.
    pub fn sentences(&self) -> Vec<String> {
        self.0.iter().map(Problem::to_string).collect()
    }

    /// The sentences joined by `sep` (`"\nerror: "`: one line each, as the CLI prints).
    pub fn joined(&self, sep: &str) -> String {
        self.sentences().join(sep)
    }
}

impl<'a> IntoIterator for &'a Problems {
    type Item = &'a Problem;
    type IntoIter = std::slice::Iter<'a, Problem>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// Check the given values against the declared type, enum values, pattern and
/// `required`, fill in defaults, and reject unknown names. An optional value with
/// neither a given value nor a default resolves to the empty string, so templates
/// render. Each problem is a full sentence that says what would be right.
pub fn resolve_values(
    specs: &[ParamSpec],
    given: &[(String, String)],
    what: Values,
) -> Result<BTreeMap<String, String>, Problems> {
    let (noun, flag) = (what.noun(), what.flag());
    let mut errors = Vec::new();
    let mut values = BTreeMap::new();
    let declared: Vec<&str> = specs.iter().map(|p| p.name.as_str()).collect();
    for (name, value) in given {
        // Typed by an operator: bounded as every such text, an approval input's value as
        // an output is (`model::bounds`).
        let long = match what {
            Values::Params => {
                baton_model::bounds::text_too_long(&format!("{noun} `{name}`"), value)
            }
            Values::Inputs => baton_model::bounds::input_too_long(name, value),
        };
        if let Some(e) = long {
            errors.push(Problem::Other(e));
            continue;
        }
        let Some(spec) = specs.iter().find(|p| &p.name == name) else {
            let tail = match suggest(name, declared.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None if declared.is_empty() => what.none().to_string(),
                None => format!("the {noun}s are: {}", declared.join(", ")),
            };
            errors.push(Problem::Other(format!("unknown {noun} `{name}`: {tail}")));
            continue;
        };
        if values.contains_key(name) {
            errors.push(Problem::Other(format!(
                "{noun} `{name}` is given more than once; pass {flag} {name}=… a single time"
            )));
            continue;
        }
        if let Err(e) = spec.ty.check(value) {
            errors.push(Problem::Other(format!(
                "{noun} `{name}`: {e} (it is of type {})",
                spec.ty.describe()
            )));
            continue;
        }
        if let Some(re) = &spec.pattern
            && !re.is_match(value)
        {
            errors.push(Problem::Other(format!(
                    "{noun} `{name}` is \"{value}\", which does not match the pattern {}; pass a value that matches it",
                    re.as_str()
                )));
            continue;
        }
        values.insert(name.clone(), value.clone());
    }
    for spec in specs {
        if values.contains_key(&spec.name) || given.iter().any(|(n, _)| n == &spec.name) {
            continue;
        }
        match &spec.default {
            Some(d) => {
                values.insert(spec.name.clone(), d.clone());
            }
            None if spec.required => {
                let example = match &spec.ty {
                    ParamType::Enum(v) => v.first().cloned().unwrap_or_default(),
                    ParamType::Int => "42".into(),
                    ParamType::Bool => "true".into(),
                    ParamType::String => "…".into(),
                    ParamType::List => "a,b".into(),
                };
                let pattern = spec
                    .pattern
                    .as_ref()
                    .map(|p| format!(" matching {}", p.as_str()))
                    .unwrap_or_default();
                errors.push(Problem::Required {
                    what,
                    name: spec.name.clone(),
                    example,
                    of_type: format!("of type {}{pattern}", spec.ty.describe()),
                });
            }
            None => {
                values.insert(spec.name.clone(), String::new());
            }
        }
    }
    if errors.is_empty() {
        Ok(values)
    } else {
        Err(Problems(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load_str;
    use std::path::Path;

    fn plan() -> Plan {
        let src = r#"
name = "p"
[params.version]
type = "string"
required = true
pattern = '^\d+\.\d+\.\d+$'
[params.target]
type = "enum"
values = ["staging", "production"]
default = "staging"
[params.count]
type = "int"
[params.dry]
type = "bool"
default = false
[[step]]
id = "a"
run = "true"
"#;
        load_str(src, Path::new("p.toml")).unwrap()
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn fills_defaults_and_accepts_valid_values() {
        let v = resolve_params(&plan(), &pairs(&[("version", "1.4.2"), ("count", "3")])).unwrap();
        assert_eq!(v["version"], "1.4.2");
        assert_eq!(v["target"], "staging");
        assert_eq!(v["count"], "3");
        assert_eq!(v["dry"], "false");
    }

    /// Issue 42 point 7: a value typed by an operator is bounded (65,535 characters).
    #[test]
    fn a_value_over_the_operator_bound_is_refused_by_name() {
        let long = "1".repeat(baton_model::bounds::MAX_OPERATOR_TEXT + 1);
        let errs = resolve_params(&plan(), &pairs(&[("version", "1.0.0"), ("count", &long)]))
            .unwrap_err()
            .sentences();
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(
            errs[0].starts_with("parameter `count` is 65536 characters long; an operator's text is at most 65535 characters"),
            "{errs:?}"
        );
    }

    #[test]
    fn optional_without_default_is_empty() {
        let v = resolve_params(&plan(), &pairs(&[("version", "1.0.0")])).unwrap();
        assert_eq!(v["count"], "");
    }

    #[test]
    fn reports_every_problem() {
        let errs = resolve_params(
            &plan(),
            &pairs(&[
                ("target", "prod"),
                ("count", "x"),
                ("versoin", "1"),
                ("dry", "yes"),
            ]),
        )
        .unwrap_err()
        .sentences();
        assert_eq!(errs.len(), 5, "{errs:#?}");
        assert!(errs.iter().any(|e| e.contains("did you mean `version`")));
        assert!(
            errs.iter()
                .any(|e| e.contains("\"prod\" is not one of \"staging\", \"production\""))
        );
        assert!(errs.iter().any(|e| e.contains("not an int")));
        assert!(errs.iter().any(|e| e.contains("write true or false")));
        assert!(
            errs.iter()
                .any(|e| e.contains("`version` is required: pass --param version="))
        );
    }

    #[test]
    fn pattern_mismatch_names_the_pattern() {
        let errs = resolve_params(&plan(), &pairs(&[("version", "v1")]))
            .unwrap_err()
            .sentences();
        assert_eq!(errs.len(), 1);
        assert!(errs[0].contains(r"^\d+\.\d+\.\d+$"), "{}", errs[0]);
    }

    /// A param shown in a form and read back checks as it was declared.
    #[test]
    fn a_param_as_a_form_field_and_back_is_the_same_check() {
        for p in &plan().params {
            let v = input_of_spec(p);
            let back = spec_of_input(&v).unwrap();
            assert_eq!(
                (&back.name, &back.ty, back.required, &back.default),
                (&p.name, &p.ty, p.required, &p.default)
            );
            assert_eq!(v.pattern.as_deref(), p.pattern.as_ref().map(|r| r.as_str()));
        }
        let version = input_of_spec(&plan().params[0]);
        assert_eq!((version.ty.as_str(), version.required), ("string", true));
        let target = input_of_spec(&plan().params[1]);
        assert_eq!(target.values, ["staging", "production"]);
    }

    #[test]
    fn inputs_are_named_as_inputs() {
        let specs = &plan().params;
        let errs = resolve_values(specs, &pairs(&[("versoin", "1")]), Values::Inputs)
            .unwrap_err()
            .sentences();
        assert!(
            errs.iter()
                .any(|e| e.starts_with("unknown input `versoin`: did you mean `version`?")),
            "{errs:#?}"
        );
        assert!(
            errs.iter()
                .any(|e| e.contains("input `version` is required: pass --input version=")),
            "{errs:#?}"
        );
        let none = resolve_values(&[], &pairs(&[("x", "1")]), Values::Inputs).unwrap_err();
        assert_eq!(
            none.sentences(),
            vec!["unknown input `x`: this gate takes no inputs".to_string()]
        );
    }

    /// A required value left out is one problem, worded by each front end: the CLI
    /// says `--param`, a form says to type it (the one check, two wordings).
    #[test]
    fn a_missing_required_value_is_worded_by_the_front_end() {
        let problems = resolve_values(&plan().params, &[], Values::Params).unwrap_err();
        let [p] = problems.iter().as_slice() else {
            panic!("{problems:?}")
        };
        assert_eq!(
            p.to_string(),
            format!(
                "parameter `version` is required: pass --param version=… (of type string matching {})",
                p_pattern(&plan())
            )
        );
        assert_eq!(
            p.in_form(),
            format!(
                "parameter `version` is required: type a value (of type string matching {})",
                p_pattern(&plan())
            )
        );
    }

    fn p_pattern(plan: &Plan) -> String {
        plan.params[0]
            .pattern
            .as_ref()
            .map(|r| r.as_str().to_string())
            .unwrap_or_default()
    }
}

//! `--param NAME=VALUE` values checked against the workflow's declared parameters.
use super::diag::suggest;
use super::plan::{ParamType, Plan};
use std::collections::BTreeMap;

/// Check the given values against the declared type, enum values, pattern and
/// `required`, fill in defaults, and reject unknown names. An optional parameter with
/// neither a value nor a default resolves to the empty string, so templates render.
/// Each error is a full sentence that says what would be right.
pub fn resolve_params(
    plan: &Plan,
    given: &[(String, String)],
) -> Result<BTreeMap<String, String>, Vec<String>> {
    let mut errors = Vec::new();
    let mut values = BTreeMap::new();
    let declared: Vec<&str> = plan.params.iter().map(|p| p.name.as_str()).collect();
    for (name, value) in given {
        let Some(spec) = plan.params.iter().find(|p| &p.name == name) else {
            let tail = match suggest(name, declared.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None if declared.is_empty() => "this workflow takes no parameters".to_string(),
                None => format!("the parameters are: {}", declared.join(", ")),
            };
            errors.push(format!("unknown parameter `{name}`: {tail}"));
            continue;
        };
        if values.contains_key(name) {
            errors.push(format!(
                "parameter `{name}` is given more than once; pass --param {name}=… a single time"
            ));
            continue;
        }
        if let Err(e) = spec.ty.check(value) {
            errors.push(format!(
                "parameter `{name}`: {e} (it is of type {})",
                spec.ty.describe()
            ));
            continue;
        }
        if let Some(re) = &spec.pattern
            && !re.is_match(value)
        {
            errors.push(format!(
                    "parameter `{name}` is \"{value}\", which does not match the pattern {}; pass a value that matches it",
                    re.as_str()
                ));
            continue;
        }
        values.insert(name.clone(), value.clone());
    }
    for spec in &plan.params {
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
                errors.push(format!(
                    "parameter `{}` is required: pass --param {}={example} (a {}{pattern})",
                    spec.name,
                    spec.name,
                    spec.ty.describe()
                ));
            }
            None => {
                values.insert(spec.name.clone(), String::new());
            }
        }
    }
    if errors.is_empty() {
        Ok(values)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::load_str;
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
        .unwrap_err();
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
        let errs = resolve_params(&plan(), &pairs(&[("version", "v1")])).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert!(errs[0].contains(r"^\d+\.\d+\.\d+$"), "{}", errs[0]);
    }
}

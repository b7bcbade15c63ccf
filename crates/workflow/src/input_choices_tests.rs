use super::*;
use crate::load_str;
use std::path::Path;

const SRC: &str = r#"
name = "p"
[params.region]
type = "string"
default = "eu"
[[step]]
id = "list"
run = "true"
[[step]]
id = "pick"
needs = ["list"]
run = "true"
[step.gate.inputs]
db = { type = "enum", values = "${{ steps.list.outputs.dbs }}", default = "${{ steps.list.outputs.first }}" }
sql = { default = "SELECT 1 -- ${{ params.region }}", pattern = '^SELECT' }
"#;

fn specs() -> Vec<ParamSpec> {
    let plan = load_str(SRC, Path::new("p.toml")).unwrap();
    plan.steps[1].gate.as_ref().unwrap().inputs.clone()
}

fn lookup(dbs: &'static str, first: &'static str) -> impl FnMut(&TemplateRef) -> Option<String> {
    move |r| match r.to_string().as_str() {
        "steps.list.outputs.dbs" => Some(dbs.to_string()),
        "steps.list.outputs.first" => Some(first.to_string()),
        "params.region" => Some("eu".to_string()),
        _ => None,
    }
}

#[test]
fn the_plan_never_holds_a_template_as_a_value() {
    let s = specs();
    assert_eq!(s[0].default, None);
    assert_eq!(s[0].ty, ParamType::Enum(vec![]));
    assert_eq!(s[1].default, None);
    let t = s[1].from_run.as_ref().unwrap();
    assert_eq!(
        t.default.as_ref().unwrap().to_string(),
        "SELECT 1 -- ${{ params.region }}"
    );
}

#[test]
fn renders_defaults_and_choices_from_the_run() {
    let r = render(&specs(), lookup(r#"["orders", "users", 3]"#, "users")).unwrap();
    assert_eq!(
        r["db"],
        RenderedInput {
            default: Some("users".into()),
            values: Some(vec!["orders".into(), "users".into(), "3".into()]),
        }
    );
    assert_eq!(r["sql"].default.as_deref(), Some("SELECT 1 -- eu"));
    let made = with_rendered(&specs(), &r);
    assert_eq!(
        made[0].ty,
        ParamType::Enum(vec!["orders".into(), "users".into(), "3".into()])
    );
    assert_eq!(made[1].default.as_deref(), Some("SELECT 1 -- eu"));
}

#[test]
fn a_default_outside_the_rendered_choices_is_refused_by_name() {
    let e = render(&specs(), lookup(r#"["orders"]"#, "users")).unwrap_err();
    assert!(
        matches!(&e, ChoiceError::BadDefault { input, value, .. } if input == "db" && value == "\"users\""),
        "{e}"
    );
    assert!(e.to_string().contains("\"users\" is not one of"), "{e}");
}

#[test]
fn values_that_are_not_a_list_of_choices_are_refused() {
    for (text, want) in [
        ("orders,users", "not a JSON list"),
        ("[]", "empty list"),
        (r#"["a", "a"]"#, "twice"),
        (r#"[{"a": 1}]"#, "not a JSON list"),
        (r#"["a", ""]"#, "not a JSON list"),
    ] {
        let e = render(&specs(), lookup(text, "a")).unwrap_err();
        assert!(e.to_string().contains(want), "{text}: {e}");
    }
    let many = serde_json::to_string(&(0..=MAX_CHOICES).collect::<Vec<_>>()).unwrap();
    let e = choices("db", &many).unwrap_err();
    assert!(matches!(e, ChoiceError::TooMany { n, .. } if n == MAX_CHOICES + 1));
}

#[test]
fn a_missing_output_names_the_reference() {
    let e = render(&specs(), |_| None).unwrap_err();
    assert_eq!(
        e.to_string(),
        "input `db`: `values` reads `steps.list.outputs.dbs`, which has no value"
    );
}

//! `[[trigger]]` blocks: each kind read into its `EventTrigger`, each mistake an error
//! at its `LINE:COL`.
use super::*;
use crate::events::{EventSource, Pick};

const HEAD: &str = r#"name = "deploy"
[params.version]
type = "string"
required = true
[params.env]
type = "enum"
values = ["staging", "prod"]
default = "staging"
[secrets]
hook_key = { env = "HOOK_KEY" }
[[step]]
id = "go"
run = "true"
"#;

fn load(body: &str) -> Result<Plan, Vec<String>> {
    load_str(&format!("{HEAD}{body}"), Path::new("/w/deploy.toml")).map_err(|d| {
        d.0.iter()
            .map(|d| format!("{}:{}: {}", d.line, d.col, d.message))
            .collect()
    })
}

#[test]
fn each_kind_of_trigger_is_read() {
    let plan = load(
        r#"[[trigger]]
on = "run_ended"
workflow = "build"
states = ["succeeded", "failed"]
map = { version = "steps.pack.outputs.version" }
params = { env = "prod" }
[[trigger]]
on = "file"
name = "drop"
dir = "incoming"
glob = "*.tar"
map = { version = "file.name" }
[[trigger]]
on = "webhook"
name = "release"
secret = "hook_key"
map = { version = "body.release.tag" }
"#,
    )
    .unwrap_or_else(|d| panic!("{d:?}"));
    assert_eq!(plan.triggers.len(), 3);
    let t = &plan.triggers[0];
    assert_eq!((t.index, t.line), (1, 14));
    assert_eq!(
        t.source,
        EventSource::RunEnded {
            workflow: "build".into(),
            states: vec!["succeeded".into(), "failed".into()]
        }
    );
    assert_eq!(t.params, vec![("env".into(), "prod".into())]);
    assert_eq!(
        t.map,
        vec![(
            "version".into(),
            Pick::StepOutput {
                step: "pack".into(),
                name: "version".into()
            }
        )]
    );
    assert_eq!(
        plan.triggers[1].source,
        EventSource::File {
            dir: "/w/incoming".into(),
            glob: "*.tar".into()
        }
    );
    assert_eq!(plan.triggers[1].name.as_deref(), Some("drop"));
    assert_eq!(
        plan.triggers[2].source,
        EventSource::Webhook {
            secret: "hook_key".into()
        }
    );
    assert_eq!(
        plan.triggers[2].map,
        vec![(
            "version".into(),
            Pick::Body(vec!["release".into(), "tag".into()])
        )]
    );
}

#[test]
fn a_run_ended_trigger_defaults_to_succeeded() {
    let plan =
        load("[[trigger]]\non = \"run_ended\"\nworkflow = \"b\"\nparams = { version = \"1\" }\n")
            .unwrap_or_else(|d| panic!("{d:?}"));
    assert_eq!(
        plan.triggers[0].source,
        EventSource::RunEnded {
            workflow: "b".into(),
            states: vec!["succeeded".into()]
        }
    );
}

#[test]
fn each_mistake_is_an_error_at_its_place() {
    let cases: &[(&str, &str)] = &[
        (
            "[[trigger]]\nworkflow = \"b\"\n",
            "14:1: trigger #1 has no `on`",
        ),
        (
            "[[trigger]]\non = \"cron\"\n",
            "15:6: `on` of trigger #1 is \"cron\"",
        ),
        (
            "[[trigger]]\non = \"run_ended\"\nmap = { version = \"run.id\" }\n",
            "14:1: trigger #1 has no `workflow`",
        ),
        (
            "[[trigger]]\non = \"run_ended\"\nworkflow = \"b\"\nstates = [\"done\"]\nmap = { version = \"run.id\" }\n",
            "17:11: `states` of trigger #1: \"done\" is not how a run ends",
        ),
        (
            "[[trigger]]\non = \"run_ended\"\nworkflow = \"b\"\nglob = \"*\"\nmap = { version = \"run.id\" }\n",
            "17:1: `glob` of trigger #1 is for on = \"file\", not \"run_ended\"",
        ),
        (
            "[[trigger]]\non = \"file\"\ndir = \"in\"\nglob = \"a/*.csv\"\nmap = { version = \"file.path\" }\n",
            "17:8: `glob` of trigger #1 holds a `/`",
        ),
        (
            "[[trigger]]\non = \"file\"\ndir = \"in\"\nglob = \"*\"\nmap = { version = \"run.id\" }\n",
            "18:19: `map.version` of trigger #1: `run.id` is not something a `file` event has",
        ),
        (
            "[[trigger]]\non = \"file\"\ndir = \"in\"\nglob = \"*\"\nmap = { versoin = \"file.path\" }\n",
            "18:9: trigger #1 maps to param `versoin`, which [params] does not declare",
        ),
        (
            "[[trigger]]\non = \"file\"\ndir = \"in\"\nglob = \"*\"\n",
            "14:1: trigger #1: parameter `version` is required",
        ),
        (
            "[[trigger]]\non = \"webhook\"\nsecret = \"nope\"\nmap = { version = \"delivery\" }\n",
            "16:10: trigger #1: `secret = \"nope\"` is no [secrets] entry",
        ),
        (
            "[[trigger]]\non = \"run_ended\"\nworkflow = \"deploy\"\nmap = { version = \"run.id\" }\n",
            "14:1: trigger #1 starts `deploy` when a run of `deploy` ends",
        ),
        (
            "[[trigger]]\non = \"webhook\"\nname = \"a b\"\nsecret = \"hook_key\"\nmap = { version = \"delivery\" }\n",
            "16:8: `name` of trigger #1 is \"a b\"",
        ),
        (
            "[trigger]\non = \"webhook\"\n",
            "14:2: `trigger` must be an array of tables",
        ),
    ];
    for (body, want) in cases {
        let errors = load(body).err().unwrap_or_else(|| panic!("{body} loaded"));
        assert!(
            errors.iter().any(|e| e.starts_with(want)),
            "{body}\nwanted {want}\ngot {errors:?}"
        );
    }
}

/// A file trigger of `HEAD`'s workflow with `extra` lines after its fixed params (its
/// `extra` start at line 19).
fn file_trigger(extra: &str) -> String {
    format!(
        "[[trigger]]\non = \"file\"\ndir = \"in\"\nglob = \"*\"\nparams = {{ version = \"1\" }}\n{extra}"
    )
}

#[test]
fn a_burst_is_read_and_held_only_when_asked() {
    let plan = load(&format!(
        "[params.inputs]\ntype = \"list\"\n{}",
        file_trigger(
            "coalesce = true\ndebounce = \"30s\"\nqueue = 7\nmap = { inputs = \"file.path\" }\n"
        )
    ))
    .unwrap_or_else(|d| panic!("{d:?}"));
    let b = &plan.triggers[0].burst;
    assert!(b.coalesce && b.holds());
    assert_eq!(b.debounce, Some(std::time::Duration::from_secs(30)));
    assert_eq!(b.queue, 7);
    let plain = load(&file_trigger("")).unwrap_or_else(|d| panic!("{d:?}"));
    assert!(!plain.triggers[0].burst.holds());
    assert_eq!(
        plain.triggers[0].burst.queue,
        crate::events::DEFAULT_TRIGGER_QUEUE
    );
}

#[test]
fn each_bad_burst_value_is_an_error_at_its_place() {
    let cases: &[(&str, &str)] = &[
        ("coalesce = \"yes\"\n", "19:12: `coalesce` of trigger #1"),
        ("debounce = \"soon\"\n", "19:12: `debounce` of trigger #1"),
        (
            "debounce = \"0s\"\n",
            "19:12: `debounce` of trigger #1 must be longer than zero",
        ),
        ("debounce = \"40d\"\n", "19:12: `debounce` of trigger #1"),
        (
            "coalesce = true\nqueue = 0\n",
            "20:9: `queue` of trigger #1 must be at least 1",
        ),
        (
            "coalesce = true\nqueue = 20000\n",
            "20:9: `queue` of trigger #1 must be at most 10000",
        ),
        (
            "queue = 5\n",
            "19:9: `queue` of trigger #1 bounds the events the trigger holds, but it holds none",
        ),
        (
            "coalesce = true\nmap = { version = \"file.path\" }\n",
            "20:9: trigger #1 coalesces its events into one run, but maps param `version`, which is not a list",
        ),
    ];
    for (extra, want) in cases {
        let body = file_trigger(extra);
        let errors = load(&body).err().unwrap_or_else(|| panic!("{body} loaded"));
        assert!(
            errors.iter().any(|e| e.starts_with(want)),
            "{body}\nwanted {want}\ngot {errors:?}"
        );
    }
}

use crate::{Plan, SecretSource, load_str};
use std::path::Path;
use std::time::Duration;

fn load(text: &str) -> Result<Plan, String> {
    load_str(text, Path::new("/wf/w.toml")).map_err(|d| d.to_string())
}

const SECRETS: &str = r#"
name = "s"
[secrets]
DB = { file = "/run/secrets/db" }
REL = { file = "keys/api" }
CRED = { credential = "db" }
GH = { command = ["pass", "show", "prod/gh"], timeout = "5s", first_line = true }
TOKEN = { env = "CI_TOKEN" }
"#;

#[test]
fn each_source_is_read_with_what_it_needs() {
    let plan = load(&format!(
        "{SECRETS}[[step]]\nid = \"a\"\nrun = \"true\"\nsecrets = [\"DB\", \"GH\", \"DB\"]\n"
    ))
    .unwrap();
    let src: Vec<(&str, &SecretSource)> = plan
        .secret_sources
        .iter()
        .map(|s| (s.name.as_str(), &s.source))
        .collect();
    assert_eq!(
        src[0],
        ("DB", &SecretSource::File("/run/secrets/db".into()))
    );
    assert_eq!(src[1], ("REL", &SecretSource::File("/wf/keys/api".into())));
    assert_eq!(src[2], ("CRED", &SecretSource::Credential("db".into())));
    assert_eq!(
        src[3],
        (
            "GH",
            &SecretSource::Command {
                argv: vec!["pass".into(), "show".into(), "prod/gh".into()],
                timeout: Duration::from_secs(5),
                first_line: true,
            }
        )
    );
    assert_eq!(src[4], ("TOKEN", &SecretSource::Env("CI_TOKEN".into())));
    assert_eq!(plan.steps[0].secrets, ["DB", "GH"]);
    let used: Vec<&str> = plan.secrets_of(0).iter().map(|s| s.name.as_str()).collect();
    assert_eq!(used, ["DB", "GH"]);
    assert!(plan.secrets.is_empty());
}

#[test]
fn the_older_list_still_loads_and_steps_may_name_it() {
    let plan = load(
        "name = \"s\"\nsecrets = [\"API\"]\n[[step]]\nid = \"a\"\nrun = \"true\"\nsecrets = [\"API\"]\n",
    )
    .unwrap();
    assert_eq!(plan.secrets, ["API"]);
    assert_eq!(plan.steps[0].secrets, ["API"]);
    assert!(plan.secrets_of(0).is_empty(), "inherited, nothing to read");
}

#[test]
fn an_undeclared_secret_is_named_where_it_is_used_with_a_suggestion() {
    let e = load(&format!(
        "{SECRETS}[[step]]\nid = \"a\"\nrun = \"true\"\nsecrets = [\"DB_\"]\n"
    ))
    .unwrap_err();
    assert!(e.contains("w.toml:12:"), "{e}");
    assert!(
        e.contains("step `a` uses secret `DB_`, which [secrets] does not declare"),
        "{e}"
    );
    assert!(e.contains("did you mean `DB`?"), "{e}");
    let e = load("name = \"s\"\n[[step]]\nid = \"a\"\nrun = \"true\"\nsecrets = [\"X\"]\n")
        .unwrap_err();
    assert!(e.contains("declare it: [secrets] X = "), "{e}");
}

#[test]
fn bad_sources_say_what_would_be_right() {
    for (entry, says, right) in [
        (
            "DB = \"/run/secrets/db\"",
            "must be a table",
            "DB = { file = \"/run/secrets/db\" }",
        ),
        ("DB = {}", "says nowhere to read it", "credential = \"db\""),
        (
            "DB = { file = \"/a\", command = [\"x\"] }",
            "has both `file` and `command`",
            "keep one",
        ),
        (
            "DB = { command = \"pass show prod/db\" }",
            "must be an argument vector",
            "command = [\"pass\", \"show\", \"prod/db\"]",
        ),
        ("DB = { command = [] }", "non-empty array", "command = ["),
        (
            "DB = { credential = \"a/b\" }",
            "not a credential's name",
            "LoadCredential",
        ),
        (
            "DB = { file = \"$CREDENTIALS_DIRECTORY/db\" }",
            "is not expanded",
            "credential = \"db\"",
        ),
        (
            "DB = { file = \"/a\", timeout = \"5s\" }",
            "has no effect",
            "remove it",
        ),
        (
            "DB = { command = [\"x\"], timeout = \"0s\" }",
            "above zero",
            "timeout = \"10s\"",
        ),
        (
            "DB = { command = [\"x\"], first_line = \"yes\" }",
            "must be a boolean",
            "first_line = true",
        ),
        (
            "DB = { comand = [\"x\"] }",
            "unknown field `comand`",
            "did you mean `command`?",
        ),
        (
            "DB = { env = \"not a name\" }",
            "not an environment variable name",
            "env = \"API_TOKEN\"",
        ),
        (
            "1DB = { env = \"X\" }",
            "not a valid environment variable name",
            "DB_PASSWORD",
        ),
    ] {
        let e = load(&format!(
            "name = \"s\"\n[secrets]\n{entry}\n[[step]]\nid = \"a\"\nrun = \"true\"\n"
        ))
        .unwrap_err();
        assert!(e.contains("w.toml:3:"), "{entry}: {e}");
        assert!(e.contains(says), "{entry}: {e}");
        assert!(e.contains(right), "{entry}: {e}");
    }
}

#[test]
fn a_step_that_runs_no_command_takes_no_secret() {
    let e = load(&format!(
        "{SECRETS}[[step]]\nid = \"a\"\nuses = \"builtin.noop\"\nsecrets = [\"DB\"]\n"
    ))
    .unwrap_err();
    assert!(e.contains("has no effect: the step runs no command"), "{e}");
}

#[test]
fn a_step_inherits_only_the_sources_of_the_secrets_it_names() {
    let plan = load(&format!(
        "{SECRETS}SAME = {{ env = \"CI_TOKEN\" }}\nHOOK = {{ env = \"SLACK_HOOK\" }}\n\
         [[step]]\nid = \"none\"\nrun = \"true\"\n\
         [[step]]\nid = \"tok\"\nrun = \"true\"\nsecrets = [\"SAME\"]\n\
         [[step]]\nid = \"cred\"\nrun = \"true\"\nsecrets = [\"CRED\", \"HOOK\"]\n"
    ))
    .unwrap();
    assert_eq!(
        plan.withheld_of(0),
        ["CI_TOKEN", "SLACK_HOOK", "CREDENTIALS_DIRECTORY"]
    );
    // TOKEN is not named, but SAME reads the same variable: it is this step's.
    assert_eq!(plan.withheld_of(1), ["SLACK_HOOK", "CREDENTIALS_DIRECTORY"]);
    assert_eq!(plan.withheld_of(2), ["CI_TOKEN"]);
    let old =
        load("name = \"s\"\nsecrets = [\"API\"]\n[[step]]\nid = \"a\"\nrun = \"true\"\n").unwrap();
    assert_eq!(
        old.withheld_of(0),
        ["CREDENTIALS_DIRECTORY"],
        "the older list is every step's"
    );
}

use super::super::{Config, parse as parse_config};
use super::*;
use std::path::Path;

fn parse_ok(text: &str) -> Config {
    parse_config(Path::new("config.toml"), text).unwrap_or_else(|d| panic!("{d}"))
}

fn errors(text: &str) -> String {
    match parse_config(Path::new("config.toml"), text) {
        Ok(_) => panic!("no error in:\n{text}"),
        Err(d) => d.to_string(),
    }
}

const DASHBOARD: &str = r#"
[[action]]
key = "D"
scope = "step"
description = "dashboard: open the step's board"
command = ["open-dashboard", "--run={run}", "--step", "{step}", "{{literal}}"]
"#;

fn values(run: &str, step: Option<&str>) -> Values {
    Values {
        run: Some(run.into()),
        step: step.map(str::to_string),
        workflow: Some("deploy".into()),
        db: Some("/srv/baton.db".into()),
    }
}

#[test]
fn an_action_is_read_with_its_defaults() {
    let c = parse_ok(DASHBOARD);
    let [a] = c.actions.as_slice() else {
        panic!("{:?}", c.actions)
    };
    assert_eq!(a.key.0, "D");
    assert_eq!(a.key.1, At { line: 3, col: 7 });
    assert_eq!(a.scopes, vec![Scope::Step]);
    assert!(!a.shell && !a.confirm && !a.dangerous);
    assert_eq!(a.output, Output::Pane);
    assert_eq!(a.timeout, DEFAULT_TIMEOUT);
    assert_eq!(
        a.argv(&values("01jd4", Some("build"))),
        Some(vec![
            "open-dashboard".to_string(),
            "--run=01jd4".into(),
            "--step".into(),
            "build".into(),
            "{literal}".into(),
        ])
    );
}

#[test]
fn a_placeholder_with_no_value_means_the_action_is_not_offered() {
    let c = parse_ok(DASHBOARD);
    let a = &c.actions[0];
    let run_only = values("01jd4", None);
    assert!(!a.fits(&run_only));
    assert_eq!(a.argv(&run_only), None);
    assert!(a.fits(&values("01jd4", Some("build"))));
}

/// A value with spaces, quotes, `;`, `$(...)` and a newline stays one argument, as
/// written: nothing reads it as shell code.
#[test]
fn a_hostile_value_stays_one_argument() {
    let c = parse_ok(DASHBOARD);
    let hostile = "a b; rm -rf ~ $(touch /tmp/x) `id` 'q' \"dq\"\nnext";
    let argv = c.actions[0]
        .argv(&values(hostile, Some("s p")))
        .unwrap_or_default();
    assert_eq!(argv.len(), 5, "{argv:?}");
    assert_eq!(argv[1], format!("--run={hostile}"));
    assert_eq!(argv[3], "s p");
}

#[test]
fn shell_true_passes_values_as_positional_parameters() {
    let c = parse_ok(
        r#"
[[action]]
key = "ctrl-o"
scope = ["run", "gate"]
description = "notes"
shell = true
command = ["grep -- \"$1\" notes.txt | head -n 5", "{run}", "{workflow}"]
"#,
    );
    let a = &c.actions[0];
    assert_eq!(a.scopes, vec![Scope::Run, Scope::Gate]);
    assert_eq!(
        a.argv(&values("$(reboot)", None)),
        Some(vec![
            "sh".to_string(),
            "-c".into(),
            "grep -- \"$1\" notes.txt | head -n 5".into(),
            "baton-action".into(),
            "$(reboot)".into(),
            "deploy".into(),
        ])
    );
}

#[test]
fn dangerous_implies_confirm_and_the_rest_is_read() {
    let c = parse_ok(
        "[[action]]\nkey = \"K\"\nscope = \"run\"\ndescription = \"kill\"\ncommand = [\"pkill-run\", \"{run}\"]\ndangerous = true\noutput = \"log\"\ntimeout = \"5s\"\n",
    );
    let a = &c.actions[0];
    assert!(a.dangerous && a.confirm);
    assert_eq!(a.output, Output::Log);
    assert_eq!(a.timeout, Duration::from_secs(5));
}

#[test]
fn an_unknown_placeholder_is_a_load_error_at_its_argument() {
    let e = errors(
        "[[action]]\nkey = \"D\"\nscope = \"run\"\ndescription = \"d\"\ncommand = [\"x\", \"{runid}\"]\n",
    );
    assert!(
        e.contains("config.toml:5:17: error: `{runid}` is not a placeholder"),
        "{e}"
    );
    assert!(e.contains("{run}, {step}, {workflow}, {db}"), "{e}");
    let e = errors(
        "[[action]]\nkey = \"D\"\nscope = \"run\"\ndescription = \"d\"\ncommand = [\"x\", \"{run\"]\n",
    );
    assert!(
        e.contains("config.toml:5:17: error: a `{` that is never closed"),
        "{e}"
    );
}

#[test]
fn a_shell_string_and_a_placeholder_in_a_script_are_refused() {
    let e = errors(
        "[[action]]\nkey = \"D\"\nscope = \"run\"\ndescription = \"d\"\ncommand = \"open {run}\"\n",
    );
    assert!(
        e.contains("config.toml:5:11: error: `command` is a list of arguments, not a string"),
        "{e}"
    );
    let e = errors(
        "[[action]]\nkey = \"D\"\nscope = \"run\"\ndescription = \"d\"\nshell = true\ncommand = [\"open {run}\"]\n",
    );
    assert!(
        e.contains("config.toml:6:11: error: a placeholder in a shell script would put a value into its code"),
        "{e}"
    );
    assert!(e.contains("\"$1\""), "{e}");
}

#[test]
fn missing_and_wrong_fields_are_named_with_their_place() {
    let e = errors("[[action]]\nkey = \"D\"\nscop = \"run\"\n");
    assert!(
        e.contains("config.toml:3:1: error: unknown key `scop` in [[action]]"),
        "{e}"
    );
    assert!(e.contains("did you mean `scope`?"), "{e}");
    assert!(e.contains("this [[action]] has no `scope`"), "{e}");
    assert!(e.contains("this [[action]] has no `description`"), "{e}");
    assert!(e.contains("this [[action]] has no `command`"), "{e}");
    let e = errors(
        "[[action]]\nkey = \"D\"\nscope = \"job\"\ndescription = \"d\"\ncommand = [\"x\"]\noutput = \"popup\"\ntimeout = \"soon\"\n",
    );
    assert!(
        e.contains("config.toml:3:9: error: `job` is not a scope"),
        "{e}"
    );
    assert!(
        e.contains("config.toml:6:10: error: `popup` is not where an action's output goes"),
        "{e}"
    );
    assert!(
        e.contains("config.toml:7:11: error: invalid duration"),
        "{e}"
    );
    let e = errors("[action]\nkey = \"D\"\n");
    assert!(e.contains("`action` must be tables"), "{e}");
}

#[test]
fn braces_parse_as_placeholders_or_literals() {
    assert_eq!(
        Arg::parse("{{a}} {db}"),
        Ok(Arg(vec![
            Piece::Text("{a} ".into()),
            Piece::Value(Placeholder::Db)
        ]))
    );
    assert_eq!(Arg::parse(""), Ok(Arg(vec![Piece::Text(String::new())])));
    assert!(Arg::parse("a}b").is_err());
}

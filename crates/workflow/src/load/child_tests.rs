//! A child-run step's load errors are the parent's, at the parent's `FILE:LINE`.
use crate::{Action, Diagnostics, load_file};
use std::path::Path;

const CHILD: &str = r#"
name = "deploy"
[params]
env = { type = "enum", values = ["dev", "prod"], required = true }
region = { default = "eu" }

[[step]]
id = "deploy"
run = "echo deploying"
"#;

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).expect("write a test file");
}

fn errors_of(dir: &Path, parent: &str) -> Diagnostics {
    write(dir, "parent.toml", parent);
    load_file(&dir.join("parent.toml")).expect_err("the parent must not load")
}

#[test]
fn a_child_step_loads_with_its_path_and_params() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "deploy.toml", CHILD);
    write(
        dir.path(),
        "parent.toml",
        "name = \"t\"\n[params]\nenv = {}\n[[step]]\nid = \"ship\"\nworkflow = \"deploy.toml\"\nparams = { env = \"${{ params.env }}\" }\n",
    );
    let plan = load_file(&dir.path().join("parent.toml")).expect("loads");
    let step = &plan.steps[0];
    assert_eq!(
        step.action,
        Action::Workflow {
            path: dir.path().join("deploy.toml"),
            written: "deploy.toml".into()
        }
    );
    assert_eq!(step.with["env"].to_string(), "${{ params.env }}");
}

#[test]
fn a_missing_child_file_is_the_parents_error_at_its_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = errors_of(
        dir.path(),
        "name = \"t\"\n[[step]]\nid = \"ship\"\nworkflow = \"nowhere.toml\"\n",
    );
    let e = &d.0[0];
    assert!(e.file.ends_with("parent.toml"), "{d}");
    assert_eq!(e.line, 4, "{d}");
    assert!(e.message.contains("`nowhere.toml` does not load"), "{d}");
}

#[test]
fn a_cycle_through_a_child_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(
        dir.path(),
        "child.toml",
        "name = \"t\"\n[[step]]\nid = \"back\"\nworkflow = \"parent.toml\"\n",
    );
    let d = errors_of(
        dir.path(),
        "name = \"t\"\n[[step]]\nid = \"down\"\nworkflow = \"child.toml\"\n",
    );
    let text = d.to_string();
    assert!(text.contains("parent.toml:4:"), "{text}");
    assert!(text.contains("makes a cycle"), "{text}");
    let direct = errors_of(
        dir.path(),
        "name = \"t\"\n[[step]]\nid = \"me\"\nworkflow = \"parent.toml\"\n",
    );
    assert!(direct.to_string().contains("makes a cycle"), "{direct}");
}

#[test]
fn params_the_child_does_not_declare_or_take_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "deploy.toml", CHILD);
    let d = errors_of(
        dir.path(),
        "name = \"t\"\n[[step]]\nid = \"ship\"\nworkflow = \"deploy.toml\"\nparams = { env = \"staging\", regoin = \"us\" }\n",
    );
    let text = d.to_string();
    assert!(text.contains("parent.toml:5:"), "{text}");
    assert!(text.contains("`regoin` is not a param of"), "{text}");
    assert!(text.contains("did you mean `region`?"), "{text}");
    assert!(text.contains("parameter `env`"), "{text}");
    let missing = errors_of(
        dir.path(),
        "name = \"t\"\n[[step]]\nid = \"ship\"\nworkflow = \"deploy.toml\"\n",
    );
    assert!(
        missing.to_string().contains("does not give param `env`"),
        "{missing}"
    );
}

#[test]
fn a_child_step_cannot_also_run_a_command_and_params_need_a_workflow() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "deploy.toml", CHILD);
    let d = errors_of(
        dir.path(),
        "name = \"t\"\n[[step]]\nid = \"ship\"\nworkflow = \"deploy.toml\"\nrun = \"true\"\nparams = { env = \"dev\" }\n[[step]]\nid = \"loose\"\nrun = \"true\"\nparams = { env = \"dev\" }\n",
    );
    let text = d.to_string();
    assert!(text.contains("has `workflow` and `run`"), "{text}");
    assert!(text.contains("has `params` but no `workflow`"), "{text}");
}

#[test]
fn a_child_that_does_not_load_names_its_own_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(
        dir.path(),
        "bad.toml",
        "name = \"t\"\n[[step]]\nid = \"x\"\nrun = 3\n",
    );
    let d = errors_of(
        dir.path(),
        "name = \"t\"\n[[step]]\nid = \"ship\"\nworkflow = \"bad.toml\"\n",
    );
    let text = d.to_string();
    assert!(text.contains("parent.toml:4:"), "{text}");
    assert!(text.contains("bad.toml:4:"), "{text}");
}

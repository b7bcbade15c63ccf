//! Every example workflow validates, and so does a generated DAG.
use baton::workflow::{Action, load_file, load_str};
use std::path::Path;
use std::process::Command;

#[test]
fn every_example_validates() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut checked = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            if let Err(d) = load_file(&path) {
                panic!("{} does not validate:\n{d}", path.display());
            }
            checked.push(path.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    checked.sort();
    for required in [
        "batch-budget.toml",
        "data-pipeline.toml",
        "flaky.toml",
        "gh-ci.toml",
        "gh-release.toml",
        "airflow-branch.toml",
        "hello.toml",
        "incident.toml",
        "release.toml",
        "services.toml",
        "ship.toml",
        "ship-deploy.toml",
    ] {
        assert!(
            checked.iter().any(|c| c == required),
            "missing example {required}"
        );
    }
}

#[test]
fn release_example_has_the_promised_shape() {
    let plan =
        load_file(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/release.toml")).unwrap();
    let deploy = &plan.steps[plan.step_index("deploy").unwrap()];
    assert!(deploy.gate.is_some() && deploy.compensate.is_some());
    let announce = &plan.steps[plan.step_index("announce").unwrap()];
    assert!(matches!(&announce.action, Action::Tool { tool, .. } if tool == "notify"));
    // The tool's optional CHANNEL was filled from its default.
    assert_eq!(announce.with["CHANNEL"].to_string(), "#releases");
}

#[test]
fn generated_dag_validates_with_expected_layers() {
    let args = ["--layers", "5", "--width", "20", "--builtin", "noop"];
    let out = gen_dag().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let src = String::from_utf8(out.stdout).unwrap();
    let plan = load_str(&src, Path::new("dag.toml")).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(plan.steps.len(), 100);
    assert_eq!(plan.layers.len(), 5);
    assert!(plan.layers.iter().all(|l| l.len() == 20));
    assert!(plan.steps[20..].iter().all(|s| s.needs.len() == 2));
}

/// The example `gen_dag` as `cargo test` built it beside the test binaries
/// (`target/debug/examples/`); else, when only this binary was built, through `cargo
/// run`, which builds it first (a nested build took over a minute of the suite).
fn gen_dag() -> Command {
    let exe = std::env::current_exe().unwrap();
    let built = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("examples/gen_dag"));
    match built.filter(|b| b.is_file()) {
        Some(built) => Command::new(built),
        None => {
            let mut cargo = Command::new(env!("CARGO"));
            cargo
                .args(["run", "--quiet", "--example", "gen_dag", "--"])
                .current_dir(env!("CARGO_MANIFEST_DIR"));
            cargo
        }
    }
}

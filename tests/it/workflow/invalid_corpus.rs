//! Every workflow in tests/fixtures/invalid/ must fail to load; the rendered
//! diagnostics are snapshotted (snapshots/ beside this file) and reviewed by eye.
use baton::workflow::load_file;
use std::path::Path;

#[test]
fn invalid_workflows_report_their_errors() {
    insta::glob!("../../fixtures/invalid", "*.toml", |path| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let relative = path.strip_prefix(root).unwrap_or(path);
        let diags = match load_file(relative) {
            Ok(plan) => panic!(
                "{} loaded as a valid workflow: {}",
                relative.display(),
                plan.name
            ),
            Err(d) => d,
        };
        assert!(!diags.is_empty());
        for d in &diags.0 {
            assert_eq!(d.file, relative);
            assert!(d.hint.is_some(), "every diagnostic has a hint: {d}");
        }
        insta::assert_snapshot!(diags.to_string());
    });
}

#[test]
fn the_corpus_is_large_enough() {
    let n = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/invalid"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert!(n >= 42, "only {n} invalid fixtures");
}

#[test]
fn a_missing_file_is_a_diagnostic() {
    let d = load_file(Path::new("tests/fixtures/does-not-exist.toml")).unwrap_err();
    assert_eq!(
        d.to_string(),
        "tests/fixtures/does-not-exist.toml: error: no such file\n  = hint: check the path; a workflow is a TOML file such as examples/hello.toml"
    );
    let dir = load_file(Path::new("tests/fixtures")).unwrap_err();
    assert!(dir.to_string().contains("is a directory"), "{dir}");
}

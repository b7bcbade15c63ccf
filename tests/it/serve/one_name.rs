//! Issue 76 point 3: one workflow name, one file, in `baton serve` too. A served file
//! naming a workflow the store already runs from another file starts no run when it
//! is due (here triggered): refused as `baton run` refuses it, naming both files.
use super::*;

const NIGHTLY: &str = r#"name = "nightly"

[[schedule]]
cron = "0 2 * * *"

[[step]]
id = "say"
run = "true"
"#;

#[test]
fn a_due_run_of_a_second_file_naming_the_workflow_is_refused_naming_both() {
    let mut s = Served::new();
    let elsewhere = s.env.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let first = elsewhere.join("nightly.toml");
    std::fs::write(&first, NIGHTLY).unwrap();
    let out = s.env.run(&["run", first.to_str().unwrap(), "--headless"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    s.write("nightly.toml", NIGHTLY);
    let (child, log) = s.start(&[]);
    wait_log(&log, "loaded", 30);
    let out = s
        .env
        .run(&["schedule", "trigger", "nightly", "--reason", "now"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = wait_log(&log, "another workflow of the same name", 30);
    assert!(
        said.contains("elsewhere/nightly.toml") && said.contains("workflows/nightly.toml"),
        "{said}"
    );
    term(child);
    let runs = s.env.runs();
    assert_eq!(runs.as_array().map(Vec::len), Some(1), "{runs:#}");
}

//! Issue 78: GitHub's rules the import once broke, on the binary
//! (tests/fixtures/import/github/status-rules.yml says which, each with GitHub's
//! documented behaviour): the implied `success()` of a job reads every job above it,
//! `(!cancelled() && failure())` runs on a failure only, `needs.J.result` and
//! `github.actor` are read in a `run:` body, a matrix of mappings runs GitHub's cells,
//! a flow list closed at its key's column is read.
use crate::helpers::*;
use std::path::Path;

fn read(env: &Env, f: &str) -> String {
    std::fs::read_to_string(env.path().join(f)).unwrap_or_default()
}

#[test]
fn status_rules_needs_results_matrices_of_mappings_and_default_variables_are_githubs() {
    let env = Env::new();
    let src =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/import/github/status-rules.yml");
    let o = env.run(&["import", "github", src.to_str().unwrap(), "-o", "sr.toml"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let report = text(&o.stderr);
    assert!(
        report.contains("status-rules.yml:26: job `c`: GitHub's implied status check: reads every job above it, as GitHub does: it needs `a` too"),
        "{report}"
    );
    assert!(
        report.contains(
            "status-rules.yml:47: a matrix of mappings (or `fromJSON` of a literal), 2 cell(s)"
        ),
        "{report}"
    );

    // Every job succeeds: `c` runs, `on-failure` does not.
    let out = env.run(&["run", "sr.toml", "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let show = env.show(&run_id_of(&text(&out.stdout)));
    assert_eq!(step_state(&show, "on-failure").as_deref(), Some("skipped"));
    assert_eq!(read(&env, "ran.txt"), "b\nc\n");
    assert_eq!(read(&env, "results.txt"), "success success\n");
    let me = std::process::Command::new("id")
        .arg("-un")
        .output()
        .unwrap();
    let me = text(&me.stdout).trim().to_string();
    assert_eq!(
        read(&env, "vars.txt"),
        format!("{me} workflow_dispatch {me}\n")
    );
    // GitHub's two cells, the include adding `archive` to the one it matches.
    let mut cells: Vec<String> = read(&env, "cells.txt").lines().map(String::from).collect();
    cells.sort();
    assert_eq!(
        cells,
        ["aarch64-apple-darwin ", "x86_64-unknown-linux-gnu tar.gz"]
    );
    for s in [
        "release[x86_64-unknown-linux-gnu,ubuntu-latest,tar.gz]",
        "release[aarch64-apple-darwin,macos-latest]",
        "lint[a.py]",
        "lint[b.py]",
    ] {
        assert_eq!(
            step_state(&show, s).as_deref(),
            Some("succeeded"),
            "{s}: {show:#}"
        );
    }

    // `a` fails: `b` (always()) runs, `c` does not (GitHub: skipped; baton:
    // upstream_failed), `on-failure` runs, the results say so, the actor is the param.
    for f in ["ran.txt", "results.txt", "vars.txt"] {
        std::fs::remove_file(env.path().join(f)).unwrap();
    }
    let out = env.run(&[
        "run",
        "sr.toml",
        "--headless",
        "--param",
        "fail_a=yes",
        "--param",
        "github_actor=octocat",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let show = env.show(&run_id_of(&text(&out.stdout)));
    for (s, st) in [
        ("a", "failed"),
        ("b", "succeeded"),
        ("c", "upstream_failed"),
        ("on-failure", "succeeded"),
    ] {
        assert_eq!(step_state(&show, s).as_deref(), Some(st), "{s}: {show:#}");
    }
    // `b` and `on-failure` both wait only on `a`: they run at once, in either order.
    let mut ran: Vec<String> = read(&env, "ran.txt").lines().map(String::from).collect();
    ran.sort();
    assert_eq!(ran, ["b", "on-failure"]);
    assert_eq!(read(&env, "results.txt"), "failure success\n");
    assert_eq!(
        read(&env, "vars.txt"),
        "octocat workflow_dispatch octocat\n"
    );
}

//! Issue 78 point 7: real CI files of well-known projects, nobody here wrote them
//! (tests/fixtures/import/github/, each citing its repository, path and commit on
//! its first line): BurntSushi/ripgrep's CI and release, tokio-rs/tokio's seven
//! workflows, nektos/act's own five. Each imports (exit 0), says at the construct's
//! line what differs from GitHub, and loads (`baton validate`). tokio's loom.yml
//! did not load: `github.event.pull_request.labels.*.name` became a param named with
//! a `*`.
use crate::helpers::*;
use std::path::Path;

const FILES: [&str; 14] = [
    "ripgrep-ci.yml",
    "ripgrep-release.yml",
    "tokio-ci.yml",
    "tokio-loom.yml",
    "tokio-audit.yml",
    "tokio-stress-test.yml",
    "tokio-uring-kernel-version-test.yml",
    "tokio-labeler.yml",
    "tokio-pr-audit.yml",
    "act-checks.yml",
    "act-codespell.yml",
    "act-promote.yml",
    "act-release.yml",
    "act-stale.yml",
];

#[test]
fn real_ci_files_import_say_what_differs_at_its_line_and_load() {
    let env = Env::new();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/import/github");
    let mut reports = vec![];
    for file in FILES {
        let src = dir.join(file);
        assert!(
            std::fs::read_to_string(&src)
                .unwrap()
                .starts_with("# Source: "),
            "{file}"
        );
        let out = env.path().join(format!("{file}.toml"));
        let o = env.run(&[
            "import",
            "github",
            src.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ]);
        let report = text(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "{file}: {report}");
        ok(&env.run(&["validate", out.to_str().unwrap()]));
        for line in report.lines().filter(|l| !l.starts_with("wrote ")) {
            assert!(line.starts_with(&format!("{}:", src.display())), "{line}");
        }
        reports.push(report);
    }
    let all = reports.join("");
    for says in [
        "ripgrep-ci.yml:129: step 3: the action `dtolnay/rust-toolchain@master`: baton cannot run an action",
        "ripgrep-release.yml:43: job output `version: ${{ env.VERSION }}`: left out",
        "tokio-loom.yml:30: `github.event.pull_request.labels.*.name`: read from the param `github_event_pull_request_labels_all_name`",
    ] {
        assert!(all.contains(says), "{says}\n{all}");
    }
}

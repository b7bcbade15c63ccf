//! Issue 76 point 6 on the executors that run a step elsewhere (a Slurm cluster, a batch
//! scheduler; SSH hosts in `ssh_summary.rs`): a job's `$BATON_SUMMARY`, in its
//! attempt's directory on the shared filesystem, is kept at its end as a local step's
//! is (bounded, sanitised, its secrets masked), shown by `show` and `show --json`, and
//! nothing of it stays in the job's directory.
use super::scenarios::Remote;
use crate::helpers::*;

const SECRET: &str = "s3cr3t-in-the-summary-9";

/// One step on `r` writes a summary with a terminal escape and a secret, another one
/// larger than what is kept.
pub(super) fn summary(r: &Remote, env: &Env) {
    let steps = r#"[[step]]
id = "report"
{place}
run = '''printf '# Job report\n\033]0;pwned\007\033[2J| rows | 12 |\ntoken %s\n' "$TOKEN" >> "$BATON_SUMMARY"'''
env = { TOKEN = "${{ params.token }}" }

[[step]]
id = "huge"
{place}
run = '''i=0; while [ $i -lt 9000 ]; do echo "line $i of a long report"; i=$((i+1)); done > "$BATON_SUMMARY"'''
"#;
    let (id, show) = r.run_with_secret(env, "summed", steps, SECRET);
    let report = step_field(&show, "report", "summary");
    let report = report
        .as_str()
        .unwrap_or_else(|| panic!("{}: {show:#}", r.what));
    assert!(
        report.starts_with("# Job report\n"),
        "{}: {report:?}",
        r.what
    );
    assert!(report.contains("| rows | 12 |"), "{report:?}");
    assert!(
        !report.contains('\x1b') && !report.contains('\x07'),
        "{report:?}"
    );
    assert!(
        !report.contains(SECRET) && report.contains("token ***"),
        "{report:?}"
    );
    let huge = step_field(&show, "huge", "summary");
    let huge = huge
        .as_str()
        .unwrap_or_else(|| panic!("{}: {show:#}", r.what));
    assert!(huge.len() <= 64 * 1024 + 200, "{}: {}", r.what, huge.len());
    assert!(huge.ends_with("the rest was not kept]"), "{}", r.what);
    let shown = text(&env.run(&["show", &id]).stdout);
    assert!(
        shown.contains("summary of step report:\n  │ # Job report"),
        "{shown}"
    );
    if let Some(dir) = &r.files {
        wait_until("the attempts' files gone", secs(10), || {
            super::scenarios::walk(dir).is_empty()
        });
    }
    for entry in super::scenarios::walk(env.path()) {
        let bytes = std::fs::read(&entry).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(SECRET),
            "{}: {} holds the secret",
            r.what,
            entry.display()
        );
    }
}

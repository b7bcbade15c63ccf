//! Issue 76 point 3 on the executors that run a step elsewhere (SSH hosts, a Slurm
//! cluster, a batch scheduler): the labels a step writes to `$BATON_LABELS` there come
//! back with its results and are set on its run as a local step's are: each a
//! `run_labelled` event by the step, listed and filtered by `baton runs --label`, in
//! `show --json`; a line not taken and a label holding a secret are said, not set.
use super::scenarios::Remote;
use crate::helpers::*;

const SECRET: &str = "s3cr3t-in-a-label-77";

/// A step on `r` sets two labels, writes a line that is no label, and a label whose
/// value is the run's secret param.
pub(super) fn labels(r: &Remote, env: &Env) {
    let name = format!("tagged-{}", r.what);
    let step = r#"[[step]]
id = "tag"
{place}
run = '''printf 'ticket=OPS-137\nnot a label\ncommit=abc123\nleak=%s\n' "$TOKEN" >> "$BATON_LABELS"'''
env = { TOKEN = "${{ params.token }}" }
"#;
    let (id, show) = r.run_with_secret(env, &name, step, SECRET);
    assert_eq!(show["labels"]["ticket"], "OPS-137", "{}: {show:#}", r.what);
    assert_eq!(show["labels"]["commit"], "abc123", "{}: {show:#}", r.what);
    assert!(show["labels"]["leak"].is_null(), "{}: {show:#}", r.what);
    let rows = env.audit_rows(&id, "labelled");
    assert_eq!(
        rows.len(),
        1,
        "{}: set once, by the step: {rows:#?}",
        r.what
    );
    assert_eq!(rows[0]["step"], "tag", "{}", r.what);
    let listed = text(&env.run(&["runs", "--label", "ticket=OPS-137"]).stdout);
    assert!(listed.contains(&id), "{}: {listed}", r.what);
    // What was not taken is said, as a local step's is.
    let shown = format!(
        "{}{}",
        text(&env.run(&["show", &id]).stdout),
        serde_json::to_string(&show).unwrap()
    );
    assert!(
        shown.contains("$BATON_LABELS line 2"),
        "{}: {shown}",
        r.what
    );
    assert!(
        shown.contains("label `leak` holds a secret"),
        "{}: {shown}",
        r.what
    );
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

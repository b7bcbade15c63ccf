//! Issue 76 point 6 on real SSH hosts (tests/ssh/hosts.sh): what a step on a host
//! writes to `$BATON_SUMMARY` comes back with its results, bounded there (64 KiB and
//! one byte: a cut is known), and is kept as a local step's is: sanitised, its secrets
//! masked, cut with a line saying so, shown by `show` and `show --json`.
use super::ssh::{executor, hosts};
use crate::helpers::*;

#[test]
fn a_summary_written_on_a_host_is_kept_sanitised_masked_and_bounded() {
    let Some(config) = hosts() else { return };
    let env = Env::new().with_own_tmp();
    let wf = env.workflow(
        "w.toml",
        &format!(
            r#"name = "ssh-summed"
[params.token]
secret = true
{}
[[step]]
id = "report"
executor = "box"
run = '''printf '# Deployed on %s\n\033]0;pwned\007\033[2J| svc | ok |\ntoken %s\n' "$(echo $SSH_CONNECTION | cut -d' ' -f3)" "$TOKEN" >> "$BATON_SUMMARY"'''
env = {{ TOKEN = "${{{{ params.token }}}}" }}

[[step]]
id = "huge"
executor = "box"
run = '''i=0; while [ $i -lt 9000 ]; do echo "line $i of a long report"; i=$((i+1)); done > "$BATON_SUMMARY"'''

[[step]]
id = "none"
executor = "box"
run = 'true'
"#,
            executor("box", "baton-h2", &config, &env, "\"gpu\""),
        ),
    );
    let secret = "s3cr3t-on-the-host-41";
    let out = env.run(&[
        "run",
        wf.to_str().unwrap(),
        "--headless",
        "--param",
        &format!("token={secret}"),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let id = run_id_of(&text(&out.stdout));
    let show = env.show(&id);
    let report = step_field(&show, "report", "summary");
    let report = report.as_str().unwrap_or_else(|| panic!("{show:#}"));
    assert!(
        report.starts_with("# Deployed on 127.0.0.2\n"),
        "{report:?}"
    );
    assert!(report.contains("| svc | ok |"), "{report:?}");
    assert!(
        !report.contains('\x1b') && !report.contains('\x07'),
        "{report:?}"
    );
    assert!(
        !report.contains(secret) && report.contains("token ***"),
        "{report:?}"
    );
    let huge = step_field(&show, "huge", "summary");
    let huge = huge.as_str().unwrap_or_else(|| panic!("{show:#}"));
    assert!(huge.len() <= 64 * 1024 + 200, "{}", huge.len());
    assert!(
        huge.starts_with("line 0 of a long report\n"),
        "{}",
        &huge[..40]
    );
    assert!(
        huge.ends_with("the rest was not kept]"),
        "{}",
        &huge[huge.len() - 120..]
    );
    assert!(step_field(&show, "none", "summary").is_null(), "{show:#}");
    let shown = text(&env.run(&["show", &id]).stdout);
    assert!(
        shown.contains("summary of step report:\n  │ # Deployed on 127.0.0.2"),
        "{shown}"
    );
    assert!(
        !shown.contains("pwned") && !shown.contains(secret),
        "{shown}"
    );
    // The host's files go once the engine has the results; nothing here keeps the
    // secret (the kept summary masked it).
    let remote = env.path().join("remote");
    wait_until("the attempts' files gone from the host", secs(10), || {
        super::scenarios::walk(&remote).is_empty()
    });
    for entry in super::scenarios::walk(env.path()) {
        let bytes = std::fs::read(&entry).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(secret),
            "{} holds the secret",
            entry.display()
        );
    }
}

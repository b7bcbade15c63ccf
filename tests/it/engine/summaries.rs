//! Issue 76 point 6 (summaries) through the real binary: what a step writes to
//! `$BATON_SUMMARY` (and an imported GitHub step to `$GITHUB_STEP_SUMMARY`) is kept
//! at its end, sanitised (no terminal escape), secrets masked and bounded (64 KiB, cut
//! with a line saying so), shown by `show` and `show --json`, and handed to a
//! `[[notify]]` command as `$BATON_STEP_SUMMARY`. One written just before the engine is
//! killed -9 (the step's own process ending after) is kept by the takeover.
use crate::helpers::*;

const WF: &str = r#"name = "summed"
[params.token]
secret = true
[[step]]
id = "report"
run = '''printf '# Deployed\n\033]0;pwned\007\033[2J| svc | ok |\ntoken %s\n' "$TOKEN" >> "$BATON_SUMMARY"'''
env = { TOKEN = "${{ params.token }}" }
[[step]]
id = "huge"
run = '''i=0; while [ $i -lt 9000 ]; do echo "line $i of a long report"; i=$((i+1)); done > "$BATON_SUMMARY"; exit 1'''
[[notify]]
on = ["step_failed"]
run = '''cp "$BATON_STEP_SUMMARY" notified.md'''
"#;

#[test]
fn a_step_s_summary_is_kept_sanitised_masked_bounded_shown_and_notified() {
    let env = Env::new();
    let wf = env.workflow("summed.toml", WF);
    let secret = "s3cr3t-value-77";
    let out = env.run(&[
        "run",
        wf.to_str().unwrap(),
        "--headless",
        "--param",
        &format!("token={secret}"),
    ]);
    let id = run_id_of(&text(&out.stdout));
    let show = env.show(&id);
    let report = step_field(&show, "report", "summary");
    let report = report.as_str().unwrap_or_else(|| panic!("{show:#}"));
    assert!(report.starts_with("# Deployed\n"), "{report:?}");
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

    let shown = text(&env.run(&["show", &id]).stdout);
    assert!(
        shown.contains("summary of step report:\n  │ # Deployed"),
        "{shown}"
    );
    assert!(
        !shown.contains("pwned") && !shown.contains(secret),
        "{shown}"
    );

    let notified = wait_until("the notifier to copy the summary", secs(20), || {
        std::fs::read_to_string(env.path().join("notified.md")).map_err(|e| e.to_string())
    });
    assert!(
        notified.starts_with("line 0 of a long report"),
        "{}",
        &notified[..40]
    );
    for entry in walk(env.path()) {
        let bytes = std::fs::read(&entry).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(secret),
            "{} holds the secret",
            entry.display()
        );
    }
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

const CRASH: &str = r#"name = "crashsum"
[[step]]
id = "deploy"
idempotent = false
run = '''touch ready; while [ ! -e go ]; do sleep 0.05; done; printf '## written after the engine died\n' >> "$BATON_SUMMARY"; touch wrote'''
"#;

#[test]
fn a_summary_written_after_the_engine_is_killed_is_kept_by_the_takeover() {
    let env = Env::new();
    let wf = env.workflow("crashsum.toml", CRASH);
    let mut engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    wait_until("the step to run, its process on record", secs(20), || {
        env.path().join("ready").exists() && process_recorded(&env)
    });
    let _ = engine.kill(); // SIGKILL: the step lives on, its engine gone
    let _ = engine.wait();
    std::fs::write(env.path().join("go"), "").unwrap();
    wait_until("the step to write its summary and end", secs(20), || {
        env.path().join("wrote").exists()
    });
    let resumed = env.spawn(&["resume", &id, "--headless"]);
    let show = wait_until("the takeover to keep the summary", secs(30), || {
        let show = env.show(&id);
        match step_field(&show, "deploy", "summary").as_str() {
            Some(_) => Ok(show),
            None => Err(format!("{show:#}")),
        }
    });
    assert_eq!(
        step_field(&show, "deploy", "summary"),
        "## written after the engine died"
    );
    // The step is not idempotent: the run waits for a person (`mark`), not ended here.
    let mut resumed = resumed;
    let _ = resumed.kill();
    let _ = resumed.wait();
}

/// Whether the attempt's process is on record (its `$BATON_OUTPUT` with it).
fn process_recorded(env: &Env) -> bool {
    let Ok(c) = rusqlite::Connection::open(env.db()) else {
        return false;
    };
    c.query_row(
        "SELECT count(*) FROM events WHERE json LIKE '%step_process%'",
        [],
        |r| r.get::<_, i64>(0),
    )
    .is_ok_and(|n| n > 0)
}

const GITHUB: &str = r#"on: push
jobs:
  sum:
    runs-on: ubuntu-latest
    steps:
      - run: echo '### first step' >> "$GITHUB_STEP_SUMMARY"
      - run: echo "- second step ok" >> "$GITHUB_STEP_SUMMARY"
"#;

#[test]
fn an_imported_github_step_s_step_summary_is_its_summary() {
    let env = Env::new();
    std::fs::write(env.path().join("sum.yml"), GITHUB).unwrap();
    let o = env.run(&["import", "github", "sum.yml", "-o", "sum.toml"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = env.run(&["run", "sum.toml", "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let id = run_id_of(&text(&out.stdout));
    let show = env.show(&id);
    assert_eq!(
        step_field(&show, "sum", "summary"),
        "### first step\n- second step ok",
        "{show:#}"
    );
}

//! Issue 76 point 4 through the real binary: `baton note RUN [STEP] TEXT` puts a note
//! on record under the OS account with its time (a row of the audit chain), checked as
//! a decision's reason is (empty and over-long refused, nothing recorded), shown by
//! `show` (sanitised) and `show --json`; a note written while an engine drives the run
//! survives that engine's kill -9, and the chain still verifies.
use crate::helpers::*;

const WF: &str = r#"name = "noted"
[[step]]
id = "build"
run = "touch started; sleep 1000"
"#;

fn me() -> String {
    text(
        &std::process::Command::new("id")
            .arg("-un")
            .output()
            .unwrap()
            .stdout,
    )
    .trim()
    .to_string()
}

#[test]
fn a_note_is_on_record_as_the_os_account_checked_as_a_reason_and_survives_a_kill_9() {
    let env = Env::new();
    let wf = env.workflow("noted.toml", WF);
    let (mut engine, id) = env.spawn_until(&wf, "build", "running");

    // Written while the engine drives the run: by this process, on the chain.
    let out = env.run(&["note", &id, "looked at: \x1b]0;pwned\x07the runner is slow"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(&format!("as {}", me())),
        "{}",
        text(&out.stdout)
    );
    let out = env.run(&["note", &id, "build", "rolled back by hand\nticket OPS-42"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let _ = engine.kill(); // SIGKILL: the notes are the note processes' own commits
    let _ = engine.wait();

    // Refused as a reason is, nothing recorded.
    for (args, says) in [
        (vec!["note", id.as_str(), "  "], "the note is empty"),
        (
            vec!["note", id.as_str(), "nosuch", "x"],
            "has no step `nosuch`",
        ),
    ] {
        let out = env.run(&args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stdout)
        );
        assert!(text(&out.stderr).contains(says), "{}", text(&out.stderr));
    }
    let long = "x".repeat(65_536);
    let out = env.run(&["note", &id, &long]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("at most 65535 characters"),
        "{}",
        text(&out.stderr)
    );

    let show = env.show(&id);
    let notes = show["notes"].as_array().expect("notes in show --json");
    assert_eq!(notes.len(), 2, "{show:#}");
    assert_eq!(notes[0]["by"], me().as_str());
    assert!(notes[0]["step"].is_null(), "{:#}", notes[0]);
    assert!(notes[0]["at"].as_str().is_some_and(|t| t.starts_with("20")));
    assert_eq!(notes[1]["step"], "build");
    assert_eq!(notes[1]["text"], "rolled back by hand\nticket OPS-42");
    assert_eq!(env.audit_rows(&id, "note").len(), 2);

    let shown = text(&env.run(&["show", &id]).stdout);
    assert!(
        !shown.contains('\x1b') && !shown.contains('\x07'),
        "{shown:?}"
    );
    assert!(shown.contains("the runner is slow"), "{shown}");
    assert!(
        shown.contains("build  rolled back by hand ⏎ ticket OPS-42"),
        "{shown}"
    );
    let verify = env.run(&["audit", "verify"]);
    assert_eq!(
        verify.status.code(),
        Some(0),
        "{}{}",
        text(&verify.stdout),
        text(&verify.stderr)
    );
}

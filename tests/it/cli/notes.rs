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

const GATED: &str = "name = \"gated\"\n[[step]]\nid = \"deploy\"\nrun = \"true\"\ngate = { prompt = \"ship it?\" }\n";

/// `baton inbox --all-stores` marks a run someone wrote a note on as one store's inbox
/// does: `✎` before its workflow, `notes` in `--json`; a run with none is unmarked.
#[test]
fn inbox_all_stores_marks_noted_runs_as_one_store_s_inbox_does() {
    let env = Env::new();
    let wf = env.workflow("gated.toml", GATED);
    let (mut a, noted) = env.spawn_until(&wf, "deploy", "waiting_approval");
    let mut b = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let gates = || -> Vec<String> {
        let out = env.run(&["inbox", "--json"]);
        let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap_or_default();
        (rows.iter())
            .filter_map(|r| r["run_id"].as_str().map(String::from))
            .collect()
    };
    wait_until("both runs at their gate", secs(30), || gates().len() == 2);
    let plain = (gates().into_iter())
        .find(|r| !r.eq_ignore_ascii_case(&noted))
        .unwrap();
    let out = env.run(&["note", &noted, "looked at: waiting on the change board"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    env.config(&format!(
        "[[store]]\nname = \"here\"\ndb = \"{}\"\n",
        env.db().display()
    ));
    let rows_of = |args: &[&str]| -> Vec<serde_json::Value> {
        let out = env.run(args);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("inbox --json")
    };
    for args in [
        &["inbox", "--json"][..],
        &["inbox", "--all-stores", "--json"],
    ] {
        let rows = rows_of(args);
        let notes = |id: &str| {
            rows.iter()
                .find(|r| {
                    r["run_id"]
                        .as_str()
                        .is_some_and(|r| r.eq_ignore_ascii_case(id))
                })
                .map(|r| r["notes"].clone())
        };
        assert_eq!(
            notes(&noted),
            Some(serde_json::json!(1)),
            "{args:?}: {rows:#?}"
        );
        assert_eq!(
            notes(&plain),
            Some(serde_json::Value::Null),
            "{args:?}: {rows:#?}"
        );
    }
    // The table's rows (two runs may share the first characters of their ids): one
    // marked, one not.
    for args in [&["inbox"][..], &["inbox", "--all-stores"]] {
        let t = text(&env.run(args).stdout);
        let rows: Vec<&str> = (t.lines())
            .filter(|l| l.contains(" deploy ") && l.contains("ship it?"))
            .collect();
        let marked = rows.iter().filter(|l| l.contains("✎ gated")).count();
        assert_eq!((rows.len(), marked), (2, 1), "{args:?}: {t}");
    }
    for child in [&mut a, &mut b] {
        let _ = child.kill();
        let _ = child.wait();
    }
}

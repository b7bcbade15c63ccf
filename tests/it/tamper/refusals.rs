//! Issue 56 point 4, through the real binary: every refusal on record names what it
//! refused. A member's forged trigger and forged pause were one line each in `baton
//! audit` (`command_refused  schedules  no decision on the audit chain asked for it`),
//! alike; a forged command row read `command_refused (unproven)` without its command.
//! Each now reads with the decision it refused and its subject, as text and as JSON.
use super::group_members::{ALICE, BOB, Members, all, sql_text};
use super::group_schedules::{serve, served, stop};
use crate::helpers::*;
use serde_json::{Value, json};

/// The `command_refused` rows of `baton audit … --json`'s output.
fn refusals(out: &std::process::Output) -> Vec<Value> {
    assert!(out.status.success(), "audit: {}", all(out));
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    rows.into_iter()
        .filter(|r| r["action"] == "command_refused")
        .collect()
}

/// The `command_refused` rows once there are at least two, `audit` giving the output
/// of `baton audit … --json`.
fn two_refusals(what: &str, audit: impl Fn() -> std::process::Output) -> Vec<Value> {
    wait_until(what, secs(30), || {
        let rows = refusals(&audit());
        if rows.len() >= 2 {
            Ok(rows)
        } else {
            Err(format!("{rows:#?}"))
        }
    })
}

/// The line of `baton audit`'s table that holds `what`.
fn line_with<'t>(table: &'t str, what: &str) -> &'t str {
    table
        .lines()
        .find(|l| l.contains(what))
        .unwrap_or_else(|| panic!("no line with {what:?}:\n{table}"))
}

#[test]
fn a_forged_trigger_and_a_forged_pause_read_apart_in_the_audit() {
    let Some(m) = Members::new() else {
        return;
    };
    // Once a year: nothing fires while the test runs.
    let (flows, file) = served(
        &m,
        "nightly.toml",
        "name = \"nightly\"\n\n[[schedule]]\ncron = \"0 3 1 1 *\"\n\n[[step]]\nid = \"say\"\nrun = \"true\"\n",
    );
    let file = sql_text(&file);
    let serve = serve(&m, &flows);
    wait_until("the serve to serve nightly", secs(30), || {
        let out = m.baton(ALICE, &["schedules", "--json"]);
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        v.as_array().is_some_and(|a| a.len() == 1)
    });

    // Bob, with plain SQL, in alice's name: a trigger, then a pause.
    m.sql(
        BOB,
        &format!(
            "INSERT INTO schedule_slots (file, idx, slot_at, fate, params, requested_by, recorded_at)
             VALUES ({file}, 0, 1000, 'requested', '[]', 'gmalice', 1000);"
        ),
    );
    m.sql(
        BOB,
        &format!(
            "UPDATE schedules SET paused = 1, paused_by = 'gmalice', paused_reason = 'x', paused_at = 1000 WHERE file = {file};"
        ),
    );
    let rows = two_refusals("both forgeries refused on record", || {
        m.baton(ALICE, &["audit", "--json"])
    });
    let by = |decision: &str| {
        rows.iter()
            .find(|r| r["refused"]["decision"] == decision)
            .unwrap_or_else(|| panic!("no refused {decision}: {rows:#?}"))
    };
    let (trigger, pause) = (by("trigger"), by("pause"));
    assert_eq!(
        trigger["refused"],
        json!({
            "code": "unproven",
            "decision": "trigger",
            "subject": "nightly",
            "message": trigger["reason"],
        }),
        "{trigger:#}"
    );
    assert_eq!(
        (&pause["refused"]["code"], &pause["refused"]["subject"]),
        (&json!("unproven"), &json!("nightly#1")),
        "{pause:#}"
    );
    for r in [trigger, pause] {
        assert_eq!(r["actor"], ALICE, "refused by alice's serve: {r:#}");
        assert!(
            r["reason"]
                .as_str()
                .unwrap()
                .contains("no decision on the audit chain"),
            "{r:#}"
        );
    }
    assert_eq!(trigger["details"]["workflow"], "nightly", "{trigger:#}");
    assert_eq!(pause["details"]["schedule"], "nightly#1", "{pause:#}");

    // The table says the same: the decision beside the action, the schedule as subject.
    for args in [&["audit"][..], &["audit", "schedules"][..]] {
        let out = m.baton(ALICE, args);
        assert!(out.status.success(), "{args:?}: {}", all(&out));
        let table = text(&out.stdout);
        let t = line_with(&table, "command_refused trigger (unproven)");
        assert!(t.contains(" nightly ") && !t.contains("nightly#"), "{t}");
        let p = line_with(&table, "command_refused pause (unproven)");
        assert!(p.contains(" nightly#1 "), "{p}");
    }
    stop(serve);
}

/// A command row written into the database by hand, in another account's name: its
/// refusal names the command and the run and step it was for.
#[test]
fn a_forged_command_reads_with_its_command_run_and_step() {
    let env = Env::new();
    env.share_with_nobody();
    let wf = env.workflow(
        "w.toml",
        "name = \"ship\"\n[[step]]\nid = \"deploy\"\nrun = \"touch deployed\"\ngate = { prompt = \"Ship?\", approvers = [\"nobody\"] }\n",
    );
    let (mut engine, id) = env.spawn_until(&wf, "deploy", "waiting_approval");
    let db = rusqlite::Connection::open(env.db()).unwrap();
    for json in [
        r#"{"cmd":"approve","step":"deploy","operator":"nobody","reason":"lgtm"}"#,
        r#"{"cmd":"cancel","operator":"nobody","reason":"stop"}"#,
    ] {
        db.execute(
            "INSERT INTO commands (run_id, json, submitted_at) VALUES (?1, ?2, 0)",
            rusqlite::params![id, json],
        )
        .unwrap();
    }
    let rows = two_refusals("the forged commands refused on record", || {
        env.run(&["audit", &id, "--json"])
    });
    let approve = &rows[0]["refused"];
    assert_eq!(
        (&approve["code"], &approve["decision"], &approve["subject"]),
        (
            &json!("unproven"),
            &json!("approve"),
            &json!(format!("run {id} step deploy"))
        ),
        "{rows:#?}"
    );
    let cancel = &rows[1]["refused"];
    assert_eq!(
        (&cancel["decision"], &cancel["subject"]),
        (&json!("cancel"), &json!(format!("run {id}"))),
        "{rows:#?}"
    );
    let table = text(&env.run(&["audit", &id]).stdout);
    let a = line_with(&table, "command_refused approve (unproven)");
    assert!(a.contains(" deploy "), "{a}");
    line_with(&table, "command_refused cancel (unproven)");
    assert_eq!(
        step_state(&env.show(&id), "deploy").as_deref(),
        Some("waiting_approval"),
        "nothing forged was applied"
    );
    assert!(!env.path().join("deployed").exists());
    engine.kill().unwrap();
    let _ = engine.wait();
}

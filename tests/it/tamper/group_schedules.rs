//! Issue 41 point 2, in a group store through the real binary: a member (`gmbob`) with
//! plain SQL against the serve of another (`gmalice`). A pause or a resume the audit
//! chain does not hold with its account's proof is refused on record and changes
//! nothing; a backfill row without one starts nothing; slot rows deleted from the
//! store are not fired again (the serve's cursor is kept where no member can write),
//! across a `kill -9` of the serve.
use super::group_members::{ALICE, BOB, Members, all, gid, sql_text, uid};
use crate::helpers::*;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Child;
use std::time::Duration;

/// Every other second, with a step that ends at once.
const TICK: &str = "name = \"tick\"\n\n[[schedule]]\ncron = \"*/2 * * * * *\"\n\n[[step]]\nid = \"say\"\nrun = \"true\"\n";

/// Alice's served directory with `tick.toml`; the file's canonical path.
fn flows(m: &Members) -> (PathBuf, String) {
    served(m, "tick.toml", TICK)
}

/// Alice's served directory with the workflow `name` (`text`); its canonical path.
pub(super) fn served(m: &Members, name: &str, text: &str) -> (PathBuf, String) {
    let flows = m.home(ALICE).join("flows");
    std::fs::create_dir(&flows).unwrap();
    nix::unistd::chown(&flows, Some(uid(ALICE)), Some(gid())).unwrap();
    std::fs::set_permissions(&flows, std::fs::Permissions::from_mode(0o755)).unwrap();
    let wf = m.write(ALICE, &format!("flows/{name}"), text);
    std::fs::set_permissions(&wf, std::fs::Permissions::from_mode(0o644)).unwrap();
    let file = std::fs::canonicalize(&wf).unwrap();
    (flows, file.to_string_lossy().into_owned())
}

pub(super) fn serve(m: &Members, flows: &std::path::Path) -> Child {
    m.spawn(ALICE, &["serve", "--workflows", flows.to_str().unwrap()])
}

fn read(m: &Members) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(m.db(), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap()
}

/// The slots of schedule #1 that made a run, and those recorded with `fate`, after `at`.
fn slots_after(m: &Members, at: i64, fate: Option<&str>) -> Vec<i64> {
    let c = read(m);
    let (sql, p): (&str, Vec<rusqlite::types::Value>) = match fate {
        None => (
            "SELECT slot_at FROM schedule_slots WHERE idx = 1 AND slot_at > ?1 AND run_id IS NOT NULL ORDER BY slot_at",
            vec![at.into()],
        ),
        Some(f) => (
            "SELECT slot_at FROM schedule_slots WHERE idx = 1 AND slot_at > ?1 AND fate = ?2 ORDER BY slot_at",
            vec![at.into(), f.to_string().into()],
        ),
    };
    let mut st = c.prepare(sql).unwrap();
    st.query_map(rusqlite::params_from_iter(p), |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The store's audit rows (`baton audit --json` as alice).
fn store_audit(m: &Members) -> Vec<serde_json::Value> {
    let out = m.baton(ALICE, &["audit", "--json"]);
    assert!(out.status.success(), "audit: {}", all(&out));
    serde_json::from_slice::<serde_json::Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// A refusal on record by alice's serve whose summary contains `what`.
fn refused(m: &Members, what: &str) -> Result<serde_json::Value, String> {
    let rows = store_audit(m);
    rows.iter()
        .find(|r| {
            r["action"] == "command_refused" && r["actor"] == ALICE && r.to_string().contains(what)
        })
        .cloned()
        .ok_or_else(|| format!("no refusal with {what:?}: {rows:#?}"))
}

pub(super) fn stop(serve: Child) {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(serve.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let _ = wait_child(serve, 60);
}

#[test]
fn a_members_forged_pause_or_resume_is_refused_on_record_and_changes_nothing() {
    let Some(m) = Members::new() else {
        return;
    };
    let (flows, file) = flows(&m);
    let serve = serve(&m, &flows);
    let secs = Duration::from_secs;
    wait_until("a first slot to run", secs(60), || {
        !slots_after(&m, 0, None).is_empty()
    });

    // Bob pauses alice's schedule in her name with plain SQL.
    let forged = now_ms();
    m.sql(
        BOB,
        &format!(
            "UPDATE schedules SET paused = 1, paused_by = 'gmalice', paused_reason = 'maintenance', paused_at = {forged} WHERE file = {};",
            sql_text(&file)
        ),
    );
    let refusal = poll(secs(30), || refused(&m, "pause").ok()).expect("the forged pause refused");
    assert!(
        refusal
            .to_string()
            .contains("no decision on the audit chain"),
        "{refusal:#}"
    );
    wait_until("slots to run after the forged pause", secs(60), || {
        slots_after(&m, forged + 1000, None).len() >= 2
    });
    assert!(
        slots_after(&m, forged, Some("paused")).is_empty(),
        "no slot was skipped for the forged pause"
    );
    let listed = m.baton(ALICE, &["schedules"]);
    let listed = all(&listed);
    assert!(
        listed.contains("unproven") && listed.contains("gmalice"),
        "`baton schedules` says the pause is not alice's decision: {listed}"
    );

    // Alice's own pause holds; bob's forged resume (the row cleared) changes nothing.
    let out = m.baton(ALICE, &["schedule", "pause", "tick", "--reason", "hold on"]);
    assert!(out.status.success(), "pause: {}", all(&out));
    let paused_at = now_ms();
    wait_until("slots recorded paused", secs(60), || {
        !slots_after(&m, paused_at, Some("paused")).is_empty()
    });
    let forged_resume = now_ms();
    m.sql(
        BOB,
        &format!(
            "UPDATE schedules SET paused = 0, paused_by = NULL, paused_reason = NULL, paused_at = NULL WHERE file = {};",
            sql_text(&file)
        ),
    );
    poll(secs(30), || refused(&m, "resume").ok()).expect("the forged resume refused");
    wait_until(
        "slots still paused after the forged resume",
        secs(60),
        || slots_after(&m, forged_resume + 1000, Some("paused")).len() >= 2,
    );
    assert!(
        slots_after(&m, paused_at + 2000, None).is_empty(),
        "no slot ran while alice's pause holds"
    );

    // Bob's own resume, proved as his, holds.
    let out = m.baton(BOB, &["schedule", "resume", "tick", "--reason", "go"]);
    assert!(out.status.success(), "resume: {}", all(&out));
    let resumed = now_ms();
    wait_until("slots to run after bob's resume", secs(60), || {
        !slots_after(&m, resumed, None).is_empty()
    });
    let verify = m.baton(ALICE, &["audit", "verify"]);
    assert!(verify.status.success(), "verify: {}", all(&verify));
    // `baton audit schedules` lists the schedules' decisions and the refusals alone.
    let out = m.baton(ALICE, &["audit", "schedules", "--json"]);
    assert!(out.status.success(), "audit schedules: {}", all(&out));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let has = |action: &str, actor: &str| {
        rows.iter()
            .any(|r| r["action"] == action && r["actor"] == actor)
    };
    assert!(
        has("schedule_paused", ALICE) && has("schedule_resumed", BOB),
        "{rows:#?}"
    );
    assert!(has("command_refused", ALICE), "{rows:#?}");
    assert!(rows.iter().all(|r| r["run_id"] == "schedules"), "{rows:#?}");
    let out = m.baton(ALICE, &["audit", "schedules"]);
    let listed = all(&out);
    assert!(
        out.status.success()
            && listed.contains("schedule_paused")
            && listed.contains("command_refused"),
        "{listed}"
    );
    stop(serve);
}

#[test]
fn deleted_slot_rows_are_not_fired_again_and_a_forged_backfill_starts_nothing() {
    let Some(m) = Members::new() else {
        return;
    };
    let (flows, file) = flows(&m);
    let serve = serve(&m, &flows);
    wait_until("three slots to run", Duration::from_secs(60), || {
        slots_after(&m, 0, None).len() >= 3
    });
    let mut ran = slots_after(&m, 0, None);
    let first = ran[0];
    deleted_slot_rows_are_not_fired_again(&m, &ran);
    let serve = the_serve_killed_and_restarted_keeps_its_cursor(&m, &flows, serve, &mut ran);
    // A slot before the serve ran.
    let past = (first / 2000 - 100) * 2000;
    a_backfill_row_bob_writes_in_alices_name_starts_nothing(&m, &file, past);
    alices_own_backfill_of_the_slot_runs_it(&m, past);
    stop(serve);
}

/// Bob deletes every slot row of the schedule: the serve does not fire them again,
/// and says so on record.
fn deleted_slot_rows_are_not_fired_again(m: &Members, ran: &[i64]) {
    let secs = Duration::from_secs;
    m.sql(BOB, "DELETE FROM schedule_slots WHERE idx = 1;");
    let deleted = now_ms();
    let missing = poll(secs(30), || refused(m, "missing").ok()).expect("the deletion on record");
    // It names what it refused and the schedule (issue 56 point 4).
    assert_eq!(
        (
            &missing["refused"]["decision"],
            &missing["refused"]["subject"]
        ),
        (&serde_json::json!("fire"), &serde_json::json!("tick#1")),
        "{missing:#}"
    );
    wait_until("slots to run after the deletion", secs(60), || {
        slots_after(m, deleted + 1000, None).len() >= 2
    });
    let again: Vec<i64> = slots_after(m, 0, None)
        .into_iter()
        .filter(|s| ran.contains(s))
        .collect();
    assert!(again.is_empty(), "slots fired again: {again:?}");
}

/// The same across a kill -9: the restarted serve keeps its cursor. Returns it.
fn the_serve_killed_and_restarted_keeps_its_cursor(
    m: &Members,
    flows: &std::path::Path,
    mut serve: Child,
    ran: &mut Vec<i64>,
) -> Child {
    ran.extend(slots_after(m, 0, None));
    serve.kill().unwrap();
    let _ = serve.wait();
    m.sql(BOB, "DELETE FROM schedule_slots WHERE idx = 1;");
    let restarted = now_ms();
    let serve = self::serve(m, flows);
    wait_until(
        "slots to run after the restart",
        Duration::from_secs(60),
        || slots_after(m, restarted + 1000, None).len() >= 2,
    );
    let again: Vec<i64> = slots_after(m, 0, None)
        .into_iter()
        .filter(|s| ran.contains(s))
        .collect();
    assert!(
        again.is_empty(),
        "slots fired again after a restart: {again:?}"
    );
    serve
}

/// The fate of the slot at `at` and the run it started.
fn backfill_fate(m: &Members, at: i64) -> Option<(String, Option<String>)> {
    read(m)
        .query_row(
            "SELECT fate, run_id FROM schedule_slots WHERE idx = 1 AND slot_at = ?1",
            [at],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .ok()
}

/// A backfill row bob writes in alice's name: refused on record, no run.
fn a_backfill_row_bob_writes_in_alices_name_starts_nothing(m: &Members, file: &str, past: i64) {
    m.sql(
        BOB,
        &format!(
            "INSERT INTO schedule_slots (file, idx, slot_at, fate, requested_by, recorded_at)
             VALUES ({}, 1, {past}, 'requested', 'gmalice', {past});",
            sql_text(file)
        ),
    );
    let fate = || backfill_fate(m, past);
    wait_until(
        "the forged backfill refused",
        Duration::from_secs(30),
        || {
            fate()
                .filter(|(f, _)| f == "refused")
                .map(|_| ())
                .ok_or(format!("{:?}", fate()))
        },
    );
    assert_eq!(fate().unwrap().1, None, "the forged backfill made no run");
    let backfill = refused(m, "backfill").unwrap();
    assert_eq!(
        (
            &backfill["refused"]["decision"],
            &backfill["refused"]["subject"]
        ),
        (&serde_json::json!("backfill"), &serde_json::json!("tick#1")),
        "{backfill:#}"
    );
}

/// Alice's own backfill of that slot runs it.
fn alices_own_backfill_of_the_slot_runs_it(m: &Members, past: i64) {
    let rfc = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .unwrap()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    let (from, to) = (rfc(past), rfc(past + 1000));
    let out = m.baton(
        ALICE,
        &[
            "schedule", "backfill", "tick", "--from", &from, "--to", &to, "--reason", "redo",
        ],
    );
    assert!(out.status.success(), "backfill: {}", all(&out));
    let fate = || backfill_fate(m, past);
    wait_until("alice's backfill to run", Duration::from_secs(60), || {
        fate()
            .and_then(|(_, run)| run)
            .map(|_| ())
            .ok_or(format!("{:?}", fate()))
    });
}

/// Alice's serve is killed with -9 and loses its record (its state file removed): bob
/// clears her paused row with plain SQL meanwhile. Her next serve holds the pause (the
/// audit chain's pause; a lost file lifts nothing), refuses the cleared row on record,
/// and `baton schedules` says paused; her proved resume lifts it.
#[test]
fn a_members_cleared_row_does_not_lift_a_pause_for_a_serve_that_lost_its_record() {
    let Some(m) = Members::new() else {
        return;
    };
    let (flows, file) = flows(&m);
    let mut serve = serve(&m, &flows);
    let secs = Duration::from_secs;
    wait_until("a first slot to run", secs(60), || {
        !slots_after(&m, 0, None).is_empty()
    });
    let out = m.baton(ALICE, &["schedule", "pause", "tick", "--reason", "hold on"]);
    assert!(out.status.success(), "pause: {}", all(&out));
    let paused_at = now_ms();
    wait_until("slots recorded paused", secs(60), || {
        !slots_after(&m, paused_at, Some("paused")).is_empty()
    });
    serve.kill().unwrap();
    let _ = serve.wait();
    m.sql(
        BOB,
        &format!(
            "UPDATE schedules SET paused = 0, paused_by = NULL, paused_reason = NULL, paused_at = NULL WHERE file = {};",
            sql_text(&file)
        ),
    );
    let record = m.home(ALICE).join("state").join("baton").join("serve");
    assert!(record.is_dir(), "{}", record.display());
    std::fs::remove_dir_all(&record).unwrap();

    let serve = self::serve(&m, &flows);
    let restarted = now_ms();
    wait_until("two slots decided after the restart", secs(60), || {
        slots_after(&m, restarted, Some("paused")).len() >= 2
    });
    let ran = slots_after(&m, paused_at + 1000, None);
    assert!(ran.is_empty(), "slots ran while paused: {ran:?}");
    poll(secs(30), || refused(&m, "resume").ok()).expect("the cleared row refused");
    let listed = m.baton(ALICE, &["schedules"]);
    let listed = all(&listed);
    assert!(
        listed.contains("paused by gmalice") && listed.contains("cleared without a decision"),
        "{listed}"
    );
    let out = m.baton(ALICE, &["schedule", "resume", "tick", "--reason", "go"]);
    assert!(out.status.success(), "resume: {}", all(&out));
    let resumed = now_ms();
    wait_until("slots to run after the resume", secs(60), || {
        !slots_after(&m, resumed, None).is_empty()
    });
    stop(serve);
}

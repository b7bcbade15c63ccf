use super::*;
use baton_model::RunState;
use baton_store::NewRun;
use baton_store::schedules::{AUDIT_SUBJECT, Served};
use std::path::PathBuf;

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(&dir.path().join("b.db")).unwrap();
    (dir, s)
}

fn serve(s: &mut Store, file: &str, n: u32) {
    let served: Vec<Served<'_>> = (1..=n)
        .map(|index| Served {
            file,
            index,
            workflow: "nightly",
            cron: "0 2 * * *",
            timezone: "UTC",
            catch_up: "none",
            overlap: "skip",
        })
        .collect();
    s.serve_schedules(file, &served, Timestamp(5)).unwrap();
    s.record_load(file, Some("nightly"), None, Timestamp(5))
        .unwrap();
}

fn new_run(id: &str) -> NewRun {
    NewRun {
        id: id.into(),
        workflow: "nightly".into(),
        source_path: PathBuf::from("/w/a.toml"),
        source_text: "name = \"nightly\"\n".into(),
        params_json: "{}".into(),
        operator: "alice".into(),
        started_at: Timestamp(1_000),
        parent: None,
        steps: vec!["a".into()],
    }
}

/// 2026-01-01T00:00:00Z.
const NEW_YEAR: i64 = 1_767_225_600_000;

/// The last run is the latest slot that made one, read through its lease; a paused
/// slot after it makes no run and hides nothing.
#[test]
fn the_last_run_is_the_latest_slot_with_a_run_read_through_its_lease() {
    let (_d, mut s) = store();
    serve(&mut s, "/w/a.toml", 1);
    s.create_run(&new_run("01run")).unwrap();
    s.record_slots(&[("/w/a.toml", 1, Timestamp(NEW_YEAR), "started")])
        .unwrap();
    s.slots_started(&[(
        "/w/a.toml",
        1,
        Timestamp(NEW_YEAR),
        "started",
        Some("01run"),
    )])
    .unwrap();
    s.record_slots(&[("/w/a.toml", 1, Timestamp(NEW_YEAR + 86_400_000), "paused")])
        .unwrap();
    let b = board(&s, Timestamp(NEW_YEAR + 86_400_000)).unwrap();
    let l = &b.rows[0];
    assert_eq!(l.name, "nightly#1");
    assert_eq!(l.row.last.as_ref().unwrap().fate, "paused");
    let last = l.row.last_run.as_ref().unwrap();
    assert_eq!(
        (last.run_id.as_str(), last.slot_at),
        ("01run", Timestamp(NEW_YEAR))
    );
    // No engine holds its lease: an unfinished run reads interrupted, as in `runs`.
    assert_eq!(last.state, RunState::Interrupted);
    s.acquire_lease(
        "01run",
        &crate::host::lease_holder(),
        Timestamp::now(),
        crate::host::LEASE_STALE,
    )
    .unwrap();
    let b = board(&s, Timestamp(NEW_YEAR)).unwrap();
    assert_eq!(
        b.rows[0].row.last_run.as_ref().unwrap().state,
        RunState::Pending
    );
}

/// The columns `baton schedules` and the console show, from one function: the next
/// slot on the clock and relative while the schedule serves; once paused, no NEXT time
/// (a pause holds every slot, issue 58 point 4) and who paused it. The JSON keeps the
/// slot the schedule would fire at, for a script that resumes it.
#[test]
fn the_cells_say_the_next_slot_on_the_clock_and_relative_and_who_paused() {
    let (_d, mut s) = store();
    serve(&mut s, "/w/a.toml", 1);
    let now = Timestamp(NEW_YEAR + 3_600_000); // 01:00 UTC
    let utc = chrono::FixedOffset::east_opt(0).unwrap();
    let serving = board(&s, now).unwrap();
    assert_eq!(
        serving.rows[0].cells(now, utc),
        [
            "nightly#1".to_string(),
            "0 2 * * * UTC".into(),
            "02:00:00 (in 1h00m)".into(),
            "-".into(),
            "no".into(),
        ]
    );
    s.set_paused(
        &[("/w/a.toml".into(), 1, "nightly".into())],
        true,
        "alice",
        "db maintenance",
    )
    .unwrap();
    let b = board(&s, now).unwrap();
    assert_eq!(
        b.rows[0].cells(now, utc),
        [
            "nightly#1".to_string(),
            "0 2 * * * UTC".into(),
            "- (paused)".into(),
            "-".into(),
            "paused by alice: db maintenance".into(),
        ]
    );
    let json = b.rows[0].json();
    assert_eq!(json["paused"]["by"], "alice");
    assert_eq!(json["next"], "2026-01-01T02:00:00.000Z");
    assert!(json["error"].is_null());
}

/// A file that no longer loads marks its schedules (its previous version serves); one
/// that serves none is listed on its own.
#[test]
fn a_load_error_goes_to_its_files_schedules_or_stands_alone() {
    let (_d, mut s) = store();
    serve(&mut s, "/w/a.toml", 2);
    let e = "/w/a.toml:3:8: error: `cron` of schedule #1: bad";
    s.record_load("/w/a.toml", None, Some(e), Timestamp(9))
        .unwrap();
    s.record_load(
        "/w/b.toml",
        None,
        Some("/w/b.toml:1:1: error: x"),
        Timestamp(9),
    )
    .unwrap();
    let b = board(&s, Timestamp(NEW_YEAR)).unwrap();
    assert_eq!(b.rows.len(), 2);
    assert!(b.rows.iter().all(|l| l.error.as_deref() == Some(e)));
    assert_eq!(
        b.broken,
        vec![(
            "/w/b.toml".to_string(),
            "/w/b.toml:1:1: error: x".to_string()
        )]
    );
    assert_eq!(b.rows[0].json()["error"], e);
}

/// The console's decisions go the CLI's way: a reason is required, the schedule must
/// exist, and each is on the audit chain under the actor given.
#[test]
fn decisions_need_a_reason_and_go_on_the_audit_chain() {
    let (_d, mut s) = store();
    serve(&mut s, "/w/a.toml", 2);
    let empty = decide(&mut s, Act::Pause, "nightly#1", "alice", "  ").unwrap_err();
    assert!(empty.to_string().contains("reason is empty"), "{empty}");
    let long = "r".repeat(baton_model::bounds::MAX_OPERATOR_TEXT + 1);
    let over = decide(&mut s, Act::Pause, "nightly#1", "alice", &long).unwrap_err();
    assert!(
        over.to_string()
            .contains("the reason is 65536 characters long"),
        "{}",
        &over.to_string()[..100]
    );
    let unknown = decide(&mut s, Act::Pause, "nightly#3", "alice", "x").unwrap_err();
    assert!(
        unknown.to_string().contains("nightly#1, nightly#2"),
        "{unknown}"
    );
    let said = decide(&mut s, Act::Pause, "nightly#2", "alice", "quarter close").unwrap();
    assert_eq!(said, "nightly#2 paused");
    let rows = s.schedules().unwrap();
    assert!(rows[0].paused.is_none() && rows[1].paused.is_some());
    let said = decide(&mut s, Act::Resume, "nightly#2", "bob", "done").unwrap();
    assert_eq!(said, "nightly#2 resumed");
    let audit = s.audit(AUDIT_SUBJECT).unwrap();
    let rows: Vec<(&str, &str)> = audit
        .iter()
        .map(|a| (a.action.as_str(), a.actor.as_str()))
        .collect();
    assert_eq!(
        rows,
        [("schedule_paused", "alice"), ("schedule_resumed", "bob")]
    );
    // A trigger of a workflow no serve loaded is refused before anything is recorded.
    let none = decide(&mut s, Act::Trigger, "other", "alice", "now").unwrap_err();
    assert!(none.to_string().contains("nightly"), "{none}");
    assert_eq!(s.audit(AUDIT_SUBJECT).unwrap().len(), 2);
}

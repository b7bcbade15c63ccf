use super::*;

/// A new store in a directory of its own (kept while the store is used).
pub(super) fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(&dir.path().join("b.db")).unwrap();
    (dir, s)
}

/// This process's account, as the audit chain names who decided.
pub(super) fn me() -> String {
    nix::unistd::User::from_uid(nix::unistd::getuid())
        .unwrap()
        .unwrap()
        .name
}

/// A nightly schedule of `file`'s `index`th entry.
pub(super) fn served<'a>(file: &'a str, index: u32) -> Served<'a> {
    Served {
        file,
        index,
        workflow: "nightly",
        cron: "0 2 * * *",
        timezone: "UTC",
        catch_up: "none",
        overlap: "skip",
    }
}

#[test]
fn a_slot_is_recorded_once() {
    let (_d, mut s) = store();
    s.serve_schedules("/w/a.toml", &[served("/w/a.toml", 1)], Timestamp(5))
        .unwrap();
    let slot = |i: u32, t: i64| ("/w/a.toml", i, Timestamp(t), "started");
    assert_eq!(s.record_slots(&[slot(1, 1000)]).unwrap(), [true]);
    // Again, and beside a new one in the same tick: only the new one is recorded.
    assert_eq!(
        s.record_slots(&[slot(1, 1000), slot(2, 1000)]).unwrap(),
        [false, true]
    );
    assert_eq!(s.last_slot("/w/a.toml", 1).unwrap(), Some(Timestamp(1000)));
    assert_eq!(s.last_slot("/w/b.toml", 1).unwrap(), None);
}

#[test]
fn pause_survives_a_reload_and_is_on_the_audit_chain() {
    let (_d, mut s) = store();
    s.serve_schedules("/w/a.toml", &[served("/w/a.toml", 1)], Timestamp(5))
        .unwrap();
    s.set_paused(
        &[("/w/a.toml".into(), 1, "nightly".into())],
        true,
        "alice",
        "db maintenance",
    )
    .unwrap();
    // The serve loads the file again (a restart): still paused, since kept.
    s.serve_schedules("/w/a.toml", &[served("/w/a.toml", 1)], Timestamp(99))
        .unwrap();
    let rows = s.schedules().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].since, Timestamp(5));
    let p = rows[0].paused.as_ref().unwrap();
    assert_eq!(
        (p.by.as_str(), p.reason.as_str()),
        ("alice", "db maintenance")
    );
    let audit = s.audit(AUDIT_SUBJECT).unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].action, "schedule_paused");
    assert_eq!(audit[0].actor, "alice");
    assert!(s.verify_audit(None).unwrap().is_intact());
    // A schedule that left the file is no longer listed.
    s.serve_schedules("/w/a.toml", &[], Timestamp(100)).unwrap();
    assert!(s.schedules().unwrap().is_empty());
}

#[test]
fn a_trigger_waits_for_the_serve_with_its_params() {
    let (_d, mut s) = store();
    let p = vec![("version".to_string(), "1.2".to_string())];
    let a = s
        .request_trigger("/w/a.toml", "nightly", &p, "bob", "hotfix")
        .unwrap();
    let b = s
        .request_trigger("/w/a.toml", "nightly", &p, "bob", "again")
        .unwrap();
    assert_ne!(a, b);
    let t = s.requested_triggers().unwrap();
    assert_eq!(t.len(), 2);
    assert_eq!(t[0].params, p);
    assert_eq!(t[0].by, "bob");
    s.slots_started(&[("/w/a.toml", TRIGGER_INDEX, a, "started", None)])
        .unwrap();
    assert_eq!(s.requested_triggers().unwrap().len(), 1);
    assert_eq!(
        s.audit(AUDIT_SUBJECT).unwrap()[0].action,
        "schedule_triggered"
    );
}

#[test]
fn a_file_that_no_longer_loads_is_listed_with_its_error() {
    let (_d, mut s) = store();
    s.record_load("/w/a.toml", Some("a"), None, Timestamp(1))
        .unwrap();
    s.record_load(
        "/w/b.toml",
        None,
        Some("/w/b.toml:3:8: error: bad"),
        Timestamp(1),
    )
    .unwrap();
    assert_eq!(
        s.load_errors().unwrap(),
        vec![(
            "/w/b.toml".to_string(),
            "/w/b.toml:3:8: error: bad".to_string()
        )]
    );
    s.unserve_file("/w/b.toml").unwrap();
    assert!(s.load_errors().unwrap().is_empty());
}

/// The listing reads one index entry per question: the latest slot from the primary
/// key, the latest run from the partial index of the slots that made one (a schedule
/// paused for a year has a year of slots without a run to skip otherwise).
#[test]
fn the_listing_reads_the_latest_run_from_its_partial_index() {
    let (_d, s) = store();
    let mut st = s
        .conn
        .prepare(&format!("EXPLAIN QUERY PLAN {}", schedules_sql()))
        .unwrap();
    let plan: Vec<String> = st
        .query_map([], |r| r.get::<_, String>(3))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let plan = plan.join("\n");
    assert!(plan.contains("schedule_slots_with_run"), "{plan}");
    assert!(!plan.contains("SCAN m"), "{plan}");
}

#[test]
fn the_latest_run_outlives_the_paused_slots_after_it() {
    let (_d, mut s) = store();
    s.serve_schedules("/w/a.toml", &[served("/w/a.toml", 1)], Timestamp(5))
        .unwrap();
    s.record_slots(&[("/w/a.toml", 1, Timestamp(1000), "started")])
        .unwrap();
    s.slots_started(&[("/w/a.toml", 1, Timestamp(1000), "started", Some("01r"))])
        .unwrap();
    let paused: Vec<_> = (2..5)
        .map(|t| ("/w/a.toml", 1, Timestamp(t * 1000), "paused"))
        .collect();
    s.record_slots(&paused).unwrap();
    let row = &s.schedules().unwrap()[0];
    assert_eq!(row.last.as_ref().unwrap().fate, "paused");
    assert_eq!(row.last.as_ref().unwrap().slot_at, Timestamp(4000));
    let last = row.last_run.as_ref().unwrap();
    assert_eq!(
        (last.run_id.as_str(), last.slot_at),
        ("01r", Timestamp(1000))
    );
}

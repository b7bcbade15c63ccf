//! An event's row and its run: one transaction, once per trigger and key.
use super::*;
use crate::records::NewRun;

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(&dir.path().join("b.db")).unwrap();
    (dir, s)
}

fn event<'a>(key: &'a str, source_run: Option<&'a str>) -> TriggerEvent<'a> {
    TriggerEvent {
        file: "/w/publish.toml",
        index: 1,
        key,
        kind: "run_ended",
        detail: "run S of build succeeded",
        source_run,
        depth: 1,
    }
}

fn fire(s: &mut Store, key: &str, run: &str) -> Fired {
    s.fire_trigger(
        &event(key, Some("S")),
        &NewRun::bare(run),
        "pid 1 on h",
        None,
        |_| (Vec::new(), StateSummary::default()),
    )
    .unwrap()
}

#[test]
fn an_event_makes_its_run_once_whoever_fires_it_again() {
    let (_d, mut s) = store();
    let made = fire(&mut s, "run:S", "R1");
    assert!(matches!(made, Fired::Made { .. }), "{made:?}");
    // Seen again (a restart, another serve): its row, naming the run; no second run.
    let Fired::Already(row) = fire(&mut s, "run:S", "R2") else {
        panic!("fired twice");
    };
    assert_eq!(
        (row.run_id.as_deref(), row.fate.as_str()),
        (Some("R1"), "started")
    );
    assert!(s.run("R2").is_err(), "a second run was made");
    // Both ends of the link.
    assert_eq!(
        s.event_of_run("R1").unwrap().map(|e| e.key),
        Some("run:S".into())
    );
    let started: Vec<_> = s.started_by_run("S").unwrap();
    assert_eq!(started.len(), 1);
    assert_eq!(s.trigger_depth("R1").unwrap(), 1);
    assert_eq!(s.unfinished_trigger_runs().unwrap(), ["R1"]);
    // Another event of the same trigger is another run.
    assert!(matches!(fire(&mut s, "run:T", "R3"), Fired::Made { .. }));
}

/// The run list carries the event that started each run (the console's Runs tab marks
/// it), and nothing on a run no trigger started.
#[test]
fn the_run_list_names_the_event_that_started_a_run() {
    let (_d, mut s) = store();
    fire(&mut s, "run:S", "R1");
    s.create_run(&NewRun::bare("R0")).unwrap();
    let list = s.list_runs().unwrap();
    let of = |id: &str| list.iter().find(|r| r.id == id).unwrap().started_by.clone();
    let e = of("R1").expect("R1 was started by an event");
    assert_eq!(
        (e.kind.as_str(), e.event.as_str(), e.fate.as_str()),
        ("run_ended", "run S of build succeeded", "started")
    );
    assert!(e.trigger.ends_with("#1"), "{e:?}");
    assert_eq!(of("R0"), None);
}

#[test]
fn an_event_refused_is_recorded_once_and_never_makes_a_run_after() {
    let (_d, mut s) = store();
    let ev = event("delivery:d1", None);
    assert_eq!(
        s.decide_trigger_event(&ev, "refused", Some("param `v`: not a number"))
            .unwrap(),
        None
    );
    let again = s
        .decide_trigger_event(&ev, "refused", Some("other"))
        .unwrap();
    assert_eq!(
        again.and_then(|r| r.why).as_deref(),
        Some("param `v`: not a number")
    );
    assert!(matches!(
        fire(&mut s, "delivery:d1", "R1"),
        Fired::Already(_)
    ));
    assert!(s.run("R1").is_err());
}

#[test]
fn a_paused_trigger_is_on_its_row_and_the_audit_chain() {
    let (_d, mut s) = store();
    let served = ServedTrigger {
        file: "/w/publish.toml",
        index: 1,
        workflow: "publish",
        name: None,
        kind: "run_ended",
        what: "a run of build ends succeeded",
    };
    assert_eq!(
        s.serve_triggers(
            "/w/publish.toml",
            std::slice::from_ref(&served),
            Timestamp(5)
        )
        .unwrap(),
        [1]
    );
    // Served again (a reload): not new.
    assert!(
        s.serve_triggers("/w/publish.toml", &[served], Timestamp(9))
            .unwrap()
            .is_empty()
    );
    let target = [("/w/publish.toml".to_string(), 1, "publish#1".to_string())];
    assert_eq!(
        s.set_trigger_paused(&target, true, "alice", "down")
            .unwrap(),
        1
    );
    assert!(s.trigger_paused("/w/publish.toml", 1).unwrap());
    let rows = s.triggers(5).unwrap();
    assert_eq!(rows[0].since, Timestamp(5));
    assert_eq!(
        rows[0].paused.as_ref().map(|p| p.by.as_str()),
        Some("alice")
    );
    s.set_trigger_paused(&target, false, "bob", "back").unwrap();
    assert!(!s.trigger_paused("/w/publish.toml", 1).unwrap());
}

use super::*;
use crate::model::Timestamp;
use crate::store::NewRun;
use std::path::PathBuf;

fn summary(id: &str, at: i64, state: RunState) -> RunSummary {
    RunSummary {
        id: id.into(),
        workflow: "w".into(),
        state,
        driven_by: None,
        operator: "alice".into(),
        started_at: Timestamp(at),
        finished_at: None,
        steps_total: 1,
        steps_done: 0,
        health: Some(100.0),
    }
}

#[test]
fn merging_replaces_a_listed_run_and_inserts_a_new_one_in_start_order() {
    let mut l = RunList::default();
    assert!(l.merge(vec![
        summary("c", 30, RunState::Running),
        summary("a", 10, RunState::Succeeded),
    ]));
    let mut done = summary("c", 30, RunState::Succeeded);
    done.steps_done = 1;
    assert!(l.merge(vec![summary("b", 20, RunState::Running), done.clone()]));
    let ids: Vec<&str> = l.runs().iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["c", "b", "a"]);
    assert_eq!(l.runs()[0], done);
    // The same rows again change nothing.
    assert!(!l.merge(vec![done]));
}

fn new_run(id: &str, at: i64) -> NewRun {
    NewRun {
        id: id.into(),
        workflow: "w".into(),
        source_path: PathBuf::from("w.toml"),
        source_text: "name = \"w\"\n".into(),
        params_json: "{}".into(),
        operator: "alice".into(),
        started_at: Timestamp(at),
        steps: vec!["a".into()],
    }
}

/// Only the rows created since the last read come back (not every run), and a deletion
/// makes the next read a full one: the list always equals `list_runs`.
#[test]
fn the_list_reads_only_what_changed_and_everything_after_a_deletion() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(&dir.path().join("l.db")).unwrap();
    s.create_run(&new_run("01a", 1_000)).unwrap();
    s.create_run(&new_run("01b", 2_000)).unwrap();
    let mut l = RunList::default();
    assert!(l.read_changes(&s).unwrap());
    assert_eq!(l.runs(), s.list_runs().unwrap().as_slice());
    let cursor = l.cursor;
    s.create_run(&new_run("01c", 3_000)).unwrap();
    let ch = s.run_changes(cursor).unwrap();
    assert!(!ch.full);
    let ids: Vec<&str> = ch.runs.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["01c"]);
    assert!(l.read_changes(&s).unwrap());
    assert_eq!(l.runs(), s.list_runs().unwrap().as_slice());
    assert!(!l.read_changes(&s).unwrap(), "nothing new");
    s.delete_run("01a", "alice", "test").unwrap();
    assert!(s.run_changes(l.cursor).unwrap().full);
    assert!(l.read_changes(&s).unwrap());
    assert_eq!(l.runs(), s.list_runs().unwrap().as_slice());
}

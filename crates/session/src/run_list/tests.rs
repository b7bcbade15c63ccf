use super::*;
use baton_model::Timestamp;
use baton_store::NewRun;
use std::path::PathBuf;

fn summary(id: &str, at: i64, state: RunState) -> RunSummary {
    RunSummary {
        id: id.into(),
        workflow: "w".into(),
        state,
        driven_by: None,
        operator: "alice".into(),
        labels: Default::default(),
        params: Default::default(),
        started_at: Timestamp(at),
        finished_at: None,
        stopped_at: None,
        steps_total: 1,
        steps_done: 0,
        health: Some(100.0),
        rejected: false,
        forked_from: None,
        started_by: None,
        notes: 0,
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
    assert_eq!(*l.runs()[0], done);
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
        parent: None,
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
    assert_eq!(plain(&l), s.list_runs().unwrap());
    let cursor = l.cursor;
    s.create_run(&new_run("01c", 3_000)).unwrap();
    let ch = s.run_changes(cursor).unwrap();
    assert!(!ch.full);
    let ids: Vec<&str> = ch.runs.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["01c"]);
    assert!(l.read_changes(&s).unwrap());
    assert_eq!(plain(&l), s.list_runs().unwrap());
    assert!(!l.read_changes(&s).unwrap(), "nothing new");
    s.delete_run("01a", "alice", "test").unwrap();
    assert!(s.run_changes(l.cursor).unwrap().full);
    assert!(l.read_changes(&s).unwrap());
    assert_eq!(plain(&l), s.list_runs().unwrap());
}

/// A store larger than one page opens on its newest page, kept current as runs start
/// and change, and is read whole only when asked; the rest, read on another thread,
/// replaces the page, together with a run started meanwhile: the list then equals
/// `list_runs`, as if read whole.
#[test]
fn a_large_store_opens_on_its_newest_page_and_takes_the_rest_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let mut s = Store::open(&db).unwrap();
    let n = FIRST_PAGE + 7;
    for i in 0..n {
        s.create_run(&new_run(&format!("01r{i:05}"), 1_000 + i as i64))
            .unwrap();
    }
    let mut l = RunList::first_page(&s, &db).unwrap();
    assert!(!l.complete());
    assert_eq!(l.runs().len(), FIRST_PAGE);
    assert_eq!(l.runs()[0].id, format!("01r{:05}", n - 1), "newest first");
    // Not asked: a run started since is read into the page, and the rest is not read.
    s.create_run(&new_run("01y", 9_000_000)).unwrap();
    assert!(l.read_changes(&s).unwrap());
    assert_eq!(l.runs()[0].id, "01y");
    assert_eq!(l.runs().len(), FIRST_PAGE + 1);
    assert!(!l.complete());
    // Asked: read on its own thread, while another run starts.
    l.read_rest();
    s.create_run(&new_run("01z", 9_999_999)).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !l.complete() {
        assert!(std::time::Instant::now() < deadline, "the rest never came");
        l.read_changes(&s).unwrap();
        std::thread::yield_now();
    }
    assert_eq!(plain(&l), s.list_runs().unwrap());
    assert_eq!(l.runs().len(), n + 2);
}

/// A deletion while only the page is here reads every run at once: the list is whole.
#[test]
fn a_deletion_before_the_rest_is_asked_for_reads_the_whole_list() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    let mut s = Store::open(&db).unwrap();
    for i in 0..FIRST_PAGE + 2 {
        s.create_run(&new_run(&format!("01r{i:05}"), 1_000 + i as i64))
            .unwrap();
    }
    let mut l = RunList::first_page(&s, &db).unwrap();
    s.delete_run("01r00000", "alice", "test").unwrap();
    assert!(l.read_changes(&s).unwrap());
    assert!(l.complete());
    assert_eq!(plain(&l), s.list_runs().unwrap());
}

/// A store of one page or less is read whole at once.
#[test]
fn a_small_store_is_complete_from_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.db");
    let mut s = Store::open(&db).unwrap();
    s.create_run(&new_run("01a", 1_000)).unwrap();
    let l = RunList::first_page(&s, &db).unwrap();
    assert!(l.complete());
    assert_eq!(plain(&l), s.list_runs().unwrap());
}

/// The list's runs, unshared.
fn plain(l: &RunList) -> Vec<RunSummary> {
    l.runs().iter().map(|r| (**r).clone()).collect()
}

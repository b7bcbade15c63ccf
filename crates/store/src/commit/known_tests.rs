//! What a fenced commit keeps for the next one ([`super::Known`]) holds only while
//! nothing else writes the store: a write by another connection (another process's,
//! or this process's other handle) or by this connection outside the commit is seen
//! by the next commit, which reads everything again.
use crate::Store;
use crate::error::StoreError;
use crate::records::NewRun;
use baton_model::{Event, EventKind, LEASE_STALE, Timestamp};
use std::path::Path;

const ME: &str = "pid 1 on engine-a";

/// A store with run R1, its lease held by `ME`, fenced by it.
fn fenced(db: &Path) -> Store {
    let mut s = Store::open(db).expect("store");
    s.create_run(&NewRun::bare("R1")).expect("a run");
    s.acquire_lease("R1", ME, Timestamp::now(), LEASE_STALE)
        .expect("lease");
    s.fence("R1", ME, &[]);
    s
}

/// A step of its own queued, at `seq`.
fn event(seq: u64) -> Event {
    moved(seq, &format!("s{seq}"), baton_model::StepState::Queued)
}

fn last_seq(s: &Store) -> u64 {
    s.events("R1").expect("events").last().map_or(0, |e| e.seq)
}

/// The next event of R1, committed by `s`.
fn commit_next(s: &mut Store) -> Result<(), StoreError> {
    let seq = last_seq(s) + 1;
    s.commit("R1", &[event(seq)])
}

fn intact(s: &Store) -> bool {
    s.verify_audit(Some("R1")).expect("verify").is_intact()
}

#[test]
fn a_fenced_commit_keeps_its_run_s_tail_and_lease_for_the_next() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = fenced(&dir.path().join("b.db"));
    commit_next(&mut s).expect("first");
    let k = s.known.clone().expect("kept after a fenced commit");
    assert_eq!(k.tail.seq, 1);
    assert!(k.alone, "R1 is in no concurrency group");
    commit_next(&mut s).expect("second, onto what it kept");
    assert_eq!(s.known.as_ref().map(|k| k.tail.seq), Some(2));
    assert_eq!(last_seq(&s), 2);
    assert!(intact(&s), "{:?}", s.verify_audit(Some("R1")));
}

#[test]
fn an_event_another_connection_appended_is_what_the_next_commit_links_onto() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("b.db");
    let mut s = fenced(&db);
    commit_next(&mut s).expect("first");
    commit_next(&mut s).expect("second");
    assert!(s.known.is_some());
    // Another writer (another process's connection, as far as SQLite can tell)
    // appends to R1's chain.
    let mut other = Store::open(&db).expect("another connection");
    other.commit("R1", &[event(3)]).expect("its event");
    // The next commit links onto that event, not onto the one it kept.
    commit_next(&mut s).expect("after the other's");
    assert_eq!(last_seq(&s), 4);
    assert!(intact(&s), "{:?}", s.verify_audit(Some("R1")));
    // And, nothing written since, keeps going from memory, whole.
    commit_next(&mut s).expect("and on");
    assert!(intact(&s), "{:?}", s.verify_audit(Some("R1")));
}

#[test]
fn a_lease_taken_over_by_another_connection_fails_the_next_commit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("b.db");
    let mut s = fenced(&db);
    commit_next(&mut s).expect("first");
    assert!(s.known.is_some());
    // Written by hand, a fresh lease of another holder's (a takeover of a stopped
    // engine's lease, without waiting for it to lapse).
    rusqlite::Connection::open(&db)
        .expect("raw connection")
        .execute(
            "UPDATE leases SET holder = 'pid 3 on engine-c', heartbeat_at = ?1",
            [Timestamp::now().0],
        )
        .expect("taken");
    let before = last_seq(&s);
    let r = commit_next(&mut s);
    assert!(matches!(r, Err(StoreError::LeaseLost { .. })), "{r:?}");
    assert_eq!(last_seq(&s), before, "nothing of it written");
    assert!(s.known.is_none(), "a failed commit keeps nothing");
}

#[test]
fn a_lease_this_connection_changed_outside_a_commit_fails_the_next_commit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = fenced(&dir.path().join("b.db"));
    commit_next(&mut s).expect("first");
    assert!(s.known.is_some());
    // The same connection, not a commit: `PRAGMA data_version` does not move for it,
    // its count of changes does.
    s.conn
        .execute(
            "UPDATE leases SET holder = 'pid 3 on engine-c' WHERE run_id = 'R1'",
            [],
        )
        .expect("changed");
    let r = commit_next(&mut s);
    assert!(matches!(r, Err(StoreError::LeaseLost { .. })), "{r:?}");
}

#[test]
fn a_run_put_in_a_group_by_another_connection_is_checked_by_the_next_commit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("b.db");
    let mut s = fenced(&db);
    commit_next(&mut s).expect("first");
    assert!(s.known.as_ref().is_some_and(|k| k.alone));
    // R1 made a waiting member of a group another live run holds: not R1's to run in.
    let mut other = Store::open(&db).expect("another connection");
    other.create_run(&NewRun::bare("R2")).expect("R2");
    other
        .acquire_lease("R2", "pid 2 on engine-b", Timestamp::now(), LEASE_STALE)
        .expect("R2's lease");
    let raw = rusqlite::Connection::open(&db).expect("raw connection");
    raw.execute_batch(
        "UPDATE runs SET state = 'running' WHERE id IN ('R1', 'R2');
         INSERT INTO group_members (grp, run_id, active, first, seq) VALUES ('g', 'R2', 1, 0, 1);
         INSERT INTO group_members (grp, run_id, active, first, seq) VALUES ('g', 'R1', 0, 0, 2);",
    )
    .expect("grouped");
    let r = commit_next(&mut s);
    assert!(matches!(r, Err(StoreError::GroupLost { .. })), "{r:?}");
}

/// A step moved to `state` in R1, at `seq`.
fn moved(seq: u64, step: &str, state: baton_model::StepState) -> Event {
    Event {
        seq,
        at: Timestamp(seq as i64),
        kind: EventKind::StepStateChanged {
            step: step.into(),
            state,
            attempt: 1,
            reason: None,
        },
    }
}

/// R1's attempts that ended, as its signals read them (finished, failed).
fn ended(s: &Store) -> (i64, i64) {
    s.conn
        .query_row(
            &format!(
                "{} WHERE runs.id = 'R1'",
                crate::read::run_counts::SIGNALS_SELECT
            ),
            [],
            |r| Ok((r.get(3)?, r.get(4)?)),
        )
        .expect("signals")
}

#[test]
fn a_step_this_connection_started_ends_its_attempt_when_it_ends() {
    use baton_model::StepState::{Failed, Queued, Running, Succeeded};
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = fenced(&dir.path().join("b.db"));
    s.commit("R1", &[moved(1, "a", Queued), moved(2, "a", Running)])
        .expect("a runs");
    s.commit("R1", &[moved(3, "b", Queued), moved(4, "b", Running)])
        .expect("b runs");
    let running: Vec<&str> = {
        let k = s.known.as_ref().expect("kept");
        let mut v: Vec<&str> = k.in_process.keys().map(String::as_str).collect();
        v.sort_unstable();
        v
    };
    assert_eq!(running, ["a", "b"]);
    s.commit("R1", &[moved(5, "a", Succeeded)]).expect("a ends");
    assert_eq!(ended(&s), (1, 0));
    s.commit("R1", &[moved(6, "b", Failed)]).expect("b ends");
    assert_eq!(ended(&s), (2, 1));
    assert!(s.known.as_ref().is_some_and(|k| k.in_process.is_empty()));
}

#[test]
fn a_step_another_connection_moved_is_read_again_when_it_ends() {
    use baton_model::StepState::{Queued, Running, Succeeded};
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("b.db");
    let mut s = fenced(&db);
    s.commit("R1", &[moved(1, "a", Queued), moved(2, "a", Running)])
        .expect("a runs");
    assert!(
        s.known
            .as_ref()
            .is_some_and(|k| k.in_process.contains_key("a"))
    );
    // Another writer puts the step's row back in the queue: no process, so its end
    // ends no attempt.
    rusqlite::Connection::open(&db)
        .expect("raw connection")
        .execute(
            "UPDATE steps SET state = 'queued' WHERE run_id = 'R1' AND step_id = 'a'",
            [],
        )
        .expect("moved back");
    s.commit("R1", &[moved(3, "a", Succeeded)]).expect("a ends");
    assert_eq!(ended(&s), (0, 0), "the row said queued: no attempt ended");
}

/// R1's row's kept step count (NULL while the run goes on).
fn kept_total(s: &Store) -> Option<i64> {
    s.conn
        .query_row("SELECT steps_total FROM runs WHERE id = 'R1'", [], |r| {
            r.get(0)
        })
        .expect("R1's row")
}

#[test]
fn a_run_another_connection_ended_has_its_counts_kept_by_the_next_commit() {
    use baton_model::StepState::{Queued, Running};
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("b.db");
    let mut s = fenced(&db);
    s.commit("R1", &[moved(1, "a", Queued)]).expect("a queued");
    assert!(s.known.as_ref().is_some_and(|k| k.open), "R1 goes on");
    s.commit("R1", &[moved(2, "a", Running)]).expect("a runs");
    assert_eq!(kept_total(&s), None, "a run that goes on keeps no counts");
    // Another writer ends the run: the next commit reads its row again.
    rusqlite::Connection::open(&db)
        .expect("raw connection")
        .execute("UPDATE runs SET state = 'cancelled' WHERE id = 'R1'", [])
        .expect("ended");
    s.commit("R1", &[moved(3, "b", Queued)]).expect("b queued");
    assert!(kept_total(&s).is_some(), "the ended run's counts are kept");
    assert!(s.known.as_ref().is_some_and(|k| !k.open));
}

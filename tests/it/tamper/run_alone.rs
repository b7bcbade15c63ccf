//! Issue 29: `audit verify RUN` checks that run alone, by its own rows (its time does not
//! grow with the store's history): its history, its approvals and each of its audit
//! rows with the rows beside it in the chain. What it finds of the run, the whole
//! store's check finds too; what it does not look at (another run) it leaves to it.
use crate::helpers::{Script, db, new_run, raw};
use baton::model::{RunState, StepState};
use baton::store::{AuditVerdict, Store};

/// Two runs whose audit rows interleave: R1 (a gate decided by a vote) and R2.
fn two_runs() -> (crate::helpers::Db, Store) {
    let db = db();
    let mut s = Store::open(&db.path).unwrap();
    s.create_run(&new_run("R1", 1_700_000_000_000)).unwrap();
    s.create_run(&new_run("R2", 1_700_000_000_001)).unwrap();
    let (mut a, mut b) = (Script::new("R1"), Script::new("R2"));
    a.started()
        .ok_step("build")
        .gate_opened("deploy", "d1", &[])
        .state("deploy", StepState::WaitingApproval, 0);
    s.commit("R1", &a.take()).unwrap();
    b.started().gate_opened("ship", "d2", &[]);
    s.commit("R2", &b.take()).unwrap();
    a.approved("deploy", "bob", "looks right", "d1")
        .run_finished(RunState::Succeeded);
    s.commit("R1", &a.take()).unwrap();
    b.approved("ship", "carol", "ok", "d2")
        .run_finished(RunState::Succeeded);
    s.commit("R2", &b.take()).unwrap();
    (db, s)
}

fn rows_of(s: &Store, run: &str) -> usize {
    match s.verify_audit(Some(run)).unwrap() {
        AuditVerdict::Intact { rows } => rows,
        v => panic!("{run}: {v:?}"),
    }
}

fn broken_row(v: &AuditVerdict) -> Option<(i64, Option<&str>)> {
    match v {
        AuditVerdict::Broken { row_id, run_id, .. } => Some((*row_id, run_id.as_deref())),
        _ => None,
    }
}

#[test]
fn a_run_alone_counts_its_rows_and_an_altered_row_shows_in_its_run_only() {
    let (db, s) = two_runs();
    let whole = s.verify_audit(None).unwrap();
    let AuditVerdict::Intact { rows } = whole else {
        panic!("{whole:?}")
    };
    let (r1, r2) = (rows_of(&s, "R1"), rows_of(&s, "R2"));
    assert_eq!(r1 + r2, rows);
    assert!(r1 >= 3 && r2 >= 3, "{r1} {r2}");

    // An R2 row's content changes (its hash kept): R2 and the whole store show it.
    let c = raw(&db);
    let id: i64 = c
        .query_row(
            "SELECT max(id) FROM audit WHERE run_id = 'R2' AND action = 'approved'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    c.execute("UPDATE audit SET actor = 'mallory' WHERE id = ?1", [id])
        .unwrap();
    let alone = s.verify_audit(Some("R2")).unwrap();
    assert_eq!(broken_row(&alone), Some((id, Some("R2"))), "{alone:?}");
    assert_eq!(s.verify_audit(None).unwrap(), alone);
    // R1's rows and their links to the rows beside them hold.
    assert_eq!(rows_of(&s, "R1"), r1);
}

#[test]
fn a_deleted_row_of_the_run_shows_whether_it_was_in_the_middle_or_the_last() {
    for last in [false, true] {
        let (db, s) = two_runs();
        let c = raw(&db);
        let max: i64 = c
            .query_row("SELECT max(id) FROM audit", [], |r| r.get(0))
            .unwrap();
        let id: i64 = if last {
            max
        } else {
            c.query_row(
                "SELECT min(id) FROM audit WHERE run_id = 'R1' AND action = 'approved'",
                [],
                |r| r.get(0),
            )
            .unwrap()
        };
        let run: String = c
            .query_row("SELECT run_id FROM audit WHERE id = ?1", [id], |r| r.get(0))
            .unwrap();
        c.execute("DELETE FROM audit WHERE id = ?1", [id]).unwrap();
        let alone = s.verify_audit(Some(&run)).unwrap();
        assert!(!alone.is_intact(), "{alone:?}");
        assert!(!s.verify_audit(None).unwrap().is_intact());
    }
}

#[test]
fn a_decision_row_deleted_and_the_chain_rewritten_after_it_shows_in_its_run() {
    let (db, s) = two_runs();
    let r2 = rows_of(&s, "R2");
    let c = raw(&db);
    // R1's approval row goes, and every row after it moves up one, re-linked and
    // re-hashed (plain SHA-256: the store has no key), the head with them.
    let gone: i64 = c
        .query_row(
            "SELECT min(id) FROM audit WHERE run_id = 'R1' AND action = 'approved'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    c.execute("DELETE FROM audit WHERE id = ?1", [gone])
        .unwrap();
    let mut prev: Option<String> = None;
    for mut row in baton::store::raw_audit_rows(&c).unwrap() {
        if row.id < gone {
            prev = Some(row.hash.clone());
            continue;
        }
        let old = row.id;
        row.id -= 1;
        row.prev_hash = prev.clone().unwrap_or_else(|| "0".repeat(64));
        row.hash = row
            .expected_hash(&baton::store::AuditKeys::default())
            .unwrap();
        c.execute(
            "UPDATE audit SET id = ?2, prev_hash = ?3, hash = ?4 WHERE id = ?1",
            rusqlite::params![old, row.id, row.prev_hash, row.hash],
        )
        .unwrap();
        prev = Some(row.hash.clone());
    }
    let last = baton::store::raw_audit_rows(&c).unwrap().pop().unwrap();
    c.execute(
        "UPDATE meta SET value = ?1 WHERE key = 'audit_head'",
        [format!("{}:{}", last.id, last.hash)],
    )
    .unwrap();
    match s.verify_audit(Some("R1")).unwrap() {
        AuditVerdict::HistoryBroken { run_id, reason, .. } => {
            assert_eq!(run_id, "R1");
            assert!(reason.contains("no audit row"), "{reason}");
        }
        v => panic!("{v:?}"),
    }
    assert_eq!(rows_of(&s, "R2"), r2);
}

//! Issue 11, points 4 and 6, tried as an attacker who can write the database file but
//! does not have the audit key: downgraded and truncated audit chains, edited, deleted
//! and inserted events (triggers dropped), edited approvals, runs deleted behind the
//! store's back, and one forged `step_state_changed` that would pass a gate on resume.
//! The attacker recomputes every plain SHA-256 hash the way the module docs describe.

use crate::helpers::{Env, text};
use crate::helpers::{Script, db, raw, store_with_run};
use baton::model::{RunState, StepState};
use baton::store::{AuditKeys, AuditVerdict, Sealed, Store, StoreError};
use rusqlite::{Connection, params};
use sha2::{Digest, Sha256};
use std::process::Output;

const KEY: &str = "the-operators-audit-key";

fn keys() -> AuditKeys {
    AuditKeys::from_vars(|n| match n {
        "BATON_AUDIT_KEY" => Some(KEY.into()),
        "BATON_AUDIT_KEY_ID" => Some("k1".into()),
        _ => None,
    })
}

fn all(o: &Output) -> String {
    format!("{}{}", text(&o.stdout), text(&o.stderr))
}

/// `baton ARGS` against `db`, with the audit key or without any.
fn baton(db: &std::path::Path, keyed: bool, args: &[&str]) -> Output {
    let mut c = crate::helpers::baton();
    c.args(args)
        .env("BATON_DB", db)
        .env("NO_COLOR", "1")
        .env_remove("BATON_AUDIT_KEY")
        .env_remove("BATON_AUDIT_KEY_ID")
        .env_remove("BATON_AUDIT_KEYS");
    if keyed {
        c.env("BATON_AUDIT_KEY", KEY)
            .env("BATON_AUDIT_KEY_ID", "k1");
    }
    c.output().expect("run baton")
}

fn sha(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// The attacker's event hash (plain SHA-256, as documented in `store::event_chain`).
fn event_hash(prev: &[u8], run: &str, seq: u64, json: &str) -> [u8; 32] {
    sha(&[
        b"baton.event\0",
        prev,
        run.as_bytes(),
        &[0],
        &seq.to_be_bytes(),
        json.as_bytes(),
    ])
}

/// Mark event `seq` of `run` (of hash `hash`) as its last, without a key, as the
/// attacker can (the mark of the event before is cleared).
fn forge_mark(c: &Connection, run: &str, seq: u64, hash: &[u8]) {
    let mac = sha(&[
        b"baton.events_head\0",
        run.as_bytes(),
        &[0],
        &seq.to_be_bytes(),
        hash,
    ]);
    c.execute(
        "UPDATE events SET head_key_id = NULL, head_mac = NULL WHERE run_id = ?1",
        [run],
    )
    .unwrap();
    c.execute(
        "UPDATE events SET head_mac = ?3 WHERE run_id = ?1 AND seq = ?2",
        params![run, seq as i64, &mac[..]],
    )
    .unwrap();
}

fn drop_triggers(c: &Connection) {
    c.execute_batch(
        "DROP TRIGGER IF EXISTS events_no_update; DROP TRIGGER IF EXISTS events_no_delete;",
    )
    .unwrap();
}

/// A keyed run `R1` with a gate decided by a vote: 11 events, 6 audit rows.
fn keyed_store() -> (crate::helpers::Db, Store) {
    let db = db();
    let mut s = store_with_run(&db, "R1");
    s.set_audit_keys(keys());
    let mut sc = Script::new("R1");
    sc.started()
        .ok_step("build")
        .gate_opened("deploy", "d1", &[])
        .state("deploy", StepState::WaitingApproval, 0)
        .vote_refused("deploy", "alice", "self-approval");
    s.commit("R1", &sc.take()).unwrap();
    sc.approved("deploy", "bob", "looks right", "d1")
        .run_finished(RunState::Succeeded);
    s.commit("R1", &sc.take()).unwrap();
    (db, s)
}

fn history_broken_at(v: &AuditVerdict) -> Option<u64> {
    match v {
        AuditVerdict::HistoryBroken { run_id, seq, .. } if run_id == "R1" => Some(*seq),
        _ => None,
    }
}

/// Rewrite audit rows `from..` as plain SHA-256 rows (key id dropped, chain recomputed)
/// and the head after them: what someone without the key can do.
fn downgrade_from(c: &Connection, from: i64) {
    let mut prev: Option<String> = None;
    for mut row in baton::store::raw_audit_rows(c).unwrap() {
        if row.id < from {
            prev = Some(row.hash.clone());
            continue;
        }
        row.key_id = None;
        row.prev_hash = prev.clone().unwrap_or_else(|| "0".repeat(64));
        row.hash = row.expected_hash(&AuditKeys::default()).unwrap();
        c.execute(
            "UPDATE audit SET actor = ?2, key_id = NULL, prev_hash = ?3, hash = ?4 WHERE id = ?1",
            params![row.id, row.actor, row.prev_hash, row.hash],
        )
        .unwrap();
        prev = Some(row.hash.clone());
    }
    let last = baton::store::raw_audit_rows(c).unwrap().pop().unwrap();
    c.execute(
        "UPDATE meta SET value = ?1 WHERE key = 'audit_head'",
        [format!("{}:{}", last.id, last.hash)],
    )
    .unwrap();
}

#[test]
fn downgraded_rows_fail_with_the_key_and_without_it() {
    let (db, s) = keyed_store();
    assert_eq!(
        s.verify_audit(None).unwrap(),
        AuditVerdict::Intact { rows: 6 }
    );
    let c = raw(&db);
    // Row 4 (bob's vote) gets a new actor, then it and every later row
    // are rewritten as plain SHA-256 rows with the chain and the head recomputed.
    c.execute("UPDATE audit SET actor = 'mallory' WHERE id = 4", [])
        .unwrap();
    downgrade_from(&c, 4);
    for keyed in [true, false] {
        let o = baton(&db.path, keyed, &["audit", "verify"]);
        assert_eq!(o.status.code(), Some(1), "keyed {keyed}: {}", all(&o));
        assert!(
            all(&o).contains("BROKEN at row 4") && all(&o).contains("not keyed"),
            "keyed {keyed}: {}",
            all(&o)
        );
    }
}

#[test]
fn a_chain_rewritten_entirely_without_the_key_fails_when_a_key_is_configured() {
    let (db, s) = keyed_store();
    let c = raw(&db);
    downgrade_from(&c, 1);
    match s.verify_audit(None).unwrap() {
        AuditVerdict::Broken {
            row_id: 6, reason, ..
        } => {
            assert!(
                reason.contains("not keyed although a key is configured"),
                "{reason}"
            )
        }
        other => panic!("{other:?}"),
    }
    // The run's history rewritten too (bob's vote becomes mallory's), every hash after
    // it recomputed and the run's mark remade, all without the key: replay refuses it.
    drop_triggers(&c);
    let mut prev = [0u8; 32];
    let evs: Vec<(i64, i64, String)> = c
        .prepare("SELECT id, seq, json FROM events WHERE run_id = 'R1' ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for (id, seq, json) in &evs {
        let json = json.replace("\"bob\"", "\"mallory\"");
        prev = event_hash(&prev, "R1", *seq as u64, &json);
        c.execute(
            "UPDATE events SET json = ?2, hash = ?3 WHERE id = ?1",
            params![id, json, &prev[..]],
        )
        .unwrap();
    }
    forge_mark(&c, "R1", evs.len() as u64, &prev);
    let e = s.events("R1").unwrap_err();
    assert!(
        matches!(&e, StoreError::Tampered { seq: 11, reason, .. } if reason.contains("not keyed")),
        "{e}"
    );
}

#[test]
fn a_cut_tail_with_its_head_rewritten_is_caught_with_a_key_and_admitted_without() {
    let (db, s) = keyed_store();
    let c = raw(&db);
    c.execute("DELETE FROM audit WHERE id > 5", []).unwrap();
    let last = baton::store::raw_audit_rows(&c).unwrap().pop().unwrap();
    let old: String = c
        .query_row("SELECT value FROM meta WHERE key = 'audit_head'", [], |r| {
            r.get(0)
        })
        .unwrap();
    // The head rewritten to the new last row: plain, or keeping the old MAC.
    let old_mac = old.rsplit_once(':').unwrap().1.to_string();
    for head in [
        format!("{}:{}", last.id, last.hash),
        format!("{}:{}:k1:{old_mac}", last.id, last.hash),
    ] {
        c.execute(
            "UPDATE meta SET value = ?1 WHERE key = 'audit_head'",
            [&head],
        )
        .unwrap();
        let v = s.verify_audit(None).unwrap();
        assert!(
            matches!(v, AuditVerdict::Broken { row_id: 5, .. }),
            "{head}: {v:?}"
        );
        let o = baton(&db.path, true, &["audit", "verify"]);
        assert_eq!(o.status.code(), Some(1), "{}", all(&o));
    }

    // Without a key the same cut cannot be told from a shorter history, and verify
    // says what it proves.
    let db = crate::helpers::db();
    let mut s = store_with_run(&db, "R1");
    s.set_audit_keys(AuditKeys::default());
    let mut sc = Script::new("R1");
    sc.started()
        .ok_step("build")
        .run_finished(RunState::Succeeded);
    s.commit("R1", &sc.take()).unwrap();
    let c = raw(&db);
    c.execute("DELETE FROM audit WHERE id = 2", []).unwrap();
    let last = baton::store::raw_audit_rows(&c).unwrap().pop().unwrap();
    c.execute(
        "UPDATE meta SET value = ?1 WHERE key = 'audit_head'",
        [format!("{}:{}", last.id, last.hash)],
    )
    .unwrap();
    let o = baton(&db.path, false, &["audit", "verify"]);
    assert_eq!(o.status.code(), Some(0), "{}", all(&o));
    assert!(
        all(&o).contains(
            "not damaged by accident, not that nobody who can write the database rewrote them"
        ),
        "{}",
        all(&o)
    );
}

#[test]
fn an_edited_or_deleted_event_is_named_though_the_triggers_were_dropped() {
    // Edited: bob's vote becomes mallory's.
    let (db, s) = keyed_store();
    let c = raw(&db);
    drop_triggers(&c);
    c.execute(
        "UPDATE events SET json = replace(json, '\"bob\"', '\"mallory\"') WHERE run_id = 'R1' AND seq = 9",
        [],
    )
    .unwrap();
    assert_eq!(history_broken_at(&s.verify_audit(None).unwrap()), Some(9));
    let e = s.events("R1").unwrap_err();
    assert!(matches!(e, StoreError::Tampered { seq: 9, .. }), "{e}");
    let o = baton(&db.path, true, &["audit", "verify"]);
    assert_eq!(o.status.code(), Some(1), "{}", all(&o));
    assert!(
        all(&o).contains("BROKEN at event 9 of run R1"),
        "{}",
        all(&o)
    );
    let o = baton(&db.path, true, &["show", "R1"]);
    assert_eq!(o.status.code(), Some(3), "{}", all(&o));
    assert!(all(&o).contains("at event 9"), "{}", all(&o));

    // Deleted in the middle (the refused self-approval).
    let (db, s) = keyed_store();
    let c = raw(&db);
    drop_triggers(&c);
    c.execute("DELETE FROM events WHERE run_id = 'R1' AND seq = 8", [])
        .unwrap();
    assert_eq!(history_broken_at(&s.verify_audit(None).unwrap()), Some(8));
    assert!(matches!(
        s.events("R1"),
        Err(StoreError::Tampered { seq: 8, .. })
    ));

    // The tail cut (the approval and the end) and the head rewritten without the key.
    let (db, s) = keyed_store();
    let c = raw(&db);
    drop_triggers(&c);
    c.execute("DELETE FROM events WHERE run_id = 'R1' AND seq > 8", [])
        .unwrap();
    c.execute("DELETE FROM approvals WHERE seq > 8", [])
        .unwrap();
    let hash: Vec<u8> = c
        .query_row(
            "SELECT hash FROM events WHERE run_id = 'R1' AND seq = 8",
            [],
            |r| r.get(0),
        )
        .unwrap();
    forge_mark(&c, "R1", 8, &hash);
    assert!(matches!(
        s.events("R1"),
        Err(StoreError::Tampered { seq: 8, .. })
    ));
    // (The audit chain still names the events that are gone.)
    assert!(!s.verify_audit(None).unwrap().is_intact());
}

#[test]
fn edited_deleted_or_inserted_approvals_are_named() {
    let tamper: [&str; 3] = [
        "UPDATE approvals SET actor = 'mallory' WHERE kind = 'vote'",
        "DELETE FROM approvals WHERE kind = 'approved'",
        "INSERT INTO approvals (run_id, seq, step, kind, actor, reason, digest, at, details)
         VALUES ('R1', 9, 'deploy', 'vote', 'carol', NULL, 'd1', 0, '{}')",
    ];
    for (sql, (seq, says)) in tamper.iter().zip([
        (9, "does not match event 9"),
        (10, "approval record of event 10 is missing"),
        (9, "records no event"),
    ]) {
        let (db, s) = keyed_store();
        raw(&db).execute(sql, []).unwrap();
        match s.verify_audit(None).unwrap() {
            AuditVerdict::HistoryBroken {
                seq: got, reason, ..
            } => {
                assert_eq!(got, seq, "{sql}: {reason}");
                assert!(reason.contains(says), "{sql}: {reason}");
            }
            other => panic!("{sql}: {other:?}"),
        }
        let o = baton(&db.path, false, &["audit", "verify"]);
        assert_eq!(o.status.code(), Some(1), "{}", all(&o));
    }
}

#[test]
fn runs_rm_keeps_verifying_a_run_deleted_behind_the_stores_back_does_not() {
    let (db, mut s) = keyed_store();
    s.create_run(&crate::helpers::new_run("R2", 2)).unwrap();
    s.create_run(&crate::helpers::new_run("R3", 3)).unwrap();
    for run in ["R2", "R3"] {
        let mut sc = Script::new(run);
        sc.started().ok_step("build").run_finished(RunState::Failed);
        s.commit(run, &sc.take()).unwrap();
    }
    s.delete_run("R2", "root", "baton runs rm").unwrap();
    assert!(s.verify_audit(None).unwrap().is_intact());
    let o = baton(&db.path, true, &["audit", "verify"]);
    assert_eq!(o.status.code(), Some(0), "{}", all(&o));

    // R3 removed by hand: its rows everywhere, its events and head, its run.
    let c = raw(&db);
    drop_triggers(&c);
    c.execute_batch(
        "DELETE FROM events WHERE run_id = 'R3';
         DELETE FROM steps WHERE run_id = 'R3'; DELETE FROM attempts WHERE run_id = 'R3';
         DELETE FROM errors WHERE run_id = 'R3'; DELETE FROM runs WHERE id = 'R3';",
    )
    .unwrap();
    match s.verify_audit(None).unwrap() {
        AuditVerdict::Broken { run_id, reason, .. } => {
            assert_eq!(run_id.as_deref(), Some("R3"));
            assert!(reason.contains("which is gone"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_emptied_audit_chain_shows_in_the_histories_it_recorded() {
    let (db, s) = keyed_store();
    raw(&db)
        .execute_batch("DELETE FROM audit; DELETE FROM meta WHERE key = 'audit_head';")
        .unwrap();
    match s.verify_audit(None).unwrap() {
        AuditVerdict::HistoryBroken { seq: 1, reason, .. } => {
            assert!(reason.contains("no audit row"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn writers_never_break_a_keyed_store_and_seal_adopts_one_recorded_without_a_key() {
    let db = db();
    let mut s = store_with_run(&db, "R1");
    s.set_audit_keys(AuditKeys::default());
    let mut sc = Script::new("R1");
    sc.started().ok_step("build");
    s.commit("R1", &sc.take()).unwrap();

    // A key is configured: the unkeyed store does not verify, and is not extended.
    s.set_audit_keys(keys());
    assert!(!s.verify_audit(None).unwrap().is_intact());
    sc.run_finished(RunState::Succeeded);
    let next = sc.take();
    let e = s.commit("R1", &next).unwrap_err();
    assert!(
        matches!(&e, StoreError::Keys(m) if m.contains("baton audit seal")),
        "{e}"
    );
    assert!(e.is_usage());
    // Seal refuses a tampered store and changes nothing.
    let c = raw(&db);
    c.execute("UPDATE audit SET reason = 'forged' WHERE id = 1", [])
        .unwrap();
    assert!(matches!(
        s.seal().unwrap(),
        Sealed::Refused(AuditVerdict::Broken { row_id: 1, .. })
    ));
    c.execute("UPDATE audit SET reason = NULL WHERE id = 1", [])
        .unwrap();
    // Seal without a key is a usage error; with one it adopts the store.
    let o = baton(&db.path, false, &["audit", "seal"]);
    assert_eq!(o.status.code(), Some(2), "{}", all(&o));
    let o = baton(&db.path, true, &["audit", "seal"]);
    assert_eq!(o.status.code(), Some(0), "{}", all(&o));
    assert!(
        all(&o).contains("sealed: 1 run history and the audit chain's head"),
        "{}",
        all(&o)
    );
    assert_eq!(
        s.verify_audit(None).unwrap(),
        AuditVerdict::Intact { rows: 1 }
    );
    s.commit("R1", &next).unwrap();
    assert_eq!(s.events("R1").unwrap().len(), 6);
    assert_eq!(
        s.verify_audit(None).unwrap(),
        AuditVerdict::Intact { rows: 2 }
    );

    // Now keyed, a writer without the key is refused instead of breaking the chains.
    s.create_run(&crate::helpers::new_run("R2", 2)).unwrap();
    s.set_audit_keys(AuditKeys::default());
    let mut sc2 = Script::new("R2");
    sc2.started();
    let e = s.commit("R2", &sc2.take()).unwrap_err();
    assert!(
        matches!(&e, StoreError::Keys(m) if m.contains("keyed (key `k1`)")),
        "{e}"
    );
    s.set_audit_keys(keys());
    assert_eq!(
        s.verify_audit(None).unwrap(),
        AuditVerdict::Intact { rows: 2 }
    );
    let written: i64 = raw(&db)
        .query_row("SELECT count(*) FROM events WHERE run_id = 'R2'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(written, 0, "nothing of the refused batch was written");
}

const GATED: &str = r#"
name = "gated"
[[step]]
id = "deploy"
run = "true"
gate = { prompt = "Ship?" }
[[step]]
id = "after"
needs = ["deploy"]
run = "touch after-ran"
"#;

/// The engine stopped at a gate; one inserted `step_state_changed` (deploy → succeeded)
/// would make resume run `after`. With the key configured, every replay refuses it.
#[test]
fn a_gate_passed_by_an_inserted_event_is_refused_on_resume_show_follow_and_takeover() {
    let env = Env::new();
    let wf = env.workflow("w.toml", GATED);
    let mut child = env
        .cmd()
        .args(["run", wf.to_str().unwrap(), "--headless"])
        .env("BATON_AUDIT_KEY", KEY)
        .env("BATON_AUDIT_KEY_ID", "k1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let run = env.wait_run_id();
    env.wait_step(&run, "deploy", "waiting_approval", 20);
    child.kill().unwrap();
    let _ = child.wait();

    // The console follows the run (key configured) before the attack.
    let mut store = Store::open_read_only(&env.db()).unwrap();
    store.set_audit_keys(keys());
    let mut follow = baton::session::Follow::default();
    follow.open(&store, &run);
    assert!(follow.view(&store).is_some(), "{:?}", follow.error());

    // The attack: one event appended with the attacker's hash, the head moved to it.
    let c = Connection::open(env.db()).unwrap();
    let (key, at, json): (i64, i64, String) = c
        .query_row(
            "SELECT r.key, e.at, e.json FROM events e JOIN runs r ON r.id = e.run_id
             WHERE e.run_id = ?1 AND e.type = 'step_state_changed' AND e.step = 'deploy'
             ORDER BY e.seq DESC LIMIT 1",
            [&run],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    let (last, hash): (i64, Vec<u8>) = c
        .query_row(
            "SELECT seq, hash FROM events WHERE run_id = ?1 AND head_mac IS NOT NULL",
            [&run],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let mut ev: serde_json::Value = serde_json::from_str(&json).unwrap();
    ev["seq"] = (last + 1).into();
    ev["state"] = "succeeded".into();
    let forged = ev.to_string();
    let forged_hash = event_hash(&hash, &run, (last + 1) as u64, &forged);
    c.execute(
        "INSERT INTO events (id, run_id, seq, at, type, step, json, hash)
         VALUES ((?1 << 32) + ?2, ?3, ?2, ?4, 'step_state_changed', 'deploy', ?5, ?6)",
        params![key, last + 1, run, at, forged, &forged_hash[..]],
    )
    .unwrap();
    forge_mark(&c, &run, (last + 1) as u64, &forged_hash);

    let refused_at = format!("at event {}", last + 1);
    // The console drops the run and says why.
    assert!(follow.update(&store));
    assert!(follow.view(&store).is_none());
    let why = follow.error().unwrap_or_default().to_string();
    assert!(why.contains(&refused_at), "{why}");
    let keyed = |args: &[&str]| {
        env.cmd()
            .args(args)
            .env("BATON_AUDIT_KEY", KEY)
            .env("BATON_AUDIT_KEY_ID", "k1")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    };
    for args in [
        vec!["resume", run.as_str(), "--headless"],
        vec!["show", run.as_str()],
        vec!["cancel", run.as_str()],
    ] {
        let o = keyed(&args);
        assert_eq!(o.status.code(), Some(3), "{args:?}: {}", all(&o));
        assert!(all(&o).contains(&refused_at), "{args:?}: {}", all(&o));
    }
    // Without the key nothing can be checked, but nothing is recorded either: the store
    // is keyed, so resume (a writer) is refused before it acts.
    let o = env.run(&["resume", &run, "--headless"]);
    assert_eq!(o.status.code(), Some(2), "{}", all(&o));
    assert!(
        all(&o).contains("BATON_AUDIT_KEY is not set"),
        "{}",
        all(&o)
    );
    assert!(
        !env.path().join("after-ran").exists(),
        "the gated step's dependant ran"
    );
    let o = keyed(&["audit", "verify"]);
    assert_eq!(o.status.code(), Some(1), "{}", all(&o));
    assert!(
        all(&o).contains(&format!("BROKEN at event {} of run {run}", last + 1)),
        "{}",
        all(&o)
    );
}

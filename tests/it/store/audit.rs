//! The audit chain through the store: decisions become rows, tampering with plain SQL
//! is detected and named, HMAC keys rotate.

use crate::helpers::*;
use baton::model::{RunState, StepState};
use baton::store::{AuditKeys, AuditVerdict, Store};

fn decisions(sc: &mut Script) {
    sc.started()
        .gate_opened("deploy", "d1", &[])
        .state("deploy", StepState::WaitingApproval, 0)
        .vote_refused("deploy", "alice", "self-approval")
        .approved("deploy", "bob", "looks right", "d1")
        .ok_step("deploy")
        .run_finished(RunState::Succeeded);
}

fn keys(pairs: &[(&str, &str)]) -> AuditKeys {
    let owned: Vec<(String, String)> = pairs
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    AuditKeys::from_vars(move |n| owned.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()))
}

#[test]
fn decisions_are_audited_in_order_and_the_chain_verifies() {
    let db = db();
    let mut s = store_with_run(&db, "R1");
    s.set_audit_keys(AuditKeys::default());
    let mut sc = Script::new("R1");
    decisions(&mut sc);
    let evs = sc.take();
    s.commit("R1", &evs).unwrap();
    let rows = s.audit("R1").unwrap();
    let actions: Vec<_> = rows
        .iter()
        .map(|r| (r.action.as_str(), r.actor.as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            ("run_started", "alice"),
            ("gate_opened", "engine"),
            ("command_refused", "alice"),
            ("approval_vote", "bob"),
            ("approved", "bob"),
            ("run_finished", "engine")
        ]
    );
    assert_eq!(rows[3].reason.as_deref(), Some("looks right"));
    assert_eq!(rows[2].step.as_deref(), Some("deploy"));
    assert!(rows.iter().all(|r| r.key_id.is_none()));
    assert_eq!(
        s.verify_audit(Some("R1")).unwrap(),
        AuditVerdict::Intact { rows: 6 }
    );

    // A second run shares the one global chain.
    s.create_run(&new_run("R2", 2)).unwrap();
    let mut sc2 = Script::new("R2");
    sc2.started().run_finished(RunState::Failed);
    s.commit("R2", &sc2.take()).unwrap();
    assert_eq!(s.audit("R2").unwrap()[0].id, 7);
    assert_eq!(
        s.verify_audit(None).unwrap(),
        AuditVerdict::Intact { rows: 8 }
    );
    assert_eq!(
        s.verify_audit(Some("R2")).unwrap(),
        AuditVerdict::Intact { rows: 2 }
    );
}

#[test]
fn an_altered_row_is_named() {
    let db = db();
    let mut s = store_with_run(&db, "R1");
    s.set_audit_keys(AuditKeys::default());
    let mut sc = Script::new("R1");
    decisions(&mut sc);
    s.commit("R1", &sc.take()).unwrap();
    raw(&db)
        .execute("UPDATE audit SET reason = 'forged' WHERE id = 4", [])
        .unwrap();
    match s.verify_audit(Some("R1")).unwrap() {
        AuditVerdict::Broken {
            row_id,
            run_id,
            reason,
        } => {
            assert_eq!(row_id, 4);
            assert_eq!(run_id.as_deref(), Some("R1"));
            assert!(reason.contains("altered"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_deleted_row_is_named_in_the_middle_and_at_the_end() {
    let db = db();
    let mut s = store_with_run(&db, "R1");
    s.set_audit_keys(AuditKeys::default());
    let mut sc = Script::new("R1");
    decisions(&mut sc);
    s.commit("R1", &sc.take()).unwrap();
    let c = raw(&db);
    c.execute("DELETE FROM audit WHERE id = 3", []).unwrap();
    assert!(matches!(
        s.verify_audit(None).unwrap(),
        AuditVerdict::Broken {
            row_id: 3,
            run_id: None,
            ..
        }
    ));

    let db2 = crate::helpers::db();
    let mut s2 = store_with_run(&db2, "R1");
    s2.set_audit_keys(AuditKeys::default());
    let mut sc = Script::new("R1");
    decisions(&mut sc);
    s2.commit("R1", &sc.take()).unwrap();
    raw(&db2)
        .execute("DELETE FROM audit WHERE id = 6", [])
        .unwrap();
    assert!(matches!(
        s2.verify_audit(None).unwrap(),
        AuditVerdict::Broken { row_id: 6, .. }
    ));
}

#[test]
fn hmac_rows_carry_the_key_id_and_still_verify_after_rotation() {
    let db = db();
    let mut s = store_with_run(&db, "R1");
    s.set_audit_keys(keys(&[
        ("BATON_AUDIT_KEY", "first-secret"),
        ("BATON_AUDIT_KEY_ID", "k1"),
    ]));
    let mut sc = Script::new("R1");
    sc.started();
    s.commit("R1", &sc.take()).unwrap();
    // Rotate: the old key moves to BATON_AUDIT_KEYS, a new one signs.
    s.set_audit_keys(keys(&[
        ("BATON_AUDIT_KEY", "second-secret"),
        ("BATON_AUDIT_KEY_ID", "k2"),
        ("BATON_AUDIT_KEYS", "k1=first-secret"),
    ]));
    sc.run_finished(RunState::Succeeded);
    s.commit("R1", &sc.take()).unwrap();
    let ids: Vec<_> = s
        .audit("R1")
        .unwrap()
        .into_iter()
        .map(|r| r.key_id)
        .collect();
    assert_eq!(ids, [Some("k1".to_string()), Some("k2".to_string())]);
    assert_eq!(
        s.verify_audit(None).unwrap(),
        AuditVerdict::Intact { rows: 2 }
    );

    // Without the old key, row 1 cannot be checked: reported, not passed.
    let mut v = Store::open(&db.path).unwrap();
    v.set_audit_keys(keys(&[
        ("BATON_AUDIT_KEY", "second-secret"),
        ("BATON_AUDIT_KEY_ID", "k2"),
    ]));
    assert_eq!(
        v.verify_audit(None).unwrap(),
        AuditVerdict::KeyMissing {
            row_id: 1,
            run_id: "R1".into(),
            key_id: "k1".into()
        }
    );
    // Someone who re-hashes an edited row without the key is caught.
    let c = raw(&db);
    c.execute("UPDATE audit SET actor = 'mallory' WHERE id = 2", [])
        .unwrap();
    v.set_audit_keys(keys(&[(
        "BATON_AUDIT_KEYS",
        "k1=first-secret,k2=second-secret",
    )]));
    assert!(matches!(
        v.verify_audit(None).unwrap(),
        AuditVerdict::Broken { row_id: 2, .. }
    ));
}

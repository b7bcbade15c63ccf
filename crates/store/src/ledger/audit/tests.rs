use super::*;

fn chain(n: i64, keys: &AuditKeys) -> Vec<AuditRow> {
    let mut rows: Vec<AuditRow> = Vec::new();
    for i in 1..=n {
        let d = Decision {
            actor: "alice".into(),
            action: baton_model::AuditAction::Approved,
            step: Some("deploy".into()),
            reason: Some(format!("r{i}")),
            details: serde_json::json!({"n": i}),
            summary: String::new(),
        };
        let prev = rows.last().map_or(GENESIS.to_string(), |r| r.hash.clone());
        rows.push(seal(
            i,
            "run1",
            Some(i as u64),
            Timestamp(i),
            &d,
            prev,
            keys,
        ));
    }
    rows
}

fn head(rows: &[AuditRow]) -> Option<AuditHead> {
    keyed_head(rows, &AuditKeys::default())
}

fn keyed_head(rows: &[AuditRow], keys: &AuditKeys) -> Option<AuditHead> {
    rows.last().map(|r| AuditHead::seal(r.id, &r.hash, keys))
}

#[test]
fn intact_chain_verifies_and_counts() {
    let k = AuditKeys::default();
    let rows = chain(5, &k);
    let h = head(&rows);
    assert_eq!(
        verify_rows(rows, h, &k, None, Heads::for_keys(&k)),
        AuditVerdict::Intact { rows: 5 }
    );
}

#[test]
fn altered_row_is_named() {
    let k = AuditKeys::default();
    let mut rows = chain(5, &k);
    let h = head(&rows);
    rows[2].reason = Some("forged".into());
    let v = verify_rows(rows, h, &k, None, Heads::for_keys(&k));
    assert!(matches!(v, AuditVerdict::Broken { row_id: 3, .. }), "{v:?}");
}

#[test]
fn rehashed_row_is_named_by_its_successor_link() {
    let k = AuditKeys::default();
    let mut rows = chain(5, &k);
    let h = head(&rows);
    rows[1].actor = "mallory".into();
    rows[1].hash = rows[1].expected_hash(&k).unwrap();
    let v = verify_rows(rows, h, &k, None, Heads::for_keys(&k));
    assert!(matches!(v, AuditVerdict::Broken { row_id: 2, .. }), "{v:?}");
}

#[test]
fn deleted_rows_are_named_in_the_middle_and_at_the_tail() {
    let k = AuditKeys::default();
    let mut rows = chain(5, &k);
    let h = head(&rows);
    rows.remove(1);
    let v = verify_rows(rows.clone(), h.clone(), &k, None, Heads::for_keys(&k));
    assert!(
        matches!(
            v,
            AuditVerdict::Broken {
                row_id: 2,
                run_id: None,
                ..
            }
        ),
        "{v:?}"
    );
    let mut rows = chain(5, &k);
    rows.pop();
    let v = verify_rows(rows, h, &k, None, Heads::for_keys(&k));
    assert!(matches!(v, AuditVerdict::Broken { row_id: 5, .. }), "{v:?}");
}

#[test]
fn hmac_rows_need_their_key_and_verify_after_rotation() {
    let get = |m: &'static [(&'static str, &'static str)]| {
        move |n: &str| m.iter().find(|(k, _)| *k == n).map(|(_, v)| v.to_string())
    };
    let old = AuditKeys::from_vars(get(&[
        ("BATON_AUDIT_KEY", "s3cret"),
        ("BATON_AUDIT_KEY_ID", "k1"),
    ]));
    let rows = chain(3, &old);
    assert_eq!(rows[0].key_id.as_deref(), Some("k1"));
    // Plain SHA-256 would give a different hash: the key matters.
    assert_ne!(rows[0].hash, {
        let mut r = rows[0].clone();
        r.key_id = None;
        r.expected_hash(&AuditKeys::default()).unwrap()
    });
    let h = keyed_head(&rows, &old);
    let rotated = AuditKeys::from_vars(get(&[
        ("BATON_AUDIT_KEY", "new"),
        ("BATON_AUDIT_KEY_ID", "k2"),
        ("BATON_AUDIT_KEYS", "k1=s3cret"),
    ]));
    assert_eq!(
        verify_rows(
            rows.clone(),
            h.clone(),
            &rotated,
            None,
            Heads::for_keys(&rotated)
        ),
        AuditVerdict::Intact { rows: 3 }
    );
    let wrong = AuditKeys::from_vars(get(&[("BATON_AUDIT_KEYS", "k1=guess")]));
    assert!(matches!(
        verify_rows(
            rows.clone(),
            h.clone(),
            &wrong,
            None,
            Heads::for_keys(&wrong)
        ),
        AuditVerdict::Broken { row_id: 1, .. }
    ));
    let none = AuditKeys::default();
    assert_eq!(
        verify_rows(rows, h, &none, None, Heads::for_keys(&none)),
        AuditVerdict::KeyMissing {
            row_id: 1,
            run_id: "run1".into(),
            key_id: "k1".into()
        }
    );
}

/// `rows` with the rows of `run` redacted and a `run_deleted` row appended.
fn delete_run(mut rows: Vec<AuditRow>, run: &str, keys: &AuditKeys) -> Vec<AuditRow> {
    let mut ids = Vec::new();
    for r in rows.iter_mut().filter(|r| r.run_id == run) {
        *r = redact(r);
        ids.push(r.id);
    }
    let last = rows.last().unwrap();
    let d = deletion(
        "root",
        "baton runs rm",
        serde_json::json!({ "redacted_rows": ids }),
    );
    let row = seal(
        last.id + 1,
        run,
        None,
        Timestamp(99),
        &d,
        last.hash.clone(),
        keys,
    );
    rows.push(row);
    rows
}

fn two_runs(keys: &AuditKeys) -> Vec<AuditRow> {
    let mut rows = chain(6, keys);
    for r in rows.iter_mut().filter(|r| r.id % 2 == 0) {
        r.run_id = "run2".into();
    }
    // Re-seal so the run ids are part of the hashes.
    let mut prev = GENESIS.to_string();
    for r in rows.iter_mut() {
        r.prev_hash = prev;
        r.hash = String::new();
        let d = Decision {
            actor: r.actor.clone(),
            action: AuditAction::Approved,
            step: r.step.clone(),
            reason: r.reason.clone(),
            details: serde_json::from_str(&r.details).unwrap(),
            summary: String::new(),
        };
        *r = seal(
            r.id,
            &r.run_id.clone(),
            r.seq,
            r.at,
            &d,
            r.prev_hash.clone(),
            keys,
        );
        prev = r.hash.clone();
    }
    rows
}

#[test]
fn a_deleted_runs_rows_verify_once_its_deletion_is_on_record() {
    let k = AuditKeys::default();
    let rows = delete_run(two_runs(&k), "run2", &k);
    assert_eq!(rows.iter().filter(|r| r.action == REDACTED).count(), 3);
    assert!(rows[1].reason.is_none() && rows[1].details == "{}");
    let h = head(&rows);
    assert_eq!(
        verify_rows(rows.clone(), h.clone(), &k, None, Heads::for_keys(&k)),
        AuditVerdict::Intact { rows: 7 }
    );
    // Tampering elsewhere still shows.
    let mut forged = rows.clone();
    forged[2].reason = Some("forged".into());
    assert!(matches!(
        verify_rows(forged, h.clone(), &k, None, Heads::for_keys(&k)),
        AuditVerdict::Broken { row_id: 3, .. }
    ));
}

#[test]
fn blanking_a_row_no_deletion_accounts_for_is_a_break() {
    let k = AuditKeys::default();
    let rows = delete_run(two_runs(&k), "run2", &k);
    let h = head(&rows);
    // A row of the run that was not deleted, blanked to hide a decision.
    let mut hidden = rows.clone();
    hidden[0] = redact(&hidden[0]);
    let v = verify_rows(hidden, h.clone(), &k, None, Heads::for_keys(&k));
    assert!(
        matches!(&v, AuditVerdict::Broken { row_id: 1, run_id: Some(r), .. } if r == "run1"),
        "{v:?}"
    );
    // Without the deletion row (the tail cut back to it), the redactions are unaccounted.
    let mut cut = rows.clone();
    cut.pop();
    let h2 = head(&cut);
    let v = verify_rows(cut, h2, &k, None, Heads::for_keys(&k));
    assert!(matches!(v, AuditVerdict::Broken { row_id: 2, .. }), "{v:?}");
    // A deletion row that lists rows of another run does not cover them.
    let mut rows = two_runs(&k);
    rows[0] = redact(&rows[0]);
    let last = rows.last().unwrap().clone();
    let d = deletion("root", "rm", serde_json::json!({ "redacted_rows": [1] }));
    rows.push(seal(
        last.id + 1,
        "run2",
        None,
        Timestamp(99),
        &d,
        last.hash,
        &k,
    ));
    let h = head(&rows);
    assert!(matches!(
        verify_rows(rows, h, &k, None, Heads::for_keys(&k)),
        AuditVerdict::Broken { row_id: 1, .. }
    ));
}

fn key(id: &str, secret: &str) -> AuditKeys {
    let (id, secret) = (id.to_string(), secret.to_string());
    AuditKeys::from_vars(move |n| match n {
        "BATON_AUDIT_KEY" => Some(secret.clone()),
        "BATON_AUDIT_KEY_ID" => Some(id.clone()),
        _ => None,
    })
}

/// Rows `from..` rewritten as plain SHA-256 rows, the chain recomputed.
fn downgrade(mut rows: Vec<AuditRow>, from: usize) -> Vec<AuditRow> {
    for i in from..rows.len() {
        rows[i].key_id = None;
        rows[i].prev_hash = if i == 0 {
            GENESIS.to_string()
        } else {
            rows[i - 1].hash.clone()
        };
        rows[i].hash = rows[i].expected_hash(&AuditKeys::default()).unwrap();
    }
    rows
}

#[test]
fn an_unkeyed_row_after_a_keyed_one_fails_with_or_without_the_key() {
    let k = key("k1", "s");
    let rows = downgrade(chain(5, &k), 2);
    let h = head(&rows);
    for keys in [k.clone(), AuditKeys::default()] {
        let v = verify_rows(rows.clone(), h.clone(), &keys, None, Heads::for_keys(&keys));
        assert!(matches!(v, AuditVerdict::Broken { row_id: 3, .. }), "{v:?}");
    }
}

#[test]
fn a_head_without_the_key_fails_once_anything_is_keyed_or_a_key_is_configured() {
    let k = key("k1", "s");
    // A keyed chain cut back to row 3, its head rewritten without the key.
    let mut rows = chain(5, &k);
    rows.truncate(3);
    let v = verify_rows(rows.clone(), head(&rows), &k, None, Heads::Keyed);
    assert!(
        matches!(&v, AuditVerdict::Broken { row_id: 3, reason, .. } if reason.contains("not keyed")),
        "{v:?}"
    );
    // … or with a head keyed under a guessed key.
    let guessed = keyed_head(&rows, &key("k1", "guess"));
    let v = verify_rows(rows.clone(), guessed, &k, None, Heads::Keyed);
    assert!(
        matches!(&v, AuditVerdict::Broken { row_id: 3, reason, .. } if reason.contains("MAC")),
        "{v:?}"
    );
    // Entirely unkeyed: fine without a key, not with one, unless being adopted.
    let plain = chain(3, &AuditKeys::default());
    let h = head(&plain);
    assert!(verify_rows(plain.clone(), h.clone(), &k, None, Heads::AsFound).is_intact());
    assert!(matches!(
        verify_rows(plain.clone(), h.clone(), &k, None, Heads::Keyed),
        AuditVerdict::Broken { row_id: 3, .. }
    ));
    assert!(verify_rows(plain, h, &k, None, Heads::Adopting).is_intact());
    // The head's form round-trips, a key id with a colon included.
    let hd = AuditHead::seal(7, "abc", &key("team:ops", "s"));
    assert_eq!(AuditHead::parse(&hd.to_meta()), Some(hd));
}

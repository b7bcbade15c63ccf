//! The migrations' tests: a v1 store migrates and keeps its runs and events, and
//! migration 5 links the events it finds into keyed chains.
use super::*;
use crate::Store;
use baton_model::{Event, EventKind, StepState};

fn event(seq: u64, kind: EventKind) -> Event {
    Event {
        seq,
        at: Timestamp(1_700_000_000_000 + seq as i64),
        kind,
    }
}

fn state(seq: u64, state: StepState) -> Event {
    event(
        seq,
        EventKind::StepStateChanged {
            step: "build".into(),
            state,
            attempt: 1,
            reason: None,
        },
    )
}

/// A database as baton with schema v1 left it: runs R1 (with events `old`) and R2.
fn v1_store(path: &std::path::Path, old: &[Event]) {
    let c = Connection::open(path).unwrap();
    c.execute_batch(V1).unwrap();
    c.execute(
        "INSERT INTO migrations (version, description, applied_at) VALUES (1, 'initial schema', 0)",
        [],
    )
    .unwrap();
    c.pragma_update(None, "user_version", 1).unwrap();
    c.execute(
        "INSERT INTO runs (id, workflow, source_path, source_text, params_json, operator, state, started_at, last_seq)
         VALUES ('R1', 'w', 'w.toml', 'name = \"w\"', '{\"v\":\"1\"}', 'alice', 'running', 5, 3)",
        [],
    )
    .unwrap();
    c.execute(
        "INSERT INTO runs (id, workflow, source_path, source_text, params_json, operator, state, started_at)
         VALUES ('R2', 'w', 'w.toml', '', '{}', 'alice', 'pending', 6)",
        [],
    )
    .unwrap();
    for ev in old {
        c.execute(
            "INSERT INTO events (run_id, seq, at, type, step, json) VALUES ('R1', ?1, ?2, ?3, ?4, ?5)",
            rusqlite::params![
                ev.seq as i64,
                ev.at.0,
                ev.kind.name(),
                ev.kind.step(),
                serde_json::to_string(ev).unwrap()
            ],
        )
        .unwrap();
    }
}

#[test]
fn a_v1_database_migrates_and_keeps_its_runs_and_events() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("baton.db");
    let old = vec![
        event(
            1,
            EventKind::RunStarted {
                workflow: "w".into(),
                operator: "alice".into(),
                params: Default::default(),
                seed: 1,
                auto_approve: false,
                allowed_signers: None,
                slot: None,
                zone: None,
                parent: None,
            },
        ),
        state(2, StepState::Queued),
        state(3, StepState::Running),
    ];
    v1_store(&path, &old);
    let mut s = Store::open(&path).unwrap();
    assert_eq!(version(&s.conn).unwrap(), SCHEMA_VERSION);
    let applied: i64 = s
        .conn
        .query_row("SELECT count(*) FROM migrations", [], |r| r.get(0))
        .unwrap();
    assert_eq!(applied, SCHEMA_VERSION);
    let r = s.run("R1").unwrap();
    assert_eq!(
        (r.last_seq, r.started_at, r.source_text.as_str()),
        (3, Timestamp(5), "name = \"w\"")
    );
    // Migration 22 moved each run's text and params off its row, keeping them.
    assert_eq!(r.params_json, r#"{"v":"1"}"#);
    let on_runs: i64 = s
        .conn
        .query_row(
            "SELECT count(*) FROM pragma_table_info('runs')
             WHERE name IN ('source_text', 'params_json')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(on_runs, 0);
    assert_eq!(s.run("R2").unwrap().last_seq, 0);
    assert_eq!(s.events("R1").unwrap(), old);
    // The run goes on where it was.
    let more = vec![state(4, StepState::Succeeded)];
    s.commit("R1", &more).unwrap();
    assert_eq!(s.run("R1").unwrap().last_seq, 4);
    assert_eq!(s.events("R1").unwrap().len(), 4);
    assert_eq!(
        s.step_state("R1", "build").unwrap(),
        Some(StepState::Succeeded)
    );
    // A run created after the migration gets its own key: the logs stay apart.
    s.create_run(&crate::NewRun {
        id: "R3".into(),
        workflow: "w".into(),
        source_path: "w.toml".into(),
        source_text: String::new(),
        params_json: "{}".into(),
        operator: "alice".into(),
        started_at: Timestamp(7),
        parent: None,
        steps: vec![],
    })
    .unwrap();
    let r3 = vec![state(1, StepState::Queued), state(2, StepState::Running)];
    s.commit("R3", &r3).unwrap();
    s.commit("R2", &[state(1, StepState::Queued)]).unwrap();
    assert_eq!(s.events("R3").unwrap(), r3);
    assert_eq!(s.events("R1").unwrap().len(), 4);
    assert_eq!(s.events("R2").unwrap().len(), 1);
    assert_eq!(s.run("R3").unwrap().last_seq, 2);
    assert!(s.events("nope").unwrap().is_empty());
    // A seq past 32 bits would overlap the next run's keys: refused, nothing written.
    assert!(
        s.commit("R3", &[state(1 << 32, StepState::Failed)])
            .is_err()
    );
    assert_eq!(s.events("R3").unwrap(), r3);
    drop(s);
    // Opening again applies nothing more.
    let s = Store::open(&path).unwrap();
    assert_eq!(s.run("R1").unwrap().last_seq, 4);
    assert_eq!(s.events("R3").unwrap(), r3);
}

/// A store as schema v4 left it: `runs` of `events` without hashes or heads, and the
/// audit head in its old form.
fn v4_store(path: &std::path::Path, keys: &AuditKeys) {
    let mut s = Store::open(path).unwrap();
    s.set_audit_keys(keys.clone());
    for run in ["R1", "R2"] {
        s.create_run(&crate::NewRun {
            id: run.into(),
            workflow: "w".into(),
            source_path: "w.toml".into(),
            source_text: String::new(),
            params_json: "{}".into(),
            operator: "alice".into(),
            started_at: Timestamp(1),
            parent: None,
            steps: vec![],
        })
        .unwrap();
        let mut evs = vec![event(
            1,
            EventKind::RunStarted {
                workflow: "w".into(),
                operator: "alice".into(),
                params: Default::default(),
                seed: 1,
                auto_approve: false,
                allowed_signers: None,
                slot: None,
                zone: None,
                parent: None,
            },
        )];
        evs.extend((2..=4).map(|n| state(n, StepState::Queued)));
        s.commit(run, &evs).unwrap();
    }
    drop(s);
    let c = Connection::open(path).unwrap();
    let head: String = c
        .query_row("SELECT value FROM meta WHERE key = 'audit_head'", [], |r| {
            r.get(0)
        })
        .unwrap();
    let head = AuditHead::parse(&head).unwrap();
    c.execute_batch(&format!(
        "ALTER TABLE runs ADD COLUMN source_text TEXT NOT NULL DEFAULT '';
         ALTER TABLE runs ADD COLUMN params_json TEXT NOT NULL DEFAULT '{{}}';
         UPDATE runs SET (source_text, params_json) =
             (SELECT source_text, params_json FROM run_sources WHERE run_id = runs.id);
         DROP TABLE run_sources;
         DROP TABLE run_summaries;
         DROP TABLE run_forks;
         DROP TABLE run_parents;
         DROP TABLE artifacts;
         DROP TABLE link_requests;
         DROP TABLE ask_votes;
         DROP TABLE asks;
         DROP TABLE asks_rev;
         DROP INDEX audit_by_action;
         DROP TABLE group_members;
         DROP TABLE pool_slots;
         DROP TABLE pool_buckets;
         DROP TABLE run_seals;
         DROP TABLE schedules;
         DROP TABLE schedule_slots;
         DROP TABLE serve_files;
         DROP TABLE trigger_refusals; DROP TABLE triggers; DROP TABLE trigger_events; DROP TABLE passkey_counters; DROP TABLE steps_projected;
         DROP TRIGGER events_no_update;
         ALTER TABLE events DROP COLUMN hash;
         ALTER TABLE events DROP COLUMN head_key_id;
         ALTER TABLE events DROP COLUMN head_mac; ALTER TABLE events DROP COLUMN logs; ALTER TABLE events DROP COLUMN summary;
         CREATE TRIGGER events_no_update BEFORE UPDATE ON events
             BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
         ALTER TABLE commands DROP COLUMN claimed_by;
         DROP INDEX runs_by_rev;
         DROP INDEX runs_going_on;
         DROP INDEX runs_ended;
         DROP INDEX runs_by_workflow;
         DROP TABLE metric_totals;
         ALTER TABLE runs DROP COLUMN metrics_json;
         ALTER TABLE runs DROP COLUMN steps_total;
         ALTER TABLE runs DROP COLUMN steps_done;
         ALTER TABLE runs DROP COLUMN health;
         ALTER TABLE runs DROP COLUMN rev;
         ALTER TABLE runs DROP COLUMN began_at;
         ALTER TABLE runs DROP COLUMN ended_at;
         ALTER TABLE runs DROP COLUMN attempts_finished;
         ALTER TABLE runs DROP COLUMN attempts_failed;
         ALTER TABLE runs DROP COLUMN p50_ms;
         ALTER TABLE runs DROP COLUMN p95_ms;
         ALTER TABLE runs DROP COLUMN queue_depth;
         ALTER TABLE runs DROP COLUMN running;
         ALTER TABLE runs DROP COLUMN dealt_with;
         ALTER TABLE runs DROP COLUMN labels;
         ALTER TABLE attempts DROP COLUMN log_times;
         ALTER TABLE leases DROP COLUMN key_id;
         ALTER TABLE leases DROP COLUMN taking_over;
         DELETE FROM migrations WHERE version >= 5;
         UPDATE meta SET value = '{}:{}' WHERE key = 'audit_head';
         PRAGMA user_version = 4;",
        head.id, head.hash
    ))
    .unwrap();
    undo_v7(&c);
}

/// Put back what migration 7 dropped (the columns nullable: no row needs a value).
fn undo_v7(c: &Connection) {
    let mut sql = String::new();
    for (table, columns) in [
        (
            "steps",
            &[
                "ord",
                "exit_code",
                "signal",
                "queued_at",
                "started_at",
                "finished_at",
                "duration_ms",
                "pgid",
                "reason",
            ][..],
        ),
        (
            "attempts",
            &[
                "started_at",
                "finished_at",
                "outcome_json",
                "exit_code",
                "signal",
                "pgid",
            ],
        ),
        ("errors", &["json"]),
        ("runs", &["summary"]),
    ] {
        for col in columns {
            sql.push_str(&format!("ALTER TABLE {table} ADD COLUMN {col};\n"));
        }
    }
    sql.push_str(
        "CREATE INDEX steps_by_order ON steps(run_id, ord);
         CREATE TABLE outputs (run_id TEXT NOT NULL, step_id TEXT NOT NULL, key TEXT NOT NULL,
             value TEXT NOT NULL, attempt INTEGER NOT NULL,
             PRIMARY KEY (run_id, step_id, key)) WITHOUT ROWID;",
    );
    c.execute_batch(&sql).unwrap();
}

#[test]
fn migration_5_links_the_stored_events_keyed_if_there_is_a_key() {
    let key = AuditKeys::from_vars(|n| (n == "BATON_AUDIT_KEY").then(|| "k".to_string()));
    for keys in [AuditKeys::default(), key.clone()] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("baton.db");
        v4_store(&path, &keys);
        let mut c = Connection::open(&path).unwrap();
        migrate(&mut c, &keys).unwrap();
        assert_eq!(version(&c).unwrap(), SCHEMA_VERSION);
        drop(c);
        let mut s = Store::open_keyed(&path, keys.clone()).unwrap();
        assert!(s.verify_audit(None).unwrap().is_intact());
        assert_eq!(s.events("R2").unwrap().len(), 4);
        // Stored without a key: a key configured later finds it not keyed, until sealed.
        s.set_audit_keys(key.clone());
        if !keys.configured() {
            assert!(!s.verify_audit(None).unwrap().is_intact());
            assert!(matches!(
                s.events("R1"),
                Err(StoreError::Tampered { seq: 4, .. })
            ));
            assert_eq!(
                s.seal().unwrap(),
                crate::Sealed::Done {
                    runs: 2,
                    audit: true
                }
            );
        }
        assert!(s.verify_audit(None).unwrap().is_intact());
        assert_eq!(s.events("R1").unwrap().len(), 4);
        s.commit("R1", &[state(5, StepState::Running)]).unwrap();
        assert!(s.verify_audit(None).unwrap().is_intact());
    }
}

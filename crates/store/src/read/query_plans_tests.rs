//! Issue 29: what `runs --json`, `metrics`, `gc` and `audit verify RUN` read of a store of any
//! size. Their queries never scan a history table (`events`, `steps`, `attempts`,
//! `errors`, `approvals`, `audit`): one pass over `runs` at most, else index lookups.
use super::Store;
use crate::ledger::rows::AUDIT_SELECT;

/// The steps of `sql`'s query plan (SQLite's `EXPLAIN QUERY PLAN` details).
fn plan(s: &Store, sql: &str) -> Vec<String> {
    let mut st = s
        .conn
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .unwrap();
    let n = st.column_count();
    let nulls = vec![rusqlite::types::Null; st.parameter_count()];
    st.query_map(rusqlite::params_from_iter(nulls), |r| {
        r.get::<_, String>(n - 1)
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

/// A scan of anything but `runs`, if the plan has one.
fn scans_history(steps: &[String]) -> Option<&String> {
    steps
        .iter()
        .find(|d| d.starts_with("SCAN") && !d.starts_with("SCAN runs"))
}

#[test]
fn the_run_list_signals_gc_and_one_runs_audit_rows_scan_no_history_table() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(&dir.path().join("p.db")).unwrap();
    for sql in [
        super::run_counts::SIGNALS_SELECT.to_string(),
        format!("SELECT id, {} FROM runs", crate::delete::ENDED_AT),
        format!("{AUDIT_SELECT} WHERE run_id = ?1 ORDER BY id"),
        format!("{AUDIT_SELECT} WHERE id = ?1"),
        "SELECT state FROM steps WHERE run_id = ?1 AND step_id = ?2".into(),
        "SELECT json FROM run_summaries WHERE run_id = ?1".into(),
        super::fan_counts::FANNED_ONE.into(),
    ] {
        let p = plan(&s, &sql);
        assert_eq!(scans_history(&p), None, "{sql}: {p:?}");
    }
    // `metrics` counts the ended runs by state from an index, no row of `runs`.
    let p = plan(&s, super::metrics::ENDED_RUNS);
    assert!(
        p.iter()
            .all(|d| d.contains("COVERING INDEX runs_ended") || !d.starts_with("SCAN")),
        "{p:?}"
    );
    // Every run's fan-out counts at once: the summaries of the runs with a fan-out
    // alone, through their partial index, never every step or every summary.
    let p = plan(&s, super::fan_counts::FANNED_ALL);
    assert!(
        p.iter().any(|d| d.contains("INDEX run_summaries_fanned"))
            && !p
                .iter()
                .any(|d| d == "SCAN steps" || d == "SCAN run_summaries"),
        "{p:?}"
    );
    // The guard itself: a grouped read of every step is a scan.
    let p = plan(&s, "SELECT state, count(*) FROM steps GROUP BY state");
    assert!(scans_history(&p).is_some(), "{p:?}");
}

/// The rows every step's transitions write build no temporary table: a partial index's
/// condition is evaluated on every write, and migration 10's `state IN (…)` made each
/// step write open and close one (migration 21 wrote it as comparisons).
#[test]
fn a_steps_writes_build_no_temporary_table() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(&dir.path().join("w.db")).unwrap();
    for sql in super::project::PER_STEP_WRITES {
        let mut st = s.conn.prepare(&format!("EXPLAIN {sql}")).unwrap();
        let nulls = vec![rusqlite::types::Null; st.parameter_count()];
        let ops: Vec<String> = st
            .query_map(rusqlite::params_from_iter(nulls), |r| r.get::<_, String>(1))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(ops.len() > 5, "{sql}: {ops:?}");
        assert!(
            !ops.iter()
                .any(|op| op == "OpenEphemeral" || op == "SorterOpen"),
            "{sql}: {ops:?}"
        );
    }
}

/// The tables of `s` with a column holding one of `values`.
fn tables_holding(s: &Store, values: [&str; 2]) -> Vec<String> {
    let tables: Vec<String> = s
        .conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut holders = Vec::new();
    for t in &tables {
        let cols: Vec<String> = s
            .conn
            .prepare(&format!("SELECT name FROM pragma_table_info('{t}')"))
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for c in cols {
            let n: i64 = s
                .conn
                .query_row(
                    &format!("SELECT count(*) FROM {t} WHERE {c} = ?1 OR {c} = ?2"),
                    values,
                    |r| r.get(0),
                )
                .unwrap();
            if n > 0 && !holders.contains(t) {
                holders.push(t.clone());
            }
        }
    }
    holders
}

/// A step's events from queued to succeeded, as the engine commits them.
fn step_events(step: &str) -> Vec<baton_model::EventKind> {
    use baton_model::{EventKind, StepOutcome, StepState};
    vec![
        EventKind::StepStateChanged {
            step: step.into(),
            state: StepState::Queued,
            attempt: 1,
            reason: None,
        },
        EventKind::StepStateChanged {
            step: step.into(),
            state: StepState::Running,
            attempt: 1,
            reason: None,
        },
        EventKind::StepProcess {
            step: step.into(),
            attempt: 1,
            pgid: 4242,
            output: None,
        },
        EventKind::StepFinished {
            step: step.into(),
            attempt: 1,
            outcome: StepOutcome::Exited { exit_code: 0 },
            duration_ms: 3,
            outputs: Default::default(),
            usage: Default::default(),
        },
        EventKind::StepStateChanged {
            step: step.into(),
            state: StepState::Succeeded,
            attempt: 1,
            reason: None,
        },
    ]
}

/// Issue 47: SQLite rewrites a whole row, overflow pages and all, on any UPDATE of it, so
/// the row that holds a run's workflow text (megabytes for a big run) must be one that a
/// step's commit never writes, or every step pays for the file's size. The tables that
/// hold the text are found by their content; temporary triggers record every write of
/// them while a run's steps are committed one by one, as the engine does.
#[test]
fn a_steps_commit_never_writes_the_row_that_holds_the_workflow_text() {
    use baton_model::{Event, EventKind, RunState, Timestamp};
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(&dir.path().join("t.db")).unwrap();
    // Several pages of text: it spills to overflow pages, as a big run's does.
    let text = format!(
        "name = \"w\"\n{}",
        "# a comment line of the workflow\n".repeat(2_000)
    );
    let params = format!(r#"{{"p":"{}"}}"#, "v".repeat(20_000));
    s.create_run(&crate::NewRun {
        id: "R".into(),
        workflow: "w".into(),
        source_path: "w.toml".into(),
        source_text: text.clone(),
        params_json: params.clone(),
        operator: "alice".into(),
        started_at: Timestamp(1),
        parent: None,
        steps: vec!["a".into(), "b".into()],
    })
    .unwrap();
    let holders = tables_holding(&s, [&text, &params]);
    assert!(!holders.is_empty(), "the workflow text is in no table");
    s.conn
        .execute_batch("CREATE TEMP TABLE written (tbl TEXT NOT NULL, how TEXT NOT NULL)")
        .unwrap();
    for t in &holders {
        for how in ["INSERT", "UPDATE", "DELETE"] {
            s.conn
                .execute_batch(&format!(
                    "CREATE TEMP TRIGGER watch_{t}_{how} AFTER {how} ON main.{t}
                     BEGIN INSERT INTO written VALUES ('{t}', '{how}'); END"
                ))
                .unwrap();
        }
    }
    let mut seq = 0;
    let mut commit = |s: &mut Store, kinds: Vec<EventKind>| {
        let evs: Vec<Event> = kinds
            .into_iter()
            .map(|kind| {
                seq += 1;
                Event {
                    seq,
                    at: Timestamp(1_700_000_000_000 + seq as i64),
                    kind,
                }
            })
            .collect();
        s.commit("R", &evs).unwrap();
    };
    // The run's own moves (started, finished) may write its row; its steps never the
    // text's: each step's events in a commit of their own, then each event alone.
    commit(
        &mut s,
        vec![EventKind::RunStateChanged {
            state: RunState::Running,
            reason: None,
        }],
    );
    commit(&mut s, step_events("a"));
    for k in step_events("b") {
        commit(&mut s, vec![k]);
    }
    commit(
        &mut s,
        vec![EventKind::RunFinished {
            state: RunState::Succeeded,
            summary: "2 succeeded".into(),
            dealt_with: vec![],
        }],
    );
    let written: Vec<(String, String)> = s
        .conn
        .prepare("SELECT tbl, how FROM temp.written")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(written, vec![], "the text is held by {holders:?}");
    // The run's record still reads back whole.
    let r = s.run("R").unwrap();
    assert_eq!((r.source_text, r.params_json), (text, params));
    assert_eq!(r.state, RunState::Succeeded);
}

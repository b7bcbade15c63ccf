//! Issue 29: what `runs --json`, `metrics`, `gc` and `audit verify RUN` read of a store of any
//! size. Their queries never scan a history table (`events`, `steps`, `attempts`,
//! `errors`, `approvals`, `audit`): one pass over `runs` at most, else index lookups.
use super::Store;
use super::query::AUDIT_SELECT;

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
        format!("SELECT id, {} FROM runs", super::delete::ENDED_AT),
        format!("{AUDIT_SELECT} WHERE run_id = ?1 ORDER BY id"),
        format!("{AUDIT_SELECT} WHERE id = ?1"),
        super::run_counts::DURATIONS.into(),
        "SELECT state FROM steps WHERE run_id = ?1 AND step_id = ?2".into(),
    ]
    .into_iter()
    .chain(super::metric_totals::SHARE_QUERIES.map(String::from))
    {
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
    // A run's fan-out counts read the index of instances alone, covering.
    let p = plan(&s, &super::fan_counts::fan_counts_sql());
    assert!(
        p.iter().any(|d| d.contains("COVERING INDEX steps_fanned")),
        "{p:?}"
    );
    // Every run's at once: a pass over that index alone, never over every step.
    let p = plan(&s, &super::fan_counts::every_runs_fan_counts_sql());
    assert!(
        p.iter().any(|d| d.contains("COVERING INDEX steps_fanned"))
            && !p.iter().any(|d| d == "SCAN steps"),
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

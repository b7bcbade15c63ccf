//! The sums of `baton metrics` kept as runs end (schema `METRIC_TOTALS`): each ended
//! run's share ([`Tallies`]) on its row (`runs.metrics_json`), and per workflow the
//! total of those shares (`metric_totals`). A share is counted from the run's own rows
//! (index ranges), and the totals change only here, by the difference between a run's
//! share as kept and as it is now, so they always equal the sum of the kept shares.
use super::StoreError;
use baton_model::StepState;
use baton_model::metric_tallies::Tallies;
use rusqlite::{Connection, OptionalExtension, params};

/// What [`share`] reads of one run (`?1`) beside its attempts' durations
/// (`run_counts::attempt_durations`): index ranges of its steps, attempts, errors,
/// and each opening of a gate paired with what next ended it
/// on the same step (a gate voided, the run was cancelled, or opened again was not
/// decided).
pub(super) const SHARE_QUERIES: [&str; 4] = [
    "SELECT state, count(*) FROM steps WHERE run_id = ?1 GROUP BY state",
    "SELECT state, count(*) FROM attempts WHERE run_id = ?1 GROUP BY state",
    "SELECT kind, severity, count(*), coalesce(sum(open != 0), 0) FROM errors
     WHERE run_id = ?1 GROUP BY kind, severity",
    "SELECT d.kind, d.at - o.at
     FROM approvals o
     JOIN approvals d ON d.id = (
         SELECT min(x.id) FROM approvals x
         WHERE x.run_id = o.run_id AND x.step = o.step AND x.id > o.id
           AND x.kind IN ('approved', 'rejected', 'timed_out', 'voided', 'opened'))
     WHERE o.run_id = ?1 AND o.kind = 'opened'
       AND d.kind IN ('approved', 'rejected', 'timed_out')",
];

/// One run's share, counted from its own rows: what its row keeps once it ends, and
/// what `metrics` adds for a run that goes on.
pub(super) fn share(conn: &Connection, run_id: &str) -> Result<Tallies, StoreError> {
    let mut t = Tallies::default();
    let [steps, attempts, errors, gate_waits] = SHARE_QUERIES;
    let mut st = conn.prepare_cached(steps)?;
    let mut rows = st.query([run_id])?;
    while let Some(r) = rows.next()? {
        if let Some(s) = StepState::parse(&r.get::<_, String>(0)?) {
            t.count_step(s, r.get::<_, i64>(1)? as u64);
        }
    }
    let mut st = conn.prepare_cached(attempts)?;
    let mut rows = st.query([run_id])?;
    while let Some(r) = rows.next()? {
        let state = r
            .get::<_, Option<String>>(0)?
            .and_then(|s| StepState::parse(&s));
        t.count_attempts(state, r.get::<_, i64>(1)? as u64);
    }
    let mut st = conn.prepare_cached(errors)?;
    let mut rows = st.query([run_id])?;
    while let Some(r) = rows.next()? {
        t.count_errors(
            r.get(0)?,
            r.get(1)?,
            r.get::<_, i64>(2)? as u64,
            r.get::<_, i64>(3)? as u64,
        );
    }
    for ms in super::run_counts::attempt_durations(conn, run_id)? {
        t.observe_duration(ms);
    }
    let mut st = conn.prepare_cached(gate_waits)?;
    let mut rows = st.query([run_id])?;
    while let Some(r) = rows.next()? {
        t.observe_gate_wait(r.get(0)?, r.get::<_, i64>(1)?.max(0) as u64);
    }
    Ok(t)
}

/// Keep the run's share on its row if it has `ended` (else none), and move its
/// workflow's totals by the difference. Called by the projection with the run's counts
/// (`run_counts::write`), in the same transaction.
pub(super) fn keep(conn: &Connection, run_id: &str, ended: bool) -> Result<(), StoreError> {
    let Some((workflow, old)) = kept(conn, run_id)? else {
        return Ok(());
    };
    let new = if ended {
        Some(share(conn, run_id)?)
    } else {
        None
    };
    if old == new {
        return Ok(());
    }
    move_totals(conn, &workflow, old.as_ref(), new.as_ref())?;
    conn.prepare_cached("UPDATE runs SET metrics_json = ?2 WHERE id = ?1")?
        .execute(params![
            run_id,
            new.as_ref().map(serde_json::to_string).transpose()?
        ])?;
    Ok(())
}

/// Take a run's kept share out of the totals: it is about to be deleted.
pub(super) fn forget(conn: &Connection, run_id: &str) -> Result<(), StoreError> {
    if let Some((workflow, Some(old))) = kept(conn, run_id)? {
        move_totals(conn, &workflow, Some(&old), None)?;
    }
    Ok(())
}

/// The totals of every ended run, per workflow.
pub(super) fn totals(conn: &Connection) -> Result<Vec<(String, Tallies)>, StoreError> {
    let mut st = conn.prepare_cached("SELECT workflow, json FROM metric_totals")?;
    let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    rows.map(|row| {
        let (wf, json) = row?;
        Ok((wf, serde_json::from_str(&json)?))
    })
    .collect()
}

/// Schema `METRIC_TOTALS`: the shares and totals of the runs that ended before it.
pub(super) fn backfill(conn: &Connection) -> Result<(), StoreError> {
    let ids: Vec<String> = conn
        .prepare("SELECT id FROM runs WHERE steps_total IS NOT NULL")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for id in ids {
        keep(conn, &id, true)?;
    }
    Ok(())
}

/// The run's workflow and its kept share; `None` if there is no such run.
fn kept(conn: &Connection, run_id: &str) -> Result<Option<(String, Option<Tallies>)>, StoreError> {
    let row: Option<(String, Option<String>)> = conn
        .prepare_cached("SELECT workflow, metrics_json FROM runs WHERE id = ?1")?
        .query_row([run_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    row.map(|(wf, json)| Ok((wf, json.map(|j| serde_json::from_str(&j)).transpose()?)))
        .transpose()
}

fn move_totals(
    conn: &Connection,
    workflow: &str,
    old: Option<&Tallies>,
    new: Option<&Tallies>,
) -> Result<(), StoreError> {
    let json: Option<String> = conn
        .prepare_cached("SELECT json FROM metric_totals WHERE workflow = ?1")?
        .query_row([workflow], |r| r.get(0))
        .optional()?;
    let mut t: Tallies = match json {
        Some(j) => serde_json::from_str(&j)?,
        None => Tallies::default(),
    };
    if let Some(o) = old {
        t.merge(o, false);
    }
    if let Some(n) = new {
        t.merge(n, true);
    }
    if t.is_empty() {
        conn.prepare_cached("DELETE FROM metric_totals WHERE workflow = ?1")?
            .execute([workflow])?;
    } else {
        conn.prepare_cached(
            "INSERT INTO metric_totals (workflow, json) VALUES (?1, ?2)
             ON CONFLICT (workflow) DO UPDATE SET json = excluded.json",
        )?
        .execute(params![workflow, serde_json::to_string(&t)?])?;
    }
    Ok(())
}

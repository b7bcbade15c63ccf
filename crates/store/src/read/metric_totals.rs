//! The sums of `baton metrics` kept as runs end (schema `METRIC_TOTALS`): each ended
//! run's share ([`Tallies`]) on its row (`runs.metrics_json`), and per workflow the
//! total of those shares (`metric_totals`). A share is the run's summary's
//! (`store::summaries`), and the totals change only here, by the difference between a
//! run's share as kept and as it is now, so they always equal the sum of the kept shares.
use super::StoreError;
use baton_model::metric_tallies::Tallies;
use baton_model::state_summary::StateSummary;
use rusqlite::{Connection, OptionalExtension, params};

/// One run's share, from its saved summary: what `metrics` adds for a run that goes on.
pub(crate) fn share(conn: &Connection, run_id: &str) -> Result<Tallies, StoreError> {
    Ok(super::summaries::load(conn, run_id)?.tallies)
}

/// Keep the run's share on its row if it has ended (`ended`: its summary; else none),
/// and move its workflow's totals by the difference. Called by the projection with the
/// run's counts (`run_counts::write`), in the same transaction.
pub(crate) fn keep(
    conn: &Connection,
    run_id: &str,
    ended: Option<&StateSummary>,
) -> Result<(), StoreError> {
    let Some((workflow, old)) = kept(conn, run_id)? else {
        return Ok(());
    };
    let new = ended.map(|s| s.tallies.clone());
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
pub(crate) fn forget(conn: &Connection, run_id: &str) -> Result<(), StoreError> {
    if let Some((workflow, Some(old))) = kept(conn, run_id)? {
        move_totals(conn, &workflow, Some(&old), None)?;
    }
    Ok(())
}

/// The totals of every ended run, per workflow.
pub(crate) fn totals(conn: &Connection) -> Result<Vec<(String, Tallies)>, StoreError> {
    let mut st = conn.prepare_cached("SELECT workflow, json FROM metric_totals")?;
    let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    rows.map(|row| {
        let (wf, json) = row?;
        Ok((wf, serde_json::from_str(&json)?))
    })
    .collect()
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

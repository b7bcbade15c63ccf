//! What migrations derive from the runs recorded before them (their part in Rust):
//! each run's counts, signals, share of the metric totals and summary, from its rows
//! and events, as the read side keeps them for runs recorded after.
use crate::error::StoreError;
use crate::ledger::rows::RUN_EVENTS;
use crate::read::summaries::replayed;
use crate::read::{metric_totals, project, run_counts, summaries};
use baton_model::Event;
use rusqlite::{Connection, params};

/// Schema `RUN_SIGNALS`: what every run recorded before it keeps of its golden
/// signals, from its events folded as one batch by the projection (from fresh rows).
pub(crate) fn signals(conn: &Connection) -> Result<(), StoreError> {
    let ids: Vec<String> = conn
        .prepare("SELECT id FROM runs")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut read = conn.prepare(&format!("SELECT e.json FROM {} ORDER BY e.id", RUN_EVENTS))?;
    for id in ids {
        let events: Vec<Event> = read
            .query_map([&id], |r| r.get::<_, String>(0))?
            .map(|j| Ok(serde_json::from_str(&j?)?))
            .collect::<Result<_, StoreError>>()?;
        let p = project::fold(&[], &events);
        let (finished, failed) = project::ended_attempts(&p, |_| Ok(None))?;
        conn.prepare_cached(
            "UPDATE runs SET began_at = ?2, ended_at = ?3, attempts_finished = ?4,
                attempts_failed = ?5
             WHERE id = ?1",
        )?
        .execute(params![
            id,
            p.run.began_at,
            p.run.ended_at.flatten(),
            finished as i64,
            failed as i64
        ])?;
        run_counts::write_signals(
            conn,
            &id,
            run_counts::Row::Moved,
            &replayed(conn, &id, &[])?.summary(),
        )?;
    }
    Ok(())
}

/// Schema `RUN_COUNTS`: the counts of every run recorded before it.
pub(crate) fn counts(conn: &Connection) -> Result<(), StoreError> {
    let ids: Vec<String> = conn
        .prepare("SELECT id FROM runs")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for id in ids {
        run_counts::write_counts(
            conn,
            &id,
            run_counts::Row::Moved,
            &replayed(conn, &id, &[])?.summary(),
        )?;
    }
    Ok(())
}

/// Schema `METRIC_TOTALS`: the shares and totals of the runs that ended before it.
pub(crate) fn totals(conn: &Connection) -> Result<(), StoreError> {
    let ids: Vec<String> = conn
        .prepare("SELECT id FROM runs WHERE steps_total IS NOT NULL")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for id in ids {
        let s = replayed(conn, &id, &[])?.summary();
        metric_totals::keep(conn, &id, Some(&s))?;
    }
    Ok(())
}

/// Schema `RUN_SUMMARIES`: the summary of every run recorded before it, from its rows
/// and events.
pub(crate) fn summaries(conn: &Connection) -> Result<(), StoreError> {
    let ids: Vec<String> = conn
        .prepare("SELECT id FROM runs")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for id in ids {
        summaries::save(conn, &id, &replayed(conn, &id, &[])?.summary())?;
    }
    Ok(())
}

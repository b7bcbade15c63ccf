//! Each run's summary (`model::state_summary`), saved with every commit in the same
//! transaction (`run_summaries`, schema `RUN_SUMMARIES`): what `runs`, the metrics and
//! the inbox read across runs, instead of folding the rows of every step, attempt,
//! error and approval again in SQL.
//!
//! The summary is the core's own (`Core::state_summary`, folded by its transitions as they
//! happen): an engine hands it with each commit and the store writes it as given. Only
//! a writer without a core (tests, tools: `Store::commit`), an attempt's log recorded
//! alone and the migration that added the table fold a run here, once, from its rows
//! and events ([`replayed`]).
use super::StoreError;
use baton_model::Event;
use baton_model::state_summary::{StateSummary, SummaryFold};
use rusqlite::{Connection, OptionalExtension, params};

/// The fold of run `run_id` from what the store holds now: its steps and attempts
/// (a row of each, however it was made), then its events in order, then `logs` (the
/// attempts' logs of a batch whose rows are not written yet).
pub(crate) fn replayed(
    conn: &Connection,
    run_id: &str,
    logs: &[super::AttemptLog],
) -> Result<SummaryFold, StoreError> {
    let steps: Vec<String> = conn
        .prepare_cached("SELECT step_id FROM steps WHERE run_id = ?1")?
        .query_map([run_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut fold = SummaryFold::new(steps.iter().map(String::as_str));
    let mut st = conn.prepare_cached("SELECT step_id, attempt FROM attempts WHERE run_id = ?1")?;
    let mut rows = st.query([run_id])?;
    while let Some(r) = rows.next()? {
        fold.log(r.get_ref(0)?.as_str()?, r.get::<_, i64>(1)? as u32);
    }
    let mut st = conn.prepare_cached(&format!(
        "SELECT e.json FROM {} ORDER BY e.id",
        crate::ledger::rows::RUN_EVENTS
    ))?;
    let mut rows = st.query([run_id])?;
    while let Some(r) = rows.next()? {
        let ev: Event = serde_json::from_str(r.get_ref(0)?.as_str()?)?;
        fold.apply(&ev);
    }
    for log in logs {
        fold.log(&log.step_id, log.attempt);
    }
    Ok(fold)
}

/// Save a run's summary (made or replaced), its attempts' counts as they are: what
/// migration 24's backfill runs, before the counts' columns (migration 41).
pub(crate) fn save(conn: &Connection, run_id: &str, s: &StateSummary) -> Result<(), StoreError> {
    write(conn, run_id, s, None)
}

/// Save a run's summary, adding `ended` (finished, failed: the attempts the batch
/// ended, `project::attempts_ended`) to the counts its row keeps beside the run's
/// (`run_counts::SIGNALS_SELECT` reads their sum).
pub(crate) fn save_counting(
    conn: &Connection,
    run_id: &str,
    s: &StateSummary,
    ended: (u64, u64),
) -> Result<(), StoreError> {
    write(conn, run_id, s, Some(ended))
}

/// The summary's JSON alone: (its row's update, a new row).
const JSON: [&str; 2] = [
    "UPDATE run_summaries SET json = ?4 WHERE run_id = ?1 AND waiting = ?2 AND fanned = ?3",
    "INSERT INTO run_summaries (run_id, waiting, fanned, json) VALUES (?1, ?2, ?3, ?4)
     ON CONFLICT (run_id) DO UPDATE SET waiting = excluded.waiting,
        fanned = excluded.fanned, json = excluded.json",
];

/// The JSON and the attempts' counts, added to (?5 finished, ?6 failed).
const COUNTING: [&str; 2] = [
    "UPDATE run_summaries SET json = ?4, attempts_finished = attempts_finished + ?5,
        attempts_failed = attempts_failed + ?6
     WHERE run_id = ?1 AND waiting = ?2 AND fanned = ?3",
    "INSERT INTO run_summaries (run_id, waiting, fanned, json, attempts_finished,
        attempts_failed) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
     ON CONFLICT (run_id) DO UPDATE SET waiting = excluded.waiting,
        fanned = excluded.fanned, json = excluded.json,
        attempts_finished = attempts_finished + excluded.attempts_finished,
        attempts_failed = attempts_failed + excluded.attempts_failed",
];

/// A statement that sets `waiting` or `fanned` rewrites the row's entries in their
/// partial indexes (`run_summaries_waiting`, `run_summaries_fanned`) even when the
/// values stay, one more page in the WAL each commit (a run waits while a step runs);
/// so the common commit, where only the summary's JSON and counts move, sets those
/// alone, and the row is written whole only when it is new or a flag changes.
fn write(
    conn: &Connection,
    run_id: &str,
    s: &StateSummary,
    ended: Option<(u64, u64)>,
) -> Result<(), StoreError> {
    let waiting = i64::from(s.waiting());
    let fanned = i64::from(!s.fans.is_empty());
    let json = serde_json::to_string(s)?;
    let (update, insert) = match ended {
        Some(_) => (COUNTING[0], COUNTING[1]),
        None => (JSON[0], JSON[1]),
    };
    let at = |sql: &str| -> Result<usize, StoreError> {
        let mut st = conn.prepare_cached(sql)?;
        Ok(match ended {
            Some((finished, failed)) => st.execute(params![
                run_id,
                waiting,
                fanned,
                json,
                finished as i64,
                failed as i64
            ])?,
            None => st.execute(params![run_id, waiting, fanned, json])?,
        })
    };
    if at(update)? > 0 {
        return Ok(());
    }
    at(insert)?;
    Ok(())
}

/// A run's saved summary; an empty one if it has none (no such run).
pub(crate) fn load(conn: &Connection, run_id: &str) -> Result<StateSummary, StoreError> {
    let json: Option<String> = conn
        .prepare_cached("SELECT json FROM run_summaries WHERE run_id = ?1")?
        .query_row([run_id], |r| r.get(0))
        .optional()?;
    Ok(match json {
        Some(j) => serde_json::from_str(&j)?,
        None => StateSummary::default(),
    })
}

#[cfg(test)]
mod tests;

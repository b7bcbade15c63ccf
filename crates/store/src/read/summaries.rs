//! Each run's summary (`model::state_summary`): what `runs`, the metrics and the inbox
//! read across runs, instead of folding the rows of every step, attempt, error and
//! approval again in SQL. Its row (`run_summaries`, schema `RUN_SUMMARIES`) is written
//! with the run's steps' and attempts' rows: by a commit that writes them, when their
//! patches wait (`commit::deferred`) only if its flags move. While they wait (the run's
//! watermark, `read::catch_up`), the run's last event carries the summary as of it and
//! the attempts ended since the row was written ([`EVENT_SUMMARY`]); every reader reads
//! the summary as of the run's last event ([`load`], [`now`]), and whoever brings the
//! rows up brings the row up from it ([`caught_up`]).
//!
//! The summary is the core's own (`Core::state_summary`, folded by its transitions as they
//! happen): an engine hands it with each commit and the store writes it as given. Only
//! a writer without a core (tests, tools: `Store::commit`), an attempt's log recorded
//! alone and the migration that added the table fold a run here, once, from its rows
//! and events ([`replayed`]).
use super::{Store, StoreError};
use baton_model::Event;
use baton_model::state_summary::{StateSummary, SummaryFold};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

/// Migration 44's column: on the run's last event while its rows lag, [`Carried`] as
/// JSON; emptied when the next commit appends after it (with its head mark).
pub(crate) const EVENT_SUMMARY: &str = "ALTER TABLE events ADD COLUMN summary TEXT;";

/// What the run's last event carries while its rows lag: the summary as of it, and the
/// attempts ended (finished, failed) that its summary's row does not count yet.
#[derive(Serialize)]
pub(crate) struct Carry<'a> {
    pub(crate) ended: (u64, u64),
    pub(crate) summary: &'a StateSummary,
}

/// [`Carry`] as read back.
#[derive(Deserialize)]
struct Carried {
    ended: (u64, u64),
    summary: StateSummary,
}

/// The run's flags as its summary's row holds them: (waiting, fanned); `None`: no row.
pub(crate) fn row_flags(
    conn: &Connection,
    run_id: &str,
) -> Result<Option<(bool, bool)>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT waiting, fanned FROM run_summaries WHERE run_id = ?1")?
        .query_row([run_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

/// A summary's flags as its row holds them: (waiting, fanned).
pub(crate) fn flags(s: &StateSummary) -> (bool, bool) {
    (s.waiting(), !s.fans.is_empty())
}

/// What the run's last event carries, if the run's rows lag and it carries one.
fn carried(conn: &Connection, run_id: &str) -> Result<Option<Carried>, StoreError> {
    if super::catch_up::watermark(conn, run_id)?.is_none() {
        return Ok(None);
    }
    let text: Option<String> = conn
        .prepare_cached(&format!(
            "SELECT e.summary FROM {} ORDER BY e.id DESC LIMIT 1",
            crate::ledger::rows::RUN_EVENTS
        ))?
        .query_row([run_id], |r| r.get(0))
        .optional()?
        .flatten();
    Ok(text.map(|t| serde_json::from_str(&t)).transpose()?)
}

/// Inside the transaction that brings the run's rows up to its events: its summary's
/// row takes what its last event carries (the summary, the attempts ended since).
pub(crate) fn caught_up(tx: &Connection, run_id: &str) -> Result<(), StoreError> {
    match carried(tx, run_id)? {
        Some(c) => save_counting(tx, run_id, &c.summary, c.ended),
        None => Ok(()),
    }
}

/// The run's summary as of its last event, and the attempts ended that its row does
/// not count yet: its row's, or while its rows lag what its last event carries.
pub(crate) fn now(
    conn: &Connection,
    run_id: &str,
) -> Result<(StateSummary, (u64, u64)), StoreError> {
    crate::tx::in_read_snapshot(conn, |conn| match carried(conn, run_id)? {
        Some(c) => Ok((c.summary, c.ended)),
        None => Ok((row(conn, run_id)?, (0, 0))),
    })
}

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
    let (waiting, fanned) = flags(s);
    let (waiting, fanned) = (i64::from(waiting), i64::from(fanned));
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

/// A run's summary as of its last event ([`now`]); an empty one if it has none (no
/// such run).
pub(crate) fn load(conn: &Connection, run_id: &str) -> Result<StateSummary, StoreError> {
    Ok(now(conn, run_id)?.0)
}

/// A run's summary as its row holds it; an empty one if it has none.
fn row(conn: &Connection, run_id: &str) -> Result<StateSummary, StoreError> {
    let json: Option<String> = conn
        .prepare_cached("SELECT json FROM run_summaries WHERE run_id = ?1")?
        .query_row([run_id], |r| r.get(0))
        .optional()?;
    Ok(match json {
        Some(j) => serde_json::from_str(&j)?,
        None => StateSummary::default(),
    })
}

impl Store {
    /// Run `run_id`'s summary as of its last event ([`now`]): what `runs`, the metrics
    /// and the inbox read of it.
    pub fn run_summary(&self, run_id: &str) -> Result<StateSummary, StoreError> {
        let r = load(&self.conn, run_id);
        self.ctx_run(run_id, r)
    }
}

#[cfg(test)]
mod tests;

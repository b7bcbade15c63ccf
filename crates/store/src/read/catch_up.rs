//! The watermark of the steps' and attempts' rows: how far into a run's events they
//! are projected. A commit may leave them behind its events (`lag`); whoever decides
//! from them across engines or processes brings them up to date first ([`catch_up`],
//! inside its write transaction, or [`Store::catch_up`]).
//!
//! A reader that cannot write (a read snapshot) reads a row as of the run's last event
//! instead: the row with the events after the watermark folded over it ([`step_now`],
//! [`steps_now_in`], [`attempt_state_now`]).
//!
//! `steps_projected` holds a row only for a run whose rows lag: the last event they
//! hold. No row: they hold every event of the run, so the common case costs one
//! lookup of an empty table. The fold is the same whatever the batching
//! (`project::fold`), so the events after the watermark, folded in bounded chunks and
//! written, leave the rows as committing them one by one would have.
use super::project;
use crate::error::StoreError;
use crate::ledger::Store;
use crate::ledger::rows::RUN_EVENTS;
use crate::tx::in_transaction;
use baton_model::Event;
use rusqlite::{Connection, OptionalExtension, params};

/// Migration 42's table.
pub(crate) const STEPS_PROJECTED: &str = r#"
CREATE TABLE steps_projected (
    run_id TEXT PRIMARY KEY REFERENCES runs(id),
    seq    INTEGER NOT NULL
) WITHOUT ROWID;
"#;

/// The most events [`catch_up`] reads and folds at once: memory stays bounded whatever
/// the lag.
const CHUNK: i64 = 512;

/// The last event of run `run_id` its steps' and attempts' rows hold, when they lag
/// its events (`None`: they hold every one).
pub(crate) fn watermark(conn: &Connection, run_id: &str) -> Result<Option<u64>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT seq FROM steps_projected WHERE run_id = ?1")?
        .query_row([run_id], |r| r.get::<_, i64>(0))
        .optional()?
        .map(|s| s as u64))
}

/// Record, inside the commit that appends events after `seq` without projecting them
/// into the steps' and attempts' rows, that those rows hold the run's events up to
/// `seq` only. A watermark already there stays: it is older.
#[cfg(test)]
pub(crate) fn lag(tx: &Connection, run_id: &str, seq: u64) -> Result<(), StoreError> {
    tx.prepare_cached("INSERT OR IGNORE INTO steps_projected (run_id, seq) VALUES (?1, ?2)")?
        .execute(params![run_id, seq as i64])?;
    Ok(())
}

/// Bring run `run_id`'s steps' and attempts' rows up to its last event, inside the
/// caller's write transaction: its events after the watermark, folded and written a
/// chunk at a time, the watermark moving with each. Nothing to do (one lookup) when
/// they are up to date. Returns how many events it projected.
pub(crate) fn catch_up(tx: &Connection, run_id: &str) -> Result<u64, StoreError> {
    let Some(mut mark) = watermark(tx, run_id)? else {
        return Ok(0);
    };
    let mut done = 0;
    loop {
        let events = after(tx, run_id, mark)?;
        let Some(last) = events.last().map(|e| e.seq) else {
            past_the_end(tx, run_id, mark)?;
            break;
        };
        let p = project::fold(&[], &events);
        project::write_steps(tx, run_id, &p)?;
        done += events.len() as u64;
        mark = last;
        tx.prepare_cached("UPDATE steps_projected SET seq = ?2 WHERE run_id = ?1")?
            .execute(params![run_id, mark as i64])?;
    }
    tx.prepare_cached("DELETE FROM steps_projected WHERE run_id = ?1")?
        .execute([run_id])?;
    Ok(done)
}

/// A watermark past the run's last event: rows that claim events the run does not
/// hold are not taken as caught up.
fn past_the_end(conn: &Connection, run_id: &str, mark: u64) -> Result<(), StoreError> {
    let last: Option<i64> = conn
        .prepare_cached(&format!("SELECT max(e.seq) FROM {RUN_EVENTS}"))?
        .query_row([run_id], |r| r.get(0))?;
    let last = last.unwrap_or(0) as u64;
    if mark > last {
        return Err(StoreError::Tampered {
            run_id: run_id.to_string(),
            seq: last,
            reason: format!("its steps' rows are marked projected to event {mark}"),
        });
    }
    Ok(())
}

/// At most [`CHUNK`] of the run's events after `seq`, in order.
fn after(conn: &Connection, run_id: &str, seq: u64) -> Result<Vec<Event>, StoreError> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT e.json FROM {RUN_EVENTS} AND e.id > (r.key << 32) + ?2 ORDER BY e.id LIMIT ?3"
    ))?;
    let mut rows = st.query(params![run_id, seq as i64, CHUNK])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(serde_json::from_str(r.get_ref(0)?.as_str()?)?);
    }
    Ok(out)
}

/// The run's events after the watermark, all of them (`None`: its rows hold every
/// one). A writer that leaves its rows behind bounds how far (`lag`), so this is
/// bounded too.
fn pending(conn: &Connection, run_id: &str) -> Result<Option<Vec<Event>>, StoreError> {
    let Some(mut mark) = watermark(conn, run_id)? else {
        return Ok(None);
    };
    let mut out: Vec<Event> = Vec::new();
    loop {
        let chunk = after(conn, run_id, mark)?;
        match chunk.last() {
            Some(e) => mark = e.seq,
            None => return Ok(Some(out)),
        }
        out.extend(chunk);
    }
}

/// A step's row as of the run's last event, read without writing (in a read snapshot
/// as well as in a write transaction): its row, with the events after the watermark
/// folded over it. (state, attempts); `None`: no row and no event made one.
pub(crate) fn step_now(
    conn: &Connection,
    run_id: &str,
    step: &str,
) -> Result<Option<(String, u32)>, StoreError> {
    let row: Option<(String, u32)> = conn
        .prepare_cached("SELECT state, attempts FROM steps WHERE run_id = ?1 AND step_id = ?2")?
        .query_row(params![run_id, step], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some(events) = pending(conn, run_id)? else {
        return Ok(row);
    };
    let p = project::fold(&[], &events);
    Ok(match p.steps.iter().find(|(s, _)| *s == step) {
        Some((_, ops)) => Some(over(row, ops)),
        None => row,
    })
}

/// The run's steps whose rows hold one of `states` as of its last event, read without
/// writing as [`step_now`] reads one: (step, attempts), by step id.
pub(crate) fn steps_now_in(
    conn: &Connection,
    run_id: &str,
    states: &[&str],
) -> Result<Vec<(String, u32)>, StoreError> {
    let pending = pending(conn, run_id)?;
    let mut rows: std::collections::BTreeMap<String, (String, u32)> = conn
        .prepare_cached("SELECT step_id, state, attempts FROM steps WHERE run_id = ?1")?
        .query_map([run_id], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))?
        .collect::<Result<_, _>>()?;
    if let Some(events) = &pending {
        for (step, ops) in project::fold(&[], events).steps {
            let now = over(rows.remove(step), &ops);
            rows.insert(step.to_string(), now);
        }
    }
    Ok(rows
        .into_iter()
        .filter(|(_, (state, _))| states.contains(&state.as_str()))
        .map(|(step, (_, attempts))| (step, attempts))
        .collect())
}

/// An attempt's row's state as of the run's last event, read without writing as
/// [`step_now`] reads a step's.
pub(crate) fn attempt_state_now(
    conn: &Connection,
    run_id: &str,
    step: &str,
    attempt: u32,
) -> Result<Option<String>, StoreError> {
    let row: Option<String> = conn
        .prepare_cached(
            "SELECT state FROM attempts WHERE run_id = ?1 AND step_id = ?2 AND attempt = ?3",
        )?
        .query_row(params![run_id, step, attempt], |r| {
            r.get::<_, Option<String>>(0)
        })
        .optional()?
        .flatten();
    let Some(events) = pending(conn, run_id)? else {
        return Ok(row);
    };
    let p = project::fold(&[], &events);
    Ok(p.attempts
        .iter()
        .find(|((s, a), _)| *s == step && *a == attempt)
        .and_then(|(_, ops)| ops.state.map(str::to_string))
        .or(row))
}

/// A step's row (`None`: none yet, a new one is `pending` with no attempts) with `ops`
/// applied, as `project`'s upsert applies them.
fn over(row: Option<(String, u32)>, ops: &project::StepOps) -> (String, u32) {
    let (state, attempts) = row.unwrap_or_else(|| ("pending".to_string(), 0));
    (
        ops.state.map_or(state, str::to_string),
        attempts.max(ops.attempts),
    )
}

impl Store {
    /// Bring run `run_id`'s steps' and attempts' rows up to its events ([`catch_up`]),
    /// before a decision that reads them. One read when they are (no write lock taken).
    pub fn catch_up(&self, run_id: &str) -> Result<(), StoreError> {
        let r = (|| {
            if watermark(&self.conn, run_id)?.is_none() {
                return Ok(());
            }
            in_transaction(&self.conn, |tx| catch_up(tx, run_id).map(|_| ()))
        })();
        self.ctx_run(run_id, r)
    }
}

#[cfg(test)]
#[path = "catch_up/tests.rs"]
mod tests;

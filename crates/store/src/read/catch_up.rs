//! The watermark of the steps' and attempts' rows: how far into a run's events they
//! are projected. A commit may leave them behind its events ([`lag`]); whoever decides
//! from them across engines or processes brings them up to date first ([`catch_up`],
//! inside its write transaction, or [`Store::catch_up`]).
//!
//! A reader that cannot write (a read snapshot) reads a row as of the run's last event
//! instead: the row with the events after the watermark folded over it ([`step_now`],
//! [`steps_now_in`], [`attempt_state_now`]), a bounded chunk at a time.
//!
//! `steps_projected` holds a row only for a run whose rows lag: the last event they
//! hold. No row: they hold every event of the run, so the common case costs one
//! lookup of an empty table. The fold is the same whatever the batching
//! (`project::fold`), so the events after the watermark, folded in bounded chunks and
//! written, leave the rows as committing them one by one would have.
//!
//! The watermark is a position in the run's event rows (`events.id` less the run's
//! key shifted, as the rows are read), never a value read from an event's JSON: each
//! chunk starts past the last row of the one before, so the walk ends whatever the
//! rows hold. A row whose JSON names another position than its own, or a watermark
//! past the last row, is refused ([`StoreError::Tampered`]): the group store's other
//! members can write these tables, and a forged row must stop a reader, not hold it.
//!
//! An event's `logs` column ([`logs`]) carries its batch's attempts' logs until their
//! rows hold them: the transaction that writes the rows and moves the watermark past
//! those events empties it ([`logs_held`]) when one of them holds a tail, so a tail is
//! kept once; carriers of paths alone (steps that printed nothing) stay, as the
//! emptying would rewrite every event page since the last write. The column is no
//! part of the event (its JSON, its chain hash, `events_no_update`'s columns), and a
//! reader folds it only past the watermark: it reads either the carrier or the row.
use super::project::{self, StepOps};
use crate::error::StoreError;
use crate::ledger::Store;
use crate::ledger::rows::RUN_EVENTS;
use crate::records::AttemptLog;
use crate::tx::{in_read_snapshot, in_transaction};
use baton_model::Event;
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::BTreeMap;

pub(crate) mod logs;

/// Migration 42's table.
pub(crate) const STEPS_PROJECTED: &str = r#"
CREATE TABLE steps_projected (
    run_id TEXT PRIMARY KEY REFERENCES runs(id),
    seq    INTEGER NOT NULL
) WITHOUT ROWID;
"#;

/// The most events a reader reads and folds at once: memory stays bounded whatever
/// the lag.
const CHUNK: i64 = 512;

/// The last event of run `run_id` its steps' and attempts' rows hold, when they lag
/// its events (`None`: they hold every one).
pub(crate) fn watermark(conn: &Connection, run_id: &str) -> Result<Option<u64>, StoreError> {
    let mark: Option<i64> = conn
        .prepare_cached("SELECT seq FROM steps_projected WHERE run_id = ?1")?
        .query_row([run_id], |r| r.get(0))
        .optional()?;
    match mark {
        Some(m) if m < 0 => Err(tampered(
            run_id,
            0,
            format!("its steps' rows are marked projected to event {m}"),
        )),
        m => Ok(m.map(|m| m as u64)),
    }
}

/// Record, inside the commit that appends events after `seq` without projecting them
/// into the steps' and attempts' rows, that those rows hold the run's events up to
/// `seq` only. A watermark already there stays: it is older.
pub(crate) fn lag(tx: &Connection, run_id: &str, seq: u64) -> Result<(), StoreError> {
    tx.prepare_cached("INSERT OR IGNORE INTO steps_projected (run_id, seq) VALUES (?1, ?2)")?
        .execute(params![run_id, seq as i64])?;
    Ok(())
}

/// Bring run `run_id`'s steps' and attempts' rows up to its last event, inside the
/// caller's write transaction: its events after the watermark, folded and written a
/// chunk at a time, and its summary's row (`summaries::caught_up`). Nothing to do (one lookup) when they are up to date. Returns how
/// many events it projected.
pub(crate) fn catch_up(tx: &Connection, run_id: &str) -> Result<u64, StoreError> {
    let Some(done) = each_pending(tx, run_id, |p| project::write_steps(tx, run_id, p))? else {
        return Ok(0);
    };
    // Before the watermark goes: the run's last event carries the summary as of it.
    super::summaries::caught_up(tx, run_id)?;
    projected(tx, run_id, true)?;
    Ok(done)
}

/// The run's steps' and attempts' rows hold every event: the watermark goes, and,
/// when one of them may hold a tail (`tails`), the logs its events past it carry
/// ([`logs_held`]).
pub(crate) fn projected(tx: &Connection, run_id: &str, tails: bool) -> Result<(), StoreError> {
    let mark: Option<i64> = tx
        .prepare_cached("DELETE FROM steps_projected WHERE run_id = ?1 RETURNING seq")?
        .query_row([run_id], |r| r.get(0))
        .optional()?;
    match mark {
        Some(mark) if tails => logs_held(tx, run_id, mark.max(0) as u64),
        _ => Ok(()),
    }
}

/// The attempts' rows of run `run_id` hold the logs its events after position `mark`
/// carry, in the caller's transaction: the column is emptied (the module's comment
/// says why it may be). One range of the run's rows (`id` is its key shifted plus the
/// position), rewriting only those that carry logs.
pub(crate) fn logs_held(tx: &Connection, run_id: &str, mark: u64) -> Result<(), StoreError> {
    tx.prepare_cached(
        "UPDATE events SET logs = NULL
         WHERE id > (SELECT (key << 32) + ?2 FROM runs WHERE id = ?1)
           AND id <= (SELECT (key << 32) + 4294967295 FROM runs WHERE id = ?1)
           AND logs IS NOT NULL",
    )?
    .execute(params![run_id, mark as i64])?;
    Ok(())
}

/// Fold the run's events after the watermark a chunk at a time, `each` taking each
/// chunk's projection. `None`: no watermark, the rows hold every event; else how many
/// events it folded.
fn each_pending(
    conn: &Connection,
    run_id: &str,
    mut each: impl FnMut(&project::Projection<'_>) -> Result<(), StoreError>,
) -> Result<Option<u64>, StoreError> {
    let Some(mut mark) = watermark(conn, run_id)? else {
        return Ok(None);
    };
    let mut done = 0;
    let mut started = logs::Started::default();
    loop {
        let (events, logs) = after(conn, run_id, mark)?;
        let Some(last) = events.last().map(|e| e.seq) else {
            past_the_end(conn, run_id, mark)?;
            return Ok(Some(done));
        };
        // A log touches only its row's log columns, the latest one kept: folded ahead
        // of the chunk's events, the logs of its batches leave what batch by batch does.
        each(&started.only(conn, run_id, project::fold(&logs, &events))?)?;
        done += events.len() as u64;
        mark = last;
    }
}

/// A watermark past the run's last event: rows that claim events the run does not
/// hold are not taken as caught up.
fn past_the_end(conn: &Connection, run_id: &str, mark: u64) -> Result<(), StoreError> {
    let last: Option<i64> = conn
        .prepare_cached(&format!(
            "SELECT max(e.id) - (r.key << 32) FROM {RUN_EVENTS}"
        ))?
        .query_row([run_id], |r| r.get(0))?;
    let last = last.unwrap_or(0) as u64;
    if mark > last {
        return Err(tampered(
            run_id,
            last,
            format!("its steps' rows are marked projected to event {mark}"),
        ));
    }
    Ok(())
}

/// At most [`CHUNK`] of the run's events whose rows lie past position `mark`, in
/// order, and the attempts' logs their rows carry ([`logs`]), in order. Each event's
/// own `seq` is its row's position, so the last one's is past `mark`: a row whose JSON
/// says otherwise is refused rather than folded.
fn after(
    conn: &Connection,
    run_id: &str,
    mark: u64,
) -> Result<(Vec<Event>, Vec<AttemptLog>), StoreError> {
    // A logs value over its bound is not fetched: SQLite reads a text whole to hand it
    // over, but `octet_length` from the record's header.
    let mut st = conn.prepare_cached(&format!(
        "SELECT e.id - (r.key << 32), e.json,
                CASE WHEN octet_length(e.logs) > ?4 THEN NULL ELSE e.logs END,
                octet_length(e.logs)
         FROM {RUN_EVENTS}
         AND e.id > (r.key << 32) + ?2 ORDER BY e.id LIMIT ?3"
    ))?;
    let bound = logs::COLUMN_MAX as i64;
    let mut rows = st.query(params![run_id, mark as i64, CHUNK, bound])?;
    let mut out: Vec<Event> = Vec::new();
    let mut all_logs: Vec<AttemptLog> = Vec::new();
    while let Some(r) = rows.next()? {
        let at = r.get::<_, i64>(0)? as u64;
        let ev: Event = serde_json::from_str(r.get_ref(1)?.as_str()?)?;
        if ev.seq != at || at <= mark {
            return Err(tampered(
                run_id,
                at,
                format!(
                    "the event row past its steps' watermark ({mark}) says it is event {}",
                    ev.seq
                ),
            ));
        }
        if let Some(size) = r.get::<_, Option<i64>>(3)? {
            logs::within(run_id, at, size.max(0) as u64)?;
        }
        if let Some(text) = r.get_ref(2)?.as_str_or_null()? {
            all_logs.extend(logs::decode(run_id, at, text)?);
        }
        out.push(ev);
    }
    Ok((out, all_logs))
}

fn tampered(run_id: &str, seq: u64, reason: String) -> StoreError {
    StoreError::Tampered {
        run_id: run_id.to_string(),
        seq,
        reason,
    }
}

/// A step's row as of the run's last event, read without writing, in one read
/// snapshot (or the caller's transaction): its row, with the events after the
/// watermark folded over it. (state, attempts); `None`: no row and no event made one.
pub(crate) fn step_now(
    conn: &Connection,
    run_id: &str,
    step: &str,
) -> Result<Option<(String, u32)>, StoreError> {
    in_read_snapshot(conn, |conn| {
        let mut ops: Option<StepOps> = None;
        each_pending(conn, run_id, |p| {
            if let Some((_, o)) = p.steps.iter().find(|(s, _)| *s == step) {
                ops.get_or_insert_with(StepOps::default).then(o.clone());
            }
            Ok(())
        })?;
        let row: Option<(String, u32)> = conn
            .prepare_cached("SELECT state, attempts FROM steps WHERE run_id = ?1 AND step_id = ?2")?
            .query_row(params![run_id, step], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        Ok(match ops {
            Some(ops) => Some(over(row, &ops)),
            None => row,
        })
    })
}

/// The run's steps whose rows hold one of `states` as of its last event, read without
/// writing as [`step_now`] reads one: (step, attempts), by step id.
pub(crate) fn steps_now_in(
    conn: &Connection,
    run_id: &str,
    states: &[&str],
) -> Result<Vec<(String, u32)>, StoreError> {
    Ok(steps_now(conn, run_id)?
        .into_iter()
        .filter(|(_, (state, _))| states.contains(&state.as_str()))
        .map(|(step, (_, attempts))| (step, attempts))
        .collect())
}

/// Every step's row of the run as of its last event, read as [`step_now`] reads one:
/// step id to (state, attempts).
pub(crate) fn steps_now(
    conn: &Connection,
    run_id: &str,
) -> Result<BTreeMap<String, (String, u32)>, StoreError> {
    in_read_snapshot(conn, |conn| {
        let mut pending: BTreeMap<String, StepOps> = BTreeMap::new();
        each_pending(conn, run_id, |p| {
            for (step, ops) in &p.steps {
                pending
                    .entry((*step).to_string())
                    .or_default()
                    .then(ops.clone());
            }
            Ok(())
        })?;
        let mut rows: BTreeMap<String, (String, u32)> = conn
            .prepare_cached("SELECT step_id, state, attempts FROM steps WHERE run_id = ?1")?
            .query_map([run_id], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))?
            .collect::<Result<_, _>>()?;
        for (step, ops) in pending {
            let now = over(rows.remove(&step), &ops);
            rows.insert(step, now);
        }
        Ok(rows)
    })
}

/// An attempt's row's state as of the run's last event, read without writing as
/// [`step_now`] reads a step's.
pub(crate) fn attempt_state_now(
    conn: &Connection,
    run_id: &str,
    step: &str,
    attempt: u32,
) -> Result<Option<String>, StoreError> {
    Ok(attempt_now(conn, run_id, step, attempt)?.0)
}

/// An attempt's row's state and run time (ms) as of the run's last event, read
/// without writing as [`step_now`] reads a step's.
pub(crate) fn attempt_now(
    conn: &Connection,
    run_id: &str,
    step: &str,
    attempt: u32,
) -> Result<(Option<String>, Option<i64>), StoreError> {
    in_read_snapshot(conn, |conn| {
        let mut ops = project::AttemptOps::default();
        each_pending(conn, run_id, |p| {
            let found = p
                .attempts
                .iter()
                .find(|((s, a), _)| *s == step && *a == attempt);
            if let Some((_, o)) = found {
                ops.then(o.without_log());
            }
            Ok(())
        })?;
        let (state, duration): (Option<String>, Option<i64>) = conn
            .prepare_cached(
                "SELECT state, duration_ms FROM attempts
                 WHERE run_id = ?1 AND step_id = ?2 AND attempt = ?3",
            )?
            .query_row(params![run_id, step, attempt], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?
            .unwrap_or_default();
        Ok((
            ops.state.map(str::to_string).or(state),
            ops.finish.map(|f| f.0).or(duration),
        ))
    })
}

/// The runs whose rows lag their events (few: a writer catches up within a second
/// while it lives), for a reader across runs to fold ([`step_now`]) only those.
pub(crate) fn lagging(conn: &Connection) -> Result<std::collections::HashSet<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT run_id FROM steps_projected")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?)
}

/// A step's row (`None`: none yet, a new one is `pending` with no attempts) with `ops`
/// applied, as `project`'s upsert applies them.
fn over(row: Option<(String, u32)>, ops: &StepOps) -> (String, u32) {
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

    /// Every step of run `run_id` as of its last event, read without writing
    /// ([`steps_now`]): step id to (state, attempts), as its `steps` rows hold them once
    /// caught up.
    pub fn steps_now(&self, run_id: &str) -> Result<BTreeMap<String, (String, u32)>, StoreError> {
        let r = steps_now(&self.conn, run_id);
        self.ctx_run(run_id, r)
    }
}

#[cfg(test)]
#[path = "catch_up/tests.rs"]
pub(crate) mod tests;

//! A batch's attempts' logs (`log_path`, `log_tail`) on its first event's row
//! (`events.logs`; the next rows too past [`COLUMN_MAX`]): an engine's commit defers
//! them with the rest of the attempts' patches, and they survive a kill as its events
//! do, in the same rows. The event's JSON (what `baton events` prints and the chain
//! hashes) is not touched.
//!
//! The column is read as the events past the watermark are ([`super::each_pending`]):
//! a batch's logs fold before its events (`project::fold`). The group store's other
//! members can write the table, so a value longer than [`COLUMN_MAX`] (refused before
//! it is parsed), not a list of logs as a writer makes it, or holding a tail longer
//! than [`LOG_TAIL_MAX`] or a path or step id longer than 4 KiB is refused
//! ([`StoreError::Tampered`]), never folded.
use super::{each_pending, tampered};
use crate::error::StoreError;
use crate::read::project::{AttemptOps, Projection};
use crate::records::{AttemptLog, LOG_TAIL_MAX};
use crate::tx::{bounded_tail, in_read_snapshot};
use rusqlite::{Connection, params};
use std::collections::{BTreeMap, HashSet};

/// Migration 43's column.
pub(crate) const EVENT_LOGS: &str = "ALTER TABLE events ADD COLUMN logs TEXT;";

/// The longest log path the column holds, in bytes (a path longer is no log a writer
/// recorded).
const PATH_MAX: usize = 4096;

/// One log as the column holds it: [step, attempt, path, tail].
type Entry<'a> = (&'a str, u32, std::borrow::Cow<'a, str>, &'a str);

/// The longest value the column holds, in bytes: a longer one is refused before it is
/// parsed. A writer splits a batch's logs over its first events' rows
/// ([`encode`]), so each row holds at most this much, and a reader's chunk of events
/// at most `CHUNK` times it.
pub(crate) const COLUMN_MAX: usize = 256 * 1024;

/// The most one log takes in the column: its step id and path (each at most
/// [`PATH_MAX`] bytes), its tail ([`LOG_TAIL_MAX`]), every byte escaped as JSON may
/// (`\u00XX`), and the attempt and punctuation. [`COLUMN_MAX`] holds at least two.
const ENTRY_MAX: usize = 6 * (2 * PATH_MAX + LOG_TAIL_MAX) + 32;
const _: () = assert!(2 * ENTRY_MAX <= COLUMN_MAX);

/// The column's values for a batch's `logs`, in order, each at most [`COLUMN_MAX`]
/// bytes: the first event's row carries the first, the next row the next (a batch
/// holds an event for each log it records: its attempt's end). No log: none. Each tail
/// is bounded as its row keeps it.
pub(crate) fn encode(logs: &[AttemptLog]) -> Result<Vec<String>, StoreError> {
    let mut columns = Vec::new();
    let mut column = String::new();
    for l in logs {
        let entry: Entry<'_> = (
            l.step_id.as_str(),
            l.attempt,
            l.path.to_string_lossy(),
            bounded_tail(&l.tail, LOG_TAIL_MAX),
        );
        let entry = serde_json::to_string(&entry)?;
        // `[` + entries joined by `,` + `]`.
        if !column.is_empty() && column.len() + entry.len() + 2 > COLUMN_MAX {
            column.push(']');
            columns.push(std::mem::take(&mut column));
        }
        column.push(if column.is_empty() { '[' } else { ',' });
        column.push_str(&entry);
    }
    if !column.is_empty() {
        column.push(']');
        columns.push(column);
    }
    Ok(columns)
}

/// Whether a column of `size` bytes (on run `run_id`'s event `seq`) may be read: one
/// longer than [`COLUMN_MAX`] is refused unread and unparsed, so a forged value of any
/// size costs no more than its length's lookup (`octet_length`: [`super::after`]).
pub(crate) fn within(run_id: &str, seq: u64, size: u64) -> Result<(), StoreError> {
    if size > COLUMN_MAX as u64 {
        return Err(tampered(
            run_id,
            seq,
            format!("its event's logs are {size} bytes, more than {COLUMN_MAX}"),
        ));
    }
    Ok(())
}

/// The logs the column of run `run_id`'s event `seq` holds, or why they are refused.
pub(crate) fn decode(run_id: &str, seq: u64, text: &str) -> Result<Vec<AttemptLog>, StoreError> {
    let refuse = |reason: String| tampered(run_id, seq, format!("its event's logs {reason}"));
    within(run_id, seq, text.len() as u64)?;
    let entries: Vec<(String, u32, String, String)> = serde_json::from_str(text).map_err(|e| {
        refuse(format!(
            "are not a list of [step, attempt, path, tail]: {e}"
        ))
    })?;
    entries
        .into_iter()
        .map(|(step_id, attempt, path, tail)| {
            if tail.len() > LOG_TAIL_MAX {
                return Err(refuse(format!(
                    "hold a tail of {} bytes for step {step_id} attempt {attempt}, more than {LOG_TAIL_MAX}",
                    tail.len()
                )));
            }
            if step_id.len() > PATH_MAX {
                return Err(refuse(format!(
                    "hold a step id of {} bytes, more than {PATH_MAX}",
                    step_id.len()
                )));
            }
            if path.len() > PATH_MAX {
                return Err(refuse(format!(
                    "hold a path of {} bytes for step {step_id} attempt {attempt}, more than {PATH_MAX}",
                    path.len()
                )));
            }
            Ok(AttemptLog {
                step_id,
                attempt,
                path: path.into(),
                tail,
            })
        })
        .collect()
}

/// The attempts a run's pending events have started so far, as [`each_pending`] folds
/// them a chunk at a time.
#[derive(Default)]
pub(crate) struct Started(HashSet<(String, u32)>);

impl Started {
    /// `p` (a chunk's fold) without the logs of attempts the run never started: a log
    /// comes with its attempt's end, and its start is on the attempt's row or among
    /// the events folded so far. A member's log for any other attempt would make one
    /// up (a row `catch_up` writes, an attempt `baton logs` lists): it is dropped.
    pub(crate) fn only<'a>(
        &mut self,
        conn: &Connection,
        run_id: &str,
        mut p: Projection<'a>,
    ) -> Result<Projection<'a>, StoreError> {
        let alone = |ops: &AttemptOps<'_>| ops.state.is_none() && ops.finish.is_none();
        for ((step, attempt), ops) in &p.attempts {
            if !alone(ops) {
                self.0.insert(((*step).to_string(), *attempt));
            }
        }
        let mut row = conn.prepare_cached(
            "SELECT 1 FROM attempts WHERE run_id = ?1 AND step_id = ?2 AND attempt = ?3",
        )?;
        let mut kept = Vec::with_capacity(p.attempts.len());
        for ((step, attempt), ops) in p.attempts {
            let known = !alone(&ops)
                || self.0.contains(&(step.to_string(), attempt))
                || row.exists(params![run_id, step, attempt])?;
            if known {
                kept.push(((step, attempt), ops));
            }
        }
        p.attempts = kept;
        Ok(p)
    }
}

/// (log_path, log_tail) as an attempt's row holds them.
pub(crate) type LogColumns = (Option<String>, Option<String>);

/// The log columns of run `run_id`'s attempts (of step `step` alone, if given) as of
/// its last event, read without writing: their rows, with the logs past the watermark
/// folded over them, by (step, attempt).
pub(crate) fn logs_now(
    conn: &Connection,
    run_id: &str,
    step: Option<&str>,
) -> Result<BTreeMap<(String, u32), LogColumns>, StoreError> {
    in_read_snapshot(conn, |conn| {
        let mut out: BTreeMap<(String, u32), LogColumns> = conn
            .prepare_cached(
                "SELECT step_id, attempt, log_path, log_tail FROM attempts
                 WHERE run_id = ?1 AND (?2 IS NULL OR step_id = ?2)",
            )?
            .query_map(params![run_id, step], |r| {
                Ok(((r.get(0)?, r.get(1)?), (r.get(2)?, r.get(3)?)))
            })?
            .collect::<Result<_, _>>()?;
        each_pending(conn, run_id, |p| {
            for ((s, attempt), ops) in &p.attempts {
                let Some((path, tail)) = &ops.log else {
                    continue;
                };
                if step.is_none_or(|want| want == *s) {
                    let columns = (Some(path.to_string()), Some(tail.to_string()));
                    out.insert(((*s).to_string(), *attempt), columns);
                }
            }
            Ok(())
        })?;
        Ok(out)
    })
}

#[cfg(test)]
#[path = "logs_tests.rs"]
mod tests;

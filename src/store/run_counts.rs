//! A run's step counts and health as `runs`, the console's run list, metrics and `gc`
//! show them: counted from the projected `steps` and open `errors` of ONE run (an index
//! range), and kept on the run's row once it ends (schema `RUN_COUNTS`), so that
//! listing runs never scans every run's steps.
use super::StoreError;
use crate::model::health::{self, StepScore};
use crate::model::{ErrorKind, ErrorRecord, Health, RunState, Severity, StepState, Timestamp};
use rusqlite::{Connection, params};

/// One run's steps and open errors as the projection holds them: what `runs` and the
/// metrics' gauges count and score (with `model::health`, as the core's view does).
#[derive(Debug, Default)]
pub(super) struct Tally {
    /// (score, how many steps) per group of steps that score alike.
    steps: Vec<(StepScore, usize)>,
    /// (severity, how many) of the open error records.
    open_errors: Vec<(Severity, usize)>,
}

impl Tally {
    /// How many steps are in a state `pred` holds for.
    pub(super) fn count(&self, pred: impl Fn(StepState) -> bool) -> usize {
        self.steps
            .iter()
            .filter(|(s, _)| pred(s.state))
            .map(|(_, n)| n)
            .sum()
    }

    pub(super) fn health(&self) -> Health {
        let scores = self
            .steps
            .iter()
            .flat_map(|(score, n)| std::iter::repeat_n(*score, *n));
        let errors: Vec<ErrorRecord> = self
            .open_errors
            .iter()
            .flat_map(|(sev, n)| {
                let rec = ErrorRecord::builder(ErrorKind::Storage, "")
                    .severity(*sev)
                    .build(Timestamp(0));
                std::iter::repeat_n(rec, *n)
            })
            .collect();
        health::compute(scores, &errors)
    }

    /// (steps_total, steps_done, health) as the run's row keeps them.
    pub(super) fn counts(&self) -> Counts {
        Counts {
            total: self.count(|_| true),
            done: self.count(StepState::is_final),
            health: self.health().score,
        }
    }
}

/// What a run's row keeps of its [`Tally`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Counts {
    pub total: usize,
    pub done: usize,
    pub health: f64,
}

/// One run's [`Tally`]: its steps grouped as they score, and its open errors.
pub(super) fn tally(conn: &Connection, run_id: &str) -> Result<Tally, StoreError> {
    let mut t = Tally::default();
    let mut st = conn.prepare_cached(
        "SELECT state, attempts > 1, timed_out, count(*) FROM steps WHERE run_id = ?1
         GROUP BY state, attempts > 1, timed_out",
    )?;
    let mut rows = st.query([run_id])?;
    while let Some(r) = rows.next()? {
        let retried: bool = r.get(1)?;
        // Only "more than one" matters to the score, so 2 stands for any retry.
        let score = StepScore {
            state: StepState::parse(&r.get::<_, String>(0)?).unwrap_or(StepState::Interrupted),
            attempts: if retried { 2 } else { 1 },
            timed_out: r.get(2)?,
            // The projection keeps no plan: a failure `allow_failure` or a handler dealt
            // with scores here as a failure (the console and `show` know better).
            dealt_with: false,
        };
        t.steps.push((score, r.get::<_, i64>(3)? as usize));
    }
    let mut st = conn.prepare_cached(
        "SELECT severity, count(*) FROM errors WHERE run_id = ?1 AND open = 1 GROUP BY severity",
    )?;
    let mut rows = st.query([run_id])?;
    while let Some(r) = rows.next()? {
        let sev: Severity = serde_json::from_value(serde_json::Value::String(r.get(0)?))?;
        t.open_errors.push((sev, r.get::<_, i64>(1)? as usize));
    }
    Ok(t)
}

/// The store's next change number (`runs.rev`): one index lookup.
pub(super) const NEXT_REV: &str = "(SELECT coalesce(max(rev), 0) + 1 FROM runs)";

/// Keep the run's counts on its row if it has ended (NULL while it goes on, when
/// readers count live), and mark the row changed (`moved`: its state or end did). A
/// batch that only moves the steps of a run that goes on writes nothing here.
pub(super) fn write(conn: &Connection, run_id: &str, moved: bool) -> Result<(), StoreError> {
    let (state, kept): (String, Option<i64>) = conn
        .prepare_cached("SELECT state, steps_total FROM runs WHERE id = ?1")?
        .query_row([run_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let ended = RunState::parse(&state).is_some_and(RunState::is_final);
    if !ended && kept.is_none() && !moved {
        return Ok(());
    }
    let c = if ended {
        Some(tally(conn, run_id)?.counts())
    } else {
        None
    };
    conn.prepare_cached(&format!(
        "UPDATE runs SET steps_total = ?2, steps_done = ?3, health = ?4, rev = {NEXT_REV}
         WHERE id = ?1"
    ))?
    .execute(params![
        run_id,
        c.map(|c| c.total as i64),
        c.map(|c| c.done as i64),
        c.map(|c| c.health)
    ])?;
    Ok(())
}

/// Schema `RUN_COUNTS`: the counts of every run recorded before it.
pub(super) fn backfill(conn: &Connection) -> Result<(), StoreError> {
    let ids: Vec<String> = conn
        .prepare("SELECT id FROM runs")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for id in ids {
        write(conn, &id, true)?;
    }
    Ok(())
}

/// How many runs were ever deleted from this store (`meta`): a reader holding a list
/// of runs reads it again when this moves (a deletion leaves no row to see).
pub(super) const DELETED_KEY: &str = "runs_deleted";

pub(super) fn mark_deleted(conn: &Connection) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, '1')
         ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
    )?
    .execute([DELETED_KEY])?;
    Ok(())
}

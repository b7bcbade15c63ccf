//! A run's step counts and health as `runs`, the console's run list, metrics and `gc`
//! show them: read from its summary (`store::summaries`, folded from its events as they
//! are committed), and kept on the run's row once it ends (schema `RUN_COUNTS`), so
//! that listing runs reads one row per run. Its golden signals likewise (schema
//! `RUN_SIGNALS`): `runs --json` reads them from the rows, never replaying a run.
use super::{Store, StoreError};
use baton_model::signals::{self, SignalFacts};
use baton_model::state_summary::StateSummary;
use baton_model::view::GoldenSignals;
use baton_model::{RunState, RunSummary, Timestamp};
use rusqlite::{Connection, params};
use std::collections::HashMap;

/// The store's next change number (`runs.rev`): one index lookup.
pub(crate) const NEXT_REV: &str = "(SELECT coalesce(max(rev), 0) + 1 FROM runs)";

/// What the caller knows of the run's row as a batch writes it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Row {
    /// The batch moved its state or end.
    Moved,
    /// It did not: the row is read for whether the run has ended.
    Stays,
    /// It did not, and the caller knows the row holds a state that is not final and no
    /// kept counts (`commit::known`): nothing to read or write.
    StaysOpen,
}

/// Keep the run's counts, signals and share of the metric totals on its row if it has
/// ended (NULL while it goes on, when readers count live), and mark the row changed
/// (`Row::Moved`: its state or end did). A batch that only moves the steps of a run
/// that goes on writes nothing here. Returns whether the row now holds a state that is
/// not final and no kept counts (what [`Row::StaysOpen`] takes as known).
pub(crate) fn write(
    conn: &Connection,
    run_id: &str,
    row: Row,
    s: &StateSummary,
) -> Result<bool, StoreError> {
    let ended = write_signals(conn, run_id, row, s)?;
    if let Some(ended) = ended {
        super::metric_totals::keep(conn, run_id, ended.then_some(s))?;
    }
    Ok(ended != Some(true))
}

/// The counts and signals part of [`write`] (all that schema `RUN_SIGNALS` knows):
/// whether the run has ended, `None` when it wrote nothing.
pub(crate) fn write_signals(
    conn: &Connection,
    run_id: &str,
    row: Row,
    s: &StateSummary,
) -> Result<Option<bool>, StoreError> {
    let Some(ended) = write_counts(conn, run_id, row, s)? else {
        return Ok(None);
    };
    let k = ended.then(|| kept_signals(s));
    conn.prepare_cached(
        "UPDATE runs SET p50_ms = ?2, p95_ms = ?3, queue_depth = ?4, running = ?5
         WHERE id = ?1",
    )?
    .execute(params![
        run_id,
        k.and_then(|k| k.p50_ms.map(|v| v as i64)),
        k.and_then(|k| k.p95_ms.map(|v| v as i64)),
        k.map(|k| k.queue_depth as i64),
        k.map(|k| k.running as i64),
    ])?;
    Ok(Some(ended))
}

/// The counts part of [`write`] (all that schema `RUN_COUNTS` knows): `None` when it
/// wrote nothing, else whether the run has ended.
pub(crate) fn write_counts(
    conn: &Connection,
    run_id: &str,
    row: Row,
    s: &StateSummary,
) -> Result<Option<bool>, StoreError> {
    if row == Row::StaysOpen {
        return Ok(None);
    }
    let (state, kept): (String, Option<i64>) = conn
        .prepare_cached("SELECT state, steps_total FROM runs WHERE id = ?1")?
        .query_row([run_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let ended = RunState::parse(&state).is_some_and(RunState::is_final);
    if !ended && kept.is_none() && row == Row::Stays {
        return Ok(None);
    }
    let c = ended.then(|| s.counts());
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
    Ok(Some(ended))
}

/// What a run's row keeps of its golden signals once it ends (NULL while it goes on,
/// when readers count them live): the latency of its attempts and its steps queued and
/// running. The rest (its attempts that ended, when it started and finished) the
/// projection keeps as the run goes on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct KeptSignals {
    pub p50_ms: Option<u64>,
    pub p95_ms: Option<u64>,
    pub queue_depth: usize,
    pub running: usize,
}

/// One run's [`KeptSignals`], from its summary.
pub(crate) fn kept_signals(s: &StateSummary) -> KeptSignals {
    KeptSignals {
        p50_ms: s.p50_ms,
        p95_ms: s.p95_ms,
        queue_depth: s.queue_depth(),
        running: s.running(),
    }
}

/// What [`Store::run_signals`] reads: one pass over `runs`, no history table. A run's
/// attempts that ended are counted on its row (what migrations backfilled) and on its
/// summary's row (what commits since added: `summaries::save_counting`), read as their
/// sum, with, while its rows lag, those its last event carries (`summaries::now`).
pub(crate) const SIGNALS_SELECT: &str = "SELECT runs.id, began_at, ended_at,
        runs.attempts_finished + coalesce(s.attempts_finished, 0),
        runs.attempts_failed + coalesce(s.attempts_failed, 0),
        p50_ms, p95_ms, queue_depth, running
     FROM runs LEFT JOIN run_summaries s ON s.run_id = runs.id";

impl Store {
    /// The golden signals of each of `runs` as of `now`, as `show` reports them (the
    /// replayed core's, `model::signals`), from the runs' rows: one read of `runs`,
    /// and an index range of each run that goes on. A run missing from the store (it
    /// was deleted meanwhile) has none.
    pub fn run_signals(
        &self,
        runs: &[RunSummary],
        now: Timestamp,
    ) -> Result<Vec<Option<GoldenSignals>>, StoreError> {
        let r = super::in_read_snapshot(&self.conn, |c| {
            let lagging = super::catch_up::lagging(c)?;
            let mut st = c.prepare_cached(SIGNALS_SELECT)?;
            let mut rows = st.query([])?;
            let mut facts: HashMap<String, SignalFacts> = HashMap::new();
            while let Some(r) = rows.next()? {
                let ts = |i: usize| -> rusqlite::Result<Option<Timestamp>> {
                    Ok(r.get::<_, Option<i64>>(i)?.map(Timestamp))
                };
                let kept = match r.get::<_, Option<i64>>(7)? {
                    Some(queue_depth) => Some(KeptSignals {
                        p50_ms: r.get::<_, Option<i64>>(5)?.map(|v| v as u64),
                        p95_ms: r.get::<_, Option<i64>>(6)?.map(|v| v as u64),
                        queue_depth: queue_depth as usize,
                        running: r.get::<_, i64>(8)? as usize,
                    }),
                    None => None,
                };
                let id: String = r.get(0)?;
                // A run that goes on, or whose rows lag: its summary as of its last
                // event, and the attempts ended that its summary's row does not count.
                let (kept, (finished, failed)) = match kept {
                    Some(k) if !lagging.contains(&id) => (k, (0, 0)),
                    kept => {
                        let (s, pending) = super::summaries::now(c, &id)?;
                        (kept.unwrap_or_else(|| kept_signals(&s)), pending)
                    }
                };
                facts.insert(
                    id,
                    SignalFacts {
                        started_at: ts(1)?,
                        finished_at: ts(2)?,
                        attempts_finished: r.get::<_, i64>(3)? as u64 + finished,
                        attempts_failed: r.get::<_, i64>(4)? as u64 + failed,
                        p50_ms: kept.p50_ms,
                        p95_ms: kept.p95_ms,
                        queue_depth: kept.queue_depth,
                        running: kept.running,
                    },
                );
            }
            Ok(runs
                .iter()
                .map(|run| {
                    facts.get(&run.id).map(|f| {
                        let mut s = signals::golden(f, now);
                        if run.state == RunState::Interrupted {
                            signals::engine_gone(&mut s);
                        }
                        s
                    })
                })
                .collect())
        });
        self.ctx(r)
    }
}

/// How many runs were ever deleted from this store (`meta`): a reader holding a list
/// of runs reads it again when this moves (a deletion leaves no row to see).
pub(crate) const DELETED_KEY: &str = "runs_deleted";

pub(crate) fn mark_deleted(conn: &Connection) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, '1')
         ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
    )?
    .execute([DELETED_KEY])?;
    Ok(())
}

//! Pools shared by every run in the store (`[pools.NAME] scope = "store"`): a step of
//! such a pool starts only with a slot the store gave it (`pool_slots`, one row per
//! step holding one) and a token of the pool's store-wide bucket (`pool_buckets`),
//! decided in one `BEGIN IMMEDIATE` transaction.
//!
//! Nothing is released explicitly: a slot is held while its attempt has not started
//! yet or runs (the projected step's attempt and state), and while its run is live
//! (`model::liveness`) or, its engine gone, the step's process still runs here
//! (`left_running`). A step that ended, and every step of a run whose engine is gone
//! and whose work ended, frees its slot; nothing is held longer than its work.
use super::left_running::left_running;
use super::slots::live_state;
use super::{Store, StoreError, in_transaction};
use crate::tx::in_read_snapshot;
use baton_model::Timestamp;
use baton_workflow::Rate;
use rusqlite::{Connection, OptionalExtension, params};

/// A step of a store-wide pool asking for a slot for its next attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct SlotAsk {
    pub pool: String,
    pub capacity: usize,
    pub rate: Option<Rate>,
    pub burst: u32,
    pub run_id: String,
    pub step: String,
    pub attempt: u32,
}

/// The store's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotVerdict {
    /// The step holds a slot: it may start this attempt.
    Granted,
    /// Every slot is held, by steps of these runs (oldest slot first).
    Full { holders: Vec<String> },
    /// A slot is free but the pool's store-wide rate has no token now.
    RateLimited,
}

/// Whether a slot row still holds: its run is live and its attempt has not ended, or
/// its run's engine is gone and the step's process still runs.
fn holds(
    tx: &Connection,
    run_id: &str,
    step: &str,
    attempt: u32,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let live = live_state(tx, run_id, now)?;
    if live.is_none() {
        return Ok(left_running(tx, run_id)?.iter().any(|l| l.step() == step));
    }
    // A run its engine still stops: its steps' attempts were recorded interrupted as
    // the stop began, and hold their slots until the engine lets the run go.
    let stopping = live == Some(baton_model::RunState::Interrupted);
    // As of the run's last event: the rows may lag it (`catch_up`).
    let projected = crate::read::catch_up::step_now(tx, run_id, step)?;
    Ok(match projected {
        None => true,
        Some((_, attempts)) if attempts < attempt => true,
        Some((state, attempts)) => {
            attempts == attempt
                && (state == "running" || state == "ready" || (stopping && state == "interrupted"))
        }
    })
}

/// Take a token from the pool's store-wide bucket, if it has one now.
fn take_token(
    tx: &Connection,
    pool: &str,
    rate: Rate,
    burst: u32,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let row: Option<(f64, i64)> = tx
        .prepare_cached("SELECT tokens, at FROM pool_buckets WHERE pool = ?1")?
        .query_row([pool], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let burst = f64::from(burst.max(1));
    let per_ms = rate.per.as_millis().max(1) as f64;
    let tokens = match row {
        None => burst,
        Some((tokens, at)) => {
            let elapsed = (now.0 - at).max(0) as f64;
            (tokens + elapsed * f64::from(rate.count) / per_ms).min(burst)
        }
    };
    let granted = tokens >= 1.0;
    let left = if granted { tokens - 1.0 } else { tokens };
    tx.prepare_cached(
        "INSERT INTO pool_buckets (pool, tokens, at) VALUES (?1, ?2, ?3)
         ON CONFLICT (pool) DO UPDATE SET tokens = excluded.tokens, at = excluded.at",
    )?
    .execute(params![pool, left, now.0])?;
    Ok(granted)
}

/// For a run whose lease lapsed (`fence`): `ask`'s slot, if its attempt still needs
/// it, is its own again — still its row, or a free slot taken back. `Some(holders)`
/// when the pool is full of other steps now (its row given away, or taken back
/// by another lapsed run first).
pub(super) fn take_back(
    tx: &Connection,
    ask: &SlotAsk,
    now: Timestamp,
) -> Result<Option<Vec<String>>, StoreError> {
    if !holds(tx, &ask.run_id, &ask.step, ask.attempt, now)? {
        return Ok(None);
    }
    let (holders, own) = others_holding(tx, ask, now, LetGo::Yes)?;
    // Its own row too may be one too many: another took a slot back first.
    if holders.len() >= ask.capacity.max(1) {
        return Ok(Some(holders));
    }
    if !own {
        insert_slot(tx, ask)?;
    }
    Ok(None)
}

/// Whether [`others_holding`] deletes the rows that no longer hold (in a write
/// transaction) or only reads.
#[derive(Clone, Copy, PartialEq, Eq)]
enum LetGo {
    Yes,
    No,
}

/// The runs whose steps hold a slot of `ask`'s pool now, oldest slot first, but for
/// `ask`'s own step; a row that no longer holds is let go on the way (`let_go`). And
/// whether `ask`'s attempt has its row already.
fn others_holding(
    tx: &Connection,
    ask: &SlotAsk,
    now: Timestamp,
    let_go: LetGo,
) -> Result<(Vec<String>, bool), StoreError> {
    let rows: Vec<(String, String, u32)> = tx
        .prepare_cached(
            "SELECT run_id, step_id, attempt FROM pool_slots WHERE pool = ?1 ORDER BY rowid",
        )?
        .query_map([&ask.pool], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    let mut holders = Vec::new();
    let mut own = false;
    for (run, step, attempt) in rows {
        if run == ask.run_id && step == ask.step {
            // An earlier attempt's row is taken over by this one's (`insert_slot`).
            own = attempt == ask.attempt;
        } else if holds(tx, &run, &step, attempt, now)? {
            holders.push(run);
        } else if let_go == LetGo::Yes {
            tx.prepare_cached(
                "DELETE FROM pool_slots WHERE pool = ?1 AND run_id = ?2 AND step_id = ?3",
            )?
            .execute(params![ask.pool, run, step])?;
        }
    }
    Ok((holders, own))
}

/// `ask`'s attempt holds a slot of its pool.
fn insert_slot(tx: &Connection, ask: &SlotAsk) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO pool_slots (pool, run_id, step_id, attempt) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (pool, run_id, step_id) DO UPDATE SET attempt = excluded.attempt",
    )?
    .execute(params![ask.pool, ask.run_id, ask.step, ask.attempt])?;
    Ok(())
}

impl Store {
    /// The steps (run, step) that hold a slot of `pool` now, oldest first: what a step
    /// waiting for it shows.
    pub fn pool_holders(&self, pool: &str) -> Result<Vec<(String, String)>, StoreError> {
        let now = Timestamp::now();
        let r = (|| -> Result<Vec<(String, String)>, StoreError> {
            let rows: Vec<(String, String, u32)> = self
                .conn
                .prepare_cached("SELECT run_id, step_id, attempt FROM pool_slots WHERE pool = ?1 ORDER BY rowid")?
                .query_map([pool], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<Result<_, _>>()?;
            let mut out = Vec::new();
            for (run, step, attempt) in rows {
                if holds(&self.conn, &run, &step, attempt, now)? {
                    out.push((run, step));
                }
            }
            Ok(out)
        })();
        self.ctx(r)
    }

    /// Give `ask`'s step a slot of its pool if one is free (and a token of its rate);
    /// asking again for an attempt already granted is granted again.
    ///
    /// A full pool is told from a read: every waiting step asks again and again, and a
    /// write transaction for each ask would queue the holders' commits and lease
    /// renewals behind theirs. The write lock is taken only when a slot looks free (a
    /// row that no longer holds counts as free), and the pool is judged again under it.
    pub fn take_pool_slot(&mut self, ask: &SlotAsk) -> Result<SlotVerdict, StoreError> {
        let now = Timestamp::now();
        let seen = in_read_snapshot(&self.conn, |c| others_holding(c, ask, now, LetGo::No));
        let r = match seen {
            Err(e) => Err(e),
            Ok((_, true)) => Ok(SlotVerdict::Granted),
            Ok((mut holders, false)) if holders.len() >= ask.capacity.max(1) => {
                holders.dedup();
                Ok(SlotVerdict::Full { holders })
            }
            Ok(_) => self.take_free_slot(ask, now),
        };
        if let (Ok(SlotVerdict::Granted), Some(f)) = (&r, self.fences.get_mut(&ask.run_id)) {
            f.hold_slot(ask);
        }
        self.ctx(r)
    }

    /// [`Store::take_pool_slot`]'s write: the pool judged again under the write lock.
    fn take_free_slot(&self, ask: &SlotAsk, now: Timestamp) -> Result<SlotVerdict, StoreError> {
        in_transaction(&self.conn, |tx| {
            // The asking run's rows its commits deferred, written before it holds more.
            crate::read::catch_up::catch_up(tx, &ask.run_id)?;
            let (mut holders, own) = others_holding(tx, ask, now, LetGo::Yes)?;
            if own {
                return Ok(SlotVerdict::Granted);
            }
            if holders.len() >= ask.capacity.max(1) {
                holders.dedup();
                return Ok(SlotVerdict::Full { holders });
            }
            if let Some(rate) = ask.rate
                && !take_token(tx, &ask.pool, rate, ask.burst, now)?
            {
                return Ok(SlotVerdict::RateLimited);
            }
            insert_slot(tx, ask)?;
            Ok(SlotVerdict::Granted)
        })
    }
}

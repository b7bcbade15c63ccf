//! Events a trigger holds before they fire (`coalesce`, `debounce`: issue 81 point 3):
//! rows of `trigger_events` with fate `pending` and no run yet, so a serve killed
//! while events wait loses none (the next serve finds them and fires them when due)
//! and fires none twice: a pending row becomes its run's in the transaction that makes
//! the run ([`Store::fire_pending`]), every row of a coalesced burst naming that one
//! run. At most `queue` rows of a trigger are pending; an event over that bound is
//! refused on record (`trigger_refusals`, reason `queue_full`).
use super::slots::{Joining, Verdict, make_run};
use super::trigger_events::{
    EVENT_COLS, EVENT_FROM, EventRow, TriggerEvent, event_row, existing, fate_of, insert_event,
};
use super::{NewRun, Store, StoreError, in_transaction};
use crate::coord::admission::Decision;
use baton_model::state_summary::StateSummary;
use baton_model::{Event, Timestamp};
use rusqlite::{Connection, params};
use std::collections::BTreeMap;

/// The fate of an event held, not fired yet.
pub const PENDING: &str = "pending";
/// `baton_trigger_refusals_total`'s reason for an event over its trigger's `queue`.
pub const QUEUE_FULL: &str = "queue_full";

/// What [`Store::pend_trigger_event`] did.
#[derive(Debug, Clone)]
pub enum Pended {
    /// On record, pending: it fires when its trigger's burst is due.
    Pending,
    /// Decided (or pending) before: nothing now.
    Already(Box<EventRow>),
    /// Over the bound: `queue` events of its trigger are pending. The refusal is
    /// counted, and (`keep` asked) the event's row recorded refused with `why`.
    Full { why: String },
}

/// A pending event, with what its trigger's `map` took from it when it came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingEvent {
    pub row: EventRow,
    pub picked: BTreeMap<String, String>,
}

/// What [`Store::fire_pending`] did.
#[derive(Debug, Clone)]
pub enum FiredPending {
    /// The run is made, every event named its run, in one transaction.
    Made {
        decision: Decision,
        events: Vec<Event>,
    },
    /// One of the events is no longer pending (another serve fired it): nothing made.
    Gone,
}

fn pending_count(tx: &Connection, file: &str, index: u32) -> Result<u32, StoreError> {
    Ok(tx
        .prepare_cached(
            "SELECT count(*) FROM trigger_events WHERE file = ?1 AND idx = ?2 AND fate = 'pending'",
        )?
        .query_row(params![file, index], |r| r.get(0))?)
}

/// Whether every one of `keys` of trigger `file#index` is still pending.
fn all_pending(
    tx: &Connection,
    file: &str,
    index: u32,
    keys: &[String],
) -> Result<bool, StoreError> {
    let mut st = tx.prepare_cached(
        "SELECT fate = 'pending' FROM trigger_events WHERE file = ?1 AND idx = ?2 AND event_key = ?3",
    )?;
    for k in keys {
        let pending: Option<bool> = st
            .query_row(params![file, index, k], |r| r.get(0))
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })?;
        if pending != Some(true) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Settle the pending rows `keys`: `fate`, its run or why none.
fn settle(
    tx: &Connection,
    (file, index): (&str, u32),
    keys: &[String],
    (fate, run_id, why): (&str, Option<&str>, Option<&str>),
) -> Result<(), StoreError> {
    let mut st = tx.prepare_cached(
        "UPDATE trigger_events SET fate = ?4, run_id = ?5, why = ?6
         WHERE file = ?1 AND idx = ?2 AND event_key = ?3 AND fate = 'pending'",
    )?;
    for k in keys {
        st.execute(params![file, index, k, fate, run_id, why])?;
    }
    Ok(())
}

/// Count one refusal of `workflow`'s trigger `trigger` (as `record_delivery_refused`).
fn count_refusal(
    tx: &Connection,
    (workflow, trigger): (&str, &str),
    why: &str,
    delivery: Option<&str>,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO trigger_refusals
            (workflow, trigger, reason, count, last_at, last_why, last_delivery)
         VALUES (?1, ?2, ?3, 1, ?4, ?5, ?6)
         ON CONFLICT (workflow, trigger, reason) DO UPDATE SET
            count = count + 1, last_at = excluded.last_at,
            last_why = excluded.last_why, last_delivery = excluded.last_delivery",
    )?
    .execute(params![
        workflow,
        trigger,
        QUEUE_FULL,
        Timestamp::now().0,
        why,
        delivery
    ])?;
    Ok(())
}

/// Who a queue's refusal is counted under (`baton_trigger_refusals_total`'s labels),
/// and whether the refused event's row is kept (a file's, a run's end: no sender
/// retries them; a webhook's sender is answered and may retry once the queue drains).
#[derive(Debug, Clone, Copy)]
pub struct Overflow<'a> {
    pub workflow: &'a str,
    pub trigger: &'a str,
    pub delivery: Option<&'a str>,
    pub keep: bool,
}

impl Store {
    /// Hold event `ev` pending for its trigger, unless it was decided (or held) before,
    /// or `queue` of its trigger's events are pending already: then it is refused on
    /// record (counted in `trigger_refusals`; its row kept refused if `over.keep`).
    /// One transaction.
    pub fn pend_trigger_event(
        &mut self,
        (ev, picked): (&TriggerEvent<'_>, &BTreeMap<String, String>),
        queue: u32,
        over: Overflow<'_>,
    ) -> Result<Pended, StoreError> {
        // A map of strings always serialises.
        let picked = serde_json::to_string(picked).unwrap_or_else(|_| "{}".into());
        let r = in_transaction(&self.conn, |tx| {
            if let Some(row) = existing(tx, ev)? {
                return Ok(Pended::Already(Box::new(row)));
            }
            if pending_count(tx, ev.file, ev.index)? >= queue {
                let why = format!(
                    "the trigger's queue is full: {queue} events are pending (`queue` in its [[trigger]])"
                );
                count_refusal(tx, (over.workflow, over.trigger), &why, over.delivery)?;
                if over.keep {
                    insert_event(tx, ev, ("refused", None, Some(&why)))?;
                }
                return Ok(Pended::Full { why });
            }
            insert_event(tx, ev, (PENDING, None, None))?;
            tx.prepare_cached(
                "UPDATE trigger_events SET picked = ?4 WHERE file = ?1 AND idx = ?2 AND event_key = ?3",
            )?
            .execute(params![ev.file, ev.index, ev.key, picked])?;
            Ok(Pended::Pending)
        });
        self.ctx(r)
    }

    /// The pending events of trigger `file#index`, oldest first.
    pub fn pending_trigger_events(
        &self,
        file: &str,
        index: u32,
    ) -> Result<Vec<PendingEvent>, StoreError> {
        let r = (|| {
            let mut st = self.conn.prepare_cached(&format!(
                "SELECT {EVENT_COLS}, e.picked FROM {EVENT_FROM}
                 WHERE e.file = ?1 AND e.idx = ?2 AND e.fate = 'pending'
                 ORDER BY e.recorded_at, e.rowid"
            ))?;
            let rows = st
                .query_map(params![file, index], |r| {
                    let picked: Option<String> = r.get(12)?;
                    Ok(PendingEvent {
                        row: event_row(r)?,
                        picked: picked
                            .and_then(|p| serde_json::from_str(&p).ok())
                            .unwrap_or_default(),
                    })
                })?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })();
        self.ctx(r)
    }

    /// Make one run of the pending events `keys` of trigger `file#index`, each of their
    /// rows naming it, in ONE transaction (as [`Store::fire_trigger`] makes an event's
    /// run); unless one of them is no longer pending: then nothing ([`FiredPending::Gone`]).
    pub fn fire_pending(
        &mut self,
        (file, index): (&str, u32),
        keys: &[String],
        run: &NewRun,
        (lease_holder, joining): (&str, Option<&Joining>),
        events_for: impl FnOnce(&Verdict) -> (Vec<Event>, StateSummary),
    ) -> Result<FiredPending, StoreError> {
        self.check_identity()?;
        let r = self.set_sync_full(true);
        self.ctx(r)?;
        self.witness_ready()?;
        let seal = self.account_key()?;
        let now = Timestamp::now();
        let keys_of = &self.keys;
        let r = in_transaction(&self.conn, |tx| {
            if keys.is_empty() || !all_pending(tx, file, index, keys)? {
                return Ok(None);
            }
            let made = make_run(tx, (keys_of, seal), run, (lease_holder, now), joining)?
                .with(events_for)?;
            let fate = fate_of(&made.decision, joining);
            settle(tx, (file, index), keys, (fate, Some(&run.id), None))?;
            Ok(Some(made))
        });
        match self.ctx_run(&run.id, r)? {
            None => Ok(FiredPending::Gone),
            Some(made) => {
                let (decision, events, heads) = self.keep_made(&run.id, made);
                self.witness(&heads)?;
                Ok(FiredPending::Made { decision, events })
            }
        }
    }

    /// Record the pending events `keys` of trigger `file#index` as making no run, and
    /// why (their params do not check, the trigger is paused…). Those no longer
    /// pending are left as they are.
    pub fn refuse_pending(
        &mut self,
        (file, index): (&str, u32),
        keys: &[String],
        why: &str,
    ) -> Result<(), StoreError> {
        let r = in_transaction(&self.conn, |tx| {
            settle(tx, (file, index), keys, ("refused", None, Some(why)))
        });
        self.ctx(r)
    }

    /// Every event a trigger's firing made `run_id` of (a coalesced run: each of its
    /// burst), oldest first.
    pub fn events_of_run(&self, run_id: &str) -> Result<Vec<EventRow>, StoreError> {
        let r = (|| {
            let mut st = self.conn.prepare_cached(&format!(
                "SELECT {EVENT_COLS} FROM {EVENT_FROM} WHERE e.run_id = ?1
                 ORDER BY e.recorded_at, e.rowid"
            ))?;
            let rows = st
                .query_map([run_id], event_row)?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })();
        self.ctx(r)
    }
}

#[cfg(test)]
#[path = "trigger_pending_tests.rs"]
mod tests;

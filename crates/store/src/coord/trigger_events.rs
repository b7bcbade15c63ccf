//! What `baton serve` keeps about `[[trigger]]`s (issue 81): each trigger served (and
//! whether it is paused), and each event it decided, one row per trigger and event key
//! (`trigger_events`, its primary key), written in the transaction that makes the
//! event's run ([`Store::fire_trigger`]). So an event makes at most one run whatever
//! crashes (the key and the run commit together or not at all), whichever serve or
//! listener sees it, however often; and every recorded event names its run, or why it
//! made none.
use super::schedules::AUDIT_SUBJECT;
use super::slots::{Joining, Verdict, make_run};
use super::{NewRun, Store, StoreError, in_transaction};
use crate::coord::admission::Decision;
use baton_model::history::{AuditAction, Decision as AuditDecision};
use baton_model::state_summary::StateSummary;
use baton_model::{Event, RunState, Timestamp};
use rusqlite::{Connection, OptionalExtension, params};

/// The kind of the event of a step's own `baton run` (its environment naming the run
/// and step it runs inside: `session::step_chain`), kept under no served file.
pub const STEP_KIND: &str = "step";

/// What started a run, as `show`, `baton runs` and the console name it: a trigger by
/// `WORKFLOW#N`, a step's `baton run` by the command.
pub fn trigger_name(workflow: &str, index: u32, kind: &str) -> String {
    match kind {
        STEP_KIND => "baton run".to_string(),
        _ => format!("{workflow}#{index}"),
    }
}

/// An event as its trigger saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriggerEvent<'a> {
    /// The served workflow file and the trigger's index in it (from 1).
    pub file: &'a str,
    pub index: u32,
    /// What makes the event itself: `run:ID` (the run that ended), `file:PATH:DEV:INO:
    /// LEN:MTIME` (the file, by path and identity), `delivery:ID` (a webhook's).
    pub key: &'a str,
    /// `run_ended`, `file` or `webhook`.
    pub kind: &'a str,
    /// What `show` and `baton triggers` say of it: the run's id and how it ended, the
    /// file's path, the delivery id.
    pub detail: &'a str,
    /// The run that ended (a `run_ended` event): `show` of it names what it started.
    pub source_run: Option<&'a str>,
    /// How many triggers led here: a run no trigger started is 0, one its end started
    /// is 1, and so on (bounded: `workflow::MAX_TRIGGER_DEPTH`).
    pub depth: u32,
}

/// What [`Store::fire_trigger`] did.
#[derive(Debug, Clone)]
pub enum Fired {
    /// The event is new: its run is made, with the event's row, in one transaction.
    Made {
        decision: Decision,
        events: Vec<Event>,
    },
    /// The event was decided before (by this serve, another, or a delivery repeated):
    /// nothing was made now.
    Already(EventRow),
}

/// One recorded event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EventRow {
    pub file: String,
    pub index: u32,
    pub workflow: String,
    pub key: String,
    pub kind: String,
    pub detail: String,
    /// `started`, `queued`, `skipped`, `superseding` (its run's admission), `refused`
    /// (no run: `why`), or `present` (a file already there when its trigger was first
    /// served: no run).
    pub fate: String,
    pub run_id: Option<String>,
    pub why: Option<String>,
    pub source_run: Option<String>,
    pub depth: u32,
    pub at: Timestamp,
}

/// A trigger to record as served when its workflow loads.
#[derive(Debug, Clone)]
pub struct ServedTrigger<'a> {
    pub file: &'a str,
    pub index: u32,
    pub workflow: &'a str,
    pub name: Option<&'a str>,
    pub kind: &'a str,
    /// What it watches, as `baton triggers` shows it: the workflow and its end states,
    /// the directory and glob, the secret's name.
    pub what: &'a str,
}

/// A served trigger with its last events (`Store::triggers`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TriggerRow {
    pub file: String,
    pub index: u32,
    pub workflow: String,
    pub name: Option<String>,
    pub kind: String,
    pub what: String,
    /// Since when it is served: a run that ended before is no event of it.
    pub since: Timestamp,
    pub paused: Option<TriggerPause>,
    /// Its newest events, newest first.
    pub last: Vec<EventRow>,
}

/// Who paused a trigger, when and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TriggerPause {
    pub by: String,
    pub reason: Option<String>,
    pub at: Timestamp,
}

pub(super) const EVENT_COLS: &str =
    "e.file, e.idx, coalesce(t.workflow, ''), e.event_key, e.kind, e.detail,
     e.fate, e.run_id, e.why, e.source_run, e.depth, e.recorded_at";
pub(super) const EVENT_FROM: &str =
    "trigger_events e LEFT JOIN triggers t ON t.file = e.file AND t.idx = e.idx";

pub(super) fn event_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<EventRow> {
    Ok(EventRow {
        file: r.get(0)?,
        index: r.get(1)?,
        workflow: r.get(2)?,
        key: r.get(3)?,
        kind: r.get(4)?,
        detail: r.get(5)?,
        fate: r.get(6)?,
        run_id: r.get(7)?,
        why: r.get(8)?,
        source_run: r.get(9)?,
        depth: r.get(10)?,
        at: Timestamp(r.get(11)?),
    })
}

pub(super) fn existing(
    tx: &Connection,
    ev: &TriggerEvent<'_>,
) -> Result<Option<EventRow>, StoreError> {
    Ok(tx
        .prepare_cached(&format!(
            "SELECT {EVENT_COLS} FROM {EVENT_FROM}
             WHERE e.file = ?1 AND e.idx = ?2 AND e.event_key = ?3"
        ))?
        .query_row(params![ev.file, ev.index, ev.key], event_row)
        .optional()?)
}

pub(super) fn insert_event(
    tx: &Connection,
    ev: &TriggerEvent<'_>,
    (fate, run_id, why): (&str, Option<&str>, Option<&str>),
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO trigger_events (file, idx, event_key, kind, detail, fate, run_id, why,
            source_run, depth, recorded_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        ev.file,
        ev.index,
        ev.key,
        ev.kind,
        ev.detail,
        fate,
        run_id,
        why,
        ev.source_run,
        ev.depth,
        Timestamp::now().0
    ])?;
    Ok(())
}

/// The fate of an event's run, as its group decided.
pub(super) fn fate_of(decision: &Decision, joining: Option<&Joining>) -> &'static str {
    use super::slots::WhenBusy;
    match (&decision.verdict, joining.map(|j| j.when_busy)) {
        (Verdict::Holds, _) | (_, None) => "started",
        (Verdict::Busy { .. }, Some(WhenBusy::Queue)) => "queued",
        (Verdict::Busy { .. }, Some(WhenBusy::Skip)) => "skipped",
        (Verdict::Busy { .. }, Some(WhenBusy::QueueFirst)) => "superseding",
    }
}

impl Store {
    /// Make the run of event `ev`, unless the event was decided before: its row is
    /// looked up, and (new) the run recorded as [`Store::create_run_in_group`] records
    /// one (`joining`: its group, if any) with the event's row naming it, all in ONE
    /// transaction. A crash before its commit leaves neither; after, both.
    pub fn fire_trigger(
        &mut self,
        ev: &TriggerEvent<'_>,
        run: &NewRun,
        lease_holder: &str,
        joining: Option<&Joining>,
        events_for: impl FnOnce(&Verdict) -> (Vec<Event>, StateSummary),
    ) -> Result<Fired, StoreError> {
        self.check_identity()?;
        let r = self.set_sync_full(true);
        self.ctx(r)?;
        self.witness_ready()?;
        let seal = self.account_key()?;
        let now = Timestamp::now();
        let keys = &self.keys;
        let r = in_transaction(&self.conn, |tx| {
            if let Some(row) = existing(tx, ev)? {
                return Ok(Err(row));
            }
            let made =
                make_run(tx, (keys, seal), run, (lease_holder, now), joining)?.with(events_for)?;
            let fate = fate_of(&made.decision, joining);
            insert_event(tx, ev, (fate, Some(&run.id), None))?;
            Ok(Ok(made))
        });
        match self.ctx_run(&run.id, r)? {
            Err(row) => Ok(Fired::Already(row)),
            Ok(made) => {
                let (decision, events, heads) = self.keep_made(&run.id, made);
                self.witness(&heads)?;
                Ok(Fired::Made { decision, events })
            }
        }
    }

    /// Record event `ev` as making no run (`fate`: `refused`, with `why`; `present`),
    /// unless it was decided before: then its row comes back, unchanged.
    pub fn decide_trigger_event(
        &mut self,
        ev: &TriggerEvent<'_>,
        fate: &str,
        why: Option<&str>,
    ) -> Result<Option<EventRow>, StoreError> {
        let r = in_transaction(&self.conn, |tx| {
            if let Some(row) = existing(tx, ev)? {
                return Ok(Some(row));
            }
            insert_event(tx, ev, (fate, None, why))?;
            Ok(None)
        });
        self.ctx(r)
    }

    /// The event's row, if it was decided.
    pub fn trigger_event(
        &self,
        file: &str,
        index: u32,
        key: &str,
    ) -> Result<Option<EventRow>, StoreError> {
        let ev = TriggerEvent {
            file,
            index,
            key,
            kind: "",
            detail: "",
            source_run: None,
            depth: 0,
        };
        let r = existing(&self.conn, &ev);
        self.ctx(r)
    }

    /// The event that made `run_id`, if a trigger made it.
    pub fn event_of_run(&self, run_id: &str) -> Result<Option<EventRow>, StoreError> {
        let r = (|| {
            Ok(self
                .conn
                .prepare_cached(&format!(
                    "SELECT {EVENT_COLS} FROM {EVENT_FROM} WHERE e.run_id = ?1"
                ))?
                .query_row([run_id], event_row)
                .optional()?)
        })();
        self.ctx(r)
    }

    /// The events `run_id`'s end was, with what each started (oldest first).
    pub fn started_by_run(&self, run_id: &str) -> Result<Vec<EventRow>, StoreError> {
        let r = (|| {
            let mut st = self.conn.prepare_cached(&format!(
                "SELECT {EVENT_COLS} FROM {EVENT_FROM} WHERE e.source_run = ?1
                 ORDER BY e.recorded_at, e.file, e.idx"
            ))?;
            let rows = st
                .query_map([run_id], event_row)?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })();
        self.ctx(r)
    }

    /// How many triggers led to `run_id` (0: none made it).
    pub fn trigger_depth(&self, run_id: &str) -> Result<u32, StoreError> {
        Ok(self.event_of_run(run_id)?.map_or(0, |e| e.depth))
    }

    /// The runs of `workflow` that ended in one of `states` at or after `since` and
    /// are no event of trigger `file#index` yet, oldest end first, at most `limit`.
    pub fn runs_ended_unseen(
        &self,
        (file, index): (&str, u32),
        workflow: &str,
        states: &[String],
        since: Timestamp,
        limit: usize,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let r = (|| {
            let mut st = self.conn.prepare_cached(
                "SELECT r.id, r.state FROM runs r
                 WHERE r.workflow = ?1 AND r.finished_at >= ?2
                   AND r.state IN (SELECT value FROM json_each(?3))
                   AND NOT EXISTS (SELECT 1 FROM trigger_events e
                       WHERE e.file = ?4 AND e.idx = ?5 AND e.event_key = 'run:' || r.id)
                 ORDER BY r.finished_at, r.id LIMIT ?6",
            )?;
            let states = serde_json::to_string(states).unwrap_or_else(|_| "[]".into());
            let rows = st
                .query_map(
                    params![workflow, since.0, states, file, index, limit as i64],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })();
        self.ctx(r)
    }

    /// Record the triggers of `file` as now loaded (a new one is served from `now`);
    /// the file's other triggers are no longer served. A paused one stays paused.
    /// Returns the triggers served for the first time (`(index, since)`).
    pub fn serve_triggers(
        &mut self,
        file: &str,
        triggers: &[ServedTrigger<'_>],
        now: Timestamp,
    ) -> Result<Vec<u32>, StoreError> {
        let r = in_transaction(&self.conn, |tx| {
            tx.execute("UPDATE triggers SET active = 0 WHERE file = ?1", [file])?;
            let mut new = Vec::new();
            for t in triggers {
                let known: bool = tx
                    .prepare_cached("SELECT 1 FROM triggers WHERE file = ?1 AND idx = ?2")?
                    .query_row(params![t.file, t.index], |_| Ok(true))
                    .optional()?
                    .unwrap_or(false);
                if !known {
                    new.push(t.index);
                }
                tx.execute(
                    "INSERT INTO triggers (file, idx, workflow, name, kind, what, since, active)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1)
                     ON CONFLICT (file, idx) DO UPDATE SET workflow = excluded.workflow,
                        name = excluded.name, kind = excluded.kind, what = excluded.what,
                        active = 1",
                    params![t.file, t.index, t.workflow, t.name, t.kind, t.what, now.0],
                )?;
            }
            Ok(new)
        });
        self.ctx(r)
    }

    /// `file` is gone from the served directory: its triggers are no longer served.
    pub fn unserve_triggers(&mut self, file: &str) -> Result<(), StoreError> {
        let r = self
            .conn
            .execute("UPDATE triggers SET active = 0 WHERE file = ?1", [file])
            .map(|_| ())
            .map_err(StoreError::from);
        self.ctx(r)
    }

    /// Every trigger served, by workflow and index, with its `last` newest events.
    pub fn triggers(&self, last: usize) -> Result<Vec<TriggerRow>, StoreError> {
        let r = (|| {
            let mut st = self.conn.prepare_cached(
                "SELECT file, idx, workflow, name, kind, what, since, paused_by,
                        paused_reason, paused_at
                 FROM triggers WHERE active = 1 ORDER BY workflow, file, idx",
            )?;
            let mut rows: Vec<TriggerRow> = st
                .query_map([], |r| {
                    let by: Option<String> = r.get(7)?;
                    Ok(TriggerRow {
                        file: r.get(0)?,
                        index: r.get(1)?,
                        workflow: r.get(2)?,
                        name: r.get(3)?,
                        kind: r.get(4)?,
                        what: r.get(5)?,
                        since: Timestamp(r.get(6)?),
                        paused: match by {
                            Some(by) => Some(TriggerPause {
                                by,
                                reason: r.get(8)?,
                                at: Timestamp(r.get::<_, Option<i64>>(9)?.unwrap_or(0)),
                            }),
                            None => None,
                        },
                        last: Vec::new(),
                    })
                })?
                .collect::<Result<_, _>>()?;
            let mut ev = self.conn.prepare_cached(&format!(
                "SELECT {EVENT_COLS} FROM {EVENT_FROM} WHERE e.file = ?1 AND e.idx = ?2
                 ORDER BY e.recorded_at DESC, e.rowid DESC LIMIT ?3"
            ))?;
            for t in &mut rows {
                t.last = ev
                    .query_map(params![t.file, t.index, last as i64], event_row)?
                    .collect::<Result<_, _>>()?;
            }
            Ok(rows)
        })();
        self.ctx(r)
    }

    /// The runs triggers made that are not finished (a dead serve's: the next one
    /// takes them over), oldest first.
    pub fn unfinished_trigger_runs(&self) -> Result<Vec<String>, StoreError> {
        let r = (|| {
            let mut st = self.conn.prepare(
                "SELECT e.run_id, r.state FROM trigger_events e JOIN runs r ON r.id = e.run_id
                 ORDER BY e.recorded_at",
            )?;
            let rows: Vec<(String, String)> = st
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            Ok(rows
                .into_iter()
                .filter(|(_, s)| !RunState::parse(s).is_some_and(RunState::is_final))
                .map(|(id, _)| id)
                .collect())
        })();
        self.ctx(r)
    }

    /// Pause (or resume) the triggers `targets` (file, index, `WORKFLOW#N`) as `by`,
    /// with `reason`: the rows and the decision on the audit chain, one transaction.
    /// Returns how many rows changed.
    pub fn set_trigger_paused(
        &mut self,
        targets: &[(String, u32, String)],
        paused: bool,
        by: &str,
        reason: &str,
    ) -> Result<usize, StoreError> {
        let now = Timestamp::now();
        let names: Vec<&str> = targets.iter().map(|t| t.2.as_str()).collect();
        let (verb, action) = if paused {
            ("paused", AuditAction::TriggerPaused)
        } else {
            ("resumed", AuditAction::TriggerResumed)
        };
        let make = |_: &()| AuditDecision {
            actor: by.to_string(),
            action,
            step: None,
            reason: Some(reason.to_string()),
            summary: format!("{verb} trigger {}", names.join(", ")),
            details: serde_json::json!({ "at": now.0, "triggers": names }),
        };
        self.decide_on(AUDIT_SUBJECT, make, |tx| {
            let mut n = 0;
            for (file, index, _) in targets {
                n += tx
                    .prepare_cached(
                        "UPDATE triggers SET paused_by = ?3, paused_reason = ?4, paused_at = ?5
                         WHERE file = ?1 AND idx = ?2",
                    )?
                    .execute(params![file, index, paused.then_some(by), reason, now.0])?;
            }
            Ok((n, ()))
        })
    }

    /// Whether trigger `file#index` is paused now.
    pub fn trigger_paused(&self, file: &str, index: u32) -> Result<bool, StoreError> {
        let r = (|| {
            Ok(self
                .conn
                .prepare_cached(
                    "SELECT paused_by IS NOT NULL FROM triggers WHERE file = ?1 AND idx = ?2",
                )?
                .query_row(params![file, index], |r| r.get(0))
                .optional()?
                .unwrap_or(false))
        })();
        self.ctx(r)
    }
}

#[cfg(test)]
#[path = "trigger_events_tests.rs"]
mod tests;

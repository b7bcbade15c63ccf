//! What `baton serve` keeps about schedules: each schedule served (and whether it is
//! paused), each slot decided (one row per workflow file, schedule and slot time, so
//! no slot fires twice), the triggers operators asked for, and each workflow file's
//! last load. Pausing, resuming and triggering are decisions: each goes on the audit
//! chain in the transaction that records it.
use super::audit::AuditKeys;
use super::error::StoreError;
use super::{Store, in_transaction};
use baton_model::history::{AuditAction, Decision};
use baton_model::{RunState, Timestamp};
use rusqlite::{OptionalExtension, params};

/// Slot rows of schedule 0 are operators' triggers (`baton schedule trigger`).
pub const TRIGGER_INDEX: u32 = 0;
/// The audit chain's row names a run; a schedule's decision names this instead.
pub const AUDIT_SUBJECT: &str = crate::ledger::decisions::SCHEDULES;
/// The code of a schedule's decision the serve refused for want of proof: that of a
/// run's command row refused so (`Refusal::Unproven`), which `baton audit` shows alike.
fn unproven() -> &'static str {
    baton_model::Refusal::Unproven { why: String::new() }.code()
}
/// A trigger waiting for the serve to start it.
pub const REQUESTED: &str = "requested";

pub use backfill::{BackfillAsk, Backfilled, DueBackfill};
pub use baton_model::schedule::{LastRun, Paused, ScheduleRow, SlotRow};

mod backfill;
mod pause;
mod serve_state;
pub use pause::{ChainPauses, PauseRow};
pub use serve_state::ServeState;

/// A trigger an operator asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    pub file: String,
    pub at: Timestamp,
    pub params: Vec<(String, String)>,
    /// The params as the row holds them (what the trigger's proof covers).
    pub params_text: String,
    pub by: String,
}

/// A trigger's text as its proof covers it (without the proof's name).
fn trigger_value(file: &str, at: Timestamp, by: &str, params_text: &str) -> serde_json::Value {
    serde_json::json!({ "file": file, "at": at.0, "by": by, "params": params_text })
}

/// The schedule to record when a workflow is loaded.
#[derive(Debug, Clone)]
pub struct Served<'a> {
    pub file: &'a str,
    pub index: u32,
    pub workflow: &'a str,
    pub cron: &'a str,
    pub timezone: &'a str,
    pub catch_up: &'a str,
    pub overlap: &'a str,
}

/// Every schedule served with its latest slot and its latest run (`Store::schedules`):
/// each a lookup of one index entry (`schedule_slots_with_run` holds only the slots
/// that made a run), whatever the history.
fn schedules_sql() -> String {
    format!(
        "SELECT s.file, s.idx, s.workflow, s.cron, s.timezone, s.catch_up, s.overlap,
            s.since, s.paused, s.paused_by, s.paused_reason, s.paused_at,
            l.slot_at, l.fate, lr.slot_at, lr.run_id, runs.state, ls.holder,
            ls.heartbeat_at, ls.taking_over, {}
     FROM schedules s
     LEFT JOIN schedule_slots l ON l.file = s.file AND l.idx = s.idx
        AND l.slot_at = (SELECT MAX(slot_at) FROM schedule_slots m
             WHERE m.file = s.file AND m.idx = s.idx)
     LEFT JOIN schedule_slots lr ON lr.file = s.file AND lr.idx = s.idx
        AND lr.slot_at = (SELECT m.slot_at FROM schedule_slots m
              WHERE m.file = s.file AND m.idx = s.idx
                AND m.run_id IS NOT NULL
              ORDER BY m.slot_at DESC LIMIT 1)
     LEFT JOIN runs ON runs.id = lr.run_id
     LEFT JOIN leases ls ON ls.run_id = lr.run_id
     WHERE s.active = 1
     ORDER BY s.workflow, s.file, s.idx",
        crate::slots::REPLACED_SQL
    )
}

/// Why the serve refuses a decision on a schedule it finds in the store: a requested
/// trigger ([`Store::prove_trigger`]), a backfilled slot, a pause or a resume.
#[derive(Debug, thiserror::Error)]
pub enum TriggerUnproven {
    #[error(
        "no decision on the audit chain asked for it (a row written into the database by hand)"
    )]
    NoDecision,
    #[error("the row names `{row}`, the audit chain's decision `{chain}`")]
    OtherActor { row: String, chain: String },
    #[error("its decision names no proof (asked for by an older baton); trigger it again")]
    NoProof,
    #[error(transparent)]
    Proof(super::proof::Unproven),
}

impl Store {
    /// Record the schedules of `file` as now loaded (a new one is served from `now`);
    /// the file's other schedules are no longer served. A paused one stays paused.
    pub fn serve_schedules(
        &mut self,
        file: &str,
        schedules: &[Served<'_>],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let r = in_transaction(&self.conn, |tx| {
            tx.execute("UPDATE schedules SET active = 0 WHERE file = ?1", [file])?;
            for s in schedules {
                tx.execute(
                    "INSERT INTO schedules (file, idx, workflow, cron, timezone, catch_up, overlap, since, active)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1)
                     ON CONFLICT (file, idx) DO UPDATE SET workflow = excluded.workflow,
                        cron = excluded.cron, timezone = excluded.timezone,
                        catch_up = excluded.catch_up, overlap = excluded.overlap, active = 1",
                    params![
                        s.file, s.index, s.workflow, s.cron, s.timezone, s.catch_up, s.overlap,
                        now.0
                    ],
                )?;
            }
            Ok(())
        });
        self.ctx(r)
    }

    /// `file` is gone from the served directory: its schedules are no longer served.
    pub fn unserve_file(&mut self, file: &str) -> Result<(), StoreError> {
        let r = (|| {
            self.conn
                .execute("UPDATE schedules SET active = 0 WHERE file = ?1", [file])?;
            self.conn
                .execute("DELETE FROM serve_files WHERE file = ?1", [file])?;
            Ok(())
        })();
        self.ctx(r)
    }

    /// Record how `file` loaded last (`error`: why it does not, `FILE:LINE:COL` first).
    pub fn record_load(
        &mut self,
        file: &str,
        workflow: Option<&str>,
        error: Option<&str>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let r = self
            .conn
            .execute(
                "INSERT INTO serve_files (file, workflow, error, checked_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (file) DO UPDATE SET workflow = COALESCE(excluded.workflow, serve_files.workflow),
                    error = excluded.error, checked_at = excluded.checked_at",
                params![file, workflow, error, now.0],
            )
            .map(|_| ())
            .map_err(StoreError::from);
        self.ctx(r)
    }

    /// The workflow files that no longer load, with their errors.
    pub fn load_errors(&self) -> Result<Vec<(String, String)>, StoreError> {
        let r = (|| {
            let mut st = self.conn.prepare(
                "SELECT file, error FROM serve_files WHERE error IS NOT NULL ORDER BY file",
            )?;
            let rows = st
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })();
        self.ctx(r)
    }

    /// Every schedule served, by workflow and index, with its latest slot and its latest
    /// run (each one index entry: `schedule_slots_with_run` holds only slots with a run).
    pub fn schedules(&self) -> Result<Vec<ScheduleRow>, StoreError> {
        let now = Timestamp::now();
        let r = (|| {
            let mut st = self.conn.prepare_cached(&schedules_sql())?;
            let rows = st
                .query_map([], |r| {
                    let paused: bool = r.get(8)?;
                    let slot_at: Option<i64> = r.get(12)?;
                    let run_at: Option<i64> = r.get(14)?;
                    let run_id: Option<String> = r.get(15)?;
                    let state: Option<String> = r.get(16)?;
                    Ok(ScheduleRow {
                        file: r.get(0)?,
                        index: r.get(1)?,
                        workflow: r.get(2)?,
                        cron: r.get(3)?,
                        timezone: r.get(4)?,
                        catch_up: r.get(5)?,
                        overlap: r.get(6)?,
                        since: Timestamp(r.get(7)?),
                        paused: paused
                            .then(|| -> rusqlite::Result<Paused> {
                                Ok(Paused {
                                    by: r.get::<_, Option<String>>(9)?.unwrap_or_default(),
                                    reason: r.get::<_, Option<String>>(10)?.unwrap_or_default(),
                                    at: Timestamp(r.get::<_, Option<i64>>(11)?.unwrap_or_default()),
                                })
                            })
                            .transpose()?,
                        last: match slot_at {
                            None => None,
                            Some(at) => Some(SlotRow {
                                slot_at: Timestamp(at),
                                fate: r.get(13)?,
                            }),
                        },
                        last_run: match (run_at, run_id) {
                            (Some(at), Some(run_id)) => Some(LastRun {
                                slot_at: Timestamp(at),
                                run_id,
                                // A run deleted since reads as gone: interrupted.
                                state: crate::holder::live(
                                    state.as_deref().unwrap_or("interrupted"),
                                    (r.get(17)?, r.get(18)?, r.get(19)?),
                                    r.get(20)?,
                                    now,
                                )
                                .state,
                            }),
                            _ => None,
                        },
                    })
                })?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })();
        self.ctx(r)
    }

    /// The latest slot recorded for a schedule.
    pub fn last_slot(&self, file: &str, index: u32) -> Result<Option<Timestamp>, StoreError> {
        let r = self
            .conn
            .query_row(
                "SELECT MAX(slot_at) FROM schedule_slots WHERE file = ?1 AND idx = ?2",
                params![file, index],
                |r| r.get::<_, Option<i64>>(0),
            )
            .map(|v| v.map(Timestamp))
            .map_err(StoreError::from);
        self.ctx(r)
    }

    /// Record the fates of slots (a serve's tick: file, index, slot, fate) in one
    /// transaction: for each, whether it was recorded now (`false`: an earlier serve
    /// decided it; a slot is never decided twice).
    pub fn record_slots(
        &mut self,
        slots: &[(&str, u32, Timestamp, &str)],
    ) -> Result<Vec<bool>, StoreError> {
        let now = Timestamp::now();
        let r = super::in_transaction(&self.conn, |tx| {
            let mut st = tx.prepare_cached(
                "INSERT INTO schedule_slots (file, idx, slot_at, fate, recorded_at)
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
            )?;
            let mut out = Vec::with_capacity(slots.len());
            for (file, index, slot_at, fate) in slots {
                out.push(st.execute(params![file, index, slot_at.0, fate, now.0])? == 1);
            }
            Ok(out)
        });
        self.ctx(r)
    }

    /// Recorded slots that started their runs (or, `run_id` `None`, could not: `fate`
    /// says why): file, index, slot, fate, run, in one transaction.
    pub fn slots_started(
        &mut self,
        started: &[(&str, u32, Timestamp, &str, Option<&str>)],
    ) -> Result<(), StoreError> {
        let r = super::in_transaction(&self.conn, |tx| {
            let mut st = tx.prepare_cached(
                "UPDATE schedule_slots SET fate = ?4, run_id = ?5
                 WHERE file = ?1 AND idx = ?2 AND slot_at = ?3",
            )?;
            for (file, index, slot_at, fate, run_id) in started {
                st.execute(params![file, index, slot_at.0, fate, run_id])?;
            }
            Ok(())
        });
        self.ctx(r)
    }

    /// The runs slots started that have not finished as recorded (a serve that died
    /// left them; the next one resumes them).
    pub fn unfinished_slot_runs(&self) -> Result<Vec<(String, u32, String)>, StoreError> {
        let r = (|| {
            let mut st = self.conn.prepare(
                "SELECT l.file, l.idx, l.run_id, r.state FROM schedule_slots l
                 JOIN runs r ON r.id = l.run_id ORDER BY l.slot_at",
            )?;
            let rows: Vec<(String, u32, String, String)> = st
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect::<Result<_, _>>()?;
            Ok(rows
                .into_iter()
                .filter(|(_, _, _, state)| !RunState::parse(state).is_some_and(RunState::is_final))
                .map(|(f, i, id, _)| (f, i, id))
                .collect())
        })();
        self.ctx(r)
    }

    /// Triggers waiting for the serve, oldest first.
    pub fn requested_triggers(&self) -> Result<Vec<Trigger>, StoreError> {
        let r = (|| {
            let mut st = self.conn.prepare_cached(
                "SELECT file, slot_at, params, requested_by FROM schedule_slots
                 WHERE idx = ?1 AND fate = ?2 ORDER BY slot_at",
            )?;
            let rows = st
                .query_map(params![TRIGGER_INDEX, REQUESTED], |r| {
                    let params_text: String = r.get::<_, Option<String>>(2)?.unwrap_or_default();
                    Ok(Trigger {
                        file: r.get(0)?,
                        at: Timestamp(r.get(1)?),
                        params: serde_json::from_str(&params_text).unwrap_or_default(),
                        params_text,
                        by: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                    })
                })?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })();
        self.ctx(r)
    }

    /// Ask the serve of `file` (workflow `workflow`) to start a run now, with `params`.
    ///
    /// The request carries a proof of its submitter (`proof`): a file beside the store,
    /// made by this process (the kernel records its owner), holding the digest of the
    /// request's exact text (file, time, account, params and the proof's name). The
    /// audit chain's decision names the proof; the serve starts the run only once the
    /// proof holds for the account the decision names ([`Store::prove_trigger`]).
    pub fn request_trigger(
        &mut self,
        file: &str,
        workflow: &str,
        params_given: &[(String, String)],
        actor: &str,
        reason: &str,
    ) -> Result<Timestamp, StoreError> {
        let text = serde_json::to_string(params_given)?;
        // Unique per millisecond: two triggers in the same one are one apart.
        let mut at = Timestamp::now().0;
        while self.slot_taken(file, TRIGGER_INDEX, at)? {
            at += 1;
        }
        let shared = super::proof::shared(&self.path);
        let (_, proof) = super::proof::seal_value(
            &self.path,
            shared,
            AUDIT_SUBJECT,
            trigger_value(file, Timestamp(at), actor, &text),
        )?;
        let nonce = proof
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let decision = Decision {
            actor: actor.to_string(),
            action: AuditAction::ScheduleTriggered,
            step: None,
            reason: Some(reason.to_string()),
            summary: format!("triggered {workflow}"),
            details: serde_json::json!({
                "workflow": workflow,
                "params": params_given.iter().map(|(k, _)| k).collect::<Vec<_>>(),
                "file": file,
                "at": at,
                "proof": nonce,
            }),
        };
        let made = self.decide(&decision, |tx| {
            let n = tx.execute(
                "INSERT INTO schedule_slots (file, idx, slot_at, fate, params, requested_by, recorded_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?3) ON CONFLICT DO NOTHING",
                params![file, TRIGGER_INDEX, at, REQUESTED, text, actor],
            )?;
            // Another trigger took this millisecond meanwhile: nothing is recorded.
            if n == 0 {
                return Err(StoreError::Busy { holder: None });
            }
            Ok(Timestamp(at))
        });
        if made.is_err() {
            let _ = std::fs::remove_file(&proof);
        }
        made
    }

    fn slot_taken(&self, file: &str, index: u32, at: i64) -> Result<bool, StoreError> {
        let r = self
            .conn
            .query_row(
                "SELECT 1 FROM schedule_slots WHERE file = ?1 AND idx = ?2 AND slot_at = ?3",
                params![file, index, at],
                |_| Ok(()),
            )
            .optional()
            .map(|r| r.is_some())
            .map_err(StoreError::from);
        self.ctx(r)
    }

    /// The serve's check of a requested trigger before it starts its run: the audit
    /// chain holds the decision that asked for it (an operator's `baton schedule
    /// trigger`), naming the account the row names, and that account's proof holds
    /// for the row as it is now (its file, time and params). `Ok(Err(why))`: refused.
    /// The proof is used up, whatever the verdict: it proves one trigger, once.
    pub fn prove_trigger(&self, t: &Trigger) -> Result<Result<(), TriggerUnproven>, StoreError> {
        let value = trigger_value(&t.file, t.at, &t.by, &t.params_text);
        self.prove_on_chain(
            AuditAction::ScheduleTriggered,
            ("$.at", t.at.0.into()),
            &t.by,
            value,
            |d| {
                (d.get("file").and_then(|f| f.as_str()) == Some(t.file.as_str()))
                    .then(|| d.get("proof").cloned())
            },
        )
    }

    /// The serve's check of a decision it found in the store (a trigger, a backfilled
    /// slot, a pause or a resume): the decision behind the row ([`Self::decision_on_chain`])
    /// and its account's proof, which must hold for `value`, the row as it is now as the
    /// proof covers it. The proof is used up, whatever the verdict. `Ok(Err(why))`:
    /// refused.
    pub(crate) fn prove_on_chain(
        &self,
        action: AuditAction,
        filter: (&str, rusqlite::types::Value),
        by: &str,
        mut value: serde_json::Value,
        about: impl Fn(&serde_json::Value) -> Option<Option<serde_json::Value>>,
    ) -> Result<Result<(), TriggerUnproven>, StoreError> {
        let (actor, nonce) = match self.decision_on_chain(action, filter, by, about)? {
            Ok(found) => found,
            Err(why) => return Ok(Err(why)),
        };
        if let Some(map) = value.as_object_mut() {
            map.insert("by".into(), actor.clone().into());
            map.insert("proof".into(), nonce);
        }
        Ok(
            super::proof::check(&self.path, AUDIT_SUBJECT, &value.to_string(), &actor)
                .map_err(TriggerUnproven::Proof),
        )
    }

    /// The decision behind a row the serve found in the store, the one lookup both the
    /// serve's proof ([`Self::prove_on_chain`]) and what `baton schedules` says use: the
    /// audit chain's LATEST decision `action` that `about` says is about this row
    /// (`Some`, with the name of its proof if it has one), among those whose details
    /// hold `filter` (a JSON path and its value). Its actor must be `by`, the account
    /// the row names, and it must name a proof: its actor and the proof's name, or why
    /// not. Nothing is used up.
    pub(crate) fn decision_on_chain(
        &self,
        action: AuditAction,
        filter: (&str, rusqlite::types::Value),
        by: &str,
        about: impl Fn(&serde_json::Value) -> Option<Option<serde_json::Value>>,
    ) -> Result<Result<(String, serde_json::Value), TriggerUnproven>, StoreError> {
        let r = (|| {
            let mut st = self.conn.prepare_cached(
                "SELECT actor, details FROM audit WHERE run_id = ?1 AND action = ?2
                   AND json_extract(details, ?3) = ?4 ORDER BY id DESC",
            )?;
            let rows = st
                .query_map(
                    params![AUDIT_SUBJECT, action.as_str(), filter.0, filter.1],
                    |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
                )?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows.into_iter().find_map(|(actor, details)| {
                let d: serde_json::Value = serde_json::from_str(&details).ok()?;
                about(&d).map(|nonce| (actor, nonce))
            }))
        })();
        let Some((actor, nonce)) = self.ctx(r)? else {
            return Ok(Err(TriggerUnproven::NoDecision));
        };
        if !baton_model::same_actor(&actor, by) {
            return Ok(Err(TriggerUnproven::OtherActor {
                row: by.to_string(),
                chain: actor,
            }));
        }
        Ok(match nonce {
            Some(nonce) => Ok((actor, nonce)),
            None => Err(TriggerUnproven::NoProof),
        })
    }

    /// A requested trigger of `workflow` (its name, as the serve loaded it) the serve
    /// refuses (`why`), on record: its slot `refused`, and the refusal on the audit
    /// chain as `actor`'s (the serve's account), naming the decision refused and its
    /// subject as the trigger's own row would.
    pub fn refuse_trigger(
        &mut self,
        t: &Trigger,
        workflow: &str,
        actor: &str,
        why: &str,
    ) -> Result<(), StoreError> {
        let decision = Decision {
            actor: actor.to_string(),
            action: AuditAction::CommandRefused,
            step: None,
            reason: Some(why.to_string()),
            summary: format!(
                "refused the trigger of {workflow} asked as {} at {}",
                t.by,
                t.at.to_rfc3339()
            ),
            details: serde_json::json!({
                "decision": "trigger",
                "workflow": workflow,
                "code": unproven(),
                "file": t.file,
                "at": t.at.0,
                "requested_by": t.by,
                "refused": why,
            }),
        };
        self.refuse_requested(&decision, &t.file, TRIGGER_INDEX, t.at)
    }

    /// A requested slot (a trigger's or a backfill's) refused: its row `refused` and
    /// `decision`, the refusal, on the audit chain, in one transaction.
    pub(super) fn refuse_requested(
        &mut self,
        decision: &Decision,
        file: &str,
        index: u32,
        slot: Timestamp,
    ) -> Result<(), StoreError> {
        self.decide(decision, |tx| {
            tx.execute(
                "UPDATE schedule_slots SET fate = 'refused'
                 WHERE file = ?1 AND idx = ?2 AND slot_at = ?3 AND fate = ?4",
                params![file, index, slot.0, REQUESTED],
            )?;
            Ok(())
        })
    }

    /// `body` and the audit row of `d` in one transaction, committed with
    /// `synchronous = FULL` like every decision.
    fn decide<T>(
        &mut self,
        d: &Decision,
        body: impl FnOnce(&rusqlite::Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.decide_with(|()| d.clone(), |tx| Ok((body(tx)?, ())))
    }

    /// [`Self::decide`] of a decision made from what `body` found (`X`), in its
    /// transaction.
    fn decide_with<T, X>(
        &mut self,
        make: impl FnOnce(&X) -> Decision,
        body: impl FnOnce(&rusqlite::Connection) -> Result<(T, X), StoreError>,
    ) -> Result<T, StoreError> {
        self.decide_on(AUDIT_SUBJECT, make, body)
    }

    /// [`Self::decide_with`] under the audit subject `subject`.
    pub(crate) fn decide_on<T, X>(
        &mut self,
        subject: &str,
        make: impl FnOnce(&X) -> Decision,
        body: impl FnOnce(&rusqlite::Connection) -> Result<(T, X), StoreError>,
    ) -> Result<T, StoreError> {
        let r = self.set_sync_full(true);
        self.ctx(r)?;
        self.witness_ready()?;
        let keys: &AuditKeys = &self.keys;
        let r = in_transaction(&self.conn, |tx| {
            crate::ledger::key_check::check_signing(tx, keys)?;
            let (v, found) = body(tx)?;
            let head = crate::ledger::decisions::append(tx, keys, subject, &make(&found))?;
            Ok((v, head))
        });
        let (v, head) = self.ctx(r)?;
        self.witness(&Vec::from_iter(crate::ledger::witness::Entry::of_head(
            &head,
        )))?;
        Ok(v)
    }

    /// Every workflow file a serve loaded, with its workflow's name.
    pub fn served_files(&self) -> Result<Vec<(String, String)>, StoreError> {
        let r = (|| {
            let mut st = self.conn.prepare(
                "SELECT file, workflow FROM serve_files WHERE workflow IS NOT NULL ORDER BY workflow",
            )?;
            let rows = st
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })();
        self.ctx(r)
    }

    /// The live serve of this store (`pid N on HOST`), if one holds its lease.
    pub fn serve_holder(&self, lease: &str) -> Option<String> {
        let (holder, beat): (String, i64) = self
            .conn
            .query_row(
                "SELECT holder, heartbeat_at FROM leases WHERE run_id = ?1",
                [lease],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .ok()
            .flatten()?;
        let l = baton_model::Lease {
            holder,
            heartbeat_at: Timestamp(beat),
            taking_over: false,
        };
        baton_model::liveness::lease_is_live(
            &l,
            Timestamp::now(),
            baton_model::LEASE_STALE,
            crate::holder::holder_alive,
        )
        .then_some(l.holder)
    }

    /// Whether any slot row mentions `run_id` (a run a serve started).
    pub fn slot_of_run(&self, run_id: &str) -> Result<Option<(String, u32)>, StoreError> {
        let r = self
            .conn
            .query_row(
                "SELECT file, idx FROM schedule_slots WHERE run_id = ?1",
                [run_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(StoreError::from);
        self.ctx(r)
    }
}

#[cfg(test)]
mod tests;

//! `baton schedule backfill`: slots of a past range asked for by an operator, each
//! started once by the serve, one after the other.
//!
//! A slot asked for is a `schedule_slots` row of its schedule with fate `requested` and
//! `requested_by` set, written with the decision's audit row in one transaction. A slot
//! that has a row already is asked for only if no run was ever made for it (`missed`,
//! `paused`, `failed`): a slot that ran, or is asked for already, is never started again,
//! whoever asks and however often (the row's key is the file, schedule and slot).
//!
//! Each slot asked for carries a proof of its account, as a trigger does: a file beside
//! the store made by the asking process, named in the decision's audit row
//! (`details.proofs`, by slot); the serve starts a slot only once that proof holds for
//! the account its row names ([`Store::prove_backfill`]), and refuses any other row on
//! record ([`Store::refuse_backfill`]): a member cannot ask in another's name.
use super::{REQUESTED, Store, StoreError, TRIGGER_INDEX};
use baton_model::Timestamp;
use baton_model::history::{AuditAction, Decision};
use rusqlite::{OptionalExtension, params};

/// Fates of a slot that made no run: a backfill may start it.
const NEVER_RAN: [&str; 4] = ["missed", "paused", "failed", "refused"];

/// A backfilled slot's text as its proof covers it (without the proof's name).
fn slot_value(file: &str, index: u32, slot: Timestamp, by: &str) -> serde_json::Value {
    serde_json::json!({ "file": file, "index": index, "slot": slot.0, "by": by })
}

/// What a backfill found for one slot of its range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backfilled {
    /// Asked for now: the serve starts it.
    Requested,
    /// Decided already: its fate, and its run if it made one. Not started again.
    Decided { fate: String, run: Option<String> },
}

/// One schedule's backfill, as asked.
#[derive(Debug, Clone)]
pub struct BackfillAsk<'a> {
    pub file: &'a str,
    pub index: u32,
    /// `WORKFLOW#N`, for the audit row.
    pub name: &'a str,
    pub slots: &'a [Timestamp],
    pub actor: &'a str,
    pub reason: &'a str,
    /// `--from` and `--to` as given (RFC 3339), for the audit row.
    pub range: (Timestamp, Timestamp),
}

/// A backfilled slot the serve may start now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueBackfill {
    pub file: String,
    pub index: u32,
    pub slot: Timestamp,
    pub by: String,
}

impl Store {
    /// What each slot of `slots` is now, without asking for anything (`--dry-run`).
    pub fn slot_fates(
        &self,
        file: &str,
        index: u32,
        slots: &[Timestamp],
    ) -> Result<Vec<Backfilled>, StoreError> {
        let r = (|| {
            let mut st = self.conn.prepare_cached(
                "SELECT fate, run_id FROM schedule_slots WHERE file = ?1 AND idx = ?2 AND slot_at = ?3",
            )?;
            let mut out = Vec::with_capacity(slots.len());
            for at in slots {
                let row: Option<(String, Option<String>)> = st
                    .query_row(params![file, index, at.0], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?;
                out.push(match row {
                    Some((fate, run)) if run.is_some() || !NEVER_RAN.contains(&fate.as_str()) => {
                        Backfilled::Decided { fate, run }
                    }
                    _ => Backfilled::Requested,
                });
            }
            Ok(out)
        })();
        self.ctx(r)
    }

    /// Ask the serve to start each slot of `ask` that never made a run, as `actor`'s
    /// decision on the audit chain (one row naming the schedule, the range and the
    /// slots asked for); what each slot is after it.
    pub fn request_backfill(
        &mut self,
        ask: &BackfillAsk<'_>,
    ) -> Result<Vec<Backfilled>, StoreError> {
        let decision = |asked: &Vec<String>| Decision {
            actor: ask.actor.to_string(),
            action: AuditAction::ScheduleBackfilled,
            step: None,
            reason: Some(ask.reason.to_string()),
            summary: format!(
                "backfilled {}: {} slot(s) from {} to {}",
                ask.name,
                asked.len(),
                ask.range.0.slot_text(),
                ask.range.1.slot_text()
            ),
            details: serde_json::json!({
                "schedule": ask.name,
                "from": ask.range.0.slot_text(),
                "to": ask.range.1.slot_text(),
                "slots": asked,
            }),
        };
        let now = Timestamp::now().0;
        // One proof per slot, made before the transaction (which decides which slots are
        // asked for); those of slots not asked for are removed after it.
        let shared = crate::coord::proof::shared(&self.path);
        let mut proofs = Vec::with_capacity(ask.slots.len());
        for at in ask.slots {
            let value = slot_value(ask.file, ask.index, *at, ask.actor);
            match crate::coord::proof::seal_value(&self.path, shared, super::AUDIT_SUBJECT, value) {
                Ok((_, path)) => proofs.push(path),
                Err(e) => {
                    for p in &proofs {
                        let _ = std::fs::remove_file(p);
                    }
                    return Err(e);
                }
            }
        }
        let nonce = |p: &std::path::PathBuf| {
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        let decision =
            |(asked, named): &(Vec<String>, serde_json::Map<String, serde_json::Value>)| {
                let mut d = decision(asked);
                if let Some(map) = d.details.as_object_mut() {
                    map.insert("file".into(), ask.file.into());
                    map.insert("index".into(), ask.index.into());
                    map.insert("proofs".into(), serde_json::Value::Object(named.clone()));
                }
                d
            };
        // The fates are read again in the decision's transaction: what it records is
        // what it found.
        let mut used = vec![false; ask.slots.len()];
        let done = self.decide_with(decision, |tx| {
            let mut out = Vec::with_capacity(ask.slots.len());
            let mut asked = Vec::new();
            let mut named = serde_json::Map::new();
            for (i, at) in ask.slots.iter().enumerate() {
                let new = tx.execute(
                    "INSERT INTO schedule_slots (file, idx, slot_at, fate, requested_by, recorded_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
                    params![ask.file, ask.index, at.0, REQUESTED, ask.actor, now],
                )? == 1
                    || tx.execute(
                        "UPDATE schedule_slots SET fate = ?4, requested_by = ?5, recorded_at = ?6
                         WHERE file = ?1 AND idx = ?2 AND slot_at = ?3 AND run_id IS NULL
                           AND fate IN ('missed', 'paused', 'failed', 'refused')",
                        params![ask.file, ask.index, at.0, REQUESTED, ask.actor, now],
                    )? == 1;
                if new {
                    asked.push(at.slot_text());
                    named.insert(at.0.to_string(), nonce(&proofs[i]).into());
                    used[i] = true;
                    out.push(Backfilled::Requested);
                } else {
                    let (fate, run) = tx.query_row(
                        "SELECT fate, run_id FROM schedule_slots WHERE file = ?1 AND idx = ?2 AND slot_at = ?3",
                        params![ask.file, ask.index, at.0],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )?;
                    out.push(Backfilled::Decided { fate, run });
                }
            }
            Ok((out, (asked, named)))
        });
        for (p, used) in proofs.iter().zip(&used) {
            if !*used || done.is_err() {
                let _ = std::fs::remove_file(p);
            }
        }
        done
    }

    /// The serve's check of a backfilled slot before it starts its run: the audit
    /// chain's backfill decision of its schedule names a proof for this slot, by the
    /// account the row names, and that proof holds. Uses the proof up, whatever the
    /// verdict. `Ok(Err(why))`: refused.
    pub fn prove_backfill(
        &self,
        b: &DueBackfill,
    ) -> Result<Result<(), super::TriggerUnproven>, StoreError> {
        let key = b.slot.0.to_string();
        self.prove_on_chain(
            AuditAction::ScheduleBackfilled,
            ("$.file", b.file.clone().into()),
            &b.by,
            slot_value(&b.file, b.index, b.slot, &b.by),
            |d| {
                (d.get("index").and_then(|i| i.as_u64()) == Some(b.index as u64))
                    .then(|| d.get("proofs").and_then(|p| p.get(&key)).cloned())
                    .filter(Option::is_some)
            },
        )
    }

    /// A backfilled slot of the schedule `name` (`nightly#1`, as the serve loaded it)
    /// the serve refuses (`why`), on record: its row `refused`, and the refusal on the
    /// audit chain as `actor`'s (the serve's account), naming the decision and schedule.
    pub fn refuse_backfill(
        &mut self,
        b: &DueBackfill,
        name: &str,
        actor: &str,
        why: &str,
    ) -> Result<(), StoreError> {
        let decision = Decision {
            actor: actor.to_string(),
            action: AuditAction::CommandRefused,
            step: None,
            reason: Some(why.to_string()),
            summary: format!(
                "refused the backfill of {name} slot {} asked as {}",
                b.slot.to_rfc3339(),
                b.by
            ),
            details: serde_json::json!({
                "decision": "backfill",
                "schedule": name,
                "code": super::unproven(),
                "file": b.file,
                "index": b.index,
                "at": b.slot.0,
                "requested_by": b.by,
                "refused": why,
            }),
        };
        self.refuse_requested(&decision, &b.file, b.index, b.slot)
    }

    /// The backfilled slots the serve starts now: of each schedule, the oldest asked
    /// for, once no run of that schedule is unfinished (a backfill runs its slots one
    /// after the other, as Airflow's backfill with `max_active_runs = 1`).
    pub fn due_backfills(&self) -> Result<Vec<DueBackfill>, StoreError> {
        let r = (|| {
            let mut st = self.conn.prepare_cached(
                "SELECT s.file, s.idx, MIN(s.slot_at), s.requested_by FROM schedule_slots s
                 WHERE s.idx != ?1 AND s.fate = ?2
                   AND NOT EXISTS (SELECT 1 FROM schedule_slots b JOIN runs r ON r.id = b.run_id
                        WHERE b.file = s.file AND b.idx = s.idx
                          AND r.state NOT IN ('succeeded', 'failed', 'cancelled', 'skipped'))
                 GROUP BY s.file, s.idx ORDER BY 3",
            )?;
            let rows = st
                .query_map(params![TRIGGER_INDEX, REQUESTED], |r| {
                    Ok(DueBackfill {
                        file: r.get(0)?,
                        index: r.get(1)?,
                        slot: Timestamp(r.get(2)?),
                        by: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                    })
                })?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })();
        self.ctx(r)
    }
}

#[cfg(test)]
mod tests {
    use super::super::AUDIT_SUBJECT;
    use super::super::tests::{me, served, store};
    use super::*;

    #[test]
    fn a_slot_is_backfilled_once_and_only_if_it_never_ran() {
        let me = me();
        let (_dir, mut s) = store();
        let f = "/w/a.toml";
        s.serve_schedules(f, &[served(f, 1)], Timestamp(5)).unwrap();
        let day = 86_400_000;
        // Day 1 ran, day 2 was missed, day 3 has no row.
        s.record_slots(&[
            (f, 1, Timestamp(day), "started"),
            (f, 1, Timestamp(2 * day), "missed"),
        ])
        .unwrap();
        s.slots_started(&[(f, 1, Timestamp(day), "started", Some("r1"))])
            .unwrap();
        let slots = [Timestamp(day), Timestamp(2 * day), Timestamp(3 * day)];
        let ask = BackfillAsk {
            file: f,
            index: 1,
            name: "nightly#1",
            slots: &slots,
            actor: &me,
            reason: "outage",
            range: (Timestamp(day), Timestamp(3 * day)),
        };
        let ran = Backfilled::Decided {
            fate: "started".into(),
            run: Some("r1".into()),
        };
        let dry = s.slot_fates(f, 1, &slots).unwrap();
        assert_eq!(
            dry,
            vec![ran.clone(), Backfilled::Requested, Backfilled::Requested]
        );
        assert_eq!(s.request_backfill(&ask).unwrap(), dry);
        // Asked again: nothing new, each slot says what it is.
        let asked = Backfilled::Decided {
            fate: REQUESTED.into(),
            run: None,
        };
        assert_eq!(
            s.request_backfill(&ask).unwrap(),
            vec![ran, asked.clone(), asked]
        );
        // The serve starts the oldest first, one at a time.
        let due = s.due_backfills().unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(
            (due[0].slot, due[0].by.as_str()),
            (Timestamp(2 * day), me.as_str())
        );
        // Only the slot asked for, as its account, is proved; once.
        let forged = DueBackfill {
            slot: Timestamp(3 * day + 7),
            ..due[0].clone()
        };
        let why = s.prove_backfill(&forged).unwrap().unwrap_err().to_string();
        assert!(why.contains("no decision on the audit chain"), "{why}");
        let other = DueBackfill {
            by: "mallory".into(),
            ..due[0].clone()
        };
        assert!(s.prove_backfill(&other).unwrap().is_err());
        assert!(s.prove_backfill(&due[0]).unwrap().is_ok());
        assert!(s.prove_backfill(&due[0]).unwrap().is_err(), "one use");
        s.refuse_backfill(&due[0], "nightly#1", "alice", "test")
            .unwrap();
        assert_eq!(
            s.slot_fates(f, 1, &slots[1..2]).unwrap(),
            vec![Backfilled::Requested],
            "a refused slot may be asked for again"
        );
        // Both decisions are on the audit chain.
        let rows = s.audit(AUDIT_SUBJECT).unwrap();
        let backfills: Vec<serde_json::Value> = rows
            .iter()
            .filter(|r| r.action == "schedule_backfilled")
            .map(|r| serde_json::from_str(&r.details).unwrap())
            .collect();
        assert_eq!(backfills.len(), 2, "{rows:?}");
        // The refusal names the decision it refused and its schedule (issue 56 point 4).
        let refused = rows
            .iter()
            .find(|r| r.action == "command_refused")
            .expect("the refusal");
        let d: serde_json::Value = serde_json::from_str(&refused.details).unwrap();
        assert_eq!(
            (&d["decision"], &d["schedule"], &d["code"]),
            (
                &serde_json::json!("backfill"),
                &serde_json::json!("nightly#1"),
                &serde_json::json!("unproven")
            ),
            "{d:#}"
        );
        assert_eq!(
            backfills[0]["slots"],
            serde_json::json!(["1970-01-03T00:00:00Z", "1970-01-04T00:00:00Z"])
        );
        assert_eq!(backfills[1]["slots"], serde_json::json!([]));
        assert!(s.verify_audit(None).unwrap().is_intact());
    }
}

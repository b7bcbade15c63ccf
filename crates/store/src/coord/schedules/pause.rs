//! Pausing and resuming a schedule, with proof (issue 41 point 2).
//!
//! A schedule's row keeps its last pause or resume decision: `paused`, and who decided,
//! why and when (`paused_by`, `paused_reason`, `paused_at`, kept on a resume too). Any
//! member of a group store can write that row, so each decision also carries a proof of
//! its account, as a trigger does: a file beside the store made by the deciding process
//! (the kernel records its owner) holding the digest of the decision's exact text for
//! that schedule (file, index, paused or not, account, reason, time), named by the
//! decision's audit row. The serve acts only on a row whose decision the audit chain
//! holds and whose proof holds for the account it names ([`Store::prove_pause`]); it
//! keeps what it proved where no member can write (`ServeState`), and refuses any
//! other row on record ([`Store::refuse_pause`]).
use super::{AUDIT_SUBJECT, Store, StoreError, TriggerUnproven};
use baton_model::Timestamp;
use baton_model::history::{AuditAction, Decision};
use baton_model::schedule::PauseSaid;
use rusqlite::params;

/// Each schedule's latest pause or resume on the audit chain, with its reason, by
/// (file, index) ([`Store::chain_pauses`]).
pub type ChainPauses = std::collections::HashMap<(String, u32), (PauseSaid, String)>;

/// A schedule's last pause or resume as its row says (`by` empty: none recorded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PauseRow {
    pub file: String,
    pub index: u32,
    pub paused: bool,
    pub by: String,
    pub reason: String,
    pub at: Timestamp,
}

impl PauseRow {
    /// `pause` or `resume`.
    pub fn verb(&self) -> &'static str {
        if self.paused { "pause" } else { "resume" }
    }

    /// The decision the row states.
    pub fn said(&self) -> PauseSaid {
        PauseSaid {
            paused: self.paused,
            by: self.by.clone(),
            at: self.at,
        }
    }

    fn action(&self) -> AuditAction {
        if self.paused {
            AuditAction::SchedulePaused
        } else {
            AuditAction::ScheduleResumed
        }
    }

    /// Which audit rows may hold its decision: those of its time.
    fn filter(&self) -> (&'static str, rusqlite::types::Value) {
        ("$.at", self.at.0.into())
    }

    /// Whether a decision's details are about this schedule (`Some`, with the name of
    /// its proof for it if it has one).
    fn about(&self, d: &serde_json::Value) -> Option<Option<serde_json::Value>> {
        d.get("targets")?.as_array()?.iter().find_map(|t| {
            (t.get("file")?.as_str()? == self.file
                && t.get("index")?.as_u64()? == u64::from(self.index))
            .then(|| t.get("proof").cloned())
        })
    }

    /// The decision's text for this schedule as its proof covers it.
    fn value(&self) -> serde_json::Value {
        serde_json::json!({
            "file": self.file,
            "index": self.index,
            "paused": self.paused,
            "by": self.by,
            "reason": self.reason,
            "at": self.at.0,
        })
    }
}

impl Store {
    /// Pause (`paused`) or resume the schedules `targets` (file, index, workflow), on
    /// the audit chain as `actor`'s decision, each with a proof of `actor` (see the
    /// module's doc).
    pub fn set_paused(
        &mut self,
        targets: &[(String, u32, String)],
        paused: bool,
        actor: &str,
        reason: &str,
    ) -> Result<(), StoreError> {
        let now = Timestamp::now();
        let shared = crate::coord::proof::shared(&self.path);
        let mut proofs = Vec::with_capacity(targets.len());
        let mut sealed = Vec::with_capacity(targets.len());
        for (file, index, _) in targets {
            let row = PauseRow {
                file: file.clone(),
                index: *index,
                paused,
                by: actor.to_string(),
                reason: reason.to_string(),
                at: now,
            };
            let made =
                crate::coord::proof::seal_value(&self.path, shared, AUDIT_SUBJECT, row.value());
            let (_, proof) = match made {
                Ok(m) => m,
                Err(e) => {
                    for p in &proofs {
                        let _ = std::fs::remove_file(p);
                    }
                    return Err(e);
                }
            };
            let nonce = proof
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            sealed.push(serde_json::json!({ "file": file, "index": index, "proof": nonce }));
            proofs.push(proof);
        }
        let names: Vec<String> = targets
            .iter()
            .map(|(_, i, w)| baton_model::schedule::schedule_name(w, *i))
            .collect();
        let row = PauseRow {
            file: String::new(),
            index: 0,
            paused,
            by: actor.to_string(),
            reason: reason.to_string(),
            at: now,
        };
        let decision = Decision {
            actor: actor.to_string(),
            action: row.action(),
            step: None,
            reason: Some(reason.to_string()),
            summary: format!(
                "{} {}",
                if paused { "paused" } else { "resumed" },
                names.join(", ")
            ),
            details: serde_json::json!({ "schedules": names, "at": now.0, "targets": sealed }),
        };
        let done = self.decide(&decision, |tx| {
            for (file, index, _) in targets {
                tx.execute(
                    "UPDATE schedules SET paused = ?3, paused_by = ?4, paused_reason = ?5, paused_at = ?6
                     WHERE file = ?1 AND idx = ?2",
                    params![file, index, paused, actor, reason, now.0],
                )?;
            }
            Ok(())
        });
        if done.is_err() {
            for p in &proofs {
                let _ = std::fs::remove_file(p);
            }
        }
        done
    }

    /// Each schedule served, with its last pause or resume as its row says.
    pub fn pause_rows(&self) -> Result<Vec<PauseRow>, StoreError> {
        let r = (|| {
            let mut st = self.conn.prepare_cached(
                "SELECT file, idx, paused, paused_by, paused_reason, paused_at FROM schedules
                 WHERE active = 1 ORDER BY file, idx",
            )?;
            let rows = st
                .query_map([], |r| {
                    Ok(PauseRow {
                        file: r.get(0)?,
                        index: r.get(1)?,
                        paused: r.get(2)?,
                        by: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                        reason: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                        at: Timestamp(r.get::<_, Option<i64>>(5)?.unwrap_or_default()),
                    })
                })?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })();
        self.ctx(r)
    }

    /// The serve's check of a schedule's pause or resume row: the audit chain holds the
    /// decision, by the account the row names, and that account's proof holds for the
    /// row as it is now. Uses the proof up, whatever the verdict. `Ok(Err(why))`: refused.
    pub fn prove_pause(&self, p: &PauseRow) -> Result<Result<(), TriggerUnproven>, StoreError> {
        if p.by.is_empty() {
            return Ok(Err(TriggerUnproven::NoDecision));
        }
        self.prove_on_chain(p.action(), p.filter(), &p.by, p.value(), |d| p.about(d))
    }

    /// Whether the audit chain holds the decision behind a pause row, by the account it
    /// names, with a proof's name (`None`), or why not: what `baton schedules` can say
    /// without taking the proof, which is the serve's to check. The same lookup as the
    /// serve's ([`Store::decision_on_chain`]: the latest decision about the row).
    pub fn pause_on_record(&self, p: &PauseRow) -> Result<Option<String>, StoreError> {
        if p.by.is_empty() {
            return Ok(Some(TriggerUnproven::NoDecision.to_string()));
        }
        let found = self.decision_on_chain(p.action(), p.filter(), &p.by, |d| p.about(d))?;
        Ok(found.err().map(|why| why.to_string()))
    }

    /// Where the audit chain's pauses and resumes stand: the id of the latest one (`None`:
    /// none yet). One indexed read (`audit_by_action`); a serve reads
    /// [`Store::chain_pauses`] again only when it moved.
    pub fn chain_pause_mark(&self) -> Result<Option<i64>, StoreError> {
        let r = self
            .conn
            .prepare_cached("SELECT max(id) FROM audit WHERE run_id = ?1 AND action IN (?2, ?3)")
            .and_then(|mut st| {
                st.query_row(
                    params![
                        AUDIT_SUBJECT,
                        AuditAction::SchedulePaused.as_str(),
                        AuditAction::ScheduleResumed.as_str()
                    ],
                    |r| r.get::<_, Option<i64>>(0),
                )
            });
        self.ctx(r.map_err(StoreError::from))
    }

    /// The audit chain's latest pause or resume decision on each schedule it names, with
    /// its reason, in one pass over the schedules' pauses and resumes (an index range,
    /// `audit_by_action`, named: for the order the planner would walk every row of the
    /// subject, its triggers, backfills and refusals too): what `baton
    /// schedules` reads to say that a schedule whose row was cleared without a decision
    /// is still paused, and what a serve checks its schedules against
    /// (`model::schedule::pause_on_chain`: the chain's pause holds for every serve).
    pub fn chain_pauses(&self) -> Result<ChainPauses, StoreError> {
        let r = (|| {
            let mut st = self.conn.prepare_cached(
                "SELECT json_extract(t.value, '$.file'), json_extract(t.value, '$.index'),
                        a.action, a.actor, a.reason, json_extract(a.details, '$.at')
                 FROM audit a INDEXED BY audit_by_action, json_each(a.details, '$.targets') t
                 WHERE a.run_id = ?1 AND a.action IN (?2, ?3) ORDER BY a.id",
            )?;
            let mut latest = std::collections::HashMap::new();
            let rows = st.query_map(
                params![
                    AUDIT_SUBJECT,
                    AuditAction::SchedulePaused.as_str(),
                    AuditAction::ScheduleResumed.as_str()
                ],
                |r| {
                    Ok((
                        r.get::<_, Option<String>>(0)?,
                        r.get::<_, Option<i64>>(1)?,
                        PauseSaid {
                            paused: r.get::<_, String>(2)? == AuditAction::SchedulePaused.as_str(),
                            by: r.get(3)?,
                            at: Timestamp(r.get::<_, Option<i64>>(5)?.unwrap_or_default()),
                        },
                        r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                    ))
                },
            )?;
            for row in rows {
                let (file, index, said, reason) = row?;
                if let (Some(file), Some(index)) = (file, index.and_then(|i| u32::try_from(i).ok()))
                {
                    latest.insert((file, index), (said, reason));
                }
            }
            Ok(latest)
        })();
        self.ctx(r)
    }

    /// A pause or resume row of the schedule `name` (`nightly#1`, as the serve loaded
    /// it) the serve refuses (`why`), on record as `actor`'s (the serve's account),
    /// naming the decision refused and the schedule. The row is left as it is: the
    /// serve goes on as it last proved.
    pub fn refuse_pause(
        &mut self,
        p: &PauseRow,
        name: &str,
        actor: &str,
        why: &str,
    ) -> Result<(), StoreError> {
        let asked = if p.by.is_empty() {
            "with no account".to_string()
        } else {
            format!("as {} at {}", p.by, p.at.to_rfc3339())
        };
        let decision = Decision {
            actor: actor.to_string(),
            action: AuditAction::CommandRefused,
            step: None,
            reason: Some(why.to_string()),
            summary: format!("refused the {} of {name} asked {asked}", p.verb()),
            details: serde_json::json!({
                "decision": p.verb(),
                "schedule": name,
                "code": super::unproven(),
                "file": p.file,
                "index": p.index,
                "at": p.at.0,
                "requested_by": p.by,
                "refused": why,
            }),
        };
        self.decide(&decision, |_| Ok(()))
    }

    /// Slot rows of the schedule `name` (file, index) the serve fired up to `through`
    /// that are gone from the store (deleted): on record as `actor`'s (the serve's), a
    /// refusal to fire them again, and not fired again.
    pub fn report_missing_slots(
        &mut self,
        (file, index, name): (&str, u32, &str),
        through: Timestamp,
        actor: &str,
    ) -> Result<(), StoreError> {
        let why = format!(
            "slot rows up to {} are missing from the store (deleted); the serve's own cursor says they were decided: not fired again",
            through.to_rfc3339()
        );
        let decision = Decision {
            actor: actor.to_string(),
            action: AuditAction::CommandRefused,
            step: None,
            reason: Some(why.clone()),
            summary: format!("refused to fire again the missing slots of {name}"),
            details: serde_json::json!({
                "decision": "fire",
                "schedule": name,
                "code": baton_model::Refusal::CannotApply { why: String::new() }.code(),
                "file": file,
                "index": index,
                "through": through.0,
                "refused": why,
            }),
        };
        self.decide(&decision, |_| Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{me, served, store};
    use super::*;

    #[test]
    fn a_pause_is_proved_once_and_a_row_rewritten_by_hand_is_not() {
        let (_dir, mut s) = store();
        let f = "/w/a.toml";
        s.serve_schedules(f, &[served(f, 1)], Timestamp(5)).unwrap();
        let target = [(f.to_string(), 1, "nightly".to_string())];
        assert_eq!(s.chain_pause_mark().unwrap(), None);
        s.set_paused(&target, true, &me(), "maintenance").unwrap();
        let mark = s.chain_pause_mark().unwrap();
        assert!(mark.is_some());
        let row = s.pause_rows().unwrap().remove(0);
        assert!(row.paused && row.by == me(), "{row:?}");
        // The chain's latest decision on it is that pause; another schedule has none.
        let all = s.chain_pauses().unwrap();
        assert_eq!(all.len(), 1, "{all:?}");
        assert_eq!(
            all.get(&(f.to_string(), 1)),
            Some(&(row.said(), "maintenance".to_string()))
        );
        assert_eq!(s.pause_on_record(&row).unwrap(), None);
        // The reason rewritten: the proof no longer fits (and is used up).
        let edited = PauseRow {
            reason: "other".into(),
            ..row.clone()
        };
        let why = s.prove_pause(&edited).unwrap().unwrap_err().to_string();
        assert!(why.contains("for another command"), "{why}");
        assert!(s.prove_pause(&row).unwrap().is_err(), "one use");
        // A pause written by hand, in another's name: no decision.
        let forged = PauseRow {
            by: "alice".into(),
            at: Timestamp(row.at.0 + 7),
            ..row.clone()
        };
        let why = s.prove_pause(&forged).unwrap().unwrap_err().to_string();
        assert!(why.contains("no decision on the audit chain"), "{why}");
        assert!(s.pause_on_record(&forged).unwrap().is_some());
        // A resume cleared by hand names no one: no decision either.
        let cleared = PauseRow {
            paused: false,
            by: String::new(),
            reason: String::new(),
            at: Timestamp(0),
            ..row.clone()
        };
        assert!(s.prove_pause(&cleared).unwrap().is_err());
        // A real resume is proved.
        s.set_paused(&target, false, &me(), "go").unwrap();
        let row = s.pause_rows().unwrap().remove(0);
        assert!(!row.paused && row.by == me(), "{row:?}");
        assert!(s.chain_pause_mark().unwrap() > mark, "moved by the resume");
        assert_eq!(s.chain_pauses().unwrap()[&(f.to_string(), 1)].0, row.said());
        assert!(s.prove_pause(&row).unwrap().is_ok());
        assert!(s.verify_audit(None).unwrap().is_intact());
    }

    /// `baton schedules` and the serve read the decision behind a pause row with one
    /// lookup, the latest decision about the row winning: a later decision of the same
    /// time about the same schedule, by another account, is the one both see (the
    /// first one, by the row's account, no longer vouches for the row).
    #[test]
    fn the_latest_decision_about_a_pause_row_is_the_one_on_record_for_both_readers() {
        let (_dir, mut s) = store();
        let f = "/w/a.toml";
        s.serve_schedules(f, &[served(f, 1)], Timestamp(5)).unwrap();
        let target = [(f.to_string(), 1, "nightly".to_string())];
        s.set_paused(&target, true, &me(), "maintenance").unwrap();
        let row = s.pause_rows().unwrap().remove(0);
        assert_eq!(s.pause_on_record(&row).unwrap(), None, "{row:?}");
        // A later decision of the same time about the same schedule, by alice.
        let later = Decision {
            actor: "alice".into(),
            action: AuditAction::SchedulePaused,
            step: None,
            reason: Some("mine".into()),
            summary: "paused nightly#1".into(),
            details: serde_json::json!({
                "at": row.at.0,
                "targets": [{ "file": f, "index": 1, "proof": "hers" }],
            }),
        };
        s.decide(&later, |_| Ok(())).unwrap();
        let said = s.pause_on_record(&row).unwrap().expect("refused");
        let other = TriggerUnproven::OtherActor {
            row: me(),
            chain: "alice".into(),
        };
        assert_eq!(said, other.to_string());
        // The serve reads the same decision, and refuses the row for the same reason.
        let why = s.prove_pause(&row).unwrap().unwrap_err();
        assert_eq!(why.to_string(), said);
        // A decision about another schedule of that time changes nothing.
        let elsewhere = Decision {
            details: serde_json::json!({
                "at": row.at.0,
                "targets": [{ "file": "/w/b.toml", "index": 1, "proof": "x" }],
            }),
            ..later
        };
        s.decide(&elsewhere, |_| Ok(())).unwrap();
        assert_eq!(s.pause_on_record(&row).unwrap(), Some(said));
        // A decision naming no proof is said so, by both.
        let unproved = Decision {
            actor: me(),
            details: serde_json::json!({
                "at": row.at.0,
                "targets": [{ "file": f, "index": 1 }],
            }),
            ..elsewhere
        };
        s.decide(&unproved, |_| Ok(())).unwrap();
        let no_proof = TriggerUnproven::NoProof.to_string();
        assert_eq!(s.pause_on_record(&row).unwrap(), Some(no_proof.clone()));
        assert_eq!(
            s.prove_pause(&row).unwrap().unwrap_err().to_string(),
            no_proof
        );
        assert!(s.verify_audit(None).unwrap().is_intact());
    }
}

//! Deleting a run (`baton runs rm`, `baton gc`): every row of it in every table and its
//! log directory, in one transaction that also puts the deletion on the audit chain
//! (its audit rows are redacted, not removed: see [`super::audit`]).
use crate::error::StoreError;
use crate::ledger::append::{chain_write, insert_audit_row, set_chain_head};
use crate::ledger::{Store, audit};
use crate::schema::EVENTS_NO_DELETE;
use crate::tx::in_transaction;
use baton_model::retention::deletion_refusal;
use baton_model::{RunState, Timestamp};
use rusqlite::params;
use serde::Serialize;
use std::collections::HashMap;
use std::path::PathBuf;

/// The tables that hold a run's rows by `run_id`, besides `events` (keyed by the run's
/// key, guarded by a trigger), `runs` itself (deleted last: the others reference it)
/// and `audit` (redacted). The events' head mark goes with them: nothing of the run's
/// history is left to check (see [`crate::ledger::event_chain`]).
const RUN_TABLES: [&str; 12] = [
    "run_sources",
    "artifacts",
    "run_forks",
    "run_parents",
    "steps_projected",
    "steps",
    "attempts",
    "errors",
    "approvals",
    "commands",
    "link_requests",
    "leases",
];

/// When a run ended, as a column of `runs` (see [`Store::runs_ended_at`]).
pub(super) const ENDED_AT: &str = "coalesce(finished_at,
        (SELECT e.at FROM events e
         WHERE e.id BETWEEN runs.key << 32 AND (runs.key << 32) + 4294967295
         ORDER BY e.id DESC LIMIT 1),
        started_at)";

/// What [`Store::delete_run`] removed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeletedRun {
    pub run_id: String,
    pub workflow: String,
    /// The run's state when it was deleted (as readers showed it).
    pub state: RunState,
    pub events: u64,
    /// The run's audit rows, now redacted.
    pub redacted_rows: Vec<i64>,
    /// The `run_deleted` audit row.
    pub audit_row: i64,
    pub log_dir: PathBuf,
    /// Why the log directory could not be removed, if it could not (the rows are gone).
    pub log_error: Option<String>,
}

impl Store {
    /// When each run ended: its finish, else (an interrupted run) its last event, else
    /// its start (`gc --older-than` measures age from this). One read of `runs`: a
    /// finished run's row says it; only a run without a finish reads its last event.
    pub fn runs_ended_at(&self) -> Result<HashMap<String, Timestamp>, StoreError> {
        let r = (|| -> Result<HashMap<String, Timestamp>, StoreError> {
            let mut st = self
                .conn
                .prepare_cached(&format!("SELECT id, {ENDED_AT} FROM runs"))?;
            let rows = st.query_map([], |r| Ok((r.get(0)?, Timestamp(r.get(1)?))))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })();
        self.ctx(r)
    }

    /// Delete a finished or interrupted run: its rows in every table, then its log
    /// directory. `Refused` for a run a live engine drives (checked inside the
    /// transaction, so no engine takes it meanwhile). `actor` (who deletes) and `reason`
    /// (the command) go on the `run_deleted` audit row, committed with
    /// `synchronous = FULL` like every decision.
    pub fn delete_run(
        &mut self,
        run_id: &str,
        actor: &str,
        reason: &str,
    ) -> Result<DeletedRun, StoreError> {
        let r = self.set_sync_full(true);
        self.ctx(r)?;
        self.witness_ready()?;
        let r = in_transaction(&self.conn, |tx| {
            crate::ledger::key_check::check_signing(tx, &self.keys)?;
            let run = self.run(run_id)?;
            if let Some(why) = deletion_refusal(run_id, &run.liveness()) {
                return Err(StoreError::Refused(why));
            }
            let key: i64 =
                tx.query_row("SELECT key FROM runs WHERE id = ?1", [run_id], |r| r.get(0))?;
            let range = "id BETWEEN ?1 << 32 AND (?1 << 32) + 4294967295 AND run_id = ?2";
            // The one sanctioned delete of events (see `schema::EVENTS_NO_DELETE`).
            tx.execute_batch("DROP TRIGGER events_no_delete")?;
            let events = tx.execute(
                &format!("DELETE FROM events WHERE {range}"),
                params![key, run_id],
            )?;
            tx.execute_batch(EVENTS_NO_DELETE)?;
            for table in RUN_TABLES {
                tx.execute(&format!("DELETE FROM {table} WHERE run_id = ?1"), [run_id])?;
            }
            crate::read::metric_totals::forget(tx, run_id)?;
            tx.execute("DELETE FROM runs WHERE id = ?1", [run_id])?;
            crate::read::run_counts::mark_deleted(tx)?;
            let mut redacted_rows = Vec::new();
            for row in self.audit(run_id)? {
                if row.action == audit::REDACTED {
                    continue;
                }
                let r = audit::redact(&row);
                tx.execute(
                    "UPDATE audit SET seq = ?2, actor = ?3, action = ?4, step = ?5, reason = ?6,
                        details = ?7 WHERE id = ?1",
                    params![
                        r.id,
                        r.seq.map(|s| s as i64),
                        r.actor,
                        r.action,
                        r.step,
                        r.reason,
                        r.details
                    ],
                )?;
                redacted_rows.push(r.id);
            }
            let details = serde_json::json!({
                "workflow": run.workflow,
                "state": run.state,
                "started_at": run.started_at,
                "finished_at": run.finished_at,
                "events": events,
                "redacted_rows": redacted_rows,
            });
            let (prev_id, prev_hash) = chain_write(tx, &self.keys)?;
            let row = audit::seal(
                prev_id + 1,
                run_id,
                None,
                Timestamp::now(),
                &audit::deletion(actor, reason, details),
                prev_hash,
                &self.keys,
            );
            insert_audit_row(tx, &row)?;
            let head = set_chain_head(tx, row.id, &row.hash, &self.keys)?;
            let deleted = DeletedRun {
                run_id: run_id.to_string(),
                workflow: run.workflow,
                state: run.state,
                events: events as u64,
                redacted_rows,
                audit_row: row.id,
                log_dir: self.log_dir_path(run_id),
                log_error: None,
            };
            Ok((deleted, head))
        });
        let (mut deleted, head) = self.ctx_run(run_id, r)?;
        self.run_keys.remove(run_id);
        match std::fs::remove_dir_all(&deleted.log_dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                deleted.log_error = Some(e.to_string());
            }
            _ => {}
        }
        self.witness(&Vec::from_iter(crate::ledger::witness::Entry::of_head(
            &head,
        )))?;
        Ok(deleted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coord::commands::LeaseOutcome;
    use crate::records::NewRun;
    use baton_model::{Event, EventKind, LEASE_STALE};

    fn run(s: &mut Store, id: &str, finish: Option<RunState>) {
        s.create_run(&NewRun {
            id: id.into(),
            workflow: "w".into(),
            source_path: "w.toml".into(),
            source_text: String::new(),
            params_json: "{}".into(),
            operator: "alice".into(),
            started_at: Timestamp(1),
            parent: None,
            steps: vec!["build".into()],
        })
        .unwrap();
        let mut kinds = vec![
            EventKind::RunStarted {
                workflow: "w".into(),
                operator: "alice".into(),
                params: Default::default(),
                seed: 1,
                auto_approve: false,
                allowed_signers: None,
                slot: None,
                zone: None,
                parent: None,
            },
            EventKind::CancelRequested {
                actor: "alice".into(),
                reason: Some("why not".into()),
            },
        ];
        if let Some(state) = finish {
            kinds.push(EventKind::RunFinished {
                state,
                summary: "done".into(),
                dealt_with: Vec::new(),
            });
        }
        let events: Vec<Event> = kinds
            .into_iter()
            .enumerate()
            .map(|(i, kind)| Event {
                seq: i as u64 + 1,
                at: Timestamp(10 + i as i64),
                kind,
            })
            .collect();
        s.commit(id, &events).unwrap();
    }

    fn count(s: &Store, sql: &str) -> i64 {
        s.conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn a_deleted_run_leaves_no_row_its_neighbours_stay_and_the_chain_holds() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("b.db")).unwrap();
        run(&mut s, "A", Some(RunState::Succeeded));
        run(&mut s, "B", Some(RunState::Failed));
        run(&mut s, "C", Some(RunState::Cancelled));
        std::fs::create_dir_all(s.log_dir("B")).unwrap();
        std::fs::write(s.log_path("B", "build", 1), "out").unwrap();
        let d = s.delete_run("B", "root", "baton runs rm").unwrap();
        assert_eq!((d.events, d.state), (3, RunState::Failed));
        assert_eq!(d.redacted_rows.len(), 3);
        assert!(!d.log_dir.exists() && d.log_error.is_none());
        assert_eq!(count(&s, "SELECT count(*) FROM runs WHERE id = 'B'"), 0);
        assert_eq!(
            count(&s, "SELECT count(*) FROM events WHERE run_id = 'B'"),
            0
        );
        assert_eq!(
            count(
                &s,
                "SELECT count(*) FROM audit WHERE run_id = 'B' AND action NOT IN ('redacted', 'run_deleted')"
            ),
            0
        );
        for table in RUN_TABLES {
            let n = count(
                &s,
                &format!("SELECT count(*) FROM {table} WHERE run_id = 'B'"),
            );
            assert_eq!(n, 0, "{table}");
        }
        assert!(matches!(s.run("B"), Err(StoreError::NotFound(_))));
        assert_eq!(s.events("A").unwrap().len(), 3);
        assert_eq!(s.events("C").unwrap().len(), 3);
        assert!(s.verify_audit(None).unwrap().is_intact());
        let last = s.audit("B").unwrap().pop().unwrap();
        assert_eq!(
            (last.action.as_str(), last.actor.as_str()),
            ("run_deleted", "root")
        );
        // The guard is back: events stay append-only for everyone else.
        assert!(
            s.conn
                .execute("DELETE FROM events WHERE run_id = 'A'", [])
                .is_err()
        );
        // Deleting the last run too, then running on: a new run's audit rows extend the chain.
        s.delete_run("C", "root", "gc").unwrap();
        run(&mut s, "D", Some(RunState::Succeeded));
        assert!(s.verify_audit(None).unwrap().is_intact());
        assert_eq!(s.events("D").unwrap().len(), 3);
    }

    #[test]
    fn a_run_a_live_engine_holds_is_refused_and_an_abandoned_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("b.db")).unwrap();
        run(&mut s, "A", None);
        let holder = crate::holder::lease_holder_name();
        assert_eq!(
            s.acquire_lease("A", &holder, Timestamp::now(), LEASE_STALE)
                .unwrap(),
            LeaseOutcome::Acquired
        );
        let e = s.delete_run("A", "root", "rm").unwrap_err();
        assert!(
            matches!(&e, StoreError::Refused(why) if why.contains(&holder)),
            "{e}"
        );
        assert_eq!(s.events("A").unwrap().len(), 2, "nothing was deleted");
        // The engine goes away without releasing its lease (a host far away, silent).
        s.conn
            .execute(
                "UPDATE leases SET holder = 'pid 1 on elsewhere', heartbeat_at = 0",
                [],
            )
            .unwrap();
        assert_eq!(s.run("A").unwrap().state, RunState::Interrupted);
        s.delete_run("A", "root", "rm").unwrap();
        assert_eq!(count(&s, "SELECT count(*) FROM leases"), 0);
        assert!(s.verify_audit(None).unwrap().is_intact());
    }
}

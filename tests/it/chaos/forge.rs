//! Rows written straight into the store's SQLite file, with no proof, as anyone who
//! can write the file could (as `tests/it/tamper/*` forge them): an `approve` command
//! row of an open gate, a trigger row of the served schedule, an answer of a step's
//! open ask; and at the end, a decision forged into the audit table of a copy of the
//! store. (A rewritten record is forged on the group store, by another member:
//! `rewrite.rs`; the campaign's private store has no audit key, and without one no
//! reader checks a run's history, as docs/approvals.md says.) Each forged
//! reason is `forged-N`; the checks (`verdicts`) say that none was obeyed and that
//! what the docs say reports them did.
use super::plan::Forgery;
use super::world::Campaign;
use baton::model::Command;
use rusqlite::{Connection, params};
use std::path::Path;
use std::time::Duration;

/// What was forged, and what came of it.
#[derive(Default, Debug)]
pub(super) struct Forged {
    /// Forged `approve` rows of `commands`: (row id, run, step, reason).
    pub commands: Vec<(i64, String, String, String)>,
    /// The `slot_at` of each forged trigger row (index 0 of `nightly`'s file).
    pub triggers: Vec<i64>,
    /// Forged answers: (ask id, run, step, reason).
    pub answers: Vec<(String, String, String, String)>,
    /// Forgeries that found no subject (no gate or ask open, no run ended).
    pub no_subject: usize,
    /// Runs' texts rewritten by another member, and the forks of them.
    pub rewrites: Vec<super::rewrite::Rewrite>,
    /// Forgeries the store refused to take (busy): not counted as made.
    pub failed: Vec<String>,
}

/// The store's file, as a forger opens it (waiting, as baton does, for a writer).
fn raw(db: &Path) -> rusqlite::Result<Connection> {
    let c = Connection::open(db)?;
    c.busy_timeout(Duration::from_secs(10))?;
    Ok(c)
}

fn now_ms() -> i64 {
    baton::model::Timestamp::now().0
}

fn account() -> String {
    baton::session::os_account().unwrap_or_else(|_| "root".into())
}

impl Campaign {
    pub(super) fn forge(&mut self, forgery: Forgery, pick: usize) {
        self.n += 1;
        let reason = format!("forged-{}", self.n);
        let sql = |r: rusqlite::Result<bool>| r.map_err(|e| e.to_string());
        let made = match forgery {
            Forgery::Approve => sql(self.forge_approve(pick, &reason)),
            Forgery::Trigger => sql(self.forge_trigger()),
            Forgery::Answer => sql(self.forge_answer(pick, &reason)),
            Forgery::Rewrite => self.forge_rewrite(pick),
        };
        match made {
            Ok(true) => {}
            Ok(false) => self.forged.no_subject += 1,
            Err(e) => self.forged.failed.push(format!("{forgery:?}: {e}")),
        }
    }

    /// An `approve` of a gate the inbox lists, as a `commands` row with no proof.
    fn forge_approve(&mut self, pick: usize, reason: &str) -> rusqlite::Result<bool> {
        let gates = self.inbox(&["gate"]);
        let Some((run, step, _)) = gates.get(pick % gates.len().max(1)).cloned() else {
            return Ok(false);
        };
        let command = Command::Approve {
            step: step.clone(),
            operator: account(),
            reason: Some(reason.into()),
            signature: None,
            inputs: Default::default(),
        };
        let json = serde_json::to_string(&command).expect("a command serializes");
        let c = raw(&self.env.db())?;
        c.execute(
            "INSERT INTO commands (run_id, json, submitted_at, deadline) VALUES (?1, ?2, ?3, NULL)",
            params![run, json, now_ms()],
        )?;
        let id = c.last_insert_rowid();
        self.forged.commands.push((id, run, step, reason.into()));
        Ok(true)
    }

    /// A `schedule trigger` of `nightly` as a `schedule_slots` row with no decision on
    /// the audit chain.
    fn forge_trigger(&mut self) -> rusqlite::Result<bool> {
        let c = raw(&self.env.db())?;
        let file: Option<String> = c
            .query_row(
                "SELECT file FROM schedules WHERE workflow = 'nightly' LIMIT 1",
                [],
                |r| r.get(0),
            )
            .ok();
        let Some(file) = file else { return Ok(false) };
        let mut at = now_ms();
        while c.execute(
            "INSERT INTO schedule_slots (file, idx, slot_at, fate, params, requested_by, recorded_at)
             VALUES (?1, 0, ?2, 'requested', '[]', ?3, ?2) ON CONFLICT DO NOTHING",
            params![file, at, account()],
        )? == 0
        {
            at += 1;
        }
        self.forged.triggers.push(at);
        Ok(true)
    }

    /// An open ask of a step decided with SQL: its row and a vote, no audit row, no proof.
    fn forge_answer(&mut self, pick: usize, reason: &str) -> rusqlite::Result<bool> {
        let c = raw(&self.env.db())?;
        let open: Vec<(String, String, String)> = c
            .prepare(
                "SELECT id, run_id, step_id FROM asks WHERE state = 'open' AND run_id IS NOT NULL ORDER BY id",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        let Some((id, run, step)) = open.get(pick % open.len().max(1)).cloned() else {
            return Ok(false);
        };
        let state = if pick.is_multiple_of(3) {
            "rejected"
        } else {
            "approved"
        };
        let (me, now) = (account(), now_ms());
        c.execute(
            "INSERT OR REPLACE INTO ask_votes (ask_id, actor, reason, at) VALUES (?1, ?2, ?3, ?4)",
            params![id, me, reason, now],
        )?;
        c.execute(
            "UPDATE asks SET state = ?2, vals = '{}', decided_by = ?3, decided_at = ?4, reason = ?5
             WHERE id = ?1 AND state = 'open'",
            params![id, state, me, now, reason],
        )?;
        self.forged.answers.push((id, run, step, reason.into()));
        Ok(true)
    }
}

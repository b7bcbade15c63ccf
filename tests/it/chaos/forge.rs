//! Rows written straight into the store's SQLite file, with no proof, as anyone who
//! can write the file could (as `tests/it/tamper/*` forge them): an `approve` command
//! row of an open gate, a trigger row of the served schedule, an answer of a step's
//! open ask, and an ended run's record rewritten (then forked, then put back). At the
//! end, a decision forged into the audit table of a copy of the store. Each forged
//! reason is `forged-N`; the checks (`verdicts`) say that none was obeyed and that
//! what the docs say reports them did.
use super::plan::Forgery;
use super::world::{Campaign, What};
use crate::helpers::*;
use baton::model::{Command, EventKind};
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
    /// Rewritten records: the run, and what `baton fork` of it did meanwhile (its
    /// exit code and words; `None`: it was still going after `FORK_WAIT`).
    pub rewrites: Vec<(String, Option<(i32, String)>)>,
    /// Forgeries that found no subject (no gate or ask open, no run ended).
    pub no_subject: usize,
    /// Forgeries the store refused to take (busy): not counted as made.
    pub failed: Vec<String>,
}

/// How long a fork of a rewritten record may take to be refused.
const FORK_WAIT: Duration = Duration::from_secs(30);

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
        let made = match forgery {
            Forgery::Approve => self.forge_approve(pick, &reason),
            Forgery::Trigger => self.forge_trigger(),
            Forgery::Answer => self.forge_answer(pick, &reason),
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
        let state = if pick % 3 == 0 { "rejected" } else { "approved" };
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

    /// An ended run's last transition of a step that did not succeed rewritten as
    /// succeeded (the events' append-only trigger dropped meanwhile, as a forger can),
    /// then `baton fork` of it from its first step, which must refuse the record;
    /// then the row put back as it was.
    fn forge_rewrite(&mut self, pick: usize) -> rusqlite::Result<bool> {
        let c = raw(&self.env.db())?;
        let found: Vec<(i64, String, String)> = c
            .prepare(
                "SELECT e.id, e.run_id, e.json FROM events e JOIN runs r ON r.id = e.run_id
                 WHERE r.state IN ('failed', 'cancelled') AND e.type = 'step_state_changed'
                   AND e.json NOT LIKE '%\"state\":\"succeeded\"%'
                   AND e.seq = (SELECT max(seq) FROM events y WHERE y.run_id = e.run_id
                                AND y.step = e.step AND y.type = 'step_state_changed')
                 ORDER BY e.id",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        let Some((id, run, json)) = found.get(pick % found.len().max(1)).cloned() else {
            return Ok(false);
        };
        let Ok(mut ev) = serde_json::from_str::<baton::model::Event>(&json) else {
            return Ok(false);
        };
        let EventKind::StepStateChanged { state, .. } = &mut ev.kind else {
            return Ok(false);
        };
        *state = baton::model::StepState::Succeeded;
        let forged = serde_json::to_string(&ev).expect("an event serializes");
        let Ok(store) = baton::store::Store::open(&self.env.db()) else {
            return Ok(false);
        };
        let first =
            baton::session::plan_of(&store, &run).and_then(|p| p.steps.first().map(|s| s.id.clone()));
        let Some(first) = first else { return Ok(false) };
        rewrite_event(&c, id, &forged)?;
        let outcome = self.fork_refused(&run, &first);
        rewrite_event(&c, id, &json)?;
        self.forged.rewrites.push((run, outcome));
        Ok(true)
    }

    /// `baton fork RUN --from STEP` of a rewritten record: its exit code and words, or
    /// `None` when it was still going after `FORK_WAIT` (it took the record: it is
    /// left to run as an engine of the campaign).
    fn fork_refused(&mut self, run: &str, from: &str) -> Option<(i32, String)> {
        self.spawn(&["fork", run, "--from", from, "--headless"], What::Run);
        let k = self.kids.len() - 1;
        let mut status = None;
        let _ = poll(FORK_WAIT, || {
            status = self.kids[k].child.try_wait().ok().flatten();
            status.is_some()
        });
        let status = status?;
        let words = std::fs::read_to_string(self.kids[k].out.with_extension("err"))
            .unwrap_or_default()
            .lines()
            .last()
            .unwrap_or_default()
            .to_string();
        Some((status.code().unwrap_or(-1), words))
    }
}

/// The forger's write of one event's JSON: the trigger that keeps events append-only
/// dropped, the row's JSON replaced, the trigger put back as it was.
fn rewrite_event(c: &Connection, id: i64, json: &str) -> rusqlite::Result<()> {
    let trigger: String = c.query_row(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'events_no_update'",
        [],
        |r| r.get(0),
    )?;
    let tx = c.unchecked_transaction()?;
    tx.execute_batch("DROP TRIGGER events_no_update")?;
    tx.execute("UPDATE events SET json = ?2 WHERE id = ?1", params![id, json])?;
    tx.execute_batch(&trigger)?;
    tx.commit()
}

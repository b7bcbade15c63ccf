//! `--mix rewrites`: the store is keyed (an audit key, as `BATON_AUDIT_KEY` gives one)
//! and now and then someone who can write the database file rewrites a finished run's
//! record: a step's last transition edited from how it ended to `succeeded`, the
//! append-only trigger dropped for it and put back. docs/approvals.md: "With the key
//! configured, `resume`, `show`, the console and every command that takes a run over
//! check the run's history before replaying it and refuse a tampered one"; a fork's
//! plan is such a replay. At the end the forger puts the rows back as they were, so
//! that the end's checks read the whole store.
use crate::SimError;
use crate::world::World;
use baton_core::{Core, ForkPlan};
use baton_model::{Event, EventKind, StepState};
use baton_store::{AuditKeys, Store};
use rand::Rng;
use std::collections::BTreeMap;

/// The scenario's audit key: fixed, so that a seed's history is the same every time.
const KEY_ID: &str = "sim";
const KEY: &[u8] = b"baton-sim audit key, a fixed 32+ bytes";

/// The keys every process of a `--mix rewrites` scenario opens the store with.
pub(crate) fn keys() -> AuditKeys {
    AuditKeys {
        signing: Some((KEY_ID.into(), KEY.to_vec())),
        verify: BTreeMap::from([(KEY_ID.into(), KEY.to_vec())]),
    }
}

/// A record rewritten, to put back at the end.
pub(crate) struct Rewritten {
    pub run: String,
    pub put_back: PutBack,
    /// The run's last `seq` when it was rewritten: nothing may be recorded after it.
    pub last_seq: u64,
    /// A fork of it the checks let through (its new run): reported.
    pub forked: Option<String>,
}

/// What the forger changed, as it found it.
pub(crate) enum PutBack {
    /// An event's JSON (`--mix rewrites`).
    Event { id: i64, json: String },
    /// A column of the run's `runs` row (`--mix accounts`, [`crate::sealed`]).
    RunsRow {
        /// `(table, key column, column)`: `runs` or `run_sources`.
        place: (&'static str, &'static str, &'static str),
        old: String,
    },
}

/// Whether `err` is the store's refusal of a tampered history.
pub(crate) fn tampered(err: &baton_session::SessionError) -> bool {
    matches!(
        err,
        baton_session::SessionError::Store(
            baton_store::StoreError::Tampered { .. } | baton_store::StoreError::Unproven { .. }
        )
    )
}

impl World {
    /// With `--mix rewrites`, now and then (4 % of actions): a finished run's step that
    /// did not succeed is rewritten as succeeded in its last transition.
    pub(crate) fn maybe_rewrite(&mut self) -> Result<(), SimError> {
        self.maybe_rewrite_runs_row()?;
        if self.config.mix != crate::Mix::Rewrites || self.more.random_range(0..100) >= 4 {
            return Ok(());
        }
        let candidates: Vec<(i64, String, String, u64)> = self
            .raw
            .prepare(
                "SELECT e.id, e.run_id, e.json, (SELECT max(seq) FROM events x WHERE x.run_id = e.run_id)
                 FROM events e JOIN runs r ON r.id = e.run_id
                 WHERE r.state IN ('failed', 'cancelled') AND e.type = 'step_state_changed'
                   AND e.json NOT LIKE '%\"state\":\"succeeded\"%'
                   AND e.seq = (SELECT max(seq) FROM events y WHERE y.run_id = e.run_id
                                AND y.step = e.step AND y.type = 'step_state_changed')
                 ORDER BY e.id",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<Result<_, _>>()?;
        let fresh: Vec<_> = candidates
            .into_iter()
            .filter(|(_, run, _, _)| !self.rewritten.iter().any(|w| &w.run == run))
            .collect();
        if fresh.is_empty() {
            return Ok(());
        }
        let (id, run, json, last_seq) = fresh[self.more.random_range(0..fresh.len())].clone();
        let mut ev: Event = serde_json::from_str(&json)?;
        let EventKind::StepStateChanged { step, state, .. } = &mut ev.kind else {
            return Ok(());
        };
        let step = step.clone();
        *state = StepState::Succeeded;
        self.forge_row(id, &serde_json::to_string(&ev)?)?;
        self.steps += 1;
        self.history.push(format!(
            "  rewrote {run}'s record: step {step} ended succeeded (event #{})",
            ev.seq
        ));
        self.rewritten.push(Rewritten {
            run,
            put_back: PutBack::Event { id, json },
            last_seq,
            forked: None,
        });
        Ok(())
    }

    /// The forger's write: the trigger that keeps events append-only dropped, the
    /// row's JSON replaced, the trigger put back as it was.
    fn forge_row(&self, id: i64, json: &str) -> Result<(), SimError> {
        let trigger: String = self.raw.query_row(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'events_no_update'",
            [],
            |r| r.get(0),
        )?;
        self.raw.execute_batch("DROP TRIGGER events_no_update")?;
        self.raw.execute(
            "UPDATE events SET json = ?2 WHERE id = ?1",
            rusqlite::params![id, json],
        )?;
        self.raw.execute_batch(&trigger)?;
        Ok(())
    }

    /// At the end, the forger puts every row back as it was.
    pub(crate) fn restore_rewrites(&mut self) -> Result<(), SimError> {
        for w in std::mem::take(&mut self.rewritten) {
            match &w.put_back {
                PutBack::Event { id, json } => self.forge_row(*id, json)?,
                PutBack::RunsRow { place, old } => self.put_runs_row_back(&w.run, *place, old)?,
            }
            self.history
                .push(format!("  put {}'s record back as it was", w.run));
        }
        Ok(())
    }

    /// Whether `run`'s record is rewritten now.
    pub(crate) fn is_rewritten(&self, run: &str) -> bool {
        self.rewritten.iter().any(|w| w.run == run)
    }

    /// Whether `err` is the refusal of `run`'s record because a forger rewrote it: a
    /// record refused that no one rewrote is a finding, never an expected refusal.
    pub(crate) fn refused_as_rewritten(
        &self,
        run: &str,
        err: &baton_session::SessionError,
    ) -> bool {
        tampered(err) && self.is_rewritten(run)
    }

    /// The bug put back ([`crate::Bug::UncheckedFork`]): a fork's plan from the rows as they
    /// read, the history not checked against its chain (`Core::replay` of the raw
    /// events instead of the session's checked rebuild).
    pub(crate) fn unchecked_fork_plan(
        &self,
        run: &str,
        w: usize,
        step: &str,
    ) -> Result<Option<ForkPlan>, SimError> {
        let events: Vec<Event> = self
            .raw
            .prepare("SELECT json FROM events WHERE run_id = ?1 ORDER BY seq")?
            .query_map([run], |r| r.get::<_, String>(0))?
            .map(|j| Ok(serde_json::from_str(&j?)?))
            .collect::<Result<_, SimError>>()?;
        let cfg =
            baton_session::run_config(run, &self.user, BTreeMap::new(), Vec::new(), 0, false, None);
        let core = Core::replay(self.workflows[w].plan.clone(), cfg, &events)?;
        Ok(core.fork_plan(step).ok())
    }
}

/// Open the store at `db` as a process of a scenario of `mix` does: keyed in
/// `--mix rewrites`.
pub(crate) fn open_store(db: &std::path::Path, mix: crate::Mix) -> Result<Store, SimError> {
    let mut store = Store::open(db)?;
    if matches!(
        mix,
        crate::Mix::Rewrites | crate::Mix::Interleave | crate::Mix::Cli
    ) {
        store.set_audit_keys(keys());
    }
    Ok(store)
}

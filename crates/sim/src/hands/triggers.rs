//! Runs that start from events in `--mix hands` (issue 81): runs ending, files landing
//! (and landing again), webhook deliveries arriving and repeating, each made into its
//! run by a serve (a store connection of its own) that may die at `before`,
//! `in_transaction` or `after_commit`, the points of `session::serve::events::
//! fire_event`. The run and the event's row are the store's own
//! (`Store::fire_trigger`); a webhook's signature is checked by the listener's own
//! code (`baton_session::webhook::verify_signature`). An event no serve took (it died)
//! is delivered again: found at the next start, or retried by its sender, who got no
//! answer. The ground truth: every run id a serve tried for each event.
use super::Hands;
use crate::{Bug, SimError};
use baton_core::{Core, Effect, Input, RunConfig, StepExit};
use baton_model::{StepOutcome, Usage};
use baton_store::trigger_events::{Fired, TriggerEvent};
use baton_store::{NewRun, Store};
use rand::Rng;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

const DOWNSTREAM: &str = r#"name = "downstream"

[[step]]
id = "go"
run = "true"
"#;

/// The served file the three triggers are in (their indexes 1, 2 and 3).
const FILE: &str = "flows.toml";
/// The serve's lease holder.
pub(super) const HOLDER: &str = "pid 301 on sim-serve";
/// The webhook trigger's secret.
const SECRET: &[u8] = b"sim-webhook-secret";
/// Where a serve dies while making an event's run.
const POINTS: [&str; 3] = ["before", "in_transaction", "after_commit"];

/// One event the world delivered.
#[derive(Debug, Clone)]
pub(crate) struct Delivered {
    pub(crate) key: String,
    pub(crate) index: u32,
    kind: &'static str,
    detail: String,
    source_run: Option<String>,
    depth: u32,
    /// A webhook's body and its signature header.
    body: Option<(Vec<u8>, String)>,
    /// A serve answered it (made its run, found it decided, or refused it on record).
    pub(crate) accepted: bool,
    /// Refused by the listener (a bad signature): never an event, never retried.
    refused: bool,
    /// Every run id a serve tried to make for it.
    pub(crate) tried: Vec<String>,
}

pub(crate) struct Triggers {
    plan: (Arc<baton_workflow::Plan>, PathBuf),
    /// The serve's own connection: `None` after it died (the next delivery starts one).
    serve: Option<Store>,
    pub(crate) delivered: Vec<Delivered>,
    /// Triggered runs driven to their end, and their depth: the sources of `run_ended`.
    ended: Vec<(String, u32)>,
    made: u32,
    files: u32,
    /// The triggers that hold their events (`coalesce`, `debounce`).
    pub(crate) bursts: super::bursts::Bursts,
}

/// The serve died while making the event's run (`in_transaction`).
struct Died;

/// What a serve did with an event it lived through.
enum Took {
    /// Decided before: its fate and run.
    Already(String, Option<String>),
    /// Its run made: the run's first events and the effects that follow them.
    Made(usize, Vec<Effect>),
}

impl Triggers {
    pub(crate) fn new(dir: &Path, seed: u64) -> Result<Triggers, SimError> {
        let path = dir.join("downstream.toml");
        std::fs::write(&path, DOWNSTREAM).map_err(|e| SimError::Io {
            path: path.clone(),
            error: e,
        })?;
        let plan = baton_workflow::load_str(DOWNSTREAM, &path)
            .map_err(|d| SimError::Workflow(d.to_string()))?;
        Ok(Triggers {
            plan: (Arc::new(plan), path),
            serve: None,
            delivered: Vec::new(),
            ended: Vec::new(),
            made: 0,
            files: 0,
            bursts: super::bursts::Bursts::new(seed),
        })
    }

    /// What broke of "each event at most one run, and every recorded event its run",
    /// read from the store at `db`.
    pub(crate) fn broken(&self, db: &Path) -> Result<Option<String>, SimError> {
        if self.delivered.is_empty() {
            return Ok(None);
        }
        let conn = rusqlite::Connection::open(db)?;
        let runs: BTreeSet<String> = conn
            .prepare("SELECT id FROM runs WHERE id LIKE 't%'")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let rows: Vec<(u32, String, String, Option<String>)> = conn
            .prepare("SELECT idx, event_key, fate, run_id FROM trigger_events WHERE file = ?1")?
            .query_map([FILE], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<Result<_, _>>()?;
        let mut named = BTreeMap::new();
        for (_, key, fate, run) in &rows {
            let Some(run) = run else {
                if ["started", "queued", "skipped", "superseding"].contains(&fate.as_str()) {
                    return Ok(Some(format!("event {key} is `{fate}` and names no run")));
                }
                continue;
            };
            if let Some(other) = named.insert(run.clone(), key.clone()) {
                return Ok(Some(format!(
                    "events {other} and {key} both name run {run}"
                )));
            }
            if !runs.contains(run) {
                return Ok(Some(format!(
                    "event {key} is `{fate}` with run {run}, which is not on record"
                )));
            }
        }
        for d in &self.delivered {
            let made: Vec<&String> = d.tried.iter().filter(|r| runs.contains(*r)).collect();
            if made.len() > 1 {
                return Ok(Some(format!("event {} made runs {made:?}", d.detail)));
            }
            let row = rows
                .iter()
                .find(|(i, k, _, _)| *i == d.index && *k == d.key);
            match (row, made.first()) {
                (None, _) if d.accepted => {
                    return Ok(Some(format!(
                        "event {} was answered and has no row",
                        d.detail
                    )));
                }
                (None, Some(run)) => {
                    return Ok(Some(format!(
                        "run {run} of event {} is on record and the event has no row",
                        d.detail
                    )));
                }
                (Some((_, _, _, r)), Some(run)) if r.as_ref() != Some(*run) => {
                    return Ok(Some(format!(
                        "event {}'s row names {r:?}, and its run is {run}",
                        d.detail
                    )));
                }
                _ => {}
            }
        }
        Ok(None)
    }
}

impl Hands {
    /// An event delivered to a serve: one that no serve took yet (4 in 10), one taken
    /// before and seen again (2 in 10), or a new one.
    pub(super) fn trigger_hand(&mut self) -> Result<(), SimError> {
        let t = &self.triggers;
        let pending: Vec<usize> = (0..t.delivered.len())
            .filter(|&i| !t.delivered[i].accepted && !t.delivered[i].refused)
            .collect();
        let all = t.delivered.len();
        let i = match self.rng.random_range(0..10) {
            0..4 if !pending.is_empty() => pending[self.rng.random_range(0..pending.len())],
            4..6 if all > 0 => self.rng.random_range(0..all),
            _ => self.new_event(),
        };
        self.deliver(i)?;
        self.burst_hand()
    }

    /// A new event: a triggered run that ended, a file that landed (or landed again,
    /// a new identity at its path), or a webhook's delivery (one in eight signed with
    /// another secret). Its index in `delivered`.
    fn new_event(&mut self) -> usize {
        let t = &mut self.triggers;
        let kind = self.rng.random_range(0..3);
        let d = match kind {
            0 if !t.ended.is_empty() => {
                let (run, depth) = t.ended[self.rng.random_range(0..t.ended.len())].clone();
                Delivered {
                    key: format!("run:{run}"),
                    index: 1,
                    kind: "run_ended",
                    detail: format!("{run} succeeded"),
                    source_run: Some(run),
                    depth: depth + 1,
                    body: None,
                    accepted: false,
                    refused: false,
                    tried: Vec::new(),
                }
            }
            0 | 1 => {
                // A new file, or one of before written again (a new inode at its path).
                let n = match self.rng.random_range(0..3) {
                    0 if t.files > 0 => self.rng.random_range(0..t.files),
                    _ => {
                        t.files += 1;
                        t.files - 1
                    }
                };
                let path = format!("$DIR/inbox/f{n}.csv");
                let version = t.delivered.iter().filter(|d| d.kind == "file").count();
                Delivered {
                    key: format!(
                        "file:{path}:2049:{}:{}:{}",
                        1000 + version,
                        n * 7,
                        self.now.0
                    ),
                    index: 2,
                    kind: "file",
                    detail: format!("{path} (identity {version})"),
                    source_run: None,
                    depth: 0,
                    body: None,
                    accepted: false,
                    refused: false,
                    tried: Vec::new(),
                }
            }
            _ => {
                let id = format!("d-{:08x}", self.rng.random::<u32>());
                let body = format!("{{\"ref\":\"v{}\"}}", t.delivered.len()).into_bytes();
                let secret: &[u8] = match self.rng.random_range(0..8) {
                    0 => b"not-the-secret",
                    _ => SECRET,
                };
                let header = baton_session::webhook::sign(secret, &body);
                Delivered {
                    // The serve's own key: the signed body's hash, not the unsigned id.
                    key: baton_session::webhook::event_key(&body),
                    index: 3,
                    kind: "webhook",
                    detail: format!("delivery {id}"),
                    source_run: None,
                    depth: 0,
                    body: Some((body, header)),
                    accepted: false,
                    refused: false,
                    tried: Vec::new(),
                }
            }
        };
        t.delivered.push(d);
        t.delivered.len() - 1
    }

    /// Delivery `i` to a serve (started if none runs), which may die at a point drawn
    /// by the seed while making its run.
    fn deliver(&mut self, i: usize) -> Result<(), SimError> {
        let d = self.triggers.delivered[i].clone();
        if let Some((body, header)) = &d.body
            && baton_session::webhook::verify_signature(SECRET, body, Some(header)).is_err()
        {
            // Refused by the listener before any row: counted, never an event.
            self.triggers.delivered[i].refused = true;
            self.history
                .push(format!("  {}: refused (bad signature)", d.detail));
            return Ok(());
        }
        if self.triggers.serve.is_none() {
            self.triggers.serve = Some(self.open_serve()?);
        }
        let ev = TriggerEvent {
            file: FILE,
            index: d.index,
            key: &d.key,
            kind: d.kind,
            detail: &d.detail,
            source_run: d.source_run.as_deref(),
            depth: d.depth,
        };
        if d.depth > baton_workflow::MAX_TRIGGER_DEPTH {
            let serve = self.serve()?;
            let row = serve.decide_trigger_event(&ev, "refused", Some("the chain is too deep"))?;
            self.triggers.delivered[i].accepted = true;
            self.history.push(format!(
                "  {}: refused, chain too deep (decided before: {})",
                d.detail,
                row.is_some()
            ));
            return Ok(());
        }
        let dies = match self.rng.random_range(0..10) {
            p @ 0..6 => Some(POINTS[p as usize / 2]),
            _ => None,
        };
        let run_id = format!("t{:03}", self.triggers.made);
        self.triggers.made += 1;
        self.triggers.delivered[i].tried.push(run_id.clone());
        if dies == Some("before") {
            return self.serve_died(&d, "before");
        }
        let (mut core, new_run) = self.new_triggered(&run_id);
        let fired = match self.config.bug {
            Some(Bug::TriggerKeyAfterRun) => self.fire_key_after(&ev, &new_run, &mut core, dies)?,
            _ => self.fire(&ev, &new_run, &mut core, dies == Some("in_transaction"))?,
        };
        let Some(fired) = fired else {
            return self.serve_died(&d, "in_transaction");
        };
        match fired {
            Took::Already(fate, run) => {
                self.triggers.delivered[i].accepted = true;
                self.history.push(format!(
                    "  {}: decided before ({fate}, run {run:?})",
                    d.detail
                ));
                Ok(())
            }
            Took::Made(events, rest) => {
                self.children.events += events as u64;
                if dies == Some("after_commit") {
                    return self.serve_died(&d, "after_commit");
                }
                self.triggers.delivered[i].accepted = true;
                self.history.push(format!(
                    "  {}: made run {run_id}, driven to its end",
                    d.detail
                ));
                self.end_triggered(&run_id, &mut core, rest, d.depth)
            }
        }
    }

    /// The serve dies at `point`: its connection (and any transaction it held) gone.
    fn serve_died(&mut self, d: &Delivered, point: &str) -> Result<(), SimError> {
        self.triggers.serve = None;
        self.history
            .push(format!("  {}: the serve died at `{point}`", d.detail));
        Ok(())
    }

    fn serve(&mut self) -> Result<&mut Store, SimError> {
        self.triggers
            .serve
            .as_mut()
            .ok_or_else(|| SimError::Accounts("the serve's store is not open".into()))
    }

    /// A serve's own connection to the group store, with this account's secret.
    pub(super) fn open_serve(&self) -> Result<Store, SimError> {
        let store = Store::open(&self.db)?;
        let key =
            baton_store::starter_seal::AccountKey::load_or_create(&self.dir.join("state-me"))?;
        if !store.use_account_key(key) {
            return Err(SimError::Accounts(
                "the serve's store read its account's secret before the simulator gave it one"
                    .into(),
            ));
        }
        Ok(store)
    }

    /// The event's run, not yet written: its core and its record.
    pub(super) fn new_triggered(&self, id: &str) -> (Core, NewRun) {
        let (plan, path) = &self.triggers.plan;
        let cfg = RunConfig {
            run_id: id.into(),
            operator: "sim".into(),
            seed: self.config.seed,
            store: Some(self.db.clone()),
            ..RunConfig::default()
        };
        let new_run = NewRun {
            id: id.into(),
            workflow: plan.name.clone(),
            source_path: path.clone(),
            source_text: DOWNSTREAM.into(),
            params_json: "{}".into(),
            operator: "sim".into(),
            started_at: self.now,
            parent: None,
            steps: plan.steps.iter().map(|s| s.id.clone()).collect(),
        };
        (Core::new(plan.clone(), cfg), new_run)
    }

    /// `Store::fire_trigger`, as `fire_event` calls it; `None`: the serve died inside
    /// its transaction (nothing committed).
    fn fire(
        &mut self,
        ev: &TriggerEvent<'_>,
        run: &NewRun,
        core: &mut Core,
        dies_inside: bool,
    ) -> Result<Option<Took>, SimError> {
        let now = self.now;
        let serve = self.serve()?;
        let mut rest = Vec::new();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            serve.fire_trigger(ev, run, HOLDER, None, |_| {
                let (events, after) = crate::world::runs::split(core.start(now));
                rest = after;
                if dies_inside {
                    // The process ends here: no hook, no message, the transaction open.
                    std::panic::resume_unwind(Box::new(Died));
                }
                (events, core.state_summary())
            })
        }));
        match r {
            Ok(fired) => Ok(Some(match fired? {
                Fired::Already(row) => Took::Already(row.fate, row.run_id),
                Fired::Made { events, .. } => Took::Made(events.len(), rest),
            })),
            Err(e) if e.is::<Died>() => Ok(None),
            Err(e) => std::panic::resume_unwind(e),
        }
    }

    /// [`Bug::TriggerKeyAfterRun`]: the run made in one transaction, the event's key
    /// recorded in another after it; a serve dying between leaves a run no row names.
    fn fire_key_after(
        &mut self,
        ev: &TriggerEvent<'_>,
        run: &NewRun,
        core: &mut Core,
        dies: Option<&str>,
    ) -> Result<Option<Took>, SimError> {
        let serve = self.serve()?;
        if let Some(row) = serve.trigger_event(ev.file, ev.index, ev.key)? {
            return Ok(Some(Took::Already(row.fate, row.run_id)));
        }
        if dies == Some("in_transaction") {
            return Ok(None);
        }
        let (events, rest) = crate::world::runs::split(core.start(self.now));
        let summary = core.state_summary();
        let serve = self.serve()?;
        serve.create_started_run(run, HOLDER, &events, &summary)?;
        if dies != Some("after_commit") {
            let conn = rusqlite::Connection::open(&self.db)?;
            conn.busy_timeout(std::time::Duration::from_secs(5))?;
            conn.execute(
                "INSERT INTO trigger_events (file, idx, event_key, kind, detail, fate, run_id,
                    source_run, depth, recorded_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'started', ?6, ?7, ?8, ?9)",
                rusqlite::params![
                    ev.file,
                    ev.index,
                    ev.key,
                    ev.kind,
                    ev.detail,
                    run.id,
                    ev.source_run,
                    ev.depth,
                    self.now.0
                ],
            )?;
        }
        Ok(Some(Took::Made(events.len(), rest)))
    }

    /// The triggered run's step ends (exit 0): the run ends, a source of `run_ended`.
    fn end_triggered(
        &mut self,
        id: &str,
        core: &mut Core,
        rest: Vec<Effect>,
        depth: u32,
    ) -> Result<(), SimError> {
        let spawn = rest.into_iter().find_map(|e| match e {
            Effect::Spawn(s) => Some(s),
            _ => None,
        });
        if let Some(s) = spawn {
            let exit = StepExit {
                step: s.step,
                attempt: s.attempt,
                outcome: StepOutcome::Exited { exit_code: 0 },
                duration_ms: 10,
                outputs: Vec::new(),
                usage: Usage::default(),
                stderr_tail: String::new(),
            };
            self.feed(id, core, Input::StepExited(exit))?;
        }
        self.triggers.ended.push((id.to_string(), depth));
        Ok(())
    }
}

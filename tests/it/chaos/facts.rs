//! What the store says, read for the checks: each run's record and events (read in
//! this process through the store's own API), and the promises that need the store or
//! the CLI to check: the summary against a replay, the decisions on the audit chain,
//! and the inbox against every run's own reading (sampled while the campaign goes).
use super::checks::{RunFacts, Verdict};
use super::workflows;
use super::world::Campaign;
use crate::helpers::*;
use baton::model::{RunState, StepState, Timestamp};
use baton::store::Store;
use rusqlite::OptionalExtension;
use std::collections::{BTreeMap, BTreeSet};

/// Every run of the store, as recorded once the campaign settled.
pub(super) fn gather(db: &std::path::Path) -> Vec<RunFacts> {
    let store = Store::open(db).expect("open the campaign's store");
    let mut out = Vec::new();
    for r in store.list_runs().expect("list the runs") {
        let events = store.events(&r.id).expect("a run's events");
        let gated = baton::session::plan_of(&store, &r.id)
            .map(|p| {
                p.steps
                    .iter()
                    .filter(|s| s.gate.is_some())
                    .map(|s| s.id.clone())
                    .collect()
            })
            .unwrap_or_default();
        out.push(RunFacts {
            group: workflows::group_of(&r.workflow),
            id: r.id,
            workflow: r.workflow,
            state: r.state,
            events,
            gated,
        });
    }
    out
}

/// docs/architecture.md: the store's saved summary of each run equals a replay of its
/// events (the simulator's check, on the real store).
pub(super) fn summary_is_the_events_replayed(db: &std::path::Path, runs: &[RunFacts]) -> Verdict {
    let mut v = Verdict::new(
        "summary_is_the_events_replayed",
        "docs/architecture.md: \"after a crash, replay rebuilds exactly what was committed\": the summary the store keeps equals its events replayed",
    );
    let store = Store::open(db).expect("open the campaign's store");
    for r in runs {
        let Some(plan) = baton::session::plan_of(&store, &r.id) else {
            v.broken
                .push(format!("run {}: its recorded workflow does not load", r.id));
            continue;
        };
        let record = store.run(&r.id).expect("a run's record");
        let params = serde_json::from_str(&record.params_json).unwrap_or_default();
        // As every reader rebuilds a run (`session::prepare::fold_stored`): the seed
        // comes from `run_started`.
        let cfg =
            baton::session::run_config(&r.id, &record.operator, params, Vec::new(), 0, false, None);
        match baton_sim::invariants::summary_is_the_events_replayed(
            &store,
            &r.id,
            (plan, cfg),
            &r.events,
        ) {
            Ok(None) => {}
            Ok(Some(d)) => v.broken.push(d),
            Err(e) => v.broken.push(format!("run {}: {e}", r.id)),
        }
    }
    v.checked = format!("{} runs", runs.len());
    v
}

/// docs/approvals.md: "Every decision is a row of one hash chain": `baton audit
/// verify` holds for the whole store, and every decision the CLI accepted is a row of
/// its run's audit with its reason. Also the number of the consoles' decisions found
/// there (their reasons `console-N`).
pub(super) fn every_decision_on_the_chain(c: &Campaign, runs: &[RunFacts]) -> (Verdict, usize) {
    let mut v = Verdict::new(
        "every_decision_on_the_chain",
        "docs/approvals.md: \"Every decision is a row of one hash chain (`audit`)\"; `baton audit verify` checks it",
    );
    let verify = c.ask(&["audit", "verify"]);
    if !verify.status.success() {
        v.broken.push(format!(
            "baton audit verify exits {:?}: {}{}",
            verify.status.code(),
            text(&verify.stdout),
            text(&verify.stderr)
        ));
    }
    let mut audits: BTreeMap<&str, Vec<serde_json::Value>> = BTreeMap::new();
    for r in runs {
        audits.insert(&r.id, c.rows(&["audit", &r.id, "--json"]));
    }
    let rows = audits.values().map(Vec::len).sum::<usize>();
    let on_chain = |run: &str, step: &str, reason: &str| {
        audits.get(run).is_some_and(|rows| {
            rows.iter()
                .any(|row| row["reason"] == reason && row["step"] == step)
        })
    };
    let accepted: Vec<_> = c
        .decisions
        .iter()
        .filter(|d| d.accepted() && d.account.is_none())
        .collect();
    for d in &accepted {
        if !on_chain(&d.run, &d.step, &d.reason) {
            v.broken.push(format!(
                "{} of run {} step {} ({}) was accepted ({}) but is not in `baton audit {} --json`",
                if d.approve { "approve" } else { "reject" },
                d.run,
                d.step,
                d.reason,
                d.verdict.as_deref().unwrap_or_default(),
                d.run
            ));
        }
    }
    let console = audits
        .values()
        .flatten()
        .filter(|row| {
            row["reason"]
                .as_str()
                .is_some_and(|r| r.starts_with("console-"))
        })
        .count();
    v.checked = format!(
        "the whole chain ({rows} rows of {} runs), {} accepted CLI decisions",
        runs.len(),
        accepted.len()
    );
    (v, console)
}

/// What waits on a person, by (run, step, inbox kind).
type Waits = BTreeSet<(String, String, String)>;

impl Campaign {
    /// One sample of `nothing_asked_of_a_person_lost`: what each run's own reading
    /// (`session::inspect`, as `show`) says waits on a person — an open gate; a step
    /// interrupted in a run no engine drives, to resume or mark — and each step's ask
    /// open in the store must be in `baton inbox`. A miss counts only if nothing happened to the run meanwhile (its last
    /// event and its state the same after the inbox was read).
    pub(super) fn sample_inbox(&mut self) {
        let Ok(store) = Store::open(&self.env.db()) else {
            return;
        };
        let Ok(runs) = store.list_runs() else { return };
        let mut expected = Vec::new();
        for r in runs
            .iter()
            .filter(|r| matches!(r.state, RunState::Interrupted | RunState::Waiting))
        {
            let (Ok(rec), Ok(view)) = (
                store.run(&r.id),
                baton::session::inspect(&store, &r.id, Timestamp::now()),
            ) else {
                continue;
            };
            for s in &view.steps {
                let kind = match s.state {
                    StepState::WaitingApproval => "gate",
                    // One that resume runs again (idempotent) waits for `resume`.
                    StepState::Interrupted if view.state == RunState::Interrupted => {
                        if s.actions.resume { "resume" } else { "mark" }
                    }
                    _ => continue,
                };
                expected.push((
                    r.id.clone(),
                    s.id.clone(),
                    kind,
                    s.state,
                    rec.last_seq,
                    rec.state,
                ));
            }
        }
        let asks = open_asks(&self.env.db());
        if expected.is_empty() && asks.is_empty() {
            return;
        }
        let listed: Waits = self
            .rows(&["inbox", "--json"])
            .iter()
            .filter_map(|w| {
                Some((
                    w["run_id"].as_str()?.to_string(),
                    w["step"].as_str()?.to_string(),
                    w["kind"].as_str()?.to_string(),
                ))
            })
            .collect();
        self.inbox_samples += 1;
        for (run, step, kind, step_state, seq, state) in expected {
            let key = (run.clone(), step.clone(), kind.to_string());
            if listed.contains(&key) {
                continue;
            }
            let still = store
                .run(&run)
                .is_ok_and(|rec| rec.last_seq == seq && rec.state == state);
            if still && self.missed.insert(key) {
                self.misses.push(format!(
                    "run {run} reads {state:?} and its step `{step}` {step_state} (`baton show`), but `baton inbox` lists no `{kind}` item for it (event {seq} the run's last before and after)"
                ));
            }
        }
        // A step's ask open (its row) before and after the inbox was read is listed.
        let after = open_asks(&self.env.db());
        for (id, run, step) in asks {
            let key = (run.clone(), step.clone(), "ask".to_string());
            // Still open, its asker alive, after the inbox was read.
            let still = after.iter().any(|(a, _, _)| *a == id);
            if still && !listed.contains(&key) && self.missed.insert(key) {
                self.misses.push(format!(
                    "ask {id} of run {run} step `{step}` is open before and after `baton inbox` was read, but the inbox lists no `ask` item for it"
                ));
            }
        }
    }
}

/// The open asks of steps whose asker lives: (ask id, run, step). commands.md: "An
/// asker killed (`kill -9`) leaves its ask on record; it reads `abandoned` from then
/// on" (an engine killed takes its step's asker with it: the step is to resume).
fn open_asks(db: &std::path::Path) -> Vec<(String, String, String)> {
    let Ok(raw) = rusqlite::Connection::open(db) else {
        return Vec::new();
    };
    let rows: Vec<(String, String, String, String)> = raw
        .prepare(
            "SELECT id, run_id, step_id, holder FROM asks WHERE state = 'open' AND run_id IS NOT NULL",
        )
        .and_then(|mut st| {
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect::<Result<Vec<_>, _>>()
        })
        .unwrap_or_default();
    rows.into_iter()
        .filter(|(_, _, _, holder)| baton::store::holder_alive(holder) != Some(false))
        .map(|(id, run, step, _)| (id, run, step))
        .collect()
}

/// Whether `run`'s lease was taken again after the run was recorded (a `baton resume`
/// queueing it again, the documented exception): the lease a run is recorded with is
/// acquired at its first event's instant, so a later `acquired_at` is a takeover. Read
/// from the lease, not only from a `run_resumed` event: a resume takes the lease in
/// one transaction and records the event in a later one, and a sample between the two
/// read a resumed run as one the line counts (chaos seed 61, CI of 2026-11-26).
fn taken_again(raw: &rusqlite::Connection, run: &str) -> Option<bool> {
    raw.query_row(
        "SELECT l.acquired_at > (SELECT min(e.at) FROM events e WHERE e.run_id = l.run_id)
                OR EXISTS (SELECT 1 FROM events e WHERE e.run_id = l.run_id AND e.type = 'run_resumed')
         FROM leases l WHERE l.run_id = ?1",
        [run],
        |r| r.get(0),
    )
    .optional()
    .ok()
    .map(|taken| taken.unwrap_or(false))
}

/// The verdict of the samples taken.
pub(super) fn nothing_asked_of_a_person_lost(c: &Campaign) -> Verdict {
    let mut v = Verdict::new(
        "nothing_asked_of_a_person_lost",
        "docs/commands.md: `baton inbox` lists \"what waits on a person across every run: open gates, exhausted budgets, steps to mark or to resume\" (issue 61: \"nothing asked of a person is lost across crashes\")",
    );
    v.broken = c.misses.clone();
    v.checked = format!(
        "{} samples of the inbox against every waiting or interrupted run",
        c.inbox_samples
    );
    v
}

impl Campaign {
    /// One sample of `at_most_max_pending_wait` for `chaos-deploy` (`max_pending` 2):
    /// the group's waiting rows whose run reads `queued` with a live engine, but for
    /// the documented exception (concurrency-and-schedules.md: "a queued run whose
    /// engine died is passed over, not counted against `max_pending`, until `baton
    /// resume` queues it again": a run whose lease was taken again is left out, [`taken_again`]). The
    /// runs' liveness is read one after another, not at one instant, so a line over
    /// the bound counts only if a second reading finds the same runs in it.
    pub(super) fn sample_pending(&mut self) {
        let Ok(store) = Store::open(&self.env.db()) else {
            return;
        };
        let Ok(raw) = rusqlite::Connection::open(self.env.db()) else {
            return;
        };
        let line = || -> Option<Vec<String>> {
            let rows: Vec<String> = raw
                .prepare("SELECT run_id FROM group_members WHERE grp = ?1 AND active = 0")
                .ok()?
                .query_map([workflows::DEPLOY_GROUP], |r| r.get(0))
                .ok()?
                .collect::<Result<_, _>>()
                .ok()?;
            let mut line = Vec::new();
            for run in rows {
                let live = store.run_liveness(&run).ok()?;
                if live.state == RunState::Queued
                    && live.driven_by.is_some()
                    && !taken_again(&raw, &run)?
                {
                    line.push(run);
                }
            }
            line.sort();
            Some(line)
        };
        self.pending_samples += 1;
        let Some(first) = line() else { return };
        if first.len() <= workflows::DEPLOY_MAX_PENDING {
            return;
        }
        if line().as_ref() == Some(&first) {
            self.over_pending.push(format!(
                "{} runs wait in group {} (max_pending {}), read twice: {first:?}",
                first.len(),
                workflows::DEPLOY_GROUP,
                workflows::DEPLOY_MAX_PENDING
            ));
        }
    }
}

/// The verdict of the samples taken.
pub(super) fn at_most_max_pending_wait(c: &Campaign) -> Verdict {
    let mut v = Verdict::new(
        "at_most_max_pending_wait",
        "docs/workflow/concurrency-and-schedules.md: \"at most `max_pending` wait for it\" (a queued run whose engine died not counted, as documented)",
    );
    v.broken = c.over_pending.clone();
    v.checked = format!(
        "{} samples of group {}'s line",
        c.pending_samples,
        workflows::DEPLOY_GROUP
    );
    v
}

#[cfg(test)]
mod tests {
    use super::taken_again;

    /// A store's two tables the check reads, with `run` recorded at 100.
    fn store(lease_at: i64, resumed_event: bool) -> rusqlite::Connection {
        let c = rusqlite::Connection::open_in_memory().expect("an in-memory SQLite");
        c.execute_batch(
            "CREATE TABLE leases (run_id TEXT, acquired_at INTEGER);
             CREATE TABLE events (run_id TEXT, at INTEGER, type TEXT);
             INSERT INTO events VALUES ('run', 100, 'run_started'), ('run', 100, 'run_queued');",
        )
        .expect("the tables");
        c.execute("INSERT INTO leases VALUES ('run', ?1)", [lease_at])
            .expect("the lease");
        if resumed_event {
            c.execute("INSERT INTO events VALUES ('run', 900, 'run_resumed')", [])
                .expect("the event");
        }
        c
    }

    #[test]
    fn a_lease_taken_after_the_run_was_recorded_is_a_resume_before_its_event() {
        assert_eq!(taken_again(&store(100, false), "run"), Some(false));
        // Taken by a resume that has not recorded `run_resumed` yet.
        assert_eq!(taken_again(&store(800, false), "run"), Some(true));
        assert_eq!(taken_again(&store(900, true), "run"), Some(true));
        // A run whose lease is gone (ended) is not taken again.
        assert_eq!(taken_again(&store(100, false), "other"), Some(false));
    }
}

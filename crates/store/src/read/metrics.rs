//! The store's metrics (`baton_model::metrics::Metrics`): the kept totals of the runs
//! that ended, and the summaries (`store::summaries`) of those that go on.
use super::{Store, StoreError};
use baton_model::metrics::ScheduleGauges;
use baton_model::metrics::{Metrics, RunGauges};
use baton_model::{RunState, RunSummary, StepState, Timestamp};
use std::collections::HashSet;

/// Ended runs by workflow and state: the partial index `runs_ended` alone.
pub(crate) const ENDED_RUNS: &str = "SELECT workflow, state, count(*) FROM runs
     WHERE steps_total IS NOT NULL GROUP BY workflow, state";

/// How many ended runs of each workflow are in each state (their state is final:
/// as readers show it), from the index `runs_ended` alone.
fn ended_runs(c: &rusqlite::Connection) -> Result<Vec<(String, RunState, u64)>, StoreError> {
    let mut st = c.prepare_cached(ENDED_RUNS)?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (wf, state, n) = row?;
        if let Some(s) = RunState::parse(&state) {
            out.push((wf, s, n as u64));
        }
    }
    Ok(out)
}

/// Count `n` runs of `wf` in `state`; every state of a workflow is present (zeros
/// too), so that a series does not vanish when its last run leaves the state.
fn count_runs(m: &mut Metrics, wf: &str, state: RunState, n: u64) {
    for &s in RunState::ALL {
        m.runs.entry((wf.to_string(), s.as_str())).or_default();
    }
    *m.runs.entry((wf.to_string(), state.as_str())).or_default() += n;
}

impl Store {
    /// The metrics of every run in the store, or of `run` (a full id) alone. The sums
    /// of the runs that ended are read from their totals (`store::metric_totals`); a
    /// run that goes on is read from its summary: nothing here reads every run's
    /// steps, however long the history.
    pub fn metrics(&self, run: Option<&str>) -> Result<Metrics, StoreError> {
        let r = super::in_read_snapshot(&self.conn, |c| {
            let mut m = Metrics::default();
            // Runs as `baton runs` reads them: a run whose engine is gone is `interrupted`.
            let going: Vec<RunSummary> = match run {
                Some(id) => self.summaries("WHERE id = ?1", [id])?,
                None => self.summaries("WHERE steps_total IS NULL", [])?,
            }
            .into_iter()
            .map(|(s, _)| s)
            .collect();
            if run.is_none() {
                for (wf, t) in super::metric_totals::totals(c)? {
                    t.add_to(&wf, &mut m);
                }
                for (wf, state, n) in ended_runs(c)? {
                    count_runs(&mut m, &wf, state, n);
                }
            }
            for r in &going {
                let mut t = super::metric_totals::share(c, &r.id)?;
                if r.state == RunState::Interrupted {
                    t.engine_gone();
                }
                t.add_to(&r.workflow, &mut m);
                count_runs(&mut m, &r.workflow, r.state, 1);
            }
            let gauged = match run {
                Some(_) => going,
                None => self.gauged_runs(c, going)?,
            };
            m.run_gauges = self.run_gauges(&gauged, run.is_some())?;
            Ok(m)
        });
        let mut m = self.ctx(r)?;
        if run.is_none() {
            m.schedules = self.schedule_gauges()?;
            m.load_errors = self.load_errors()?.into_iter().map(|(f, _)| f).collect();
            for r in self.delivery_refusals()? {
                m.trigger_refusals
                    .insert((r.workflow, r.trigger, r.reason), r.count);
            }
        }
        Ok(m)
    }

    /// The runs gauged when every run is asked for: those that go on (`going`) and each
    /// workflow's latest, newest first (one index range per workflow).
    fn gauged_runs(
        &self,
        c: &rusqlite::Connection,
        mut going: Vec<RunSummary>,
    ) -> Result<Vec<RunSummary>, StoreError> {
        let workflows: Vec<String> = c
            .prepare_cached("SELECT DISTINCT workflow FROM runs")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut latest = c.prepare_cached(
            "SELECT id FROM runs WHERE workflow = ?1 ORDER BY started_at DESC, id DESC LIMIT 1",
        )?;
        for wf in workflows {
            let id: String = latest.query_row([&wf], |r| r.get(0))?;
            if !going.iter().any(|r| r.id == id) {
                going.extend(
                    self.summaries("WHERE id = ?1", [&id])?
                        .into_iter()
                        .map(|(s, _)| s),
                );
            }
        }
        going.sort_by(|a, b| (b.started_at, &b.id).cmp(&(a.started_at, &a.id)));
        Ok(going)
    }

    /// Each served schedule: its next slot (`model::schedule::next_slot`, as `baton
    /// schedules` shows it), its last fire (its latest slot that made a run) and the
    /// fate of its latest slot (from the store alone: the same store, the same figures).
    fn schedule_gauges(&self) -> Result<Vec<ScheduleGauges>, StoreError> {
        let now = Timestamp::now();
        Ok(self
            .schedules()?
            .into_iter()
            .map(|row| ScheduleGauges {
                schedule: baton_model::schedule::schedule_name(&row.workflow, row.index),
                next: baton_model::schedule::next_slot(
                    &row.cron,
                    &row.timezone,
                    row.last.as_ref().map(|l| l.slot_at),
                    now,
                ),
                workflow: row.workflow,
                last_fire: row.last_run.map(|l| l.slot_at),
                last_outcome: row.last.map(|l| l.fate),
                paused: row.paused.is_some(),
            })
            .collect())
    }

    /// Gauges of every run in `runs` (newest first) when `all`, else of the live runs
    /// and each workflow's latest (a bounded set of series, however many runs the
    /// store keeps). Health and quality are `show`'s; queue depth and running, the
    /// steps queued and running now, only for a run a live engine drives.
    fn run_gauges(&self, runs: &[RunSummary], all: bool) -> Result<Vec<RunGauges>, StoreError> {
        let mut latest = HashSet::new();
        let mut out = Vec::new();
        for r in runs {
            let live = !r.state.is_final() && r.state != RunState::Interrupted;
            let newest = latest.insert(r.workflow.as_str());
            if !(all || live || newest) {
                continue;
            }
            let t = super::summaries::load(&self.conn, &r.id)?;
            let count = |pred: fn(StepState) -> bool| live.then(|| t.count(pred) as u64);
            let health = t.health();
            out.push(RunGauges {
                queue_depth: count(|s| s == StepState::Queued),
                running: count(StepState::has_process),
                run: r.id.clone(),
                workflow: r.workflow.clone(),
                health: health.score,
                quality: health.quality,
                budget: Vec::new(),
                burn: Vec::new(),
            });
        }
        out.sort_by(|a, b| a.run.cmp(&b.run));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::NewRun;
    use baton_model::metrics::{AttemptOutcome, Histogram};
    use baton_model::{Event, EventKind, StepOutcome, Timestamp, Usage};
    use std::path::PathBuf;

    const RUN: &str = "01run";

    /// A run of workflow `w` started at `started_at` (ms) with these steps.
    fn create(s: &mut Store, id: &str, started_at: i64, steps: &[&str]) {
        s.create_run(&NewRun {
            id: id.into(),
            workflow: "w".into(),
            source_path: PathBuf::from("w.toml"),
            source_text: "name = \"w\"\n".into(),
            params_json: "{}".into(),
            operator: "alice".into(),
            started_at: Timestamp(started_at),
            parent: None,
            steps: steps.iter().map(|s| s.to_string()).collect(),
        })
        .unwrap();
    }

    fn store(dir: &tempfile::TempDir) -> Store {
        let mut s = Store::open(&dir.path().join("m.db")).unwrap();
        create(&mut s, RUN, 0, &["a", "g", "h"]);
        s
    }

    /// Events of `run` at the given seconds, in order.
    fn commit_to(s: &mut Store, run: &str, from_seq: u64, evs: Vec<(i64, EventKind)>) {
        let evs: Vec<Event> = evs
            .into_iter()
            .enumerate()
            .map(|(i, (secs, kind))| Event {
                seq: from_seq + i as u64,
                at: Timestamp(secs * 1000),
                kind,
            })
            .collect();
        s.commit(run, &evs).unwrap();
    }

    fn commit(s: &mut Store, from_seq: u64, evs: Vec<(i64, EventKind)>) {
        commit_to(s, RUN, from_seq, evs);
    }

    fn finished(step: &str, attempt: u32, ms: u64) -> EventKind {
        EventKind::StepFinished {
            step: step.into(),
            attempt,
            outcome: StepOutcome::Exited { exit_code: 0 },
            duration_ms: ms,
            outputs: Default::default(),
            usage: Usage::default(),
        }
    }

    fn state(step: &str, state: StepState, attempt: u32) -> EventKind {
        EventKind::StepStateChanged {
            step: step.into(),
            state,
            attempt,
            reason: None,
        }
    }

    fn opened(step: &str) -> EventKind {
        EventKind::GateOpened {
            step: step.into(),
            prompt: "ok?".into(),
            deadline: None,
            digest: "d".into(),
            approvers: vec![],
            quorum: 1,
            signed: false,
            inputs: Default::default(),
            round: None,
        }
    }

    #[test]
    fn gate_waits_pair_each_opening_with_its_decision_and_attempts_keep_their_outcome() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = store(&dir);
        commit(
            &mut s,
            1,
            vec![
                (0, state("a", StepState::Running, 1)),
                (1, finished("a", 1, 1_000)),
                (1, state("a", StepState::Succeeded, 1)),
                // Undone by the saga later: the attempt still succeeded.
                (2, state("a", StepState::Compensating, 1)),
                (3, state("a", StepState::Compensated, 1)),
                // `g`: opened, voided (opens again), opened, rejected by its timeout.
                (0, opened("g")),
                (
                    5,
                    EventKind::GateVoided {
                        step: "g".into(),
                        reason: "changed".into(),
                    },
                ),
                (10, opened("g")),
                (
                    70,
                    EventKind::GateRejected {
                        step: "g".into(),
                        actor: "engine".into(),
                        reason: "timed out".into(),
                        timed_out: true,
                        signature: None,
                    },
                ),
                // `h`: approved after 2 s, then a gate still open counts nothing.
                (0, opened("h")),
                (
                    2,
                    EventKind::GateApproved {
                        step: "h".into(),
                        actor: "bob".into(),
                        approvers: vec!["bob".into()],
                    },
                ),
                (3, opened("h")),
            ],
        );
        let m = s.metrics(None).unwrap();
        let w = |d: &str| m.gate_waits.get(&("w".to_string(), d.to_string()));
        let timed_out = w("timed_out").expect("a timed-out wait");
        assert_eq!((timed_out.count(), timed_out.sum_ms), (1, 60_000));
        let approved = w("approved").expect("an approved wait");
        assert_eq!((approved.count(), approved.sum_ms), (1, 2_000));
        assert_eq!(m.gate_waits.len(), 2);
        assert_eq!(
            m.attempts_finished
                .get(&("w".to_string(), AttemptOutcome::Succeeded)),
            Some(&1)
        );
        assert_eq!(m.attempts_started.get("w"), Some(&1));
        assert_eq!(m.step_durations["w"].sum_ms, 1_000);
        assert_eq!(m.steps[&("w".to_string(), "compensated")], 1);
        assert_eq!(m.steps[&("w".to_string(), "queued")], 0);

        // No engine holds the run: it reads interrupted, and has no queue to gauge.
        assert_eq!(m.runs[&("w".to_string(), "interrupted")], 1);
        assert_eq!(m.runs[&("w".to_string(), "pending")], 0);
        assert_eq!(m.run_gauges.len(), 1);
        assert_eq!(m.run_gauges[0].queue_depth, None);
        let other = s.metrics(Some("no-such-run")).unwrap();
        assert!(other.runs.is_empty() && other.run_gauges.is_empty());
    }

    /// A second run of `w`, ended: `a` succeeded in 400 ms.
    fn ended_run(s: &mut Store, id: &str) {
        create(s, id, 1_000, &["a"]);
        let run_finished = EventKind::RunFinished {
            state: RunState::Succeeded,
            summary: "ok".into(),
            dealt_with: Vec::new(),
        };
        commit_to(
            s,
            id,
            1,
            vec![
                (2, state("a", StepState::Running, 1)),
                (2, finished("a", 1, 400)),
                (2, state("a", StepState::Succeeded, 1)),
                (2, run_finished),
            ],
        );
    }

    /// The store's metrics are the kept totals of the ended runs and the rows of those
    /// that go on: the same as adding each run's own metrics, before and after an
    /// ended run is deleted.
    #[test]
    fn every_runs_metrics_are_the_sum_of_each_runs_and_a_deleted_run_leaves_them() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = store(&dir);
        commit(&mut s, 1, vec![(0, state("a", StepState::Running, 1))]);
        ended_run(&mut s, "01ended");
        ended_run(&mut s, "01gone");
        let sums = |m: &Metrics| {
            (
                m.steps.clone(),
                m.attempts_started.clone(),
                m.attempts_finished.clone(),
                m.step_durations.clone(),
                m.runs.clone(),
            )
        };
        let add = |s: &Store, ids: &[&str]| {
            let mut want = Metrics::default();
            for id in ids {
                let one = s.metrics(Some(id)).unwrap();
                for (k, v) in one.steps {
                    *want.steps.entry(k).or_default() += v;
                }
                for (k, v) in one.attempts_started {
                    *want.attempts_started.entry(k).or_default() += v;
                }
                for (k, v) in one.attempts_finished {
                    *want.attempts_finished.entry(k).or_default() += v;
                }
                for (k, v) in one.runs {
                    *want.runs.entry(k).or_default() += v;
                }
                for (k, h) in one.step_durations {
                    let e = want
                        .step_durations
                        .entry(k)
                        .or_insert_with(|| Histogram::new(h.bounds_ms));
                    for (c, n) in e.counts.iter_mut().zip(&h.counts) {
                        *c += n;
                    }
                    e.sum_ms += h.sum_ms;
                }
            }
            want
        };
        let all = s.metrics(None).unwrap();
        assert_eq!(all.steps[&("w".to_string(), "succeeded")], 2);
        assert_eq!(all.steps[&("w".to_string(), "interrupted")], 1, "no engine");
        assert_eq!(all.step_durations["w"].sum_ms, 800);
        assert_eq!(all.runs[&("w".to_string(), "succeeded")], 2);
        // The workflow's latest run is gauged; the interrupted one is not live.
        let gauged: Vec<&str> = all.run_gauges.iter().map(|g| g.run.as_str()).collect();
        assert_eq!(gauged, ["01gone"]);
        assert_eq!(sums(&all), sums(&add(&s, &[RUN, "01ended", "01gone"])));
        s.delete_run("01gone", "root", "test").unwrap();
        let all = s.metrics(None).unwrap();
        assert_eq!(all.steps[&("w".to_string(), "succeeded")], 1);
        assert_eq!(sums(&all), sums(&add(&s, &[RUN, "01ended"])));
    }
}

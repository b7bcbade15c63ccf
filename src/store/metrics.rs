//! The store's metrics (`crate::model::metrics::Metrics`), read from the projected
//! tables: a few grouped scans, no replay.
use super::{Store, StoreError};
use crate::model::metrics::ScheduleGauges;
use crate::model::metrics::{
    AttemptOutcome, ErrorCounts, GATE_WAIT_BOUNDS_MS, Histogram, Metrics, RunGauges,
    STEP_DURATION_BOUNDS_MS,
};
use crate::model::{RunState, RunSummary, StepState, Timestamp};
use std::collections::HashSet;

/// The `'static` name of a step state read from the store.
fn state_name(s: &str) -> &'static str {
    StepState::parse(s).map_or("interrupted", StepState::as_str)
}

/// `?1` is the run id or NULL for every run.
const ONE_OR_ALL: &str = "(?1 IS NULL OR r.id = ?1)";

impl Store {
    /// The metrics of every run in the store, or of `run` (a full id) alone.
    pub fn metrics(&self, run: Option<&str>) -> Result<Metrics, StoreError> {
        let r = (|| {
            let mut m = Metrics::default();
            self.metric_counts(run, &mut m)?;
            self.metric_histograms(run, &mut m)?;
            Ok(m)
        })();
        let mut m = self.ctx(r)?;
        // Runs as `baton runs` reads them: a run whose engine is gone is `interrupted`.
        let runs: Vec<RunSummary> = self
            .list_runs()?
            .into_iter()
            .filter(|r| run.is_none_or(|id| r.id == id))
            .collect();
        for r in &runs {
            for s in RunState::ALL {
                m.runs.entry((r.workflow.clone(), s.as_str())).or_default();
            }
            *m.runs
                .entry((r.workflow.clone(), r.state.as_str()))
                .or_default() += 1;
        }
        for r in runs.iter().filter(|r| r.state == RunState::Interrupted) {
            self.count_as_interrupted(r, &mut m)?;
        }
        m.run_gauges = self.run_gauges(&runs, run.is_some())?;
        if run.is_none() {
            m.schedules = self.schedule_gauges()?;
            m.load_errors = self.load_errors()?.into_iter().map(|(f, _)| f).collect();
        }
        Ok(m)
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
                schedule: crate::model::schedule::schedule_name(&row.workflow, row.index),
                next: crate::model::schedule::next_slot(
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

    /// A run whose engine is gone runs nothing: the steps it was running count as
    /// `interrupted`, as `show` reads them (`model::liveness::stop_clocks`).
    fn count_as_interrupted(&self, r: &RunSummary, m: &mut Metrics) -> Result<(), StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT state, count(*) FROM steps WHERE run_id = ?1 AND state IN ('running', 'ready')
             GROUP BY state",
        )?;
        let rows: Vec<(String, i64)> = st
            .query_map([&r.id], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<Result<_, _>>()?;
        for (state, n) in rows {
            let n = n as u64;
            if let Some(c) = m.steps.get_mut(&(r.workflow.clone(), state_name(&state))) {
                *c = c.saturating_sub(n);
            }
            *m.steps
                .entry((r.workflow.clone(), StepState::Interrupted.as_str()))
                .or_default() += n;
        }
        Ok(())
    }

    fn metric_counts(&self, run: Option<&str>, m: &mut Metrics) -> Result<(), StoreError> {
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT r.workflow, s.state, count(*) FROM steps s JOIN runs r ON r.id = s.run_id
             WHERE {ONE_OR_ALL} GROUP BY r.workflow, s.state"
        ))?;
        let mut rows = st.query([run])?;
        while let Some(row) = rows.next()? {
            let wf: String = row.get(0)?;
            for s in StepState::ALL {
                m.steps.entry((wf.clone(), s.as_str())).or_default();
            }
            if let Some(s) = StepState::parse(&row.get::<_, String>(1)?) {
                *m.steps.entry((wf, s.as_str())).or_default() += row.get::<_, i64>(2)? as u64;
            }
        }

        let mut st = self.conn.prepare_cached(&format!(
            "SELECT r.workflow, a.state, count(*) FROM attempts a JOIN runs r ON r.id = a.run_id
             WHERE {ONE_OR_ALL} GROUP BY r.workflow, a.state"
        ))?;
        let mut rows = st.query([run])?;
        while let Some(row) = rows.next()? {
            let wf: String = row.get(0)?;
            let n = row.get::<_, i64>(2)? as u64;
            *m.attempts_started.entry(wf.clone()).or_default() += n;
            let outcome = row
                .get::<_, Option<String>>(1)?
                .and_then(|s| StepState::parse(&s))
                .and_then(AttemptOutcome::of_attempt_state);
            if let Some(o) = outcome {
                *m.attempts_finished.entry((wf, o)).or_default() += n;
            }
        }

        let mut st = self.conn.prepare_cached(&format!(
            "SELECT r.workflow, e.kind, e.severity, count(*), coalesce(sum(e.open != 0), 0)
             FROM errors e JOIN runs r ON r.id = e.run_id
             WHERE {ONE_OR_ALL} GROUP BY r.workflow, e.kind, e.severity"
        ))?;
        let mut rows = st.query([run])?;
        while let Some(row) = rows.next()? {
            m.errors.insert(
                (row.get(0)?, row.get(1)?, row.get(2)?),
                ErrorCounts {
                    total: row.get::<_, i64>(3)? as u64,
                    open: row.get::<_, i64>(4)? as u64,
                },
            );
        }
        Ok(())
    }

    fn metric_histograms(&self, run: Option<&str>, m: &mut Metrics) -> Result<(), StoreError> {
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT r.workflow, a.duration_ms FROM attempts a JOIN runs r ON r.id = a.run_id
             WHERE {ONE_OR_ALL} AND a.duration_ms IS NOT NULL"
        ))?;
        let mut rows = st.query([run])?;
        while let Some(row) = rows.next()? {
            let ms = row.get::<_, i64>(1)?.max(0) as u64;
            m.step_durations
                .entry(row.get(0)?)
                .or_insert_with(|| Histogram::new(STEP_DURATION_BOUNDS_MS))
                .observe(ms);
        }

        // Each opening of a gate, paired with what next ended it on the same step. A
        // gate voided (the run was cancelled) or opened again was not decided.
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT r.workflow, d.kind, d.at - o.at
             FROM approvals o JOIN runs r ON r.id = o.run_id
             JOIN approvals d ON d.id = (
                 SELECT min(x.id) FROM approvals x
                 WHERE x.run_id = o.run_id AND x.step = o.step AND x.id > o.id
                   AND x.kind IN ('approved', 'rejected', 'timed_out', 'voided', 'opened'))
             WHERE {ONE_OR_ALL} AND o.kind = 'opened'
               AND d.kind IN ('approved', 'rejected', 'timed_out')"
        ))?;
        let mut rows = st.query([run])?;
        while let Some(row) = rows.next()? {
            let ms = row.get::<_, i64>(2)?.max(0) as u64;
            m.gate_waits
                .entry((row.get(0)?, row.get(1)?))
                .or_insert_with(|| Histogram::new(GATE_WAIT_BOUNDS_MS))
                .observe(ms);
        }
        Ok(())
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
            let t = super::run_counts::tally(&self.conn, &r.id)?;
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
            });
        }
        out.sort_by(|a, b| a.run.cmp(&b.run));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Event, EventKind, StepOutcome, Timestamp, Usage};
    use crate::store::NewRun;
    use std::path::PathBuf;

    const RUN: &str = "01run";

    fn store(dir: &tempfile::TempDir) -> Store {
        let mut s = Store::open(&dir.path().join("m.db")).unwrap();
        s.create_run(&NewRun {
            id: RUN.into(),
            workflow: "w".into(),
            source_path: PathBuf::from("w.toml"),
            source_text: "name = \"w\"\n".into(),
            params_json: "{}".into(),
            operator: "alice".into(),
            started_at: Timestamp(0),
            steps: vec!["a".into(), "g".into(), "h".into()],
        })
        .unwrap();
        s
    }

    /// Events at the given seconds, in order.
    fn commit(s: &mut Store, from_seq: u64, evs: Vec<(i64, EventKind)>) {
        let evs: Vec<Event> = evs
            .into_iter()
            .enumerate()
            .map(|(i, (secs, kind))| Event {
                seq: from_seq + i as u64,
                at: Timestamp(secs * 1000),
                kind,
            })
            .collect();
        s.commit(RUN, &evs).unwrap();
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
        }
    }

    #[test]
    fn gate_waits_pair_each_opening_with_its_decision_and_attempts_keep_their_outcome() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = store(&dir);
        let finished = |step: &str, attempt, ms| EventKind::StepFinished {
            step: step.into(),
            attempt,
            outcome: StepOutcome::Exited { exit_code: 0 },
            duration_ms: ms,
            outputs: Default::default(),
            usage: Usage::default(),
        };
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
}

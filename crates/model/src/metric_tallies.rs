//! The metrics that are sums ([`Tallies`]): one run's share, and a workflow's totals.
//! The store keeps each ended run's share on its row and the totals of every ended run
//! per workflow (`store::metric_totals`), adding a share when a run ends and taking the
//! same share away when it is deleted or goes on again, so that `baton metrics` reads
//! a row per workflow instead of every step of a year of runs.
use super::metrics::{
    AttemptOutcome, ErrorCounts, GATE_WAIT_BOUNDS_MS, Histogram, Metrics, STEP_DURATION_BOUNDS_MS,
};
use super::state::StepState;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Observations per bucket (not cumulative) and their sum; the bounds are the
/// histogram's kind ([`STEP_DURATION_BOUNDS_MS`], [`GATE_WAIT_BOUNDS_MS`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Buckets {
    pub counts: Vec<u64>,
    pub sum_ms: u64,
}

impl Buckets {
    /// Count one observation of `ms` in buckets bounded by `bounds_ms`.
    fn observe(&mut self, bounds_ms: &[u64], ms: u64) {
        self.counts.resize(bounds_ms.len() + 1, 0);
        self.counts[Histogram::bucket(bounds_ms, ms)] += 1;
        self.sum_ms = self.sum_ms.saturating_add(ms);
    }

    /// Add (`add`) or take away one observation of `ms`: what merging the buckets of
    /// that one observation does, without making them.
    pub fn move_observation(&mut self, bounds_ms: &[u64], ms: u64, add: bool) {
        if self.counts.len() < bounds_ms.len() + 1 {
            self.counts.resize(bounds_ms.len() + 1, 0);
        }
        apply(&mut self.counts[Histogram::bucket(bounds_ms, ms)], 1, add);
        apply(&mut self.sum_ms, ms, add);
        if self.is_empty() {
            *self = Buckets::default();
        }
    }

    fn merge(&mut self, o: &Buckets, add: bool) {
        if self.counts.len() < o.counts.len() {
            self.counts.resize(o.counts.len(), 0);
        }
        for (c, n) in self.counts.iter_mut().zip(&o.counts) {
            apply(c, *n, add);
        }
        apply(&mut self.sum_ms, o.sum_ms, add);
        if self.is_empty() {
            *self = Buckets::default();
        }
    }

    fn is_empty(&self) -> bool {
        self.counts.iter().all(|&n| n == 0) && self.sum_ms == 0
    }

    /// Add these observations to `h` (of the same bounds).
    fn add_to(&self, h: &mut Histogram) {
        for (c, n) in h.counts.iter_mut().zip(&self.counts) {
            *c += n;
        }
        h.sum_ms = h.sum_ms.saturating_add(self.sum_ms);
    }
}

/// One run's, or one workflow's, sums. Maps are written as lists of pairs (JSON keys
/// are strings only) and hold no zero entries, so that equal sums compare equal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tallies {
    /// Steps by state (`StepState::as_str`).
    #[serde(default, with = "pairs")]
    pub steps: BTreeMap<String, u64>,
    #[serde(default)]
    pub attempts_started: u64,
    /// Attempts that ended, by outcome (`AttemptOutcome::as_str`).
    #[serde(default, with = "pairs")]
    pub attempts_finished: BTreeMap<String, u64>,
    /// Error records by (kind, severity).
    #[serde(default, with = "pairs")]
    pub errors: BTreeMap<(String, String), ErrorCounts>,
    #[serde(default)]
    pub step_durations: Buckets,
    /// Gate waits by decision.
    #[serde(default, with = "pairs")]
    pub gate_waits: BTreeMap<String, Buckets>,
    /// `deadline_missed` events: the run's and its steps' (issue 58 point 9).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub deadlines_missed: u64,
    /// Of those, the run's own deadline.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub run_deadlines_missed: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn apply(a: &mut u64, b: u64, add: bool) {
    *a = if add {
        a.saturating_add(b)
    } else {
        a.saturating_sub(b)
    };
}

fn merge_counts<K: Ord + Clone>(a: &mut BTreeMap<K, u64>, b: &BTreeMap<K, u64>, add: bool) {
    for (k, n) in b {
        let e = a.entry(k.clone()).or_default();
        apply(e, *n, add);
    }
    a.retain(|_, n| *n != 0);
}

impl Tallies {
    pub fn count_step(&mut self, state: StepState, n: u64) {
        *self.steps.entry(state.as_str().to_string()).or_default() += n;
    }

    pub fn count_attempts(&mut self, state: Option<StepState>, n: u64) {
        self.attempts_started += n;
        if let Some(o) = state.and_then(AttemptOutcome::of_attempt_state) {
            *self
                .attempts_finished
                .entry(o.as_str().to_string())
                .or_default() += n;
        }
    }

    pub fn count_errors(&mut self, kind: String, severity: String, total: u64, open: u64) {
        let e = self.errors.entry((kind, severity)).or_default();
        e.total += total;
        e.open += open;
    }

    pub fn observe_duration(&mut self, ms: u64) {
        self.step_durations.observe(STEP_DURATION_BOUNDS_MS, ms);
    }

    pub fn observe_gate_wait(&mut self, decision: String, ms: u64) {
        let b = self.gate_waits.entry(decision).or_default();
        b.observe(GATE_WAIT_BOUNDS_MS, ms);
    }

    /// Add `o` (`add`) or take it away (`!add`): the totals keep every ended run's
    /// share exactly, so taking away a share once added restores them.
    pub fn merge(&mut self, o: &Tallies, add: bool) {
        merge_counts(&mut self.steps, &o.steps, add);
        apply(&mut self.attempts_started, o.attempts_started, add);
        merge_counts(&mut self.attempts_finished, &o.attempts_finished, add);
        for (k, c) in &o.errors {
            let e = self.errors.entry(k.clone()).or_default();
            apply(&mut e.total, c.total, add);
            apply(&mut e.open, c.open, add);
        }
        self.errors.retain(|_, e| *e != ErrorCounts::default());
        self.step_durations.merge(&o.step_durations, add);
        for (k, b) in &o.gate_waits {
            self.gate_waits.entry(k.clone()).or_default().merge(b, add);
        }
        self.gate_waits.retain(|_, b| !b.is_empty());
        apply(&mut self.deadlines_missed, o.deadlines_missed, add);
        apply(&mut self.run_deadlines_missed, o.run_deadlines_missed, add);
    }

    pub fn is_empty(&self) -> bool {
        *self == Tallies::default()
    }

    /// A run whose engine is gone runs nothing: its running and ready steps count as
    /// `interrupted`, as `show` reads them (`model::liveness::stop_clocks`).
    pub fn engine_gone(&mut self) {
        for s in [StepState::Running, StepState::Ready] {
            if let Some(n) = self.steps.remove(s.as_str()) {
                self.count_step(StepState::Interrupted, n);
            }
        }
    }

    /// Add these sums to `m` under `workflow`: every step state of a workflow with
    /// steps is present (zeros too), as are the other series it has figures for.
    pub fn add_to(&self, workflow: &str, m: &mut Metrics) {
        let wf = || workflow.to_string();
        if !self.steps.is_empty() {
            for &s in StepState::ALL {
                m.steps.entry((wf(), s.as_str())).or_default();
            }
        }
        for (state, n) in &self.steps {
            if let Some(s) = StepState::parse(state) {
                *m.steps.entry((wf(), s.as_str())).or_default() += n;
            }
        }
        if self.attempts_started > 0 {
            *m.attempts_started.entry(wf()).or_default() += self.attempts_started;
        }
        for (o, n) in &self.attempts_finished {
            if let Some(o) = AttemptOutcome::parse(o) {
                *m.attempts_finished.entry((wf(), o)).or_default() += n;
            }
        }
        for ((kind, severity), c) in &self.errors {
            let e = m
                .errors
                .entry((wf(), kind.clone(), severity.clone()))
                .or_default();
            e.total += c.total;
            e.open += c.open;
        }
        if !self.step_durations.is_empty() {
            self.step_durations.add_to(
                m.step_durations
                    .entry(wf())
                    .or_insert_with(|| Histogram::new(STEP_DURATION_BOUNDS_MS)),
            );
        }
        for (decision, b) in &self.gate_waits {
            b.add_to(
                m.gate_waits
                    .entry((wf(), decision.clone()))
                    .or_insert_with(|| Histogram::new(GATE_WAIT_BOUNDS_MS)),
            );
        }
        if self.deadlines_missed > 0 {
            let steps =
                self.deadlines_missed - self.run_deadlines_missed.min(self.deadlines_missed);
            *m.deadlines_missed.entry((wf(), "run")).or_default() += self.run_deadlines_missed;
            *m.deadlines_missed.entry((wf(), "step")).or_default() += steps;
        }
    }
}

/// Serde for a map as a list of `[key, value]` pairs.
mod pairs {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;

    pub(super) fn serialize<S: Serializer, K: Serialize, V: Serialize>(
        m: &BTreeMap<K, V>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(m.iter())
    }

    pub(super) fn deserialize<'de, D, K, V>(d: D) -> Result<BTreeMap<K, V>, D::Error>
    where
        D: Deserializer<'de>,
        K: Deserialize<'de> + Ord,
        V: Deserialize<'de>,
    {
        Ok(Vec::<(K, V)>::deserialize(d)?.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn share() -> Tallies {
        let mut t = Tallies::default();
        t.count_step(StepState::Succeeded, 3);
        t.count_step(StepState::Running, 1);
        t.count_attempts(Some(StepState::Succeeded), 3);
        t.count_attempts(Some(StepState::Running), 1);
        t.count_errors("step_failed".into(), "error".into(), 2, 1);
        t.observe_duration(120);
        t.observe_gate_wait("approved".into(), 2_000);
        t.deadlines_missed = 2;
        t.run_deadlines_missed = 1;
        t
    }

    #[test]
    fn a_share_added_and_taken_away_leaves_the_totals_as_they_were() {
        let mut other = Tallies::default();
        other.count_step(StepState::Failed, 2);
        other.observe_duration(10);
        let mut totals = other.clone();
        totals.merge(&share(), true);
        assert_ne!(totals, other);
        totals.merge(&share(), false);
        assert_eq!(totals, other, "no zero entries left behind");
        totals.merge(&other, false);
        assert!(totals.is_empty());
    }

    #[test]
    fn the_json_round_trips_and_the_metrics_read_as_the_scans_did() {
        let t = share();
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(serde_json::from_str::<Tallies>(&json).unwrap(), t);
        let mut m = Metrics::default();
        t.add_to("w", &mut m);
        t.add_to("w", &mut m);
        let w = || "w".to_string();
        assert_eq!(m.steps[&(w(), "succeeded")], 6);
        assert_eq!(m.steps[&(w(), "queued")], 0, "every state present");
        assert_eq!(m.attempts_started[&w()], 8);
        assert_eq!(m.attempts_finished[&(w(), AttemptOutcome::Succeeded)], 6);
        let e = m.errors[&(w(), "step_failed".into(), "error".into())];
        assert_eq!((e.total, e.open), (4, 2));
        assert_eq!(m.step_durations[&w()].count(), 2);
        assert_eq!(m.step_durations[&w()].sum_ms, 240);
        assert_eq!(m.gate_waits[&(w(), "approved".into())].count(), 2);
        assert_eq!(m.deadlines_missed[&(w(), "run")], 2);
        assert_eq!(m.deadlines_missed[&(w(), "step")], 2);
    }

    #[test]
    fn a_dead_engines_running_and_ready_steps_count_as_interrupted() {
        let mut t = share();
        t.count_step(StepState::Ready, 2);
        t.engine_gone();
        assert_eq!(t.steps.get("running"), None);
        assert_eq!(t.steps.get("ready"), None);
        assert_eq!(t.steps["interrupted"], 3);
    }
}

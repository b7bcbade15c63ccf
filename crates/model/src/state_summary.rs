//! One run's summary: what is read of it across runs (`baton runs`, the metrics, the
//! inbox's "who waits on someone"), folded once from its events as they are committed
//! and saved with each commit, in the same transaction (Temporal's "mutable state
//! summary"). Readers across runs read this summary, never the events or the rows of
//! every step again.
//!
//! [`SummaryFold`] is the fold: it keeps what it must remember of the run's steps,
//! attempts, open errors and open gates to move the counts by each event in O(1), and
//! hands out the small [`StateSummary`] that is saved. Folding a history in any
//! chunking gives the summary of folding it whole (`state_summary_tests`; the store
//! checks what it saved against a full replay on random histories).
use crate::FastMap;
use crate::error::{ErrorKind, ErrorRecord, Severity};
use crate::event::{Event, EventKind};
use crate::fan::FanCounts;
use crate::health::{self, StepScore};
use crate::history::{self, Closes};
use crate::metric_tallies::Tallies;
use crate::metrics::{AttemptOutcome, STEP_DURATION_BOUNDS_MS};
use crate::ranked::Ranked;
use crate::state::{RunState, StepState};
use crate::{Health, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A fan-out instance's parent step (`PARENT[KEY]` → `PARENT`); a workflow step's id
/// never holds `[`.
pub fn fan_parent(step: &str) -> Option<&str> {
    step.find('[').map(|i| &step[..i])
}

/// What is saved of one run with each commit. Maps are lists of pairs in JSON, with
/// no zero entries, so that equal summaries compare (and serialize) equal.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StateSummary {
    /// Steps grouped as they score: (state, retried, timed out) → how many.
    #[serde(default, with = "pairs")]
    pub steps: BTreeMap<(String, bool, bool), u64>,
    /// Fan-out instances by parent step, then by state → how many.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fans: BTreeMap<String, BTreeMap<String, u64>>,
    /// Open error records by severity.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub open_errors: BTreeMap<String, u64>,
    /// Open `budget_exceeded` records: the budget waits for someone to raise it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub budget_open: u64,
    /// How many failed steps the workflow deals with (`step_dealt_with`, and the list
    /// of its `run_finished`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub dealt_with: u64,
    /// How many steps read succeeded because an operator marked them so (in `steps`
    /// with their state and attempts, as their rows are): scored as marked.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub marked: u64,
    /// Of those, the ones that took more than one attempt (grouped as retried).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub marked_retried: u64,
    /// Of those, the fan-out instances, by parent step.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fans_marked: BTreeMap<String, u64>,
    /// The latency of its attempts that ended (nearest rank).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p50_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p95_ms: Option<u64>,
    /// Its share of the metrics' sums (`Tallies::steps` included).
    #[serde(default)]
    pub tallies: Tallies,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// (steps_total, steps_done, health) as `runs` shows them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Counts {
    pub total: usize,
    pub done: usize,
    pub health: f64,
}

impl StateSummary {
    /// How many steps are in a state `pred` holds for.
    pub fn count(&self, pred: impl Fn(StepState) -> bool) -> usize {
        self.scores()
            .filter(|(s, _)| pred(s.state))
            .map(|(_, n)| n)
            .sum()
    }

    /// Each group of steps that score alike, and how many.
    fn scores(&self) -> impl Iterator<Item = (StepScore, usize)> + '_ {
        self.steps.iter().map(|((state, retried, timed_out), n)| {
            (
                StepScore {
                    state: StepState::parse(state).unwrap_or(StepState::Interrupted),
                    // Only "more than one" matters to the score: 2 stands for any retry.
                    attempts: if *retried { 2 } else { 1 },
                    timed_out: *timed_out,
                    dealt_with: false,
                    marked: false,
                },
                *n as usize,
            )
        })
    }

    /// The run's health, scored as the core's view scores it (`model::health`).
    pub fn health(&self) -> Health {
        // Which failed steps were dealt with, or which succeeded ones were marked, does
        // not matter to the scores, only how many: the first ones met stand for them.
        let mut dealt = self.dealt_with as usize;
        let mut marked = [
            self.marked.saturating_sub(self.marked_retried) as usize,
            self.marked_retried as usize,
        ];
        let scores: Vec<(StepScore, usize)> = self
            .scores()
            .flat_map(|(score, n)| {
                let (left, with) = if score.state == StepState::Failed {
                    (
                        &mut dealt,
                        StepScore {
                            dealt_with: true,
                            ..score
                        },
                    )
                } else if score.state == StepState::Succeeded {
                    (
                        &mut marked[usize::from(score.attempts > 1)],
                        StepScore {
                            marked: true,
                            ..score
                        },
                    )
                } else {
                    return vec![(score, n)];
                };
                let k = (*left).min(n);
                *left -= k;
                vec![(with, k), (score, n - k)]
            })
            .collect();
        let errors: Vec<ErrorRecord> = self
            .open_errors
            .iter()
            .filter_map(|(sev, n)| Some((sev.parse::<Severity>().ok()?, *n)))
            .flat_map(|(sev, n)| {
                let rec = ErrorRecord::builder(ErrorKind::Storage, "")
                    .severity(sev)
                    .build(Timestamp(0));
                std::iter::repeat_n(rec, n as usize)
            })
            .collect();
        health::compute(
            scores
                .into_iter()
                .flat_map(|(score, n)| std::iter::repeat_n(score, n)),
            &errors,
        )
    }

    pub fn counts(&self) -> Counts {
        Counts {
            total: self.count(|_| true),
            done: self.count(StepState::is_final),
            health: self.health().score,
        }
    }

    /// Steps queued, and steps a process runs for: the signals' gauges.
    pub fn queue_depth(&self) -> usize {
        self.count(|s| s == StepState::Queued)
    }

    pub fn running(&self) -> usize {
        self.count(StepState::has_process)
    }

    /// Something in the run waits on a person: a step (see [`StepState::waits_on_someone`]) or
    /// an exhausted budget.
    pub fn waiting(&self) -> bool {
        self.budget_open > 0 || self.count(StepState::waits_on_someone) > 0
    }

    /// Each fanned-out step's instance counts, by step id.
    pub fn fan_counts(&self) -> Vec<(String, FanCounts)> {
        self.fans
            .iter()
            .map(|(parent, states)| {
                let mut c = FanCounts::default();
                for (s, n) in states {
                    c.add(
                        StepState::parse(s).unwrap_or(StepState::Interrupted),
                        *n as usize,
                    );
                }
                c.marked = self.fans_marked.get(parent).map_or(0, |n| *n as usize);
                (parent.clone(), c)
            })
            .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct StepRow {
    state: StepState,
    attempts: u32,
    timed_out: bool,
    /// Marked succeeded (`step_marked`), while it stays succeeded.
    marked: bool,
    /// Its failure is dealt with (`step_dealt_with`): counted while it is failed.
    dealt_with: bool,
}

impl Default for StepRow {
    fn default() -> Self {
        StepRow {
            state: StepState::Pending,
            attempts: 0,
            timed_out: false,
            marked: false,
            dealt_with: false,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct AttemptRow {
    state: Option<StepState>,
    duration_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
struct ErrorRow {
    step: Option<String>,
    kind: &'static str,
    severity: &'static str,
    open: bool,
}

/// The fold of one run's history into its [`StateSummary`]: every step, attempt and
/// error record the run has, as much as the counts need, and the counts kept as they
/// move. It runs on the engine's thread for every event: a step moving allocates
/// nothing once its row exists (the groups are counted in arrays, the maps of the
/// summary made when it is asked for), and nothing costs more as the run grows.
#[derive(Debug, Clone, Default)]
pub struct SummaryFold {
    steps: FastMap<String, StepRow>,
    /// Each step's attempts, by number (most steps have one).
    attempts: FastMap<String, Vec<(u32, AttemptRow)>>,
    /// Steps by (state, retried, timed out): `group`'s index.
    groups: Vec<u64>,
    /// Fan-out instances by parent step, by state (`StepState as usize`).
    fans: FastMap<String, Vec<u64>>,
    errors: FastMap<String, ErrorRow>,
    /// The ids of each step's open error records (what a success closes).
    open_by_step: FastMap<String, BTreeSet<String>>,
    /// When each step's gate opened, until decided, voided or opened again.
    gates: FastMap<String, i64>,
    /// Every ended attempt's duration (its latency).
    durations: Ranked,
    /// A `step_dealt_with` was folded: the history tells each change of what is dealt
    /// with, not only its `run_finished`.
    told_dealt_with: bool,
    /// How many rows say dealt with, failed or not.
    flagged: u64,
    sum: StateSummary,
}

impl SummaryFold {
    /// A run created with these steps (all `pending`), before any event.
    pub fn new<'a>(steps: impl IntoIterator<Item = &'a str>) -> SummaryFold {
        let mut f = SummaryFold::default();
        for s in steps {
            f.step(s);
        }
        f
    }

    /// The fold of `events` from [`SummaryFold::new`]`(steps)`.
    pub fn replay<'a>(steps: impl IntoIterator<Item = &'a str>, events: &[Event]) -> SummaryFold {
        let mut f = SummaryFold::new(steps);
        for ev in events {
            f.apply(ev);
        }
        f
    }

    /// The summary as of the events folded so far.
    pub fn summary(&self) -> StateSummary {
        let mut s = self.sum.clone();
        for (i, &n) in self.groups.iter().enumerate().filter(|(_, n)| **n > 0) {
            let (state, retried, timed_out) = ungroup(i);
            let state = state.as_str().to_string();
            *s.tallies.steps.entry(state.clone()).or_default() += n;
            s.steps.insert((state, retried, timed_out), n);
        }
        for (parent, states) in &self.fans {
            let counts = states
                .iter()
                .enumerate()
                .filter(|(_, n)| **n > 0)
                .map(|(i, &n)| (StepState::ALL[i].as_str().to_string(), n))
                .collect();
            s.fans.insert(parent.clone(), counts);
        }
        (s.p50_ms, s.p95_ms) = self.durations.latency();
        s
    }

    /// Whether the events folded so far say step's failure is dealt with.
    pub fn dealt_with(&self, step: &str) -> bool {
        self.steps.get(step).is_some_and(|r| r.dealt_with)
    }

    /// The step's row, made `pending` if the run had none.
    fn step(&mut self, step: &str) -> StepRow {
        if let Some(row) = self.steps.get(step) {
            return *row;
        }
        let row = StepRow::default();
        self.step_counts(step, &row, true);
        self.steps.insert(step.to_string(), row);
        row
    }

    /// Add (`add`) or take away a step row's part of the counts.
    fn step_counts(&mut self, step: &str, row: &StepRow, add: bool) {
        let g = group(row.state, row.attempts > 1, row.timed_out);
        if self.groups.len() <= g {
            self.groups.resize(GROUPS, 0);
        }
        move_by_one(&mut self.groups[g], add);
        if row.dealt_with {
            move_by_one(&mut self.flagged, add);
            if row.state == StepState::Failed {
                move_by_one(&mut self.sum.dealt_with, add);
            }
        }
        if row.marked {
            move_by_one(&mut self.sum.marked, add);
            if row.attempts > 1 {
                move_by_one(&mut self.sum.marked_retried, add);
            }
            if let Some(parent) = fan_parent(step) {
                move_count(&mut self.sum.fans_marked, parent.to_string(), add);
            }
        }
        if let Some(parent) = fan_parent(step) {
            if !self.fans.contains_key(parent) {
                self.fans
                    .insert(parent.to_string(), vec![0; StepState::ALL.len()]);
            }
            if let Some(states) = self.fans.get_mut(parent) {
                move_by_one(&mut states[row.state as usize], add);
                if states.iter().all(|&n| n == 0) {
                    self.fans.remove(parent);
                }
            }
        }
    }

    /// Change a step's row by `f` (creating it if missing), moving the counts.
    fn change_step(&mut self, step: &str, f: impl FnOnce(&mut StepRow)) {
        let old = self.step(step);
        let mut new = old;
        f(&mut new);
        if new != old {
            self.step_counts(step, &old, false);
            self.step_counts(step, &new, true);
            if let Some(row) = self.steps.get_mut(step) {
                *row = new;
            }
        }
    }

    /// Change an attempt's row by `f` (creating it if missing), moving the counts.
    fn change_attempt(&mut self, step: &str, attempt: u32, f: impl FnOnce(&mut AttemptRow)) {
        if !self.attempts.contains_key(step) {
            self.attempts.insert(step.to_string(), Vec::new());
        }
        let Some(rows) = self.attempts.get_mut(step) else {
            return;
        };
        let at = rows.iter().position(|(n, _)| *n == attempt);
        let old = at.map(|i| rows[i].1);
        let mut new = old.unwrap_or_default();
        f(&mut new);
        if old == Some(new) {
            return;
        }
        match at {
            Some(i) => rows[i].1 = new,
            None => rows.push((attempt, new)),
        }
        if let Some(o) = &old {
            self.attempt_counts(o, false);
        }
        self.attempt_counts(&new, true);
    }

    /// Add (`add`) or take away an attempt row's part of the counts: what
    /// `Tallies::count_attempts` and `observe_duration` count of it, merged.
    fn attempt_counts(&mut self, row: &AttemptRow, add: bool) {
        let t = &mut self.sum.tallies;
        move_by_one(&mut t.attempts_started, add);
        if let Some(o) = row.state.and_then(AttemptOutcome::of_attempt_state) {
            match t.attempts_finished.get_mut(o.as_str()) {
                Some(n) => move_by_one(n, add),
                None if add => {
                    t.attempts_finished.insert(o.as_str().to_string(), 1);
                }
                None => {}
            }
            t.attempts_finished.retain(|_, n| *n != 0);
        }
        if let Some(ms) = row.duration_ms {
            t.step_durations
                .move_observation(STEP_DURATION_BOUNDS_MS, ms, add);
            if add {
                self.durations.insert(ms);
            } else {
                self.durations.remove(ms);
            }
        }
    }

    fn error_counts(&mut self, id: &str, row: &ErrorRow, add: bool) {
        let mut t = Tallies::default();
        t.count_errors(
            row.kind.to_string(),
            row.severity.to_string(),
            1,
            u64::from(row.open),
        );
        self.sum.tallies.merge(&t, add);
        if row.open {
            move_count(&mut self.sum.open_errors, row.severity.to_string(), add);
            if row.kind == ErrorKind::BudgetExceeded.as_str() {
                self.sum.budget_open = if add {
                    self.sum.budget_open + 1
                } else {
                    self.sum.budget_open.saturating_sub(1)
                };
            }
            if let Some(step) = &row.step {
                let ids = self.open_by_step.entry(step.clone()).or_default();
                if add {
                    ids.insert(id.to_string());
                } else {
                    ids.remove(id);
                    if ids.is_empty() {
                        self.open_by_step.remove(step);
                    }
                }
            }
        }
    }

    fn set_error(&mut self, id: &str, new: Option<ErrorRow>) {
        if let Some(old) = self.errors.remove(id) {
            self.error_counts(id, &old, false);
        }
        if let Some(row) = new {
            self.error_counts(id, &row, true);
            self.errors.insert(id.to_string(), row);
        }
    }

    fn close_error(&mut self, id: &str) {
        if let Some(row) = self.errors.get(id).filter(|r| r.open).cloned() {
            self.set_error(id, Some(ErrorRow { open: false, ..row }));
        }
    }

    /// An attempt's log was recorded: the attempt has a row.
    pub fn log(&mut self, step: &str, attempt: u32) {
        self.change_attempt(step, attempt, |_| {});
    }

    /// Fold one event.
    pub fn apply(&mut self, ev: &Event) {
        let at = ev.at.0;
        match &ev.kind {
            EventKind::StepDealtWith { step, dealt_with } => {
                self.told_dealt_with = true;
                self.change_step(step, |r| r.dealt_with = *dealt_with)
            }
            // Reopened (a retry or a mark after the run had finished): a history written
            // before `step_dealt_with` counts nothing dealt with until its next end, as its
            // summaries were saved.
            EventKind::RunStateChanged {
                state: RunState::Running | RunState::Waiting,
                ..
            } if !self.told_dealt_with => self.set_dealt_with(&[]),
            // The whole list, once a run: a history written before `step_dealt_with`
            // tells it here only.
            EventKind::RunFinished { dealt_with, .. } => self.set_dealt_with(dealt_with),
            EventKind::StepStateChanged {
                step,
                state,
                attempt,
                ..
            } => {
                let (state, attempt) = (*state, *attempt);
                self.change_step(step, |r| {
                    r.state = state;
                    // A mark holds while the step stays in the state it was marked.
                    r.marked &= state == StepState::Succeeded;
                    r.attempts = r.attempts.max(attempt);
                    if state == StepState::Running {
                        r.timed_out = false;
                    }
                });
                // An attempt exists once it runs (queued and gate states precede it).
                if attempt > 0 && !state.precedes_attempt() {
                    self.change_attempt(step, attempt, |a| a.state = Some(state));
                }
            }
            EventKind::StepFinished {
                step,
                attempt,
                outcome,
                duration_ms,
                ..
            } => {
                let timed_out = matches!(outcome, crate::StepOutcome::TimedOut);
                self.change_step(step, |r| {
                    r.attempts = r.attempts.max(*attempt);
                    r.timed_out = timed_out;
                });
                self.change_attempt(step, *attempt, |a| a.duration_ms = Some(*duration_ms));
            }
            EventKind::StepMarked { step, state, .. } => {
                let state = *state;
                self.change_step(step, |r| {
                    r.state = state;
                    r.marked = state == StepState::Succeeded;
                });
            }
            EventKind::ErrorRecorded { error } => self.set_error(
                &error.id,
                Some(ErrorRow {
                    step: error.step.clone(),
                    kind: error.kind.as_str(),
                    severity: error.severity.as_str(),
                    open: error.open,
                }),
            ),
            EventKind::GateOpened { step, .. } => {
                self.gates.insert(step.clone(), at);
            }
            EventKind::GateApproved { step, .. } => self.gate_decided(step, "approved", at),
            EventKind::GateRejected {
                step, timed_out, ..
            } => {
                let kind = if *timed_out { "timed_out" } else { "rejected" };
                self.gate_decided(step, kind, at)
            }
            EventKind::GateVoided { step, .. } => {
                self.gates.remove(step);
            }
            EventKind::DeadlineMissed { step, .. } => {
                self.sum.tallies.deadlines_missed += 1;
                if step.is_none() {
                    self.sum.tallies.run_deadlines_missed += 1;
                }
            }
            _ => {}
        }
        match history::errors_closed(&ev.kind) {
            Some(Closes::Ids { ids, .. }) => {
                for id in ids {
                    self.close_error(id);
                }
            }
            Some(Closes::Step(step)) => {
                let ids = self.open_by_step.get(step).cloned().unwrap_or_default();
                for id in ids {
                    self.close_error(&id);
                }
            }
            None => {}
        }
    }

    /// Exactly the steps `listed` are dealt with (O(steps) unless none is or was).
    fn set_dealt_with(&mut self, listed: &[String]) {
        if listed.is_empty() && self.flagged == 0 {
            return;
        }
        let set: BTreeSet<&str> = listed.iter().map(String::as_str).collect();
        let mut changed: Vec<&String> = self
            .steps
            .iter()
            .filter(|(id, r)| r.dealt_with != set.contains(id.as_str()))
            .map(|(id, _)| id)
            .collect();
        changed.extend(listed.iter().filter(|s| !self.steps.contains_key(*s)));
        let changed: Vec<String> = changed.into_iter().cloned().collect();
        for step in &changed {
            let dealt = set.contains(step.as_str());
            self.change_step(step, |r| r.dealt_with = dealt);
        }
    }

    /// A gate was decided: how long it waited since it opened, if it was open.
    fn gate_decided(&mut self, step: &str, decision: &str, at: i64) {
        if let Some(opened) = self.gates.remove(step) {
            let mut t = Tallies::default();
            t.observe_gate_wait(decision.to_string(), (at - opened).max(0) as u64);
            self.sum.tallies.merge(&t, true);
        }
    }
}

/// How many (state, retried, timed out) groups there are, and each one's index.
const GROUPS: usize = StepState::ALL.len() * 4;

fn group(state: StepState, retried: bool, timed_out: bool) -> usize {
    state as usize * 4 + usize::from(retried) * 2 + usize::from(timed_out)
}

fn ungroup(i: usize) -> (StepState, bool, bool) {
    (StepState::ALL[i / 4], i % 4 >= 2, i % 2 == 1)
}

/// One more (`add`) or one fewer, never below zero.
fn move_by_one(n: &mut u64, add: bool) {
    *n = if add {
        n.saturating_add(1)
    } else {
        n.saturating_sub(1)
    };
}

/// Move `map[key]` by one, dropping it at zero.
fn move_count<K: Ord>(map: &mut BTreeMap<K, u64>, key: K, add: bool) {
    if add {
        *map.entry(key).or_default() += 1;
    } else if let Some(n) = map.get_mut(&key) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            map.remove(&key);
        }
    }
}

/// Serde for a map as a list of `[key, value]` pairs (JSON keys are strings only).
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
#[path = "state_summary_tests.rs"]
mod tests;

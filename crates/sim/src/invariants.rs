//! The promises the documents make, as code: each a function named after the
//! sentence it checks (quoted in its doc comment), run after every simulated action on
//! what the store recorded and what the simulated executors run.
use crate::executor::Executors;
use crate::world::World;
use crate::{SimError, Violation};
use baton_core::Core;
use baton_model::{Event, EventKind, RunState, StepState, Timestamp};
use baton_store::Store;
use std::collections::{BTreeMap, BTreeSet};

/// Every how many actions `show`, `runs` and `metrics` are compared on the runs that
/// recorded something ([`crate::readers::one_run_one_record`]).
const READERS_EVERY: usize = 8;
/// How often the inbox is compared with every waiting run's own reading: it reads
/// every waiting run again (a replay each), the costliest check; at the end too.
const ASKED_EVERY: usize = 32;

/// What the checks remember of each run's history, read once, in order.
#[derive(Default)]
pub(crate) struct Checker {
    runs: BTreeMap<String, Track>,
    /// Runs that recorded something since the readers were last compared.
    unread: BTreeSet<String>,
    pub events: u64,
}

/// One run's history as the checks know it.
#[derive(Default)]
pub struct Track {
    pub seen: u64,
    /// Steps recorded succeeded (and not reopened by an operator since).
    pub succeeded: BTreeSet<String>,
    /// When each of them was recorded succeeded (simulated ms).
    pub succeeded_at: BTreeMap<String, i64>,
    /// Gates approved since they last opened.
    pub approved: BTreeSet<String>,
    /// Each step's last recorded state (a transition or an operator's mark).
    pub last: BTreeMap<String, StepState>,
    /// What the run spent, against its budget.
    pub spend: crate::budget::Spend,
    /// Each attempt's recorded end: (step, attempt) → outcome.
    pub finished: BTreeMap<(String, u32), baton_model::StepOutcome>,
    /// The jobs on record of attempts still running: (step, attempt).
    pub jobs: BTreeSet<(String, u32)>,
    /// The outputs recorded (`--mix executors`).
    pub(crate) outputs: crate::jobs::Outputs,
    /// Steps not idempotent whose last attempt was recorded lost, not reopened by a
    /// person since ([`crate::sched::a_lost_step_waits_for_a_person`]).
    pub(crate) lost_waiting: BTreeSet<String>,
}

/// docs/approvals.md: "With the key configured, `resume`, `show`, the console and
/// every command that takes a run over check the run's history before replaying it and
/// refuse a tampered one […] instead of obeying it": nothing is recorded in a run after
/// its record was rewritten (`--mix rewrites`; with `--mix accounts`, its `runs` row,
/// which its starter's seal covers: `starter_seal`), read from the rows themselves,
/// and no fork of it is made.
pub(crate) fn a_rewritten_record_is_not_obeyed(
    raw: &rusqlite::Connection,
    w: &crate::rewrites::Rewritten,
) -> Result<Option<String>, SimError> {
    let last: i64 = raw
        .prepare_cached("SELECT coalesce(max(seq), 0) FROM events WHERE run_id = ?1")?
        .query_row([&w.run], |r| r.get(0))?;
    if let Some(fork) = &w.forked {
        return Ok(Some(format!(
            "run {}'s record was rewritten, and a fork of it was made: {fork}",
            w.run
        )));
    }
    Ok((last as u64 > w.last_seq).then(|| {
        format!(
            "run {}'s record was rewritten at event {}, and events up to {last} were recorded after",
            w.run, w.last_seq
        )
    }))
}

/// docs/commands.md (`baton fork`): a fork "reuses the steps before STEP as they
/// ended" in the run it forks: each step the fork records reused ended so in its source
/// (the source's last recorded state of the step), never a state it did not reach.
pub fn a_fork_reuses_what_its_source_recorded(
    source: Option<&Track>,
    ev: &Event,
) -> Option<String> {
    let EventKind::StepReused {
        step,
        from_run,
        state,
        ..
    } = &ev.kind
    else {
        return None;
    };
    let recorded = source.and_then(|t| t.last.get(step));
    (recorded != Some(state)).then(|| {
        format!(
            "event {} reuses step {step} of run {from_run} as {}, which recorded it {}",
            ev.seq,
            state.as_str(),
            recorded.map_or("never", |s| s.as_str())
        )
    })
}

/// README: "nothing finished runs twice after a crash". A step recorded succeeded
/// never starts again, unless an operator reopened it on record (`retry`, `mark`,
/// `push-back`).
pub fn nothing_finished_runs_twice(t: &Track, ev: &Event) -> Option<String> {
    match &ev.kind {
        EventKind::StepStateChanged {
            step,
            state: StepState::Running,
            attempt,
            ..
        } if t.succeeded.contains(step) => Some(format!(
            "step {step} starts attempt {attempt} (event {}) after it succeeded",
            ev.seq
        )),
        _ => None,
    }
}

/// README: "nothing runs unapproved". A gated step starts only with its gate
/// approved on record since it last opened.
pub fn nothing_runs_unapproved(t: &Track, gated: &BTreeSet<String>, ev: &Event) -> Option<String> {
    match &ev.kind {
        EventKind::StepStateChanged {
            step,
            state: StepState::Running,
            ..
        } if gated.contains(step) && !t.approved.contains(step) => Some(format!(
            "gated step {step} starts (event {}) with no approval on record",
            ev.seq
        )),
        _ => None,
    }
}

/// docs/approvals.md: "baton's engines apply a row only when its proof's owner is the
/// account the row names […]; any other row is refused on record". Nothing a forged row
/// asked (its reason is tagged `forged-N`) is recorded but its refusal.
pub(crate) fn no_row_obeyed_without_proof(ev: &Event, json: &str) -> Option<String> {
    let refused = matches!(ev.kind, EventKind::CommandRefused { .. });
    (!refused && json.contains("\"forged-")).then(|| {
        format!(
            "event {} `{}` obeys a forged row: {json}",
            ev.seq,
            ev.kind.name()
        )
    })
}

/// docs/workflow/concurrency-and-schedules.md: "at most one run of a group is active".
/// Counted from the runs themselves (live, not queued, not finished), not from the
/// group's rows, so a run that bypassed the group counts too.
pub(crate) fn at_most_one_active_run_per_group(
    store: &Store,
    members: &[&str],
) -> Result<Option<String>, SimError> {
    let mut active = Vec::new();
    for run in members {
        let state = store.run_liveness(run)?.state;
        if matches!(
            state,
            RunState::Pending | RunState::Running | RunState::Waiting
        ) {
            active.push(format!("{run} ({state:?})"));
        }
    }
    Ok(
        (active.len() > 1)
            .then(|| format!("{} runs of the group active: {active:?}", active.len())),
    )
}

/// docs/workflow/concurrency-and-schedules.md: "and at most `max_pending` wait for it".
/// The line: the group's waiting rows whose run is live and queued, but for the
/// documented exception ("Not guaranteed: […] a queued run whose engine died is passed
/// over, not counted against `max_pending`, until `baton resume` queues it again"):
/// `requeued`, the runs a resume queued again.
pub(crate) fn at_most_max_pending_wait(
    store: &Store,
    raw: &rusqlite::Connection,
    (group, max_pending): (&str, usize),
    requeued: &BTreeSet<String>,
) -> Result<Option<String>, SimError> {
    let rows: Vec<String> = raw
        .prepare_cached("SELECT run_id FROM group_members WHERE grp = ?1 AND active = 0")?
        .query_map([group], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut line = Vec::new();
    for run in rows {
        if !requeued.contains(&run) && store.run_liveness(&run)?.state == RunState::Queued {
            line.push(run);
        }
    }
    Ok((line.len() > max_pending).then(|| {
        format!(
            "{} runs wait (max_pending {max_pending}): {line:?}",
            line.len()
        )
    }))
}

/// docs/workflow-format.md, `[pools.NAME]`: `capacity` is the "steps of the pool
/// running at once", and with `scope = "store"` they "count the steps of every run in
/// the store". Counted twice: the attempts whose process runs now, and the slots the
/// store says are held.
pub(crate) fn pool_never_over_capacity(
    (executors, paused, now): (&Executors, &dyn Fn(usize) -> bool, i64),
    store: &Store,
    pool: &str,
    capacity: usize,
) -> Result<Option<String>, SimError> {
    let running = executors.pool_running(paused, now);
    if running.len() > capacity {
        return Ok(Some(format!(
            "{} attempts of pool {pool} run at once (capacity {capacity}): {running:?}",
            running.len()
        )));
    }
    let holders = store.pool_holders(pool)?;
    Ok((holders.len() > capacity).then(|| {
        format!(
            "the store gives {} slots of pool {pool} (capacity {capacity}): {holders:?}",
            holders.len()
        )
    }))
}

/// docs/architecture.md: "the store's saved summary equals one counted from the rows"
/// and "after a crash, replay rebuilds exactly what was committed": the summary the
/// store keeps for a run (handed by the engine's core) equals a replay of its events.
pub fn summary_is_the_events_replayed(
    store: &Store,
    run: &str,
    replay: (std::sync::Arc<baton_workflow::Plan>, baton_core::RunConfig),
    events: &[Event],
) -> Result<Option<String>, SimError> {
    // As of the run's last event: its row, or while its rows lag what that event carries.
    let saved = store.run_summary(run)?;
    let replayed = Core::replay(replay.0, replay.1, events)?.state_summary();
    Ok((saved != replayed).then(|| {
        format!("run {run}: the store keeps {saved:?}, its events replay to {replayed:?}")
    }))
}

/// docs/approvals.md: "Every decision is a row of one hash chain (`audit`)": the audit
/// chain of the whole store verifies (checked at the end of a scenario: it reads it all).
pub(crate) fn every_decision_on_the_chain(store: &Store) -> Result<Option<String>, SimError> {
    let verdict = store.verify_audit(None)?;
    Ok((!verdict.is_intact()).then(|| format!("the audit chain does not verify: {verdict:?}")))
}

/// commands.md (schedules): "A member who writes a trigger row in another's name with
/// plain SQL gets nothing run." No trigger slot the scenario forged (`forged`, their
/// times) is recorded as having started a run.
pub(crate) fn no_forged_trigger_obeyed(
    raw: &rusqlite::Connection,
    forged: &BTreeSet<i64>,
) -> Result<Option<String>, SimError> {
    if forged.is_empty() {
        return Ok(None);
    }
    let mut st = raw.prepare_cached(
        "SELECT slot_at, run_id FROM schedule_slots WHERE idx = ?1 AND run_id IS NOT NULL",
    )?;
    let started: Vec<(i64, String)> = st
        .query_map([baton_store::schedules::TRIGGER_INDEX], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<Result<_, _>>()?;
    Ok(started
        .into_iter()
        .find(|(at, _)| forged.contains(at))
        .map(|(at, run)| {
            format!(
                "run {run} was started for the trigger row forged at t+{}",
                at - crate::world::T0
            )
        }))
}

/// approvals.md: "Cannot answer an ask in another's name: every vote on an ask carries
/// its audit row and its account's proof […] A decision or vote written into
/// `asks`/`ask_votes` […] is put back and refused on record; the asker keeps waiting."
/// An ask its asker took as approved or rejected was answered so by an operator
/// through the CLI's path.
pub(crate) fn no_forged_answer_obeyed(asked: &crate::asks::Asked) -> Option<String> {
    use baton_model::ask::AskState;
    let ended = asked.ended?;
    let decided = matches!(ended, AskState::Approved | AskState::Rejected);
    (decided && asked.answered != Some(ended)).then(|| {
        format!(
            "the asker of ask {} took it as {} when the answer proven was {:?}",
            asked.name,
            ended.as_str(),
            asked.answered.map(|a| a.as_str())
        )
    })
}

impl World {
    /// Every check after action `action`; the first promise broken, if any.
    pub(crate) fn check(&mut self, action: usize) -> Result<Option<Violation>, SimError> {
        let broken = |invariant: &'static str, detail: String| Violation {
            invariant,
            action,
            detail,
        };
        for (run, w) in self.runs.clone() {
            if let Some((invariant, detail)) = self.check_run(&run, w)? {
                return Ok(Some(broken(invariant, detail)));
            }
        }
        if self.executors.jobs.is_some() {
            if let Some(d) = self.a_succeeded_step_never_starts_again() {
                return Ok(Some(broken("a_succeeded_step_never_starts_again", d)));
            }
            if let Some(d) = self.a_lost_job_is_recorded_lost() {
                return Ok(Some(broken("a_lost_job_is_recorded_lost", d)));
            }
            if let Some(d) = self.a_step_ends_when_its_process_exits() {
                return Ok(Some(broken("a_step_ends_when_its_process_exits", d)));
            }
        }
        let group: Vec<&str> = self
            .runs
            .iter()
            .filter(|(_, w)| self.workflows[*w].max_pending.is_some())
            .map(|(r, _)| r.as_str())
            .collect();
        if let Some(d) = at_most_one_active_run_per_group(&self.ops, &group)? {
            return Ok(Some(broken("at_most_one_active_run_per_group", d)));
        }
        if let Some(max_pending) = self.workflows.iter().find_map(|w| w.max_pending)
            && let Some(d) = at_most_max_pending_wait(
                &self.ops,
                &self.raw,
                (crate::workflows::GROUP, max_pending),
                &self.requeued,
            )?
        {
            return Ok(Some(broken("at_most_max_pending_wait", d)));
        }
        let paused = |e: usize| self.engines[e].stalled(self.now);
        if let Some(d) = pool_never_over_capacity(
            (&self.executors, &paused, self.now),
            &self.ops,
            crate::workflows::POOL,
            crate::workflows::POOL_CAPACITY,
        )? {
            return Ok(Some(broken("pool_never_over_capacity", d)));
        }
        // The readers' agreement costs a `show` per run: read every few actions, over
        // the runs that recorded something since (the end reads every run).
        if action.is_multiple_of(ASKED_EVERY)
            && let Some(d) = self.check_asked()?
        {
            return Ok(Some(broken("nothing_asked_of_a_person_lost", d)));
        }
        if action.is_multiple_of(READERS_EVERY) {
            for run in std::mem::take(&mut self.checker.unread) {
                // A rewritten record is refused by every reader (until it is put back).
                if self.is_rewritten(&run) {
                    continue;
                }
                if let Some(d) =
                    crate::readers::one_run_one_record(&self.ops, &run, Timestamp(self.now))?
                {
                    return Ok(Some(broken("one_run_one_record", d)));
                }
            }
        }
        if let Some(d) = no_forged_trigger_obeyed(&self.raw, &self.forged_slots)? {
            return Ok(Some(broken("no_forged_trigger_obeyed", d)));
        }
        if let Some(d) = self.asks.iter().find_map(no_forged_answer_obeyed) {
            return Ok(Some(broken("no_forged_answer_obeyed", d)));
        }
        if let Some(d) = self.check_accounts()? {
            return Ok(Some(broken("a_decision_is_its_accounts", d)));
        }
        if let Some(d) = self.schedule_broke.take() {
            return Ok(Some(broken("a_slot_starts_as_decided", d)));
        }
        if let Some((invariant, d)) = self.takeover_broke.take() {
            return Ok(Some(broken(invariant, d)));
        }
        if let Some(d) = self.a_dead_takeover_leaves_the_run_interrupted()? {
            return Ok(Some(broken(
                "a_dead_takeover_leaves_the_run_interrupted",
                d,
            )));
        }
        if let Some(d) = self.answer_broke.take() {
            return Ok(Some(broken("an_ask_is_answered_by_its_approvers", d)));
        }
        Ok(self.check_hosts().map(|(i, d)| broken(i, d)))
    }

    /// The checks against what the hosts ran (remote jobs with `--mix remote`; local
    /// processes in every mix).
    fn check_hosts(&mut self) -> Option<(&'static str, String)> {
        if let Some(found) = self.check_outputs() {
            return Some(found);
        }
        if let Some(d) = self.detach_broke.take() {
            return Some(("a_detach_stops_no_remote_step_on_record", d));
        }
        if let Some(d) = crate::remote::a_remote_end_is_the_hosts(self) {
            return Some(("a_remote_end_is_the_hosts", d));
        }
        if let Some(d) = crate::remote::a_step_runs_once_at_a_time(self) {
            return Some(("a_step_runs_once_at_a_time", d));
        }
        crate::remote::one_run_of_a_group_on_the_hosts(self)
            .map(|d| ("one_run_of_a_group_on_the_hosts", d))
    }

    /// The checks of one run's new events (and of a rewritten run, that it has none):
    /// the broken promise's name and what was seen.
    fn check_run(
        &mut self,
        run: &str,
        w: usize,
    ) -> Result<Option<(&'static str, String)>, SimError> {
        let plan = self.workflows[w].plan.clone();
        let gated: BTreeSet<String> = plan
            .steps
            .iter()
            .filter(|s| s.gate.is_some())
            .map(|s| s.id.clone())
            .collect();
        if let Some(w) = self.rewritten.iter().find(|w| w.run == run) {
            if let Some(d) = a_rewritten_record_is_not_obeyed(&self.raw, w)? {
                return Ok(Some(("a_rewritten_record_is_not_obeyed", d)));
            }
            return Ok(None);
        }
        let seen = self.checker.runs.get(run).map_or(0, |t| t.seen);
        let new = self.ops.events_after(run, seen)?;
        if new.is_empty() {
            return Ok(None);
        }
        // Steps the ceiling cannot freeze: on a batch scheduler, or being stopped
        // (their stop ignored until the KILL).
        let mut unbounded = crate::jobs::runs_on_past_the_gate(&plan);
        unbounded.extend(
            (self.executors.stopped_deaf.iter())
                .filter(|(r, _)| r == run)
                .filter_map(|(_, i)| plan.steps.get(*i).map(|s| s.id.clone())),
        );
        for ev in &new {
            let json = serde_json::to_string(ev)?;
            self.history.push(format!("  {run} {json}"));
            self.checker.events += 1;
            if let EventKind::StepReused { from_run, .. } = &ev.kind
                && let Some(d) =
                    a_fork_reuses_what_its_source_recorded(self.checker.runs.get(from_run), ev)
            {
                return Ok(Some((
                    "a_fork_reuses_what_its_source_recorded",
                    format!("run {run}: {d}"),
                )));
            }
            if let Some(d) = crate::signed::check(&self.ops, &plan, run, ev)? {
                return Ok(Some(("a_signed_decision_counts_only_when_valid", d)));
            }
            let t = self.checker.runs.entry(run.to_string()).or_default();
            t.seen = ev.seq;
            if let Some(d) = nothing_finished_runs_twice(t, ev) {
                return Ok(Some((
                    "nothing_finished_runs_twice",
                    format!("run {run}: {d}"),
                )));
            }
            if let Some(d) = crate::budget::a_frozen_step_uses_nothing(&t.spend, ev) {
                return Ok(Some((
                    "a_frozen_step_uses_nothing",
                    format!("run {run}: {d}"),
                )));
            }
            if let Some(d) = crate::sched::a_lost_step_waits_for_a_person(t, ev) {
                return Ok(Some((
                    "a_lost_step_waits_for_a_person",
                    format!("run {run}: {d}"),
                )));
            }
            if let Some(d) = nothing_runs_unapproved(t, &gated, ev) {
                return Ok(Some(("nothing_runs_unapproved", format!("run {run}: {d}"))));
            }
            if let Some(d) = no_row_obeyed_without_proof(ev, &json) {
                return Ok(Some((
                    "no_row_obeyed_without_proof",
                    format!("run {run}: {d}"),
                )));
            }
            t.learn(ev);
            crate::sched::learn_lost(t, ev, &plan);
            let ceiling = (plan.budget.as_ref()).and_then(|b| b.tokens);
            if let Some(d) = crate::budget::a_ceiling_holds(&t.spend, ceiling, &unbounded) {
                return Ok(Some(("a_ceiling_holds", format!("run {run}: {d}"))));
            }
        }
        let all = self.ops.events(run)?;
        let cfg =
            baton_session::run_config(run, &self.user, BTreeMap::new(), Vec::new(), 0, false, None);
        if let Some(d) = summary_is_the_events_replayed(&self.ops, run, (plan, cfg), &all)? {
            return Ok(Some(("summary_is_the_events_replayed", d)));
        }
        if let Some(d) = crate::steps_rows::steps_read_as_their_events_folded(self, run, &all)? {
            return Ok(Some(("steps_read_as_their_events_folded", d)));
        }
        self.checker.unread.insert(run.to_string());
        Ok(None)
    }

    /// The checks that read the whole store, once at the end (after `settle`).
    pub(crate) fn check_at_end(&mut self, action: usize) -> Result<Option<Violation>, SimError> {
        let broken = |invariant: &'static str, detail: String| Violation {
            invariant,
            action,
            detail,
        };
        if let Some(d) = every_decision_on_the_chain(&self.ops)? {
            return Ok(Some(broken("every_decision_on_the_chain", d)));
        }
        let runs: Vec<String> = self.runs.iter().map(|(r, _)| r.clone()).collect();
        for run in &runs {
            if let Some(d) =
                crate::readers::one_run_one_record(&self.ops, run, Timestamp(self.now))?
            {
                return Ok(Some(broken("one_run_one_record", d)));
            }
        }
        if let Some(d) =
            crate::readers::metrics_are_the_runs_summed(&self.ops, &runs, Timestamp(self.now))?
        {
            return Ok(Some(broken("metrics_are_the_runs_summed", d)));
        }
        if let Some(d) = self.check_asked()? {
            return Ok(Some(broken("nothing_asked_of_a_person_lost", d)));
        }
        // Every takeover claims the commands waiting (the engine's own `wake::start`).
        if let Some(d) = crate::verdicts::every_command_gets_a_verdict(&self.ops, &self.raw)? {
            return Ok(Some(broken("every_command_gets_a_verdict", d)));
        }
        if let Some(d) = a_replaced_run_ends(&self.raw)? {
            return Ok(Some(broken("a_replaced_run_ends", d)));
        }
        // Last: bringing the rows up writes the store.
        for run in runs.iter().filter(|r| !self.is_rewritten(r)) {
            if let Some(d) = crate::steps_rows::rows_caught_up_are_the_events_folded(self, run)? {
                return Ok(Some(broken("steps_read_as_their_events_folded", d)));
            }
        }
        Ok(None)
    }

    /// [`crate::asked::nothing_asked_of_a_person_lost`] over every run but the
    /// rewritten ones.
    fn check_asked(&self) -> Result<Option<String>, SimError> {
        let runs: Vec<&str> = (self.runs.iter())
            .map(|(r, _)| r.as_str())
            .filter(|r| !self.is_rewritten(r))
            .collect();
        crate::asked::nothing_asked_of_a_person_lost(
            &self.ops,
            &runs,
            &self.user,
            Timestamp(self.now),
        )
    }
}

impl Checker {
    /// What the checks know of `run`'s history.
    pub(crate) fn track(&self, run: &str) -> Option<&Track> {
        self.runs.get(run)
    }

    /// Whether `run` recorded a step succeeded (and not reopened since).
    pub(crate) fn succeeded_any(&self, run: &str) -> bool {
        self.runs.get(run).is_some_and(|t| !t.succeeded.is_empty())
    }
}

impl Track {
    /// What an event changes for the checks.
    pub fn learn(&mut self, ev: &Event) {
        self.spend.learn(ev);
        self.outputs.learn(ev.seq, &ev.kind);
        crate::remote::learn(self, &ev.kind);
        match &ev.kind {
            EventKind::StepStateChanged { step, state, .. }
            | EventKind::StepMarked { step, state, .. } => {
                self.last.insert(step.clone(), *state);
            }
            _ => {}
        }
        self.learn_when(ev);
        match &ev.kind {
            EventKind::StepStateChanged { step, state, .. } if *state == StepState::Succeeded => {
                self.succeeded.insert(step.clone());
            }
            EventKind::StepMarked { step, state, .. } => {
                if *state == StepState::Succeeded {
                    self.succeeded.insert(step.clone());
                } else {
                    self.succeeded.remove(step);
                }
            }
            EventKind::StepRetried { step, rearmed, .. } => {
                self.succeeded.remove(step);
                for s in rearmed {
                    self.succeeded.remove(s);
                }
            }
            // gates.md, "Push back": the gate's `revise` steps run again, on record.
            EventKind::GatePushedBack { rerun, .. } => {
                for s in rerun {
                    self.succeeded.remove(s);
                }
            }
            EventKind::GateApproved { step, .. } => {
                self.approved.insert(step.clone());
            }
            EventKind::GateOpened { step, .. } | EventKind::GateVoided { step, .. } => {
                self.approved.remove(step);
            }
            _ => {}
        }
    }
}

impl Track {
    /// When the steps were recorded succeeded: set by a success, cleared by what
    /// reopens the step (as [`Track::succeeded`]).
    fn learn_when(&mut self, ev: &Event) {
        match &ev.kind {
            EventKind::StepStateChanged {
                step,
                state: StepState::Succeeded,
                ..
            } => {
                self.succeeded_at.insert(step.clone(), ev.at.0);
            }
            EventKind::StepMarked { step, state, .. } if *state == StepState::Succeeded => {
                self.succeeded_at.insert(step.clone(), ev.at.0);
            }
            EventKind::StepMarked { step, .. } => {
                self.succeeded_at.remove(step);
            }
            EventKind::StepRetried { step, rearmed, .. } => {
                for s in std::iter::once(step).chain(rearmed) {
                    self.succeeded_at.remove(s);
                }
            }
            EventKind::GatePushedBack { rerun, .. } => {
                for s in rerun {
                    self.succeeded_at.remove(s);
                }
            }
            _ => {}
        }
    }
}

/// docs/workflow/concurrency-and-schedules.md: "A replaced run leaves the line in that
/// same transaction, so it can never take the group afterwards; … its engine learns
/// from the store that the run was replaced when it next asks for the group, and ends
/// it itself". Once the world settled (every engine continued and woken, every run no
/// engine drove resumed), no run a newer one replaced still reads `queued`.
fn a_replaced_run_ends(raw: &rusqlite::Connection) -> Result<Option<String>, SimError> {
    let stuck: Vec<String> = raw
        .prepare(
            "SELECT m.run_id FROM group_members m JOIN runs r ON r.id = m.run_id
             WHERE m.active = -1 AND r.state = 'queued' ORDER BY m.run_id",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok((!stuck.is_empty()).then(|| {
        format!(
            "run(s) {} replaced in line (max_pending) still wait `queued` for a group they can never hold",
            stuck.join(", ")
        )
    }))
}
